"""`QCAlgorithm` as a Python algorithm subclasses it: the set-up API, securities and universes, orders through
the transaction handler, schedules, logs, the object store and notify, and how LEAN calls the algorithm back.

What LEAN does that the set-up API shows:
- `add_*` create securities with their own exchange hours (the market-hours database) and symbol properties;
  every added security, universe-selected option contracts included, goes through the security initializer
  (Common/Securities/SecurityService.cs, Algorithm/QCAlgorithm.cs `AddToUserDefinedUniverse`).
- `add_future_option(future, filter)` lists one option chain per selected future contract, its root mapped
  (GC → OG: FuturesOptionsSymbolMappings); `add_index_option(spx, "SPXW")` writes SPXW on SPX.
- The default brokerage message handler is installed before `initialize` (Engine/Engine.cs) and
  `set_brokerage_message_handler` replaces it; a Python handler must have `handle_message` and
  `handle_order` (Common/Python/BrokerageMessageHandlerPythonWrapper.cs; LEAN raises NotImplementedException).
- A runtime error (`set_runtime_error`, Common/Extensions.cs `SetRuntimeError`) stops the algorithm: the
  engine runs no further time step (Engine/AlgorithmManager.cs checks `RunTimeError` each slice).

How LEAN calls back (`dispatch`): in a backtest every callback runs on the algorithm's thread, nested inside
the call that caused it (an order's Submitted event inside `limit_order`). In live mode
(Engine/RealTime/LiveTradingRealTimeHandler.cs, BrokerageTransactionHandler.HandleOrderEvents, Engine.cs
brokerage messages) scheduled events run on the real-time thread and order, assignment and brokerage
events on the brokerage's thread; the GIL is released at every call into LEAN (pythonnet's MethodBinder), so
one callback can run while another waits inside a LEAN call. The double runs each live callback on its own
thread and lets a test schedule another callback to run while this one is inside a LEAN call
(`LiveThreads.interleave`). It records every LEAN call with its thread and callback, so a test can ask
whether two callbacks' work interleaved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.lean.brokerage import (
    BrokerageModelSecurityInitializer,
    DefaultBrokerageMessageHandler,
    IBrokerageModel,
    TastytradeBrokerageModel,
)
from tests.fakes.lean.enums import AccountType, AlgorithmStatus, BrokerageName, Resolution, SecurityType
from tests.fakes.lean.hours import MarketHoursDatabase
from tests.fakes.lean.orders import Leg, OrderTicket
from tests.fakes.lean.securities import Portfolio, Securities, Security
from tests.fakes.lean.symbols import Symbol
from tests.fakes.lean.transactions import Transactions

NEW_YORK = ZoneInfo("America/New_York")
MAX_ORDERS_PER_CALLBACK = 200  # far past anything sane: the double stops an algorithm that loops on orders
MAX_CALLS_PER_CALLBACK = 20_000  # likewise for calls into LEAN (a loop that only logs never ends either)


class LeanTimeout(RuntimeError):
    """Common/Isolator.cs: LEAN stops an algorithm whose time step runs past its limit (10 minutes)."""


# ---------------------------------------------------------------------------------------------- schedules


class DateRules:
    def every_day(self, symbol: Any = None) -> tuple[str, Any]:
        """DateRules.EveryDay(symbol): the days that symbol's exchange has a session."""
        return ("every_day", symbol)


class TimeRules:
    def at(self, hour: int, minute: int, second: int = 0) -> tuple[str, Any]:
        return ("at", time(hour, minute, second))

    def every(self, interval: timedelta) -> tuple[str, Any]:
        """TimeRules.Every: every interval from midnight, all day (EveryIntervalIterator)."""
        return ("every", interval)


@dataclass
class ScheduledEvent:
    date_rule: tuple[str, Any]
    time_rule: tuple[str, Any]
    callback: Callable[[], None]

    def fires(self, algorithm: QCAlgorithm, moment: datetime) -> bool:
        symbol = self.date_rule[1]
        if symbol is not None and symbol in algorithm.securities:
            hours = algorithm.securities[symbol].exchange.hours
            if not hours.days.is_session(moment.date()):
                return False
        kind, value = self.time_rule
        if kind == "at":
            return bool(moment.time() == value)
        minutes = int(value.total_seconds() // 60)
        return (moment.hour * 60 + moment.minute) % minutes == 0 and moment.second == 0


class Schedule:
    def __init__(self) -> None:
        self.events: list[ScheduledEvent] = []

    def on(self, date_rule: Any, time_rule: Any, callback: Callable[[], None]) -> ScheduledEvent:
        event = ScheduledEvent(date_rule, time_rule, callback)
        self.events.append(event)
        return event


# ---------------------------------------------------------------------------------------------- services


class ObjectStore:
    def __init__(self, hook: Callable[[str], None] | None = None) -> None:
        self.data: dict[str, str] = {}
        self.refuse = False  # a full quota: save answers False
        self.hook = hook or (lambda name: None)

    def save(self, key: str, text: str) -> bool:
        self.hook("object_store.save")
        if self.refuse:
            return False
        self.data[key] = text
        return True

    def contains_key(self, key: str) -> bool:
        return key in self.data

    def read(self, key: str) -> str:
        return self.data[key]

    def delete(self, key: str) -> bool:
        return self.data.pop(key, None) is not None


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


@dataclass
class OptionUniverse:
    """An option subscription: its canonical symbol, the underlying it is written on, the filter."""

    canonical: Symbol
    underlying: Symbol
    security: Security | None = None  # the canonical security: its `filter` is what set_filter stored
    selected: list[Symbol] = field(default_factory=list)
    selected_on: date | None = None


@dataclass
class FutureUniverse:
    canonical: Symbol
    min_days: int = 0
    max_days: int = 35


# ---------------------------------------------------------------------------------------------- threads


@dataclass
class ApiCall:
    thread: str
    callback: int  # which callback invocation made it
    name: str


class LiveThreads:
    """Live mode's threads (module docstring). `interleave(fn)`: the next time a callback calls into LEAN, `fn`
    runs on another thread while the caller waits for it to finish or to block (the GIL released)."""

    WAIT = 1.0  # seconds to let the other thread run before the caller goes on (it blocked on a lock)

    def __init__(self) -> None:
        self.local = threading.local()
        self.calls: list[ApiCall] = []
        self._counter = 0
        self._lock = threading.Lock()
        self._interleave: list[tuple[str, Callable[[], None]]] = []
        self.started: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def current(self) -> tuple[str, int]:
        return getattr(self.local, "name", threading.current_thread().name), getattr(self.local, "callback", 0)

    def next_callback(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def interleave(self, thread_name: str, fn: Callable[[], None]) -> None:
        self._interleave.append((thread_name, fn))

    def on_api_call(self, name: str) -> None:
        thread, callback = self.current()
        with self._lock:
            self.calls.append(ApiCall(thread, callback, name))
            pending, self._interleave = self._interleave, []
        for other, fn in pending:
            runner = self.start(other, fn)
            runner.join(self.WAIT)

    def start(self, name: str, fn: Callable[[], None]) -> threading.Thread:
        def run() -> None:
            try:
                fn()
            except BaseException as err:
                self.errors.append(err)

        runner = threading.Thread(target=run, name=name, daemon=True)
        self.started.append(runner)
        runner.start()
        return runner

    def join_all(self) -> None:
        while self.started:
            self.started.pop().join(10.0)

    def interleaved(self) -> list[tuple[int, int]]:
        """Pairs of callbacks whose LEAN calls interleaved: A called, then B, then A again while both ran."""
        out: list[tuple[int, int]] = []
        last_seen: dict[int, int] = {}
        for index, call in enumerate(self.calls):
            previous = last_seen.get(call.callback)
            if previous is not None:
                between = {c.callback for c in self.calls[previous + 1 : index] if c.callback != call.callback}
                out.extend((call.callback, other) for other in sorted(between))
            last_seen[call.callback] = index
        return out


# ---------------------------------------------------------------------------------------------- the algorithm


class QCAlgorithm:
    def __init__(self, parameters: dict[str, str] | None = None) -> None:
        self._parameters = dict(parameters or {})
        self.calls: dict[str, Any] = {}
        self.logs: list[str] = []
        self.errors: list[str] = []
        self.debugs: list[str] = []
        self.quit_message: str | None = None
        self.run_time_error: Exception | None = None
        self.status = AlgorithmStatus.RUNNING
        self.securities = Securities()
        self.portfolio = Portfolio(self.securities, hook=self.api_call)
        self.transactions = Transactions(self)
        self.object_store = ObjectStore(self.api_call)
        self.notify = Notify()
        self.schedule = Schedule()
        self.date_rules = DateRules()
        self.time_rules = TimeRules()
        self.market_hours_database = MarketHoursDatabase()
        self.brokerage_model: Any = IBrokerageModel()
        self.brokerage_message_handler: Any = DefaultBrokerageMessageHandler(self)
        self.initializer: BrokerageModelSecurityInitializer | None = None
        self.subscribed: dict[str, Security] = {}  # ticker or "option:ROOT" → its security (for tests)
        self.consolidators: dict[Symbol, Callable[[Any], None]] = {}
        self.option_universes: list[OptionUniverse] = []
        self.future_universes: dict[str, FutureUniverse] = {}
        self.future_option_filters: dict[str, Callable[[Any], Any] | None] = {}
        self.time = datetime(2024, 1, 2, 9, 30)  # noqa: DTZ001  the algorithm's naive New York clock
        self.is_warming_up = False
        self.live_mode = False
        self.locked = False  # initialize has run (Engine.cs GetLocked)
        self.threads = LiveThreads()
        self.orders_in_callback: list[int] = []  # orders sent by each callback invocation
        self.calls_in_callback: list[int] = []  # calls into LEAN by each callback invocation

    # ------------------------------------------------------------------ clock

    @property
    def utc_time(self) -> datetime:
        return self.time.replace(tzinfo=NEW_YORK).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    def exchange_time(self, security: Security) -> datetime:
        zone = ZoneInfo(str(security.exchange.hours.time_zone))
        return self.time.replace(tzinfo=NEW_YORK).astimezone(zone).replace(tzinfo=None)

    # ------------------------------------------------------------------ callbacks from the engine

    def dispatch(self, name: str, *args: Any) -> bool:
        """LEAN calling one of the algorithm's event handlers (module docstring); False when it raised and LEAN
        only logged it."""
        handler = getattr(self, name, None)
        if handler is None:
            return True
        thread = "algorithm" if name in ("on_data", "on_end_of_day", "on_warmup_finished") else "brokerage"
        return self.run_callback(name, thread, lambda: handler(*args))

    def run_callback(self, name: str, thread: str, work: Callable[[], None]) -> bool:
        """One callback: on the algorithm's thread in a backtest; on `thread` in live mode. Exceptions in
        `on_assignment_order_event` and in brokerage message handlers are only logged by LEAN (False comes
        back); elsewhere they are runtime errors (BrokerageTransactionHandler.HandleOrderEvents,
        Brokerage.OnMessage)."""
        if not self.live_mode:
            return self._invoke(name, work, "algorithm")
        done: list[bool] = []
        runner = self.threads.start(thread, lambda: done.append(self._invoke(name, work, thread)))
        runner.join(LiveThreads.WAIT * 3)
        return all(done)

    def _invoke(self, name: str, work: Callable[[], None], thread: str) -> bool:
        local = self.threads.local
        saved = (getattr(local, "name", None), getattr(local, "callback", None), getattr(local, "slot", None))
        local.name = thread
        local.callback = self.threads.next_callback()
        self.orders_in_callback.append(0)
        self.calls_in_callback.append(0)
        local.slot = len(self.orders_in_callback) - 1
        try:
            work()
        except LeanTimeout:
            raise
        except Exception as err:
            if name in ("on_assignment_order_event", "on_brokerage_message", "handle_message"):
                self.logs.append(f"LEAN logged an error in {name}: {err!r}")
                return False
            self.set_runtime_error(err, name)
            raise
        finally:
            local.name, local.callback, local.slot = saved
        return True

    def api_call(self, name: str) -> None:
        """Every call the algorithm makes into LEAN passes here (module docstring). A callback that never
        returns is stopped as LEAN's isolator stops a time step past its limit."""
        self.threads.on_api_call(name)
        slot = getattr(self.threads.local, "slot", None)
        if slot is not None:
            self.calls_in_callback[slot] += 1
            if self.calls_in_callback[slot] > MAX_CALLS_PER_CALLBACK:
                raise LeanTimeout(f"over {MAX_CALLS_PER_CALLBACK} calls into LEAN in one callback: it never returns")

    def _count_order(self) -> None:
        slot = getattr(self.threads.local, "slot", None)
        if slot is None:
            return
        self.orders_in_callback[slot] += 1
        if self.orders_in_callback[slot] > MAX_ORDERS_PER_CALLBACK:
            raise LeanTimeout(f"over {MAX_ORDERS_PER_CALLBACK} orders in one callback: the time step never ends")

    def set_runtime_error(self, error: Exception, context: str) -> None:
        self.run_time_error = error
        self.status = AlgorithmStatus.RUNTIME_ERROR
        self.errors.append(f"Runtime Error: {error} in {context}")

    # ------------------------------------------------------------------ set-up

    def initialize(self) -> None:
        """QCAlgorithm.Initialize: the algorithm's own overrides it."""

    def get_parameters(self) -> dict[str, str]:
        return dict(self._parameters)

    def get_parameter(self, name: str, default: str | None = None) -> str | None:
        return self._parameters.get(name, default)

    def set_start_date(self, *args: Any) -> None:
        self.calls["start_date"] = args

    def set_end_date(self, *args: Any) -> None:
        self.calls["end_date"] = args

    def set_cash(self, cash: float) -> None:
        self.calls["cash"] = cash
        self.portfolio.cash = float(cash)

    def set_time_zone(self, zone: str) -> None:
        self.calls["time_zone"] = zone

    def set_brokerage_model(self, name: BrokerageName, account: AccountType = AccountType.MARGIN) -> None:
        self.calls["brokerage"] = (name, account)
        self.brokerage_model = TastytradeBrokerageModel() if name is BrokerageName.TASTYTRADE else IBrokerageModel()

    def set_brokerage_message_handler(self, handler: Any) -> None:
        if handler is None:
            raise ValueError("handler")  # ArgumentNullException
        missing = [n for n in ("handle_message", "handle_order") if not callable(getattr(handler, n, None))]
        if missing:
            names = ", ".join("HandleMessage" if n == "handle_message" else "HandleOrder" for n in missing)
            raise NotImplementedError(f"IBrokerageMessageHandler must be fully implemented. Missing: {names}")
        self.brokerage_message_handler = handler

    def set_security_initializer(self, initializer: BrokerageModelSecurityInitializer) -> None:
        self.initializer = initializer

    def set_benchmark(self, symbol: Symbol) -> None:
        self.calls["benchmark"] = symbol

    def set_warm_up(self, span: timedelta, resolution: Resolution | None = None) -> None:
        self.calls["warm_up"] = (span, resolution)

    def get_last_known_prices(self, security: Security) -> list[Any]:
        return []

    def add_security(self, security: Security) -> Security:
        if security.symbol in self.securities:
            return self.securities[security.symbol]
        if self.initializer is not None:
            self.initializer.initialize(security)
        elif security.fee_model is None:
            BrokerageModelSecurityInitializer(self.brokerage_model, None).initialize(security)
        self.securities[security.symbol] = security
        return security

    def _add(self, key: str, symbol: Symbol) -> Security:
        security = self.add_security(Security(symbol))
        self.subscribed[key] = security
        return security

    def add_index(self, ticker: str, resolution: Resolution | None = None) -> Security:
        return self._add(ticker, Symbol.plain(ticker, SecurityType.INDEX))

    def add_equity(self, ticker: str, resolution: Resolution | None = None, **kwargs: Any) -> Security:
        return self._add(ticker, Symbol.plain(ticker, SecurityType.EQUITY))

    def add_future(self, root: str, resolution: Resolution | None = None, **kwargs: Any) -> Security:
        security = self._add(root, Symbol.canonical_future(root))
        self.future_universes[root] = FutureUniverse(security.symbol)
        return security

    def _option_universe(self, key: str, canonical: Symbol, underlying: Symbol) -> Security:
        security = self._add(key, canonical)
        self.option_universes.append(OptionUniverse(canonical, underlying, security))
        return security

    def add_index_option(self, underlying: Symbol, root: str, resolution: Resolution | None = None) -> Security:
        return self._option_universe(f"option:{root}", Symbol.canonical(underlying, root), underlying)

    def add_option(self, underlying: Symbol, resolution: Resolution | None = None, **kwargs: Any) -> Security:
        root = underlying.value
        return self._option_universe(f"option:{root}", Symbol.canonical(underlying, root), underlying)

    def add_future_option(self, future: Symbol, option_filter: Callable[[Any], Any] | None = None) -> None:
        """One option universe per future contract the future's universe selects (the engine lists them)."""
        self.future_option_filters[future.id.symbol] = option_filter
        self.calls.setdefault("future_options", []).append(future.id.symbol)

    def consolidate(self, symbol: Symbol, period: Resolution, handler: Callable[[Any], None]) -> None:
        self.consolidators[symbol] = handler

    # ------------------------------------------------------------------ orders

    def limit_order(self, symbol: Symbol, quantity: float, limit_price: float, tag: str = "", **_: Any) -> OrderTicket:
        self.api_call("limit_order")
        self._count_order()
        self.calls.setdefault("limit", []).append((symbol, quantity, limit_price, tag))
        return self.transactions.submit_limit(symbol, quantity, limit_price, tag)

    def combo_limit_order(
        self, legs: list[Leg], quantity: int, limit_price: float, tag: str = "", **_: Any
    ) -> list[OrderTicket]:
        self.api_call("combo_limit_order")
        self._count_order()
        self.calls.setdefault("combo", []).append((legs, quantity, limit_price, tag))
        return self.transactions.submit_combo_limit(legs, quantity, limit_price, tag)

    @property
    def orders(self) -> list[dict[str, Any]]:
        """Every order the algorithm sent, as dictionaries (for tests)."""
        return [
            {
                "id": o.id,
                "symbol": o.symbol,
                "quantity": o.quantity,
                "limit": o.limit_price,
                "tag": o.tag,
                "group": o.group_order_manager.id if o.group_order_manager else o.id,
                "type": o.type,
                "status": o.status,
            }
            for o in self.transactions.orders.values()
        ]

    # ------------------------------------------------------------------ output

    def log(self, text: str) -> None:
        self.api_call("log")
        self.logs.append(text)

    def debug(self, text: str) -> None:
        self.api_call("debug")
        self.debugs.append(text)
        self.logs.append(text)

    def error(self, text: str) -> None:
        self.api_call("error")
        self.errors.append(text)

    def quit(self, message: str = "") -> None:
        self.quit_message = message
        self.status = AlgorithmStatus.STOPPED


class QuantBook(QCAlgorithm):
    """QuantConnect's research object: history as LEAN's DataFrame (index symbol, time; the time a daily
    bar's end), today's chain from `option_chain`. The tests set `bars` and `chains`."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[Any] = []
        self.chains: dict[Symbol, Any] = {}

    def history(self, symbol: Symbol, periods: int, resolution: Resolution) -> Any:
        import pandas as pd

        rows = self.bars[-periods:]
        index = pd.MultiIndex.from_tuples(
            [(symbol.value, bar.time + timedelta(days=1)) for bar in rows], names=["symbol", "time"]
        )
        columns = {k: [getattr(b, k) for b in rows] for k in ("open", "high", "low", "close")}
        return pd.DataFrame(columns, index=index)

    def option_chain(self, symbol: Symbol) -> Any:
        return self.chains[symbol]
