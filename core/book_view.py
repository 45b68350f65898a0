"""The open book valued once per step: each open structure through core/valuation, extended by each
approval while a batch is reviewed (so later proposals see the earlier ones), shared by risk and reports."""

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
    # Totals over `views`, kept with them (the rules read them for every proposal).
    bp_in_use: float = 0.0
    delta_1pct: float = 0.0
    vega: float = 0.0
    theta: float = 0.0

    @classmethod
    def build(cls, structures: Sequence[Structure], snapshot: MarketSnapshot, settings: Settings) -> BookView:
        ordered = tuple(sorted(structures, key=lambda x: x.id))  # a stable order, whatever order the book has
        views: list[StructureView] = []
        unvalued: list[str] = []
        for s in ordered:
            valued = value_structure(s, snapshot, settings)
            if isinstance(valued, NotFound):
                unvalued.append(valued.reason)
            else:
                views.append(valued.value)
        return cls(
            ordered,
            tuple(views),
            tuple(unvalued),
            bp_in_use=sum(v.bp for v in views),
            delta_1pct=sum(v.delta_1pct for v in views),
            vega=sum(v.vega for v in views),
            theta=sum(v.theta for v in views),
        )

    def with_added(self, view: StructureView) -> BookView:
        return BookView(
            (*self.structures, view.structure),
            (*self.views, view),
            self.unvalued,
            self.bp_in_use + view.bp,
            self.delta_1pct + view.delta_1pct,
            self.vega + view.vega,
            self.theta + view.theta,
        )

    def count(self, strategy: str | None = None) -> int:
        """Positions: structures that are not parts of another (an IPMCC's weekly call is its IPMCC)."""
        return sum(1 for s in self.structures if not s.parent and (strategy is None or s.strategy == strategy))
