"""Intraday paths drawn from the law of a random walk given the day's open, high, low and close.

A day's path, minute by minute from the open (minute 0) to the close (minute n), in log price:
- it starts at the open, reaches the day's two extremes at the minutes `day_shape` draws (the order of high
  and low a coin toss, each time by Lévy's arcsine law), and ends at the close;
- between those four anchors it is a Brownian bridge: a random walk pinned at both ends of each segment,
  with the day's own variance (Parkinson's range estimate, (ln(H/L))² / (4 ln 2): Parkinson, "The Extreme
  Value Method for Estimating the Variance of the Rate of Return", Journal of Business 53(1), 1980);
- it is folded back into the day's range at its edges (reflection: the law of a walk that may not cross a
  level is the reflected walk's), so it never prints beyond the day's high or low and meets them where drawn.

A straight line through the four anchors (what the model drew before) made every morning lean toward the
afternoon's extreme with no noise at all: a 0DTE's stop or target read at 10:30 knew which way the day went.

VIX runs through its own open, high, low and close with its extremes at the index's opposite extremes (its
high when the index makes its low), its noise correlated with the index's at `SPOT_VOL_CORRELATION`. Crude
(WTI has closes only) runs from the previous close to the day's close as a bridge in price, not log price
(WTI closed at −36.98 on 2020-04-20), with the variance of its 20-day realised volatility.

Every draw comes from a generator seeded by (seed, day, stream): a day's path never depends on another day's
prices, so cutting the histories at a date changes no path before it (`--history-until`).
"""

from __future__ import annotations

import math
import random
from datetime import date

import numpy as np

from core.model import FloatArray

# Daily log changes of SPY and VIX closes, 1998-01-02 to 2021-03-31, correlate at −0.73 (measured on the
# shipped histories, replay/history); intraday noise uses the same figure.
SPOT_VOL_CORRELATION = -0.73
# Daily log changes of QQQ and IWM against SPY over the same years: 0.83 and 0.90 (measured likewise).
INDEX_CORRELATION = {"QQQ": 0.83, "IWM": 0.90}
STREAMS = {"SPX": 0, "QQQ": 1, "IWM": 2, "VIX": 3, "CL": 4}
PARKINSON = 4.0 * math.log(2.0)


def day_shape(rng: random.Random) -> tuple[bool, float, float]:
    """(high first?, hour of the first extreme, hour of the second) for one day's path. Each extreme's time
    follows Lévy's arcsine law, the law of the time of a Brownian motion's maximum over an interval: most
    often near the open or the close, seldom at midday. (Fixed at 11:00 and 13:30 they made the path run
    straight from the open to 11:00, so the 0DTE's 10:00 read of the move always held until after its 10:30
    entry.)"""
    high_first = rng.random() < 0.5
    a, b = (9.5 + 6.5 * math.sin(math.pi * rng.random() / 2) ** 2 for _ in range(2))
    first, second = sorted((a, b))
    minute = 1.0 / 60.0
    first = min(max(first, 9.5 + minute), 16.0 - 2 * minute)
    second = min(max(second, first + minute), 16.0 - minute)
    return high_first, first, second


def extreme_minutes(shape: tuple[bool, float, float], minutes: int) -> tuple[int, int]:
    """The shape's two extreme hours (drawn on a 6.5-hour session) as minutes of a session `minutes` long,
    each at the same share of it, at least a minute apart and inside it."""
    _, first, second = shape
    m1 = min(max(round((first - 9.5) / 6.5 * minutes), 1), minutes - 2)
    m2 = min(max(round((second - 9.5) / 6.5 * minutes), m1 + 1), minutes - 1)
    return m1, m2


def normals(seed: int, day: date, stream: str, minutes: int) -> FloatArray:
    """`minutes` standard normal draws of one stream on one day."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, day.toordinal(), STREAMS[stream]])
    return rng.standard_normal(minutes)


def correlated(base: FloatArray, own: FloatArray, rho: float) -> FloatArray:
    out: FloatArray = rho * base + math.sqrt(1.0 - rho * rho) * own
    return out


def bridge(
    times: list[int], values: list[float], sigma: float, z: FloatArray, bounds: tuple[float, float] | None
) -> FloatArray:
    """Values at minutes 0..times[-1]: a random walk of per-minute deviation `sigma` driven by `z`, pinned at
    each (time, value) anchor (the walk minus its own straight line between anchors, plus the anchors' line),
    folded into `bounds` when given."""
    n = times[-1]
    walk = np.concatenate(([0.0], np.cumsum(z[:n])))
    t = np.arange(n + 1, dtype=np.float64)
    pinned = walk - np.interp(t, times, walk[times])
    x: FloatArray = np.interp(t, times, values) + sigma * pinned
    if bounds is not None:
        low, high = bounds
        width = high - low
        if width > 0:
            y = np.mod(x - low, 2.0 * width)
            x = low + np.where(y > width, 2.0 * width - y, y)
        else:
            x = np.full_like(x, low)
    return x


def ohlc_path(
    o: float, h: float, lo: float, c: float, minutes: int, shape: tuple[bool, float, float], z: FloatArray
) -> FloatArray:
    """A day's price path from its bars (module docstring); the day's bars are made consistent first (a
    source's open or close outside its own high and low widens the range)."""
    h, lo = max(h, o, c), min(lo, o, c)
    if lo <= 0:
        raise ValueError(f"ohlc_path needs positive prices, got low {lo}")
    high_first = shape[0]
    m1, m2 = extreme_minutes(shape, minutes)
    first, second = (h, lo) if high_first else (lo, h)
    logs = [math.log(o), math.log(first), math.log(second), math.log(c)]
    sigma = math.log(h / lo) / math.sqrt(PARKINSON * minutes)
    return np.exp(bridge([0, m1, m2, minutes], logs, sigma, z, (math.log(lo), math.log(h))))


def close_to_close_path(previous: float, close: float, daily_vol: float, minutes: int, z: FloatArray) -> FloatArray:
    """A close-only series' day (crude): from the previous close at the open to the day's close, in price
    units, with a per-minute deviation of `daily_vol` (a share of the previous close) spread over the day."""
    sigma = abs(previous) * daily_vol / math.sqrt(minutes)
    return bridge([0, minutes], [previous, close], sigma, z, None)
