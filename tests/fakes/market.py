"""A shared test kit: option chains priced by core/pricing, snapshots, and the RULEBOOK's structures.

Quotes are the model price ± half a spread (5% of the price, at least 0.05 wide), with Greeks filled,
so tests can build realistic books without data files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from core import pricing
from core.model import (
    _EPOCH_ORDINAL,
    Chain,
    Contract,
    ContractKind,
    IntentAction,
    Leg,
    MarketSnapshot,
    OrderIntent,
    Right,
    Structure,
    option_contract,
)
from core.products import option_underlying, product

NY = ZoneInfo("America/New_York")
RATE = 0.04


def at(day: date, hour: int = 10, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


def option(root: str, expiry: date, strike: float, right: Right) -> Contract:
    return option_contract(root, option_underlying(root), right, strike, expiry)


def future(root: str, last_trade: date | None = None) -> Contract:
    p = product(root)
    return Contract(root, root, ContractKind.FUTURE, p.multiplier, "CME", underlying_expiry=last_trade)


def priced_chain(
    root: str,
    spot: float,
    now: datetime,
    expiries: Iterable[date],
    strikes: Sequence[float],
    vol: float = 0.2,
    skew: float = 0.0,
) -> Chain:
    """A chain on `spot` with a linear skew (vol + skew × (1 − K/S)); Black-76 for future roots."""
    exp_list = list(expiries)
    k = np.tile(np.asarray(strikes, dtype=np.float64), 2 * len(exp_list))
    e = np.repeat(np.array([d.toordinal() - _EPOCH_ORDINAL for d in exp_list], dtype=np.int64), 2 * len(strikes))
    call = np.tile(np.repeat(np.array([True, False]), len(strikes)), len(exp_list))
    t = np.array([pricing.year_fraction(now, datetime.combine(d, time(16, 0), tzinfo=NY)) for d in exp_list])
    t = np.repeat(t, 2 * len(strikes))
    sigma = np.maximum(vol + skew * (1.0 - k / spot), 0.03)
    if product(root).kind.value == "future":
        g = pricing.black76_greeks(spot, k, t, sigma, RATE, call)
    else:
        g = pricing.bs_greeks(spot, k, t, sigma, RATE, 0.0, call)
    half = np.maximum(0.025 * g.price, 0.025)
    bid = np.maximum(np.round((g.price - half) * 20) / 20, 0.0)
    ask = np.maximum(np.round((g.price + half) * 20) / 20, 0.05)
    return Chain(
        root=root,
        underlying_price=spot,
        time=now,
        expiry=e,
        strike=k,
        is_call=call,
        bid=bid,
        ask=ask,
        iv=sigma,
        delta=g.delta,
        gamma=g.gamma,
        vega=g.vega,
        theta=g.theta,
    )


def snapshot(
    now: datetime, vix: float | None, chains: Iterable[Chain], prices: dict[str, float] | None = None
) -> MarketSnapshot:
    chain_map = {c.root: c for c in chains}
    all_prices = {c.root: c.underlying_price for c in chain_map.values()}
    for c in chain_map.values():
        if c.root in ("SPXW", "SPX"):
            all_prices["SPX"] = c.underlying_price
    all_prices.update(prices or {})
    return MarketSnapshot(time=now, prices=all_prices, vix=vix, chains=chain_map)


def structure(
    sid: str,
    strategy: str,
    legs: Sequence[tuple[Contract, int]],
    chain_or_snapshot: MarketSnapshot,
    quantity: int = 1,
    entry_time: datetime | None = None,
    entry_price: float | None = None,
) -> Structure:
    """A structure entered at the snapshot's mids (or at `entry_price`)."""
    snap = chain_or_snapshot
    if entry_price is None:
        entry_price = 0.0
        for contract, ratio in legs:
            if contract.kind is ContractKind.OPTION:
                assert contract.expiry is not None and contract.strike is not None and contract.right is not None
                chain = snap.chains[contract.root]
                row = chain.find(contract.expiry, contract.strike, contract.right)
                assert row is not None, f"{contract} not in chain"
                entry_price += ratio * float(chain.mid[row])
            else:
                entry_price += ratio * snap.prices[contract.root]
    return Structure(
        id=sid,
        strategy=strategy,
        legs=tuple(Leg(c, r) for c, r in legs),
        quantity=quantity,
        entry_price=round(entry_price, 4),
        entry_time=entry_time or snap.time,
    )


def opening(s: Structure, reason: str = "test entry") -> OrderIntent:
    return OrderIntent(IntentAction.OPEN, s, s.quantity, s.entry_price, reason)


# ---------------------------------------------------------------------------------------------- structures


def iron_condor(
    root: str, expiry: date, put_short: float, put_wing: float, call_short: float, call_wing: float
) -> list[tuple[Contract, int]]:
    return [
        (option(root, expiry, put_short - put_wing, Right.PUT), +1),
        (option(root, expiry, put_short, Right.PUT), -1),
        (option(root, expiry, call_short, Right.CALL), -1),
        (option(root, expiry, call_short + call_wing, Right.CALL), +1),
    ]


def strangle(root: str, expiry: date, put: float, call: float) -> list[tuple[Contract, int]]:
    return [(option(root, expiry, put, Right.PUT), -1), (option(root, expiry, call, Right.CALL), -1)]


def lt112(root: str, expiry: date, long_put: float, short_put: float, naked: float) -> list[tuple[Contract, int]]:
    return [
        (option(root, expiry, long_put, Right.PUT), +1),
        (option(root, expiry, short_put, Right.PUT), -1),
        (option(root, expiry, naked, Right.PUT), -2),
    ]


def ipmcc(
    root: str, leap_expiry: date, leap_strike: float, short_expiry: date, short_strike: float
) -> list[tuple[Contract, int]]:
    return [
        (option(root, leap_expiry, leap_strike, Right.CALL), +1),
        (option(root, short_expiry, short_strike, Right.CALL), -1),
    ]


def short_put(root: str, expiry: date, strike: float) -> list[tuple[Contract, int]]:
    return [(option(root, expiry, strike, Right.PUT), -1)]
