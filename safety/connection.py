"""Broker connection (RULEBOOK "Broker connection"): on a disconnect no new orders and a WARNING; a CRITICAL
after `disconnect_critical_minutes` (5); on reconnect the saved state is reconciled with the broker's
positions before anything resumes. No data for `no_data_minutes` (5) in market hours counts as a disconnect.

The halt it uses is not sticky: it ends when the connection is back *and* reconciliation found no
difference. A difference turns it into the sticky halt of safety/persistence, which only a person clears.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from core.ports import AlertLevel
from core.ports import AlertMessage as ConnectionAlert
from core.settings import Settings
from core.timeutil import elapsed

from safety.state import TradingStateMachine, Transition

CAUSE = "broker connection"


class ConnectionMonitor:
    def __init__(self, settings: Settings, state: TradingStateMachine) -> None:
        self.settings = settings
        self.state = state
        self.down_since: datetime | None = None
        self.reason = ""
        self.critical_sent = False

    @property
    def connected(self) -> bool:
        return self.down_since is None

    def on_disconnect(self, now: datetime, reason: str) -> tuple[list[ConnectionAlert], list[Transition]]:
        if self.down_since is not None:
            return [], []
        self.down_since, self.reason, self.critical_sent = now, reason, False
        moved = self.state.halt(now, f"{CAUSE} lost: {reason}", sticky=False, cause=CAUSE)
        return [ConnectionAlert(AlertLevel.WARNING, "broker disconnected", f"{reason}; no new orders")], [
            moved
        ] if moved else []

    def tick(self, now: datetime) -> list[ConnectionAlert]:
        if self.down_since is None or self.critical_sent:
            return []
        down = elapsed(self.down_since, now)
        if down >= timedelta(minutes=self.settings.disconnect_critical_minutes):
            self.critical_sent = True
            minutes = down.total_seconds() / 60
            return [
                ConnectionAlert(
                    AlertLevel.CRITICAL, "broker still disconnected", f"{self.reason}: {minutes:.0f} minutes"
                )
            ]
        return []

    def on_reconnect(
        self, now: datetime, reconcile: Callable[[], bool]
    ) -> tuple[list[ConnectionAlert], list[Transition]]:
        """`reconcile` compares the saved state with the broker's positions and returns True when they agree
        (on a difference it has already halted trading for a person to look)."""
        if self.down_since is None:
            return [], []
        minutes = elapsed(self.down_since, now).total_seconds() / 60
        self.down_since = None
        if not reconcile():
            body = f"back after {minutes:.0f} minutes, but the broker's positions differ: trading stays HALTED"
            return [ConnectionAlert(AlertLevel.CRITICAL, "reconnected with differences", body)], []
        moved = self.state.resolve(now, CAUSE, f"reconnected after {minutes:.0f} minutes and reconciled")
        return [ConnectionAlert(AlertLevel.INFO, "broker reconnected", f"reconciled after {minutes:.0f} minutes")], [
            moved
        ] if moved else []
