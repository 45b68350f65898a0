"""Reading LEAN's data files (REFERENCE.md "LEAN data format"): the zip and CSV layer shared by the index,
future and equity parts of the `lean` data source. Odd files are reported once each and skipped: a zip
that cannot be opened (truncated), a CSV with no rows."""

from __future__ import annotations

import bisect
import csv
import io
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from core.calendar import ExchangeCalendar
from core.chain_greeks import PricingModel, with_model_greeks
from core.model import Chain, ChainRow, DailyBars, Right

NEW_YORK = ZoneInfo("America/New_York")
RATE = 0.02
SPX_DIVIDEND_YIELD = 0.015
MINUTE_MS = 60_000
SECONDS_PER_YEAR = 365.0 * 24 * 3600

# One contract's minute quotes: (ms since midnight in the file's clock, bid close, ask close), in time order.
Quotes = list[tuple[int, float, float]]
OptionKey = tuple[date, float, Right]


@dataclass
class Universe:
    """One end-of-day chain snapshot (`universes/<ticker>/<YYYYMMDD>.csv`, plain prices): the underlying's bar
    (when the file has one) and each contract's close. LEAN makes the file for a date available one day after
    it (BaseChainUniverseData.EndTime = Time + 1 day), so a replay session reads the previous session's."""

    day: date
    underlying: tuple[float, float, float, float] | None  # open, high, low, close
    closes: dict[OptionKey, float]


@dataclass
class LeanFiles:
    folder: Path
    problems: list[str] = field(default_factory=list)  # odd files, reported once each

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def csv_members(self, path: Path) -> list[tuple[str, list[list[str]]]]:
        """(member name, rows) of every CSV in a zip; odd files are reported and give nothing."""
        if not path.exists():
            return []
        try:
            with zipfile.ZipFile(path) as archive:
                out = []
                for name in archive.namelist():
                    rows = list(csv.reader(io.TextIOWrapper(archive.open(name))))
                    if not rows:
                        self.problem(f"{path.relative_to(self.folder)}: {name} is empty, skipped")
                        continue
                    out.append((name, rows))
                return out
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            self.problem(f"{path.relative_to(self.folder)}: cannot be read ({err}), skipped")
            return []

    def universe(self, path: Path, day: date) -> Universe | None:
        """A universe file, or None when there is none; an empty one or an unreadable line is reported."""
        if not path.exists():
            return None
        underlying = None
        closes: dict[OptionKey, float] = {}
        lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
        if not lines:
            self.problem(f"{path.relative_to(self.folder)} is empty, skipped")
            return None
        for line in lines:
            f = line.split(",")
            try:
                if not f[0]:
                    underlying = (float(f[3]), float(f[4]), float(f[5]), float(f[6]))
                    continue
                right = Right.CALL if f[2].upper().startswith("C") else Right.PUT
                closes[(ymd(f[0]), float(f[1]), right)] = float(f[6])
            except (IndexError, ValueError):
                self.problem(f"{path.relative_to(self.folder)}: unreadable line '{line[:40]}', skipped")
        return Universe(day, underlying, closes)

    def option_quotes(self, path: Path, scale: float) -> dict[OptionKey, Quotes]:
        """(expiry, strike, right) → minute quotes of an option quote zip: one CSV per contract, named
        `..._<call|put>_<strike×10000>_<expiry>.csv`, rows `t,bidO,bidH,bidL,bidC,bidSize,askO,...,askC,...`."""
        contracts: dict[OptionKey, Quotes] = {}
        for member, rows in self.csv_members(path):
            parts = member.rsplit(".", 1)[0].split("_")
            right = Right.CALL if parts[-3] == "call" else Right.PUT
            strike, expiry = int(parts[-2]) / 10_000, ymd(parts[-1])
            contracts[(expiry, strike, right)] = [
                (
                    int(r[0]),
                    float(r[4]) / scale if r[4] else float("nan"),
                    float(r[9]) / scale if r[9] else float("nan"),
                )
                for r in rows
            ]
        return contracts


def priced_chain(
    root: str,
    underlying: float,
    moment: datetime,
    quotes: dict[OptionKey, Quotes],
    ms: int,
    model: PricingModel,
    expiry_time: time,
    dividend: float = 0.0,
) -> Chain | None:
    """Each contract's latest closed quote at `ms` (in the file's clock) as a chain with model Greeks."""
    rows = []
    for (expiry, strike, right), series in sorted(quotes.items()):
        quote = latest(series, ms)
        if quote is not None:
            rows.append(ChainRow(expiry, strike, right, quote[0], quote[1]))
    return rows_chain(root, underlying, moment, rows, model, expiry_time, dividend)


def rows_chain(
    root: str,
    underlying: float,
    moment: datetime,
    rows: list[ChainRow],
    model: PricingModel,
    expiry_time: time,
    dividend: float = 0.0,
) -> Chain | None:
    if not rows:
        return None
    priced, _ = with_model_greeks(Chain.from_rows(root, underlying, moment, rows), model, RATE, dividend, expiry_time)
    return priced


def universe_rows(universe: Universe, first_expiry: date) -> list[ChainRow]:
    """A universe file's contracts expiring on or after `first_expiry` with a close, as chain rows whose bid
    and ask are both that close (universe files carry closes, not quotes)."""
    return [
        ChainRow(expiry, strike, right, close, close)
        for (expiry, strike, right), close in sorted(universe.closes.items())
        if expiry >= first_expiry and close > 0
    ]


def daily_bars(days: Sequence[date], ohlc: Sequence[Sequence[float]]) -> DailyBars:
    """Daily bars from their dates and (open, high, low, close) rows, oldest first."""
    a = np.array(ohlc, dtype=float).reshape(-1, 4)
    return DailyBars(tuple(days), a[:, 0], a[:, 1], a[:, 2], a[:, 3])


def daily_rows(rows: list[list[str]], scale: float = 1.0) -> DailyBars:
    """A LEAN daily file's rows (`YYYYMMDD HH:mm,open,high,low,close,volume`) as bars, prices ÷ `scale`."""
    ordered = sorted(rows, key=lambda r: r[0])
    return daily_bars([ymd(r[0]) for r in ordered], [[float(x) / scale for x in r[1:5]] for r in ordered])


def bars_before(bars: DailyBars, day: date) -> DailyBars | None:
    """The sessions before `day` (None when there are none); a binary search, asked at every step."""
    n = bisect.bisect_left(bars.day, day)
    if n == 0:
        return None
    return DailyBars(bars.day[:n], bars.open[:n], bars.high[:n], bars.low[:n], bars.close[:n])


def known_close_day(calendar: ExchangeCalendar, moment: datetime) -> date:
    """The last session whose close a moment can know: the day's own once its session is over, else the
    previous session's (a replay step never sees the day's own close)."""
    local = moment.astimezone(NEW_YORK)
    day = local.date()
    hours = calendar.open_close(day)
    return day if hours is not None and local >= hours[1] else calendar.previous_session(day)


def ymd(text: str) -> date:
    """The date of a LEAN `YYYYMMDD[ HH:mm]` field."""
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def minute_of(moment: datetime) -> int:
    local = moment.astimezone(NEW_YORK)
    return (local.hour * 60 + local.minute) * MINUTE_MS


def latest(series: Quotes, ms: int) -> tuple[float, float] | None:
    """The last quote whose minute bar has closed by `ms` (a bar stamped t covers t to t + 1 minute). A
    binary search: a full day of SPXW has thousands of contracts, each asked at every step."""
    n = bisect.bisect_right(series, ms - MINUTE_MS, key=lambda row: row[0])
    return None if n == 0 else (series[n - 1][1], series[n - 1][2])


def parity_price(quotes: dict[OptionKey, Quotes], ms: int, moment: datetime, dividend: float) -> float | None:
    """The underlying from the call and put pair nearest the money on the nearest expiry that has one:
    C − P = S·e^(−qT) − K·e^(−rT), so S = (C − P + K·e^(−rT))·e^(qT), T to the expiry's 16:00 close. For
    American options parity is only a bound; near the money and near expiry it is within a few cents."""
    mids: dict[tuple[date, float], dict[Right, float]] = {}
    for (expiry, strike, right), series in quotes.items():
        quote = latest(series, ms)
        if quote is not None and quote[0] > 0 and quote[1] >= quote[0]:
            mids.setdefault((expiry, strike), {})[right] = 0.5 * (quote[0] + quote[1])
    pairs = [(e, k, v[Right.CALL] - v[Right.PUT]) for (e, k), v in mids.items() if len(v) == 2]
    if not pairs:
        return None
    nearest = min(e for e, _, _ in pairs)
    expiry, strike, difference = min(((e, k, d) for e, k, d in pairs if e == nearest), key=lambda p: abs(p[2]))
    t = max((datetime.combine(expiry, time(16, 0), tzinfo=NEW_YORK) - moment).total_seconds(), 0.0) / SECONDS_PER_YEAR
    return float((difference + strike * math.exp(-RATE * t)) * math.exp(dividend * t))
