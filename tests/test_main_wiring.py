"""main.py runs against the fake AlgorithmImports: a good configuration starts, a bad one refuses."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

from core.settings import Settings
from tests.fakes import algorithm_imports as fake


@pytest.fixture
def main_module() -> Iterator[ModuleType]:
    fake.install()
    try:
        yield importlib.import_module("main")
    finally:
        fake.uninstall()


def test_initialize_sets_up_the_tastytrade_account_and_logs_the_config(main_module: ModuleType) -> None:
    algo = main_module.OptionsIncomeAlgorithm(Settings().to_parameters())
    algo.initialize()
    assert algo.quit_message is None
    assert algo.calls["brokerage"] == (fake.BrokerageName.TASTYTRADE, fake.AccountType.MARGIN)
    assert algo.calls["time_zone"] == "America/New_York"
    assert algo.calls["start_date"] == (2019, 1, 2)
    assert algo.calls["cash"] == 50_000.0
    config_logs = [line for line in algo.logs if line.startswith("effective config")]
    assert len(config_logs) == 1 and "daily_loss_limit = 0.05" in config_logs[0]


def test_a_wrong_parameter_stops_the_algorithm_with_its_name(main_module: ModuleType) -> None:
    algo = main_module.OptionsIncomeAlgorithm({"daily_loss_limit": "7"})
    algo.initialize()
    assert algo.quit_message is not None and "daily_loss_limit" in algo.quit_message
    assert "brokerage" not in algo.calls  # nothing was set up
