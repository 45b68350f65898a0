"""What the algorithm subscribes to, from the settings: only what the enabled strategies need.

`plan(settings)` is pure (tested without LEAN); `subscribe(algorithm, plan, ...)` carries it out.

Option universes are filtered by what each strategy can select, not by a count of strikes: LEAN's
`strikes(-n, +n)` counts *listed* strikes around the money (Common/Securities/Option/OptionFilterUniverse.cs
`Strikes`), so ±40 strikes is ±$40 on SPY, which never reaches a one-year 12-delta put (~25% out of the
money), an 80-delta LEAP (~20% in) or a 5-delta strangle wing. Each plan is a set of windows: a right (or
both), a range of days to expiry, and a band of strike / underlying price wide enough for the deltas the
strategy looks for in any volatility it trades in. The filter keeps a contract any window wants; LEAN keeps
contracts the portfolio holds in the chain whatever the filter says, so held structures are managed to expiry.
Future options need their futures listed that far out as well.

- SPX and VIX always (0DTE, the VIX regime, the beta reference); SPXW when 0DTE or LT112 on SPX trades.
- Equity/ETF underlyings with their options: LT112's small underlying, the IPMCC and ladder underlyings,
  the ETF strangles. Raw prices (options need the unadjusted underlying).
- Futures with their options: LT112's full-size underlying when it is a future, the future strangles
  (LEAN lists no micro future options, REFERENCE.md); MES for the delta hedge.
- The equity calendar (entries, market-open checks, the assignment check times) uses the equity hours of
  LEAN's market-hours database (09:30-16:00 New York), not the SPX index's (which closes at 16:15).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from AlgorithmImports import (
    DataNormalizationMode,
    Market,
    OptionFilterUniverse,
    OptionRight,
    QCAlgorithm,
    Resolution,
    SecurityExchangeHours,
    SecurityType,
    Symbol,
    TradeBar,
)
from core.model import Right
from core.ports import Calendar
from core.products import AssetKind, option_root, option_underlying, product
from core.settings import Settings

from lean_bridge.calendar import LeanCalendar

FUTURE_LISTING_EXTRA_DAYS = 100  # a future option's underlying future expires after it
# Quarterly futures a hedge or a roll may choose: the front one until 10 sessions before its last trade day, then
# the next, which is then up to ~115 days out (March 1 → June 21): two quarters listed always cover it.
HEDGE_LISTING_DAYS = 200

# Strike / price bands (the deltas each strategy looks for, at the highest volatility it trades in).
ZDTE_BAND = (0.92, 1.08)  # shorts 0.5-1 ATR out plus wings of up to 30 points, on the day
PUT_WING_BAND = (0.40, 1.02)  # far puts: the ladder's 12-delta one-year, strangles' 5-delta, LT112's 5-delta naked
CALL_WING_BAND = (0.98, 2.00)  # the strangles' 5-delta 90-day calls, up to VIX-40 volatility
LEAP_CALL_BAND = (0.40, 1.05)  # the IPMCC's 70-90 delta one-year calls are in the money
SHORT_CALL_BAND = (0.90, 1.10)  # the IPMCC's weekly call: at the money to two strikes in
SHORT_CALL_EXTRA_DAYS = 7  # the weekly call's expiry is the Friday after its DTE


@dataclass(frozen=True, slots=True)
class Window:
    """Contracts one strategy can select: right (None: both), days to expiry, strike / price band."""

    right: Right | None
    min_days: int
    max_days: int
    low: float
    high: float

    def wants(self, is_call: bool, days: int, moneyness: float) -> bool:
        if self.right is not None and (self.right is Right.CALL) != is_call:
            return False
        return self.min_days <= days <= self.max_days and self.low <= moneyness <= self.high


@dataclass(frozen=True, slots=True)
class OptionPlan:
    root: str  # the option root (SPXW, QQQ, ES)
    underlying: str  # the ticker subscribed first (SPX, QQQ, ES)
    windows: tuple[Window, ...]

    @property
    def max_days(self) -> int:
        return max(w.max_days for w in self.windows)

    def wants(self, is_call: bool, days: int, moneyness: float) -> bool:
        return any(w.wants(is_call, days, moneyness) for w in self.windows)


@dataclass(frozen=True, slots=True)
class Plan:
    indexes: tuple[str, ...]
    equities: tuple[str, ...]
    futures: dict[str, int] = field(default_factory=dict)  # root → days of listings to keep
    options: tuple[OptionPlan, ...] = ()


def plan(s: Settings) -> Plan:
    windows: dict[str, list[Window]] = {}
    futures: dict[str, int] = {}

    def want(root: str, *wanted: Window) -> None:
        windows.setdefault(root, []).extend(wanted)
        if product(root).kind is AssetKind.FUTURE:
            days = max(w.max_days for w in windows[root])
            futures[root] = max(futures.get(root, 0), days + FUTURE_LISTING_EXTRA_DAYS)

    if s.enable_zero_dte:
        want("SPXW", Window(None, 0, 0, *ZDTE_BAND))
    if s.enable_lt112:
        for root in {s.lt112_underlying_small, s.lt112_underlying_full}:
            want(option_root(root), Window(Right.PUT, s.lt112_min_dte, s.lt112_max_dte, *PUT_WING_BAND))
    if s.enable_ipmcc:
        short_days = s.ipmcc_short_call_dte + SHORT_CALL_EXTRA_DAYS
        want(
            s.ipmcc_underlying,
            Window(Right.CALL, s.ipmcc_leap_min_dte, s.ipmcc_leap_max_dte, *LEAP_CALL_BAND),
            Window(Right.CALL, 0, short_days, *SHORT_CALL_BAND),
        )
    if s.enable_leap_ladder:
        want(s.ladder_underlying, Window(Right.PUT, s.ladder_min_dte, s.ladder_max_dte, *PUT_WING_BAND))
    if s.enable_strangles:
        for root in (*s.strangle_products_etf, *s.strangle_products_etf_phase2, *s.strangle_products_future):
            want(
                root,
                Window(Right.PUT, s.strangle_min_dte, s.strangle_max_dte, *PUT_WING_BAND),
                Window(Right.CALL, s.strangle_min_dte, s.strangle_max_dte, *CALL_WING_BAND),
            )
    if s.enable_delta_hedge:
        futures["MES"] = max(futures.get("MES", 0), HEDGE_LISTING_DAYS)
    options = tuple(OptionPlan(r, option_underlying(r), tuple(windows[r])) for r in sorted(windows))
    equities = tuple(sorted(p.root for p in options if product(p.root).kind is AssetKind.EQUITY))
    return Plan(("SPX", "VIX"), equities, dict(sorted(futures.items())), options)


def select(p: OptionPlan, contracts: Iterable[Any], price: float | None, today: date) -> list[Any]:
    """The symbols of `contracts` (LEAN's OptionUniverse rows: `.symbol`, `.id`) that a window of the plan
    wants. Without an underlying price only the expiry windows apply."""
    out = []
    for contract in contracts:
        sid = contract.id
        days = (sid.date.date() - today).days
        is_call = sid.option_right == OptionRight.CALL
        moneyness = float(sid.strike_price) / price if price else 1.0
        if price:
            wanted = p.wants(is_call, days, moneyness)
        else:
            wanted = any(w.min_days <= days <= w.max_days for w in p.windows)
        if wanted:
            out.append(contract.symbol)
    return out


def option_filter(p: OptionPlan, sessions: Calendar) -> Callable[[OptionFilterUniverse], Any]:
    """The universe filter LEAN calls each day: expiries first (a cheap narrowing), then the windows. Returning
    a list of symbols is LEAN's documented alternative to a filtered universe (Option.cs `SetFilter(PyObject)`
    → `WhereContains`). LEAN selects the next session's contracts at the midnight after a session (Friday's
    midnight for Monday, Wednesday's for the Friday after Thanksgiving: OptionFilterUniverse
    `AdjustExpirationReferenceDate`), so days to expiry count from the next session, not from that midnight:
    counted from the Thursday holiday, the 0DTE's window of 0 days kept nothing on the Friday after."""

    def choose(universe: OptionFilterUniverse) -> Any:
        narrowed = universe.expiration(0, p.max_days)
        underlying = narrowed.underlying
        price = float(underlying.price) if underlying is not None and float(underlying.price) > 0 else None
        day = narrowed.local_time.date()
        reference = day if sessions.is_session(day) else sessions.next_session(day)
        return select(p, narrowed, price, reference)

    return choose


@dataclass
class Subscribed:
    """What the shell reads prices from, by core root."""

    prices: dict[str, Symbol]
    vix: Symbol
    equity_hours: SecurityExchangeHours
    cme_hours: SecurityExchangeHours | None
    reference: Symbol  # SPX: the schedules' market
    futures: dict[str, Symbol] = field(default_factory=dict)  # root → its canonical (continuous) symbol


def equity_hours(algorithm: QCAlgorithm) -> SecurityExchangeHours:
    """US equity hours from LEAN's market-hours database, whether or not an equity is subscribed."""
    spy = Symbol.create("SPY", SecurityType.EQUITY, Market.USA)
    hours: SecurityExchangeHours = algorithm.market_hours_database.get_exchange_hours(
        Market.USA, spy, SecurityType.EQUITY
    )
    return hours


def subscribe(
    algorithm: QCAlgorithm, p: Plan, on_daily_bar: Callable[[str, TradeBar], None], resolution: Resolution
) -> Subscribed:
    """Add every security of the plan, each underlying with a daily consolidator feeding the history."""
    prices: dict[str, Symbol] = {}
    futures: dict[str, Symbol] = {}
    hours = equity_hours(algorithm)
    sessions = LeanCalendar(hours)
    spx = algorithm.add_index("SPX", resolution)
    vix = algorithm.add_index("VIX", resolution)
    prices["SPX"] = spx.symbol
    for ticker in p.equities:
        prices[ticker] = algorithm.add_equity(
            ticker, resolution, data_normalization_mode=DataNormalizationMode.RAW
        ).symbol
    cme_hours = None
    for root, days in p.futures.items():
        future = algorithm.add_future(root, resolution, data_normalization_mode=DataNormalizationMode.RAW)
        future.set_filter(0, days)
        prices[root] = futures[root] = future.symbol
        cme_hours = future.exchange.hours
    for option in p.options:
        kind = product(option.root).kind
        if kind is AssetKind.INDEX:
            index_option = algorithm.add_index_option(spx.symbol, option.root, resolution)
            index_option.set_filter(option_filter(option, sessions))
        elif kind is AssetKind.EQUITY:
            algorithm.add_option(prices[option.root], resolution).set_filter(option_filter(option, sessions))
        else:
            algorithm.add_future_option(prices[option.root], option_filter(option, sessions))
    for root, symbol in prices.items():
        algorithm.consolidate(symbol, Resolution.DAILY, _daily_handler(root, on_daily_bar))
    return Subscribed(prices, vix.symbol, hours, cme_hours, spx.symbol, futures)


def _daily_handler(root: str, on_daily_bar: Callable[[str, TradeBar], None]) -> Callable[[TradeBar], None]:
    def handle(bar: TradeBar) -> None:
        on_daily_bar(root, bar)

    return handle


def warm_up(settings: Settings) -> timedelta:
    return timedelta(days=settings.warm_up_days)
