"""The real option quotes the modelled surface is calibrated on (replay/calibrate.py), read from a folder in
LEAN's format (REFERENCE.md "LEAN data format") into one columnar table with each contract's market IV.

What is read, and at which moment:
- chain snapshots (`universes/<root>/<YYYYMMDD>.csv`): SPX (AM-settled, 2015-12-22/23 and 2020-12-30 to
  2021-01-14) and SPY (2023-12-28 to 2024-01-09, with LEAPs): the day's close, priced as of the 16:00 close;
  a close is a last trade or mark, not a quote, so its bid and ask are both the close;
- minute quotes: SPXW (2021-01-04..08, strikes 3700 and 3800), SPY (2023-08-03, strikes 430 and 470), ES future
  options (2020-01-06, March 2020 quarterly): each contract's latest quote at `MINUTE_TIMES` New York time
  (the SPXW 0DTE shorts trade through the day, so it is read at several minutes).

The forward of each (day, moment, expiry) comes from put-call parity on the pair nearest the money,
F = K + e^(rT)·(C − P) (European options; for SPY's American options parity is a bound, within cents near
the money); only where an expiry has no pair (the SPY LEAP calls) is it S·e^((r − q)T) with the rate and the
dividend yield of `RATES` and `DIVIDEND_YIELDS`. Market IVs are Black-76 on that forward, from the mid
quote (core/pricing's solver); a row is dropped when its quote is zero, one-sided or crossed, below
intrinsic value or with too little time value to fix a volatility. VIX is that day's Cboe close
(replay/history/vix.csv, and for the days after it ends `vix-calibration-days.csv` beside it).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from core import pricing
from core.calendar import Calendars
from core.model import FloatArray, Right
from replay.lean_files import LeanFiles, OptionKey, Quotes, latest, ymd

NEW_YORK = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")
HISTORY = Path(__file__).resolve().parent / "history"
CLOSE = time(16, 0)
SOQ = time(9, 30)  # AM-settled SPX and the ES quarterly options settle at the special opening quotation
MINUTE_TIMES = (time(10, 0), time(11, 30), time(13, 0), time(14, 30), time(15, 30))
SESSIONS_PER_YEAR = 252.0
# A price that is nearly all intrinsic value fixes no volatility: a cent on a 99-delta call's close moves its
# IV by tens of points (the SPY snapshots' deep in-the-money weeklies imply 60-250%). Rows whose out-of-the-
# money twin is under this delta are left out, as they fall outside every bucket of the error table anyway.
MIN_OTM_DELTA = 0.03

# Risk-free rate (3-month, 2-year) for the snapshot months, in decimals: FRED series DTB3 (3-month Treasury
# bill, secondary market) and DGS2 (2-year Treasury, constant maturity), monthly averages rounded. Used only
# for discounting and where an expiry has no call-put pair (then the forward depends on it).
RATES = {
    (2015, 12): (0.0023, 0.0098),
    (2020, 1): (0.0152, 0.0152),
    (2020, 12): (0.0008, 0.0013),
    (2021, 1): (0.0008, 0.0013),
    (2023, 8): (0.0528, 0.0485),
    (2023, 12): (0.0524, 0.0438),
    (2024, 1): (0.0522, 0.0430),
}
# Trailing dividend yields (S&P 500 by month, multpl.com "S&P 500 Dividend Yield"; SPY's is that less its
# 0.09% expense ratio, near enough): only for expiries without a call-put pair.
DIVIDEND_YIELDS = {
    (2015, 12): 0.021,
    (2020, 1): 0.018,
    (2020, 12): 0.015,
    (2021, 1): 0.015,
    (2023, 8): 0.015,
    (2023, 12): 0.014,
    (2024, 1): 0.014,
}
DEFAULT_RATE = (0.02, 0.02)
DEFAULT_DIVIDEND = 0.015


def rate(day: date, years: float) -> float:
    """The risk-free rate for `years` from `day`: the 3-month rate up to a quarter, the 2-year from two years,
    linear between."""
    short, long = RATES.get((day.year, day.month), DEFAULT_RATE)
    w = min(max((years - 0.25) / 1.75, 0.0), 1.0)
    return short + w * (long - short)


def vix_closes() -> dict[date, float]:
    """Cboe's VIX close by day: the shipped history and the calibration days after it ends."""
    out: dict[date, float] = {}
    for name in ("vix.csv", "vix-calibration-days.csv"):
        path = HISTORY / name
        if path.exists():
            for row in csv.DictReader(path.read_text().splitlines()):
                out[date.fromisoformat(row["date"])] = float(row["close"])
    return out


@dataclass(frozen=True)
class Quote:
    """One contract's quote at one moment, before the table is made columnar."""

    root: str
    moment: datetime
    expiry: date
    expiry_time: time
    strike: float
    is_call: bool
    bid: float
    ask: float
    spot: float | None  # the underlying where the file has it (universe underlying lines)


@dataclass(frozen=True)
class Observations:
    """Columnar: one row per usable contract-moment. `t` is calendar years to the expiry (ACT/365, as core/
    pricing measures it), `today`, `whole` and `nights` the trading sessions to it (the modelled surface's clock,
    SurfaceParameters.variance_sessions)."""

    root: npt.NDArray[np.str_]
    day: npt.NDArray[np.int64]  # date ordinals
    expiry: npt.NDArray[np.int64]  # date ordinals
    vix: FloatArray
    forward: FloatArray
    rate: FloatArray
    strike: FloatArray
    is_call: npt.NDArray[np.bool_]
    t: FloatArray
    today: FloatArray  # share of the quote day's session still to run
    whole: FloatArray  # whole sessions after it up to the expiry's (its own session left out for 09:30)
    nights: FloatArray  # 1 for a 09:30 settlement on a later day: the night before it
    bid: FloatArray
    ask: FloatArray
    mid: FloatArray
    iv: FloatArray
    delta: FloatArray  # Black-76 delta at the market IV (forward delta)

    def __len__(self) -> int:
        return int(self.strike.size)

    def take(self, rows: npt.NDArray[np.bool_]) -> Observations:
        return Observations(**{name: getattr(self, name)[rows] for name in self.__dataclass_fields__})

    @property
    def otm_delta(self) -> FloatArray:
        """|Δ| of the out-of-the-money twin (same strike and expiry, same IV by parity): an 85-delta call
        is a 15-delta put. The error table buckets by it."""
        a = np.abs(self.delta)
        out: FloatArray = np.minimum(a, 1.0 - a)
        return out

    @property
    def days_to_expiry(self) -> npt.NDArray[np.int64]:
        """Calendar days from the quote's day to the expiry's (0 on the expiry day)."""
        out: npt.NDArray[np.int64] = self.expiry - self.day
        return out

    @property
    def days(self) -> list[date]:
        return [date.fromordinal(int(d)) for d in self.day]


def read(folder: Path, calendars: Calendars | None = None) -> tuple[Observations, list[str]]:
    """Every usable quote in `folder`, with the reasons rows were dropped (counted)."""
    cal = calendars or Calendars()
    files = LeanFiles(folder)
    quotes = [
        *universe_quotes(files, "indexoption/usa/universes/spx", "SPX", SOQ),
        *universe_quotes(files, "option/usa/universes/spy", "SPY", CLOSE),
        *(q for source in MINUTE_SOURCES for q in _minute_quotes(files, *source)),
    ]
    return _table(quotes, vix_closes(), cal)


def _index_closes(files: LeanFiles) -> dict[date, float]:
    """SPX daily closes (`index/usa/daily/spx.zip`, plain prices): the 2015 snapshots have no underlying line."""
    rows = [r for _, rs in files.csv_members(files.folder / "index/usa/daily/spx.zip") for r in rs]
    return {ymd(r[0]): float(r[4]) for r in rows}


def _untraded(path: Path) -> set[OptionKey]:
    """The contracts of a universe file with no volume that day."""
    out = set()
    for line in path.read_text().splitlines():
        f = line.split(",")
        if line and not line.startswith("#") and f[0] and len(f) > 7 and f[7] in ("", "0"):
            out.add((ymd(f[0]), float(f[1]), Right.CALL if f[2].upper().startswith("C") else Right.PUT))
    return out


MINUTE_SOURCES = (
    ("indexoption/usa/minute/spxw", "SPXW", "quote_european", 10_000.0, NEW_YORK, CLOSE),
    ("option/usa/minute/spy", "SPY", "quote_american", 10_000.0, NEW_YORK, CLOSE),
    ("futureoption/cme/minute/es/202003", "ES", "quote_american", 1.0, UTC, SOQ),
)
SPREAD_TIMES = tuple(time(9 + (45 + 15 * k) // 60, (45 + 15 * k) % 60) for k in range(25))  # 09:45 to 15:45


@dataclass(frozen=True)
class Spreads:
    """Real two-sided quotes for the bid/ask fit (replay/spreads): root, mid, half-spread, the day's VIX."""

    root: npt.NDArray[np.str_]
    mid: FloatArray
    half: FloatArray
    vix: FloatArray


def spread_sample(folder: Path) -> Spreads:
    """Every contract's minute quote every 15 minutes from 09:45 to 15:45 (`SPREAD_TIMES`), in and out of the
    money, where both sides are there and not crossed."""
    files = LeanFiles(folder)
    vix = vix_closes()
    rows = [
        (q.root, 0.5 * (q.bid + q.ask), 0.5 * (q.ask - q.bid), vix[q.moment.date()])
        for source in MINUTE_SOURCES
        for q in _minute_quotes(files, *source, times=SPREAD_TIMES)
        if 0 < q.bid < q.ask and q.moment.date() in vix
    ]
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
    return Spreads(np.array(cols[0], dtype=np.str_), *(np.array(c, dtype=np.float64) for c in cols[1:]))


def universe_quotes(files: LeanFiles, sub: str, root: str, expiry_time: time) -> Iterable[Quote]:
    """A snapshot's closes; a close is stale, and left out, when the contract did not trade that day and its
    close is the previous snapshot's (SPX's January 4200 put closed at 503.80 untraded on every day from
    2021-01-04 to 01-14)."""
    folder = files.folder / sub
    index_closes = _index_closes(files) if root == "SPX" else {}
    previous: dict[OptionKey, float] = {}
    for path in sorted(folder.glob("*.csv")) if folder.exists() else []:
        day = ymd(path.stem)
        universe = files.universe(path, day)
        if universe is None:
            continue
        untraded = _untraded(path)
        closes, previous = previous, universe.closes
        moment = datetime.combine(day, CLOSE, tzinfo=NEW_YORK)
        spot = universe.underlying[3] if universe.underlying is not None else index_closes.get(day)
        for (expiry, strike, right), close in universe.closes.items():
            if (expiry, strike, right) in untraded and closes.get((expiry, strike, right)) == close:
                continue  # stale
            yield Quote(root, moment, expiry, expiry_time, strike, right is Right.CALL, close, close, spot)


def _minute_quotes(
    files: LeanFiles,
    sub: str,
    root: str,
    kind: str,
    scale: float,
    clock: ZoneInfo,
    expiry_time: time,
    times: Sequence[time] = MINUTE_TIMES,
) -> Iterable[Quote]:
    """Each contract's latest quote at each of `MINUTE_TIMES` (New York) of the files' days. Future option
    files are named by their UTC day and stamped in UTC: the 2020-01-05 file is Sunday evening's Globex
    session, before the New York day the moments fall in, so only files whose day is a weekday are read."""
    folder = files.folder / sub
    for path in sorted(folder.glob(f"*_{kind}.zip")) if folder.exists() else []:
        day = ymd(path.name[:8])
        if day.weekday() >= 5:
            continue
        contracts: dict[OptionKey, Quotes] = files.option_quotes(path, scale)
        midnight = datetime.combine(day, time(0), tzinfo=clock)
        for at in times:
            moment = datetime.combine(day, at, tzinfo=NEW_YORK)
            ms = int((moment - midnight).total_seconds() * 1000)
            for (expiry, strike, right), series in contracts.items():
                quote = latest(series, ms)
                if quote is not None and expiry >= day:
                    yield Quote(root, moment, expiry, expiry_time, strike, right is Right.CALL, *quote, None)


def _parity_forwards(quotes: list[Quote]) -> dict[tuple[str, datetime, date], float]:
    """(root, moment, expiry) → forward from the call-put pair whose prices are closest (nearest the money)."""
    pairs: dict[tuple[str, datetime, date, float], dict[bool, float]] = {}
    for q in quotes:
        if q.bid > 0 and q.ask >= q.bid:
            pairs.setdefault((q.root, q.moment, q.expiry, q.strike), {})[q.is_call] = 0.5 * (q.bid + q.ask)
    best: dict[tuple[str, datetime, date], tuple[float, float]] = {}
    for (root, moment, expiry, strike), mids in pairs.items():
        if len(mids) == 2:
            difference = mids[True] - mids[False]
            key = (root, moment, expiry)
            if key not in best or abs(difference) < abs(best[key][1]):
                best[key] = (strike, difference)
    out = {}
    for (root, moment, expiry), (strike, difference) in best.items():
        years = _years(moment, expiry, SOQ if root in ("SPX", "ES") else CLOSE)
        out[(root, moment, expiry)] = strike + math.exp(rate(moment.date(), years) * years) * difference
    return out


def _years(moment: datetime, expiry: date, expiry_time: time) -> float:
    return pricing.year_fraction(moment, datetime.combine(expiry, expiry_time, tzinfo=NEW_YORK))


def _table(quotes: list[Quote], vix: dict[date, float], cal: Calendars) -> tuple[Observations, list[str]]:
    forwards = _parity_forwards(quotes)
    # Where a strike has both a call and a put, only the out-of-the-money one is kept: the two share a
    # volatility by parity, and the in-the-money one's wider quote and early-exercise value blur it.
    sides: dict[tuple[str, datetime, date, float], set[bool]] = {}
    for q in quotes:
        if q.bid > 0 and q.ask >= q.bid:
            sides.setdefault((q.root, q.moment, q.expiry, q.strike), set()).add(q.is_call)
    dropped: dict[str, int] = {}

    def drop(reason: str) -> None:
        dropped[reason] = dropped.get(reason, 0) + 1

    rows: list[
        tuple[str, int, float, float, float, float, bool, float, tuple[float, float, float], float, float, int]
    ] = []
    for q in quotes:
        day = q.moment.astimezone(NEW_YORK).date()
        years = _years(q.moment, q.expiry, q.expiry_time)
        if not (q.bid > 0 and q.ask >= q.bid and math.isfinite(q.bid + q.ask)):
            drop("zero, one-sided or crossed quote")
            continue
        if years <= 0:
            drop("expired at the moment")
            continue
        if day not in vix:
            drop("no VIX close for the day")
            continue
        r = rate(day, years)
        forward = forwards.get((q.root, q.moment, q.expiry))
        if forward is None:
            if q.spot is None:
                drop("no call-put pair and no underlying price")
                continue
            forward = q.spot * math.exp((r - DIVIDEND_YIELDS.get((day.year, day.month), DEFAULT_DIVIDEND)) * years)
        in_the_money = q.strike < forward if q.is_call else q.strike > forward
        if in_the_money and len(sides.get((q.root, q.moment, q.expiry, q.strike), ())) == 2:
            drop("in the money with an out-of-the-money twin quoted")
            continue
        rows.append(
            (q.root, day.toordinal(), vix[day], forward, r, q.strike, q.is_call, years,
             _sessions(cal, q.moment, q.expiry, q.expiry_time), q.bid, q.ask, q.expiry.toordinal())
        )  # fmt: skip
    if not rows:
        return _empty(), [f"{n} rows: {why}" for why, n in sorted(dropped.items())]
    cols = list(zip(*rows, strict=True))
    f, k, t, rates = (np.array(cols[i], dtype=np.float64) for i in (3, 5, 7, 4))
    calls = np.array(cols[6], dtype=np.bool_)
    bid, ask = np.array(cols[9], dtype=np.float64), np.array(cols[10], dtype=np.float64)
    mid = 0.5 * (bid + ask)
    implied = pricing.black76_implied_vol(mid, f, k, t, rates, calls)
    for status, n in implied.counts().items():
        if status != "OK":
            dropped[f"no implied volatility ({status})"] = n
    greeks = pricing.black76_greeks(f, k, t, np.nan_to_num(implied.iv, nan=0.2), rates, calls)
    table = Observations(
        root=np.array(cols[0], dtype=np.str_),
        day=np.array(cols[1], dtype=np.int64),
        expiry=np.array(cols[11], dtype=np.int64),
        vix=np.array(cols[2], dtype=np.float64),
        forward=f,
        rate=rates,
        strike=k,
        is_call=calls,
        t=t,
        today=np.array([p[0] for p in cols[8]], dtype=np.float64),
        whole=np.array([p[1] for p in cols[8]], dtype=np.float64),
        nights=np.array([p[2] for p in cols[8]], dtype=np.float64),
        bid=bid,
        ask=ask,
        mid=mid,
        iv=implied.iv,
        delta=greeks.delta,
    )
    usable = np.isfinite(implied.iv)
    table = table.take(usable)
    intrinsic_bound = table.otm_delta < MIN_OTM_DELTA
    if intrinsic_bound.any():
        drop(f"nearly all intrinsic value (out-of-the-money twin under {MIN_OTM_DELTA:g} delta)")
        dropped[f"nearly all intrinsic value (out-of-the-money twin under {MIN_OTM_DELTA:g} delta)"] = int(
            intrinsic_bound.sum()
        )
    table = table.take(~intrinsic_bound)
    return table, [f"{n} rows: {why}" for why, n in sorted(dropped.items())]


def _sessions(cal: Calendars, moment: datetime, expiry: date, expiry_time: time) -> tuple[float, float, float]:
    """(today, whole, nights) from `moment` to the expiry, as ModelledMarket.session_parts counts them; a 09:30
    settlement on a later day leaves the expiry day's own session out and counts the night before it."""
    local = moment.astimezone(NEW_YORK)
    equity = cal.equity
    whole = float(equity.sessions_between(local.date(), expiry))
    nights = 0.0
    if expiry_time <= SOQ and expiry > local.date():
        whole, nights = whole - 1.0, 1.0
    hours = equity.open_close(local.date())
    today = 0.0
    if hours is not None:
        opens, closes = hours
        today = min(max((closes - local) / (closes - opens), 0.0), 1.0)
    return today, whole, nights


def _empty() -> Observations:
    columns: dict[str, Any] = {name: np.empty(0) for name in Observations.__dataclass_fields__}
    columns.update(root=np.empty(0, dtype=np.str_), is_call=np.empty(0, dtype=np.bool_))
    columns.update(day=np.empty(0, dtype=np.int64), expiry=np.empty(0, dtype=np.int64))
    return Observations(**columns)
