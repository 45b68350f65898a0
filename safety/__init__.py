"""The safety systems (RULEBOOK "Safety checks"). `build` wires them around one trading-state machine, so
the LEAN shell and the replay assemble the identical set."""

from __future__ import annotations

from dataclasses import dataclass

from core.ports import AlertSink, Calendar, EventCalendar
from core.settings import Settings

from safety.alerts import Alerts, DayJournal
from safety.assignment import AssignmentCheck
from safety.checks import SafetyChecks
from safety.connection import ConnectionMonitor
from safety.data import DataValidator, DataWatchdog
from safety.fills import FillTracker
from safety.performance import PerformanceLedger
from safety.state import TradingStateMachine


@dataclass
class SafetySystems:
    state: TradingStateMachine
    data: DataValidator
    watchdog: DataWatchdog
    checks: SafetyChecks
    fills: FillTracker
    assignment: AssignmentCheck
    connection: ConnectionMonitor
    alerts: Alerts
    journal: DayJournal
    performance: PerformanceLedger


def build(
    settings: Settings,
    equity_calendar: Calendar,
    cme_calendar: Calendar,
    alert_sink: AlertSink,
    event_calendar: EventCalendar | None = None,
    state: TradingStateMachine | None = None,
) -> SafetySystems:
    state = state or TradingStateMachine()
    data = DataValidator(settings)
    return SafetySystems(
        state=state,
        data=data,
        watchdog=DataWatchdog(settings),
        checks=SafetyChecks(settings, equity_calendar, cme_calendar, state, data),
        fills=FillTracker(settings),
        assignment=AssignmentCheck(settings, equity_calendar, event_calendar),
        connection=ConnectionMonitor(settings, state),
        alerts=Alerts(settings, alert_sink),
        journal=DayJournal(),
        performance=PerformanceLedger(settings),
    )
