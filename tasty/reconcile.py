"""The broker's positions against the algorithm's saved state, grouped by structure (pure: no SDK here).

The state file is the algorithm's own (`trading_state`, from LEAN's ObjectStore or the replay's store); what
it expects to be held is `TradingRecord.expected_positions()`: its open structures plus the fills of orders
still in flight. Each difference is one of:
- missing: the algorithm expects it, the broker does not hold it;
- unknown: the broker holds it, the algorithm does not know it (or it is a symbol the core cannot read);
- quantity: both hold it, in different quantities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.calendar import Calendars
from core.model import Contract
from core.valuation import describe
from safety.persistence import TradingRecord
from tasty.symbols import contract_of


class Difference(StrEnum):
    MISSING = "missing"
    UNKNOWN = "unknown"
    QUANTITY = "quantity"


@dataclass(frozen=True, slots=True)
class Row:
    what: str  # the contract as a trader reads it, or the raw broker symbol
    algorithm: Decimal
    broker: Decimal  # exact: a fractional share position is 0.5
    difference: Difference | None


@dataclass
class Reconciliation:
    structures: list[tuple[str, list[Row]]] = field(default_factory=list)  # heading → its legs
    others: list[Row] = field(default_factory=list)  # broker holdings in no structure

    @property
    def differences(self) -> list[Row]:
        rows = [r for _, legs in self.structures for r in legs] + self.others
        seen: set[str] = set()
        out = []
        for row in rows:
            if row.difference is not None and row.what not in seen:
                seen.add(row.what)
                out.append(row)
        return out

    def text(self) -> str:
        lines = []
        for heading, legs in self.structures:
            lines.append(heading)
            lines.extend(_line(row) for row in legs)
        if self.others:
            lines.append("held at the broker, in no structure:")
            lines.extend(_line(row) for row in self.others)
        found = self.differences
        lines.append(f"{len(found)} difference(s)" if found else "the broker and the algorithm agree")
        lines.extend(
            f"  {row.difference}: {row.what} (algorithm {quantity_text(row.algorithm)}, "
            f"broker {quantity_text(row.broker)})"
            for row in found
        )
        return "\n".join(lines)


def quantity_text(quantity: Decimal | int) -> str:
    """A signed quantity as it is: +1, -2, +0.5 (no rounding, no exponent)."""
    text = format(Decimal(quantity).normalize(), "f")
    return text if text.startswith("-") else f"+{text}"


def _line(row: Row) -> str:
    verdict = row.difference.value if row.difference else "ok"
    algorithm, broker = quantity_text(row.algorithm), quantity_text(row.broker)
    return f"  {row.what:<40} algorithm {algorithm:>5}  broker {broker:>5}  {verdict}"


def _difference(algorithm: Decimal, broker: Decimal) -> Difference | None:
    if algorithm == broker:
        return None
    if broker == 0:
        return Difference.MISSING
    if algorithm == 0:
        return Difference.UNKNOWN
    return Difference.QUANTITY


def reconcile(
    broker: list[tuple[str, Decimal]], record: TradingRecord, calendars: Calendars, today: date
) -> Reconciliation:
    """Compare the broker's (symbol, signed quantity) positions with the saved state (module docstring).
    Quantities stay exact Decimals: a fractional share position is compared as it is, never as int()'s 0."""
    held: dict[Contract, Decimal] = {}
    unreadable: list[Row] = []
    for symbol, quantity in broker:
        contract = contract_of(symbol, calendars, today)
        if contract is None:
            unreadable.append(
                Row(f"{symbol} (not a product the algorithm knows)", Decimal(0), quantity, Difference.UNKNOWN)
            )
        elif quantity:
            held[contract] = held.get(contract, Decimal(0)) + quantity
    expected = {c: Decimal(q) for c, q in record.expected_positions().items()}
    out = Reconciliation()
    placed: set[Contract] = set()
    for structure in record.book.open_structures():
        heading = f"{structure.strategy} {structure.id} x{structure.quantity}"
        legs = []
        for leg in structure.legs:
            want, have = expected.get(leg.contract, Decimal(0)), held.get(leg.contract, Decimal(0))
            legs.append(Row(describe(leg.contract), want, have, _difference(want, have)))
            placed.add(leg.contract)
        out.structures.append((heading, legs))
    for contract in sorted(set(expected) | set(held), key=describe):
        if contract not in placed:
            want, have = expected.get(contract, Decimal(0)), held.get(contract, Decimal(0))
            out.others.append(Row(describe(contract), want, have, _difference(want, have)))
    out.others += unreadable
    return out
