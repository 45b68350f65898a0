"""The Calendar port on LEAN's `exchange.hours` (SecurityExchangeHours, from its market-hours database), so
the safety checks and the risk rules agree with the engine about when a market is open. The strategies'
expiry rules stay with core/calendar (exchange_calendars is in the LEAN image): they are product facts, not
session times.

LEAN speaks exchange-local time as naive .NET DateTimes. This module is the one place where an aware
datetime loses its zone (converted to the exchange's zone first) and where LEAN's naive answers get theirs.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from AlgorithmImports import SecurityExchangeHours
from core.calendar import nth_weekday_date

NEW_YORK = ZoneInfo("America/New_York")
SEARCH_DAYS = 15  # no market closes for two weeks


class LeanCalendar:
    def __init__(self, hours: SecurityExchangeHours) -> None:
        self.hours = hours
        self.zone = ZoneInfo(str(hours.time_zone))

    # ---------------------------------------------------------------- the boundary

    def _naive(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("LeanCalendar needs timezone-aware datetimes")
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def _midnight(self, day: date) -> datetime:
        return self._naive(datetime.combine(day, time(0, 0), tzinfo=self.zone))

    def _aware(self, local: datetime) -> datetime:
        return local.replace(tzinfo=self.zone).astimezone(NEW_YORK)

    # ---------------------------------------------------------------- sessions

    def is_session(self, day: date) -> bool:
        return bool(self.hours.is_date_open(self._midnight(day), False))

    def open_close(self, day: date) -> tuple[datetime, datetime] | None:
        """The regular session's open and close on `day`, in New York time."""
        if not self.is_session(day):
            return None
        opened = self.hours.get_next_market_open(self._midnight(day), False)
        if opened.date() != day:
            return None
        closed = self.hours.get_next_market_close(opened, False)
        return self._aware(opened), self._aware(closed)

    def is_holiday(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_session(day)

    def early_closes(self, start: date, end: date) -> dict[date, time]:
        out: dict[date, time] = {}
        closes = self.hours.early_closes
        for key in list(closes.keys()):  # keys() explicitly: a .NET dictionary iterates as key-value pairs
            day = key.date()
            if start <= day <= end:
                span: timedelta = closes[key]
                local = datetime.combine(day, time(0, 0), tzinfo=self.zone) + span
                out[day] = local.astimezone(NEW_YORK).time()
        return out

    def next_session(self, day: date) -> date:
        return self._step(day, +1)

    def previous_session(self, day: date) -> date:
        return self._step(day, -1)

    def _step(self, day: date, direction: int) -> date:
        probe = day
        for _ in range(SEARCH_DAYS):
            probe += timedelta(days=direction)
            if self.is_session(probe):
                return probe
        raise ValueError(f"no session within {SEARCH_DAYS} days of {day}")

    def add_sessions(self, day: date, count: int) -> date:
        current = day if self.is_session(day) else self.next_session(day)
        for _ in range(abs(count)):
            current = self._step(current, 1 if count > 0 else -1)
        return current

    def is_open(self, moment: datetime) -> bool:
        return bool(self.hours.is_open(self._naive(moment), False))

    # ---------------------------------------------------------------- month rules

    def nth_weekday(self, year: int, month: int, weekday: int, n: int) -> date:
        day = nth_weekday_date(year, month, weekday, n)
        return day if self.is_session(day) else self.next_session(day)

    def expiry_on_or_before(self, day: date) -> date:
        return day if self.is_session(day) else self.previous_session(day)
