"""`make chaos`: the replay run again and again with faults drawn from a seed, every invariant checked after
every step, and one table of what was injected and what broke (the goal: 0 everywhere).

Each run replays 2018 on modelled data (its February VIX spike included) at 100,000 with its own mix of
faults: each rate drawn from a range, so some runs are gentle and some are rough. Faults: leg rejects,
partial fills, fills after the timeout, cancels the broker ignores, disconnects of 1-30 minutes, data gaps,
crossed/zero/missing quotes, restarts at random moments (between an order and its fill too) and truncated
state files. A halt is cleared by a stand-in operator at the next session, after it was counted, so a run
keeps trading.

    python -m replay.chaos --runs 8 --seed 1 [--start 2018-01-02 --end 2018-12-31] [--out reports/chaos]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from core.settings import Settings
from replay.engine import ReplayEngine
from replay.faults import Faults

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


def chaos(runs: int, seed: int, start: date, end: date, capital: float = 100_000.0) -> dict[str, Any]:
    rng = random.Random(seed)
    faults_total: Counter[str] = Counter()
    violations: Counter[str] = Counter()
    rows = []
    for n in range(runs):
        faults = draw_faults(rng)
        began = time.perf_counter()
        engine = ReplayEngine(Settings(), start, end, capital, seed=seed * 1000 + n, faults=faults, operator=True)
        engine.run(progress=False)
        summary = engine.summary()
        faults_total.update(summary["faults_injected"])
        violations.update(summary["invariants"])
        rows.append(
            {
                "run": n + 1,
                "seed": seed * 1000 + n,
                "faults": faults.describe(),
                "injected": summary["faults_injected"],
                "restarts": summary["restarts"],
                "violations": {k: v for k, v in summary["invariants"].items() if v},
                "trades": sum(s["trades"] for s in summary["strategies"].values()),
                "final_net_liq": summary["final_net_liq"],
                "seconds": round(time.perf_counter() - began, 1),
            }
        )
    return {
        "runs": runs,
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "faults_injected": dict(sorted(faults_total.items())),
        "restarts": sum(r["restarts"] for r in rows),
        "violations": dict(sorted(violations.items())),
        "per_run": rows,
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"# Chaos: {result['runs']} runs of {result['start']}..{result['end']}, seed {result['seed']}",
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
        "| run | trades | restarts | violations | seconds | faults |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['run']} | {r['trades']} | {r['restarts']} | {sum(r['violations'].values())} | {r['seconds']} "
            f"| {r['faults']} |"
            for r in result["per_run"]
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replay.chaos", description=__doc__)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2018, 1, 2))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2018, 12, 31))
    parser.add_argument("--out", type=Path, default=Path("reports/chaos"))
    args = parser.parse_args(argv)
    result = chaos(args.runs, args.seed, args.start, args.end)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chaos.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    text = table(result)
    (args.out / "chaos.md").write_text(text)
    print(text)
    return 1 if any(result["violations"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
