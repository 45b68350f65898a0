"""The modelled market over 1999-2021 (issue 17): the shipped histories, intraday paths from the market's law,
no hindsight, and the replay's answers to a window it cannot run."""

from __future__ import annotations

import math
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pytest

from core.calendar import Calendars
from core.settings import Settings
from replay import history, intraday
from replay.__main__ import main
from replay.engine import ReplayEngine
from replay.modelled import NEW_YORK, ModelledMarket
from tests.leandata import lean_data_dir

CALENDARS = Calendars()


@pytest.fixture(scope="module")
def market() -> ModelledMarket:
    return ModelledMarket(CALENDARS)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


# ---------------------------------------------------------------------------------------------- histories


def test_the_shipped_histories_are_the_shared_sources_written_again(tmp_path: Path) -> None:
    shared = lean_data_dir()
    if shared is None or not (shared.parent / "market-history").is_dir():
        pytest.skip("../shared/lean-data and ../shared/market-history are not here")
    history.write(shared.parent, tmp_path)
    for name in ("vix", "wti", "spy", "qqq", "iwm"):
        assert (tmp_path / f"{name}.csv").read_text() == (history.FOLDER / f"{name}.csv").read_text(), name


def test_the_histories_span_1999_to_2021_without_a_split_gap(market: ModelledMarket) -> None:
    """QQQ split 2-for-1 on 2000-03-20 and IWM on 2005-06-09: LEAN's raw bars halve there (QQQ 221.73 →
    ~111). Adjusted for splits only, no day moves more than a fifth; 2000-03-17 → 03-20 moved 110.87 → 106.81."""
    assert market.span() == (date(1999, 3, 10), date(2021, 3, 31))
    for name in ("qqq", "iwm", "spy"):
        h = history.load(name)
        next_day = np.array([(b - a).days <= 7 for a, b in zip(h.days, h.days[1:], strict=False)])
        worst = float(np.max(np.abs(np.diff(np.log(h.close)))[next_day]))
        assert worst < 0.2, (name, worst)
    qqq = history.load("qqq")
    assert qqq.close[qqq.index[date(2000, 3, 17)]] == pytest.approx(110.865)
    assert qqq.close[qqq.index[date(2000, 3, 20)]] == pytest.approx(106.81)
    wti = history.load("wti")
    assert wti.close[wti.index[date(2020, 4, 20)]] == pytest.approx(-36.98)  # kept: a real day


def test_qqqs_missing_years_have_no_chain_and_say_why(market: ModelledMarket) -> None:
    """LEAN's sample data has no QQQ bar from 2004-12-01 to 2011-03-22. No stand-in is drawn for those years
    (the NASDAQ Composite is another index): the IPMCC on QQQ refuses then, naming the gap."""
    moment = at(date(2008, 10, 10), 10)
    assert market.price("QQQ", moment) is None and market.chain("QQQ", moment) is None
    assert (
        market.why_no_chain("QQQ", moment)
        == "no QQQ bar on 2008-10-10 (the history has none between 2004-11-30 and 2011-03-23)"
    )
    assert any("QQQ" in note and "2004-11-30" in note for note in market.notes(date(2007, 1, 3), date(2021, 3, 31)))


def test_spy_times_ten_stands_in_for_the_index_after_2018_and_the_report_says_by_how_much(
    market: ModelledMarket,
) -> None:
    assert market.spx_stand_in == date(2019, 1, 2)
    spx, spy = market.paths["SPX"], market.paths["SPY"]
    day = date(2020, 3, 16)
    assert spx.close[spx.index[day]] == pytest.approx(10 * spy.close[spy.index[day]])
    assert spx.close[spx.index[date(2018, 12, 31)]] == pytest.approx(2506.85, abs=0.01)  # the index's own
    mean, worst = history.stand_in_difference()
    assert 0.0 < mean < 0.5 and worst < 3.0
    assert any("SPY × 10" in note for note in market.notes(date(2020, 1, 2), date(2020, 3, 31)))
    assert not any("SPY × 10" in note for note in market.notes(date(2008, 1, 2), date(2008, 12, 31)))


# ---------------------------------------------------------------------------------------------- paths


def test_a_bridge_meets_its_anchors_and_stays_in_the_days_range() -> None:
    """A day with open 100, high 102, low 99, close 101 over 390 minutes, high first at 11:00 (minute 90) and
    low at 14:00 (minute 270): the path starts at 100, is 102 at minute 90, 99 at minute 270, 101 at the
    close, and never leaves 99..102."""
    z = np.random.default_rng(1).standard_normal(390)
    path = intraday.ohlc_path(100.0, 102.0, 99.0, 101.0, 390, (True, 11.0, 14.0), z)
    assert len(path) == 391
    assert path[0] == pytest.approx(100.0) and path[-1] == pytest.approx(101.0)
    assert path[90] == pytest.approx(102.0) and path[270] == pytest.approx(99.0)
    assert path.max() <= 102.0 + 1e-9 and path.min() >= 99.0 - 1e-9


def test_prices_inside_a_day_move_like_a_random_walk_not_a_line(market: ModelledMarket) -> None:
    """Over 2018's sessions the minute changes of SPX between 10:00 and 15:00 have a deviation of the size the
    day's range implies (Parkinson: ln(H/L) / √(4 ln 2 · 390) a minute), and consecutive changes are nearly
    independent. On a straight line through the anchors consecutive changes are equal (correlation ~1) and
    their deviation tiny."""
    ratios: list[float] = []
    first: list[float] = []
    second: list[float] = []
    for day in market.sessions(date(2018, 1, 2), date(2018, 12, 31)):
        session = CALENDARS.equity.session(day)
        if session is None or session.early_close:
            continue
        minute = at(day, 10, 1) - at(day, 10)
        changes = np.diff(np.log([market.price("SPX", at(day, 10) + i * minute) or math.nan for i in range(301)]))
        bars = market.paths["SPX"]
        i = bars.index[day]
        expected = math.log(bars.high[i] / bars.low[i]) / math.sqrt(4 * math.log(2) * 390)
        ratios.append(float(np.std(changes)) / expected)
        first.extend(changes[:-1])
        second.extend(changes[1:])
    assert 0.6 < float(np.median(ratios)) < 1.5
    assert abs(float(np.corrcoef(first, second)[0, 1])) < 0.15


def minute_correlation(market: ModelledMarket, start: date, end: date) -> float:
    spx: list[float] = []
    vix: list[float] = []
    for day in market.sessions(start, end):
        moments = [at(day, 10, 0) + i * (at(day, 10, 5) - at(day, 10, 0)) for i in range(60)]
        s = np.log([market.price("SPX", m) or math.nan for m in moments])
        v = np.log([market.vix(m) for m in moments])
        spx.extend(np.diff(s))
        vix.extend(np.diff(v))
    return float(np.corrcoef(spx, vix)[0, 1])


def test_vix_moves_against_the_index_inside_the_day(market: ModelledMarket, tmp_path: Path) -> None:
    """Minute changes of VIX and SPX over 2018's first half correlate negatively (the spot-vol correlation,
    −0.73 by default). VIX drawn as a straight line from one close to the next did not move with SPX at all.
    The correlation is a parameter of the noise (the extremes still come at the index's opposite ones): at
    +0.73 the minute changes correlate far less negatively; outside −1..1 it is refused."""
    assert minute_correlation(market, date(2018, 1, 2), date(2018, 6, 29)) < -0.3
    positive = ModelledMarket(CALENDARS, 7, spot_vol_correlation=0.73)
    quarter = (date(2018, 1, 2), date(2018, 3, 29))
    assert minute_correlation(positive, *quarter) > minute_correlation(market, *quarter) + 0.3
    assert main(["--spot-vol-correlation", "2", "--out", str(tmp_path / "x"), "--quiet"]) == 2


def test_a_morning_vix_reads_the_days_open_not_a_share_of_its_close(market: ModelledMarket) -> None:
    """2018-02-05: VIX closed at 17.31 the Friday before and at 37.32 that day (high 38.80, low 16.80 by
    Cboe's file). A straight line from close to close read 20.4 at 10:30 whatever happened; now 09:30 reads
    the day's open, 18.44, and every minute stays inside the day's 16.80..38.80."""
    day = date(2018, 2, 5)
    assert market.vix(at(day, 9, 30)) == pytest.approx(18.44)
    assert market.vix(at(day, 16, 0)) == pytest.approx(37.32)
    minutes = [market.vix(at(day, 9, 30) + k * (at(day, 9, 31) - at(day, 9, 30))) for k in range(391)]
    assert min(minutes) >= 16.80 - 1e-9 and max(minutes) <= 38.80 + 1e-9
    assert min(minutes) == pytest.approx(16.80) and max(minutes) == pytest.approx(38.80)


def test_crude_below_zero_crashes_nothing_and_prices_no_option(market: ModelledMarket) -> None:
    """2020-04-20: WTI from 18.31 (Friday's close) to −36.98. The path starts at the previous close; from the
    first minute it is at or below zero the CL chain is gone for the day with the reason, USO (a fund) has no
    price then, and the next day's realised volatility leaves the negative close out and stays finite."""
    day = date(2020, 4, 20)
    assert market.price("CL", at(day, 9, 30)) == pytest.approx(18.31)
    assert market.price("CL", at(day, 16, 0)) == pytest.approx(-36.98)
    assert market.chain("CL", at(day, 16, 0)) is None
    why = market.why_no_chain("CL", at(day, 16, 0))
    assert why is not None and "no option is priced" in why
    assert market.price("USO", at(day, 16, 0)) is None
    snapshot = market.snapshot(at(day, 15, 0), {"CL", "USO"})
    assert "CL" not in snapshot.chains and "printed" in snapshot.missing["CL"]
    assert "no CL chain (CL printed" in snapshot.no_chain("CL")
    assert math.isfinite(market.realised_vol("CL", date(2020, 4, 22)))
    chain = market.chain("CL", at(date(2020, 4, 22), 10, 0))
    assert chain is not None and chain.strike.min() > 0  # the strikes listed near −36.98 are not quoted
    assert np.all(np.isfinite(chain.bid)) and np.all(np.isfinite(chain.ask)) and np.all(np.isfinite(chain.iv))


def test_an_option_class_exists_only_from_its_listing(market: ModelledMarket) -> None:
    """SPY options were listed on 2005-01-10; ETF weeklies on 2010-06-04; IWM has no bars before
    2000-05-26."""
    assert market.chain("SPY", at(date(2004, 12, 31), 10)) is None
    assert market.why_no_chain("SPY", at(date(2004, 12, 31), 10)) == "SPY options were first listed on 2005-01-10"
    spy = market.chain("SPY", at(date(2005, 1, 10), 10))
    assert spy is not None
    fridays = set(spy.expiries())
    assert date(2005, 1, 14) not in fridays and date(2005, 1, 21) in fridays  # monthly only, no weekly
    weekly = market.expiries("SPY", date(2010, 6, 7))
    assert date(2010, 6, 11) in weekly and date(2010, 6, 11) not in market.expiries("SPY", date(2010, 6, 3))
    assert market.chain("IWM", at(date(2000, 5, 25), 10)) is None


# ---------------------------------------------------------------------------------------------- hindsight


def test_no_decision_before_a_date_changes_when_the_histories_end_there() -> None:
    """The first quarter of 2018 run twice: with every history whole, and cut at 2018-02-15 as if the files
    ended there. Every decision and trade before 2018-02-15 is the same in both."""
    settings = Settings.from_parameters({})
    cut = date(2018, 2, 15)
    whole = ReplayEngine(settings, date(2018, 1, 2), date(2018, 3, 29), 100_000.0, seed=7)
    whole.run(progress=False)
    cut_market = ModelledMarket(Calendars(), 7, history_until=cut)
    part = ReplayEngine(settings, date(2018, 1, 2), date(2018, 3, 29), 100_000.0, seed=7, market=cut_market)
    part.run(progress=False)
    assert cut_market.span()[1] == cut and part.record.equity[-1][0] == cut
    before = at(cut, 0, 0)
    whole_decisions = [d for d in whole.record.decisions if d[0] < before]
    assert len(whole_decisions) > 30
    assert [e for e in part.record.equity if e[0] < cut] == [e for e in whole.record.equity if e[0] < cut]
    assert [d for d in part.record.decisions if d[0] < before] == whole_decisions
    assert [(t.time, t.structure.id, t.pnl) for t in part.record.trades if t.time < before] == [
        (t.time, t.structure.id, t.pnl) for t in whole.record.trades if t.time < before
    ]


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        ("2022-01-03", "2022-03-01", "histories run 1999-03-10 to 2021-03-31"),
        ("1998-01-02", "1998-06-30", "histories run 1999-03-10 to 2021-03-31"),
        ("2018-05-01", "2018-01-01", "--end 2018-01-01 is before --start 2018-05-01"),
    ],
)
def test_a_window_the_data_cannot_run_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], start: str, end: str, words: str
) -> None:
    out = tmp_path / "latest"
    assert main(["--start", start, "--end", end, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_failed_run_leaves_the_last_good_report_and_a_finished_one_replaces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "latest"
    out.mkdir()
    (out / "summary.json").write_text("the last good report")

    def broken(self: ReplayEngine, out: Path) -> None:
        out.mkdir(parents=True)
        (out / "summary.json").write_text("half")
        raise RuntimeError("stopped while writing")

    args = ["--start", "2018-01-02", "--end", "2018-01-05", "--out", str(out), "--quiet"]
    with monkeypatch.context() as patch:
        patch.setattr(ReplayEngine, "write", broken)
        with pytest.raises(RuntimeError):
            main(args)
    assert (out / "summary.json").read_text() == "the last good report"
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]  # nothing half-written left beside it
    assert main(args) == 0
    assert '"final_net_liq"' in (out / "summary.json").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["latest"]


def test_history_until_ends_the_run_where_the_histories_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cut"
    assert main(["--start", "2018-01-02", "--history-until", "2018-01-12", "--out", str(out), "--quiet"]) == 0
    assert '"end": "2018-01-12"' in (out / "summary.json").read_text()
    args = ["--start", "2018-01-02", "--end", "2018-01-31", "--history-until", "2018-01-12", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "beyond")]) == 2
    assert "histories run 1999-03-10 to 2018-01-12 (cut by --history-until 2018-01-12)" in capsys.readouterr().err
