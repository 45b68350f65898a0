"""The domain types every package shares (DESIGN.md "Core types").

Conventions, stated once: prices are per unit of the underlying (multiply by `Contract.multiplier` for
dollars); a `Leg.ratio` and a `Position.quantity` are signed (+ long, − short); a structure's
`entry_price` is its net price per unit, positive for a debit paid and negative for a credit received;
datetimes are timezone-aware (a naive one is rejected at construction).

`Chain` is columnar: one numpy array per field, one element per contract, so selection is vectorised.
Rows with NaN, zero or crossed quotes are kept and flagged (`QuoteFlag`), never dropped silently;
selection helpers skip flagged rows and say so when nothing usable is left.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntFlag, StrEnum
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt

from core.products import AssetKind, ExerciseStyle, Settlement, future_tick, order_tick, product

T = TypeVar("T")
FloatArray = npt.NDArray[np.float64]


def _require_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment.isoformat()}")


class Right(StrEnum):
    CALL = "call"
    PUT = "put"


class ContractKind(StrEnum):
    FUTURE = "future"
    INDEX = "index"
    EQUITY = "equity"
    OPTION = "option"


@dataclass(frozen=True, slots=True)
class Contract:
    """One tradable (or reference) instrument; hashable, the key of positions and fills."""

    root: str  # the option or future root (SPXW, ES, QQQ)
    underlying: str  # the root of what it is written on: SPX for SPXW, ES for an ES option, QQQ
    kind: ContractKind
    multiplier: float
    exchange: str = ""
    right: Right | None = None
    strike: float | None = None
    expiry: date | None = None
    style: ExerciseStyle | None = None
    settlement: Settlement | None = None
    underlying_expiry: date | None = None  # the future's last trade date, for futures and future options

    def __post_init__(self) -> None:
        if self.kind is ContractKind.OPTION and (self.right is None or self.strike is None or self.expiry is None):
            raise ValueError(f"option contract {self.root} needs right, strike and expiry")
        if self.multiplier <= 0:
            raise ValueError(f"contract {self.root} needs a positive multiplier")


def option_contract(root: str, underlying: str, right: Right, strike: float, expiry: date) -> Contract:
    """An option with its product's multiplier, exercise style and settlement (core/products): the one way
    every package builds one, so a contract from a chain row, a LEAN symbol or a broker symbol compares
    equal. An unknown root raises UnknownProductError, never a guess."""
    facts = product(root)
    return Contract(
        root=root,
        underlying=underlying,
        kind=ContractKind.OPTION,
        multiplier=facts.option_multiplier,
        right=right,
        strike=strike,
        expiry=expiry,
        style=facts.option_style,
        settlement=facts.option_settlement,
    )


def equity_contract(root: str) -> Contract:
    """Shares (or ETF units) of a root: what an equity option delivers."""
    return Contract(root, root, ContractKind.EQUITY, 1.0)


def future_contract(root: str, last_trade: date | None) -> Contract:
    """One future of a root, by its last trade date (None when the caller cannot tell which contract)."""
    return Contract(root, root, ContractKind.FUTURE, product(root).multiplier, "CME", underlying_expiry=last_trade)


def delivery(option: Contract, position: int, last_trade: date | None = None) -> tuple[Contract, int] | None:
    """What exercising or being assigned on `position` (signed) options delivers, as (contract, signed
    quantity), or None for a cash-settled option. A call delivers long, a put short, times the position:
    a short put assigned (-1) brings +100 shares; a long put exercised (+1) delivers -100. Future options
    deliver one future per option (`last_trade` names the contract)."""
    if option.kind is not ContractKind.OPTION or option.settlement is not Settlement.PHYSICAL:
        return None
    sign = 1 if option.right is Right.CALL else -1
    if product(option.underlying).kind is AssetKind.FUTURE:
        return future_contract(option.underlying, last_trade), sign * position
    return equity_contract(option.underlying), sign * position * round(option.multiplier)


# ---------------------------------------------------------------------------------------------- selection


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    value: T


@dataclass(frozen=True, slots=True)
class NotFound:
    """Nothing qualified; `reason` says why in words a trader reads in the log."""

    reason: str


class QuoteFlag(IntFlag):
    NONE = 0
    NOT_FINITE = 1  # bid or ask NaN or infinite
    NEGATIVE_BID = 2
    NO_ASK = 4  # ask zero or negative
    CROSSED = 8  # ask below bid


def quote_flags(bid: FloatArray, ask: FloatArray) -> npt.NDArray[np.int8]:
    """The structural quote checks, vectorised (safety/data adds spread width and staleness)."""
    # Every chain of a replay passes here: whole-array arithmetic, not four masked in-place updates (a fifth
    # of building a small chain).
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(bid) & np.isfinite(ask)
        checks = (
            (bid < 0) * np.int8(QuoteFlag.NEGATIVE_BID)
            | (ask <= 0) * np.int8(QuoteFlag.NO_ASK)
            | (ask < bid) * np.int8(QuoteFlag.CROSSED)
        )
    flags: npt.NDArray[np.int8] = np.where(finite, checks, np.int8(QuoteFlag.NOT_FINITE)).astype(np.int8)
    return flags


def limit_tick(legs: Sequence[Leg], price: float) -> float:
    """The increment an order for these legs is priced in: a future's own tick for futures, else the option
    or combo grid (core/products.order_tick). One answer for the fill tracker, the LEAN router and closes."""
    if all(leg.contract.kind is ContractKind.FUTURE for leg in legs):
        return future_tick(legs[0].contract.root)
    return order_tick(legs[0].contract.root, price, len(legs))


def quote_is_usable(bid: float, ask: float) -> bool:
    """One quote by the rules of `quote_flags` (finite, bid ≥ 0, ask > 0, not crossed): for code that prices a
    few legs at a time, where arrays would cost more than they save."""
    return math.isfinite(bid) and math.isfinite(ask) and bid >= 0 and ask > 0 and ask >= bid


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One option quote, for building a Chain from rows (tests, data sources)."""

    expiry: date
    strike: float
    right: Right
    bid: float
    ask: float
    iv: float = float("nan")
    delta: float = float("nan")
    gamma: float = float("nan")
    vega: float = float("nan")
    theta: float = float("nan")


@dataclass(frozen=True, eq=False)
class Chain:
    """One underlying's options at one time, one array per field."""

    root: str
    underlying_price: float
    time: datetime
    expiry: npt.NDArray[np.int64]  # days since 1970-01-01 (numpy datetime64[D] as integers)
    strike: FloatArray
    is_call: npt.NDArray[np.bool_]
    bid: FloatArray
    ask: FloatArray
    iv: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    flags: npt.NDArray[np.int8] = field(init=False)
    _expiry_index: dict[int, _ExpiryRows] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _require_aware("Chain.time", self.time)
        object.__setattr__(self, "_expiry_index", {})
        n = self.strike.size
        for name in ("expiry", "is_call", "bid", "ask", "iv", "delta", "gamma", "vega", "theta"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"Chain column {name} has {getattr(self, name).shape}, expected ({n},)")
        object.__setattr__(self, "flags", quote_flags(self.bid, self.ask))

    @classmethod
    def from_rows(cls, root: str, underlying_price: float, time: datetime, rows: Sequence[ChainRow]) -> Chain:
        def col(name: str) -> FloatArray:
            return np.array([getattr(r, name) for r in rows], dtype=np.float64)

        return cls(
            root=root,
            underlying_price=underlying_price,
            time=time,
            expiry=np.array([r.expiry.toordinal() - _EPOCH_ORDINAL for r in rows], dtype=np.int64),
            strike=col("strike"),
            is_call=np.array([r.right is Right.CALL for r in rows], dtype=np.bool_),
            bid=col("bid"),
            ask=col("ask"),
            iv=col("iv"),
            delta=col("delta"),
            gamma=col("gamma"),
            vega=col("vega"),
            theta=col("theta"),
        )

    # ---------------------------------------------------------------- views

    def __len__(self) -> int:
        return int(self.strike.size)

    @property
    def usable(self) -> npt.NDArray[np.bool_]:
        usable: npt.NDArray[np.bool_] = self.flags == QuoteFlag.NONE
        return usable

    @property
    def mid(self) -> FloatArray:
        mid: FloatArray = 0.5 * (self.bid + self.ask)
        return mid

    def expiry_date(self, i: int) -> date:
        return date.fromordinal(int(self.expiry[i]) + _EPOCH_ORDINAL)

    def expiries(self) -> list[date]:
        return [date.fromordinal(int(d) + _EPOCH_ORDINAL) for d in np.unique(self.expiry)]

    def flag_counts(self) -> dict[str, int]:
        """How many rows carry each flag, by name (what data validation reports)."""
        return {f.name or "": int(np.count_nonzero(self.flags & f)) for f in QuoteFlag if f and np.any(self.flags & f)}

    # ---------------------------------------------------------------- selection

    def nearest_expiry(self, today: date, target_days: int, min_days: int, max_days: int) -> Found[date] | NotFound:
        """The listed expiry closest to `target_days` calendar days out within [min_days, max_days] (ties go
        to the earlier expiry)."""
        days = np.unique(self.expiry[self.usable]) - (today.toordinal() - _EPOCH_ORDINAL)
        if days.size == 0:
            return NotFound(f"{self.root}: no usable quotes in the chain")
        inside = days[(days >= min_days) & (days <= max_days)]
        if inside.size == 0:
            nearest = int(days[np.argmin(np.abs(days - target_days))])
            return NotFound(f"{self.root}: no expiry within {min_days}-{max_days} DTE (nearest {nearest})")
        best = int(inside[np.argmin(np.abs(inside - target_days))])
        return Found(date.fromordinal(today.toordinal() + best))

    def side_mask(self, expiry: date, right: Right) -> npt.NDArray[np.bool_]:
        mask: npt.NDArray[np.bool_] = (
            (self.expiry == expiry.toordinal() - _EPOCH_ORDINAL) & (self.is_call == (right is Right.CALL)) & self.usable
        )
        return mask

    def closest_delta(
        self, expiry: date, right: Right, target: float, low: float, high: float
    ) -> Found[int] | NotFound:
        """Row of the contract whose |delta| is closest to `target` within [low, high]. Rows whose delta is
        not finite or exactly zero (LEAN's warm-up value) do not qualify: fill Greeks from core/pricing."""
        side = self.side_mask(expiry, right)
        abs_delta = np.abs(self.delta)
        with np.errstate(invalid="ignore"):
            ok = side & np.isfinite(abs_delta) & (abs_delta > 0.0)
            inside = ok & (abs_delta >= low) & (abs_delta <= high)
        if not inside.any():
            if not ok.any():
                return NotFound(f"{self.root} {expiry} {right}: no usable quotes with a delta")
            nearest = float(abs_delta[ok][np.argmin(np.abs(abs_delta[ok] - target))])
            band = f"{low:.3f}-{high:.3f}"
            return NotFound(f"{self.root} {expiry} {right}: no |delta| within {band} (nearest {nearest:.3f})")
        idx = np.flatnonzero(inside)
        return Found(int(idx[np.argmin(np.abs(abs_delta[idx] - target))]))

    def strike_at_or_beyond(self, expiry: date, right: Right, price: float, upward: bool) -> Found[int] | NotFound:
        """Row of the first listed strike at or beyond `price`, going up (`upward`) or down from it."""
        side = self.side_mask(expiry, right)
        beyond = side & ((self.strike >= price) if upward else (self.strike <= price))
        if not beyond.any():
            way = "at or above" if upward else "at or below"
            return NotFound(f"{self.root} {expiry} {right}: no usable strike {way} {price:g}")
        idx = np.flatnonzero(beyond)
        return Found(int(idx[np.argmin(np.abs(self.strike[idx] - price))]))

    def find(self, expiry: date, strike: float, right: Right) -> int | None:
        """Row of one listed contract, usable or not (the caller checks `usable`), or None; the last such row
        if a chain lists it twice. The expiry's rows are gathered on first use and searched as arrays; an
        expiry asked for many times gets a dictionary (valuing a book of many structures costs a lookup a
        leg). Most chains are asked for a leg or two per expiry, where building the dictionary cost more
        than the search: a tenth of a replay."""
        day = expiry.toordinal() - _EPOCH_ORDINAL
        rows = self._expiry_index.get(day)
        if rows is None:
            where = np.flatnonzero(self.expiry == day)
            rows = _ExpiryRows(where, self.strike[where], self.is_call[where])
            self._expiry_index[day] = rows
        return rows.find(float(strike), right is Right.CALL)

    def wing(self, expiry: date, right: Right, short_strike: float, width: float) -> Found[int] | NotFound:
        """Row of the protective wing: the nearest listed strike at least `width` points outside the short
        (below it for puts, above it for calls)."""
        if right is Right.PUT:
            return self.strike_at_or_beyond(expiry, right, short_strike - width, upward=False)
        return self.strike_at_or_beyond(expiry, right, short_strike + width, upward=True)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class _ExpiryRows:
    """One expiry's rows of a chain, for `Chain.find`."""

    __slots__ = ("index", "is_call", "lookups", "rows", "strike")
    DICTIONARY_AFTER = 8  # lookups; then one dictionary answers the rest

    def __init__(self, rows: npt.NDArray[np.intp], strike: FloatArray, is_call: npt.NDArray[np.bool_]) -> None:
        self.rows, self.strike, self.is_call = rows, strike, is_call
        self.lookups = 0
        self.index: dict[tuple[float, bool], int] | None = None

    def find(self, strike: float, call: bool) -> int | None:
        if self.index is not None:
            return self.index.get((strike, call))
        self.lookups += 1
        if self.lookups > self.DICTIONARY_AFTER:
            # Later rows overwrite earlier ones: the last row listed wins, as in the search below. tolist()
            # converts in C; a comprehension over numpy scalars cost four times as much.
            keys = zip(self.strike.tolist(), self.is_call.tolist(), strict=True)
            self.index = dict(zip(keys, self.rows.tolist(), strict=True))
            return self.index.get((strike, call))
        hits = np.flatnonzero((self.strike == strike) & (self.is_call == call))
        return int(self.rows[hits[-1]]) if hits.size else None


# ---------------------------------------------------------------------------------------------- market


@dataclass(frozen=True, slots=True)
class DailyBars:
    """Daily OHLC history of one underlying, oldest first (for ATR, EMAs, ranges, 52-week highs)."""

    day: tuple[date, ...]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray


@dataclass(frozen=True)
class MarketSnapshot:
    time: datetime
    prices: dict[str, float]  # underlying root → last price
    vix: float | None
    chains: dict[str, Chain] = field(default_factory=dict)
    daily: dict[str, DailyBars] = field(default_factory=dict)  # completed sessions, oldest first
    session_open: dict[str, float] = field(default_factory=dict)  # today's opening price by root
    iv_history: dict[str, FloatArray] = field(default_factory=dict)  # daily 30-day ATM IV, oldest first
    missing: dict[str, str] = field(default_factory=dict)  # option root → why the source has no chain for it
    # Valuations of structures on this snapshot (core/valuation memoises here: a step values each open
    # structure for the book, the risk rules and its strategy; a snapshot never changes once built).
    memo: dict[object, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_aware("MarketSnapshot.time", self.time)

    def no_chain(self, root: str) -> str:
        """A refusal's words for a missing chain, with the source's reason when it gave one."""
        why = self.missing.get(root)
        return f"no {root} chain" + (f" ({why})" if why else "")


# ---------------------------------------------------------------------------------------------- trading


@dataclass(frozen=True, slots=True)
class Leg:
    contract: Contract
    ratio: int  # signed: +1 long one per structure, −2 short two per structure

    def __post_init__(self) -> None:
        if self.ratio == 0:
            raise ValueError("a leg's ratio cannot be zero")


@dataclass(frozen=True, slots=True)
class Structure:
    """One multi-leg position as the strategy thinks of it (an iron condor, an LT112, a ladder rung)."""

    id: str
    strategy: str
    legs: tuple[Leg, ...]
    quantity: int  # number of structures
    entry_price: float  # net per unit: + debit, − credit
    entry_time: datetime
    tag: str = ""
    leg_entry_prices: tuple[float, ...] = ()  # each leg's price per contract at entry (exits of parts need them)
    parent: str = ""  # set on a part of another structure (an IPMCC's weekly call, a side being closed)
    entry_underlying: float = 0.0  # the underlying's price at entry (0 when unknown)
    # Each leg's underlying price when that leg was opened, where legs were opened at different times (an
    # IPMCC's weekly calls are sold long after its LEAP was bought); empty: every leg at `entry_underlying`.
    leg_entry_underlyings: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        _require_aware("Structure.entry_time", self.entry_time)
        if not self.legs:
            raise ValueError(f"structure {self.id} has no legs")
        if self.quantity <= 0:
            raise ValueError(f"structure {self.id} needs a positive quantity")
        if self.leg_entry_prices and len(self.leg_entry_prices) != len(self.legs):
            raise ValueError(f"structure {self.id}: {len(self.leg_entry_prices)} leg prices for {len(self.legs)} legs")
        if self.leg_entry_underlyings and len(self.leg_entry_underlyings) != len(self.legs):
            raise ValueError(f"structure {self.id}: {len(self.leg_entry_underlyings)} leg underlyings")

    def underlying_at_entry(self, index: int) -> float:
        """The underlying's price when leg `index` was opened (0 when unknown)."""
        if self.leg_entry_underlyings:
            return self.leg_entry_underlyings[index]
        return self.entry_underlying

    def entry_underlyings(self) -> tuple[float, ...]:
        return tuple(self.underlying_at_entry(i) for i in range(len(self.legs)))


class IntentAction(StrEnum):
    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What a strategy or a safety system wants sent: open or close `quantity` of a structure at a limit."""

    action: IntentAction
    structure: Structure
    quantity: int
    limit_price: float  # net per unit: + debit, − credit
    reason: str
    safety: bool = False  # sent by a safety system (orphan leg, assignment risk): allowed even when HALTED


@dataclass(frozen=True, slots=True)
class Fill:
    structure_id: str
    contract: Contract
    quantity: int  # signed contracts: + bought, − sold
    price: float
    time: datetime
    fees: float = 0.0

    def __post_init__(self) -> None:
        _require_aware("Fill.time", self.time)


@dataclass(frozen=True, slots=True)
class Position:
    contract: Contract
    quantity: int  # signed
    average_price: float


@dataclass(frozen=True, slots=True)
class AccountState:
    net_liq: float
    start_of_day_net_liq: float
    peak_net_liq: float
    bp_in_use: float


@dataclass(frozen=True, slots=True)
class Approval:
    """An intent allowed through a review, possibly with a smaller quantity; `notes` say what changed."""

    intent: OrderIntent
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    """An intent stopped by a rule: `rule` is the rule's name, `reason` says why in a trader's words."""

    intent: OrderIntent
    rule: str
    reason: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.reason}"


class AlertLevel(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True, slots=True)
class Decision:
    """One approval or refusal: every refusal names its rule and says why in words. A decision a person must
    hear of (a drawdown step, a 21-DTE hold that needs a look) carries an alert level: the shells send it
    through the safety alerts as well as logging it."""

    time: datetime
    rule: str
    approved: bool
    reason: str
    subject: str = ""  # the structure or strategy it concerns
    alert: AlertLevel | None = None

    def __post_init__(self) -> None:
        _require_aware("Decision.time", self.time)
        if not self.rule or not self.reason:
            raise ValueError("a decision needs a rule name and a reason")
