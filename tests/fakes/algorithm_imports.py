"""A small stand-in for LEAN's `AlgorithmImports`, enough to run main.py's wiring without the engine.

It records what the algorithm asked for (dates, cash, brokerage model, logs, quit) so tests can assert on
it. Install it with `install()` before importing main.py; `uninstall()` removes it again."""

from __future__ import annotations

import sys
import types
from enum import Enum
from typing import Any


class BrokerageName(Enum):
    TASTYTRADE = 32


class AccountType(Enum):
    MARGIN = 0
    CASH = 1


class TimeZones:
    NEW_YORK = "America/New_York"


class QCAlgorithm:
    def __init__(self, parameters: dict[str, str] | None = None) -> None:
        self._parameters = dict(parameters or {})
        self.calls: dict[str, Any] = {}
        self.logs: list[str] = []
        self.errors: list[str] = []
        self.quit_message: str | None = None

    def get_parameters(self) -> dict[str, str]:
        return dict(self._parameters)

    def set_start_date(self, *args: Any) -> None:
        self.calls["start_date"] = args

    def set_end_date(self, *args: Any) -> None:
        self.calls["end_date"] = args

    def set_cash(self, cash: float) -> None:
        self.calls["cash"] = cash

    def set_time_zone(self, zone: str) -> None:
        self.calls["time_zone"] = zone

    def set_brokerage_model(self, name: BrokerageName, account: AccountType) -> None:
        self.calls["brokerage"] = (name, account)

    def log(self, text: str) -> None:
        self.logs.append(text)

    def debug(self, text: str) -> None:
        self.logs.append(text)

    def error(self, text: str) -> None:
        self.errors.append(text)

    def quit(self, message: str = "") -> None:
        self.quit_message = message


def install() -> types.ModuleType:
    module = types.ModuleType("AlgorithmImports")
    for name in ("QCAlgorithm", "BrokerageName", "AccountType", "TimeZones"):
        setattr(module, name, globals()[name])
    module.__all__ = ["QCAlgorithm", "BrokerageName", "AccountType", "TimeZones"]  # type: ignore[attr-defined]
    sys.modules["AlgorithmImports"] = module
    return module


def uninstall() -> None:
    sys.modules.pop("AlgorithmImports", None)
    sys.modules.pop("main", None)
