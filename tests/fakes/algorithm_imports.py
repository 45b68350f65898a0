"""A small stand-in for LEAN's `AlgorithmImports`: exactly the names main.py and lean_bridge/ use, behaving
the way LEAN's do for what the tests drive (no engine: the test is the clock and the data feed).

It records what the algorithm asked for (subscriptions, filters, schedules, consolidators, orders, cancels,
logs, notifications) so tests can assert on it. Times LEAN hands over are naive, in the algorithm's zone
(New York) for `time` and UTC for `utc_time`, as pythonnet converts .NET DateTimes. Install it with
`install()` before importing main.py or lean_bridge; `uninstall()` removes them again.
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from core.calendar import Calendars, ExchangeCalendar

# ---------------------------------------------------------------------------------------------- enums


class BrokerageName(Enum):
    TASTYTRADE = 32


class AccountType(Enum):
    MARGIN = 0
    CASH = 1


class TimeZones:
    NEW_YORK = "America/New_York"


class Resolution(Enum):
    MINUTE = 2
    HOUR = 3
    DAILY = 4


class DataNormalizationMode(Enum):
    RAW = 0
    ADJUSTED = 1


class SecurityType(Enum):
    EQUITY = 1
    OPTION = 2
    FUTURE = 5
    INDEX = 9
    FUTURE_OPTION = 8
    INDEX_OPTION = 10


class OptionRight(Enum):
    CALL = 0
    PUT = 1


class OrderType(Enum):
    MARKET = 0
    LIMIT = 1
    OPTION_EXERCISE = 6
    COMBO_LIMIT = 12


class OrderStatus(Enum):
    NEW = 0
    SUBMITTED = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 5
    INVALID = 7


class BrokerageMessageType(Enum):
    INFORMATION = 0
    WARNING = 1
    ERROR = 2


# ---------------------------------------------------------------------------------------------- symbols


@dataclass(frozen=True)
class SecurityIdentifier:
    symbol: str
    security_type: SecurityType
    date: datetime = datetime(1998, 1, 1)  # noqa: DTZ001  LEAN's identifiers carry naive dates
    option_right: OptionRight | None = None
    strike_price: float = 0.0


@dataclass(frozen=True)
class Symbol:
    value: str
    id: SecurityIdentifier
    underlying: Symbol | None = None

    @property
    def security_type(self) -> SecurityType:
        return self.id.security_type

    def __str__(self) -> str:
        return self.value

    @staticmethod
    def plain(ticker: str, kind: SecurityType) -> Symbol:
        return Symbol(ticker, SecurityIdentifier(ticker, kind))

    @staticmethod
    def future(root: str, expiry: date) -> Symbol:
        when = datetime(expiry.year, expiry.month, expiry.day)  # noqa: DTZ001
        return Symbol(f"{root}{expiry:%y%m%d}", SecurityIdentifier(root, SecurityType.FUTURE, when))

    @staticmethod
    def option(underlying: Symbol, root: str, right: OptionRight, strike: float, expiry: date) -> Symbol:
        kind = {
            SecurityType.INDEX: SecurityType.INDEX_OPTION,
            SecurityType.FUTURE: SecurityType.FUTURE_OPTION,
        }.get(underlying.security_type, SecurityType.OPTION)
        when = datetime(expiry.year, expiry.month, expiry.day)  # noqa: DTZ001
        letter = "C" if right is OptionRight.CALL else "P"
        sid = SecurityIdentifier(root, kind, when, right, strike)
        return Symbol(f"{root} {expiry:%y%m%d}{letter}{strike:08.0f}", sid, underlying)

    @staticmethod
    def canonical(underlying: Symbol, root: str) -> Symbol:
        kind = SecurityType.INDEX_OPTION if underlying.security_type is SecurityType.INDEX else SecurityType.OPTION
        return Symbol(f"?{root}", SecurityIdentifier(root, kind), underlying)


# ---------------------------------------------------------------------------------------------- securities


class SecurityExchangeHours:
    """Sessions from core/calendar's exchange_calendars tables (LEAN's come from its market-hours database),
    as naive times in the exchange's zone; `regular` replaces the table's hours with fixed clock times in
    that zone (CME's regular day session, 08:30-15:15 Chicago, where the table has Globex's overnight one)."""

    def __init__(
        self, calendar: ExchangeCalendar, zone: str = "America/New_York", regular: tuple[time, time] | None = None
    ) -> None:
        self.calendar = calendar
        self.time_zone = zone
        self.regular = regular
        self.early_closes: dict[datetime, timedelta] = {}

    def is_date_open(self, local: datetime, extended_market_hours: bool = False) -> bool:
        return self.calendar.is_session(local.date())

    def _session(self, day: date) -> tuple[datetime, datetime] | None:
        found = self.calendar.open_close(day)
        if found is None:
            return None
        if self.regular is not None:
            return datetime.combine(day, self.regular[0]), datetime.combine(day, self.regular[1])
        zone = ZoneInfo(self.time_zone)
        return found[0].astimezone(zone).replace(tzinfo=None), found[1].astimezone(zone).replace(tzinfo=None)

    def get_next_market_open(self, local: datetime, extended_market_hours: bool) -> datetime:
        day = local.date()
        for _ in range(15):
            session = self._session(day)
            if session is not None and session[0] >= local:
                return session[0]
            day += timedelta(days=1)
        raise ValueError("no open")

    def get_next_market_close(self, local: datetime, extended_market_hours: bool) -> datetime:
        session = self._session(local.date())
        assert session is not None
        return session[1]

    def is_open(self, local: datetime, extended_market_hours: bool) -> bool:
        session = self._session(local.date())
        return session is not None and session[0] <= local < session[1]


@dataclass
class Exchange:
    hours: SecurityExchangeHours


@dataclass
class SecurityHolding:
    symbol: Symbol
    quantity: float = 0.0


class Security:
    def __init__(self, symbol: Symbol, hours: SecurityExchangeHours) -> None:
        self.symbol = symbol
        self.exchange = Exchange(hours)
        self.price = 0.0
        self.open = 0.0
        self.bid_price = 0.0
        self.ask_price = 0.0
        self.holdings = SecurityHolding(symbol)
        self.fee_model: Any = None
        self.filter: Any = None

    def set_fee_model(self, model: Any) -> None:
        self.fee_model = model

    def set_filter(self, *args: Any) -> None:
        self.filter = args[0] if len(args) == 1 else args


class OptionFilterUniverse:
    """Records the filter chain main.py builds (LEAN's narrows a contract list)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _record(self, name: str, *args: Any) -> OptionFilterUniverse:
        self.calls.append((name, args))
        return self

    def include_weeklys(self) -> OptionFilterUniverse:
        return self._record("include_weeklys")

    def strikes(self, low: int, high: int) -> OptionFilterUniverse:
        return self._record("strikes", low, high)

    def expiration(self, low: int, high: int) -> OptionFilterUniverse:
        return self._record("expiration", low, high)


# ---------------------------------------------------------------------------------------------- data


@dataclass
class TradeBar:
    time: datetime
    open: float
    high: float
    low: float
    close: float


@dataclass
class Greeks:
    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0


@dataclass
class OptionContract:
    symbol: Symbol
    bid_price: float
    ask_price: float
    implied_volatility: float = 0.0
    greeks: Greeks = field(default_factory=Greeks)

    @property
    def strike(self) -> float:
        return self.symbol.id.strike_price

    @property
    def expiry(self) -> datetime:
        return self.symbol.id.date

    @property
    def right(self) -> OptionRight | None:
        return self.symbol.id.option_right


@dataclass
class Underlying:
    price: float


class OptionChain:
    def __init__(self, canonical: Symbol, underlying_price: float, contracts: list[OptionContract]) -> None:
        self.symbol = canonical
        self.underlying = Underlying(underlying_price)
        self.contracts = contracts

    def __iter__(self) -> Iterator[OptionContract]:
        return iter(self.contracts)


class OptionChains(dict[Symbol, OptionChain]):
    @property
    def count(self) -> int:
        return len(self)


@dataclass
class Slice:
    option_chains: OptionChains = field(default_factory=OptionChains)


# ---------------------------------------------------------------------------------------------- orders


@dataclass
class CashAmount:
    amount: float
    currency: str


@dataclass
class OrderFee:
    value: CashAmount


@dataclass
class Order:
    id: int
    symbol: Symbol
    quantity: float
    tag: str = ""
    limit_price: float = 0.0
    type: OrderType = OrderType.LIMIT


@dataclass
class OrderFeeParameters:
    security: Security
    order: Order


class FeeModel:
    def __init__(self) -> None:
        pass


@dataclass
class Leg:
    symbol: Symbol
    quantity: int

    @staticmethod
    def create(symbol: Symbol, quantity: int) -> Leg:
        return Leg(symbol, quantity)


@dataclass
class OrderTicket:
    order_id: int
    status: OrderStatus = OrderStatus.SUBMITTED


@dataclass
class OrderEvent:
    order_id: int
    symbol: Symbol
    status: OrderStatus
    fill_quantity: float = 0.0
    fill_price: float = 0.0
    utc_time: datetime = datetime(2024, 1, 1)  # noqa: DTZ001
    message: str = ""
    order_fee: OrderFee = field(default_factory=lambda: OrderFee(CashAmount(0.0, "USD")))
    is_assignment: bool = False


@dataclass
class BrokerageMessageEvent:
    type: BrokerageMessageType
    code: str
    message: str


class IBrokerageModel:
    pass


class ISecuritySeeder:
    pass


class FuncSecuritySeeder(ISecuritySeeder):
    def __init__(self, seed: Callable[..., Any]) -> None:
        self.seed = seed


class BrokerageModelSecurityInitializer:
    def __init__(self, brokerage_model: Any, seeder: Any) -> None:
        self.brokerage_model, self.seeder = brokerage_model, seeder

    def initialize(self, security: Security) -> None:
        pass


class Transactions:
    def __init__(self) -> None:
        self.cancelled: list[int] = []
        self.open_orders: list[Order] = []
        self.orders: dict[int, Order] = {}

    def cancel_order(self, order_id: int, tag: str = "") -> None:
        self.cancelled.append(order_id)

    def get_open_orders(self) -> list[Order]:
        return list(self.open_orders)

    def get_order_by_id(self, order_id: int) -> Order | None:
        """Orders LEAN made itself (an option exercise) are registered in `orders` by a test."""
        return self.orders.get(order_id)


class ObjectStore:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def save(self, key: str, text: str) -> bool:
        self.data[key] = text
        return True

    def contains_key(self, key: str) -> bool:
        return key in self.data

    def read(self, key: str) -> str:
        return self.data[key]


class Notify:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def email(self, address: str, subject: str, message: str) -> bool:
        self.sent.append(("email", address))
        return True

    def sms(self, number: str, message: str) -> bool:
        self.sent.append(("sms", number))
        return True

    def telegram(self, chat: str, message: str) -> bool:
        self.sent.append(("telegram", chat))
        return True

    def web(self, address: str, data: str) -> bool:
        self.sent.append(("web", address))
        return True


class Portfolio(dict[Symbol, SecurityHolding]):
    total_portfolio_value = 0.0


class Securities(dict[Symbol, Security]):
    def contains_key(self, symbol: Symbol) -> bool:
        return symbol in self


class DateRules:
    def every_day(self, symbol: Any = None) -> tuple[str, Any]:
        return ("every_day", symbol)


class TimeRules:
    def at(self, hour: int, minute: int) -> tuple[str, Any]:
        return ("at", time(hour, minute))

    def every(self, interval: timedelta) -> tuple[str, Any]:
        return ("every", interval)


class Schedule:
    def __init__(self) -> None:
        self.events: list[tuple[Any, Any, Callable[[], None]]] = []

    def on(self, date_rule: Any, time_rule: Any, callback: Callable[[], None]) -> None:
        self.events.append((date_rule, time_rule, callback))

    def at(self, clock: time) -> list[Callable[[], None]]:
        return [cb for _, rule, cb in self.events if rule == ("at", clock)]

    def every_minute(self) -> list[Callable[[], None]]:
        return [cb for _, rule, cb in self.events if rule == ("every", timedelta(minutes=1))]


# ---------------------------------------------------------------------------------------------- the algorithm


@functools.cache
def _calendars() -> Calendars:
    return Calendars()


class QCAlgorithm:
    def __init__(self, parameters: dict[str, str] | None = None) -> None:
        calendars = _calendars()
        self._hours = SecurityExchangeHours(calendars.equity)
        self._cme_hours = SecurityExchangeHours(calendars.cme)
        self._parameters = dict(parameters or {})
        self.calls: dict[str, Any] = {}
        self.logs: list[str] = []
        self.errors: list[str] = []
        self.quit_message: str | None = None
        self.securities = Securities()
        self.portfolio = Portfolio()
        self.transactions = Transactions()
        self.object_store = ObjectStore()
        self.notify = Notify()
        self.schedule = Schedule()
        self.date_rules = DateRules()
        self.time_rules = TimeRules()
        self.brokerage_model = IBrokerageModel()
        self.initializer: BrokerageModelSecurityInitializer | None = None
        self.subscribed: dict[str, Security] = {}  # ticker or option root → its security
        self.consolidators: dict[Symbol, Callable[[TradeBar], None]] = {}
        self.orders: list[dict[str, Any]] = []
        self.time = datetime(2024, 1, 2, 9, 30)  # noqa: DTZ001  the algorithm's naive New York clock
        self.is_warming_up = False
        self.live_mode = False
        self._next_order_id = 1

    # -- set-up
    def get_parameters(self) -> dict[str, str]:
        return dict(self._parameters)

    def set_start_date(self, *args: Any) -> None:
        self.calls["start_date"] = args

    def set_end_date(self, *args: Any) -> None:
        self.calls["end_date"] = args

    def set_cash(self, cash: float) -> None:
        self.calls["cash"] = cash
        self.portfolio.total_portfolio_value = cash

    def set_time_zone(self, zone: str) -> None:
        self.calls["time_zone"] = zone

    def set_brokerage_model(self, name: BrokerageName, account: AccountType) -> None:
        self.calls["brokerage"] = (name, account)

    def set_security_initializer(self, initializer: BrokerageModelSecurityInitializer) -> None:
        self.initializer = initializer

    def set_benchmark(self, symbol: Symbol) -> None:
        self.calls["benchmark"] = symbol

    def set_warm_up(self, span: timedelta, resolution: Resolution) -> None:
        self.calls["warm_up"] = (span, resolution)

    def get_last_known_prices(self, security: Security) -> list[Any]:
        return []

    def _add(self, key: str, symbol: Symbol, hours: SecurityExchangeHours | None = None) -> Security:
        security = Security(symbol, hours or self._hours)
        self.add_security(security)
        self.subscribed[key] = security
        return security

    def add_security(self, security: Security) -> Security:
        """What LEAN does for every security, universe-selected option contracts included."""
        if self.initializer is not None:
            self.initializer.initialize(security)
        self.securities[security.symbol] = security
        return security

    def add_index(self, ticker: str, resolution: Resolution | None = None) -> Security:
        return self._add(ticker, Symbol.plain(ticker, SecurityType.INDEX))

    def add_equity(self, ticker: str, resolution: Resolution, data_normalization_mode: Any = None) -> Security:
        return self._add(ticker, Symbol.plain(ticker, SecurityType.EQUITY))

    def add_future(self, root: str, resolution: Resolution, data_normalization_mode: Any = None) -> Security:
        return self._add(root, Symbol(f"/{root}", SecurityIdentifier(root, SecurityType.FUTURE)), self._cme_hours)

    def add_index_option(self, underlying: Symbol, root: str, resolution: Resolution | None = None) -> Security:
        return self._add(f"option:{root}", Symbol.canonical(underlying, root))

    def add_option(self, underlying: Symbol, resolution: Resolution) -> Security:
        root = underlying.value
        return self._add(f"option:{root}", Symbol.canonical(underlying, root))

    def add_future_option(self, future: Symbol, option_filter: Any) -> None:
        security = self._add(f"option:{future.id.symbol}", Symbol.canonical(future, future.id.symbol))
        security.set_filter(option_filter)

    def consolidate(self, symbol: Symbol, period: Resolution, handler: Callable[[TradeBar], None]) -> None:
        self.consolidators[symbol] = handler

    # -- orders
    def _ticket(self, symbol: Symbol, quantity: float, limit: float, tag: str, group: int) -> OrderTicket:
        ticket = OrderTicket(self._next_order_id)
        self.orders.append(
            {"id": ticket.order_id, "symbol": symbol, "quantity": quantity, "limit": limit, "tag": tag, "group": group}
        )
        self._next_order_id += 1
        return ticket

    def combo_limit_order(self, legs: list[Leg], quantity: int, limit_price: float, tag: str = "") -> list[OrderTicket]:
        group = self._next_order_id
        self.calls.setdefault("combo", []).append((legs, quantity, limit_price, tag))
        return [self._ticket(leg.symbol, leg.quantity * quantity, limit_price, tag, group) for leg in legs]

    def limit_order(self, symbol: Symbol, quantity: float, limit_price: float, tag: str = "") -> OrderTicket:
        self.calls.setdefault("limit", []).append((symbol, quantity, limit_price, tag))
        return self._ticket(symbol, quantity, limit_price, tag, self._next_order_id)

    # -- output
    def log(self, text: str) -> None:
        self.logs.append(text)

    def debug(self, text: str) -> None:
        self.logs.append(text)

    def error(self, text: str) -> None:
        self.errors.append(text)

    def quit(self, message: str = "") -> None:
        self.quit_message = message


class QuantBook(QCAlgorithm):
    """QuantConnect's research object: history as LEAN's DataFrame (index symbol, time; the time a daily
    bar's end), today's chain from `option_chain`. The tests set `bars` and `chains`."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[TradeBar] = []
        self.chains: dict[Symbol, OptionChain] = {}

    def history(self, symbol: Symbol, periods: int, resolution: Resolution) -> Any:
        import pandas as pd

        rows = self.bars[-periods:]
        index = pd.MultiIndex.from_tuples(
            [(symbol.value, bar.time + timedelta(days=1)) for bar in rows], names=["symbol", "time"]
        )
        columns = {k: [getattr(b, k) for b in rows] for k in ("open", "high", "low", "close")}
        return pd.DataFrame(columns, index=index)

    def option_chain(self, symbol: Symbol) -> OptionChain:
        return self.chains[symbol]


NAMES = [
    name
    for name, value in list(globals().items())
    if isinstance(value, type) and value.__module__ == __name__ and not name.startswith("_")
]


def install() -> types.ModuleType:
    module = types.ModuleType("AlgorithmImports")
    for name in NAMES:
        setattr(module, name, globals()[name])
    module.__all__ = list(NAMES)  # type: ignore[attr-defined]
    sys.modules["AlgorithmImports"] = module
    return module


def uninstall() -> None:
    sys.modules.pop("AlgorithmImports", None)
    for name in [m for m in sys.modules if m == "main" or m.startswith("lean_bridge")]:
        sys.modules.pop(name, None)
