"""The modelled market: real daily histories, intraday paths drawn from them, option chains priced by
core/pricing. Every output that uses it says "modelled prices".

Daily histories (replay/history, shipped with the project; 1999-03-10 to 2021-03-31, `span`): the S&P 500 as
SPX and ES (no basis), SPY × 10 standing in after 2018 (the report says so and by how much they differ); SPY,
QQQ and IWM from their own bars, adjusted for splits only; WTI as CL and, divided by `USO_DIVISOR`, as USO (a
spot-oil stand-in, not the fund); Cboe's VIX open, high, low and close. GLD, TLT and the other products have
no history here and so no chain: strategies that want them say "no chain", with the reason
(`why_no_chain`: not listed yet, no bar that day, crude not positive). Each option class exists from its
listing (`LISTED_FROM`; ETF weeklies from 2010-06-04, six SPXW weeklies at a time from 2014).

Inside a day (replay/intraday) each price is a random walk's path given the day's open, high, low and close:
a Brownian bridge through the two extremes at arcsine-drawn minutes, folded into the day's range; VIX runs
through its own bars against the index; crude from the previous close to the day's. Nothing of a later day
is read: `history_until` cuts every history at a date, and every decision before it stays the same.

Volatility (`SurfaceParameters`, fitted by `python -m replay.calibrate` on the real quotes of
../shared/lean-data, its error by bucket in README "Calibrated surface"): an ATM level at 21 sessions of
`atm_ratio` × VIX for the S&P 500 (SPX, SPXW, ES on the future, SPY), QQQ and IWM scaled by their realised
volatility over SPY's (`vol_ratio`), crude at its 20-day realised volatility × `CRUDE_PREMIUM` (no CL option
quotes to fit; assumed); other expiries by a mean-reverting variance toward `long_run_vol`, so long-dated
IV moves less than VIX; a smile in ln(K/F) whose put wing flattens to a variance linear in log-moneyness and
whose slopes shrink with time. Variance runs on the trading clock: n is the number of sessions left to the
expiry's close (the rest of today's session, carrying `intraday_share` of a session's variance, plus every
whole session after it), and σ is annualised over 252 sessions. Calendar time would give an option expiring
at 16:00 the variance of 5.5/8,760 of a year at 10:30 instead of 5.5/6.5 of a session's (1/298 of a year):
about 2.3 times too little volatility, which made a 0DTE short at half a daily ATR look like a 0.07 delta
instead of the 0.2-0.3 the market prices. The chain reports the same variance on core/pricing's calendar
clock (σ × √(n / 252 / T)).

Quotes: the model price ± a half-spread fitted on real SPXW, SPY and ES quotes (replay/spreads), on the
product's ticks. Listed strikes and expiries follow the products: SPXW with six Friday weeklies, the next
week's Monday and Wednesday weeklies from their launch in 2016 (Tuesdays and Thursdays from 2022), and a year
of end-of-month (from 2014-07-07, when Cboe listed them under SPXW) and third-Friday PM series (from
2017-05-01, SPXPM renamed SPXW); SPY/QQQ/IWM/USO monthlies (third Friday) out to two years (LEAPs) and, for
the three ETFs, six Friday weeklies and four end-of-quarter expiries; ES quarterly (quoted on their third
Friday until the 09:30 special opening quotation, when they stop with their future) and serial-month and CL
monthly future options. Settlement is the engine's: cash for index options and for ES quarterlies (at the
SOQ), delivery of shares or futures for the rest.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from core import pricing
from core.calendar import QUARTERLY_MONTHS, Calendars
from core.model import _EPOCH_ORDINAL, Chain, DailyBars, FloatArray, MarketSnapshot
from core.ports import EventCalendar
from core.products import option_tick, option_underlying
from replay import history, intraday, spreads
from replay.dividends import TABLE, TABLE_TICKERS, calendar_of, read_table
from replay.history import DailyHistory
from replay.intraday import day_shape

NEW_YORK = ZoneInfo("America/New_York")
USO_DIVISOR = 5.0
RATE = 0.02
SESSIONS_PER_YEAR = 252.0
SESSIONS_PER_MONTH = 21.0  # the 30 calendar days VIX measures
ES_LAST_TRADE = time(9, 30)  # E-mini S&P quarterly options (and their future) stop at the SOQ, 08:30 Chicago
MIN_SESSIONS = 1.0 / 390.0  # one minute of a regular session
LABEL = "modelled prices"
IntArray = npt.NDArray[np.int64]
Grid = tuple[IntArray, IntArray, FloatArray, npt.NDArray[np.bool_]]  # rows' expiry index, expiry, strike, call
CLOSE_ONLY = {"CL", "USO"}  # WTI has closes only: the day starts at the previous close
DEFAULT_SHAPE = (True, 11.0, 13.5)  # a day outside the index's history (never drawn on a session it has)
SPLIT_STEPS = np.array([0.5, 1.0])  # the split factors the ETF histories were adjusted by (replay/history)
NEGATIVE_WTI = date(2020, 4, 20)
CRUDE_PREMIUM = 1.1  # crude's implied over its 20-day realised volatility: assumed, no CL option quotes here
GAP_DAYS = 14  # a longer gap between two bars is missing data, said in the report (QQQ 2004-12 to 2011-03)


class SurfaceError(ValueError):
    """A parameter of the modelled market (the surface, the spot-vol correlation) out of its range."""


SURFACE_RANGES = {
    "atm_ratio": (0.5, 1.2),
    "long_run_vol": (0.05, 0.6),
    "reversion_per_year": (0.01, 20.0),
    "skew_put": (0.0, 20.0),
    "put_wing": (0.05, 100.0),
    "skew_call": (0.0, 20.0),
    "skew_horizon_days": (1.0, 3650.0),
    "skew_decay": (0.0, 1.0),
    "call_floor": (0.05, 1.0),
    "intraday_share": (0.3, 1.0),
    "term_slope": (-1.0, 1.0),
}
MONTH_YEARS = 21.0 / 252.0  # VIX's 30 calendar days on the trading clock
VOL_FLOOR = 0.05


@dataclass
class SurfaceParameters:
    """The volatility surface's shape (module docstring), fitted by `python -m replay.calibrate` on the real
    quotes of ../shared/lean-data (replay/calibration.json and README "Calibrated surface" give the fit and
    its error by bucket; the defaults below are that fit's, rounded).

    ATM: the 21-session ATM volatility is `atm_ratio` × VIX (VIX is a variance-swap rate, which prices the
    whole skew, so it sits above the ATM level), and so is every shorter expiry's; longer ones follow the
    expected average variance of a mean-reverting variance, L² + (σ₂₁² − L²)·a(τ)/a(21 sessions) with
    a(τ) = (1 − e^(−κτ))/(κτ), L `long_run_vol` and κ `reversion_per_year`: long-dated IV moves less than VIX.
    Smile, as a ratio to ATM at u = skew × scale × |ln(K/F)|: the put side is √(1 + 2u + u²/(1 + u/put_wing)),
    1 + u near the money and flattening to a variance linear in ln(K/F) far out (Lee's moment bound: total
    variance can grow at most linearly in log-moneyness); the call side falls linearly to `call_floor`. The
    slopes shrink with (skew_horizon_days / days)^skew_decay beyond the horizon.
    Clock: a whole session ahead carries a session's variance (overnight gap included); what is left of
    today's session carries `intraday_share` of one in proportion (the overnight gap is not in it: a 0DTE at
    10:00 is priced off the session's own variance), and a night before a 09:30 settlement the rest.
    `term_slope` is an extra power of (sessions / 21) on the ATM level, 0 in the fit, kept for --surface
    experiments."""

    atm_ratio: float = 0.741
    long_run_vol: float = 0.179
    reversion_per_year: float = 5.02
    skew_put: float = 13.2  # relative IV per unit of ln(K/F) below the forward, near the money
    put_wing: float = 0.05  # where the put wing turns from quadratic to linear variance (in units of u)
    skew_call: float = 4.85  # above it (the call wing falls more slowly than a line through the puts)
    skew_horizon_days: float = 37.8  # beyond it the slopes shrink with (horizon / days)^skew_decay
    skew_decay: float = 0.694
    call_floor: float = 0.793  # the call wing never falls under this share of the ATM volatility
    intraday_share: float = 0.642  # of a session's close-to-close variance, the part between its open and close
    term_slope: float = 0.0

    @classmethod
    def before_calibration(cls) -> SurfaceParameters:
        """The surface the replay priced with before `python -m replay.calibrate` (issue #18): ATM at VIX
        (atm_ratio 1), every expiry moving one-for-one with it (no reversion), a put wing that never flattens
        (put_wing ∞: IV / ATM = 1 + u), the whole of today's session on the variance clock and a term power of
        0.05. Reported beside the fit, and kept so that scenario tests found on that market still meet their
        scenario."""
        return cls(
            atm_ratio=1.0,
            long_run_vol=0.2,
            reversion_per_year=0.0,
            skew_put=5.0,
            put_wing=math.inf,
            skew_call=3.0,
            skew_horizon_days=90.0,
            skew_decay=0.5,
            call_floor=0.6,
            intraday_share=1.0,
            term_slope=0.05,
        )

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

    def variance_sessions(self, today: FloatArray, whole: FloatArray, nights: FloatArray | float = 0.0) -> FloatArray:
        """Sessions' worth of variance to an expiry: `today`, the share of today's session still to run; `whole`,
        the whole sessions after today up to the expiry's; `nights`, 1 when it settles at the next 09:30
        (the night before it, without that day's session)."""
        out: FloatArray = np.maximum(
            self.intraday_share * today + whole + (1.0 - self.intraday_share) * np.asarray(nights), MIN_SESSIONS
        )
        return out

    def atm(self, month_level: FloatArray | float, long_run: FloatArray | float, sessions: FloatArray) -> FloatArray:
        """ATM volatility on the trading clock for `sessions` to expiry, given the 21-session ATM level and the
        long-run level it reverts to (both annualised)."""
        kappa = self.reversion_per_year
        long_var = np.square(long_run)

        def average(years: FloatArray | float) -> FloatArray:  # (1 − e^(−κτ)) / (κτ), 1 at τ = 0
            x = np.maximum(kappa * np.asarray(years, dtype=np.float64), 1e-12)
            out: FloatArray = -np.expm1(-x) / x
            return out

        # Beyond a month, the average of a variance reverting from where it must start to average the month's
        # level over the first 21 sessions; inside the month, the month's level: extrapolating the reversion
        # inward gave a 0DTE at VIX 11 an instantaneous volatility under 4% (no 0DTE traded in 2007).
        sessions = np.asarray(sessions, dtype=np.float64)
        if kappa > 0:
            years = sessions / SESSIONS_PER_YEAR
            weight = average(np.maximum(years, MONTH_YEARS)) / average(MONTH_YEARS)
            level = np.sqrt(np.maximum(long_var + (np.square(month_level) - long_var) * weight, VOL_FLOOR**2))
        else:  # no reversion: every expiry at the month's level (the surface before calibration)
            level = np.asarray(month_level, dtype=np.float64)
        term: FloatArray = level * np.power(np.maximum(sessions / SESSIONS_PER_MONTH, 1e-3), self.term_slope)
        return term

    def smile(self, moneyness: FloatArray, days: FloatArray) -> FloatArray:
        """IV / ATM IV at ln(K/F) `moneyness` for options `days` calendar days out."""
        ratio = self.skew_horizon_days / np.maximum(days, self.skew_horizon_days)
        scale = np.sqrt(ratio) if self.skew_decay == 0.5 else np.power(ratio, self.skew_decay)
        u = self.skew_put * scale * np.maximum(-moneyness, 0.0)
        # put_wing ∞: a straight line that never flattens (the surface before calibration)
        wing = self.put_wing
        below = 1.0 + u if math.isinf(wing) else np.sqrt(1.0 + 2.0 * u + u * u / (1.0 + u / wing))
        above = np.maximum(1.0 - self.skew_call * scale * np.maximum(moneyness, 0.0), self.call_floor)
        shape: FloatArray = np.where(moneyness < 0.0, below, above)
        return shape

    def implied_vol(
        self,
        month_level: FloatArray | float,
        long_run: FloatArray | float,
        moneyness: FloatArray,
        sessions: FloatArray,
        years: FloatArray,
    ) -> FloatArray:
        """The surface's IV on core/pricing's calendar clock (`years` ACT/365 to expiry) for options `sessions`
        to expiry at ln(K/F) `moneyness`: the trading-clock volatility, floored at 5%, carrying the same
        variance over the calendar time (module docstring)."""
        trading = np.maximum(
            self.atm(month_level, long_run, sessions) * self.smile(moneyness, years * 365.0), VOL_FLOOR
        )
        out: FloatArray = trading * np.sqrt(sessions / SESSIONS_PER_YEAR / years)
        return out

    def vix_implied_vol(
        self, vix: FloatArray | float, moneyness: FloatArray, sessions: FloatArray, years: FloatArray
    ) -> FloatArray:  # `sessions` as `variance_sessions` counts them
        """`implied_vol` for the S&P 500 (SPX, SPXW, ES, SPY), anchored on VIX (in points)."""
        return self.implied_vol(self.month_atm(vix), self.long_run_vol, moneyness, sessions, years)

    def month_atm(self, vix: FloatArray | float) -> FloatArray:
        """The S&P 500's ATM volatility 21 sessions out for a VIX level (in points). A ratio, not an offset:
        fitting `ratio × VIX − offset` gave a negative offset and a worse held-out error (README)."""
        out: FloatArray = self.atm_ratio * np.asarray(vix, dtype=np.float64) / 100.0
        return out


def load_paths(until: date | None = None) -> tuple[dict[str, DailyHistory], date]:
    """The daily histories (replay/history), cut at `until`, by the root each stands for; and the first day
    SPY × 10 stands in for the S&P 500."""
    sp, stand_in = history.sp500(until)
    wti = history.load("wti", until)
    paths = {
        "SPX": sp,
        "ES": sp,
        "SPY": history.load("spy", until),
        "QQQ": history.load("qqq", until),
        "IWM": history.load("iwm", until),
        "CL": wti,
        "USO": wti.scaled(1.0 / USO_DIVISOR),
        "VIX": history.load("vix", until),
    }
    return paths, stand_in


# Strikes: (step, half-width as a share of price) for short-dated and long-dated expiries.
SHORT_DATED_DAYS = 60
STRIKES = {
    "SPXW": ((5.0, 0.05), (25.0, 0.30)),
    "SPY": ((1.0, 0.20), (5.0, 0.45)),
    "QQQ": ((1.0, 0.20), (5.0, 0.45)),
    "IWM": ((1.0, 0.20), (5.0, 0.45)),
    "USO": ((0.5, 0.40), (0.5, 0.60)),
    "ES": ((25.0, 0.25), (25.0, 0.35)),
    "CL": ((0.5, 0.40), (0.5, 0.60)),
}
UNDERLYING = {"SPXW": "SPX", "SPY": "SPY", "QQQ": "QQQ", "IWM": "IWM", "USO": "USO", "ES": "ES", "CL": "CL"}
FUTURE_ROOTS = {"ES", "CL"}
WEEKLY_ROOTS = {"SPY", "QQQ", "IWM"}  # Friday weeklies from ETF_WEEKLIES_FROM
WEEKLY_COUNT = 6
QUARTERLY_COUNT = 4  # ETF quarterlies: the last session of March, June, September and December
# When each option class was first listed; before it the modelled market has no chain for it ("no chain",
# with the date). SPY: 2005-01-10, on six exchanges at once (etf.com, "And Then There Were Six", 2005-01-10).
# QQQ and IWM: assumed from the fund's first bar (QQQ's options were listed on AMEX the month it launched;
# IWM's traded on CBOE and ISE by 2004, their first day is not known here). USO: the fund's launch,
# 2006-04-10 (its options came later). SPXW Fridays: Cboe's first Weeklys, October 2005 (first Friday
# approximate).
LISTED_FROM = {
    "SPY": date(2005, 1, 10),
    "QQQ": date(1999, 3, 10),
    "IWM": date(2000, 5, 26),
    "USO": date(2006, 4, 10),
    "SPXW": date(2005, 10, 28),
}
# ETF Weeklys (SPY, QQQ, IWM, DIA) from 2010-06-04 (Cboe press release of 2010-06-03); the quarterlies are
# assumed listed from the same day. Before January 2014 Cboe listed one SPXW weekly at a time; RG14-010 made
# it six consecutive expirations.
ETF_WEEKLIES_FROM = date(2010, 6, 4)
SPXW_SIX_WEEKLIES_FROM = date(2014, 1, 2)
# QQQ and IWM volatility: VIX times their realised volatility over SPY's across this many sessions before the
# day (QQQ ran at 1.6× SPY's over 1999-2021 and 1.15× since 2005; IWM 1.25×), kept within VOL_RATIO_RANGE.
VOL_RATIO_SESSIONS = 60
VOL_RATIO_RANGE = (0.8, 2.5)

SPXW_EOM_FROM = date(2014, 7, 7)  # Cboe's end-of-month SPXW series (and end-of-quarter moved into SPXW)
SPXW_THIRD_FRIDAY_FROM = date(2017, 5, 1)  # SPXPM's third-Friday PM series renamed SPXW (Cboe RG17-002)
SPXW_LONG_MONTHS = 12


def _months(day: date, count: int) -> list[tuple[int, int]]:
    """(year, month) of `day`'s month and the `count` - 1 after it."""
    return [(day.year + (day.month - 1 + k) // 12, (day.month - 1 + k) % 12 + 1) for k in range(count)]


class ModelledMarket:
    source = "modelled"
    label = LABEL

    @property
    def problems(self) -> list[str]:
        return []  # it reads no files, so it never meets an odd one

    @property
    def price_notes(self) -> set[str]:
        notes = {
            f"modelled volatility surface: {self.surface.describe()}",
            f"intraday VIX noise correlated with the index's at {self.spot_vol_correlation:g}",
        }
        if self._window is not None:
            notes.update(self.notes(*self._window))
        return notes

    def __init__(
        self,
        calendars: Calendars,
        seed: int = 7,
        surface: SurfaceParameters | None = None,
        history_until: date | None = None,
        spot_vol_correlation: float = intraday.SPOT_VOL_CORRELATION,
        quotes: spreads.SpreadParameters | None = None,
    ) -> None:
        if not -1.0 <= spot_vol_correlation <= 1.0:
            raise SurfaceError("a correlation is between -1 and 1")
        self.calendars = calendars
        self.paths, self.spx_stand_in = load_paths(history_until)
        self.history_until = history_until
        self.spot_vol_correlation = spot_vol_correlation
        self.seed = seed
        self.surface = surface or SurfaceParameters()
        self.spreads = quotes or spreads.SpreadParameters()
        self._shape = {d: day_shape(random.Random(f"{seed}-{d}")) for d in self.paths["SPX"].days}
        self._intraday: dict[tuple[str, date], FloatArray] = {}  # `_day_path`, a few sessions' worth
        self._window: tuple[date, date] | None = None  # the sessions last asked for: the notes are about them
        self._session_minutes: dict[date, tuple[datetime, int]] = {}
        self._cache_day: date | None = None  # the session the caches below are for (`_new_day`)
        self._listed: dict[tuple[str, date], FloatArray] = {}  # `_still_listed`
        self._whole_sessions: dict[date, float] = {}
        self._vol_ratio_today: dict[str, float] = {}
        self._expiries_memo: dict[tuple[str, date], list[date]] = {}  # `expiries`, for the run
        self._grids: dict[object, Grid] = {}  # `chain`'s strike grids, by their bands
        self._bars_today: dict[str, DailyBars | None] = {}
        self._hours_today: tuple[tuple[datetime, datetime] | None] | None = None

    def span(self) -> tuple[date, date]:
        """The days every default product has a history for (QQQ's first bar, 1999-03-10, to the ETF bars'
        last, 2021-03-31, or `history_until`); IWM starts later (2000-05-26) and has no chain before."""
        roots = ("SPX", "SPY", "QQQ", "VIX", "CL")
        return max(self.paths[r].days[0] for r in roots), min(self.paths[r].days[-1] for r in roots)

    def notes(self, start: date, end: date) -> list[str]:
        """What a report of this window must say about the histories it stands on."""
        out = []
        if end >= self.spx_stand_in:
            mean, worst = history.stand_in_difference()
            out.append(
                f"SPX and ES are SPY × 10 from {self.spx_stand_in} (the S&P 500 index history ends the session"
                f" before); over 1999-2018 the two closes differ by {mean:.1f}% on average, {worst:.1f}% at most"
            )
        for root in ("QQQ", "IWM", "SPY"):
            days = self.paths[root].days
            for a, b in itertools.pairwise(days):
                if (b - a).days > GAP_DAYS and a < end and b > start:
                    out.append(f"{root} has no bars between {a} and {b} in LEAN's sample data: no {root} chain then")
        out.append(
            "USO is WTI ÷ 5: a spot-oil stand-in, not the fund's price (the fund rolled futures through"
            " contango for years and reverse-split 1-for-8 on 2020-04-28)"
        )
        if start <= NEGATIVE_WTI <= end:
            out.append(f"WTI closed at −36.98 on {NEGATIVE_WTI}: no CL or USO option is priced that day")
        return out

    def events(self) -> EventCalendar | None:
        """SPY's, QQQ's and IWM's real ex-dividend dates (replay/dividends), on the real split-adjusted prices
        the modelled ETFs follow: each amount (as paid) times the split factor in effect, the history's close
        over the paid price's reference close on the session before (½ for IWM before its 2005 split, else
        1). The factor is read from the whole history, so `history_until` leaves the calendar as it is: an
        ex-date is announced weeks ahead, and a live events file lists it then too."""
        full = {root: history.load(root.lower()) for root in TABLE_TICKERS}
        kept, scale = [], {}
        for d in read_table(TABLE.read_text()):
            path = full.get(d.root)
            before = self.calendars.equity.previous_session(d.ex_date)
            i = None if path is None else path.index.get(before)
            if path is not None and i is not None and d.reference_close > 0:
                kept.append(d)
                ratio = path.close[i] / d.reference_close
                scale[(d.root, d.ex_date)] = float(SPLIT_STEPS[int(np.argmin(np.abs(SPLIT_STEPS - ratio)))])
        source = "SPY/QQQ/IWM ex-dates (LEAN factor files), amounts on split-adjusted prices"
        return calendar_of(kept, source, lambda d: scale[(d.root, d.ex_date)])

    # ------------------------------------------------------------------ prices

    def _minutes(self, local: datetime) -> tuple[int, int]:
        """(minute of the session `local` falls in, clamped to 0..n; n, the session's length in minutes): the
        equity session of the day, early closes included (a day the calendar lacks runs 09:30-16:00)."""
        day = local.date()
        found = self._session_minutes.get(day)
        if found is None:
            hours = self.calendars.equity.open_close(day) if self.calendars.equity.is_session(day) else None
            if hours is None:
                opens = datetime.combine(day, time(9, 30), tzinfo=NEW_YORK)
                hours = (opens, opens + timedelta(hours=6, minutes=30))
            found = self._session_minutes[day] = (hours[0], int((hours[1] - hours[0]).total_seconds() // 60))
        opens, n = found
        return min(max(int((local - opens).total_seconds() // 60), 0), n), n

    def _day_path(self, root: str, day: date, n: int) -> FloatArray:
        """One root's path over one session (replay/intraday), drawn once and kept for a few sessions. SPX, ES
        and SPY share the index's draws and extreme times; QQQ and IWM draw their own, correlated with it; VIX
        takes the index's extreme times the other way round; USO is crude's path ÷ 5."""
        name = "SPX" if root == "ES" else "CL" if root == "USO" else root
        key = (name, day)
        values = self._intraday.get(key)
        if values is None:
            if len(self._intraday) > 64:
                self._intraday.clear()
            path = self.paths[name]
            i = path.index[day]
            index_z = intraday.normals(self.seed, day, "SPX", n)
            if name == "CL":
                previous = float(path.close[i - 1]) if i > 0 else float(path.close[i])
                daily_vol = self.realised_vol("CL", day) / math.sqrt(SESSIONS_PER_YEAR)
                z = intraday.normals(self.seed, day, "CL", n)
                values = intraday.close_to_close_path(previous, float(path.close[i]), daily_vol, n, z)
            else:
                if name in intraday.INDEX_CORRELATION:
                    shape = day_shape(random.Random(f"{self.seed}-{name}-{day}"))
                    own = intraday.normals(self.seed, day, name, n)
                    z = intraday.correlated(index_z, own, intraday.INDEX_CORRELATION[name])
                elif name == "VIX":  # its high when the index makes its low, its noise against the index's
                    high_first, first, second = self._shape.get(day, DEFAULT_SHAPE)
                    shape = (not high_first, first, second)
                    own = intraday.normals(self.seed, day, "VIX", n)
                    z = intraday.correlated(index_z, own, self.spot_vol_correlation)
                else:
                    shape, z = self._shape.get(day, DEFAULT_SHAPE), index_z
                bars = (float(path.open[i]), float(path.high[i]), float(path.low[i]), float(path.close[i]))
                values = intraday.ohlc_path(*bars, n, shape, z)
            self._intraday[key] = values
        return values / USO_DIVISOR if root == "USO" else values

    def price(self, root: str, moment: datetime) -> float | None:
        """The modelled price of an underlying at a moment of a session, on the minute it falls in (None when
        the history has no such day, and for USO when crude is not positive: a fund's price cannot be)."""
        path = self.paths.get(root)
        local = moment.astimezone(NEW_YORK)
        day = local.date()
        i = None if path is None else path.index.get(day)
        if path is None or i is None:
            return None
        minute, n = self._minutes(local)
        if minute >= n:
            value = float(path.close[i])
        elif minute == 0 and root not in CLOSE_ONLY:
            value = float(path.open[i])
        else:
            value = float(self._day_path(root, day, n)[minute])
        if value <= 0 and root == "USO":
            return None
        return value

    def vix(self, moment: datetime) -> float:
        """VIX through the session (replay/intraday): from the day's open through its high and low, which come
        when the index makes its low and high, to its close; a morning decision sees neither the afternoon's
        close nor its extremes (2018-02-05 opened at 18.44 and closed at 37.32)."""
        level = self.price("VIX", moment)
        if level is None:  # a session the VIX history lacks
            return 100.0 * self.realised_vol("SPX", moment.astimezone(NEW_YORK).date())
        return level

    def realised_vol(self, root: str, day: date, days: int = 20) -> float:
        """Annualised deviation of the `days` daily log changes before `day`; a change from or to a price that
        is not positive (WTI around 2020-04-20) is left out."""
        path = self.paths[root]
        i = path.index.get(day)
        if i is None or i < days + 1:
            return 0.2
        closes = path.close[i - days - 1 : i]
        ok = (closes[:-1] > 0) & (closes[1:] > 0)
        if ok.sum() < 2:
            return 0.2
        changes = np.log(np.where(ok, closes[1:], 1.0) / np.where(ok, closes[:-1], 1.0))[ok]
        return float(np.std(changes, ddof=1) * math.sqrt(252))

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
        """The expiries listed for `root` on `day`."""
        return list(self._listed_expiries(root, day))

    def _listed_expiries(self, root: str, day: date) -> list[date]:
        """`expiries`, found once and kept for the run (a fact of the calendar: `_still_listed` asks for the
        listing of a day long past at every chain); not to be changed by the caller."""
        key = (root, day)
        found = self._expiries_memo.get(key)
        if found is None:
            found = self._expiries_memo[key] = self._listing(root, day)
        return found

    def _listing(self, root: str, day: date) -> list[date]:
        first = LISTED_FROM.get(root)
        if first is not None and day < first:
            return []
        if root == "SPXW":
            return self._spxw_expiries(day)
        out: list[date] = []
        for year, month in _months(day, 26):
            if root == "ES" and month in QUARTERLY_MONTHS:
                out.append(self.calendars.es_quarterly_expiry(year, month))
            else:  # equity monthlies, and ES serial-month options (on the next quarterly future)
                out.append(self.calendars.monthly_expiry(year, month))
        if root in WEEKLY_ROOTS and day >= ETF_WEEKLIES_FROM:
            out.extend(self._weeklies(day))
            out.extend(self._quarter_ends(day))
        limit = 400 if root in FUTURE_ROOTS else 760
        return sorted({e for e in out if 0 <= (e - day).days <= limit})  # quoted on expiry day until the close

    def _spxw_expiries(self, day: date) -> list[date]:
        """SPXW as Cboe lists it (module docstring): six Friday weeklies, the other weekdays' weeklies of the
        next week from their launch (core/calendar.spxw_expiries: Wednesdays 2016-03, Mondays 2016-08,
        Tuesdays and Thursdays 2022), and from their launch the end-of-month (2014-07-07, the quarter ends
        among them) and third-Friday PM (2017-05-01) series for a year."""
        weeklies = self._weeklies(day) if day >= SPXW_SIX_WEEKLIES_FROM else self._weeklies(day)[:1]
        out = {*weeklies, *self.calendars.spxw_expiries(day, day + timedelta(days=7))}
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
        if spot is None or self.why_no_chain(root, moment) is not None:
            return None
        day = moment.astimezone(NEW_YORK).date()
        self._new_day(day)  # before any per-session cache below is read
        # The 21-session ATM level and the long-run level it reverts to: the S&P 500's from VIX; QQQ's and
        # IWM's scaled by their realised volatility over SPY's; crude's from WTI's own realised volatility
        # with a premium (no CL option quotes to fit: `CRUDE_PREMIUM` is assumed), flat in time.
        month_level = float(self.surface.month_atm(self.vix(moment)))
        long_run = self.surface.long_run_vol
        if root in ("QQQ", "IWM"):
            ratio = self.vol_ratio(root, day)
            month_level, long_run = month_level * ratio, long_run * ratio
        elif root in ("CL", "USO"):
            month_level = long_run = CRUDE_PREMIUM * self.realised_vol("CL", day)
        expiries = self._listed_expiries(root, day)
        if only is not None:
            expiries = [e for e in expiries if e in only]
        if root == "ES" and day.month in QUARTERLY_MONTHS and moment.astimezone(NEW_YORK).time() >= ES_LAST_TRADE:
            expiries = [e for e in expiries if e != day]  # today's quarterly stopped at the SOQ (09:30)
        if not expiries:
            return None
        (short_step, short_width), (long_step, long_width) = STRIKES[root]
        bands = []
        for e in expiries:
            step, width = (short_step, short_width) if (e - day).days <= SHORT_DATED_DAYS else (long_step, long_width)
            lo, hi = math.ceil(spot * (1 - width) / step) * step, math.floor(spot * (1 + width) / step) * step
            bands.append((e, lo, hi, step))
        # The grid changes only when the price crosses a strike step: kept for the session by its bands.
        key = (root, tuple(bands))
        grid = self._grids.get(key)
        if grid is None:
            per_expiry = []
            for e, lo, hi, step in bands:
                ks = np.arange(lo, hi + step / 2, step)
                if (e - day).days <= SHORT_DATED_DAYS:
                    ks = np.union1d(ks, self._still_listed(root, underlying, e, day, spot))
                per_expiry.append(ks[ks > 0])  # no strike at or under zero (crude near and after 2020-04-20)
            sizes = np.array([ks.size for ks in per_expiry])
            row = np.repeat(np.arange(len(expiries)), 2 * sizes)  # each expiry's calls, then its puts
            ordinals = np.array([e.toordinal() - _EPOCH_ORDINAL for e in expiries], dtype=np.int64)  # sorted
            strikes = np.concatenate([np.concatenate((ks, ks)) for ks in per_expiry]).astype(np.float64)
            calls = np.concatenate([np.repeat(np.array([True, False]), n) for n in sizes])
            grid = self._grids[key] = (row, ordinals[row], strikes, calls)
        row, expiry, strike, is_call = grid
        minute = 1.0 / (365 * 24 * 60)
        years = [
            max(pricing.year_fraction(moment, datetime.combine(e, time(16, 0), tzinfo=NEW_YORK)), minute)
            for e in expiries
        ]
        t = np.array(years)[row]
        parts = np.array([self.session_parts(moment, e) for e in expiries])[row]
        sessions = self.surface.variance_sessions(parts[:, 0], parts[:, 1])
        forward = spot if root in FUTURE_ROOTS else spot * np.exp(RATE * t)
        # The chain reports the surface's variance on the calendar clock core/pricing uses, so its IV is what
        # a solver would imply from its prices (0DTE IVs run far above VIX, as they do in the market).
        sigma = self.surface.implied_vol(month_level, long_run, np.log(strike / forward), sessions, t)
        if root in FUTURE_ROOTS:
            g = pricing.black76_greeks(spot, strike, t, sigma, RATE, is_call)
        else:
            g = pricing.bs_greeks(spot, strike, t, sigma, RATE, 0.0, is_call)
        half = self.spreads.half_spread(root, g.price, self.vix(moment))
        bid, ask = self.spreads.quotes(g.price, half, tick_array(root, g.price))
        return Chain(root, spot, moment, expiry, strike, is_call, bid, ask, sigma, g.delta, g.gamma, g.vega, g.theta)

    def why_no_chain(self, root: str, moment: datetime) -> str | None:
        """Why the root has no chain at `moment`, or None when it has one to price: not listed yet, no bar
        that day, or crude not positive at any minute of the day so far (Black-76 has no meaning for a
        negative forward; CME moved CL options to the Bachelier model that week)."""
        underlying = UNDERLYING.get(root)
        if underlying is None:
            return f"{root} has no modelled history"
        local = moment.astimezone(NEW_YORK)
        day = local.date()
        first = LISTED_FROM.get(root)
        if first is not None and day < first:
            return f"{root} options were first listed on {first}"
        path = self.paths[underlying]
        if day not in path.index:
            k = bisect.bisect_left(path.days, day)
            if 0 < k < len(path.days):
                gap = f"none between {path.days[k - 1]} and {path.days[k]}"
            else:
                gap = f"it runs {path.days[0]} to {path.days[-1]}"
            return f"no {underlying} bar on {day} (the history has {gap})"
        if underlying in CLOSE_ONLY:
            minute, n = self._minutes(local)
            so_far = self._day_path(underlying, day, n)[: minute + 1]
            if float(so_far.min()) <= 0:
                return f"{underlying} printed {float(so_far.min()):.2f} today: no option is priced on a price ≤ 0"
        if not self._listed_expiries(root, day):
            return f"no {root} expiry listed on {day}"
        return None

    def vol_ratio(self, root: str, day: date) -> float:
        """The root's realised volatility over SPY's across the `VOL_RATIO_SESSIONS` before `day`, kept in
        `VOL_RATIO_RANGE` (1 where either lacks the sessions)."""
        self._new_day(day)
        found = self._vol_ratio_today.get(root)
        if found is None:
            ours = self.realised_vol(root, day, VOL_RATIO_SESSIONS)
            spy = self.realised_vol("SPY", day, VOL_RATIO_SESSIONS)
            low, high = VOL_RATIO_RANGE
            found = self._vol_ratio_today[root] = min(max(ours / spy, low), high) if ours > 0 and spy > 0 else 1.0
        return found

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
        if expiry in self._listed_expiries(root, long_dated_on):
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
        """Trading sessions from `moment` to the close of `expiry` (`session_parts` summed), at least a minute."""
        today, whole = self.session_parts(moment, expiry)
        return max(today + whole, MIN_SESSIONS)

    def session_parts(self, moment: datetime, expiry: date) -> tuple[float, float]:
        """(the rest of today's session as a fraction, every whole session after today up to the expiry) from
        `moment` to the close of `expiry`: the variance clock (module docstring, SurfaceParameters)."""
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
        return today, float(whole)

    def _new_day(self, day: date) -> None:
        """The chains' per-session caches (strikes, whole sessions to each expiry, volatility ratios, daily
        bars) start again each session: nothing of one day's prices is kept into the next."""
        if day != self._cache_day:
            self._cache_day = day
            self._listed.clear()
            self._whole_sessions.clear()
            self._vol_ratio_today.clear()
            self._grids.clear()
            self._bars_today.clear()
            self._hours_today = None

    def snapshot(
        self, moment: datetime, roots: set[str], expiries: Mapping[str, set[date]] | None = None
    ) -> MarketSnapshot:
        day = moment.astimezone(NEW_YORK).date()
        chains = {}
        missing = {}
        for root in sorted(roots):
            if root in UNDERLYING:
                c = self.chain(root, moment, expiries.get(root) if expiries is not None else None)
                if c is not None:
                    chains[root] = c
                else:
                    missing[root] = self.why_no_chain(root, moment) or "none of its expiries is listed"
        prices = {}
        for name in ("SPX", "ES", "SPY", "QQQ", "IWM", "CL", "USO"):
            p = self.price(name, moment)
            if p is not None:
                prices[name] = p
        prices["MES"] = prices.get("ES", 0.0)
        self._new_day(day)
        if not self._bars_today:  # completed sessions: the same all day
            for name in ("SPX", "SPY", "QQQ", "IWM", "USO", "ES", "CL"):
                self._bars_today[name] = self.daily_bars(name, day)
        daily = {name: bars for name, bars in self._bars_today.items() if bars is not None}
        opened = {"SPX": self.price("SPX", datetime.combine(day, time(9, 30), tzinfo=NEW_YORK)) or 0.0}
        return MarketSnapshot(moment, prices, self.vix(moment), chains, daily, opened, {}, missing)

    def sessions(self, start: date, end: date) -> list[date]:
        first, last = self.span()
        self._window = (max(start, first), min(end, last))
        days = [d for d in self.paths["SPX"].days if first <= d <= last]
        return [d for d in days if start <= d <= end and self.calendars.equity.is_session(d)]

    def next_day(self, day: date) -> date:
        return day + timedelta(days=1)

    def benchmark_closes(self, start: date, end: date) -> list[tuple[date, float]] | None:
        """SPY's daily closes from `start` to `end`, both included: the report's buy-and-hold benchmark
        (replay/statistics). The modelled SPY is the fund's own price, adjusted for splits only: price only,
        no dividends."""
        spy = self.paths["SPY"]
        return [(d, float(c)) for d, c in zip(spy.days, spy.close, strict=True) if start <= d <= end]


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
