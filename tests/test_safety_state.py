"""safety/state: every transition of the trading state machine, table-driven."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from safety.state import TradingState, TradingStateMachine

NY = ZoneInfo("America/New_York")
T = datetime(2024, 1, 8, 10, 30, tzinfo=NY)
A, R, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def machine(state: TradingState, sticky: bool = False, cause: str = "") -> TradingStateMachine:
    return TradingStateMachine(state, "setup", sticky, cause)


@pytest.mark.parametrize(
    ("start", "sticky", "action", "expected", "moved"),
    [
        (A, False, "reduce", R, True),
        (R, False, "reduce", R, False),
        (H, True, "reduce", H, False),  # never milder by itself
        (A, False, "halt_sticky", H, True),
        (R, False, "halt_sticky", H, True),
        (H, False, "halt_sticky", H, False),
        (A, False, "new_session", A, False),
        (R, False, "new_session", A, True),
        (H, True, "new_session", H, False),  # time never clears a halt
        (H, False, "new_session", H, False),
        (H, True, "resolve", H, False),  # a sticky halt ignores its cause going away
        (H, False, "resolve", A, True),
        (H, True, "clear", A, True),
        (R, False, "clear", A, True),
        (A, False, "clear", A, False),
    ],
)
def test_transitions(start: TradingState, sticky: bool, action: str, expected: TradingState, moved: bool) -> None:
    m = machine(start, sticky, cause="broker connection")
    result = {
        "reduce": lambda: m.reduce(T, "daily loss 5.2% of start-of-day net liq"),
        "halt_sticky": lambda: m.halt(T, "reconciliation mismatch", sticky=True),
        "new_session": lambda: m.new_session(T),
        "resolve": lambda: m.resolve(T, "broker connection", "reconnected and reconciled"),
        "clear": lambda: m.clear(T, "the clear_halt parameter"),
    }[action]()
    assert m.state is expected
    assert (result is not None) == moved
    if result is not None:
        assert result.before is start and result.after is expected and result.reason
        assert m.history[-1] == result


def test_a_sticky_halt_stays_sticky_when_a_lesser_halt_follows() -> None:
    m = machine(A)
    m.halt(T, "corrupt state file", sticky=True)
    m.halt(T, "broker disconnected", sticky=False, cause="broker connection")
    assert m.resolve(T, "broker connection", "reconnected") is None
    assert m.state is H and m.sticky


def test_what_each_state_allows() -> None:
    assert machine(A).allows_entries() and machine(A).allows_closes(False)
    assert not machine(R).allows_entries() and machine(R).allows_closes(False)
    assert not machine(H).allows_entries() and not machine(H).allows_closes(False) and machine(H).allows_closes(True)


def test_round_trip_and_aware_times() -> None:
    m = machine(A)
    m.halt(T, "reconciliation mismatch", sticky=True)
    again = TradingStateMachine.from_dict(m.to_dict())
    assert (again.state, again.reason, again.sticky) == (H, "reconciliation mismatch", True)
    with pytest.raises(ValueError, match=r"^transitions need timezone-aware times$"):
        machine(A).reduce(datetime(2024, 1, 8, 10, 30), "x")  # noqa: DTZ001 - the point of the test


def test_a_cleared_sticky_halt_leaves_nothing_sticky_behind() -> None:
    """After a person clears a sticky halt, the next connection halt must clear itself on reconnect: the
    sticky flag and the old cause go with the halt."""
    m = machine(A)
    m.halt(T, "reconciliation mismatch", sticky=True)
    cleared = m.clear(T, "the clear_halt parameter")
    assert cleared is not None and cleared.time == T and (cleared.before, cleared.after) == (H, A)
    assert (m.sticky, m.cause) == (False, "")
    m.halt(T, "broker connection lost: timeout", sticky=False, cause="broker connection")
    assert m.resolve(T, "broker connection", "reconnected") is not None and m.state is A
    assert (m.sticky, m.cause) == (False, "")


def test_the_cause_of_a_halt_survives_a_restart_and_an_old_file_without_one_reads_as_none() -> None:
    m = machine(A)
    m.halt(T, "broker connection lost: timeout", sticky=False, cause="broker connection")
    saved = m.to_dict()
    assert saved == {
        "state": "HALTED",
        "reason": "broker connection lost: timeout",
        "sticky": False,
        "cause": "broker connection",
    }
    again = TradingStateMachine.from_dict(saved)
    assert again.resolve(T, "broker connection", "reconnected") is not None  # the restarted halt still clears
    old = TradingStateMachine.from_dict({"state": "HALTED", "reason": "x", "sticky": False})
    assert old.cause == "" and old.resolve(T, "broker connection", "reconnected") is None
    assert machine(A).halt(T, "x", sticky=False) is not None


def test_a_new_session_says_why_the_day_is_active_again() -> None:
    m = machine(R)
    moved = m.new_session(T)
    assert moved is not None and moved.reason == "new session: daily limits reset" and m.reason == moved.reason


def test_a_halt_with_no_cause_waits_for_none_and_is_saved_so() -> None:
    m = machine(A)
    m.halt(T, "a person's pause", sticky=False)
    assert m.to_dict() == {"state": "HALTED", "reason": "a person's pause", "sticky": False, "cause": ""}
    assert m.resolve(T, "broker connection", "reconnected") is None and m.state is H
