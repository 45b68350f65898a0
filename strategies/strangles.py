"""Short strangles (RULEBOOK "Strangles").

- When: the second Tuesday of the month (`strangle_entry_weekday_index`; the next session when it is a
  holiday) at `strangle_entry_time` (10:15 ET).
- What: below `full_size_from` the ETF options of `strangle_products_etf` (GLD, TLT, USO), with
  `strangle_products_etf_phase2` (SLV, XOP) added from phase 2; from `full_size_from` the future options of
  `strangle_products_future` (ES, CL, GC, 6E, ZB). One strangle per product at a time.
- Filters: no strangle below VIX `strangle_skip_vix_below` (13); the expiry closest to 90 DTE within
  75–105; IV rank at least `strangle_min_iv_rank` (30), from the recorded 30-day ATM IV, or until a year of
  it is recorded the rank of `strangle_rv_days` (20) realised volatility (the reason says which);
  consolidation: the 20-day (high − low) / close at most 8%.
- Strikes: the put closest to 6 delta within 5–7, the call closest to 5.5 delta within 5–6.
- Size: `strangle_base_size` (1), × 1.5 from VIX 18 and × 2 above VIX 25, rounded as `strangle_size_rounding`
  says (down, RULEBOOK's: at base 1 the × 1.5 step stays 1; half_up makes it 2), at least 1.
- Exits: 50% of the credit; the cost to close at 3× the credit; a tested short at |delta| ≥ 0.30 closes the
  strangle, at ≥ 0.25 closes that side; the shared 21-DTE defence and time exits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

from core.calendar import TUESDAY
from core.indicators import iv_rank, range_ratio
from core.model import Decision, MarketSnapshot, NotFound, OrderIntent, Right, Structure
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
from strategies.futures import Futures

NAME = "strangles"


class Strangles:
    name = NAME

    def __init__(self, settings: Settings, calendar: Calendar, futures: Futures | None = None) -> None:
        self.settings = settings
        self.calendar = calendar
        self.futures = futures  # closes future options whose underlying future is about to expire

    def entry_times(self, calendar: Calendar, day: date) -> Sequence[datetime]:
        s = self.settings
        nth = calendar.nth_weekday(day.year, day.month, TUESDAY, s.strangle_entry_weekday_index)
        return [at(day, s.strangle_entry_time)] if nth == day else []

    def products(self, net_liq: float) -> tuple[str, ...]:
        s = self.settings
        if net_liq >= s.full_size_from:
            return s.strangle_products_future
        if s.phase(net_liq) >= 2:
            return s.strangle_products_etf + s.strangle_products_etf_phase2
        return s.strangle_products_etf

    def size(self, vix: float) -> tuple[int, str]:
        """Strangles per product, and how: `strangle_base_size` × the VIX step's multiplier, rounded as
        `strangle_size_rounding` says (down, RULEBOOK's: at base 1 the × 1.5 step stays 1), at least 1."""
        s = self.settings
        scale = (
            s.strangle_size_high
            if vix > s.strangle_size_vix_high
            else s.strangle_size_mid
            if vix >= s.strangle_size_vix_mid
            else 1.0
        )
        raw = s.strangle_base_size * scale
        count = math.floor(raw + 1e-9) if s.strangle_size_rounding == "down" else math.floor(raw + 0.5 + 1e-9)
        count = max(1, count)
        how = (
            "" if scale == 1.0 else f", size {s.strangle_base_size} × {scale:g} ({s.strangle_size_rounding}) = {count}"
        )
        return count, how

    def propose(self, snapshot: MarketSnapshot, book: Book) -> Sequence[OrderIntent | Decision]:
        s = self.settings
        vix = snapshot.vix
        if vix is None:
            return [no_trade(snapshot, NAME, "no VIX")]
        if vix < s.strangle_skip_vix_below:
            return [no_trade(snapshot, NAME, f"VIX {vix:.2f} < {s.strangle_skip_vix_below:g}")]
        held = {st.legs[0].contract.underlying for st in book.open_structures(NAME)}
        out: list[OrderIntent | Decision] = []
        for root in self.products(book.account().net_liq):
            if root in held:
                out.append(no_trade(snapshot, NAME, f"{root}: a strangle is already open"))
                continue
            out.append(self._one(snapshot, root, vix))
        return out

    def _one(self, snapshot: MarketSnapshot, root: str, vix: float) -> OrderIntent | Decision:
        s = self.settings
        day = today(snapshot)
        chain = snapshot.chains.get(root)
        if chain is None:
            return no_trade(snapshot, NAME, snapshot.no_chain(root))
        expiry = chain.nearest_expiry(day, s.strangle_target_dte, s.strangle_min_dte, s.strangle_max_dte)
        if isinstance(expiry, NotFound):
            return no_trade(snapshot, NAME, expiry.reason)
        bars = snapshot.daily.get(root)
        rank = iv_rank(snapshot.iv_history.get(root), bars.close if bars is not None else None, s.strangle_rv_days)
        if rank is None:
            return no_trade(
                snapshot,
                NAME,
                f"{root}: no IV rank (no IV history, too few daily bars, or a price ≤ 0 in the last"
                f" {s.strangle_rv_days} sessions)",
            )
        if rank.value < s.strangle_min_iv_rank:
            return no_trade(
                snapshot, NAME, f"{root}: IV rank {rank.value:.0f} < {s.strangle_min_iv_rank:g} ({rank.source})"
            )
        spread = range_ratio(bars, s.strangle_consolidation_days) if bars is not None else None
        if spread is None:
            return no_trade(
                snapshot, NAME, f"{root}: fewer than {s.strangle_consolidation_days} daily bars for the range"
            )
        if spread > s.strangle_max_range:
            return no_trade(
                snapshot,
                NAME,
                f"{root}: {s.strangle_consolidation_days}-day range {spread:.1%} > {share(s.strangle_max_range)}: "
                "not consolidating",
            )
        chain = with_greeks(chain, s)
        put = chain.closest_delta(
            expiry.value, Right.PUT, s.strangle_put_delta, s.strangle_put_delta_min, s.strangle_put_delta_max
        )
        if isinstance(put, NotFound):
            return no_trade(snapshot, NAME, put.reason)
        call = chain.closest_delta(
            expiry.value, Right.CALL, s.strangle_call_delta, s.strangle_call_delta_min, s.strangle_call_delta_max
        )
        if isinstance(call, NotFound):
            return no_trade(snapshot, NAME, call.reason)
        rows = [(put.value, -1), (call.value, -1)]
        legs = [(option_at(chain, row, root), ratio) for row, ratio in rows]
        quantity, sized = self.size(vix)
        structure = make_structure(
            NAME, snapshot, legs, quantity, to_tick(net_mid(chain, rows), root, len(rows)), "", mids(chain, rows)
        )
        k = [f"{chain.strike[r]:g}" for r, _ in rows]
        filters = f"IV rank {rank.value:.0f} ({rank.source}), range {spread:.1%}"
        why = f"{NAME}: {root} {expiry.value} {k[0]}/{k[1]} x{quantity}, {filters}{sized}"
        return opening(structure, why)

    def manage(self, structure: Structure, snapshot: MarketSnapshot) -> OrderIntent | None:
        s = self.settings
        if self.futures is not None:
            expiring = self.futures.expiry_close(structure, snapshot)
            if expiring is not None:
                return expiring
        valued = value_structure(structure, snapshot, s)
        if isinstance(valued, NotFound):
            return None
        view = valued.value
        # The tested side is the short with the largest |delta| (a leg without a usable delta is not tested).
        shorts = [
            (abs(mark.delta), i)
            for i, (leg, mark) in enumerate(zip(structure.legs, view.legs, strict=True))
            if leg.ratio < 0 and math.isfinite(mark.delta)
        ]
        if shorts:
            delta, index = max(shorts)
            right = structure.legs[index].contract.right
            side = right.value if right else "side"
            if delta >= s.strangle_tested_delta_all:
                limit = f"{s.strangle_tested_delta_all:.2f}"
                return closing(view, f"{NAME}: tested {side} |delta| {delta:.2f} ≥ {limit}: close the strangle")
            if delta >= s.strangle_tested_delta_side and len(structure.legs) > 1:
                limit = f"{s.strangle_tested_delta_side:.2f}"
                reason = f"{NAME}: tested {side} |delta| {delta:.2f} ≥ {limit}: close that side"
                return closing(view, reason, part_of(structure, [index], side))
        return manage_common(structure, snapshot, s, s.strangle_profit_target, s.strangle_stop_multiple)
