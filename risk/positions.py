"""Open-structure limits per strategy and in total, by phase (RULEBOOK's max-positions table). A LEAP ladder
rung is one structure here; the correlation rule counts the ladder once."""

from __future__ import annotations

from risk.phases import HEDGE, max_positions, phase_of
from risk.verdict import Candidate, Refuse, ReviewContext, Verdict


def check(c: Candidate, ctx: ReviewContext) -> Verdict:
    s = ctx.settings
    phase = phase_of(ctx.account.net_liq, s)
    strategy = c.intent.structure.strategy
    if strategy == HEDGE or c.intent.structure.parent:
        return None  # a hedge, or an adjustment of an open structure (already counted)
    limit = max_positions(strategy, phase, s)
    open_now = ctx.book.count(strategy)
    if open_now >= limit:
        return Refuse("positions", f"{strategy}: {open_now} of {limit} open in phase {phase}")
    total_limit = s.max_positions_total[phase - 1]
    total = ctx.book.count()
    if total >= total_limit:
        return Refuse("positions", f"all strategies: {total} of {total_limit} open in phase {phase}")
    return None
