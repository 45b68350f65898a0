"""Where a batch of replays runs: in this process, on a Dask local cluster of worker processes, or on a Dask
cluster that is already running (`dask scheduler` and `dask worker tcp://HOST:PORT` on other machines). The
sweep and the chaos run share it.

A job is a top-level function of this project and a picklable argument; the function is pickled by name, so a
remote worker must be able to import this project (start `dask worker` with the repository's folder on
PYTHONPATH); the scheduler need not (`_Call`). Results come back in the order the jobs were given, whatever
order they finished in, and a replay depends only on its argument, so a batch gives the same results wherever
it ran.

Each local worker is a process with one thread: a replay is pure Python, so threads would share one core.
"""

from __future__ import annotations

import logging
import os
import pickle
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from distributed import LocalCluster

Item = TypeVar("Item")
Result = TypeVar("Result")

SERIAL = 0  # `--workers 0`: every job in this process, one after the other, no Dask at all


class DispatchError(ValueError):
    """`--workers` or `--scheduler` cannot be used as given."""


@dataclass(frozen=True)
class Where:
    """`workers` local processes (0: this process), or the cluster behind `scheduler` (its workers)."""

    workers: int = SERIAL
    scheduler: str | None = None

    @classmethod
    def parse(cls, workers: int | None, scheduler: str | None) -> Where:
        """The command line's `--workers` (None: one per core) and `--scheduler`; DispatchError says which is
        wrong."""
        if scheduler is not None:
            if workers is not None:
                raise DispatchError("--workers and --scheduler: give one (a cluster has its own workers)")
            if not scheduler.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://", "ucx://")):
                raise DispatchError(f"--scheduler {scheduler}: expected an address such as tcp://HOST:8786")
            return cls(SERIAL, scheduler)
        count = (os.cpu_count() or 1) if workers is None else workers
        if not 0 <= count <= 512:
            raise DispatchError(f"--workers {count}: between 0 (serial, in this process) and 512")
        return cls(count)

    def describe(self) -> str:
        if self.scheduler:
            return f"the Dask cluster at {self.scheduler}"
        if self.workers == SERIAL:
            return "serially in this process"
        return f"a Dask local cluster of {self.workers} worker process{'es' if self.workers > 1 else ''}"


def local_cluster(workers: int) -> LocalCluster:
    """A Dask cluster of `workers` one-thread processes on this machine. Their statistical profiler is off: it
    interrupts every worker a hundred times a second to sample its stack for a dashboard this cluster does
    not serve."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": False}):  # read as each worker starts
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",  # nothing outside this machine reaches a local cluster
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )


class _Call:
    """`job(item)`, run by unpickling it: the job goes to the cluster as bytes with `pickle.loads` as its
    function, so the scheduler, which unpickles the task graph, never imports this project (one started
    anywhere will do); only the workers that run it need the project."""

    def __init__(self, job: Callable[[Any], object], item: object) -> None:
        self.job, self.item = job, item

    def __reduce__(self) -> tuple[Callable[[Any], object], tuple[object]]:
        return self.job, (self.item,)


def run_all(
    job: Callable[[Item], Result],
    items: Sequence[Item],
    where: Where,
    done: Callable[[int, Result], None] | None = None,
) -> list[Result]:
    """`job(item)` for every item, results in the items' order. `done(index, result)` is called here, in this
    process, as each one finishes (the sweep caches it there, so a batch stopped half-way keeps what finished).
    The first job that raises stops the batch: the jobs not started are cancelled and the error is raised."""
    results: list[Result | None] = [None] * len(items)
    if not items:
        return []
    if where.workers == SERIAL and where.scheduler is None:
        for index, item in enumerate(items):
            results[index] = job(item)
            if done is not None:
                done(index, results[index])  # type: ignore[arg-type]
        return results  # type: ignore[return-value]

    from distributed import Client, as_completed

    cluster = local_cluster(where.workers) if where.scheduler is None else None
    try:
        with Client(cluster if cluster is not None else where.scheduler) as client:
            # A key of its own per batch and job: a shared scheduler would hand back another batch's result
            # for a key it already holds.
            batch = uuid.uuid4().hex[:12]
            futures = [
                client.submit(pickle.loads, pickle.dumps(_Call(job, item)), key=f"replay-{batch}-{i}")
                for i, item in enumerate(items)
            ]
            position = {future.key: index for index, future in enumerate(futures)}
            try:
                for future in as_completed(futures):
                    index = position[future.key]
                    results[index] = future.result()
                    if done is not None:
                        done(index, results[index])  # type: ignore[arg-type]
            finally:
                client.cancel([f for f in futures if not f.done()])
    finally:
        if cluster is not None:
            cluster.close()
    return results  # type: ignore[return-value]
