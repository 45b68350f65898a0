"""safety/checks: daily limits from real closes, risk per trade, market hours, and the trading state gate."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time

import pytest

from core.calendar import Calendars
from core.model import AccountState, Approval, IntentAction, OrderIntent, Refusal, Right
from core.settings import Settings
from safety.checks import SafetyChecks, trade_risk
from safety.state import TradingState
from tests.fakes import market as m
from tests.fakes.market import opening
from tests.risk.kit import book, es_strangle, gld_strangle, snap, spxw_condor, spy_lt112, spy_rung

S = Settings()
CAL = Calendars()
MARKET = snap()
NOW = MARKET.time


def acct(net: float = 100_000.0, start: float = 100_000.0) -> AccountState:
    return AccountState(net, start, max(net, start), 0.0)


def checks() -> SafetyChecks:
    c = SafetyChecks(S, CAL.equity, CAL.cme)
    c.new_session(NOW, acct())
    return c


def state_of(c: SafetyChecks) -> TradingState:
    return c.state.state


def gate(c: SafetyChecks, intent: OrderIntent, market=MARKET, account=None):  # type: ignore[no-untyped-def]
    [answer] = c.review([intent], market, account or acct())
    return answer


# ------------------------------------------------------------------------------------------ daily limits


@pytest.mark.parametrize(("net", "reduced"), [(95_100.0, False), (95_000.0, True), (90_000.0, True)])
def test_daily_loss_of_five_percent_makes_the_day_close_only(net: float, reduced: bool) -> None:
    c = checks()
    moved = c.evaluate(NOW, acct(net))
    assert (c.state.state is TradingState.REDUCING) == reduced and bool(moved) == reduced
    if reduced:
        assert moved[0].reason.startswith("daily loss")
        entry = gate(c, opening(gld_strangle(MARKET)), account=acct(net))
        assert isinstance(entry, Refusal) and entry.rule == "trading state" and "REDUCING: daily loss" in entry.reason
        close = OrderIntent(IntentAction.CLOSE, gld_strangle(MARKET), 1, -1.0, "take profit")
        assert isinstance(gate(c, close, account=acct(net)), Approval)
        c.new_session(datetime(2024, 1, 9, 9, 30, tzinfo=m.NY), acct(net))
        assert c.state.state is TradingState.ACTIVE and c.daily.start_of_day_net_liq == net


def test_three_losing_closes_make_the_day_close_only_and_wins_never_do() -> None:
    c = checks()
    for i in range(5):
        assert c.on_close(NOW, f"w{i}", +120.0, acct()) == []
    assert state_of(c) is TradingState.ACTIVE  # a limit that never sees a loss never fires
    c.on_close(NOW, "a1", -80.0, acct())
    c.on_close(NOW, "a2", -15.0, acct())
    assert state_of(c) is TradingState.ACTIVE
    [moved] = c.on_close(NOW, "a3", -300.0, acct())
    assert state_of(c) is TradingState.REDUCING
    assert moved.reason == "3 losing closes today (a1 -80.00, a2 -15.00, a3 -300.00)"


# ------------------------------------------------------------------------------------------ risk per trade


def test_defined_risk_is_the_wider_wing_less_the_credit() -> None:
    condor = spxw_condor(MARKET, wing=10, qty=3)
    [view] = book([condor], MARKET).views
    credit = -condor.entry_price
    assert trade_risk(view, S) == pytest.approx((10.0 - credit) * 100 * 3)


def test_undefined_risk_is_the_loss_at_the_strategy_stop() -> None:
    strangle = es_strangle(MARKET)
    [view] = book([strangle], MARKET).views
    credit = -strangle.entry_price
    assert trade_risk(view, S) == pytest.approx((3.0 - 1.0) * credit * 50)
    rung = spy_rung(MARKET, "r1")
    [rung_view] = book([rung], MARKET).views
    assert trade_risk(rung_view, S) == pytest.approx((3.0 - 1.0) * -rung.entry_price * 100)
    lt = spy_lt112(MARKET, "l1")
    [lt_view] = book([lt], MARKET).views
    mids = [mk.mid for mk in lt_view.legs]
    spread_debit = mids[0] - mids[1]
    naked_credit = 2 * mids[2]
    assert trade_risk(lt_view, S) == pytest.approx((spread_debit + 2.0 * naked_credit) * 100)


def test_an_entry_over_two_percent_is_cut_or_refused() -> None:
    c = checks()
    condor = spxw_condor(MARKET, wing=10, qty=5, put=4740.0, call=4760.0)
    per = trade_risk(book([dataclasses.replace(condor, quantity=1)], MARKET).views[0], S)
    assert per is not None
    fits = int(2_000 // per)
    answer = gate(c, dataclasses.replace(opening(condor), quantity=5))
    assert isinstance(answer, Approval) and answer.intent.quantity == fits == answer.intent.structure.quantity
    assert answer.notes[0].startswith(f"risk per trade: 5 → {fits}")
    one = spxw_condor(MARKET, wing=10, put=4740.0, call=4760.0)
    small = gate(c, opening(one), account=acct(net=per * 40, start=per * 40))
    assert isinstance(small, Refusal) and small.rule == "risk per trade" and "one contract risks" in small.reason


def test_two_percent_is_of_net_liq_now_with_no_slack() -> None:
    """#21, two mutants that survived: the 2% measured against the day's starting net liq, and 2% with 10%
    slack. One 10-wide condor risks `per`; an account of per / 0.02 may take exactly one (the boundary is
    inclusive, RULEBOOK "at most 2%"); 1% less net liq and it may not, even though the day began 20%
    higher (what counts is net liq now) and even though the shortfall is only 1% of the limit."""
    one = spxw_condor(MARKET, wing=10, put=4740.0, call=4760.0)
    per = trade_risk(book([one], MARKET).views[0], S)
    assert per is not None
    for net, fits in ((per / 0.02, True), (0.99 * per / 0.02, False)):
        account = acct(net=net, start=1.2 * net)
        c = SafetyChecks(S, CAL.equity, CAL.cme)
        c.new_session(NOW, account)
        answer = gate(c, opening(one), account=account)
        if fits:
            assert isinstance(answer, Approval) and answer.intent.quantity == 1 and not answer.notes
        else:
            assert isinstance(answer, Refusal) and answer.rule == "risk per trade", answer


def test_naked_shorts_without_a_stop_are_refused() -> None:
    odd = dataclasses.replace(gld_strangle(MARKET), strategy="ipmcc")  # the IPMCC has no stop for naked shorts
    answer = gate(checks(), opening(odd))
    assert isinstance(answer, Refusal) and answer.rule == "risk per trade" and "no stop" in answer.reason


def test_a_covered_call_is_judged_with_its_held_leap() -> None:
    leap, short = m.ipmcc("QQQ", date(2025, 1, 17), 330.0, date(2024, 1, 12), 400.0)
    parent = m.structure("c55", "ipmcc", [leap], MARKET)
    part = dataclasses.replace(m.structure("c55-w1", "ipmcc", [short], MARKET), parent="c55")
    alone = gate(checks(), opening(part))
    assert isinstance(alone, Refusal) and "no stop" in alone.reason  # without its LEAP it is a naked call
    [covered] = checks().review([opening(part)], MARKET, acct(), {"c55": parent})
    assert isinstance(covered, Approval) and covered.intent.quantity == 1
    # Twice the calls the LEAP covers leaves one naked: refused again, now with the parent in view.
    doubled = dataclasses.replace(part, quantity=2)
    [naked] = checks().review([opening(doubled)], MARKET, acct(), {"c55": parent})
    assert isinstance(naked, Refusal) and "no stop" in naked.reason


# ------------------------------------------------------------------------------------------ market hours


@pytest.mark.parametrize(
    ("day", "hh", "mm", "reason"),
    [
        (date(2024, 1, 8), 9, 44, "within 15 minutes of the 09:30 open"),
        (date(2024, 1, 8), 9, 45, None),
        (date(2024, 1, 8), 15, 59, None),
        (date(2024, 1, 8), 16, 0, "after the 16:00 close"),
        (date(2024, 1, 15), 10, 30, "not a trading day"),  # Martin Luther King Jr. Day
        (date(2024, 1, 13), 10, 30, "not a trading day"),  # a Saturday
        (date(2024, 11, 29), 11, 59, None),  # the day after Thanksgiving closes at 13:00
        (date(2024, 11, 29), 12, 0, "early close at 13:00 today"),
        (date(2024, 3, 11), 9, 44, "within 15 minutes"),  # the first session after the clocks changed
        (date(2024, 3, 11), 9, 45, None),
    ],
)
def test_market_hours(day: date, hh: int, mm: int, reason: str | None) -> None:
    now = datetime.combine(day, time(hh, mm), tzinfo=m.NY)
    got = checks().market_closed_reason(opening(es_strangle(MARKET)), now)
    assert (got is None) if reason is None else (got is not None and reason in got)


def test_cme_legs_need_the_cme_open() -> None:
    class Closed:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(CAL.cme, name)

        def is_open(self, moment: datetime) -> bool:
            return False

    c = SafetyChecks(S, CAL.equity, Closed())
    assert "the CME is closed" in (c.market_closed_reason(opening(es_strangle(MARKET)), NOW) or "")
    assert c.market_closed_reason(opening(gld_strangle(MARKET)), NOW) is None


# ------------------------------------------------------------------------------------------ state and data


def test_halted_allows_only_safety_closes() -> None:
    c = checks()
    c.state.halt(NOW, "reconciliation mismatch", sticky=True)
    strangle = gld_strangle(MARKET)
    entry = gate(c, opening(strangle))
    assert isinstance(entry, Refusal) and "HALTED: reconciliation mismatch" in entry.reason
    plain = OrderIntent(IntentAction.CLOSE, strangle, 1, -1.0, "profit target")
    refused = gate(c, plain)
    assert isinstance(refused, Refusal) and refused.rule == "trading state"
    assert isinstance(gate(c, dataclasses.replace(plain, safety=True, reason="orphan leg")), Approval)


def test_unusable_quotes_refuse_the_entry() -> None:
    gld = MARKET.chains["GLD"]
    row = gld.find(date(2024, 4, 19), 205.0, Right.CALL)
    assert row is not None
    bid = gld.bid.copy()
    bid[row] = gld.ask[row] + 0.1
    crossed = dataclasses.replace(MARKET, chains={**MARKET.chains, "GLD": dataclasses.replace(gld, bid=bid)})
    answer = gate(checks(), opening(gld_strangle(MARKET)), market=crossed)
    assert isinstance(answer, Refusal) and answer.rule == "data" and "CROSSED" in answer.reason


# ------------------------------------------------------------------------------------------ issue #16, item 6


def test_an_ipmcc_leap_risks_its_loss_at_the_30_percent_exit_not_its_whole_premium() -> None:
    """RULEBOOK's IPMCC exits all when the LEAP is down 30%: that caps what the entry risks. Counting the whole
    premium refused almost every IPMCC: the QQQ 330 call a year out at QQQ 400 costs about 9,040 (its mid
    here), over 2% of 150,000 (3,000); at its 30% exit it loses 0.30 × 9,040 ≈ 2,710, which fits. At 100,000
    (2,000) the 2,710 still does not fit, and the refusal says how the risk was measured."""
    leap = m.structure("c1", "ipmcc", [(m.option("QQQ", date(2025, 1, 17), 330.0, Right.CALL), 1)], MARKET)
    premium = leap.entry_price * 100.0
    assert 8_500.0 < premium < 9_500.0
    c = checks()
    approved = gate(c, opening(leap), account=acct(150_000.0, 150_000.0))
    assert isinstance(approved, Approval), approved
    refused = gate(c, opening(leap), account=acct(100_000.0))
    assert isinstance(refused, Refusal) and refused.rule == "risk per trade"
    assert refused.reason.startswith(f"risk {0.30 * premium:,.0f} (measured at its 30% LEAP exit) is over 2%")
