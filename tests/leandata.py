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
