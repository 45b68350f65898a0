"""Benchmark rows for the risk manager.

`risk_review_10_vs_40`: RiskManager.review of 10 proposals against a book of 40 open structures (ES
strangles and LT112s, SPY LT112s and ladder rungs, QQQ IPMCCs, GLD strangles, SPXW condors) on a snapshot of
about 18,000 contracts, with the book already valued (BookView is built once per pipeline step and shared).
The position, correlation and buying-power limits are raised and net liq is large so that every rule runs
on every proposal: the worst case, not the early-refusal one. Target ≤ 1 ms median.

`book_view_40`: valuing those 40 structures (marks, BP through core/margin, dollar Greeks) on a fresh
snapshot, chain indexes cold, as each pipeline step does once. Reported, no separate target (it is part of
the pipeline step's 5 ms).

`stress_grid_40`: core/stress's whole grid (12 scenarios) for those 40 structures, memo cleared each time
(a new snapshot per step), against the same revaluation written as a loop over legs and scenarios calling
core/pricing one contract at a time (the baseline, same run). Target ≤ 2 ms median, so that it can run at
every step (the gate and the daily summary).

Inputs come from the shared test kit (tests/fakes/market.py): chains priced by core/pricing.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from bench.common import BenchResult, median_ms, row
from core import pricing
from core.book_view import BookView
from core.model import AccountState, Contract, MarketSnapshot, Structure
from core.settings import Settings
from core.stress import grid, stress
from core.valuation import StructureView
from risk.events import CsvEventCalendar
from risk.manager import RiskManager
from tests.fakes import market as m
from tests.fakes.market import opening

TARGET_MS = 1.0
STRESS_TARGET_MS = 2.0
TODAY = date(2024, 1, 8)
NOW = m.at(TODAY)


def _fridays(start: date, count: int) -> list[date]:
    out: list[date] = []
    day = start
    while len(out) < count:
        if day.weekday() == 4:
            out.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    return out


def market() -> MarketSnapshot:
    weeklies = _fridays(date(2024, 1, 12), 12)
    monthlies = [
        date(2024, 2, 16),
        date(2024, 3, 15),
        date(2024, 4, 19),
        date(2024, 5, 17),
        date(2024, 6, 21),
        date(2024, 12, 20),
        date(2025, 1, 17),
        date(2026, 1, 16),
    ]
    spy = m.priced_chain("SPY", 470.0, NOW, weeklies + monthlies, [float(k) for k in range(350, 590, 2)], 0.14, 0.3)
    qqq = m.priced_chain("QQQ", 400.0, NOW, weeklies + monthlies, [float(k) for k in range(280, 520, 2)], 0.18, 0.3)
    es = m.priced_chain(
        "ES",
        4750.0,
        NOW,
        [
            date(2024, 1, 19),
            date(2024, 2, 16),
            date(2024, 3, 15),
            date(2024, 4, 19),
            date(2024, 5, 17),
            date(2024, 6, 21),
        ],
        [float(k) for k in range(3500, 6000, 25)],
        0.15,
        0.3,
    )
    spxw = m.priced_chain(
        "SPXW",
        4750.0,
        NOW,
        [TODAY, date(2024, 1, 9), date(2024, 1, 10), date(2024, 1, 11), date(2024, 1, 12)],
        [float(k) for k in range(4000, 5500, 5)],
        0.12,
        0.3,
    )
    gld = m.priced_chain("GLD", 190.0, NOW, monthlies, [float(k) for k in range(140, 240)], 0.13, 0.1)
    return m.snapshot(NOW, 16.0, [spy, qqq, es, spxw, gld])


def structures(mk: MarketSnapshot, prefix: str, count_scale: int = 1) -> list[Structure]:
    out: list[Structure] = []
    n = 0

    def add(strategy: str, legs: list[tuple[Contract, int]]) -> None:
        nonlocal n
        out.append(m.structure(f"{prefix}{n}", strategy, legs, mk))
        n += 1

    for i in range(6 * count_scale):
        add("strangles", m.strangle("ES", date(2024, 4, 19), 4300.0 - 25 * i, 5100.0 + 25 * i))
    for i in range(4 * count_scale):
        add("lt112", m.lt112("ES", date(2024, 5, 17), 4425.0 - 25 * i, 4375.0 - 25 * i, 4175.0 - 25 * i))
    for i in range(6 * count_scale):
        add("lt112", m.lt112("SPY", date(2024, 5, 17), 436.0 - 2 * i, 430.0 - 2 * i, 414.0 - 2 * i))
    for i in range(10 * count_scale):
        add("leap_ladder", m.short_put("SPY", date(2025, 1, 17), 420.0 - 2 * i))
    for i in range(4 * count_scale):
        add("ipmcc", m.ipmcc("QQQ", date(2025, 1, 17), 330.0 + 2 * i, date(2024, 1, 12), 400.0 + 2 * i))
    for i in range(6 * count_scale):
        add("strangles", m.strangle("GLD", date(2024, 4, 19), 175.0 - i, 205.0 + i))
    for i in range(4 * count_scale):
        add("zero_dte", m.iron_condor("SPXW", TODAY, 4710.0 - 5 * i, 10.0, 4790.0 + 5 * i, 10.0))
    return out


def dividends() -> CsvEventCalendar:
    """An event source that lists QQQ's (no) ex-dates through 2025: the IPMCC's calls pass the events rule."""
    return CsvEventCalendar(through={"QQQ": date(2025, 12, 31)}, source="the benchmark's events")


def relaxed() -> Settings:
    s = Settings()
    many = (100, 100, 100, 100)
    return dataclasses.replace(
        s,
        max_positions_total=many,
        max_positions_zero_dte=many,
        max_positions_strangles=many,
        max_positions_lt112=many,
        max_positions_ipmcc=many,
        max_positions_leap_ladder=many,
        correlation_max={k: 100 for k in s.correlation_max},
        correlation_max_a1_phase4=100,
    )


def run() -> BenchResult:
    settings = relaxed()
    mk = market()
    contracts = sum(len(c) for c in mk.chains.values())
    book_structures = structures(mk, "b")
    proposals = [opening(s) for s in structures(mk, "p")[::4][:10]]
    account = AccountState(5_000_000.0, 5_000_000.0, 5_000_000.0, 0.0)
    book = BookView.build(book_structures, mk, settings)
    assert len(book.views) == 40 and not book.unvalued, book.unvalued
    manager = RiskManager(settings, event_calendar=dividends())
    answers = manager.review(proposals, book, mk, account)
    approved = sum(1 for a in answers if type(a).__name__ == "Approval")

    def review() -> None:
        mk.memo.clear()  # each step of a run has a new snapshot: no valuation is remembered
        manager.review(proposals, book, mk, account)

    review_ms = median_ms(review, repeats=200, warmup=10)

    def fresh_book() -> BookView:
        cold = dataclasses.replace(mk, chains={k: dataclasses.replace(c) for k, c in mk.chains.items()})
        return BookView.build(book_structures, cold, settings)

    build_ms = median_ms(fresh_book, repeats=50, warmup=3)

    def grid_40() -> None:
        mk.memo.clear()
        stress(book.views, mk, settings)

    stress_ms = median_ms(grid_40, repeats=200, warmup=10)
    loop_ms = median_ms(lambda: _stress_loop(book.views, mk, settings), repeats=5, warmup=1)
    vectorised = stress(book.views, mk, settings).total
    looped = _stress_loop(book.views, mk, settings)
    assert max(abs(a - b) for a, b in zip(vectorised, looped, strict=True)) < 1e-6 * max(abs(vectorised).max(), 1.0)
    rows = [
        row(
            "risk_review_10_vs_40",
            review_ms,
            None,
            None,
            10,
            {"book": 40, "approved": approved, "contracts": contracts, "target_ms": TARGET_MS},
        ),
        row("book_view_40", build_ms, None, None, 40, {"contracts": contracts, "chain_indexes": "cold"}),
        row(
            "stress_grid_40",
            stress_ms,
            "a loop per leg and scenario",
            loop_ms,
            40,
            {"contracts": contracts, "scenarios": len(grid(settings)), "target_ms": STRESS_TARGET_MS},
        ),
    ]
    met = review_ms <= TARGET_MS and stress_ms <= STRESS_TARGET_MS
    lines = [
        ("target met" if met else "TARGET MISSED")
        + f": risk_review_10_vs_40 {review_ms:.3f} ms (target {TARGET_MS} ms; "
        f"{approved} of 10 approved, every rule run)",
        f"book_view_40: {build_ms:.2f} ms to value 40 structures on {contracts} contracts, chain indexes cold",
        ("target met" if stress_ms <= STRESS_TARGET_MS else "TARGET MISSED")
        + f": stress_grid_40 {stress_ms:.3f} ms (target {STRESS_TARGET_MS} ms; a loop per leg {loop_ms:.1f} ms)",
    ]
    return BenchResult(rows, met, lines)


def _stress_loop(views: tuple[StructureView, ...], mk: MarketSnapshot, settings: Settings) -> list[float]:
    """The baseline: the book's P&L per scenario, one contract and one scenario at a time (what core/stress
    does in one array). Options only, as this book holds."""
    from datetime import datetime, time

    from core.products import option_underlying
    from core.stress import NEW_YORK

    totals = []
    for scenario in grid(settings):
        total = 0.0
        for view in views:
            for leg, mark in zip(view.structure.legs, view.legs, strict=True):
                c = leg.contract
                assert c.expiry is not None and c.strike is not None
                underlying = option_underlying(c.underlying)
                beta = settings.stress_beta[underlying]
                future = underlying in ("ES", "MES")
                q = settings.risk_free_rate if future else settings.dividend_yield.get(underlying, 0.0)
                t = pricing.year_fraction(mk.time, datetime.combine(c.expiry, time(16, 0), NEW_YORK))
                call = c.right is not None and c.right.value == "call"
                shocked = mark.underlying_price * max(1 + beta * scenario.move, 0.01)
                iv = max(mark.iv + scenario.iv_points / 100, 0.01)
                args = (settings.risk_free_rate, q, call)
                after = float(pricing.bs_price(shocked, c.strike, t, iv, *args))
                before = float(pricing.bs_price(mark.underlying_price, c.strike, t, mark.iv, *args))
                total += (after - before) * leg.ratio * view.structure.quantity * c.multiplier
        totals.append(total)
    return totals
