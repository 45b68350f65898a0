"""What a trader reads first about a run (issue 17): return and risk statistics of the daily net liq, the
closed trades' profit factor and expectancy, SPY bought and held over the same sessions, and a table of years.
Pure functions over the run's (session, net liq) list and its closed trades; empyrical-reloaded computes the
return statistics (a development-only library: nothing LEAN runs imports this module).

Conventions (report.md repeats them under its tables):
- Daily returns, one per session: net liq at its close over the one before, the starting capital standing
  before the first session (n sessions give n returns). 252 sessions a year; risk-free rate 0.
- cagr, volatility: fractions (0.12 is 12%). cagr = (final / capital) ** (252 / returns) - 1; volatility = the
  sample standard deviation of the daily returns × √252; sharpe = their mean over that deviation × √252;
  sortino = mean × 252 over the downside deviation below 0 (root mean square of the losing days' returns,
  every day counted in the mean) × √252; calmar = cagr / max drawdown. These need two returns or more.
- max_drawdown_pct: the largest fall of net liq below its running peak (the capital included), in percent,
  given as a positive number.
- max_drawdown_days: the longest time under water, in calendar days, from the session of a peak to the first
  session back at or above it, or to the last session when it never gets back; the capital is a peak dated on
  the first session.
- worst_day_pct: the lowest daily return, in percent (negative on a losing day).
- profit_factor: gross wins / gross losses of the closed trades; expectancy: mean P&L per closed trade. Both
  BEFORE fees: a closed trade's record carries its P&L before fees, and the replay's broker counts fees per
  strategy, not per trade. Each close record is a trade here (a part of an LT112 or a strangle closed early
  too), where the strategy table counts whole positions.
An undefined figure (no trades, no losing trade, too few sessions, returns that never vary) is None, JSON
null, never NaN or infinity.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from itertools import groupby
from typing import Protocol, TypeAlias

import empyrical
import numpy as np

from core.calendar import NEW_YORK
from core.model import FloatArray

SESSIONS_PER_YEAR = 252
BENCHMARK_NAME = "SPY buy and hold"
BENCHMARK_PRICES = "price only: raw daily closes, no dividends; bought at the first session's close"

Figure: TypeAlias = float | int | None  # a figure of summary.json; None where undefined


class Close(Protocol):
    """What the statistics read of a closed trade (core.pipeline.ClosedTrade has it)."""

    @property
    def time(self) -> datetime: ...

    @property
    def pnl(self) -> float: ...  # USD, before fees


def daily_returns(values: Sequence[float], starting: float) -> FloatArray:
    """One return per value: each over the one before it, the first over `starting`."""
    levels = np.array([starting, *values], dtype=np.float64)
    returns: FloatArray = levels[1:] / levels[:-1] - 1.0
    return returns


def _finite(value: float, digits: int) -> float | None:
    """The library answers NaN or infinity where a figure is undefined; JSON gets None instead."""
    number = float(value)
    return round(number, digits) + 0.0 if math.isfinite(number) else None  # + 0.0: no "-0.0" in the JSON


def return_figures(returns: FloatArray) -> dict[str, Figure]:
    """cagr, volatility, sharpe, sortino and calmar (two returns or more), max_drawdown_pct and worst_day_pct
    (one or more), by the module's conventions."""
    out: dict[str, Figure] = dict.fromkeys(
        ("cagr", "volatility", "sharpe", "sortino", "calmar", "max_drawdown_pct", "worst_day_pct")
    )
    if len(returns) == 0:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):  # undefined figures come back as NaN or inf
        out["max_drawdown_pct"] = _finite(-100.0 * empyrical.max_drawdown(returns), 2)
        out["worst_day_pct"] = _finite(100.0 * float(np.min(returns)), 2)
        if len(returns) < 2:  # one day says nothing about a year or about variation
            return out
        yearly = SESSIONS_PER_YEAR
        out["cagr"] = _finite(empyrical.cagr(returns, annualization=yearly), 4)
        out["volatility"] = _finite(empyrical.annual_volatility(returns, annualization=yearly), 4)
        out["sharpe"] = _finite(empyrical.sharpe_ratio(returns, risk_free=0.0, annualization=yearly), 4)
        out["sortino"] = _finite(empyrical.sortino_ratio(returns, required_return=0.0, annualization=yearly), 4)
        out["calmar"] = _finite(empyrical.calmar_ratio(returns, annualization=yearly), 4)
    return out


def longest_drawdown_days(equity: Sequence[tuple[date, float]], capital: float) -> int | None:
    """The longest peak-to-recovery span in calendar days, a drawdown never recovered counting to the last
    session; 0 when net liq never fell below a peak, None without sessions."""
    if not equity:
        return None
    peak, peak_day = capital, equity[0][0]
    under, longest = False, 0
    for day, value in equity:
        if value >= peak:
            if under:
                longest = max(longest, (day - peak_day).days)
            peak, peak_day, under = value, day, False
        else:
            under = True
    if under:
        longest = max(longest, (equity[-1][0] - peak_day).days)
    return longest


def trade_figures(pnls: Sequence[float]) -> dict[str, Figure]:
    """profit_factor (None without a losing trade) and expectancy (None without a trade), before fees."""
    wins = sum(p for p in pnls if p > 0)
    losses = -sum(p for p in pnls if p < 0)
    return {
        "profit_factor": round(wins / losses, 4) if losses > 0 else None,
        "expectancy": round(sum(pnls) / len(pnls), 2) if pnls else None,
    }


def run_statistics(equity: Sequence[tuple[date, float]], capital: float, trades: Sequence[Close]) -> dict[str, Figure]:
    """summary.json's `statistics`: the run's daily net liq and its closed trades, by the module's conventions."""
    figures = return_figures(daily_returns([v for _, v in equity], capital))
    figures["max_drawdown_days"] = longest_drawdown_days(equity, capital)
    figures.update(trade_figures([t.pnl for t in trades]))
    return figures


def benchmark(closes: Sequence[tuple[date, float]] | None, sessions: Sequence[date]) -> dict[str, str | Figure]:
    """summary.json's `benchmark`: SPY bought at the first session's close and held to the last, on the run's
    sessions only; its figures None, and `why` says so, when the market gives no closes."""
    out: dict[str, str | Figure] = {
        "name": BENCHMARK_NAME,
        "prices": BENCHMARK_PRICES,
        "cagr": None,
        "max_drawdown_pct": None,
        "sharpe": None,
        "why": None,
    }
    if closes is None:
        out["why"] = "this market gives no SPY daily closes (the LEAN-folder source has no benchmark yet)"
        return out
    held = set(sessions)
    prices = [price for day, price in closes if day in held]
    if len(prices) < 2:
        out["why"] = f"{len(prices)} SPY close(s) on the run's sessions: no daily return to measure"
        return out
    figures = return_figures(daily_returns(prices[1:], prices[0]))
    for name in ("cagr", "max_drawdown_pct", "sharpe"):
        out[name] = figures[name]
    return out


def years(
    equity: Sequence[tuple[date, float]], capital: float, trades: Sequence[Close]
) -> dict[str, dict[str, Figure]]:
    """summary.json's `years`: per calendar year the change of net liq from the previous year's last session
    (the capital for the first year), the largest drawdown inside the year (its peak starting from that
    opening value) and the trades closed in it (by New York date)."""
    closed = Counter(t.time.astimezone(NEW_YORK).year for t in trades)
    out: dict[str, dict[str, Figure]] = {}
    opening = capital
    for year, rows in groupby(equity, key=lambda row: row[0].year):
        values = [v for _, v in rows]
        drawdown = return_figures(daily_returns(values, opening))["max_drawdown_pct"]
        out[str(year)] = {"pnl": round(values[-1] - opening, 2), "max_drawdown_pct": drawdown, "trades": closed[year]}
        opening = values[-1]
    for year in closed.keys() - {int(y) for y in out}:  # a close outside every session (none in a replay)
        out[str(year)] = {"pnl": 0.0, "max_drawdown_pct": None, "trades": closed[year]}
    return dict(sorted(out.items()))
