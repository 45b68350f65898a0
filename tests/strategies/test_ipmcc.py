"""strategies/leaps: the IPMCC: the LEAP, the weekly call as a part, its exits, the book merge, risk's view."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, time

import numpy as np
import pytest

from core.book import OpenBook
from core.book_view import BookView
from core.calendar import Calendars
from core.indicators import ema
from core.model import (
    AccountState,
    Chain,
    ChainRow,
    DailyBars,
    Decision,
    Found,
    IntentAction,
    Leg,
    MarketSnapshot,
    OrderIntent,
    Right,
    Structure,
    equity_contract,
)
from core.settings import Settings
from core.valuation import value_structure
from risk.events import CsvEventCalendar
from risk.manager import RiskManager
from strategies.base import with_greeks
from strategies.leaps import Ipmcc
from tests.fakes import market as m
from tests.fakes.book import FakeBook
from tests.leandata import read_universe, require_lean_data

S = Settings()
CAL = Calendars()
FRIDAY = date(2024, 1, 12)
WEEKLY = date(2024, 1, 19)
LEAP = date(2025, 1, 17)


def qqq(price: float = 400.0, day: date = FRIDAY, ema_trend: float = 0.0, vol: float = 0.10) -> MarketSnapshot:
    now = datetime.combine(day, time(9, 45), tzinfo=m.NY)
    chain = m.priced_chain(
        "QQQ",
        price,
        now,
        [WEEKLY, date(2024, 2, 16), LEAP, date(2025, 6, 20)],
        [float(k) for k in range(250, 520, 5)],
        vol,
        0.2,
    )
    closes = np.linspace(price * (1 - ema_trend), price, 40)
    bars = DailyBars(tuple(day for _ in closes), closes, closes, closes, closes)
    return dataclasses.replace(m.snapshot(now, 16.0, [chain]), daily={"QQQ": bars})


def propose(snap: MarketSnapshot, held: list[Structure] | None = None) -> list[OrderIntent | Decision]:
    return list(Ipmcc(S, CAL.equity).propose(snap, FakeBook(held or [])))


def leap_structure() -> Structure:
    [buy] = propose(qqq())
    assert isinstance(buy, OrderIntent)
    return buy.structure


def test_fridays_at_0945() -> None:
    ip = Ipmcc(S, CAL.equity)
    assert [t.time() for t in ip.entry_times(CAL.equity, FRIDAY)] == [time(9, 45)]
    assert ip.entry_times(CAL.equity, date(2024, 3, 29)) == []  # Good Friday


def test_the_leap_is_an_80_delta_call_near_a_year_with_little_extrinsic() -> None:
    [buy] = propose(qqq())
    assert isinstance(buy, OrderIntent) and buy.action is IntentAction.OPEN
    [leg] = buy.structure.legs
    chain = qqq().chains["QQQ"]
    row = chain.find(LEAP, leg.contract.strike or 0, Right.CALL)
    assert row is not None and leg.ratio == 1 and leg.contract.expiry == LEAP
    assert 0.70 <= chain.delta[row] <= 0.90
    extrinsic = float(chain.mid[row]) - max(400.0 - (leg.contract.strike or 0), 0.0)
    assert extrinsic < 0.05 * (leg.contract.strike or 0)
    assert buy.structure.entry_underlying == 400.0 and buy.structure.tag == "LEAP"


def test_a_leap_too_rich_in_extrinsic_is_refused() -> None:
    [answer] = propose(qqq(vol=0.6))
    assert isinstance(answer, Decision) and "extrinsic over 5% of its strike" in answer.reason


@pytest.mark.parametrize(
    ("closes", "expected"),
    [
        ([400.0] * 40, 400.0),  # flat: at the money
        (list(np.linspace(440.0, 400.0, 40)), 395.0),  # falling: EMA8 under EMA21, one strike in the money
        ([380.0] * 39 + [400.0], 390.0),  # a jump: price over 1.02 × EMA8, two strikes in the money
    ],
)
def test_the_weekly_call_never_out_of_the_money_and_in_the_money_by_the_emas(
    closes: list[float], expected: float
) -> None:
    c = np.array(closes)
    snap = dataclasses.replace(qqq(), daily={"QQQ": DailyBars(tuple(FRIDAY for _ in c), c, c, c, c)})
    [sell] = propose(snap, [leap_structure()])
    assert isinstance(sell, OrderIntent) and sell.action is IntentAction.OPEN
    [leg] = sell.structure.legs
    assert leg.ratio == -1 and leg.contract.expiry == WEEKLY and leg.contract.strike == expected
    assert sell.structure.parent == leap_structure().id and sell.structure.leg_entry_prices


def test_the_short_calls_longest_dte_is_a_parameter() -> None:
    """ipmcc_short_call_max_dte (#16 item 15; 14 by default): with only the 19 January weekly (7 DTE) and
    the 16 February monthly (35 DTE) listed short of the LEAPs, a limit of 5 days leaves no expiry to sell,
    and the strategy says which; 14 sells the weekly."""
    [sell] = propose(qqq(), [leap_structure()])
    assert isinstance(sell, OrderIntent) and sell.structure.legs[0].contract.expiry == WEEKLY
    strict = Settings.from_parameters({"ipmcc_short_call_max_dte": "5", "ipmcc_short_call_dte": "5"})
    [refused] = Ipmcc(strict, CAL.equity).propose(qqq(), FakeBook([leap_structure()]))
    assert isinstance(refused, Decision) and "no expiry within 1-5 DTE (nearest 7)" in refused.reason, refused


def test_never_below_the_leap_strike() -> None:
    leap = leap_structure()
    high = dataclasses.replace(
        leap,
        legs=(dataclasses.replace(leap.legs[0], contract=dataclasses.replace(leap.legs[0].contract, strike=398.0)),),
    )
    jump = np.array([380.0] * 39 + [400.0])
    [sell] = propose(
        dataclasses.replace(qqq(), daily={"QQQ": DailyBars(tuple(FRIDAY for _ in jump), jump, jump, jump, jump)}),
        [high],
    )
    assert isinstance(sell, OrderIntent) and sell.structure.legs[0].contract.strike == 400.0  # 390 would be below 398


def test_one_call_at_a_time() -> None:
    book = OpenBook()
    leap = leap_structure()
    book.add_units(leap, 1, leap.entry_price)
    [sell] = propose(qqq(), [leap])
    assert isinstance(sell, OrderIntent)
    merged = book.add_units(sell.structure, 1, sell.structure.entry_price)
    assert [leg.ratio for leg in merged.legs] == [1, -1] and merged.id == leap.id
    [again] = propose(qqq(), [merged])
    assert isinstance(again, Decision) and "already has a short call" in again.reason


def held_with_call(call_entry_factor: float = 1.0, leap_entry_factor: float = 1.0, quantity: int = 1) -> Structure:
    book = OpenBook()
    leap = dataclasses.replace(leap_structure(), quantity=quantity)
    leap = dataclasses.replace(leap, leg_entry_prices=(leap.leg_entry_prices[0] * leap_entry_factor,))
    book.add_units(leap, quantity, leap.entry_price * leap_entry_factor)  # the book keeps what was paid
    [sell] = propose(qqq(), [leap])
    assert isinstance(sell, OrderIntent)
    part = dataclasses.replace(
        sell.structure, leg_entry_prices=(sell.structure.leg_entry_prices[0] * call_entry_factor,)
    )
    return book.add_units(part, quantity, part.entry_price * call_entry_factor)


def test_the_call_is_bought_back_on_its_expiry_day_or_at_90_percent_of_its_extrinsic() -> None:
    ip = Ipmcc(S, CAL.equity)
    held = held_with_call()
    assert ip.manage(held, qqq()) is None
    expiry_day = ip.manage(held, qqq(day=WEEKLY))
    assert (
        expiry_day is not None and "on its expiry day" in expiry_day.reason and expiry_day.structure.parent == held.id
    )
    rich = held_with_call(call_entry_factor=20.0)  # sold for far more extrinsic than it has now
    back = ip.manage(rich, qqq())
    assert back is not None and "of its extrinsic captured" in back.reason
    assert [leg.ratio for leg in back.structure.legs] == [-1]


def test_the_leap_losing_15_then_30_percent() -> None:
    ip = Ipmcc(S, CAL.equity)
    one = held_with_call(leap_entry_factor=1 / 0.84)  # the LEAP is 16% below its entry
    assert ip.manage(one, qqq()) is None  # a 1-lot has no half
    two = held_with_call(leap_entry_factor=1 / 0.84, quantity=2)
    half = ip.manage(two, qqq())
    assert half is not None and half.quantity == 1 and "sell half (1 of 2)" in half.reason
    assert len(half.structure.legs) == 2  # LEAP and call together: no call left uncovered
    out = ip.manage(held_with_call(leap_entry_factor=1 / 0.69), qqq())
    assert out is not None and "exit at 30%" in out.reason and len(out.structure.legs) == 2


def test_risk_charges_the_covered_call_only_what_it_adds() -> None:
    leap = leap_structure()
    [sell] = propose(qqq(), [leap])
    assert isinstance(sell, OrderIntent)
    market = qqq()
    book = BookView.build([leap], market, S)
    account = AccountState(100_000.0, 100_000.0, 100_000.0, 0.0)
    qqq_dividends = CsvEventCalendar(through={"QQQ": date(2024, 12, 31)})  # QQQ pays: the source must list it
    [answer] = RiskManager(S, event_calendar=qqq_dividends).review([sell], book, market, account)
    assert type(answer).__name__ == "Approval", answer  # counted with its IPMCC: no second position
    naked = BookView.build([dataclasses.replace(sell.structure, parent="")], market, S).bp_in_use
    assert naked > 5_000  # alone it would be a naked call


def test_the_real_spy_chain_of_2024_01_08() -> None:
    path = require_lean_data() / "option" / "usa" / "universes" / "spy" / "20240108.csv"
    spy_close = float(path.read_text().splitlines()[1].split(",")[6])
    now = datetime(2024, 1, 12, 9, 45, tzinfo=m.NY)  # the snapshot of Monday 2024-01-08, asked as on a Friday
    rows = [
        ChainRow(date(int(e[:4]), int(e[4:6]), int(e[6:])), k, Right.CALL if r == "C" else Right.PUT, c, c, iv, d)
        for e, k, r, c, iv, d in read_universe(path)
        if math.isfinite(c) and c > 0
    ]
    snap = m.snapshot(now, 17.0, [Chain.from_rows("SPY", spy_close, now, rows)])
    settings = Settings.from_parameters({"ipmcc_underlying": "SPY"})
    [answer] = Ipmcc(settings, CAL.equity).propose(snap, FakeBook())
    assert isinstance(answer, OrderIntent), answer
    assert answer.reason == "ipmcc: buy the SPY 2024-09-30 404 call (delta 0.85) as the LEAP"


# ------------------------------------------------------------------------------------------ issue #16, item 3


def test_the_buy_back_measures_the_calls_extrinsic_at_its_own_sale() -> None:
    """The LEAP was bought with QQQ at 440; the weekly 400 call is sold with QQQ at 400, at the money: all of
    its premium (20 × today's mid here, ~44) is extrinsic. Now its mid is ~2.2: 95% of that extrinsic is
    captured, so it is bought back. The rule took the LEAP's entry price of the underlying: 44 − (440 − 400)
    = ~4 of extrinsic at sale, 45% captured, no buy-back (and after a larger fall, a negative extrinsic that
    never fires). Each part keeps the underlying's price at its own sale, through the merge and the state file."""
    from safety.persistence import structure_from_dict, structure_to_dict

    book = OpenBook()
    leap = dataclasses.replace(leap_structure(), entry_underlying=440.0)
    book.add_units(leap, 1, leap.entry_price)
    [sell] = propose(qqq(), [leap])
    assert isinstance(sell, OrderIntent) and sell.structure.legs[0].contract.strike == 400.0
    part = dataclasses.replace(sell.structure, leg_entry_prices=(sell.structure.leg_entry_prices[0] * 20.0,))
    held = book.add_units(part, 1, part.entry_price * 20.0)
    assert held.leg_entry_underlyings == (440.0, 400.0)
    restored = structure_from_dict(structure_to_dict(held))
    assert restored == held
    back = Ipmcc(S, CAL.equity).manage(restored, qqq())
    assert back is not None and "of its extrinsic captured" in back.reason, back
    assert [leg.ratio for leg in back.structure.legs] == [-1]
    assert back.structure.leg_entry_underlyings == (400.0,)  # the part closed keeps its own


def test_a_weekly_call_expiring_under_its_leap_settles_and_the_leap_keeps_its_own_entry() -> None:
    """Regression: the weekly call's expiry settled it as a part built without its per-leg entry underlying
    (the structure had one for each leg), which raised inside the replay's settlement."""
    from core.expiry import settle_expired

    book = OpenBook()
    leap = dataclasses.replace(leap_structure(), entry_underlying=440.0)
    book.add_units(leap, 1, leap.entry_price)
    [sell] = propose(qqq(), [leap])
    assert isinstance(sell, OrderIntent)
    book.add_units(sell.structure, 1, sell.structure.entry_price)
    close = datetime.combine(WEEKLY, time(16, 0), tzinfo=m.NY)
    [expired], missing = settle_expired(book, WEEKLY, close, lambda root: 390.0)
    assert not missing and expired.trade.structure.leg_entry_underlyings == (400.0,)
    (kept,) = book.open_structures()
    assert kept.leg_entry_underlyings == (440.0,) and [leg.ratio for leg in kept.legs] == [1]


@pytest.mark.parametrize(
    ("factor", "quantity", "expected"),
    [
        (1 / 0.70, 1, "exit at 30%"),  # down exactly 30%: exit (RULEBOOK "down 30% → exit all")
        (1 / 0.85, 2, "sell half (1 of 2)"),  # down exactly 15%: sell half
        (1 / 0.86, 2, None),  # down 14%: nothing yet
    ],
)
def test_the_leap_thresholds_are_inclusive(factor: float, quantity: int, expected: str | None) -> None:
    """The LEAP was entered at today's mid × `factor`, so it is down exactly 1 − 1/factor (to the last bit)."""
    answer = Ipmcc(S, CAL.equity).manage(held_with_call(leap_entry_factor=factor, quantity=quantity), qqq())
    if expected is None:
        assert answer is None
    else:
        assert answer is not None and expected in answer.reason and answer.action is IntentAction.CLOSE


def test_each_reason_for_no_ipmcc_trade_is_its_own_decision() -> None:
    snap = qqq()
    when = snap.time

    def decided(reason: str) -> Decision:
        return Decision(when, "ipmcc", False, f"ipmcc: {reason}", "ipmcc")

    no_chain = dataclasses.replace(snap, chains={})
    assert propose(no_chain) == [decided(no_chain.no_chain("QQQ"))]
    leap = leap_structure()
    high = dataclasses.replace(
        leap,
        legs=(dataclasses.replace(leap.legs[0], contract=dataclasses.replace(leap.legs[0].contract, strike=450.0)),),
    )
    assert propose(snap, [high]) == [decided("QQQ 2024-01-19: no call between the LEAP strike 450 and the price 400")]
    short_dated = dataclasses.replace(
        snap, chains={"QQQ": m.priced_chain("QQQ", 400.0, when, [WEEKLY], [390.0, 400.0, 410.0], 0.10, 0.2)}
    )
    [answer] = propose(short_dated)
    assert isinstance(answer, Decision) and answer.rule == "ipmcc" and answer.subject == "ipmcc"
    assert answer.reason.startswith("ipmcc: ") and not answer.approved


def test_the_weekly_call_is_sold_for_a_credit_at_its_mid_on_the_tick() -> None:
    """A sign error here sends a debit for a call being sold: the limit is minus the call's mid (2.40 at QQQ 400,
    on the 0.05 tick), and the reason says which call, against which LEAP, and why that strike."""
    leap = leap_structure()
    snap = qqq()
    [sell] = propose(snap, [leap])
    assert isinstance(sell, OrderIntent) and sell.action is IntentAction.OPEN
    chain = snap.chains["QQQ"]
    row = chain.find(WEEKLY, 400.0, Right.CALL)
    assert row is not None
    mid = 0.5 * (float(chain.bid[row]) + float(chain.ask[row]))
    assert sell.limit_price == pytest.approx(-round(mid / 0.05) * 0.05) and sell.limit_price < 0
    assert sell.reason == f"ipmcc: sell the QQQ 2024-01-19 400 call against {leap.id}, at the money"


def test_the_call_is_bought_back_on_its_expiry_day_not_the_day_before() -> None:
    ip = Ipmcc(S, CAL.equity)
    held = held_with_call()
    assert ip.manage(held, qqq(day=date(2024, 1, 18))) is None  # Thursday: one day left, little captured yet


def test_an_in_the_money_call_counts_only_its_extrinsic_as_captured() -> None:
    """QQQ rallies to 410 by Tuesday: the 400 call's mid is 10.15, of which 10 is intrinsic, 0.15 extrinsic.
    Sold at 400 for E, with no intrinsic then, it has captured 1 − 0.15/E: with E = 0.15 / 0.05 = 3.00 that is
    95%, past the 90% buy-back. Counting the intrinsic as extrinsic would see 1 − 10.15/3.00 < 0: no buy-back."""
    snap = qqq(price=410.0, day=date(2024, 1, 16))
    plain = held_with_call()
    view = value_structure(plain, snap, S)
    assert isinstance(view, Found)
    mark = view.value.legs[1].mid
    assert mark > 10.0
    entry = (mark - 10.0) / 0.05
    held = held_with_call(call_entry_factor=entry / plain.leg_entry_prices[1])
    back = Ipmcc(S, CAL.equity).manage(held, snap)
    assert back is not None and back.reason == "ipmcc: buy back the 400 call, 95% of its extrinsic captured"
    assert back.structure.parent == held.id and [leg.ratio for leg in back.structure.legs] == [-1]


def test_the_leap_delta_band_is_inclusive_at_both_ends() -> None:
    """The LEAP bought at default settings has some |delta| d (read from the chain the strategy prices). A band
    that starts, or ends, exactly at d still holds it; one a hair past d does not."""
    snap = qqq()
    leap = leap_structure()
    chain = with_greeks(snap.chains["QQQ"], S)
    row = chain.find(LEAP, leap.legs[0].contract.strike or 0.0, Right.CALL)
    assert row is not None
    d = abs(float(chain.delta[row]))

    def bought(lo: float = S.ipmcc_leap_delta_min, hi: float = S.ipmcc_leap_delta_max) -> float | None:
        settings = dataclasses.replace(S, ipmcc_leap_delta=d, ipmcc_leap_delta_min=lo, ipmcc_leap_delta_max=hi)
        [answer] = Ipmcc(settings, CAL.equity).propose(snap, FakeBook([]))
        return answer.structure.legs[0].contract.strike if isinstance(answer, OrderIntent) else None

    strike = leap.legs[0].contract.strike
    assert bought(lo=d) == strike and bought(hi=d) == strike
    assert bought(lo=d + 1e-9) != strike and bought(hi=d - 1e-9) != strike


def _one_leap_chain(bid: float, ask: float) -> MarketSnapshot:
    """QQQ at exactly 400 with one call in the LEAP delta band (the 320, delta 0.80) quoted bid/ask, and a
    far call outside the band: the extrinsic ceiling decides alone."""
    now = datetime.combine(FRIDAY, time(9, 45), tzinfo=m.NY)
    rows = [
        ChainRow(LEAP, 320.0, Right.CALL, bid, ask, 0.20, 0.80, 0.001, 1.0, -0.02),
        ChainRow(LEAP, 450.0, Right.CALL, 20.0, 21.0, 0.20, 0.35, 0.002, 1.5, -0.03),
    ]
    return m.snapshot(now, 16.0, [Chain.from_rows("QQQ", 400.0, now, rows)])


def test_the_leap_extrinsic_ceiling_is_strict() -> None:
    """RULEBOOK: LEAP extrinsic "under" 5% of the strike. The 320 call at QQQ 400 has 80 of intrinsic value:
    quoted 95.50/96.50 (mid 96.00, all binary-exact) its extrinsic is 16.00, exactly 5% of 320: refused;
    quoted 95.25/96.25 (extrinsic 15.75) it is bought."""
    [at] = propose(_one_leap_chain(95.5, 96.5))
    assert isinstance(at, Decision)
    assert at.reason.endswith("every call in the delta band has extrinsic over 5% of its strike (least 5.0%)")
    [under] = propose(_one_leap_chain(95.25, 96.25))
    assert isinstance(under, OrderIntent) and under.structure.legs[0].contract.strike == 320.0


def test_two_strikes_in_the_money_only_strictly_above_the_trigger() -> None:
    """RULEBOOK: price *over* 1.02 × EMA8 sells two strikes in the money. With the trigger set so that
    trigger × EMA8 is exactly the price (400), the call is at the money (EMA8 is over EMA21 after the jump,
    so no one-strike rule either); one ulp lower and it is two strikes in, the 390."""
    jump = np.array([380.0] * 39 + [400.0])
    snap = dataclasses.replace(qqq(), daily={"QQQ": DailyBars(tuple(FRIDAY for _ in jump), jump, jump, jump, jump)})
    fast = ema(jump, S.ipmcc_ema_fast)
    assert fast is not None
    trigger = 400.0 / fast
    while trigger * fast < 400.0:  # the float whose product with EMA8 is the price exactly
        trigger = math.nextafter(trigger, 2.0)
    while trigger * fast > 400.0:
        trigger = math.nextafter(trigger, 1.0)
    assert trigger * fast == 400.0

    def strike(t: float) -> float | None:
        settings = dataclasses.replace(S, ipmcc_two_itm_trigger=t)
        [sell] = Ipmcc(settings, CAL.equity).propose(snap, FakeBook([leap_structure()]))
        assert isinstance(sell, OrderIntent), sell
        return sell.structure.legs[0].contract.strike

    assert strike(trigger) == 400.0
    assert strike(math.nextafter(trigger, 1.0)) == 390.0


# ------------------------------------------------------------------------------------------ every answer, whole (#21)


def _decided(snap: MarketSnapshot, reason: str) -> Decision:
    return Decision(snap.time, "ipmcc", False, f"ipmcc: {reason}", "ipmcc")


def _rows_chain(rows: list[ChainRow], price: float = 400.0, day: date = FRIDAY) -> MarketSnapshot:
    """QQQ at `price` with exactly the quotes given (their deltas as listed: nothing is filled in)."""
    now = datetime.combine(day, time(9, 45), tzinfo=m.NY)
    return m.snapshot(now, 16.0, [Chain.from_rows("QQQ", price, now, rows)])


def _call(expiry: date, strike: float, bid: float, ask: float, delta: float) -> ChainRow:
    return ChainRow(expiry, strike, Right.CALL, bid, ask, 0.20, delta, 0.001, 1.0, -0.02)


def test_each_reason_for_no_leap_is_its_own_decision_in_full() -> None:
    weekly_only = dataclasses.replace(
        qqq(), chains={"QQQ": m.priced_chain("QQQ", 400.0, qqq().time, [WEEKLY], [390.0, 400.0, 410.0], 0.10, 0.2)}
    )
    assert propose(weekly_only) == [_decided(weekly_only, "QQQ: no expiry within 180-730 DTE (nearest 7)")]
    outside = _rows_chain([_call(LEAP, 300.0, 100.0, 101.0, 0.95), _call(LEAP, 450.0, 20.0, 21.0, 0.35)])
    assert propose(outside) == [_decided(outside, "QQQ 2025-01-17: no call with delta 0.70-0.90")]


def test_the_leap_is_the_cheap_call_nearest_80_delta_and_the_reason_names_it() -> None:
    """Three calls in the 70-90 band, each with little extrinsic (1.50, 2.00, 3.00 over 60, 40, 20 of
    intrinsic at QQQ 400): the 360 call at delta 0.79 is nearest 0.80; one LEAP, at its mid 42.00."""
    snap = _rows_chain(
        [
            _call(LEAP, 340.0, 61.0, 62.0, 0.88),
            _call(LEAP, 360.0, 41.5, 42.5, 0.79),
            _call(LEAP, 380.0, 22.5, 23.5, 0.72),
        ]
    )
    [buy] = propose(snap)
    assert isinstance(buy, OrderIntent)
    assert buy.reason == "ipmcc: buy the QQQ 2025-01-17 360 call (delta 0.79) as the LEAP"
    assert buy.quantity == 1 and buy.structure.quantity == 1 and buy.limit_price == 42.0
    assert [leg.contract.strike for leg in buy.structure.legs] == [360.0]


def test_an_at_the_money_leap_counts_its_whole_premium_as_extrinsic() -> None:
    """The 400 call at QQQ 400 has no intrinsic value: all of its 20.50 mid is extrinsic, 5.1% of the strike,
    over the 5% ceiling (20.00)."""
    snap = _rows_chain([_call(LEAP, 400.0, 20.0, 21.0, 0.75)])
    assert propose(snap) == [
        _decided(snap, "QQQ 2025-01-17: every call in the delta band has extrinsic over 5% of its strike (least 5.1%)")
    ]


def test_a_leap_of_another_underlying_or_another_strategys_position_is_not_the_ipmccs() -> None:
    """Held: an SPY IPMCC (from before the underlying was changed to QQQ) and a QQQ ladder put. Neither is a
    QQQ IPMCC: the strategy buys its QQQ LEAP."""
    spy_leap = dataclasses.replace(
        leap_structure(),
        id="ipmcc-spy",
        legs=(dataclasses.replace(leap_structure().legs[0], contract=m.option("SPY", LEAP, 400.0, Right.CALL)),),
    )
    ladder_put = m.structure("lad", "leap_ladder", m.short_put("QQQ", LEAP, 300.0), qqq())
    [answer] = propose(qqq(), [spy_leap, ladder_put])
    assert isinstance(answer, OrderIntent) and answer.reason.startswith("ipmcc: buy the QQQ 2025-01-17 ")


def test_no_weekly_call_at_or_below_the_price_is_refused_in_full() -> None:
    snap = _rows_chain([_call(WEEKLY, 410.0, 1.0, 1.1, 0.3), _call(WEEKLY, 420.0, 0.3, 0.4, 0.1)])
    assert propose(snap, [leap_structure()]) == [_decided(snap, "QQQ 2024-01-19: no call at or below the price 400")]


def test_one_strike_at_or_below_the_price_is_sold_even_when_the_emas_ask_for_one_in_the_money() -> None:
    """Only the 395 call is at or below QQQ 400. EMA8 under EMA21 asks for one strike in the money, which is
    not listed: the 395 itself is sold."""
    snap = _rows_chain([_call(WEEKLY, 395.0, 5.5, 5.7, 0.7), _call(WEEKLY, 410.0, 1.0, 1.1, 0.3)])
    falling = np.linspace(440.0, 400.0, 40)
    snap = dataclasses.replace(snap, daily={"QQQ": DailyBars(tuple(FRIDAY for _ in falling), *[falling] * 4)})
    leap = leap_structure()
    [sell] = propose(snap, [leap])
    assert isinstance(sell, OrderIntent)
    assert sell.reason == (
        f"ipmcc: sell the QQQ 2024-01-19 395 call against {leap.id}, 1 strike in the money (EMA8 under EMA21)"
    )


def test_without_daily_bars_the_weekly_call_is_at_the_money() -> None:
    leap = leap_structure()
    [sell] = propose(dataclasses.replace(qqq(), daily={}), [leap])
    assert isinstance(sell, OrderIntent)
    assert sell.reason == f"ipmcc: sell the QQQ 2024-01-19 400 call against {leap.id}, at the money"
    assert sell.structure.id == f"{leap.id}:call-20240119" and sell.structure.tag == f"part of {leap.id}"


def test_a_call_at_the_leaps_own_strike_may_be_sold() -> None:
    """RULEBOOK: never below the LEAP's strike; at it is allowed. LEAP at 400, QQQ at 400: the 400 call."""
    leap = leap_structure()
    contract = dataclasses.replace(leap.legs[0].contract, strike=400.0)
    at_400 = dataclasses.replace(leap, legs=(dataclasses.replace(leap.legs[0], contract=contract),))
    [sell] = propose(qqq(), [at_400])
    assert isinstance(sell, OrderIntent) and sell.structure.legs[0].contract.strike == 400.0


# ------------------------------------------------------------------------------------------ exits, whole (#21)


def test_the_leap_exits_say_how_far_it_is_down_and_the_half_is_half_the_structure() -> None:
    ip = Ipmcc(S, CAL.equity)
    out = ip.manage(held_with_call(leap_entry_factor=1 / 0.69), qqq())
    assert out is not None and out.reason == "ipmcc: the LEAP is down 31% (exit at 30%)"
    four = held_with_call(leap_entry_factor=1 / 0.84, quantity=4)
    half = ip.manage(four, qqq())
    assert half is not None and half.reason == "ipmcc: the LEAP is down 16%: sell half (2 of 4)"
    assert half.quantity == 2 and half.structure.quantity == 2 and half.structure.id == four.id


def test_a_leap_without_an_entry_price_is_not_measured() -> None:
    assert Ipmcc(S, CAL.equity).manage(held_with_call(leap_entry_factor=0.0), qqq()) is None


def test_a_leap_bought_for_under_a_dollar_is_measured_too() -> None:
    """A far call bought for 0.90 now quoted 0.30/0.40: down 61%, past the 30% exit."""
    snap = _rows_chain([_call(LEAP, 600.0, 0.30, 0.40, 0.05)])
    leap = Structure(
        "ipmcc-cheap", "ipmcc", (Leg(m.option("QQQ", LEAP, 600.0, Right.CALL), 1),), 1, 0.9, snap.time, "LEAP", (0.9,)
    )
    out = Ipmcc(S, CAL.equity).manage(leap, snap)
    assert out is not None and out.reason == "ipmcc: the LEAP is down 61% (exit at 30%)"


def test_short_shares_delivered_to_an_ipmcc_are_left_to_the_assignment_rules() -> None:
    """An assigned weekly call delivers short QQQ shares, booked under the IPMCC (core/expiry). They have no
    LEAP and no call: the IPMCC's rules do nothing with them (safety flattens them)."""
    snap = qqq()
    shares = m.structure("delivered-QQQ", "ipmcc", [(equity_contract("QQQ"), -1)], snap, quantity=100)
    assert Ipmcc(S, CAL.equity).manage(shares, snap) is None


def _captured(held: Structure, snap: MarketSnapshot, call_price: float, sold_at: float) -> Structure:
    """`held` with its call sold at `call_price` when the underlying was at `sold_at`."""
    return dataclasses.replace(
        held,
        leg_entry_prices=(held.leg_entry_prices[0], call_price),
        leg_entry_underlyings=(held.leg_entry_underlyings[0], sold_at),
    )


def test_the_buy_back_needs_the_calls_entry_price_and_the_price_it_was_sold_at() -> None:
    """The call sold for 20 × today's mid has captured ~95% of its extrinsic, but: without per-leg entry
    prices, or without the underlying's price at its sale (0), nothing is measured; any known price is."""
    ip = Ipmcc(S, CAL.equity)
    held = held_with_call()
    rich = 20 * held.leg_entry_prices[1]
    assert ip.manage(dataclasses.replace(held, leg_entry_prices=()), qqq()) is None
    assert ip.manage(_captured(held, qqq(), rich, 0.0), qqq()) is None
    known = ip.manage(_captured(held, qqq(), rich, 1.0), qqq())
    assert known is not None and known.reason == "ipmcc: buy back the 400 call, 95% of its extrinsic captured"
    assert known.structure.id == f"{held.id}:call-20240119"


def test_a_call_sold_in_the_money_measures_only_the_extrinsic_it_was_sold_with() -> None:
    """The 390 call is sold with QQQ at 400: 10 of its price is intrinsic. Today (QQQ 400) its mid is M, its
    extrinsic e = M − 10. Sold for 10 + 5e it had 5e of extrinsic: 80% captured, no buy-back (adding the
    intrinsic instead would see 1 − e / (20 + 5e), over 90%). Sold for exactly 10 it had no extrinsic to
    capture: nothing is measured. Sold for 10 + 20e, 95% is captured: bought back."""
    ip = Ipmcc(S, CAL.equity)
    base = held_with_call()
    chain = qqq().chains["QQQ"]
    row = chain.find(WEEKLY, 390.0, Right.CALL)
    assert row is not None
    mark = 0.5 * (float(chain.bid[row]) + float(chain.ask[row]))
    e = mark - 10.0
    assert e > 0.1
    held = dataclasses.replace(
        base,
        legs=(base.legs[0], dataclasses.replace(base.legs[1], contract=m.option("QQQ", WEEKLY, 390.0, Right.CALL))),
    )
    assert ip.manage(_captured(held, qqq(), 10.0 + 5 * e, 400.0), qqq()) is None
    assert ip.manage(_captured(held, qqq(), 10.0, 400.0), qqq()) is None
    back = ip.manage(_captured(held, qqq(), 10.0 + 20 * e, 400.0), qqq())
    assert back is not None and back.reason == "ipmcc: buy back the 390 call, 95% of its extrinsic captured"


def test_a_call_sold_with_under_a_dollar_of_extrinsic_is_measured() -> None:
    """Thursday, QQQ at 420: the 400 call's mid is 20 plus a few cents e of extrinsic. Sold at the money for
    e / 0.06 (under a dollar), 94% of it is captured: bought back."""
    snap = qqq(price=420.0, day=date(2024, 1, 18))
    held = held_with_call()
    view = value_structure(held, snap, S)
    assert isinstance(view, Found)
    e = view.value.legs[1].mid - 20.0
    assert 0.0 < e <= 0.06
    back = Ipmcc(S, CAL.equity).manage(_captured(held, snap, e / 0.06, 400.0), snap)
    assert back is not None and back.reason == "ipmcc: buy back the 400 call, 94% of its extrinsic captured"


def test_the_buy_back_level_is_inclusive() -> None:
    """Sold at the money for twice today's mid: exactly 50% captured (halving is exact in binary). A buy-back
    level of exactly 50% buys it back."""
    held = held_with_call()
    view = value_structure(held, qqq(), S)
    assert isinstance(view, Found)
    sold = _captured(held, qqq(), 2 * view.value.legs[1].mid, 400.0)
    back = Ipmcc(dataclasses.replace(S, ipmcc_buyback_extrinsic=0.5), CAL.equity).manage(sold, qqq())
    assert back is not None and back.reason == "ipmcc: buy back the 400 call, 50% of its extrinsic captured"


def test_the_leap_on_its_own_expiry_day_is_not_bought_back_as_a_call() -> None:
    """Only the short call is bought back on its expiry day; a LEAP (long) held to its own expiry is left to
    the shared exits: bought for 80.00, its mid is 80.50, a profit the 21-DTE defence takes."""
    snap = _rows_chain([_call(LEAP, 320.0, 80.0, 81.0, 0.99)], day=LEAP)
    leap = Structure(
        "ipmcc-last", "ipmcc", (Leg(m.option("QQQ", LEAP, 320.0, Right.CALL), 1),), 1, 80.0, snap.time, "LEAP", (80.0,)
    )
    answer = Ipmcc(S, CAL.equity).manage(leap, snap)
    assert answer is not None and answer.reason == "ipmcc: 21 DTE: profitable at 0 DTE (+1%)"
