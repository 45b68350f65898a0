"""The modelled surface against the real quotes of ../shared/lean-data (replay/calibrate), and the surface's
shape where no quote is needed to judge it."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core import pricing
from core.calendar import Calendars
from core.model import FloatArray, Right
from core.products import option_tick
from core.settings import Settings
from replay import calibrate, calibration_quotes
from replay.broker import ReplayBroker
from replay.lean_files import LeanFiles
from replay.modelled import NEW_YORK, ModelledMarket, SurfaceParameters
from replay.spreads import SpreadParameters
from tests.fakes import market as m
from tests.leandata import require_lean_data

# The in-fit buckets the fitted surface misses (README "Calibrated surface" says by how much and why): near-
# the-money SPXW a few days out, where a surface tied to VIX cannot follow the week's own term structure.
KNOWN_MISSES = {("SPXW", "1-7", "0.20-0.35", False), ("SPXW", "1-7", "0.35-0.50", False)}


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    fitted, _ = calibrate.calibrate(require_lean_data())
    return fitted


@pytest.fixture(scope="module")
def table() -> calibration_quotes.Observations:
    observations, _ = calibration_quotes.read(require_lean_data())
    return observations


def held_out_over_goal(surface: SurfaceParameters, table: calibration_quotes.Observations) -> list[str]:
    """Held-out buckets over the goal, whatever their count (none of the sample's reaches 20 contracts, so
    the test holds every one of them to it)."""
    return [
        f"{b['root']} {b['dte']} {b['delta']}: {b['median_abs_error']}"
        for b in calibrate.buckets(surface, table)
        if b["held_out"] and float(str(b["median_abs_error"])) > calibrate.GOAL_ERROR
    ]


def test_the_defaults_are_the_fit(result: dict[str, Any]) -> None:
    fitted = result["surface"]
    defaults = dataclasses.asdict(SurfaceParameters())
    assert fitted.keys() == defaults.keys()
    for name, value in fitted.items():
        assert value == pytest.approx(defaults[name], rel=0.01), name


def test_the_fit_never_sees_a_held_out_day(result: dict[str, Any]) -> None:
    fitted_on = {date.fromisoformat(d) for d in result["fitted_on"]}
    held = {date.fromisoformat(d) for d in result["held_out_days"]}
    assert fitted_on and held and not fitted_on & held
    assert max(fitted_on) < calibrate.HELD_OUT_FROM <= min(held)
    assert {b["held_out"] for b in result["buckets"]} == {True, False}


def test_the_default_surface_meets_the_goal_on_the_held_out_days(table: calibration_quotes.Observations) -> None:
    assert held_out_over_goal(SurfaceParameters(), table) == []


def test_the_held_out_check_fails_a_surface_past_the_goal(table: calibration_quotes.Observations) -> None:
    """The check can fail: the surface the replay used before (ATM = VIX, moving one-for-one with it) and the
    fitted one with its ATM level put back at VIX both miss on the held-out SPY days."""
    assert held_out_over_goal(calibrate.BEFORE, table)
    assert held_out_over_goal(dataclasses.replace(SurfaceParameters(), atm_ratio=1.0), table)


def test_only_the_known_buckets_miss_and_every_premium_ratio_is_inside_the_goal(result: dict[str, Any]) -> None:
    over = {
        (b["root"], b["dte"], b["delta"], b["held_out"])
        for b in result["buckets"]
        if b["n"] >= calibrate.GOAL_MIN_COUNT and b["median_abs_error"] > calibrate.GOAL_ERROR
    }
    assert over <= KNOWN_MISSES
    low, high = calibrate.GOAL_RATIO
    ratios = {s["strategy"]: s["premium_ratio"] for s in result["selected"]}
    assert set(ratios) == {s.strategy for s in calibrate.SELECTIONS}
    assert all(r is not None and low <= r <= high for r in ratios.values()), ratios
    # The LEAP calls are SPY's own held-out quotes; the old surface was right about them too.
    assert next(s for s in result["selected"] if s["strategy"] == "LEAP call")["held_out"]


def test_the_old_surface_priced_the_sold_premiums_far_too_rich(result: dict[str, Any]) -> None:
    before = {s["strategy"]: s["premium_ratio"] for s in result["before"]["selected"]}
    for strategy in ("0DTE SPXW short", "ES strangle short", "ETF strangle short", "LEAP ladder put"):
        assert before[strategy] > calibrate.GOAL_RATIO[1], strategy


def test_the_spread_defaults_are_the_fit(result: dict[str, Any]) -> None:
    spreads = result["spreads"]
    defaults = SpreadParameters()
    assert spreads["vix_exponent"] == pytest.approx(defaults.vix_exponent, rel=0.01)
    for root, (fixed, share) in spreads["fixed_and_share"].items():
        assert defaults.fixed_and_share[root] == pytest.approx((fixed, share), rel=0.01), root
    assert {r: f["n"] > 50 for r, f in spreads["fit"].items()} == {"SPXW": True, "SPY": True, "ES": True}


def test_market_ivs_come_from_clean_quotes(table: calibration_quotes.Observations) -> None:
    assert len(table) > 500
    assert np.all(table.bid > 0) and np.all(table.ask >= table.bid)
    assert np.all(np.isfinite(table.iv)) and np.all(table.otm_delta >= calibration_quotes.MIN_OTM_DELTA)
    assert set(table.root.tolist()) == {"SPX", "SPXW", "SPY", "ES"}


def test_a_close_repeated_without_trading_is_read_once() -> None:
    """SPX's January 4200 put closes at 503.80 in every snapshot from 2020-12-30 to 2021-01-14 with no volume
    from 2021-01-04 on: those closes are stale (the index moved from 3700 to 3800 under them)."""
    files = LeanFiles(require_lean_data())
    read = [
        q.moment.date()
        for q in calibration_quotes.universe_quotes(files, "indexoption/usa/universes/spx", "SPX", time(9, 30))
        if q.strike == 4200.0 and not q.is_call and q.expiry == date(2021, 1, 15)
    ]
    assert read == [date(2020, 12, 30), date(2020, 12, 31)]


def test_the_cli_writes_the_json_and_the_table(tmp_path: Path) -> None:
    data = require_lean_data()
    lines: list[str] = []
    assert calibrate.main(["--data", str(data), "--out", str(tmp_path)], write=lines.append) == 0
    written = json.loads((tmp_path / "calibration.json").read_text())
    assert set(written["buckets"][0]) == {"root", "dte", "delta", "n", "median_abs_error", "held_out"}
    assert {"strategy", "n", "premium_ratio"} <= set(written["selected"][0])
    assert (tmp_path / "calibration.md").read_text() == lines[0]
    assert [c["root_left_out"] for c in written["leave_one_root_out"]] == ["ES", "SPX", "SPXW"]
    assert all(b["n"] >= calibrate.GOAL_MIN_COUNT for c in written["leave_one_root_out"] for b in c["buckets"])
    assert calibrate.main(["--data", str(tmp_path), "--out", str(tmp_path / "x")]) == 2  # no quotes in it


# ---------------------------------------------------------------------------------------------- shape


def test_the_month_atm_level_is_the_ratio_of_vix_and_long_dated_iv_moves_less() -> None:
    s = SurfaceParameters()
    month = np.array([21.0])
    for vix in (12.0, 20.0, 40.0):
        assert s.atm(s.atm_ratio * vix / 100, s.long_run_vol, month)[0] == pytest.approx(s.atm_ratio * vix / 100)
    year = np.array([252.0])

    def move(sessions: FloatArray) -> float:
        low = s.atm(s.atm_ratio * 0.15, s.long_run_vol, sessions)[0]
        high = s.atm(s.atm_ratio * 0.35, s.long_run_vol, sessions)[0]
        return float(high - low)

    assert 0 < move(year) < 0.5 * move(month)


def test_the_put_wing_flattens_to_a_variance_linear_in_log_moneyness() -> None:
    s = SurfaceParameters()
    k = -np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    variance = np.square(s.smile(k, np.full(k.size, 30.0)))
    slopes = np.diff(variance) / np.diff(-k)
    assert np.all(slopes > 0) and np.ptp(slopes) / slopes.mean() < 0.05  # linear, not quadratic, far out
    old = np.square(calibrate.BEFORE.smile(k, np.full(k.size, 30.0)))
    assert np.diff(old)[-1] / np.diff(old)[0] > 10  # the old line: quadratic


def test_the_skew_shrinks_with_time() -> None:
    s = SurfaceParameters()
    k = np.array([-0.1])
    ratios = [float(s.smile(k, np.array([d]))[0]) for d in (30.0, 90.0, 365.0, 730.0)]
    assert ratios == sorted(ratios, reverse=True) and ratios[-1] > 1


def test_the_2018_one_year_13_delta_put_is_where_a_real_chain_had_it() -> None:
    """Issue #18: on 2018-12-17 the modelled "13-delta" one-year SPY put was the 165 strike at 54% IV,
    11.36/11.49; a real chain had that delta near the 200-205 strikes, for about 6."""
    market = ModelledMarket(Calendars(), history_until=date(2018, 12, 31))
    moment = datetime.combine(date(2018, 12, 17), time(10, 30), tzinfo=NEW_YORK)
    chain = market.chain("SPY", moment)
    assert chain is not None
    days = (chain.expiry + 719163) - moment.date().toordinal()  # 1970-01-01 is ordinal 719163
    puts = (~chain.is_call) & (days > 300) & (days < 430)
    row = np.flatnonzero(puts)[np.argmin(np.abs(np.abs(chain.delta[puts]) - 0.13))]
    assert 185 <= chain.strike[row] <= 210
    assert 3.0 < (chain.bid[row] + chain.ask[row]) / 2 < 8.0
    assert chain.iv[row] < 0.35


def test_spreads_widen_with_vix_and_price_and_sit_on_the_tick() -> None:
    spreads = SpreadParameters()
    prices = np.array([0.5, 5.0, 50.0])
    calm, stressed = spreads.half_spread("SPXW", prices, 15.0), spreads.half_spread("SPXW", prices, 45.0)
    assert np.all(np.diff(calm) > 0) and np.all(stressed > calm)
    assert np.all(spreads.half_spread("QQQ", prices, 20.0) == spreads.half_spread("SPY", prices, 20.0))
    tick = np.array([0.05, 0.1, 0.1])
    bid, ask = spreads.quotes(prices, calm, tick)
    assert np.allclose(np.round(bid / tick) * tick, bid) and np.allclose(np.round(ask / tick) * tick, ask)
    assert np.all(ask - bid >= tick - 1e-12) and np.all(bid <= prices) and np.all(ask >= prices)


def test_model_mid_is_black76_at_the_model_iv(table: calibration_quotes.Observations) -> None:
    s = SurfaceParameters()
    one = table.take(np.arange(len(table)) == 0)
    iv = calibrate.model_iv(s, one)
    price = pricing.black76_price(one.forward, one.strike, one.t, iv, one.rate, one.is_call)
    assert calibrate.model_mid(s, one) == pytest.approx(price)


def test_the_modelled_chains_quote_the_fitted_spreads_and_the_broker_fills_at_them() -> None:
    """Each modelled quote is the model price ± the fitted half-spread, each side moved at most half a tick
    to the nearest one; the broker's quote for a contract is that bid and ask (a buy pays the ask)."""
    market = ModelledMarket(Calendars())
    moment = datetime(2018, 2, 6, 11, 0, tzinfo=NEW_YORK)  # VIX near 30
    for root in ("SPXW", "SPY", "ES"):
        chain = market.chain(root, moment)
        assert chain is not None
        rows = np.flatnonzero((chain.bid > 0.5) & (chain.bid < 50.0))
        assert rows.size > 20
        half = market.spreads.half_spread(root, chain.mid[rows], market.vix(moment))
        tick = np.array([option_tick(root, float(p)) for p in chain.mid[rows]])
        assert np.all(np.abs((chain.ask[rows] - chain.bid[rows]) / 2 - half) <= tick + 1e-9)
    chain = market.chain("SPXW", moment)
    assert chain is not None
    row = int(np.flatnonzero(chain.bid > 1.0)[0])
    snapshot = market.snapshot(moment, {"SPXW"})
    contract = m.option("SPXW", chain.expiry_date(row), float(chain.strike[row]),
                        Right.CALL if chain.is_call[row] else Right.PUT)  # fmt: skip
    quote = ReplayBroker(Settings(), 100_000.0).quote_from(snapshot)(contract)
    assert quote == (float(chain.bid[row]), float(chain.ask[row]))
