"""Securities, holdings and the portfolio, as LEAN keeps them.

- Symbol properties (multiplier, minimum price variation) are rows of LEAN's symbol-properties database
  (Data/symbol-properties/symbol-properties-database.csv, August 2026), looked up as
  Common/Securities/SymbolPropertiesDatabase.cs `GetSymbolProperties` does: options by their underlying's
  ticker under the `[*]` wildcard row; a future option without a row of its own falls back to its future's
  row (ES options: multiplier 50, tick 0.25), then to defaults.
- Price variation: index options tick 0.05 under 3.00 and 0.10 from 3.00, for the price they are asked
  about (Common/Securities/IndexOption/IndexOptionSymbolProperties.cs `MinimumPriceVariationForPrice`); every
  other security its database row (Common/Securities/SecurityPriceVariationModel.cs).
- The portfolio (Common/Securities/SecurityPortfolioModel.cs `ProcessFill`): a fill moves cash by
  −quantity × price × multiplier less fees, except futures, whose fills move no cash (only fees; the profit
  is realised when a position is reduced); holdings keep an average price. Total portfolio value is cash
  plus each non-future holding at its price and each future's unrealised profit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.fakes.lean.enums import SecurityType
from tests.fakes.lean.hours import SecurityExchangeHours, hours_for
from tests.fakes.lean.symbols import FuturesOptionsSymbolMappings, Symbol


@dataclass(frozen=True)
class SymbolProperties:
    contract_multiplier: float
    minimum_price_variation: float
    lot_size: float = 1.0


# symbol-properties-database.csv rows (market, ticker, type) → multiplier, minimum price variation.
SYMBOL_PROPERTIES: dict[tuple[str, SecurityType], SymbolProperties] = {
    ("[*]", SecurityType.EQUITY): SymbolProperties(1.0, 0.01),
    ("[*]", SecurityType.OPTION): SymbolProperties(100.0, 0.01),
    ("[*]", SecurityType.INDEX): SymbolProperties(1.0, 0.01),
    ("[*]", SecurityType.INDEX_OPTION): SymbolProperties(100.0, 0.05),
    ("ES", SecurityType.FUTURE): SymbolProperties(50.0, 0.25),
    ("MES", SecurityType.FUTURE): SymbolProperties(5.0, 0.25),
    ("NQ", SecurityType.FUTURE): SymbolProperties(20.0, 0.25),
    ("CL", SecurityType.FUTURE): SymbolProperties(1000.0, 0.01),
    ("GC", SecurityType.FUTURE): SymbolProperties(100.0, 0.1),
    ("6E", SecurityType.FUTURE): SymbolProperties(125000.0, 0.00005),
    ("ZB", SecurityType.FUTURE): SymbolProperties(1000.0, 0.03125),
    ("OZB", SecurityType.FUTURE_OPTION): SymbolProperties(1000.0, 0.015625),
}
DEFAULT_PROPERTIES = SymbolProperties(1.0, 0.01)


def symbol_properties(symbol: Symbol) -> SymbolProperties:
    kind, ticker = symbol.security_type, symbol.id.symbol
    found = SYMBOL_PROPERTIES.get((ticker, kind))
    if found is not None:
        return found
    if kind is SecurityType.FUTURE_OPTION:  # SymbolPropertiesDatabase.GetSymbolProperties: the future's row
        underlying = FuturesOptionsSymbolMappings.map_from_option(ticker)
        found = SYMBOL_PROPERTIES.get((underlying, SecurityType.FUTURE))
        if found is not None:
            return found
    return SYMBOL_PROPERTIES.get(("[*]", kind), DEFAULT_PROPERTIES)


@dataclass(frozen=True)
class GetMinimumPriceVariationParameters:
    security: Security
    reference_price: float


class SecurityPriceVariationModel:
    def get_minimum_price_variation(self, parameters: GetMinimumPriceVariationParameters) -> float:
        return parameters.security.symbol_properties.minimum_price_variation


class IndexOptionPriceVariationModel:
    def get_minimum_price_variation(self, parameters: GetMinimumPriceVariationParameters) -> float:
        """IndexOptionSymbolProperties.MinimumPriceVariationForPrice (SPX, SPXW, NDX, RUT...)."""
        return 0.05 if abs(parameters.reference_price) < 3.0 else 0.10


@dataclass
class SecurityHolding:
    symbol: Symbol
    quantity: float = 0.0
    average_price: float = 0.0

    @property
    def invested(self) -> bool:
        return self.quantity != 0

    @property
    def is_long(self) -> bool:
        return self.quantity > 0

    @property
    def is_short(self) -> bool:
        return self.quantity < 0

    @property
    def absolute_quantity(self) -> float:
        return abs(self.quantity)


@dataclass
class Exchange:
    hours: SecurityExchangeHours


class Security:
    def __init__(self, symbol: Symbol, hours: SecurityExchangeHours | None = None) -> None:
        self.symbol = symbol
        self.type = symbol.security_type
        self.exchange = Exchange(hours or hours_for(symbol))
        self.symbol_properties = symbol_properties(symbol)
        index_option = symbol.security_type is SecurityType.INDEX_OPTION
        self.price_variation_model: Any = (
            IndexOptionPriceVariationModel() if index_option else SecurityPriceVariationModel()
        )
        self.price = 0.0
        self.open = 0.0
        self.high = 0.0
        self.low = 0.0
        self.close = 0.0
        self.bid_price = 0.0
        self.ask_price = 0.0
        self.holdings = SecurityHolding(symbol)
        self.fee_model: Any = None
        self.filter: Any = None
        self.underlying: Security | None = None
        self.is_tradable = True
        self.option_assignment_model: Any = None

    @property
    def has_data(self) -> bool:
        return self.price > 0 or self.bid_price > 0 or self.ask_price > 0

    def set_fee_model(self, model: Any) -> None:
        self.fee_model = model

    def set_filter(self, *args: Any) -> None:
        self.filter = args[0] if len(args) == 1 else args

    def set_option_assignment_model(self, model: Any) -> None:
        self.option_assignment_model = model

    def __repr__(self) -> str:
        return f"Security({self.symbol})"


class Securities(dict[Symbol, Security]):
    def contains_key(self, symbol: Symbol) -> bool:
        return symbol in self


@dataclass
class Portfolio:
    """SecurityPortfolioManager: holdings by symbol for every security, cash, total value."""

    securities: Securities
    cash: float = 0.0
    fees_paid: float = 0.0
    hook: Any = None  # the algorithm's record of calls into LEAN

    def __getitem__(self, symbol: Symbol) -> SecurityHolding:
        if symbol in self.securities:
            return self.securities[symbol].holdings
        raise KeyError(f"This asset symbol ({symbol}) was not found in your security list")

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.securities

    def contains_key(self, symbol: Symbol) -> bool:
        return symbol in self.securities

    def keys(self) -> list[Symbol]:
        return list(self.securities)

    def values(self) -> list[SecurityHolding]:
        return [s.holdings for s in self.securities.values()]

    def items(self) -> list[tuple[Symbol, SecurityHolding]]:
        return [(s, sec.holdings) for s, sec in self.securities.items()]

    def __iter__(self) -> Iterator[Symbol]:
        return iter(list(self.securities))

    @property
    def total_portfolio_value(self) -> float:
        if self.hook is not None:
            self.hook("portfolio.total_portfolio_value")
        value = self.cash
        for security in self.securities.values():
            h = security.holdings
            if not h.quantity:
                continue
            multiplier = security.symbol_properties.contract_multiplier
            if security.type is SecurityType.FUTURE:
                value += (security.price - h.average_price) * h.quantity * multiplier
            else:
                value += security.price * h.quantity * multiplier
        return value

    @property
    def invested(self) -> bool:
        return any(s.holdings.quantity for s in self.securities.values())

    def process_fill(self, security: Security, quantity: float, price: float, fee: float) -> None:
        """SecurityPortfolioModel.ProcessFill (see the module docstring)."""
        h = security.holdings
        multiplier = security.symbol_properties.contract_multiplier
        self.cash -= fee
        self.fees_paid += fee
        before = h.quantity
        after = before + quantity
        if security.type is SecurityType.FUTURE:
            closing = before * quantity < 0
            if closing:
                closed = min(abs(quantity), abs(before)) * (1 if before > 0 else -1)
                self.cash += (price - h.average_price) * closed * multiplier
        else:
            self.cash -= quantity * price * multiplier
        if after == 0:
            h.average_price = 0.0
        elif before == 0 or (before > 0) != (after > 0):
            h.average_price = price  # opened, or crossed zero: the new side's price
        elif (before > 0) == (quantity > 0):
            h.average_price = (h.average_price * abs(before) + price * abs(quantity)) / abs(after)
        h.quantity = after
