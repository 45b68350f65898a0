"""One pipeline step (DESIGN "One pipeline step"): the same decisions for every shell.

`step(snapshot, account, quote)` at each time a shell chooses (the strategies' entry times, the management
ticks, the assignment check times; `watch` every minute in between while a 0DTE is held):
1. data checks report unusable chains;
2. the trading state takes the daily limits;
3. every open structure gets its management: the safety systems' closes first (assignment), then the risk
   manager's (VIX regime, drawdown, 21-DTE defence), then its strategy's own (targets, stops, rolls);
4. strategies whose entry time it is propose entries (and the futures hedge, when enabled);
5. the risk manager reviews the entries in order; the safety gate reviews every approved entry and close;
6. what passes goes to the order tracker, whose commands the shell carries out.
`on_fill`, `on_cancel_confirmed` and `on_reject` pass broker events to the tracker; whole structures filled
update the book here (opened, closed, a part merged or removed), and a close's realised P&L reaches the
daily limits and the result's `closed` list.

Everything it decides is returned, with reasons: decisions (no trade, alerts), approvals, refusals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.book import OpenBook
from core.book_view import BookView
from core.model import (
    AccountState,
    Approval,
    Decision,
    Fill,
    IntentAction,
    MarketSnapshot,
    OrderIntent,
    Position,
    Refusal,
    Structure,
)
from core.orders import Command, Filled
from core.ports import (
    AssignmentWatch,
    Calendar,
    MinuteWatch,
    OrderTracker,
    Quote,
    RiskReviewer,
    SafetyGate,
    Strategy,
)
from core.settings import Settings

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    structure: Structure  # as it was held (quantity = units closed)
    strategy: str
    units: int
    entry_price: float
    exit_price: float
    pnl: float  # USD, before fees
    time: datetime
    reason: str = ""  # why it was closed (the closing intent's reason)


@dataclass
class StepResult:
    commands: list[Command] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    closed: list[ClosedTrade] = field(default_factory=list)
    opened: list[tuple[Structure, int, float]] = field(default_factory=list)  # structure, units, price

    def extend(self, other: StepResult) -> None:
        self.commands += other.commands
        self.decisions += other.decisions
        self.approvals += other.approvals
        self.refusals += other.refusals
        self.closed += other.closed
        self.opened += other.opened


class BookWithAccount:
    """The Book port for strategies: the open book and the account now."""

    def __init__(self, book: OpenBook, account: AccountState) -> None:
        self._book, self._account = book, account

    def open_structures(self, strategy: str | None = None) -> Sequence[Structure]:
        return self._book.open_structures(strategy)

    def positions(self) -> Sequence[Position]:
        return [Position(c, q, 0.0) for c, q in self._book.positions().items()]

    def account(self) -> AccountState:
        return self._account


ExtraManage = Callable[[Structure, MarketSnapshot], OrderIntent | None]
Hedge = Callable[[BookView, AccountState, MarketSnapshot], OrderIntent | None]


class Pipeline:
    def __init__(
        self,
        settings: Settings,
        calendar: Calendar,
        strategies: Sequence[Strategy],
        risk: RiskReviewer,
        gate: SafetyGate,
        tracker: OrderTracker,
        assignment: AssignmentWatch,
        book: OpenBook | None = None,
        extra_manage: ExtraManage | None = None,
        hedge: Hedge | None = None,
    ) -> None:
        self.settings = settings
        self.calendar = calendar
        self.strategies = list(strategies)
        self.by_name = {s.name: s for s in self.strategies}
        # Looked up once: an isinstance check against a runtime protocol costs microseconds, every minute.
        self.watchers = {s.name: s for s in self.strategies if isinstance(s, MinuteWatch)}
        self.risk = risk
        self.gate = gate
        self.tracker = tracker
        self.assignment = assignment
        self.book = book or OpenBook()
        self.extra_manage = extra_manage
        self.hedge = hedge
        self.sent: dict[tuple[str, int], OrderIntent] = {}  # (structure id, side) → what was sent

    # ------------------------------------------------------------------ the step

    def entries_due(self, now: datetime) -> list[Strategy]:
        local = now.astimezone(NEW_YORK).replace(second=0, microsecond=0)
        due = []
        for strategy in self.strategies:
            times = strategy.entry_times(self.calendar, local.date())
            if any(t.astimezone(NEW_YORK).replace(second=0, microsecond=0) == local for t in times):
                due.append(strategy)
        return due

    def step(self, snapshot: MarketSnapshot, account: AccountState, quote: Quote) -> StepResult:
        now = snapshot.time
        result = StepResult()
        for change in self.gate.evaluate(now, account):
            result.decisions.append(Decision(now, "trading state", False, str(getattr(change, "reason", change))))
        view = BookView.build(self.book.open_structures(), snapshot, self.settings)
        busy = self.tracker.working_structure_ids()
        closes: dict[str, OrderIntent] = {}
        for urgent in self.assignment.check(now, self.book, snapshot):
            closes.setdefault(urgent.structure.parent or urgent.structure.id, urgent)
        risk_closes, risk_decisions = self.risk.manage(view, snapshot, account)
        result.decisions += list(risk_decisions)
        for forced in risk_closes:
            closes.setdefault(forced.structure.id, forced)
        for structure in self.book.open_structures():
            if structure.id in closes:
                continue
            managed = self.extra_manage(structure, snapshot) if self.extra_manage else None
            strategy = self.by_name.get(structure.strategy)
            if managed is None and strategy is not None:
                managed = strategy.manage(structure, snapshot)
            if managed is not None:
                closes[structure.id] = managed
        entries: list[OrderIntent] = []
        port = BookWithAccount(self.book, account)
        for strategy in self.entries_due(now):
            for answer in strategy.propose(snapshot, port):
                if isinstance(answer, OrderIntent):
                    entries.append(answer)
                else:
                    result.decisions.append(answer)
        if self.hedge is not None:
            # The hedge looks at the book as it will be: a structure closing in this step (a 0DTE at its
            # 15:00 exit) is no exposure to hedge, and hedging it would leave the hedge naked a minute later.
            staying = [s for s in self.book.open_structures() if s.id not in closes]
            hedge_view = BookView.build(staying, snapshot, self.settings) if closes else view
            hedge = self.hedge(hedge_view, account, snapshot)
            if hedge is not None and hedge.action is IntentAction.CLOSE:
                closes.setdefault(hedge.structure.id, hedge)  # netting against a held hedge: a close
            elif hedge is not None:
                entries.append(hedge)
        sendable: list[OrderIntent] = []
        for e in entries:
            key = e.structure.parent or e.structure.id
            if key in busy:
                continue
            if key in closes:
                # An entry on a structure that closes in this very step (an IPMCC's new call while its LEAP hits
                # its stop) would fill into nothing: the close takes the structure out of the book, and the
                # sale is a naked short at the broker. The close goes alone.
                why = f"{e.structure.strategy}: not sent, {key} closes in this step ({closes[key].reason})"
                result.decisions.append(Decision(now, e.structure.strategy, False, why))
                continue
            sendable.append(e)
        entries = sendable
        for verdict in self.risk.review(entries, view, snapshot, account):
            if isinstance(verdict, Approval):
                result.approvals.append(verdict)
            else:
                result.refusals.append(verdict)
        to_gate = [a.intent for a in result.approvals] + [c for key, c in closes.items() if key not in busy]
        self._gate_and_submit(to_gate, snapshot, account, quote, result)
        result.commands += self.tracker.tick(quote, now)
        return self._absorb(result, account, now)

    def watched(self) -> list[Structure]:
        """The open structures whose strategy manages them every minute (core/ports.MinuteWatch: the 0DTE)."""
        out: list[Structure] = []
        for structure in self.book.open_structures():
            strategy = self.watchers.get(structure.strategy)
            if strategy is not None and strategy.watches_every_minute(structure):
                out.append(structure)
        return out

    def watching(self) -> bool:
        """Whether a shell should run `watch` at every minute between its steps."""
        return bool(self.watched())

    def watch(self, snapshot: MarketSnapshot, account: AccountState, quote: Quote) -> StepResult:
        """The minute check of what is watched every minute: each such structure's own management (targets,
        stops, its time exit) through the safety gate, and the fill checks' clock. No entries, no portfolio
        rules, no other strategy's management: those keep the shell's `manage_interval_minutes` steps."""
        now = snapshot.time
        result = StepResult()
        busy = self.tracker.working_structure_ids()
        closes: list[OrderIntent] = []
        for structure in self.watched():
            strategy = self.watchers[structure.strategy]
            if structure.id in busy:
                continue
            managed = strategy.manage(structure, snapshot)
            if managed is not None:
                closes.append(managed)
        self._gate_and_submit(closes, snapshot, account, quote, result)
        result.commands += self.tracker.tick(quote, now)
        return self._absorb(result, account, now)

    def send(
        self, intents: Sequence[OrderIntent], snapshot: MarketSnapshot, account: AccountState, quote: Quote
    ) -> StepResult:
        """Intents raised outside a step (an assignment's flattening closes): the safety gate, then the tracker."""
        result = StepResult()
        self._gate_and_submit(intents, snapshot, account, quote, result)
        return self._absorb(result, account, snapshot.time)

    def _gate_and_submit(
        self,
        intents: Sequence[OrderIntent],
        snapshot: MarketSnapshot,
        account: AccountState,
        quote: Quote,
        result: StepResult,
    ) -> None:
        held = {structure.id: structure for structure in self.book.open_structures()}
        for gated in self.gate.review(intents, snapshot, account, held):
            if isinstance(gated, Approval):
                intent = gated.intent
                side = 1 if intent.action is IntentAction.OPEN else -1
                self.sent[(intent.structure.id, side)] = intent
                result.commands += self.tracker.submit(intent, quote, snapshot.time)
            else:
                result.refusals.append(gated)

    def tick(self, snapshot: MarketSnapshot, account: AccountState, quote: Quote) -> StepResult:
        """Only the fill checks' clock (reprices, cancels, orphan retries): what a shell runs every minute
        while an order works, between the scheduled steps."""
        return self._absorb(StepResult(commands=self.tracker.tick(quote, snapshot.time)), account, snapshot.time)

    def resume(self, orders: Sequence[Any], quote: Quote, now: datetime, account: AccountState) -> StepResult:
        """After a restart, the saved orders in flight (safety/persistence's TrackedOrder): their structures are
        known as sent again, and the tracker settles them from their fills (safety/fills.resume)."""
        for order in orders:
            if order.parent is None:
                action = IntentAction.OPEN if order.side > 0 else IntentAction.CLOSE
                reason = "resumed after a restart"
                intent = OrderIntent(action, order.structure, order.quantity, order.limit_price, reason, order.safety)
                self.sent[(order.structure.id, order.side)] = intent
        return self._absorb(StepResult(commands=self.tracker.resume(orders, quote, now)), account, now)

    # ------------------------------------------------------------------ broker events

    def on_fill(self, order_id: str, fill: Fill, quote: Quote, account: AccountState) -> StepResult:
        return self._absorb(StepResult(commands=self.tracker.on_fill(order_id, fill, quote)), account, fill.time)

    def on_cancel_confirmed(self, order_id: str, quote: Quote, now: datetime, account: AccountState) -> StepResult:
        return self._absorb(StepResult(commands=self.tracker.on_cancel_confirmed(order_id, quote, now)), account, now)

    def on_reject(self, order_id: str, reason: str, quote: Quote, now: datetime, account: AccountState) -> StepResult:
        return self._absorb(StepResult(commands=self.tracker.on_reject(order_id, reason, quote, now)), account, now)

    def _absorb(self, result: StepResult, account: AccountState, now: datetime) -> StepResult:
        """Apply Filled commands to the book; pass the rest on to the shell."""
        rest: list[Command] = []
        for command in result.commands:
            if isinstance(command, Filled):
                self._filled(command, account, now, result)
            else:
                rest.append(command)
        result.commands = rest
        return result

    def _filled(self, done: Filled, account: AccountState, now: datetime, result: StepResult) -> None:
        intent = self.sent.get((done.structure_id, done.side))
        if intent is None:
            result.decisions.append(
                Decision(now, "fills", False, f"fill for {done.structure_id} that was not sent by this run")
            )
            return
        structure = intent.structure
        if done.side > 0:
            self.book.add_units(structure, done.units, done.average_price)
            result.opened.append((structure, done.units, done.average_price))
            return
        if structure.parent:
            self.book.remove_part(structure, done.units)
            entry = structure.entry_price  # a part's own entry (an IPMCC call's premium)
        else:
            held = self.book.structures.get(structure.id)
            self.book.remove_units(structure.id, done.units)
            entry = held.entry_price if held is not None else structure.entry_price
        multiplier = structure.legs[0].contract.multiplier
        pnl = (done.average_price - entry) * multiplier * done.units
        trade = ClosedTrade(
            structure, structure.strategy, done.units, entry, done.average_price, pnl, now, intent.reason
        )
        result.closed.append(trade)
        for change in self.gate.on_close(now, structure.parent or structure.id, pnl, account):
            result.decisions.append(Decision(now, "trading state", False, str(getattr(change, "reason", change))))
