"""Where the LEAN sample data is: $LEAN_DATA_DIR, else ../shared/lean-data beside the project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lean_data_dir() -> Path | None:
    env = os.environ.get("LEAN_DATA_DIR")
    path = Path(env) if env else ROOT.parent / "shared" / "lean-data"
    return path if path.is_dir() else None


def require_lean_data() -> Path:
    path = lean_data_dir()
    if path is None:
        pytest.skip("LEAN sample data not found (set LEAN_DATA_DIR or place it at ../shared/lean-data)")
    return path


def read_option_minute_quotes(zip_path: Path) -> list[tuple[int, str, float, str, float, float]]:
    """(minute of day, right, strike, expiry YYYYMMDD, bid close, ask close) for every row of a LEAN option
    quote zip (prices ×10000; an empty side is NaN). A small reader for tests; the replay has its own."""
    import csv
    import io
    import zipfile

    rows: list[tuple[int, str, float, str, float, float]] = []
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            parts = name[:-4].split("_")
            right, strike, expiry = parts[5], int(parts[6]) / 10_000, parts[7]
            for row in csv.reader(io.TextIOWrapper(archive.open(name))):
                bid = int(row[4]) / 10_000 if row[4] else float("nan")
                ask = int(row[9]) / 10_000 if row[9] else float("nan")
                rows.append((int(row[0]) // 60_000, right, strike, expiry, bid, ask))
    return rows


def read_universe(path: Path) -> list[tuple[str, float, str, float, float, float]]:
    """(expiry YYYYMMDD, strike, right C/P, close, implied vol, delta) for each contract row of a LEAN
    universes/<root>/<date>.csv chain snapshot (the underlying's own line, with empty fields, is skipped)."""
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or line.startswith(","):
            continue
        f = line.split(",")
        iv = float(f[9]) if len(f) > 9 and f[9] else float("nan")  # future option universes have no Greeks
        delta = float(f[10]) if len(f) > 10 and f[10] else float("nan")
        rows.append((f[0], float(f[1]), f[2], float(f[6]), iv, delta))
    return rows


def read_future_option_quotes_at(zip_path: Path, ms_utc: int) -> list[tuple[str, float, str, float, float]]:
    """(right, strike, expiry YYYYMMDD, bid, ask) of each contract's latest minute quote at or before
    `ms_utc` milliseconds after midnight UTC, from a LEAN future-option quote zip (prices plain)."""
    import csv
    import io
    import zipfile

    out = []
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            parts = name[:-4].split("_")
            right, strike, expiry = parts[5], int(parts[6]) / 10_000, parts[7]
            last = None
            for row in csv.reader(io.TextIOWrapper(archive.open(name))):
                if int(row[0]) > ms_utc:
                    break
                last = row
            if last is not None:
                bid = float(last[4]) if last[4] else float("nan")
                ask = float(last[9]) if last[9] else float("nan")
                out.append((right, strike, expiry, bid, ask))
    return out
