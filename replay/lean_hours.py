"""A LEAN folder's market-hours database (`market-hours/market-hours-database.json`) applied to the replay's
calendars for the replayed dates, so the replay keeps the sessions the folder's LEAN would: its holidays and
early closes for US equities (and so equity and index options, which keep NYSE hours) and for ES. Only in the
careful direction: a day it closes is closed, a session it ends earlier ends earlier; a session it has that
core/calendar lacks is reported, not added. Each change is said in the report. core/calendar matches LEAN's
database exactly for 2015-2027 (tests/acceptance), so on those years this finds nothing to do."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from core.calendar import FIRST_YEAR, LAST_YEAR, Calendars, ExchangeCalendar

NEW_YORK = ZoneInfo("America/New_York")
PATH = Path("market-hours") / "market-hours-database.json"
# (entry, calendar, whether its holidays are the whole list): LEAN's ES entry lists 2 holidays and keeps the rest
# as early closes, where core/calendar's CME calendar closes (the careful side; tests/acceptance says which).
ENTRIES = (("Equity-usa-[*]", "equity", True), ("Future-cme-ES", "cme", False))


def _us_date(text: str) -> date:
    month, day, year = (int(p) for p in text.split("/"))
    return date(year, month, day)


def apply_market_hours(folder: Path, calendars: Calendars, start: date, end: date) -> list[str]:
    """Apply the folder's database to `calendars` between `start` and `end`; what changed or could not be."""
    path = folder / PATH
    if not path.exists():
        return [f"no {PATH} in the folder: sessions from core/calendar"]
    try:
        entries = json.loads(path.read_text())["entries"]
    except (ValueError, KeyError) as err:
        return [f"{PATH} cannot be read ({err}): sessions from core/calendar"]
    notes: list[str] = []
    start, end = max(start, date(FIRST_YEAR, 1, 1)), min(end, date(LAST_YEAR, 12, 31))  # what core/calendar holds
    for key, market, complete in ENTRIES:
        entry = entries.get(key)
        if entry is None:
            notes.append(f"{PATH} has no {key} entry: its sessions from core/calendar")
            continue
        calendar: ExchangeCalendar = getattr(calendars, market)
        zone = ZoneInfo(entry.get("exchangeTimeZone", "America/New_York"))
        holidays = {_us_date(d) for d in entry.get("holidays", [])}
        for day in sorted(holidays):
            if start <= day <= end and calendar.is_session(day):
                calendar.remove_session(day)
                notes.append(f"{key}: {day} is a holiday in the folder's market hours: no session")
        if complete:
            for day in calendar.holidays(start, end):  # weekdays without a session
                if day not in holidays:
                    notes.append(
                        f"{key}: {day} has a session in the folder's market hours, none in core/calendar: kept closed"
                    )
        for text, clock in sorted(entry.get("earlyCloses", {}).items()):
            day = _us_date(text)
            if not start <= day <= end or not calendar.is_session(day):
                continue
            closes = datetime.combine(day, time.fromisoformat(clock), tzinfo=zone).astimezone(NEW_YORK)
            session = calendar.session(day)
            if session is not None and session.close > closes:
                calendar.close_no_later_than(day, closes.timetz().replace(tzinfo=None))
                notes.append(f"{key}: {day} closes at {closes:%H:%M} ET in the folder's market hours")
    return notes
