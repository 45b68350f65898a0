"""Drawdown steps and the pause; earnings and ex-dividend windows; the events CSV."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from core.calendar import Calendars
from core.model import AccountState, AlertLevel, Approval, MarketSnapshot, Refusal, Right, Structure
from core.ports import EventKind
from risk import events
from risk.events import CsvEventCalendar, EventFileError, parse_event_csv
from risk.manager import RiskManager
from risk.state import RiskState
from risk.verdict import Candidate, Refuse, ReviewContext
from tests.fakes import market as m
from tests.fakes.market import opening
from tests.risk.kit import NOW, TODAY, S, account, book, es_strangle, gld_strangle, snap, spxw_condor, spy_lt112

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
    assert isinstance(answer, Refusal) and "half of 1 contract is none" in answer.reason


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
    assert warning.alert is AlertLevel.WARNING and "no new entries until net liq is back to 85,000" in warning.reason
    assert "drawdown_reset_peak" in warning.reason  # what a person can do when nothing open can recover it
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
