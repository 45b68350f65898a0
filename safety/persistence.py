"""The trading state that survives a restart (RULEBOOK "State"; DESIGN "state is a plain serialisable object").

Everything the algorithm must not forget goes into one versioned JSON document, saved through the Store port
after every change: the open structures (legs, quantities, entry prices, ids), the orders in flight with
their fills, the daily counters, the trading state, the risk manager's pause, peak net liq, and the
performance ledger.

At start it is loaded and reconciled against the broker's holdings:
- a document that cannot be read (not JSON, a wrong version, a missing or malformed field) → HALTED (sticky)
  with a CRITICAL alert; its text is kept under another key (`<key>.corrupt.<time>`), never overwritten,
  and the book is rebuilt from the broker's holdings alone, every one as an orphan for a person to look at;
- otherwise the book plus the partial fills of orders in flight must equal the holdings. Any difference →
  HALTED (sticky) with an alert per difference, and the book is rebuilt so that every holding is in it
  exactly once: structures whose legs are all held in full are kept, holdings nothing explains are adopted
  as orphan structures, structures with missing legs are dropped (their held legs become orphans). Orders
  in flight are then dropped too: their fills are in the holdings.
Nothing is lost silently and nothing is counted twice; only a person clears the halt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.book import OpenBook
from core.expiry import expired_by
from core.model import Contract, ContractKind, Leg, Right, Structure
from core.ports import AlertLevel, Store
from core.ports import AlertMessage as RestoreAlert
from core.products import ExerciseStyle, Settlement
from core.settings import Settings
from core.valuation import describe

from safety.checks import DailyLimits
from safety.fills import FillTracker, Phase, TrackedOrder
from safety.performance import PerformanceLedger, read_ledger
from safety.state import TradingStateMachine

VERSION = 1
NEW_YORK = ZoneInfo("America/New_York")


class StateFileError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------- codecs


def contract_to_dict(c: Contract) -> dict[str, Any]:
    return {
        "root": c.root,
        "underlying": c.underlying,
        "kind": c.kind.value,
        "multiplier": c.multiplier,
        "exchange": c.exchange,
        "right": c.right.value if c.right else None,
        "strike": c.strike,
        "expiry": c.expiry.isoformat() if c.expiry else None,
        "style": c.style.value if c.style else None,
        "settlement": c.settlement.value if c.settlement else None,
        "underlying_expiry": c.underlying_expiry.isoformat() if c.underlying_expiry else None,
    }


def contract_from_dict(d: dict[str, Any]) -> Contract:
    return Contract(
        root=str(d["root"]),
        underlying=str(d["underlying"]),
        kind=ContractKind(d["kind"]),
        multiplier=float(d["multiplier"]),
        exchange=str(d["exchange"]),
        right=Right(d["right"]) if d["right"] else None,
        strike=float(d["strike"]) if d["strike"] is not None else None,
        expiry=date.fromisoformat(d["expiry"]) if d["expiry"] else None,
        style=ExerciseStyle(d["style"]) if d["style"] else None,
        settlement=Settlement(d["settlement"]) if d["settlement"] else None,
        underlying_expiry=date.fromisoformat(d["underlying_expiry"]) if d["underlying_expiry"] else None,
    )


def structure_to_dict(s: Structure) -> dict[str, Any]:
    return {
        "id": s.id,
        "strategy": s.strategy,
        "legs": [{"contract": contract_to_dict(leg.contract), "ratio": leg.ratio} for leg in s.legs],
        "quantity": s.quantity,
        "entry_price": s.entry_price,
        "entry_time": s.entry_time.isoformat(),
        "tag": s.tag,
        "leg_entry_prices": list(s.leg_entry_prices),
        "parent": s.parent,
        "entry_underlying": s.entry_underlying,
        "leg_entry_underlyings": list(s.leg_entry_underlyings),
    }


def structure_from_dict(d: dict[str, Any]) -> Structure:
    entry_time = datetime.fromisoformat(d["entry_time"])
    if entry_time.tzinfo is None:
        raise StateFileError(f"structure {d.get('id')}: entry time without a time zone")
    return Structure(
        id=str(d["id"]),
        strategy=str(d["strategy"]),
        legs=tuple(Leg(contract_from_dict(x["contract"]), int(x["ratio"])) for x in d["legs"]),
        quantity=int(d["quantity"]),
        entry_price=float(d["entry_price"]),
        entry_time=entry_time,
        tag=str(d.get("tag", "")),
        leg_entry_prices=tuple(float(x) for x in d.get("leg_entry_prices", [])),
        parent=str(d.get("parent", "")),
        entry_underlying=float(d.get("entry_underlying", 0.0)),
        leg_entry_underlyings=tuple(float(x) for x in d.get("leg_entry_underlyings", [])),
    )


def order_to_dict(o: TrackedOrder) -> dict[str, Any]:
    return {
        "key": o.key,
        "structure": structure_to_dict(o.structure),
        "side": o.side,
        "quantity": o.quantity,
        "safety": o.safety,
        "parent": o.parent,
        "children": list(o.children),
        "filled": {str(k): v for k, v in o.filled.items()},
        "cost": o.cost,
        "attempt": o.attempt,
        "units_reported": o.units_reported,
    }


def order_from_dict(d: dict[str, Any]) -> TrackedOrder:
    order = TrackedOrder(
        key=str(d["key"]),
        structure=structure_from_dict(d["structure"]),
        side=int(d["side"]),
        quantity=int(d["quantity"]),
        safety=bool(d["safety"]),
        parent=d["parent"],
        children=[str(c) for c in d["children"]],
        filled={int(k): int(v) for k, v in d["filled"].items()},
        cost=float(d["cost"]),
        attempt=int(d["attempt"]),
        units_reported=int(d["units_reported"]),
    )
    # After a restart nothing is live at the broker (the shell cancels every open order first).
    order.phase = Phase.PAUSED
    return order


# ---------------------------------------------------------------------------------------------- the state


@dataclass
class TradingRecord:
    """Everything persisted, in memory."""

    book: OpenBook = field(default_factory=OpenBook)
    orders: list[TrackedOrder] = field(default_factory=list)  # orders in flight (not done)
    daily: DailyLimits = field(default_factory=DailyLimits)
    state: TradingStateMachine = field(default_factory=TradingStateMachine)
    risk: dict[str, Any] = field(default_factory=dict)  # the risk manager's RiskState.to_dict()
    peak_net_liq: float = 0.0
    performance: dict[str, Any] = field(default_factory=dict)

    def to_text(self, now: datetime) -> str:
        doc = {
            "version": VERSION,
            "saved_at": now.isoformat(),
            "structures": [structure_to_dict(s) for s in self.book.open_structures()],
            "orders": [order_to_dict(o) for o in self.orders],
            "daily": {
                "day": self.daily.day.isoformat() if self.daily.day else None,
                "start_of_day_net_liq": self.daily.start_of_day_net_liq,
                "losing_closes": self.daily.losing_closes,
                "closed_pnl": self.daily.closed_pnl,
                "losses": list(self.daily.losses),
            },
            "state": self.state.to_dict(),
            "risk": self.risk,
            "peak_net_liq": self.peak_net_liq,
            "performance": self.performance,
        }
        return json.dumps(doc, indent=1, sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> TradingRecord:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise StateFileError(f"not JSON ({err.msg} at line {err.lineno})") from None
        if not isinstance(doc, dict):
            raise StateFileError("the document is not a JSON object")
        if doc.get("version") != VERSION:
            raise StateFileError(f"version {doc.get('version')!r}, this algorithm reads version {VERSION}")
        try:
            book = OpenBook({s["id"]: structure_from_dict(s) for s in doc["structures"]})
            daily_doc = doc["daily"]
            daily = DailyLimits(
                date.fromisoformat(daily_doc["day"]) if daily_doc["day"] else None,
                float(daily_doc["start_of_day_net_liq"]),
                int(daily_doc["losing_closes"]),
                float(daily_doc["closed_pnl"]),
                [str(x) for x in daily_doc["losses"]],
            )
            performance = dict(doc["performance"])
            read_ledger(performance)  # read now, so that a malformed ledger is a corrupt file, not a crash at start
            return cls(
                book=book,
                orders=[order_from_dict(o) for o in doc["orders"]],
                daily=daily,
                state=TradingStateMachine.from_dict(doc["state"]),
                risk=dict(doc["risk"]),
                peak_net_liq=float(doc["peak_net_liq"]),
                performance=performance,
            )
        except StateFileError:
            raise  # already says what is wrong (a StateFileError is a ValueError: not "malformed field: ...")
        except (KeyError, TypeError, ValueError) as err:
            raise StateFileError(f"malformed field: {type(err).__name__}: {err}") from None

    # ------------------------------------------------------------------ positions

    def expected_positions(self) -> dict[Contract, int]:
        """What the broker should hold: the book, plus the fills of orders in flight that are not yet whole
        units in the book (and their orphan closes' fills)."""
        out = dict(self.book.positions())
        by_key = {o.key: o for o in self.orders}
        for o in self.orders:
            if o.parent is not None:
                continue
            for i, leg in enumerate(o.structure.legs):
                extra = o.filled.get(i, 0) - o.units_reported * leg.ratio * o.side
                for c in o.children:
                    child = by_key.get(c)
                    if child is not None and child.structure.legs[0].contract == leg.contract:
                        extra += child.filled.get(0, 0)
                if extra:
                    out[leg.contract] = out.get(leg.contract, 0) + extra
        return {c: q for c, q in out.items() if q}


def restore(
    store: Store, key: str, holdings: dict[Contract, int], now: datetime, settings: Settings
) -> tuple[TradingRecord, list[RestoreAlert]]:
    """Load the saved record and reconcile it with the broker's holdings (module docstring)."""
    alerts: list[RestoreAlert] = []
    text = store.load(key)
    if text is None:
        record = TradingRecord()
        alerts.append(RestoreAlert(AlertLevel.INFO, "no saved state", f"starting fresh (no '{key}' in the store)"))
    else:
        try:
            record = TradingRecord.from_text(text)
        except StateFileError as err:
            kept = f"{key}.corrupt.{now.astimezone(NEW_YORK):%Y%m%dT%H%M%S}"
            store.save(kept, text)
            record = TradingRecord()
            record.state.halt(now, f"state file unreadable ({err}); kept as '{kept}'", sticky=True)
            body = (
                f"'{key}' could not be read: {err}. Its text is kept as '{kept}'. Every broker holding is "
                "adopted as an orphan; trading is HALTED until a person clears it."
            )
            alerts.append(RestoreAlert(AlertLevel.CRITICAL, "corrupt state file", body))
    alerts.extend(reconcile(record, holdings, now))
    return record, alerts


def reconcile(record: TradingRecord, holdings: dict[Contract, int], now: datetime) -> list[RestoreAlert]:
    """The book against the broker's holdings; options past their expiry day are left to the settlement
    (core/expiry.expired_by): a restart over a weekend after a Friday expiry must not halt on them."""
    expected = {c: q for c, q in record.expected_positions().items() if not expired_by(c, now)}
    actual = {c: q for c, q in holdings.items() if q and not expired_by(c, now)}
    if expected == actual:
        return []
    alerts: list[RestoreAlert] = []
    for c in sorted(set(expected) | set(actual), key=describe):
        want, have = expected.get(c, 0), actual.get(c, 0)
        if want != have:
            kind = (
                "missing at the broker"
                if have == 0
                else "unknown to the algorithm"
                if want == 0
                else "quantity differs"
            )
            alerts.append(
                RestoreAlert(
                    AlertLevel.CRITICAL,
                    "reconciliation",
                    f"{describe(c)}: algorithm {want:+d}, broker {have:+d} ({kind})",
                )
            )
    # Rebuild the book so that every holding is in it exactly once.
    remaining = dict(actual)
    kept: dict[str, Structure] = {}
    for s in record.book.open_structures():
        live = [leg for leg in s.legs if not expired_by(leg.contract, now)]
        if all(_covers(remaining.get(leg.contract, 0), leg.ratio * s.quantity) for leg in live):
            for leg in live:
                remaining[leg.contract] -= leg.ratio * s.quantity
            kept[s.id] = s
        else:
            alerts.append(
                RestoreAlert(
                    AlertLevel.CRITICAL,
                    "structure dropped",
                    f"{s.strategy} {s.id}: not all of its legs are held; its held legs become orphans",
                )
            )
    for c, q in sorted(remaining.items(), key=lambda kv: describe(kv[0])):
        if q:
            orphan = Structure(
                f"orphan-{describe(c).replace(' ', '-')}",
                "orphan",
                (Leg(c, 1 if q > 0 else -1),),
                abs(q),
                0.0,
                now,
                "adopted at reconciliation",
            )
            kept[orphan.id] = orphan
            alerts.append(
                RestoreAlert(
                    AlertLevel.CRITICAL,
                    "orphan adopted",
                    f"{describe(c)} {q:+d}: held at the broker, now in the book as {orphan.id}",
                )
            )
    record.book = OpenBook(kept)
    record.orders = []  # their fills are in the holdings now
    record.state.halt(now, "reconciliation mismatch with the broker's holdings", sticky=True)
    return alerts


def _covers(held: int, needed: int) -> bool:
    return needed != 0 and (held > 0) == (needed > 0) and abs(held) >= abs(needed)


def save(store: Store, key: str, record: TradingRecord, now: datetime) -> None:
    store.save(key, record.to_text(now))


def tracker_orders(tracker: FillTracker) -> list[TrackedOrder]:
    """The orders in flight to persist: every structure order not done, with all its orphan closes (a done
    one's fills still count toward its structure's legs)."""
    roots = [o for o in tracker.working() if o.parent is None]
    children = [tracker.tracked[c] for o in roots for c in o.children if c in tracker.tracked]
    return roots + children


def ledger_from(record: TradingRecord, settings: Settings) -> PerformanceLedger:
    return PerformanceLedger.from_dict(settings, record.performance)
