"""`replay_days_per_second`: the default replay (modelled data, all strategies) over 2018's first quarter,
timed against a baseline revision in the same run.

The machine the benchmarks run on is shared and its timings move threefold under load, so a figure from
another day says little: the baseline is the replay of an older revision (`BENCH_BASELINE_REF`, default
`BASELINE_REF`, the last commit before the replay's speed-ups of issue 17), unpacked from git into a
temporary folder and run alternately with ours, each in its own process. Only `ReplayEngine.run` is timed
(not the imports or loading the market's paths). Each run also reports a fingerprint of every decision,
trade and daily net liq, so the table says whether the baseline decided the same; a baseline that cannot be
had (no git, a shallow clone without that commit, an API it does not share) leaves the row without one.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import BenchResult, row

ROOT = Path(__file__).resolve().parents[1]
BASELINE_REF = "c1218a9"  # the replay before issue 17's speed-ups
WINDOW = ("2018-01-02", "2018-03-29")
REPEATS = 3  # each, interleaved: baseline, ours, baseline, ours, ...

# Run in the tree being timed (its own imports), so it uses only what both revisions share.
CHILD = """
import hashlib, json, sys, time
from datetime import date
from core.settings import Settings
from replay.engine import ReplayEngine

engine = ReplayEngine(Settings(), date.fromisoformat(sys.argv[1]), date.fromisoformat(sys.argv[2]), 100_000.0, seed=7)
start = time.perf_counter()
engine.run(progress=False)
seconds = time.perf_counter() - start
record = engine.record
trades = [(t.time, t.structure.id, t.units, t.entry_price, t.exit_price, t.pnl, t.reason) for t in record.trades]
fingerprint = hashlib.sha256(repr((record.decisions, trades, record.equity)).encode()).hexdigest()[:16]
print(json.dumps({"seconds": seconds, "days": len(record.equity), "fingerprint": fingerprint}))
"""


@dataclass
class Timed:
    seconds: list[float]
    days: int
    fingerprint: str

    @property
    def per_second(self) -> float:
        return self.days / statistics.median(self.seconds)


def _run(tree: Path) -> tuple[float, int, str]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *WINDOW],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
        text=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return float(out["seconds"]), int(out["days"]), str(out["fingerprint"])


def _unpack(ref: str, into: Path) -> str | None:
    """The revision's files in `into`, or why not."""
    try:
        archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", b"") or b""
        return f"git archive {ref} failed: {detail.decode(errors='replace').strip() or err}"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return None


def _timed(runs: list[tuple[float, int, str]]) -> Timed:
    return Timed([s for s, _, _ in runs], runs[-1][1], runs[-1][2])


def run() -> BenchResult:
    ref = os.environ.get("BENCH_BASELINE_REF", BASELINE_REF)
    ours_runs: list[tuple[float, int, str]] = []
    base_runs: list[tuple[float, int, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        why = _unpack(ref, Path(folder))
        for _ in range(REPEATS):
            if why is None:
                try:
                    base_runs.append(_run(Path(folder)))
                except subprocess.CalledProcessError as err:
                    why = f"the replay at {ref} failed: {(err.stderr or '').strip().splitlines()[-1:]}"
            ours_runs.append(_run(ROOT))
    ours = _timed(ours_runs)
    lines = [f"replay: {ours.per_second:.1f} simulated trading days a second ({ours.days} days of 2018)"]
    if why is None and base_runs:
        base = _timed(base_runs)
        same = "the same decisions" if base.fingerprint == ours.fingerprint else "DIFFERENT decisions"
        lines.append(
            f"  baseline {ref}: {base.per_second:.1f} days a second, interleaved in this run "
            f"({ours.per_second / base.per_second:.2f}x faster now; {same}: every decision, trade and daily net liq)"
        )
        result = row(
            "replay_days_per_second",
            1e3 / ours.per_second,
            f"replay at {ref}",
            1e3 / base.per_second,
            ours.days,
            {
                "days_per_second": round(ours.per_second, 1),
                "baseline_days_per_second": round(base.per_second, 1),
                "same_decisions_as_baseline": base.fingerprint == ours.fingerprint,
            },
        )
    else:
        lines.append(f"  no baseline: {why}")
        detail = {"days_per_second": round(ours.per_second, 1)}
        result = row("replay_days_per_second", 1e3 / ours.per_second, None, None, ours.days, detail)
    return BenchResult([result], True, lines)
