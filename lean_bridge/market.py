"""LEAN's data → the core's `MarketSnapshot`, built only when a step is due.

- Chains: `slice.option_chains` holds one `OptionChain` per canonical symbol (one per future contract for
  future options). Each becomes rows of one columnar `Chain` per root; the future options of several
  futures are merged into one ES chain whose `underlying_price` is the front future's (each contract keeps
  its own Greeks; only model-filled Greeks use that price). LEAN's Greeks and IV are zero until its price
  model has warmed up: a zero is read as "missing" and core/chain_greeks fills it.
- Every contract converted is remembered in the symbol registry, so an order for it can name its symbol.
- Daily bars (ATR, EMA, 52-week high, ranges) come from LEAN's daily consolidators, which also run during
  warm-up; the daily ATM IV (the strangles' IV rank) is recorded from the chains once a day, after
  `IV_SAMPLE_TIME` (or from the daily slices of the warm-up).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
from AlgorithmImports import OptionChain, OptionContract, OptionRight, SecurityType
from core.chain_greeks import ensure_greeks
from core.indicators import atm_iv
from core.model import _EPOCH_ORDINAL, Chain, DailyBars, FloatArray, MarketSnapshot
from core.settings import Settings

from lean_bridge.symbols import SymbolRegistry, known_root, root_of

NEW_YORK = ZoneInfo("America/New_York")
IV_SAMPLE_TIME = time(15, 45)
KEEP_DAYS = 400  # 252 sessions of IV rank and 52-week highs, with room


def _nonzero_or_nan(value: float) -> float:
    return value if math.isfinite(value) and value != 0.0 else math.nan


@dataclass
class Columns:
    """One root's chain as Python lists while LEAN's contracts are read (LEAN hands them over one by one)."""

    expiry: list[int] = field(default_factory=list)  # days since 1970-01-01
    strike: list[float] = field(default_factory=list)
    is_call: list[bool] = field(default_factory=list)
    bid: list[float] = field(default_factory=list)
    ask: list[float] = field(default_factory=list)
    greeks: tuple[list[float], ...] = field(default_factory=lambda: ([], [], [], [], []))  # iv, Δ, Γ, vega, θ

    def read(self, root: str, contracts: Iterable[OptionContract], registry: SymbolRegistry) -> int:
        """Append every contract of one LEAN chain; a zero IV or Greek is read as missing. Returns the count."""
        n = 0
        for contract in contracts:
            day = contract.expiry.date()
            k = float(contract.strike)
            call = contract.right == OptionRight.CALL
            registry.remember((root, day, k, call), contract.symbol)
            self.expiry.append(day.toordinal() - _EPOCH_ORDINAL)
            self.strike.append(k)
            self.is_call.append(call)
            self.bid.append(float(contract.bid_price))
            self.ask.append(float(contract.ask_price))
            g = contract.greeks
            values = (contract.implied_volatility, g.delta, g.gamma, g.vega, g.theta)
            for column, value in zip(self.greeks, values, strict=True):
                column.append(_nonzero_or_nan(float(value)))
            n += 1
        return n

    def chain(self, root: str, underlying_price: float, now: datetime) -> Chain:
        def floats(values: list[float]) -> FloatArray:
            return np.asarray(values, dtype=np.float64)

        iv, delta, gamma, vega, theta = (floats(c) for c in self.greeks)
        expiry = np.asarray(self.expiry, dtype=np.int64)
        calls = np.asarray(self.is_call, dtype=np.bool_)
        strike, bid, ask = floats(self.strike), floats(self.bid), floats(self.ask)
        return Chain(root, underlying_price, now, expiry, strike, calls, bid, ask, iv, delta, gamma, vega, theta)


def chains_from(
    option_chains: Iterable[OptionChain], now: datetime, registry: SymbolRegistry, settings: Settings
) -> dict[str, Chain]:
    """One `Chain` per root from LEAN's option chains (module docstring)."""
    columns: dict[str, Columns] = {}
    underlying: dict[str, tuple[date, float]] = {}
    for lean_chain in option_chains:
        root = root_of(lean_chain.symbol)
        if not known_root(root):  # priced by core/chain_greeks from product facts: an unknown root cannot be
            registry.skipped(root, "option chain")
            continue
        if not columns.setdefault(root, Columns()).read(root, lean_chain, registry):
            continue
        # The front future's price stands for a merged future-option chain; an equity or index chain has one.
        price = float(lean_chain.underlying.price)
        under = lean_chain.symbol.underlying
        # Only a future's identifier is sure to carry a date (older LEAN throws for an index's).
        which = under.id.date.date() if under.security_type == SecurityType.FUTURE else date.min
        if price > 0 and (root not in underlying or which < underlying[root][0]):
            underlying[root] = (which, price)
    # A root without an underlying price cannot be used (data validation reports the missing chain).
    return {
        root: ensure_greeks(
            cols.chain(root, underlying[root][1], now), settings.risk_free_rate, settings.yield_of(root)
        )
        for root, cols in columns.items()
        if root in underlying
    }


class DailyHistory:
    """Completed daily bars and one ATM IV a day per root, oldest first, at most KEEP_DAYS of each. The arrays
    handed to snapshots are built once per change (a bar or an IV a day), not for every snapshot: while an
    order works the shell builds one a minute."""

    def __init__(self) -> None:
        self._bars: dict[str, dict[date, tuple[float, float, float, float]]] = {}
        self._iv: dict[str, dict[date, float]] = {}
        self._daily: dict[str, DailyBars] | None = None  # built from _bars, dropped when a bar is added
        self._iv_arrays: dict[str, FloatArray] | None = None  # built from _iv, dropped when an IV is added
        self.sampled: date | None = None  # the day of the last IV sample

    def add_bar(self, root: str, day: date, open_: float, high: float, low: float, close: float) -> None:
        if not all(math.isfinite(v) and v > 0 for v in (open_, high, low, close)):
            return  # a bad bar is left out rather than poisoning the ATR
        days = self._bars.setdefault(root, {})
        days[day] = (open_, high, low, close)
        while len(days) > KEEP_DAYS:
            del days[min(days)]
        self._daily = None

    def add_iv(self, root: str, day: date, iv: float) -> None:
        days = self._iv.setdefault(root, {})
        days[day] = iv
        while len(days) > KEEP_DAYS:
            del days[min(days)]
        self._iv_arrays = None

    def has_iv(self, root: str, day: date) -> bool:
        return day in self._iv.get(root, {})

    def wants_iv(self, now: datetime, warming_up: bool) -> bool:
        """Whether today's sample is still to be taken: after IV_SAMPLE_TIME, or at any time of day during
        warm-up (LEAN's daily warm-up slices arrive at midnight)."""
        local = now.astimezone(NEW_YORK)
        return self.sampled != local.date() and (warming_up or local.time() >= IV_SAMPLE_TIME)

    def sample_iv(self, chains: dict[str, Chain], now: datetime) -> None:
        """Each chain's 30-day ATM IV, once a day."""
        day = now.astimezone(NEW_YORK).date()
        self.sampled = day
        for root, chain in chains.items():
            if not self.has_iv(root, day):
                iv = atm_iv(chain, day)
                if iv is not None:
                    self.add_iv(root, day, iv)

    def bars(self, root: str) -> DailyBars | None:
        return self.daily().get(root)

    def daily(self) -> dict[str, DailyBars]:
        if self._daily is None:
            self._daily = {}
            for root, days in self._bars.items():
                ordered = sorted(days)
                values = np.array([days[d] for d in ordered], dtype=np.float64)
                self._daily[root] = DailyBars(tuple(ordered), values[:, 0], values[:, 1], values[:, 2], values[:, 3])
        return dict(self._daily)

    def iv_history(self) -> dict[str, FloatArray]:
        if self._iv_arrays is None:
            self._iv_arrays = {
                root: np.array([days[d] for d in sorted(days)], dtype=np.float64) for root, days in self._iv.items()
            }
        return dict(self._iv_arrays)


def snapshot(
    now: datetime,
    chains: dict[str, Chain],
    prices: dict[str, float],
    vix: float | None,
    history: DailyHistory,
    session_open: dict[str, float],
) -> MarketSnapshot:
    """The snapshot the pipeline steps on; prices that are zero or not finite are left out (no price is
    better than a wrong one: the strategies then say "no price")."""
    usable = {root: p for root, p in prices.items() if math.isfinite(p) and p > 0}
    level = vix if vix is not None and math.isfinite(vix) and vix > 0 else None
    return MarketSnapshot(now, usable, level, chains, history.daily(), dict(session_open), history.iv_history())
