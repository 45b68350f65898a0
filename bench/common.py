"""What every benchmark module shares: timing by median of repeats, and the row shape of reports/bench.json
(`{"rows": [{"name", "median_ms", "baseline", "baseline_median_ms", "ratio", "n", ...}]}`)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class BenchResult:
    rows: list[dict[str, Any]]
    met: bool  # every target of these rows met
    lines: list[str]  # what to print under the table


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def row(
    name: str,
    ours_ms: float,
    baseline: str | None,
    baseline_ms: float | None,
    n: int,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "median_ms": round(ours_ms, 3),
        "baseline": baseline,
        "baseline_median_ms": None if baseline_ms is None else round(baseline_ms, 1),
        "ratio": None if baseline_ms is None else round(baseline_ms / ours_ms, 1),
        "n": n,
    }
    if detail:
        out["detail"] = detail
    return out
