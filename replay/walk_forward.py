"""Walk-forward: does the best setting of the past keep working on the period after it?

`windows` cuts the run into rolling pairs: a training window of TRAIN, then a test window of TEST starting the
next day; the next pair starts TEST later, so the test windows follow each other without overlap and the last
one ends at the run's end (shorter when the run's end cuts it). On each training window every grid row runs
with the modelled market's histories cut at the window's last day (`RunSpec.history_until`): no price of the
test window exists for it. `choose` picks the parameters with the best mean objective over the seeds; they
then run on the test window, from the capital, flat. `stitch` compounds the test windows' daily returns into
one out-of-sample curve.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from replay.sweep_runs import Row, objective_value

_SPAN = re.compile(r"^(\d+)([ym])$")
Parameters = tuple[tuple[str, str], ...]


class WalkForwardError(ValueError):
    pass


def parse_spans(text: str) -> tuple[int, int]:
    """`2y,6m` → (24, 6) months: the training and the test window's lengths."""
    parts = [p.strip() for p in text.split(",")]
    months: list[int] = []
    for part in parts:
        match = _SPAN.match(part)
        if not match or int(match.group(1)) == 0:
            raise WalkForwardError(
                f"--walk-forward {text}: expected TRAIN,TEST such as 2y,6m (whole years y or months m, above 0)"
            )
        months.append(int(match.group(1)) * (12 if match.group(2) == "y" else 1))
    if len(months) != 2:
        raise WalkForwardError(f"--walk-forward {text}: expected two lengths, TRAIN,TEST (e.g. 2y,6m)")
    return months[0], months[1]


def add_months(day: date, months: int) -> date:
    """The same day `months` later, the month's last day where it is shorter (Jan 31 + 1 month: Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass(frozen=True)
class Window:
    train_start: date
    train_end: date
    test_start: date
    test_end: date


def windows(start: date, end: date, train_months: int, test_months: int) -> list[Window]:
    out: list[Window] = []
    first = start
    while True:
        train_end = add_months(first, train_months) - timedelta(days=1)
        test_start = train_end + timedelta(days=1)
        if test_start > end:
            break
        test_end = min(add_months(test_start, test_months) - timedelta(days=1), end)
        out.append(Window(first, train_end, test_start, test_end))
        first = add_months(first, test_months)
    return out


def choose(rows: Sequence[Row], objective: str) -> Parameters:
    """The parameters whose rows have the best mean objective (undefined values count as the worst, a tie goes
    to the first in the grid's order): rows of one training window, one per grid row and seed."""
    order: list[Parameters] = []
    values: dict[Parameters, list[float | None]] = {}
    for row in rows:
        key: Parameters = tuple((name, value) for name, value in row["parameters"])
        if key not in values:
            order.append(key)
            values[key] = []
        values[key].append(objective_value(row, objective))
    if not order:
        raise WalkForwardError("a training window without a run")

    def score(key: Parameters) -> float:
        found = values[key]
        if any(v is None for v in found):
            return float("-inf")
        return sum(v for v in found if v is not None) / len(found)

    best = order[0]
    for key in order[1:]:
        if score(key) > score(best):
            best = key
    return best


def stitch(
    curves: Sequence[Sequence[tuple[date, float]]], capitals: Sequence[float], capital: float
) -> list[tuple[date, float]]:
    """One curve from consecutive test windows, each started at its own capital: every window's daily returns
    compounded onto where the previous one ended."""
    out: list[tuple[date, float]] = []
    level = capital
    for curve, start in zip(curves, capitals, strict=True):
        previous = start
        for day, value in curve:
            level *= value / previous
            previous = value
            out.append((day, level))
    return out
