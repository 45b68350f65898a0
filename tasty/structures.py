"""Structures written the way a trader says them, for `check`:

    ic SPXW 2026-12-04 5800/5830/6100/6130 x1      long put / short put / short call / long call
    bps SPY 2026-12-18 560/570                      bull put spread: long the lower put, short the upper
    bcs QQQ 2026-12-18 520/530                      bear call spread: short the lower call, long the upper
    strangle GLD 2027-01-15 220/260                 short put / short call
    sp SPY 2027-12-17 480                           one short put (a LEAP ladder rung)
    lt112 SPY 2027-03-19 540/560/500                long put / short put (the debit spread) / two naked puts

`xN` (default x1) is the number of structures. Equity, ETF and index options only (OCC symbols).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from core.model import Leg, Right, option_contract
from core.products import AssetKind, UnknownProductError, option_underlying, product

P, C = Right.PUT, Right.CALL
SHAPES: dict[str, tuple[tuple[Right, int], ...]] = {
    "ic": ((P, 1), (P, -1), (C, -1), (C, 1)),
    "bps": ((P, 1), (P, -1)),
    "bcs": ((C, -1), (C, 1)),
    "strangle": ((P, -1), (C, -1)),
    "sp": ((P, -1),),
    "lt112": ((P, 1), (P, -1), (P, -2)),
}
SPEC = re.compile(
    r"^(?P<kind>\w+)\s+(?P<root>[A-Za-z]+)\s+(?P<date>\d{4}-\d{2}-\d{2})\s+(?P<strikes>[\d./]+)(\s+x(?P<qty>\d+))?$"
)
EXAMPLE = "ic SPXW 2026-12-04 5800/5830/6100/6130 x1"


class SpecError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Spec:
    kind: str
    legs: tuple[Leg, ...]
    quantity: int

    @property
    def underlying(self) -> str:
        return self.legs[0].contract.underlying


def parse(text: str) -> Spec:
    match = SPEC.match(text.strip())
    if match is None:
        raise SpecError(f"'{text}': expected KIND ROOT YYYY-MM-DD STRIKE[/STRIKE...] [xN], e.g. '{EXAMPLE}'")
    kind, root = match["kind"].lower(), match["root"].upper()
    shape = SHAPES.get(kind)
    if shape is None:
        raise SpecError(f"'{kind}' is not one of {', '.join(SHAPES)}")
    try:
        facts = product(root)
    except UnknownProductError as err:
        raise SpecError(str(err)) from None
    if facts.kind is AssetKind.FUTURE:
        raise SpecError(f"{root}: check builds equity and index option orders only (OCC symbols)")
    strikes = [float(s) for s in match["strikes"].split("/") if s]
    if len(strikes) != len(shape):
        raise SpecError(f"{kind} needs {len(shape)} strike(s), got {len(strikes)}")
    expiry = date.fromisoformat(match["date"])
    underlying = option_underlying(root)
    legs = tuple(
        Leg(option_contract(root, underlying, right, strike, expiry), ratio)
        for (right, ratio), strike in zip(shape, strikes, strict=True)
    )
    quantity = int(match["qty"] or 1)
    if quantity <= 0:
        raise SpecError("the quantity must be at least 1")
    return Spec(kind, legs, quantity)
