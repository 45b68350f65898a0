"""core/pipeline with every real component wired (strategies, risk, safety) and a broker that fills at mid:
a Friday on which the 0DTE opens at 10:30 and closes at its 15:00 time exit."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time

import numpy as np

import risk
import safety
import strategies
from core.book_view import BookView
from core.calendar import Calendars
from core.model import (
    AccountState,
    Contract,
    DailyBars,
    Fill,
    Leg,
    MarketSnapshot,
    OrderIntent,
    Right,
    Structure,
    option_contract,
)
from core.orders import SubmitOrder
from core.pipeline import Hedge, Pipeline, StepResult
from core.settings import Settings
from tests.fakes import market as m
from tests.fakes.ports import RecordingAlerts

S = Settings.from_parameters(
    {"enable_strangles": "false", "enable_lt112": "false", "enable_ipmcc": "false", "enable_leap_ladder": "false"}
)
CAL = Calendars()
FRIDAY = date(2024, 1, 12)
ACCOUNT = AccountState(60_000.0, 60_000.0, 60_000.0, 0.0)  # phase 2: 10-point wings fit the 2% rule


def market(clock: time, price: float = 4750.0) -> MarketSnapshot:
    now = datetime.combine(FRIDAY, clock, tzinfo=m.NY)
    chain = m.priced_chain("SPXW", price, now, [FRIDAY], [float(k) for k in range(4500, 5000, 5)], 0.25)
    closes = np.full(20, 4750.0)
    bars = DailyBars(tuple(FRIDAY for _ in closes), closes, closes + 20.0, closes - 20.0, closes)
    return dataclasses.replace(
        m.snapshot(now, 16.0, [chain], {"SPX": price}), daily={"SPX": bars}, session_open={"SPX": 4750.0}
    )


def wire(settings: Settings = S, hedge: Hedge | None = None) -> Pipeline:
    built, futures = strategies.build(settings, CAL)
    systems = safety.build(settings, CAL.equity, CAL.cme, RecordingAlerts())
    systems.checks.new_session(datetime.combine(FRIDAY, time(9, 30), tzinfo=m.NY), ACCOUNT)
    return Pipeline(
        settings,
        CAL.equity,
        built,
        risk.build(settings, CAL.equity),
        systems.checks,
        systems.fills,
        systems.assignment,
        extra_manage=None,
        hedge=hedge or futures.hedge,
    )


def fill_at_mid(pipeline: Pipeline, result: StepResult, snap: MarketSnapshot) -> StepResult:
    out = StepResult()
    chain = snap.chains["SPXW"]

    def quote(c: Contract) -> tuple[float, float] | None:
        row = chain.find(c.expiry or FRIDAY, c.strike or 0.0, c.right or Right.PUT)
        return None if row is None else (float(chain.bid[row]), float(chain.ask[row]))

    for command in result.commands:
        if isinstance(command, SubmitOrder):
            for leg in command.structure.legs:
                bid, ask = quote(leg.contract) or (0.0, 0.0)
                q = leg.ratio * command.side * command.quantity
                out.extend(
                    pipeline.on_fill(
                        command.order_id,
                        Fill(command.structure.id, leg.contract, q, (bid + ask) / 2, snap.time),
                        quote,
                        ACCOUNT,
                    )
                )
    return out


def test_a_friday_through_the_whole_pipeline() -> None:
    pipeline = wire()
    assert [s.name for s in pipeline.entries_due(datetime.combine(FRIDAY, time(10, 30), tzinfo=m.NY))] == ["zero_dte"]
    quiet = pipeline.step(market(time(10, 0)), ACCOUNT, lambda c: (1.0, 1.1))
    assert quiet.commands == [] and not pipeline.book.structures
    entry_market = market(time(10, 30))
    entry = pipeline.step(entry_market, ACCOUNT, lambda c: (1.0, 1.1))
    assert [a.intent.structure.strategy for a in entry.approvals] == ["zero_dte"]
    [submit] = [c for c in entry.commands if isinstance(c, SubmitOrder)]
    assert submit.side == 1 and len(submit.structure.legs) == 4
    filled = fill_at_mid(pipeline, entry, entry_market)
    assert len(filled.opened) == 1 and list(pipeline.book.structures) == [submit.structure.id]
    held = pipeline.step(market(time(12, 0)), ACCOUNT, lambda c: (1.0, 1.1))
    assert not [c for c in held.commands if isinstance(c, SubmitOrder)]  # nothing to do at noon
    exit_market = market(time(15, 0), price=4760.0)
    closing = pipeline.step(exit_market, ACCOUNT, lambda c: (1.0, 1.1))
    [close] = [c for c in closing.commands if isinstance(c, SubmitOrder)]
    assert close.side == -1 and close.structure.id == submit.structure.id
    done = fill_at_mid(pipeline, closing, exit_market)
    [trade] = done.closed
    assert trade.strategy == "zero_dte" and trade.units == submit.quantity and not pipeline.book.structures
    assert trade.pnl > 0  # most of the credit decays by 15:00 on a quiet day


def test_the_hedge_sees_the_book_without_what_closes_in_the_same_step() -> None:
    """Regression (2014-02-07 in the replay): the 0DTE condor closing at its 15:00 time exit was hedged in
    that very step, and the MES bought for it were naked a minute later."""
    seen: list[list[str]] = []

    def hedge(view: BookView, account: AccountState, snapshot: MarketSnapshot) -> OrderIntent | None:
        seen.append([v.structure.id for v in view.views])
        return None

    pipeline = wire(hedge=hedge)
    pipeline.step(market(time(10, 0)), ACCOUNT, lambda c: (1.0, 1.1))
    entry_market = market(time(10, 30))
    fill_at_mid(pipeline, pipeline.step(entry_market, ACCOUNT, lambda c: (1.0, 1.1)), entry_market)
    (condor,) = pipeline.book.structures
    pipeline.step(market(time(12, 0)), ACCOUNT, lambda c: (1.0, 1.1))
    closing = pipeline.step(market(time(15, 0), price=4760.0), ACCOUNT, lambda c: (1.0, 1.1))
    assert [c for c in closing.commands if isinstance(c, SubmitOrder) and c.side == -1]  # the time exit
    assert seen[-2] == [condor] and seen[-1] == []  # held at noon; at 15:00 it is closing, no exposure


def test_phase_four_wings_narrow_to_fit_the_two_percent_rule() -> None:
    """At 100,000 (phase 4) the 0DTE wants 30-point wings: a condor for a 6.80 credit risks 2,320 a contract,
    over 2% of net liq. It narrows to 20 (1,430 a contract) and the risk rule cuts the two contracts to one;
    with the narrowing off, the safety gate refuses the 30-point condor with the rule's name."""
    rich = AccountState(100_000.0, 100_000.0, 100_000.0, 0.0)
    pipeline = wire()
    pipeline.step(market(time(10, 0)), rich, lambda c: (1.0, 1.1))  # the 10:00 analysis
    result = pipeline.step(market(time(10, 30)), rich, lambda c: (1.0, 1.1))
    [submit] = [c for c in result.commands if isinstance(c, SubmitOrder)]
    strikes = sorted(float(leg.contract.strike or 0.0) for leg in submit.structure.legs)
    assert strikes[1] - strikes[0] == 20.0 and strikes[3] - strikes[2] == 20.0
    assert submit.quantity == 1 and not result.refusals
    strict_settings = dataclasses.replace(S, zdte_narrow_wings_to_fit=False)
    strict_pipeline = wire(strict_settings)
    strict_pipeline.step(market(time(10, 0)), rich, lambda c: (1.0, 1.1))
    strict = strict_pipeline.step(market(time(10, 30)), rich, lambda c: (1.0, 1.1))
    assert [a.intent.structure.strategy for a in strict.approvals] == ["zero_dte"]  # risk passed it
    [refusal] = strict.refusals
    assert refusal.rule == "risk per trade" and "one contract risks 2,3" in refusal.reason


def test_a_held_0dte_is_checked_every_minute_and_only_it() -> None:
    """RULEBOOK 0DTE: "A held 0DTE is checked every minute (a stop is a stop)". The condor sold at 10:30 with
    SPX at 4750 (shorts about half an ATR out); at 10:37 SPX is at 4690, its short put deep in the money and the
    cost to close well past 2 × the credit. The minute watch closes it then, with the stop's reason, not at
    the 10:45 management step; it proposes no entry and manages nothing else."""
    pipeline = wire()
    pipeline.step(market(time(10, 0)), ACCOUNT, lambda c: (1.0, 1.1))
    entry_market = market(time(10, 30))
    fill_at_mid(pipeline, pipeline.step(entry_market, ACCOUNT, lambda c: (1.0, 1.1)), entry_market)
    (condor,) = pipeline.book.open_structures()
    assert pipeline.watching()
    quiet = pipeline.watch(market(time(10, 36)), ACCOUNT, lambda c: (1.0, 1.1))
    assert not [c for c in quiet.commands if isinstance(c, SubmitOrder)]
    falling = pipeline.watch(market(time(10, 37), price=4690.0), ACCOUNT, lambda c: (1.0, 1.1))
    [close] = [c for c in falling.commands if isinstance(c, SubmitOrder)]
    assert close.side == -1 and close.structure.id == condor.id
    assert "zero_dte: stop (cost to close" in pipeline.sent[(condor.id, -1)].reason
    fill_at_mid(pipeline, falling, market(time(10, 37), price=4690.0))
    assert not pipeline.book.structures and not pipeline.watching()  # nothing held: no minute watch


def test_the_minute_watch_leaves_other_strategies_to_their_interval() -> None:
    """An LT112 (a 120-day put spread and naked puts) deep in its stop is not the minute watch's: it waits
    for the management step every `manage_interval_minutes`, as RULEBOOK says."""
    settings = Settings.from_parameters({"enable_lt112": "true"})
    pipeline = wire(settings)
    snap = market(time(10, 37), price=4690.0)
    expiry = date(2024, 5, 17)
    legs = (
        Leg(option_contract("SPXW", "SPX", Right.PUT, 4600.0, expiry), 1),
        Leg(option_contract("SPXW", "SPX", Right.PUT, 4550.0, expiry), -1),
        Leg(option_contract("SPXW", "SPX", Right.PUT, 4200.0, expiry), -2),
    )
    lt112 = Structure("lt112-1", "lt112", legs, 1, -0.10, snap.time, leg_entry_prices=(30.0, 20.0, 5.05))
    pipeline.book.add_units(lt112, 1, -0.10)
    assert not pipeline.watching()
    assert pipeline.watch(snap, ACCOUNT, lambda c: (1.0, 1.1)).commands == []
