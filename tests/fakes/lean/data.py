"""What a time step hands the algorithm: bars, option contracts and chains, the slice
(Common/Data/Market/TradeBar.cs, OptionContract.cs, OptionChain.cs, OptionChains.cs, Common/Data/Slice.cs).

An option contract's Greeks and implied volatility are zero until LEAN's price model has warmed up (and for
future options without a model), so a double that hands zeros is the engine's usual case, not an
exception. Times are naive, in the algorithm's zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.fakes.lean.enums import OptionRight
from tests.fakes.lean.symbols import Symbol


@dataclass
class TradeBar:
    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    symbol: Symbol | None = None


@dataclass
class Greeks:
    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0
    rho: float = 0.0


@dataclass
class OptionContract:
    symbol: Symbol
    bid_price: float
    ask_price: float
    implied_volatility: float = 0.0
    greeks: Greeks = field(default_factory=Greeks)
    underlying_last_price: float = 0.0
    last_price: float = 0.0
    open_interest: float = 0.0

    @property
    def strike(self) -> float:
        return self.symbol.id.strike_price

    @property
    def expiry(self) -> datetime:
        return self.symbol.id.date

    @property
    def right(self) -> OptionRight | None:
        return self.symbol.id.option_right

    @property
    def underlying_symbol(self) -> Symbol | None:
        return self.symbol.underlying


@dataclass
class Underlying:
    symbol: Symbol | None
    price: float


class OptionChain:
    def __init__(self, canonical: Symbol, underlying_price: float, contracts: list[OptionContract]) -> None:
        self.symbol = canonical
        self.underlying = Underlying(canonical.underlying, underlying_price)
        self.contracts = contracts

    def __iter__(self) -> Iterator[OptionContract]:
        return iter(self.contracts)

    def __len__(self) -> int:
        return len(self.contracts)


class OptionChains(dict[Symbol, OptionChain]):
    @property
    def count(self) -> int:
        return len(self)


@dataclass
class Delisting:
    symbol: Symbol
    time: datetime
    type: Any


@dataclass
class Slice:
    option_chains: OptionChains = field(default_factory=OptionChains)
    time: datetime | None = None
    bars: dict[Symbol, TradeBar] = field(default_factory=dict)
    delistings: dict[Symbol, Delisting] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return bool(self.option_chains or self.bars)
