"""The trading system as every shell runs it: the enabled strategies, the risk manager and the safety systems
built by their own factories and wired around one pipeline, with what is saved of them.

The LEAN shell (lean_bridge/runtime.py) and the replay (replay/engine.py) both build this, so they wire the
identical set (DESIGN.md "Layers"); each supplies its own calendars, alert sink and store. No I/O here: the
store is a port.
"""

from __future__ import annotations

from datetime import datetime

import risk
import safety
import strategies
from core.book_view import BookView
from core.calendar import Calendars
from core.model import AccountState, Contract, MarketSnapshot
from core.pipeline import Pipeline, StepResult
from core.ports import AlertLevel, AlertMessage, AlertSink, Calendar, EventCalendar, Quote, Store
from core.settings import Settings
from risk.events import CsvEventCalendar, EventFileError, parse_event_csv
from risk.manager import RiskManager
from risk.state import RiskState
from safety import SafetySystems
from safety.assignment import AssignmentEvent
from safety.persistence import TradingRecord, ledger_from, reconcile, restore, save, tracker_orders

STATE_KEY = "trading_state"
__all__ = ["STATE_KEY", "EventFileError", "TradingSystem", "read_events", "restored"]


def read_events(text: str, source: str) -> CsvEventCalendar:
    """An events file (`root,date,kind[,amount]`: risk/events) for a shell that reads one; raises
    EventFileError naming the bad line."""
    return parse_event_csv(text, source)


class TradingSystem:
    def __init__(
        self,
        settings: Settings,
        calendars: Calendars,
        equity_calendar: Calendar,
        cme_calendar: Calendar,
        sink: AlertSink,
        saved: TradingRecord | None = None,
        peak: float = 0.0,
        events: EventCalendar | None = None,
    ) -> None:
        """Fresh, or rebuilt from a restored record (as a restart of the process does). `events` is the
        shell's source of earnings and ex-dividend dates: the risk manager's events rule and the assignment
        check read it (without one, no short call on a dividend payer opens: risk/events)."""
        self.settings = settings
        self.events = events
        built, self.futures = strategies.build(settings, calendars)
        self.safety: SafetySystems = safety.build(
            settings, equity_calendar, cme_calendar, sink, event_calendar=events, state=saved.state if saved else None
        )
        self.risk: RiskManager = risk.build(settings, equity_calendar, events)
        self.peak = peak
        self.in_flight = list(saved.orders) if saved is not None else []  # orders to resume (resume())
        if saved is not None:
            self.safety.checks.daily = saved.daily
            self.risk.state = RiskState.from_dict(saved.risk) if saved.risk else RiskState()
            self.peak = max(saved.peak_net_liq, 0.0) or peak
            self.safety.performance = ledger_from(saved, settings)  # win rates keep counting across restarts
        self.pipeline = Pipeline(
            settings,
            equity_calendar,
            built,
            self.risk,
            self.safety.checks,
            self.safety.fills,
            self.safety.assignment,
            book=saved.book if saved else None,
            extra_manage=self.futures.expiry_close,  # rolls held futures (hedges), whatever strategy holds them
            hedge=self.futures.hedge,
        )

    def use_events(self, events: EventCalendar | None) -> None:
        """A new reading of the shell's event source (the LEAN shell re-reads its events file each session)."""
        self.events = events
        self.risk.events = events
        self.safety.assignment.events = events

    # ------------------------------------------------------------------ the account

    def book_view(self, snapshot: MarketSnapshot) -> BookView:
        return BookView.build(self.pipeline.book.open_structures(), snapshot, self.settings)

    def account(self, net_liq: float, view: BookView, now: datetime) -> AccountState:
        """The account as the rules see it: net liq as the shell's broker says, the session's starting value
        and the peak as kept here, and the buying power in use by core/margin (not the broker's). When a
        close-all drawdown pause has run its course, the peak starts again from net liq now (said in an alert):
        entries resume, as RULEBOOK's "no entries for 10 trading days" means."""
        if self.risk.end_pause(now):
            body = f"drawdown now measured from net liq {net_liq:,.0f} (the peak was {self.peak:,.0f}); entries resume"
            self.safety.alerts.send(now, AlertLevel.WARNING, "drawdown pause over", body)
            self.peak = net_liq
        self.peak = max(self.peak, net_liq)
        start = self.safety.checks.daily.start_of_day_net_liq or net_liq
        return AccountState(net_liq, start, self.peak, view.bp_in_use)

    # ------------------------------------------------------------------ what is saved

    def record(self) -> TradingRecord:
        return TradingRecord(
            book=self.pipeline.book,
            orders=tracker_orders(self.safety.fills),
            daily=self.safety.checks.daily,
            state=self.safety.state,
            risk=self.risk.state.to_dict(),
            peak_net_liq=self.peak,
            performance=self.safety.performance.to_dict(),
        )

    def reset_peak(self, net_liq: float, now: datetime, why: str) -> None:
        """A person's decision (the `drawdown_reset_peak` parameter): drawdown is measured from net liq now."""
        body = f"{why}: drawdown now measured from net liq {net_liq:,.0f} (the peak was {self.peak:,.0f})"
        self.safety.alerts.send(now, AlertLevel.WARNING, "drawdown peak reset", body)
        self.peak = net_liq

    def save(self, store: Store, now: datetime, key: str = STATE_KEY) -> None:
        save(store, key, self.record(), now)

    def resume(self, quote: Quote, now: datetime, account: AccountState) -> StepResult:
        """The orders that were in flight when the state was saved, settled from their fills (core/pipeline
        and safety/fills `resume`). The shell calls it once, after it has cancelled every open order."""
        orders, self.in_flight = self.in_flight, []
        return self.pipeline.resume(orders, quote, now, account)

    def on_assignment(
        self,
        option: Contract,
        option_quantity: int,
        delivered: Contract | None,
        delivered_quantity: int,
        price: float,
        snapshot: MarketSnapshot,
        account: AccountState,
        quote: Quote,
        send: bool = True,
    ) -> tuple[StepResult, list[AlertMessage]]:
        """An assignment or exercise the broker reported: safety/assignment books it and decides (flatten the
        delivery, close the rest of the structure, a CRITICAL alert), and its closes go through the safety
        gate. `send=False` when the market is closed (a delivery after an expiry's close): the closes then go
        out at the next step, from the assignment check's standing rule for what an assignment left."""
        event = AssignmentEvent(snapshot.time, option, option_quantity, delivered, delivered_quantity, price)
        intents, alerts, trades = self.safety.assignment.on_assignment(event, self.pipeline.book, snapshot)
        result = self.pipeline.send(intents if send else [], snapshot, account, quote)
        result.closed.extend(trades)
        return result, alerts

    def reconcile(self, holdings: dict[Contract, int], now: datetime) -> list[AlertMessage]:
        """The book against the broker's holdings. On a difference the book is rebuilt from the holdings
        (orphans adopted), trading HALTS until a person looks, and the differences come back as alerts."""
        record = self.record()
        alerts = reconcile(record, holdings, now)
        if alerts:
            self.pipeline.book = record.book
        return alerts


def restored(
    settings: Settings,
    calendars: Calendars,
    equity_calendar: Calendar,
    cme_calendar: Calendar,
    sink: AlertSink,
    store: Store,
    holdings: dict[Contract, int],
    now: datetime,
    peak: float = 0.0,
    key: str = STATE_KEY,
    events: EventCalendar | None = None,
) -> tuple[TradingSystem, list[AlertMessage]]:
    """The system rebuilt from the store's saved state, reconciled with the broker's holdings (a corrupt
    state or any difference halts it: safety/persistence)."""
    saved, alerts = restore(store, key, holdings, now, settings)
    return TradingSystem(settings, calendars, equity_calendar, cme_calendar, sink, saved, peak, events), alerts
