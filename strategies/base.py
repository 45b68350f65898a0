"""What the strategies share: no-trade decisions with reasons, contracts from chain rows, limit prices at the
net mid rounded to the tick, deterministic structure ids, Greeks when the chain has none, and the exit rules
(profit target and stop here; time exits and the 21-DTE defence from core/exits, shared with the risk manager).

Strategies are pure: they read the snapshot and the book they are given, never a clock or a global.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from core.book import part_of as part_of  # re-exported: the strategies' parts
from core.chain_greeks import ensure_greeks
from core.exits import ExitAction, time_and_dte21_exit
from core.margin import MarginLeg, loss_at_stop
from core.model import (
    Chain,
    Contract,
    Decision,
    IntentAction,
    Leg,
    MarketSnapshot,
    NotFound,
    OrderIntent,
    Right,
    Structure,
    limit_tick,
    option_contract,
)
from core.products import order_tick, product
from core.settings import Settings
from core.valuation import StructureView, value_structure

NEW_YORK = ZoneInfo("America/New_York")
PM_SETTLEMENT = time(16, 0)
AM_SETTLEMENT = time(9, 30)


def at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=NEW_YORK)


def today(snapshot: MarketSnapshot) -> date:
    return snapshot.time.astimezone(NEW_YORK).date()


def no_trade(snapshot: MarketSnapshot, strategy: str, reason: str) -> Decision:
    return Decision(snapshot.time, strategy, False, f"{strategy}: {reason}", strategy)


def option_at(chain: Chain, row: int, underlying: str) -> Contract:
    """The contract of one chain row, with the product's multiplier, style and settlement."""
    right = Right.CALL if chain.is_call[row] else Right.PUT
    return option_contract(chain.root, underlying, right, float(chain.strike[row]), chain.expiry_date(row))


def net_mid(chain: Chain, rows: Sequence[tuple[int, int]]) -> float:
    """Σ ratio × mid over (row, ratio) pairs: + debit, − credit."""
    return float(sum(ratio * 0.5 * (chain.bid[row] + chain.ask[row]) for row, ratio in rows))


def to_tick(price: float, root: str, legs: int = 2) -> float:
    """A net price on the order's grid (core/products.order_tick): a combo's unless `legs` is 1."""
    return on_grid(price, order_tick(root, price, legs))


def on_grid(price: float, tick: float) -> float:
    return round(round(price / tick) * tick, 10)


def make_structure(
    strategy: str,
    snapshot: MarketSnapshot,
    legs: Sequence[tuple[Contract, int]],
    quantity: int,
    price: float,
    tag: str = "",
    leg_prices: Sequence[float] = (),
) -> Structure:
    """A structure with an id that is the same for the same legs on the same day (restart-safe, readable)."""
    key = "|".join(f"{c.root}{c.expiry}{c.strike}{c.right}{r}" for c, r in legs)
    digest = hashlib.sha1(key.encode()).hexdigest()[:6]
    sid = f"{strategy}-{today(snapshot):%Y%m%d}-{digest}"
    legs_ = tuple(Leg(c, r) for c, r in legs)
    return Structure(sid, strategy, legs_, quantity, price, snapshot.time, tag, tuple(leg_prices))


def mids(chain: Chain, rows: Sequence[tuple[int, int]]) -> list[float]:
    return [float(0.5 * (chain.bid[row] + chain.ask[row])) for row, _ in rows]


def risk_at_stop(chain: Chain, rows: Sequence[tuple[int, int]], stop_multiple: float | None) -> float | None:
    """USD one unit of these rows risks at mid, measured as the safety checks' risk-per-trade rule measures
    an entry (core/margin.loss_at_stop), so a strategy that sizes to the rule chooses what the rule passes."""
    legs = [
        MarginLeg(
            Right.CALL if chain.is_call[row] else Right.PUT,
            float(chain.strike[row]),
            ratio,
            mid,
            chain.expiry_date(row),
        )
        for (row, ratio), mid in zip(rows, mids(chain, rows), strict=True)
    ]
    loss = loss_at_stop(legs, stop_multiple)
    return None if loss is None else loss * product(chain.root).option_multiplier


def opening(structure: Structure, reason: str) -> OrderIntent:
    return OrderIntent(IntentAction.OPEN, structure, structure.quantity, structure.entry_price, reason)


def closing(view: StructureView, reason: str, structure: Structure | None = None) -> OrderIntent:
    s = structure or view.structure
    mark = on_grid(view.mark, limit_tick(s.legs, view.mark))
    return OrderIntent(IntentAction.CLOSE, s, s.quantity, mark, reason)


def with_greeks(chain: Chain, settings: Settings, expiry_time: time = PM_SETTLEMENT) -> Chain:
    """The chain with model Greeks where its own are missing (core/chain_greeks.ensure_greeks)."""
    return ensure_greeks(chain, settings.risk_free_rate, settings.yield_of(chain.root), expiry_time)


def manage_common(
    structure: Structure,
    snapshot: MarketSnapshot,
    settings: Settings,
    profit_target: float | None,
    stop_multiple: float | None,
) -> OrderIntent | None:
    """Profit target (share of the credit kept), stop (cost to close ≥ k × credit), then the shared time exits
    and 21-DTE defence. A structure that cannot be valued is left alone here (data validation reports it)."""
    valued = value_structure(structure, snapshot, settings)
    if isinstance(valued, NotFound):
        return None
    view = valued.value
    credit = -structure.entry_price
    if credit > 0:
        if profit_target is not None and view.pnl_fraction >= profit_target - 1e-9:
            return closing(view, f"{structure.strategy}: profit target ({view.pnl_fraction:.0%} of the credit kept)")
        cost = -view.mark
        if stop_multiple is not None and cost >= stop_multiple * credit - 1e-9:
            return closing(
                view, f"{structure.strategy}: stop (cost to close {cost:.2f} ≥ {stop_multiple:g} × credit {credit:.2f})"
            )
    signal = time_and_dte21_exit(view, settings)
    if signal is not None and signal.action is ExitAction.CLOSE:
        return closing(view, f"{structure.strategy}: {signal.rule}: {signal.reason}")
    return None
