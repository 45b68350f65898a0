"""The open book: the structures the algorithm holds, by id. Fills add and remove whole units; the
positions the broker should show follow from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.model import Contract, Leg, Structure


def filled_leg_prices(structure: Structure, price: float) -> tuple[float, ...]:
    """The structure's per-leg prices (the mids it was planned at) moved so that they add up to the net
    price it actually filled at: the slippage is shared in proportion to each leg's size. The book's cost
    basis after a part leaves (an IPMCC's weekly call) comes from these, so they must match the money paid."""
    planned = structure.leg_entry_prices
    if not planned:
        return ()
    ratios = [leg.ratio for leg in structure.legs]
    gap = price - sum(r * p for r, p in zip(ratios, planned, strict=True))
    weights = [abs(r * p) for r, p in zip(ratios, planned, strict=True)]
    total = sum(weights)
    if total == 0.0:
        weights, total = [1.0 if i == 0 else 0.0 for i in range(len(ratios))], 1.0
    return tuple(p + gap * w / total / r for r, p, w in zip(ratios, planned, weights, strict=True))


def part_of(structure: Structure, indexes: Sequence[int], name: str) -> Structure:
    """Some legs of a structure, to trade them alone (id `<id>:<name>`, `parent` the structure's id)."""
    prices = tuple(structure.leg_entry_prices[i] for i in indexes) if structure.leg_entry_prices else ()
    entry = sum(structure.legs[i].ratio * p for i, p in zip(indexes, prices, strict=True)) if prices else 0.0
    return Structure(
        f"{structure.id}:{name}",
        structure.strategy,
        tuple(structure.legs[i] for i in indexes),
        structure.quantity,
        entry,
        structure.entry_time,
        f"part of {structure.id}",
        prices,
        parent=structure.id,
        entry_underlying=structure.entry_underlying,
        leg_entry_underlyings=tuple(structure.underlying_at_entry(i) for i in indexes)
        if structure.leg_entry_underlyings
        else (),
    )


def part_legs(part: Structure, units: int, parent: Structure) -> tuple[Leg, ...]:
    """A part's legs per unit of its parent: `units` of the part spread over the parent's quantity, which
    they must divide into whole contracts (`spreads_evenly`)."""
    if not spreads_evenly(part, units, parent):
        raise ValueError(f"{units} of {part.id} do not spread evenly over {parent.quantity} of {parent.id}")
    return tuple(dataclasses.replace(leg, ratio=leg.ratio * units // parent.quantity) for leg in part.legs)


def spreads_evenly(part: Structure, units: int, parent: Structure) -> bool:
    return all(leg.ratio * units % parent.quantity == 0 for leg in part.legs)


def with_part(parent: Structure, part: Structure) -> Structure:
    """The parent with the part's legs added (what the account holds once the part fills), to value a part
    (an IPMCC's weekly call) with what covers it; leg prices are dropped, the result is for valuation.
    Two calls against three LEAPs do not make whole units of one LEAP and its calls: the result is then one
    unit of the whole (3 LEAPs, -2 calls), which values the same contracts."""
    if spreads_evenly(part, part.quantity, parent):
        legs, quantity = parent.legs + part_legs(part, part.quantity, parent), parent.quantity
    else:
        legs = tuple(dataclasses.replace(leg, ratio=leg.ratio * parent.quantity) for leg in parent.legs) + tuple(
            dataclasses.replace(leg, ratio=leg.ratio * part.quantity) for leg in part.legs
        )
        quantity = 1
    return dataclasses.replace(parent, legs=legs, quantity=quantity, leg_entry_prices=(), leg_entry_underlyings=())


@dataclass
class OpenBook:
    structures: dict[str, Structure] = field(default_factory=dict)

    def open_structures(self, strategy: str | None = None) -> Sequence[Structure]:
        return [
            s
            for s in sorted(self.structures.values(), key=lambda x: x.id)
            if strategy is None or s.strategy == strategy
        ]

    def add_units(self, structure: Structure, units: int, price: float) -> Structure:
        """Opened `units` more of a structure at `price` per unit (the entry price becomes the average).
        A part of a held structure (an IPMCC's weekly call) is merged into it instead."""
        if structure.parent and structure.parent in self.structures:
            return self._merge_part(structure, units, price)
        legs_at = filled_leg_prices(structure, price)
        held = self.structures.get(structure.id)
        if held is None:
            added = dataclasses.replace(structure, quantity=units, entry_price=price, leg_entry_prices=legs_at)
        else:
            total = held.quantity + units
            average = (held.entry_price * held.quantity + price * units) / total
            before = held.leg_entry_prices
            legs_average = (
                tuple((a * held.quantity + b * units) / total for a, b in zip(before, legs_at, strict=True))
                if before and legs_at
                else ()
            )
            added = dataclasses.replace(held, quantity=total, entry_price=average, leg_entry_prices=legs_average)
        self.structures[structure.id] = added
        return added

    def remove_units(self, structure_id: str, units: int) -> Structure | None:
        """Closed `units` of a structure; returns what was closed (None if it is not held)."""
        held = self.structures.get(structure_id)
        if held is None:
            return None
        closed = dataclasses.replace(held, quantity=min(units, held.quantity))
        if held.quantity <= units:
            del self.structures[structure_id]
        else:
            self.structures[structure_id] = dataclasses.replace(held, quantity=held.quantity - units)
        return closed

    def _merge_part(self, part: Structure, units: int, price: float) -> Structure:
        """The part's legs join its parent's units. When the broker fills fewer of the part than the parent
        has units (two calls of three), the units they cover become a structure of their own (`<id>.1`,
        whole units of a LEAP and its call) and the rest keeps the parent's id, for the rest of the part."""
        parent = self.structures[part.parent]
        if units < parent.quantity and not spreads_evenly(part, units, parent):
            return self._merge_into(self._split_off(parent, units), part, units, price)
        if not spreads_evenly(part, units, parent):  # more of the part than the parent covers: held alone
            added = dataclasses.replace(
                part, quantity=units, entry_price=price, leg_entry_prices=filled_leg_prices(part, price)
            )
            self.structures[part.id] = added
            return added
        return self._merge_into(parent, part, units, price)

    def _merge_into(self, parent: Structure, part: Structure, units: int, price: float) -> Structure:
        per_unit = units / parent.quantity  # the part's contracts per unit of the parent
        legs = list(parent.legs) + list(part_legs(part, units, parent))
        prices = list(parent.leg_entry_prices) if parent.leg_entry_prices else [0.0] * len(parent.legs)
        prices += filled_leg_prices(part, price) or tuple(0.0 for _ in part.legs)
        merged = dataclasses.replace(
            parent,
            legs=tuple(legs),
            entry_price=parent.entry_price + price * per_unit,
            leg_entry_prices=tuple(prices),
            leg_entry_underlyings=parent.entry_underlyings() + part.entry_underlyings(),  # each leg its own sale's
        )
        self.structures[parent.id] = merged
        return merged

    def _split_off(self, parent: Structure, units: int) -> Structure:
        """`units` of a held structure as a structure of their own (`<id>.1`, the first id free); the rest
        keeps the parent's id."""
        self.structures[parent.id] = dataclasses.replace(parent, quantity=parent.quantity - units)
        piece = dataclasses.replace(parent, id=self._free_id(parent.id), quantity=units)
        self.structures[piece.id] = piece
        return piece

    def _free_id(self, base: str) -> str:
        n = 1
        while f"{base}.{n}" in self.structures:
            n += 1
        return f"{base}.{n}"

    def remove_part(self, part: Structure, units: int) -> Structure | None:
        """Closed `units` units of a part (some legs) of a held structure: those legs leave it; the rest stays
        open. Fewer units than the parent holds (one of a two-lot's calls bought back) split it: the units
        closed become a structure of their own without the part's legs (`<id>.1`), and the units still holding
        them keep the parent's id, for the rest of the close."""
        parent = self.structures.get(part.parent)
        if parent is None:
            return None
        closing = {leg.contract for leg in part.legs}
        if units < parent.quantity and any(leg.contract in closing for leg in parent.legs):
            return self._without(self._split_off(parent, units), closing)
        return self._without(parent, closing)

    def _without(self, parent: Structure, closing: set[Contract]) -> Structure | None:
        keep = [i for i, leg in enumerate(parent.legs) if leg.contract not in closing]
        if not keep:
            del self.structures[parent.id]
            return parent
        prices, underlyings = parent.leg_entry_prices, parent.leg_entry_underlyings
        remaining = dataclasses.replace(
            parent,
            legs=tuple(parent.legs[i] for i in keep),
            leg_entry_prices=tuple(prices[i] for i in keep) if prices else (),
            leg_entry_underlyings=tuple(underlyings[i] for i in keep) if underlyings else (),
            entry_price=sum(parent.legs[i].ratio * prices[i] for i in keep) if prices else parent.entry_price,
        )
        self.structures[parent.id] = remaining
        return remaining

    def positions(self) -> dict[Contract, int]:
        """Signed contracts the book implies, per contract."""
        out: dict[Contract, int] = {}
        for s in self.structures.values():
            for leg in s.legs:
                out[leg.contract] = out.get(leg.contract, 0) + leg.ratio * s.quantity
        return {c: q for c, q in out.items() if q}
