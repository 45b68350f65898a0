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
        """The same proposal at another quantity (BP, P&L and Greeks scale linearly with it)."""
        factor = quantity / self.intent.quantity
        view = dataclasses.replace(
            self.view,
            structure=dataclasses.replace(self.view.structure, quantity=quantity),
            pnl=self.view.pnl * factor,
            bp=self.view.bp * factor,
            delta_1pct=self.view.delta_1pct * factor,
            vega=self.view.vega * factor,
            theta=self.view.theta * factor,
        )
        intent = dataclasses.replace(self.intent, quantity=quantity, structure=view.structure)
        return Candidate(intent, view)


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
