"""`make chaos`: the replay run again and again with faults drawn from a seed, every invariant checked after
every step, and one table of what was injected and what broke (the goal: 0 everywhere).

Each run replays 2018 on modelled data (its February VIX spike included) at 100,000 with its own mix of
faults: each rate drawn from a range, so some runs are gentle and some are rough. Faults: leg rejects,
partial fills, fills after the timeout, cancels the broker ignores, disconnects of 1-30 minutes, data gaps,
crossed/zero/missing quotes, restarts at random moments (between an order and its fill too) and truncated
state files. A halt is cleared by a stand-in operator at the next session, after it was counted, so a run
keeps trading.

    python -m replay.chaos --runs 8 --seed 1 [--start 2018-01-02 --end 2018-12-31] [--out reports/chaos]
    python -m replay.chaos --runs 100 --years 1999-2021 --workers 2        # make chaos-long

`--years FIRST-LAST` draws each run's year from those (the modelled histories run from 1999-03-10 to
2021-03-31, so 1999 and 2021 are shorter), from a stream of its own: the fault mixes stay those of the same
seed without it. Runs go through replay/dispatch as the sweep's do: `--workers N` local processes (default
one per core; 0: in this process, without Dask), or `--scheduler tcp://HOST:PORT`; each run depends only on
its seed, window and faults, so the table is the same wherever it ran (but for the seconds).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from core.settings import Settings
from replay.dispatch import Where, run_all
from replay.engine import ReplayEngine
from replay.faults import Faults
from replay.progress import RunsBar

HISTORY_SPAN = (date(1999, 3, 10), date(2021, 3, 31))  # ModelledMarket.span() of the shipped histories
RANGES = {  # each run draws every rate uniformly from its range
    "reject": (0.0, 0.08),
    "partial": (0.0, 0.12),
    "delay": (0.0, 0.08),
    "disconnect": (0.0, 0.10),
    "restart": (0.0, 0.03),
    "corrupt": (0.0, 0.25),
    "ignore_cancel": (0.0, 0.30),
    "gap": (0.0, 0.03),
    "bad_quotes": (0.0, 0.15),
}


def draw_faults(rng: random.Random) -> Faults:
    rates = {name: round(rng.uniform(low, high), 4) for name, (low, high) in RANGES.items()}
    spec = ",".join(f"{name}={rate}" for name, rate in rates.items())
    return Faults.parse(f"{spec},disconnect_minutes=1-30")  # through the same validation as --faults


@dataclass(frozen=True)
class ChaosRun:
    """One faulted replay, all a worker needs."""

    number: int
    seed: int
    start: date
    end: date
    capital: float
    faults: Faults


def plan(
    runs: int, seed: int, start: date, end: date, capital: float = 100_000.0, years: tuple[int, int] | None = None
) -> list[ChaosRun]:
    """Each run's fault mix (drawn in order from `seed`, as before years could be drawn) and its window: the
    one given, or a year drawn from `years` and cut to the modelled histories' span."""
    rng = random.Random(seed)
    year_rng = random.Random(f"{seed}-years")
    out = []
    for n in range(runs):
        faults = draw_faults(rng)
        first, last = start, end
        if years is not None:
            year = year_rng.randint(*years)
            first, last = max(date(year, 1, 1), HISTORY_SPAN[0]), min(date(year, 12, 31), HISTORY_SPAN[1])
        out.append(ChaosRun(n + 1, seed * 1000 + n, first, last, capital, faults))
    return out


def run_one(run: ChaosRun) -> dict[str, Any]:
    """The run's row of the table (a worker's job)."""
    began = time.perf_counter()
    faults = run.faults
    engine = ReplayEngine(Settings(), run.start, run.end, run.capital, seed=run.seed, faults=faults, operator=True)
    engine.run(progress=False)
    summary = engine.summary()
    return {
        "run": run.number,
        "seed": run.seed,
        "start": run.start.isoformat(),
        "end": run.end.isoformat(),
        "faults": faults.describe(),
        "injected": summary["faults_injected"],
        "invariants": summary["invariants"],
        "restarts": summary["restarts"],
        "violations": {k: v for k, v in summary["invariants"].items() if v},
        "trades": sum(s["trades"] for s in summary["strategies"].values()),
        "final_net_liq": summary["final_net_liq"],
        "seconds": round(time.perf_counter() - began, 1),
    }


def chaos(
    runs: int,
    seed: int,
    start: date,
    end: date,
    capital: float = 100_000.0,
    where: Where | None = None,
    years: tuple[int, int] | None = None,
) -> dict[str, Any]:
    planned = plan(runs, seed, start, end, capital, years)
    began = time.perf_counter()
    bar = RunsBar(len(planned), label="faulted runs") if sys.stdout.isatty() else None
    rows = run_all(run_one, planned, where or Where(), lambda _i, _row: bar.update() if bar else None)
    if bar is not None:
        bar.finish()
    faults_total: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    for row in rows:
        faults_total.update(row["injected"])  # kept per run, as the JSON always had it
        violations.update(row.pop("invariants"))
    return {
        "runs": runs,
        "seed": seed,
        "start": start.isoformat() if years is None else min(r["start"] for r in rows),
        "end": end.isoformat() if years is None else max(r["end"] for r in rows),
        "years": None if years is None else f"{years[0]}-{years[1]}",
        "where": (where or Where()).describe(),
        "wall_seconds": round(time.perf_counter() - began, 1),
        "faults_injected": dict(sorted(faults_total.items())),
        "restarts": sum(r["restarts"] for r in rows),
        "violations": dict(sorted(violations.items())),
        "per_run": rows,
    }


def parse_years(text: str) -> tuple[int, int]:
    first, dash, last = text.partition("-")
    low, high = HISTORY_SPAN[0].year, HISTORY_SPAN[1].year
    if not (dash and first.isdigit() and last.isdigit() and low <= int(first) <= int(last) <= high):
        raise ValueError(f"--years {text}: FIRST-LAST within the modelled histories' {low}-{high}")
    return int(first), int(last)


def table(result: dict[str, Any]) -> str:
    drawn = result.get("years")
    window = f"each of a year drawn from {drawn}" if drawn else f"{result['start']}..{result['end']}"
    lines = [
        f"# Chaos: {result['runs']} runs, {window}, seed {result['seed']}",
        "",
        "| fault injected | count |",
        "|---|---|",
        *(f"| {k} | {v:,} |" for k, v in result["faults_injected"].items()),
        f"| restarts (all) | {result['restarts']:,} |",
        "",
        "| invariant | violations |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in result["violations"].items()),
        "",
        "| run | window | trades | restarts | violations | seconds | faults |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['run']} | {r.get('start', result['start'])}..{r.get('end', result['end'])} | {r['trades']}"
            f" | {r['restarts']} | {sum(r['violations'].values())} | {r['seconds']} | {r['faults']} |"
            for r in result["per_run"]
        ),
    ]
    if "wall_seconds" in result:
        lines += ["", f"{result['wall_seconds']} s wall clock, {result['where']}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replay.chaos", description=__doc__)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2018, 1, 2))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2018, 12, 31))
    parser.add_argument("--years", default=None, metavar="FIRST-LAST", help="draw each run's year, e.g. 1999-2021")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (default: the cores;"
                        " 0: serially in this process, without Dask)")  # fmt: skip
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT", help="an existing Dask cluster")
    parser.add_argument("--out", type=Path, default=Path("reports/chaos"))
    args = parser.parse_args(argv)
    try:
        where = Where.parse(args.workers, args.scheduler)
        years = parse_years(args.years) if args.years else None
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    result = chaos(args.runs, args.seed, args.start, args.end, where=where, years=years)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chaos.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    text = table(result)
    (args.out / "chaos.md").write_text(text)
    print(text)
    return 1 if any(result["violations"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
