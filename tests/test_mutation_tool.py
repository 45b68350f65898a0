"""The mutation runner's bookkeeping (tests/mutation.py), on output in the shape mutmut 3.8.1 prints."""

from __future__ import annotations

from pathlib import Path

from tests.leandata import lean_data_dir
from tests.mutation import (
    PACKAGES,
    Equivalent,
    Mutant,
    _setup_cfg,
    _timing,
    changed_lines,
    is_equivalent,
    load_equivalents,
    parse_results,
    run_environment,
    score,
)

RESULTS = """\
    risk.drawdown.x_drawdown__mutmut_1: survived
    risk.drawdown.x_drawdown__mutmut_2: killed
    risk.greeks.x__breach__mutmut_3: timeout
    risk.manager.xǁRiskManagerǁmanage__mutmut_8: no tests
    some other line without a status
"""

SHOW = """\
# risk.drawdown.x_drawdown__mutmut_1: survived
--- risk/drawdown.py
+++ risk/drawdown.py
@@ -1,4 +1,4 @@
 def drawdown(account: AccountState) -> float:
-    if account.peak_net_liq <= 0:
+    if account.peak_net_liq < 0:
         return 0.0
"""


def test_results_are_read_line_by_line_with_the_function_name() -> None:
    mutants = parse_results(RESULTS)
    assert [(m.name, m.status) for m in mutants] == [
        ("risk.drawdown.x_drawdown__mutmut_1", "survived"),
        ("risk.drawdown.x_drawdown__mutmut_2", "killed"),
        ("risk.greeks.x__breach__mutmut_3", "timeout"),
        ("risk.manager.xǁRiskManagerǁmanage__mutmut_8", "no tests"),
    ]
    assert mutants[3].function == "risk.manager.xǁRiskManagerǁmanage"


def test_the_diff_gives_the_changed_lines_without_the_file_headers() -> None:
    assert changed_lines(SHOW) == ("if account.peak_net_liq <= 0:", "if account.peak_net_liq < 0:")


def test_the_score_leaves_out_equivalent_mutants_and_counts_timeouts_as_caught() -> None:
    survivor = Mutant("risk.drawdown.x_drawdown__mutmut_1", "survived", *changed_lines(SHOW))
    others = [m for m in parse_results(RESULTS) if m.name != survivor.name]
    mutants = [survivor, *others]
    plain = score(PACKAGES["risk"], mutants, [])
    assert (plain.caught, len(plain.survived), plain.score) == (2, 2, 0.5)  # "no tests" is not caught
    same = Equivalent("risk.drawdown.x_drawdown", "<= 0", "< 0", "a reason")
    anywhere = Equivalent("*", "peak_net_liq <= 0", "peak_net_liq < 0", "a reason")
    other_change = Equivalent("risk.drawdown.x_drawdown", "<= 0", "< 1", "no")
    other_function = Equivalent("risk.greeks.x_check", "<= 0", "< 0", "no")
    assert is_equivalent(survivor, [other_change, other_function]) is None
    assert is_equivalent(survivor, [same]) == same and is_equivalent(survivor, [anywhere]) == anywhere
    whole = Equivalent("risk.drawdown.x_drawdown", "*", "", "every change here")
    assert is_equivalent(survivor, [whole]) == whole
    assert is_equivalent(survivor, [Equivalent("*", "*", "", "too broad")]) is None  # a function must be named
    judged = score(PACKAGES["risk"], mutants, [same])
    assert (judged.caught, len(judged.equivalent), len(judged.survived)) == (2, 1, 1)
    assert judged.score == 2 / 3


def test_the_equivalents_file_parses_and_each_entry_says_why(tmp_path: Path) -> None:
    path = tmp_path / "eq.toml"
    path.write_text('[[equivalent]]\nfunction = "f"\nfrom = "a"\nto = "b"\nwhy = "same behaviour"\n')
    assert load_equivalents(path) == [Equivalent("f", "a", "b", "same behaviour")]
    assert load_equivalents(tmp_path / "missing.toml") == []
    (tmp_path / "two.toml").write_text('[[equivalent]]\nfunction = "g"\nfrom = "c"\nto = "d"\nwhy = "also"\n')
    assert [e.function for e in load_equivalents(tmp_path)] == ["f", "g"]  # a folder: every file in it
    project = load_equivalents()  # the project's own files
    assert len(project) >= 65 and all(e.why.strip() for e in project)


def test_a_core_run_mutates_only_the_named_modules_and_copies_the_rest() -> None:
    cfg = _setup_cfg(PACKAGES["core"], ["core", "risk", "tests", "config.json"])
    assert "source_paths=\n    core/\n" in cfg
    assert "only_mutate=\n    core/margin.py\n    core/fees.py\n" in cfg
    assert "also_copy=\n    risk\n    tests\n    config.json\n" in cfg
    assert "    tests/test_margin.py\n" in cfg and "tests/test_replay.py" not in cfg


def test_mutants_run_with_a_fixed_hash_seed_and_the_lean_data_found_from_the_project() -> None:
    env = run_environment({"PATH": "/bin"})
    assert env["PYTHONHASHSEED"] == "0" and env["PATH"] == "/bin"
    data = lean_data_dir()
    if data is None:  # no sample data beside the project (a clean CI clone): nothing to point at
        assert "LEAN_DATA_DIR" not in env
    else:
        assert env["LEAN_DATA_DIR"] == str(data.resolve()) and Path(env["LEAN_DATA_DIR"]).is_absolute()
    assert run_environment({"LEAN_DATA_DIR": "/elsewhere"})["LEAN_DATA_DIR"] == "/elsewhere"  # a choice is kept


def test_a_rescore_reports_the_runs_own_time_and_workers() -> None:
    assert _timing("341 1\n", 2) == (341.0, 1)
    assert _timing("352\n", 2) == (352.0, 2)  # a run timed before the workers were kept beside its time
