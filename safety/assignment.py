"""The SimpleAssignmentCheck (RULEBOOK "Assignment"): keep shorts from being assigned, and clean up when one
is anyway. Future options are covered like equity options (both deliver).

Scheduled checks (the shell calls `check` at `assignment_check_time`, 15:00 ET, every day, and at
`index_expiry_check_time`, 15:30 ET, on expiry days, both as long before an early close as before a regular
one: `check_times`; the rules read the clock they are given):
- physically settled shorts (equity, ETF and future options) in the money with at most 1 DTE → close the
  structure, from `assignment_check_time` on;
- cash-settled index shorts (SPX, SPXW, XSP, ...) in the money by more than `index_itm_close_threshold`
  (0.5%) of the underlying on their expiry day → close the structure, from `index_expiry_check_time` on;
- short American calls in the money on the session before an ex-dividend date, when their extrinsic value
  is below the dividend (early exercise pays the holder) → close them, from `assignment_check_time` on (the
  holder decides on the day's last prices). The dates and amounts come from the event source (risk/events
  refuses to open such calls where it has none).
A close takes the shorts at risk with the legs that only cover them, nothing more (RULEBOOK): per right and
expiry the long legs cover the shorts nearest the money first (how margin pairs them, core/margin); a
short's covering longs close with it (a spread's wing), a long of another expiry (an IPMCC's LEAP) is not a
cover of the weekly call alone and stays, and so does what is not at risk (a condor's other side, an LT112's
spread when only its naked puts are in the money). When every leg is at risk or covers one, the whole
structure closes. Closes are safety closes.

An actual assignment or exercise (`on_assignment`): the delivered stock or future is flattened at once, the
rest of the structure is closed, the structure's loss is booked at the assignment's value, and a CRITICAL
alert says what happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from core.book import OpenBook, part_of
from core.expiry import ASSIGNED_TAG, DELIVERED_PREFIX, assign, intrinsic_value
from core.model import Contract, ContractKind, Found, IntentAction, MarketSnapshot, OrderIntent, Right, Structure
from core.pipeline import ClosedTrade
from core.ports import AlertLevel, Calendar, EventCalendar, EventKind
from core.ports import AlertMessage as AssignmentAlert
from core.products import ExerciseStyle, Settlement
from core.settings import Settings
from core.valuation import describe, mark_leg

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_CLOSE = time(16, 0)  # the equity and index options' regular close, ET


@dataclass(frozen=True, slots=True)
class AssignmentEvent:
    """The broker assigned (or exercised) an option: `option_quantity` is the signed change of the option
    position (+1 when a short is assigned), `delivered` what arrived and how much (signed), at `price`."""

    time: datetime
    option: Contract
    option_quantity: int
    delivered: Contract | None
    delivered_quantity: int
    price: float


def underlying_price(contract: Contract, snapshot: MarketSnapshot) -> float | None:
    chain = snapshot.chains.get(contract.root)
    if chain is not None and math.isfinite(chain.underlying_price) and chain.underlying_price > 0:
        return chain.underlying_price
    price = snapshot.prices.get(contract.underlying)
    return price if price is not None and price > 0 else None


class AssignmentCheck:
    def __init__(self, settings: Settings, calendar: Calendar, events: EventCalendar | None = None) -> None:
        self.settings = settings
        self.calendar = calendar
        self.events = events

    def check_times(self, day: date) -> tuple[datetime, datetime]:
        """(the daily check, the index expiry-day check) on `day`: `assignment_check_time` and
        `index_expiry_check_time` (15:00 and 15:30 ET), or as long before an early close as they are before a
        regular one (12:00 and 12:30 on a 13:00 close). At 15:00 the market is shut on an early close, and
        RULEBOOK's "each day at 15:00" would skip the very Fridays (after Thanksgiving) that weeklies expire on."""
        s = self.settings
        regular = (
            datetime.combine(day, s.assignment_check_time, tzinfo=NEW_YORK),
            datetime.combine(day, s.index_expiry_check_time, tzinfo=NEW_YORK),
        )
        session = self.calendar.open_close(day)
        normal_close = datetime.combine(day, REGULAR_CLOSE, tzinfo=NEW_YORK)
        if session is None or session[1] >= normal_close:
            return regular
        early = normal_close - session[1]
        return regular[0] - early, regular[1] - early

    def check(self, now: datetime, book: OpenBook, snapshot: MarketSnapshot) -> list[OrderIntent]:
        """Safety closes for structures at risk of assignment now (module docstring)."""
        local = now.astimezone(NEW_YORK)
        today = local.date()
        out: list[OrderIntent] = []
        for structure in book.open_structures():
            at_risk = self._risk(structure, local, today, snapshot)
            if at_risk:
                indexes, reason = sorted(i for i, _ in at_risk), at_risk[0][1]
                closing = with_their_covers(structure, indexes)
                if len(closing) == len(structure.legs):
                    out.append(close_whole(structure, snapshot, f"assignment: {reason}"))
                else:
                    part = part_of(structure, closing, "at-risk")
                    out.append(close_whole(part, snapshot, f"assignment: {reason} (the rest stays)"))
        return out + self.leftovers(book, snapshot)

    def _risk(
        self, structure: Structure, local: datetime, today: date, snapshot: MarketSnapshot
    ) -> list[tuple[int, str]]:
        """The short legs at risk now, each with why (a short that cannot be checked is at risk)."""
        s = self.settings
        daily_at, index_at = self.check_times(today)
        out: list[tuple[int, str]] = []
        for i, leg in enumerate(structure.legs):
            c = leg.contract
            if leg.ratio >= 0 or c.kind is not ContractKind.OPTION or c.expiry is None or c.strike is None:
                continue
            price = underlying_price(c, snapshot)
            if price is None:
                out.append((i, f"short {describe(c)} cannot be checked: no underlying price"))
                continue
            itm = intrinsic_value(c, price)
            days = (c.expiry - today).days
            if c.settlement is Settlement.CASH:
                if days == 0 and local >= index_at and itm > s.index_itm_close_threshold * price:
                    limit = s.index_itm_close_threshold
                    why = f"short {describe(c)} is {itm / price:.2%} in the money on expiry day (over {limit:.1%})"
                    out.append((i, why))
                continue
            if days <= 1 and itm > 0 and local >= daily_at:
                out.append(
                    (i, f"short {describe(c)} is in the money ({itm:.2f}) with {days} DTE and settles physically")
                )
                continue
            american_call = c.right is Right.CALL and c.style is ExerciseStyle.AMERICAN
            if american_call and itm > 0 and self.events is not None and local >= daily_at:
                reason = self._dividend_risk(c, itm, today, snapshot)
                if reason:
                    out.append((i, reason))
        return out

    def _dividend_risk(self, c: Contract, itm: float, today: date, snapshot: MarketSnapshot) -> str | None:
        assert self.events is not None
        next_session = self.calendar.next_session(today)
        for day, kind in self.events.events(c.underlying, next_session, next_session):
            if kind is not EventKind.EX_DIVIDEND:
                continue
            dividend = self.events.dividend(c.underlying, day)
            mid = mid_of(c, snapshot)
            if dividend is None or mid is None:
                return (
                    f"short {describe(c)} is in the money before the {day} ex-dividend and cannot be priced against it"
                )
            extrinsic = mid - itm
            if extrinsic < dividend:
                return (
                    f"short {describe(c)} extrinsic {extrinsic:.2f} is below the {dividend:.2f} dividend going ex {day}"
                )
        return None

    def on_assignment(
        self, event: AssignmentEvent, book: OpenBook, snapshot: MarketSnapshot
    ) -> tuple[list[OrderIntent], list[AssignmentAlert], list[ClosedTrade]]:
        """Book it (core/expiry.assign: the assigned units leave each structure that held them at intrinsic
        value, the delivery enters the book), then flatten the delivery and close the rest of each structure
        (module docstring)."""
        verb = "assigned" if event.option_quantity > 0 else "exercised"
        what = f"{describe(event.option)} {verb} x{abs(event.option_quantity)}"
        done = assign(
            book,
            event.option,
            event.option_quantity,
            event.delivered,
            event.delivered_quantity,
            event.price,
            event.time,
        )
        intents: list[OrderIntent] = []
        if done.delivered is not None and event.delivered is not None:
            reason = f"assignment: flatten {describe(event.delivered)} delivered by {what}"
            intents.append(close_whole(done.delivered, snapshot, reason))
        for rest in done.remainders:
            intents.append(close_whole(rest, snapshot, f"assignment: close the rest of {rest.strategy} {rest.id}"))
        held = "".join(f"; {t.strategy} {t.structure.parent}: {t.pnl:+,.2f} booked" for t in done.trades)
        body = (
            f"{what} at {event.price:g}"
            + (held or "; no structure held it")
            + ("; closing the rest" if done.remainders else "")
            + (f"; flattening {event.delivered_quantity:+d} {describe(event.delivered)}" if event.delivered else "")
        )
        return intents, [AssignmentAlert(AlertLevel.CRITICAL, "assignment", body)], list(done.trades)

    def leftovers(self, book: OpenBook, snapshot: MarketSnapshot) -> list[OrderIntent]:
        """Closes for what an assignment left behind and is still open: a delivered stock or future, and the
        rest of an assigned structure. `on_assignment` closes them at once; this keeps closing them at every
        step (after a restart, a refused or unfilled close), so no delivery is ever held overnight by choice."""
        out: list[OrderIntent] = []
        for structure in book.open_structures():
            if structure.id.startswith(DELIVERED_PREFIX):
                out.append(close_whole(structure, snapshot, f"assignment: flatten {structure.tag}"))
            elif structure.tag == ASSIGNED_TAG:
                out.append(close_whole(structure, snapshot, f"assignment: close the rest of {structure.id}"))
        return out


def with_their_covers(structure: Structure, shorts: list[int]) -> list[int]:
    """The legs to close with the short legs `shorts`: each short's covering longs (module docstring)."""
    covers: dict[int, list[int]] = {}
    for right in Right:
        for expiry in {leg.contract.expiry for leg in structure.legs if leg.contract.right is right}:
            side = [
                i
                for i, leg in enumerate(structure.legs)
                if leg.contract.right is right and leg.contract.expiry == expiry
            ]
            nearest_first = (
                (lambda i: structure.legs[i].contract.strike or 0.0)
                if right is Right.CALL
                else (lambda i: -(structure.legs[i].contract.strike or 0.0))
            )
            short_units = [
                i
                for i in sorted(side, key=nearest_first)
                if structure.legs[i].ratio < 0
                for _ in range(-structure.legs[i].ratio)
            ]
            long_units = [
                i
                for i in sorted(side, key=nearest_first)
                if structure.legs[i].ratio > 0
                for _ in range(structure.legs[i].ratio)
            ]
            for short, long_ in zip(short_units, long_units, strict=False):
                covers.setdefault(short, []).append(long_)
    closing = set(shorts)
    for short in shorts:
        closing.update(covers.get(short, []))
    return sorted(closing)


def mid_of(contract: Contract, snapshot: MarketSnapshot) -> float | None:
    marked = mark_leg(contract, snapshot)
    return marked.value.mid if isinstance(marked, Found) else None


def close_whole(structure: Structure, snapshot: MarketSnapshot, reason: str) -> OrderIntent:
    """A safety close of a whole structure, limit at its current net mid when it can be marked (the fill
    tracker reprices toward natural)."""
    mid = sum(leg.ratio * (mid_of(leg.contract, snapshot) or 0.0) for leg in structure.legs)
    return OrderIntent(IntentAction.CLOSE, structure, structure.quantity, round(mid, 4), reason, safety=True)
