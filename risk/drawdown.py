"""Drawdown from peak net liq (RULEBOOK): at `drawdown_halve` (10%) new sizes are halved (rounded down: a
1-lot halves to nothing and is refused, the careful reading); at `drawdown_stop_entries` (15%) no new
entries and losers close; at `drawdown_close_all` (20%) everything closes, a CRITICAL alert goes out and
entries pause for `drawdown_pause_days` trading days. Boundaries are inclusive: exactly 10% halves."""

from __future__ import annotations

from core.model import AccountState
from core.settings import share

from risk.verdict import Candidate, Reduce, Refuse, ReviewContext, Verdict


def drawdown(account: AccountState) -> float:
    if account.peak_net_liq <= 0:
        return 0.0
    return max(0.0, 1.0 - account.net_liq / account.peak_net_liq)


def reached(dd: float, threshold: float) -> bool:
    """Inclusive, robust to rounding: 90,000 from a 100,000 peak is 1 − 0.9 = 0.0999… in floating point,
    and it is a 10% drawdown."""
    return dd >= threshold - 1e-9


def check(c: Candidate, ctx: ReviewContext) -> Verdict:
    s = ctx.settings
    if ctx.state.paused_on(ctx.today):
        return Refuse("drawdown", f"entries paused until {ctx.state.pause_until} ({ctx.state.pause_reason})")
    dd = drawdown(ctx.account)
    if reached(dd, s.drawdown_close_all):
        return Refuse(
            "drawdown", f"{dd:.1%} below peak ≥ {share(s.drawdown_close_all)}: closing everything, no entries"
        )
    if reached(dd, s.drawdown_stop_entries):
        return Refuse("drawdown", f"{dd:.1%} below peak ≥ {share(s.drawdown_stop_entries)}: no new entries")
    if reached(dd, s.drawdown_halve):
        half = c.quantity // 2
        if half == 0:
            return Refuse(
                "drawdown",
                f"{dd:.1%} below peak ≥ {share(s.drawdown_halve)}: half of {c.quantity} contract is none",
            )
        return Reduce(half, f"drawdown {dd:.1%} ≥ {share(s.drawdown_halve)}: size halved {c.quantity} → {half}")
    return None
