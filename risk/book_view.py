"""The open book as the risk rules see it: each open structure valued once per step (core/valuation), and
extended by each approval while a batch is reviewed, so later proposals see the earlier ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.model import MarketSnapshot, NotFound, Structure
from core.settings import Settings
from core.valuation import StructureView, value_structure


@dataclass(frozen=True, slots=True)
class BookView:
    structures: tuple[Structure, ...]
    views: tuple[StructureView, ...]  # the ones that could be valued
    unvalued: tuple[str, ...]  # why the others could not

    @classmethod
    def build(cls, structures: Sequence[Structure], snapshot: MarketSnapshot, settings: Settings) -> BookView:
        views: list[StructureView] = []
        unvalued: list[str] = []
        for s in sorted(structures, key=lambda x: x.id):  # a stable order, whatever order the book has
            valued = value_structure(s, snapshot, settings)
            if isinstance(valued, NotFound):
                unvalued.append(valued.reason)
            else:
                views.append(valued.value)
        return cls(tuple(sorted(structures, key=lambda x: x.id)), tuple(views), tuple(unvalued))

    def with_added(self, view: StructureView) -> BookView:
        return BookView((*self.structures, view.structure), (*self.views, view), self.unvalued)

    def count(self, strategy: str | None = None) -> int:
        return sum(1 for s in self.structures if strategy is None or s.strategy == strategy)

    @property
    def bp_in_use(self) -> float:
        return sum(v.bp for v in self.views)

    @property
    def delta_1pct(self) -> float:
        return sum(v.delta_1pct for v in self.views)

    @property
    def vega(self) -> float:
        return sum(v.vega for v in self.views)

    @property
    def theta(self) -> float:
        return sum(v.theta for v in self.views)
