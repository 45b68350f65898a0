"""LEAN's transaction handler and backtesting brokerage, for the orders a Python algorithm sends.

Each behaviour follows the named C# (QuantConnect/Lean, August 2026):

Submission (Algorithm/QCAlgorithm.Trading.cs `ComboLimitOrder`, `SubmitComboOrder`, `PreOrderChecksImpl`;
Engine/TransactionHandlers/BrokerageTransactionHandler.cs `HandleSubmitOrderRequest`):
- A combo limit of 0, legs with their own prices, or leg ratios with a common divisor raise ArgumentException
  before anything is sent; so does an order for a symbol that is not a security (InvalidOperationException).
- A pre-order check that fails (warming up, zero quantity, a security without a price) returns one ticket with
  order id -10 and status Invalid, logs the reason with `error`, and sends nothing: no order, no event.
- Prices are rounded to the security's minimum price variation, a combo's shared limit once, to the smallest
  positive increment of its legs at a reference price of 0 (`RoundOrderPrices`); a warning is logged once.
- The brokerage model is asked per leg; one refusal makes every leg Invalid with an Invalid event each
  (`InvalidateOrders`), and the algorithm keeps running. Otherwise every leg is Submitted, with a Submitted
  event each, raised *inside* the order call (BacktestingBrokerage.PlaceOrder, synchronous in backtests).

Fills (Brokerages/Backtesting/BacktestingBrokerage.cs `Scan`; Common/Orders/Fills/FillModel.cs):
- Never on the time step the order was placed in; then a single limit buys when the ask bar's low is below the
  limit (strictly) at min(high, limit), sells when the bid bar's high is above it at max(low, limit), only while
  its exchange is open (`LimitFill`); a combo limit fills when Σ ratio × (ask low for buy legs, bid high for
  sell legs, with the group's direction choosing low or high) is strictly through the limit, all legs at once
  and in full, at their own bar prices (`ComboLimitFill`).
- Every leg's fee comes from its security's fee model before the portfolio moves; all statuses and the
  portfolio are updated before the first `on_order_event` of the batch (`HandleOrderEvents`).

Cancels (BrokerageTransactionHandler `CancelOrder`, `HandleCancelOrderRequest`; BacktestingBrokerage
`CancelOrder`): a cancel's tag replaces the order's tag (`transactions.cancel_order(id)` without one writes "")
even on a closed order; a closed order, or one already being cancelled, answers an error and raises nothing; an
open one turns CancelPending with its event inside the call, and at the next processing of requests every leg of
its group is Canceled, one event each.

Expiry and assignment (BacktestingBrokerage `ProcessDelistings`, `ProcessAssignmentOrders`;
BrokerageTransactionHandler `HandleOptionNotification`, `EmitOptionNotificationEvents`;
Common/Orders/OptionExercise/DefaultExerciseModel.cs; Common/Securities/Option/OptionPortfolioModel.cs;
Common/Securities/Option/DefaultOptionAssignmentModel.cs):
- At midnight after an option's last trading day every non-zero holding gets an OptionExercise order (the next
  order id, quantity −holding, no Submitted event). Its first event is the option's: filled at 0 for the
  whole quantity, `is_in_the_money` when the intrinsic value at the underlying's close is at least 0.01,
  `is_assignment` when that holding was short. The portfolio moves, `on_order_event` runs, then for an
  assignment `on_assignment_order_event` with the same event; only after both does an in-the-money
  physically settled option deliver: the underlying's portfolio moves and its own event (same order id, at the
  strike, 100 shares or 1 future a contract) reaches `on_order_event`. Cash-settled options deliver nothing:
  the intrinsic value moves cash inside the option's fill.
- Early assignment (backtests): at the first scan of each hour, a short option within 4 days of expiry
  (European: on expiry day) more than 5% in the money whose bid is below its intrinsic value is assigned
  whole, through the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from tests.fakes.lean.brokerage import OrderFeeParameters
from tests.fakes.lean.enums import OPTION_TYPES, OptionRight, OptionStyle, OrderStatus, OrderType, SecurityType
from tests.fakes.lean.orders import (
    ArgumentException,
    CancelOrderRequest,
    GroupOrderManager,
    Leg,
    Order,
    OrderEvent,
    OrderFee,
    OrderResponse,
    OrderTicket,
    SubmitOrderRequest,
    check_combo_sizing,
    round_price,
)
from tests.fakes.lean.securities import GetMinimumPriceVariationParameters, Security
from tests.fakes.lean.symbols import Symbol
from tests.fakes.lean.universe import InvalidOperationException

if TYPE_CHECKING:
    from tests.fakes.lean.algorithm import QCAlgorithm

EARLY_ASSIGNMENT_DAYS = timedelta(days=4)
EARLY_ASSIGNMENT_ITM = 0.05
EARLY_ASSIGNMENT_TAG = "Simulated option assignment before expiration"


@dataclass
class QuoteBar:
    """One minute of a contract's quotes: the bid and ask bars' low and high (FillModel.GetPrices reads the
    ask bar for buys, the bid bar for sells). A flat minute has low = high = the quote."""

    bid_low: float
    bid_high: float
    ask_low: float
    ask_high: float

    @staticmethod
    def flat(bid: float, ask: float) -> QuoteBar:
        return QuoteBar(bid, bid, ask, ask)


@dataclass
class Pending:
    order: Order
    placed: datetime  # UTC time step it was placed in: never filled in that step


@dataclass
class Transactions:
    """SecurityTransactionManager with its BrokerageTransactionHandler and BacktestingBrokerage behind it."""

    algorithm: QCAlgorithm
    orders: dict[int, Order] = field(default_factory=dict)
    tickets: dict[int, OrderTicket] = field(default_factory=dict)
    pending: dict[int, Pending] = field(default_factory=dict)
    requests: list[CancelOrderRequest] = field(default_factory=list)
    bars: dict[Symbol, QuoteBar] = field(default_factory=dict)  # this time step's quote bars
    auto_fill: bool = True  # False: a test plays the brokerage and fills by hand (live trading's case)
    hold_cancels: bool = False  # True: a live brokerage that has not confirmed the cancels yet
    early_assignment: bool = True
    # False: LEAN live with the TastyTrade brokerage, which raises no option notifications (its plugin has no
    # OnOptionNotification, and live LEAN has no ProcessDelistings): an expired option stays in the portfolio
    # and no delivery is seen until a restart loads the broker's holdings.
    exercise_events: bool = True
    _next_id: int = 1
    _next_group: int = 1
    _rounding_warned: bool = False
    _next_assignment_check: datetime | None = None
    _exercised: set[tuple[Symbol, date]] = field(default_factory=set)

    # ------------------------------------------------------------------ the algorithm's API

    def get_open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        return [
            o.clone() for o in self.orders.values() if o.status.is_open() and (symbol is None or o.symbol == symbol)
        ]

    def get_order_by_id(self, order_id: int) -> Order | None:
        self.algorithm.api_call("get_order_by_id")
        found = self.orders.get(order_id)
        return found.clone() if found is not None else None

    def get_order_ticket(self, order_id: int) -> OrderTicket | None:
        return self.tickets.get(order_id)

    def cancel_order(self, order_id: int, order_tag: str | None = None) -> OrderTicket:
        """SecurityTransactionManager.CancelOrder: the tag defaults to "" (and so overwrites the order's)."""
        self.algorithm.api_call("cancel_order")
        return self.cancel(order_id, "" if order_tag is None else order_tag)

    # ------------------------------------------------------------------ submission

    def submit_limit(self, symbol: Symbol, quantity: float, limit: float, tag: str) -> OrderTicket:
        request = SubmitOrderRequest(OrderType.LIMIT, symbol, quantity, limit, tag)
        refused = self._pre_order_check(symbol, quantity, request)
        if refused is not None:
            return refused
        order = self._new_order(symbol, quantity, OrderType.LIMIT, tag, limit)
        security = self.algorithm.securities[symbol]
        increment = security.price_variation_model.get_minimum_price_variation(
            GetMinimumPriceVariationParameters(security, limit)
        )
        order.limit_price = self._rounded(limit, increment)
        ticket = OrderTicket(request, order, self)
        self.tickets[order.id] = ticket
        self._place([order], request)
        return ticket

    def submit_combo_limit(self, legs: list[Leg], quantity: int, limit: float, tag: str) -> list[OrderTicket]:
        if limit == 0:
            raise ArgumentException("ComboLimitOrder requires a limit price")
        if any(leg.order_price not in (None, 0) for leg in legs):
            raise ArgumentException("ComboLimitOrder does not support limit prices for individual legs")
        check_combo_sizing(legs, quantity)
        manager = GroupOrderManager(self._next_group, len(legs), quantity, limit)
        self._next_group += 1
        requests = []
        for leg in legs:
            leg_quantity = leg.quantity * quantity
            request = SubmitOrderRequest(OrderType.COMBO_LIMIT, leg.symbol, leg_quantity, limit, tag)
            refused = self._pre_order_check(leg.symbol, leg_quantity, request)
            if refused is not None:
                return [refused]  # QCAlgorithm.SubmitComboOrder: one invalid ticket, nothing sent
            requests.append(request)
        orders, tickets = [], []
        for leg, request in zip(legs, requests, strict=True):
            order = self._new_order(leg.symbol, request.quantity, OrderType.COMBO_LIMIT, tag, limit)
            order.group_order_manager = manager
            manager.order_ids.append(order.id)
            orders.append(order)
            ticket = OrderTicket(request, order, self)
            self.tickets[order.id] = ticket
            tickets.append(ticket)
        increments = [
            self.algorithm.securities[o.symbol].price_variation_model.get_minimum_price_variation(
                GetMinimumPriceVariationParameters(self.algorithm.securities[o.symbol], o.price)
            )
            for o in orders
        ]
        positive = [i for i in increments if i > 0]
        manager.limit_price = self._rounded(limit, min(positive)) if positive else limit
        for o in orders:
            o.limit_price = manager.limit_price
        self._place(orders, requests[-1])
        return tickets

    def _pre_order_check(self, symbol: Symbol, quantity: float, request: SubmitOrderRequest) -> OrderTicket | None:
        """PreOrderChecksImpl, the checks an order of ours can meet; GetSecurityForOrder raises for a symbol
        that is not a security."""
        algorithm = self.algorithm
        if symbol not in algorithm.securities:
            raise InvalidOperationException(
                f"The symbol {symbol} is not found in the algorithm's securities collection and cannot be re-added"
            )
        security = algorithm.securities[symbol]
        why = None
        if algorithm.is_warming_up:
            why = "This operation is not allowed in Initialize or during warm up: OrderRequest.Submit."
        elif quantity == 0:
            why = "Unable to submit order with id -10 that has zero quantity."
        elif security.price == 0:
            why = f"The security does not have an accurate price as it has not yet received a bar of data: {symbol}"
        if why is None:
            return None
        request.response = OrderResponse(-10, False, -16, why)
        algorithm.error(why)
        return OrderTicket(request, None, self)

    def _new_order(self, symbol: Symbol, quantity: float, kind: OrderType, tag: str, limit: float) -> Order:
        order = Order(self._next_id, symbol, quantity, kind, tag, limit, OrderStatus.NEW, self.algorithm.utc_time)
        self._next_id += 1
        self.orders[order.id] = order
        return order

    def _rounded(self, price: float, increment: float) -> float:
        rounded = round_price(price, increment)
        if rounded != price and not self._rounding_warned:
            self._rounding_warned = True
            self.algorithm.error(
                "Warning: To meet brokerage precision requirements, order LimitPrice was rounded to "
                f"{rounded} from {price}"
            )
        return rounded

    def _place(self, orders: list[Order], request: SubmitOrderRequest) -> None:
        """HandleSubmitOrderRequest after the pre-checks: the brokerage model per leg, then PlaceOrder."""
        algorithm = self.algorithm
        for order in orders:
            security = algorithm.securities[order.symbol]
            ok, message = algorithm.brokerage_model.can_submit_order(security, order)
            if not ok:
                ids = ",".join(str(o.id) for o in orders)
                text = f"BrokerageModel declared unable to submit order: [{ids}] {message}"
                request.response = OrderResponse(orders[-1].id, False, -4, text)
                algorithm.error(text)
                self._invalidate(orders, text)
                return
        now = algorithm.utc_time
        events = []
        for order in orders:
            order.status = OrderStatus.SUBMITTED
            self.pending[order.id] = Pending(order, now)
            events.append(self._event(order, OrderStatus.SUBMITTED))
        self._dispatch(events, fills=False)
        # WaitForOrderSubmission drains the request queue inside the call, each request followed by a scan
        # (BrokerageTransactionHandler.InitializeTransactionThread → ProcessAsynchronousEvents → Scan).
        self.process_requests()
        self.scan()

    def _invalidate(self, orders: list[Order], message: str) -> None:
        events = []
        for order in orders:
            if not order.status.is_closed():
                order.status = OrderStatus.INVALID
                self.pending.pop(order.id, None)
                events.append(self._event(order, OrderStatus.INVALID, message=message))
        self._dispatch(events, fills=False)

    # ------------------------------------------------------------------ cancels

    def cancel(self, order_id: int, tag: str | None) -> OrderTicket:
        order = self.orders.get(order_id)
        ticket = self.tickets.get(order_id)
        request = CancelOrderRequest(order_id, tag)
        if order is None or ticket is None:
            request.response = OrderResponse(order_id, False, -10, f"Unable to locate order with id {order_id}.")
            missing = OrderTicket(
                SubmitOrderRequest(OrderType.LIMIT, Symbol.plain("", SecurityType.BASE), 0, 0, ""), None
            )
            missing.cancel_request = request
            return missing
        ticket.cancel_request = request
        if tag is not None:
            order.tag = tag  # CancelOrder: before the status checks, so a filled order's tag changes too
        if order.status is OrderStatus.CANCEL_PENDING:
            request.response = OrderResponse(order_id, False, -22, "Cancellation is already in progress.")
            return ticket
        if order.status.is_closed() or order.status is OrderStatus.NEW:
            status = order.status.name.title().replace("_", "")
            text = f"Unable to update order with id {order_id} because it already has {status} status."
            request.response = OrderResponse(order_id, False, -8, text)
            return ticket
        order.status = OrderStatus.CANCEL_PENDING
        request.response = OrderResponse(order_id)
        self.requests.append(request)
        self._dispatch([self._event(order, OrderStatus.CANCEL_PENDING)], fills=False)
        return ticket

    def process_requests(self) -> None:
        """ProcessPendingRequests: queued cancels reach the brokerage, which cancels the whole group."""
        if self.hold_cancels:
            return
        requests, self.requests = self.requests, []
        for request in requests:
            order = self.orders[request.order_id]
            group = self._group(order)
            if any(o.id not in self.pending for o in group):
                if order.status is OrderStatus.CANCEL_PENDING:  # RemoveAndFallback: it filled meanwhile
                    order.status = OrderStatus.SUBMITTED if order.id in self.pending else order.status
                continue
            events = []
            for leg in group:
                self.pending.pop(leg.id, None)
                leg.status = OrderStatus.CANCELED
                events.append(self._event(leg, OrderStatus.CANCELED))
            if request.tag is not None:
                order.tag = request.tag
            self._dispatch(events, fills=False)

    def _group(self, order: Order) -> list[Order]:
        manager = order.group_order_manager
        return [order] if manager is None else [self.orders[i] for i in manager.order_ids]

    def brokerage_reject(self, order_id: int, message: str) -> None:
        """A live brokerage rejecting an order it had accepted: every leg of its group Invalid, one event each
        (BrokerageTransactionHandler.HandleOrderEvents on the brokerage's OrdersStatusChanged)."""
        self._invalidate(self._group(self.orders[order_id]), message)

    # ------------------------------------------------------------------ fills

    def scan(self) -> None:
        """BacktestingBrokerage.Scan: early assignments, then each pending order's fill model."""
        if self.early_assignment:
            self._assignment_orders()
        if not self.auto_fill:
            return
        now = self.algorithm.utc_time
        done: set[int] = set()
        for order_id in sorted(self.pending):
            if order_id in done or order_id not in self.pending:
                continue
            entry = self.pending[order_id]
            if entry.placed >= now:
                continue  # "all order fills are processed on the next bar"
            group = self._group(entry.order)
            done.update(o.id for o in group)
            if any(o.id not in self.pending for o in group):
                continue  # a group a test filled leg by leg (a live broker's doing) is the test's to finish
            fills = self._combo_fill(group) if entry.order.group_order_manager else self._limit_fill(entry.order)
            if fills:
                self.fill(fills)

    def _bar(self, symbol: Symbol) -> QuoteBar | None:
        bar = self.bars.get(symbol)
        if bar is None:
            security = self.algorithm.securities[symbol]
            if security.bid_price > 0 and security.ask_price > 0:
                return QuoteBar.flat(security.bid_price, security.ask_price)
        return bar

    def _limit_fill(self, order: Order) -> list[tuple[Order, float, float]]:
        security = self.algorithm.securities[order.symbol]
        if not security.exchange.hours.is_open(self.algorithm.exchange_time(security)):
            return []
        bar = self._bar(order.symbol)
        if bar is None:
            return []
        if order.quantity > 0 and bar.ask_low < order.limit_price:
            return [(order, order.quantity, min(bar.ask_high, order.limit_price))]
        if order.quantity < 0 and bar.bid_high > order.limit_price:
            return [(order, order.quantity, max(bar.bid_low, order.limit_price))]
        return []

    def _combo_fill(self, group: list[Order]) -> list[tuple[Order, float, float]]:
        manager = group[0].group_order_manager
        assert manager is not None
        buying = manager.quantity > 0
        prices = []
        for order in group:
            bar = self._bar(order.symbol)
            if bar is None:
                return []
            leg_buys = order.quantity > 0
            low, high = (bar.ask_low, bar.ask_high) if leg_buys else (bar.bid_low, bar.bid_high)
            prices.append(low if buying else high)
        net = sum(p * (o.quantity / manager.quantity) for p, o in zip(prices, group, strict=True))
        if (buying and net < manager.limit_price) or (not buying and net > manager.limit_price):
            return [(o, o.quantity, p) for o, p in zip(group, prices, strict=True)]
        return []

    def fill(self, fills: list[tuple[Order, float, float]]) -> None:
        """Fill events for (order, quantity, price): from the fill model, or from a test playing the brokerage
        (a partial fill is a quantity short of the order's). HandleOrderEvents: statuses, fees (each leg's fee
        model, before the portfolio moves), the portfolio, then the algorithm's events in order."""
        events = []
        for order, quantity, price in fills:
            security = self.algorithm.securities[order.symbol]
            filled_before = sum(e.fill_quantity for e in self.tickets[order.id].order_events)
            complete = abs(filled_before + quantity) >= abs(order.quantity)
            status = OrderStatus.FILLED if complete else OrderStatus.PARTIALLY_FILLED
            fee = security.fee_model.get_order_fee(OrderFeeParameters(security, Order(0, order.symbol, quantity)))
            order.status = status
            order.last_fill_time = self.algorithm.utc_time
            if complete:
                self.pending.pop(order.id, None)
            event = self._event(order, status, quantity, price)
            event.order_fee = fee
            events.append(event)
        self._dispatch(events, fills=True)

    # ------------------------------------------------------------------ expiry and assignment

    def process_delistings(self) -> None:
        """ProcessDelistings at the first time step after an option's last trading day (midnight)."""
        if not self.exercise_events:
            return
        algorithm = self.algorithm
        today = algorithm.time.date()
        expiring = [
            s
            for s in algorithm.securities.values()
            if s.type in OPTION_TYPES and s.holdings.quantity and last_trading_day(s) < today
        ]
        for security in sorted(expiring, key=lambda s: s.symbol.value):
            key = (security.symbol, today)
            if key in self._exercised:
                continue
            self._exercised.add(key)
            self.exercise(security, -security.holdings.quantity, tag=None)
            for order in self.get_open_orders(security.symbol):
                self.cancel(order.id, None)

    def _assignment_orders(self) -> None:
        now = self.algorithm.utc_time
        if self._next_assignment_check is not None and now < self._next_assignment_check:
            return
        self._next_assignment_check = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        shorts = [s for s in self.algorithm.securities.values() if s.type in OPTION_TYPES and s.holdings.quantity < 0]
        for option in sorted(shorts, key=lambda s: s.symbol.id.symbol):
            if option.option_assignment_model is not None or not self._deep_and_due(option):
                continue
            self.exercise(option, -option.holdings.quantity, tag=EARLY_ASSIGNMENT_TAG)

    def _deep_and_due(self, option: Security) -> bool:
        """DefaultOptionAssignmentModel.GetAssignment, with fees left out of the arbitrage estimate."""
        sid = option.symbol.id
        local = self.algorithm.exchange_time(option)
        american = sid.option_style is OptionStyle.AMERICAN
        due = (sid.date - local <= EARLY_ASSIGNMENT_DAYS) if american else sid.date.date() == local.date()
        underlying = option.underlying
        if not due or underlying is None or underlying.close <= 0:
            return False
        u, k = underlying.close, sid.strike_price
        call = sid.option_right is OptionRight.CALL
        if ((u - k) if call else (k - u)) / u <= EARLY_ASSIGNMENT_ITM:
            return False
        exercise_price = underlying.bid_price if call else underlying.ask_price
        intrinsic = (exercise_price - k) if call else (k - exercise_price)
        return intrinsic > option.bid_price

    def exercise(self, option: Security, quantity: float, tag: str | None) -> None:
        """An OptionExercise order for `quantity` (−holding) and its events, in LEAN's order (module docstring)."""
        algorithm = self.algorithm
        order = Order(self._next_id, option.symbol, quantity, OrderType.OPTION_EXERCISE, tag, 0.0)
        order.status, order.time = OrderStatus.SUBMITTED, algorithm.utc_time
        self._next_id += 1
        self.orders[order.id] = order
        self.tickets[order.id] = OrderTicket(
            SubmitOrderRequest(OrderType.OPTION_EXERCISE, option.symbol, quantity, 0.0, tag or ""), order, self
        )
        underlying = option.underlying
        sid = option.symbol.id
        close = underlying.close if underlying is not None else 0.0
        call = sid.option_right is OptionRight.CALL
        intrinsic = max(close - sid.strike_price, 0.0) if call else max(sid.strike_price - close, 0.0)
        itm = intrinsic >= 0.01
        short = option.holdings.quantity < 0
        assignment = itm and short
        word = "Assigned" if assignment else ("Automatic Exercise" if itm else "OTM")
        order.status = OrderStatus.FILLED
        if itm:
            order.price = sid.strike_price
        first = self._event(order, OrderStatus.FILLED, quantity, 0.0, message=f"{word}. Underlying: {close:g}")
        first.is_assignment, first.is_in_the_money = assignment, itm
        cash_settled = option.type is SecurityType.INDEX_OPTION
        multiplier = option.symbol_properties.contract_multiplier
        before, average = option.holdings.quantity, option.holdings.average_price
        self._apply(option, quantity, 0.0, 0.0)
        if cash_settled and itm:  # OptionPortfolioModel.ProcessCloseTradeProfit: the intrinsic value in cash
            algorithm.portfolio.cash += -intrinsic * multiplier * quantity
        pnl = ((intrinsic if cash_settled else 0.0) - average) * before * multiplier
        first.message += f". {'Profit' if pnl >= 0 else 'Loss'}: {pnl:+.2f}"
        algorithm.dispatch("on_order_event", first)
        if assignment:
            if tag:
                first.message = f"{first.message}. {tag}"
            if not algorithm.dispatch("on_assignment_order_event", first):
                # HandlePositionAssigned has no try/catch: the exception leaves EmitOptionNotificationEvents,
                # Brokerage.OnOptionNotification logs it, and the delivery below never happens.
                return
        if itm and not cash_settled and underlying is not None:
            unit = 1.0 if option.type is SecurityType.FUTURE_OPTION else 100.0
            delivered = (-1.0 if call else 1.0) * quantity * unit
            second = self._event(order, OrderStatus.FILLED, delivered, sid.strike_price)
            second.symbol = underlying.symbol
            second.is_in_the_money = True
            second.message = "Option Assignment" if assignment else "Option Exercise"
            self._apply(underlying, delivered, sid.strike_price, 0.0)
            algorithm.dispatch("on_order_event", second)

    # ------------------------------------------------------------------ events

    def _event(
        self, order: Order, status: OrderStatus, fill_quantity: float = 0.0, fill_price: float = 0.0, message: str = ""
    ) -> OrderEvent:
        return OrderEvent(
            order.id,
            order.symbol,
            status,
            fill_quantity,
            fill_price,
            self.algorithm.utc_time,
            message,
            OrderFee.zero(),
            quantity=order.quantity,
            limit_price=order.limit_price if order.type is OrderType.LIMIT else None,
            ticket=self.tickets.get(order.id),
        )

    def _apply(self, security: Security, quantity: float, price: float, fee: float) -> None:
        self.algorithm.portfolio.process_fill(security, quantity, price, fee)

    def _dispatch(self, events: list[OrderEvent], fills: bool) -> None:
        if fills:
            for event in events:
                security = self.algorithm.securities[event.symbol]
                self._apply(security, event.fill_quantity, event.fill_price, event.order_fee.value.amount)
        for event in events:
            ticket = self.tickets.get(event.order_id)
            if ticket is not None:
                ticket.order_events.append(event)
        for event in events:
            self.algorithm.dispatch("on_order_event", event)


def last_trading_day(security: Security) -> date:
    """Extensions.GetDelistingDate: an equity option's last open day on or before its expiry date; an index
    option's expiry date; a future option's (the double's futures options expire on their date)."""
    expiry = security.symbol.id.date.date()
    if security.type is SecurityType.OPTION:
        day = expiry
        for _ in range(10):
            if security.exchange.hours.days.is_session(day):
                return day
            day -= timedelta(days=1)
    return expiry
