"""The ports (DESIGN.md "Ports"): what the pipeline calls, and what each shell supplies.

The core never imports a shell. The LEAN shell (lean_bridge/), the replay (replay/) and the tests
(tests/fakes/) each provide objects that satisfy these Protocols structurally; nothing inherits from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from core.book import OpenBook
from core.book_view import BookView
from core.model import (
    AccountState,
    Approval,
    Contract,
    Decision,
    Fill,
    MarketSnapshot,
    OrderIntent,
    Position,
    Refusal,
    Structure,
)
from core.model import (
    AlertLevel as AlertLevel,  # defined beside Decision; the ports speak of it
)

if TYPE_CHECKING:
    from core.orders import Command

Quote = Callable[[Contract], "tuple[float, float] | None"]  # (bid, ask) of a contract now, or None when unquoted

# ---------------------------------------------------------------------- called by the pipeline


class Book(Protocol):
    """The open structures and positions as the algorithm knows them (read-only to strategies)."""

    def open_structures(self, strategy: str | None = None) -> Sequence[Structure]: ...

    def positions(self) -> Sequence[Position]: ...

    def account(self) -> AccountState: ...


class Strategy(Protocol):
    """One strategy module. Pure: no clock reads, no globals, no I/O; every answer carries its reason."""

    name: str

    def entry_times(self, calendar: Calendar, day: date) -> Sequence[datetime]:
        """When on `day` the strategy wants to be asked for entries (exchange-aware datetimes)."""
        ...

    def propose(self, snapshot: MarketSnapshot, book: Book) -> Sequence[OrderIntent | Decision]:
        """New structures to open, or decisions saying why none."""
        ...

    def manage(self, structure: Structure, snapshot: MarketSnapshot) -> OrderIntent | None:
        """A close or adjustment of one open structure, or None to hold."""
        ...


@runtime_checkable
class TimedExit(Protocol):
    """A strategy that closes at a time of day (the 0DTE's 15:00, earlier on an early close): a shell that
    steps only at chosen times (the replay) steps then too."""

    def exit_time(self, day: date) -> datetime: ...


@runtime_checkable
class MinuteWatch(Protocol):
    """A strategy whose open structures are managed every minute, not only at the shells' management steps
    every `manage_interval_minutes`: the 0DTE (RULEBOOK: "a held 0DTE is checked every minute (a stop is a
    stop)"), whose whole life is hours and whose stop a quarter-hour late can cost several times the credit."""

    def watches_every_minute(self, structure: Structure) -> bool: ...


class RiskReviewer(Protocol):
    def review(
        self, intents: Sequence[OrderIntent], book: BookView, snapshot: MarketSnapshot, account: AccountState
    ) -> Sequence[Approval | Refusal]:
        """One answer per intent, reviewed in order against the book as it would be after the earlier
        approvals; an approval may carry a smaller quantity."""
        ...

    def manage(
        self, book: BookView, snapshot: MarketSnapshot, account: AccountState
    ) -> tuple[Sequence[OrderIntent], Sequence[Decision]]:
        """The closes the portfolio rules call for, and decisions for a person to look at."""
        ...


class SafetyGate(Protocol):
    """The last gate (safety/checks): trading state, market hours, data, risk per trade; daily limits."""

    def review(
        self,
        intents: Sequence[OrderIntent],
        snapshot: MarketSnapshot,
        account: AccountState,
        held: Mapping[str, Structure] | None = None,
    ) -> Sequence[Approval | Refusal]:
        """`held` maps open structure ids to structures, so a part (a covered call) is judged with its parent."""
        ...

    def evaluate(self, now: datetime, account: AccountState) -> Sequence[object]:
        """Apply the daily limits; returns the state transitions it made (for the log)."""
        ...

    def on_close(self, now: datetime, structure_id: str, pnl: float, account: AccountState) -> Sequence[object]: ...


class OrderTracker(Protocol):
    """Works orders to fills (safety/fills); answers every event with commands for the shell."""

    def submit(self, intent: OrderIntent, quote: Quote, now: datetime) -> list[Command]: ...

    def tick(self, quote: Quote, now: datetime) -> list[Command]: ...

    def on_fill(self, order_id: str, fill: Fill, quote: Quote) -> list[Command]: ...

    def on_cancel_confirmed(self, order_id: str, quote: Quote, now: datetime) -> list[Command]: ...

    def on_reject(self, order_id: str, reason: str, quote: Quote, now: datetime) -> list[Command]: ...

    def working_structure_ids(self) -> set[str]: ...

    def resume(self, orders: Sequence[Any], quote: Quote, now: datetime) -> list[Command]:
        """After a restart: the saved orders in flight, settled from their fills (nothing is live)."""
        ...


class AssignmentWatch(Protocol):
    def check(self, now: datetime, book: OpenBook, snapshot: MarketSnapshot) -> list[OrderIntent]: ...


# ---------------------------------------------------------------------- supplied by the shells


class Broker(Protocol):
    def submit_combo_limit(self, intent: OrderIntent) -> str:
        """Send one structure as one combo limit order; returns the broker's order id."""
        ...

    def cancel(self, order_id: str) -> None: ...

    def open_orders(self) -> Sequence[str]: ...

    def holdings(self) -> Sequence[Position]: ...


class Store(Protocol):
    """Text by key: LEAN's ObjectStore, a folder for the replay, a dict in tests."""

    def save(self, key: str, text: str) -> None: ...

    def load(self, key: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """An alert a safety system wants sent (the shell passes it to its AlertSink)."""

    level: AlertLevel
    title: str
    body: str


class AlertSink(Protocol):
    def send(self, level: AlertLevel, title: str, body: str) -> None: ...


class Calendar(Protocol):
    """Sessions and expiry rules for one market (core/calendar.ExchangeCalendar is the offline one)."""

    def is_session(self, day: date) -> bool: ...

    def open_close(self, day: date) -> tuple[datetime, datetime] | None: ...

    def is_holiday(self, day: date) -> bool: ...

    def early_closes(self, start: date, end: date) -> dict[date, time]: ...

    def next_session(self, day: date) -> date: ...

    def previous_session(self, day: date) -> date: ...

    def add_sessions(self, day: date, count: int) -> date: ...

    def is_open(self, moment: datetime) -> bool: ...

    def nth_weekday(self, year: int, month: int, weekday: int, n: int) -> date: ...

    def expiry_on_or_before(self, day: date) -> date: ...


class EventKind(StrEnum):
    EARNINGS = "earnings"
    EX_DIVIDEND = "ex_dividend"


class EventCalendar(Protocol):
    """Earnings dates of single stocks and ex-dividend dates and amounts of stocks and ETFs (an events file:
    written by `tasty metrics --write-events` live, from LEAN's factor files in the replay)."""

    @property
    def source(self) -> str:
        """Where the dates come from, for the reasons that cite it."""
        ...

    def events(self, root: str, start: date, end: date) -> Sequence[tuple[date, EventKind]]: ...

    def dividend(self, root: str, ex_date: date) -> float | None:
        """The cash dividend per share going ex on that date, if known."""
        ...

    def covers_dividends(self, root: str, day: date) -> bool:
        """Whether the source lists every ex-dividend date of `root` up to and including `day`: a day past
        what it vouches for is unknown, not free of dividends."""
        ...


class Clock(Protocol):
    """The only source of "now" for anything that is not handed a snapshot time."""

    def now(self) -> datetime: ...
