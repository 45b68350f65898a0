"""Greeks for a chain whose quotes carry none: LEAN's are zero until its price model is warmed up, and
some data (the LEAN sample minute quotes) has quotes only. Never trust a zero delta (REFERENCE.md).

`with_model_greeks` solves the implied volatility of each usable quote's mid and fills iv, delta, gamma,
vega and theta from core/pricing wherever the chain's own delta is missing or exactly zero; rows it cannot
fill (flagged quotes, prices no volatility fits) keep NaN, and the report says how many and why.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np

from core import pricing
from core.model import _EPOCH_ORDINAL, Chain
from core.products import AssetKind, product
from core.timeutil import elapsed

NEW_YORK = ZoneInfo("America/New_York")


class PricingModel(StrEnum):
    SPOT = "black_scholes"  # options on a stock, ETF or index level (dividend yield q)
    FUTURE = "black76"  # options on a future: the chain's underlying price is the future's


@dataclass(frozen=True, slots=True)
class GreeksReport:
    filled: int
    kept: int  # rows whose own Greeks were usable
    statuses: dict[str, int]  # IV statuses of the rows it tried to fill


def years_to_expiry(chain: Chain, expiry_time: time, tz: ZoneInfo = NEW_YORK) -> pricing.FloatArray:
    """Year fraction from the chain's time to each row's expiry at `expiry_time` in `tz` (16:00 New York
    for PM-settled options, 09:30 for AM-settled SPX monthlies and ES quarterlies). Computed per distinct
    expiry with aware datetimes, so a DST change between now and expiry costs nothing: on a 0DTE option an
    hour is a fifth of its life."""
    days, inverse = np.unique(chain.expiry, return_inverse=True)
    expiries = (datetime.combine(date.fromordinal(int(d) + _EPOCH_ORDINAL), expiry_time, tzinfo=tz) for d in days)
    seconds = np.array([elapsed(chain.time, e).total_seconds() for e in expiries])  # real time, across DST
    years: pricing.FloatArray = np.maximum(seconds[inverse], 0.0) / pricing.SECONDS_PER_YEAR
    return years


def with_model_greeks(
    chain: Chain,
    model: PricingModel,
    rate: float,
    dividend_yield: float,
    expiry_time: time,
) -> tuple[Chain, GreeksReport]:
    """The chain with model Greeks where its own are missing or zero, and a report of what was done."""
    own = np.isfinite(chain.delta) & (chain.delta != 0.0)
    todo = chain.usable & ~own
    if not todo.any():
        return chain, GreeksReport(0, int(own.sum()), {})
    idx = np.flatnonzero(todo)
    t = years_to_expiry(chain, expiry_time)[idx]
    mid = chain.mid[idx]
    strike = chain.strike[idx]
    call = chain.is_call[idx]
    if model is PricingModel.SPOT:
        implied, greeks = pricing.bs_iv_and_greeks(mid, chain.underlying_price, strike, t, rate, dividend_yield, call)
    else:
        implied, greeks = pricing.black76_iv_and_greeks(mid, chain.underlying_price, strike, t, rate, call)
    columns = {}
    for name, values in (
        ("iv", implied.iv),
        ("delta", greeks.delta),
        ("gamma", greeks.gamma),
        ("vega", greeks.vega),
        ("theta", greeks.theta),
    ):
        column = getattr(chain, name).copy()
        column[idx] = values
        columns[name] = column
    filled = int(np.count_nonzero(implied.status == pricing.IVStatus.OK))
    report = GreeksReport(filled, int(own.sum()), implied.counts())
    return dataclasses.replace(chain, **columns), report


def ensure_greeks(chain: Chain, rate: float, dividend_yield: float, expiry_time: time = time(16, 0)) -> Chain:
    """The chain itself when (nearly) every usable quote carries a delta, otherwise the chain with model
    Greeks where they are missing: LEAN's are zero during warm-up and some data has none. Options on futures
    are priced with Black-76, the rest with Black-Scholes-Merton at the underlying's continuous
    `dividend_yield` (Settings.yield_of: without it a one-year SPY call at the money reads 0.64 for 0.59).

    The models are European, and SPY's, QQQ's and the futures' options are American. A European volatility
    solved from an American price and its European delta differ from the American delta (Cox-Ross-Rubinstein
    tree, σ 20%; tests/test_chain_greeks pins each figure) by at most: 0.001 for the strangles' 6-delta
    puts at 90 days, 0.005 for LT112's 25-delta long put at 120 days (0.001 for its 5-delta naked puts),
    0.002 for a 30-delta put at 21 days (the 21-DTE defence), 0.004 for the ladder's 13-delta puts at a year
    and 0.006 at 540 days, all at a 4.5% rate with a 1.5% yield; the European delta is the smaller, so a put
    chosen by delta sits a little further out. The IPMCC's 80-delta LEAP call is exact at a 4.5% rate, but
    with the yield above the rate (2019-2021: 1%) early exercise is worth something and the European delta
    reads up to 0.025 low: the LEAP chosen in a 0.70-0.90 band may be one strike deeper. Black-76 deltas of
    futures options are within 0.001. A continuous yield also spreads a discrete dividend evenly, so a
    call's delta just before an ex-date is the least exact figure here: the assignment check uses the
    dividend's amount, not this delta."""
    usable = chain.usable
    if not usable.any():
        return chain
    has = np.isfinite(chain.delta) & (chain.delta != 0.0) & usable
    if has.sum() >= 0.9 * usable.sum():
        return chain
    model = PricingModel.FUTURE if product(chain.root).kind is AssetKind.FUTURE else PricingModel.SPOT
    filled, _ = with_model_greeks(
        chain, model, rate, dividend_yield if model is PricingModel.SPOT else 0.0, expiry_time
    )
    return filled
