"""What a structure is worth now, and what it uses: marks, P&L, DTE, buying power and dollar Greeks from a
market snapshot. One place for the risk manager, the safety checks, the strategies' exits and the reports.

Conventions: a structure's mark is its net mid per unit in the same sign as `Structure.entry_price`
(+ a debit position's value, − the cost to close a credit position), so P&L per unit is mark − entry.
Dollar Greeks are for the whole structure (ratio × quantity × multiplier): `delta_1pct` is the
beta-weighted dollar change for a 1% SPX move, `vega` dollars per volatility point, `theta` dollars a day.
A structure that cannot be valued (a leg missing from the snapshot or quoted unusably) is `NotFound` with
the reason: callers refuse to act on a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np

from core.margin import MarginLeg, option_requirement, span_requirement
from core.model import Contract, ContractKind, Found, MarketSnapshot, NotFound, Right, Structure
from core.products import AssetKind, UnknownProductError, product
from core.settings import Settings

NEW_YORK = ZoneInfo("America/New_York")


def describe(contract: Contract) -> str:
    """A contract as a trader names it: `SPXW 2024-01-05 4700 put`, `ES future`, `QQQ`."""
    if contract.kind is ContractKind.OPTION:
        assert contract.right is not None and contract.strike is not None
        return f"{contract.root} {contract.expiry} {contract.strike:g} {contract.right.value}"
    if contract.kind is ContractKind.FUTURE:
        return f"{contract.root} future" + (f" {contract.underlying_expiry}" if contract.underlying_expiry else "")
    return contract.root


@dataclass(frozen=True, slots=True)
class LegMark:
    mid: float
    delta: float  # NaN when the chain has no usable Greek for it
    vega: float
    theta: float
    iv: float
    underlying_price: float


def mark_leg(contract: Contract, snapshot: MarketSnapshot) -> Found[LegMark] | NotFound:
    if contract.kind is ContractKind.OPTION:
        assert contract.expiry is not None and contract.strike is not None and contract.right is not None
        chain = snapshot.chains.get(contract.root)
        if chain is None:
            return NotFound(f"no {contract.root} chain in the snapshot")
        row = chain.find(contract.expiry, contract.strike, contract.right)
        if row is None:
            return NotFound(f"{describe(contract)} is not in the {contract.root} chain")
        bid, ask = float(chain.bid[row]), float(chain.ask[row])
        if chain.flags[row]:  # one row: no whole-array `usable` or `mid` per leg
            return NotFound(f"{describe(contract)} has an unusable quote ({bid:g}/{ask:g})")
        if not np.isfinite(chain.underlying_price) or chain.underlying_price <= 0:
            # Margin, delta dollars and moneyness all stand on it: no value is better than a wrong one.
            return NotFound(f"no usable {contract.underlying} price for {describe(contract)}")
        delta = float(chain.delta[row])
        return Found(
            LegMark(
                mid=0.5 * (bid + ask),
                delta=delta if np.isfinite(delta) and delta != 0.0 else float("nan"),
                vega=float(chain.vega[row]),
                theta=float(chain.theta[row]),
                iv=float(chain.iv[row]),
                underlying_price=chain.underlying_price,
            )
        )
    price = snapshot.prices.get(contract.root)
    if price is None or not np.isfinite(price) or price <= 0:
        return NotFound(f"no usable price for {describe(contract)}")
    return Found(LegMark(mid=price, delta=1.0, vega=0.0, theta=0.0, iv=float("nan"), underlying_price=price))


@dataclass(frozen=True, slots=True)
class StructureView:
    structure: Structure
    legs: tuple[LegMark, ...]
    mark: float  # net per unit, sign as entry_price
    pnl: float  # USD, whole structure
    pnl_fraction: float  # P&L per unit over |entry price|: +0.5 is half the credit kept
    dte: int | None  # calendar days to the nearest option expiry (None without options)
    bp: float  # USD, core/margin
    bp_method: str
    delta_1pct: float  # USD per 1% SPX move, beta-weighted
    vega: float  # USD per volatility point
    theta: float  # USD per day
    underlying_price: float

    @property
    def underlying(self) -> str:
        return self.structure.legs[0].contract.underlying


def value_structure(
    structure: Structure, snapshot: MarketSnapshot, settings: Settings
) -> Found[StructureView] | NotFound:
    """The structure's marks, P&L, buying power and dollar Greeks on this snapshot (memoised on it)."""
    # Keyed by the settings' id with the settings kept beside the value: CPython reuses the id of an object
    # that is gone, and a valuation under other settings must never be served for these.
    key = ("value_structure", id(settings), structure)
    held = cast("tuple[Settings, Found[StructureView] | NotFound] | None", snapshot.memo.get(key))
    if held is None or held[0] is not settings:
        held = (settings, _value_structure(structure, snapshot, settings))
        snapshot.memo[key] = held
    return held[1]


def _value_structure(
    structure: Structure, snapshot: MarketSnapshot, settings: Settings
) -> Found[StructureView] | NotFound:
    marks: list[LegMark] = []
    for leg in structure.legs:
        marked = mark_leg(leg.contract, snapshot)
        if isinstance(marked, NotFound):
            return NotFound(f"cannot value {structure.strategy} {structure.id}: {marked.reason}")
        marks.append(marked.value)
    multipliers = {leg.contract.multiplier for leg in structure.legs}
    if len(multipliers) != 1:
        return NotFound(f"cannot value {structure.strategy} {structure.id}: legs with different multipliers")
    multiplier = multipliers.pop()
    quantity = structure.quantity
    mark = sum(leg.ratio * m.mid for leg, m in zip(structure.legs, marks, strict=True))
    pnl_unit = mark - structure.entry_price
    pnl_fraction = pnl_unit / abs(structure.entry_price) if structure.entry_price else 0.0
    today = snapshot.time.astimezone(NEW_YORK).date()
    expiries = [leg.contract.expiry for leg in structure.legs if leg.contract.expiry is not None]
    dte = min((e - today).days for e in expiries) if expiries else None
    bp = _requirement(structure, marks, multiplier, today, settings)
    if isinstance(bp, NotFound):
        return NotFound(f"cannot value {structure.strategy} {structure.id}: {bp.reason}")
    if not np.isfinite(bp.value[0]):  # a bad quote slipped through: never a NaN into the limits
        return NotFound(f"cannot value {structure.strategy} {structure.id}: buying power is not a number")
    underlying = structure.legs[0].contract.underlying
    beta = settings.beta_to_spx.get(underlying.upper(), 1.0)
    scale = [leg.ratio * quantity * multiplier for leg in structure.legs]
    delta_units = sum(sc * m.delta * m.underlying_price for sc, m in zip(scale, marks, strict=True))
    return Found(
        StructureView(
            structure=structure,
            legs=tuple(marks),
            mark=mark,
            pnl=pnl_unit * multiplier * quantity,
            pnl_fraction=pnl_fraction,
            dte=dte,
            bp=bp.value[0],
            bp_method=bp.value[1],
            delta_1pct=0.01 * beta * delta_units,
            vega=sum(sc * m.vega for sc, m in zip(scale, marks, strict=True)),
            theta=sum(sc * m.theta for sc, m in zip(scale, marks, strict=True)),
            underlying_price=marks[0].underlying_price,
        )
    )


def margin_legs(structure: Structure, marks: Sequence[LegMark], today: date) -> list[MarginLeg]:
    """The option legs of a structure as core/margin sees them, priced at their marks."""
    return [
        MarginLeg(
            leg.contract.right or Right.CALL,
            leg.contract.strike or 0.0,
            leg.ratio,
            m.mid,
            leg.contract.expiry or today,
            m.iv,
        )
        for leg, m in zip(structure.legs, marks, strict=True)
        if leg.contract.kind is ContractKind.OPTION
    ]


def _requirement(
    structure: Structure, marks: list[LegMark], multiplier: float, today: date, s: Settings
) -> Found[tuple[float, str]] | NotFound:
    legs = structure.legs
    kinds = {leg.contract.kind for leg in legs}
    root = legs[0].contract.underlying
    if kinds == {ContractKind.OPTION}:
        legs_for_margin = margin_legs(structure, marks, today)
        try:
            underlying = product(root)
        except UnknownProductError as err:
            return NotFound(str(err))
        if underlying.kind is AssetKind.FUTURE:
            try:
                req = span_requirement(
                    legs_for_margin,
                    root,
                    marks[0].underlying_price,
                    today,
                    s.risk_free_rate,
                    multiplier,
                    structure.quantity,
                    s,
                )
            except ValueError as err:
                return NotFound(str(err))
        else:
            req = option_requirement(
                legs_for_margin,
                marks[0].underlying_price,
                multiplier,
                structure.quantity,
                underlying.broad_index,
                s,
            )
        return Found((req.amount, req.method))
    if kinds == {ContractKind.FUTURE}:
        initial = s.span_initial_margin.get(legs[0].contract.root.upper())
        if initial is None:
            return NotFound(f"no initial margin for {legs[0].contract.root} in span_initial_margin")
        contracts = sum(abs(leg.ratio) for leg in legs) * structure.quantity
        return Found((initial * contracts, "future initial margin"))
    if kinds == {ContractKind.EQUITY}:
        value = sum(abs(leg.ratio) * m.mid for leg, m in zip(legs, marks, strict=True)) * structure.quantity
        return Found((value * multiplier, "stock at full value"))
    return NotFound("structures that mix options with their underlying are not valued (flatten them)")
