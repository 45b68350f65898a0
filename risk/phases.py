"""Account phases (RULEBOOK "Account phases"): which strategies and products the account's size allows,
and the start-small mode below `start_small_below`.

Phase n begins at the (n−1)-th of `phase_thresholds`, inclusive: net liq of exactly 51,000 is phase 2. A
strategy is allowed in a phase when its max-positions entry for that phase is above zero. Options on
futures need net liq of at least `full_size_from` (LEAN has no micro future options).
"""

from __future__ import annotations

from core.model import ContractKind, Right, Structure
from core.products import AssetKind, UnknownProductError, product
from core.settings import STRATEGY_NAMES, Settings

from risk.verdict import Candidate, Reduce, Refuse, ReviewContext, Verdict

HEDGE = "futures"


def phase_of(net_liq: float, s: Settings) -> int:
    return s.phase(net_liq)


def max_positions(strategy: str, phase: int, s: Settings) -> int:
    limits: tuple[int, ...] = getattr(s, f"max_positions_{strategy}")
    return limits[phase - 1]


def wing_width(structure: Structure) -> float:
    """The widest distance between a short option and the nearest long of the same right and expiry
    (0 when nothing is covered)."""
    widest = 0.0
    legs = [leg for leg in structure.legs if leg.contract.kind is ContractKind.OPTION]
    for short in (leg for leg in legs if leg.ratio < 0):
        longs = [
            leg.contract.strike
            for leg in legs
            if leg.ratio > 0
            and leg.contract.right is short.contract.right
            and leg.contract.expiry == short.contract.expiry
            and leg.contract.strike is not None
        ]
        if longs and short.contract.strike is not None:
            strike = short.contract.strike
            outward = [k for k in longs if (k < strike if short.contract.right is Right.PUT else k > strike)]
            nearest = min(outward or longs, key=lambda k: abs(k - strike))
            widest = max(widest, abs(nearest - strike))
    return widest


def future_option_underlying(structure: Structure) -> str | None:
    """The future under the structure's first option on a future (None when it holds none). A leg on a
    product the registry does not know is not taken for one: the data and valuation checks refuse it."""
    for leg in structure.legs:
        if leg.contract.kind is not ContractKind.OPTION:
            continue
        try:
            if product(leg.contract.underlying).kind is AssetKind.FUTURE:
                return leg.contract.underlying
        except UnknownProductError:
            continue
    return None


def check(c: Candidate, ctx: ReviewContext) -> Verdict:
    s, net = ctx.settings, ctx.account.net_liq
    structure = c.intent.structure
    strategy = structure.strategy
    if strategy == HEDGE:
        return None  # a futures hedge is not a position of its own: buying power and Greeks still apply
    if strategy not in STRATEGY_NAMES:
        return Refuse("phase", f"unknown strategy '{strategy}' (known: {', '.join(STRATEGY_NAMES)})")
    if net < s.start_small_below:
        if strategy != "zero_dte":
            return Refuse(
                "start small",
                f"net liq {net:,.0f} < {s.start_small_below:,.0f}: only the 0DTE strategy trades",
            )
        wing = wing_width(structure)
        if wing > s.zdte_wing_start_small:
            return Refuse(
                "start small",
                f"wings of {wing:g} points; start-small mode allows {s.zdte_wing_start_small:g}",
            )
        if c.quantity > 1:
            return Reduce(1, f"start small: 1 contract (net liq {net:,.0f} < {s.start_small_below:,.0f})")
        return None
    phase = phase_of(net, s)
    if max_positions(strategy, phase, s) == 0:
        return Refuse("phase", f"phase {phase} (net liq {net:,.0f}) does not trade {strategy}")
    future = future_option_underlying(structure)
    if future is not None and net < s.full_size_from:
        return Refuse("phase", f"options on {future} futures need net liq of {s.full_size_from:,.0f} (now {net:,.0f})")
    return None
