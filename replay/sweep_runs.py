"""One replay of a sweep: what defines it (`RunSpec`), the job a worker runs (`run_replay`), and the disk cache
that makes an interrupted sweep resume and a repeated one instant (`RunCache`).

A run's result is a plain JSON-able dict (`Row`): the sweep's figures and the daily net liq, which walk-forward
stitches and Monte Carlo resamples. It is cached under the hash of everything that decides it: the code of the
packages that trade and replay (their source files' bytes, so an uncommitted change counts too), the
parameters, the seed, the window, the capital and the data (the shipped histories' bytes for the modelled
market, the folder's file names, sizes and times for a LEAN folder).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

from replay.dispatch import Where, run_all
from replay.progress import RunsBar

ROOT = Path(__file__).resolve().parents[1]
CODE_PACKAGES = ("core", "strategies", "risk", "safety", "trading", "replay")
OBJECTIVES = ("calmar", "sharpe", "cagr", "final_net_liq", "max_drawdown_pct")  # max_drawdown_pct: lower is better
CACHE_VERSION = 1  # the Row's shape: a change of it must not read old entries

Row: TypeAlias = dict[str, Any]


@dataclass(frozen=True)
class RunSpec:
    """One replay. `parameters`: the overrides as NAME=VALUE strings, already checked by the settings; the
    modelled market's histories are cut at `history_until` when set (a walk-forward training window: nothing
    after it can be read)."""

    parameters: tuple[tuple[str, str], ...]
    seed: int
    start: date
    end: date
    capital: float
    source: str = "modelled"
    data: str = ""  # the LEAN folder for source "lean"
    history_until: date | None = None

    def identity(self) -> dict[str, Any]:
        return {
            "parameters": [list(p) for p in self.parameters],
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "capital": self.capital,
            "source": self.source,
            "data": self.data,
            "history_until": None if self.history_until is None else self.history_until.isoformat(),
        }


def run_replay(spec: RunSpec) -> Row:
    """The replay of `spec` (no faults, a stand-in operator as `python -m replay` has) and its Row. Runs on a
    worker: imports inside, so a worker process pays for them once and the client never needs the engine."""
    from core.calendar import Calendars
    from core.settings import Settings
    from replay.engine import Market, ReplayEngine
    from replay.lean_source import LeanSource
    from replay.modelled import ModelledMarket

    settings = Settings.from_parameters(dict(spec.parameters))
    market: Market
    if spec.source == "lean":
        market = LeanSource(Path(spec.data), Calendars())
    else:
        market = ModelledMarket(Calendars(), spec.seed, history_until=spec.history_until)
    engine = ReplayEngine(settings, spec.start, spec.end, spec.capital, spec.seed, market=market, operator=True)
    engine.run(progress=False)
    summary = engine.summary()
    figures = summary["statistics"]
    return {
        **spec.identity(),
        "final_net_liq": summary["final_net_liq"],
        "cagr": figures["cagr"],
        "max_drawdown_pct": figures["max_drawdown_pct"],
        "sharpe": figures["sharpe"],
        "calmar": figures["calmar"],
        "strategies": {
            name: {"trades": s["trades"], "win_rate": s["win_rate"]} for name, s in summary["strategies"].items()
        },
        "violations": sum(summary["invariants"].values()),
        "equity": [[day.isoformat(), value] for day, value in engine.record.equity],
    }


def _digest(paths: list[Path], base: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths):
        sha.update(str(path.relative_to(base)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


@functools.cache
def code_version() -> str:
    """The hash of every source file of the packages a replay runs."""
    return _digest([p for package in CODE_PACKAGES for p in (ROOT / package).rglob("*.py")], ROOT)


@functools.cache
def data_version(source: str, data: str) -> str:
    """The hash of the data a run reads: the modelled market's shipped histories and dividend table, and the
    S&P 500 file of the `arch` package it draws on; or a LEAN folder's listing (reading every byte of a
    downloaded folder would take longer than a run)."""
    if source == "lean":
        sha = hashlib.sha256()
        folder = Path(data)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            stat = path.stat()
            sha.update(f"{path.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        return sha.hexdigest()[:16]
    import arch

    arch_data = Path(arch.__file__).parent / "data" / "sp500"
    shipped = [*(ROOT / "replay" / "history").glob("*.csv"), ROOT / "replay" / "dividends.csv"]
    return _digest(shipped, ROOT) + _digest([p for p in arch_data.iterdir() if p.is_file()], arch_data)[:8]


def cache_key(spec: RunSpec) -> str:
    text = json.dumps(
        {
            "version": CACHE_VERSION,
            "code": code_version(),
            "data": data_version(spec.source, spec.data),
            **spec.identity(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class RunCache:
    """One JSON file per finished run, under its `cache_key`; written whole or not at all (a temporary file
    renamed), so a sweep killed while writing leaves no half entry."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.hits = 0

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, spec: RunSpec) -> Row | None:
        path = self._path(cache_key(spec))
        try:
            row: Row = json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # absent, or unreadable: the run is simply done again
        self.hits += 1
        return row

    def put(self, spec: RunSpec, row: Row) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(cache_key(spec))
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(row, sort_keys=True))
        partial.replace(path)


def objective_value(row: Row, objective: str) -> float | None:
    """The row's objective, oriented so that larger is better (a drawdown is negated); None where undefined."""
    value = row[objective]
    if value is None:
        return None
    return -float(value) if objective == "max_drawdown_pct" else float(value)


def execute(specs: list[RunSpec], cache: RunCache | None, where: Where, progress: RunsBar | None = None) -> list[Row]:
    """Every spec's Row in the specs' order: from the cache when it holds it, the rest run where `where` says,
    each cached as it comes back (so a sweep stopped half-way resumes where it stopped)."""
    rows: list[Row | None] = [cache.get(spec) if cache is not None else None for spec in specs]
    missing = [i for i, row in enumerate(rows) if row is None]
    if progress is not None:
        for _ in range(len(specs) - len(missing)):
            progress.update(cached=True)

    def done(index: int, row: Row) -> None:
        spec = specs[missing[index]]
        rows[missing[index]] = row
        if cache is not None:
            cache.put(spec, row)
        if progress is not None:
            progress.update()

    run_all(run_replay, [specs[i] for i in missing], where, done)
    return [row for row in rows if row is not None]
