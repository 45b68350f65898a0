"""replay/statistics.py against figures worked out by hand, and the report's statistics, benchmark and years."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from core.calendar import NEW_YORK, Calendars
from deploy.bundle import ROOT, modules_of
from replay.__main__ import main
from replay.modelled import ModelledMarket
from replay.report import cumulative_pnl_by_strategy
from replay.statistics import benchmark, run_statistics, years
from tests.test_architecture import imported_roots

CAPITAL = 100_000.0
# Thursday to the next Wednesday: the weekend makes calendar days differ from sessions.
FIVE_DAYS = [
    (date(2021, 3, 4), 110_000.0),
    (date(2021, 3, 5), 99_000.0),
    (date(2021, 3, 8), 108_900.0),
    (date(2021, 3, 9), 114_345.0),
    (date(2021, 3, 10), 91_476.0),
]
FOUR_DECIMALS = 0.6e-4  # the summary keeps fractions and ratios to 4 decimals, percent and USD to 2
TWO_DECIMALS = 0.6e-2


@dataclass(frozen=True)
class Trade:
    """A closed trade as replay/statistics reads one (core.pipeline.ClosedTrade has more)."""

    pnl: float
    time: datetime
    strategy: str = "zero_dte"


def trade(pnl: float, day: date, hour: int = 15, strategy: str = "zero_dte") -> Trade:
    return Trade(pnl, datetime(day.year, day.month, day.day, hour, tzinfo=NEW_YORK), strategy)


def test_the_statistics_of_a_five_day_series_worked_by_hand() -> None:
    """Capital 100,000, then closes 110,000, 99,000, 108,900, 114,345, 91,476: daily returns
    r = +10%, -10%, +10%, +5%, -20% (the first over the capital).

    - cagr = (91,476 / 100,000) ** (252 / 5) - 1 = 0.91476 ** 50.4 - 1; ln 0.91476 = -0.0890935, × 50.4 =
      -4.490313, e^that = 0.011222: cagr = -0.98878.
    - mean r = -0.05 / 5 = -0.01; deviations 0.11, -0.09, 0.11, 0.06, -0.19; squares sum to 0.072; the sample
      variance is 0.072 / 4 = 0.018. volatility = √0.018 × √252 = √4.536 = 2.12979.
    - sharpe = -0.01 / √0.018 × √252 = -0.01 × √14,000 = -1.18322.
    - sortino: the losing days' squares are 0.01 and 0.04, over all 5 days 0.01, root 0.1; downside risk
      0.1 × √252; sortino = -0.01 × 252 / (0.1 × √252) = -0.1 × √252 = -1.58745.
    - max drawdown: 110,000 → 99,000 is 10%; 114,345 → 91,476 is 20% (91,476 / 114,345 = 0.8): 20%.
      calmar = -0.98878 / 0.20 = -4.9439.
    - longest drawdown: from the peak on Thu 03-04 until 114,345 on Tue 03-09 passes it: 5 calendar days
      (3 sessions); the 20% one runs Tue to Wed, 1 day, unrecovered.
    - worst day -20%.
    Trades +300, -100, +500, -200: profit factor 800 / 300 = 2.6667; expectancy 500 / 4 = 125.
    """
    day = date(2021, 3, 5)
    trades = [trade(300.0, day), trade(-100.0, day), trade(500.0, day), trade(-200.0, day)]
    figures = run_statistics(FIVE_DAYS, CAPITAL, trades)
    assert figures["cagr"] == pytest.approx(-0.98878, abs=FOUR_DECIMALS)
    assert figures["volatility"] == pytest.approx(2.12979, abs=FOUR_DECIMALS)
    assert figures["sharpe"] == pytest.approx(-1.18322, abs=FOUR_DECIMALS)
    assert figures["sortino"] == pytest.approx(-1.58745, abs=FOUR_DECIMALS)
    assert figures["calmar"] == pytest.approx(-4.9439, abs=FOUR_DECIMALS)
    assert figures["max_drawdown_pct"] == pytest.approx(20.0, abs=TWO_DECIMALS)
    assert figures["max_drawdown_days"] == 5
    assert figures["worst_day_pct"] == pytest.approx(-20.0, abs=TWO_DECIMALS)
    assert figures["profit_factor"] == pytest.approx(8 / 3, abs=FOUR_DECIMALS)
    assert figures["expectancy"] == pytest.approx(125.0, abs=TWO_DECIMALS)


def test_a_drawdown_from_the_capital_never_recovered_runs_to_the_last_session() -> None:
    """Capital 100,000 (a peak dated on the first session, Fri 2021-03-05), then 90,000 and 95,000 on
    Wed 03-10: under water from 03-05 to the end, 5 calendar days; drawdown 10% (the capital is the peak),
    worst day -10%."""
    equity = [(date(2021, 3, 5), 90_000.0), (date(2021, 3, 10), 95_000.0)]
    figures = run_statistics(equity, CAPITAL, [])
    assert figures["max_drawdown_days"] == 5
    assert figures["max_drawdown_pct"] == pytest.approx(10.0, abs=TWO_DECIMALS)
    assert figures["worst_day_pct"] == pytest.approx(-10.0, abs=TWO_DECIMALS)


def test_undefined_figures_are_null_never_nan() -> None:
    """No session: nothing is defined. One session: no annualised figure or ratio (one return). Net liq
    that never moves: no deviation, so no Sharpe, Sortino or Calmar, volatility 0. No trade: no profit factor
    or expectancy; only winning trades: no profit factor (nothing to divide by), an expectancy."""
    empty = run_statistics([], CAPITAL, [])
    assert set(empty.values()) == {None}
    one = run_statistics(FIVE_DAYS[:1], CAPITAL, [])
    assert [one[k] for k in ("cagr", "volatility", "sharpe", "sortino", "calmar")] == [None] * 5
    assert one["worst_day_pct"] == pytest.approx(10.0, abs=TWO_DECIMALS) and one["max_drawdown_pct"] == 0.0
    flat = [(day, CAPITAL) for day, _ in FIVE_DAYS]
    still = run_statistics(flat, CAPITAL, [trade(50.0, date(2021, 3, 5)), trade(150.0, date(2021, 3, 8))])
    assert still["sharpe"] is None and still["sortino"] is None and still["calmar"] is None
    assert still["volatility"] == 0.0 and still["cagr"] == 0.0 and still["max_drawdown_days"] == 0
    assert still["profit_factor"] is None and still["expectancy"] == pytest.approx(100.0)
    no_closes = benchmark([], [day for day, _ in FIVE_DAYS])
    for written in (empty, one, still, no_closes, benchmark(None, [])):
        json.dumps(written, allow_nan=False)  # raises on NaN or infinity
        assert not any(isinstance(v, float) and not math.isfinite(v) for v in written.values())


def test_the_years_add_up_to_the_run() -> None:
    """Capital 100,000; 2020-12-30 101,000, 12-31 99,990; 2021-01-04 102,000, 01-05 96,900.
    2020: P&L 99,990 - 100,000 = -10; drawdown 101,000 → 99,990 = 1%. 2021: P&L 96,900 - 99,990 = -3,090,
    from the year's opening 99,990 up to 102,000 and down to 96,900: 5,100 / 102,000 = 5%. Trades: two closed
    in 2020 (one at 19:00 New York on New Year's Eve, already 2021 in UTC), three in 2021."""
    equity = [
        (date(2020, 12, 30), 101_000.0),
        (date(2020, 12, 31), 99_990.0),
        (date(2021, 1, 4), 102_000.0),
        (date(2021, 1, 5), 96_900.0),
    ]
    trades = [
        trade(10.0, date(2020, 12, 30)),
        trade(-5.0, date(2020, 12, 31), hour=19),
        trade(20.0, date(2021, 1, 4)),
        trade(-30.0, date(2021, 1, 5)),
        trade(1.0, date(2021, 1, 5)),
    ]
    table = years(equity, CAPITAL, trades)
    assert list(table) == ["2020", "2021"]
    assert table["2020"] == {"pnl": -10.0, "max_drawdown_pct": pytest.approx(1.0, abs=TWO_DECIMALS), "trades": 2}
    assert table["2021"] == {"pnl": -3_090.0, "max_drawdown_pct": pytest.approx(5.0, abs=TWO_DECIMALS), "trades": 3}
    assert sum(float(row["pnl"] or 0.0) for row in table.values()) == pytest.approx(equity[-1][1] - CAPITAL)
    assert sum(int(row["trades"] or 0) for row in table.values()) == len(trades)


def test_the_benchmark_buys_at_the_first_session_close_and_holds_on_the_runs_sessions() -> None:
    """Closes 100, 110, 99, 108.9 on the run's four sessions, and 500 on a day that is not one of them
    (ignored). Returns +10%, -10%, +10%: max drawdown 110 → 99 = 10%; cagr = 1.089 ** (252 / 3) - 1 =
    1.089 ** 84 - 1 (ln 1.089 = 0.0852598, × 84 = 7.161827, e^that = 1,289.264): 1,288.264; mean 0.1 / 3,
    deviations 0.0667, -0.1333, 0.0667, squares sum 0.0266667, sample variance 0.0133333, deviation 0.1154701;
    sharpe = 0.0333333 / 0.1154701 × √252 = 4.58258."""
    sessions = [date(2021, 3, 1), date(2021, 3, 2), date(2021, 3, 3), date(2021, 3, 4)]
    closes = [*zip(sessions, [100.0, 110.0, 99.0, 108.9], strict=True), (date(2021, 3, 6), 500.0)]  # 03-06: a Saturday
    spy = benchmark(sorted(closes), sessions)
    assert spy["name"] == "SPY buy and hold" and spy["why"] is None
    assert "price only" in str(spy["prices"])
    assert spy["max_drawdown_pct"] == pytest.approx(10.0, abs=TWO_DECIMALS)
    assert spy["cagr"] == pytest.approx(1288.264, abs=1e-3)
    assert spy["sharpe"] == pytest.approx(4.58258, abs=FOUR_DECIMALS)


def test_a_market_without_benchmark_closes_gets_a_null_benchmark_that_says_why() -> None:
    spy = benchmark(None, [date(2021, 3, 1), date(2021, 3, 2)])
    assert (spy["cagr"], spy["max_drawdown_pct"], spy["sharpe"]) == (None, None, None)
    assert isinstance(spy["why"], str) and "no SPY" in spy["why"]


def test_the_modelled_market_gives_spys_closes_on_its_own_sessions() -> None:
    """The modelled SPY is the fund's own price (replay/history): it closed 268.77 on 2018-01-02 and 249.92 on
    December 31 (both public record)."""
    market = ModelledMarket(Calendars())
    closes = market.benchmark_closes(date(2018, 1, 1), date(2018, 12, 31))
    assert closes is not None
    assert [day for day, _ in closes] == market.sessions(date(2018, 1, 1), date(2018, 12, 31))
    (first, bought), (last, sold) = closes[0], closes[-1]
    assert (first, last) == (date(2018, 1, 2), date(2018, 12, 31))
    assert bought == pytest.approx(268.77, abs=1e-3) and sold == pytest.approx(249.92, abs=1e-3)


def test_a_short_replay_writes_the_statistics_the_benchmark_the_years_and_their_tables(tmp_path: Path) -> None:
    """April 2018 through the CLI: summary.json has the three new keys with every figure (the benchmark's
    too: the modelled market has SPY), the years add up to the run and its trades.csv, and report.md tables
    them. SPY: 257.47 on April 2, 264.51 on April 30, so the benchmark gained. (January 2018 served until
    the surface was calibrated on real quotes: at VIX 9-11 it sells nothing from a flat start that month.
    At 150,000: a ladder rung's stress loss, its risk per trade, is over 2% of 100,000, and at 100,000 the
    month opens nothing.)"""
    out = tmp_path / "april"
    argv = ["--start", "2018-04-02", "--end", "2018-04-30", "--capital", "150000", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    statistics = summary["statistics"]
    assert set(statistics) == {
        "cagr",
        "volatility",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown_pct",
        "max_drawdown_days",
        "worst_day_pct",
        "profit_factor",
        "expectancy",
    }
    assert all(statistics[k] is not None for k in ("cagr", "volatility", "sharpe", "max_drawdown_pct"))
    spy = summary["benchmark"]
    assert spy["why"] is None and spy["name"] == "SPY buy and hold"
    assert spy["cagr"] > 0 and spy["max_drawdown_pct"] >= 0 and spy["sharpe"] is not None
    assert list(summary["years"]) == ["2018"]
    year = summary["years"]["2018"]
    assert year["pnl"] == pytest.approx(summary["final_net_liq"] - summary["capital"], abs=0.01)
    with (out / "trades.csv").open() as f:
        assert year["trades"] == len(list(csv.DictReader(f))) > 0
    report = (out / "report.md").read_text()
    assert "## Statistics" in report and "| | this run | SPY buy and hold |" in report
    assert "## Years" in report and "| year | P&L | max drawdown, % | trades closed |" in report
    assert f"| 2018 | {year['pnl']:,.2f} |" in report
    assert "before fees" in report and "price only" in report
    for chart in ("pnl_cumulative_by_strategy.png", "buying_power.png"):
        assert (out / chart).stat().st_size > 1000


def test_the_cumulative_chart_has_one_line_per_strategy_from_zero_to_the_last_session() -> None:
    """Sessions 2021-03-01 to 03-05. lt112 closes +200 on 03-02 and -50 on 03-04: 0, 200, 150, held to 03-05.
    zero_dte closes -30 on 03-03 (listed first, read in time order): 0, -30, held to 03-05."""
    trades = [
        trade(-30.0, date(2021, 3, 3)),
        trade(-50.0, date(2021, 3, 4), strategy="lt112"),
        trade(200.0, date(2021, 3, 2), strategy="lt112"),
    ]
    lines = cumulative_pnl_by_strategy(trades, date(2021, 3, 1), date(2021, 3, 5))
    assert list(lines) == ["lt112", "zero_dte"]
    days = [date(2021, 3, d) for d in (1, 2, 4, 5)]
    assert lines["lt112"] == (days, [0.0, 200.0, 150.0, 150.0])
    assert lines["zero_dte"] == ([date(2021, 3, d) for d in (1, 3, 5)], [0.0, -30.0, -30.0])


def test_empyrical_stays_out_of_what_lean_runs() -> None:
    """empyrical-reloaded is a development-only package (requirements-dev.txt): nothing the cloud bundle
    ships may import it, or the algorithm would fail to start in LEAN."""
    shipped = [ROOT / "main.py", *(p for p in modules_of(ROOT / "main.py").values() if p.suffix == ".py")]
    assert len(shipped) > 10
    for path in shipped:
        assert "empyrical" not in imported_roots(path), path
