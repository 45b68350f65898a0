"""strategies/strangles on constructed chains and on the real ES future-option quotes of 2020-01-06."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time

import numpy as np
import pytest

from core.calendar import Calendars
from core.model import (
    Chain,
    ChainRow,
    DailyBars,
    Decision,
    FloatArray,
    Found,
    IntentAction,
    MarketSnapshot,
    OrderIntent,
    Right,
    Structure,
)
from core.settings import Settings
from core.valuation import value_structure
from strategies.strangles import Strangles
from tests.fakes import market as m
from tests.fakes.book import FakeBook
from tests.leandata import read_future_option_quotes_at, require_lean_data

S = Settings()
CAL = Calendars()
TUE = date(2024, 1, 9)  # the second Tuesday of January 2024
EXPIRY = date(2024, 4, 19)  # 101 DTE; 2024-03-15 is 66 and 2024-05-17 is 129


def quiet_bars(close: float, days: int = 30, spread: float = 0.02) -> DailyBars:
    closes = np.full(days, close)
    return DailyBars(
        tuple(date(2023, 12, 1) for _ in range(days)),
        closes,
        closes * (1 + spread / 2),
        closes * (1 - spread / 2),
        closes,
    )


RISING_IV = np.linspace(0.10, 0.30, 252)  # today's IV is the year's highest: rank 100


def market(
    vix: float = 16.0,
    gld: float = 190.0,
    clock: time = time(10, 15),
    iv: FloatArray | None = RISING_IV,
    spread: float = 0.02,
) -> MarketSnapshot:
    now = datetime.combine(TUE, clock, tzinfo=m.NY)
    chains = [
        m.priced_chain(
            root,
            price,
            now,
            [date(2024, 3, 15), EXPIRY, date(2024, 5, 17)],
            [base * k / 200 for k in range(120, 280)],
            vol,
            0.2,
        )
        for root, price, base, vol in (("GLD", gld, 190.0, 0.16), ("TLT", 95.0, 95.0, 0.18), ("USO", 70.0, 70.0, 0.35))
    ]
    snap = m.snapshot(now, vix, chains)
    daily = {root: quiet_bars(c.underlying_price, spread=spread) for root, c in snap.chains.items()}
    history = {root: iv for root in snap.chains} if iv is not None else {}
    return dataclasses.replace(snap, daily=daily, iv_history=history)


def answers(
    snap: MarketSnapshot, net: float = 45_000.0, held: list[Structure] | None = None, settings: Settings = S
) -> list[OrderIntent | Decision]:
    return list(Strangles(settings, CAL.equity).propose(snap, FakeBook(held or [], net)))


def by_root(items: list[OrderIntent | Decision], root: str) -> OrderIntent | Decision:
    for item in items:
        text = item.reason if isinstance(item, Decision) else item.structure.legs[0].contract.root
        if root in text:
            return item
    raise AssertionError(f"nothing about {root}: {items}")


def test_second_tuesday_and_products_by_account() -> None:
    st = Strangles(S, CAL.equity)
    assert [t.time() for t in st.entry_times(CAL.equity, TUE)] == [time(10, 15)]
    assert st.entry_times(CAL.equity, date(2024, 1, 2)) == []
    assert st.products(45_000.0) == ("GLD", "TLT", "USO")
    assert st.products(60_000.0) == ("GLD", "TLT", "USO", "SLV", "XOP")
    assert st.products(70_000.0) == ("ES", "CL", "GC", "6E", "ZB")


def test_a_strangle_per_product_with_shorts_in_their_delta_bands() -> None:
    items = answers(market())
    assert len(items) == 3 and all(isinstance(i, OrderIntent) for i in items)
    chain = market().chains["GLD"]
    gld = by_root(items, "GLD")
    assert isinstance(gld, OrderIntent)
    for leg in gld.structure.legs:
        row = chain.find(EXPIRY, leg.contract.strike or 0, leg.contract.right or Right.PUT)
        assert row is not None and leg.ratio == -1 and leg.contract.expiry == EXPIRY
        band = (0.05, 0.07) if leg.contract.right is Right.PUT else (0.05, 0.06)
        assert band[0] <= abs(chain.delta[row]) <= band[1]
    assert gld.structure.entry_price < 0 and "IV rank 100 (252-day IV rank)" in gld.reason


@pytest.mark.parametrize(("vix", "qty"), [(13.0, 1), (17.99, 1), (18.0, 1), (25.0, 1), (25.01, 2)])
def test_size_scales_with_vix(vix: float, qty: int) -> None:
    gld = by_root(answers(market(vix=vix)), "GLD")
    assert isinstance(gld, OrderIntent) and gld.quantity == qty


def test_no_trade_reasons() -> None:
    [low] = answers(market(vix=12.99))
    assert isinstance(low, Decision) and low.reason == "strangles: VIX 12.99 < 13"
    falling = answers(market(iv=np.linspace(0.30, 0.10, 252)))
    assert "GLD: IV rank 0 < 30 (252-day IV rank)" in by_root(falling, "GLD").reason
    wide = answers(market(spread=0.10))
    assert "GLD: 20-day range 10.0% > 8%: not consolidating" in by_root(wide, "GLD").reason
    no_history = market(iv=None)
    fallback = by_root(answers(no_history), "GLD")
    assert isinstance(fallback, Decision) and "realised vol" in fallback.reason  # quiet bars: a flat RV, rank 0
    first = by_root(answers(market()), "GLD")
    assert isinstance(first, OrderIntent)
    again = by_root(answers(market(), held=[first.structure]), "GLD")
    assert isinstance(again, Decision) and again.reason == "strangles: GLD: a strangle is already open"


def entered() -> Structure:
    gld = by_root(answers(market()), "GLD")
    assert isinstance(gld, OrderIntent)
    return gld.structure


@pytest.mark.parametrize(("gld", "expected"), [(205.0, "close the strangle"), (203.0, "close that side")])
def test_a_tested_side(gld: float, expected: str) -> None:
    s = entered()
    close = Strangles(S, CAL.equity).manage(s, market(gld=gld))
    assert close is not None and expected in close.reason
    if expected == "close that side":
        assert close.structure.id == f"{s.id}:call" and [leg.contract.right for leg in close.structure.legs] == [
            Right.CALL
        ]


def test_profit_and_stop() -> None:
    s = entered()
    st = Strangles(S, CAL.equity)
    assert st.manage(s, market()) is None
    assert (
        "profit target"
        in (st.manage(dataclasses.replace(s, entry_price=s.entry_price * 2.1), market()) or m.opening(s)).reason
    )
    assert (
        "stop (cost to close"
        in (st.manage(dataclasses.replace(s, entry_price=s.entry_price / 3.0), market()) or m.opening(s)).reason
    )


# ------------------------------------------------------------------------------------------ real data


def real_es_market() -> MarketSnapshot:
    folder = require_lean_data() / "futureoption" / "cme" / "minute" / "es" / "202003"
    ms = (15 * 60 + 15) * 60_000  # 10:15 New York on 2020-01-06 is 15:15 UTC
    quotes = read_future_option_quotes_at(folder / "20200106_quote_american.zip", ms)
    now = datetime(2020, 1, 6, 10, 15, tzinfo=m.NY)
    rows = [ChainRow(date(int(e[:4]), int(e[4:6]), int(e[6:])), k, Right(r), b, a) for r, k, e, b, a in quotes]
    chain = Chain.from_rows("ES", 3230.0, now, rows)  # the ES March future traded near 3230 at 15:15 UTC
    snap = m.snapshot(now, 14.0, [chain])
    return dataclasses.replace(snap, daily={"ES": quiet_bars(3230.0)}, iv_history={"ES": RISING_IV})


def test_real_es_options_of_2020_01_06_refuse_the_74_dte_expiry() -> None:
    answer = by_root(answers(real_es_market(), net=80_000.0), "ES")
    assert isinstance(answer, Decision)
    assert answer.reason == "strangles: ES: no expiry within 75-105 DTE (nearest 74)"


def test_real_es_options_pass_the_widened_window_and_stop_at_the_strikes_the_sample_lists() -> None:
    """With the window widened the 74-DTE expiry is taken; the sample's lowest put (3000) is still an
    18-delta put, so no 5-7 delta put exists and the strangle says so."""
    wider = Settings.from_parameters({"strangle_min_dte": "70"})
    answer = by_root(answers(real_es_market(), net=80_000.0, settings=wider), "ES")
    assert isinstance(answer, Decision)
    assert answer.reason == "strangles: ES 2020-03-20 put: no |delta| within 0.050-0.070 (nearest 0.181)"


def test_real_es_options_are_accepted_when_the_window_and_the_put_band_are_widened() -> None:
    """The sample has no IV history and no month of daily bars: the test supplies a rising IV history and
    quiet bars, so what it checks is the expiry window and the strikes the real quotes give."""
    wider = Settings.from_parameters(
        {"strangle_min_dte": "70", "strangle_put_delta": "0.18", "strangle_put_delta_max": "0.2"}
    )
    answer = by_root(answers(real_es_market(), net=80_000.0, settings=wider), "ES")
    assert isinstance(answer, OrderIntent), answer
    legs = {leg.contract.right: leg.contract.strike for leg in answer.structure.legs}
    assert all(
        leg.contract.expiry == date(2020, 3, 20) and leg.contract.multiplier == 50 for leg in answer.structure.legs
    )
    assert (legs[Right.PUT], legs[Right.CALL]) == (3000.0, 3460.0)
    assert answer.reason.startswith("strangles: ES 2020-03-20 3000/3460 x1")


# ------------------------------------------------------------------------------------------ issue #16, item 15


@pytest.mark.parametrize(
    ("base", "rounding", "vix", "qty"),
    [
        (1, "down", 20.0, 1),  # RULEBOOK: 1 × 1.5 = 1.5, rounded down: the VIX 18-25 step does not act at base 1
        (2, "down", 20.0, 3),  # 2 × 1.5 = 3
        (3, "down", 20.0, 4),  # 4.5 down
        (1, "half_up", 20.0, 2),  # 1.5 to 2: the step acts at base 1
        (3, "half_up", 20.0, 5),
        (2, "down", 26.0, 4),  # × 2
        (2, "down", 16.0, 2),  # the base alone
    ],
)
def test_the_vix_size_steps_scale_a_base_size_with_a_rounding_that_is_a_parameter(
    base: int, rounding: str, vix: float, qty: int
) -> None:
    """RULEBOOK: base 1, × 1.5 at VIX 18-25, × 2 above, rounded down, at least 1. With base 1 the × 1.5 step
    never acts (1.5 rounds down to 1): the base (`strangle_base_size`) and the rounding
    (`strangle_size_rounding`: down as RULEBOOK says, or half_up) are parameters, and the reason says how the
    size came out."""
    settings = Settings.from_parameters({"strangle_base_size": str(base), "strangle_size_rounding": rounding})
    gld = by_root(answers(market(vix=vix), settings=settings), "GLD")
    assert isinstance(gld, OrderIntent) and gld.quantity == qty
    assert f"size {base} ×" in gld.reason or vix < 18


def test_the_realised_vol_window_of_the_iv_rank_stand_in_is_a_parameter() -> None:
    settings = Settings.from_parameters({"strangle_rv_days": "10"})
    gld = by_root(answers(market(iv=None), settings=settings), "GLD")
    assert "rank of 10-day realised vol" in gld.reason, gld


def test_a_realised_vol_rank_across_a_negative_close_is_no_rank_not_a_number() -> None:
    """CL's continuous closes went 18.27, -36.98, 8.91 around 2020-04-20. A log return across a price that is
    not positive does not exist: every 20-day window holding one has no volatility, and while the latest
    window holds one there is no rank (the strangle says so); a year later the rank is back. Before, the
    log of a negative number made NaN windows and a NaN rank passed to the comparison."""
    import warnings

    from core.indicators import iv_rank, realised_vol

    rng = np.random.default_rng(3)
    closes = 40.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, 300)))
    closes[280] = -36.98
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no log of a negative number on the way
        rv = realised_vol(closes, 20)
        assert np.isnan(rv[-1]) and np.isnan(rv[260]) and np.isfinite(rv[258])
        assert iv_rank(None, closes, 20) is None
        later = np.concatenate([closes, 9.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, 30)))])
        rank = iv_rank(None, later, 20)
    assert rank is not None and 0.0 <= rank.value <= 100.0


# ------------------------------------------------------------------------------------------ boundaries, rule by rule


def test_a_tested_short_at_exactly_its_delta_threshold_is_tested() -> None:
    """RULEBOOK: tested short |delta| ≥ 0.25 → close that side; ≥ 0.30 → close all. The thresholds are set to
    the call's own |delta| at GLD 203, so the short sits exactly on them."""
    s = entered()
    snap = market(gld=203.0)
    view = value_structure(s, snap, S)
    assert isinstance(view, Found)
    call = max(abs(mark.delta) for leg, mark in zip(s.legs, view.value.legs, strict=True) if leg.ratio < 0)
    at_all = dataclasses.replace(S, strangle_tested_delta_side=call - 0.05, strangle_tested_delta_all=call)
    close = Strangles(at_all, CAL.equity).manage(s, snap)
    assert close is not None and close.structure.id == s.id
    assert close.reason == f"strangles: tested call |delta| {call:.2f} ≥ {call:.2f}: close the strangle"
    at_side = dataclasses.replace(S, strangle_tested_delta_side=call, strangle_tested_delta_all=0.99)
    side = Strangles(at_side, CAL.equity).manage(s, snap)
    assert side is not None and side.structure.id == f"{s.id}:call"
    assert side.reason == f"strangles: tested call |delta| {call:.2f} ≥ {call:.2f}: close that side"
    # What is left after a side closed is one short: it is not "a side" of anything any more.
    [put_index] = [i for i, leg in enumerate(s.legs) if leg.contract.right is Right.PUT]
    alone = dataclasses.replace(s, legs=(s.legs[put_index],), leg_entry_prices=(s.leg_entry_prices[put_index],))
    put_delta = dataclasses.replace(S, strangle_tested_delta_side=0.0001, strangle_tested_delta_all=0.99)
    kept = Strangles(put_delta, CAL.equity).manage(alone, snap)
    assert kept is None or "close that side" not in kept.reason


@pytest.mark.parametrize(("rank_floor", "entered_"), [(100.0, True), (100.01, False)])
def test_the_iv_rank_floor_is_inclusive(rank_floor: float, entered_: bool) -> None:
    """Rising IV puts today at rank 100: a floor of exactly 100 lets it through."""
    settings = dataclasses.replace(S, strangle_min_iv_rank=rank_floor)
    gld = by_root(answers(market(), settings=settings), "GLD")
    assert isinstance(gld, OrderIntent) is entered_


@pytest.mark.parametrize(("above", "entered_"), [(0.0, True), (-1e-12, False)])
def test_the_consolidation_range_ceiling_is_inclusive(above: float, entered_: bool) -> None:
    """Quiet bars about 2% wide: a ceiling of exactly GLD's 20-day range still counts as consolidating."""
    snap = market(spread=0.02)
    bars = snap.daily["GLD"]
    width = float((bars.high[-20:].max() - bars.low[-20:].min()) / bars.close[-1])  # RULEBOOK's 20-day range
    settings = dataclasses.replace(S, strangle_max_range=width + above)
    gld = by_root(answers(snap, settings=settings), "GLD")
    assert isinstance(gld, OrderIntent) is entered_


def test_no_vix_is_the_strangles_own_decision() -> None:
    snap = dataclasses.replace(market(), vix=None)
    assert answers(snap) == [Decision(snap.time, "strangles", False, "strangles: no VIX", "strangles")]


def test_the_profit_target_and_the_stop_are_inclusive() -> None:
    """A credit of exactly twice today's cost to close has kept exactly 50% (the target): it closes. A credit
    of exactly half of it costs exactly 2× the credit: with a stop multiple of 2 it stops. Both ratios are
    exact in binary."""
    s = entered()
    snap = market()
    view = value_structure(s, snap, S)
    assert isinstance(view, Found) and view.value.mark < 0
    kept = Strangles(S, CAL.equity).manage(dataclasses.replace(s, entry_price=2 * view.value.mark), snap)
    assert kept is not None and kept.reason.startswith("strangles: profit target")
    stop_at_two = dataclasses.replace(S, strangle_stop_multiple=2.0)
    stopped = Strangles(stop_at_two, CAL.equity).manage(dataclasses.replace(s, entry_price=view.value.mark / 2), snap)
    assert stopped is not None and stopped.reason.startswith("strangles: stop (cost to close")
    assert stopped.action is IntentAction.CLOSE and stopped.quantity == s.quantity


# ------------------------------------------------------------------------------------------ every answer, whole (#21)


def _refused(snap: MarketSnapshot, reason: str) -> Decision:
    return Decision(snap.time, "strangles", False, f"strangles: {reason}", "strangles")


def _gld_chain(snap: MarketSnapshot, expiries: list[date]) -> MarketSnapshot:
    chain = m.priced_chain("GLD", 190.0, snap.time, expiries, [190.0 * k / 200 for k in range(120, 280)], 0.16, 0.2)
    return dataclasses.replace(snap, chains={**snap.chains, "GLD": chain})


def test_each_reason_for_no_strangle_is_its_own_decision_in_full() -> None:
    """Every refusal of one product names the product and why, as a person reads it in the log."""
    snap = market()
    no_chain = dataclasses.replace(snap, chains={k: v for k, v in snap.chains.items() if k != "GLD"})
    assert by_root(answers(no_chain), "GLD") == _refused(snap, "no GLD chain")
    # 2024-03-15 is 66 days from 2024-01-09, 2024-05-17 is 129: neither within 75-105, 66 the nearer to 90.
    no_expiry = _gld_chain(snap, [date(2024, 3, 15), date(2024, 5, 17)])
    assert by_root(answers(no_expiry), "GLD") == _refused(snap, "GLD: no expiry within 75-105 DTE (nearest 66)")
    # Neither an IV history nor a daily bar for GLD: no rank at all.
    bare = dataclasses.replace(
        snap,
        daily={k: v for k, v in snap.daily.items() if k != "GLD"},
        iv_history={k: v for k, v in snap.iv_history.items() if k != "GLD"},
    )
    assert by_root(answers(bare), "GLD") == _refused(
        snap, "GLD: no IV rank (no IV history, too few daily bars, or a price ≤ 0 in the last 20 sessions)"
    )
    # A year of IV gives the rank; without daily bars there is no 20-day range to measure.
    no_bars = dataclasses.replace(snap, daily={k: v for k, v in snap.daily.items() if k != "GLD"})
    assert by_root(answers(no_bars), "GLD") == _refused(snap, "GLD: fewer than 20 daily bars for the range")


def _nearest_delta(snap: MarketSnapshot, call: bool, target: float) -> float:
    chain = snap.chains["GLD"]
    on = (chain.expiry == EXPIRY.toordinal() - date(1970, 1, 1).toordinal()) & (chain.is_call == call)
    deltas = np.abs(chain.delta[on])
    return float(deltas[np.argmin(np.abs(deltas - target))])


def test_a_strike_band_with_no_short_in_it_is_refused_naming_the_side_and_the_nearest_delta() -> None:
    """A band of exactly 0.5 holds no GLD option; the refusal names the expiry, the side, the band and the
    nearest |delta| listed (read from the chain the test built)."""
    snap = market()
    puts = dataclasses.replace(S, strangle_put_delta=0.5, strangle_put_delta_min=0.5, strangle_put_delta_max=0.5)
    nearest = _nearest_delta(snap, False, 0.5)
    assert by_root(answers(snap, settings=puts), "GLD") == _refused(
        snap, f"GLD 2024-04-19 put: no |delta| within 0.500-0.500 (nearest {nearest:.3f})"
    )
    calls = dataclasses.replace(S, strangle_call_delta=0.5, strangle_call_delta_min=0.5, strangle_call_delta_max=0.5)
    nearest = _nearest_delta(snap, True, 0.5)
    assert by_root(answers(snap, settings=calls), "GLD") == _refused(
        snap, f"GLD 2024-04-19 call: no |delta| within 0.500-0.500 (nearest {nearest:.3f})"
    )


def test_the_opening_names_put_then_call_and_the_filters_it_passed() -> None:
    """At VIX 16 the size is the base (no size text). Quiet bars 2% wide: a range of 2.0%; rising IV: rank 100."""
    gld = by_root(answers(market()), "GLD")
    assert isinstance(gld, OrderIntent)
    strikes = {leg.contract.right: leg.contract.strike or 0.0 for leg in gld.structure.legs}
    put, call = strikes[Right.PUT], strikes[Right.CALL]
    assert put < 190.0 < call
    assert gld.reason == f"strangles: GLD 2024-04-19 {put:g}/{call:g} x1, IV rank 100 (252-day IV rank), range 2.0%"
    assert gld.structure.tag == "" and gld.quantity == 1


def test_the_x1_5_step_starts_at_vix_18_itself() -> None:
    """RULEBOOK: × 1.5 from VIX 18. Base 2 at exactly 18: 3 strangles, and the reason says how."""
    settings = Settings.from_parameters({"strangle_base_size": "2"})
    gld = by_root(answers(market(vix=18.0), settings=settings), "GLD")
    assert isinstance(gld, OrderIntent) and gld.quantity == 3
    assert gld.reason.endswith(", range 2.0%, size 2 × 1.5 (down) = 3")
    base = by_root(answers(market(vix=17.99), settings=settings), "GLD")
    assert isinstance(base, OrderIntent) and base.quantity == 2 and base.reason.endswith(", range 2.0%")


def test_the_iv_rank_floor_admits_a_rank_exactly_on_it() -> None:
    """An IV history from 0.25 to 0.75 ending at 0.5: rank (0.5 − 0.25) / (0.75 − 0.25) = 50 exactly."""
    history = np.concatenate([[0.25, 0.75], np.full(250, 0.5)])
    snap = market(iv=history)
    on = by_root(answers(snap, settings=dataclasses.replace(S, strangle_min_iv_rank=50.0)), "GLD")
    assert isinstance(on, OrderIntent) and "IV rank 50 (252-day IV rank)" in on.reason
    over = by_root(answers(snap, settings=dataclasses.replace(S, strangle_min_iv_rank=50.5)), "GLD")
    assert over == _refused(snap, "GLD: IV rank 50 < 50.5 (252-day IV rank)")


def test_a_strangle_held_on_one_product_leaves_the_others_to_trade() -> None:
    """A GLD strangle of which only the put is left (its call side closed when tested) still holds GLD; TLT
    and USO each get their strangle. A GLD position of another strategy does not block the strangle."""
    first = entered()
    put_only = dataclasses.replace(first, legs=first.legs[:1], leg_entry_prices=first.leg_entry_prices[:1])
    items = answers(market(), held=[put_only])
    assert by_root(items, "GLD") == _refused(market(), "GLD: a strangle is already open")
    assert isinstance(by_root(items, "TLT"), OrderIntent) and isinstance(by_root(items, "USO"), OrderIntent)
    other = m.structure("lad", "leap_ladder", m.short_put("GLD", EXPIRY, 150.0), market(), entry_price=-1.0)
    assert isinstance(by_root(answers(market(), held=[other]), "GLD"), OrderIntent)


def test_a_short_without_a_delta_does_not_hide_the_tested_one() -> None:
    """The put's quote carries no delta (NaN): only the call is measured. At GLD 205 the call is tested past
    0.30 and the strangle closes; the put's missing delta is not taken for the largest."""
    s = entered()
    snap = market(gld=205.0)
    chain = snap.chains["GLD"]
    put_strike = next(leg.contract.strike for leg in s.legs if leg.contract.right is Right.PUT)
    row = chain.find(EXPIRY, put_strike or 0.0, Right.PUT)
    assert row is not None
    delta = chain.delta.copy()
    delta[row] = np.nan
    blind = dataclasses.replace(snap, chains={**snap.chains, "GLD": dataclasses.replace(chain, delta=delta)})
    close = Strangles(S, CAL.equity).manage(s, blind)
    assert close is not None and close.structure.id == s.id
    assert close.reason.startswith("strangles: tested call |delta| ") and close.reason.endswith(
        "≥ 0.30: close the strangle"
    )


def _es_strangle(day: date) -> tuple[Strangles, Structure, MarketSnapshot]:
    """An ES strangle on the March 2024 options, whose future last trades on 2024-03-15, held on `day`."""
    from strategies.futures import Futures

    now = datetime.combine(day, time(10, 15), tzinfo=m.NY)
    chain = m.priced_chain("ES", 5100.0, now, [date(2024, 3, 15)], [4800.0, 5400.0], 0.15)
    snap = m.snapshot(now, 15.0, [chain])
    legs = [
        (dataclasses.replace(m.option("ES", date(2024, 3, 15), k, r), underlying_expiry=date(2024, 3, 15)), -1)
        for k, r in ((4800.0, Right.PUT), (5400.0, Right.CALL))
    ]
    held = m.structure("es-strangle", "strangles", legs, snap)
    return Strangles(S, CAL.equity, Futures(S, CAL)), held, snap


def test_an_es_strangle_closes_when_its_future_is_about_to_expire_and_not_before() -> None:
    """5 sessions from 2024-03-08 to the future's last trade (2024-03-15): inside `future_option_close_days`,
    the strangle closes first of all, by the futures rule. On 2024-03-07 (6 sessions) the strangle's own exits
    decide: its options are 8 days from expiry, inside the 21-DTE defence, which closes it."""
    st, held, snap = _es_strangle(date(2024, 3, 8))
    close = st.manage(held, snap)
    assert close is not None and close.structure.id == held.id
    assert close.reason == "futures: ES future option's underlying trades until 2024-03-15 (5 sessions): close"
    st, held, snap = _es_strangle(date(2024, 3, 7))
    own = st.manage(held, snap)
    assert own is not None and own.reason.startswith("strangles: 21 DTE: ")


def test_a_short_future_delivered_to_a_strangle_is_closed_as_its_tested_side() -> None:
    """A short ES call assigned delivers a short future, booked as a structure of the strangle's own strategy
    (core/expiry). Its |delta| is 1: past 0.30, so the strangle's rule closes it. A future has no right, so
    the reason calls it "side"."""
    now = datetime.combine(date(2024, 3, 15), time(10, 15), tzinfo=m.NY)
    snap = m.snapshot(now, 15.0, [], {"ES": 5400.0})
    delivered = m.structure("delivered-ES", "strangles", [(m.future("ES", date(2024, 6, 21)), -1)], snap)
    close = Strangles(S, CAL.equity).manage(delivered, snap)
    assert close is not None and close.structure.id == "delivered-ES"
    assert close.reason == "strangles: tested side |delta| 1.00 ≥ 0.30: close the strangle"


def test_a_strangle_entered_at_no_net_price_has_no_credit_to_stop_on() -> None:
    """A strangle booked at a net price of 0 (no credit known) is measured by neither the profit target nor
    the stop (3 × a credit of 0 would stop it at once): nothing to do today."""
    s = dataclasses.replace(entered(), entry_price=0.0)
    assert Strangles(S, CAL.equity).manage(s, market()) is None


def test_the_strangles_id_is_the_same_for_the_same_legs_on_the_same_day() -> None:
    """`<strategy>-<day>-<6 hex digits of the legs' hash>`, the legs joined in order: the value recorded here is
    what a restart on the same day rebuilds for the GLD 166.25 put / 215.65 call."""
    s = entered()
    assert [leg.contract.strike for leg in s.legs] == [166.25, 215.65]
    assert s.id == entered().id == "strangles-20240109-adea44"
