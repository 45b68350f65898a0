"""What a rule answers about one proposal, and what it looks at."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from core.book_view import BookView
from core.model import AccountState, MarketSnapshot, OrderIntent
from core.ports import Calendar, EventCalendar
from core.settings import Settings
from core.stress import StressResult
from core.valuation import StructureView

from risk.state import RiskState


@dataclass(frozen=True, slots=True)
class Reduce:
    """Approve a smaller quantity; `note` says why."""

    quantity: int
    note: str


@dataclass(frozen=True, slots=True)
class Refuse:
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Note:
    """Approve, with something a person should know (a theta outside its target band)."""

    text: str


Verdict = Reduce | Refuse | Note | None  # None: the rule has nothing to say


@dataclass(frozen=True, slots=True)
class Candidate:
    """A proposal being reviewed: its intent and its valuation at the quantity under review."""

    intent: OrderIntent
    view: StructureView

    @property
    def quantity(self) -> int:
        return self.intent.quantity

    def with_quantity(self, quantity: int) -> Candidate:
        """The same proposal at another quantity."""
        view = scaled(self.view, quantity)
        intent = dataclasses.replace(self.intent, quantity=quantity, structure=view.structure)
        return Candidate(intent, view)


def scaled(view: StructureView, quantity: int) -> StructureView:
    """The valuation at another quantity: BP, P&L and Greeks scale linearly with it."""
    factor = quantity / view.structure.quantity
    return dataclasses.replace(
        view,
        structure=dataclasses.replace(view.structure, quantity=quantity),
        pnl=view.pnl * factor,
        bp=view.bp * factor,
        delta_1pct=view.delta_1pct * factor,
        vega=view.vega * factor,
        theta=view.theta * factor,
    )


@dataclass(frozen=True, slots=True)
class ReviewContext:
    settings: Settings
    snapshot: MarketSnapshot
    account: AccountState
    book: BookView
    state: RiskState
    today: date
    calendar: Calendar | None = None  # the equity calendar, for trading-day windows
    events: EventCalendar | None = None
    stress: StressResult | None = None  # `book` on the stress grid, when the caller has it (risk/stress)
