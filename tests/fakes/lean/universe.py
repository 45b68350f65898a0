"""Option universe filters, as Common/Securities/Option/OptionFilterUniverse.cs and
Common/Securities/ContractSecurityFilterUniverse.cs apply them to the day's listed contracts.

- `strikes(low, high)` counts *listed strikes* around the underlying price, not dollars
  (OptionFilterUniverse.Strikes): the strikes are the distinct strikes of the contracts still in the universe;
  the price is found by binary search (an exact strike, else the next strike above, with the upper bound
  brought one down when the range spans both sides, or both bounds when it starts above); bounds are
  clamped and inclusive; a price above every strike leaves nothing.
- `expiration(low, high)` keeps expiries from the reference date + low to + high calendar days, inclusive;
  the reference is the selection date, moved to the next trading day when it is not one
  (AdjustExpirationReferenceDate).
- `include_weeklys()` is obsolete and changes nothing: weeklies are in by default (DefaultExpirationType).
- Greek filters (`delta`, `implied_volatility`) read the universe file's precomputed values, inclusive, and
  raise for future options ("Delta filter is not supported for future options.").
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tests.fakes.lean.enums import OptionRight, SecurityType
from tests.fakes.lean.symbols import SecurityIdentifier, Symbol


@dataclass(frozen=True)
class UniverseRow:
    """One line of an option-universe file: the contract and its precomputed values."""

    symbol: Symbol
    delta: float = 0.0
    implied_volatility: float = 0.0

    @property
    def id(self) -> SecurityIdentifier:  # the contract's identifier, as LEAN's OptionUniverse exposes it
        return self.symbol.id


@dataclass(frozen=True)
class UnderlyingData:
    """The universe file's underlying row (OptionFilterUniverse.Underlying: a BaseData with a price)."""

    price: float


class OptionFilterUniverse:
    """Iterating it yields the remaining rows (ContractSecurityFilterUniverse.GetEnumerator); `underlying` is
    None without an underlying row; `local_time` is the selection time in the exchange's zone."""

    def __init__(
        self,
        rows: list[UniverseRow],
        underlying_price: float | None,
        local_date: date,
        next_trading_day: Callable[[date], date] | None = None,
    ) -> None:
        self.data = list(rows)
        self.underlying_price = underlying_price
        self.underlying = UnderlyingData(underlying_price) if underlying_price else None
        self.local_date = local_date
        self.local_time = datetime.combine(local_date, time(0, 0))
        self._next_trading_day = next_trading_day
        self.calls: list[tuple[str, tuple[object, ...]]] = []  # what the algorithm's filter asked, in order

    def __iter__(self) -> Iterator[UniverseRow]:
        return iter(list(self.data))

    @property
    def symbols(self) -> list[Symbol]:
        return [row.symbol for row in self.data]

    def _is_future_option(self) -> bool:
        return any(row.symbol.security_type is SecurityType.FUTURE_OPTION for row in self.data)

    # ---------------------------------------------------------------- filters

    def include_weeklys(self) -> OptionFilterUniverse:
        self.calls.append(("include_weeklys", ()))
        return self

    def strikes(self, min_strike: int, max_strike: int) -> OptionFilterUniverse:
        self.calls.append(("strikes", (min_strike, max_strike)))
        if self.underlying_price is None:
            return self
        unique = sorted({row.symbol.id.strike_price for row in self.data})
        index = bisect.bisect_left(unique, self.underlying_price)
        exact = index < len(unique) and unique[index] == self.underlying_price
        if not exact and index == len(unique):
            return self._empty()
        low, high = index + min_strike, index + max_strike
        if not exact:
            if min_strike < 0 < max_strike:
                high -= 1
            elif min_strike > 0:
                low, high = low - 1, high - 1
        if low >= len(unique) or high < 0:
            return self._empty()
        low, high = max(low, 0), min(high, len(unique) - 1)
        lo_price, hi_price = unique[low], unique[high]
        self.data = [row for row in self.data if lo_price <= row.symbol.id.strike_price <= hi_price]
        return self

    def expiration(self, min_days: int, max_days: int) -> OptionFilterUniverse:
        self.calls.append(("expiration", (min_days, max_days)))
        reference = self.local_date
        if self._next_trading_day is not None:
            reference = self._next_trading_day(reference)
        first, last = reference + timedelta(days=min_days), reference + timedelta(days=max_days)
        self.data = [row for row in self.data if first <= row.symbol.id.date.date() <= last]
        return self

    def calls_only(self) -> OptionFilterUniverse:
        self.calls.append(("calls_only", ()))
        self.data = [row for row in self.data if row.symbol.id.option_right is OptionRight.CALL]
        return self

    def puts_only(self) -> OptionFilterUniverse:
        self.calls.append(("puts_only", ()))
        self.data = [row for row in self.data if row.symbol.id.option_right is OptionRight.PUT]
        return self

    def delta(self, low: float, high: float) -> OptionFilterUniverse:
        self.calls.append(("delta", (low, high)))
        if self._is_future_option():
            raise InvalidOperationException("Delta filter is not supported for future options.")
        self.data = [row for row in self.data if low <= row.delta <= high]
        return self

    def implied_volatility(self, low: float, high: float) -> OptionFilterUniverse:
        self.calls.append(("implied_volatility", (low, high)))
        if self._is_future_option():
            raise InvalidOperationException("ImpliedVolatility filter is not supported for future options.")
        self.data = [row for row in self.data if low <= row.implied_volatility <= high]
        return self

    def where(self, predicate: Callable[[UniverseRow], bool]) -> OptionFilterUniverse:
        self.calls.append(("where", ()))
        self.data = [row for row in self.data if predicate(row)]
        return self

    def _empty(self) -> OptionFilterUniverse:
        self.data = []
        return self


class InvalidOperationException(Exception):
    pass
