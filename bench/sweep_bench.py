"""`sweep_8x_quarter`: eight replays of 2018's first quarter (the default parameters, seeds 1-8), one after the
other in this process and then on a two-worker Dask local cluster, as a ratio (target ≥ 1.7× on this 2-core
machine).

Wall clock of the whole batch, as a user waits for it: the cluster's figure includes starting its two
processes and their imports, the serial one does not pay its imports inside the timing (they happen before
it), so the ratio is the cluster's worst case. No run cache. The row also says whether both gave the same rows.
"""

from __future__ import annotations

import time
from datetime import date

from bench.common import BenchResult, row
from replay.dispatch import Where
from replay.sweep_runs import RunSpec, execute

WINDOW = (date(2018, 1, 2), date(2018, 3, 29))
RUNS = 8
WORKERS = 2
TARGET = 1.7


def specs() -> list[RunSpec]:
    return [RunSpec((), seed, *WINDOW, 100_000.0) for seed in range(1, RUNS + 1)]


def run() -> BenchResult:
    import replay.engine
    import replay.modelled  # noqa: F401

    started = time.perf_counter()
    serial = execute(specs(), None, Where())
    serial_s = time.perf_counter() - started
    started = time.perf_counter()
    clustered = execute(specs(), None, Where(workers=WORKERS))
    cluster_s = time.perf_counter() - started
    ratio = serial_s / cluster_s
    same = clustered == serial
    result = row(
        "sweep_8x_quarter",
        cluster_s * 1e3,
        "the same 8 runs serially",
        serial_s * 1e3,
        RUNS,
        {"workers": WORKERS, "window": [d.isoformat() for d in WINDOW], "same_rows": same, "target_ratio": TARGET},
    )
    lines = [
        f"sweep: {RUNS} quarter runs in {serial_s:.1f} s serially, {cluster_s:.1f} s on a {WORKERS}-worker local"
        f" cluster: {ratio:.2f}x (target {TARGET}x); {'the same rows' if same else 'DIFFERENT rows'}"
    ]
    return BenchResult([result], ratio >= TARGET and same, lines)
