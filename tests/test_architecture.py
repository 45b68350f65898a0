"""The dependency rule of DESIGN.md, checked on the source itself and through ruff's banned-import rule."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DECISION_PACKAGES = ("core", "strategies", "risk", "safety", "trading")
LEAN = {"AlgorithmImports", "QuantConnect", "clr"}
FORBIDDEN_IN_DECISIONS = LEAN | {
    "tastytrade",
    "matplotlib",
    "os",
    "io",
    "pathlib",
    "socket",
    "subprocess",
    "shutil",
    "requests",
    "httpx",
    "httpx2",
    "sqlite3",
    "pickle",
}
LAYER = {"core": 0, "strategies": 1, "risk": 1, "safety": 1, "trading": 2}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def python_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("package", DECISION_PACKAGES)
def test_decision_packages_import_no_lean_sdk_or_io(package: str) -> None:
    for path in python_files(package):
        bad = imported_roots(path) & FORBIDDEN_IN_DECISIONS
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("package", DECISION_PACKAGES)
def test_layers_only_import_downwards(package: str) -> None:
    for path in python_files(package):
        for root in imported_roots(path):
            if root in LAYER and root != package:
                assert LAYER[root] < LAYER[package], f"{path.relative_to(ROOT)} imports {root}"


def test_only_main_and_lean_bridge_import_lean_and_only_tasty_imports_the_sdk() -> None:
    shells = ("core", "strategies", "risk", "safety", "lean_bridge", "replay", "tasty", "bench")
    files = sorted(ROOT.glob("*.py")) + [p for folder in shells for p in python_files(folder)]
    for path in files:
        rel = path.relative_to(ROOT)
        roots = imported_roots(path)
        if not (rel.as_posix() == "main.py" or rel.parts[0] == "lean_bridge"):
            assert not roots & LEAN, f"{rel} imports LEAN"
        if rel.parts[0] != "tasty":
            assert "tastytrade" not in roots, f"{rel} imports tastytrade"


def test_lean_bridge_reaches_the_decisions_only_through_core_and_the_wired_system() -> None:
    """DESIGN's table: lean_bridge/ imports LEAN and core; the wiring of the decision packages it shares with
    the replay lives in trading/ (so both shells build the identical set)."""
    for path in python_files("lean_bridge"):
        bad = imported_roots(path) & {"strategies", "risk", "safety", "replay", "tasty"}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_ruff_fails_when_core_imports_lean(tmp_path: Path) -> None:
    """Proves the lint rule bites: a copy of the project's ruff configs with a core module importing LEAN."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed in this environment")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "core").mkdir()
    shutil.copy(ROOT / "core" / "ruff.toml", tmp_path / "core" / "ruff.toml")
    (tmp_path / "core" / "leaky.py").write_text("from AlgorithmImports import QCAlgorithm\n\nprint(QCAlgorithm)\n")
    (tmp_path / "core" / "reads_files.py").write_text("import os\n\nprint(os.getcwd())\n")
    result = subprocess.run(
        [ruff, "check", "--no-cache", "."], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "TID251" in result.stdout and "leaky.py" in result.stdout and "reads_files.py" in result.stdout
