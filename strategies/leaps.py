"""LEAP strategies (RULEBOOK "LEAPs"). This module has the short LEAP put ladder; the income poor man's
covered call (IPMCC) is not built yet (see the note on issue #3: its weekly short call is an adjustment of an
open structure, which the book and the risk manager's position counts do not model yet).

LEAP put ladder:
- Each week, at `ladder_entry_time` (10:00 ET) on its first session (Monday, or the next session when the
  Monday is a holiday), sell one SPY put (`ladder_underlying`) of 12-14 delta at the expiry closest to
  `ladder_target_dte` (365) within `ladder_min_dte`..`ladder_max_dte`, up to `ladder_max_rungs` (10) rungs.
- VIX under `ladder_skip_vix_below` (15): skip the week; above `ladder_double_vix_above` (20): 2 contracts.
- Exits: 30% of the credit kept, or close at `ladder_roll_dte` (150) DTE (the next rung follows the weekly
  schedule). The 21-DTE defence does not apply (the roll comes first).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from core.model import Decision, Found, MarketSnapshot, NotFound, OrderIntent, Right, Structure
from core.ports import Book, Calendar
from core.settings import Settings
from core.valuation import value_structure

from strategies.base import (
    at,
    closing,
    make_structure,
    mids,
    net_mid,
    no_trade,
    opening,
    option_at,
    to_tick,
    today,
    with_greeks,
)

LADDER = "leap_ladder"


def first_session_of_week(calendar: Calendar, day: date) -> date | None:
    monday = day - timedelta(days=day.weekday())
    probe = monday
    while probe.weekday() < 5:
        if calendar.is_session(probe):
            return probe
        probe += timedelta(days=1)
    return None


class LeapPutLadder:
    name = LADDER

    def __init__(self, settings: Settings, calendar: Calendar) -> None:
        self.settings = settings
        self.calendar = calendar

    def entry_times(self, calendar: Calendar, day: date) -> Sequence[datetime]:
        return [at(day, self.settings.ladder_entry_time)] if first_session_of_week(calendar, day) == day else []

    def propose(self, snapshot: MarketSnapshot, book: Book) -> Sequence[OrderIntent | Decision]:
        s = self.settings
        vix = snapshot.vix
        if vix is None:
            return [no_trade(snapshot, LADDER, "no VIX")]
        if vix < s.ladder_skip_vix_below:
            return [no_trade(snapshot, LADDER, f"VIX {vix:.2f} < {s.ladder_skip_vix_below:g}: skip the week")]
        rungs = book.open_structures(LADDER)
        if len(rungs) >= s.ladder_max_rungs:
            return [no_trade(snapshot, LADDER, f"{len(rungs)} of {s.ladder_max_rungs} rungs open")]
        root = s.ladder_underlying
        chain = snapshot.chains.get(root)
        if chain is None:
            return [no_trade(snapshot, LADDER, f"no {root} chain")]
        day = today(snapshot)
        expiry = chain.nearest_expiry(day, s.ladder_target_dte, s.ladder_min_dte, s.ladder_max_dte)
        if isinstance(expiry, NotFound):
            return [no_trade(snapshot, LADDER, expiry.reason)]
        target = 0.5 * (s.ladder_delta_min + s.ladder_delta_max)
        put = with_greeks(chain, s).closest_delta(
            expiry.value, Right.PUT, target, s.ladder_delta_min, s.ladder_delta_max
        )
        if isinstance(put, NotFound):
            return [no_trade(snapshot, LADDER, put.reason)]
        chain = with_greeks(chain, s)
        rows = [(put.value, -1)]
        quantity = 2 if vix > s.ladder_double_vix_above else 1
        legs = [(option_at(chain, put.value, root), -1)]
        structure = make_structure(
            LADDER, snapshot, legs, quantity, to_tick(net_mid(chain, rows), root), "", mids(chain, rows)
        )
        strike = f"{chain.strike[put.value]:g}"
        delta = f"|delta| {abs(chain.delta[put.value]):.3f}"
        why = f"{LADDER}: rung {len(rungs) + 1}: {root} {expiry.value} {strike} put x{quantity} ({delta})"
        return [opening(structure, why)]

    def manage(self, structure: Structure, snapshot: MarketSnapshot) -> OrderIntent | None:
        s = self.settings
        valued = value_structure(structure, snapshot, s)
        if not isinstance(valued, Found):
            return None
        view = valued.value
        if view.pnl_fraction >= s.ladder_profit_target - 1e-9:
            return closing(view, f"{LADDER}: profit target ({view.pnl_fraction:.0%} of the credit kept)")
        if view.dte is not None and view.dte <= s.ladder_roll_dte:
            return closing(view, f"{LADDER}: {view.dte} DTE ≤ {s.ladder_roll_dte}: close (roll)")
        return None
