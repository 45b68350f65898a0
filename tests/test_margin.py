"""core/margin: defined risk from the widest wing, CBOE naked rules, the SPAN-style estimate."""

from __future__ import annotations

import math
from datetime import date

import pytest

from core.margin import MarginLeg, defined_risk, option_requirement, span_requirement, split_naked
from core.model import Right
from core.settings import Settings

S = Settings()
EXP = date(2024, 1, 5)
P, C = Right.PUT, Right.CALL


def test_uneven_iron_condor_uses_the_wider_wing() -> None:
    # Put wing 10 wide, call wing 30 wide, 4.00 credit: max loss (30 − 4) × 100 per condor.
    legs = [
        MarginLeg(P, 4690.0, +1, 0.50, EXP),
        MarginLeg(P, 4700.0, -1, 2.00, EXP),
        MarginLeg(C, 4800.0, -1, 3.00, EXP),
        MarginLeg(C, 4830.0, +1, 0.50, EXP),
    ]
    req = option_requirement(legs, 4750.0, 100.0, 2, broad_index=True, s=S)
    assert req.amount == pytest.approx((30.0 - 4.0) * 100.0 * 2)
    assert req.method == "defined risk"


def test_debit_spread_risks_its_debit() -> None:
    legs = [MarginLeg(P, 450.0, +1, 6.0, EXP), MarginLeg(P, 445.0, -1, 4.5, EXP)]
    assert defined_risk(legs) == pytest.approx(1.5)


def test_naked_equity_put_and_call_follow_cboe() -> None:
    # Put 10% OTM on a 500 stock, premium 3: max(0.2 × 500 − 50, 0.1 × 450) + 3 = 53 per share.
    put = option_requirement([MarginLeg(P, 450.0, -1, 3.0, EXP)], 500.0, 100.0, 1, False, S)
    assert put.amount == pytest.approx(53.0 * 100.0) and put.method == "naked"
    # Far OTM call: the minimum is 10% of the underlying for calls: max(100 − 200, 50) + 0.2.
    call = option_requirement([MarginLeg(C, 700.0, -1, 0.2, EXP)], 500.0, 100.0, 1, False, S)
    assert call.amount == pytest.approx(50.2 * 100.0)


def test_broad_index_uses_15_and_10_percent() -> None:
    req = option_requirement([MarginLeg(P, 4500.0, -1, 5.0, EXP)], 5000.0, 100.0, 1, True, S)
    assert req.amount == pytest.approx((max(0.15 * 5000 - 500, 0.10 * 4500) + 5.0) * 100.0)


def test_lt112_pairs_the_long_with_the_nearest_short_and_charges_the_rest_naked() -> None:
    price = 500.0
    legs = [
        MarginLeg(P, 465.0, +1, 8.0, EXP),  # 0.93 × price
        MarginLeg(P, 460.0, -1, 7.0, EXP),  # 5 points lower on SPY
        MarginLeg(P, 440.0, -2, 3.0, EXP),  # 0.88 × price, naked
    ]
    req = option_requirement(legs, price, 100.0, 1, False, S)
    spread = 1.0  # the debit
    naked = 2 * (max(0.2 * price - 60.0, 0.1 * 440.0) + 3.0)
    assert req.amount == pytest.approx((spread + naked) * 100.0)
    assert req.method == "defined risk + naked"


def test_a_short_strangle_needs_the_larger_side_plus_the_other_sides_premium() -> None:
    """RULEBOOK (CBOE): a naked put and a naked call on the same underlying and expiry need the larger side's
    requirement plus the other side's premium, not both requirements. GLD at 180, the 165 put sold for 0.80 and
    the 195 call for 0.60, one strangle:
    - put: max(0.20 × 180 − 15, 0.10 × 165) + 0.80 = 21.80 a share, 2,180;
    - call: max(0.20 × 180 − 15, 0.10 × 180) + 0.60 = 21.60 a share, 2,160;
    - the strangle: 2,180 + 60 = 2,240 (both sides summed, 4,340, was charged: buying power doubled)."""
    legs = [MarginLeg(P, 165.0, -1, 0.80, EXP), MarginLeg(C, 195.0, -1, 0.60, EXP)]
    one = option_requirement(legs, 180.0, 100.0, 1, False, S)
    assert one.amount == pytest.approx(2_240.0)
    assert option_requirement(legs, 180.0, 100.0, 3, False, S).amount == pytest.approx(3 * 2_240.0)
    # The rule pairs sides of one expiry only: a put and a call of different expiries each need their own.
    apart = [MarginLeg(P, 165.0, -1, 0.80, EXP), MarginLeg(C, 195.0, -1, 0.60, date(2024, 2, 2))]
    assert option_requirement(apart, 180.0, 100.0, 1, False, S).amount == pytest.approx(4_340.0)
    # Two puts and one call (an uneven strangle): the larger side is the puts', 2 × 21.80; plus the call's 0.60.
    uneven = [MarginLeg(P, 165.0, -2, 0.80, EXP), MarginLeg(C, 195.0, -1, 0.60, EXP)]
    assert option_requirement(uneven, 180.0, 100.0, 1, False, S).amount == pytest.approx((2 * 21.80 + 0.60) * 100)


def test_span_estimate_for_a_short_es_strangle() -> None:
    legs = [
        MarginLeg(P, 4200.0, -1, 12.0, date(2024, 3, 15), 0.22),
        MarginLeg(C, 5100.0, -1, 8.0, date(2024, 3, 15), 0.14),
    ]
    req = span_requirement(legs, "ES", 4750.0, date(2023, 12, 15), 0.05, 50.0, 1, S)
    floor = 0.10 * 11_880 * 2
    assert req.amount >= floor
    assert req.amount < 2 * 11_880  # far OTM shorts need far less than two futures' margin
    two = span_requirement(legs, "ES", 4750.0, date(2023, 12, 15), 0.05, 50.0, 2, S)
    assert two.amount == pytest.approx(2 * req.amount)


def test_span_grows_as_the_short_comes_into_the_money_and_is_capped_by_defined_risk() -> None:
    far = span_requirement(
        [MarginLeg(P, 4300.0, -1, 10.0, date(2024, 3, 15), 0.2)],
        "ES",
        4750.0,
        date(2023, 12, 15),
        0.05,
        50.0,
        1,
        S,
    )
    near = span_requirement(
        [MarginLeg(P, 4700.0, -1, 80.0, date(2024, 3, 15), 0.2)],
        "ES",
        4750.0,
        date(2023, 12, 15),
        0.05,
        50.0,
        1,
        S,
    )
    assert near.amount > far.amount
    spread = [
        MarginLeg(P, 4700.0, -1, 80.0, date(2024, 3, 15), 0.2),
        MarginLeg(P, 4690.0, +1, 76.0, date(2024, 3, 15), 0.2),
    ]
    capped = span_requirement(spread, "ES", 4750.0, date(2023, 12, 15), 0.05, 50.0, 1, S)
    assert capped.amount <= (10.0 - 4.0) * 50.0 + 1e-9


def test_span_refuses_unknown_roots_and_missing_vols() -> None:
    with pytest.raises(ValueError, match="span_initial_margin"):
        span_requirement([MarginLeg(P, 1.0, -1, 0.1, EXP, 0.2)], "ZZ", 2.0, date(2023, 12, 1), 0.05, 1.0, 1, S)
    with pytest.raises(ValueError, match="implied volatility"):
        span_requirement([MarginLeg(P, 4300.0, -1, 10.0, EXP)], "ES", 4750.0, date(2023, 12, 1), 0.05, 50.0, 1, S)


# ------------------------------------------------------------------------------------ SPAN, by an independent hand


def span_by_hand(
    legs: list[tuple[Right, float, int, float]], future: float, days: int, rate: float, initial: float, mult: float
) -> tuple[float, str]:
    """CME's standard SPAN arrays as core/margin's docstring states them, priced with QuantLib's Black formula
    (an implementation independent of core/pricing): the future moved by 0, ±1/3, ±2/3 and ±3/3 of the scan
    range (initial margin / multiplier), each with volatility up and down by 4 points; and ±2 scan ranges with
    volatility unchanged, of which 35% counts. The requirement is the worst loss, at least 10% of the initial
    margin per short option."""
    import QuantLib as ql

    t = days / 365.0
    discount = math.exp(-rate * t)
    scan = initial / mult

    def value(f: float, vol_shift: float) -> float:
        total = 0.0
        for right, strike, ratio, iv in legs:
            kind = ql.Option.Call if right is C else ql.Option.Put
            total += ratio * ql.blackFormula(kind, strike, f, max(iv + vol_shift, 1e-4) * math.sqrt(t), discount)
        return total

    now = value(future, 0.0)
    scenarios = [(k * scan, v, 1.0) for k in (0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0) for v in (0.04, -0.04)]
    scenarios += [(2.0 * scan, 0.0, 0.35), (-2.0 * scan, 0.0, 0.35)]
    worst = max(max(-(value(future + move, vol) - now) * weight for move, vol, weight in scenarios), 0.0) * mult
    floor = 0.10 * initial * sum(-ratio for _, _, ratio, _ in legs if ratio < 0)
    return (worst, "SPAN-style scenarios") if worst >= floor else (floor, "SPAN short-option minimum")


@pytest.mark.parametrize(
    "legs",
    [
        [(P, 4200.0, -1, 0.22), (C, 5100.0, -1, 0.14)],  # the short strangle
        [(P, 4700.0, -1, 0.20)],  # a short put near the money
        [(C, 4800.0, -2, 0.15), (C, 4900.0, +1, 0.14)],  # a call ratio: one naked call
        [(P, 3000.0, -1, 0.35)],  # far out of the money: the short-option minimum
        [(P, 4350.0, -1, 0.08)],  # calm, out of the money: a range down, vol up (42.5) beats the extreme (38.7)
        [(C, 4750.0, +2, 0.20), (P, 4300.0, -1, 0.20)],  # long vega, a naked put: vol down can hurt
    ],
)
def test_span_matches_an_independent_pricing_of_the_sixteen_scenarios(
    legs: list[tuple[Right, float, int, float]],
) -> None:
    today, expiry = date(2023, 12, 15), date(2024, 3, 15)
    margin_legs = [MarginLeg(r, k, q, 1.0, expiry, iv) for r, k, q, iv in legs]
    got = span_requirement(margin_legs, "ES", 4750.0, today, 0.05, 50.0, 1, S)
    amount, method = span_by_hand(legs, 4750.0, (expiry - today).days, 0.05, 11_880.0, 50.0)
    assert got.method == method
    assert got.amount == pytest.approx(amount, rel=1e-9)
    three = span_requirement(margin_legs, "ES", 4750.0, today, 0.05, 50.0, 3, S)
    assert three.amount == pytest.approx(3 * amount, rel=1e-9)


def test_span_of_a_fully_covered_spread_is_capped_at_its_defined_risk() -> None:
    """A 4700/4690 put spread sold for 4.00 (80 − 76) loses at most (10 − 4) × 50 = 300, less than what the
    scenarios (or the short-option minimum of 1,188) would ask: the cap is the requirement."""
    today, expiry = date(2023, 12, 15), date(2024, 3, 15)
    spread = [MarginLeg(P, 4700.0, -1, 80.0, expiry, 0.20), MarginLeg(P, 4690.0, +1, 76.0, expiry, 0.20)]
    got = span_requirement(spread, "ES", 4750.0, today, 0.05, 50.0, 1, S)
    by_hand, _ = span_by_hand([(P, 4700.0, -1, 0.20), (P, 4690.0, 1, 0.20)], 4750.0, 91, 0.05, 11_880.0, 50.0)
    assert by_hand > 300.0
    assert got.method == "defined risk" and got.amount == pytest.approx(300.0)
    two = span_requirement(spread, "ES", 4750.0, today, 0.05, 50.0, 2, S)
    assert two.amount == pytest.approx(600.0)


# ------------------------------------------------------------------------------------ covered and naked, leg by leg


def test_the_split_keeps_each_legs_fields_and_leaves_the_farthest_out_of_the_money_naked() -> None:
    """A put ratio (long 95, short 2 × 100) and a call ladder (short 105, long 110, short 120). Per right the
    shorts in excess of the longs are naked, the farthest out of the money first: one of the two 100 puts,
    and the 120 call (not the 105). A leg split in two keeps its premium, expiry and volatility."""
    legs = [
        MarginLeg(P, 95.0, +1, 1.0, EXP, 0.25),
        MarginLeg(P, 100.0, -2, 2.5, EXP, 0.22),
        MarginLeg(C, 105.0, -1, 2.0, EXP, 0.20),
        MarginLeg(C, 110.0, +1, 1.0, EXP, 0.21),
        MarginLeg(C, 120.0, -1, 0.3, EXP, 0.24),
    ]
    covered, naked = split_naked(legs)
    by_strike = sorted(covered, key=lambda leg: leg.strike)
    assert by_strike == [
        MarginLeg(P, 95.0, +1, 1.0, EXP, 0.25),
        MarginLeg(P, 100.0, -1, 2.5, EXP, 0.22),
        MarginLeg(C, 105.0, -1, 2.0, EXP, 0.20),
        MarginLeg(C, 110.0, +1, 1.0, EXP, 0.21),
    ]
    assert sorted(naked, key=lambda leg: leg.strike) == [
        MarginLeg(P, 100.0, -1, 2.5, EXP, 0.22),
        MarginLeg(C, 120.0, -1, 0.3, EXP, 0.24),
    ]


def test_a_call_ladder_is_charged_its_spread_and_the_highest_call_naked() -> None:
    # Stock at 100. Covered: short 105 / long 110 calls for a 1.00 credit, risk 5 − 1 = 4. Naked: the 120 call,
    # max(0.20 × 100 − 20 OTM, 0.10 × 100) + 0.30 = 10.30. Per contract (×100): 1,430.
    legs = [MarginLeg(C, 105.0, -1, 2.0, EXP), MarginLeg(C, 110.0, +1, 1.0, EXP), MarginLeg(C, 120.0, -1, 0.3, EXP)]
    req = option_requirement(legs, 100.0, 100.0, 1, False, S)
    assert req.amount == pytest.approx(1_430.0) and req.method == "defined risk + naked"


def test_a_long_option_risks_its_premium() -> None:
    # Nothing is lost beyond what was paid, whether it expires worthless or not.
    assert defined_risk([MarginLeg(C, 100.0, +1, 3.0, EXP)]) == pytest.approx(3.0)
    assert defined_risk([MarginLeg(P, 100.0, +1, 2.0, EXP)]) == pytest.approx(2.0)


def test_naked_options_in_the_money_have_no_out_of_the_money_amount() -> None:
    # Stock at 500. A short 480 call 20 in the money at 25: max(0.20 × 500 − 0, 0.10 × 500) + 25 = 125 a share.
    call = option_requirement([MarginLeg(C, 480.0, -1, 25.0, EXP)], 500.0, 100.0, 1, False, S)
    assert call.amount == pytest.approx(12_500.0)
    # A short 520 put 20 in the money at 25: max(0.20 × 500 − 0, 0.10 × 520) + 25 = 125 a share.
    put = option_requirement([MarginLeg(P, 520.0, -1, 25.0, EXP)], 500.0, 100.0, 1, False, S)
    assert put.amount == pytest.approx(12_500.0)


def test_a_strangle_of_two_strikes_a_side_sums_each_sides_legs() -> None:
    """GLD at 180, one expiry, every leg naked:
    - puts: 165 at 0.80: max(36 − 15, 16.5) + 0.80 = 21.80; 160 at 0.50: max(36 − 20, 16) + 0.50 = 16.50;
      side 38.30, premium 1.30;
    - calls: 195 at 0.60: max(36 − 15, 18) + 0.60 = 21.60; 200 at 0.40: max(36 − 20, 18) + 0.40 = 18.40;
      side 40.00, premium 1.00.
    The calls' side is larger: 40.00 + the puts' 1.30 = 41.30 a share, 4,130."""
    legs = [
        MarginLeg(P, 165.0, -1, 0.80, EXP),
        MarginLeg(P, 160.0, -1, 0.50, EXP),
        MarginLeg(C, 195.0, -1, 0.60, EXP),
        MarginLeg(C, 200.0, -1, 0.40, EXP),
    ]
    assert option_requirement(legs, 180.0, 100.0, 1, False, S).amount == pytest.approx(4_130.0)


# ------------------------------------------------------------------------------------ SPAN's edges


@pytest.mark.parametrize("iv", [0.0, -0.2, math.inf])
def test_span_refuses_a_volatility_that_is_not_positive_and_finite(iv: float) -> None:
    with pytest.raises(ValueError, match=r"^ES: every future option leg needs a positive implied volatility for SPAN$"):
        span_requirement([MarginLeg(P, 4300.0, -1, 10.0, EXP, iv)], "ES", 4750.0, date(2023, 12, 1), 0.05, 50.0, 1, S)


def test_span_on_expiry_day_prices_the_scenarios_at_intrinsic_value() -> None:
    """A short 4700 put on ES at 4750 on its expiry day (no time value, so the volatility shifts change
    nothing). Scan range 11,880 / 50 = 237.6: the future down a full range, 4512.4, puts the put 187.6 in the
    money; down two ranges, 4274.8, 425.2 × 35% = 148.82 counts. Worst 187.6 × 50 = 9,380 (over the 1,188
    minimum)."""
    expiry = date(2024, 3, 15)
    req = span_requirement([MarginLeg(P, 4700.0, -1, 0.0, expiry, 0.2)], "ES", 4750.0, expiry, 0.05, 50.0, 1, S)
    assert req.amount == pytest.approx(187.6 * 50.0, rel=1e-12) and req.method == "SPAN-style scenarios"


def test_span_lets_a_future_fall_to_zero_and_no_further() -> None:
    """CL at 5.00 (April 2020), scan range 6,000 / 1,000 = 6.00: the full move down would take the future to
    −1.00; it is priced at (almost) zero, where a short 5 put on its last day is worth 5.00: 5,000 a contract."""
    expiry = date(2020, 4, 16)
    req = span_requirement([MarginLeg(P, 5.0, -1, 0.0, expiry, 0.8)], "CL", 5.0, expiry, 0.01, 1_000.0, 1, S)
    assert req.amount == pytest.approx(5_000.0, rel=1e-9) and req.method == "SPAN-style scenarios"


def test_span_of_a_long_option_no_scenario_can_hurt_is_zero() -> None:
    """A long 4000 put bought for 0.05 on its last day, ES at 4750: even two scan ranges down (4274.8) leave it
    out of the money, so no scenario loses; there is no short to set a minimum. The requirement is 0 by the
    scenarios (not the 2.50 it cost, the defined risk)."""
    expiry = date(2024, 3, 15)
    req = span_requirement([MarginLeg(P, 4000.0, +1, 0.05, expiry, 0.2)], "ES", 4750.0, expiry, 0.05, 50.0, 1, S)
    assert req.amount == 0.0 and req.method == "SPAN-style scenarios"
    assert math.copysign(1.0, req.amount) == 1.0  # 0, not -0 (a report would print "-0")


def test_span_equal_to_the_defined_risk_keeps_the_scenarios_name() -> None:
    """A 4700/4600 put spread worth nothing on its last day, ES at 4750, bought and sold at 0: down a full
    range (4512.4) it loses its whole width, 100 × 50 = 5,000, which is also its defined risk. The cap only
    replaces the scenarios when it is lower."""
    expiry = date(2024, 3, 15)
    legs = [MarginLeg(P, 4700.0, -1, 0.0, expiry, 0.2), MarginLeg(P, 4600.0, +1, 0.0, expiry, 0.2)]
    req = span_requirement(legs, "ES", 4750.0, expiry, 0.05, 50.0, 1, S)
    assert req.amount == pytest.approx(5_000.0) and req.method == "SPAN-style scenarios"


def test_span_counts_35_percent_of_the_extreme_move_down() -> None:
    """A short 4350 put on its last day, ES at 4750 (scan range 237.6). One range down, 4512.4, it is still out
    of the money; two ranges down, 4274.8, it is 75.2 in the money, of which 35% counts: 26.32 × 50 = 1,316,
    over the 1,188 minimum."""
    expiry = date(2024, 3, 15)
    req = span_requirement([MarginLeg(P, 4350.0, -1, 0.0, expiry, 0.2)], "ES", 4750.0, expiry, 0.05, 50.0, 1, S)
    assert req.amount == pytest.approx(1_316.0, rel=1e-12) and req.method == "SPAN-style scenarios"
