"""The trading state machine (RULEBOOK "State"): ACTIVE, REDUCING (close-only) or HALTED (nothing but safety
closes). Every change carries a reason and is returned as a Transition for the caller to log and alert.

- A state only ever gets more severe by itself: ACTIVE → REDUCING → HALTED. Asking for a milder state than
  the current one changes nothing.
- REDUCING from the daily limits ends at the next session (`new_session`).
- HALTED is either sticky (a reconciliation mismatch, a corrupt or unreadable state file: `sticky=True`) and
  cleared only by a person (`clear`, driven by the `clear_halt` parameter or an operator command), never by
  time; or it ends when its cause does (`resolve`, e.g. the broker connection coming back and reconciling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

SEVERITY = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


@dataclass(frozen=True, slots=True)
class Transition:
    time: datetime
    before: TradingState
    after: TradingState
    reason: str


@dataclass
class TradingStateMachine:
    state: TradingState = TradingState.ACTIVE
    reason: str = "started"
    sticky: bool = False  # a halt that only a person may clear
    cause: str = ""  # what a non-sticky halt waits for (`resolve(cause)` ends it)
    history: list[Transition] = field(default_factory=list)

    # ------------------------------------------------------------------ questions

    def allows_entries(self) -> bool:
        return self.state is TradingState.ACTIVE

    def allows_closes(self, safety_close: bool) -> bool:
        """REDUCING allows every close; HALTED only the safety systems' own (orphans, assignment risk)."""
        return self.state is not TradingState.HALTED or safety_close

    # ------------------------------------------------------------------ changes

    def reduce(self, now: datetime, reason: str) -> Transition | None:
        return self._move(now, TradingState.REDUCING, reason)

    def halt(self, now: datetime, reason: str, sticky: bool, cause: str = "") -> Transition | None:
        moved = self._move(now, TradingState.HALTED, reason)
        if self.state is TradingState.HALTED:
            # A sticky halt stays sticky even if a lesser cause is added later.
            self.sticky = self.sticky or sticky
            if not self.sticky:
                self.cause = cause
        return moved

    def new_session(self, now: datetime) -> Transition | None:
        """A new trading day: the daily REDUCING ends; a halt does not."""
        if self.state is TradingState.REDUCING:
            return self._set(now, TradingState.ACTIVE, "new session: daily limits reset")
        return None

    def resolve(self, now: datetime, cause: str, reason: str) -> Transition | None:
        """The cause of a non-sticky halt is gone (e.g. reconnected and reconciled)."""
        if self.state is TradingState.HALTED and not self.sticky and self.cause == cause:
            return self._set(now, TradingState.ACTIVE, reason)
        return None

    def clear(self, now: datetime, by: str) -> Transition | None:
        """A person clears any halt (the `clear_halt` parameter or an operator command)."""
        if self.state is TradingState.ACTIVE:
            return None
        return self._set(now, TradingState.ACTIVE, f"cleared by {by} (was: {self.reason})")

    def _move(self, now: datetime, target: TradingState, reason: str) -> Transition | None:
        if SEVERITY[target.value] <= SEVERITY[self.state.value]:
            return None
        return self._set(now, target, reason)

    def _set(self, now: datetime, target: TradingState, reason: str) -> Transition:
        if now.tzinfo is None:
            raise ValueError("transitions need timezone-aware times")
        transition = Transition(now, self.state, target, reason)
        self.state, self.reason = target, reason
        if target is not TradingState.HALTED:
            self.sticky, self.cause = False, ""
        self.history.append(transition)
        return transition

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state.value, "reason": self.reason, "sticky": self.sticky, "cause": self.cause}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TradingStateMachine:
        return cls(TradingState(data["state"]), str(data["reason"]), bool(data["sticky"]), str(data.get("cause", "")))
