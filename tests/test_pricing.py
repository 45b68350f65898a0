"""core/pricing against QuantLib (an independent implementation) and against the laws option prices obey."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st

from core import pricing

MINUTE = 1.0 / (365.0 * 24 * 60)
# 0DTE (15 minutes and 5.5 hours), a week, a month, 120 days, a year, three years.
EXPIRIES = [15 * MINUTE, 330 * MINUTE, 7 / 365, 30 / 365, 120 / 365, 1.0, 3.0]
VOLS = [0.08, 0.2, 0.45, 1.2]
MONEYNESS = [0.7, 0.85, 0.97, 1.0, 1.03, 1.15, 1.3]


def grid() -> list[tuple[float, float, float, bool]]:
    return [(m, t, v, c) for m in MONEYNESS for t in EXPIRIES for v in VOLS for c in (True, False)]


def ql_type(is_call: bool) -> int:
    return int(ql.Option.Call if is_call else ql.Option.Put)


def test_black76_prices_match_quantlib_on_the_grid() -> None:
    forward, r = 4800.0, 0.045
    rows = grid()
    strike = np.array([forward * m for m, *_ in rows])
    t = np.array([row[1] for row in rows])
    vol = np.array([row[2] for row in rows])
    call = np.array([row[3] for row in rows])
    ours = pricing.black76_price(forward, strike, t, vol, r, call)
    for i, (_, ti, vi, ci) in enumerate(rows):
        ref = ql.blackFormula(ql_type(ci), strike[i], forward, vi * math.sqrt(ti), math.exp(-r * ti))
        # Relative 1e-8 wherever the price is more than a billionth of the forward; below that both sides
        # are rounding noise of N(d) in the far tail, so compare absolutely at that scale.
        assert abs(ours[i] - ref) <= max(1e-8 * abs(ref), 1e-12 * forward), (rows[i], ours[i], ref)


def test_black_scholes_prices_and_greeks_match_quantlib_engine() -> None:
    # QuantLib's engine counts whole days, so this grid uses whole-day expiries (intraday is covered above).
    spot, r, q = 480.0, 0.05, 0.013
    today = ql.Date(15, 3, 2024)
    ql.Settings.instance().evaluationDate = today
    day_count = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(spot)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, q, day_count)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, r, day_count)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), 0.2, day_count)),
    )
    for days in (1, 7, 45, 120, 365, 730):
        for m in MONEYNESS:
            for vol in VOLS:
                for is_call in (True, False):
                    strike = spot * m
                    vol_quote = ql.SimpleQuote(vol)
                    proc = ql.BlackScholesMertonProcess(
                        process.stateVariable(),
                        process.dividendYield(),
                        process.riskFreeRate(),
                        ql.BlackVolTermStructureHandle(
                            ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(vol_quote), day_count)
                        ),
                    )
                    option = ql.VanillaOption(
                        ql.PlainVanillaPayoff(ql_type(is_call), strike), ql.EuropeanExercise(today + days)
                    )
                    option.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
                    g = pricing.bs_greeks(spot, strike, days / 365.0, vol, r, q, is_call)
                    where = (days, m, vol, is_call)
                    ref_price = option.NPV()
                    assert abs(g.price - ref_price) <= max(1e-8 * ref_price, 1e-12 * spot), where
                    assert g.delta == pytest.approx(option.delta(), rel=1e-7, abs=1e-12), where
                    assert g.gamma == pytest.approx(option.gamma(), rel=1e-7, abs=1e-12), where
                    assert g.vega == pytest.approx(option.vega() / 100.0, rel=1e-7, abs=1e-10), where
                    assert g.theta == pytest.approx(option.theta() / 365.0, rel=1e-7, abs=1e-10), where
                    assert g.rho == pytest.approx(option.rho() / 100.0, rel=1e-7, abs=1e-10), where


def test_black76_greeks_match_quantlib_calculator() -> None:
    forward, r = 4800.0, 0.045
    for m, t, vol, is_call in grid():
        strike = forward * m
        calc = ql.BlackCalculator(
            ql.PlainVanillaPayoff(ql_type(is_call), strike), forward, vol * math.sqrt(t), math.exp(-r * t)
        )
        g = pricing.black76_greeks(forward, strike, t, vol, r, is_call)
        where = (m, t, vol, is_call)
        assert g.delta == pytest.approx(calc.deltaForward(), rel=1e-7, abs=1e-12), where
        assert g.gamma == pytest.approx(calc.gammaForward(), rel=1e-7, abs=1e-12), where
        assert g.vega == pytest.approx(calc.vega(t) / 100.0, rel=1e-7, abs=1e-10), where


def test_rho_and_theta_agree_with_finite_differences() -> None:
    spot, strike, t, vol, r, q = 100.0, 95.0, 0.5, 0.3, 0.04, 0.01
    h = 1e-6
    for is_call in (True, False):
        g = pricing.bs_greeks(spot, strike, t, vol, r, q, is_call)
        up = pricing.bs_price(spot, strike, t, vol, r + h, q, is_call)
        down = pricing.bs_price(spot, strike, t, vol, r - h, q, is_call)
        assert g.rho == pytest.approx((up - down) / (2 * h) / 100.0, rel=1e-6)
        later = pricing.bs_price(spot, strike, t - h, vol, r, q, is_call)
        earlier = pricing.bs_price(spot, strike, t + h, vol, r, q, is_call)
        assert g.theta == pytest.approx((later - earlier) / (2 * h) / 365.0, rel=1e-6)
        fut = pricing.black76_greeks(spot, strike, t, vol, r, is_call)
        f_up = pricing.black76_price(spot, strike, t, vol, r + h, is_call)
        f_down = pricing.black76_price(spot, strike, t, vol, r - h, is_call)
        assert fut.rho == pytest.approx((f_up - f_down) / (2 * h) / 100.0, rel=1e-6)


def test_implied_vol_round_trips_quantlib_prices_to_1e_6() -> None:
    forward, r = 4800.0, 0.045
    rows = grid()
    strike = np.array([forward * m for m, *_ in rows])
    t = np.array([row[1] for row in rows])
    vol = np.array([row[2] for row in rows])
    call = np.array([row[3] for row in rows])
    prices = np.array(
        [
            ql.blackFormula(ql_type(c), k, forward, v * math.sqrt(tt), math.exp(-r * tt))
            for (_, tt, v, c), k in zip(rows, strike, strict=True)
        ]
    )
    implied = pricing.black76_implied_vol(prices, forward, strike, t, r, call)
    vega = pricing.black76_greeks(forward, strike, t, vol, r, call).vega
    meaningful = vega > 1e-6 * forward * 1e-4  # a price that moves by at least 1e-10 of F per vol point
    assert meaningful.sum() > 0.6 * len(rows)
    err = np.abs(implied.iv - vol)
    assert np.all(implied.status[meaningful] == pricing.IVStatus.OK)
    assert float(np.max(err[meaningful])) < 1e-6
    # Where the price cannot determine a volatility the answer is NaN with a reason, never a made-up number.
    assert np.all(np.isnan(implied.iv[implied.status != pricing.IVStatus.OK]))


def test_implied_vol_agrees_with_quantlib_solver() -> None:
    forward, r, t = 100.0, 0.03, 0.25
    for strike in (80.0, 100.0, 125.0):
        for is_call in (True, False):
            price = ql.blackFormula(ql_type(is_call), strike, forward, 0.35 * math.sqrt(t), math.exp(-r * t))
            ref = ql.blackFormulaImpliedStdDev(
                ql_type(is_call), strike, forward, price, math.exp(-r * t), 0.0, 0.3, 1e-14, 200
            ) / math.sqrt(t)
            ours = pricing.black76_implied_vol(price, forward, strike, t, r, is_call).iv
            assert float(ours) == pytest.approx(ref, abs=1e-9)


def test_unusable_inputs_give_nan_and_a_reason() -> None:
    forward, strike, t, r = 100.0, 100.0, 0.5, 0.0
    prices = np.array([np.nan, -1.0, 0.0, 1e-30, 150.0, 10.0, 10.0, 10.0])
    fwd = np.array([forward] * 5 + [0.0, forward, forward])
    tt = np.array([t] * 6 + [0.0, t])
    k = np.array([strike] * 7 + [70.0])  # last row: a call 30 in the money priced at 10
    implied = pricing.black76_implied_vol(prices, fwd, k, tt, r, True)
    S = pricing.IVStatus
    assert list(implied.status) == [
        S.BAD_INPUT,
        S.BAD_INPUT,
        S.NO_TIME_VALUE,
        S.NO_TIME_VALUE,
        S.ABOVE_MAXIMUM,
        S.BAD_INPUT,
        S.BAD_INPUT,
        S.BELOW_INTRINSIC,
    ]
    assert np.all(np.isnan(implied.iv))
    assert implied.counts() == {"BAD_INPUT": 4, "BELOW_INTRINSIC": 1, "ABOVE_MAXIMUM": 1, "NO_TIME_VALUE": 2}


def test_year_fraction_counts_minutes_across_a_dst_change() -> None:
    ny = ZoneInfo("America/New_York")
    # 2024-03-10 02:00 New York time does not exist: the clocks jump an hour, so 01:30 → 03:30 is 1 hour.
    before = datetime(2024, 3, 10, 1, 30, tzinfo=ny)
    after = before.astimezone(UTC) + timedelta(hours=1)
    assert pricing.year_fraction(before, after) == pytest.approx(1.0 / (365 * 24))
    assert after.astimezone(ny).hour == 3
    # Same zone on both sides across the change: Friday 10:30 to Monday 16:00 New York is 76.5 real hours.
    friday = datetime(2024, 3, 8, 10, 30, tzinfo=ny)
    monday = datetime(2024, 3, 11, 16, 0, tzinfo=ny)
    assert pricing.year_fraction(friday, monday) == pytest.approx(76.5 / (365 * 24))
    with pytest.raises(ValueError, match="timezone-aware"):
        pricing.year_fraction(before.replace(tzinfo=None), after)


# ---------------------------------------------------------------------------------------- properties

prices_args = st.tuples(
    st.floats(50.0, 200.0),  # strike with forward 100
    st.floats(1e-4, 3.0),  # years
    st.floats(0.03, 2.0),  # vol
    st.floats(-0.01, 0.08),  # rate
    st.floats(0.0, 0.05),  # dividend yield
)


@given(prices_args)
@settings(max_examples=300, deadline=None)
def test_put_call_parity(args: tuple[float, float, float, float, float]) -> None:
    strike, t, vol, r, q = args
    spot = 100.0
    call = pricing.bs_price(spot, strike, t, vol, r, q, True)
    put = pricing.bs_price(spot, strike, t, vol, r, q, False)
    parity = spot * math.exp(-q * t) - strike * math.exp(-r * t)
    assert float(call - put) == pytest.approx(parity, abs=1e-9 * spot)


@given(prices_args, st.booleans())
@settings(max_examples=300, deadline=None)
def test_monotone_in_vol_and_strike_and_delta_bounded(args: tuple[float, float, float, float, float], c: bool) -> None:
    strike, t, vol, r, q = args
    spot = 100.0
    base = float(pricing.bs_price(spot, strike, t, vol, r, q, c))
    assert float(pricing.bs_price(spot, strike, t, vol * 1.1, r, q, c)) >= base - 1e-12
    higher_strike = float(pricing.bs_price(spot, strike * 1.01, t, vol, r, q, c))
    assert (higher_strike <= base + 1e-12) if c else (higher_strike >= base - 1e-12)
    g = pricing.bs_greeks(spot, strike, t, vol, r, q, c)
    assert (0.0 <= g.delta <= 1.0) if c else (-1.0 <= g.delta <= 0.0)
    assert g.gamma >= 0.0 and g.vega >= 0.0


@given(prices_args, st.booleans())
@settings(max_examples=300, deadline=None)
def test_implied_vol_round_trip_property(args: tuple[float, float, float, float, float], c: bool) -> None:
    strike, t, vol, r, q = args
    spot = 100.0
    g = pricing.bs_greeks(spot, strike, t, vol, r, q, c)
    implied = pricing.bs_implied_vol(g.price, spot, strike, t, r, q, c)
    if g.vega > 1e-6:  # a price that moves at least a millionth of a dollar per vol point
        assert implied.status == pricing.IVStatus.OK
        assert float(implied.iv) == pytest.approx(vol, abs=1e-6)
    else:
        assert implied.status == pricing.IVStatus.OK or np.isnan(implied.iv)
