"""Correlation groups (RULEBOOK): at most `correlation_max[group]` open structures per group of underlying
roots. A structure's group is its underlying root's (an ES future option is ES; SPXW is SPX), never the
option symbol. 0DTE structures are exempt by `zero_dte_correlation_exempt` (they close the same day); the
LEAP ladder counts once in its group, whatever its rungs; group A1's limit is
`correlation_max_a1_phase4` in phase 4."""

from __future__ import annotations

from core.model import Structure
from core.settings import Settings

from risk.phases import phase_of
from risk.verdict import Candidate, Refuse, ReviewContext, Verdict


def group_of(root: str, s: Settings) -> str | None:
    return s.correlation_group_of_root.get(root.upper())


def limit_of(group: str, phase: int, s: Settings) -> int:
    if group == "A1" and phase == 4:
        return s.correlation_max_a1_phase4
    return int(s.correlation_max[group])


def counted(structures: tuple[Structure, ...], group: str, s: Settings) -> list[Structure]:
    """The structures that count against a group: one entry for the whole LEAP ladder, none for 0DTE when
    exempt."""
    out: list[Structure] = []
    ladder_seen = False
    for st in structures:
        if st.parent or group_of(st.legs[0].contract.underlying, s) != group:
            continue  # a part counts with its parent
        if st.strategy == "futures" or (st.strategy == "zero_dte" and s.zero_dte_correlation_exempt):
            continue
        if st.strategy == "leap_ladder":
            if ladder_seen:
                continue
            ladder_seen = True
        out.append(st)
    return out


def check(c: Candidate, ctx: ReviewContext) -> Verdict:
    s = ctx.settings
    structure = c.intent.structure
    if structure.parent:
        return None  # an adjustment of an open structure, which is already counted
    if structure.strategy == "futures" or (structure.strategy == "zero_dte" and s.zero_dte_correlation_exempt):
        return None  # a hedge offsets the group's risk; 0DTE closes the same day
    group = group_of(structure.legs[0].contract.underlying, s)
    if group is None:
        return None
    members = counted(ctx.book.structures, group, s)
    if structure.strategy == "leap_ladder" and any(m.strategy == "leap_ladder" for m in members):
        return None  # another rung of a ladder that already counts
    limit = limit_of(group, phase_of(ctx.account.net_liq, s), s)
    if len(members) >= limit:
        names = ", ".join(f"{m.legs[0].contract.underlying} {m.strategy} {m.id}" for m in members)
        return Refuse("correlation", f"group {group}: {len(members)} of {limit} open ({names})")
    return None
