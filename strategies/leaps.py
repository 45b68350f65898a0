"""LEAP strategies (RULEBOOK "LEAPs"): the income poor man's covered call (IPMCC) and the short LEAP put
ladder.

IPMCC (on `ipmcc_underlying`, QQQ; SPY or IWM by parameter), one structure whose legs change:
- Without an IPMCC open: buy the call of about 80 delta (70-90) at the expiry closest to 365 DTE (180-730)
  whose extrinsic value is under 5% of its strike.
- Each Friday at `ipmcc_short_call_time` (09:45 ET), for an IPMCC without a short call: sell the call
  closest to 7 DTE, at the money (the highest listed strike at or below the price: never out of the money);
  one strike in the money when EMA8 < EMA21; two when the price is above 1.02 × EMA8; never below the LEAP's
  strike. The call is a part of the IPMCC (`parent`): the book merges it in when it fills, and the risk
  manager counts it with its IPMCC and charges only the buying power it adds.
- Buy the short call back at 90% of its extrinsic value captured, or on its expiry day.
- The LEAP down 15% from its entry: sell half the structure (LEAPs and calls together, so no call is ever
  left uncovered; a 1-lot has no half and waits for the next rule); down 30%: exit all.

LEAP put ladder:
- Each week, at `ladder_entry_time` (10:00 ET) on its first session (Monday, or the next session when the
  Monday is a holiday), sell one SPY put (`ladder_underlying`) of 12-14 delta at the expiry closest to
  `ladder_target_dte` (365) within `ladder_min_dte`..`ladder_max_dte`, up to `ladder_max_rungs` (10) rungs.
- VIX under `ladder_skip_vix_below` (15): skip the week; above `ladder_double_vix_above` (20): 2 contracts.
- Exits: 30% of the credit kept, or close at `ladder_roll_dte` (150) DTE (the next rung follows the weekly
  schedule). The 21-DTE defence does not apply (the roll comes first).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import numpy as np
from core.calendar import FRIDAY
from core.indicators import ema
from core.model import (
    Chain,
    Contract,
    Decision,
    Found,
    IntentAction,
    Leg,
    MarketSnapshot,
    NotFound,
    OrderIntent,
    Right,
    Structure,
)
from core.ports import Book, Calendar
from core.settings import Settings, share
from core.valuation import value_structure

from strategies.base import (
    at,
    closing,
    make_structure,
    manage_common,
    mids,
    net_mid,
    no_trade,
    opening,
    option_at,
    part_of,
    to_tick,
    today,
    with_greeks,
)

LADDER = "leap_ladder"
IPMCC = "ipmcc"


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
            return [no_trade(snapshot, LADDER, snapshot.no_chain(root))]
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
            LADDER, snapshot, legs, quantity, to_tick(net_mid(chain, rows), root, len(rows)), "", mids(chain, rows)
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


class Ipmcc:
    name = IPMCC

    def __init__(self, settings: Settings, calendar: Calendar) -> None:
        self.settings = settings
        self.calendar = calendar

    def entry_times(self, calendar: Calendar, day: date) -> Sequence[datetime]:
        if day.weekday() != FRIDAY or not calendar.is_session(day):
            return []
        return [at(day, self.settings.ipmcc_short_call_time)]

    # ------------------------------------------------------------------ entries

    def propose(self, snapshot: MarketSnapshot, book: Book) -> Sequence[OrderIntent | Decision]:
        s = self.settings
        root = s.ipmcc_underlying
        chain = snapshot.chains.get(root)
        if chain is None:
            return [no_trade(snapshot, IPMCC, snapshot.no_chain(root))]
        chain = with_greeks(chain, s)
        held = [st for st in book.open_structures(IPMCC) if not st.parent and st.legs[0].contract.underlying == root]
        if not held:
            return [self._buy_leap(snapshot, chain, root)]
        out: list[OrderIntent | Decision] = []
        for parent in held:
            if any(leg.ratio < 0 for leg in parent.legs):
                out.append(no_trade(snapshot, IPMCC, f"{parent.id} already has a short call"))
            else:
                out.append(self._sell_call(snapshot, chain, root, parent))
        return out

    def _buy_leap(self, snapshot: MarketSnapshot, chain: Chain, root: str) -> OrderIntent | Decision:
        s = self.settings
        day = today(snapshot)
        price = chain.underlying_price
        expiry = chain.nearest_expiry(day, s.ipmcc_leap_target_dte, s.ipmcc_leap_min_dte, s.ipmcc_leap_max_dte)
        if isinstance(expiry, NotFound):
            return no_trade(snapshot, IPMCC, expiry.reason)
        rows = np.flatnonzero(chain.side_mask(expiry.value, Right.CALL))
        deltas = np.abs(chain.delta[rows])
        band = rows[(deltas >= s.ipmcc_leap_delta_min) & (deltas <= s.ipmcc_leap_delta_max)]
        if band.size == 0:
            lo, hi = f"{s.ipmcc_leap_delta_min:.2f}", f"{s.ipmcc_leap_delta_max:.2f}"
            return no_trade(snapshot, IPMCC, f"{root} {expiry.value}: no call with delta {lo}-{hi}")
        mid = 0.5 * (chain.bid[band] + chain.ask[band])
        extrinsic = mid - np.maximum(price - chain.strike[band], 0.0)
        cheap = band[extrinsic < s.ipmcc_max_extrinsic * chain.strike[band]]
        if cheap.size == 0:
            least = float(np.min(extrinsic / chain.strike[band]))
            limit = share(s.ipmcc_max_extrinsic)
            return no_trade(
                snapshot,
                IPMCC,
                f"{root} {expiry.value}: every call in the delta band has extrinsic over {limit} of its strike "
                f"(least {least:.1%})",
            )
        row = int(cheap[np.argmin(np.abs(np.abs(chain.delta[cheap]) - s.ipmcc_leap_delta))])
        rows_ = [(row, +1)]
        legs = [(option_at(chain, row, root), +1)]
        structure = make_structure(
            IPMCC, snapshot, legs, 1, to_tick(net_mid(chain, rows_), root, len(rows_)), "LEAP", mids(chain, rows_)
        )
        structure = dataclasses.replace(structure, entry_underlying=price)
        delta = f"delta {abs(chain.delta[row]):.2f}"
        why = f"{IPMCC}: buy the {root} {expiry.value} {chain.strike[row]:g} call ({delta}) as the LEAP"
        return opening(structure, why)

    def _sell_call(
        self, snapshot: MarketSnapshot, chain: Chain, root: str, parent: Structure
    ) -> OrderIntent | Decision:
        s = self.settings
        day = today(snapshot)
        price = chain.underlying_price
        expiry = chain.nearest_expiry(day, s.ipmcc_short_call_dte, 1, s.ipmcc_short_call_max_dte)
        if isinstance(expiry, NotFound):
            return no_trade(snapshot, IPMCC, expiry.reason)
        rows = np.flatnonzero(chain.side_mask(expiry.value, Right.CALL))
        rows = rows[np.argsort(chain.strike[rows])]
        at_or_below = rows[chain.strike[rows] <= price]
        if at_or_below.size == 0:
            return no_trade(snapshot, IPMCC, f"{root} {expiry.value}: no call at or below the price {price:g}")
        bars = snapshot.daily.get(root)
        fast = ema(bars.close, s.ipmcc_ema_fast) if bars is not None else None
        slow = ema(bars.close, s.ipmcc_ema_slow) if bars is not None else None
        steps, why_steps = 0, "at the money"
        if fast is not None and price > s.ipmcc_two_itm_trigger * fast:
            steps, why_steps = (
                2,
                f"2 strikes in the money (price over {s.ipmcc_two_itm_trigger:g} × EMA{s.ipmcc_ema_fast})",
            )
        elif fast is not None and slow is not None and fast < slow:
            steps, why_steps = 1, f"1 strike in the money (EMA{s.ipmcc_ema_fast} under EMA{s.ipmcc_ema_slow})"
        index = max(at_or_below.size - 1 - steps, 0)
        leap_strike = parent.legs[0].contract.strike or 0.0
        allowed = at_or_below[chain.strike[at_or_below] >= leap_strike]
        if allowed.size == 0:
            return no_trade(
                snapshot,
                IPMCC,
                f"{root} {expiry.value}: no call between the LEAP strike {leap_strike:g} and the price {price:g}",
            )
        row = int(at_or_below[index]) if chain.strike[at_or_below[index]] >= leap_strike else int(allowed[0])
        premium = float(0.5 * (chain.bid[row] + chain.ask[row]))
        call = _call_part(parent, option_at(chain, row, root), premium, snapshot, price, expiry.value)
        reason = f"{IPMCC}: sell the {root} {expiry.value} {chain.strike[row]:g} call against {parent.id}, {why_steps}"
        return OrderIntent(IntentAction.OPEN, call, call.quantity, to_tick(-premium, root, 1), reason)

    # ------------------------------------------------------------------ exits

    def manage(self, structure: Structure, snapshot: MarketSnapshot) -> OrderIntent | None:
        s = self.settings
        valued = value_structure(structure, snapshot, s)
        if not isinstance(valued, Found):
            return None
        view = valued.value
        leap_index = next((i for i, leg in enumerate(structure.legs) if leg.ratio > 0), None)
        if leap_index is None:
            return None
        if structure.leg_entry_prices:
            leap_entry = structure.leg_entry_prices[leap_index]
            change = view.legs[leap_index].mid / leap_entry - 1.0 if leap_entry > 0 else 0.0
            if change <= -s.ipmcc_leap_down_exit + 1e-9:
                return closing(
                    view, f"{IPMCC}: the LEAP is down {-change:.0%} (exit at {share(s.ipmcc_leap_down_exit)})"
                )
            if change <= -s.ipmcc_leap_down_half + 1e-9 and structure.quantity >= 2:
                half = structure.quantity // 2
                smaller = dataclasses.replace(structure, quantity=half)
                return dataclasses.replace(
                    closing(
                        view,
                        f"{IPMCC}: the LEAP is down {-change:.0%}: sell half ({half} of {structure.quantity})",
                        smaller,
                    ),
                    quantity=half,
                )
        for i, leg in enumerate(structure.legs):
            if leg.ratio >= 0 or leg.contract.expiry is None or leg.contract.strike is None:
                continue
            mark = view.legs[i].mid
            intrinsic = max(view.underlying_price - leg.contract.strike, 0.0)
            part = part_of(structure, [i], f"call-{leg.contract.expiry:%Y%m%d}")
            if (leg.contract.expiry - today(snapshot)).days <= 0:
                return closing(view, f"{IPMCC}: buy back the {leg.contract.strike:g} call on its expiry day", part)
            sold_at = structure.underlying_at_entry(i)  # the underlying when this call was sold, not the LEAP
            if structure.leg_entry_prices and sold_at > 0:
                entry_extrinsic = structure.leg_entry_prices[i] - max(sold_at - leg.contract.strike, 0.0)
                now_extrinsic = mark - intrinsic
                if entry_extrinsic > 0:
                    captured = 1.0 - now_extrinsic / entry_extrinsic
                    if captured >= s.ipmcc_buyback_extrinsic - 1e-9:
                        return closing(
                            view,
                            f"{IPMCC}: buy back the {leg.contract.strike:g} call, {captured:.0%} of its extrinsic "
                            "captured",
                            part,
                        )
        return manage_common(structure, snapshot, s, None, None)


def _call_part(
    parent: Structure, call: Contract, premium: float, snapshot: MarketSnapshot, price: float, expiry: date
) -> Structure:
    """The weekly short call as a part of its IPMCC."""
    return Structure(
        id=f"{parent.id}:call-{expiry:%Y%m%d}",
        strategy=IPMCC,
        legs=(Leg(call, -1),),
        quantity=parent.quantity,
        entry_price=-premium,
        entry_time=snapshot.time,
        tag=f"part of {parent.id}",
        leg_entry_prices=(premium,),
        parent=parent.id,
        entry_underlying=price,
    )
