"""safety/data: the quote rule at its boundaries, chains, structures, the watchdog, and every real SPXW quote
of 2021-01-04..08 checked against an independent reading of RULEBOOK's rule."""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.model import Chain, ChainRow, Leg, Right, Structure, equity_contract
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


# ------------------------------------------------------------------------------------------ boundaries, rule by rule


def test_a_spread_of_exactly_twenty_percent_of_the_mid_is_usable() -> None:
    """9.00/11.00: mid 10, 20% of it is 2.00, the spread is 2.00 (all exact in binary): at the limit, usable."""
    assert one(9.0, 11.0) == 0 and rulebook(9.0, 11.0)


def test_the_cheap_rule_is_for_mids_strictly_under_its_bound() -> None:
    """RULEBOOK: options whose mid is *under* quote_cheap_below may use the absolute spread. With the bound at
    0.25 (exact in binary), 0.20/0.30 has a mid of exactly 0.25: not cheap, so 20% of 0.25 (0.05) applies and
    its 0.10 spread is too wide; 0.19/0.29 (mid 0.24) is cheap and passes."""
    settings = dataclasses.replace(S, quote_cheap_below=0.25)

    def problem(bid: float, ask: float) -> int:
        chain = Chain.from_rows("SPXW", 3800.0, NOW, [ChainRow(EXP, 3700.0, Right.PUT, bid, ask)])
        return int(quote_problems(chain, NOW, settings, live=False)[0])

    assert problem(0.20, 0.30) == QuoteProblem.WIDE
    assert problem(0.19, 0.29) == 0


def test_a_tiny_but_positive_underlying_price_is_a_price() -> None:
    assert one(1.0, 1.1, underlying=0.5) == 0
    assert one(1.0, 1.1, underlying=-1.0) == QuoteProblem.NO_UNDERLYING


def _spxw_market(quotes: dict[tuple[float, Right], tuple[float, float]]) -> tuple[date, Chain]:
    day = date(2024, 1, 8)
    rows = [ChainRow(day, k, r, bid, ask) for (k, r), (bid, ask) in quotes.items()]
    return day, Chain.from_rows("SPXW", 4750.0, m.at(day), rows)


def test_a_structure_at_exactly_its_allowed_combined_spread_passes_and_past_it_is_counted() -> None:
    """A short put quoted 9.00/11.00 alone: natural 9 to sell, 11 to buy back, a combined spread of 2.00 on
    a net mid of −10.00, exactly 20%: it passes. A put spread of +1 4700 (4.00/4.40) and −1 4740 (9.00/11.00):
    net mid 4.20 − 10.00 = −5.80, natural buy 4.40 − 9.00 = −4.60, natural sell 4.00 − 11.00 = −7.00, a
    combined spread of 2.40 over the 1.16 allowed: refused, and each refusal counted once."""
    day, chain = _spxw_market({(4740.0, Right.PUT): (9.0, 11.0), (4700.0, Right.PUT): (4.0, 4.4)})
    market = m.snapshot(m.at(day), 14.0, [chain])
    short = Structure("p1", "zero_dte", (Leg(m.option("SPXW", day, 4740.0, Right.PUT), -1),), 1, -10.0, m.at(day))
    validator = DataValidator(S)
    assert validator.check_structure(short, market) is None
    spread = Structure(
        "s1",
        "zero_dte",
        (Leg(m.option("SPXW", day, 4700.0, Right.PUT), 1), Leg(m.option("SPXW", day, 4740.0, Right.PUT), -1)),
        1,
        -5.8,
        m.at(day),
    )
    assert validator.check_structure(spread, market) == (
        "combined spread 2.40 on a net mid of -5.80 is over the 1.16 allowed"
    )
    validator.check_structure(spread, market)
    assert validator.rejected == Counter({"STRUCTURE_WIDE": 2})
    missing = Structure("x1", "zero_dte", (Leg(m.option("SPXW", day, 4745.0, Right.PUT), -1),), 1, -1.0, m.at(day))
    assert validator.check_structure(missing, market) == "no quote for SPXW 2024-01-08 4745 put"
    other_root = dataclasses.replace(market, chains={})
    assert validator.check_structure(short, other_root) == "no quote for SPXW 2024-01-08 4740 put"


def test_a_chain_of_one_quote_can_be_traded_and_an_empty_one_cannot() -> None:
    validator = DataValidator(S)
    single = Chain.from_rows("SPXW", 3800.0, NOW, [ChainRow(EXP, 3700.0, Right.PUT, 1.0, 1.1)])
    usable, report = validator.check_chain(single, NOW, live=False)
    assert list(usable) == [True] and report.tradable and (report.root, report.total, report.usable) == ("SPXW", 1, 1)
    empty = Chain.from_rows("SPXW", 3800.0, NOW, [])
    _, report = validator.check_chain(empty, NOW, live=False)
    assert not report.tradable and report.total == 0


# ------------------------------------------------------------------------------------------ #21: live chains and texts


def test_a_live_chain_older_than_a_minute_is_stale_and_its_warning_lists_every_problem() -> None:
    """Two quotes, one crossed, checked live 61 s after the chain's time (the limit is 60 s): both are stale,
    one also crossed; the warning lists the problems by name, in order, with their counts."""
    rows = [ChainRow(EXP, 3700.0, Right.PUT, 1.0, 1.1), ChainRow(EXP, 3705.0, Right.PUT, 0.2, 0.1)]
    usable, report = DataValidator(S).check_chain(
        Chain.from_rows("SPXW", 3800.0, NOW, rows), NOW + timedelta(seconds=61), live=True
    )
    assert list(usable) == [False, False] and report.problems == {"CROSSED": 1, "STALE": 2}
    assert report.warning == "SPXW: 2 of 2 quotes unusable (over 50%): no entries on it (CROSSED 1, STALE 2)"


def test_an_empty_chain_is_not_traded_even_when_every_quote_may_be_unusable() -> None:
    anything = dataclasses.replace(S, chain_max_unusable=1.0)
    _, report = DataValidator(anything).check_chain(Chain.from_rows("SPXW", 3800.0, NOW, []), NOW, live=False)
    assert not report.tradable
    assert report.warning == "SPXW: 0 of 0 quotes unusable (over 100%): no entries on it (empty chain)"


def test_infinite_quotes_are_flagged_without_a_floating_point_warning() -> None:
    """An infinite bid and ask make an infinite minus an infinite: the rule flags the quote (NOT_FINITE), and
    numpy's 'invalid value' is expected there, not raised as a warning into the run's log."""
    chain = Chain.from_rows("SPXW", 3800.0, NOW, [ChainRow(EXP, 3700.0, Right.PUT, math.inf, math.inf)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert quote_problems(chain, NOW, S, live=False)[0] == QuoteProblem.NOT_FINITE


def test_a_structure_with_shares_first_still_has_its_option_quotes_checked() -> None:
    day = date(2024, 1, 8)
    now = m.at(day)
    spy = m.priced_chain("SPY", 470.0, now, [date(2024, 1, 19)], [float(k) for k in range(440, 500, 5)], 0.14)
    row = spy.find(date(2024, 1, 19), 480.0, Right.CALL)
    assert row is not None
    bid = spy.bid.copy()
    bid[row] = spy.ask[row] + 0.05
    market = m.snapshot(now, 14.0, [dataclasses.replace(spy, bid=bid)])
    call = m.option("SPY", date(2024, 1, 19), 480.0, Right.CALL)
    covered = Structure("cc1", "covered", (Leg(equity_contract("SPY"), 100), Leg(call, -1)), 1, 0.0, now)
    reason = DataValidator(S).check_structure(covered, market)
    assert reason == f"SPY 2024-01-19 480 call quote {bid[row]:g}/{spy.ask[row]:g} unusable (CROSSED)"


def test_a_structures_check_leaves_the_quotes_age_to_the_chains_live_check() -> None:
    """A chain an hour older than the snapshot (a backtest's, or one the live chain check already judged):
    the structure check reads each quote's own rule, not its age."""
    day = date(2024, 1, 8)
    spxw = m.priced_chain("SPXW", 4750.0, m.at(day, 9, 30), [day], [float(k) for k in range(4600, 4900, 5)], 0.12)
    market = m.snapshot(m.at(day, 10, 30), 14.0, [spxw])
    condor = m.structure("z1", "zero_dte", m.iron_condor("SPXW", day, 4740.0, 10.0, 4760.0, 10.0), market)
    assert DataValidator(S).check_structure(condor, market) is None
