"""Shared test configuration.

Hypothesis runs one profile everywhere, locally and in CI: `repeatable` (derandomised: the examples follow
from each test, so a failure seen here is the failure CI sees, and the failing example is printed with a
`@reproduce_failure` blob). To explore new examples, `HYPOTHESIS_PROFILE=explore` with
`--hypothesis-seed=N` (`make fuzz` draws N and prints it in the header): the same N repeats the run.

`main`: main.py imported on the LEAN double (tests/fakes/lean), removed again after the test."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import settings

from tests.fakes import algorithm_imports as fake

settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "repeatable")
settings.load_profile(PROFILE)


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("--hypothesis-seed", default=None)
    return f"hypothesis profile: {PROFILE}" + (f", seed {seed} (rerun with --hypothesis-seed={seed})" if seed else "")


@pytest.fixture
def main() -> Iterator[ModuleType]:
    fake.install()
    try:
        yield importlib.import_module("main")
    finally:
        fake.uninstall()


@pytest.fixture(autouse=True)
def _snapshots_forget_their_valuations(request: pytest.FixtureRequest) -> None:
    """A market snapshot a test module builds once (`MARKET = snap()`) memoises every valuation and stress row
    computed on it (core/valuation, core/stress). Across tests that memo would let a test read figures an
    earlier test computed, and under `make mutation`, whose runs fork from a process that ran the whole
    suite unmutated, figures computed before the mutant: the mutated code never runs and the mutant
    survives. Each test starts with the module's snapshots forgetting what they memoised."""
    from core.model import MarketSnapshot

    module = getattr(request, "module", None)
    for value in vars(module).values() if module is not None else ():
        if isinstance(value, MarketSnapshot):
            value.memo.clear()


@pytest.fixture
def server_in_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own time zone set to UTC, as QuantConnect's cloud runs, for tests that a New York day
    is New York's: on a machine set to New York they would pass even if the code read the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
