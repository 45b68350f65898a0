"""Trading calendars and expiry rules: the offline implementation of the Calendar port (core/ports.py).

Built on `exchange_calendars` (in the LEAN image, so this also runs in QuantConnect's research environment):
XNYS for equities, ETFs and index options, CMES for CME futures and future options. The LEAN shell has its
own implementation on `exchange.hours`; both answer the same questions.

All times are timezone-aware in America/New_York (the algorithm's time zone, where the RULEBOOK's clock
times live); dates are exchange session dates. Tables are built once for a fixed range of years so that
every question is a dictionary lookup.

Expiry rules (CBOE and CME product specifications):
- SPXW: PM-settled, every trading day (Monday/Wednesday/Friday weeklies before 2022; Tuesdays from
  2022-04-18, Thursdays from 2022-05-11). An expiry that falls on a holiday moves to the previous session.
- SPX monthly: AM-settled on the third Friday; on a holiday, the previous session (Good Friday: Thursday).
- Equity/ETF monthly options and LEAPs: the third Friday (previous session on a holiday); LEAPs are the
  January expiries and the rest of the monthly series.
- ES/MES futures and standard ES quarterly options: the third Friday of March, June, September, December;
  the future's last trade is 09:30 ET that morning (previous session if it is a holiday).
- DTE is calendar days from the session date to the expiry date.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
FIRST_YEAR = 1998  # the modelled market starts 1999-03 (replay/history)
LAST_YEAR = 2030
# Cboe's SPXW listing history (Options Hub 2016-02-22 and 2016-08-11; press releases): Friday weeklies since
# 2005; Wednesday weeklies listed from 2016-02-23 (first expiry 2016-03-02); Monday weeklies from 2016-08-15
# (first expiry 2016-08-22); Tuesdays and Thursdays from 2022.
SPXW_WEDNESDAYS_FROM = date(2016, 3, 2)
SPXW_MONDAYS_FROM = date(2016, 8, 22)
SPXW_TUESDAYS_FROM = date(2022, 4, 18)
SPXW_THURSDAYS_FROM = date(2022, 5, 11)
QUARTERLY_MONTHS = (3, 6, 9, 12)
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = range(5)
CME_CLOSE_ON_NYSE_EARLY_CLOSE = time(13, 15)
CME_CLOSE_ON_NYSE_HOLIDAY = time(13, 0)


class Market(StrEnum):
    EQUITY = "XNYS"  # NYSE hours: equities, ETFs, their options, SPX/SPXW options
    CME = "CMES"  # CME Globex: futures and future options


class OutOfCalendarRangeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Session:
    day: date
    open: datetime  # New York time
    close: datetime  # New York time
    early_close: bool


class ExchangeCalendar:
    """Sessions of one market between FIRST_YEAR and LAST_YEAR, precomputed."""

    def __init__(self, market: Market) -> None:
        self.market = market
        cal = xcals.get_calendar(market.value, start=f"{FIRST_YEAR}-01-01", end=f"{LAST_YEAR}-12-31")
        opens = cal.schedule["open"].dt.tz_convert(NEW_YORK)
        closes = cal.schedule["close"].dt.tz_convert(NEW_YORK)
        regular_close = closes.dt.time.mode().iloc[0]
        early_labels = {ts.date() for ts in cal.early_closes}
        self._sessions: dict[date, Session] = {}
        for label, o, c in zip(cal.schedule.index, opens, closes, strict=True):
            day = label.date()
            early = day in early_labels or c.time() < regular_close
            self._sessions[day] = Session(day, o.to_pydatetime(), c.to_pydatetime(), early)
        self._ordered: list[date] = sorted(self._sessions)
        self._index = {d: i for i, d in enumerate(self._ordered)}
        self._early = {d for d, s in self._sessions.items() if s.early_close}  # a few a year: asked every step

    # ---------------------------------------------------------------- sessions

    def _check(self, day: date) -> None:
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise OutOfCalendarRangeError(f"{day} is outside the calendar's years {FIRST_YEAR}-{LAST_YEAR}")

    def is_session(self, day: date) -> bool:
        self._check(day)
        return day in self._sessions

    def session(self, day: date) -> Session | None:
        self._check(day)
        return self._sessions.get(day)

    def session_days(self) -> list[date]:
        return list(self._ordered)

    def open_close(self, day: date) -> tuple[datetime, datetime] | None:
        """The session's open and close in New York time, or None on a day without one."""
        session = self.session(day)
        return None if session is None else (session.open, session.close)

    def is_holiday(self, day: date) -> bool:
        """A weekday with no session."""
        return day.weekday() < 5 and not self.is_session(day)

    def holidays(self, start: date, end: date) -> list[date]:
        days = pd.bdate_range(start, end)
        return [d.date() for d in days if self.is_holiday(d.date())]

    def early_closes(self, start: date, end: date) -> dict[date, time]:
        return {
            d: self._sessions[d].close.timetz().replace(tzinfo=None) for d in sorted(self._early) if start <= d <= end
        }

    def next_session(self, day: date) -> date:
        """The first session strictly after `day`."""
        return self._step(day, +1)

    def previous_session(self, day: date) -> date:
        """The last session strictly before `day`."""
        return self._step(day, -1)

    def add_sessions(self, day: date, count: int) -> date:
        """The session `count` sessions after (or before, if negative) the session on or after `day`."""
        start = day if self.is_session(day) else self.next_session(day)
        index = self._index[start] + count
        if not 0 <= index < len(self._ordered):
            raise OutOfCalendarRangeError(f"{count} sessions from {day} is outside the calendar")
        return self._ordered[index]

    def sessions_between(self, start: date, end: date) -> int:
        """Sessions in (start, end]: trading days from one date to another."""
        if end <= start:
            return 0
        return bisect.bisect_right(self._ordered, end) - bisect.bisect_right(self._ordered, start)

    def _step(self, day: date, direction: int) -> date:
        self._check(day)
        probe = day + timedelta(days=direction)
        for _ in range(15):  # no market closes for two weeks
            self._check(probe)
            if probe in self._sessions:
                return probe
            probe += timedelta(days=direction)
        raise OutOfCalendarRangeError(f"no session within two weeks of {day}")

    def is_open(self, moment: datetime) -> bool:
        """Whether the regular session is open at a timezone-aware moment."""
        if moment.tzinfo is None:
            raise ValueError("is_open needs a timezone-aware datetime")
        local = moment.astimezone(NEW_YORK)
        for day in (local.date(), local.date() + timedelta(days=1)):  # CME sessions start the evening before
            s = self._sessions.get(day)
            if s is not None and s.open <= local < s.close:
                return True
        return False

    def remove_session(self, day: date) -> None:
        """Close a day (a holiday another source knows of, e.g. a LEAN data folder's market-hours database)."""
        if self._sessions.pop(day, None) is None:
            return
        self._early.discard(day)
        self._ordered = sorted(self._sessions)
        self._index = {d: i for i, d in enumerate(self._ordered)}

    def close_no_later_than(self, day: date, latest: time) -> None:
        """Shorten one session (used to apply the CME equity-index early closes that CMES lacks)."""
        session = self._sessions.get(day)
        if session is None:
            return
        cap = datetime.combine(day, latest, tzinfo=NEW_YORK)
        if session.close > cap:
            self._sessions[day] = Session(day, session.open, cap, True)
            self._early.add(day)

    # ---------------------------------------------------------------- month rules

    def nth_weekday(self, year: int, month: int, weekday: int, n: int) -> date:
        """The n-th given weekday of a month (n = 1 for the first), moved to the next session when it is not
        one (the strategies' entry days: first Wednesday, second Tuesday)."""
        day = nth_weekday_date(year, month, weekday, n)
        return day if self.is_session(day) else self.next_session(day)

    def expiry_on_or_before(self, day: date) -> date:
        """Listed expiries that fall on a holiday move to the previous session."""
        return day if self.is_session(day) else self.previous_session(day)


@functools.cache  # pure; the modelled market's expiry lists ask it some 200,000 times a year of replay
def nth_weekday_date(year: int, month: int, weekday: int, n: int) -> date:
    """The calendar date of the n-th weekday (0 = Monday) of a month, without any holiday rule."""
    if not 1 <= n <= 5:
        raise ValueError("n must be 1 to 5")
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    if day.month != month:
        raise ValueError(f"{year}-{month:02d} has no {n}th weekday {weekday}")
    return day


def third_friday(year: int, month: int) -> date:
    return nth_weekday_date(year, month, FRIDAY, 3)


def dte(today: date, expiry: date) -> int:
    """Days to expiry in calendar days (0 on expiry day)."""
    return (expiry - today).days


class Calendars:
    """The two markets and the expiry rules of the products the strategies trade."""

    def __init__(self) -> None:
        self.equity = ExchangeCalendar(Market.EQUITY)
        self.cme = ExchangeCalendar(Market.CME)
        # CMES is a generic Globex calendar; CME's equity-index products (ES, the SPX hedge, the futures the
        # strategies trade most) also close early when NYSE does (13:15 ET) and at 13:00 ET on NYSE holidays
        # that are CME trading days (Juneteenth, ...). LEAN's market-hours database has these closes; we
        # apply them to every CME product, which only ever shortens a session (the conservative side).
        for day in self.cme.session_days():
            if not FIRST_YEAR <= day.year <= LAST_YEAR or day.weekday() >= 5:
                continue
            equity = self.equity.session(day)
            if equity is None:
                self.cme.close_no_later_than(day, CME_CLOSE_ON_NYSE_HOLIDAY)
            elif equity.early_close:
                self.cme.close_no_later_than(day, CME_CLOSE_ON_NYSE_EARLY_CLOSE)

    def for_market(self, market: Market) -> ExchangeCalendar:
        return self.equity if market is Market.EQUITY else self.cme

    def spxw_expiries(self, start: date, end: date) -> list[date]:
        """SPXW PM-settled expiries between two dates (inclusive), as Cboe listed them over the years (the
        constants above): Fridays always, the other weekdays from their launch."""
        out: set[date] = set()
        day = start
        while day <= end:
            listed = day.weekday() == FRIDAY
            listed |= day.weekday() == MONDAY and day >= SPXW_MONDAYS_FROM
            listed |= day.weekday() == WEDNESDAY and day >= SPXW_WEDNESDAYS_FROM
            listed |= day.weekday() == TUESDAY and day >= SPXW_TUESDAYS_FROM
            listed |= day.weekday() == THURSDAY and day >= SPXW_THURSDAYS_FROM
            if listed:
                expiry = self.equity.expiry_on_or_before(day)
                if start <= expiry <= end:
                    out.add(expiry)
            day += timedelta(days=1)
        return sorted(out)

    def monthly_expiry(self, year: int, month: int) -> date:
        """Third-Friday expiry (SPX AM-settled monthlies, equity/ETF monthlies and LEAPs)."""
        return self.equity.expiry_on_or_before(third_friday(year, month))

    def leap_expiries(self, today: date, min_days: int, max_days: int) -> list[date]:
        """Monthly expiries between `min_days` and `max_days` calendar days out (LEAP candidates)."""
        out: list[date] = []
        year, month = today.year, today.month
        while True:
            expiry = self.monthly_expiry(year, month)
            days = dte(today, expiry)
            if days > max_days:
                return out
            if days >= min_days:
                out.append(expiry)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def es_quarterly_expiry(self, year: int, month: int) -> date:
        """Last trade of the ES/MES quarterly future (and expiry of its standard quarterly options)."""
        if month not in QUARTERLY_MONTHS:
            raise ValueError(f"ES quarterlies expire in March, June, September and December, not month {month}")
        return self.cme.expiry_on_or_before(third_friday(year, month))

    def es_front_quarterly(self, today: date, min_trading_days: int) -> date:
        """The front ES quarterly with at least `min_trading_days` sessions to its last trade (the RULEBOOK's
        contract choice: after that the next, more liquid contract)."""
        year, month = today.year, today.month
        while True:
            if month in QUARTERLY_MONTHS:
                expiry = self.es_quarterly_expiry(year, month)
                if expiry >= today and self.cme.sessions_between(today, expiry) >= min_trading_days:
                    return expiry
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
