"""Reads LEAN's parameters into the plain `dict[str, str]` that core/settings validates."""

from __future__ import annotations

from AlgorithmImports import QCAlgorithm


def parameters_of(algorithm: QCAlgorithm) -> dict[str, str]:
    """All parameters LEAN passes (config.json's, or the `lean backtest --parameter` values, which replace them
    all: lean-cli lean/commands/backtest.py), names and values as strings; core/settings fills in the rest.
    `get_parameters()` is LEAN's read-only extended dictionary, which reads like a mapping (`items()`)."""
    return {str(name): str(value) for name, value in algorithm.get_parameters().items()}
