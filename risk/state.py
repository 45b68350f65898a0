"""The risk manager's own memory across steps and restarts: the drawdown pause. Plain data, serialised by
the safety package's persistence with everything else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class RiskState:
    pause_until: date | None = None  # no new entries before this session (after a close-all drawdown)
    pause_reason: str = ""

    def paused_on(self, day: date) -> bool:
        """No new entries on `day`: a pause runs until (not including) `pause_until`."""
        return self.pause_until is not None and day < self.pause_until

    def to_dict(self) -> dict[str, Any]:
        return {
            "pause_until": self.pause_until.isoformat() if self.pause_until else None,
            "pause_reason": self.pause_reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskState:
        until = data.get("pause_until")
        return cls(date.fromisoformat(until) if until else None, str(data.get("pause_reason", "")))
