"""Futures (RULEBOOK "Futures"): which contract to hold, when to roll, and the optional delta hedge.

- Contract choice for every futures-based strategy: the front quarterly with at least
  `futures_min_trading_days` (10) sessions to its last trade date, otherwise the next one.
- Roll: a held future (a hedge, or one delivered by an option exercise) is closed `futures_roll_days` (5)
  sessions before its last trade date (the hedge then reopens in the next contract); future options whose
  underlying future's last trade is within `future_option_close_days` (5) sessions are closed. Every
  strategy that holds future options calls `expiry_close` first in its exits.
- Delta hedge (off unless `enable_delta_hedge`): when the beta-weighted portfolio delta passes
  ±`max_abs_delta` of net liq, trade MES futures to bring it back to `hedge_target_fraction` (half) of the
  limit. Hedges are the strategy "futures": the risk manager exempts them from position and correlation
  counts, not from buying power or the Greeks limits (a hedge reduces delta, so it passes those). A hedge
  the other way from one already held closes (part of) the held one instead: one side is held, never both.
  Held futures are rolled by `expiry_close`, which the pipeline runs on every structure (trading/system).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

from core.book_view import BookView
from core.calendar import Calendars
from core.model import (
    AccountState,
    ContractKind,
    Found,
    IntentAction,
    MarketSnapshot,
    OrderIntent,
    Structure,
    future_contract,
)
from core.products import product
from core.settings import Settings
from core.valuation import value_structure

from strategies.base import closing, make_structure, today

NAME = "futures"
HEDGE_ROOT = "MES"


class Futures:
    name = NAME

    def __init__(self, settings: Settings, calendars: Calendars) -> None:
        self.settings = settings
        self.calendars = calendars

    def front_contract(self, day: date) -> date:
        """Last trade date of the equity-index quarterly to hold (ES, MES, NQ, ... share the cycle)."""
        return self.calendars.es_front_quarterly(day, self.settings.futures_min_trading_days)

    def sessions_until(self, day: date, last_trade: date) -> int:
        return self.calendars.cme.sessions_between(day, last_trade)

    def expiry_close(self, structure: Structure, snapshot: MarketSnapshot) -> OrderIntent | None:
        """Close a structure holding a future within the roll window, or a future option whose underlying
        future is about to expire."""
        s = self.settings
        day = today(snapshot)
        for leg in structure.legs:
            c = leg.contract
            last = c.underlying_expiry
            if last is None:
                continue
            left = self.sessions_until(day, last)
            is_future = c.kind is ContractKind.FUTURE
            window = s.futures_roll_days if is_future else s.future_option_close_days
            if left <= window:
                valued = value_structure(structure, snapshot, s)
                if not isinstance(valued, Found):
                    return None
                what = "future" if is_future else "future option's underlying"
                verb = "roll" if is_future else "close"
                return closing(valued.value, f"{NAME}: {c.root} {what} trades until {last} ({left} sessions): {verb}")
        return None

    def hedge(self, book: BookView, account: AccountState, snapshot: MarketSnapshot) -> OrderIntent | None:
        s = self.settings
        if not s.enable_delta_hedge:
            return None
        limit = s.max_abs_delta * account.net_liq
        delta = book.delta_1pct
        if abs(delta) <= limit:
            return None
        price = snapshot.prices.get(HEDGE_ROOT)
        if price is None or not math.isfinite(price) or price <= 0:
            return None
        target = math.copysign(s.hedge_target_fraction * limit, delta)
        per_contract = product(HEDGE_ROOT).multiplier * price * 0.01 * s.beta_to_spx.get(HEDGE_ROOT, 1.0)
        contracts = round((target - delta) / per_contract)
        if contracts == 0:
            return None
        past = f"beta-weighted delta {delta:+,.0f} per 1% SPX is past ±{limit:,.0f}"
        reason = f"{NAME}: {past}: {contracts:+d} MES to {target:+,.0f}"
        opposite = [
            v
            for v in book.views
            if v.structure.strategy == NAME
            and len(v.structure.legs) == 1
            and v.structure.legs[0].contract.root == HEDGE_ROOT
            and (v.structure.legs[0].ratio > 0) != (contracts > 0)
        ]
        if opposite:  # net against the hedge already held rather than hold both sides (and pay for both)
            held = max(opposite, key=lambda v: (v.structure.quantity, v.structure.id))
            units = min(abs(contracts), held.structure.quantity)
            part = replace(held.structure, quantity=units)
            return OrderIntent(IntentAction.CLOSE, part, units, held.mark, f"{reason}: close {units} of {part.id}")
        future = future_contract(HEDGE_ROOT, self.front_contract(today(snapshot)))
        structure = make_structure(
            NAME, snapshot, [(future, 1 if contracts > 0 else -1)], abs(contracts), price, "delta hedge"
        )
        return OrderIntent(IntentAction.OPEN, structure, abs(contracts), price, reason)
