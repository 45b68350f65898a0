"""LT112 (RULEBOOK "LT112"): one put debit spread plus two naked puts, about 120 days out.

- When: the first Wednesday of the month (the next session when it is a holiday), from `lt112_entry_time`
  (10:00 ET) for `lt112_entry_window_minutes` (10).
- What: SPY options below `full_size_from` (`lt112_underlying_small`), ES future options from there
  (`lt112_underlying_full`); SPX by parameter. Not in a phase whose LT112 limit is 0. RULEBOOK's full-size
  product and its 2% risk rule disagree: one ES LT112 risks 5,000-15,000 at its stop (debit plus two more
  naked credits, x 50), more than 2% of any account under ~250,000, and ES's third-Friday expiries rarely
  sit 110-130 days from a first Wednesday. RULEBOOK is silent on which gives way; a trader keeps trading the
  strategy on the smaller product it defines, so with `lt112_fallback_to_small` (default true) an LT112
  that cannot open on the account's product (over the risk rule, or any product reason) opens on
  `lt112_underlying_small` instead, and the reason says why the first was passed over.
- Expiry: the one closest to `lt112_target_dte` (120) within 110–130. Skip when the underlying closed at a
  52-week high (`lt112_skip_at_52w_high`), or when an LT112 already uses that expiry.
- Strikes (`lt112_strike_mode` = moneyness): the long put is the first listed strike at or below 0.93 ×
  price; the spread's short put the first listed at or below the long minus the width (50 index points, 5
  on SPY) and no more than twice the width below it; the naked puts (2) the first listed at or below 0.88 ×
  price, which must lie below the spread. In delta mode: long closest to 25 delta, naked closest to 5 delta.
- Exits: the naked puts close at 90% of their credit (the spread stays as a hedge to its own exit); all
  closes when the underlying comes within 0.6% of the naked strike or the naked puts cost 3× their credit;
  the shared 21-DTE defence and time exits apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from core.calendar import WEDNESDAY
from core.indicators import at_52_week_high
from core.model import Chain, Decision, Found, MarketSnapshot, NotFound, OrderIntent, Right, Structure
from core.ports import Book, Calendar
from core.products import option_root
from core.settings import Settings, share
from core.timeutil import elapsed
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
    risk_at_stop,
    to_tick,
    today,
    with_greeks,
)
from strategies.futures import Futures

NAME = "lt112"


def naked_leg(structure: Structure) -> int | None:
    """The index of the naked puts: the lowest-strike short put, when the structure's short puts outnumber
    its long ones (the spread's long put covers its short; what is short beyond it is naked). A whole LT112
    (+1 / −1 / −n), one with `lt112_naked_count` 1 (+1 / −1 / −1) and the naked puts left alone all have one;
    the spread alone has none. (Found by the ratio once, −1 naked puts looked covered.)"""
    puts = [(i, leg) for i, leg in enumerate(structure.legs) if leg.contract.right is Right.PUT]
    shorts = [(i, leg) for i, leg in puts if leg.ratio < 0]
    if not shorts or -sum(leg.ratio for _, leg in shorts) <= sum(leg.ratio for _, leg in puts if leg.ratio > 0):
        return None
    return min(shorts, key=lambda pair: pair[1].contract.strike or 0.0)[0]


def stop_risk(chain: Chain, rows: list[tuple[int, int]], stop_multiple: float) -> float:
    """USD one LT112 loses at its stop, as the risk-per-trade rule measures it: the debit spread's debit (its
    max loss) plus (stop multiple - 1) x the naked puts' credit, at mid."""
    loss = risk_at_stop(chain, rows, stop_multiple)
    assert loss is not None  # with a stop given, the naked puts are measured by it
    return loss


class Lt112:
    name = NAME

    def __init__(self, settings: Settings, calendar: Calendar, futures: Futures | None = None) -> None:
        self.settings = settings
        self.calendar = calendar
        self.futures = futures  # closes future options whose underlying future is about to expire

    def entry_times(self, calendar: Calendar, day: date) -> Sequence[datetime]:
        first = calendar.nth_weekday(day.year, day.month, WEDNESDAY, 1)
        return [at(day, self.settings.lt112_entry_time)] if first == day else []

    def underlying_for(self, net_liq: float) -> str:
        s = self.settings
        return s.lt112_underlying_full if net_liq >= s.full_size_from else s.lt112_underlying_small

    # ------------------------------------------------------------------ entries

    def propose(self, snapshot: MarketSnapshot, book: Book) -> Sequence[OrderIntent | Decision]:
        s = self.settings
        day = today(snapshot)
        opens = at(day, s.lt112_entry_time)
        into = elapsed(opens, snapshot.time)
        if not timedelta(0) <= into <= timedelta(minutes=s.lt112_entry_window_minutes):
            end = opens + timedelta(minutes=s.lt112_entry_window_minutes)
            return [no_trade(snapshot, NAME, f"outside the {opens:%H:%M}-{end:%H:%M} entry window")]
        net = book.account().net_liq
        phase = s.phase(net)
        if s.max_positions_lt112[phase - 1] == 0:
            return [no_trade(snapshot, NAME, f"phase {phase} (net liq {net:,.0f}) does not trade LT112")]
        roots = [self.underlying_for(net)]
        if s.lt112_fallback_to_small and s.lt112_underlying_small not in roots:
            roots.append(s.lt112_underlying_small)
        reasons: list[str] = []
        for root in roots:
            tried = self._open(snapshot, book, root, net)
            if isinstance(tried, OrderIntent):
                if reasons:  # say why the account's own product was passed over
                    tried = dataclasses.replace(tried, reason=f"{tried.reason}; not {'; not '.join(reasons)}")
                return [tried]
            reasons.append(tried)
        return [no_trade(snapshot, NAME, "; ".join(reasons))]

    def _open(self, snapshot: MarketSnapshot, book: Book, product: str, net: float) -> OrderIntent | str:
        """One LT112 on `product` (SPY, ES, SPX: its options are `option_root`'s), or why not (the reason
        names the option root)."""
        s = self.settings
        day = today(snapshot)
        root = option_root(product)
        chain = snapshot.chains.get(root)
        if chain is None:
            return snapshot.no_chain(root)
        price = chain.underlying_price
        bars = snapshot.daily.get(product)
        if s.lt112_skip_at_52w_high and bars is not None and at_52_week_high(bars):
            return f"{product} closed at a 52-week high ({bars.close[-1]:g})"
        expiry = chain.nearest_expiry(day, s.lt112_target_dte, s.lt112_min_dte, s.lt112_max_dte)
        if isinstance(expiry, NotFound):
            return f"{root}: {expiry.reason.replace(f'{root}: ', '')}"
        for held in book.open_structures(NAME):
            if any(leg.contract.expiry == expiry.value and leg.contract.root == root for leg in held.legs):
                return f"an LT112 ({held.id}) already uses the {root} {expiry.value} expiry"
        picked = self._strikes(with_greeks(chain, s), expiry.value, price, root)
        if isinstance(picked, NotFound):
            return f"{root} {expiry.value}: {picked.reason}"
        long_row, short_row, naked_row = picked.value
        rows = [(long_row, +1), (short_row, -1), (naked_row, -s.lt112_naked_count)]
        risk = stop_risk(chain, rows, s.lt112_naked_stop_multiple)
        budget = s.risk_per_trade * net
        if s.lt112_fallback_to_small and product != s.lt112_underlying_small and risk > budget:
            return (
                f"{root}: one risks {risk:,.0f} at its stop, over {share(s.risk_per_trade)} of net liq ({budget:,.0f})"
            )
        legs = [(option_at(chain, row, product), ratio) for row, ratio in rows]
        structure = make_structure(
            NAME, snapshot, legs, 1, to_tick(net_mid(chain, rows), root, len(rows)), "", mids(chain, rows)
        )
        k = [f"{chain.strike[r]:g}" for r, _ in rows]
        naked_text = f"{s.lt112_naked_count} x {k[2]} put"
        why = f"{NAME}: {root} {expiry.value} put spread {k[0]}/{k[1]} + {naked_text} (price {price:g})"
        return opening(structure, why)

    def _strikes(self, chain: Chain, expiry: date, price: float, root: str) -> Found[tuple[int, int, int]] | NotFound:
        s = self.settings
        width = s.lt112_spread_width_spy if root == "SPY" else s.lt112_spread_width_index
        if s.lt112_strike_mode == "delta":
            long_ = chain.closest_delta(
                expiry,
                Right.PUT,
                s.lt112_long_put_delta,
                s.lt112_long_put_delta - s.lt112_long_delta_band,
                s.lt112_long_put_delta + s.lt112_long_delta_band,
            )
            naked = chain.closest_delta(
                expiry,
                Right.PUT,
                s.lt112_naked_put_delta,
                max(s.lt112_naked_put_delta - s.lt112_naked_delta_band, 1e-6),
                s.lt112_naked_put_delta + s.lt112_naked_delta_band,
            )
        else:
            long_ = chain.strike_at_or_beyond(expiry, Right.PUT, s.lt112_long_put_moneyness * price, upward=False)
            naked = chain.strike_at_or_beyond(expiry, Right.PUT, s.lt112_naked_moneyness * price, upward=False)
        if isinstance(long_, NotFound):
            return NotFound(f"long put: {long_.reason}")
        long_strike = float(chain.strike[long_.value])
        short = chain.strike_at_or_beyond(expiry, Right.PUT, long_strike - width, upward=False)
        if isinstance(short, NotFound):
            return NotFound(f"short put: {short.reason}")
        short_strike = float(chain.strike[short.value])
        if long_strike - short_strike > 2 * width:
            return NotFound(
                f"no put listed {width:g}-{2 * width:g} points below the {long_strike:g} long put "
                f"(next {short_strike:g})"
            )
        if isinstance(naked, NotFound):
            return NotFound(f"naked puts: {naked.reason}")
        naked_strike = float(chain.strike[naked.value])
        if naked_strike >= short_strike:
            return NotFound(f"the naked put ({naked_strike:g}) is not below the spread's short put ({short_strike:g})")
        return Found((long_.value, short.value, naked.value))

    # ------------------------------------------------------------------ exits

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
        i = naked_leg(structure)
        if i is not None and structure.leg_entry_prices:
            strike = structure.legs[i].contract.strike or 0.0
            price = view.underlying_price
            if price - strike <= s.lt112_danger_distance * price:
                return closing(
                    view,
                    f"{NAME}: underlying {price:g} within {s.lt112_danger_distance:.1%} of the naked {strike:g} put",
                )
            credit = structure.leg_entry_prices[i]
            cost = view.legs[i].mid
            if cost >= s.lt112_naked_stop_multiple * credit - 1e-9:
                return closing(
                    view,
                    f"{NAME}: naked puts cost {cost:.2f}, {s.lt112_naked_stop_multiple:g} x their {credit:.2f} credit",
                )
            if cost <= (1.0 - s.lt112_naked_profit_target) * credit + 1e-9:
                kept = f"{NAME}: naked puts at {1 - cost / credit:.0%} of their credit"
                if len(structure.legs) == 1:  # the naked puts are all that is left
                    return closing(view, f"{kept}: close them")
                return closing(view, f"{kept}: close them, keep the spread", part_of(structure, [i], "naked"))
        return manage_common(structure, snapshot, s, None, None)
