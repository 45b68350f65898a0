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
from deploy.bundle import PRESETS, TIERS, BundleError, Tier, build, modules_of, refuse_out

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


CLOUD_LINK = {"cloud-id": 21_400_001, "local-id": 512_345_678, "organization-id": "a1b2c3d4e5"}


def test_bundling_again_keeps_the_link_lean_cloud_push_saved_and_never_takes_the_roots_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `lean cloud push` writes cloud-id and organization-id into the pushed project's config.json and the CLI
    # a local-id (lean-cli components/cloud/push_manager.py `_push_project`, components/config/
    # project_config_manager.py `get_local_id`); without them the next push creates a second cloud project.
    root_config = json.loads((ROOT / "config.json").read_text())
    root_config.update({"cloud-id": 99, "local-id": 98, "organization-id": "root-org"})  # `lean backtest .` did
    monkeypatch.setattr("deploy.bundle.CONFIG", tmp_path / "root-config.json")
    (tmp_path / "root-config.json").write_text(json.dumps(root_config))
    out = tmp_path / "dist" / "options-income"
    first = json.loads((build(TIERS["team"], out).folder / "config.json").read_text())
    assert not set(CLOUD_LINK) & set(first), "the root's ids went into the bundle"
    (out / "config.json").write_text(json.dumps({**first, **CLOUD_LINK}, indent=4))  # what the push saved
    again = json.loads((build(TIERS["researcher"], out, PRESETS["start-small"]).folder / "config.json").read_text())
    assert {k: again[k] for k in CLOUD_LINK} == CLOUD_LINK
    assert again["parameters"]["enable_lt112"] == "false" and again["description"] == root_config["description"]


def test_an_unreadable_bundle_config_stops_the_bundle_rather_than_lose_the_cloud_link(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    build(TIERS["team"], out)
    (out / "config.json").write_text('{"cloud-id": 214')
    with pytest.raises(BundleError, match=r"config\.json .* cloud-id"):
        build(TIERS["team"], out)
    assert (out / "config.json").read_text() == '{"cloud-id": 214'


def test_a_bundle_rewritten_in_another_layout_keeps_no_stale_module(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    plain = build(TIERS["team"], out)
    packed = build(TIERS["researcher"], out)
    assert packed.layout == "packed" and "core/settings.py" not in packed.files
    assert set(packed.files) == {p.relative_to(out).as_posix() for p in out.rglob("*") if p.suffix in (".py", ".ipynb")}
    assert set(build(TIERS["team"], out).files) == set(plain.files)


def test_root_owned_pycache_from_a_local_backtest_does_not_stop_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `lean backtest` runs `python -m compileall` on every source file of the project inside a root container
    # (lean-cli components/docker/lean_runner.py `set_up_python_options`), dist/ included when the project is
    # the workspace root: the __pycache__ folders it leaves cannot be removed by the user on Linux.
    out = tmp_path / "bundle"
    build(TIERS["team"], out)
    cache = out / "core" / "__pycache__"
    cache.mkdir()
    (cache / "settings.cpython-311.pyc").write_bytes(b"root's")
    real_unlink, real_rmdir = os.unlink, os.rmdir

    def refused(path: object) -> bool:
        return "__pycache__" in str(path) or str(path).endswith(".pyc")

    def unlink(path: str, *args: object, **kwargs: object) -> None:
        if refused(path):
            raise PermissionError(13, "Permission denied", str(path))
        real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]

    def rmdir(path: str, *args: object, **kwargs: object) -> None:
        if refused(path):
            raise PermissionError(13, "Permission denied", str(path))
        real_rmdir(path, *args, **kwargs)  # type: ignore[arg-type]

    # root ignores file modes, so the patches make the folder unremovable for whoever runs the tests
    monkeypatch.setattr(os, "unlink", unlink)
    monkeypatch.setattr(os, "remove", unlink)
    monkeypatch.setattr(os, "rmdir", rmdir)
    cache.chmod(0o555)
    try:
        bundle = build(TIERS["researcher"], out)  # plain → packed: core/settings.py goes, its cache stays
    finally:
        cache.chmod(0o755)
    assert bundle.layout == "packed" and not (out / "core" / "settings.py").exists()
    assert (cache / "settings.cpython-311.pyc").read_bytes() == b"root's"
    assert not any("__pycache__" in name for name in bundle.files)  # not a source file: never pushed


def test_the_bundle_folder_may_be_neither_the_workspace_nor_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    # checked on a stand-in workspace: a test that got this wrong on the real one would delete the repository
    workspace = tmp_path / "workspace"
    (workspace / "dist" / "options-income").mkdir(parents=True)
    (workspace / "main.py").write_text("")
    (workspace / "notes").mkdir()
    (workspace / "notes" / "todo.py").write_text("")
    refuse_out(workspace / "dist" / "options-income", workspace)
    refuse_out(workspace / "dist" / "new", workspace)
    for wrong in (workspace, tmp_path, workspace / "dist" / ".."):
        with pytest.raises(BundleError, match="the workspace itself or a folder holding it"):
            refuse_out(wrong, workspace)
    with pytest.raises(BundleError, match=r"has files but no config\.json: not a bundle"):
        refuse_out(workspace / "notes", workspace)
    assert (workspace / "main.py").exists() and (workspace / "notes" / "todo.py").exists()


def test_the_clis_output_folders_in_a_bundle_are_neither_counted_nor_touched(tmp_path: Path) -> None:
    # `lean backtest "dist/options-income"` writes backtests/ inside the bundle; the CLI's source walk skips
    # backtests, live, optimizations, storage, report and dot folders (lean-cli components/util/
    # project_manager.py `get_source_files`, components/__init__.py `output_reserved_names`)
    out = tmp_path / "bundle"
    build(TIERS["team"], out)
    kept = [out / "backtests" / "2026-12-01_09-00-00" / "report.html", out / "storage" / "notes.py"]
    kept.append(out / ".ipynb_checkpoints" / "research-checkpoint.ipynb")
    for path in kept:
        path.parent.mkdir(parents=True)
        path.write_text("the user's")
    bundle = build(TIERS["researcher"], out)
    assert all(path.read_text() == "the user's" for path in kept)
    assert not any(name.startswith(("backtests/", "storage/", ".ipynb")) for name in bundle.files)
