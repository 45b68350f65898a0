"""core/calendar against LEAN's market-hours database, 2015-2027 (skipped without the sample data)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

import pytest

from core.calendar import CHICAGO, NEW_YORK, Calendars
from tests.leandata import require_lean_data

START, END = date(2015, 1, 1), date(2027, 12, 31)


@pytest.fixture(scope="module")
def entries() -> dict[str, Any]:
    path = require_lean_data() / "market-hours" / "market-hours-database.json"
    return dict(json.loads(path.read_text())["entries"])


@pytest.fixture(scope="module")
def calendars() -> Calendars:
    return Calendars()


def us_date(text: str) -> date:
    month, day, year = (int(p) for p in text.split("/"))
    return date(year, month, day)


def in_range_weekdays(days: list[date]) -> set[date]:
    # LEAN also lists holidays that fall on a weekend (2022-01-01, 2017-12-24): no session is lost there.
    return {d for d in days if START <= d <= END and d.weekday() < 5}


@pytest.mark.parametrize("key", ["Equity-usa-[*]", "Index-usa-[*]"])
def test_nyse_holidays_match_lean_exactly(entries: dict[str, Any], calendars: Calendars, key: str) -> None:
    entry = entries[key]
    lean = in_range_weekdays([us_date(d) for d in entry["holidays"]])
    ours = set(calendars.equity.holidays(START, END))
    assert sorted(lean - ours) == [] and sorted(ours - lean) == []


def test_nyse_early_closes_match_lean_exactly(entries: dict[str, Any], calendars: Calendars) -> None:
    lean = {
        us_date(d): time.fromisoformat(t)
        for d, t in entries["Equity-usa-[*]"]["earlyCloses"].items()
        if START <= us_date(d) <= END and us_date(d).weekday() < 5
    }
    assert calendars.equity.early_closes(START, END) == lean


def test_index_early_closes_match_lean_in_chicago_time(entries: dict[str, Any], calendars: Calendars) -> None:
    # LEAN's index entry keeps exchange time in America/Chicago: its 12:00 is our 13:00 New York.
    lean = {
        us_date(d): time.fromisoformat(t)
        for d, t in entries["Index-usa-[*]"]["earlyCloses"].items()
        if START <= us_date(d) <= END and us_date(d).weekday() < 5
    }
    ours = {
        d: (datetime.combine(d, t, tzinfo=NEW_YORK).astimezone(CHICAGO)).time()
        for d, t in calendars.equity.early_closes(START, END).items()
    }
    assert ours == lean


def test_cme_never_trades_when_lean_says_es_is_closed(entries: dict[str, Any], calendars: Calendars) -> None:
    """CMES (exchange_calendars) is a generic CME Globex calendar, LEAN's ES entry is the equity-index
    product's own. The safe direction must hold exactly: no day LEAN closes ES is a full session for us.
    Documented differences, all in the conservative direction (we trade less, never more):
    - Good Friday: LEAN has an 09:15 ET early close; CMES has a holiday.
    - Christmas and New Year's Day in some years: CMES has holidays where LEAN's ES table lists none.
    - Day after Thanksgiving and Christmas Eve: LEAN closes ES at 13:15 ET, CMES at 13:00 ET.
    The early closes CMES lacks entirely (July 3, Juneteenth) are added by core/calendar.Calendars."""
    entry = entries["Future-cme-ES"]
    lean_holidays = in_range_weekdays([us_date(d) for d in entry["holidays"]])
    for day in sorted(lean_holidays):
        assert not calendars.cme.is_session(day), f"LEAN closes ES on {day}, CMES has a session"
    lean_early = {
        us_date(d): time.fromisoformat(t)
        for d, t in entry["earlyCloses"].items()
        if START <= us_date(d) <= END and us_date(d).weekday() < 5 and time.fromisoformat(t) < time(17, 0)
    }
    ours = calendars.cme
    later_than_lean = []
    for day, lean_close in sorted(lean_early.items()):
        session = ours.session(day)
        if session is not None and session.close.time() > lean_close:
            later_than_lean.append((day, lean_close, session.close.time()))
    assert later_than_lean == []
