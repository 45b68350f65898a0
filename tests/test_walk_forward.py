"""Walk-forward: windows that never overlap their test, a choice made on the training window alone (prices
changed after its end leave it as it was), and the stitched out-of-sample curve."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date
from typing import Any

import numpy as np
import pytest

from replay import modelled
from replay.dispatch import Where
from replay.history import DailyHistory
from replay.sweep import walk_forward
from replay.sweep_runs import Row, RunSpec, execute
from replay.walk_forward import Parameters, WalkForwardError, Window, add_months, choose, parse_spans, stitch, windows


def test_spans_and_months() -> None:
    assert parse_spans("2y,6m") == (24, 6) and parse_spans("18m, 3m") == (18, 3)
    for wrong in ("2y", "2y,0m", "2w,1m", "y,m", "1y,1m,1m"):
        with pytest.raises(WalkForwardError):
            parse_spans(wrong)
    assert add_months(date(2020, 1, 31), 1) == date(2020, 2, 29) and add_months(date(2019, 11, 15), 3) == date(
        2020, 2, 15
    )


def test_windows_roll_by_the_test_length_and_no_test_overlaps_its_training() -> None:
    cut = windows(date(2010, 1, 1), date(2013, 3, 31), 24, 6)
    assert cut[0] == Window(date(2010, 1, 1), date(2011, 12, 31), date(2012, 1, 1), date(2012, 6, 30))
    assert [w.test_start for w in cut] == [date(2012, 1, 1), date(2012, 7, 1), date(2013, 1, 1)]
    assert cut[-1].test_end == date(2013, 3, 31)  # the run's end cuts the last test window
    for before, after in itertools.pairwise(cut):
        assert after.test_start > before.test_end  # the test windows follow each other without overlap
    assert all(w.train_end < w.test_start for w in cut)
    assert windows(date(2010, 1, 1), date(2011, 6, 30), 24, 6) == []


def _row(value: str, seed: int, calmar: float | None) -> Row:
    return {"parameters": [["zdte_profit_target", value]], "seed": seed, "calmar": calmar, "max_drawdown_pct": 1.0}


def test_choose_takes_the_best_mean_over_seeds_undefined_counting_worst() -> None:
    rows = [_row("0.3", 7, 2.0), _row("0.3", 8, 0.0), _row("0.5", 7, 1.5), _row("0.5", 8, 1.0)]
    assert choose(rows, "calmar") == (("zdte_profit_target", "0.5"),)  # mean 1.25 beats 1.0, not the best row
    rows += [_row("0.7", 7, 9.0), _row("0.7", 8, None)]
    assert choose(rows, "calmar") == (("zdte_profit_target", "0.5"),)
    tied = [_row("0.3", 7, 1.0), _row("0.5", 7, 1.0)]
    assert choose(tied, "calmar") == (("zdte_profit_target", "0.3"),)  # a tie goes to the grid's first


def test_stitch_compounds_each_windows_returns() -> None:
    first = [(date(2020, 1, 2), 110.0), (date(2020, 1, 3), 99.0)]
    second = [(date(2020, 1, 6), 50.0)]  # its own capital of 100: half lost
    curve = stitch([first, second], [100.0, 100.0], 1000.0)
    assert [d for d, _ in curve] == [date(2020, 1, 2), date(2020, 1, 3), date(2020, 1, 6)]
    assert np.allclose([v for _, v in curve], [1100.0, 990.0, 495.0])


TRAIN_END = date(2018, 2, 1)


def _changed_after(day: date) -> Any:
    """load_paths with every price after `day` moved: the indices 30% lower, VIX doubled."""
    real = modelled.load_paths

    def load(until: date | None = None) -> tuple[dict[str, DailyHistory], date]:
        paths, stand_in = real(until)
        out = {}
        for root, h in paths.items():
            factor = np.where(np.array([d > day for d in h.days]), 2.0 if root == "VIX" else 0.7, 1.0)
            out[root] = dataclasses.replace(
                h, open=h.open * factor, high=h.high * factor, low=h.low * factor, close=h.close * factor
            )
        return out, stand_in

    return load


def _walk(grid: list[Parameters]) -> tuple[list[Parameters], list[Row], list[Row]]:
    cut = windows(date(2018, 1, 2), date(2018, 2, 28), 1, 1)
    assert cut == [Window(date(2018, 1, 2), TRAIN_END, date(2018, 2, 2), date(2018, 2, 28))]

    def spec(parameters: Parameters, seed: int, start: date, end: date, cut_history: bool) -> RunSpec:
        return RunSpec(parameters, seed, start, end, 100_000.0, history_until=end if cut_history else None)

    return walk_forward(cut, grid, [7], "calmar", spec, lambda specs, _: execute(specs, None, Where()))


def test_prices_changed_after_a_training_window_leave_its_choice_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    grid: list[Parameters] = [(("zdte_profit_target", "0.3"),), (("zdte_profit_target", "0.9"),)]
    chosen, trained, tested = _walk(grid)
    monkeypatch.setattr(modelled, "load_paths", _changed_after(TRAIN_END))
    chosen_again, trained_again, tested_again = _walk(grid)
    assert trained_again == trained  # every figure and every day of every training run
    assert chosen_again == chosen
    assert tested_again[0]["equity"] != tested[0]["equity"]  # the change did reach the test window
