"""safety/connection and safety/alerts: disconnects, reconnection with and without differences, de-duplication,
rate limits, and the daily summary."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from core.ports import AlertLevel
from core.settings import Settings
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
