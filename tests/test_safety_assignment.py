"""safety/assignment: the scheduled checks at their boundaries and an actual assignment."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, time

import pytest

from core.book import OpenBook
from core.calendar import Calendars
from core.model import (
    Chain,
    ChainRow,
    Contract,
    ContractKind,
    IntentAction,
    Leg,
    MarketSnapshot,
    OrderIntent,
    Right,
    Structure,
)
from core.ports import AlertLevel, EventKind
from core.settings import Settings
from risk.events import CsvEventCalendar
from safety.assignment import AssignmentCheck, AssignmentEvent, close_whole, underlying_price
from tests.fakes import market as m

S = Settings()
CAL = Calendars()
THURSDAY = date(2024, 1, 18)
FRIDAY = date(2024, 1, 19)


def at(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=m.NY)


def spy_market(day: date, price: float) -> MarketSnapshot:
    return m.snapshot(
        at(day, 10, 0),
        14.0,
        [
            m.priced_chain(
                "SPY", price, at(day, 10, 0), [FRIDAY, date(2024, 2, 16)], [float(k) for k in range(440, 500)], 0.14
            )
        ],
    )


def held(*structures: Structure) -> OpenBook:
    book = OpenBook()
    for s in structures:
        book.add_units(s, s.quantity, s.entry_price)
    return book


def put_spread(market: MarketSnapshot) -> Structure:
    legs = [(m.option("SPY", FRIDAY, 465.0, Right.PUT), +1), (m.option("SPY", FRIDAY, 470.0, Right.PUT), -1)]
    return m.structure("ps1", "lt112", legs, market)


@pytest.mark.parametrize(
    ("day", "clock", "price", "closes"),
    [
        (THURSDAY, (14, 59), 466.0, False),  # before the 15:00 check
        (THURSDAY, (15, 0), 466.0, True),  # 1 DTE, 4 in the money, physical
        (THURSDAY, (15, 0), 471.0, False),  # out of the money
        (date(2024, 1, 17), (15, 0), 466.0, False),  # 2 DTE
        (FRIDAY, (15, 0), 469.9, True),  # expiry day, barely in the money
    ],
)
def test_physically_settled_shorts(day: date, clock: tuple[int, int], price: float, closes: bool) -> None:
    market = spy_market(day, price)
    spread = put_spread(market)
    intents = AssignmentCheck(S, CAL.equity).check(at(day, *clock), held(spread), market)
    assert bool(intents) == closes
    if closes:
        [close] = intents
        assert close.action is IntentAction.CLOSE and close.safety and close.structure.id == "ps1"
        assert close.reason.startswith("assignment: short SPY 2024-01-19 470 put is in the money")


def test_an_early_close_moves_the_checks_as_far_before_it() -> None:
    check = AssignmentCheck(S, CAL.equity)
    assert check.check_times(THURSDAY) == (at(THURSDAY, 15, 0), at(THURSDAY, 15, 30))
    after_thanksgiving = date(2018, 11, 23)  # closes at 13:00
    assert check.check_times(after_thanksgiving) == (at(after_thanksgiving, 12, 0), at(after_thanksgiving, 12, 30))


def test_a_weekly_expiring_on_an_early_close_is_closed_before_it() -> None:
    """Regression: the check compared the clock with 15:00, which never comes on a 13:00 close: an
    in-the-money short weekly expiring the Friday after Thanksgiving went into expiry and was assigned."""
    day, expiry = date(2018, 11, 23), date(2018, 11, 23)
    now = at(day, 12, 0)
    market = m.snapshot(
        now, 20.0, [m.priced_chain("SPY", 263.0, now, [expiry], [float(k) for k in range(250, 280)], 0.2)]
    )
    legs = [(m.option("SPY", expiry, 260.0, Right.PUT), +1), (m.option("SPY", expiry, 265.0, Right.PUT), -1)]
    spread = m.structure("ps2", "lt112", legs, market)
    check = AssignmentCheck(S, CAL.equity)
    assert check.check(at(day, 11, 59), held(spread), market) == []
    [close] = check.check(now, held(spread), market)
    assert close.safety and "in the money" in close.reason


def test_future_options_are_covered() -> None:
    day = date(2024, 3, 15)
    market = m.snapshot(
        at(day, 10, 0),
        14.0,
        [m.priced_chain("ES", 4700.0, at(day, 10, 0), [day], [float(k) for k in range(4500, 5000, 25)], 0.15)],
    )
    short = m.structure("es1", "strangles", m.strangle("ES", day, 4725.0, 4900.0), market)
    [close] = AssignmentCheck(S, CAL.cme).check(at(day, 15, 0), held(short), market)
    assert "ES 2024-03-15 4725 put is in the money" in close.reason


@pytest.mark.parametrize(
    ("clock", "spx", "closes"), [((15, 29), 4790.0, False), ((15, 30), 4790.0, True), ((15, 30), 4778.0, False)]
)
def test_cash_settled_index_shorts_on_expiry_day(clock: tuple[int, int], spx: float, closes: bool) -> None:
    day = FRIDAY
    market = m.snapshot(
        at(day, 10, 0),
        14.0,
        [
            m.priced_chain(
                "SPXW", spx, at(day, 10, 0), [day, date(2024, 1, 22)], [float(k) for k in range(4600, 4850, 5)], 0.12
            )
        ],
    )
    condor = m.structure("z1", "zero_dte", m.iron_condor("SPXW", day, 4700.0, 10.0, 4760.0, 10.0), market)
    intents = AssignmentCheck(S, CAL.equity).check(at(day, *clock), held(condor), market)
    assert bool(intents) == closes  # 4790 is 0.63% past the 4760 call; 4778 only 0.38%
    if closes:
        assert "0.63% in the money on expiry day (over 0.5%)" in intents[0].reason


def test_cash_settled_shorts_are_not_closed_the_day_before() -> None:
    market = m.snapshot(
        at(THURSDAY, 10, 0),
        14.0,
        [m.priced_chain("SPXW", 4790.0, at(THURSDAY, 10, 0), [FRIDAY], [float(k) for k in range(4600, 4850, 5)], 0.12)],
    )
    condor = m.structure("z1", "zero_dte", m.iron_condor("SPXW", FRIDAY, 4700.0, 10.0, 4760.0, 10.0), market)
    assert AssignmentCheck(S, CAL.equity).check(at(THURSDAY, 15, 30), held(condor), market) == []


@pytest.mark.parametrize(("margin", "closes"), [(+0.05, True), (0.0, False), (-0.05, False)])
def test_short_american_calls_before_an_ex_dividend(margin: float, closes: bool) -> None:
    day = date(2024, 3, 14)  # QQQ goes ex on Friday 2024-03-15 in this test
    market = m.snapshot(
        at(day, 10, 0),
        14.0,
        [
            m.priced_chain(
                "QQQ",
                440.0,
                at(day, 10, 0),
                [date(2024, 3, 22), date(2025, 1, 17)],
                [float(k) for k in range(300, 480, 5)],
                0.18,
            )
        ],
    )
    ipmcc = m.structure("c1", "ipmcc", m.ipmcc("QQQ", date(2025, 1, 17), 350.0, date(2024, 3, 22), 420.0), market)
    qqq = market.chains["QQQ"]
    row = qqq.find(date(2024, 3, 22), 420.0, Right.CALL)
    assert row is not None
    extrinsic = float(qqq.mid[row]) - 20.0
    dividend = extrinsic + margin  # just above or just below the short call's extrinsic value
    assert dividend > 0
    events = CsvEventCalendar(
        {"QQQ": ((date(2024, 3, 15), EventKind.EX_DIVIDEND),)}, {("QQQ", date(2024, 3, 15)): dividend}
    )
    assert AssignmentCheck(S, CAL.equity, events).check(at(day, 11, 0), held(ipmcc), market) == []  # at 15:00
    intents = AssignmentCheck(S, CAL.equity, events).check(at(day, 15, 0), held(ipmcc), market)
    assert bool(intents) == closes
    if closes:
        assert f"below the {dividend:.2f} dividend going ex 2024-03-15" in intents[0].reason
    assert AssignmentCheck(S, CAL.equity, None).check(at(day, 15, 0), held(ipmcc), market) == []


def test_an_assignment_flattens_the_delivery_closes_the_rest_and_books_the_loss() -> None:
    market = spy_market(FRIDAY, 462.0)
    spread = put_spread(market)
    stock = Contract("SPY", "SPY", ContractKind.EQUITY, 1.0)
    market = m.snapshot(market.time, 14.0, list(market.chains.values()), {"SPY": 462.0})
    event = AssignmentEvent(at(FRIDAY, 16, 30), spread.legs[1].contract, +1, stock, +100, 462.0)
    chain = market.chains["SPY"]
    mids = [chain.find(FRIDAY, k, Right.PUT) for k in (465.0, 470.0)]
    assert None not in mids
    spread = dataclasses.replace(spread, leg_entry_prices=tuple(float(chain.mid[r]) for r in mids if r is not None))
    book = held(spread)
    check = AssignmentCheck(S, CAL.equity)
    intents, alerts, [trade] = check.on_assignment(event, book, market)
    flatten, rest = intents
    assert flatten.safety and flatten.structure.legs[0].contract == stock and flatten.structure.legs[0].ratio == 1
    assert flatten.quantity == 100 and flatten.action is IntentAction.CLOSE
    assert rest.safety and [leg.contract.strike for leg in rest.structure.legs] == [465.0]
    # The book now holds what the broker holds: the long put and the 100 shares, not the assigned short put.
    assert book.positions() == {spread.legs[0].contract: 1, stock: 100}
    assert {s.id for s in book.open_structures()} == {"ps1", flatten.structure.id}
    # The assigned short put closed at its intrinsic value (8.00) against what it was sold for.
    assert trade.structure.parent == "ps1" and trade.units == 1
    sold_for = spread.leg_entry_prices[1]
    assert trade.pnl == pytest.approx((sold_for - 8.0) * 100)
    [alert] = alerts
    assert alert.level is AlertLevel.CRITICAL and "SPY 2024-01-19 470 put assigned x1 at 462" in alert.body
    assert "flattening +100 SPY" in alert.body
    # Whatever happens to those closes (a restart, a refusal), every step closes them again until they are gone.
    later = [i.structure.id for i in check.check(at(FRIDAY, 16, 45), book, market)]
    assert sorted(later) == sorted(["ps1", flatten.structure.id])


def test_an_exercised_long_call_delivers_short_of_nothing_and_keeps_the_rest_open_for_closing() -> None:
    # An IPMCC whose LEAP call is exercised: +100 shares arrive, the short weekly call stays to be closed.
    market = spy_market(FRIDAY, 462.0)
    leap = m.option("SPY", date(2024, 12, 20), 400.0, Right.CALL)
    weekly = m.option("SPY", FRIDAY, 470.0, Right.CALL)
    ipmcc = dataclasses.replace(
        m.structure("pmcc", "ipmcc", [(leap, +1), (weekly, -1)], market, entry_price=63.0),
        leg_entry_prices=(65.0, 2.0),
    )
    book = held(ipmcc)
    stock = Contract("SPY", "SPY", ContractKind.EQUITY, 1.0)
    event = AssignmentEvent(at(FRIDAY, 10, 0), leap, -1, stock, +100, 462.0)
    intents, _, [trade] = AssignmentCheck(S, CAL.equity).on_assignment(event, book, market)
    assert book.positions() == {weekly: -1, stock: 100}
    assert trade.exit_price == pytest.approx(62.0)  # the LEAP at its intrinsic value
    assert trade.pnl == pytest.approx((62.0 - 65.0) * 100)
    [rest] = [i for i in intents if i.structure.id == "pmcc"]
    assert [(leg.contract, leg.ratio) for leg in rest.structure.legs] == [(weekly, -1)]


# ------------------------------------------------------------------------------------------ issue #16, item 2


def qqq_market(day: date, price: float) -> MarketSnapshot:
    chain = m.priced_chain(
        "QQQ", price, at(day, 10, 0), [FRIDAY, date(2025, 1, 17)], [float(k) for k in range(300, 460, 5)], 0.2
    )
    return m.snapshot(at(day, 10, 0), 14.0, [chain])


def test_the_check_closes_the_ipmcc_call_at_risk_and_keeps_its_leap() -> None:
    """RULEBOOK: close the short at risk with the legs that only cover it, nothing more: an IPMCC's LEAP stays.
    The weekly 400 call is 5 in the money at 15:00 the day before it expires (physical): the check closed the
    whole IPMCC, selling the LEAP (three of ten IPMCC closes in the default backtest). Only the call goes."""
    market = qqq_market(THURSDAY, 405.0)
    legs = [
        (m.option("QQQ", date(2025, 1, 17), 330.0, Right.CALL), +1),
        (m.option("QQQ", FRIDAY, 400.0, Right.CALL), -1),
    ]
    ipmcc = m.structure("ip1", "ipmcc", legs, market)
    [close] = AssignmentCheck(S, CAL.equity).check(at(THURSDAY, 15, 0), held(ipmcc), market)
    assert close.safety and close.structure.parent == "ip1"
    assert [(leg.contract.strike, leg.ratio) for leg in close.structure.legs] == [(400.0, -1)]


def test_a_condors_side_at_risk_closes_with_its_wing_and_the_other_side_stays() -> None:
    """An SPY iron condor expiring Friday, SPY at 466 at 15:00 Thursday: the 470 put is in the money, the
    465 put is its wing; the calls are far away. The put spread closes; the call spread stays."""
    market = spy_market(THURSDAY, 466.0)
    legs = [
        (m.option("SPY", FRIDAY, 465.0, Right.PUT), +1),
        (m.option("SPY", FRIDAY, 470.0, Right.PUT), -1),
        (m.option("SPY", FRIDAY, 480.0, Right.CALL), -1),
        (m.option("SPY", FRIDAY, 485.0, Right.CALL), +1),
    ]
    condor = m.structure("ic1", "strangles", legs, market)
    [close] = AssignmentCheck(S, CAL.equity).check(at(THURSDAY, 15, 0), held(condor), market)
    assert close.structure.parent == "ic1"
    assert sorted((leg.contract.strike, leg.ratio) for leg in close.structure.legs) == [(465.0, 1), (470.0, -1)]


def test_an_lt112s_spread_at_risk_closes_with_its_own_long_and_the_naked_puts_stay() -> None:
    """LT112 +1 475 / −1 470 / −2 468 puts, SPY at 466: every short is in the money. The long put covers the
    nearest short (470): together they are a spread; the 468s are naked. All of it is at risk, so all closes
    (the whole structure). At SPY 469 only the spread's 470 is in the money: it closes with the long that
    covers it, and the naked 468s, out of the money, stay."""
    legs = [
        (m.option("SPY", FRIDAY, 475.0, Right.PUT), +1),
        (m.option("SPY", FRIDAY, 470.0, Right.PUT), -1),
        (m.option("SPY", FRIDAY, 468.0, Right.PUT), -2),
    ]
    market = spy_market(THURSDAY, 466.0)
    lt112 = m.structure("lt1", "lt112", legs, market)
    [whole] = AssignmentCheck(S, CAL.equity).check(at(THURSDAY, 15, 0), held(lt112), market)
    assert whole.structure.id == "lt1" and not whole.structure.parent
    market = spy_market(THURSDAY, 469.0)
    lt112 = m.structure("lt1", "lt112", legs, market)
    [spread] = AssignmentCheck(S, CAL.equity).check(at(THURSDAY, 15, 0), held(lt112), market)
    assert [(leg.contract.strike, leg.ratio) for leg in spread.structure.legs] == [(475.0, 1), (470.0, -1)]


# ------------------------------------------------------------------------------------------ boundaries, rule by rule


def test_the_underlying_price_comes_from_the_chain_else_the_price_table_and_is_never_zero() -> None:
    market = spy_market(THURSDAY, 466.0)
    put = m.option("SPY", FRIDAY, 470.0, Right.PUT)
    chain = market.chains["SPY"]

    def with_(chain_price: float | None, table: dict[str, float]) -> MarketSnapshot:
        chains = {} if chain_price is None else {"SPY": dataclasses.replace(chain, underlying_price=chain_price)}
        return dataclasses.replace(market, chains=chains, prices=table)

    assert underlying_price(put, with_(466.0, {"SPY": 999.0})) == 466.0  # the chain's own first
    assert underlying_price(put, with_(0.5, {})) == 0.5  # a tiny price is still a price
    assert underlying_price(put, with_(math.nan, {"SPY": 467.0})) == 467.0
    assert underlying_price(put, with_(0.0, {"SPY": 467.0})) == 467.0
    assert underlying_price(put, with_(None, {"SPY": 0.5})) == 0.5
    assert underlying_price(put, with_(None, {"SPY": 0.0})) is None
    assert underlying_price(put, with_(None, {"QQQ": 400.0})) is None
    assert underlying_price(put, with_(math.nan, {})) is None


def test_a_short_without_an_underlying_price_is_at_risk_and_says_why() -> None:
    market = spy_market(THURSDAY, 466.0)
    spread = put_spread(market)
    blind = dataclasses.replace(market, chains={}, prices={})
    [close] = AssignmentCheck(S, CAL.equity).check(at(THURSDAY, 15, 0), held(spread), blind)
    assert close.safety and "short SPY 2024-01-19 470 put cannot be checked: no underlying price" in close.reason


@pytest.mark.parametrize(("strike", "closes"), [(6000.0, False), (6005.0, True)])
def test_index_shorts_close_only_strictly_past_the_threshold(strike: float, closes: bool) -> None:
    """With a threshold of 0.5 (exact in binary) and SPX at 4,000, a 6,000 put is exactly 50% in the money:
    not past it; a 6,005 put is."""
    day = FRIDAY
    chain = m.priced_chain("SPXW", 4000.0, at(day, 10, 0), [day], [6000.0, 6005.0], 0.12)
    market = m.snapshot(at(day, 10, 0), 14.0, [chain])
    short = m.structure("z1", "zero_dte", m.short_put("SPXW", day, strike), market)
    wide = dataclasses.replace(S, index_itm_close_threshold=0.5)
    intents = AssignmentCheck(wide, CAL.equity).check(at(day, 15, 30), held(short), market)
    assert bool(intents) == closes


def test_an_at_the_money_american_call_is_not_at_dividend_risk() -> None:
    """In the money by nothing (QQQ at the 420 strike) early exercise gains nothing, whatever the dividend."""
    day = date(2024, 3, 14)
    chain = m.priced_chain("QQQ", 420.0, at(day, 10, 0), [date(2024, 3, 22), date(2025, 1, 17)], [350.0, 420.0], 0.18)
    market = m.snapshot(at(day, 10, 0), 14.0, [chain])
    ipmcc = m.structure("c1", "ipmcc", m.ipmcc("QQQ", date(2025, 1, 17), 350.0, date(2024, 3, 22), 420.0), market)
    events = CsvEventCalendar(
        {"QQQ": ((date(2024, 3, 15), EventKind.EX_DIVIDEND),)}, {("QQQ", date(2024, 3, 15)): 50.0}
    )
    assert AssignmentCheck(S, CAL.equity, events).check(at(day, 15, 0), held(ipmcc), market) == []


def test_covers_pair_with_the_shorts_nearest_the_money_whatever_order_the_legs_are_in() -> None:
    """Puts listed far-first (2 × 468, the 475 long, the 470 short), SPY at 469: the long covers the 470 (the
    nearest the money), which is the only short in the money: the 470 closes with its 475. Calls likewise:
    the 495 long covers the 480 short (the nearest), in the money at SPY 486; the 490 stays."""
    puts = [
        (m.option("SPY", FRIDAY, 468.0, Right.PUT), -2),
        (m.option("SPY", FRIDAY, 475.0, Right.PUT), +1),
        (m.option("SPY", FRIDAY, 470.0, Right.PUT), -1),
    ]
    market = spy_market(THURSDAY, 469.0)
    [spread] = AssignmentCheck(S, CAL.equity).check(
        at(THURSDAY, 15, 0), held(m.structure("lt1", "lt112", puts, market)), market
    )
    assert sorted((leg.contract.strike, leg.ratio) for leg in spread.structure.legs) == [(470.0, -1), (475.0, 1)]
    calls = [
        (m.option("SPY", FRIDAY, 495.0, Right.CALL), +1),
        (m.option("SPY", FRIDAY, 490.0, Right.CALL), -1),
        (m.option("SPY", FRIDAY, 480.0, Right.CALL), -1),
    ]
    market = dataclasses.replace(
        spy_market(THURSDAY, 486.0),
        chains={
            "SPY": m.priced_chain(
                "SPY", 486.0, at(THURSDAY, 10, 0), [FRIDAY], [float(k) for k in range(470, 500)], 0.14
            )
        },
    )
    [call_spread] = AssignmentCheck(S, CAL.equity).check(
        at(THURSDAY, 15, 0), held(m.structure("cs1", "strangles", calls, market)), market
    )
    assert sorted((leg.contract.strike, leg.ratio) for leg in call_spread.structure.legs) == [(480.0, -1), (495.0, 1)]


def test_a_safety_close_is_limited_at_the_net_mid_and_an_unquoted_leg_counts_nothing() -> None:
    market = spy_market(THURSDAY, 466.0)
    spread = put_spread(market)
    chain = market.chains["SPY"]
    mids = {k: float(chain.mid[r]) for k in (465.0, 470.0) if (r := chain.find(FRIDAY, k, Right.PUT)) is not None}
    close = close_whole(spread, market, "why")
    assert close == OrderIntent(IntentAction.CLOSE, spread, 1, round(mids[465.0] - mids[470.0], 4), "why", safety=True)
    ghost = dataclasses.replace(
        spread,
        legs=(
            spread.legs[0],
            dataclasses.replace(spread.legs[1], contract=dataclasses.replace(spread.legs[1].contract, strike=470.5)),
        ),
    )
    assert close_whole(ghost, market, "why").limit_price == round(mids[465.0], 4)


def test_what_an_assignment_says_and_what_its_closes_say() -> None:
    """The put spread's short 470 put assigned at SPY 462: the alert and both closes, compared whole. Then the
    same event for an option no structure holds, and what `leftovers` says at the next step."""
    market = spy_market(FRIDAY, 462.0)
    market = m.snapshot(market.time, 14.0, list(market.chains.values()), {"SPY": 462.0})
    spread = put_spread(market)
    stock = Contract("SPY", "SPY", ContractKind.EQUITY, 1.0)
    event = AssignmentEvent(at(FRIDAY, 16, 30), spread.legs[1].contract, +1, stock, +100, 462.0)
    book = held(spread)
    check = AssignmentCheck(S, CAL.equity)
    intents, [alert], [trade] = check.on_assignment(event, book, market)
    what = "SPY 2024-01-19 470 put assigned x1"
    assert (alert.level, alert.title) == (AlertLevel.CRITICAL, "assignment")
    assert alert.body == (f"{what} at 462; lt112 ps1: {trade.pnl:+,.2f} booked; closing the rest; flattening +100 SPY")
    assert [i.reason for i in intents] == [
        f"assignment: flatten SPY delivered by {what}",
        "assignment: close the rest of lt112 ps1",
    ]
    assert all(i.safety and i.action is IntentAction.CLOSE for i in intents)
    again = check.leftovers(book, market)
    assert sorted(i.reason for i in again) == sorted(
        [f"assignment: flatten {s.tag}" for s in book.open_structures() if s.id != "ps1"]
        + ["assignment: close the rest of ps1"]
    )
    stray = AssignmentEvent(at(FRIDAY, 16, 30), m.option("SPY", FRIDAY, 480.0, Right.CALL), -1, stock, +100, 462.0)
    _, [lone], none = check.on_assignment(stray, held(), market)
    assert none == []
    assert lone.body == "SPY 2024-01-19 480 call exercised x1 at 462; no structure held it; flattening +100 SPY"


# ------------------------------------------------------------------------------------------ #21: the branches and texts


@pytest.mark.usefixtures("server_in_utc")
def test_the_checks_day_is_new_yorks_whatever_the_clock_says_elsewhere() -> None:
    """At 20:00 New York on Thursday (already Friday 01:00 in UTC) the SPY 470 put expiring Friday is 1 DTE,
    4 in the money at 466, and the day's 15:00 check time has passed: it closes."""
    market = spy_market(THURSDAY, 466.0)
    [close] = AssignmentCheck(S, CAL.equity).check(at(THURSDAY, 20, 0), held(put_spread(market)), market)
    assert (
        close.reason
        == "assignment: short SPY 2024-01-19 470 put is in the money (4.00) with 1 DTE and settles physically"
    )


def test_two_put_spreads_listed_out_of_order_close_the_one_at_risk_with_its_own_long() -> None:
    """Short 470 and 480 puts, long 465 and 475, listed shorts first and longs far-first. Covers pair nearest
    the money first: 480 with 475, 470 with 465. SPY at 477 puts only the 480 in the money (by 3): it closes
    with the 475, as a part of its structure named `ps2:at-risk`; the 470/465 spread stays."""
    market = spy_market(THURSDAY, 477.0)
    legs = [
        (m.option("SPY", FRIDAY, 470.0, Right.PUT), -1),
        (m.option("SPY", FRIDAY, 480.0, Right.PUT), -1),
        (m.option("SPY", FRIDAY, 465.0, Right.PUT), +1),
        (m.option("SPY", FRIDAY, 475.0, Right.PUT), +1),
    ]
    [close] = AssignmentCheck(S, CAL.equity).check(
        at(THURSDAY, 15, 0), held(m.structure("ps2", "lt112", legs, market)), market
    )
    assert (close.structure.id, close.structure.parent) == ("ps2:at-risk", "ps2")
    assert sorted((leg.contract.strike, leg.ratio) for leg in close.structure.legs) == [(475.0, 1), (480.0, -1)]
    assert close.reason == (
        "assignment: short SPY 2024-01-19 480 put is in the money (3.00) with 1 DTE and settles physically"
        " (the rest stays)"
    )


def test_a_strangle_that_cannot_be_checked_closes_whole() -> None:
    """No SPY price at all: neither short can be checked, so both are at risk and the whole strangle closes,
    for the first one's reason."""
    market = spy_market(THURSDAY, 466.0)
    legs = [(m.option("SPY", FRIDAY, 460.0, Right.PUT), -1), (m.option("SPY", FRIDAY, 480.0, Right.CALL), -1)]
    strangle = m.structure("st1", "strangles", legs, market)
    blind = dataclasses.replace(market, chains={}, prices={})
    [close] = AssignmentCheck(S, CAL.equity).check(at(THURSDAY, 15, 0), held(strangle), blind)
    assert close.structure == strangle
    assert close.reason == "assignment: short SPY 2024-01-19 460 put cannot be checked: no underlying price"


def qqq_before_ex(price: float, strikes: list[float]) -> MarketSnapshot:
    """QQQ on Thursday 2024-03-14 (it goes ex on Friday 2024-03-15 in these tests)."""
    day = date(2024, 3, 14)
    chain = m.priced_chain("QQQ", price, at(day, 10, 0), [date(2024, 3, 22), date(2025, 1, 17)], strikes, 0.18)
    return m.snapshot(at(day, 10, 0), 14.0, [chain])


def ex_on_friday(*kinds: EventKind, dividend: float | None = 50.0) -> CsvEventCalendar:
    amounts = {} if dividend is None else {("QQQ", date(2024, 3, 15)): dividend}
    return CsvEventCalendar({"QQQ": tuple((date(2024, 3, 15), k) for k in kinds)}, amounts)


def test_a_short_put_is_never_closed_for_a_dividend() -> None:
    """A QQQ 460 put 20 in the money, 8 days out, before a 50.00 dividend: early exercise of a put is not
    a dividend play (only a call's holder collects the dividend), so it stays."""
    market = qqq_before_ex(440.0, [350.0, 460.0])
    short = m.structure("p1", "ipmcc", m.short_put("QQQ", date(2024, 3, 22), 460.0), market)
    events = ex_on_friday(EventKind.EX_DIVIDEND)
    assert AssignmentCheck(S, CAL.equity, events).check(at(date(2024, 3, 14), 15, 0), held(short), market) == []


def test_a_call_half_a_point_in_the_money_is_at_dividend_risk() -> None:
    """QQQ at 420.50: the 420 call is 0.50 in the money; its extrinsic value is far below a 50.00 dividend,
    so its holder would exercise: it closes, and the LEAP stays."""
    market = qqq_before_ex(420.5, [350.0, 420.0])
    ipmcc = m.structure("c1", "ipmcc", m.ipmcc("QQQ", date(2025, 1, 17), 350.0, date(2024, 3, 22), 420.0), market)
    row = market.chains["QQQ"].find(date(2024, 3, 22), 420.0, Right.CALL)
    assert row is not None
    extrinsic = float(market.chains["QQQ"].mid[row]) - 0.5
    events = ex_on_friday(EventKind.EX_DIVIDEND)
    [close] = AssignmentCheck(S, CAL.equity, events).check(at(date(2024, 3, 14), 15, 0), held(ipmcc), market)
    assert close.structure.id == "c1:at-risk" and close.reason == (
        f"assignment: short QQQ 2024-03-22 420 call extrinsic {extrinsic:.2f} is below the 50.00 dividend going ex "
        "2024-03-15 (the rest stays)"
    )


def test_an_earnings_date_before_the_ex_dividend_date_does_not_hide_it() -> None:
    market = qqq_before_ex(440.0, [350.0, 420.0])
    ipmcc = m.structure("c1", "ipmcc", m.ipmcc("QQQ", date(2025, 1, 17), 350.0, date(2024, 3, 22), 420.0), market)
    events = ex_on_friday(EventKind.EARNINGS, EventKind.EX_DIVIDEND)
    [close] = AssignmentCheck(S, CAL.equity, events).check(at(date(2024, 3, 14), 15, 0), held(ipmcc), market)
    assert "below the 50.00 dividend going ex 2024-03-15" in close.reason


def test_an_ex_dividend_date_without_its_amount_puts_the_call_at_risk_and_says_so() -> None:
    market = qqq_before_ex(440.0, [350.0, 420.0])
    ipmcc = m.structure("c1", "ipmcc", m.ipmcc("QQQ", date(2025, 1, 17), 350.0, date(2024, 3, 22), 420.0), market)
    events = ex_on_friday(EventKind.EX_DIVIDEND, dividend=None)
    [close] = AssignmentCheck(S, CAL.equity, events).check(at(date(2024, 3, 14), 15, 0), held(ipmcc), market)
    assert close.reason == (
        "assignment: short QQQ 2024-03-22 420 call is in the money before the 2024-03-15 ex-dividend and cannot "
        "be priced against it (the rest stays)"
    )


def test_a_cash_settled_assignment_says_nothing_of_a_delivery() -> None:
    """An SPXW 4740 put of a condor assigned (cash) at SPX 4700: nothing is delivered, nothing to flatten."""
    day = date(2024, 1, 8)
    chain = m.priced_chain("SPXW", 4700.0, m.at(day), [day], [float(k) for k in range(4600, 4900, 5)], 0.12)
    market = m.snapshot(m.at(day), 14.0, [chain])
    condor = m.structure("ic1", "zero_dte", m.iron_condor("SPXW", day, 4740.0, 10.0, 4760.0, 10.0), market)
    event = AssignmentEvent(m.at(day, 16, 15), condor.legs[1].contract, +1, None, 0, 4700.0)
    _, [alert], [trade] = AssignmentCheck(S, CAL.equity).on_assignment(event, held(condor), market)
    assert alert.body == (
        f"SPXW 2024-01-08 4740 put assigned x1 at 4700; zero_dte ic1: {trade.pnl:+,.2f} booked; closing the rest"
    )


def test_a_delivery_of_nothing_flattens_nothing() -> None:
    """The broker names the shares but delivers none (a quantity of 0): only the rest is closed."""
    market = spy_market(FRIDAY, 462.0)
    spread = put_spread(market)
    stock = Contract("SPY", "SPY", ContractKind.EQUITY, 1.0)
    event = AssignmentEvent(at(FRIDAY, 16, 30), spread.legs[1].contract, +1, stock, 0, 462.0)
    intents, _, _ = AssignmentCheck(S, CAL.equity).on_assignment(event, held(spread), market)
    assert [i.reason for i in intents] == ["assignment: close the rest of lt112 ps1"]


def test_a_safety_close_is_limited_at_the_net_mid_to_four_places() -> None:
    """A short ZN put quoted on its 1/64 grid, 1/64 bid and 2/64 ask: its mid is 3/128 = 0.0234375, so the
    close of the short is limited at −0.0234."""
    day = date(2024, 1, 8)
    chain = Chain.from_rows("ZN", 110.0, m.at(day), [ChainRow(date(2024, 2, 23), 108.0, Right.PUT, 1 / 64, 2 / 64)])
    market = m.snapshot(m.at(day), 14.0, [chain])
    short = Structure(
        "zn1", "strangles", (Leg(m.option("ZN", date(2024, 2, 23), 108.0, Right.PUT), -1),), 1, 0.0, m.at(day)
    )
    assert close_whole(short, market, "why").limit_price == -0.0234


# ------------------------------------------------------------------------------------------ one contract, two holders


def test_an_assignment_is_shared_among_every_structure_short_the_contract() -> None:
    """Two ladder rungs sold the same SPY 470 put on different Mondays (r1 at 5.00, r2 at 6.00), and one more
    is held two-lot by r3 (at 4.00). Three of the four are assigned in one event (LEAN reports them
    together), 300 shares arrive at 462. In book order r1 takes 1, r2 takes 1, r3 takes 1 of its 2: each books
    its own loss at the intrinsic 8.00 ((5 - 8) x 100, (6 - 8) x 100, (4 - 8) x 100), and r3's other put is
    still short, to be closed. Giving all three to r1 would leave r1 long two puts the account does not hold,
    r2 and r3 short three it no longer does, and the close of "the rest of r1" would sell two new puts."""
    market = spy_market(FRIDAY, 462.0)
    put = m.option("SPY", FRIDAY, 470.0, Right.PUT)
    stock = Contract("SPY", "SPY", ContractKind.EQUITY, 1.0)

    def rung(sid: str, sold_at: float, quantity: int) -> Structure:
        sold = m.structure(sid, "leap_ladder", [(put, -1)], market, entry_price=-sold_at)
        return dataclasses.replace(sold, quantity=quantity, leg_entry_prices=(sold_at,))

    book = held(rung("r1", 5.0, 1), rung("r2", 6.0, 1), rung("r3", 4.0, 2))
    event = AssignmentEvent(at(FRIDAY, 16, 30), put, +3, stock, +300, 462.0)
    intents, [alert], trades = AssignmentCheck(S, CAL.equity).on_assignment(event, book, market)
    assert [(t.structure.parent, t.units, round(t.pnl, 2)) for t in trades] == [
        ("r1", 1, -300.0),
        ("r2", 1, -200.0),
        ("r3", 1, -400.0),
    ]
    assert book.positions() == {put: -1, stock: 300}  # what the broker holds
    flatten, rest = intents
    assert flatten.structure.legs[0].contract == stock and flatten.quantity == 300
    assert rest.structure.id == "r3" and [(leg.contract, leg.ratio * rest.quantity) for leg in rest.structure.legs] == [
        (put, -1)
    ]  # closing the rest buys the one put still short, never sells one
    assert alert.body == (
        "SPY 2024-01-19 470 put assigned x3 at 462; leap_ladder r1: -300.00 booked; leap_ladder r2: -200.00 "
        "booked; leap_ladder r3: -400.00 booked; closing the rest; flattening +300 SPY"
    )
