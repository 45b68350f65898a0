"""The chaos run, short: February 2018 (the VIX spike) with every fault turned up, every invariant checked
after every step. `make chaos` runs the long version (docs/RELIABILITY.md)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from core.settings import Settings
from replay.chaos import table
from replay.engine import ReplayEngine
from replay.faults import Faults

ROUGH = Faults.parse(
    "reject=0.08,partial=0.2,delay=0.1,disconnect=0.15,disconnect_minutes=1-30,restart=0.05,corrupt=0.3,"
    "ignore_cancel=0.3,gap=0.03,bad_quotes=0.2"
)
# A seed that draws every fault kind and still trades in this month. Fault draws follow the run's path, so a
# change in what the strategies do can move them; the assertions below then say what went missing, and
# another seed that draws everything is the fix (not a weaker test).
# 22 until #16, 35 until the intraday paths of #17 (it then drew no ignored cancel, and closed no trade), 37
# until the surface calibrated on real quotes (#18: it then closed no trade; 38 neither), 39 until the stress
# gate (#19: the ladder's risk per trade became its stress loss and it closed no trade; 40-45 missed a kind).
SEED = 46


def test_a_rough_february_keeps_every_invariant() -> None:
    engine = ReplayEngine(
        Settings(), date(2018, 1, 29), date(2018, 2, 28), 100_000.0, seed=SEED, faults=ROUGH, operator=True
    )
    engine.run(progress=False)
    summary = engine.summary()
    injected = summary["faults_injected"]
    for kind in ("disconnects", "restarts at random moments", "state files truncated", "steps with bad quotes",
                 "data gaps", "cancels ignored"):  # fmt: skip
        assert injected.get(kind, 0) > 0, f"no {kind} injected: the run proves nothing about them"
    assert summary["restarts"] >= 5
    assert sum(s["trades"] for s in summary["strategies"].values()) > 0
    assert summary["invariants"] and not any(summary["invariants"].values()), summary["invariants"]
    assert summary["safety_events"].get("corrupt state file", 0) == injected["state files truncated"]


def test_the_chaos_table_lists_faults_and_violations() -> None:
    result = {
        "runs": 1, "seed": 1, "start": "2018-01-02", "end": "2018-01-31", "restarts": 3,
        "faults_injected": {"leg rejects": 2}, "violations": {"limit breaches": 0},
        "per_run": [{"run": 1, "trades": 4, "restarts": 3, "violations": {}, "seconds": 1.0, "faults": "reject 5%"}],
    }  # fmt: skip
    text = table(result)
    assert "| leg rejects | 2 |" in text and "| limit breaches | 0 |" in text
    assert "| 1 | 2018-01-02..2018-01-31 | 4 | 3 | 0 | 1.0 |" in text  # a run without its own window: the result's


def test_the_limit_invariants_run_on_the_fills_a_step_led_to() -> None:
    """Regression: the limit checks looked at the step's own result, where nothing is ever opened (fills come
    back from the broker), so they never ran."""
    engine = ReplayEngine(Settings(), date(2018, 1, 2), date(2018, 2, 28), 100_000.0, seed=7)
    engine.run(progress=False)
    opened = sum(1 for t in engine.record.trades) + len(engine.pipeline.book.structures)
    assert opened > 0 and engine.limit_checks > 0
    assert engine.record.invariants["limit breaches"] == 0


def test_an_orphan_close_still_working_after_the_grace_is_counted_once() -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from core.model import Leg, Right, Structure
    from core.pipeline import StepResult
    from replay.engine import ORPHAN_GRACE
    from safety.fills import TrackedOrder
    from tests.fakes import market as m

    engine = ReplayEngine(Settings(), date(2018, 2, 1), date(2018, 2, 2), 100_000.0)
    start = datetime(2018, 2, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    snapshot = engine.market.snapshot(start, {"SPY"})
    leg = Leg(m.option("SPY", date(2018, 3, 16), 250.0, Right.PUT), 1)
    orphan = TrackedOrder("o:open", Structure("o", "leap_ladder", (leg,), 1, 0.0, start), 1, 1, True, parent="p:open")
    engine.safety.fills.tracked[orphan.key] = orphan  # working, and never filled
    account = engine.account(snapshot)
    for minutes in (0, 4, 6, 9):
        later = dataclasses.replace(snapshot, time=start + timedelta(minutes=minutes))
        engine._check_invariants(later, account, StepResult())
    assert timedelta(minutes=5) == ORPHAN_GRACE
    assert engine.record.invariants["orphan legs open past the timeout"] == 1


def test_a_reconnect_that_finds_different_holdings_adopts_them_and_halts() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from core.model import Right
    from safety.state import TradingState
    from tests.fakes import market as m

    engine = ReplayEngine(Settings(), date(2018, 2, 1), date(2018, 2, 2), 100_000.0)
    moment = datetime(2018, 2, 1, 11, 0, tzinfo=ZoneInfo("America/New_York"))
    stray = m.option("SPY", date(2018, 3, 16), 250.0, Right.PUT)
    engine.broker.holdings[stray] = -1  # filled while the connection was down, unknown to the algorithm
    engine.broker.down, engine.down_until = True, moment
    engine.safety.connection.on_disconnect(moment, "test")
    engine._connection(moment, full=False)
    assert engine.pipeline.book.positions() == {stray: -1}  # the book is rebuilt: every holding is in it
    assert engine.safety.state.state is TradingState.HALTED
    assert any(a.title == "reconciliation" for a in engine.alerts.sent)


def test_years_are_drawn_per_run_within_the_histories_and_leave_the_fault_mixes_alone() -> None:
    from replay.chaos import HISTORY_SPAN, parse_years, plan

    fixed = plan(40, 3, date(2018, 1, 2), date(2018, 12, 31))
    drawn = plan(40, 3, date(2018, 1, 2), date(2018, 12, 31), years=(1999, 2021))
    assert [r.faults for r in drawn] == [r.faults for r in fixed]  # the same mixes as `make chaos` draws
    assert {r.start for r in fixed} == {date(2018, 1, 2)}
    years = {r.start.year for r in drawn}
    assert len(years) > 10 and all(r.start.year == r.end.year for r in drawn)
    assert all(HISTORY_SPAN[0] <= r.start <= r.end <= HISTORY_SPAN[1] for r in drawn)
    assert plan(40, 3, date(2018, 1, 2), date(2018, 12, 31), years=(1999, 2021)) == drawn  # by seed
    from core.calendar import Calendars
    from replay.modelled import ModelledMarket

    assert ModelledMarket(Calendars(), 7).span() == HISTORY_SPAN
    assert parse_years("1999-2021") == (1999, 2021)
    for wrong in ("1998-2021", "2021-1999", "2018", "x-y"):
        with pytest.raises(ValueError):
            parse_years(wrong)


def test_a_chaos_batch_in_this_process_names_each_runs_window_and_adds_up() -> None:
    from replay.chaos import chaos, plan
    from replay.dispatch import Where

    start, end = date(2018, 2, 5), date(2018, 2, 7)
    result = chaos(2, 5, start, end, where=Where())
    rows = result["per_run"]
    assert [(r["run"], r["start"], r["end"]) for r in rows] == [(n, "2018-02-05", "2018-02-07") for n in (1, 2)]
    assert [r["faults"] for r in rows] == [p.faults.describe() for p in plan(2, 5, start, end)]
    assert result["restarts"] == sum(r["restarts"] for r in rows)
    assert "book differs from the broker" in result["violations"]
    assert not any(result["violations"].values()) and result["where"] == "serially in this process"
