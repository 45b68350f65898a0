"""core/chain_greeks: zero (warm-up) and missing Greeks are filled from the quotes; bad rows stay empty."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from statistics import NormalDist
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core import pricing
from core.chain_greeks import PricingModel, ensure_greeks, with_model_greeks, years_to_expiry
from core.model import Chain, ChainRow, Right
from core.settings import Settings
from strategies.base import with_greeks

NY = ZoneInfo("America/New_York")
SPOT, RATE, Q = 4750.0, 0.05, 0.014


def test_0dte_time_left_is_exact_in_hours() -> None:
    now = datetime(2024, 3, 8, 10, 30, tzinfo=NY)
    chain = Chain.from_rows(
        "SPXW",
        SPOT,
        now,
        [
            ChainRow(date(2024, 3, 8), 4700.0, Right.PUT, 1.0, 1.1),
            ChainRow(date(2024, 3, 11), 4700.0, Right.PUT, 5.0, 5.2),
        ],
    )
    years = years_to_expiry(chain, time(16, 0))
    assert years[0] == pytest.approx(5.5 / (365 * 24))
    # Across the 2024-03-10 DST change Friday 10:30 → Monday 16:00 is 76.5 hours of real time, not 77.5.
    assert years[1] == pytest.approx(76.5 / (365 * 24))


def test_warm_up_zero_deltas_are_replaced_by_model_greeks() -> None:
    now = datetime(2024, 1, 5, 10, 30, tzinfo=NY)
    expiry = date(2024, 2, 16)
    strikes = np.arange(4500.0, 5000.0, 25.0)
    t = pricing.year_fraction(now, datetime.combine(expiry, time(16, 0), tzinfo=NY))
    true = pricing.bs_greeks(SPOT, strikes, t, 0.16, RATE, Q, False)
    rows = [
        ChainRow(expiry, float(k), Right.PUT, float(p) - 0.05, float(p) + 0.05, delta=0.0)
        for k, p in zip(strikes, true.price, strict=True)
    ]
    rows.append(ChainRow(expiry, 4400.0, Right.PUT, 2.0, 1.0, delta=0.0))  # crossed: stays empty
    chain, report = with_model_greeks(Chain.from_rows("SPX", SPOT, now, rows), PricingModel.SPOT, RATE, Q, time(16, 0))
    assert report.filled == len(strikes) and report.kept == 0
    assert np.allclose(chain.delta[:-1], true.delta, atol=1e-9)
    assert np.allclose(chain.iv[:-1], 0.16, atol=1e-9)
    assert np.isnan(chain.delta[-1]) or chain.delta[-1] == 0.0
    assert chain.flags[-1] != 0


def test_own_greeks_are_kept_and_future_options_use_black76() -> None:
    now = datetime(2020, 1, 6, 10, 0, tzinfo=NY)
    expiry = date(2020, 3, 20)
    t = pricing.year_fraction(now, datetime.combine(expiry, time(9, 30), tzinfo=NY))
    price = float(pricing.black76_price(3240.0, 3000.0, t, 0.18, 0.02, False))
    rows = [
        ChainRow(expiry, 3000.0, Right.PUT, price - 0.1, price + 0.1),
        ChainRow(expiry, 3100.0, Right.PUT, 20.0, 21.0, delta=-0.2),
    ]
    chain, report = with_model_greeks(
        Chain.from_rows("ES", 3240.0, now, rows), PricingModel.FUTURE, 0.02, 0.0, time(9, 30)
    )
    assert report.filled == 1 and report.kept == 1
    assert chain.iv[0] == pytest.approx(0.18, abs=1e-9)
    assert chain.delta[1] == -0.2


def test_fallback_greeks_price_a_dividend_payer_with_its_yield() -> None:
    """RULEBOOK "Greeks": a fallback delta uses the underlying's dividend yield (parameter dividend_yield).

    Worked by hand: SPY at 100, a one-year 100 call priced at σ 20%, r 4.5%, q 1.5% (SPY's default yield):
    d1 = (0.045 − 0.015 + 0.02) / 0.2 = 0.25, delta = e^−0.015 · N(0.25) = 0.98511 × 0.59871 = 0.58979.
    Solved without the yield the same price reads as a 0.64 delta: 5 points too much on every SPY call."""
    settings = Settings()
    assert settings.risk_free_rate == 0.045 and settings.yield_of("SPY") == 0.015
    now = datetime(2023, 1, 6, 16, 0, tzinfo=NY)
    expiry = date(2024, 1, 6)  # 365 days of real time: t = 1 exactly
    price = float(pricing.bs_price(100.0, 100.0, 1.0, 0.20, 0.045, 0.015, True))
    chain = Chain.from_rows("SPY", 100.0, now, [ChainRow(expiry, 100.0, Right.CALL, price - 0.01, price + 0.01)])
    filled = with_greeks(chain, settings)
    assert filled.delta[0] == pytest.approx(0.58979, abs=2e-4)
    assert filled.iv[0] == pytest.approx(0.20, abs=1e-3)
    assert ensure_greeks(chain, 0.045, 0.0).delta[0] > 0.63  # the old answer, for the record
    # An index option reads its index's yield (SPXW → SPX); a future option has none (Black-76).
    assert settings.yield_of("SPXW") == settings.dividend_yield["SPX"] and settings.yield_of("ES") == 0.0


def _american(s: float, k: float, t: float, r: float, q: float, sigma: float, call: bool) -> tuple[float, float]:
    """Price and delta of an American option on a Cox-Ross-Rubinstein (1979) binomial tree with 800 steps:
    the reference the European fallback is measured against (delta from the tree's first step)."""
    n = 800
    dt = t / n
    up = math.exp(sigma * math.sqrt(dt))
    p = (math.exp((r - q) * dt) - 1 / up) / (up - 1 / up)
    discount = math.exp(-r * dt)
    sign = 1.0 if call else -1.0
    values = np.maximum(sign * (s * up ** (n - 2.0 * np.arange(n + 1)) - k), 0.0)
    first = values
    for i in range(n - 1, -1, -1):
        spots = s * up ** (i - 2.0 * np.arange(i + 1))
        values = np.maximum(discount * (p * values[:-1] + (1 - p) * values[1:]), sign * (spots - k))
        if i == 1:
            first = values
    return float(values[0]), float((first[0] - first[1]) / (s * up - s / up))


@pytest.mark.parametrize(
    ("what", "delta", "days", "call", "rate", "q", "bound"),
    [
        ("strangle put", 0.06, 90, False, 0.045, 0.015, 0.001),
        ("LT112 long put", 0.25, 120, False, 0.045, 0.015, 0.005),
        ("LT112 naked put", 0.05, 120, False, 0.045, 0.015, 0.001),
        ("21-DTE threatened put", 0.30, 21, False, 0.045, 0.015, 0.002),
        ("ladder put", 0.13, 365, False, 0.045, 0.015, 0.004),
        ("ladder put, longest", 0.13, 540, False, 0.045, 0.015, 0.006),
        ("IPMCC LEAP call", 0.80, 365, True, 0.045, 0.015, 0.001),
        ("IPMCC LEAP call, yield above rate", 0.80, 365, True, 0.01, 0.015, 0.025),
    ],
)
def test_the_european_fallback_delta_is_within_its_documented_american_error(
    what: str, delta: float, days: int, call: bool, rate: float, q: float, bound: float
) -> None:
    """core/chain_greeks' docstring states how far a European delta solved from an American price lies from
    the American delta for what the strategies select (σ 20%): this pins each figure it states."""
    t = days / 365
    sign = 1.0 if call else -1.0
    d1 = sign * NormalDist().inv_cdf(delta * math.exp(q * t))
    strike = 100.0 * math.exp(-d1 * 0.2 * math.sqrt(t) + (rate - q + 0.02) * t)
    price, american_delta = _american(100.0, strike, t, rate, q, 0.20, call)
    solved = pricing.bs_implied_vol(price, 100.0, strike, t, rate, q, call)
    european = pricing.bs_greeks(100.0, strike, t, solved.iv, rate, q, call).delta
    error = abs(float(np.asarray(european).item()) - american_delta)
    assert error <= bound, (
        f"{what}: European {float(np.asarray(european).item()):+.4f} vs American {american_delta:+.4f}"
    )
