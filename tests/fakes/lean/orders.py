"""Orders, tickets, events and responses as a Python algorithm sees them (Common/Orders/*.cs).

- `Leg.create(symbol, ratio)`: a combo leg is a ratio; each leg's order quantity is ratio × the combo's
  quantity (Common/Orders/GroupOrderExtensions.cs `GetOrderLegGroupQuantity`), all legs share one
  GroupOrderManager (id, quantity, limit price) and each has its own order id and ticket.
- `check_combo_sizing`: leg ratios whose greatest common divisor is not 1 raise ArgumentException
  (Algorithm/QCAlgorithm.Trading.cs `CheckComboOrderSizing`, with LEAN's message).
- `round_price`: `Math.Round(price / increment) * increment`, C#'s default midpoint rounding to even
  (Engine/TransactionHandlers/BrokerageTransactionHandler.cs `RoundOrderPrices`).
- Signs: a quantity > 0 buys; a combo limit is the signed net price per unit, Σ ratio × leg price, so a
  credit structure bought (quantity > 0) has a negative limit (Common/Orders/Fills/FillModel.cs ComboLimitFill).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tests.fakes.lean.enums import OrderDirection, OrderStatus, OrderType
from tests.fakes.lean.symbols import Symbol


class ArgumentException(ValueError):
    pass


@dataclass
class CashAmount:
    amount: float
    currency: str = "USD"


@dataclass
class OrderFee:
    value: CashAmount

    @staticmethod
    def zero() -> OrderFee:
        return OrderFee(CashAmount(0.0, "USD"))


@dataclass
class Leg:
    symbol: Symbol
    quantity: int
    order_price: float | None = None

    @staticmethod
    def create(symbol: Symbol, quantity: int, limit_price: float | None = None) -> Leg:
        return Leg(symbol, quantity, limit_price)


@dataclass
class GroupOrderManager:
    id: int
    count: int
    quantity: int
    limit_price: float
    order_ids: list[int] = field(default_factory=list)

    @property
    def direction(self) -> OrderDirection:
        return OrderDirection.BUY if self.quantity > 0 else OrderDirection.SELL


def direction_of(quantity: float) -> OrderDirection:
    if quantity > 0:
        return OrderDirection.BUY
    return OrderDirection.SELL if quantity < 0 else OrderDirection.HOLD


@dataclass
class Order:
    id: int
    symbol: Symbol
    quantity: float
    type: OrderType = OrderType.LIMIT
    tag: str | None = ""
    limit_price: float = 0.0
    status: OrderStatus = OrderStatus.NEW
    time: datetime | None = None  # UTC, naive
    price: float = 0.0
    group_order_manager: GroupOrderManager | None = None
    last_fill_time: datetime | None = None

    @property
    def direction(self) -> OrderDirection:
        return direction_of(self.quantity)

    @property
    def absolute_quantity(self) -> float:
        return abs(self.quantity)

    def clone(self) -> Order:
        """BrokerageTransactionHandler.GetOrderById returns a copy, never the engine's own order."""
        return Order(**{f: getattr(self, f) for f in self.__dataclass_fields__})


@dataclass
class OrderResponse:
    order_id: int
    is_success: bool = True
    error_code: int = 0
    error_message: str = ""

    @property
    def is_error(self) -> bool:
        return not self.is_success


@dataclass
class SubmitOrderRequest:
    order_type: OrderType
    symbol: Symbol
    quantity: float
    limit_price: float
    tag: str
    response: OrderResponse | None = None


@dataclass
class CancelOrderRequest:
    order_id: int
    tag: str | None
    response: OrderResponse | None = None


@dataclass
class OrderEvent:
    order_id: int
    symbol: Symbol
    status: OrderStatus
    fill_quantity: float = 0.0
    fill_price: float = 0.0
    utc_time: datetime = datetime(2024, 1, 1)  # noqa: DTZ001  naive UTC, as pythonnet hands it over
    message: str = ""
    order_fee: OrderFee = field(default_factory=OrderFee.zero)
    is_assignment: bool = False
    is_in_the_money: bool = False
    quantity: float = 0.0
    id: int = 0
    limit_price: float | None = None
    ticket: Any = None

    @property
    def direction(self) -> OrderDirection:
        return direction_of(self.fill_quantity or self.quantity)

    @property
    def absolute_fill_quantity(self) -> float:
        return abs(self.fill_quantity)


class OrderTicket:
    """Common/Orders/OrderTicket.cs: a view of the engine's order; an order refused before it existed
    (a pre-order check) is a ticket with id -10 and status Invalid and no order (`InvalidSubmitRequest`)."""

    def __init__(self, request: SubmitOrderRequest, order: Order | None, transactions: Any = None) -> None:
        self.submit_request = request
        self._order = order
        self._transactions = transactions
        self.order_events: list[OrderEvent] = []
        self.cancel_request: CancelOrderRequest | None = None

    @property
    def order_id(self) -> int:
        return self._order.id if self._order is not None else -10

    @property
    def status(self) -> OrderStatus:
        return self._order.status if self._order is not None else OrderStatus.INVALID

    @property
    def symbol(self) -> Symbol:
        return self.submit_request.symbol

    @property
    def order_type(self) -> OrderType:
        return self.submit_request.order_type

    @property
    def quantity(self) -> float:
        return self._order.quantity if self._order is not None else self.submit_request.quantity

    @property
    def tag(self) -> str | None:
        return self._order.tag if self._order is not None else self.submit_request.tag

    @property
    def quantity_filled(self) -> float:
        return sum(e.fill_quantity for e in self.order_events if e.fill_price != 0 or e.fill_quantity)

    @property
    def average_fill_price(self) -> float:
        filled = [(e.fill_quantity, e.fill_price) for e in self.order_events if e.fill_quantity]
        total = sum(q for q, _ in filled)
        return sum(q * p for q, p in filled) / total if total else 0.0

    @property
    def has_order(self) -> bool:
        return self._order is not None

    def cancel(self, tag: str | None = None) -> OrderResponse:
        """OrderTicket.Cancel: the tag is passed as given (None leaves the order's tag alone); a second request
        while the first has not failed is refused at the ticket and reaches nothing (RequestCanceled)."""
        if self._transactions is None or self._order is None:
            return OrderResponse(self.order_id, False, -10, "Unable to locate order")
        self._transactions.algorithm.api_call("ticket.cancel")
        earlier = self.cancel_request.response if self.cancel_request is not None else None
        if earlier is not None and earlier.is_success:
            text = f"Order {self.order_id} has already received a cancellation request."
            return OrderResponse(self.order_id, False, -23, text)
        ticket = self._transactions.cancel(self._order.id, tag)
        return ticket.cancel_request.response if ticket.cancel_request else OrderResponse(self.order_id)


def check_combo_sizing(legs: list[Leg], quantity: int) -> None:
    """QCAlgorithm.Trading.cs CheckComboOrderSizing (and Extensions.GreatestCommonDivisor for the empty list)."""
    if not legs:
        raise ArgumentException("The list of values cannot be empty")
    ratios = [int(leg.quantity) for leg in legs]
    divisor = abs(math.gcd(*ratios))
    if divisor != 1:
        asked = ", ".join(f"{r} {leg.symbol}" for r, leg in zip(ratios, legs, strict=True))
        fixed = ", ".join(f"{r // divisor} {leg.symbol}" for r, leg in zip(ratios, legs, strict=True))
        raise ArgumentException(
            "The global combo quantity should be used to increase or reduce the size of the order, while the "
            "leg quantities should be used to specify the ratio of the order. The combo order quantities should "
            f"be reduced from {quantity}x({asked}) to {quantity * divisor}x({fixed})."
        )


def round_price(price: float, increment: float) -> float:
    """RoundOrderPrices: nearest multiple of the increment, ties to even (C# Math.Round's default)."""
    if increment <= 0:
        return price
    units = (Decimal(repr(price)) / Decimal(repr(increment))).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return float(units * Decimal(repr(increment)))
