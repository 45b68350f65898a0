"""`python -m replay.sweep`: the replay over a grid of parameters and seeds, on one machine or a Dask cluster;
walk-forward over the grid and Monte Carlo of the result.

    python -m replay.sweep --grid zdte_profit_target=0.3,0.5,0.7 --grid dte21_days=14,21 --seeds 7,8 \\
        --start 2015-01-02 --end 2018-12-31 [--workers 2 | --scheduler tcp://HOST:8786] [--out reports/sweep]
    python -m replay.sweep --grid ... --walk-forward 2y,6m [--objective calmar]
    python -m replay.sweep --grid ... --monte-carlo 10000 [--block 10] [--mc-seed 1]

Every value is checked by the settings, as `python -m replay --set` checks it, before anything runs. Runs go
to a Dask local cluster of `--workers` processes (default one per core; `--workers 0` runs them one after
the other in this process, without Dask) or to the cluster at `--scheduler`. Each run's result is cached in
`--cache` under the hash of the code, parameters, seed, window and data: a stopped sweep resumes where it
stopped, a repeated one is instant. Monte Carlo resamples the best row's daily P&L (by `--objective`), or
the stitched out-of-sample curve after a walk-forward.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from core.settings import Settings, SettingsError
from replay.__main__ import DEFAULT_END, DEFAULT_START, overrides, window_problem
from replay.dispatch import DispatchError, Where
from replay.sweep_runs import OBJECTIVES, Row, RunCache, RunSpec, execute, objective_value
from replay.walk_forward import Parameters, WalkForwardError, Window, choose, parse_spans, stitch, windows

DEFAULT_CACHE = Path("reports/sweep-cache")


class SweepError(ValueError):
    """A value of the command line that cannot be used: one line, naming it."""


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """`--grid NAME=V1,V2` items, each value checked alone by the settings (so the message names the value and
    its range), then every combination (cross-field rules: a combination can break one)."""
    grid: dict[str, list[str]] = {}
    try:
        for name, listed in overrides(items, "--grid").items():
            grid[name] = [v.strip() for v in listed.split(",") if v.strip()]
            if not grid[name]:
                raise SweepError(f"--grid {name}=: no value")
    except ValueError as err:
        raise SweepError(str(err)) from None
    for name, values in grid.items():
        for value in values:
            try:
                Settings.from_parameters({name: value})
            except SettingsError as err:
                raise SweepError(f"--grid {name}: {'; '.join(err.problems)}") from None
    for combination in combinations(grid):
        try:
            Settings.from_parameters(dict(combination))
        except SettingsError as err:
            given = ", ".join(f"{n}={v}" for n, v in combination)
            raise SweepError(f"--grid {given}: {'; '.join(err.problems)}") from None
    return grid


def combinations(grid: dict[str, list[str]]) -> list[tuple[tuple[str, str], ...]]:
    """Every grid row, the first parameter varying slowest (the order of sweep.csv)."""
    names = list(grid)
    return [tuple(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SweepError(f"--seeds {text}: whole numbers separated by commas, e.g. 7,8,9") from None
    if not seeds or len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise SweepError(f"--seeds {text}: one or more different whole numbers of 0 or more")
    return seeds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m replay.sweep", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...", help="a varied parameter")
    parser.add_argument("--seeds", default="7", help="the modelled market's seeds, e.g. 7,8,9 (default 7)")
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END)
    parser.add_argument("--capital", type=float, default=100_000.0)
    parser.add_argument("--source", choices=["modelled", "lean"], default="modelled")
    parser.add_argument("--data", type=Path, default=Path("data"), help="the LEAN folder, for --source lean")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: the cores;"
                        " 0: serially in this process, without Dask)")  # fmt: skip
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help="an existing Dask cluster")
    parser.add_argument("--objective", choices=OBJECTIVES, default="calmar")
    parser.add_argument("--walk-forward", default=None, metavar="TRAIN,TEST", help="e.g. 2y,6m")
    parser.add_argument("--monte-carlo", type=int, default=0, metavar="PATHS", help="block-bootstrap paths")
    parser.add_argument("--block", type=int, default=10, help="Monte Carlo block length in sessions (default 10)")
    parser.add_argument("--mc-seed", type=int, default=1, help="the bootstrap's seed (default 1)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"run cache (default {DEFAULT_CACHE})")
    parser.add_argument("--no-cache", action="store_true", help="run everything again, cache nothing")
    parser.add_argument("--out", type=Path, default=Path("reports/sweep"))
    parser.add_argument("--quiet", action="store_true")
    return parser


def _check(args: argparse.Namespace) -> tuple[dict[str, list[str]], list[int], Where, tuple[int, int] | None]:
    grid = parse_grid(args.grid)
    seeds = parse_seeds(args.seeds)
    try:
        where = Where.parse(args.workers, args.scheduler)
        spans = parse_spans(args.walk_forward) if args.walk_forward else None
    except (DispatchError, WalkForwardError) as err:
        raise SweepError(str(err)) from None
    if args.capital <= 0:
        raise SweepError(f"--capital {args.capital:g}: above 0")
    if args.monte_carlo < 0 or (args.monte_carlo and not 1 <= args.block <= 252):
        raise SweepError("--monte-carlo PATHS of 0 or more, --block between 1 and 252 sessions")
    from core.calendar import Calendars
    from replay.engine import Market
    from replay.lean_source import LeanSource
    from replay.modelled import ModelledMarket

    market: Market
    if args.source == "lean":
        if not args.data.is_dir():
            raise SweepError(f"--data {args.data}: no such folder (a folder in LEAN's format)")
        market = LeanSource(args.data, Calendars())
    else:
        market = ModelledMarket(Calendars(), seeds[0])
    problem = window_problem(market, args.start, args.end)
    if problem:
        raise SweepError(problem)
    if spans and not windows(args.start, args.end, *spans):
        window = f"{args.start}..{args.end}"
        raise SweepError(f"--walk-forward {args.walk_forward}: {window} holds no training and test window")
    return grid, seeds, where, spans


def _mean(values: list[float | None]) -> float | None:
    return (
        None if not values or any(v is None for v in values) else sum(v for v in values if v is not None) / len(values)
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        grid, seeds, where, spans = _check(args)
    except SweepError as err:
        print(err, file=sys.stderr)
        return 2
    from replay.progress import RunsBar
    from replay.sweep_report import (
        monte_carlo_outputs,
        sweep_markdown,
        table,
        walk_forward_markdown,
        write_csv,
        write_heatmap,
    )

    cache = None if args.no_cache else RunCache(args.cache)
    data = str(args.data.resolve()) if args.source == "lean" else ""
    varied = list(grid)
    rows_of_grid = combinations(grid)
    show = not args.quiet and sys.stdout.isatty()
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()

    def run(specs: list[RunSpec], label: str) -> list[Row]:
        bar = RunsBar(len(specs), label=label) if show else None
        rows = execute(specs, cache, where, bar)
        if bar is not None:
            bar.finish()
        return rows

    def spec(parameters: Parameters, seed: int, start: date, end: date, cut: bool) -> RunSpec:
        until = end if cut and args.source == "modelled" else None
        return RunSpec(parameters, seed, start, end, args.capital, args.source, data, until)

    mc_curve: tuple[list[float], str] | None = None
    if spans is None:
        specs = [spec(r, s, args.start, args.end, False) for r in rows_of_grid for s in seeds]
        rows = run(specs, "runs")
        write_csv(args.out / "sweep.csv", table(rows, varied))
        heatmap = args.out / f"heatmap_{args.objective}.png"
        why_none = write_heatmap(heatmap, rows, varied, args.objective, args.source)
        text = sweep_markdown(rows, varied, args.objective, where.describe(), why_none, args.source)
        (args.out / "sweep.md").write_text(text)
        best = max(rows, key=lambda r: _rank(r, args.objective))
        print(f"{len(rows)} runs {where.describe()}: {args.out / 'sweep.csv'}")
        print(f"best by {args.objective}: {dict(best['parameters']) or 'defaults'}, seed {best['seed']}:"
              f" {args.objective} {best[args.objective]}")  # fmt: skip
        mc_curve = ([v for _, v in best["equity"]], f"the best row by {args.objective} ({_label(best)})")
    else:
        cut = windows(args.start, args.end, *spans)
        chosen, train_rows, test_rows = walk_forward(cut, rows_of_grid, seeds, args.objective, spec, run)
        summary = walk_forward_summary(cut, chosen, train_rows, test_rows, seeds, args.objective, args.capital)
        write_csv(args.out / "walk_forward.csv", summary["windows"])
        text = walk_forward_markdown(summary["windows"], summary["out_of_sample"], args.objective, args.walk_forward)
        (args.out / "walk_forward.md").write_text(text)
        (args.out / "walk_forward.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        print(text)
        first_seed = summary["stitched"][str(seeds[0])]
        mc_curve = ([v for _, v in first_seed], f"the stitched out-of-sample curve, seed {seeds[0]}")
    if args.monte_carlo:
        from replay.bootstrap import bootstrap, daily_pnl

        values, what = mc_curve
        mc = bootstrap(daily_pnl(values, args.capital), args.capital, args.monte_carlo, args.block, args.mc_seed)
        figures = monte_carlo_outputs(args.out, mc, what)
        print(f"Monte Carlo ({what}): max drawdown p50 {figures['max_drawdown_pct']['p50']}%,"
              f" p95 {figures['max_drawdown_pct']['p95']}%; P(≥15%) {figures['p_drawdown_15']:.1%},"
              f" P(≥20%) {figures['p_drawdown_20']:.1%}; CVaR 95% {figures['cvar95_final_pnl']:,.0f}")  # fmt: skip
    hits = cache.hits if cache is not None else 0
    print(f"{args.out} ({time.perf_counter() - began:.0f} s; {hits} run(s) from the cache)")
    return 0


def _rank(row: Row, objective: str) -> float:
    value = objective_value(row, objective)
    return float("-inf") if value is None else value


def _label(row: Row) -> str:
    given = ", ".join(f"{n}={v}" for n, v in row["parameters"]) or "defaults"
    return f"{given}, seed {row['seed']}"


def walk_forward(
    cut: list[Window],
    rows_of_grid: list[Parameters],
    seeds: list[int],
    objective: str,
    spec: Callable[[Parameters, int, date, date, bool], RunSpec],
    run: Callable[[list[RunSpec], str], list[Row]],
) -> tuple[list[Parameters], list[Row], list[Row]]:
    """Every grid row and seed on every training window (histories cut at its end: `spec(..., cut=True)`),
    the choice per window, and the choice's runs on its test window: (chosen, training rows window after
    window, test rows window after window, seeds inside)."""
    train_specs = [spec(r, s, w.train_start, w.train_end, True) for w in cut for r in rows_of_grid for s in seeds]
    train_rows = run(train_specs, "training runs")
    per_window = len(rows_of_grid) * len(seeds)
    chosen = [choose(train_rows[i * per_window : (i + 1) * per_window], objective) for i in range(len(cut))]
    pairs = zip(cut, chosen, strict=True)
    test_rows = run([spec(c, s, w.test_start, w.test_end, False) for w, c in pairs for s in seeds], "test runs")
    return chosen, train_rows, test_rows


def walk_forward_summary(
    cut: list[Window],
    chosen: list[Parameters],
    train_rows: list[Row],
    test_rows: list[Row],
    seeds: list[int],
    objective: str,
    capital: float,
) -> dict[str, Any]:
    """Per window the chosen parameters and their in-sample and out-of-sample figures (means over the seeds),
    and per seed the stitched out-of-sample curve and its figures."""
    from replay.statistics import daily_returns, return_figures

    lines: list[dict[str, Any]] = []
    n = len(seeds)
    per_window = len(train_rows) // len(cut)  # every grid row and seed, window after window
    for index, (window, parameters) in enumerate(zip(cut, chosen, strict=True)):
        trained = train_rows[index * per_window : (index + 1) * per_window]
        picked = [r for r in trained if tuple(tuple(p) for p in r["parameters"]) == parameters]
        tested = test_rows[index * n : (index + 1) * n]
        lines.append(
            {
                "train_start": window.train_start.isoformat(),
                "train_end": window.train_end.isoformat(),
                "test_start": window.test_start.isoformat(),
                "test_end": window.test_end.isoformat(),
                "chosen": ";".join(f"{k}={v}" for k, v in parameters),
                "in_sample": _mean([r[objective] for r in picked]),
                "out_of_sample": _mean([r[objective] for r in tested]),
                "test_cagr": _mean([r["cagr"] for r in tested]),
                "test_max_drawdown_pct": _mean([r["max_drawdown_pct"] for r in tested]),
            }
        )
    stitched: dict[str, list[tuple[str, float]]] = {}
    figures: dict[str, dict[str, Any]] = {}
    for k, seed in enumerate(seeds):
        curves = [[(date.fromisoformat(d), v) for d, v in test_rows[i * n + k]["equity"]] for i in range(len(cut))]
        curve = stitch(curves, [capital] * len(cut), capital)
        stitched[str(seed)] = [(d.isoformat(), round(v, 2)) for d, v in curve]
        figs = return_figures(daily_returns([v for _, v in curve], capital))
        figures[str(seed)] = {"final_net_liq": round(curve[-1][1], 2) if curve else capital, **figs}
    in_sample = {name: _mean([line["in_sample"] for line in lines]) for name in (objective,)}
    return {
        "objective": objective,
        "windows": lines,
        "out_of_sample": figures,
        "in_sample_mean": in_sample,
        "stitched": stitched,
    }


if __name__ == "__main__":
    sys.exit(main())
