"""A market and the RULEBOOK's structures for the risk tests (Monday 2024-01-08, 10:30 New York)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from core.book_view import BookView
from core.model import AccountState, MarketSnapshot, Structure
from core.settings import Settings
from tests.fakes import market as m

TODAY = date(2024, 1, 8)
NOW = m.at(TODAY)
S = Settings()
# The books the other rules are shown on lose far more than 15% of net liq in a −20% gap (one ES strangle loses
# 27,000): the stress gate, last in line, would refuse or warn first. Those tests use this; the gate's own
# (test_stress_gate) use S.
WITHOUT_STRESS = dataclasses.replace(S, stress_max_loss=10.0, stress_alert_loss=10.0)


def snap(
    vix: float | None = 16.0, spy: float = 470.0, es: float = 4750.0, qqq: float = 400.0, now: datetime = NOW
) -> MarketSnapshot:
    chains = [
        m.priced_chain(
            "SPY",
            spy,
            now,
            [date(2024, 1, 19), date(2024, 2, 16), date(2024, 5, 17), date(2025, 1, 17)],
            [float(k) for k in range(300, 600, 5)],
            0.14,
            0.3,
        ),
        m.priced_chain(
            "QQQ",
            qqq,
            now,
            [date(2024, 1, 12), date(2024, 1, 19), date(2025, 1, 17)],
            [float(k) for k in range(250, 520, 5)],
            0.18,
            0.3,
        ),
        m.priced_chain(
            "ES",
            es,
            now,
            [date(2024, 1, 19), date(2024, 3, 15), date(2024, 4, 19)],
            [float(k) for k in range(3500, 6000, 25)],
            0.15,
            0.3,
        ),
        m.priced_chain("SPXW", es, now, [TODAY], [float(k) for k in range(4500, 5000, 5)], 0.12, 0.3),
        m.priced_chain("GLD", 190.0, now, [date(2024, 4, 19)], [float(k) for k in range(140, 240)], 0.13, 0.1),
    ]
    return m.snapshot(now, vix, chains)


def account(net: float = 100_000.0, peak: float | None = None) -> AccountState:
    return AccountState(net_liq=net, start_of_day_net_liq=net, peak_net_liq=peak or net, bp_in_use=0.0)


def book(structures: list[Structure], market: MarketSnapshot) -> BookView:
    return BookView.build(structures, market, S)


def es_strangle(
    market: MarketSnapshot, sid: str = "7f3", put: float = 4300.0, call: float = 5100.0, qty: int = 1
) -> Structure:
    return m.structure(sid, "strangles", m.strangle("ES", date(2024, 4, 19), put, call), market, qty)


def es_lt112(market: MarketSnapshot, sid: str = "a91") -> Structure:
    return m.structure(sid, "lt112", m.lt112("ES", date(2024, 4, 19), 4425.0, 4375.0, 4175.0), market)


def spy_lt112(market: MarketSnapshot, sid: str, qty: int = 1) -> Structure:
    return m.structure(sid, "lt112", m.lt112("SPY", date(2024, 5, 17), 435.0, 430.0, 415.0), market, qty)


def qqq_ipmcc(market: MarketSnapshot, sid: str = "c55") -> Structure:
    return m.structure(sid, "ipmcc", m.ipmcc("QQQ", date(2025, 1, 17), 330.0, date(2024, 1, 12), 400.0), market)


def spxw_condor(
    market: MarketSnapshot,
    sid: str = "z01",
    wing: float = 10.0,
    qty: int = 1,
    put: float = 4710.0,
    call: float = 4790.0,
) -> Structure:
    return m.structure(sid, "zero_dte", m.iron_condor("SPXW", TODAY, put, wing, call, wing), market, qty)


def spy_rung(market: MarketSnapshot, sid: str, strike: float = 420.0) -> Structure:
    return m.structure(sid, "leap_ladder", m.short_put("SPY", date(2025, 1, 17), strike), market)


def gld_strangle(market: MarketSnapshot, sid: str = "g01") -> Structure:
    return m.structure(sid, "strangles", m.strangle("GLD", date(2024, 4, 19), 175.0, 205.0), market)
