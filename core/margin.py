"""Buying power per structure (RULEBOOK "Margin"): what the risk module calls BP, computed from the legs and
never from LEAN's margin model (which charges an uneven iron condor for one wing only).

- Defined risk: the worst loss at expiry of the covered legs, from their payoff, which for an iron condor
  is (widest wing − credit) × multiplier × quantity and for a debit spread the debit.
- Shorts not covered by a long of the same right are naked; the uncovered ones are the farthest out of the
  money (how a broker pairs an LT112: the long put with the nearest short, the two lower puts naked).
  Equity/ETF options: max(20% × underlying − OTM amount, 10% × the strike for puts or the underlying for
  calls, CBOE's minimum) + premium, per share. Broad-index options (SPX, SPXW, XSP, NDX, RUT): 15% / 10%.
  Naked puts and naked calls of one expiry (a strangle, or the naked parts of a structure) need the larger
  side's requirement plus the other side's premium: both cannot finish in the money (CBOE's short strangle
  rule, RULEBOOK "Margin").
- Future options: a SPAN-style estimate, the worst loss of the whole position over 16 scenarios (the
  future up and down 0, 1/3, 2/3 and 3/3 of the scan range with volatility up and down, and 2 × the scan
  range with 35% of the loss counted), the scan range being the root's initial margin divided by its
  multiplier; never less than 10% of that margin per short option, never more than a defined risk.
  Legs are revalued with Black-76 at their own volatility. This is an estimate of CME's SPAN, not SPAN:
  the dry-run check of the operations tool (issue #8) compares it with the broker's number.

Amounts are USD, positive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from core import pricing
from core.model import Right
from core.settings import Settings

SPAN_MOVES = (0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0)


@dataclass(frozen=True, slots=True)
class MarginLeg:
    """One option leg as margin sees it: signed ratio per structure and the price it trades at."""

    right: Right
    strike: float
    ratio: int
    premium: float  # per unit, what the leg trades at (mid)
    expiry: date
    iv: float = float("nan")  # for future options (SPAN revaluation)


@dataclass(frozen=True, slots=True)
class Requirement:
    amount: float
    method: str  # how it was computed, for the log and the dry-run comparison


def split_naked(legs: Sequence[MarginLeg]) -> tuple[list[MarginLeg], list[MarginLeg]]:
    """Covered legs and naked shorts. Per right, the short contracts in excess of the long ones are naked,
    taken from the farthest out of the money (lowest put strikes, highest call strikes)."""
    covered: list[MarginLeg] = []
    naked: list[MarginLeg] = []
    for right in Right:
        side = [leg for leg in legs if leg.right is right]
        excess = -sum(leg.ratio for leg in side)
        shorts = sorted((leg for leg in side if leg.ratio < 0), key=lambda leg: leg.strike, reverse=right is Right.CALL)
        for leg in side:
            if leg.ratio > 0:
                covered.append(leg)
        for leg in shorts:
            take = min(max(excess, 0), -leg.ratio)
            excess -= take
            if take:
                naked.append(MarginLeg(leg.right, leg.strike, -take, leg.premium, leg.expiry, leg.iv))
            if -leg.ratio - take:
                covered.append(MarginLeg(leg.right, leg.strike, leg.ratio + take, leg.premium, leg.expiry, leg.iv))
    return covered, naked


def defined_risk(legs: Sequence[MarginLeg]) -> float:
    """Worst loss per unit of covered legs held to expiry (long legs counted at intrinsic value only, which
    is conservative for a long leg that expires later): −min payoff + net price paid."""
    if not legs:
        return 0.0
    # Plain floats: every valuation of a structure runs this on a handful of prices, where numpy's per-call
    # cost was three quarters of it. The same operations in the same order, so the same value to the bit.
    strikes = sorted({leg.strike for leg in legs})
    prices = [0.0, *strikes, strikes[-1] * 2.0 + 1.0]
    payoff = [0.0] * len(prices)
    for leg in legs:
        call = leg.right is Right.CALL
        for i, price in enumerate(prices):
            payoff[i] += leg.ratio * (max(price - leg.strike, 0.0) if call else max(leg.strike - price, 0.0))
    net_paid = sum(leg.ratio * leg.premium for leg in legs)
    lowest = math.nan if any(math.isnan(v) for v in payoff) else min(payoff)  # NaN wins, as numpy's min
    return max(-lowest + net_paid, 0.0)


def loss_at_stop(legs: Sequence[MarginLeg], stop_multiple: float | None) -> float | None:
    """What one unit can lose, as the risk-per-trade rule measures it: the defined maximum loss of the covered
    legs, plus, for naked shorts, the loss at the strategy's stop, (stop multiple − 1) × their credit. None
    when there are naked shorts and no stop to measure them by."""
    covered, naked = split_naked(legs)
    loss = defined_risk(covered)
    if naked:
        if stop_multiple is None:
            return None
        loss += (stop_multiple - 1.0) * sum(-leg.ratio * leg.premium for leg in naked)
    return loss


def naked_option(leg: MarginLeg, underlying: float, broad_index: bool, s: Settings) -> float:
    """CBOE naked short requirement per unit for one short contract (equity/ETF or broad index)."""
    share, minimum = (
        (s.margin_index_naked, s.margin_index_minimum)
        if broad_index
        else (s.margin_equity_naked, s.margin_equity_minimum)
    )
    if leg.right is Right.CALL:
        otm = max(leg.strike - underlying, 0.0)
        floor = minimum * underlying
    else:
        otm = max(underlying - leg.strike, 0.0)
        floor = minimum * leg.strike
    return max(share * underlying - otm, floor) + leg.premium


def naked_requirement(naked: Sequence[MarginLeg], underlying: float, broad_index: bool, s: Settings) -> float:
    """Per unit: each expiry's naked puts and calls as a strangle (module docstring), summed over expiries."""
    total = 0.0
    for expiry in sorted({leg.expiry for leg in naked}):
        requirement = {right: 0.0 for right in Right}
        premium = {right: 0.0 for right in Right}
        for leg in (leg for leg in naked if leg.expiry == expiry):
            requirement[leg.right] += -leg.ratio * naked_option(leg, underlying, broad_index, s)
            premium[leg.right] += -leg.ratio * leg.premium
        larger = max(Right, key=lambda right: requirement[right])
        other = Right.CALL if larger is Right.PUT else Right.PUT
        total += requirement[larger] + premium[other]
    return total


def option_requirement(
    legs: Sequence[MarginLeg],
    underlying: float,
    multiplier: float,
    quantity: int,
    broad_index: bool,
    s: Settings,
) -> Requirement:
    """BP of an equity, ETF or index option structure."""
    covered, naked = split_naked(legs)
    per_unit = defined_risk(covered) + naked_requirement(naked, underlying, broad_index, s)
    method = "defined risk" if not naked else ("naked" if not covered else "defined risk + naked")
    return Requirement(per_unit * multiplier * quantity, method)


def span_requirement(
    legs: Sequence[MarginLeg],
    root: str,
    future_price: float,
    today: date,
    rate: float,
    multiplier: float,
    quantity: int,
    s: Settings,
) -> Requirement:
    """SPAN-style BP of a future option structure on one future (module docstring)."""
    initial = s.span_initial_margin.get(root.upper())
    if initial is None:
        raise ValueError(f"no initial margin for {root}: add it to the span_initial_margin parameter")
    scan = initial / multiplier
    strike = np.array([leg.strike for leg in legs])
    ratio = np.array([leg.ratio for leg in legs], dtype=np.float64)
    iv = np.array([leg.iv for leg in legs])
    if not np.all(np.isfinite(iv) & (iv > 0)):
        raise ValueError(f"{root}: every future option leg needs a positive implied volatility for SPAN")
    t = np.array([max((leg.expiry - today).days, 0) / 365.0 for leg in legs])
    call = np.array([leg.right is Right.CALL for leg in legs])
    now = pricing.black76_price(future_price, strike, t, iv, rate, call)
    moves, vol_shift, weight = [], [], []
    for move in SPAN_MOVES:
        for vol_sign in (1.0, -1.0):
            moves.append(move * scan)
            vol_shift.append(vol_sign * s.span_vol_scan)
            weight.append(1.0)
    for sign in (1.0, -1.0):
        moves.append(sign * s.span_extreme_multiple * scan)
        vol_shift.append(0.0)
        weight.append(s.span_extreme_coverage)
    shocked_f = np.maximum(future_price + np.array(moves)[:, None], 1e-9)
    shocked_vol = np.maximum(iv[None, :] + np.array(vol_shift)[:, None], 1e-4)
    value = pricing.black76_price(shocked_f, strike[None, :], t[None, :], shocked_vol, rate, call[None, :])
    pnl = ((value - now[None, :]) * ratio[None, :]).sum(axis=1) * np.array(weight)
    worst = max(float(-pnl.min()), 0.0) * multiplier * quantity + 0.0  # + 0.0: -0.0 (no loss anywhere) is 0
    short_contracts = float(-ratio[ratio < 0].sum()) * quantity
    floor = s.span_short_option_minimum * initial * short_contracts
    amount, method = (
        max(worst, floor),
        "SPAN-style scenarios" if worst >= floor else "SPAN short-option minimum",
    )
    covered, naked = split_naked(legs)
    if not naked:
        cap = defined_risk(covered) * multiplier * quantity
        if cap < amount:
            amount, method = cap, "defined risk"
    return Requirement(amount, method)
