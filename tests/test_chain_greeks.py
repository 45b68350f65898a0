"""core/chain_greeks: zero (warm-up) and missing Greeks are filled from the quotes; bad rows stay empty."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core import pricing
from core.chain_greeks import PricingModel, with_model_greeks, years_to_expiry
from core.model import Chain, ChainRow, Right

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
