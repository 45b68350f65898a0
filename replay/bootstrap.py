"""Monte Carlo of a run's daily P&L: how bad the drawdown and the final net liq could have been with the same
days in another order.

A circular block bootstrap (Politis and Romano): each path is `n` days long, made of blocks of `block`
consecutive days of the run's P&L whose starts are drawn uniformly, wrapping from the last day to the first,
so every day is equally likely and streaks shorter than a block (a losing week, a volatility spike) stay
together. P&L is in dollars, added to the capital, as the account would have lived it; reproducible for a
seed (numpy's PCG64).

Figures over the paths:
- max_drawdown_pct: per path, the largest fall below the running peak (the capital included), in percent;
- p_drawdown_15, p_drawdown_20: the share of paths whose drawdown reached 15% and 20%, the RULEBOOK's steps
  (half size, then everything stops);
- cvar95_final_pnl: the mean final P&L of the worst 5% of paths (ceil(5% of the paths) of them), the
  expected outcome in the tail: negative is a loss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from core.model import FloatArray

IntArray = npt.NDArray[np.int64]
DRAWDOWN_STEPS = (15.0, 20.0)
TAIL = 0.05
PERCENTILES = (5, 25, 50, 75, 95)


def daily_pnl(equity: Sequence[float], capital: float) -> FloatArray:
    """Each session's change of net liq, the first from the capital."""
    levels = np.array([capital, *equity], dtype=np.float64)
    return np.diff(levels)


def block_indices(n: int, block: int, paths: int, rng: np.random.Generator) -> IntArray:
    """`paths` rows of `n` day indices: blocks of `block` consecutive days (circular), starts uniform."""
    if n < 1 or block < 1 or paths < 1:
        raise ValueError("a bootstrap needs at least one day, a block of one day or more and one path")
    blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(paths, blocks))
    offsets = np.arange(block)
    days: IntArray = ((starts[:, :, None] + offsets[None, None, :]) % n).reshape(paths, blocks * block)[:, :n]
    return days


def path_figures(pnl_paths: FloatArray, capital: float) -> tuple[FloatArray, FloatArray]:
    """Each path's final net liq and max drawdown in percent."""
    equity = capital + np.cumsum(pnl_paths, axis=1)
    with_start = np.concatenate([np.full((equity.shape[0], 1), capital), equity], axis=1)
    peaks = np.maximum.accumulate(with_start, axis=1)[:, 1:]
    drawdown = 100.0 * np.max(1.0 - equity / peaks, axis=1)
    return equity[:, -1], np.maximum(drawdown, 0.0)


@dataclass(frozen=True)
class MonteCarlo:
    capital: float
    block: int
    seed: int
    days: int
    final_net_liq: FloatArray
    max_drawdown_pct: FloatArray

    def figures(self) -> dict[str, Any]:
        final_pnl = np.sort(self.final_net_liq - self.capital)
        tail = max(1, math.ceil(TAIL * len(final_pnl)))
        out: dict[str, Any] = {
            "paths": len(final_pnl),
            "days": self.days,
            "block": self.block,
            "seed": self.seed,
            "capital": self.capital,
        }
        for name, values in (("final_net_liq", self.final_net_liq), ("max_drawdown_pct", self.max_drawdown_pct)):
            out[name] = {f"p{q}": round(float(np.percentile(values, q)), 2) for q in PERCENTILES}
        for step in DRAWDOWN_STEPS:
            out[f"p_drawdown_{step:.0f}"] = round(float(np.mean(self.max_drawdown_pct >= step)), 4)
        out["cvar95_final_pnl"] = round(float(np.mean(final_pnl[:tail])), 2)
        return out


def bootstrap(pnl: FloatArray, capital: float, paths: int, block: int, seed: int) -> MonteCarlo:
    rng = np.random.Generator(np.random.PCG64(seed))
    days = block_indices(len(pnl), block, paths, rng)
    final, drawdown = path_figures(pnl[days], capital)
    return MonteCarlo(capital, block, seed, len(pnl), final, drawdown)
