"""Buying power by VIX regime (RULEBOOK "Portfolio limits"), on BP from core/margin, never LEAN's.

Regimes: VIX < 13 → 45% of net liq in use at most; 13 to under 18 → 65%; 18 to under 25 → 78%; 25 to 30
→ 50%; above 30 → 80%, but only new short-put structures may open (`vix_put_only_above`, strict). The
lower bounds 13, 18 and 25 are inclusive and the 30 is exclusive, because RULEBOOK writes "VIX < 13",
"13–18" and "> 30". Nothing is ever planned beyond `bp_reserve_ceiling` (80%). An entry that does not fit
is cut to the quantity that does, or refused when not even one fits.
"""

from __future__ import annotations

import math

from core.model import ContractKind, Right, Structure
from core.settings import Settings

from risk.verdict import Candidate, Reduce, Refuse, ReviewContext, Verdict


def regime(vix: float, s: Settings) -> tuple[int, float]:
    """(regime index 0-4, max share of net liq in use)."""
    bounds = s.vix_regime_bounds
    index = 4 if vix > bounds[3] else sum(1 for b in bounds[:3] if vix >= b)
    return index, s.vix_regime_max_bp[index]


def is_short_put_structure(structure: Structure) -> bool:
    """Only puts, at least one of them short: what may open above `vix_put_only_above` (a short put, an
    LT112, a bull put spread, a ladder rung)."""
    legs = structure.legs
    return all(leg.contract.kind is ContractKind.OPTION and leg.contract.right is Right.PUT for leg in legs) and any(
        leg.ratio < 0 for leg in legs
    )


def check_vix_mode(c: Candidate, ctx: ReviewContext) -> Verdict:
    vix = ctx.snapshot.vix
    if vix is None or not math.isfinite(vix):
        return Refuse("vix regime", "no VIX in the snapshot: the buying-power regime is unknown")
    s = ctx.settings
    if vix > s.vix_put_only_above and not is_short_put_structure(c.intent.structure):
        return Refuse("vix regime", f"VIX {vix:.2f} > {s.vix_put_only_above:g}: only short-put structures may open")
    return None


def check(c: Candidate, ctx: ReviewContext) -> Verdict:
    s, net = ctx.settings, ctx.account.net_liq
    if ctx.book.unvalued:
        return Refuse("buying power", f"the open book cannot be valued: {ctx.book.unvalued[0]}")
    vix = ctx.snapshot.vix
    assert vix is not None  # check_vix_mode runs first
    _, regime_share = regime(vix, s)
    share = min(regime_share, s.bp_reserve_ceiling)
    cap = share * net
    used = ctx.book.bp_in_use
    wanted = c.view.bp
    if used + wanted <= cap:
        return None
    per_unit = wanted / c.quantity
    fits = math.floor((cap - used) / per_unit) if per_unit > 0 else c.quantity
    text = (
        f"{(used + wanted) / net:.1%} of net liq would be in use (now {used / net:.1%}, this entry "
        f"{wanted:,.0f}); VIX {vix:.2f} allows {share:.0%}"
    )
    if fits >= 1:
        return Reduce(fits, f"buying power: {c.quantity} → {fits}, {text}")
    return Refuse("buying power", text)
