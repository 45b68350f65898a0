"""Orders in LEAN: the fill tracker's commands out as LEAN orders, LEAN's order events back as fills, cancels
and rejects. What LEAN does with an order is read in its C# source (QuantConnect/Lean; the test double in
tests/fakes/lean follows the same files):

- A structure of two or more legs goes out as one `combo_limit_order` (the TastyTrade brokerage model accepts
  ComboLimit, not ComboMarket nor ComboLegLimit); one leg (a delta hedge, an orphan close) as a `limit_order`.
  LEAN's combo limit is the net price per unit of the legs as sent, Σ ratio × price, and the quantity's sign
  says buy or sell. A credit is sent as a sale of the structure at a positive price (ratios and quantity
  negated: "sell the condor for 3.40"), a debit as a purchase: the way a trader and the broker say it, and
  the side LEAN's fill model reads favourably (Common/Orders/Fills/FillModel.cs `ComboLimitFill` prices a
  buy group at its legs' bar lows and a sell group at their highs, so the same credit condor sent as a buy of
  negative ratios needs the short legs' bids to rise through it before it fills).
- Leg ratios with a common divisor raise in LEAN (QCAlgorithm.Trading.cs `CheckComboOrderSizing`): the ratios
  go out divided by it, the quantity multiplied by it and the per-unit limit divided by it (a 2 × (−2, −4)
  order is 4 × (−1, −2)).
- LEAN rounds every limit to its security's minimum price variation, a combo's to the smallest of its legs'
  (BrokerageTransactionHandler `RoundOrderPrices`, ties to even): an ES option rounds to ES's 0.25 (LEAN has no
  row for ES options and uses the future's), so a limit on the 0.05 grid could move by up to 0.10 toward the
  market, or to 0. The router rounds first, on LEAN's grid and on the passive side, so LEAN's rounding changes
  nothing. A combo limit of 0 raises in LEAN (`ComboLimitOrder requires a limit price`): it goes out one
  increment toward marketable.
- A close (or a safety order) never takes LEAN's holding of a contract past what the algorithm expects it to
  hold (its book, with the fills of orders in flight): when LEAN's holdings lag or differ, a closing sell
  larger than the holding can reach the broker as "sell to open" (REFERENCE.md). The comparison is with what
  the algorithm expects, not with zero: two structures long and short the same contract net to nothing at
  LEAN, and either may still be closed. A combo whose leg would take LEAN's holding through zero is not sent:
  the TastyTrade brokerage model refuses a ComboLimit that crosses zero (`TastytradeBrokerageModel.
  CanSubmitOrder`), invalidating every leg.
- Every LEAN order carries the tag "<structure id> <tracker order id>". A reprice is a cancel, confirmed by its
  CANCELED events, then a new order (some brokerage plugins report an update or cancel as done without
  acting). A combo is cancelled once, through one leg's ticket and without a tag: LEAN cancels the whole group
  (BacktestingBrokerage `CancelOrder`), and a cancel's tag would replace the order's (`CancelOrder` writes ""
  when none is given to `transactions.cancel_order`). A cancel not confirmed within `cancel_confirm_seconds`
  is sent again and said in an alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from AlgorithmImports import (
    GetMinimumPriceVariationParameters,
    OrderEvent,
    OrderStatus,
    OrderTicket,
    QCAlgorithm,
    Symbol,
)
from AlgorithmImports import Leg as LeanLeg
from core.model import Contract, Fill
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
    tag: str
    contracts: dict[int, Contract]  # LEAN order id → the leg's contract
    tickets: dict[int, OrderTicket] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)  # LEAN ids filled, canceled or invalid
    cancel_sent: datetime | None = None
    cancel_tries: int = 0
    cancel_accepted: bool = False  # LEAN took the request: it answers another with an error and does nothing
    canceled_legs: int = 0
    done: bool = False


@dataclass(frozen=True, slots=True)
class LeanShape:
    """What goes to LEAN for one tracker order: ratios without a common divisor, the quantity and the limit
    per unit of those ratios (before rounding)."""

    ratios: tuple[int, ...]
    quantity: int  # signed: > 0 buys the ratios as written
    limit: float


def lean_shape(order: SubmitOrder) -> LeanShape:
    """A single leg goes out as its own contract (ratio 1, the sign in the quantity, the price per contract);
    a combo's ratios lose their common divisor, and a credit (a negative limit) goes out as a sale at a
    positive price (module docstring)."""
    ratios = tuple(leg.ratio for leg in order.structure.legs)
    divisor = ratios[0] if len(ratios) == 1 else max(math.gcd(*ratios), 1)
    if len(ratios) > 1 and order.limit_price < 0:
        divisor = -divisor
    quantity = order.side * order.quantity * divisor
    return LeanShape(tuple(r // divisor for r in ratios), quantity, order.limit_price / divisor)


def on_grid(limit: float, increment: float, buying: bool) -> float | None:
    """The limit on LEAN's grid, rounded on the passive side (down to buy, up to sell: never more aggressive
    than asked). Exactly 0 becomes one increment toward marketable (LEAN raises for a zero combo limit, and
    the fill tracker's zero means "at the money of the package"); a limit that is not 0 but passively rounds
    to it is under LEAN's grid: None, not sent (one increment would be more than was asked)."""
    if increment <= 0:
        return limit
    units = limit / increment
    rounded = (math.floor(units + 1e-9) if buying else math.ceil(units - 1e-9)) * increment
    if abs(rounded) < increment / 2:
        if limit != 0:
            return None
        rounded = increment if buying else -increment
    return round(rounded, 10)


def tag_of(order: SubmitOrder) -> str:
    return f"{order.structure.id}{TAG_SEPARATOR}{order.order_id}"


def crosses_zero(held: int, change: int) -> bool:
    """BrokerageExtensions.OrderCrossesZero: strictly through zero."""
    return (held > 0 and change < 0 and held + change < 0) or (held < 0 and change > 0 and held + change > 0)


class OrderRouter:
    def __init__(self, algorithm: QCAlgorithm, registry: SymbolRegistry, cancel_confirm_seconds: int) -> None:
        self.algorithm = algorithm
        self.registry = registry
        self.cancel_after = timedelta(seconds=cancel_confirm_seconds)
        self.routed: dict[str, RoutedOrder] = {}
        self.by_lean_id: dict[int, RoutedOrder] = {}

    # ---------------------------------------------------------------- out

    def send(self, order: SubmitOrder, holdings: dict[Contract, int], expected: dict[Contract, int]) -> str | None:
        """Send one order; returns why it was not sent (the shell reports it to the tracker as a reject).
        `holdings`: LEAN's; `expected`: what the algorithm expects the broker to hold before this order."""
        symbols = []
        for leg in order.structure.legs:
            symbol = self.registry.symbol(leg.contract)
            if symbol is None:
                return f"no LEAN symbol known for {describe(leg.contract)} (not in any chain or holding seen)"
            if not self.algorithm.securities.contains_key(symbol):
                return f"{describe(leg.contract)} is not a security LEAN has added (expired or never selected)"
            symbols.append(symbol)
        refused = self._refusal(order, holdings, expected)
        if refused is not None:
            return refused
        shape = lean_shape(order)
        increment = self._increment(symbols, shape)
        limit = on_grid(shape.limit, increment, buying=shape.quantity > 0)
        if limit is None:
            return f"limit {shape.limit:g} is under the {increment:g} LEAN rounds this order to (not sent)"
        tag = tag_of(order)
        try:
            if len(symbols) == 1:
                ticket = self.algorithm.limit_order(symbols[0], shape.ratios[0] * shape.quantity, limit, tag=tag)
                tickets = [ticket]
            else:
                legs = [LeanLeg.create(symbol, ratio) for symbol, ratio in zip(symbols, shape.ratios, strict=True)]
                tickets = list(self.algorithm.combo_limit_order(legs, shape.quantity, limit, tag=tag))
        except Exception as err:  # LEAN raises for what it will not take (ArgumentException): say it, send nothing
            return f"LEAN refused the order: {err}"
        contracts = [leg.contract for leg in order.structure.legs]
        routed = RoutedOrder(order.order_id, order.structure.id, tag, {})
        for ticket, contract in zip(tickets, contracts, strict=False):
            lean_id = int(ticket.order_id)
            routed.contracts[lean_id] = contract
            routed.tickets[lean_id] = ticket
        self.routed[order.order_id] = routed
        for lean_id in routed.contracts:
            self.by_lean_id[lean_id] = routed
        if len(tickets) != len(symbols) or any(t.status == OrderStatus.INVALID for t in tickets):
            routed.closed.update(i for i, t in routed.tickets.items() if t.status == OrderStatus.INVALID)
            self._finish(routed)
            return "LEAN refused the order at submission (its reason is in the log)"
        return None

    def _refusal(self, order: SubmitOrder, holdings: dict[Contract, int], expected: dict[Contract, int]) -> str | None:
        legs = order.structure.legs
        for leg in legs:
            change = leg.ratio * order.side * order.quantity
            held = holdings.get(leg.contract, 0)
            if order.side < 0 or order.safety:
                want = expected.get(leg.contract, 0)
                if (held - want) * change > 0:
                    return (
                        f"close of {change:+d} {describe(leg.contract)}: LEAN holds {held:+d} where the algorithm "
                        f"expects {want:+d}, so it would open a position (not sent)"
                    )
            if len(legs) > 1 and crosses_zero(held, change):
                return (
                    f"{describe(leg.contract)} is held {held:+d} and this combo trades {change:+d}: TastyTrade "
                    "refuses a combo order that takes a holding through zero (not sent; close the holding first)"
                )
        return None

    def _increment(self, symbols: list[Symbol], shape: LeanShape) -> float:
        """LEAN's rounding increment: a single order's at its own price, a combo's the smallest of its legs' at
        a reference price of 0 (what a fresh leg's price is when LEAN rounds it)."""
        found = []
        for symbol in symbols:
            security = self.algorithm.securities[symbol]
            reference = abs(shape.limit) if len(symbols) == 1 else 0.0
            parameters = GetMinimumPriceVariationParameters(security, reference)
            found.append(float(security.price_variation_model.get_minimum_price_variation(parameters)))
        positive = [i for i in found if i > 0]
        return min(positive) if positive else 0.0

    def cancel(self, order_id: str, now: datetime) -> bool:
        """Ask LEAN to cancel the order: one leg's ticket, no tag (LEAN cancels the group); the confirmation
        comes as CANCELED events. Once LEAN has taken a request, another is not sent: LEAN would answer it
        with an error and do nothing (OrderTicket.Cancel, BrokerageTransactionHandler.CancelOrder). False when
        the order is unknown or already done (nothing to confirm)."""
        routed = self.routed.get(order_id)
        if routed is None or routed.done:
            return False
        if routed.cancel_accepted:
            return True
        routed.cancel_sent = routed.cancel_sent or now
        routed.cancel_tries += 1
        open_legs = [i for i in routed.contracts if i not in routed.closed]
        if open_legs:
            ticket = routed.tickets.get(open_legs[0])
            if ticket is not None:
                response = ticket.cancel()
            else:
                response = self.algorithm.transactions.cancel_order(open_legs[0], routed.tag).cancel_request.response
            routed.cancel_accepted = response is not None and bool(response.is_success)
        return True

    def overdue_cancels(self, now: datetime) -> list[tuple[str, int]]:
        """Cancels with no confirmation for `cancel_confirm_seconds`, as (order id, times reported) for an
        alert (CRITICAL from the third): LEAN refused the request, so it is sent again; or LEAN took it and
        the broker has not confirmed, which only a person can chase (LEAN sends no second request)."""
        out = []
        for routed in self.routed.values():
            if routed.done or routed.cancel_sent is None or routed.cancel_tries > MAX_CANCEL_RETRIES:
                continue
            if elapsed(routed.cancel_sent, now) >= self.cancel_after * routed.cancel_tries:
                if routed.cancel_accepted:
                    routed.cancel_tries += 1
                else:
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
            routed.closed.add(lean_id)
            self._finish(routed)
            reason = str(event.message) or "LEAN marked the order invalid"
            return [OrderRejected(routed.order_id, reason)]
        if len(routed.closed) == len(routed.contracts):
            routed.done = True
            if routed.canceled_legs:  # all legs are out of the market and at least one by a cancel
                out.append(OrderCanceled(routed.order_id))
        return out

    def _finish(self, routed: RoutedOrder) -> None:
        """Cancel what is still open of a broken order (once: LEAN cancels the group) and stop routing it."""
        routed.done = True
        open_legs = [i for i in routed.contracts if i not in routed.closed]
        ticket = routed.tickets.get(open_legs[0]) if open_legs else None
        if ticket is not None and ticket.status not in (OrderStatus.INVALID, OrderStatus.FILLED, OrderStatus.CANCELED):
            ticket.cancel()

    def working(self) -> int:
        return sum(1 for r in self.routed.values() if not r.done)
