"""What the algorithm subscribes to, from the settings: only what the enabled strategies need.

`plan(settings)` is pure (tested without LEAN); `subscribe(algorithm, plan, ...)` carries it out. Option
filters reach from today (held structures are managed to expiry: 0 days) to the longest expiry a strategy
opens, ± a number of strikes around the money wide enough for its deltas (a 5-delta 90-day strangle is
far out; an IPMCC LEAP is deep in). Future options need their futures listed that far out as well.

- SPX and VIX always (0DTE, the VIX regime, the beta reference); SPXW with a 0DTE filter when 0DTE is on.
- Equity/ETF underlyings with their options: LT112's small underlying, the IPMCC and ladder underlyings,
  the ETF strangles. Raw prices (options need the unadjusted underlying).
- Futures with their options: LT112's full-size underlying when it is a future, the future strangles
  (LEAN lists no micro future options, REFERENCE.md); MES for the delta hedge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from AlgorithmImports import (
    DataNormalizationMode,
    OptionFilterUniverse,
    QCAlgorithm,
    Resolution,
    SecurityExchangeHours,
    Symbol,
    TradeBar,
)
from core.products import AssetKind, option_root, option_underlying, product
from core.settings import Settings

ZDTE_STRIKES = 80  # SPXW strikes each side: 0.5-1.0 ATR out plus 50-point wings at 5-point spacing
STRIKES = 40
FUTURE_LISTING_EXTRA_DAYS = 100  # a future option's underlying future expires after it


@dataclass(frozen=True, slots=True)
class OptionPlan:
    root: str  # the option root (SPXW, QQQ, ES)
    underlying: str  # the ticker subscribed first (SPX, QQQ, ES)
    max_days: int
    strikes: int
    weeklys: bool = True


@dataclass(frozen=True, slots=True)
class Plan:
    indexes: tuple[str, ...]
    equities: tuple[str, ...]
    futures: dict[str, int] = field(default_factory=dict)  # root → days of listings to keep
    options: tuple[OptionPlan, ...] = ()


def plan(s: Settings) -> Plan:
    options: dict[str, OptionPlan] = {}
    futures: dict[str, int] = {}

    def want(root: str, days: int, strikes: int = STRIKES) -> None:
        kind = product(root).kind
        held = options.get(root)
        if held is not None:
            days, strikes = max(days, held.max_days), max(strikes, held.strikes)
        options[root] = OptionPlan(root, option_underlying(root), days, strikes)
        if kind is AssetKind.FUTURE:
            futures[root] = max(futures.get(root, 0), days + FUTURE_LISTING_EXTRA_DAYS)

    if s.enable_zero_dte:
        want("SPXW", 0, ZDTE_STRIKES)
    if s.enable_lt112:
        for root in {s.lt112_underlying_small, s.lt112_underlying_full}:
            want(option_root(root), s.lt112_max_dte)
    if s.enable_ipmcc:
        want(s.ipmcc_underlying, s.ipmcc_leap_max_dte)
    if s.enable_leap_ladder:
        want(s.ladder_underlying, s.ladder_max_dte)
    if s.enable_strangles:
        for root in (*s.strangle_products_etf, *s.strangle_products_etf_phase2, *s.strangle_products_future):
            want(root, s.strangle_max_dte)
    if s.enable_delta_hedge:
        futures["MES"] = max(futures.get("MES", 0), FUTURE_LISTING_EXTRA_DAYS)
    equities = tuple(sorted(r for r in options if product(r).kind is AssetKind.EQUITY))
    return Plan(("SPX", "VIX"), equities, dict(sorted(futures.items())), tuple(options[r] for r in sorted(options)))


def option_filter(p: OptionPlan) -> Callable[[OptionFilterUniverse], OptionFilterUniverse]:
    def select(universe: OptionFilterUniverse) -> OptionFilterUniverse:
        chosen = universe.include_weeklys() if p.weeklys else universe
        narrowed: OptionFilterUniverse = chosen.strikes(-p.strikes, p.strikes).expiration(0, p.max_days)
        return narrowed

    return select


@dataclass
class Subscribed:
    """What the shell reads prices from, by core root."""

    prices: dict[str, Symbol]
    vix: Symbol
    equity_hours: SecurityExchangeHours
    cme_hours: SecurityExchangeHours | None
    reference: Symbol  # SPX: the schedules' market


def subscribe(
    algorithm: QCAlgorithm, p: Plan, on_daily_bar: Callable[[str, TradeBar], None], resolution: Resolution
) -> Subscribed:
    """Add every security of the plan, each underlying with a daily consolidator feeding the history."""
    prices: dict[str, Symbol] = {}
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
        prices[root] = future.symbol
        cme_hours = future.exchange.hours
    for option in p.options:
        kind = product(option.root).kind
        if kind is AssetKind.INDEX:
            index_option = algorithm.add_index_option(spx.symbol, option.root, resolution)
            index_option.set_filter(option_filter(option))
        elif kind is AssetKind.EQUITY:
            algorithm.add_option(prices[option.root], resolution).set_filter(option_filter(option))
        else:
            algorithm.add_future_option(prices[option.root], option_filter(option))
    for root, symbol in prices.items():
        algorithm.consolidate(symbol, Resolution.DAILY, _daily_handler(root, on_daily_bar))
    return Subscribed(prices, vix.symbol, spx.exchange.hours, cme_hours, spx.symbol)


def _daily_handler(root: str, on_daily_bar: Callable[[str, TradeBar], None]) -> Callable[[TradeBar], None]:
    def handle(bar: TradeBar) -> None:
        on_daily_bar(root, bar)

    return handle


def warm_up(settings: Settings) -> timedelta:
    return timedelta(days=settings.warm_up_days)
