"""`python -m replay.sweep`: the same rows wherever the runs ran, a stopped sweep resumes from its cache, every
grid value checked before anything runs. Runs are a few weeks of 2018 so the file stays within seconds."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from replay import sweep_runs
from replay.dispatch import DispatchError, Where
from replay.sweep import main
from replay.sweep_runs import Row, RunCache, RunSpec, execute

START, END = date(2018, 1, 2), date(2018, 1, 19)


def specs() -> list[RunSpec]:
    return [
        RunSpec((("zdte_profit_target", "0.3"),), 7, START, END, 100_000.0),
        RunSpec((("zdte_profit_target", "0.7"),), 8, START, END, 100_000.0),
    ]


def test_a_two_worker_local_cluster_gives_the_serial_rows() -> None:
    serial = execute(specs(), None, Where())
    clustered = execute(specs(), None, Where(workers=2))  # a LocalCluster of two processes on 127.0.0.1
    assert clustered == serial
    assert [r["seed"] for r in serial] == [7, 8]  # in the order given, whatever finished first
    assert all(r["equity"] for r in serial) and serial[0]["equity"] != serial[1]["equity"]


def test_a_stopped_sweep_resumes_from_its_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = sweep_runs.run_replay
    ran: list[RunSpec] = []

    def dies_on_the_third(spec: RunSpec) -> Row:
        if len(ran) == 2:
            raise KeyboardInterrupt  # what a Ctrl-C in the middle of a sweep raises
        ran.append(spec)
        return real(spec)

    values = ["0.3", "0.5", "0.7"]
    window = [RunSpec((("zdte_profit_target", v),), 7, START, date(2018, 1, 5), 100_000.0) for v in values]
    monkeypatch.setattr(sweep_runs, "run_replay", dies_on_the_third)
    cache = RunCache(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        execute(window, cache, Where())
    assert len(list(tmp_path.glob("*.json"))) == 2  # what finished was kept

    ran.clear()

    def counted(spec: RunSpec) -> Row:
        ran.append(spec)
        return real(spec)

    monkeypatch.setattr(sweep_runs, "run_replay", counted)
    again = RunCache(tmp_path)
    rows = execute(window, again, Where())
    assert ran == [window[2]] and again.hits == 2  # only the run that never finished
    assert [r["parameters"] for r in rows] == [[["zdte_profit_target", v]] for v in ["0.3", "0.5", "0.7"]]
    ran.clear()
    assert execute(window, RunCache(tmp_path), Where()) == rows and ran == []  # a repeat runs nothing


def test_the_cache_key_changes_with_the_code_the_window_and_the_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = specs()[0]
    key = sweep_runs.cache_key(spec)
    assert sweep_runs.cache_key(RunSpec(spec.parameters, spec.seed, spec.start, spec.end, spec.capital)) == key
    others = [
        RunSpec(spec.parameters, 8, spec.start, spec.end, spec.capital),
        RunSpec(spec.parameters, spec.seed, spec.start, date(2018, 1, 18), spec.capital),
        RunSpec((("zdte_profit_target", "0.4"),), spec.seed, spec.start, spec.end, spec.capital),
        RunSpec(spec.parameters, spec.seed, spec.start, spec.end, spec.capital, history_until=spec.end),
    ]
    assert len({key, *(sweep_runs.cache_key(o) for o in others)}) == 5
    monkeypatch.setattr(sweep_runs, "code_version", lambda: "another revision")
    assert sweep_runs.cache_key(spec) != key


def test_a_wrong_grid_value_is_one_line_naming_it_and_nothing_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ["--workers", "0", "--out", str(out), "--cache", str(tmp_path / "cache")]
    assert main(["--grid", "zdte_profit_target=0.3,7", *args]) == 2
    error = capsys.readouterr().err.strip()
    said = "parameter 'zdte_profit_target' = '7': 7 is outside the allowed range 0 to 1"  # the settings' words
    assert error == f"--grid zdte_profit_target: {said}"
    assert main(["--grid", "no_such_parameter=1", *args]) == 2
    assert "no_such_parameter" in capsys.readouterr().err
    assert main(["--seeds", "7,x", *args]) == 2 and "--seeds" in capsys.readouterr().err
    assert main(["--walk-forward", "2y", *args]) == 2 and "TRAIN,TEST" in capsys.readouterr().err
    short = ["--start", "2018-01-02", "--end", "2018-12-31", "--walk-forward", "1y,6m"]
    assert main([*short, *args]) == 2 and "holds no training and test window" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_workers_and_scheduler_are_checked() -> None:
    assert Where.parse(0, None) == Where(0) and Where.parse(None, "tcp://10.0.0.1:8786").scheduler
    assert Where.parse(None, None).workers >= 1
    for workers, scheduler in ((-1, None), (2, "tcp://h:8786"), (None, "h:8786")):
        with pytest.raises(DispatchError):
            Where.parse(workers, scheduler)


def test_the_sweep_writes_a_row_per_run_and_a_heatmap(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--grid", "zdte_profit_target=0.3,0.7", "--seeds", "7", "--start", "2018-01-02", "--end", "2018-01-12"]
    rest = ["--workers", "0", "--out", str(out), "--cache", str(tmp_path / "c"), "--quiet"]
    assert main([*args, *rest, "--monte-carlo", "200", "--block", "3", "--mc-seed", "4"]) == 0
    with (out / "sweep.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["zdte_profit_target"] for r in rows] == ["0.3", "0.7"] and {r["seed"] for r in rows} == {"7"}
    for column in ("final_net_liq", "cagr", "max_drawdown_pct", "sharpe", "calmar", "zero_dte_trades",
                   "zero_dte_win_rate", "lt112_trades", "leap_ladder_win_rate"):  # fmt: skip
        assert column in rows[0]
    assert (out / "heatmap_calmar.png").stat().st_size > 0 and "| 0.7 | 7 |" in (out / "sweep.md").read_text()
    cached = [json.loads(p.read_text()) for p in (tmp_path / "c").glob("*.json")]
    assert sorted(float(r["final_net_liq"]) for r in rows) == sorted(c["final_net_liq"] for c in cached)
    carlo = json.loads((out / "monte_carlo.json").read_text())
    assert carlo["paths"] == 200 and carlo["block"] == 3 and carlo["days"] == len(cached[0]["equity"]) == 9
    assert (out / "monte_carlo.png").stat().st_size > 0
    assert main([*args, *rest, "--monte-carlo", "200", "--block", "3", "--mc-seed", "4"]) == 0  # from the cache
    assert json.loads((out / "monte_carlo.json").read_text()) == carlo  # the same paths for the same seed


def test_the_runs_bar_counts_cached_runs_apart_and_paces_on_the_rest() -> None:
    import io

    from replay.progress import RunsBar

    out = io.StringIO()
    bar = RunsBar(8, out, label="runs")
    bar.update(cached=True)
    bar.update(cached=True)
    bar.update()  # one run done here: the pace is of it alone, not of the cached ones
    line = bar.line(bar.started + 30.0)
    assert "3/8 runs (2 cached)" in line and "2m30s left" in line  # 5 left at 30 s each
    assert out.getvalue() == ""  # nothing drawn in the first seconds
