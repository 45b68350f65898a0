"""Portfolio Greeks before and after an entry (RULEBOOK): beta-weighted delta per 1% SPX move within
±`max_abs_delta` of net liq, vega within ±`max_vega` of net liq per vol point. An entry that would push
either past its bound, or further past it, is refused; one that brings an over-limit book back toward its
bound is allowed. Daily theta outside `theta_target_min`..`theta_target_max` of net liq only warns."""

from __future__ import annotations

import math

from risk.verdict import Candidate, Note, Refuse, ReviewContext, Verdict


def _breach(name: str, before: float, after: float, limit: float, unit: str) -> Refuse | None:
    if abs(after) > limit and abs(after) > abs(before):
        return Refuse("greeks", f"{name} would be {after:+,.0f} {unit} (now {before:+,.0f}); limit ±{limit:,.0f}")
    return None


def check(c: Candidate, ctx: ReviewContext) -> Verdict:
    s, net, book = ctx.settings, ctx.account.net_liq, ctx.book
    if book.unvalued:
        return Refuse("greeks", f"the open book cannot be valued: {book.unvalued[0]}")
    view = c.view
    if not all(math.isfinite(x) for x in (view.delta_1pct, view.vega, view.theta)):
        return Refuse("greeks", f"{c.intent.structure.strategy} {c.intent.structure.id} has legs without usable Greeks")
    for name, before, add, share, unit in (
        ("beta-weighted delta", book.delta_1pct, view.delta_1pct, s.max_abs_delta, "USD per 1% SPX move"),
        ("vega", book.vega, view.vega, s.max_vega, "USD per vol point"),
    ):
        refusal = _breach(name, before, before + add, share * net, unit)
        if refusal:
            return refusal
    theta = book.theta + view.theta
    low, high = s.theta_target_min * net, s.theta_target_max * net
    if not low <= theta <= high:
        return Note(f"theta {theta:+,.0f} USD a day after this entry is outside the target {low:,.0f}..{high:,.0f}")
    return None
