"""Exchange hours per security, as LEAN's market-hours database gives them (Data/market-hours/
market-hours-database.json, read with Common/Util/MarketHoursDatabaseJsonConverter.cs; the engine reads it
through Common/Securities/MarketHoursDatabase.cs `GetExchangeHours`). Each security has its own hours:

| database entry | zone | regular session | early close |
|---|---|---|---|
| Equity-usa-[*], Option-usa-[*] (options inherit the equity holidays) | America/New_York | 09:30-16:00 | 13:00 |
| Index-usa-SPX, IndexOption-usa-SPX / -SPXW | America/Chicago | 08:30-15:15 (16:15 New York) | 12:00 |
| Index-usa-[*] (VIX and other indices) | America/Chicago | 08:30-15:20 | 12:00 |
| Future-cme-ES (ES options have no row and use it: TryGetEntryImpl) | America/New_York | 09:30-17:00 | 13:15 |

The sessions' days (holidays, early-close days) come from core/calendar's exchange_calendars tables, which
list the same US holidays as the database's equity entry; CME days from its CMES table. Times LEAN hands
over are naive, in the exchange's zone (`time_zone`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.calendar import Calendars, ExchangeCalendar


@functools.cache
def calendars() -> Calendars:
    return Calendars()


@dataclass(frozen=True)
class HoursEntry:
    name: str
    zone: str
    open: time
    close: time
    early_close: time
    market: str = "equity"  # which core calendar lists its days: equity (XNYS) or cme (CMES)


EQUITY = HoursEntry("Equity-usa-[*]", "America/New_York", time(9, 30), time(16, 0), time(13, 0))
OPTION = HoursEntry("Option-usa-[*]", "America/New_York", time(9, 30), time(16, 0), time(13, 0))
SPX_INDEX = HoursEntry("Index-usa-SPX", "America/Chicago", time(8, 30), time(15, 15), time(12, 0))
INDEX = HoursEntry("Index-usa-[*]", "America/Chicago", time(8, 30), time(15, 20), time(12, 0))
SPX_OPTION = HoursEntry("IndexOption-usa-SPXW", "America/Chicago", time(8, 30), time(15, 15), time(12, 0))
ES = HoursEntry("Future-cme-ES", "America/New_York", time(9, 30), time(17, 0), time(13, 15), market="cme")


class SecurityExchangeHours:
    """Common/Securities/SecurityExchangeHours.cs, regular hours only (the double has no extended session)."""

    def __init__(self, entry: HoursEntry, days: ExchangeCalendar | None = None) -> None:
        self.entry = entry
        self.days = days or (calendars().cme if entry.market == "cme" else calendars().equity)
        self.time_zone = entry.zone

    # ---------------------------------------------------------------- sessions (naive exchange-local times)

    def session(self, day: date) -> tuple[datetime, datetime] | None:
        found = self.days.session(day)
        if found is None:
            return None
        close = self.entry.early_close if found.early_close else self.entry.close
        return datetime.combine(day, self.entry.open), datetime.combine(day, close)

    def is_date_open(self, local: datetime, extended_market_hours: bool = False) -> bool:
        return self.days.is_session(local.date())

    def is_open(self, local: datetime, extended_market_hours: bool = False) -> bool:
        session = self.session(local.date())
        return session is not None and session[0] <= local < session[1]

    def is_open_during(self, start: datetime, end: datetime) -> bool:
        """IsOpen(start, end, extended): any part of [start, end) inside a session (DefaultBrokerageMessageHandler
        asks it for the next five minutes)."""
        probe = start
        while probe < end:
            if self.is_open(probe):
                return True
            probe += timedelta(minutes=1)
        return False

    def get_next_market_open(self, local: datetime, extended_market_hours: bool = False) -> datetime:
        day = local.date()
        for _ in range(15):
            session = self.session(day)
            if session is not None and session[0] >= local:
                return session[0]
            day += timedelta(days=1)
        raise ValueError(f"no market open within 15 days of {local}")

    def get_next_market_close(self, local: datetime, extended_market_hours: bool = False) -> datetime:
        day = local.date()
        for _ in range(15):
            session = self.session(day)
            if session is not None and session[1] > local:
                return session[1]
            day += timedelta(days=1)
        raise ValueError(f"no market close within 15 days of {local}")

    @property
    def early_closes(self) -> dict[datetime, timedelta]:
        """SecurityExchangeHours.EarlyCloses: date (midnight) → time of day of the early close."""
        out = {}
        close = self.entry.early_close
        for day in self.days.early_closes(date(2000, 1, 1), date(2035, 12, 31)):
            out[datetime.combine(day, time(0, 0))] = timedelta(hours=close.hour, minutes=close.minute)
        return out

    @property
    def holidays(self) -> set[datetime]:
        return {datetime.combine(d, time(0, 0)) for d in self.days.holidays(date(2000, 1, 1), date(2035, 12, 31))}


class MarketHoursDatabase:
    """The per-type lookup the algorithm can ask without subscribing (QCAlgorithm.MarketHoursDatabase
    `get_exchange_hours(market, symbol, security_type)`)."""

    def get_exchange_hours(self, market: str, symbol: object, security_type: object) -> SecurityExchangeHours:
        from tests.fakes.lean.enums import SecurityType

        by_type = {
            SecurityType.EQUITY: EQUITY,
            SecurityType.OPTION: OPTION,
            SecurityType.FUTURE: ES,
            SecurityType.FUTURE_OPTION: ES,
        }
        ticker = getattr(getattr(symbol, "id", None), "symbol", str(symbol))
        if security_type is SecurityType.INDEX:
            return SecurityExchangeHours(SPX_INDEX if ticker == "SPX" else INDEX)
        if security_type is SecurityType.INDEX_OPTION:
            return SecurityExchangeHours(SPX_OPTION)
        return SecurityExchangeHours(by_type.get(security_type, EQUITY))  # type: ignore[call-overload]


def hours_for(symbol: object) -> SecurityExchangeHours:
    """The hours LEAN gives a security when it is added (SecurityService.CreateSecurity → the database)."""
    kind = symbol.security_type  # type: ignore[attr-defined]
    return MarketHoursDatabase().get_exchange_hours("usa", symbol, kind)
