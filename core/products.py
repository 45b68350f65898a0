"""Product facts the core needs: what kind of instrument a root is, its multiplier and tick, how its options
settle. These are facts about listed products (CBOE, CME and LEAN's symbol-properties database), not trading
rules, so they live here rather than in the settings."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AssetKind(StrEnum):
    EQUITY = "equity"  # stocks and ETFs
    INDEX = "index"
    FUTURE = "future"


class Settlement(StrEnum):
    CASH = "cash"
    PHYSICAL = "physical"


class ExerciseStyle(StrEnum):
    AMERICAN = "american"
    EUROPEAN = "european"


@dataclass(frozen=True, slots=True)
class Product:
    """An underlying root and how its options (if any) behave."""

    root: str
    kind: AssetKind
    multiplier: float  # of the underlying future, or of an option on a stock or index (100)
    option_multiplier: float
    option_settlement: Settlement
    option_style: ExerciseStyle
    micro: bool = False
    broad_index: bool = False
    etf: bool = False  # exchange-traded fund: exempt from single-stock earnings rules
    calendar: str = "XNYS"  # exchange_calendars name of the calendar its options trade on


def _etf(root: str) -> Product:
    return Product(root, AssetKind.EQUITY, 1.0, 100.0, Settlement.PHYSICAL, ExerciseStyle.AMERICAN, etf=True)


def _index(root: str) -> Product:
    return Product(root, AssetKind.INDEX, 1.0, 100.0, Settlement.CASH, ExerciseStyle.EUROPEAN, broad_index=True)


def _future(root: str, multiplier: float, micro: bool = False) -> Product:
    # CME options on futures deliver the future (physical) and are American for the standard contracts.
    return Product(
        root,
        AssetKind.FUTURE,
        multiplier,
        multiplier,
        Settlement.PHYSICAL,
        ExerciseStyle.AMERICAN,
        micro=micro,
        calendar="CMES",
    )


PRODUCTS: dict[str, Product] = {
    p.root: p
    for p in (
        *(_etf(r) for r in ("SPY", "QQQ", "IWM", "DIA", "GLD", "TLT", "USO", "SLV", "XOP", "XLE", "SIL")),
        *(_index(r) for r in ("SPX", "SPXW", "XSP", "NDX", "NDXP", "RUT", "RUTW")),
        # Multipliers from CME contract specs (and LEAN's symbol-properties database, e.g. MES 5).
        _future("ES", 50.0),
        _future("MES", 5.0, micro=True),
        _future("NQ", 20.0),
        _future("MNQ", 2.0, micro=True),
        _future("RTY", 50.0),
        _future("M2K", 5.0, micro=True),
        _future("YM", 5.0),
        _future("MYM", 0.5, micro=True),
        _future("CL", 1_000.0),
        _future("MCL", 100.0, micro=True),
        _future("NG", 10_000.0),
        _future("GC", 100.0),
        _future("MGC", 10.0, micro=True),
        _future("SI", 5_000.0),
        _future("HG", 25_000.0),
        _future("6E", 125_000.0),
        _future("M6E", 12_500.0, micro=True),
        _future("ZB", 1_000.0),
        _future("ZN", 1_000.0),
    )
}


# Option roots written on another root's price: SPXW (weekly and daily SPX options), NDXP, RUTW.
OPTION_UNDERLYING = {"SPXW": "SPX", "NDXP": "NDX", "RUTW": "RUT"}


# The option class a strategy trades when a parameter names an index: SPX's PM-settled SPXW (weeklies, end of
# month and quarter, third Fridays since 2017: one class with the expiries LT112's 110-130-day window needs,
# and the class LEAN's index option subscriptions carry); the AM-settled SPX monthlies settle on the next
# morning's opening prices. Everything else trades options of its own name.
TRADED_OPTION_ROOT = {"SPX": "SPXW", "NDX": "NDXP", "RUT": "RUTW"}


def option_root(underlying: str) -> str:
    """The option root traded on `underlying` (SPXW for SPX; an ETF's or a future's own root)."""
    return TRADED_OPTION_ROOT.get(underlying, underlying)


def option_underlying(root: str) -> str:
    """The root whose price an option root's options are written on (SPX for SPXW; the root itself for an
    ETF's, an index's own or a future's options)."""
    return OPTION_UNDERLYING.get(root.upper(), root.upper())


class UnknownProductError(KeyError):
    pass


def is_single_stock(root: str) -> bool:
    """A stock with earnings: any equity root that is not a known ETF (an unknown root counts as one, the
    conservative side for the earnings rule)."""
    known = PRODUCTS.get(root.upper())
    return known is None or (known.kind is AssetKind.EQUITY and not known.etf)


def product(root: str) -> Product:
    """The product for a root; an unknown root is an error with the root named, never a guess."""
    try:
        return PRODUCTS[root.upper()]
    except KeyError:
        raise UnknownProductError(f"unknown product root '{root}' (known: {', '.join(sorted(PRODUCTS))})") from None


CBOE_INDEX_OPTION_ROOTS = ("SPX", "SPXW", "NDX", "NDXP", "RUT", "RUTW", "XSP")  # Cboe's own tick rules


def option_tick(root: str, price: float) -> float:
    """Minimum price increment of an option (and of a combo's net price) on a root: CBOE's SPX/SPXW 0.05
    under 3.00 and 0.10 above; penny-pilot ETFs (SPY, QQQ, IWM) 0.01; other ETF options 0.01 under 3.00 and
    0.05 above; CME options by contract (ES 0.05 under 5.00 and 0.25 above; CL 0.01; GC 0.10; 6E 0.00005;
    treasuries 1/64)."""
    root = root.upper()
    p = abs(price)
    if root in CBOE_INDEX_OPTION_ROOTS:
        return 0.05 if p < 3.0 else 0.10
    if root in ("SPY", "QQQ", "IWM"):
        return 0.01
    known = PRODUCTS.get(root)
    if known is not None and known.kind is AssetKind.FUTURE:
        return {
            "ES": 0.05 if p < 5.0 else 0.25,
            "NQ": 0.05 if p < 5.0 else 0.25,
            "RTY": 0.05 if p < 5.0 else 0.10,
            "YM": 1.0,
            "CL": 0.01,
            "NG": 0.001,
            "GC": 0.10,
            "SI": 0.005,
            "HG": 0.0005,
            "6E": 0.00005,
            "ZB": 1.0 / 64.0,
            "ZN": 1.0 / 64.0,
        }.get(root, 0.01)
    return 0.01 if p < 3.0 else 0.05


# Futures price increments (CME contract specifications), in price points.
FUTURE_TICKS = {
    "ES": 0.25, "MES": 0.25, "NQ": 0.25, "MNQ": 0.25, "RTY": 0.10, "M2K": 0.10, "YM": 1.0, "MYM": 1.0,
    "CL": 0.01, "MCL": 0.01, "NG": 0.001, "GC": 0.10, "MGC": 0.10, "SI": 0.005, "HG": 0.0005,
    "6E": 0.00005, "M6E": 0.0001, "ZB": 1.0 / 32.0, "ZN": 1.0 / 64.0,
}  # fmt: skip


def future_tick(root: str) -> float:
    """A future's own price increment (not its options')."""
    return FUTURE_TICKS.get(root.upper(), 0.01)


def order_tick(root: str, price: float, legs: int) -> float:
    """Price increment of an order's limit: a single option's tick (`option_tick`), or for a combo of
    several legs the net package increment, which is finer: SPX/SPXW complex orders trade in 0.05 at any
    price (Cboe's SPX specification; TastyTrade steps SPX spreads by 0.05), equity and ETF complex orders
    in 0.01, and CME option spreads at the product's reduced tick (ES 0.05). On the single-leg 0.10 grid a
    condor whose natural is 4.65 could never be reached without going past it, so it never filled."""
    if legs <= 1:
        return option_tick(root, price)
    if root.upper() in CBOE_INDEX_OPTION_ROOTS:
        return 0.05
    return option_tick(root, 0.0)  # the smallest (reduced) tick: 0.01 for equity classes, ES 0.05
