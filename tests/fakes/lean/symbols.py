"""LEAN's symbols as the algorithm sees them: `Symbol` (value, id, underlying) and `SecurityIdentifier`.

- A future option's identifier carries the *option* root, which for most CME products is not the future's:
  `SecurityIdentifier.GenerateOption` maps the future's ticker through
  Common/Securities/FutureOption/FuturesOptionsSymbolMappings.cs `Map` (GC → OG, CL → LO, ZB → OZB, 6E → EUU;
  ES and NQ are not in the table and map to themselves). `map_from_option` is the reverse (`MapFromOption`,
  falling back to its input).
- Index options written on another index's value keep their own root (SPXW on SPX):
  Common/Securities/IndexOption/IndexOptionSymbol.cs `MapToUnderlying` (SPXW → SPX, NDXP → NDX, RUTW → RUT).
- Identifier dates are naive .NET DateTimes (midnight of the expiry), as pythonnet hands them over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tests.fakes.lean.enums import OPTION_TYPES, OptionRight, OptionStyle, SecurityType

# FuturesOptionsSymbolMappings.cs: future ticker → future-option ticker (the whole table at August 2026).
FUTURE_OPTION_ROOTS = {
    "EH": "OEH", "KE": "OKE", "TN": "OTN", "UB": "OUB", "YM": "OYM", "ZB": "OZB", "ZC": "OZC", "ZF": "OZF",
    "ZL": "OZL", "ZM": "OZM", "ZN": "OZN", "ZO": "OZO", "ZS": "OZS", "ZT": "OZT", "ZW": "OZW", "RTY": "RTO",
    "GC": "OG", "HG": "HXE", "SI": "SO", "CL": "LO", "HCL": "HCO", "HO": "OH", "NG": "ON", "PA": "PAO",
    "PL": "PO", "RB": "OB", "YG": "OYG", "ZG": "OZG", "ZI": "OZI", "6A": "ADU", "6B": "GBU", "6C": "CAU",
    "6E": "EUU", "6J": "JPU", "6S": "CHU",
}  # fmt: skip
_FROM_OPTION = {option: future for future, option in FUTURE_OPTION_ROOTS.items()}
INDEX_OPTION_UNDERLYING = {"SPXW": "SPX", "NDXP": "NDX", "NQX": "NDX", "RUTW": "RUT", "VIXW": "VIX"}

NO_DATE = datetime(1998, 1, 1)  # noqa: DTZ001  SecurityIdentifier.DefaultDate: what a non-dated identifier carries


class FuturesOptionsSymbolMappings:
    @staticmethod
    def map(future_ticker: str) -> str:
        """FuturesOptionsSymbolMappings.Map: upper-cased, mapped, or the input itself."""
        ticker = future_ticker.upper()
        return FUTURE_OPTION_ROOTS.get(ticker, ticker)

    @staticmethod
    def map_from_option(option_ticker: str) -> str:
        """FuturesOptionsSymbolMappings.MapFromOption: the reverse, falling back to the input."""
        ticker = option_ticker.upper()
        return _FROM_OPTION.get(ticker, ticker)


@dataclass(frozen=True)
class SecurityIdentifier:
    symbol: str
    security_type: SecurityType
    date: datetime = NO_DATE
    option_right: OptionRight | None = None
    strike_price: float = 0.0
    option_style: OptionStyle | None = None
    market: str = "usa"


@dataclass(frozen=True)
class Symbol:
    value: str
    id: SecurityIdentifier
    underlying: Symbol | None = None
    canonical_: bool = False

    @property
    def security_type(self) -> SecurityType:
        return self.id.security_type

    @property
    def has_underlying(self) -> bool:
        return self.underlying is not None

    def is_canonical(self) -> bool:
        return self.canonical_

    def __str__(self) -> str:
        return self.value

    # ------------------------------------------------------------------ factories (Common/Symbol.cs Create*)

    @staticmethod
    def plain(ticker: str, kind: SecurityType, market: str = "usa") -> Symbol:
        return Symbol(ticker, SecurityIdentifier(ticker, kind, market=market))

    @staticmethod
    def create(ticker: str, kind: SecurityType, market: str = "usa") -> Symbol:
        """Symbol.Create for a non-derivative."""
        return Symbol.plain(ticker, kind, market)

    @staticmethod
    def future(root: str, expiry: date) -> Symbol:
        when = datetime(expiry.year, expiry.month, expiry.day)  # noqa: DTZ001
        return Symbol(f"{root}{expiry:%y%m%d}", SecurityIdentifier(root, SecurityType.FUTURE, when, market="cme"))

    @staticmethod
    def canonical_future(root: str) -> Symbol:
        return Symbol(f"/{root}", SecurityIdentifier(root, SecurityType.FUTURE, market="cme"), canonical_=True)

    @staticmethod
    def option_root(underlying: Symbol, root: str) -> str:
        """The identifier's ticker: a future option's is the mapped option root (GC → OG), whatever the caller
        passes; an index option keeps its own (SPXW); an equity option is its underlying's ticker."""
        if underlying.security_type is SecurityType.FUTURE:
            return FuturesOptionsSymbolMappings.map(underlying.id.symbol)
        return root

    @staticmethod
    def option_kind(underlying: Symbol) -> SecurityType:
        return {
            SecurityType.INDEX: SecurityType.INDEX_OPTION,
            SecurityType.FUTURE: SecurityType.FUTURE_OPTION,
        }.get(underlying.security_type, SecurityType.OPTION)

    @staticmethod
    def option(underlying: Symbol, root: str, right: OptionRight, strike: float, expiry: date) -> Symbol:
        kind = Symbol.option_kind(underlying)
        ticker = Symbol.option_root(underlying, root)
        style = OptionStyle.EUROPEAN if kind is SecurityType.INDEX_OPTION else OptionStyle.AMERICAN
        when = datetime(expiry.year, expiry.month, expiry.day)  # noqa: DTZ001
        letter = "C" if right is OptionRight.CALL else "P"
        sid = SecurityIdentifier(ticker, kind, when, right, strike, style, underlying.id.market)
        return Symbol(f"{ticker} {expiry:%y%m%d}{letter}{strike:08.0f}", sid, underlying)

    @staticmethod
    def canonical(underlying: Symbol, root: str) -> Symbol:
        kind = Symbol.option_kind(underlying)
        ticker = Symbol.option_root(underlying, root)
        sid = SecurityIdentifier(ticker, kind, market=underlying.id.market)
        return Symbol(f"?{ticker}", sid, underlying, canonical_=True)


def is_option(symbol: Symbol) -> bool:
    return symbol.security_type in OPTION_TYPES
