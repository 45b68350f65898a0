"""core/stress: the book revalued under RULEBOOK's stress grid, checked against Black-Scholes and Black-76
written out from the textbook (Hull, "Options, Futures and Other Derivatives", ch. 15 and 18), never against
core/pricing, and the properties RULEBOOK's issue asks for."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.book_view import BookView
from core.model import MarketSnapshot, Right, Structure, equity_contract
from core.settings import Settings
from core.stress import Scenario, StressResult, grid, stress, stress_book
from core.timeutil import elapsed
from tests.fakes import market as m
from tests.risk.kit import NOW, es_strangle, snap, spxw_condor, spy_rung

S = Settings()
MARKET = snap()
RATE = S.risk_free_rate


def _cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _put(spot: float, strike: float, years: float, vol: float, carry: float) -> float:
    """Black-Scholes put with dividend yield `carry`; Black-76 on a future when carry = RATE."""
    d1 = (math.log(spot / strike) + (RATE - carry + 0.5 * vol * vol) * years) / (vol * math.sqrt(years))
    d2 = d1 - vol * math.sqrt(years)
    return strike * math.exp(-RATE * years) * _cdf(-d2) - spot * math.exp(-carry * years) * _cdf(-d1)


def _years(expiry: date) -> float:
    return elapsed(NOW, datetime(expiry.year, expiry.month, expiry.day, 16, 0, tzinfo=m.NY)).total_seconds() / (
        365 * 86_400
    )


def _views(structures: list[Structure], market: MarketSnapshot = MARKET, s: Settings = S) -> BookView:
    return BookView.build(structures, market, s)


def test_the_grid_is_rulebooks_seven_moves_with_iv_and_without() -> None:
    scenarios = grid(S)
    assert [(sc.move, sc.iv_points) for sc in scenarios] == [
        (-0.20, 15.0),
        (-0.10, 10.0),
        (-0.05, 5.0),
        (-0.03, 0.0),
        (0.03, 0.0),
        (0.05, -3.0),
        (0.10, -5.0),
        (-0.20, 0.0),
        (-0.10, 0.0),
        (-0.05, 0.0),
        (0.05, 0.0),
        (0.10, 0.0),
    ]  # ±3% already have IV unchanged: twelve distinct scenarios, not fourteen
    assert scenarios[0].label() == "SPX -20%, IV +15" and scenarios[3].label() == "SPX -3%, IV unchanged"


def test_a_short_spy_put_loses_what_black_scholes_says_in_each_scenario() -> None:
    """SPY 470, the 2025-01-17 420 put at IV 0.14 + 0.3 × (1 − 420/470), q 1.5% (dividend_yield SPY)."""
    rung = spy_rung(MARKET, "r1")
    result = stress(_views([rung]).views, MARKET, S)
    years, vol = _years(date(2025, 1, 17)), 0.14 + 0.3 * (1 - 420 / 470)
    before = _put(470.0, 420.0, years, vol, 0.015)
    for column, scenario in enumerate(result.scenarios):
        after = _put(470.0 * (1 + scenario.move), 420.0, years, vol + scenario.iv_points / 100, 0.015)
        assert result.pnl[0, column] == pytest.approx(-(after - before) * 100, rel=1e-9, abs=1e-9), scenario


def test_qqq_moves_by_its_beta_and_es_options_are_black76_on_the_future() -> None:
    qqq = m.structure("q1", "leap_ladder", m.short_put("QQQ", date(2025, 1, 17), 330.0), MARKET, 2)
    strangle = es_strangle(MARKET)  # ES 4300 put / 5100 call of 2024-04-19, ES at 4750, vol 0.15, skew 0.3
    result = stress(_views([qqq, strangle]).views, MARKET, S)
    crash = result.scenarios.index(Scenario(-0.20, 15.0))
    years, vol = _years(date(2025, 1, 17)), 0.18 + 0.3 * (1 - 330 / 400)
    qqq_loss = (_put(400.0 * 0.76, 330.0, years, vol + 0.15, 0.007) - _put(400.0, 330.0, years, vol, 0.007)) * 200
    assert result.pnl[result.ids.index("q1"), crash] == pytest.approx(-qqq_loss, rel=1e-9)  # QQQ −24%, not −20%
    years = _years(date(2024, 4, 19))
    put_vol, call_vol = 0.15 + 0.3 * (1 - 4300 / 4750), 0.15 + 0.3 * (1 - 5100 / 4750)
    put = _put(3800.0, 4300.0, years, put_vol + 0.15, RATE) - _put(4750.0, 4300.0, years, put_vol, RATE)
    # The call by put-call parity on a future: C = P + e^(−rT)·(F − K).
    call_after = _put(3800.0, 5100.0, years, call_vol + 0.15, RATE) + math.exp(-RATE * years) * (3800.0 - 5100.0)
    call_before = _put(4750.0, 5100.0, years, call_vol, RATE) + math.exp(-RATE * years) * (4750.0 - 5100.0)
    es_loss = (put + call_after - call_before) * 50
    assert result.pnl[result.ids.index(strangle.id), crash] == pytest.approx(-es_loss, rel=1e-9)


def test_futures_and_shares_move_by_their_beta_times_the_move() -> None:
    market = m.snapshot(NOW, 16.0, MARKET.chains.values(), {"ES": 4750.0, "QQQ": 400.0, "GLD": 190.0})
    es = m.structure("f1", "futures", [(m.future("ES", date(2024, 3, 15)), 1)], market, 2)
    qqq = m.structure("s1", "ipmcc", [(equity_contract("QQQ"), -100)], market)
    gld = m.structure("s2", "ipmcc", [(equity_contract("GLD"), 100)], market)
    result = stress(_views([es, qqq, gld], market).views, market, S)
    crash = result.scenarios.index(Scenario(-0.20, 15.0))
    assert result.pnl[result.ids.index("f1"), crash] == pytest.approx(-0.20 * 4750.0 * 50 * 2)
    assert result.pnl[result.ids.index("s1"), crash] == pytest.approx(+0.24 * 400.0 * 100)  # short QQQ gains
    assert result.pnl[result.ids.index("s2"), crash] == 0.0  # GLD's stress beta is 0


def test_a_leg_without_iv_is_reported_and_left_out_not_guessed() -> None:
    chain = MARKET.chains["SPY"]
    iv = chain.iv.copy()
    iv[chain.find(date(2025, 1, 17), 420.0, Right.PUT)] = float("nan")
    market = m.snapshot(NOW, 16.0, [dataclasses.replace(chain, iv=iv), *(MARKET.chains[r] for r in ("ES", "QQQ"))])
    rung, other = spy_rung(market, "r1"), spy_rung(market, "r2", strike=400.0)
    result = stress(_views([rung, other], market).views, market, S)
    assert not result.complete and result.ids == ("r2",)
    assert result.unrevalued == ("cannot stress leap_ladder r1: SPY 2025-01-17 420 has no implied volatility",)


def test_ranked_gives_the_worst_three_worst_first_and_plus_adds_books() -> None:
    rung = spy_rung(MARKET, "r1")
    condor = spxw_condor(MARKET)
    book = stress(_views([rung]).views, MARKET, S)
    both = book.plus(stress(_views([condor]).views, MARKET, S))
    assert both.ids == ("r1", "z01") and both.total.tolist() == (book.pnl[0] + both.pnl[1]).tolist()
    first, second, third = both.ranked(3)
    assert first.loss >= second.loss >= third.loss > 0
    assert first.loss == pytest.approx(-both.total.min()) and first.scenario == Scenario(-0.20, 15.0)
    other = stress(_views([condor]).views, MARKET, dataclasses.replace(S, stress_moves=(-0.1,), stress_iv_points=(5,)))
    with pytest.raises(ValueError, match="different grids"):
        book.plus(other)


# ------------------------------------------------------------------------------------------ properties


@given(
    short=st.integers(min_value=360, max_value=460).map(lambda k: k - k % 5),
    width=st.sampled_from([5.0, 10.0, 20.0, 40.0]),
    quantity=st.integers(min_value=1, max_value=20),
    expiry=st.sampled_from([date(2024, 1, 19), date(2024, 2, 16), date(2024, 5, 17), date(2025, 1, 17)]),
)
def test_a_defined_risk_spread_never_loses_more_than_its_width_less_its_value(
    short: float, width: float, quantity: int, expiry: date
) -> None:
    """A short put spread is worth between 0 and its width in any scenario, so from a value V it can lose at
    most (width − V) a unit, whatever the shock."""
    legs = [(m.option("SPY", expiry, short, Right.PUT), -1), (m.option("SPY", expiry, short - width, Right.PUT), 1)]
    spread = m.structure("v1", "lt112", legs, MARKET, quantity)
    result = stress(_views([spread]).views, MARKET, S)
    years = _years(expiry)
    vol = [0.14 + 0.3 * (1 - k / 470) for k in (short, short - width)]
    value = _put(470.0, short, years, vol[0], 0.015) - _put(470.0, short - width, years, vol[1], 0.015)
    worst = result.worst().loss
    assert worst <= (width - value) * 100 * quantity + 1e-6
    assert worst > 0  # and it does lose something in a −20% gap


@given(
    strike=st.integers(min_value=300, max_value=470).map(lambda k: k - k % 5),
    small=st.floats(min_value=0.1, max_value=1.0),
    factor=st.floats(min_value=1.01, max_value=3.0),
)
def test_a_naked_shorts_loss_grows_with_the_size_of_the_shock(strike: float, small: float, factor: float) -> None:
    rung = spy_rung(MARKET, "r1", strike=float(strike))
    losses = []
    for scale in (small, small * factor):
        s = dataclasses.replace(
            S,
            stress_moves=tuple(x * scale for x in S.stress_moves),
            stress_iv_points=tuple(x * scale for x in S.stress_iv_points),
        )
        losses.append(stress(_views([rung], s=s).views, MARKET, s).worst().loss)
    assert losses[1] > losses[0] > 0


@given(
    puts=st.lists(
        st.tuples(
            st.sampled_from(["SPY", "QQQ", "ES"]),
            st.sampled_from([0.80, 0.85, 0.90, 0.95, 1.0]),
            st.integers(min_value=1, max_value=5),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_short_put_books_worst_case_is_a_down_move_with_iv_up(puts: list[tuple[str, float, int]]) -> None:
    spots = {
        "SPY": (470.0, 5.0, date(2024, 5, 17)),
        "QQQ": (400.0, 5.0, date(2025, 1, 17)),
        "ES": (4750.0, 25.0, date(2024, 4, 19)),
    }
    book = []
    for i, (root, moneyness, quantity) in enumerate(puts):
        spot, step, expiry = spots[root]
        strike = round(spot * moneyness / step) * step
        book.append(m.structure(f"p{i}", "leap_ladder", m.short_put(root, expiry, strike), MARKET, quantity))
    worst = stress(_views(book).views, MARKET, S).worst().scenario
    assert worst.move < 0 and worst.iv_points > 0


def test_a_reused_settings_id_never_serves_another_configurations_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot memoises valuations and stress rows by the settings' id(); CPython reuses the id of an
    object that is gone, so two configurations alive one after the other on one snapshot (a sweep, a test)
    can share it. Forced here: every id is 1. The figures must still be each configuration's own."""
    import core.stress
    import core.valuation

    monkeypatch.setattr(core.valuation, "id", lambda _: 1, raising=False)
    monkeypatch.setattr(core.stress, "id", lambda _: 1, raising=False)
    market = snap()
    rung = spy_rung(market, "r1")
    wide = dataclasses.replace(S, stress_moves=(-0.4,), stress_iv_points=(30.0,))
    narrow = dataclasses.replace(S, stress_moves=(-0.05,), stress_iv_points=(5.0,))
    cheap = dataclasses.replace(S, margin_equity_naked=0.30)
    first = stress(BookView.build([rung], market, wide).views, market, wide).worst()
    second = stress(BookView.build([rung], market, narrow).views, market, narrow).worst()
    assert first.scenario == Scenario(-0.4, 30.0) and second.scenario == Scenario(-0.05, 5.0)
    assert first.loss > 3 * second.loss
    assert BookView.build([rung], market, cheap).bp_in_use != BookView.build([rung], market, S).bp_in_use


def test_an_iv_shock_below_one_point_is_floored_at_one_percent() -> None:
    """A put quoted at 3% IV: IV −5 would make it −2%. It is revalued at 1% (core/stress `_MIN_IV`), never at
    a zero or negative volatility."""
    chain = m.priced_chain("SPY", 470.0, NOW, [date(2024, 5, 17)], [440.0, 460.0], 0.03, 0.0)
    market = m.snapshot(NOW, 16.0, [chain])
    short = m.structure("p1", "leap_ladder", m.short_put("SPY", date(2024, 5, 17), 460.0), market)
    result = stress(_views([short], market).views, market, S)
    years = _years(date(2024, 5, 17))
    for scenario in (Scenario(0.10, -5.0), Scenario(0.05, -3.0)):
        column = result.scenarios.index(scenario)
        after = _put(470.0 * (1 + scenario.move), 460.0, years, 0.01, 0.015)
        expected = -(after - _put(470.0, 460.0, years, 0.03, 0.015)) * 100
        assert result.pnl[0, column] == pytest.approx(expected, rel=1e-9, abs=1e-9), scenario


# ------------------------------------------------------------------------------------------ the result's edges


def test_a_book_that_cannot_lose_reports_a_loss_of_plain_zero() -> None:
    """Nothing open: the worst is the grid's first scenario with a loss of exactly 0.0 (not −0.0, which
    prints as "-0", nor a floor of anything else), and the matrix has no row."""
    market = snap()
    result = stress((), market, S)
    assert result.pnl.shape == (0, 12) and result.ids == ()
    worst = result.worst()
    assert worst.loss == 0.0 and math.copysign(1.0, worst.loss) == 1.0 and worst.describe() == "SPX -20%, IV +15: 0"
    assert [w.scenario for w in result.ranked(3)] == list(result.scenarios[:3])  # ties keep the grid's order


def test_adding_books_keeps_what_could_not_be_revalued_and_refuses_another_grid() -> None:
    market = snap()
    one = stress(_views([spy_rung(market, "r1")], market).views, market, S)
    blind = StressResult(one.scenarios, (), np.zeros((0, 12)), ("cannot stress x",))
    both = one.plus(blind)
    assert both.unrevalued == ("cannot stress x",) and both.ids == ("r1",) and not both.complete
    other = StressResult((Scenario(-0.1, 5.0),), (), np.zeros((0, 1)))
    with pytest.raises(ValueError, match=r"^stress results on different grids cannot be added$"):
        one.plus(other)


def test_stress_book_adds_the_structures_that_could_not_be_valued() -> None:
    market = snap()
    valued = _views([spy_rung(market, "r1")], market)
    blind = dataclasses.replace(valued, unvalued=("SPY 2025-01-17 430 put has no quote",))
    plain, whole = stress(valued.views, market, S), stress_book(blind, market, S)
    assert whole.scenarios == plain.scenarios and whole.ids == plain.ids
    assert whole.pnl.tolist() == plain.pnl.tolist()
    assert whole.unrevalued == ("SPY 2025-01-17 430 put has no quote",)


def test_a_structure_that_cannot_be_revalued_leaves_the_others_whole() -> None:
    """Three rungs, ids in the book's order a1, b1, c1; b1 has an IV of 0 (a zero volatility is no IV), and
    under settings without a beta for SPY none could be revalued. a1 and c1 keep their own figures."""
    market = snap()
    chain = market.chains["SPY"]
    iv = chain.iv.copy()
    iv[chain.find(date(2025, 1, 17), 410.0, Right.PUT)] = 0.0
    zero = m.snapshot(NOW, 16.0, [dataclasses.replace(chain, iv=iv), market.chains["ES"], market.chains["QQQ"]])
    rungs = [spy_rung(zero, "a1", 420.0), spy_rung(zero, "b1", 410.0), spy_rung(zero, "c1", 400.0)]
    result = stress(_views(rungs, zero).views, zero, S)
    assert result.ids == ("a1", "c1")
    assert result.unrevalued == ("cannot stress leap_ladder b1: SPY 2025-01-17 410 has no implied volatility",)
    years, crash = _years(date(2025, 1, 17)), result.scenarios.index(Scenario(-0.2, 15.0))
    for row, strike in ((0, 420.0), (1, 400.0)):
        vol = 0.14 + 0.3 * (1 - strike / 470)
        loss = (_put(376.0, strike, years, vol + 0.15, 0.015) - _put(470.0, strike, years, vol, 0.015)) * 100
        assert result.pnl[row, crash] == pytest.approx(-loss, rel=1e-9)
    betas = {k: v for k, v in S.stress_beta.items() if k != "SPY"}
    no_beta = dataclasses.replace(S, stress_beta=betas)
    blind = stress(_views(rungs[:1], zero, no_beta).views, zero, no_beta)
    assert blind.ids == () and blind.unrevalued == ("cannot stress leap_ladder a1: no stress_beta for SPY",)
