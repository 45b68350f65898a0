"""The brokerage side of LEAN that the algorithm meets: the TastyTrade brokerage model, LEAN's own TastyTrade
fee model, security initialisation, and brokerage messages with the default message handler.

- TastytradeBrokerageModel.CanSubmitOrder (Common/Brokerages/TastytradeBrokerageModel.cs, with
  Common/Brokerages/BrokerageExtensions.cs `ValidateCrossZeroOrder` / `OrderCrossesZero`): security types
  Equity, Option, IndexOption, Future, FutureOption (no Index); order types Market, Limit, StopMarket,
  StopLimit, ComboLimit; a ComboLimit leg that would take its holding through zero is refused. The engine
  asks it per leg, with that leg's holding and ratio × quantity (BrokerageTransactionHandler
  `HandleSubmitOrderRequest`), and one refused leg invalidates every leg.
- TastytradeFeeModel (Common/Orders/Fees/TastytradeFeeModel.cs): options and index options 1.00 a contract
  to open and 0 to close, future options 2.50 to open and 0 to close, futures 1.25 either way, equity 0;
  "opening" is the holding's side before the fill (BrokerageExtensions.GetOrderPosition), so an order that
  crosses zero is charged as a close.
- DefaultBrokerageMessageHandler.HandleMessage (Common/Brokerages/DefaultBrokerageMessageHandler.cs):
  Information → debug, Warning → error log, Error and ActionRequired → a runtime error that stops the
  algorithm; Disconnect while a market is open (or opens within 5 minutes) → a runtime error 15 minutes
  later unless a Reconnect came first; otherwise checked again 5 minutes before the next open.
  `handle_order` refuses orders placed outside the algorithm (returns False).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.lean.enums import BrokerageMessageType, OrderType, SecurityType
from tests.fakes.lean.orders import CashAmount, Order, OrderFee

TASTYTRADE_SECURITY_TYPES = (
    SecurityType.EQUITY,
    SecurityType.OPTION,
    SecurityType.INDEX_OPTION,
    SecurityType.FUTURE,
    SecurityType.FUTURE_OPTION,
)
TASTYTRADE_ORDER_TYPES = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP_MARKET,
    OrderType.STOP_LIMIT,
    OrderType.COMBO_LIMIT,
)
_PASCAL = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOP_MARKET: "StopMarket",
    OrderType.STOP_LIMIT: "StopLimit",
    OrderType.COMBO_LIMIT: "ComboLimit",
    OrderType.COMBO_MARKET: "ComboMarket",
    OrderType.COMBO_LEG_LIMIT: "ComboLegLimit",
    OrderType.MARKET_ON_OPEN: "MarketOnOpen",
    OrderType.MARKET_ON_CLOSE: "MarketOnClose",
    OrderType.OPTION_EXERCISE: "OptionExercise",
}


@dataclass
class BrokerageMessageEvent:
    type: BrokerageMessageType
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.type.name.title()} - Code: {self.code} - {self.message}"


def order_crosses_zero(holding: float, quantity: float) -> bool:
    """BrokerageExtensions.OrderCrossesZero: strictly through zero (closing to zero does not cross)."""
    return (holding > 0 and quantity < 0 and holding + quantity < 0) or (
        holding < 0 and quantity > 0 and holding + quantity > 0
    )


class IBrokerageModel:
    """DefaultBrokerageModel's answer for what this double checks: every order may be submitted."""

    def can_submit_order(self, security: Any, order: Order) -> tuple[bool, BrokerageMessageEvent | None]:
        return True, None


class TastytradeBrokerageModel(IBrokerageModel):
    def can_submit_order(self, security: Any, order: Order) -> tuple[bool, BrokerageMessageEvent | None]:
        if security.type not in TASTYTRADE_SECURITY_TYPES:
            text = f"The TastytradeBrokerageModel does not support {security.type.name.title()} security type."
            return False, BrokerageMessageEvent(BrokerageMessageType.WARNING, "NotSupported", text)
        if order.type not in TASTYTRADE_ORDER_TYPES:
            text = (
                f"The TastytradeBrokerageModel does not support {_PASCAL.get(order.type, order.type.name)} order "
                "type. Only supports [Market,Limit,StopMarket,StopLimit,ComboLimit]"
            )
            return False, BrokerageMessageEvent(BrokerageMessageType.WARNING, "NotSupported", text)
        if order.type is OrderType.COMBO_LIMIT and order_crosses_zero(security.holdings.quantity, order.quantity):
            text = (
                "Order type 'ComboLimit' is not supported for orders that cross the zero holdings threshold in the "
                "TastytradeBrokerageModel. This means you cannot change a position from positive to negative or "
                "vice versa using this order type. Please close the existing position first."
            )
            return False, BrokerageMessageEvent(BrokerageMessageType.WARNING, "NotSupported", text)
        return True, None


class FeeModel:
    def __init__(self) -> None:
        pass

    def get_order_fee(self, parameters: OrderFeeParameters) -> OrderFee:
        return OrderFee.zero()


@dataclass
class OrderFeeParameters:
    security: Any
    order: Order


class TastytradeFeeModel(FeeModel):
    def get_order_fee(self, parameters: OrderFeeParameters) -> OrderFee:
        security, order = parameters.security, parameters.order
        held = security.holdings.quantity
        opening = (held >= 0) if order.quantity > 0 else (held <= 0)
        rate = {
            SecurityType.OPTION: 1.0 if opening else 0.0,
            SecurityType.INDEX_OPTION: 1.0 if opening else 0.0,
            SecurityType.FUTURE_OPTION: 2.5 if opening else 0.0,
            SecurityType.FUTURE: 1.25,
        }.get(security.type, 0.0)
        return OrderFee(CashAmount(abs(order.quantity) * rate, "USD"))


class ISecuritySeeder:
    pass


class FuncSecuritySeeder(ISecuritySeeder):
    def __init__(self, seed: Any) -> None:
        self.seed = seed


class BrokerageModelSecurityInitializer:
    """Common/Securities/BrokerageModelSecurityInitializer.cs: the brokerage model's models on every security
    LEAN adds (universe-selected option contracts too); the double's models are set by the security itself,
    and LEAN's TastyTrade fee model unless the algorithm's initializer sets another."""

    def __init__(self, brokerage_model: Any, seeder: Any) -> None:
        self.brokerage_model, self.seeder = brokerage_model, seeder

    def initialize(self, security: Any) -> None:
        security.set_fee_model(TastytradeFeeModel())


class IBrokerageMessageHandler:
    def handle_message(self, message: BrokerageMessageEvent) -> None:
        raise NotImplementedError

    def handle_order(self, event_args: Any) -> bool:
        raise NotImplementedError


class DefaultBrokerageMessageHandler(IBrokerageMessageHandler):
    OPEN_THRESHOLD = timedelta(minutes=5)
    INITIAL_DELAY = timedelta(minutes=15)

    def __init__(self, algorithm: Any) -> None:
        self.algorithm = algorithm
        self.connected = True
        self.check_at: datetime | None = None  # when "still disconnected, goodbye" is checked (algorithm time)
        self._warned_order = False

    def handle_message(self, message: BrokerageMessageEvent) -> None:
        kind = message.type
        if kind is BrokerageMessageType.INFORMATION:
            self.algorithm.debug(f"Brokerage Info: {message.message}")
        elif kind is BrokerageMessageType.WARNING:
            self.algorithm.error(f"Brokerage Warning: {message.message}")
        elif kind is BrokerageMessageType.ERROR:
            self.algorithm.set_runtime_error(Exception(message.message), "Brokerage Error")
        elif kind is BrokerageMessageType.DISCONNECT:
            self.connected = False
            now = self.algorithm.time
            if any(
                s.exchange.hours.is_open_during(now, now + self.OPEN_THRESHOLD)
                for s in self.algorithm.securities.values()
            ):
                self.check_at = now + self.INITIAL_DELAY
            else:
                opens = [s.exchange.hours.get_next_market_open(now) for s in self.algorithm.securities.values()]
                self.check_at = (min(opens) if opens else now + timedelta(hours=1)) - self.OPEN_THRESHOLD
        elif kind is BrokerageMessageType.RECONNECT:
            self.connected = True
            self.check_at = None
        elif kind is BrokerageMessageType.ACTION_REQUIRED:
            self.algorithm.set_runtime_error(Exception("Brokerage requires user action"), "Brokerage Disconnect")

    def check(self, now: datetime) -> None:
        """StartCheckReconnected's timer: the double advances it with the algorithm's clock."""
        if self.check_at is not None and now >= self.check_at and not self.connected:
            self.check_at = None
            self.algorithm.set_runtime_error(Exception("Still disconnected, goodbye."), "Brokerage Disconnect")

    def handle_order(self, event_args: Any) -> bool:
        if not self._warned_order:
            self._warned_order = True
            self.algorithm.error("Ignoring unrecognized order. Please use 'SetBrokerageMessageHandler(...)'")
        return False
