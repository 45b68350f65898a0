"""Shared test configuration. Under CI the hypothesis examples are derandomised, so a run is repeatable;
locally they stay random and keep exploring."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
