"""safety.build: one trading-state machine and one data validator shared by every system that reads them,
so a halt raised by one (a disconnect) is the halt the gate enforces."""

from __future__ import annotations

from core.calendar import Calendars
from core.settings import Settings
from risk.events import CsvEventCalendar
from safety import build
from safety.state import TradingState, TradingStateMachine
from tests.fakes.ports import RecordingAlerts
from tests.risk.kit import NOW

S = Settings.from_parameters({"alert_max_per_hour": "7"})
CAL = Calendars()


def test_the_systems_share_one_state_and_one_validator_and_take_what_they_are_given() -> None:
    sink = RecordingAlerts()
    events = CsvEventCalendar()
    systems = build(S, CAL.equity, CAL.cme, sink, events)
    assert systems.checks.state is systems.state and systems.connection.state is systems.state
    assert systems.checks.data is systems.data
    assert systems.checks.equity_calendar is CAL.equity and systems.checks.cme_calendar is CAL.cme
    assert systems.assignment.events is events and systems.assignment.calendar is CAL.equity
    for system in (systems.checks, systems.connection, systems.alerts, systems.performance, systems.fills):
        assert system.settings is S
    assert systems.data.settings is S and systems.watchdog is not None and systems.journal.day is None
    assert systems.alerts.sink is sink
    systems.connection.on_disconnect(NOW, "socket closed")  # the monitor's halt is the gate's
    assert systems.checks.state.state is TradingState.HALTED


def test_a_restored_state_is_the_one_used() -> None:
    restored = TradingStateMachine(TradingState.HALTED, "reconciliation mismatch", True)
    systems = build(S, CAL.equity, CAL.cme, RecordingAlerts(), state=restored)
    assert systems.state is restored and systems.checks.state is restored and systems.connection.state is restored
