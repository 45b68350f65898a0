"""The open book: the structures the algorithm holds, by id. Fills add and remove whole units; the
positions the broker should show follow from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.model import Contract, Structure


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
        """Opened `units` more of a structure at `price` per unit (the entry price becomes the average)."""
        held = self.structures.get(structure.id)
        if held is None:
            added = dataclasses.replace(structure, quantity=units, entry_price=price)
        else:
            total = held.quantity + units
            average = (held.entry_price * held.quantity + price * units) / total
            added = dataclasses.replace(held, quantity=total, entry_price=average)
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

    def positions(self) -> dict[Contract, int]:
        """Signed contracts the book implies, per contract."""
        out: dict[Contract, int] = {}
        for s in self.structures.values():
            for leg in s.legs:
                out[leg.contract] = out.get(leg.contract, 0) + leg.ratio * s.quantity
        return {c: q for c, q in out.items() if q}
