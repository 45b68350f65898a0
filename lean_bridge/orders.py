"""Orders in LEAN: the fill tracker's commands out as LEAN orders, LEAN's order events back as fills, cancels
and rejects.

- A structure of two or more legs goes out as one `combo_limit_order` (the TastyTrade model accepts no
  combo market and no per-leg limits); one leg (a delta hedge, an orphan close) as a plain `limit_order`.
  The combo's limit is the structure's net price per unit, + debit, − credit, and its quantity is signed by
  side: LEAN sums leg ratio × price and fills a buy below the limit and a sell above it, the tracker's own
  convention. A limit of exactly 0 would make LEAN send a combo *market* order, so it goes out one tick
  toward marketable.
- A close (or a safety order) only reduces what LEAN's portfolio holds, never by more than it holds: a closing
  sell larger than the holding can reach the broker as "sell to open" (REFERENCE.md).
- Every LEAN order carries the tag "<structure id> <tracker order id>", so after a restart the open orders
  are mapped back (`adopt_open_orders`).
- Nothing is updated in place: a reprice is a cancel, confirmed by its CANCELED events, then a new order
  (some brokerage plugins report an update or cancel as done without acting). A cancel not confirmed
  within `cancel_confirm_seconds` is sent again and said in an alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from AlgorithmImports import Leg as LeanLeg
from AlgorithmImports import OrderEvent, OrderStatus, OrderTicket, QCAlgorithm
from core.model import Contract, Fill, limit_tick
from core.orders import SubmitOrder
from core.timeutil import elapsed
from core.valuation import describe

from lean_bridge.symbols import SymbolRegistry

TAG_SEPARATOR = " "
MAX_CANCEL_RETRIES = 3


@dataclass(frozen=True, slots=True)
class LegFilled:
    order_id: str
    fill: Fill


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    order_id: str


@dataclass(frozen=True, slots=True)
class OrderRejected:
    order_id: str
    reason: str


BrokerEvent = LegFilled | OrderCanceled | OrderRejected


@dataclass
class RoutedOrder:
    """One tracker order at LEAN: its legs' LEAN order ids and how each stands."""

    order_id: str
    structure_id: str
    contracts: dict[int, Contract]  # LEAN order id → the leg's contract
    closed: set[int] = field(default_factory=set)  # LEAN ids filled, canceled or invalid
    cancel_sent: datetime | None = None
    cancel_tries: int = 0
    canceled_legs: int = 0
    done: bool = False


def lean_limit(order: SubmitOrder) -> float:
    """The combo's limit: the tracker's, moved one tick toward marketable if it is exactly zero."""
    if order.limit_price != 0:
        return order.limit_price
    tick = limit_tick(order.structure.legs, 0.0)
    return tick if order.side > 0 else -tick


def tag_of(order: SubmitOrder) -> str:
    return f"{order.structure.id}{TAG_SEPARATOR}{order.order_id}"


class OrderRouter:
    def __init__(self, algorithm: QCAlgorithm, registry: SymbolRegistry, cancel_confirm_seconds: int) -> None:
        self.algorithm = algorithm
        self.registry = registry
        self.cancel_after = timedelta(seconds=cancel_confirm_seconds)
        self.routed: dict[str, RoutedOrder] = {}
        self.by_lean_id: dict[int, RoutedOrder] = {}

    # ---------------------------------------------------------------- out

    def send(self, order: SubmitOrder, holdings: dict[Contract, int]) -> str | None:
        """Send one order; returns why it was not sent (the shell reports it to the tracker as a reject)."""
        symbols = []
        for leg in order.structure.legs:
            symbol = self.registry.symbol(leg.contract)
            if symbol is None:
                return f"no LEAN symbol known for {describe(leg.contract)} (not in any chain or holding seen)"
            symbols.append(symbol)
        if order.side < 0 or order.safety:
            for leg in order.structure.legs:
                change = leg.ratio * order.side * order.quantity
                held = holdings.get(leg.contract, 0)
                if held == 0 or (held > 0) == (change > 0):
                    return f"close of {describe(leg.contract)}: none held that way, so it would open a position"
                if abs(change) > abs(held):
                    return (
                        f"close of {abs(change)} {describe(leg.contract)} is larger than the {abs(held)} held: "
                        "not sent (it could open a new position)"
                    )
        tag = tag_of(order)
        tickets: list[OrderTicket]
        if len(symbols) == 1:
            ratio = order.structure.legs[0].ratio
            price = lean_limit(order) / ratio
            tickets = [self.algorithm.limit_order(symbols[0], ratio * order.side * order.quantity, price, tag=tag)]
        else:
            legs = [
                LeanLeg.create(symbol, leg.ratio) for symbol, leg in zip(symbols, order.structure.legs, strict=True)
            ]
            tickets = list(
                self.algorithm.combo_limit_order(legs, order.side * order.quantity, lean_limit(order), tag=tag)
            )
        routed = RoutedOrder(
            order.order_id,
            order.structure.id,
            {int(t.order_id): leg.contract for t, leg in zip(tickets, order.structure.legs, strict=False)},
        )
        self.routed[order.order_id] = routed
        for lean_id in routed.contracts:
            self.by_lean_id[lean_id] = routed
        if len(tickets) != len(symbols) or any(t.status == OrderStatus.INVALID for t in tickets):
            self._finish(routed)
            return "LEAN refused the order at submission (its reason is in the log)"
        return None

    def cancel(self, order_id: str, now: datetime) -> bool:
        """Ask LEAN to cancel every open leg; the confirmation comes as CANCELED events. False when the
        order is unknown or already done (nothing to confirm)."""
        routed = self.routed.get(order_id)
        if routed is None or routed.done:
            return False
        routed.cancel_sent = now
        routed.cancel_tries += 1
        for lean_id in routed.contracts:
            if lean_id not in routed.closed:
                self.algorithm.transactions.cancel_order(lean_id, "cancel requested by the fill tracker")
        return True

    def overdue_cancels(self, now: datetime) -> list[tuple[str, int]]:
        """Cancels with no confirmation for `cancel_confirm_seconds`: sent again, returned as (order id, tries)
        for an alert; after MAX_CANCEL_RETRIES the alert is critical and a person looks."""
        out = []
        for routed in self.routed.values():
            if routed.done or routed.cancel_sent is None or routed.cancel_tries > MAX_CANCEL_RETRIES:
                continue
            if elapsed(routed.cancel_sent, now) >= self.cancel_after:
                self.cancel(routed.order_id, now)
                out.append((routed.order_id, routed.cancel_tries))
        return out

    # ---------------------------------------------------------------- back

    def translate(self, event: OrderEvent) -> list[BrokerEvent]:
        """What one LEAN order event means for the tracker (nothing for events of orders it did not send)."""
        routed = self.by_lean_id.get(int(event.order_id))
        if routed is None or routed.done:
            return []
        lean_id = int(event.order_id)
        contract = routed.contracts[lean_id]
        status = event.status
        out: list[BrokerEvent] = []
        if status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED) and event.fill_quantity != 0:
            when = event.utc_time.replace(tzinfo=UTC)
            fee = float(event.order_fee.value.amount)
            price = float(event.fill_price)
            fill = Fill(routed.structure_id, contract, int(event.fill_quantity), price, when, fee)
            out.append(LegFilled(routed.order_id, fill))
            if status == OrderStatus.FILLED:
                routed.closed.add(lean_id)
        elif status == OrderStatus.CANCELED:
            routed.closed.add(lean_id)
            routed.canceled_legs += 1
        elif status == OrderStatus.INVALID:
            self._finish(routed)
            reason = str(event.message) or "LEAN marked the order invalid"
            return [OrderRejected(routed.order_id, reason)]
        if len(routed.closed) == len(routed.contracts):
            routed.done = True
            if routed.canceled_legs:  # all legs are out of the market and at least one by a cancel
                out.append(OrderCanceled(routed.order_id))
        return out

    def _finish(self, routed: RoutedOrder) -> None:
        """Cancel what is still open of a broken order and stop routing its events."""
        routed.done = True
        for lean_id in routed.contracts:
            if lean_id not in routed.closed:
                self.algorithm.transactions.cancel_order(lean_id, "another leg of the combo was refused")

    def adopt_open_orders(self) -> list[str]:
        """After a restart: map LEAN's open orders back to tracker order ids by their tags. Returns the
        tracker order ids found; orders without our tag are left alone (and reported by reconciliation)."""
        found: dict[str, RoutedOrder] = {}
        for order in self.algorithm.transactions.get_open_orders():
            structure_id, _, order_id = str(order.tag).partition(TAG_SEPARATOR)
            contract = self.registry.remember_symbol(order.symbol)
            if not order_id or contract is None:
                continue
            routed = found.setdefault(order_id, RoutedOrder(order_id, structure_id, {}))
            routed.contracts[int(order.id)] = contract
            self.by_lean_id[int(order.id)] = routed
        self.routed.update(found)
        return sorted(found)

    def working(self) -> int:
        return sum(1 for r in self.routed.values() if not r.done)
