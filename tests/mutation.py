"""Mutation testing of the rule packages with mutmut 3 (`make mutation`, `make mutation PACKAGE=safety`).

mutmut changes one thing at a time in a package's code (a `<` to `<=`, a constant nudged, a rule's name
blanked) and runs the tests that reach the changed function; a change no test notices is a surviving mutant.
Each package is mutated in its own copy of the working tree under `.mutation/<package>/`, with only the
tests that cover it selected, so that a run finishes on a 2-core machine (docs/TESTING.md has the times).

Survivors judged equivalent (no test can tell them apart, because the program's behaviour is the same) are
listed with their reason in `tests/mutation_equivalent/` (one file per package, and `common.toml`), each as
the text the mutant changes (`from` → `to`, in one function or in any), rather than by mutmut's mutant
number, which shifts whenever the function is edited. The score counts a mutant as
caught when a test failed or timed out on it, and leaves the equivalent ones out:

    score = caught / (mutants - equivalent)

The result goes to `reports/mutation/<package>.json` (with the date and commit) and to the terminal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.leandata import lean_data_dir

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT_DIR = ROOT / "tests" / "mutation_equivalent"
REPORTS = ROOT / "reports" / "mutation"
WORK = ROOT / ".mutation"


@dataclass(frozen=True)
class Package:
    """What one run mutates and which tests it runs against the mutants."""

    name: str
    mutate: tuple[str, ...]  # files (or folders) whose functions are mutated
    tests: tuple[str, ...]  # the test files and folders selected; mutmut runs those reaching the function
    goal: float  # the score issue #21 asks for


# The end-to-end tests (replays, the LEAN double's scenarios, chaos, fuzz) reach every function and take
# minutes each; selecting them would run them for almost every mutant. The unit, property and scenario
# tests below are the ones that state the rules.
_RULE_TESTS = (
    "tests/risk",
    "tests/strategies",
    "tests/test_pipeline.py",
    "tests/test_safety_assignment.py",
    "tests/test_safety_build.py",
    "tests/test_safety_checks.py",
    "tests/test_safety_connection_alerts.py",
    "tests/test_safety_data.py",
    "tests/test_safety_fills.py",
    "tests/test_safety_performance.py",
    "tests/test_safety_persistence.py",
    "tests/test_safety_state.py",
)
_CORE_TESTS = (
    "tests/test_margin.py",
    "tests/test_fees.py",
    "tests/test_pricing.py",
    "tests/test_calendar.py",
    "tests/test_model.py",
    "tests/test_book.py",
    "tests/test_chain_greeks.py",
    "tests/test_settings.py",
    "tests/test_stress.py",
    "tests/acceptance/test_calendar_vs_lean.py",  # the calendar against LEAN's own market-hours data
)

PACKAGES: dict[str, Package] = {
    "risk": Package("risk", ("risk",), _RULE_TESTS, 0.90),
    "safety": Package("safety", ("safety",), _RULE_TESTS, 0.90),
    "strategies": Package("strategies", ("strategies",), _RULE_TESTS, 0.85),
    # The core: the modules that price, margin, charge and time a trade, and stress the book.
    "core": Package(
        "core",
        ("core/margin.py", "core/fees.py", "core/exits.py", "core/pricing.py", "core/calendar.py", "core/stress.py"),
        _CORE_TESTS + _RULE_TESTS,
        0.85,
    ),
}

CAUGHT = frozenset({"killed", "timeout"})


@dataclass(frozen=True)
class Equivalent:
    """A change no test can detect, with why: a mutant matches when it is in `function` (mutmut's name without
    the mutant number, or "*" for any) and its added line is its removed line with `from_` replaced by `to`;
    `from_` "*" (with a named function) matches every change in that function."""

    function: str
    from_: str
    to: str
    why: str

    def matches(self, mutant: Mutant) -> bool:
        if self.from_ == "*":  # every change in one named function (a reason that holds for all of them)
            return self.function == mutant.function
        if self.function not in ("*", mutant.function) or self.from_ not in mutant.removed:
            return False
        return mutant.removed.replace(self.from_, self.to, 1) == mutant.added


@dataclass(frozen=True)
class Mutant:
    name: str  # e.g. risk.drawdown.x_drawdown__mutmut_1
    status: str  # killed, survived, no tests, timeout, suspicious, skipped, ...
    removed: str = ""
    added: str = ""

    @property
    def function(self) -> str:
        return re.sub(r"__mutmut_\d+$", "", self.name)


def parse_results(text: str) -> list[Mutant]:
    """`mutmut results --all true` prints one `name: status` line per mutant."""
    mutants = []
    for line in text.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            mutants.append(Mutant(name, status.strip()))
    return mutants


def changed_lines(diff: str) -> tuple[str, str]:
    """The removed and added lines of `mutmut show`'s unified diff, each stripped and joined by ' / '."""
    removed = [line[1:].strip() for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return " / ".join(removed), " / ".join(added)


def load_equivalents(path: Path = EQUIVALENT_DIR) -> list[Equivalent]:
    """Every entry of a file, or of every `*.toml` in a folder (all packages' files: an entry names its
    function, so one package's entries never match another's mutants)."""
    files = sorted(path.glob("*.toml")) if path.is_dir() else [path] if path.exists() else []
    return [
        Equivalent(e["function"], e["from"], e["to"], e["why"])
        for file in files
        for e in tomllib.loads(file.read_text()).get("equivalent", [])
    ]


def is_equivalent(mutant: Mutant, equivalents: Iterable[Equivalent]) -> Equivalent | None:
    return next((e for e in equivalents if e.matches(mutant)), None)


@dataclass(frozen=True)
class Score:
    package: str
    mutants: int
    caught: int
    survived: tuple[Mutant, ...]  # neither caught nor equivalent: survived, no tests, suspicious, ...
    equivalent: tuple[Mutant, ...]
    goal: float

    @property
    def score(self) -> float:
        counted = self.mutants - len(self.equivalent)
        return self.caught / counted if counted else 1.0


def score(package: Package, mutants: Sequence[Mutant], equivalents: Sequence[Equivalent]) -> Score:
    caught = sum(1 for m in mutants if m.status in CAUGHT)
    equivalent: list[Mutant] = []
    survived: list[Mutant] = []
    for m in mutants:
        if m.status not in CAUGHT:
            (equivalent if is_equivalent(m, equivalents) else survived).append(m)
    return Score(package.name, len(mutants), caught, tuple(survived), tuple(equivalent), package.goal)


def _copy_tree(dest: Path) -> None:
    """The working tree as git sees it (tracked and new files, ignored ones left out), uncommitted edits
    included, so that a mutation run tests what is about to be committed."""
    if dest.exists():
        shutil.rmtree(dest)
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _setup_cfg(package: Package, top_level: Sequence[str]) -> str:
    def block(key: str, values: Iterable[str]) -> str:
        return key + "=\n" + "".join(f"    {v}\n" for v in values)

    only = [p if p.endswith(".py") else p + "/*" for p in package.mutate]
    sources = sorted({p.split("/")[0] + "/" for p in package.mutate})
    copy = [p for p in top_level if p + "/" not in sources]
    return (
        "[mutmut]\n"
        + block("source_paths", sources)
        + block("only_mutate", only)
        + block("pytest_add_cli_args_test_selection", package.tests)
        + block("also_copy", copy)
    )


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def run_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment mutmut runs in: a fixed hash seed, and the LEAN sample data found from the project
    itself. The copy under `.mutation/<package>/` is two folders deeper, where `../shared/lean-data` does not
    resolve: without this the acceptance tests on real data (the calendar against LEAN's market hours) skip
    and no mutant is ever caught by them."""
    env = {**environ, "PYTHONHASHSEED": "0"}
    data = lean_data_dir()
    if data is not None and "LEAN_DATA_DIR" not in env:
        env["LEAN_DATA_DIR"] = str(data.resolve())
    return env


def run(package: Package, workers: int, rescore: bool = False) -> Score:
    """Mutate and test `package`, or with `rescore` only score the last run again (after editing the
    equivalents file): the seconds and workers reported are then the last run's."""
    work = WORK / package.name
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    env = run_environment(os.environ)
    log = work / "mutmut-run.log"
    timing = work / "seconds.txt"
    if rescore:
        if not timing.exists():
            raise SystemExit(f"no finished run of {package.name} to score again: run without --rescore first")
    else:
        tested = _commit()  # the tree as it is copied now is what the run tests
        _copy_tree(work)
        top_level = sorted(p.name for p in work.iterdir() if p.name not in {".git", ".mutation", "setup.cfg"})
        (work / "setup.cfg").write_text(_setup_cfg(package, top_level))
        started = time.monotonic()
        with log.open("w") as out:
            code = subprocess.run(
                [mutmut, "run", "--max-children", str(workers)], cwd=work, stdout=out, stderr=subprocess.STDOUT, env=env
            ).returncode
        if code != 0:
            raise SystemExit(f"mutmut run failed for {package.name} (exit {code}); see {log}")
        timing.write_text(f"{time.monotonic() - started:.0f} {workers}\n")
        (work / "commit.txt").write_text(tested + "\n")  # kept for a rescore
    seconds, workers = _timing(timing.read_text(), workers)
    commit = (work / "commit.txt").read_text().strip() if (work / "commit.txt").exists() else _commit()
    results = subprocess.run(
        [mutmut, "results", "--all", "true"], cwd=work, capture_output=True, text=True, check=True, env=env
    ).stdout
    listed = parse_results(results)
    diffs = _diffs([m.name for m in listed if m.status not in CAUGHT], work, env)
    mutants = [Mutant(m.name, m.status, *changed_lines(diffs[m.name])) if m.name in diffs else m for m in listed]
    result = score(package, mutants, load_equivalents())
    _write_report(result, seconds, workers, commit)
    return result


# `mutmut show NAME` prints one mutant's diff, but starts a process each time (minutes for 600 survivors);
# this asks mutmut 3.8.1's own diff function for all of them in one process (the version is pinned).
_DIFFS = """
import json, sys
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.utils.file_utils import walk_mutatable_files
wanted = set(json.load(sys.stdin))
out = {}
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for name in wanted & set(data.exit_code_by_key):
        out[name] = get_diff_for_mutant(name, path=data.path)
json.dump(out, sys.stdout)
"""


def _diffs(names: Sequence[str], work: Path, env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _DIFFS], cwd=work, input=json.dumps(names), capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise SystemExit(f"reading the surviving mutants' diffs failed: {done.stderr.strip()[-500:]}")
    diffs: dict[str, str] = json.loads(done.stdout)
    return diffs


def _commit() -> str:
    """HEAD, marked when tracked files differ from it (the reports themselves do not count)."""
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!reports"))
    return _git("rev-parse", "--short", "HEAD") + ("+uncommitted" if dirty else "")


def _timing(text: str, workers: int) -> tuple[float, int]:
    """The run's seconds and its workers (a rescore reports the run's own, not its own default)."""
    fields = text.split()
    return float(fields[0]), int(fields[1]) if len(fields) > 1 else workers


def _write_report(result: Score, seconds: float, workers: int, commit: str) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    body = {
        "package": result.package,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "commit": commit,
        "mutmut": _mutmut_version(),
        "workers": workers,
        "seconds": round(seconds),
        "mutants": result.mutants,
        "caught": result.caught,
        "equivalent": len(result.equivalent),
        "survived": len(result.survived),
        "score": round(result.score, 4),
        "goal": result.goal,
        "survivors": [
            {"name": m.name, "status": m.status, "removed": m.removed, "added": m.added} for m in result.survived
        ],
    }
    (REPORTS / f"{result.package}.json").write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n")


def _mutmut_version() -> str:
    from importlib.metadata import version

    return version("mutmut")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--package", choices=sorted(PACKAGES), action="append", help="default: all four")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rescore", action="store_true", help="score the last run again (equivalents edited)")
    args = parser.parse_args(argv)
    below_goal = False
    for name in args.package or list(PACKAGES):
        result = run(PACKAGES[name], args.workers, args.rescore)
        print(
            f"{name:<11} score {result.score:6.1%} (goal {result.goal:.0%}): {result.caught} caught of "
            f"{result.mutants}, {len(result.equivalent)} equivalent, {len(result.survived)} surviving"
            f" -> reports/mutation/{name}.json"
        )
        below_goal |= result.score < result.goal
    return 1 if below_goal else 0


if __name__ == "__main__":
    raise SystemExit(main())
