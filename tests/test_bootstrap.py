"""The Monte Carlo's block bootstrap: blocks of consecutive days, reproducible by seed, and its figures checked
on paths worked out by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from replay.bootstrap import MonteCarlo, block_indices, bootstrap, daily_pnl, path_figures


def test_daily_pnl_starts_from_the_capital() -> None:
    assert daily_pnl([110.0, 90.0, 95.0], 100.0).tolist() == [10.0, -20.0, 5.0]


def test_blocks_are_consecutive_days_wrapping_at_the_end() -> None:
    rng = np.random.Generator(np.random.PCG64(3))
    days = block_indices(10, 4, 200, rng)
    assert days.shape == (200, 10)
    for path in days:
        for start in (0, 4, 8):  # each block of 4 (the last cut to 2) runs on day after day, 9 → 0
            block = path[start : start + 4]
            assert all((b - a) % 10 == 1 for a, b in itertools.pairwise(block))
    assert set(days[:, 0]) == set(range(10))  # every day can start a block
    whole = block_indices(5, 5, 20, np.random.Generator(np.random.PCG64(1)))
    assert all(sorted(path) == [0, 1, 2, 3, 4] for path in whole)  # one block of everything: a rotation
    with pytest.raises(ValueError):
        block_indices(0, 1, 1, rng)


def test_the_bootstrap_is_reproducible_by_seed() -> None:
    pnl = np.random.Generator(np.random.PCG64(0)).normal(50.0, 900.0, 250)
    a, b = bootstrap(pnl, 100_000.0, 300, 10, seed=5), bootstrap(pnl, 100_000.0, 300, 10, seed=5)
    assert np.array_equal(a.final_net_liq, b.final_net_liq) and a.figures() == b.figures()
    c = bootstrap(pnl, 100_000.0, 300, 10, seed=6)
    assert not np.array_equal(a.final_net_liq, c.final_net_liq)
    # the sum of a path is the sum of its days: resampling whole blocks of 250/250 keeps the total
    whole = bootstrap(pnl, 100_000.0, 20, 250, seed=5)
    assert np.allclose(whole.final_net_liq, 100_000.0 + pnl.sum())


def test_figures_on_paths_worked_by_hand() -> None:
    # capital 100; path A: +10, -20, +5 → 110, 90, 95: peak 110, drawdown 20/110 = 18.18%, final 95
    # path B: -20, -20, +10 → 80, 60, 70: peak the capital 100, drawdown 40%, final 70
    # path C: +5, +5, +5 → 105, 110, 115: no drawdown, final 115
    # path D: -10, +30, -16 → 90, 120, 104: the worse fall is 16/120 = 13.33% (not 10/100), final 104
    paths = np.array([[10.0, -20.0, 5.0], [-20.0, -20.0, 10.0], [5.0, 5.0, 5.0], [-10.0, 30.0, -16.0]])
    final, drawdown = path_figures(paths, 100.0)
    assert final.tolist() == [95.0, 70.0, 115.0, 104.0]
    assert np.allclose(drawdown, [100 * 20 / 110, 40.0, 0.0, 100 * 16 / 120])
    figures = MonteCarlo(100.0, 1, 0, 3, final, drawdown).figures()
    assert figures["p_drawdown_15"] == 0.5 and figures["p_drawdown_20"] == 0.25  # A and B; B alone
    assert figures["cvar95_final_pnl"] == -30.0  # ceil(5% of 4) = 1 worst path: B, 70 - 100
    assert figures["final_net_liq"]["p50"] == 99.5  # the median of 70, 95, 104, 115
