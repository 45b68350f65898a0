"""The algorithm at run time inside LEAN: the core pipeline, the risk manager and the safety systems wired the
way the replay wires them, driven by main.py's schedules and event handlers.

The clock:
- `on_minute` (scheduled every minute) is the safety tick: a new session's bookkeeping (expired legs leave
  the book, the book is reconciled with LEAN's holdings, daily counters reset), the no-data watchdog, the
  disconnect alerts, unconfirmed cancels, and deciding whether a step is due (a strategy's entry time,
  the management interval, the 15:00/15:30 assignment checks, what an assignment left to close) or, while a
  0DTE is held and no step is due, the minute watch (RULEBOOK: a held 0DTE is checked every minute).
- `on_data` runs a due step (or the minute watch, `Pipeline.watch`: the 0DTE's own management only) on the
  slice it is given (chains converted only then) and, while orders work, the fill checks every minute on
  quotes alone.

One handler at a time: LEAN calls the algorithm from several threads in live trading (scheduled events on its
real-time thread, order, assignment and brokerage events on the brokerage's; AlgorithmPythonWrapper.cs,
LiveTradingRealTimeHandler.cs), and from inside our own calls into it in a backtest (an order's Submitted and
Invalid events arrive inside `combo_limit_order`). Every entry point puts its work in one queue; whichever
handler holds the lock runs the queue in order before it lets go, so work never interleaves and no thread
waits on another (`_serial`).

Exercise and assignment, in LEAN's order (BrokerageTransactionHandler `EmitOptionNotificationEvents`,
DefaultExerciseModel): the option's fill (an OptionExercise order) reaches `on_order_event`, then for an
assignment `on_assignment_order_event` with the same event, and only then does the delivered stock or future
enter the portfolio, with its own fill. An in-the-money physically settled exercise is booked at the option's
event (the delivery enters the book); the delivery is flattened when its own fill says LEAN holds it, if the
market is open, else at the next session's first step. Out-of-the-money expiries (one fill at 0) and cash
settlements move nothing to flatten: the next session's settlement books them.

State is saved after every change and at the end of the day; `start` loads it and reconciles it with the
holdings LEAN reports before anything trades. `self_check` is the line a user greps after a LEAN backtest.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from AlgorithmImports import OrderEvent, OrderStatus, OrderType, QCAlgorithm, SecurityType, Slice, TradeBar
from core.calendar import Calendars
from core.expiry import expired_by, intrinsic_value, settle_expired
from core.model import AccountState, Chain, Contract, ContractKind, MarketSnapshot, delivery
from core.orders import CancelOrder, Command, SubmitOrder
from core.pipeline import ClosedTrade, StepResult
from core.ports import AlertLevel, AlertMessage, EventCalendar
from core.products import AssetKind, Settlement, product
from core.settings import Settings
from core.stress import stress_book
from core.timeutil import elapsed
from core.valuation import describe
from trading.system import STATE_KEY, EventFileError, TradingSystem, read_events, restored

from lean_bridge.calendar import LeanCalendar
from lean_bridge.market import DailyHistory, chains_from, snapshot
from lean_bridge.notify import LeanAlerts
from lean_bridge.orders import LegFilled, OrderCanceled, OrderRejected, OrderRouter
from lean_bridge.store import ObjectStoreStore
from lean_bridge.subscriptions import Subscribed
from lean_bridge.symbols import OPTION_TYPES, SymbolRegistry

NEW_YORK = ZoneInfo("America/New_York")
MAX_ORDERS_PER_EVENT = 40  # a safety net: no decision sends more (past it: module docstring of _execute)
WATCH = "minute watch"  # `due` when only the held 0DTE's minute management is (Pipeline.watch)


@dataclass
class Counts:
    """What the self-check line reports: orders sent to LEAN, fills, refusals (by us or by LEAN)."""

    sent: int = 0
    filled: int = 0
    refused: int = 0
    exercised: int = 0
    reconciliation_differences: int = 0


class LeanRuntime:
    def __init__(self, algorithm: QCAlgorithm, settings: Settings, subscribed: Subscribed) -> None:
        self.algorithm = algorithm
        self.settings = settings
        self.subscribed = subscribed
        self.calendars = Calendars()  # expiry rules (exchange_calendars is in the LEAN image)
        self.equity_calendar = LeanCalendar(subscribed.equity_hours)
        self.cme_calendar = LeanCalendar(subscribed.cme_hours) if subscribed.cme_hours else self.calendars.cme
        self.sink = LeanAlerts(algorithm, settings)
        self.store = ObjectStoreStore(algorithm.object_store)
        self.registry = SymbolRegistry(algorithm.log)
        self.router = OrderRouter(algorithm, self.registry, settings.cancel_confirm_seconds)
        self.history = DailyHistory()
        self.peak = float(algorithm.portfolio.total_portfolio_value)  # until a saved peak is restored
        self.started = False
        self.due: str | None = None  # why a step is due on the next slice (a schedule, management, ...)
        self.session_day: date | None = None
        self.session_open: dict[str, float] = {}
        self.last_snapshot: MarketSnapshot | None = None
        self.closed: list[ClosedTrade] = []
        self.fees: dict[str, float] = {}  # structure id (the parent's for a part) → fees LEAN charged so far
        self.counts = Counts()
        self.events: EventCalendar | None = None  # the events file as last read (`_read_events`)
        self.events_text: str | None = None
        self.started_events = False
        self.exercises: set[tuple[int, str]] = set()  # (LEAN order id, symbol) of exercise events booked
        self.reconcile_due = False  # a broker error: compare the book with LEAN's holdings when quiet
        # LEAN's holdings are known to be stale until a restart (an exercise LEAN never reported): comparing
        # the book with them would drop the delivery the broker holds, so nothing is reconciled until then.
        self.stale_holdings = False
        self._inbox: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()
        self.silent = False  # the no-data watchdog has declared a disconnect
        self._wire(TradingSystem(settings, self.calendars, self.equity_calendar, self.cme_calendar, self.sink))

    # ------------------------------------------------------------------ one handler at a time

    def _serial(self, work: Callable[[], None]) -> None:
        """Queue `work` and run the queue unless another handler holds it (module docstring). A handler that
        re-enters from inside its own call into LEAN finds the lock taken and leaves its work queued: the
        outer handler runs it as soon as its current piece of work returns."""
        self._inbox.append(work)
        while self._inbox:
            if not self._lock.acquire(blocking=False):
                return
            try:
                while self._inbox:
                    self._inbox.popleft()()
            finally:
                self._lock.release()

    # ------------------------------------------------------------------ wiring and state

    def _wire(self, system: TradingSystem) -> None:
        self.system = system
        self.futures, self.safety, self.risk = system.futures, system.safety, system.risk
        self.pipeline = system.pipeline

    def save(self, now: datetime) -> None:
        self.system.save(self.store, now, STATE_KEY)

    def now(self) -> datetime:
        """The algorithm's clock, aware (LEAN's `time` is naive in the algorithm's zone, New York)."""
        return self.algorithm.time.replace(tzinfo=NEW_YORK)

    def start(self) -> None:
        self._serial(self._start)

    def _start(self) -> None:
        """Load the saved state and reconcile it with LEAN's holdings (after warm-up: live holdings are loaded
        by then). A person's `clear_halt` is applied here, once, and said in an alert."""
        if self.started:
            return
        self.started = True
        now = self.now()
        for order in self.algorithm.transactions.get_open_orders():  # from before a restart: not ours to work
            self.algorithm.transactions.cancel_order(order.id, "open at start: cancelled, holdings reconciled")
            self.alert(now, AlertLevel.WARNING, "open order at start", f"{order.symbol} x{order.quantity} cancelled")
        system, alerts = restored(
            self.settings, self.calendars, self.equity_calendar, self.cme_calendar, self.sink, self.store,
            self.holdings(), now, self.peak,
        )  # fmt: skip
        self._wire(system)
        self._read_events(now)
        for found in alerts:
            self.alert(now, found.level, found.title, found.body)
        market = self.light_snapshot(now)  # the orders in flight before the restart resume from their fills
        self._absorb(self.system.resume(self.quote, now, self.account(market)), market)
        if self.settings.clear_halt:
            moved = self.safety.state.clear(now, "the clear_halt parameter")
            if moved is not None:
                self.alert(now, AlertLevel.WARNING, "halt cleared", "by the clear_halt parameter: set it back to false")
        if self.settings.drawdown_reset_peak:
            net = float(self.algorithm.portfolio.total_portfolio_value)
            self.system.reset_peak(net, now, "by the drawdown_reset_peak parameter (set it back to false)")
        self.save(now)

    def alert(self, now: datetime, level: AlertLevel, title: str, body: str) -> None:
        self.safety.alerts.send(now, level, title, body)
        self.safety.journal.events.append(f"{level.value} {title}: {body}")

    # ------------------------------------------------------------------ the broker's view

    def holdings(self) -> dict[Contract, int]:
        out: dict[Contract, int] = {}
        for holding in self.algorithm.portfolio.values():
            quantity = int(holding.quantity)
            if not quantity:
                continue
            contract = self.registry.remember_symbol(holding.symbol)
            if contract is not None:
                out[contract] = out.get(contract, 0) + quantity
        return out

    def quote(self, contract: Contract) -> tuple[float, float] | None:
        symbol = self.registry.symbol(contract)
        if symbol is None or not self.algorithm.securities.contains_key(symbol):
            return None
        security = self.algorithm.securities[symbol]
        bid, ask = float(security.bid_price), float(security.ask_price)
        if contract.kind is not ContractKind.OPTION and bid <= 0 and ask <= 0:
            price = float(security.price)
            return (price, price) if price > 0 else None
        return bid, ask

    def prices(self) -> dict[str, float]:
        out = {root: float(self.algorithm.securities[s].price) for root, s in self.subscribed.prices.items()}
        if "MES" not in out and "ES" in out:
            out["MES"] = out["ES"]  # the same index: the hedge sizes from it
        return out

    def vix(self) -> float | None:
        level = float(self.algorithm.securities[self.subscribed.vix].price)
        return level if level > 0 else None

    def account(self, market: MarketSnapshot) -> AccountState:
        net = float(self.algorithm.portfolio.total_portfolio_value)
        return self.system.account(net, self.system.book_view(market), market.time)

    def light_snapshot(self, now: datetime) -> MarketSnapshot:
        """Prices and the last chains seen: what fill checks and event handling need between steps."""
        chains = self.last_snapshot.chains if self.last_snapshot is not None else {}
        return snapshot(now, chains, self.prices(), self.vix(), self.history, self.session_open)

    def remember_futures(self) -> None:
        """Future contracts LEAN's future universes added (a hedge or a roll orders one no chain lists)."""
        for symbol in list(self.algorithm.securities.keys()):
            if symbol.security_type == SecurityType.FUTURE and not symbol.is_canonical():
                self.registry.remember_symbol(symbol)

    # ------------------------------------------------------------------ data

    def on_daily_bar(self, root: str, bar: TradeBar) -> None:
        day = bar.time.date()
        values = (float(bar.open), float(bar.high), float(bar.low), float(bar.close))
        self._serial(lambda: self.history.add_bar(root, day, *values))

    def on_data(self, data: Slice) -> None:
        self._serial(lambda: self._on_data(data))

    def _on_data(self, data: Slice) -> None:
        now = self.now()
        self.safety.watchdog.observe(now)
        if self.silent:  # data is back after the no-data watchdog called it a disconnect
            self.silent = False
            self._on_reconnect()
        wants_iv = self.history.wants_iv(now, self.algorithm.is_warming_up) and data.option_chains.count > 0
        if self.algorithm.is_warming_up:
            if wants_iv:
                self.history.sample_iv(self._chains(data, now), now)
            return
        if not self.started:
            self._start()
        self._record_open(now)
        if self.due is not None:
            why, self.due = self.due, None
            market = snapshot(now, self._chains(data, now), self.prices(), self.vix(), self.history, self.session_open)
            self.last_snapshot = market
            if wants_iv:
                self.history.sample_iv(market.chains, now)
            self.remember_futures()
            if why == WATCH:
                self._absorb(self.pipeline.watch(market, self.account(market), self.quote), market)
            else:
                self._step(market)
        elif self.safety.fills.working():
            market = self.light_snapshot(now)
            self._absorb(self.pipeline.tick(market, self.account(market), self.quote), market)
        elif wants_iv:
            self.history.sample_iv(self._chains(data, now), now)

    def _chains(self, data: Slice, now: datetime) -> dict[str, Chain]:
        return chains_from(data.option_chains.values(), now, self.registry, self.settings)

    def _record_open(self, now: datetime) -> None:
        if now.date() in (self.session_day,) and self.session_open:
            return
        if not self.equity_calendar.is_open(now):
            return
        for root, symbol in self.subscribed.prices.items():
            opened = float(self.algorithm.securities[symbol].open)
            if opened > 0:
                self.session_open.setdefault(root, opened)

    # ------------------------------------------------------------------ the clock

    def request_step(self, why: str) -> None:
        """A step is due: it runs on the next slice."""
        self._serial(lambda: self._request(why))

    def _request(self, why: str) -> None:
        """A full step is due; it takes the place of a minute watch asked for earlier in the same minute."""
        if self.due is None or self.due == WATCH:
            self.due = why

    def on_minute(self) -> None:
        self._serial(self._on_minute)

    def _on_minute(self) -> None:
        if self.algorithm.is_warming_up:
            return
        if not self.started:
            self._start()
        now = self.now()
        open_now = self.equity_calendar.is_open(now)
        if open_now and self.session_day != now.date():
            self._new_session(now)
        if open_now and self.safety.watchdog.silent(now, open_now) and self.safety.connection.connected:
            self.silent = True
            self._on_disconnect(f"no data for {self.settings.no_data_minutes} minutes in market hours")
        for alert in self.safety.connection.tick(now):
            self.alert(now, alert.level, alert.title, alert.body)
        for order_id, tries in self.router.overdue_cancels(now):
            level = AlertLevel.CRITICAL if tries > 2 else AlertLevel.WARNING
            body = f"order {order_id}: its cancel is not confirmed (check {tries}); a person may need to cancel it"
            self.alert(now, level, "cancel not confirmed", body)
        if self.safety.fills.abandoned:  # a safety order refused until given up: compare with the broker
            self.safety.fills.abandoned.clear()
            self.reconcile_due = True
        if self.reconcile_due and not self.safety.fills.at_broker():
            self.reconcile_due = False
            self.reconcile(now)
        if not open_now:
            return
        local = now.astimezone(NEW_YORK)
        session = self.equity_calendar.open_close(local.date())
        minutes = int(elapsed(session[0], now).total_seconds() // 60) if session else 0
        if self.pipeline.entries_due(now):
            self._request("entry time")
        elif local.replace(second=0, microsecond=0) in self.safety.assignment.check_times(local.date()):
            self._request("assignment check")
        elif self._leftovers():
            self._request("what an assignment left")
        elif minutes > 0 and minutes % self.settings.manage_interval_minutes == 0 and self.pipeline.book.structures:
            self._request("management")
        elif self.due is None and self.pipeline.watching():
            self.due = WATCH

    def _leftovers(self) -> bool:
        """A delivery or an assigned remainder is in the book and nothing is closing it yet."""
        busy = self.safety.fills.working_structure_ids()
        market = self.last_snapshot or self.light_snapshot(self.now())
        return any(i.structure.id not in busy for i in self.safety.assignment.leftovers(self.pipeline.book, market))

    def _new_session(self, now: datetime) -> None:
        """Expired legs leave the book at their settlement (LEAN has moved the cash already), the book is
        reconciled with the holdings, the daily counters start again."""
        self.session_day = now.date()
        self.session_open = {}
        self.remember_futures()  # LEAN's future universes select at midnight
        self._settle_expired(now)
        if not self.safety.fills.at_broker():
            self.reconcile(now)
        market = self.light_snapshot(now)
        for change in self.safety.checks.new_session(now, self.account(market)):
            self.algorithm.log(f"trading state: {getattr(change, 'reason', change)}")
        self.safety.journal.new_day(now.date())
        self._read_events(now)
        self.save(now)

    def _read_events(self, now: datetime) -> None:
        """The earnings and ex-dividend file from the ObjectStore (`events_key`, written by `tasty metrics
        --write-events` and uploaded: README), read at the start and again at each session so that a new
        upload is used. Without it the risk manager opens no short call on a dividend payer and nothing on a
        single stock (risk/events); an unreadable file is a CRITICAL alert and counts as none."""
        key = self.settings.events_key
        text = self.store.load(key)
        if text == self.events_text and self.started_events:
            return
        self.events_text, self.started_events = text, True
        if text is None:
            self.system.use_events(None)
            self.algorithm.log(f"events: no ObjectStore key '{key}': no short calls on dividend payers (README)")
            return
        try:
            events = read_events(text, f"the events file '{key}'")
        except EventFileError as err:
            self.system.use_events(None)
            self.alert(now, AlertLevel.CRITICAL, "events file unreadable", f"{err}; read as no events file")
            return
        self.system.use_events(events)
        listed = ", ".join(f"{root} to {day}" for root, day in sorted(events.through.items())) or "no roots"
        self.algorithm.log(f"events: '{key}' read; ex-dividend dates listed for {listed}")

    def _settle_expired(self, now: datetime) -> None:
        """Each expiry day still in the book before today, oldest first, at that day's close (a restart over a
        weekend or a holiday may find more than one)."""
        expiries = sorted(
            {
                leg.contract.expiry
                for s in self.pipeline.book.open_structures()
                for leg in s.legs
                if leg.contract.expiry is not None and leg.contract.expiry < now.date()
            }
        )
        for day in expiries:

            def settlement_price(root: str, day: date = day) -> float | None:
                bars = self.history.bars(root)
                if bars is None or day not in bars.day:
                    return None
                return float(bars.close[bars.day.index(day)])

            self._unreported_deliveries(day, settlement_price, now)
            close = datetime.combine(day, time(16, 0), tzinfo=NEW_YORK)
            settled, missing = settle_expired(self.pipeline.book, day, close, settlement_price)
            for done in settled:
                self._closed(done.trade, now)
            for names in missing:
                body = f"{names}: no close for {day}, legs expired then are left in the book"
                self.alert(now, AlertLevel.CRITICAL, "no settlement price", body)

    def _unreported_deliveries(self, day: date, price_of: Callable[[str], float | None], now: datetime) -> None:
        """Physically settled legs that expired in the money on `day` and that no exercise event booked. In a
        backtest LEAN's exercise events book them at midnight (`_option_exercised`); live, LEAN's TastyTrade
        brokerage reports no exercise or assignment, so LEAN's portfolio keeps the expired option and never
        shows the delivered stock or future, which the broker holds. The delivery is booked here as the broker
        made it, with a CRITICAL alert, and trading HALTS until a person has checked the account and restarted
        the algorithm (LEAN loads the broker's holdings at start; with `clear_halt` the restart resumes), after
        which the delivery is flattened. Until then LEAN's holdings are stale and nothing is reconciled with
        them (a reconciliation would rebuild the book without the delivery the broker holds)."""
        for structure in list(self.pipeline.book.open_structures()):
            for leg in structure.legs:
                c = leg.contract
                if c.expiry != day or c.settlement is not Settlement.PHYSICAL or c.strike is None:
                    continue
                price = price_of(c.underlying)
                if price is None or intrinsic_value(c, price) < 0.01:
                    continue
                position = leg.ratio * structure.quantity
                symbol = self.registry.symbol(c)
                under = self.registry.remember_symbol(symbol.underlying) if symbol is not None else None
                arrived = delivery(c, position, under.underlying_expiry if under is not None else None)
                delivered, quantity = arrived if arrived is not None else (None, 0)
                market = self.light_snapshot(now)
                result, alerts = self.system.on_assignment(
                    c, -position, delivered, quantity, price, market, self.account(market), self.quote, send=False
                )
                for found in alerts:
                    self.alert(now, found.level, found.title, found.body)
                what = "assigned" if position < 0 else "exercised"
                named = describe(delivered) if delivered is not None else "nothing"
                body = (
                    f"{describe(c)} x{abs(position)} expired in the money ({price:g}) and LEAN reported no "
                    f"exercise or assignment: {what} at the broker, {quantity:+d} {named} booked as delivered. "
                    "Check the account (python -m tasty positions), then restart the algorithm so LEAN loads the "
                    "broker's holdings; the delivery is flattened after that."
                )
                self.alert(now, AlertLevel.CRITICAL, "unreported exercise", body)
                self._absorb(result, market)
                self.stale_holdings = True
                self.safety.state.halt(now, f"unreported exercise of {describe(c)}: check the account, restart", True)

    def reconcile(self, now: datetime) -> bool:
        """Book against LEAN's holdings (trading/system): on a difference the book is rebuilt from the
        holdings, trading HALTS for a person, and each difference is a CRITICAL alert. Not while LEAN's
        holdings are known to be stale (`stale_holdings`): trading is halted already, and the restart that
        ends it reconciles with the holdings LEAN then loads from the broker."""
        if self.stale_holdings:
            return False
        alerts = self.system.reconcile(self.holdings(), now)
        self.counts.reconciliation_differences += len(alerts)
        for found in alerts:
            self.alert(now, found.level, found.title, found.body)
        if alerts:
            self.save(now)
        return not alerts

    # ------------------------------------------------------------------ steps and commands

    def _step(self, market: MarketSnapshot) -> None:
        result = self.pipeline.step(market, self.account(market), self.quote)
        self._absorb(result, market)

    def _absorb(self, result: StepResult, market: MarketSnapshot) -> None:
        """Log what was decided, carry out the commands, book the closes, save."""
        now = market.time
        for decision in result.decisions:
            self.algorithm.log(f"{decision.rule}: {decision.reason}")
            if decision.alert is not None:
                self.alert(now, decision.alert, decision.rule, decision.reason)
        for refusal in result.refusals:
            text = f"refused [{refusal.rule}] {refusal.intent.structure.strategy}: {refusal.reason}"
            self.algorithm.log(text)
            self.safety.journal.refusals.append(text)
        for approval in result.approvals:
            self.algorithm.log(f"approved {approval.intent.structure.strategy}: {approval.intent.reason}")
        for trade in result.closed:
            self._closed(trade, now)
        changed = bool(result.opened or result.closed or result.commands)
        self._execute(result.commands, market)
        if changed:
            self.save(now)

    def _owner(self, structure_id: str) -> str:
        """The structure a fill's fees belong to: a part's parent (an IPMCC call belongs to its LEAP)."""
        sent = self.pipeline.sent.get((structure_id, 1)) or self.pipeline.sent.get((structure_id, -1))
        return sent.structure.parent or structure_id if sent is not None else structure_id

    def _closed(self, trade: ClosedTrade, now: datetime) -> None:
        """A closed trade reaches the day's journal and the performance ledger, after the fees LEAN charged
        (a whole structure takes its accumulated fees; a part's stay with its parent until it closes)."""
        self.closed.append(trade)
        self.safety.journal.record_close(trade.strategy, trade.pnl)
        fees = 0.0 if trade.structure.parent else self.fees.pop(trade.structure.id, 0.0)
        part = trade.structure
        warning = self.safety.performance.record(trade.strategy, trade.pnl - fees, fees, part.id, part.parent)
        self.algorithm.log(
            f"closed {trade.strategy} {trade.structure.id} x{trade.units}: {trade.pnl:+,.2f} ({trade.reason})"
        )
        if warning:
            self.alert(now, AlertLevel.WARNING, "performance", warning)

    def _execute(self, commands: list[Command], market: MarketSnapshot) -> None:
        """Carry out the commands. An order LEAN or the router refuses goes back to the tracker as a reject,
        whose answer is carried out too; the tracker never sends a refused order again inside the same event
        (safety/fills). Past MAX_ORDERS_PER_EVENT the rest are refused here, with the reason in the log: a
        structure's order is then not sent (as any refused one), a safety order goes again at the next tick. A
        cancel for an order the router no longer works (LEAN or the broker cancelled it already) is confirmed
        at once."""
        now = market.time
        queue = list(commands)
        sent = 0
        while queue:
            command = queue.pop(0)
            if isinstance(command, SubmitOrder):
                why = None if self.safety.connection.connected else "broker disconnected: order not sent"
                if why is None and sent >= MAX_ORDERS_PER_EVENT:
                    why = f"more than {MAX_ORDERS_PER_EVENT} orders in one event: sent at the next minute"
                if why is None:
                    sent += 1
                    why = self.router.send(command, self.holdings(), self.system.record().expected_positions())
                if why is None:
                    self.counts.sent += 1
                    continue
                self.counts.refused += 1
                self.algorithm.log(f"order {command.order_id} not sent: {why}")
                account = self.account(market)
                rejected = self.pipeline.on_reject(command.order_id, why, self.quote, now, account)
                self._book_events(rejected, now)
                queue += rejected.commands
            elif isinstance(command, CancelOrder):
                if not self.router.cancel(command.order_id, now):
                    account = self.account(market)
                    gone = self.pipeline.on_cancel_confirmed(command.order_id, self.quote, now, account)
                    self._book_events(gone, now)
                    queue += gone.commands
            elif isinstance(command, AlertMessage):
                self.alert(now, command.level, command.title, command.body)

    def _book_events(self, result: StepResult, now: datetime) -> None:
        for trade in result.closed:
            self._closed(trade, now)

    # ------------------------------------------------------------------ order events

    def on_order_event(self, event: OrderEvent) -> None:
        self._serial(lambda: self._order_event(event))

    def _order_event(self, event: OrderEvent) -> None:
        order = self.algorithm.transactions.get_order_by_id(event.order_id)
        if order is not None and order.type == OrderType.OPTION_EXERCISE:
            self._exercise_event(event)
            return
        now = self.now()
        market = self.light_snapshot(now)
        for happened in self.router.translate(event):
            account = self.account(market)
            if isinstance(happened, LegFilled):
                self.counts.filled += 1
                owner = self._owner(happened.fill.structure_id)
                self.fees[owner] = self.fees.get(owner, 0.0) + happened.fill.fees
                result = self.pipeline.on_fill(happened.order_id, happened.fill, self.quote, account)
            elif isinstance(happened, OrderCanceled):
                result = self.pipeline.on_cancel_confirmed(happened.order_id, self.quote, now, account)
            elif isinstance(happened, OrderRejected):
                self.counts.refused += 1
                result = self.pipeline.on_reject(happened.order_id, happened.reason, self.quote, now, account)
            self._absorb(result, market)
            self.save(now)

    def on_assignment(self, event: OrderEvent) -> None:
        """LEAN's `on_assignment_order_event`: the same event `on_order_event` had just before (module
        docstring); booked once, whichever arrives first. Only queued here, never run: LEAN gives this handler
        no protection (BrokerageTransactionHandler.EmitOptionNotificationEvents), and an exception raised in it
        would make LEAN skip the delivery itself; the next handler runs it."""
        self._inbox.append(lambda: self._exercise_event(event))

    def _exercise_event(self, event: OrderEvent) -> None:
        """An OptionExercise order's fill: the option's (expiry, exercise or assignment), or the delivery's."""
        if event.status != OrderStatus.FILLED or not event.fill_quantity:
            return
        key = (int(event.order_id), str(event.symbol))
        if key in self.exercises:
            return
        self.exercises.add(key)
        now = self.now()
        if event.symbol.security_type in OPTION_TYPES:
            self._option_exercised(event, now)
        else:
            self._delivered(event, now)

    def _option_exercised(self, event: OrderEvent, now: datetime) -> None:
        option = self.registry.remember_symbol(event.symbol)
        if option is None or option.kind is not ContractKind.OPTION:
            self.alert(now, AlertLevel.CRITICAL, "assignment", f"{event.symbol}: not a product the algorithm knows")
            return
        what = "assigned" if event.is_assignment else "exercised or expired"
        if not event.is_in_the_money:
            self.algorithm.log(f"{event.symbol} x{event.fill_quantity} expired out of the money: settled next session")
            return
        if option.settlement is Settlement.CASH:
            self.algorithm.log(f"cash settlement of {event.symbol} x{event.fill_quantity} ({what}): next session")
            return
        self.counts.exercised += 1
        underlying_symbol = event.symbol.underlying
        known = self.registry.remember_symbol(underlying_symbol)
        # fill_quantity is the option position's change (+1 when a short is assigned); what is delivered
        # follows from the position that went away (core/model.delivery).
        arrived = delivery(option, -int(event.fill_quantity), known.underlying_expiry if known else None)
        delivered, quantity = arrived if arrived is not None else (known, 0)
        price = float(self.algorithm.securities[underlying_symbol].price)
        market = self.light_snapshot(now)
        account = self.account(market)
        result, alerts = self.system.on_assignment(
            option, int(event.fill_quantity), delivered, quantity, price, market, account, self.quote, send=False
        )
        for found in alerts:
            self.alert(now, found.level, found.title, found.body)
        self._absorb(result, market)
        self.save(now)

    def _delivered(self, event: OrderEvent, now: datetime) -> None:
        """The delivery's own fill: LEAN holds it now, so it can be flattened if its market is open."""
        contract = self.registry.remember_symbol(event.symbol)
        if contract is None:
            return
        calendar = self.cme_calendar if product(contract.root).kind is AssetKind.FUTURE else self.equity_calendar
        if not calendar.is_open(now):
            self.algorithm.log(f"{event.symbol} {event.fill_quantity:+g} delivered: flattened at the next session")
            return
        market = self.light_snapshot(now)
        closes = self.safety.assignment.leftovers(self.pipeline.book, market)
        busy = self.safety.fills.working_structure_ids()
        result = self.pipeline.send(
            [c for c in closes if c.structure.id not in busy], market, self.account(market), self.quote
        )
        self._absorb(result, market)

    # ------------------------------------------------------------------ the broker connection

    def on_disconnect(self, reason: str = "LEAN reported a brokerage disconnect") -> None:
        self._serial(lambda: self._on_disconnect(reason))

    def _on_disconnect(self, reason: str) -> None:
        now = self.now()
        alerts, _ = self.safety.connection.on_disconnect(now, reason)
        for found in alerts:
            self.alert(now, found.level, found.title, found.body)
        self.save(now)

    def on_reconnect(self) -> None:
        self._serial(self._on_reconnect)

    def _on_reconnect(self) -> None:
        now = self.now()

        def agrees() -> bool:
            return bool(self.safety.fills.at_broker()) or self.reconcile(now)  # orders in flight: next session

        alerts, _ = self.safety.connection.on_reconnect(now, agrees)
        for found in alerts:
            self.alert(now, found.level, found.title, found.body)
        self.save(now)

    def on_brokerage_message(self, code: str, text: str, is_error: bool) -> None:
        self._serial(lambda: self._brokerage_message(code, text, is_error))

    def _brokerage_message(self, code: str, text: str, is_error: bool) -> None:
        """A broker error does not stop the algorithm (our message handler keeps LEAN's from doing so): it is a
        CRITICAL alert, and the book is compared with LEAN's holdings at the next quiet minute."""
        if is_error:
            self.alert(self.now(), AlertLevel.CRITICAL, "brokerage error", f"{code}: {text}")
            self.reconcile_due = True
        else:
            self.algorithm.log(f"brokerage: {code}: {text}")

    def on_action_required(self, text: str) -> None:
        """The broker needs a person (a session to log in again): as a disconnect, until LEAN reconnects."""
        self.on_disconnect(f"the broker needs a person: {text}")

    # ------------------------------------------------------------------ the end of the day and of the run

    def end_of_day(self) -> None:
        self._serial(self._end_of_day)

    def _end_of_day(self) -> None:
        """The daily summary (one alert, INFO) and the state saved."""
        now = self.now()
        market = self.last_snapshot or self.light_snapshot(now)
        view = self.system.book_view(market)
        shocked = stress_book(view, market, self.settings)
        text = self.safety.journal.daily_summary(view, self.account(market), self.safety.alerts.held_back, shocked)
        self.alert(now, AlertLevel.INFO, "daily summary", text)
        self.save(now)

    def self_check(self) -> str:
        """One line to grep after a LEAN backtest: the book against LEAN's holdings, the orders, and each
        invariant the replay checks that LEAN's run can show (issue #15's self-check)."""
        now = self.now()  # options past their expiry day are the settlement's, as in reconciliation
        held = {c: q for c, q in self.holdings().items() if not expired_by(c, now)}
        intended = {c: q for c, q in self.pipeline.book.positions().items() if not expired_by(c, now)}
        working = len(self.safety.fills.working())
        differs = sorted(
            f"{describe(c)} book {intended.get(c, 0):+d} LEAN {held.get(c, 0):+d}"
            for c in set(held) | set(intended)
            if held.get(c, 0) != intended.get(c, 0)
        )
        naked = [c for c, q in held.items() if c.kind is ContractKind.OPTION and q < min(intended.get(c, 0), 0)]
        invariants = {
            "book differs from LEAN's holdings": len(differs),
            "short options nobody meant to hold": len(naked),
            "reconciliation differences during the run": self.counts.reconciliation_differences,
            "orders still working at the end": working,
        }
        c = self.counts
        counts = f"orders sent {c.sent}, fills {c.filled}, refused {c.refused}, exercises booked {c.exercised}"
        listed = ", ".join(f"{name} {n}" for name, n in invariants.items())
        failed = [name for name, n in invariants.items() if n]
        if not failed:
            return f"SELF-CHECK PASSED: {counts}; invariants: {listed}"
        detail = "; ".join(differs[:5])
        return (
            f"SELF-CHECK FAILED: {', '.join(failed)}{f' ({detail})' if detail else ''}; {counts}; invariants: {listed}"
        )

    def end_of_algorithm(self) -> None:
        self._serial(self._end_of_algorithm)

    def _end_of_algorithm(self) -> None:
        """The run's last lines: the summary, the state saved, the self-check."""
        self.algorithm.log(self.final_summary())
        self.save(self.now())
        self.algorithm.log(self.self_check())

    def order_outside(self, what: str) -> None:
        """An order placed at the broker outside the algorithm (lean_bridge/messages)."""
        body = f"{what}: not adopted; if it fills, reconciliation halts trading until a person looks"
        self._serial(lambda: self.alert(self.now(), AlertLevel.CRITICAL, "order placed outside the algorithm", body))

    def final_summary(self) -> str:
        pnl = sum(t.pnl for t in self.closed)
        by: dict[str, float] = {}
        for trade in self.closed:
            by[trade.strategy] = by.get(trade.strategy, 0.0) + trade.pnl
        parts = ", ".join(f"{k} {v:+,.0f}" for k, v in sorted(by.items()))
        state = self.safety.state.state.value
        return f"final: {len(self.closed)} closed trades, P&L before fees {pnl:+,.2f} ({parts}); trading state {state}"
