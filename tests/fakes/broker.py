"""A simulated broker for the fill tracker's tests: it carries out the tracker's commands, keeps positions,
and misbehaves on request (partial and out-of-ratio fills, rejects, cancels that do nothing, fills after a
cancel). It checks, on every order it receives, that no close is larger than the position it closes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.model import Contract, Fill
from core.orders import CancelOrder, Command, Filled, SubmitOrder
from core.ports import AlertMessage as Alert
from safety.fills import FillTracker


@dataclass
class Working:
    order: SubmitOrder
    filled: dict[int, int] = field(default_factory=dict)  # leg index → contracts filled (signed)
    cancel_requested: bool = False
    done: bool = False


@dataclass
class SimBroker:
    tracker: FillTracker
    quotes: dict[Contract, tuple[float, float]]
    now: datetime
    positions: dict[Contract, int] = field(default_factory=dict)
    working: dict[str, Working] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    filled_reports: list[Filled] = field(default_factory=list)
    submissions: list[SubmitOrder] = field(default_factory=list)
    oversized_closes: list[str] = field(default_factory=list)
    ignore_cancels: bool = False  # the plugin fault: cancels report nothing and do nothing

    def quote(self, contract: Contract) -> tuple[float, float] | None:
        return self.quotes.get(contract)

    # ------------------------------------------------------------------ commands from the tracker

    def apply(self, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, SubmitOrder):
                self._check_close_size(command)
                self.submissions.append(command)
                self.working[command.order_id] = Working(command)
            elif isinstance(command, CancelOrder):
                w = self.working.get(command.order_id)
                if w is not None:
                    w.cancel_requested = True
            elif isinstance(command, Alert):
                self.alerts.append(command)
            elif isinstance(command, Filled):
                self.filled_reports.append(command)

    def _check_close_size(self, order: SubmitOrder) -> None:
        """An order that reduces a position must not be larger than it (it would open the other way)."""
        for leg in order.structure.legs:
            trade = leg.ratio * order.side * order.quantity
            have = self.positions.get(leg.contract, 0)
            reduces = have != 0 and (trade > 0) != (have > 0)
            if (order.side < 0 or order.safety) and reduces and abs(trade) > abs(have):
                self.oversized_closes.append(f"{order.order_id}: trade {trade:+d} against a position of {have:+d}")
            if order.safety and not reduces:
                self.oversized_closes.append(f"{order.order_id}: safety order {trade:+d} does not reduce {have:+d}")

    # ------------------------------------------------------------------ what the market does

    def fill(self, order_id: str, leg: int, contracts: int) -> None:
        """Fill `contracts` (unsigned) more of one leg of a working order (capped at what it asked)."""
        w = self.working[order_id]
        o = w.order
        target = o.structure.legs[leg].ratio * o.side * o.quantity
        done = w.filled.get(leg, 0)
        step = 1 if target > 0 else -1
        n = min(contracts, abs(target) - abs(done))
        if n <= 0:
            return
        signed = step * n
        w.filled[leg] = done + signed
        contract = o.structure.legs[leg].contract
        self.positions[contract] = self.positions.get(contract, 0) + signed
        bid, ask = self.quotes[contract]
        price = ask if signed > 0 else bid
        self.apply(self.tracker.on_fill(order_id, Fill(o.structure.id, contract, signed, price, self.now), self.quote))

    def fill_all(self, order_id: str) -> None:
        w = self.working[order_id]
        for leg, _ in enumerate(w.order.structure.legs):
            self.fill(order_id, leg, abs(w.order.structure.legs[leg].ratio) * w.order.quantity)

    def confirm_cancels(self) -> None:
        if self.ignore_cancels:
            return
        for order_id, w in list(self.working.items()):
            if w.cancel_requested and not w.done:
                w.done = True
                self.apply(self.tracker.on_cancel_confirmed(order_id, self.quote, self.now))

    def reject(self, order_id: str) -> None:
        w = self.working[order_id]
        w.done = True
        self.apply(self.tracker.on_reject(order_id, "leg rejected by the exchange", self.quote, self.now))

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.apply(self.tracker.tick(self.quote, self.now))

    def live_orders(self) -> list[str]:
        return [i for i, w in self.working.items() if not w.done and not w.cancel_requested]

    def drain(self, max_rounds: int = 200) -> None:
        """The market behaves from here on: cancels are confirmed, every working order fills at once."""
        self.ignore_cancels = False
        for _ in range(max_rounds):
            self.confirm_cancels()
            for order_id in self.live_orders():
                self.fill_all(order_id)
                self.working[order_id].done = True
            if not self.tracker.working():
                return
            self.advance(self.tracker.settings.fill_timeout_seconds + 1)
        raise AssertionError(
            "orders still working after draining: " + ", ".join(o.structure.id for o in self.tracker.working())
        )
