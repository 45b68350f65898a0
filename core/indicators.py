"""Indicators the strategies read from daily history: ATR, EMA, realised volatility, IV rank, range.
Vectorised, pure, and explicit about what they stand on (an IV rank built from too little history says so)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from core.model import _EPOCH_ORDINAL, Chain, DailyBars, FloatArray

TRADING_DAYS = 252


def atr(bars: DailyBars, days: int) -> float | None:
    """Average true range over the last `days` sessions (simple mean), or None with too little history."""
    if len(bars.close) < days + 1:
        return None
    high, low, close = bars.high[-days:], bars.low[-days:], bars.close[-days - 1 : -1]
    true_range = np.maximum(high - low, np.maximum(np.abs(high - close), np.abs(low - close)))
    return float(true_range.mean())


def ema(values: FloatArray, span: int) -> float | None:
    """Exponential moving average with α = 2/(span+1), seeded with the first value; None with fewer than
    `span` values. (A few hundred daily closes: the plain recurrence is clear and fast enough.)"""
    if len(values) < span:
        return None
    alpha = 2.0 / (span + 1.0)
    out = float(values[0])
    for v in values[1:]:
        out = alpha * float(v) + (1.0 - alpha) * out
    return out


def realised_vol(closes: FloatArray, days: int) -> FloatArray:
    """Annualised close-to-close volatility over rolling windows of `days` returns (one value per window). A
    return from or to a price that is not positive (CL's −36.98 of 2020-04-20) does not exist: it is NaN, and
    so is every window that holds it."""
    before, after = closes[:-1], closes[1:]
    ok = (before > 0) & (after > 0)
    returns = np.full(len(after), np.nan)
    returns[ok] = np.log(after[ok] / before[ok])
    if len(returns) < days:
        return np.array([], dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(returns, days)
    vol: FloatArray = windows.std(axis=1, ddof=1) * np.sqrt(TRADING_DAYS)
    return vol


@dataclass(frozen=True, slots=True)
class Rank:
    value: float  # 0-100
    source: str  # what it was computed from, for the reason text


def iv_rank(iv_history: FloatArray | None, closes: FloatArray | None, rv_days: int = 20) -> Rank | None:
    """The 252-day rank of the latest ATM IV; until a year of IV is recorded, the rank of the 20-day
    realised volatility over the last year stands in (and says so). None without enough of either."""
    if iv_history is not None and len(iv_history) >= TRADING_DAYS:
        window = iv_history[-TRADING_DAYS:]
        return Rank(_rank(window), "252-day IV rank")
    if closes is not None:
        rv = realised_vol(closes, rv_days)
        if len(rv) >= 2 and np.isfinite(rv[-1]):  # a window across a price ≤ 0 has no volatility: no rank
            window = rv[-TRADING_DAYS:]
            window = window[np.isfinite(window)]
            return Rank(
                _rank(window), f"rank of {rv_days}-day realised vol over {len(window)} days (IV history too short)"
            )
    return None


def _rank(window: FloatArray) -> float:
    low, high = float(window.min()), float(window.max())
    return 0.0 if high == low else 100.0 * (float(window[-1]) - low) / (high - low)


def range_ratio(bars: DailyBars, days: int) -> float | None:
    """(highest high − lowest low) / last close over the last `days` sessions."""
    if len(bars.close) < days:
        return None
    return float((bars.high[-days:].max() - bars.low[-days:].min()) / bars.close[-1])


def at_52_week_high(bars: DailyBars) -> bool:
    """The last close is the highest close of the last 252 sessions."""
    closes = bars.close[-TRADING_DAYS:]
    return len(closes) > 0 and float(closes[-1]) >= float(closes.max())


def atm_iv(chain: Chain, today: date, target_days: int = 30) -> float | None:
    """The at-the-money implied volatility of the listed expiry nearest `target_days` out: the mean IV of
    the usable call and put at the strike nearest the underlying (one value a day builds the IV history the
    strangles' IV rank reads). None when the chain has no usable quote with a positive IV."""
    with np.errstate(invalid="ignore"):
        ok = chain.usable & np.isfinite(chain.iv) & (chain.iv > 0.0)
    if not ok.any() or not math.isfinite(chain.underlying_price):
        return None
    days = chain.expiry[ok] - (today.toordinal() - _EPOCH_ORDINAL)
    future = days[days >= 1]
    if future.size == 0:
        return None
    best = int(future[np.argmin(np.abs(future - target_days))])
    rows = np.flatnonzero(ok & (chain.expiry == today.toordinal() - _EPOCH_ORDINAL + best))
    distance = np.abs(chain.strike[rows] - chain.underlying_price)
    nearest = rows[distance == distance.min()]
    return float(chain.iv[nearest].mean())
