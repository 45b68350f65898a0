"""replay/lean_source: snapshots from LEAN-format data (../shared/lean-data; skipped when absent)."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from core.calendar import Calendars
from core.model import Right
from replay.__main__ import main
from replay.lean_source import NEW_YORK, LeanSource
from tests.leandata import read_option_minute_quotes, read_universe, require_lean_data


@pytest.fixture(scope="module")
def source() -> LeanSource:
    return LeanSource(require_lean_data(), Calendars())


def test_sessions_are_the_days_with_data(source: LeanSource) -> None:
    assert source.sessions(date(2021, 1, 1), date(2021, 1, 10)) == [date(2021, 1, d) for d in (4, 5, 6, 7, 8)]


def test_spx_comes_from_the_last_closed_minute_bar_in_chicago_time(source: LeanSource) -> None:
    with zipfile.ZipFile(require_lean_data() / "index/usa/minute/spx/20210104_trade.zip") as z:
        rows = z.read(z.namelist()[0]).decode().splitlines()
    bar_0929_ct = next(r for r in rows if r.startswith(f"{(9 * 60 + 29) * 60_000},"))  # 10:29-10:30 New York
    at = datetime(2021, 1, 4, 10, 30, tzinfo=NEW_YORK)
    assert source.price("SPX", at) == float(bar_0929_ct.split(",")[4])
    assert source.snapshot(at, set()).session_open["SPX"] == float(rows[0].split(",")[1])


def test_without_index_data_spx_comes_from_spxw_parity(source: LeanSource) -> None:
    at = datetime(2021, 1, 8, 10, 30, tzinfo=NEW_YORK)
    rows = read_option_minute_quotes(require_lean_data() / "indexoption/usa/minute/spxw/20210108_quote_european.zip")
    mids = {(r[1], r[2]): 0.5 * (r[4] + r[5]) for r in rows if r[0] == 10 * 60 + 29 and r[3] == "20210108"}
    assert source.price("SPX", at) == pytest.approx(3800.0 + mids[("call", 3800.0)] - mids[("put", 3800.0)])
    assert any("parity" in note for note in source.price_notes)


def test_the_spxw_chain_has_quotes_and_model_deltas(source: LeanSource) -> None:
    chain = source.snapshot(datetime(2021, 1, 8, 10, 30, tzinfo=NEW_YORK), {"SPXW"}).chains["SPXW"]
    put = chain.find(date(2021, 1, 8), 3700.0, Right.PUT)
    assert put is not None and 0 < chain.bid[put] <= chain.ask[put]
    assert -0.05 < chain.delta[put] < 0  # far out of the money on its expiry day: the 0DTE test's 0.011
    call = chain.find(date(2021, 1, 8), 3800.0, Right.CALL)
    assert call is not None and 0.4 < chain.delta[call] < 0.7


def test_odd_files_are_reported_and_skipped(tmp_path: Path) -> None:
    data = require_lean_data()
    folder = tmp_path / "data"
    spxw = folder / "indexoption/usa/minute/spxw"
    spxw.mkdir(parents=True)
    good = (data / "indexoption/usa/minute/spxw/20210108_quote_european.zip").read_bytes()
    (spxw / "20210107_quote_european.zip").write_bytes(good[: len(good) // 2])  # truncated
    with zipfile.ZipFile(spxw / "20210106_quote_european.zip", "w") as z:
        z.writestr("20210106_spxw_minute_quote_european_call_38000000_20210106.csv", "")
    shutil.copy(data / "indexoption/usa/minute/spxw/20210104_trade_european.zip.zip", spxw)
    odd = LeanSource(folder, Calendars())
    assert odd.sessions(date(2021, 1, 6), date(2021, 1, 7)) == []
    assert odd.snapshot(datetime(2021, 1, 7, 10, 30, tzinfo=NEW_YORK), {"SPXW"}).chains == {}
    text = "\n".join(odd.problems)
    assert "20210107_quote_european.zip: cannot be read" in text
    assert "is empty, skipped" in text and "named *.zip.zip, skipped" in text


def replay_sample(out: Path, start: str, end: str, *extra: str) -> tuple[dict[str, Any], str]:
    """`python -m replay --source lean` over the sample: its summary.json and report.md, every invariant 0."""
    args = ["--source", "lean", "--data", str(require_lean_data()), "--start", start, "--end", end, *extra]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["source"] == "lean" and all(n == 0 for n in summary["invariants"].values())
    return summary, (out / "report.md").read_text()


def test_replaying_the_sample_week_reports_what_it_could_not_trade(tmp_path: Path) -> None:
    summary, report = replay_sample(tmp_path / "lean", "2021-01-04", "2021-01-08")
    assert "zero_dte: no VIX" in report and "*.zip.zip" in report
    coverage = summary["data_coverage"]
    assert coverage["vix_steps"] == 0 and coverage["steps"] > 0  # why nothing traded: the sample has no VIX
    assert 0 < coverage["roots"]["SPXW"]["chain_steps"] <= coverage["steps"]
    assert "| SPXW | " in report and "At " in report


def test_replaying_the_es_days_reports_what_the_data_served(tmp_path: Path) -> None:
    summary, report = replay_sample(tmp_path / "es", "2020-01-05", "2020-01-07")
    es = summary["data_coverage"]["roots"]["ES"]
    assert es["chain_steps"] == es["price_steps"] == summary["data_coverage"]["steps"] > 0
    assert es["most_contracts"] > 80
    assert "leap_ladder: no VIX" in report  # Monday the 6th: the ladder's day, and no VIX to size it
    assert "ES options from the previous session's universe file" in report  # the 7th


def test_a_missing_data_folder_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--source", "lean", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_es_is_the_front_quarterly_in_utc_and_its_options_are_black76_priced(source: LeanSource) -> None:
    at = datetime(2020, 1, 6, 10, 15, tzinfo=NEW_YORK)  # 15:15 UTC
    with zipfile.ZipFile(require_lean_data() / "future/cme/minute/es/20200106_trade.zip") as z:
        rows = z.read("20200106_es_minute_trade_202003.csv").decode().splitlines()
    bar = next(r for r in rows if r.startswith(f"{(15 * 60 + 14) * 60_000},"))  # 15:14-15:15 UTC
    snap = source.snapshot(at, {"ES"})
    assert snap.prices["ES"] == float(bar.split(",")[4]) == snap.prices["MES"]
    chain = snap.chains["ES"]
    assert chain.underlying_price == snap.prices["ES"] and set(chain.expiries()) == {date(2020, 3, 20)}
    puts = [i for i in range(len(chain.strike)) if not chain.is_call[i] and chain.flags[i] == 0]
    assert len(puts) > 30 and all(-1 < chain.delta[i] < 0 for i in puts)  # one-sided quotes are flagged, not priced
    # Sunday's file is no session; the 7th runs on the 6th's universe file (next test).
    assert source.sessions(date(2020, 1, 4), date(2020, 1, 7)) == [date(2020, 1, 6), date(2020, 1, 7)]


def _zip(path: Path, member: str, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, text)


def test_vix_is_read_where_the_folder_has_it(tmp_path: Path) -> None:
    # LEAN's index layout, written here because the sample has no VIX: daily bars and one day of minutes.
    _zip(
        tmp_path / "index/usa/daily/vix.zip",
        "vix.csv",
        "20210104 00:00,22,27,21,26.97,0\n20210105 00:00,27,28,24,25.34,0\n",
    )
    minutes = (
        f"{8 * 3_600_000 + 30 * 60_000},25.3,25.6,25.1,25.5,0\n{8 * 3_600_000 + 31 * 60_000},25.5,25.9,25.4,25.8,0\n"
    )
    _zip(tmp_path / "index/usa/minute/vix/20210105_trade.zip", "20210105_vix_minute_trade.csv", minutes)
    folder = LeanSource(tmp_path, Calendars())
    assert folder.vix(datetime(2021, 1, 5, 9, 31, tzinfo=NEW_YORK)) == 25.5  # 08:30 CT bar closed at 08:31 CT
    assert folder.vix(datetime(2021, 1, 5, 9, 45, tzinfo=NEW_YORK)) == 25.8
    assert folder.vix(datetime(2021, 1, 6, 10, 0, tzinfo=NEW_YORK)) == 25.34  # no minutes: the previous close
    assert any("previous daily close" in note for note in folder.price_notes)
    assert folder.vix(datetime(2021, 1, 4, 10, 0, tzinfo=NEW_YORK)) is None  # nothing before the first close


# ------------------------------------------------------------------ equities and their options


def test_spy_prices_come_from_daily_closes_never_from_the_day_itself(source: LeanSource) -> None:
    # equity/usa/daily/spy.zip, prices x10000: 2021-03-30 closed at 394.73 and 2021-03-31 (the last row) at 396.33.
    assert source.price("SPY", datetime(2021, 3, 31, 10, 0, tzinfo=NEW_YORK)) == pytest.approx(394.73)
    assert source.price("SPY", datetime(2021, 3, 31, 16, 0, tzinfo=NEW_YORK)) == pytest.approx(396.33)
    assert source.price("SPY", datetime(2021, 4, 1, 10, 0, tzinfo=NEW_YORK)) == pytest.approx(396.33)
    assert source.price("SPY", datetime(2021, 4, 5, 10, 0, tzinfo=NEW_YORK)) is None  # two sessions stale: nothing
    bars = source.snapshot(datetime(2021, 3, 31, 10, 0, tzinfo=NEW_YORK), set()).daily["SPY"]
    assert bars.day[-1] == date(2021, 3, 30) and bars.close[-1] == pytest.approx(394.73)


def test_spy_options_from_minute_quotes_with_the_price_from_parity(source: LeanSource) -> None:
    at = datetime(2023, 8, 3, 10, 30, tzinfo=NEW_YORK)
    rows = read_option_minute_quotes(require_lean_data() / "option/usa/minute/spy/20230803_quote_american.zip")
    mids = {(r[1], r[2]): 0.5 * (r[4] + r[5]) for r in rows if r[0] == 10 * 60 + 29}
    price = source.price("SPY", at)
    assert price is not None and abs(price - (430.0 + mids[("call", 430.0)] - mids[("put", 430.0)])) < 0.5
    assert 440 < price < 460 and any("parity" in note for note in source.price_notes)
    chain = source.snapshot(at, {"SPY"}).chains["SPY"]
    call = chain.find(date(2023, 9, 1), 430.0, Right.CALL)
    assert call is not None and 0.5 * (chain.bid[call] + chain.ask[call]) == pytest.approx(mids[("call", 430.0)])
    assert 0.6 < chain.delta[call] < 0.95


def test_spy_chain_between_minute_files_is_the_previous_sessions_universe(source: LeanSource) -> None:
    at = datetime(2024, 1, 8, 10, 0, tzinfo=NEW_YORK)
    chain = source.snapshot(at, {"SPY"}).chains["SPY"]
    assert chain.underlying_price == pytest.approx(467.92)  # 2024-01-05's close, not the 8th's 474.60
    universe = read_universe(require_lean_data() / "option/usa/universes/spy/20240105.csv")
    expiry, strike, right, close, _, _ = next(r for r in universe if r[0] >= "20240108")
    row = chain.find(
        date(int(expiry[:4]), int(expiry[4:6]), int(expiry[6:])), strike, Right.CALL if right == "C" else Right.PUT
    )
    assert row is not None and chain.bid[row] == chain.ask[row] == pytest.approx(close)
    assert any("universe file" in note for note in source.price_notes)
    assert date(2024, 1, 8) in source.sessions(date(2024, 1, 1), date(2024, 1, 12))


def test_es_daily_bars_are_the_front_contracts(source: LeanSource) -> None:
    # future/cme/daily/es_trade.zip: the March 2020 contract's bars (plain prices) before 2020-01-06.
    bars = source.snapshot(datetime(2020, 1, 6, 10, 0, tzinfo=NEW_YORK), {"ES"}).daily["ES"]
    assert bars.day == (date(2020, 1, 2), date(2020, 1, 3))
    assert bars.close[-1] == pytest.approx(3235.5) and bars.high[0] == pytest.approx(3261.75)


def test_es_on_a_day_without_minute_data_is_the_previous_sessions_universe(source: LeanSource) -> None:
    at = datetime(2020, 1, 7, 10, 0, tzinfo=NEW_YORK)  # no ES minute files that day
    snap = source.snapshot(at, {"ES"})
    universe = read_universe(require_lean_data() / "futureoption/cme/universes/es/202003/20200106.csv")
    priced = [r for r in universe if r[3] > 0]
    chain = snap.chains["ES"]
    assert snap.prices["ES"] == chain.underlying_price == pytest.approx(3233.0)  # the file's underlying close
    assert len(chain.strike) == len(priced) > 80
    expiry, strike, right, close, _, _ = priced[len(priced) // 2]
    row = chain.find(
        date(int(expiry[:4]), int(expiry[4:6]), int(expiry[6:])), strike, Right.CALL if right == "C" else Right.PUT
    )
    assert row is not None and chain.bid[row] == chain.ask[row] == pytest.approx(close)
    assert "ES options from the previous session's universe file (bid = ask = that close)" in source.price_notes


def test_spxw_from_a_universe_file_never_offers_the_days_own_expiry(tmp_path: Path) -> None:
    """A 0DTE on yesterday's closes would trade on stale prices: the universe route leaves today's expiry out
    (the 0DTE then finds no expiry and says so), and keeps the later ones for an LT112 on SPX."""
    universes = tmp_path / "indexoption" / "usa" / "universes" / "spxw"
    universes.mkdir(parents=True)
    (universes / "20210107.csv").write_text(
        "#expiry,strike,right,open,high,low,close,volume,open_interest,implied_volatility,delta,gamma,vega,theta,rho\n"
        ",,,3800,3810,3790,3803.79,0,,,,,,,\n"
        "20210108,3800,C,0,0,0,12.5,0,,,,,,,\n"
        "20210108,3800,P,0,0,0,9.5,0,,,,,,,\n"
        "20210430,3500,P,0,0,0,71.2,0,,,,,,,\n"
        "20210430,3600,P,0,0,0,0,0,,,,,,,\n"
    )
    lean = LeanSource(tmp_path, Calendars())
    assert lean.sessions(date(2021, 1, 7), date(2021, 1, 8)) == [date(2021, 1, 8)]
    snap = lean.snapshot(datetime(2021, 1, 8, 10, 30, tzinfo=NEW_YORK), {"SPXW"})
    chain = snap.chains["SPXW"]
    assert chain.underlying_price == pytest.approx(3803.79) == snap.prices["SPX"]
    assert set(chain.expiries()) == {date(2021, 4, 30)} and list(chain.strike) == [3500.0]  # no zero close
    assert chain.bid[0] == chain.ask[0] == pytest.approx(71.2)
    assert any("not today's expiry" in note for note in lean.price_notes)


def test_the_folders_market_hours_close_what_they_close(tmp_path: Path) -> None:
    data = require_lean_data()
    folder = tmp_path / "lean"
    shutil.copytree(data / "indexoption" / "usa" / "minute" / "spxw", folder / "indexoption/usa/minute/spxw")
    hours = json.loads((data / "market-hours" / "market-hours-database.json").read_text())
    equity = hours["entries"]["Equity-usa-[*]"]
    equity["holidays"].append("1/6/2021")  # a made-up holiday and early close, to see them applied
    equity["earlyCloses"]["1/7/2021"] = "13:00:00"
    equity["holidays"].remove("1/1/2021")  # and a session core/calendar does not have
    (folder / "market-hours").mkdir()
    (folder / "market-hours" / "market-hours-database.json").write_text(json.dumps(hours))
    lean = LeanSource(folder, Calendars())
    days = lean.sessions(date(2021, 1, 4), date(2021, 1, 8))
    assert date(2021, 1, 6) not in days and {date(2021, 1, 4), date(2021, 1, 7), date(2021, 1, 8)} <= set(days)
    assert not lean.calendars.equity.is_session(date(2021, 1, 6))
    assert date(2021, 1, 7) in lean.calendars.equity.early_closes(date(2021, 1, 7), date(2021, 1, 7))
    notes = "\n".join(sorted(lean.price_notes))
    assert "2021-01-06 is a holiday in the folder's market hours" in notes
    assert "2021-01-07 closes at 13:00 ET" in notes
    assert lean.sessions(date(2020, 12, 31), date(2021, 1, 4))[0] != date(2021, 1, 1)  # never opened
    assert "2021-01-01 has a session in the folder's market hours, none in core/calendar: kept closed" in "\n".join(
        lean.price_notes
    )


def test_the_samples_market_hours_agree_with_the_calendar(source: LeanSource) -> None:
    source.sessions(date(2021, 1, 4), date(2021, 1, 8))
    assert not [n for n in source.price_notes if "market hours" in n or "market-hours" in n]


def test_a_stand_in_vix_lets_the_rules_that_need_one_say_what_else_they_miss(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, report = replay_sample(tmp_path / "v", "2021-01-04", "2021-01-08", "--vix", "21.6")
    assert summary["data_coverage"]["vix_steps"] == summary["data_coverage"]["steps"]
    assert "VIX 21.6 where the folder has none (--vix, a stand-in)" in summary["price_notes"]
    assert "zero_dte: no VIX" not in report and "daily bars for the ATR" in report  # the next thing it lacks
    args = ["--source", "lean", "--data", str(require_lean_data()), "--vix", "0", "--out", str(tmp_path / "w")]
    assert main(args) == 2
    assert "--vix 0: a VIX level is between 1 and 150" in capsys.readouterr().err
