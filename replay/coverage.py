"""What the data could serve: at how many of the run's scheduled steps each option root had a chain and its
underlying a price, and VIX a level. With a LEAN folder that holds a week of one product this is the first
answer to "why did nothing trade": a strategy cannot trade what the data never shows it, and each
strategy's own reasons ("no VIX", "no ES chain") say which of these it missed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from core.model import MarketSnapshot
from core.products import option_underlying


@dataclass
class Coverage:
    roots: tuple[str, ...]
    steps: int = 0
    vix: int = 0
    priced: Counter[str] = field(default_factory=Counter)  # option root → steps its underlying had a price
    chained: Counter[str] = field(default_factory=Counter)  # option root → steps it had a chain
    most: dict[str, int] = field(default_factory=dict)  # option root → most contracts in one of its chains

    def add(self, snapshot: MarketSnapshot) -> None:
        """One scheduled step's snapshot, as the market gave it (before any injected fault)."""
        self.steps += 1
        self.vix += snapshot.vix is not None
        for root in self.roots:
            self.priced[root] += option_underlying(root) in snapshot.prices
            chain = snapshot.chains.get(root)
            if chain is not None:
                self.chained[root] += 1
                self.most[root] = max(self.most.get(root, 0), len(chain.strike))

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "vix_steps": self.vix,
            "roots": {
                root: {
                    "underlying": option_underlying(root),
                    "price_steps": self.priced[root],
                    "chain_steps": self.chained[root],
                    "most_contracts": self.most.get(root, 0),
                }
                for root in sorted(self.roots)
            },
        }


def coverage_lines(data: dict[str, Any]) -> list[str]:
    """The report's table, from `to_dict`'s shape (as summary.json keeps it)."""
    steps = data["steps"]
    lines = [
        f"At {steps} scheduled steps, VIX at {data['vix_steps']}.",
        "",
        "| options | chain at steps | most contracts | underlying | price at steps |",
        "|---|---|---|---|---|",
    ]
    for root, row in data["roots"].items():
        lines.append(
            f"| {root} | {row['chain_steps']} | {row['most_contracts']} | {row['underlying']} | {row['price_steps']} |"
        )
    return lines
