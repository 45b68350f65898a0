"""Shared test configuration. Under CI the hypothesis examples are derandomised, so a run is repeatable;
locally they stay random and keep exploring. `main`: main.py imported on the LEAN double (tests/fakes/lean),
removed again after the test."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import settings

from tests.fakes import algorithm_imports as fake

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def main() -> Iterator[ModuleType]:
    fake.install()
    try:
        yield importlib.import_module("main")
    finally:
        fake.uninstall()
