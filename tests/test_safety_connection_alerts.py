"""safety/connection and safety/alerts: disconnects, reconnection with and without differences, de-duplication,
rate limits, and the daily summary."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta

from core.ports import AlertLevel
from core.settings import Settings
from core.stress import stress
from safety.alerts import Alerts, DayJournal
from safety.connection import ConnectionMonitor
from safety.state import TradingState, TradingStateMachine
from tests.fakes.ports import RecordingAlerts
from tests.risk.kit import NOW, account, book, es_strangle, snap

S = Settings()


def test_a_disconnect_halts_warns_and_turns_critical_after_five_minutes() -> None:
    state = TradingStateMachine()
    monitor = ConnectionMonitor(S, state)
    alerts, moved = monitor.on_disconnect(NOW, "socket closed")
    assert [a.level for a in alerts] == [AlertLevel.WARNING] and moved and state.state is TradingState.HALTED
    assert not state.allows_entries() and not state.allows_closes(False)
    assert monitor.tick(NOW + timedelta(minutes=4, seconds=59)) == []
    [critical] = monitor.tick(NOW + timedelta(minutes=5))
    assert critical.level is AlertLevel.CRITICAL and "5 minutes" in critical.body
    assert monitor.tick(NOW + timedelta(minutes=9)) == []  # once
    assert monitor.on_disconnect(NOW + timedelta(minutes=6), "again") == ([], [])


def test_reconnect_resumes_only_after_a_clean_reconciliation() -> None:
    state = TradingStateMachine()
    monitor = ConnectionMonitor(S, state)
    monitor.on_disconnect(NOW, "socket closed")
    alerts, moved = monitor.on_reconnect(NOW + timedelta(minutes=3), lambda: True)
    assert state.state is TradingState.ACTIVE and moved and alerts[0].title == "broker reconnected"


def test_reconnect_with_differences_stays_halted() -> None:
    state = TradingStateMachine()
    monitor = ConnectionMonitor(S, state)
    monitor.on_disconnect(NOW, "no data for 5 minutes")

    def mismatch() -> bool:
        state.halt(NOW, "reconciliation mismatch", sticky=True)
        return False

    alerts, moved = monitor.on_reconnect(NOW + timedelta(minutes=2), mismatch)
    assert state.state is TradingState.HALTED and state.sticky and moved == []
    assert alerts[0].level is AlertLevel.CRITICAL


def test_alerts_are_deduplicated_and_rate_limited_but_critical_always_goes() -> None:
    sink = RecordingAlerts()
    alerts = Alerts(S, sink)
    assert alerts.send(NOW, AlertLevel.WARNING, "wide chain", "SPXW: 60% unusable")
    assert not alerts.send(NOW + timedelta(minutes=14), AlertLevel.WARNING, "wide chain", "SPXW: 60% unusable")
    assert alerts.send(NOW + timedelta(minutes=15), AlertLevel.WARNING, "wide chain", "SPXW: 60% unusable")
    for i in range(40):
        alerts.send(NOW + timedelta(minutes=20), AlertLevel.INFO, "note", f"n{i}")
    assert alerts.held_back == Counter({"duplicate": 1, "rate limit": 12})  # 2 + 28 within the hour's 30
    assert alerts.send(NOW + timedelta(minutes=21), AlertLevel.CRITICAL, "orphan leg", "SPXW put")
    assert alerts.send(NOW + timedelta(minutes=81), AlertLevel.INFO, "note", "later")  # a new hour
    assert sink.sent[-2][0] is AlertLevel.CRITICAL


def test_the_daily_summary_says_what_happened() -> None:
    market = snap()
    journal = DayJournal()
    journal.new_day(NOW.date())
    journal.record_close("zero_dte", 120.0)
    journal.record_close("zero_dte", -80.0)
    journal.refusals.append("z02: vix regime: VIX 32.00 > 30: only short-put structures may open")
    journal.events.append("orphan leg closed: SPXW 2024-01-08 4740 put")
    text = journal.daily_summary(book([es_strangle(market)], market), account(), Counter({"duplicate": 2}))
    assert "Daily summary 2024-01-08" in text and "closed P&L +40.00 in 2 trades" in text
    assert "zero_dte: +40.00 in 2 trades" in text and "strangles 7f3 x1" in text
    assert "vix regime: VIX 32.00" in text and "orphan leg closed" in text and "duplicate 2" in text


# ------------------------------------------------------------------------------------------ what a person is told


def test_a_disconnect_and_a_clean_reconnect_say_what_happened_and_for_how_long() -> None:
    state = TradingStateMachine()
    monitor = ConnectionMonitor(S, state)
    alerts, [moved] = monitor.on_disconnect(NOW, "socket closed")
    assert [(a.level, a.title, a.body) for a in alerts] == [
        (AlertLevel.WARNING, "broker disconnected", "socket closed; no new orders")
    ]
    assert moved.reason == "broker connection lost: socket closed" and not state.sticky
    [critical] = monitor.tick(NOW + timedelta(minutes=7, seconds=30))
    assert (critical.title, critical.body) == ("broker still disconnected", "socket closed: 8 minutes")
    alerts, [back] = monitor.on_reconnect(NOW + timedelta(minutes=90), lambda: True)
    assert [(a.level, a.title, a.body) for a in alerts] == [
        (AlertLevel.INFO, "broker reconnected", "reconciled after 90 minutes")
    ]
    assert back.reason == "reconnected after 90 minutes and reconciled" and monitor.connected
    assert monitor.on_reconnect(NOW + timedelta(minutes=91), lambda: True) == ([], [])  # already connected


def test_a_reconnect_that_finds_differences_says_so_and_the_next_disconnect_warns_afresh() -> None:
    state = TradingStateMachine()
    monitor = ConnectionMonitor(S, state)
    monitor.on_disconnect(NOW, "timeout")
    alerts, moved = monitor.on_reconnect(NOW + timedelta(minutes=120), lambda: False)
    assert moved == [] and [(a.level, a.title, a.body) for a in alerts] == [
        (
            AlertLevel.CRITICAL,
            "reconnected with differences",
            "back after 120 minutes, but the broker's positions differ: trading stays HALTED",
        )
    ]
    assert monitor.connected
    later = NOW + timedelta(hours=3)
    alerts, moved = monitor.on_disconnect(later, "timeout")
    assert alerts and moved == []  # already halted: no new transition, but a warning
    [critical] = monitor.tick(later + timedelta(minutes=5))
    assert critical.level is AlertLevel.CRITICAL  # the new outage's own CRITICAL, not suppressed by the last


def test_a_reconnect_does_not_clear_a_halt_a_person_must_clear() -> None:
    state = TradingStateMachine()
    monitor = ConnectionMonitor(S, state)
    state.halt(NOW, "reconciliation mismatch", sticky=True)
    monitor.on_disconnect(NOW, "socket closed")
    alerts, moved = monitor.on_reconnect(NOW + timedelta(minutes=2), lambda: True)
    assert moved == [] and state.state is TradingState.HALTED and state.reason == "reconciliation mismatch"
    assert alerts[0].title == "broker reconnected"


def test_the_hourly_budget_frees_a_slot_exactly_an_hour_after_it_was_used() -> None:
    settings = Settings.from_parameters({"alert_max_per_hour": "1"})
    sink = RecordingAlerts()
    alerts = Alerts(settings, sink)
    assert alerts.send(NOW, AlertLevel.INFO, "a", "1")
    assert not alerts.send(NOW + timedelta(minutes=59, seconds=59), AlertLevel.INFO, "b", "2")
    assert alerts.send(NOW + timedelta(hours=1), AlertLevel.INFO, "c", "3")
    assert sink.sent == [(AlertLevel.INFO, "a", "1"), (AlertLevel.INFO, "c", "3")]
    assert not alerts.send(NOW + timedelta(hours=1), AlertLevel.INFO, "c", "3")
    assert not alerts.send(NOW + timedelta(hours=1, minutes=1), AlertLevel.INFO, "c", "3")
    assert alerts.held_back == Counter({"rate limit": 1, "duplicate": 2})


def test_the_daily_summary_in_full() -> None:
    market = snap()
    journal = DayJournal()
    journal.new_day(NOW.date())
    journal.record_close("zero_dte", 120.0)
    open_book = book([es_strangle(market)], market)
    blind = dataclasses.replace(open_book, unvalued=("ES 2024-04-19 4300 put has no quote",))
    text = journal.daily_summary(blind, account(50_000.0), Counter({"rate limit": 3, "duplicate": 2}))
    share = open_book.bp_in_use / 50_000.0
    assert text.split("\n") == [
        "Daily summary 2024-01-08: net liq 50,000 (start 50,000)",
        "closed P&L +120.00 in 1 trades",
        "  zero_dte: +120.00 in 1 trades",
        f"open structures 1; BP in use {open_book.bp_in_use:,.0f} ({share:.1%})",
        f"Greeks: delta {open_book.delta_1pct:+,.0f} per 1% SPX, vega {open_book.vega:+,.0f} per vol point, "
        f"theta {open_book.theta:+,.0f} a day",
        "  strangles 7f3 x1",
        "  cannot value: ES 2024-04-19 4300 put has no quote",
        "refusals 0:",
        "safety events 0:",
        "alerts held back: duplicate 2, rate limit 3",
    ]
    empty = journal.daily_summary(book([], market), account(0.0), Counter())
    assert "open structures 0; BP in use 0 (0.0%)" in empty and "alerts held back" not in empty


def test_the_daily_summary_shows_the_books_worst_three_stress_scenarios() -> None:
    """RULEBOOK "Stress": the worst three scenarios with their losses and their share of net liq, worst first,
    as core/stress ranks them; a book it cannot revalue says so instead of a partial figure."""
    market = snap()
    journal = DayJournal()
    journal.new_day(NOW.date())
    open_book = book([es_strangle(market)], market)
    shocked = stress(open_book.views, market, S)
    text = journal.daily_summary(open_book, account(100_000.0), Counter(), shocked)
    ranked = sorted(zip(shocked.total, shocked.scenarios, strict=True), key=lambda pair: pair[0])[:3]
    said = "; ".join(f"{sc.label()}: {-pnl:,.0f} ({-pnl / 100_000:.1%})" for pnl, sc in ranked)
    assert f"stress, worst three: {said}" in text.split("\n")
    assert ranked[0][1].label() == "SPX -20%, IV +15"
    nothing = journal.daily_summary(book([], market), account(100_000.0), Counter(), stress((), market, S))
    assert "stress: nothing open" in nothing.split("\n")
    # No net liq, no share of it: the losses alone.
    broke = journal.daily_summary(open_book, account(0.0), Counter(), shocked).split("\n")
    bare = "; ".join(f"{sc.label()}: {-pnl:,.0f}" for pnl, sc in ranked)
    assert f"stress, worst three: {bare}" in broke
    tiny = journal.daily_summary(open_book, account(1.0), Counter(), shocked).split("\n")
    assert any(line.startswith("stress, worst three: ") and "%)" in line for line in tiny)
    unknown = dataclasses.replace(shocked, unrevalued=("cannot stress strangles 7f3: no IV",))
    assert "stress: unknown, cannot stress strangles 7f3: no IV" in journal.daily_summary(
        open_book, account(100_000.0), Counter(), unknown
    )


def test_a_disconnects_halt_is_saved_as_not_sticky_with_its_cause() -> None:
    state = TradingStateMachine()
    ConnectionMonitor(S, state).on_disconnect(NOW, "socket closed")
    assert state.to_dict() == {
        "state": "HALTED",
        "reason": "broker connection lost: socket closed",
        "sticky": False,
        "cause": "broker connection",
    }
