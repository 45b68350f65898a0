"""Properties over random (valid) markets: no strategy raises, every proposal is a consistent structure, short
deltas respect their bands, and nothing proposed would be closed again at the moment it was proposed."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import Calendars
from core.margin import split_naked
from core.model import DailyBars, Decision, Found, MarketSnapshot, OrderIntent, Right, Structure
from core.settings import Settings
from core.valuation import margin_legs, value_structure
from strategies import build
from tests.fakes import market as m
from tests.fakes.book import FakeBook

S = Settings()
CAL = Calendars()
FRIDAY = date(2024, 1, 12)


# Each strategy is asked on one of its own entry days, at its own entry time.
WHEN = {
    "zero_dte": datetime(2024, 1, 12, 10, 30, tzinfo=m.NY),  # a Friday
    "strangles": datetime(2024, 1, 9, 10, 15, tzinfo=m.NY),  # the second Tuesday
    "lt112": datetime(2024, 1, 3, 10, 0, tzinfo=m.NY),  # the first Wednesday
    "leap_ladder": datetime(2024, 1, 8, 10, 0, tzinfo=m.NY),
    "ipmcc": datetime(2024, 1, 12, 9, 45, tzinfo=m.NY),  # a Monday
}
EXPIRIES = [date(2024, 1, 12), date(2024, 2, 16), date(2024, 4, 12), date(2024, 5, 3), date(2025, 1, 17)]


def snapshot(
    now: datetime, price: float, vol: float, skew: float, vix: float, move: float, bar_range: float, iv_trend: float
) -> MarketSnapshot:
    chains = []
    for root, spot, step in (
        ("SPXW", price, 5.0),
        ("ES", price, 25.0),
        ("SPY", price / 10, 1.0),
        ("QQQ", price / 12, 1.0),
        ("GLD", 190.0, 1.0),
        ("TLT", 95.0, 1.0),
        ("USO", 70.0, 0.5),
    ):
        strikes = list(np.arange(round(spot * 0.6 / step) * step, spot * 1.4, step))
        expiries = [now.date()] if root == "SPXW" else [e for e in EXPIRIES if e > now.date()]
        chains.append(m.priced_chain(root, spot, now, expiries, strikes, vol, skew))
    snap = m.snapshot(now, vix, chains, {"SPX": price})
    daily = {}
    for root, level in [("SPX", price)] + [(c.root, c.underlying_price) for c in chains]:
        closes = np.linspace(level * 1.01, level, 30)  # drifting down: not at a 52-week high
        daily[root] = DailyBars(
            tuple(now.date() for _ in closes), closes, closes * (1 + bar_range), closes * (1 - bar_range), closes
        )
    history = {c.root: np.linspace(0.2, 0.2 + iv_trend, 252) for c in chains}
    return dataclasses.replace(snap, daily=daily, session_open={"SPX": price / (1 + move)}, iv_history=history)


def consistent(s: Structure, snap: MarketSnapshot) -> None:
    assert s.legs and s.quantity >= 1 and all(leg.ratio != 0 for leg in s.legs)
    assert len({leg.contract.underlying for leg in s.legs}) == 1
    assert len(s.leg_entry_prices) == len(s.legs)
    valued = value_structure(s, snap, S)
    assert isinstance(valued, Found), valued
    chain = snap.chains[s.legs[0].contract.root]
    shorts = [leg for leg in s.legs if leg.ratio < 0]
    rows = [
        chain.find(leg.contract.expiry or FRIDAY, leg.contract.strike or 0.0, leg.contract.right or Right.PUT)
        for leg in shorts
    ]
    assert all(r is not None for r in rows)
    deltas = [abs(float(chain.delta[r])) for r in rows if r is not None]
    if s.strategy == "zero_dte":
        _, naked = split_naked(margin_legs(s, valued.value.legs, FRIDAY))
        assert not naked, "a 0DTE structure must be defined risk"
        assert all(0.15 <= d <= 0.25 for d in deltas), deltas
        for short in shorts:
            wing = next(leg for leg in s.legs if leg.ratio > 0 and leg.contract.right is short.contract.right)
            beyond = (
                (wing.contract.strike or 0) < (short.contract.strike or 0)
                if short.contract.right is Right.PUT
                else (wing.contract.strike or 0) > (short.contract.strike or 0)
            )
            assert beyond, "the wing must lie beyond its short"
        assert s.entry_price < 0
    elif s.strategy == "strangles":
        put = next(leg for leg in s.legs if leg.contract.right is Right.PUT)
        call = next(leg for leg in s.legs if leg.contract.right is Right.CALL)
        assert (put.contract.strike or 0) < (call.contract.strike or 0)
        assert s.entry_price < 0
    elif s.strategy == "lt112":
        strikes = [leg.contract.strike or 0 for leg in s.legs]
        assert strikes[0] > strikes[1] > strikes[2] and [leg.ratio for leg in s.legs] == [1, -1, -2]
    elif s.strategy == "ipmcc":
        assert len(s.legs) == 1 and s.legs[0].ratio == 1 and s.legs[0].contract.right is Right.CALL
        assert s.entry_underlying > 0
    elif s.strategy == "leap_ladder":
        assert len(s.legs) == 1 and s.legs[0].ratio == -1 and 0.12 <= deltas[0] <= 0.14


@given(
    price=st.floats(3_000.0, 6_000.0),
    vol=st.floats(0.08, 0.6),
    skew=st.floats(0.0, 0.5),
    vix=st.floats(10.0, 60.0),
    move=st.floats(-0.02, 0.02),
    bar_range=st.floats(0.002, 0.04),
    iv_trend=st.floats(-0.15, 0.15),
    net=st.sampled_from([30_000.0, 45_000.0, 60_000.0, 80_000.0, 150_000.0]),
)
@settings(max_examples=60, deadline=None)
def test_no_strategy_raises_and_every_proposal_is_consistent(
    price: float, vol: float, skew: float, vix: float, move: float, bar_range: float, iv_trend: float, net: float
) -> None:
    strategies, _ = build(S, CAL)
    for strategy in strategies:
        snap = snapshot(WHEN[strategy.name], price, vol, skew, vix, move, bar_range, iv_trend)
        answers = strategy.propose(snap, FakeBook(net_liq=net))
        assert answers, f"{strategy.name} said nothing"
        for answer in answers:
            if isinstance(answer, Decision):
                assert answer.reason.startswith(strategy.name) and not answer.approved
            else:
                assert isinstance(answer, OrderIntent) and answer.structure.strategy == strategy.name
                consistent(answer.structure, snap)
                # Managed at the moment it was proposed, at its own entry prices, a new structure has nothing
                # to take or stop (no P&L yet, far from 21 DTE, before any time exit): opening and closing in
                # the same step would pay the spread for nothing.
                assert strategy.manage(answer.structure, snap) is None, answer.structure
