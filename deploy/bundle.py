"""The cloud bundle: a LEAN project folder with only what the algorithm runs, inside QuantConnect's quotas.

`lean cloud push` uploads every .py, .ipynb, .cs, .html and .css file under a project, tests included, and
QuantConnect limits each project's files by tier (REFERENCE.md): Free 25 files of at most 32 KB, Researcher
50 of 64 KB, Team 75 of 128 KB. The bundle holds main.py, config.json, research.ipynb and the modules
they import (found by reading the imports, not by running anything), never tests/, replay/ or tasty/.

Two layouts:
- plain: the modules as they are (empty `__init__.py` files left out: Python reads those folders as
  namespace packages). Readable in the cloud IDE; used whenever it fits the tier.
- packed: when the plain layout has too many files for the tier, the modules' sources go into a few
  `packed_N.py` files under the size limit, and `packed_loader.py` (imported first by main.py and the
  notebook) serves them to `import` from memory. Each module keeps its own name and its real file name in
  tracebacks (the source is registered with linecache), so errors in the cloud log point at `core/model.py`
  line N as they would locally.
"""

from __future__ import annotations

import ast
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from core.settings import Settings, SettingsError
from deploy.lean_ids import IDS  # the ids the lean CLI writes into a project's config.json

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.json"  # the workspace project's config: parameters, description, language
PACKAGES = ("core", "strategies", "risk", "safety", "trading", "lean_bridge")
COUNTED = (".py", ".ipynb", ".cs", ".html", ".css")  # what `lean cloud push` uploads
# Folders the CLI's source walk skips, besides dot folders and virtual environments: its own output (lean-cli
# lean/components/__init__.py `output_reserved_names`, components/util/project_manager.py `get_source_files`).
CLI_OUTPUT = ("backtests", "live", "optimizations", "storage", "report")
LOADER = "packed_loader"
HEADROOM = 2_048  # bytes kept free under a tier's size limit in each packed file


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    max_files: int
    max_bytes: int


TIERS = {
    "free": Tier("free", 25, 32 * 1024),
    "researcher": Tier("researcher", 50, 64 * 1024),
    "team": Tier("team", 75, 128 * 1024),
}


class BundleError(ValueError):
    pass


# The start-small plan (README): only the Friday 0DTE, one SPXW condor or spread with 5-point wings, at any
# account size. (The usual smallest start, one MES option, does not exist in LEAN: no micro future options.)
PRESETS: dict[str, dict[str, str]] = {
    "start-small": {
        "enable_zero_dte": "true",
        "enable_strangles": "false",
        "enable_lt112": "false",
        "enable_ipmcc": "false",
        "enable_leap_ladder": "false",
        "enable_delta_hedge": "false",
        "zdte_max_contracts": "1",
        "zdte_wing_start_small": "5.0",
        "zdte_wing_small": "5.0",
        "zdte_wing_full": "5.0",
        "zdte_wing_phase4": "5.0",
    },
}


@dataclass
class Bundle:
    folder: Path
    tier: Tier
    layout: str  # "plain" or "packed"
    files: dict[str, int] = field(default_factory=dict)  # relative path → bytes, for the counted types

    @property
    def largest(self) -> tuple[str, int]:
        return max(self.files.items(), key=lambda kv: kv[1])


# ---------------------------------------------------------------------------------------------- what to ship


def module_file(name: str) -> Path | None:
    """The file of a project module (`core.model` → core/model.py, `risk` → risk/__init__.py), if any."""
    parts = name.split(".")
    if parts[0] not in PACKAGES:
        return None
    as_module = ROOT.joinpath(*parts).with_suffix(".py")
    if as_module.is_file():
        return as_module
    as_package = ROOT.joinpath(*parts, "__init__.py")
    return as_package if as_package.is_file() else None


def _source(path: Path) -> str:
    """A module's text, or a notebook's code cells joined (the notebook runs in the cloud project too)."""
    if path.suffix != ".ipynb":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def imported_modules(path: Path) -> set[str]:
    """The project modules one file imports (`from core import pricing` counts core.pricing)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(_source(path), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if module_file(name) is not None}


def modules_of(*entries: Path) -> dict[str, Path]:
    """Every project module reachable from the `entries`, with its package `__init__` files."""
    todo: list[str] = [name for entry in entries for name in imported_modules(entry)]
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name)
        assert path is not None
        seen[name] = path
        todo += imported_modules(path)
        parts = name.split(".")
        todo += [".".join(parts[:n]) for n in range(1, len(parts))]  # the packages it lives in
    return dict(sorted(seen.items()))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# ---------------------------------------------------------------------------------------------- layouts


def parameters_with(overrides: dict[str, str]) -> dict[str, str]:
    """config.json's parameters with `overrides`, validated as the algorithm will at start: a wrong value
    stops the bundle here rather than the algorithm in the cloud."""
    config = json.loads(CONFIG.read_text())
    parameters = {**config["parameters"], **overrides}
    try:
        Settings.from_parameters(parameters)
    except SettingsError as err:
        raise BundleError(str(err)) from None
    return dict(parameters)


def refuse_out(out: Path, workspace: Path = ROOT) -> None:
    """Stop before writing a bundle where it would overwrite the project itself: the bundle replaces the
    source files it finds in `out`."""
    out, workspace = out.resolve(), workspace.resolve()
    if workspace.is_relative_to(out):
        raise BundleError(f"--out {out} is the workspace itself or a folder holding it: choose a folder under dist/")
    if out.is_dir() and any(out.iterdir()) and not (out / "config.json").is_file():
        raise BundleError(f"--out {out} has files but no config.json: not a bundle, so nothing is written there")


def bundle_config(out: Path, parameters: dict[str, str]) -> dict[str, object]:
    """The bundle's config.json: the workspace's with `parameters`, the workspace's own ids left out and the
    existing bundle's kept, so `lean cloud push` updates the cloud project it created before instead of
    creating another and renaming the folder to "options-income 2" (push_manager.py `_push_project`)."""
    # The bundle's ids are its link to its cloud project; the root's, when `lean backtest .` or a push of the
    # root wrote them, belong to another project.
    config = {k: v for k, v in json.loads(CONFIG.read_text()).items() if k not in IDS}
    config["parameters"] = parameters
    existing = out / "config.json"
    if existing.is_file():
        try:
            previous = json.loads(existing.read_text())
            if not isinstance(previous, dict):
                raise ValueError("not a JSON object")
        except ValueError as err:
            raise BundleError(
                f"{existing} cannot be read ({err}): it may hold the cloud-id of the bundle's cloud project; "
                "fix it or delete it (the next push then creates a new cloud project)"
            ) from None
        config.update({k: previous[k] for k in IDS if k in previous})
    return config


def build(tier: Tier, out: Path, overrides: dict[str, str] | None = None) -> Bundle:
    """Write the bundle for `tier` into `out`: plain if it fits, packed otherwise; config.json carries the
    parameters with `overrides` applied and keeps the cloud link of the bundle already there.

    The folder is rewritten in place, never removed: `lean backtest` byte-compiles every source file of the
    project in a root container (lean-cli components/docker/lean_runner.py `set_up_python_options`, which
    runs `python -m compileall`), dist/ included when the project is the workspace root, and on Linux the
    `__pycache__` folders it leaves cannot be removed by the user. They are left alone: Python ignores a
    cached module whose source is gone (PEP 3147), and `lean cloud push` uploads only source files."""
    refuse_out(out)
    parameters = parameters_with(overrides or {})
    config = bundle_config(out, parameters)
    modules = modules_of(ROOT / "main.py", ROOT / "research.ipynb")
    plain = {relative(p): p for p in modules.values() if p.stat().st_size or p.name != "__init__.py"}
    plain_count = len(plain) + 2  # main.py and research.ipynb
    too_big = [f"{name} ({p.stat().st_size:,} bytes)" for name, p in plain.items() if p.stat().st_size > tier.max_bytes]
    out.mkdir(parents=True, exist_ok=True)
    if plain_count <= tier.max_files and not too_big:
        for name, path in plain.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / name)
        shutil.copyfile(ROOT / "main.py", out / "main.py")
        shutil.copyfile(ROOT / "research.ipynb", out / "research.ipynb")
        written = {*plain, "main.py", "research.ipynb"}
        layout = "plain"
    else:
        written = _pack(modules, tier, out)
        layout = "packed"
    _remove_stale(out, written)
    (out / "config.json").write_text(json.dumps(config, indent=4) + "\n")
    bundle = Bundle(out, tier, layout, counted_files(out))
    check(bundle)
    return bundle


def _remove_stale(out: Path, written: set[str]) -> None:
    """Delete the source files an earlier bundle wrote that this one did not (a plain module after a packed
    bundle, or the reverse), and the module folders they leave empty. What the CLI left (`__pycache__`, see
    build; backtests/ and its other output folders) is never touched."""
    stale = set(counted_files(out)) - written
    for name in sorted(stale):
        (out / name).unlink()
    folders = {(out / name).parent for name in stale} - {out}
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):  # the deepest first
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _pack(modules: dict[str, Path], tier: Tier, out: Path) -> set[str]:
    """Write the packed layout; return the names of the files written."""
    limit = tier.max_bytes - HEADROOM
    chunks: list[dict[str, tuple[str, str, bool]]] = [{}]
    size = 0
    for name, path in modules.items():
        entry = (relative(path), path.read_text(), path.name == "__init__.py")
        cost = len(repr(entry).encode()) + len(name) + 8
        if cost > limit:
            raise BundleError(f"{relative(path)} alone is {cost:,} bytes packed: over the {tier.name} limit")
        if size + cost > limit:
            chunks.append({})
            size = 0
        chunks[-1][name] = entry
        size += cost
    names = []
    for n, chunk in enumerate(chunks, start=1):
        names.append(f"packed_{n}")
        body = ",\n".join(f"    {name!r}: {entry!r}" for name, entry in chunk.items())
        (out / f"packed_{n}.py").write_text(
            f'"""Packed sources {n} of {len(chunks)} (written by `make bundle`: do not edit)."""\n\n'
            f"SOURCES = {{\n{body},\n}}\n"
        )
    (out / f"{LOADER}.py").write_text(_loader_source(names))
    first = f"import {LOADER}  # noqa: F401  the packed modules (make bundle); must come first\n"
    (out / "main.py").write_text(_after_docstring(ROOT / "main.py", first))
    notebook = json.loads((ROOT / "research.ipynb").read_text())
    notebook["cells"].insert(
        0,
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": [first]},
    )
    (out / "research.ipynb").write_text(json.dumps(notebook, indent=1) + "\n")
    return {*(f"{name}.py" for name in names), f"{LOADER}.py", "main.py", "research.ipynb"}


def _after_docstring(path: Path, line: str) -> str:
    tree = ast.parse(path.read_text())
    text = path.read_text().splitlines(keepends=True)
    first = tree.body[0]
    at = first.end_lineno if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) else 0
    assert at is not None
    return "".join([*text[:at], "\n", line, *text[at:]])


def _loader_source(chunks: list[str]) -> str:
    imports = "\n".join(f"from {name} import SOURCES as _{name}" for name in chunks)
    merged = ", ".join(f"**_{name}" for name in chunks)
    return f'''"""Serves the packed modules to `import` (written by `make bundle`: see deploy/bundle.py)."""

import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import sys

{imports}

SOURCES = {{{merged}}}


class PackedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in SOURCES:
            return None
        filename, _, is_package = SOURCES[fullname]
        return importlib.util.spec_from_loader(fullname, self, origin=filename, is_package=is_package)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        filename, source, is_package = SOURCES[module.__name__]
        module.__file__ = filename
        if is_package:
            module.__path__ = []
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), module.__dict__)


if not any(isinstance(finder, PackedModules) for finder in sys.meta_path):
    sys.meta_path.insert(0, PackedModules())
'''


# ---------------------------------------------------------------------------------------------- quotas


def counted_files(folder: Path) -> dict[str, int]:
    """The files `lean cloud push` uploads from `folder`, with their sizes, walked as the CLI walks them."""
    found: dict[str, int] = {}

    def walk(directory: Path) -> None:
        for path in sorted(directory.iterdir()):
            if path.is_dir():
                if not (path.name in CLI_OUTPUT or path.name.startswith(".") or (path / "pyvenv.cfg").is_file()):
                    walk(path)
            elif path.suffix in COUNTED:
                found[path.relative_to(folder).as_posix()] = path.stat().st_size

    walk(folder)
    return found


def check(bundle: Bundle) -> None:
    tier = bundle.tier
    problems = []
    if len(bundle.files) > tier.max_files:
        problems.append(f"{len(bundle.files)} files, the {tier.name} tier allows {tier.max_files}")
    problems += [
        f"{name} is {size:,} bytes, over the {tier.name} tier's {tier.max_bytes:,}"
        for name, size in bundle.files.items()
        if size > tier.max_bytes
    ]
    if problems:
        raise BundleError("the bundle does not fit QuantConnect's quota: " + "; ".join(problems))
