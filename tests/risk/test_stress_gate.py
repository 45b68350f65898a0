"""risk/stress: the stress gate at its boundary (inclusive), its reduction, the hedge it lets through, the
book it will not judge, and the once-a-day WARNING (RULEBOOK "Stress"). Losses come from Black-Scholes
written out in tests/test_stress.py, not from core/stress."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import numpy as np
import pytest

from core.model import AlertLevel, Approval, Found, Refusal, Right, Structure, equity_contract
from core.settings import Settings
from core.stress import StressResult, stress
from core.valuation import value_structure
from risk.manager import RiskManager
from risk.state import RiskState
from risk.stress import check as stress_check
from risk.verdict import Candidate, Reduce, Refuse, ReviewContext
from tests.fakes import market as m
from tests.fakes.market import opening
from tests.risk.kit import NOW, WITHOUT_STRESS, S, account, book, snap, spy_rung
from tests.risk.test_rules import approved, refused, review_one
from tests.test_stress import _put, _years

MARKET = snap()
NET = 100_000.0


def rung_loss(strike: float = 420.0) -> float:
    """The SPY put's loss in SPX −20%, IV +15 (its worst scenario), one contract."""
    years, vol = _years(date(2025, 1, 17)), 0.14 + 0.3 * (1 - strike / 470)
    return (_put(376.0, strike, years, vol + 0.15, 0.015) - _put(470.0, strike, years, vol, 0.015)) * 100


def with_limit(share: float) -> Settings:
    return dataclasses.replace(S, stress_max_loss=share)


def test_the_limit_is_inclusive_and_the_refusal_names_the_scenario() -> None:
    loss = rung_loss()
    at_limit = with_limit(loss / NET)
    approved(review_one(spy_rung(MARKET, "r1"), net=NET, settings=at_limit), qty=1)
    under = with_limit(loss / NET - 1e-6)
    answer = review_one(spy_rung(MARKET, "r1"), net=NET, settings=under)
    refused(answer, "stress")
    limit = (loss / NET - 1e-6) * NET
    assert answer.reason == (
        f"worst scenario SPX -20%, IV +15 would lose {loss:,.0f}, {loss / NET:.1%} of net liq (nothing open now); "
        f"limit {(loss / NET - 1e-6) * 100:.4g}% ({limit:,.0f})"
    )


def test_the_rulebook_default_refuses_a_rung_past_fifteen_percent() -> None:
    """At RULEBOOK's 15% of 100,000: a book of the 400 and 405 rungs loses 10,288 in SPX −20%, IV +15 (the
    written-out Black-Scholes of tests/test_stress.py); the 420 rung adds 5,819, 16,107 in all: refused,
    naming the book's loss before and the total after."""
    held = [spy_rung(MARKET, f"h{i}", strike=float(k)) for i, k in enumerate((400, 405))]
    held_loss = rung_loss(400.0) + rung_loss(405.0)
    total = held_loss + rung_loss()
    assert total > 0.15 * NET > held_loss
    answer = review_one(spy_rung(MARKET, "r1"), net=NET, open_=held, settings=S)
    refused(answer, "stress", f"now {held_loss:,.0f} in SPX -20%, IV +15", f"would lose {total:,.0f}")
    assert answer.reason.endswith("limit 15% (15,000)")


def test_an_entry_is_cut_to_the_quantity_that_fits() -> None:
    loss = rung_loss()
    two_and_a_half = with_limit(2.5 * loss / NET)
    answer = approved(review_one(spy_rung(MARKET, "r1"), net=NET, settings=two_and_a_half, qty=5), qty=2)
    assert answer.notes[-1].startswith("stress: 5 → 2, worst scenario SPX -20%, IV +15 would lose")


def test_a_hedge_that_lowers_a_book_past_the_limit_is_let_through_and_more_of_the_same_is_not() -> None:
    held = [spy_rung(MARKET, "h1"), spy_rung(MARKET, "h2", strike=430.0)]
    tight = with_limit(0.01)  # the book is far past 1% already
    hedge = m.structure("x1", "lt112", [(m.option("SPY", date(2025, 1, 17), 440.0, Right.PUT), 1)], MARKET)
    approved(review_one(hedge, net=NET, open_=held, settings=tight))
    refused(review_one(spy_rung(MARKET, "r3", strike=410.0), net=NET, open_=held, settings=tight), "stress")


def test_a_book_with_a_leg_it_cannot_revalue_is_not_judged() -> None:
    chain = MARKET.chains["SPY"]
    iv = chain.iv.copy()
    iv[chain.find(date(2025, 1, 17), 430.0, Right.PUT)] = float("nan")
    market = m.snapshot(NOW, 16.0, [dataclasses.replace(chain, iv=iv), MARKET.chains["ES"], MARKET.chains["QQQ"]])
    held = [spy_rung(market, "h1", strike=430.0)]
    answer = review_one(spy_rung(market, "r1"), net=NET, open_=held, market=market)
    refused(answer, "stress")
    assert answer.reason == (
        "the open book's stress loss is unknown: cannot stress leap_ladder h1: SPY 2025-01-17 430 has no implied "
        "volatility"
    )


def test_a_book_past_the_alert_level_warns_once_a_day() -> None:
    held = [spy_rung(MARKET, f"h{i}", strike=float(k)) for i, k in enumerate((420, 425, 430, 435))]
    loss = sum(rung_loss(float(k)) for k in (420, 425, 430, 435))
    manager = RiskManager(S)
    net = loss / 0.2 * 0.99  # just past 20%
    _, decisions = manager.manage(book(held, MARKET), MARKET, account(net))
    [warning] = [d for d in decisions if d.rule == "stress"]
    assert warning.alert is AlertLevel.WARNING
    assert warning.reason.startswith(f"the book would lose {loss:,.0f}, 20.2% of net liq, in SPX -20%, IV +15")
    assert "worst three: SPX -20%, IV +15: " in warning.reason and "; SPX -20%, IV unchanged: " in warning.reason
    _, again = manager.manage(book(held, MARKET), MARKET, account(net))
    assert [d for d in again if d.rule == "stress"] == []
    tomorrow = snap(now=m.at(date(2024, 1, 9)))
    _, next_day = manager.manage(book(held, tomorrow), tomorrow, account(net))
    assert [d.rule for d in next_day if d.rule == "stress"] == ["stress"]


@pytest.mark.parametrize(("share", "warns"), [(0.2 * 0.999, False), (0.2, False), (0.2 * 1.001, True)])
def test_the_alert_level_itself_does_not_warn(share: float, warns: bool) -> None:
    held = [spy_rung(MARKET, "h1")]
    net = rung_loss() / share
    _, decisions = RiskManager(S).manage(book(held, MARKET), MARKET, account(net))
    assert any(d.rule == "stress" for d in decisions) == warns


def test_a_cut_may_fit_as_a_hedge_of_a_book_already_past_the_limit() -> None:
    """Worked by hand on two scenarios: the book loses 40,000 in the first and 30,000 in the second (net liq
    100,000, limit 15%: already past it). The proposal, per unit, gains 5,000 in the first and loses 4,000 in
    the second. 20 units: worst 110,000. 1 unit: 35,000; 2: 38,000 (both under the book's own 40,000, so
    each lowers or keeps its worst, which `check` lets through); 3: 42,000. The cut is to 2, not a refusal
    because none fits 15,000."""
    from core.stress import Scenario, StressResult
    from risk.stress import _largest_fitting

    grid = (Scenario(-0.2, 15.0), Scenario(0.1, 0.0))
    book = StressResult(grid, ("b",), np.array([[-40_000.0, -30_000.0]]))
    mine = StressResult(grid, ("c",), np.array([[5_000.0 * 20, -4_000.0 * 20]]))
    assert _largest_fitting(book, mine, 20, max(15_000.0, book.worst().loss)) == 2
    assert _largest_fitting(book, mine, 20, 15_000.0) == 0


def test_a_book_that_cannot_be_revalued_warns_rather_than_passing_as_within_the_level() -> None:
    """A rung whose put has no IV (or a structure not valued at all) leaves the book's stress loss unknown:
    a WARNING once a day saying so, never silence as if the rest were the whole book."""
    chain = MARKET.chains["SPY"]
    iv = chain.iv.copy()
    iv[chain.find(date(2025, 1, 17), 430.0, Right.PUT)] = float("nan")
    market = m.snapshot(NOW, 16.0, [dataclasses.replace(chain, iv=iv), MARKET.chains["ES"], MARKET.chains["QQQ"]])
    held = [spy_rung(market, "h1", strike=430.0), spy_rung(market, "h2", strike=400.0)]
    manager = RiskManager(S)
    _, decisions = manager.manage(book(held, market), market, account(NET))
    [warning] = [d for d in decisions if d.rule == "stress"]
    assert warning.alert is AlertLevel.WARNING
    assert warning.reason == (
        "the book's stress loss is unknown: cannot stress leap_ladder h1: SPY 2025-01-17 430 has no implied volatility"
    )
    _, again = manager.manage(book(held, market), market, account(NET))
    assert not [d for d in again if d.rule == "stress"]
    blind = dataclasses.replace(book(held[1:], MARKET), unvalued=("SPY 2025-01-17 430 put has no quote",))
    _, decisions = RiskManager(S).manage(blind, MARKET, account(NET))
    assert [d.reason for d in decisions if d.rule == "stress"] == [
        "the book's stress loss is unknown: SPY 2025-01-17 430 put has no quote"
    ]


# ------------------------------------------------------------------------------------------ the rule on its own


def _ctx(
    structures: list[Structure], net: float = NET, settings: Settings = S, stress: StressResult | None = None
) -> ReviewContext:
    today = MARKET.time.date()
    return ReviewContext(settings, MARKET, account(net), book(structures, MARKET), RiskState(), today, stress=stress)


def _candidate(structure: Structure, settings: Settings = S) -> Candidate:
    found = value_structure(structure, MARKET, settings)
    assert isinstance(found, Found)
    return Candidate(opening(structure), found.value)


def test_the_rule_reads_the_books_stress_from_its_context_and_revalues_it_without() -> None:
    """The manager hands the rule the book's stress (ReviewContext.stress) so that a batch is revalued once;
    without it the rule revalues the book itself. A held rung losing 5,819 in the crash and a new one: with
    the limit at 1.5 rungs' loss, refused either way; handed a book that loses nothing, approved."""
    held = [spy_rung(MARKET, "h1")]
    settings = with_limit(1.5 * rung_loss() / NET)
    alone = stress_check(_candidate(spy_rung(MARKET, "r1"), settings), _ctx(held, settings=settings))
    assert isinstance(alone, Refuse) and alone.rule == "stress"
    shocked = stress(book(held, MARKET).views, MARKET, settings)
    given = stress_check(_candidate(spy_rung(MARKET, "r1"), settings), _ctx(held, settings=settings, stress=shocked))
    assert given == alone
    flat = StressResult(shocked.scenarios, shocked.ids, np.zeros_like(shocked.pnl))
    assert (
        stress_check(_candidate(spy_rung(MARKET, "r1"), settings), _ctx(held, settings=settings, stress=flat)) is None
    )


def test_the_rule_refuses_a_book_it_cannot_value_and_a_proposal_it_cannot_revalue() -> None:
    held = [spy_rung(MARKET, "h1")]
    blind = dataclasses.replace(_ctx(held), book=dataclasses.replace(book(held, MARKET), unvalued=("A", "B")))
    assert stress_check(_candidate(spy_rung(MARKET, "r1")), blind) == Refuse(
        "stress", "the open book's stress loss is unknown: A"
    )
    chain = MARKET.chains["SPY"]
    iv = chain.iv.copy()
    iv[chain.find(date(2025, 1, 17), 420.0, Right.PUT)] = float("nan")
    iv[chain.find(date(2025, 1, 17), 410.0, Right.PUT)] = float("nan")
    market = m.snapshot(NOW, 16.0, [dataclasses.replace(chain, iv=iv), MARKET.chains["ES"], MARKET.chains["QQQ"]])
    two = m.structure("r2", "leap_ladder", [*m.short_put("SPY", date(2025, 1, 17), 420.0),
                                            *m.short_put("SPY", date(2025, 1, 17), 410.0)], market)  # fmt: skip
    found = value_structure(two, market, S)
    assert isinstance(found, Found)
    ctx = dataclasses.replace(_ctx([]), snapshot=market, book=book([], market))
    assert stress_check(Candidate(opening(two), found.value), ctx) == Refuse(
        "stress", "cannot stress leap_ladder r2: SPY 2025-01-17 420 has no implied volatility"
    )


def test_a_proposal_that_leaves_an_over_limit_books_worst_loss_unchanged_passes() -> None:
    """100 GLD shares: GLD's stress beta is 0 and shares carry no IV, so their P&L is 0 in every scenario.
    Beside a book already past the limit they leave its worst loss exactly where it was: not raised, let
    through (the limit is for what an entry adds)."""
    held = [spy_rung(MARKET, "h1")]
    market = m.snapshot(NOW, 16.0, MARKET.chains.values(), {"GLD": 190.0})
    shares = m.structure("g1", "ipmcc", [(equity_contract("GLD"), 100)], market)
    found = value_structure(shares, market, S)
    assert isinstance(found, Found)
    ctx = dataclasses.replace(_ctx(held, settings=with_limit(0.01)), snapshot=market, book=book(held, market))
    assert stress_check(Candidate(opening(shares), found.value), ctx) is None


def test_a_cut_to_one_is_a_cut_not_a_refusal() -> None:
    """Three rungs where the limit holds one and a half: cut to 1."""
    settings = with_limit(1.5 * rung_loss() / NET)
    answer = stress_check(
        _candidate(dataclasses.replace(spy_rung(MARKET, "r1"), quantity=3), settings), _ctx([], settings=settings)
    )
    assert isinstance(answer, Reduce) and answer.quantity == 1 and answer.note.startswith("stress: 3 → 1, ")


def test_the_largest_fitting_quantity_at_its_edges() -> None:
    """Hand-worked on one scenario: the book loses 40,000, each unit 5,000 more. A limit of exactly 50,000
    holds two units (inclusive); of one unit nothing smaller is tried; of two, one fits."""
    from core.stress import Scenario
    from risk.stress import _largest_fitting

    grid = (Scenario(-0.2, 15.0),)
    book_ = StressResult(grid, ("b",), np.array([[-40_000.0]]))
    assert _largest_fitting(book_, StressResult(grid, ("c",), np.array([[-15_000.0]])), 3, 50_000.0) == 2
    assert _largest_fitting(book_, StressResult(grid, ("c",), np.array([[-5_000.0]])), 1, 1e9) == 0
    assert _largest_fitting(book_, StressResult(grid, ("c",), np.array([[-10_000.0]])), 2, 45_000.0) == 1


def test_the_warning_on_its_edges() -> None:
    """Net liq 0: no share of it means anything, no warning. A loss 50 cents over the level warns, and the
    decision is a refusal-kind record (approved False) naming exactly three scenarios."""
    held = [spy_rung(MARKET, f"h{i}", strike=float(k)) for i, k in enumerate((420, 425))]
    loss = rung_loss(420.0) + rung_loss(425.0)
    _, none = RiskManager(S).manage(book(held, MARKET), MARKET, account(0.0))
    assert not [d for d in none if d.rule == "stress"]
    net = (loss - 0.5) / 0.2
    _, decisions = RiskManager(S).manage(book(held, MARKET), MARKET, account(net))
    [warning] = [d for d in decisions if d.rule == "stress"]
    assert warning.approved is False and warning.time == MARKET.time
    assert warning.reason.split("worst three: ")[1].count("; ") == 2
    _, one = RiskManager(S).manage(book(held, MARKET), MARKET, account(1.0))
    assert [d.rule for d in one if d.rule == "stress"] == ["stress"]


def test_the_warning_counts_new_york_days_not_utc_ones() -> None:
    """22:30 in New York on Monday is Tuesday in UTC: the warning given then is Monday's, and Tuesday's
    10:30 look warns again."""
    held = [spy_rung(MARKET, "h1")]
    manager = RiskManager(S)
    late = snap(now=datetime(2024, 1, 8, 22, 30, tzinfo=m.NY))
    _, first = manager.manage(book(held, late), late, account(1_000.0))
    tuesday = snap(now=m.at(date(2024, 1, 9)))
    _, second = manager.manage(book(held, tuesday), tuesday, account(1_000.0))
    assert [d.rule for d in first + second if d.rule == "stress"] == ["stress", "stress"]


def test_a_proposal_that_cannot_be_valued_is_refused_by_name_and_the_next_is_still_answered() -> None:
    ghost = m.structure("x1", "leap_ladder", m.short_put("SPY", date(2025, 1, 17), 421.0), MARKET, entry_price=-5.0)
    real = spy_rung(MARKET, "r1")
    manager = RiskManager(WITHOUT_STRESS)
    first, second = manager.review([opening(ghost), opening(real)], book([], MARKET), MARKET, account(NET))
    assert isinstance(first, Refusal) and first.intent == opening(ghost) and first.rule == "valuation"
    assert isinstance(second, Approval) and second.intent.structure.id == "r1"


def test_a_book_that_gains_in_every_scenario_counts_no_loss_even_at_a_zero_limit() -> None:
    """stress_max_loss 0: nothing may lose anything. A proposal that gains in every scenario (each unit
    +1,000) beside a book that gains too: all but the largest size are tried, and every one fits (a gain is
    no loss, not a negative one that would need a negative limit)."""
    from core.stress import Scenario
    from risk.stress import _largest_fitting

    grid = (Scenario(-0.2, 15.0), Scenario(0.1, 0.0))
    gains = StressResult(grid, ("b",), np.array([[2_000.0, 500.0]]))
    assert _largest_fitting(gains, StressResult(grid, ("c",), np.array([[4_000.0, 4_000.0]])), 4, 0.0) == 3
