"""The daily histories the modelled market is built on, shipped in `replay/history/` so that the replay runs
from a fresh clone (provenance in `replay/history/README.md`):

- `vix.csv`: Cboe's VIX daily open, high, low and close;
- `wti.csv`: EIA's WTI spot price (Cushing), closes only; negative on 2020-04-20 (−36.98);
- `spy.csv`, `qqq.csv`, `iwm.csv`: the ETFs' daily bars from LEAN's sample data, adjusted for splits (QQQ's
  2-for-1 of 2000-03-20, IWM's of 2005-06-09) and not for dividends: the price an option on the fund was
  struck against, which drops by the dividend on each ex-date as the real fund's did.

The S&P 500 index itself comes from the `arch` package (1999-01-04 to 2018-12-31); after it SPY × 10 stands
in (`sp500`), and `STAND_IN_NOTE` says by how much the two differ where both exist.

`python -m replay.history --write ../shared` writes the copies again from the shared folders (`../shared/
market-history` and `../shared/lean-data`); a test checks the shipped files against them when present.
`until` cuts every history at a date, as if the files ended there (`python -m replay --history-until`).
"""

from __future__ import annotations

import argparse
import functools
import io
import itertools
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from core.model import FloatArray
from replay.lean_files import ymd

FOLDER = Path(__file__).with_name("history")
FIRST = date(1998, 1, 2)  # the copies keep what the replay's calendar can reach (core/calendar.FIRST_YEAR)
LAST = date(2021, 3, 31)  # the ETF bars end here, and with them the modelled market
ETFS = ("spy", "qqq", "iwm")
SPX_PER_SPY = 10.0


class HistoryError(ValueError):
    pass


@dataclass
class DailyHistory:
    """Daily open, high, low and close of one series, oldest first, indexed by session date. A close-only
    series (WTI) has all four equal."""

    days: list[date]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    index: dict[date, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {d: i for i, d in enumerate(self.days)}

    def until(self, last: date | None) -> DailyHistory:
        """The same history as if its file ended on `last`."""
        if last is None:
            return self
        n = sum(1 for d in self.days if d <= last)
        return DailyHistory(self.days[:n], self.open[:n], self.high[:n], self.low[:n], self.close[:n])

    def scaled(self, factor: float) -> DailyHistory:
        return DailyHistory(
            list(self.days), self.open * factor, self.high * factor, self.low * factor, self.close * factor
        )


def read_csv(text: str, name: str) -> DailyHistory:
    """`date,open,high,low,close` (or `date,close`) rows after a header line."""
    days: list[date] = []
    rows: list[list[float]] = []
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(",")
        try:
            days.append(date.fromisoformat(parts[0]))
            values = [float(p) for p in parts[1:]]
        except ValueError:
            raise HistoryError(f"{name} line {number}: '{line}' is not date,prices") from None
        rows.append(values * 4 if len(values) == 1 else values)
    if any(len(r) != 4 for r in rows):
        raise HistoryError(f"{name}: every row needs one close or open,high,low,close")
    if any(b <= a for a, b in itertools.pairwise(days)):
        raise HistoryError(f"{name}: dates are not strictly increasing")
    a = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return DailyHistory(days, a[:, 0], a[:, 1], a[:, 2], a[:, 3])


def load(name: str, until: date | None = None) -> DailyHistory:
    """One shipped history (`vix`, `wti`, `spy`, `qqq`, `iwm`), cut at `until`."""
    return _whole(name).until(until)


@functools.cache
def _whole(name: str) -> DailyHistory:
    """A shipped file, read once per process (nothing writes into a history's arrays)."""
    path = FOLDER / f"{name}.csv"
    return read_csv(path.read_text(), path.name)


@functools.cache
def _sp500_index() -> DailyHistory:
    import arch.data.sp500

    frame = arch.data.sp500.load()
    return DailyHistory(
        [ts.date() for ts in frame.index],
        frame["Open"].to_numpy(dtype=np.float64),
        frame["High"].to_numpy(dtype=np.float64),
        frame["Low"].to_numpy(dtype=np.float64),
        frame["Close"].to_numpy(dtype=np.float64),
    )


def sp500(until: date | None = None) -> tuple[DailyHistory, date]:
    """The S&P 500 index: `arch`'s real index bars, then SPY × 10 after they end. Also the first day SPY
    stands in."""
    index = _sp500_index()
    spy = load("spy").scaled(SPX_PER_SPY)
    last = index.days[-1]
    after = [i for i, d in enumerate(spy.days) if d > last]
    before = [i for i, d in enumerate(spy.days) if d < index.days[0]]

    def pick(ours: FloatArray, theirs: FloatArray) -> FloatArray:
        return np.concatenate([theirs[before], ours, theirs[after]])

    joined = DailyHistory(
        [spy.days[i] for i in before] + index.days + [spy.days[i] for i in after],
        pick(index.open, spy.open),
        pick(index.high, spy.high),
        pick(index.low, spy.low),
        pick(index.close, spy.close),
    )
    stand_in = spy.days[after[0]] if after else date.max
    return joined.until(until), stand_in


def stand_in_difference(until: date | None = None) -> tuple[float, float]:
    """(mean, largest) |SPY × 10 / S&P 500 − 1| in % over the closes both have: what the stand-in costs."""
    index = _sp500_index()
    spy = load("spy", until)
    closes = dict(zip(index.days, index.close, strict=True))
    gaps = [abs(SPX_PER_SPY * c / closes[d] - 1.0) for d, c in zip(spy.days, spy.close, strict=True) if d in closes]
    if not gaps:
        return 0.0, 0.0
    return 100.0 * float(np.mean(gaps)), 100.0 * float(np.max(gaps))


# ---------------------------------------------------------------------------------- writing the copies


def _split_factors(factor_text: str) -> list[tuple[date, float]]:
    """(row date, split factor) of a LEAN factor file (`yyyymmdd,price factor,split factor,reference`)."""
    out = []
    for line in factor_text.splitlines():
        if line.strip():
            parts = line.split(",")
            out.append((ymd(parts[0]), float(parts[2])))
    return out


def etf_rows(zip_bytes: bytes, factor_text: str) -> list[str]:
    """LEAN daily bars (`yyyymmdd 00:00,open,high,low,close,volume`, prices × 10,000) as dollar rows adjusted
    for splits only. A factor file's row holds for every day up to its date that no earlier row holds (Lean
    FactorFile.GetScalingFactors: the first row dated on or after the day)."""
    factors = _split_factors(factor_text)
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        text = z.read(z.namelist()[0]).decode()
    rows = []
    k = 0
    for line in text.splitlines():
        parts = line.split(",")
        day = ymd(parts[0])
        if not FIRST <= day <= LAST:
            continue
        while k < len(factors) and factors[k][0] < day:
            k += 1
        split = factors[k][1] if k < len(factors) else 1.0
        o, h, lo, c = (int(p) / 10_000 * split for p in parts[1:5])
        rows.append(f"{day.isoformat()},{o:.4f},{h:.4f},{lo:.4f},{c:.4f}")
    return rows


def write(shared: Path, into: Path = FOLDER) -> None:
    history = shared / "market-history"
    equity = shared / "lean-data" / "equity" / "usa"
    into.mkdir(exist_ok=True)
    vix = ["date,open,high,low,close"]
    for line in (history / "vix-daily.csv").read_text().splitlines()[1:]:
        parts = line.split(",")
        if FIRST <= date.fromisoformat(parts[0]) <= LAST:
            vix.append(",".join([parts[0], *(f"{float(p):.2f}" for p in parts[1:5])]))
    (into / "vix.csv").write_text("\n".join(vix) + "\n")
    wti = ["date,close"]
    for line in (history / "wti-daily.csv").read_text().splitlines()[1:]:
        parts = line.split(",")
        if parts[1].strip() and FIRST <= date.fromisoformat(parts[0]) <= LAST:
            wti.append(f"{parts[0]},{float(parts[1]):.2f}")
    (into / "wti.csv").write_text("\n".join(wti) + "\n")
    for etf in ETFS:
        bars = (equity / "daily" / f"{etf}.zip").read_bytes()
        rows = etf_rows(bars, (equity / "factor_files" / f"{etf}.csv").read_text())
        (into / f"{etf}.csv").write_text("\n".join(["date,open,high,low,close", *rows]) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replay.history", description=__doc__)
    parser.add_argument("--write", type=Path, metavar="SHARED", required=True, help="the shared folder (../shared)")
    args = parser.parse_args(argv)
    if not (args.write / "market-history").is_dir() or not (args.write / "lean-data").is_dir():
        print(f"{args.write}: needs market-history/ and lean-data/ inside", file=sys.stderr)
        return 2
    write(args.write)
    print(f"wrote {', '.join(sorted(p.name for p in FOLDER.glob('*.csv')))} in {FOLDER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
