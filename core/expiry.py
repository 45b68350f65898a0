"""Options that expire leave the book at their intrinsic value: the same bookkeeping for every shell.

At the close of an expiry day each structure's expiring legs settle at intrinsic value against their own
underlying's price. A structure whose legs all expire leaves the book; one with legs left (an IPMCC's
weekly call expiring under its LEAP) loses only those legs, booked as a part with its own entry prices.
A missing settlement price never settles anything (the structure stays open and the caller reports it).
The shells move the cash (the replay's broker) or find LEAN has already done it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from core.book import OpenBook
from core.model import Contract, ContractKind, Leg, Right, Structure
from core.pipeline import ClosedTrade


def intrinsic_value(contract: Contract, price: float) -> float:
    """An option's value at expiry per unit (0 for anything that is not an option)."""
    if contract.kind is not ContractKind.OPTION or contract.strike is None:
        return 0.0
    return max(price - contract.strike, 0.0) if contract.right is Right.CALL else max(contract.strike - price, 0.0)


def expiring_legs(structure: Structure, day: date) -> list[int]:
    return [
        i
        for i, leg in enumerate(structure.legs)
        if leg.contract.kind is ContractKind.OPTION and leg.contract.expiry is not None and leg.contract.expiry <= day
    ]


@dataclass(frozen=True, slots=True)
class Expired:
    trade: ClosedTrade
    legs: tuple[Leg, ...]  # the legs that expired (ratios per unit)
    units: int
    value: float  # Σ ratio × intrinsic per unit: the cash per unit, × multiplier


def settle_expired(
    book: OpenBook, day: date, close: datetime, price_of: Callable[[str], float | None]
) -> tuple[list[Expired], list[str]]:
    """Remove what expired on or before `day` from the book (module docstring). Returns the settlements
    and the underlyings that had no price (their structures stay open)."""
    settled: list[Expired] = []
    missing: list[str] = []
    for structure in list(book.open_structures()):
        expiring = expiring_legs(structure, day)
        if not expiring:
            continue
        legs = tuple(structure.legs[i] for i in expiring)
        found = {leg.contract.underlying: price_of(leg.contract.underlying) for leg in legs}
        at = {name: price for name, price in found.items() if price is not None}
        if len(at) < len(found):
            missing.append(", ".join(sorted(set(found) - set(at))))
            continue
        value = sum(leg.ratio * intrinsic_value(leg.contract, at[leg.contract.underlying]) for leg in legs)
        if len(legs) == len(structure.legs):
            part, entry = structure, structure.entry_price
            book.remove_units(structure.id, structure.quantity)
        else:
            paid = structure.leg_entry_prices
            entry = sum(structure.legs[i].ratio * paid[i] for i in expiring) if paid else 0.0
            part = replace(
                structure,
                id=f"{structure.id}:expired-{day:%Y%m%d}",
                legs=legs,
                parent=structure.id,
                entry_price=entry,
                leg_entry_prices=(),
            )
            book.remove_part(part)
        multiplier = structure.legs[0].contract.multiplier
        pnl = (value - entry) * multiplier * structure.quantity
        why = f"settled at expiry ({'in' if value else 'out of'} the money)"
        trade = ClosedTrade(part, structure.strategy, structure.quantity, entry, value, pnl, close, why)
        settled.append(Expired(trade, legs, structure.quantity, value))
    return settled, missing
