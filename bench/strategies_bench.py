"""Benchmark row for the strategies.

`strategies_step`: every built strategy's `propose` at its own entry time plus `manage` of 20 open
structures, on a snapshot of about 30,000 contracts (a 0DTE SPXW chain, ES future options, SPY and QQQ
chains out to LEAPs, ETF chains). Chains carry Greeks, as LEAN's do after warm-up. Target ≤ 5 ms median
(all five strategies).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import numpy as np

from bench.common import BenchResult, median_ms, row
from core.calendar import Calendars
from core.model import DailyBars, MarketSnapshot, OrderIntent, Structure
from core.settings import Settings
from strategies import build
from tests.fakes import market as m
from tests.fakes.book import FakeBook

TARGET_MS = 5.0
WHEN = {
    "zero_dte": datetime(2024, 1, 12, 10, 30, tzinfo=m.NY),
    "strangles": datetime(2024, 1, 9, 10, 15, tzinfo=m.NY),
    "lt112": datetime(2024, 1, 3, 10, 0, tzinfo=m.NY),
    "leap_ladder": datetime(2024, 1, 8, 10, 0, tzinfo=m.NY),
    "ipmcc": datetime(2024, 1, 12, 9, 45, tzinfo=m.NY),
}
EXPIRIES = [
    date(2024, 1, 19),
    date(2024, 2, 16),
    date(2024, 3, 15),
    date(2024, 4, 12),
    date(2024, 4, 19),
    date(2024, 5, 3),
    date(2024, 6, 21),
    date(2024, 9, 20),
    date(2024, 12, 20),
    date(2025, 1, 17),
    date(2025, 6, 20),
    date(2026, 1, 16),
]


def market(now: datetime) -> MarketSnapshot:
    spxw = m.priced_chain("SPXW", 4750.0, now, [now.date()], list(np.arange(4000.0, 5500.0, 5.0)), 0.2, 0.3)
    es = m.priced_chain(
        "ES", 4750.0, now, [e for e in EXPIRIES[:7] if e > now.date()], list(np.arange(3500.0, 6000.0, 25.0)), 0.15, 0.3
    )
    chains = [spxw, es]
    for root, spot in (("SPY", 475.0), ("QQQ", 400.0)):
        strikes = list(np.arange(round(spot * 0.5), round(spot * 1.5), 1.0))
        chains.append(m.priced_chain(root, spot, now, [e for e in EXPIRIES if e > now.date()], strikes, 0.16, 0.3))
    for root, spot in (("GLD", 190.0), ("TLT", 95.0), ("USO", 70.0)):
        chains.append(
            m.priced_chain(
                root,
                spot,
                now,
                [e for e in EXPIRIES[:6] if e > now.date()],
                list(np.arange(spot * 0.6, spot * 1.4, 0.5)),
                0.2,
                0.2,
            )
        )
    snap = m.snapshot(now, 17.0, chains, {"SPX": 4750.0})
    daily = {}
    for root, level in [("SPX", 4750.0)] + [(c.root, c.underlying_price) for c in chains]:
        closes = np.linspace(level * 1.01, level, 30)
        daily[root] = DailyBars(tuple(now.date() for _ in closes), closes, closes * 1.01, closes * 0.99, closes)
    history = {c.root: np.linspace(0.15, 0.3, 252) for c in chains}
    return dataclasses.replace(snap, daily=daily, session_open={"SPX": 4750.0}, iv_history=history)


def run() -> BenchResult:
    settings = Settings()
    calendars = Calendars()
    strategies, _ = build(settings, calendars)
    snaps = {name: market(now) for name, now in WHEN.items()}
    contracts = sum(len(c) for c in snaps["zero_dte"].chains.values())
    book = FakeBook(net_liq=150_000.0)
    # 20 open structures: what the strategies proposed, repeated with distinct ids.
    opened: list[tuple[str, Structure]] = []
    for strategy in strategies:
        for answer in strategy.propose(snaps[strategy.name], book):
            if isinstance(answer, OrderIntent):
                opened.append((strategy.name, answer.structure))
    assert opened, "no strategy proposed anything on the benchmark market"
    held = [(name, dataclasses.replace(s, id=f"{s.id}-{i}")) for i, (name, s) in enumerate(opened * 20)][:20]
    by_name = {s.name: s for s in strategies}

    def step() -> None:
        for snap in snaps.values():  # each step of a run has a new snapshot: no valuation is remembered
            snap.memo.clear()
        for strategy in strategies:
            strategy.propose(snaps[strategy.name], book)
        for name, structure in held:
            by_name[name].manage(structure, snaps[name])

    ms = median_ms(step, repeats=40, warmup=3)
    rows = [
        row(
            "strategies_step",
            ms,
            None,
            None,
            len(strategies),
            {"open_structures": 20, "contracts": contracts, "target_ms": TARGET_MS},
        )
    ]
    met = ms <= TARGET_MS
    lines = [
        ("target met" if met else "TARGET MISSED")
        + f": strategies_step {ms:.2f} ms ({len(strategies)} strategies, 20 open, {contracts} contracts)"
    ]
    return BenchResult(rows, met, lines)
