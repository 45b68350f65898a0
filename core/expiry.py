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
from zoneinfo import ZoneInfo

from core.book import OpenBook
from core.model import Contract, ContractKind, Leg, Right, Structure
from core.pipeline import ClosedTrade

NEW_YORK = ZoneInfo("America/New_York")


def expired_by(contract: Contract, now: datetime) -> bool:
    """An option whose expiry day is over at `now` (New York): the broker has settled it (LEAN exercises or
    expires it at midnight after its last trading day) and the book books it at the next session's settlement.
    Until then the book still holds it and the broker does not: reconciliation and checks leave it out."""
    day = now.astimezone(NEW_YORK).date()
    return contract.kind is ContractKind.OPTION and contract.expiry is not None and contract.expiry < day


def intrinsic_value(contract: Contract, price: float) -> float:
    """An option's value at expiry per unit (0 for anything that is not an option)."""
    if contract.kind is not ContractKind.OPTION or contract.strike is None:
        return 0.0
    return max(price - contract.strike, 0.0) if contract.right is Right.CALL else max(contract.strike - price, 0.0)


def settles_with_its_future(option: Contract, future_last_trade: date | None) -> bool:
    """A future option that expires on its future's last trading day cannot deliver that future: it has
    ceased to trade. E-mini S&P 500 quarterly options stop with their future at the special opening
    quotation (SOQ) of the third Friday and, in the money, settle in cash at the SOQ, the future's final
    settlement price (CME's contract specifications). Serial-month and weekly options still deliver the next
    quarterly future, and CL's options expire business days before their future."""
    return (
        option.kind is ContractKind.OPTION
        and option.expiry is not None
        and future_last_trade is not None
        and option.expiry == future_last_trade
    )


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
                leg_entry_underlyings=tuple(structure.underlying_at_entry(i) for i in expiring)
                if structure.leg_entry_underlyings
                else (),
            )
            book.remove_part(part, structure.quantity)
        multiplier = structure.legs[0].contract.multiplier
        pnl = (value - entry) * multiplier * structure.quantity
        why = f"settled at expiry ({'in' if value else 'out of'} the money)"
        trade = ClosedTrade(part, structure.strategy, structure.quantity, entry, value, pnl, close, why)
        settled.append(Expired(trade, legs, structure.quantity, value))
    return settled, missing


DELIVERED_PREFIX = "delivered-"
ASSIGNED_TAG = "assigned"


@dataclass(frozen=True, slots=True)
class Assigned:
    """What an assignment or exercise did to the book (`assign`)."""

    trades: tuple[ClosedTrade, ...]  # each holder's assigned units, closed at intrinsic value (none: no holder)
    remainders: tuple[Structure, ...]  # the rest of each holder, still open, to be closed
    delivered: Structure | None  # the stock or future that arrived, in the book, to be flattened


def assign(
    book: OpenBook,
    option: Contract,
    option_quantity: int,
    delivered: Contract | None,
    delivered_quantity: int,
    price: float,
    when: datetime,
) -> Assigned:
    """Book an assignment or exercise the moment the broker reports it, so the book matches the broker's
    holdings before anything else happens (a restart or a reconciliation in between finds them equal).

    `option_quantity` is the signed change of the option position (+1 when a short is assigned). It is shared
    among the structures holding the contract on the side it reduces, in book order, each taking at most what
    it holds: two ladder rungs short the same put, both assigned in one event, each book their own. Anything
    left over (more assigned than the book holds) is not booked, and reconciliation finds the difference.
    The assigned units leave their structure at intrinsic value against the underlying's `price`, as a cash
    settlement would book them; the delivered stock or future enters at `price`, so the two add up to the
    exercise at the strike. The rest of each structure stays, as one unit with its positions as ratios and its
    own entry prices, tagged `assigned`; the delivery is a structure of its own whose id starts with
    `delivered-`. Both are closed by safety/assignment (at once, and at every step until they are gone)."""
    trades: list[ClosedTrade] = []
    remainders: list[Structure] = []
    left = option_quantity
    for holder in book.open_structures():
        held = sum(leg.ratio for leg in holder.legs if leg.contract == option) * holder.quantity
        if left == 0 or held == 0 or (held > 0) == (left > 0):  # only a short is assigned, only a long exercised
            continue
        share = min(abs(left), abs(held)) * (1 if left > 0 else -1)
        trade, remainder = _assign_to(book, holder, option, share, price, when)
        trades.append(trade)
        if remainder is not None:
            remainders.append(remainder)
        left -= share
    strategy = trades[0].strategy if trades else "orphan"
    delivery = None
    if delivered is not None and delivered_quantity:
        delivery = Structure(
            id=f"{DELIVERED_PREFIX}{delivered.root}-{when:%Y%m%d%H%M}-{option.strike:g}{(option.right or 'x')[0]}",
            strategy=strategy,
            legs=(Leg(delivered, 1 if delivered_quantity > 0 else -1),),
            quantity=abs(delivered_quantity),
            entry_price=price,
            entry_time=when,
            tag=f"delivered by {option.root} {option.strike:g} {option.right.value if option.right else ''}".strip(),
        )
        delivery = book.add_units(delivery, abs(delivered_quantity), price)
    return Assigned(tuple(trades), tuple(remainders), delivery)


def _assign_to(
    book: OpenBook, holder: Structure, option: Contract, change: int, price: float, when: datetime
) -> tuple[ClosedTrade, Structure | None]:
    """`change` contracts of `option` assigned (or exercised) out of `holder`: the trade, and the rest."""
    known = bool(holder.leg_entry_prices)  # without leg prices the whole cost basis stays with the rest
    paid = holder.leg_entry_prices or tuple(
        holder.entry_price / leg.ratio if len(holder.legs) == 1 else 0.0 for leg in holder.legs
    )
    rest: list[tuple[Leg, float]] = []
    rest_underlyings: list[float] = []
    for index, (leg, cost) in enumerate(zip(holder.legs, paid, strict=True)):
        position = leg.ratio * holder.quantity + (change if leg.contract == option else 0)
        if position:
            rest.append((Leg(leg.contract, position), cost))
            rest_underlyings.append(holder.underlying_at_entry(index))
    i = next(i for i, leg in enumerate(holder.legs) if leg.contract == option)
    units = abs(change)
    side = 1 if holder.legs[i].ratio > 0 else -1
    value, entry = side * intrinsic_value(option, price), side * paid[i]
    part = replace(
        holder,
        id=f"{holder.id}:{ASSIGNED_TAG}-{when:%Y%m%d%H%M}",
        legs=(Leg(option, side),),
        quantity=units,
        parent=holder.id,
        entry_price=entry,
        leg_entry_prices=(paid[i],),
        leg_entry_underlyings=(holder.underlying_at_entry(i),) if holder.leg_entry_underlyings else (),
    )
    pnl = (value - entry) * option.multiplier * units
    verb = "assigned" if change > 0 else "exercised"
    trade = ClosedTrade(part, holder.strategy, units, entry, value, pnl, when, f"{verb} at {price:g}")
    book.remove_units(holder.id, holder.quantity)
    if not rest:
        return trade, None
    legs = tuple(leg for leg, _ in rest)
    costs = tuple(cost for _, cost in rest)
    remainder = replace(
        holder,
        legs=legs,
        quantity=1,
        entry_price=sum(leg.ratio * cost for leg, cost in rest) if known else holder.entry_price * holder.quantity,
        leg_entry_prices=costs if known else (),
        leg_entry_underlyings=tuple(rest_underlyings) if holder.leg_entry_underlyings else (),
        tag=ASSIGNED_TAG,
    )
    return trade, book.add_units(remainder, 1, remainder.entry_price)
