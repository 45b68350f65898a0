"""The SimpleOrderFillCheck (RULEBOOK "Fills"): every structure goes out as one combo limit order, and
whatever the broker does with it, every leg ends in ratio or flat.

- An order starts at the structure's net mid, rounded to the product's tick on the passive side, and is
  repriced toward the natural price in at most `fill_max_reprices` steps, never past natural. Each attempt
  lives `fill_timeout_seconds` of algorithm time (in a minute backtest the next bar); then it is cancelled,
  and the next attempt goes out only when the cancel is confirmed. After the last attempt the rest is
  cancelled. Whole structures that filled are kept, however many of the N asked for.
- Nothing sleeps or waits: the shell calls `submit`, `on_fill`, `on_cancel_confirmed`, `on_reject` and
  `tick` (every bar or scheduled minute), and the tracker answers with commands for the shell to carry out.
- Settling: whenever nothing of a structure's order is live at the broker, its legs are compared from the
  actual fills of the order and of its orphan closes. Legs out of ratio are brought back to whole units,
  only ever by closing: an opening order closes the excess it bought or sold; a closing order finishes
  closing the unit it had started to close (so no naked short is left behind). The orphan closes are sized
  from those fills, so they cannot be larger than the position they close; they go out at once at natural
  as safety closes (sent even when HALTED), with a CRITICAL alert, and are retried until filled.
- A fill that arrives after its attempt was cancelled (a cancel that did not act, a known plugin fault)
  stops whatever is live for that structure, and it is settled again once everything is quiet. Cancels that
  report nothing are sent again each timeout, with a WARNING. A cancel nobody asked for (the broker's, LEAN's
  at an option's expiry) ends the attempt as a confirmed one does.
- A safety order the broker or the shell refuses is sent again at the next tick, never inside the event that
  refused it; after `MAX_REFUSALS` refusals in a row it is abandoned with a CRITICAL alert and listed in
  `abandoned`, for the shell to reconcile the book with the broker (the refusal that stands is usually a
  difference between them).

Signs: fills are signed contracts (+ bought, − sold); an order's `side` is +1 to open (trade the legs as
their ratios say) and −1 to close (the opposite trades); prices are per unit of the structure as written,
+ debit (so closing a credit structure at −2.30 pays 2.30).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.model import Fill, IntentAction, Leg, OrderIntent, Structure, limit_tick, quote_is_usable
from core.orders import CancelOrder, Command, Filled, SubmitOrder
from core.ports import AlertLevel, Quote
from core.ports import AlertMessage as Alert
from core.settings import Settings
from core.valuation import describe

NEW_YORK = ZoneInfo("America/New_York")

# ---------------------------------------------------------------------------------------------- commands


class Phase(StrEnum):
    WORKING = "working"  # an attempt is live at the broker
    CANCELLING = "cancelling"  # its cancel was sent; waiting for the confirmation
    PAUSED = "paused"  # between attempts, waiting for its orphan closes to finish before settling
    WAITING_QUOTES = "waiting for quotes"  # could not be priced; an orphan close retries every tick
    RETRY = "refused, sent again at the next tick"  # a safety order the broker (or the shell) refused
    DONE = "done"


LIVE = (Phase.WORKING, Phase.CANCELLING)
MAX_REFUSALS = 5


@dataclass
class TrackedOrder:
    """One structure's order through all its attempts (or one orphan close, with a parent)."""

    key: str
    structure: Structure
    side: int
    quantity: int  # structures asked for
    safety: bool
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    filled: dict[int, int] = field(default_factory=dict)  # leg index → signed contracts filled, all attempts
    cost: float = 0.0  # Σ signed contracts × price
    attempt: int = 0
    order_id: str = ""
    attempt_quantity: int = 0
    attempt_filled: dict[int, int] = field(default_factory=dict)  # the live attempt's own fills
    limit_price: float = 0.0
    deadline: datetime | None = None
    phase: Phase = Phase.WORKING
    last_attempt: bool = False
    superseded: bool = False  # an orphan close sized on stale fills: stop it, settle again
    cancel_sent: int = 0
    units_reported: int = 0
    refusals: int = 0  # refusals in a row of a safety order (reset by a fill)

    def leg_target(self, index: int) -> int:
        """Signed contracts per unit of the structure for a leg, in this order's direction."""
        return self.structure.legs[index].ratio * self.side


class Tracked(dict[str, TrackedOrder]):
    """The tracker's orders by key, every one ever sent (a late fill still finds its order), and beside them
    the keys that may not be DONE: `unfinished` reads only those, in the dict's order. A DONE order never
    leaves DONE (a key is reused by a new order, which is stored again), so dropping DONE keys as they are
    met is safe. Scanning every order of the run at every minute made a long replay quadratic."""

    def __init__(self) -> None:
        super().__init__()
        self._position: dict[str, int] = {}  # key → its place in the dict (a replaced value keeps it)
        self._open: set[str] = set()

    def __setitem__(self, key: str, order: TrackedOrder) -> None:
        super().__setitem__(key, order)
        self._position.setdefault(key, len(self._position))
        self._open.add(key)

    def unfinished(self) -> list[TrackedOrder]:
        """The orders not DONE, in the order `values()` would give them."""
        self._open = {k for k in self._open if self[k].phase is not Phase.DONE}
        return [self[k] for k in sorted(self._open, key=self._position.__getitem__)]


class FillTracker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.orders: dict[str, TrackedOrder] = {}  # by broker order id (one per attempt)
        self.tracked = Tracked()  # by key
        self._counter = 0
        self._prefix = ""  # set when orders are resumed after a restart, so no order id is used twice
        self.abandoned: list[str] = []  # safety orders given up after MAX_REFUSALS (the shell reconciles)

    # ------------------------------------------------------------------ entry points

    def submit(self, intent: OrderIntent, quote: Quote, now: datetime) -> list[Command]:
        side = 1 if intent.action is IntentAction.OPEN else -1
        key = f"{intent.structure.id}:{'open' if side > 0 else 'close'}"
        existing = self.tracked.get(key)
        if existing is not None and existing.phase is not Phase.DONE:
            return [Alert(AlertLevel.WARNING, "duplicate order", f"{key} already has an order working")]
        order = TrackedOrder(key, intent.structure, side, intent.quantity, intent.safety)
        self.tracked[key] = order
        return self._send(order, quote, now)

    def on_fill(self, order_id: str, fill: Fill, quote: Quote) -> list[Command]:
        order = self.orders.get(order_id)
        if order is None:
            return [
                Alert(
                    AlertLevel.CRITICAL,
                    "fill for an unknown order",
                    f"{order_id}: {describe(fill.contract)} {fill.quantity:+d}",
                )
            ]
        index = next((i for i, leg in enumerate(order.structure.legs) if leg.contract == fill.contract), None)
        if index is None:
            return [
                Alert(
                    AlertLevel.CRITICAL,
                    "fill for a contract not in the order",
                    f"{order_id}: {describe(fill.contract)}",
                )
            ]
        order.filled[index] = order.filled.get(index, 0) + fill.quantity
        order.cost += fill.quantity * fill.price
        order.refusals = 0
        out = self._report_units(order)
        if order_id == order.order_id and order.phase in LIVE:
            order.attempt_filled[index] = order.attempt_filled.get(index, 0) + fill.quantity
            if self._attempt_complete(order):
                out.extend(self._attempt_over(order, quote, fill.time))  # filled all it asked (or more)
            return out
        body = f"{order.structure.id}: {order_id} filled {describe(fill.contract)} {fill.quantity:+d} after it ended"
        out.append(Alert(AlertLevel.CRITICAL, "fill after cancel", body))
        root = self._root(order)
        out.extend(self._stop_live(root, fill.time))
        out.extend(self._settle(root, quote, fill.time))
        return out

    def on_cancel_confirmed(self, order_id: str, quote: Quote, now: datetime) -> list[Command]:
        """The attempt is out of the market by a cancel: the one asked for, or one nobody asked for (the
        broker's, LEAN's at an option's expiry), which ends the attempt as well (it would otherwise wait in
        WORKING and then for a confirmation that never comes)."""
        order = self.orders.get(order_id)
        if order is None or order.order_id != order_id or order.phase not in LIVE:
            return []
        out: list[Command] = []
        if order.phase is Phase.WORKING:
            body = f"{order.structure.id}: order {order_id} cancelled by the broker"
            out.append(Alert(AlertLevel.WARNING, "order cancelled", body))
        return out + self._attempt_over(order, quote, now)

    def on_reject(self, order_id: str, reason: str, quote: Quote, now: datetime) -> list[Command]:
        """A rejected structure is not sent again. A safety order (an orphan close, an assignment's flattening)
        always is, but at the next tick, never inside the event that refused it: a refusal that stands (the
        broker does not hold the delivery yet) would otherwise be answered by the same order for ever."""
        order = self.orders.get(order_id)
        if order is None or order.order_id != order_id or order.phase not in LIVE:
            return []
        out: list[Command] = [Alert(AlertLevel.WARNING, "order rejected", f"{order.structure.id}: {reason}")]
        if not order.safety:
            order.last_attempt = True
            return out + self._attempt_over(order, quote, now)
        if order.parent is not None and order.superseded:
            return out + self._attempt_over(order, quote, now)
        order.refusals += 1
        if order.refusals >= MAX_REFUSALS:
            order.phase, order.deadline = Phase.DONE, None
            self.abandoned.append(order.key)
            body = (
                f"{order.structure.id}: refused {order.refusals} times ({reason}); given up: the book and the "
                "broker are compared, and a difference halts trading until a person looks"
            )
            return [Alert(AlertLevel.CRITICAL, "safety order abandoned", body)]
        order.phase, order.deadline = Phase.RETRY, None
        return out

    def resume(self, orders: Sequence[TrackedOrder], quote: Quote, now: datetime) -> list[Command]:
        """After a restart: the orders that were in flight, none of them live any more (the shell cancels
        every open order before this), settled from the fills they had, as after a confirmed cancel: legs out
        of ratio are closed, the rest is repriced or finished. Orphan closes count by their fills; what they
        still had to close is sized again by their structure."""
        self._prefix = f"{now.astimezone(NEW_YORK):%Y%m%d%H%M%S}-"
        for order in orders:
            order.deadline = None
            order.phase = Phase.DONE if order.parent is not None else Phase.PAUSED
            self.tracked[order.key] = order
        out: list[Command] = []
        for order in orders:
            if order.parent is None:
                out += self._settle(order, quote, now)
        return out

    def tick(self, quote: Quote, now: datetime) -> list[Command]:
        out: list[Command] = []
        timeout = timedelta(seconds=self.settings.fill_timeout_seconds)
        today = now.astimezone(NEW_YORK).date()
        for order in self.tracked.unfinished():  # DONE orders have nothing to tick
            if order.phase in (Phase.WAITING_QUOTES, Phase.RETRY):
                gone = [leg for leg in order.structure.legs if leg.contract.expiry and leg.contract.expiry < today]
                if gone:  # an expired contract is never quoted again: waiting would block the structure forever
                    order.phase = Phase.DONE
                    body = f"{order.structure.id}: {describe(gone[0].contract)} expired before it could be priced"
                    out.append(Alert(AlertLevel.WARNING, "order dropped: a leg expired", body))
                    continue
                out.extend(self._send(order, quote, now, next_attempt=order.phase is Phase.RETRY))
            elif order.phase is Phase.WORKING and order.deadline is not None and now >= order.deadline:
                order.phase, order.deadline, order.cancel_sent = Phase.CANCELLING, now + timeout, 1
                out.append(CancelOrder(order.order_id))
            elif order.phase is Phase.CANCELLING and order.deadline is not None and now >= order.deadline:
                order.deadline, order.cancel_sent = now + timeout, order.cancel_sent + 1
                out.append(CancelOrder(order.order_id))
                body = f"{order.structure.id} order {order.order_id}: cancel sent {order.cancel_sent} times"
                out.append(Alert(AlertLevel.WARNING, "cancel not confirmed", body))
        return out

    def working(self) -> list[TrackedOrder]:
        return self.tracked.unfinished()

    def at_broker(self) -> list[TrackedOrder]:
        """Orders live at the broker (working or being cancelled): while one is, holdings may move under the
        book. A safety order waiting to be sent again is not at the broker."""
        return [o for o in self.tracked.unfinished() if o.phase in LIVE]

    def working_structure_ids(self) -> set[str]:
        """Structures with an order (or an orphan close) still working: not to be sent again yet. A working
        order for a part (an IPMCC's weekly call) makes its parent busy too: closing the parent meanwhile
        would close the part's legs twice."""
        out = set()
        for o in self.working():
            structure = self.tracked[o.parent].structure if o.parent else o.structure
            out.add(structure.id)
            if structure.parent:
                out.add(structure.parent)
        return out

    # ------------------------------------------------------------------ attempts

    def _attempt_complete(self, order: TrackedOrder) -> bool:
        legs = range(len(order.structure.legs))
        return all(
            abs(order.attempt_filled.get(i, 0)) >= abs(order.attempt_quantity * order.leg_target(i)) for i in legs
        )

    def _attempt_over(self, order: TrackedOrder, quote: Quote, now: datetime) -> list[Command]:
        """An attempt ended (filled, cancel confirmed, or rejected)."""
        order.deadline = None
        if order.parent is not None:
            return self._child_over(order, quote, now)
        order.phase = Phase.PAUSED
        return self._settle(order, quote, now)

    def _child_over(self, child: TrackedOrder, quote: Quote, now: datetime) -> list[Command]:
        out: list[Command] = []
        left = child.quantity - self._units(child)
        if left > 0 and not child.superseded:
            body = f"{child.structure.id}: {left} still open after attempt {child.attempt + 1}; again at natural"
            out.append(Alert(AlertLevel.CRITICAL, "orphan still open", body))
            return out + self._send(child, quote, now, next_attempt=True)
        child.phase = Phase.DONE
        parent = self.tracked[child.parent] if child.parent else None
        if parent is not None and parent.phase in (Phase.PAUSED, Phase.DONE):
            out.extend(self._settle(parent, quote, now))
        return out

    def _settle(self, order: TrackedOrder, quote: Quote, now: datetime) -> list[Command]:
        """When nothing of the structure is live: close any leg imbalance, then reprice or finish."""
        if order.phase in LIVE or any(self.tracked[c].phase in LIVE for c in order.children):
            return []  # wait: what is live may still fill
        for c in order.children:  # an orphan close not at the broker (waiting) is re-sized below
            if self.tracked[c].phase in (Phase.WAITING_QUOTES, Phase.RETRY):
                self.tracked[c].phase = Phase.DONE
        out = self._even_out(order, quote, now)
        if any(self.tracked[c].phase is not Phase.DONE for c in order.children):
            order.phase = Phase.PAUSED if order.phase is not Phase.DONE else Phase.DONE
            return out
        remaining = order.quantity - self._units(order)
        if remaining <= 0 or order.last_attempt or order.phase is Phase.DONE:
            if order.phase is not Phase.DONE and remaining > 0:
                done, tries = order.quantity - remaining, order.attempt + 1
                body = f"{order.structure.id}: {done} of {order.quantity} filled after {tries} attempt(s)"
                out.append(Alert(AlertLevel.INFO, "order finished unfilled", body))
            order.phase = Phase.DONE
            return out
        return out + self._send(order, quote, now, next_attempt=True)

    def _stop_live(self, order: TrackedOrder, now: datetime) -> list[Command]:
        """Cancel the structure's live attempt and its live orphan closes (sized without the late fill)."""
        out: list[Command] = []
        timeout = timedelta(seconds=self.settings.fill_timeout_seconds)
        for o in [order, *(self.tracked[c] for c in order.children)]:
            if o is not order:
                o.superseded = True
            if o.phase is Phase.WORKING:
                o.phase, o.deadline, o.cancel_sent = Phase.CANCELLING, now + timeout, 1
                out.append(CancelOrder(o.order_id))
        return out

    # ------------------------------------------------------------------ legs and units

    def _root(self, order: TrackedOrder) -> TrackedOrder:
        return self.tracked[order.parent] if order.parent else order

    def _net(self, order: TrackedOrder, index: int) -> int:
        """Contracts of one leg actually traded for the structure: its order's fills and its orphan closes'."""
        contract = order.structure.legs[index].contract
        total = order.filled.get(index, 0)
        for c in order.children:
            child = self.tracked[c]
            total += child.filled.get(0, 0) if child.structure.legs[0].contract == contract else 0
        return total

    def _units(self, order: TrackedOrder) -> int:
        legs = range(len(order.structure.legs))
        units = min(self._net(order, i) // order.leg_target(i) for i in legs)
        return max(0, min(units, order.quantity))

    def _report_units(self, order: TrackedOrder) -> list[Command]:
        root = self._root(order)
        units = self._units(root)
        if units <= root.units_reported:
            return []
        new, root.units_reported = units - root.units_reported, units
        return [Filled(root.structure.id, root.side, new, root.cost / (root.side * units))]

    def _even_out(self, order: TrackedOrder, quote: Quote, now: datetime) -> list[Command]:
        legs = order.structure.legs
        if order.side > 0:
            target_units = self._units(order)
        else:
            started = max(math.ceil(self._net(order, i) / order.leg_target(i)) for i in range(len(legs)))
            target_units = max(0, min(started, order.quantity))
        out: list[Command] = []
        for i, leg in enumerate(legs):
            trade = target_units * order.leg_target(i) - self._net(order, i)
            if trade == 0:
                continue
            child_structure = Structure(
                id=f"{order.structure.id}-orphan-{self._next()}",
                strategy=order.structure.strategy,
                legs=(Leg(leg.contract, 1 if trade > 0 else -1),),
                quantity=abs(trade),
                entry_price=0.0,
                entry_time=now,
                tag=f"orphan of {order.structure.id}",
            )
            what = "opened without its partners" if order.side > 0 else "left by a partial close"
            body = (
                f"{order.structure.strategy} {order.structure.id}: {describe(leg.contract)}, {abs(trade)} contract(s) "
                f"{what}; {'buying' if trade > 0 else 'selling'} {abs(trade)} at natural now"
            )
            out.append(Alert(AlertLevel.CRITICAL, "orphan leg", body))
            child = TrackedOrder(f"{child_structure.id}:open", child_structure, 1, abs(trade), True, parent=order.key)
            self.tracked[child.key] = child
            order.children.append(child.key)
            out.extend(self._send(child, quote, now))
        return out

    # ------------------------------------------------------------------ pricing and sending

    def _send(self, order: TrackedOrder, quote: Quote, now: datetime, next_attempt: bool = False) -> list[Command]:
        if next_attempt:
            order.attempt += 1
        prices = self._prices(order, quote)
        if prices is None:
            level = AlertLevel.CRITICAL if order.safety else AlertLevel.WARNING
            if order.safety:  # an orphan must close: wait for usable quotes, retried on every tick
                if order.phase is not Phase.WAITING_QUOTES:
                    order.phase = Phase.WAITING_QUOTES
                    return [
                        Alert(
                            level, "no usable quotes", f"{order.structure.id}: cannot price the orphan close; retrying"
                        )
                    ]
                return []
            order.phase = Phase.DONE
            return [Alert(level, "no usable quotes", f"{order.structure.id}: cannot price the order")]
        mid, natural, tick = prices
        steps = self.settings.fill_max_reprices
        step = steps if order.safety else min(order.attempt, steps)
        raw = natural if steps == 0 else mid + (natural - mid) * step / steps
        limit = _round_passive(raw, tick, natural, buying=order.side > 0)
        if not order.safety and step >= steps:
            order.last_attempt = True
        order.order_id = f"{order.structure.id}#{self._prefix}{self._next()}"
        order.limit_price, order.phase = limit, Phase.WORKING
        order.deadline = now + timedelta(seconds=self.settings.fill_timeout_seconds)
        remaining = order.quantity - self._units(order)
        order.attempt_quantity, order.attempt_filled = remaining, {}
        self.orders[order.order_id] = order
        return [SubmitOrder(order.order_id, order.structure, order.side, remaining, limit, order.safety)]

    def _prices(self, order: TrackedOrder, quote: Quote) -> tuple[float, float, float] | None:
        """(net mid, natural, tick) per unit of the structure as written, in this order's direction."""
        mid = natural = 0.0
        for leg in order.structure.legs:
            q = quote(leg.contract)
            if q is None:
                return None
            bid, ask = q
            if not quote_is_usable(bid, ask):
                return None
            mid += leg.ratio * 0.5 * (bid + ask)
            natural += leg.ratio * (ask if leg.ratio * order.side > 0 else bid)  # crossing the market
        return mid, natural, limit_tick(order.structure.legs, mid)

    def _next(self) -> int:
        self._counter += 1
        return self._counter


def _round_passive(price: float, tick: float, natural: float, buying: bool) -> float:
    """Round a limit to the tick on the passive side, never past natural: down when buying, up when selling."""
    ticks = price / tick
    rounded = (math.floor(ticks + 1e-9) if buying else math.ceil(ticks - 1e-9)) * tick
    return round(min(rounded, natural) if buying else max(rounded, natural), 10)
