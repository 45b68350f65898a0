"""The trading system as a restart rebuilds it (trading/system): everything it saves comes back."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.calendar import Calendars
from core.settings import Settings
from tests.fakes.ports import MemoryStore, RecordingAlerts
from trading.system import TradingSystem, restored

NEW_YORK = ZoneInfo("America/New_York")
SAVED_AT = datetime(2024, 3, 8, 16, 5, tzinfo=NEW_YORK)
RESTART = datetime(2024, 3, 11, 9, 0, tzinfo=NEW_YORK)


def test_a_restart_keeps_each_strategys_trade_record() -> None:
    """Nineteen 0DTE trades, 14 of them winners, then a restart, then a loser: 14 wins in 20 trades. RULEBOOK
    expects 88% and compares from 20 trades at 5%: P(X <= 14) for X ~ Binomial(20, 0.88) is 2.6%, so the
    20th trade must warn. Counted from the restart it would be one trade, no warning, and a strategy that
    stopped working would hide behind every restart."""
    settings = Settings()
    calendars = Calendars()
    before = TradingSystem(settings, calendars, calendars.equity, calendars.cme, RecordingAlerts())
    for n in range(19):
        won = n < 14
        before.safety.performance.record("zero_dte", 150.0 if won else -350.0, 4.0, f"z{n}")
    store = MemoryStore()
    before.save(store, SAVED_AT)

    after, alerts = restored(
        settings, calendars, calendars.equity, calendars.cme, RecordingAlerts(), store, {}, RESTART
    )
    assert alerts == []
    stats = after.safety.performance.stats["zero_dte"]
    assert (stats.trades, stats.wins, stats.fees) == (19, 14, 76.0)
    warning = after.safety.performance.record("zero_dte", -350.0, 4.0, "z19")
    assert warning == (
        "zero_dte wins 14 of 20 (70%) against an expected 88%: that few wins has a 2.6% chance if the expected "
        "rate were true"
    )
