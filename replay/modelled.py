"""The modelled market: real daily paths, option chains priced by core/pricing. Every output that uses it
says "modelled prices".

Paths (from the `arch` package, real daily data): the S&P 500 (1999-2018) as SPX and ES (no basis) and,
divided by 10, as SPY; the NASDAQ Composite divided by `QQQ_DIVISOR` as QQQ; WTI crude as CL and, divided by
`USO_DIVISOR`, as USO; VIX closes (2014-01-03 onward) where they exist, else 20-day realised volatility of
the S&P 500; inside a day VIX moves linearly from the previous close to the day's close. GLD, TLT and the
other products have no path here and so no chain: strategies that want them say "no chain".

Inside a day the price follows a path bridged through the day's open, high, low and close, linear between
them: 09:30 open, the two extremes at times drawn from the seed (the order of high and low too; each time by
Lévy's arcsine law: `day_shape`), the close at 16:00.

Volatility: σ(K, n) = base × term(n) × smile(ln(K/F), T), floored at 5%, where base is VIX/100 for the equity
indices (× `QQQ_VOL_RATIO` for QQQ) and 30-day realised volatility × 1.1 for crude; term(n) = (n / 21
sessions)^`term_slope` and the smile is linear in ln(K/F), steeper below the forward than above it, flattening
beyond 90 days (`SurfaceParameters`, calibrated on LEAN's real SPX chain). Variance runs on the trading clock:
n is the number of sessions left to the expiry's close (the rest of today's session as a fraction, plus every
whole session after it), and σ is annualised over 252 sessions. Calendar time would give an option expiring at
16:00 the variance of 5.5/8,760 of a year at 10:30 instead of 5.5/6.5 of a session's (1/298 of a year): about
2.3 times too little volatility, which made a 0DTE short at half a daily ATR look like a 0.07 delta instead of
the 0.2-0.3 the market prices. The chain reports the same variance on core/pricing's calendar clock (σ × √(n /
252 / T)).

Quotes: the model price ± a half-spread of max(0.025, 2.5% of the price) (SPY and QQQ, penny-pilot classes
quoted a few cents wide: max(0.005, 0.5%)), rounded to the tick. Listed strikes and expiries follow the
products: SPXW with six Friday weeklies, the next week's Monday and Wednesday weeklies from their launch in
2016 (Tuesdays and Thursdays from 2022), and a year of end-of-month (from 2014-07-07, when Cboe listed them
under SPXW) and third-Friday PM series (from 2017-05-01, SPXPM renamed SPXW); SPY/QQQ/USO
monthlies (third Friday) out to two years (LEAPs) and, for SPY/QQQ, six Friday weeklies and four
end-of-quarter expiries; ES quarterly (quoted on their third Friday until the 09:30 special opening
quotation, when they stop with their future) and serial-month and CL monthly future options. Settlement is
the engine's: cash for index options and for ES quarterlies (at the SOQ), delivery of shares or futures for
the rest.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from core import pricing
from core.calendar import QUARTERLY_MONTHS, Calendars
from core.model import _EPOCH_ORDINAL, Chain, DailyBars, FloatArray, MarketSnapshot
from core.ports import EventCalendar
from core.products import option_tick, option_underlying
from replay.dividends import TABLE, calendar_of, read_table

NEW_YORK = ZoneInfo("America/New_York")
QQQ_DIVISOR = 41.0
USO_DIVISOR = 5.0
QQQ_VOL_RATIO = 1.2
RATE = 0.02
SESSIONS_PER_YEAR = 252.0
SESSIONS_PER_MONTH = 21.0  # the 30 calendar days VIX measures
ES_LAST_TRADE = time(9, 30)  # E-mini S&P quarterly options (and their future) stop at the SOQ, 08:30 Chicago
MIN_SESSIONS = 1.0 / 390.0  # one minute of a regular session
LABEL = "modelled prices"


class SurfaceError(ValueError):
    pass


SURFACE_RANGES = {
    "skew_put": (0.0, 20.0),
    "skew_call": (0.0, 20.0),
    "skew_horizon_days": (1.0, 3650.0),
    "call_floor": (0.05, 1.0),
    "term_slope": (-1.0, 1.0),
}


@dataclass
class SurfaceParameters:
    """The volatility surface's shape (module docstring). The skew defaults come from LEAN's real SPX chain
    of 2015-12-22 (`indexoption/usa/universes/spx/20151222.csv`): a least-squares line of IV / ATM IV on
    ln(K/S) gives slopes of 5.2, 5.2 and 4.5 for the 24-, 59- and 87-day expiries and 3.4 at 269 days."""

    skew_put: float = 5.0  # relative IV per unit of ln(K/F) below the forward
    skew_call: float = 3.0  # above it (the call wing falls more slowly than a line through the puts)
    skew_horizon_days: float = 90.0  # beyond it the slopes shrink with √(horizon / days)
    call_floor: float = 0.6  # the call wing never falls under this share of the ATM volatility
    term_slope: float = 0.05

    @classmethod
    def parse(cls, spec: str) -> SurfaceParameters:
        """`--surface skew_put=4,call_floor=0.5`: any field, each checked against its range (SurfaceError
        names the one that is wrong)."""
        values: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, eq, text = item.partition("=")
            if not eq or name not in SURFACE_RANGES:
                raise SurfaceError(
                    f"--surface: '{item}' is not NAME=VALUE with NAME one of {', '.join(SURFACE_RANGES)}"
                )
            low, high = SURFACE_RANGES[name]
            try:
                value = float(text)
            except ValueError:
                raise SurfaceError(f"--surface {name}: '{text}' is not a number") from None
            if not low <= value <= high:
                raise SurfaceError(f"--surface {name}: {value:g} is outside {low:g}-{high:g}")
            values[name] = value
        return cls(**values)

    def describe(self) -> str:
        return ", ".join(f"{f.name} {getattr(self, f.name):g}" for f in dataclasses.fields(self))

    def smile(self, moneyness: FloatArray, days: FloatArray) -> FloatArray:
        """IV / ATM IV at ln(K/F) `moneyness` for options `days` calendar days out."""
        scale = np.sqrt(self.skew_horizon_days / np.maximum(days, self.skew_horizon_days))
        below = 1.0 - self.skew_put * scale * np.minimum(moneyness, 0.0)
        above = np.maximum(1.0 - self.skew_call * scale * np.maximum(moneyness, 0.0), self.call_floor)
        shape: FloatArray = np.where(moneyness < 0.0, below, above)
        return shape


@dataclass
class Path:
    """Daily OHLC of one underlying, indexed by session date."""

    days: list[date]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    index: dict[date, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {d: i for i, d in enumerate(self.days)}


def _path(frame: pd.DataFrame, divisor: float = 1.0, close_only: str | None = None) -> Path:
    days = [ts.date() for ts in frame.index]
    if close_only is not None:
        close = frame[close_only].to_numpy(dtype=np.float64) / divisor
        return Path(days, close, close, close, close)
    return Path(
        days,
        frame["Open"].to_numpy(dtype=np.float64) / divisor,
        frame["High"].to_numpy(dtype=np.float64) / divisor,
        frame["Low"].to_numpy(dtype=np.float64) / divisor,
        frame["Close"].to_numpy(dtype=np.float64) / divisor,
    )


def load_paths() -> dict[str, Path]:
    """The real daily histories shipped with `arch` (loaded once; a few milliseconds)."""
    import arch.data.nasdaq
    import arch.data.sp500
    import arch.data.vix
    import arch.data.wti

    sp = arch.data.sp500.load()
    nasdaq = arch.data.nasdaq.load()
    wti = arch.data.wti.load().dropna()
    wti = wti[wti["DCOILWTICO"] > 0]
    return {
        "SPX": _path(sp),
        "ES": _path(sp),
        "SPY": _path(sp, 10.0),
        "QQQ": _path(nasdaq, QQQ_DIVISOR),
        "CL": _path(wti, 1.0, "DCOILWTICO"),
        "USO": _path(wti, USO_DIVISOR, "DCOILWTICO"),
        "VIX": _path(arch.data.vix.load().dropna(), 1.0, "vix"),  # holidays are NaN rows in the source
    }


# Strikes: (step, half-width as a share of price) for short-dated and long-dated expiries.
SHORT_DATED_DAYS = 60
STRIKES = {
    "SPXW": ((5.0, 0.05), (25.0, 0.30)),
    "SPY": ((1.0, 0.20), (5.0, 0.45)),
    "QQQ": ((1.0, 0.20), (5.0, 0.45)),
    "USO": ((0.5, 0.40), (0.5, 0.60)),
    "ES": ((25.0, 0.25), (25.0, 0.35)),
    "CL": ((0.5, 0.40), (0.5, 0.60)),
}
UNDERLYING = {"SPXW": "SPX", "SPY": "SPY", "QQQ": "QQQ", "USO": "USO", "ES": "ES", "CL": "CL"}
FUTURE_ROOTS = {"ES", "CL"}
WEEKLY_ROOTS = {"SPY", "QQQ"}  # both list Friday weeklies throughout the replay years
WEEKLY_COUNT = 6
QUARTERLY_COUNT = 4  # SPY/QQQ quarterlies: the last session of March, June, September and December
SPXW_EOM_FROM = date(2014, 7, 7)  # Cboe's end-of-month SPXW series (and end-of-quarter moved into SPXW)
SPXW_THIRD_FRIDAY_FROM = date(2017, 5, 1)  # SPXPM's third-Friday PM series renamed SPXW (Cboe RG17-002)
SPXW_LONG_MONTHS = 12
# (minimum, share of the price) of the half-spread. SPY and QQQ are penny-pilot classes, quoted a few cents
# wide even on 4-month options; the rest of the modelled products are quoted much wider.
HALF_SPREAD = {"SPY": (0.005, 0.005), "QQQ": (0.005, 0.005)}
DEFAULT_HALF_SPREAD = (0.025, 0.025)


def _months(day: date, count: int) -> list[tuple[int, int]]:
    """(year, month) of `day`'s month and the `count` - 1 after it."""
    return [(day.year + (day.month - 1 + k) // 12, (day.month - 1 + k) % 12 + 1) for k in range(count)]


def day_shape(rng: random.Random) -> tuple[bool, float, float]:
    """(high first?, hour of the first extreme, hour of the second) for one day's path. Each extreme's time
    follows Lévy's arcsine law, the law of the time of a Brownian motion's maximum over an interval: most
    often near the open or the close, seldom at midday. (Fixed at 11:00 and 13:30 they made the path run
    straight from the open to 11:00, so the 0DTE's 10:00 read of the move always held until after its 10:30
    entry.) The first draw is the order of high and low, as before."""
    high_first = rng.random() < 0.5
    a, b = (9.5 + 6.5 * math.sin(math.pi * rng.random() / 2) ** 2 for _ in range(2))
    first, second = sorted((a, b))
    minute = 1.0 / 60.0
    first = min(max(first, 9.5 + minute), 16.0 - 2 * minute)
    second = min(max(second, first + minute), 16.0 - minute)
    return high_first, first, second


class ModelledMarket:
    source = "modelled"
    label = LABEL

    @property
    def problems(self) -> list[str]:
        return []  # it reads no files, so it never meets an odd one

    @property
    def price_notes(self) -> set[str]:
        return {f"modelled volatility surface: {self.surface.describe()}"}

    def __init__(self, calendars: Calendars, seed: int = 7, surface: SurfaceParameters | None = None) -> None:
        self.calendars = calendars
        self.paths = load_paths()
        self.seed = seed
        self.surface = surface or SurfaceParameters()
        self._shape = {d: day_shape(random.Random(f"{seed}-{d}")) for d in self.paths["SPX"].days}
        self._cache_day: date | None = None  # the session the caches below are for (`_new_day`)
        self._listed: dict[tuple[str, date], FloatArray] = {}  # `_still_listed`
        self._expiries_today: dict[str, list[date]] = {}
        self._whole_sessions: dict[date, float] = {}
        self._hours_today: tuple[tuple[datetime, datetime] | None] | None = None

    def events(self) -> EventCalendar | None:
        """SPY's, QQQ's and IWM's real ex-dividend dates, each amount scaled to the modelled close of the
        session before (replay/dividends: the same yield on the modelled price); a root without a modelled
        price that day (IWM has no path here) is left out."""
        kept, scale = [], {}
        for d in read_table(TABLE.read_text()):
            before = self.calendars.equity.previous_session(d.ex_date)
            price = self.price(d.root, datetime.combine(before, time(16, 0), tzinfo=NEW_YORK))
            if price is not None and d.reference_close > 0:
                kept.append(d)
                scale[(d.root, d.ex_date)] = price / d.reference_close
        source = "SPY/QQQ/IWM ex-dates (LEAN factor files), amounts at the modelled price"
        return calendar_of(kept, source, lambda d: scale[(d.root, d.ex_date)])

    # ------------------------------------------------------------------ prices

    def price(self, root: str, moment: datetime) -> float | None:
        """The modelled price of an underlying at a moment of a session (None when the path has no day)."""
        path = self.paths.get(root)
        local = moment.astimezone(NEW_YORK)
        if path is None or local.date() not in path.index:
            return None
        i = path.index[local.date()]
        o, h, lo, c = path.open[i], path.high[i], path.low[i], path.close[i]
        high_first, first, second = self._shape.get(local.date(), (True, 11.0, 13.5))
        points = [(9.5, o), (first, h if high_first else lo), (second, lo if high_first else h), (16.0, c)]
        hour = min(max(local.hour + local.minute / 60.0, 9.5), 16.0)
        for (h0, p0), (h1, p1) in itertools.pairwise(points):
            if hour <= h1:
                return float(p0 + (p1 - p0) * (hour - h0) / (h1 - h0))
        return float(c)

    def vix(self, moment: datetime) -> float:
        """VIX through the session: from the previous close at 09:30 to the day's close at 16:00, linear, so
        a morning decision does not see the afternoon's close (2018-02-05 opened near 18 and closed at 37)."""
        local = moment.astimezone(NEW_YORK)
        day = local.date()
        path = self.paths["VIX"]
        i = path.index.get(day)
        if i is None:
            return 100.0 * self.realised_vol("SPX", day)
        close = float(path.close[i])
        if i == 0:
            return close
        previous = float(path.close[i - 1])
        hour = min(max(local.hour + local.minute / 60.0, 9.5), 16.0)
        return previous + (close - previous) * (hour - 9.5) / 6.5

    def realised_vol(self, root: str, day: date, days: int = 20) -> float:
        path = self.paths[root]
        i = path.index.get(day)
        if i is None or i < days + 1:
            return 0.2
        closes = path.close[i - days - 1 : i]
        return float(np.std(np.diff(np.log(closes)), ddof=1) * math.sqrt(252))

    def daily_bars(self, root: str, day: date, days: int = 300) -> DailyBars | None:
        """Completed sessions before `day`, oldest first."""
        path = self.paths.get(option_underlying(root))
        if path is None or day not in path.index:
            return None
        i = path.index[day]
        lo = max(0, i - days)
        return DailyBars(tuple(path.days[lo:i]), path.open[lo:i], path.high[lo:i], path.low[lo:i], path.close[lo:i])

    # ------------------------------------------------------------------ chains

    def expiries(self, root: str, day: date) -> list[date]:
        if root == "SPXW":
            return self._spxw_expiries(day)
        out: list[date] = []
        for year, month in _months(day, 26):
            if root == "ES" and month in QUARTERLY_MONTHS:
                out.append(self.calendars.es_quarterly_expiry(year, month))
            else:  # equity monthlies, and ES serial-month options (on the next quarterly future)
                out.append(self.calendars.monthly_expiry(year, month))
        if root in WEEKLY_ROOTS:
            out.extend(self._weeklies(day))
            out.extend(self._quarter_ends(day))
        limit = 400 if root in FUTURE_ROOTS else 760
        return sorted({e for e in out if 0 <= (e - day).days <= limit})  # quoted on expiry day until the close

    def _spxw_expiries(self, day: date) -> list[date]:
        """SPXW as Cboe lists it (module docstring): six Friday weeklies, the other weekdays' weeklies of the
        next week from their launch (core/calendar.spxw_expiries: Wednesdays 2016-03, Mondays 2016-08,
        Tuesdays and Thursdays 2022), and from their launch the end-of-month (2014-07-07, the quarter ends
        among them) and third-Friday PM (2017-05-01) series for a year."""
        out = {*self._weeklies(day), *self.calendars.spxw_expiries(day, day + timedelta(days=7))}
        if day >= SPXW_EOM_FROM:
            out.update(self._month_ends(day, SPXW_LONG_MONTHS, quarterly=False))
        if day >= SPXW_THIRD_FRIDAY_FROM:
            out.update(self.calendars.monthly_expiry(y, m) for y, m in _months(day, SPXW_LONG_MONTHS))
        return sorted(e for e in out if e >= day)

    def _weeklies(self, day: date) -> list[date]:
        """The next `WEEKLY_COUNT` Friday weeklies, moved to Thursday when Friday is a holiday."""
        first_friday = day + timedelta(days=(4 - day.weekday()) % 7)
        cal = self.calendars.equity
        return [cal.expiry_on_or_before(first_friday + timedelta(weeks=k)) for k in range(WEEKLY_COUNT)]

    def _quarter_ends(self, day: date) -> list[date]:
        return self._month_ends(day, QUARTERLY_COUNT, quarterly=True)

    def _month_ends(self, day: date, count: int, quarterly: bool) -> list[date]:
        """The last session of the next `count` months (of March, June, September and December only when
        `quarterly`) from `day` on."""
        cal = self.calendars.equity
        out: list[date] = []
        for year, month in _months(day, 12 * count + 1):  # a quarter end at least every third month
            if not quarterly or month in QUARTERLY_MONTHS:
                last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
                end = cal.expiry_on_or_before(last)
                if end >= day:
                    out.append(end)
                    if len(out) == count:
                        break
        return out

    def chain(self, root: str, moment: datetime, only: set[date] | None = None) -> Chain | None:
        """The root's chain at `moment`, every listed expiry or `only` those."""
        underlying = UNDERLYING[root]
        spot = self.price(underlying, moment)
        if spot is None:
            return None
        day = moment.astimezone(NEW_YORK).date()
        base = self.vix(moment) / 100.0
        if root == "QQQ":
            base *= QQQ_VOL_RATIO
        elif root in ("CL", "USO"):
            base = 1.1 * self.realised_vol("CL", day)
        self._new_day(day)
        expiries = self._expiries_today.get(root)
        if expiries is None:
            expiries = self._expiries_today[root] = self.expiries(root, day)
        if only is not None:
            expiries = [e for e in expiries if e in only]
        if root == "ES" and day.month in QUARTERLY_MONTHS and moment.astimezone(NEW_YORK).time() >= ES_LAST_TRADE:
            expiries = [e for e in expiries if e != day]  # today's quarterly stopped at the SOQ (09:30)
        if not expiries:
            return None
        (short_step, short_width), (long_step, long_width) = STRIKES[root]
        per_expiry = []
        for e in expiries:
            step, width = (short_step, short_width) if (e - day).days <= SHORT_DATED_DAYS else (long_step, long_width)
            lo, hi = math.ceil(spot * (1 - width) / step) * step, math.floor(spot * (1 + width) / step) * step
            ks = np.arange(lo, hi + step / 2, step)
            if (e - day).days <= SHORT_DATED_DAYS:
                ks = np.union1d(ks, self._still_listed(root, underlying, e, day, spot))
            per_expiry.append(ks)
        sizes = np.array([ks.size for ks in per_expiry])
        row = np.repeat(np.arange(len(expiries)), 2 * sizes)  # each expiry's calls, then its puts
        ordinals = np.array([e.toordinal() - _EPOCH_ORDINAL for e in expiries], dtype=np.int64)  # sorted
        expiry = ordinals[row]
        strike = np.concatenate([np.concatenate((ks, ks)) for ks in per_expiry]).astype(np.float64)
        is_call = np.concatenate([np.repeat(np.array([True, False]), n) for n in sizes])
        minute = 1.0 / (365 * 24 * 60)
        years = [
            max(pricing.year_fraction(moment, datetime.combine(e, time(16, 0), tzinfo=NEW_YORK)), minute)
            for e in expiries
        ]
        t = np.array(years)[row]
        sessions = np.array([self.sessions_to(moment, e) for e in expiries])[row]
        forward = spot if root in FUTURE_ROOTS else spot * np.exp(RATE * t)
        term = np.power(np.maximum(sessions / SESSIONS_PER_MONTH, 1e-3), self.surface.term_slope)
        smile = self.surface.smile(np.log(strike / forward), t * 365.0)
        trading_sigma = np.maximum(base * term * smile, 0.05)
        # The same variance on the calendar clock core/pricing uses, so the chain's IV is what a solver
        # would imply from its prices (0DTE IVs run far above VIX, as they do in the market).
        sigma = trading_sigma * np.sqrt(sessions / SESSIONS_PER_YEAR / t)
        if root in FUTURE_ROOTS:
            g = pricing.black76_greeks(spot, strike, t, sigma, RATE, is_call)
        else:
            g = pricing.bs_greeks(spot, strike, t, sigma, RATE, 0.0, is_call)
        tick = tick_array(root, g.price)
        least, share = HALF_SPREAD.get(root, DEFAULT_HALF_SPREAD)
        half = np.maximum(least, share * g.price)
        bid = np.maximum(np.floor((g.price - half) / tick) * tick, 0.0)
        ask = np.maximum(np.ceil((g.price + half) / tick) * tick, tick)
        return Chain(root, spot, moment, expiry, strike, is_call, bid, ask, sigma, g.delta, g.gamma, g.vega, g.theta)

    def _still_listed(self, root: str, underlying: str, expiry: date, day: date, spot: float) -> FloatArray:
        """The long-dated strikes an expiry gathered while it was more than SHORT_DATED_DAYS away: exchanges
        keep a listed strike to its expiry, so a LEAP's strike far from the price now is still quoted. The
        grid spans the long-dated band around every close from its listing to the session before `day` (no
        later price) and the price now; an expiry never listed that far out (a weekly) gathers none."""
        key = (root, expiry)
        found = self._listed.get(key)  # today's (`_new_day`)
        if found is not None:
            return found
        (_, _), (step, width) = STRIKES[root]
        limit = 400 if root in FUTURE_ROOTS else 760
        long_dated_on = expiry - timedelta(days=SHORT_DATED_DAYS + 1)
        found = np.empty(0)
        if expiry in self.expiries(root, long_dated_on):
            path = self.paths[underlying]
            first = bisect.bisect_left(path.days, expiry - timedelta(days=limit))
            last = bisect.bisect_left(path.days, min(day, long_dated_on + timedelta(days=1)))
            closes = np.append(path.close[first:last], spot) if last > first else np.array([spot])
            lo = math.ceil(float(closes.min()) * (1 - width) / step) * step
            hi = math.floor(float(closes.max()) * (1 + width) / step) * step
            found = np.arange(lo, hi + step / 2, step)
        self._listed[key] = found
        return found

    def sessions_to(self, moment: datetime, expiry: date) -> float:
        """Trading sessions from `moment` to the close of `expiry`: the rest of today's session as a fraction
        plus every whole session after today up to the expiry (the variance clock; module docstring)."""
        local = moment.astimezone(NEW_YORK)
        cal = self.calendars.equity
        self._new_day(local.date())
        if self._hours_today is None:
            self._hours_today = (cal.open_close(local.date()),)
        hours = self._hours_today[0]
        today = 0.0
        if hours is not None:
            opens, closes = hours
            today = min(max((closes - local) / (closes - opens), 0.0), 1.0)
        whole = self._whole_sessions.get(expiry)
        if whole is None:
            whole = self._whole_sessions[expiry] = cal.sessions_between(local.date(), expiry)
        return max(today + whole, MIN_SESSIONS)

    def _new_day(self, day: date) -> None:
        """The chains' per-session caches (listed expiries and strikes, whole sessions to each expiry) start
        again each session: nothing of one day is kept into the next."""
        if day != self._cache_day:
            self._cache_day = day
            self._expiries_today.clear()
            self._listed.clear()
            self._whole_sessions.clear()
            self._hours_today = None

    def snapshot(
        self, moment: datetime, roots: set[str], expiries: Mapping[str, set[date]] | None = None
    ) -> MarketSnapshot:
        day = moment.astimezone(NEW_YORK).date()
        chains = {}
        for root in sorted(roots):
            if root in UNDERLYING:
                c = self.chain(root, moment, expiries.get(root) if expiries is not None else None)
                if c is not None:
                    chains[root] = c
        prices = {}
        for name in ("SPX", "ES", "SPY", "QQQ", "CL", "USO"):
            p = self.price(name, moment)
            if p is not None:
                prices[name] = p
        prices["MES"] = prices.get("ES", 0.0)
        daily = {}
        for name in ("SPX", "SPY", "QQQ", "USO", "ES", "CL"):
            bars = self.daily_bars(name, day)
            if bars is not None:
                daily[name] = bars
        opened = {"SPX": self.price("SPX", datetime.combine(day, time(9, 30), tzinfo=NEW_YORK)) or 0.0}
        return MarketSnapshot(moment, prices, self.vix(moment), chains, daily, opened, {})

    def sessions(self, start: date, end: date) -> list[date]:
        days = self.paths["SPX"].days
        return [d for d in days if start <= d <= end and self.calendars.equity.is_session(d)]

    def next_day(self, day: date) -> date:
        return day + timedelta(days=1)


@functools.cache
def _tick_steps(root: str) -> tuple[float, float, float]:
    """(tick below, threshold, tick at and above) of core.products.option_tick, found once per root."""
    low, high = option_tick(root, 0.0), option_tick(root, 1e6)
    if low == high:
        return low, math.inf, high
    lo, hi = 0.0, 1e6
    for _ in range(60):  # bisect to the price where the tick changes
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if option_tick(root, mid) == low else (lo, mid)
    return low, round(hi, 6), high


def tick_array(root: str, prices: FloatArray) -> FloatArray:
    """The listed tick of each price, as the exchange quotes it (the fill checks round limits to the same
    ticks, so a quote off the tick would never be met)."""
    low, threshold, high = _tick_steps(root)
    return np.where(prices < threshold, low, high)


def with_bad_quotes(snapshot: MarketSnapshot, rng: random.Random, share: float = 0.05) -> MarketSnapshot:
    """The bad-quotes fault: a share of each chain's rows crossed, with a zero ask or a missing bid, as feeds
    deliver them now and then. The data checks must keep every one of them out of an order."""
    chains = {}
    for root, chain in snapshot.chains.items():
        bid, ask = chain.bid.copy(), chain.ask.copy()
        for row in range(len(chain)):
            if rng.random() < share:
                kind = rng.randrange(3)
                if kind == 0:
                    bid[row], ask[row] = ask[row] + 0.5, bid[row]  # crossed
                elif kind == 1:
                    ask[row] = 0.0
                else:
                    bid[row] = math.nan
        chains[root] = dataclasses.replace(chain, bid=bid, ask=ask)
    return dataclasses.replace(snapshot, chains=chains)
