"""safety/data: the quote rule at its boundaries, chains, structures, the watchdog, and every real SPXW quote
of 2021-01-04..08 checked against an independent reading of RULEBOOK's rule."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.model import Chain, ChainRow, Right
from core.settings import Settings
from safety.data import DataValidator, DataWatchdog, QuoteProblem, quote_problems
from tests.fakes import market as m
from tests.leandata import read_option_minute_quotes, require_lean_data

S = Settings()
NY = ZoneInfo("America/New_York")
NOW = datetime(2021, 1, 8, 10, 30, tzinfo=NY)
EXP = date(2021, 1, 8)


def one(bid: float, ask: float, underlying: float = 3800.0) -> int:
    chain = Chain.from_rows("SPXW", underlying, NOW, [ChainRow(EXP, 3700.0, Right.PUT, bid, ask)])
    return int(quote_problems(chain, NOW, S, live=False)[0])


def rulebook(bid: float, ask: float) -> bool:
    """RULEBOOK's rule, written out per quote, independently of the vectorised code."""
    if any(math.isnan(v) or math.isinf(v) for v in (bid, ask)):
        return False
    if bid < 0 or ask <= 0 or ask < bid:
        return False
    mid = (bid + ask) / 2
    limit = max(0.20 * mid, 0.10) if mid < 2.00 else 0.20 * mid
    return ask - bid <= limit + 1e-9


@pytest.mark.parametrize(
    ("bid", "ask", "problem"),
    [
        (0.05, 0.10, 0),  # a cheap wing: spread 0.05 within the 0.10 allowed under 2.00
        (0.00, 0.05, 0),  # a zero bid is allowed
        (0.00, 0.00, QuoteProblem.NO_ASK),
        (0.15, 0.10, QuoteProblem.CROSSED),
        (float("nan"), 1.00, QuoteProblem.NOT_FINITE),
        (1.00, float("inf"), QuoteProblem.NOT_FINITE),
        (-0.05, 0.10, QuoteProblem.NEGATIVE_BID),
        (1.00, 1.30, QuoteProblem.WIDE),  # mid 1.15: 0.23 allowed
        (1.00, 1.22, 0),  # mid 1.11: 0.222 allowed
        (10.00, 12.00, 0),  # mid 11: 2.20 allowed
        (10.00, 12.50, QuoteProblem.WIDE),
        (1.95, 2.05, 0),  # mid 2.00 is no longer "under 2": 0.40 allowed
    ],
)
def test_the_quote_rule(bid: float, ask: float, problem: int) -> None:
    assert one(bid, ask) == problem
    assert (problem == 0) == rulebook(bid, ask)


def test_a_spread_rule_on_the_bid_would_have_rejected_the_cheap_wing() -> None:
    assert 0.10 - 0.05 > 0.20 * 0.05  # the rule RULEBOOK warns against
    assert one(0.05, 0.10) == 0


def test_underlying_and_staleness() -> None:
    assert one(1.0, 1.1, underlying=0.0) == QuoteProblem.NO_UNDERLYING
    chain = Chain.from_rows("SPXW", 3800.0, NOW, [ChainRow(EXP, 3700.0, Right.PUT, 1.0, 1.1)])
    assert quote_problems(chain, NOW + timedelta(seconds=60), S, live=True)[0] == 0
    assert quote_problems(chain, NOW + timedelta(seconds=61), S, live=True)[0] == QuoteProblem.STALE
    assert quote_problems(chain, NOW + timedelta(hours=1), S, live=False)[0] == 0  # backtests have no clock skew


def test_a_chain_more_than_half_unusable_is_not_traded_and_warns() -> None:
    validator = DataValidator(S)
    rows = [ChainRow(EXP, 3700.0 + i, Right.PUT, 1.0, 1.1) for i in range(4)]
    half_bad = rows[:2] + [ChainRow(EXP, 3800.0 + i, Right.PUT, 0.2, 0.1) for i in range(2)]
    _, report = validator.check_chain(Chain.from_rows("SPXW", 3800.0, NOW, half_bad), NOW, live=False)
    assert report.tradable and report.usable == 2 and report.warning is None
    more_bad = rows[:1] + [ChainRow(EXP, 3800.0 + i, Right.PUT, 0.2, 0.1) for i in range(3)]
    usable, report = validator.check_chain(Chain.from_rows("SPXW", 3800.0, NOW, more_bad), NOW, live=False)
    assert not report.tradable and list(usable) == [True, False, False, False]
    assert report.warning == "SPXW: 3 of 4 quotes unusable (over 50%): no entries on it (CROSSED 3)"
    assert validator.rejected == Counter({"CROSSED": 5}) and validator.quotes_seen == 8


def test_structure_spreads() -> None:
    day = date(2024, 1, 8)
    market = m.snapshot(
        m.at(day),
        14.0,
        [m.priced_chain("SPXW", 4750.0, m.at(day), [day], [float(k) for k in range(4600, 4900, 5)], 0.12)],
    )
    condor = m.structure("z1", "zero_dte", m.iron_condor("SPXW", day, 4740.0, 10.0, 4760.0, 10.0), market)
    validator = DataValidator(S)
    assert validator.check_structure(condor, market) is None
    spxw = market.chains["SPXW"]
    row = spxw.find(day, 4760.0, Right.CALL)
    assert row is not None
    mid = 0.5 * (spxw.bid + spxw.ask)
    # Every leg 18% of its mid wide: each passes its own rule, the condor's net mid is far smaller.
    wide = m.snapshot(market.time, 14.0, [dataclasses.replace(spxw, bid=mid * 0.91, ask=mid * 1.09)])
    assert DataValidator(S).check_chain(wide.chains["SPXW"], market.time, live=False)[1].tradable
    reason = validator.check_structure(condor, wide)
    assert reason is not None and reason.startswith("combined spread")
    crossed_bid = spxw.bid.copy()
    crossed_bid[row] = spxw.ask[row] + 0.05
    crossed = m.snapshot(
        market.time,
        14.0,
        [
            Chain(
                spxw.root,
                spxw.underlying_price,
                spxw.time,
                spxw.expiry,
                spxw.strike,
                spxw.is_call,
                crossed_bid,
                spxw.ask,
                spxw.iv,
                spxw.delta,
                spxw.gamma,
                spxw.vega,
                spxw.theta,
            )
        ],
    )
    reason = validator.check_structure(condor, crossed)
    assert reason is not None and "SPXW 2024-01-08 4760 call quote" in reason and "CROSSED" in reason


def test_the_watchdog_counts_five_silent_minutes_in_market_hours() -> None:
    dog = DataWatchdog(S)
    assert not dog.silent(NOW, market_open=True)  # nothing seen yet: nothing to miss
    dog.observe(NOW)
    assert not dog.silent(NOW + timedelta(minutes=4, seconds=59), market_open=True)
    assert dog.silent(NOW + timedelta(minutes=5), market_open=True)
    assert not dog.silent(NOW + timedelta(hours=3), market_open=False)


def ymd(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


DAYS = ["20210104", "20210105", "20210106", "20210107", "20210108"]


@pytest.mark.parametrize("day", DAYS)
def test_every_real_spxw_quote_against_the_rulebook(day: str) -> None:
    folder = require_lean_data() / "indexoption" / "usa" / "minute" / "spxw"
    rows = read_option_minute_quotes(folder / f"{day}_quote_european.zip")
    by_minute: dict[int, list[tuple[str, float, str, float, float]]] = {}
    for minute, right, strike, expiry, bid, ask in rows:
        by_minute.setdefault(minute, []).append((right, strike, expiry, bid, ask))
    validator = DataValidator(S)
    usable_per_minute = []
    for minute, quotes in sorted(by_minute.items()):
        now = datetime.combine(ymd(day), datetime.min.time(), tzinfo=NY) + timedelta(minutes=minute)
        chain = Chain.from_rows(
            "SPXW",
            3800.0,  # the sample has no SPX minute bars for every day; the quote rule does not depend on it
            now,
            [ChainRow(ymd(e), k, Right(r), b, a) for r, k, e, b, a in quotes],
        )
        usable, _ = validator.check_chain(chain, now, live=False)
        expected = [rulebook(b, a) for *_, b, a in quotes]
        assert list(usable) == expected, f"{day} minute {minute}"
        usable_per_minute.append(int(np.count_nonzero(usable)))
    assert validator.quotes_seen == len(rows)
    assert sum(usable_per_minute) == sum(rulebook(b, a) for *_, b, a in rows)
    contracts = {(r, k, e) for _, r, k, e, _, _ in rows}
    assert 0 < max(usable_per_minute) <= len(contracts)


def test_real_cheap_wings_are_usable_and_crossed_quotes_are_not() -> None:
    folder = require_lean_data() / "indexoption" / "usa" / "minute" / "spxw"
    rows = read_option_minute_quotes(folder / "20210108_quote_european.zip")
    cheap = [r for r in rows if r[4] == 0.15 and r[5] == 0.20]
    crossed = [r for r in rows if r[5] < r[4]]
    assert cheap and crossed  # both occur on 2021-01-08 (the 3700 put, expiring that day)
    assert all(one(b, a) == 0 for *_, b, a in cheap)
    assert all(one(b, a) == QuoteProblem.CROSSED for *_, b, a in crossed)
    missing = [r for r in read_option_minute_quotes(folder / "20210106_quote_european.zip") if math.isnan(r[4])]
    assert missing and all(one(b, a) == QuoteProblem.NOT_FINITE for *_, b, a in missing)
