"""The risk manager (RULEBOOK "Account phases" and "Portfolio limits")."""

from __future__ import annotations

from core.ports import Calendar, EventCalendar
from core.settings import Settings

from risk.manager import RiskManager


def build(
    settings: Settings, calendar: Calendar | None = None, event_calendar: EventCalendar | None = None
) -> RiskManager:
    return RiskManager(settings, calendar, event_calendar)
