"""Friday 0DTE on SPXW (RULEBOOK "0DTE"): the only 0DTE options LEAN has data and symbols for.

Fridays only (a Friday holiday such as Good Friday has no session and so no entry). The shell records the
09:30 open (`MarketSnapshot.session_open`); at `zdte_analysis_time` (10:00 ET) the strategy records the move
since the open, the ATR and VIX (RULEBOOK's "pre-market analysis"); at the entry time (10:30 ET) it decides
on that 10:00 move (the price of 10:30 only places the strikes), and without a 10:00 analysis (the algorithm
was not running then: a restart in between) it does not trade:
- skip above `zdte_max_vix` (VIX now);
- the 10:00 move since the open above +`zdte_move_threshold` (0.5%) → bear call spread, short call at or above
  price + 0.7 × ATR(14); below −0.5% → bull put spread, short put at or below price − 0.7 × ATR; otherwise
  an iron condor with shorts at ± 0.5 × ATR;
- each short then moves outward (away from the money) until its |delta| is at most `zdte_short_delta_max`
  (0.25); if it is then under `zdte_short_delta_min` (0.15) there is too little premium and no trade (a short
  at |delta| ≥ `zdte_short_delta_never` is never traded);
- wings: the nearest listed strike at least the wing width beyond each short (5 points in start-small mode,
  10 below `full_size_from`, 20 from there, 30 in phase 4). The RULEBOOK's widths and its 2% risk rule
  disagree near each threshold: one condor with 30-point wings can lose about 2,700 at expiry, more than 2%
  of any account under ~140,000, so at 100,000 (phase 4) no 0DTE would ever pass the risk check; 20-point
  wings need ~90,000 and phase 3 starts at 76,000. RULEBOOK is silent on which gives way. A trader keeps the
  trade and narrows the wings, so with `zdte_narrow_wings_to_fit` (default true) the strategy takes the widest
  configured width at or under the account's whose one-contract max loss (widest vertical − credit at mid)
  fits `risk_per_trade` of net liq, and says so in the reason; false keeps the account's width and lets the
  safety checks refuse it;
- contracts: one per `zdte_net_liq_per_contract` (40,000) of net liq, at least 1 and at most 5 (the 2% risk
  rule in safety may cut it further).
Exits: 50% of the credit kept, a stop when the cost to close reaches 2× the credit, and a time exit at 15:00
ET (or `zdte_early_close_exit_minutes` before an early close), whatever the P&L.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from core.calendar import FRIDAY
from core.indicators import atr
from core.model import Chain, Decision, Found, MarketSnapshot, NotFound, OrderIntent, Right, Structure
from core.ports import Book, Calendar
from core.settings import Settings, share
from core.timeutil import elapsed
from core.valuation import value_structure

from strategies.base import (
    NEW_YORK,
    at,
    closing,
    make_structure,
    manage_common,
    mids,
    net_mid,
    no_trade,
    opening,
    option_at,
    risk_at_stop,
    to_tick,
    today,
    with_greeks,
)

NAME = "zero_dte"
UNDERLYING = "SPX"


def max_loss(chain: Chain, rows: list[tuple[int, int]]) -> float:
    """USD one contract of short verticals (a spread, or a condor's two) can lose at expiry, as the risk rule
    measures it: the widest vertical less the whole credit at mid (only one side of a condor can finish in
    the money)."""
    loss = risk_at_stop(chain, rows, None)
    if loss is None:  # every short has its wing, so there is nothing naked to need a stop
        raise ValueError("a 0DTE structure with a naked short")
    return loss


@dataclass(frozen=True, slots=True)
class Analysis:
    """What 10:00 saw: the move since the open, the ATR and VIX."""

    move: float
    atr: float
    vix: float


class ZeroDte:
    name = NAME

    def __init__(self, settings: Settings, calendar: Calendar) -> None:
        self.settings = settings
        self.calendar = calendar
        self.analyses: dict[date, Analysis] = {}  # the day's 10:00 analysis (only today's is kept)

    def entry_times(self, calendar: Calendar, day: date) -> Sequence[datetime]:
        if day.weekday() != FRIDAY or not calendar.is_session(day):
            return []
        s = self.settings
        return [at(day, s.zdte_open_time), at(day, s.zdte_analysis_time), at(day, s.zdte_entry_time)]

    def wing_width(self, net_liq: float) -> float:
        s = self.settings
        if net_liq < s.start_small_below:
            return s.zdte_wing_start_small
        if s.phase(net_liq) == 4:
            return s.zdte_wing_phase4
        return s.zdte_wing_full if net_liq >= s.full_size_from else s.zdte_wing_small

    def contracts(self, net_liq: float) -> int:
        s = self.settings
        if net_liq < s.start_small_below:
            return 1
        # Whole multiples of the per-contract amount count in full: floor division of binary floats gave
        # 208,092.90 // 41,618.58 = 4 for an exact 5 (the tolerance is strangles.size's).
        return max(1, min(s.zdte_max_contracts, math.floor(net_liq / s.zdte_net_liq_per_contract + 1e-9)))

    # ------------------------------------------------------------------ entries

    def propose(self, snapshot: MarketSnapshot, book: Book) -> Sequence[OrderIntent | Decision]:
        s = self.settings
        day = today(snapshot)
        if day.weekday() != FRIDAY:
            return [no_trade(snapshot, NAME, "trades on Fridays only")]
        if book.open_structures(NAME):
            return [no_trade(snapshot, NAME, "a 0DTE structure is already open today")]
        vix = snapshot.vix
        if vix is None:
            return [no_trade(snapshot, NAME, "no VIX")]
        if vix > s.zdte_max_vix:
            return [no_trade(snapshot, NAME, f"VIX {vix:.2f} > {s.zdte_max_vix:g}")]
        chain = snapshot.chains.get("SPXW")
        price = snapshot.prices.get(UNDERLYING)
        opened = snapshot.session_open.get(UNDERLYING)
        bars = snapshot.daily.get(UNDERLYING)
        if chain is None or price is None:
            return [no_trade(snapshot, NAME, snapshot.no_chain("SPXW") if chain is None else "no SPX price")]
        if opened is None:
            return [no_trade(snapshot, NAME, "today's SPX open was not recorded")]
        range_ = atr(bars, s.zdte_atr_days) if bars is not None else None
        if range_ is None:
            return [no_trade(snapshot, NAME, f"fewer than {s.zdte_atr_days + 1} daily bars for the ATR")]
        if not (chain.expiry == day.toordinal() - date(1970, 1, 1).toordinal()).any():
            return [no_trade(snapshot, NAME, f"no SPXW expiry today ({day})")]
        local = snapshot.time.astimezone(NEW_YORK).time()
        if local < s.zdte_entry_time:
            # 09:30 records the open, 10:00 is the analysis: record it, say what is seen, enter at the entry time.
            move = price / opened - 1.0
            if local >= s.zdte_analysis_time:
                self.analyses = {day: Analysis(move, range_, vix)}
            seen = f"move {move:+.2%} since the open, ATR {range_:.1f}, VIX {vix:.2f}"
            return [no_trade(snapshot, NAME, f"analysis at {local:%H:%M}: {seen}; entry at {s.zdte_entry_time:%H:%M}")]
        analysis = self.analyses.get(day)
        if analysis is None:
            when = f"{s.zdte_analysis_time:%H:%M}"
            return [
                no_trade(snapshot, NAME, f"no {when} analysis recorded today (the algorithm was not running at {when})")
            ]
        move = analysis.move
        chain = with_greeks(chain, s)
        sides: list[Right]
        if move > s.zdte_move_threshold:
            kind, sides, distance = "bear call spread", [Right.CALL], s.zdte_spread_atr
        elif move < -s.zdte_move_threshold:
            kind, sides, distance = "bull put spread", [Right.PUT], s.zdte_spread_atr
        else:
            kind, sides, distance = "iron condor", [Right.PUT, Right.CALL], s.zdte_condor_atr
        account = book.account()
        shorts: list[tuple[Right, int]] = []
        for right in sides:
            short = self._short(chain, day, right, price, distance * range_)
            if isinstance(short, NotFound):
                return [no_trade(snapshot, NAME, f"{kind}: {short.reason}")]
            shorts.append((right, short.value))
        picked = self._wings(chain, day, shorts, account.net_liq)
        if isinstance(picked, NotFound):
            return [no_trade(snapshot, NAME, f"{kind}: {picked.reason}")]
        rows, width, narrowed = picked.value
        legs = [(option_at(chain, row, UNDERLYING), ratio) for row, ratio in rows]
        price_now = to_tick(net_mid(chain, rows), chain.root, len(rows))
        quantity = self.contracts(account.net_liq)
        structure = make_structure(NAME, snapshot, legs, quantity, price_now, kind, mids(chain, rows))
        at_ten = f"{s.zdte_analysis_time:%H:%M}"
        why = (
            f"{NAME}: {kind}, move {move:+.2%} at {at_ten} since the open, ATR {range_:.1f}, wings {width:g}{narrowed}"
        )
        return [opening(structure, why)]

    def _wings(
        self, chain: Chain, day: date, shorts: list[tuple[Right, int]], net_liq: float
    ) -> Found[tuple[list[tuple[int, int]], float, str]] | NotFound:
        """Wings for the shorts: the account's width, or with `zdte_narrow_wings_to_fit` the widest configured
        width at or under it whose one-contract max loss fits the risk-per-trade rule (module docstring).
        When none fits, the account's width goes out and the safety checks refuse it by name."""
        s = self.settings
        width = self.wing_width(net_liq)
        widths = [width]
        if s.zdte_narrow_wings_to_fit:
            configured = (s.zdte_wing_phase4, s.zdte_wing_full, s.zdte_wing_small, s.zdte_wing_start_small)
            widths += sorted({w for w in configured if w < width}, reverse=True)
        budget = s.risk_per_trade * net_liq
        first: tuple[list[tuple[int, int]], float] | None = None
        for w in widths:
            rows: list[tuple[int, int]] = []
            for right, short in shorts:
                wing = chain.wing(day, right, float(chain.strike[short]), w)
                if isinstance(wing, NotFound):
                    where = f"{chain.strike[short]:g} {right.value}"
                    return NotFound(f"no wing {w:g} points beyond the {where}: {wing.reason}")
                rows += [(short, -1), (wing.value, +1)]
            first = first or (rows, w)
            if max_loss(chain, rows) <= budget:
                narrowed = (
                    f" (narrowed from {width:g} to fit {share(s.risk_per_trade)} of net liq)" if w < width else ""
                )
                return Found((rows, w, narrowed))
        assert first is not None
        return Found((first[0], first[1], ""))

    def _short(self, chain: Chain, day: date, right: Right, price: float, distance: float) -> Found[int] | NotFound:
        s = self.settings
        upward = right is Right.CALL
        start = price + distance if upward else price - distance
        first = chain.strike_at_or_beyond(day, right, start, upward=upward)
        if isinstance(first, NotFound):
            return first
        rows = np.flatnonzero(chain.side_mask(day, right))
        strike_of_first = chain.strike[first.value]
        outward = rows[chain.strike[rows] >= strike_of_first] if upward else rows[chain.strike[rows] <= strike_of_first]
        candidates = (
            outward[np.argsort(chain.strike[outward])] if upward else outward[np.argsort(-chain.strike[outward])]
        )
        for row in (int(r) for r in candidates):  # outward from the ATR strike
            delta = abs(float(chain.delta[row]))
            if not np.isfinite(delta) or delta >= s.zdte_short_delta_never:
                continue
            if delta <= s.zdte_short_delta_max:
                if delta < s.zdte_short_delta_min:
                    strike = f"{chain.strike[row]:g}"
                    return NotFound(
                        f"short {right.value} {strike} |delta| {delta:.3f} under {s.zdte_short_delta_min:.2f} "
                        f"at {distance:.1f} points out: too little premium"
                    )
                return Found(row)
        return NotFound(f"no {right.value} at or beyond {start:.1f} with |delta| ≤ {s.zdte_short_delta_max:.2f}")

    # ------------------------------------------------------------------ exits

    def exit_time(self, day: date) -> datetime:
        s = self.settings
        session = self.calendar.open_close(day)
        regular = at(day, s.zdte_exit_time)
        if session is not None and self.calendar.early_closes(day, day):
            return min(regular, session[1] - timedelta(minutes=s.zdte_early_close_exit_minutes))
        return regular

    def watches_every_minute(self, structure: Structure) -> bool:
        """Every 0DTE structure is watched each minute it is held (core/ports.MinuteWatch)."""
        return structure.strategy == NAME

    def manage(self, structure: Structure, snapshot: MarketSnapshot) -> OrderIntent | None:
        s = self.settings
        if elapsed(self.exit_time(today(snapshot)), snapshot.time).total_seconds() >= 0:
            valued = value_structure(structure, snapshot, s)
            if isinstance(valued, Found):
                return closing(valued.value, f"{NAME}: time exit at {self.exit_time(today(snapshot)):%H:%M}")
            return None
        return manage_common(structure, snapshot, s, s.zdte_profit_target, s.zdte_stop_multiple)
