"""The offline implementations and the shared fakes satisfy the ports (checked by mypy through these
assignments, and at run time by exercising them)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.calendar import Calendars
from core.ports import AlertLevel, AlertSink, Calendar, Clock, RiskReviewer, Store
from core.settings import Settings
from risk.manager import RiskManager
from tests.fakes.ports import FixedClock, MemoryStore, RecordingAlerts


def test_offline_calendar_is_a_calendar_port() -> None:
    calendars = Calendars()
    for market in (calendars.equity, calendars.cme):
        port: Calendar = market
        assert port.is_session(date(2024, 1, 2)) and port.is_holiday(date(2024, 1, 1))


def test_the_risk_manager_is_a_risk_reviewer() -> None:
    reviewer: RiskReviewer = RiskManager(Settings())
    assert callable(reviewer.review) and callable(reviewer.manage)


def test_fakes_satisfy_the_shell_ports() -> None:
    store: Store = MemoryStore()
    store.save("state", "{}")
    assert store.load("state") == "{}" and store.load("missing") is None
    alerts: AlertSink = RecordingAlerts()
    alerts.send(AlertLevel.CRITICAL, "orphan leg", "closed 1 SPXW put")
    assert isinstance(alerts, RecordingAlerts) and alerts.sent[0][0] is AlertLevel.CRITICAL
    moment = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
    clock: Clock = FixedClock(moment)
    assert clock.now() == moment


def test_safety_build_shares_one_trading_state() -> None:
    import safety
    from core.calendar import Calendars

    cal = Calendars()
    systems = safety.build(Settings(), cal.equity, cal.cme, RecordingAlerts())
    assert systems.checks.state is systems.state is systems.connection.state
    assert systems.checks.data is systems.data
