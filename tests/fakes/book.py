"""A Book port for strategy tests: open structures and an account."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from core.model import AccountState, Contract, Position, Structure


@dataclass
class FakeBook:
    structures: list[Structure] = field(default_factory=list)
    net_liq: float = 100_000.0

    def open_structures(self, strategy: str | None = None) -> Sequence[Structure]:
        return [s for s in self.structures if strategy is None or s.strategy == strategy]

    def positions(self) -> Sequence[Position]:
        held: dict[Contract, int] = {}
        for s in self.structures:
            for leg in s.legs:
                held[leg.contract] = held.get(leg.contract, 0) + leg.ratio * s.quantity
        return [Position(c, q, 0.0) for c, q in held.items() if q]

    def account(self) -> AccountState:
        return AccountState(self.net_liq, self.net_liq, self.net_liq, 0.0)
