"""core/pricing against QuantLib (an independent implementation) and against the laws option prices obey."""

from __future__ import annotations

import math
import warnings
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


# ---------------------------------------------------------------------------------------- the solver's edges


def test_implied_vol_round_trips_to_1e_10_over_wings_and_extreme_vols() -> None:
    # The stopping rule (module constants) stops after a Householder step under 1e-3·s, relying on fourth-order
    # convergence to leave an error of order 1e-12. Over calls and puts from 5% to 20x the forward, 1 minute to
    # 3 years and 1% to 300% vol, wherever the price moves by at least a millionth of the forward per vol point,
    # the volatility that made the price comes back to 1e-10 (a step of lower order stops early, at ~1e-8).
    forward, r = 100.0, 0.04
    moneyness = np.concatenate([np.geomspace(0.05, 0.9, 10), np.linspace(0.9, 1.1, 9), np.geomspace(1.1, 20.0, 10)])
    years = np.array([1.0, 15.0, 330.0]) * MINUTE
    years = np.concatenate([years, np.array([1.0, 7.0, 30.0, 120.0, 365.0, 1095.0]) / 365.0])
    vols = np.array([0.01, 0.03, 0.1, 0.2, 0.45, 1.0, 2.0, 3.0])
    k, t, v, c = (a.ravel() for a in np.meshgrid(forward * moneyness, years, vols, [True, False], indexing="ij"))
    prices = np.array(
        [
            ql.blackFormula(ql_type(bool(ci)), ki, forward, vi * math.sqrt(ti), math.exp(-r * ti))
            for ki, ti, vi, ci in zip(k, t, v, c, strict=True)
        ]
    )
    vega = pricing.black76_greeks(forward, k, t, v, r, c).vega
    determined = vega > 1e-6 * forward
    assert determined.sum() > 0.3 * len(prices)
    implied = pricing.black76_implied_vol(prices, forward, k, t, r, c)
    assert np.all(implied.status[determined] == pricing.IVStatus.OK)
    assert float(np.max(np.abs(implied.iv - v)[determined])) < 1e-10


def test_the_smallest_time_value_the_solver_takes_is_solved() -> None:
    # F = 1, K = 4: √(FK) = 2, so a call worth 2e-14 has a normalised time value of exactly 1e-14
    # (MIN_NORMALISED_TIME_VALUE): solved, and the volatility found reprices it.
    implied = pricing.black76_implied_vol(2e-14, 1.0, 4.0, 1.0, 0.0, True)
    assert implied.status == pricing.IVStatus.OK
    assert float(pricing.black76_price(1.0, 4.0, 1.0, implied.iv, 0.0, True)) == pytest.approx(2e-14, rel=1e-6)
    # Half of it has no time value a quote can carry.
    assert pricing.black76_implied_vol(1e-14, 1.0, 4.0, 1.0, 0.0, True).status == pricing.IVStatus.NO_TIME_VALUE


def test_a_fine_sweep_of_vols_near_the_money_round_trips() -> None:
    # A stock at 100 with carry (r 5%, q 1%), strikes 100 and 102, a day, a month and half a year, calls and puts,
    # 3,000 volatilities from 0.5% to 500%: wherever the price moves by a millionth of the spot per vol point, the
    # volatility that made it comes back to 1e-8. A few of these (x, β) pairs, met from a poor starting guess,
    # make the third-order step collapse to nothing while f is far from 0: the step test then stops at a wrong s.
    spot, r, q = 100.0, 0.05, 0.01
    vols = np.geomspace(0.005, 5.0, 3000)
    k, t, v, c = (a.ravel() for a in np.meshgrid([100.0, 102.0], [1 / 365, 30 / 365, 0.5], vols, [True, False]))
    prices = np.array(
        [
            ql.blackFormula(ql_type(bool(ci)), ki, spot * math.exp((r - q) * ti), vi * math.sqrt(ti), math.exp(-r * ti))
            for ki, ti, vi, ci in zip(k, t, v, c, strict=True)
        ]
    )
    determined = pricing.bs_greeks(spot, k, t, v, r, q, c).vega > 1e-6 * spot
    implied = pricing.bs_implied_vol(prices, spot, k, t, r, q, c)
    assert np.all(implied.status[determined] == pricing.IVStatus.OK)
    assert float(np.max(np.abs(implied.iv - v)[determined])) < 1e-8


def test_tiny_time_values_at_the_money_converge() -> None:
    # An at-the-money option on 100 with a day to go, worth 1e-8 or 1e-10 (normalised time value 1e-10 and 1e-12,
    # inside the solver's domain, which starts at 1e-14): the solver settles, and the volatility found reprices
    # the time value to 1e-4 (b is computed as a difference of two N(d) near 0.5 there, which limits it).
    for price in (1e-8, 1e-10):
        implied = pricing.black76_implied_vol(price, 100.0, 100.0, 1.0 / 365.0, 0.0, True)
        assert implied.status == pricing.IVStatus.OK
        repriced = float(pricing.black76_price(100.0, 100.0, 1.0 / 365.0, implied.iv, 0.0, True))
        assert repriced == pytest.approx(price, rel=1e-4)
    # Out of the money by 0.1% (x = −0.001, where b has no cancellation), a month to go, worth 5e-10: solved and
    # repriced to 1e-8.
    wing = pricing.black76_implied_vol(5e-10, 100.0, 99.9, 30.0 / 365.0, 0.0, False)
    assert wing.status == pricing.IVStatus.OK
    assert float(pricing.black76_price(100.0, 99.9, 30.0 / 365.0, wing.iv, 0.0, False)) == pytest.approx(
        5e-10, rel=1e-8
    )


def test_the_volatility_found_never_exceeds_the_solvers_limit() -> None:
    # Within a few 1e-7 of the maximum (here 1e-10 under it, at the money, 3 years) only σ√T above MAX_TOTAL_VOL
    # would fit; the answer is at most that limit (or none), never a number past it.
    t = 3.0
    for is_call in (True, False):
        implied = pricing.black76_implied_vol(100.0 * (1.0 - 1e-10), 100.0, 100.0, t, 0.0, is_call)
        assert np.isnan(implied.iv) or float(implied.iv) * math.sqrt(t) <= pricing.MAX_TOTAL_VOL


def test_a_price_at_the_maximum_or_within_1e_15_of_it_is_above_the_maximum() -> None:
    # A call on F = K = 1 (r = 0) is worth less than the forward, 1, for any volatility; 1e-15 under it is
    # still the maximum for the solver (b(x, ∞) = e^(x/2) to 15 digits). A put's maximum is the strike.
    S = pricing.IVStatus
    assert pricing.black76_implied_vol(1.0, 1.0, 1.0, 1.0, 0.0, True).status == S.ABOVE_MAXIMUM
    assert pricing.black76_implied_vol(1.0 - 1e-15, 1.0, 1.0, 1.0, 0.0, True).status == S.ABOVE_MAXIMUM
    assert pricing.black76_implied_vol(100.0, 100.0, 100.0, 0.5, 0.0, False).status == S.ABOVE_MAXIMUM
    assert pricing.black76_implied_vol(99.99, 100.0, 100.0, 0.5, 0.0, False).status == S.OK


def test_a_price_just_under_intrinsic_is_intrinsic_and_further_under_is_below() -> None:
    S = pricing.IVStatus
    # Rounding: 1e-10 under an intrinsic of 800 is a relative 1.25e-13, inside the 1e-12 of the price allowed.
    assert pricing.black76_implied_vol(800.0 - 1e-10, 4800.0, 4000.0, 1.0, 0.0, True).status == S.NO_TIME_VALUE
    # Under a price of 1 the allowance is 1e-12 absolute: 1.5e-12 under an intrinsic of 1 is below it.
    assert pricing.black76_implied_vol(1.0 - 1.5e-12, 100.0, 99.0, 1.0, 0.0, True).status == S.BELOW_INTRINSIC
    # A call 30 in the money at 29: a dollar under intrinsic.
    assert pricing.black76_implied_vol(29.0, 100.0, 70.0, 0.5, 0.0, True).status == S.BELOW_INTRINSIC
    # Exactly the allowance under is still intrinsic. Powers of two of 1e-12 make every float exact: a put struck
    # at 4e-12 on a forward of 2e-12 is worth 2e-12; priced at 1e-12, its time value is exactly −1e-12.
    assert pricing.black76_implied_vol(1e-12, 2e-12, 4e-12, 0.5, 0.0, False).status == S.NO_TIME_VALUE


def test_underlyings_under_one_dollar_solve() -> None:
    strikes = np.array([0.4, 0.5, 0.6])
    prices = np.array(
        [ql.blackFormula(ql.Option.Call, k, 0.5, 0.6 * math.sqrt(0.25), math.exp(-0.03 * 0.25)) for k in strikes]
    )
    implied = pricing.black76_implied_vol(prices, 0.5, strikes, 0.25, 0.03, True)
    assert list(implied.status) == [pricing.IVStatus.OK] * 3
    assert np.allclose(implied.iv, 0.6, rtol=0.0, atol=1e-9)


def test_infinite_zero_and_overflowing_inputs_are_bad_input_without_a_warning() -> None:
    # Each row is refused for one input: an infinite forward, an infinite time (the discount underflows to 0 at
    # r = 1%), a zero strike, a discount of 0 (e^-800), forward and strike both infinite; and finite magnitudes
    # no market has, whose sum overflows: a forward and a strike of 1e308, a strike and a time of 1e308, a
    # price of 1e308 discounted by e^709 (r = -709). numpy warns of none of it (a log of 0, inf/inf, an
    # overflow): bad market data is answered with NaN and a reason, never noise in the log.
    prices = np.array([5.0, 5.0, 5.0, 5.0, 5.0, 1.0, 5.0, 1e308])
    forwards = np.array([np.inf, 100.0, 100.0, 100.0, np.inf, 1e308, 100.0, 100.0])
    strikes = np.array([100.0, 100.0, 0.0, 100.0, np.inf, 1e308, 1e308, 100.0])
    years = np.array([0.5, np.inf, 0.5, 1.0, 0.5, 0.5, 1e308, 1.0])
    rates = np.array([0.0, 0.01, 0.0, 800.0, 0.0, 0.0, 0.0, -709.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        implied = pricing.black76_implied_vol(prices, forwards, strikes, years, rates, True)
    assert list(implied.status) == [pricing.IVStatus.BAD_INPUT] * 8
    assert np.all(np.isnan(implied.iv))


def test_implied_vol_keeps_the_shape_of_its_input_and_a_compact_status() -> None:
    prices = pricing.black76_price(100.0, np.array([[90.0, 100.0, 110.0], [95.0, 100.0, 105.0]]), 0.5, 0.3, 0.02, True)
    implied = pricing.black76_implied_vol(
        prices, 100.0, np.array([[90.0, 100.0, 110.0], [95.0, 100.0, 105.0]]), 0.5, 0.02, True
    )
    assert implied.iv.shape == (2, 3) and implied.status.shape == (2, 3)
    assert implied.status.dtype == np.int8
    one = pricing.black76_implied_vol(float(prices[0, 1]), 100.0, 100.0, 0.5, 0.02, True)
    assert one.iv.shape == () and one.status.shape == ()
    assert float(one.iv) == pytest.approx(0.3, abs=1e-12)


def test_black76_iv_and_greeks_gives_the_greeks_at_the_implied_vol() -> None:
    # A put on a future, rate 5%: the Greeks returned are QuantLib's at the volatility that made the price.
    forward, strike, t, r, vol = 4800.0, 4700.0, 0.25, 0.05, 0.22
    discount = math.exp(-r * t)
    price = ql.blackFormula(ql.Option.Put, strike, forward, vol * math.sqrt(t), discount)
    implied, greeks = pricing.black76_iv_and_greeks(price, forward, strike, t, r, False)
    assert float(implied.iv) == pytest.approx(vol, abs=1e-10)
    calc = ql.BlackCalculator(ql.PlainVanillaPayoff(ql.Option.Put, strike), forward, vol * math.sqrt(t), discount)
    assert float(greeks.price) == pytest.approx(price, rel=1e-9)
    assert float(greeks.delta) == pytest.approx(calc.deltaForward(), rel=1e-7)
    assert float(greeks.gamma) == pytest.approx(calc.gammaForward(), rel=1e-7)
    assert float(greeks.vega) == pytest.approx(calc.vega(t) / 100.0, rel=1e-7)
    # Rho with the future fixed: −t·price per unit of rate, per point.
    assert float(greeks.rho) == pytest.approx(-t * price / 100.0, rel=1e-7)
    # Theta per calendar day: the price a day's fraction later minus earlier, the future fixed.
    h = 1e-5

    def put_at(years: float) -> float:
        return float(ql.blackFormula(ql.Option.Put, strike, forward, vol * math.sqrt(years), math.exp(-r * years)))

    assert float(greeks.theta) == pytest.approx((put_at(t - h) - put_at(t + h)) / (2 * h) / 365.0, rel=1e-6)
    # The same for a call: its own price, delta and volatility.
    call_price = ql.blackFormula(ql.Option.Call, strike, forward, vol * math.sqrt(t), discount)
    call_implied, call_greeks = pricing.black76_iv_and_greeks(call_price, forward, strike, t, r, True)
    call_calc = ql.BlackCalculator(ql.PlainVanillaPayoff(ql.Option.Call, strike), forward, vol * math.sqrt(t), discount)
    assert float(call_implied.iv) == pytest.approx(vol, abs=1e-10)
    assert float(call_greeks.price) == pytest.approx(call_price, rel=1e-9)
    assert float(call_greeks.delta) == pytest.approx(call_calc.deltaForward(), rel=1e-7)


def test_at_expiry_and_at_zero_vol_the_price_is_the_discounted_intrinsic_silently() -> None:
    strikes = np.array([90.0, 100.0, 110.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # σ√T = 0 divides by zero (0/0 at the money): not a warning
        at_expiry = pricing.black76_price(100.0, strikes, 0.0, 0.2, 0.05, True)
        calls = pricing.black76_price(100.0, strikes, 0.5, 0.0, 0.05, True)
        puts = pricing.black76_price(100.0, strikes, 0.5, 0.0, 0.05, False)
        pricing.black76_greeks(100.0, strikes, 0.0, 0.2, 0.05, True)
        pricing.bs_greeks(100.0, strikes, 0.0, 0.2, 0.05, 0.01, False)
    assert list(at_expiry) == [10.0, 0.0, 0.0]
    d = math.exp(-0.05 * 0.5)
    assert list(calls) == pytest.approx([10.0 * d, 0.0, 0.0], abs=1e-12)
    assert list(puts) == pytest.approx([0.0, 0.0, 10.0 * d], abs=1e-12)


def test_integer_inputs_are_read_as_floats() -> None:
    # Integers are not multiplied as integers: spot² of 4e9 overflows int64 (a negative gamma).
    as_int = pricing.bs_greeks(4_000_000_000, 4_000_000_000, 1, 0.2, 0, 0, True)
    as_float = pricing.bs_greeks(4e9, 4e9, 1.0, 0.2, 0.0, 0.0, True)
    assert float(as_int.gamma) == float(as_float.gamma) > 0.0


def test_year_fraction_is_zero_backwards_and_names_its_input() -> None:
    ny = ZoneInfo("America/New_York")
    open_ = datetime(2024, 11, 4, 9, 30, tzinfo=ny)  # the Monday after the DST change
    assert pricing.year_fraction(open_ + timedelta(minutes=5), open_) == 0.0
    with pytest.raises(ValueError, match=r"^year_fraction needs timezone-aware datetimes$"):
        pricing.year_fraction(open_.replace(tzinfo=None), open_)
