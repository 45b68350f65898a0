"""Drawdown steps and the pause; earnings and ex-dividend windows; the events CSV."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

import risk
from core.calendar import Calendars
from core.model import (
    AccountState,
    AlertLevel,
    Approval,
    ContractKind,
    IntentAction,
    MarketSnapshot,
    Refusal,
    Right,
    Structure,
)
from core.ports import EventKind
from risk import drawdown, events
from risk.events import CsvEventCalendar, EventFileError, parse_event_csv
from risk.manager import RiskManager
from risk.state import RiskState
from risk.verdict import Candidate, Refuse, ReviewContext
from tests.fakes import market as m
from tests.fakes.market import opening
from tests.risk.kit import (
    NOW,
    TODAY,
    S,
    account,
    book,
    es_strangle,
    gld_strangle,
    qqq_ipmcc,
    snap,
    spxw_condor,
    spy_lt112,
)

MARKET = snap()
CALENDARS = Calendars()


def review(
    structure: Structure,
    acct: AccountState,
    manager: RiskManager | None = None,
    market: MarketSnapshot = MARKET,
    qty: int | None = None,
) -> Approval | Refusal:
    intent = opening(structure) if qty is None else dataclasses.replace(opening(structure), quantity=qty)
    manager = manager or RiskManager(S, CALENDARS.equity)
    [answer] = manager.review([intent], book([], market), market, acct)
    return answer


@pytest.mark.parametrize(
    ("net", "expected"),
    [(90_500.0, 4), (90_000.0, 2), (85_000.0, "no new entries"), (80_000.0, "closing everything")],
)
def test_drawdown_steps_from_peak(net: float, expected: int | str) -> None:
    answer = review(spxw_condor(MARKET, qty=4), account(net, peak=100_000.0), qty=4)
    if isinstance(expected, int):
        assert isinstance(answer, Approval) and answer.intent.quantity == expected
        if expected == 2:
            assert "drawdown 10.0% ≥ 10%: size halved 4 → 2" in answer.notes
    else:
        assert isinstance(answer, Refusal) and answer.rule == "drawdown" and expected in answer.reason


def test_halving_a_single_contract_refuses() -> None:
    answer = review(spxw_condor(MARKET), account(90_000.0, peak=100_000.0))
    assert isinstance(answer, Refusal) and (answer.rule, answer.reason) == (
        "drawdown",
        "10.0% below peak ≥ 10%: half of 1 contract is none",
    )


def test_close_all_drawdown_closes_everything_and_pauses_ten_trading_days() -> None:
    manager = RiskManager(S, CALENDARS.equity)
    open_ = [es_strangle(MARKET), spy_lt112(MARKET, "l1")]
    closes, decisions = manager.manage(book(open_, MARKET), MARKET, account(80_000.0, peak=100_000.0))
    assert sorted(c.structure.id for c in closes) == ["7f3", "l1"]
    assert all(c.reason.startswith("drawdown: 20.0% below peak") for c in closes)
    (critical,) = [d for d in decisions if d.rule == "drawdown"]
    assert critical.alert is AlertLevel.CRITICAL and "entries paused until 2024-01-24" in critical.reason
    # Ten sessions after Monday 2024-01-08 (MLK day 01-15 is no session): entries resume on 01-24.
    assert manager.state.pause_until == date(2024, 1, 24)
    recovered = account(100_000.0)
    for day, paused in ((date(2024, 1, 23), True), (date(2024, 1, 24), False)):
        later = snap(now=m.at(day))
        answer = review(gld_strangle(later), recovered, manager, later)
        assert isinstance(answer, Refusal) == paused
        if isinstance(answer, Refusal):
            assert answer.rule == "drawdown" and "entries paused until 2024-01-24" in answer.reason


def test_a_pause_is_not_started_again_by_the_drawdown_that_started_it() -> None:
    """Regression: every step of the pause found the same 20% drawdown (the peak unchanged) and started the
    pause again from that day, with another CRITICAL: the 10 trading days never ended."""
    manager = RiskManager(S, CALENDARS.equity)
    manager.manage(book([es_strangle(MARKET)], MARKET), MARKET, account(80_000.0, peak=100_000.0))
    for day in (date(2024, 1, 9), date(2024, 1, 23)):
        later = snap(now=m.at(day))
        closes, decisions = manager.manage(book([], later), later, account(79_000.0, peak=100_000.0))
        assert not closes and not decisions
        assert manager.state.pause_until == date(2024, 1, 24)


def test_the_end_of_a_pause_is_seen_once_and_clears_it() -> None:
    manager = RiskManager(S, CALENDARS.equity)
    manager.manage(book([], MARKET), MARKET, account(80_000.0, peak=100_000.0))
    assert not manager.end_pause(m.at(date(2024, 1, 23)))
    assert manager.end_pause(m.at(date(2024, 1, 24)))
    assert manager.state == RiskState() and not manager.end_pause(m.at(date(2024, 1, 25)))


def test_stop_entries_drawdown_closes_only_losers_and_warns_once() -> None:
    manager = RiskManager(S)
    winner = dataclasses.replace(gld_strangle(MARKET, "win"), entry_price=-50.0)  # sold for far more than it costs now
    loser = dataclasses.replace(gld_strangle(MARKET, "lose"), entry_price=-0.5)
    closes, decisions = manager.manage(book([winner, loser], MARKET), MARKET, account(85_000.0, peak=100_000.0))
    assert [c.structure.id for c in closes] == ["lose"]
    assert manager.state == RiskState()
    (warning,) = decisions
    assert warning.alert is AlertLevel.WARNING and warning.reason == (
        "15.0% below peak 100,000: no new entries until net liq is back to 85,000; closing 1 losing structure(s). "
        "If what stays open cannot get it there, a person decides: set drawdown_reset_peak for one start"
    )  # the last words: what a person can do when nothing open can recover it
    _, again = manager.manage(book([winner], MARKET), MARKET, account(84_000.0, peak=100_000.0))
    assert again == []
    manager.manage(book([winner], MARKET), MARKET, account(90_000.0, peak=100_000.0))  # recovered past the step
    _, later = manager.manage(book([winner], MARKET), MARKET, account(85_000.0, peak=100_000.0))
    assert [d.alert for d in later] == [AlertLevel.WARNING]  # a new episode is a new warning


def test_risk_state_round_trips() -> None:
    state = RiskState(date(2024, 1, 24), "drawdown of 20.0%")
    assert RiskState.from_dict(state.to_dict()) == state
    assert RiskState.from_dict(RiskState().to_dict()) == RiskState()


# ------------------------------------------------------------------------------------------ events


def test_event_csv_parses_and_names_bad_lines() -> None:
    cal = parse_event_csv("root,date,kind\nAAPL,2024-01-25,earnings\n# comment\n\naapl,2024-02-09,ex_dividend\n")
    assert cal.events("AAPL", date(2024, 1, 1), date(2024, 12, 31)) == [
        (date(2024, 1, 25), EventKind.EARNINGS),
        (date(2024, 2, 9), EventKind.EX_DIVIDEND),
    ]
    with_amounts = parse_event_csv("root,date,kind,amount\nSPY,2024-03-15,ex_dividend,1.59\nAAPL,2024-01-25,earnings\n")
    assert (
        with_amounts.dividend("SPY", date(2024, 3, 15)) == 1.59
        and with_amounts.dividend("SPY", date(2024, 3, 16)) is None
    )
    with pytest.raises(EventFileError, match="line 2: an amount belongs to an ex_dividend line"):
        parse_event_csv("root,date,kind,amount\nAAPL,2024-01-25,earnings,3\n")
    with pytest.raises(EventFileError, match="header 'root,date,kind'"):
        parse_event_csv("symbol,when\nAAPL,2024-01-25\n")
    with pytest.raises(EventFileError, match="line 3: '2024-13-01' is not a date"):
        parse_event_csv("root,date,kind\nAAPL,2024-01-25,earnings\nMSFT,2024-13-01,earnings\n")
    with pytest.raises(EventFileError, match="line 2: kind 'split' is not one of earnings, ex_dividend"):
        parse_event_csv("root,date,kind\nAAPL,2024-01-25,split\n")
    with pytest.raises(EventFileError, match="line 2: expected root,date,kind,"):
        parse_event_csv("root,date,kind\nAAPL,2024-01-25\n")


def stock_candidate(expiry: date, short_call: bool = False) -> Candidate:
    """A structure on a single stock ("ACME"): the events rule reads only its legs and dates."""
    base = gld_strangle(MARKET)
    legs = tuple(
        dataclasses.replace(
            leg, contract=dataclasses.replace(leg.contract, root="ACME", underlying="ACME", expiry=expiry)
        )
        for leg in base.legs
        if short_call or leg.contract.right.value == "put"  # type: ignore[union-attr]
    )
    structure = dataclasses.replace(base, legs=legs)
    view = book([base], MARKET).views[0]
    return Candidate(
        dataclasses.replace(opening(base), structure=structure), dataclasses.replace(view, structure=structure)
    )


def ctx(calendar: CsvEventCalendar | None, today: date = TODAY) -> ReviewContext:
    return ReviewContext(S, MARKET, account(), book([], MARKET), RiskState(), today, CALENDARS.equity, calendar)


@pytest.mark.parametrize(
    ("event_day", "expiry", "refused_with"),
    [
        (date(2024, 1, 25), date(2024, 2, 16), "within the position's life"),
        (date(2024, 1, 11), date(2024, 1, 10), "within 3 trading days"),  # expires first, but 3 sessions away
        (date(2024, 1, 12), date(2024, 1, 10), None),  # 4 sessions away, after expiry
        (date(2024, 1, 5), date(2024, 2, 16), "within 1 trading day(s) after"),  # Friday, the session before
        (date(2024, 1, 4), date(2024, 2, 16), None),  # two sessions ago
    ],
)
def test_earnings_windows(event_day: date, expiry: date, refused_with: str | None) -> None:
    cal = CsvEventCalendar({"ACME": ((event_day, EventKind.EARNINGS),)})
    verdict = events.check(stock_candidate(expiry), ctx(cal))
    if refused_with is None:
        assert verdict is None
    else:
        assert isinstance(verdict, Refuse) and verdict.rule == "events" and refused_with in verdict.reason


def test_ex_dividend_refuses_only_short_calls() -> None:
    paid = ((date(2023, 11, 1), EventKind.EX_DIVIDEND), (date(2024, 2, 1), EventKind.EX_DIVIDEND))
    cal = CsvEventCalendar({"ACME": paid}, through={"ACME": date(2024, 6, 28)})
    assert events.check(stock_candidate(date(2024, 2, 16), short_call=False), ctx(cal)) is None
    verdict = events.check(stock_candidate(date(2024, 2, 16), short_call=True), ctx(cal))
    assert isinstance(verdict, Refuse) and "ex-dividend on 2024-02-01 while a short call is open" in verdict.reason


def test_single_stock_without_an_event_source_is_refused_and_etfs_are_exempt() -> None:
    verdict = events.check(stock_candidate(date(2024, 2, 16)), ctx(None))
    assert isinstance(verdict, Refuse) and "no earnings calendar is configured" in verdict.reason
    etf = Candidate(opening(gld_strangle(MARKET)), book([gld_strangle(MARKET)], MARKET).views[0])
    assert events.check(etf, ctx(None)) is None
    assert NOW.date() == TODAY


def on(root: str, strategy: str = "strangles") -> Candidate:
    """The GLD strangle's legs written on another ETF (its short call stays a short American call)."""
    base = gld_strangle(MARKET)
    legs = tuple(
        dataclasses.replace(leg, contract=dataclasses.replace(leg.contract, root=root, underlying=root))
        for leg in base.legs
    )
    structure = dataclasses.replace(base, legs=legs, strategy=strategy)
    view = book([base], MARKET).views[0]
    return Candidate(
        dataclasses.replace(opening(base), structure=structure), dataclasses.replace(view, structure=structure)
    )


def test_a_short_call_on_a_dividend_payer_needs_a_source_that_covers_the_next_session() -> None:
    """RULEBOOK "Assignment": where a shell has no ex-dividend source, strategies that sell calls on dividend
    payers do not open, saying why. TLT pays monthly (dividend_yield 3%): its strangle's short call is
    refused with no source, and with a source whose dates stop at today (2024-01-08, a Monday: the next
    session is the 9th, the day the 15:00 check looks at); listed through the 9th it passes. GLD pays
    nothing and needs no source; the IPMCC's LEAP on QQQ is bought to sell calls against, so it needs one."""
    verdict = events.check(on("TLT"), ctx(None))
    assert isinstance(verdict, Refuse) and verdict.rule == "events"
    assert "TLT pays dividends and no ex-dividend source is configured: no short call" in verdict.reason
    stale = CsvEventCalendar(through={"TLT": TODAY}, source="events.csv")
    verdict = events.check(on("TLT"), ctx(stale))
    assert isinstance(verdict, Refuse)
    assert "TLT pays dividends and events.csv does not list its ex-dates through 2024-01-09" in verdict.reason
    assert events.check(on("TLT"), ctx(CsvEventCalendar(through={"TLT": date(2024, 1, 9)}))) is None
    assert events.check(on("GLD"), ctx(None)) is None
    base = gld_strangle(MARKET)
    calls = tuple(
        dataclasses.replace(leg, ratio=1, contract=dataclasses.replace(leg.contract, root="QQQ", underlying="QQQ"))
        for leg in base.legs
        if leg.contract.right is Right.CALL
    )
    view = book([base], MARKET).views[0]

    def bought_by(strategy: str) -> Candidate:
        structure = dataclasses.replace(base, legs=calls, strategy=strategy)
        return Candidate(
            dataclasses.replace(opening(base), structure=structure), dataclasses.replace(view, structure=structure)
        )

    verdict = events.check(bought_by("ipmcc"), ctx(None))
    assert isinstance(verdict, Refuse) and "QQQ pays dividends" in verdict.reason
    assert events.check(bought_by("lt112"), ctx(None)) is None  # a long call alone sells nothing


def test_the_events_file_says_how_far_it_lists_dividends() -> None:
    cal = parse_event_csv(
        "root,date,kind,amount\nQQQ,2024-03-18,ex_dividend,0.57\nQQQ,2024-03-18,dividends_through\n", "events.csv"
    )
    assert cal.covers_dividends("qqq", date(2024, 3, 18)) and not cal.covers_dividends("QQQ", date(2024, 3, 19))
    assert not cal.covers_dividends("SPY", date(2024, 1, 2)) and cal.source == "events.csv"
    assert not cal.covers_dividends("QQQ", date(2024, 3, 15))  # before the first ex-date it lists: unknown
    with pytest.raises(EventFileError, match="line 2: a dividends_through line has no amount"):
        parse_event_csv("root,date,kind,amount\nQQQ,2024-03-18,dividends_through,1\n")


# ------------------------------------------------------------------------------------------ boundaries, rule by rule


def test_drawdown_of_an_account_without_a_peak_is_none() -> None:
    """A fresh account (peak 0) has no drawdown, and a peak of 0.5 USD is still a peak."""
    fresh = AccountState(net_liq=0.0, start_of_day_net_liq=0.0, peak_net_liq=0.0, bp_in_use=0.0)
    assert drawdown.drawdown(fresh) == 0.0
    half = AccountState(net_liq=0.25, start_of_day_net_liq=0.25, peak_net_liq=0.5, bp_in_use=0.0)
    assert drawdown.drawdown(half) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("dd", "threshold", "reached"),
    [
        (0.0999999, 0.10, False),
        (0.10 - 1e-9, 0.10, True),  # the rounding allowance is itself inclusive
        (0.10, 0.10, True),
        (0.149, 0.15, False),
        (0.15, 0.15, True),
    ],
)
def test_drawdown_steps_are_inclusive_within_rounding(dd: float, threshold: float, reached: bool) -> None:
    assert drawdown.reached(dd, threshold) is reached


@pytest.mark.parametrize(
    ("net", "rule_text"),
    [
        (85_000.01, "size halved"),  # 14.99999%: still the halving step
        (85_000.0, "15.0% below peak ≥ 15%: no new entries"),
        (80_000.01, "no new entries"),
        (80_000.0, "20.0% below peak ≥ 20%: closing everything, no entries"),
    ],
)
def test_drawdown_stop_and_close_all_steps_at_their_boundaries(net: float, rule_text: str) -> None:
    answer = review(spxw_condor(MARKET, qty=4), account(net, peak=100_000.0), qty=4)
    if rule_text == "size halved":
        assert isinstance(answer, Approval) and answer.intent.quantity == 2
    else:
        assert isinstance(answer, Refusal) and answer.rule == "drawdown" and rule_text in answer.reason


def test_drawdown_stop_entries_step_closes_losers_only_not_flat_ones() -> None:
    manager = RiskManager(S, CALENDARS.equity)
    open_ = [es_strangle(MARKET), spy_lt112(MARKET, "l1")]
    views = book(open_, MARKET).views
    flat = dataclasses.replace(book(open_, MARKET), views=tuple(dataclasses.replace(v, pnl=0.0) for v in views))
    closes, decisions = manager.manage(flat, MARKET, account(85_000.0, peak=100_000.0))
    assert closes == []  # a flat position is not a loser
    (warning,) = [d for d in decisions if d.rule == "drawdown"]
    assert warning.alert is AlertLevel.WARNING and warning.approved is False
    assert "closing 0 losing structure(s)" in warning.reason
    assert "a person decides: set drawdown_reset_peak for one start" in warning.reason
    losing = dataclasses.replace(flat, views=(dataclasses.replace(flat.views[0], pnl=-0.01), *flat.views[1:]))
    closes, decisions = manager.manage(losing, MARKET, account(85_000.0, peak=100_000.0))
    assert [c.structure.id for c in closes] == [flat.views[0].structure.id]
    assert closes[0].reason == "drawdown: 15.0% below peak ≥ 15%: close losers (-0)"
    assert closes[0].action is IntentAction.CLOSE and closes[0].limit_price == round(flat.views[0].mark, 4)
    assert not [d for d in decisions if d.rule == "drawdown"]  # warned once per episode


def test_drawdown_close_all_decision_is_critical_and_not_allowed() -> None:
    manager = RiskManager(S, CALENDARS.equity)
    _, decisions = manager.manage(book([], MARKET), MARKET, account(80_000.0, peak=100_000.0))
    (critical,) = [d for d in decisions if d.rule == "drawdown"]
    assert critical.alert is AlertLevel.CRITICAL and critical.approved is False
    assert manager.state.pause_reason == "drawdown of 20.0% from peak 100,000"


@pytest.mark.parametrize(
    ("today", "days", "until"),
    [
        # Without a calendar the pause counts weekdays: 10 from Monday 2024-01-08 end Monday 01-22; entries
        # resume the weekday after, 01-23 (the real calendar's MLK holiday makes it 01-24).
        (date(2024, 1, 8), 10, date(2024, 1, 23)),
        (date(2024, 1, 12), 1, date(2024, 1, 16)),  # Friday, one day: Monday is paused, Tuesday resumes
        (date(2024, 1, 13), 0, date(2024, 1, 15)),  # Saturday, no days: the next weekday
    ],
)
def test_drawdown_pause_without_a_calendar_counts_weekdays(today: date, days: int, until: date) -> None:
    manager = RiskManager(dataclasses.replace(S, drawdown_pause_days=days))
    market = snap(now=m.at(today))
    manager.manage(book([], market), market, account(80_000.0, peak=100_000.0))
    assert manager.state.pause_until == until


def test_drawdown_a_longer_pause_replaces_a_shorter_one_never_the_reverse() -> None:
    manager = RiskManager(S, CALENDARS.equity, state=RiskState(date(2024, 1, 24), "earlier"))
    manager._start_pause(m.at(date(2024, 1, 8)), "same end")
    assert manager.state == RiskState(date(2024, 1, 24), "earlier")
    manager._start_pause(m.at(date(2024, 1, 9)), "later")
    assert manager.state == RiskState(date(2024, 1, 25), "later")


def test_risk_state_reads_an_old_file_without_a_reason() -> None:
    assert RiskState.from_dict({"pause_until": "2024-01-24"}) == RiskState(date(2024, 1, 24), "")
    assert RiskState.from_dict({}) == RiskState()


@pytest.mark.parametrize(
    ("day", "expiry", "words"),
    [
        (TODAY, date(2024, 2, 16), "reports earnings on 2024-01-08, within the position's life (to 2024-02-16)"),
        (
            date(2024, 2, 16),
            date(2024, 2, 16),
            "reports earnings on 2024-02-16, within the position's life (to 2024-02-16)",
        ),
    ],
)
def test_earnings_on_the_first_and_last_day_of_a_position_are_within_its_life(
    day: date, expiry: date, words: str
) -> None:
    cal = CsvEventCalendar({"ACME": ((day, EventKind.EARNINGS),)})
    verdict = events.check(stock_candidate(expiry), ctx(cal))
    assert verdict == Refuse("events", f"ACME {words}")


@pytest.mark.parametrize("day", [TODAY, date(2024, 2, 16)])
def test_ex_dividend_on_the_first_and_last_day_of_a_short_call_is_refused(day: date) -> None:
    listed = (date(2023, 11, 1), EventKind.EX_DIVIDEND)  # an earlier ex-date: the source covers ACME
    cal = CsvEventCalendar({"ACME": (listed, (day, EventKind.EX_DIVIDEND))}, through={"ACME": date(2024, 6, 28)})
    verdict = events.check(stock_candidate(date(2024, 2, 16), short_call=True), ctx(cal))
    assert verdict == Refuse("events", f"ACME goes ex-dividend on {day} while a short call is open (early assignment)")
    after = CsvEventCalendar(
        {"ACME": (listed, (date(2024, 2, 20), EventKind.EX_DIVIDEND))}, through={"ACME": date(2024, 6, 28)}
    )
    assert events.check(stock_candidate(date(2024, 2, 16), short_call=True), ctx(after)) is None


def test_events_rule_names_itself_for_a_single_stock_without_a_calendar() -> None:
    assert events.check(stock_candidate(date(2024, 2, 16)), ctx(None)) == Refuse(
        "events", "ACME is a single stock and no earnings calendar is configured"
    )


def test_events_a_single_stock_structure_without_an_expiry_ends_today() -> None:
    """A structure of shares only (no expiry) lives today: earnings today are within its life."""
    base = stock_candidate(date(2024, 2, 16))
    shares = tuple(
        dataclasses.replace(
            leg,
            contract=dataclasses.replace(leg.contract, kind=ContractKind.EQUITY, right=None, strike=None, expiry=None),
        )
        for leg in base.intent.structure.legs
    )
    structure = dataclasses.replace(base.intent.structure, legs=shares)
    candidate = Candidate(dataclasses.replace(base.intent, structure=structure), base.view)
    cal = CsvEventCalendar({"ACME": ((TODAY, EventKind.EARNINGS),)})
    assert events.check(candidate, ctx(cal)) == Refuse(
        "events", "ACME reports earnings on 2024-01-08, within the position's life (to 2024-01-08)"
    )


def test_dividend_source_refusal_says_why() -> None:
    verdict = events.check(on("TLT"), ctx(None))
    assert verdict == Refuse(
        "events",
        "TLT pays dividends and no ex-dividend source is configured: no short call (early exercise the session "
        "before an ex-date could not be seen coming)",
    )


def test_who_pays_dividends() -> None:
    """Single stocks pay (whatever the yield table says); ETFs pay when their yield is above 0; futures never."""
    assert events.pays_dividends("ACME", S)
    assert events.pays_dividends("TLT", S) and not events.pays_dividends("GLD", S)
    no_yield = dataclasses.replace(S, dividend_yield={})
    assert not events.pays_dividends("TLT", no_yield) and not events.pays_dividends("ES", S)


def test_a_long_call_alone_sells_nothing_and_a_short_call_does() -> None:
    base = gld_strangle(MARKET)
    call = next(leg for leg in base.legs if leg.contract.right is Right.CALL)
    tlt = dataclasses.replace(call.contract, root="TLT", underlying="TLT")
    short = dataclasses.replace(base, legs=(dataclasses.replace(call, contract=tlt, ratio=-1),))
    long_ = dataclasses.replace(base, legs=(dataclasses.replace(call, contract=tlt, ratio=1),), strategy="lt112")
    assert events.sells_calls_on(short) == "TLT" and events.sells_calls_on(long_) is None


def test_event_csv_boundaries() -> None:
    # A zero amount is a listed ex-date with no payment (allowed); a negative one is not.
    zero = parse_event_csv("root,date,kind,amount\nSPY,2024-03-15,ex_dividend,0\n")
    assert zero.dividend("SPY", date(2024, 3, 15)) == 0.0
    with pytest.raises(EventFileError, match="line 2: an amount belongs to an ex_dividend line"):
        parse_event_csv("root,date,kind,amount\nSPY,2024-03-15,ex_dividend,-0.01\n")
    with pytest.raises(EventFileError, match=r"^events file line 2: amount 'x' is not a number$"):
        parse_event_csv("root,date,kind,amount\nSPY,2024-03-15,ex_dividend,x\n")
    with pytest.raises(
        EventFileError, match=r"^events file line 2: expected root,date,kind, got ',2024-03-15,earnings'$"
    ):
        parse_event_csv("root,date,kind\n,2024-03-15,earnings\n")
    # A 3-column line in a 4-column file is a line without an amount.
    short = parse_event_csv("root,date,kind,amount\nAAPL,2024-01-25,earnings\nAAPL,2024-04-25,earnings\n")
    assert len(short.events("AAPL", date(2024, 1, 1), date(2024, 12, 31))) == 2
    # The through date is the latest given for a root, in any case, and lines after it still count.
    cal = parse_event_csv(
        "root,date,kind\nqqq,2024-06-28,dividends_through\nQQQ,2024-03-18,dividends_through\n"
        "QQQ,2024-03-18,ex_dividend\n"
    )
    assert cal.through == {"QQQ": date(2024, 6, 28)} and cal.covers_dividends("QQQ", date(2024, 6, 28))
    assert cal.events("QQQ", date(2024, 1, 1), date(2024, 12, 31)) == [(date(2024, 3, 18), EventKind.EX_DIVIDEND)]
    assert cal.events("SPY", date(2024, 1, 1), date(2024, 12, 31)) == []
    with pytest.raises(EventFileError, match="header"):
        parse_event_csv("")


def test_the_risk_day_is_new_yorks_even_when_utc_has_moved_on() -> None:
    """At 20:30 in New York on Monday 2024-01-08 it is already Tuesday in UTC: a pause until the 9th still
    holds, a pause counted from that evening starts on the 8th, and one ending on the 8th is seen ended."""
    evening = snap(now=m.at(TODAY, 20, 30))
    manager = RiskManager(S, CALENDARS.equity, state=RiskState(date(2024, 1, 9), "earlier"))
    answer = review(gld_strangle(evening), account(100_000.0), manager, evening)
    assert isinstance(answer, Refusal) and answer.rule == "drawdown"
    assert not manager.end_pause(evening.time)
    assert RiskManager(S, state=RiskState(TODAY, "over")).end_pause(evening.time)
    fresh = RiskManager(dataclasses.replace(S, drawdown_pause_days=1), CALENDARS.equity)
    fresh.manage(book([], evening), evening, account(80_000.0, peak=100_000.0))
    assert fresh.state.pause_until == date(2024, 1, 10)  # from Monday: Tuesday paused, Wednesday resumes


def test_the_built_manager_reviews_with_the_calendar_and_the_event_source_it_was_given() -> None:
    """risk.build wires both into every review. The IPMCC sells calls on QQQ, a dividend payer; a source
    listing QQQ's ex-dates through Monday 2024-01-08 does not reach the next session (Tuesday the 9th, which
    only the trading calendar knows), so the call is refused, naming that day and the source."""
    listed_to_today = CsvEventCalendar(through={"QQQ": TODAY}, source="events.csv")
    manager = risk.build(S, CALENDARS.equity, listed_to_today)
    [answer] = manager.review([opening(qqq_ipmcc(MARKET))], book([], MARKET), MARKET, account())
    assert isinstance(answer, Refusal) and (answer.rule, answer.reason) == (
        "events",
        "QQQ pays dividends and events.csv does not list its ex-dates through 2024-01-09: no short call "
        "(early exercise the session before an ex-date could not be seen coming)",
    )
    listed_to_tuesday = CsvEventCalendar(through={"QQQ": date(2024, 1, 9)}, source="events.csv")
    [answer] = risk.build(S, CALENDARS.equity, listed_to_tuesday).review(
        [opening(qqq_ipmcc(MARKET))], book([], MARKET), MARKET, account()
    )
    assert not (isinstance(answer, Refusal) and answer.rule == "events")
