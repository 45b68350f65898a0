"""Benchmark rows for a whole pipeline step and for the replay.

- `pipeline_step_40`: one `Pipeline.step` (data checks, trading state, management of 40 open structures by
  the safety systems, the risk manager and their strategies, the entries due, risk and safety reviews,
  the fill tracker) on the risk benchmark's snapshot (SPY and QQQ weeklies to LEAPs, ES future options,
  GLD, a 0DTE SPXW chain: about 15,000 contracts) at a Monday 10:00, when the LEAP ladder proposes. Each
  repeat on a freshly wired system (a step changes the tracker's state). Target ≤ 5 ms median.
- `replay_days_per_second` is bench/replay_bench.py's (timed against a baseline revision).
- `backtest_default`: `python -m replay` (2014-2018, 100,000), run as a child process: its wall time and its
  peak memory (maximum resident set size). Targets ≤ 3 minutes and ≤ 1 GiB.
"""

from __future__ import annotations

import dataclasses
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, row
from bench.risk_bench import market, structures
from core.calendar import Calendars
from core.model import AccountState
from core.settings import Settings
from replay.broker import ReplayBroker
from trading.system import TradingSystem

STEP_TARGET_MS = 5.0
BACKTEST_TARGET_S = 180.0
MEMORY_TARGET_MB = 1024.0
ROOT = Path(__file__).resolve().parents[1]


class _Sink:
    def send(self, level: object, title: str, body: str) -> None:
        pass


def pipeline_step(repeats: int = 30) -> tuple[float, int, int]:
    settings, calendars = Settings(), Calendars()
    snapshot = market()
    book = structures(snapshot, "b")
    account = AccountState(5_000_000.0, 5_000_000.0, 5_000_000.0, 0.0)
    quote = ReplayBroker(settings, 5_000_000.0).quote_from(snapshot)
    times, commands = [], 0
    for n in range(repeats + 1):
        system = TradingSystem(settings, calendars, calendars.equity, calendars.cme, _Sink())
        for s in book:
            system.pipeline.book.add_units(s, s.quantity, s.entry_price)
        # A new snapshot each step, as in a run: no valuation memo, chain indexes cold.
        fresh = dataclasses.replace(snapshot, chains={k: dataclasses.replace(c) for k, c in snapshot.chains.items()})
        start = time.perf_counter()
        result = system.pipeline.step(fresh, account, quote)
        elapsed = time.perf_counter() - start
        if n:  # the first is a warm-up
            times.append(elapsed)
        commands = len(result.commands)
    contracts = sum(len(c) for c in snapshot.chains.values())
    return statistics.median(times) * 1e3, contracts, commands


def backtest() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "replay", "--quiet", "--out", out], cwd=ROOT, check=True, capture_output=True
        )
        seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
    return seconds, peak_kb / 1024.0


def run() -> BenchResult:
    step_ms, contracts, commands = pipeline_step()
    seconds, peak_mb = backtest()
    rows = [
        row(
            "pipeline_step_40",
            step_ms,
            None,
            None,
            40,
            {"contracts": contracts, "commands": commands, "target_ms": STEP_TARGET_MS},
        ),
        row(
            "backtest_default",
            seconds * 1e3,
            None,
            None,
            1,
            {"peak_memory_mb": round(peak_mb, 1), "target_s": BACKTEST_TARGET_S, "target_mb": MEMORY_TARGET_MB},
        ),
    ]
    met = step_ms <= STEP_TARGET_MS and seconds <= BACKTEST_TARGET_S and peak_mb <= MEMORY_TARGET_MB
    lines = [
        ("target met" if step_ms <= STEP_TARGET_MS else "TARGET MISSED")
        + f": pipeline_step_40 {step_ms:.2f} ms (target {STEP_TARGET_MS} ms; {contracts:,} contracts, "
        f"{commands} commands)",
        ("target met" if seconds <= BACKTEST_TARGET_S and peak_mb <= MEMORY_TARGET_MB else "TARGET MISSED")
        + f": default backtest {seconds:.0f} s (target {BACKTEST_TARGET_S:.0f} s), peak memory {peak_mb:.0f} MB "
        f"(target {MEMORY_TARGET_MB:.0f} MB)",
    ]
    return BenchResult(rows, met, lines)
