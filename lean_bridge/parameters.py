"""Reads LEAN's parameters into the plain `dict[str, str]` that core/settings validates."""

from __future__ import annotations

from typing import Any


def parameters_of(algorithm: Any) -> dict[str, str]:
    """All parameters LEAN passes (config.json and `--parameter` overrides), names and values as strings.

    `get_parameters()` is a .NET dictionary under pythonnet (iterating yields key/value pairs) and a plain
    mapping in the test fakes; both are read the same way."""
    raw = algorithm.get_parameters()
    if hasattr(raw, "items"):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(pair.key): str(pair.value) for pair in raw}
