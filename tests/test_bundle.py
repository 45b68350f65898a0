"""make bundle: only what the algorithm runs, inside each tier's quota, and it runs: the packed layout is
imported in a fresh interpreter that cannot see this repository, and initializes the algorithm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from deploy.bundle import PRESETS, TIERS, BundleError, Tier, build, modules_of

ROOT = Path(__file__).resolve().parent.parent

RUN_PACKED = """
import importlib, linecache, sys, traceback
import packed_loader
sys.path.append(sys.argv[1])  # the repository, for the LEAN double only: packed modules are found first
fake = importlib.import_module("tests.fakes.algorithm_imports")
fake.install()
import main
algo = main.OptionsIncomeAlgorithm({})
algo.initialize()
assert algo.quit_message is None and algo.runtime is not None, algo.errors
ours = [m for m in sys.modules if m.split(".")[0] in ("core", "strategies", "risk", "safety", "trading", "lean_bridge")]
assert all(not str(sys.modules[m].__file__).startswith(sys.argv[2]) for m in ours), "loaded from the repository"
from core.settings import Settings, SettingsError
try:
    Settings.from_parameters({"daily_loss_limit": "7"})
except SettingsError as err:
    frame = traceback.extract_tb(err.__traceback__)[-1]
    print(len(ours), frame.filename, frame.line)
"""


def test_the_plain_bundle_ships_only_what_main_imports(tmp_path: Path) -> None:
    bundle = build(TIERS["team"], tmp_path / "plain")
    assert bundle.layout == "plain"
    shipped = set(bundle.files)
    assert {"main.py", "research.ipynb", "lean_bridge/runtime.py", "core/settings.py", "risk/__init__.py"} <= shipped
    assert "lean_bridge/research.py" in shipped  # what the notebook imports inside QuantConnect
    assert not any(name.split("/")[0] in ("tests", "replay", "tasty", "bench", "deploy") for name in shipped)
    assert "core/__init__.py" not in shipped  # empty: a namespace package
    assert (bundle.folder / "config.json").is_file()
    assert len(shipped) <= 75 and max(bundle.files.values()) <= 128 * 1024


def test_the_researcher_bundle_is_packed_within_its_quota_and_runs_on_its_own(tmp_path: Path) -> None:
    bundle = build(TIERS["researcher"], tmp_path / "packed")
    assert bundle.layout == "packed"
    assert len(bundle.files) <= 50 and max(bundle.files.values()) <= 64 * 1024
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", RUN_PACKED, str(ROOT), str(ROOT)],
        cwd=bundle.folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    count, filename, line = done.stdout.split(" ", 2)
    assert int(count) <= len(modules_of(ROOT / "main.py", ROOT / "research.ipynb"))
    assert filename == "core/settings.py" and "SettingsError" in line  # tracebacks name the real file and line


def test_a_tier_too_small_says_what_does_not_fit(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"core/settings\.py alone is .* over the free limit"):
        build(TIERS["free"], tmp_path / "free")
    with pytest.raises(BundleError, match="files, the tiny tier allows 3"):
        build(Tier("tiny", 3, 64 * 1024), tmp_path / "tiny")


def test_the_start_small_preset_is_written_into_the_bundles_config_and_a_wrong_value_stops_it(tmp_path: Path) -> None:
    bundle = build(TIERS["researcher"], tmp_path / "small", PRESETS["start-small"])
    parameters = json.loads((bundle.folder / "config.json").read_text())["parameters"]
    assert parameters["enable_lt112"] == "false" and parameters["zdte_wing_full"] == "5.0"
    assert (
        parameters["zdte_max_contracts"] == "1"
        and parameters["daily_loss_limit"] == Settings().to_parameters()["daily_loss_limit"]
    )
    with pytest.raises(BundleError, match="daily_loss_limit"):
        build(TIERS["researcher"], tmp_path / "bad", {"daily_loss_limit": "7"})
