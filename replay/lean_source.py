"""The `lean` data source: market snapshots read from a folder in LEAN's format (a `lean data download`
folder or ../shared/lean-data), for the replay.

Built so far: SPX and its SPXW options (REFERENCE.md "LEAN data format"):
- SPX from index minute trades (`index/usa/minute/spx/<day>_trade.zip`, America/Chicago, plain prices), else
  the latest completed hour bar (`index/usa/hour/spx.zip`), else, when the day has no index data at all,
  put-call parity on the SPXW pair nearest the money (labelled so in the report);
- SPX daily bars (`index/usa/daily/spx.zip`) for ATRs and ranges;
- SPXW minute quotes (`indexoption/usa/minute/spxw/<day>_quote_european.zip`, America/New_York, ×10000),
  each contract's latest quote at or before the moment, with model Greeks from core/chain_greeks; on a day
  without them, the previous session's universe file (`indexoption/usa/universes/spxw/<YYYYMMDD>.csv`,
  closes as bid and ask) without the day's own expiry: a 0DTE never trades on yesterday's closes.
- ES: the front quarterly future's minute trades (`future/cme/minute/es/<UTC day>_trade.zip`, one CSV per
  contract month, UTC, plain prices) and its options' minute quotes
  (`futureoption/cme/minute/es/<YYYYMM>/<UTC day>_quote_american.zip`), with Black-76 model Greeks; on a day
  without ES trades, the previous CME session's universe file (`futureoption/cme/universes/es/<YYYYMM>/
  <YYYYMMDD>.csv`): the future's close from its underlying line, its options' closes as bid and ask.
- VIX from `index/usa/{minute,hour,daily}/vix` when the folder has it (the sample does not: its snapshots
  carry `vix=None` and the rules that need it say so).
- SPY, QQQ and IWM with their options (replay/lean_equities.py): minute or daily bars, minute option quotes
  or the previous session's universe file.
- ES daily bars of the contract front on the day (`future/cme/daily/es_trade.zip`).
- Sessions, holidays and early closes: core/calendar's, with the folder's market-hours database applied over
  the replayed dates (replay/lean_hours.py; the engine runs on the same calendars).
A universe file for a date is read from the next session on: LEAN makes it available one day after its date
(BaseChainUniverseData.EndTime). Not read: AM-settled SPX options and NQX (`indexoption/usa/*/spx`, `nqx`):
no strategy trades them (LT112 on SPX trades SPXW, core/products.option_root); the report says so when the
folder has them.

Odd files are reported once each and skipped: a `*.zip.zip` name, a zip that cannot be opened (truncated),
a CSV with no rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from core.calendar import Calendars
from core.chain_greeks import PricingModel
from core.model import Chain, DailyBars, MarketSnapshot, Right
from core.ports import EventCalendar
from replay.dividends import calendar_of, folder_dividends
from replay.lean_equities import ROOTS as EQUITY_ROOTS
from replay.lean_equities import LeanEquities
from replay.lean_files import (
    MINUTE_MS,
    SPX_DIVIDEND_YIELD,
    LeanFiles,
    Quotes,
    Universe,
    bars_before,
    daily_rows,
    known_close_day,
    latest,
    minute_of,
    priced_chain,
    rows_chain,
    universe_rows,
)
from replay.lean_hours import apply_market_hours

NEW_YORK = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
UTC = ZoneInfo("UTC")


@dataclass
class LeanSource:
    folder: Path
    calendars: Calendars
    vix_stand_in: float | None = None  # `--vix`: a level for moments the folder has no VIX for (reported)
    notes: set[str] = field(default_factory=set)  # how prices were found where not read directly
    _quotes: dict[date, dict[tuple[date, float, Right], Quotes]] = field(default_factory=dict)
    # Index bars by ticker: (bar end, open, close), in time order.
    _minutes: dict[tuple[str, date], list[tuple[datetime, float, float]]] = field(default_factory=dict)
    _hours: dict[str, list[tuple[datetime, float, float]]] = field(default_factory=dict)
    _daily: dict[str, DailyBars] = field(default_factory=dict)
    _es: dict[date, dict[str, list[tuple[datetime, float]]]] = field(default_factory=dict)  # UTC day → month → bars
    _es_quotes: dict[tuple[str, date], dict[tuple[date, float, Right], Quotes]] = field(default_factory=dict)
    _es_daily: dict[str, DailyBars] = field(default_factory=dict)  # contract month → its daily bars
    _spxw_universes: dict[date, Universe | None] = field(default_factory=dict)
    _hours_applied: set[tuple[date, date]] = field(default_factory=set)
    _es_universe_months: list[str] | None = None  # contract months with option universe files, listed once
    _es_universes: dict[tuple[str, date], Universe | None] = field(default_factory=dict)

    source = "lean"

    def __post_init__(self) -> None:
        self.files = LeanFiles(self.folder)
        self.equities = LeanEquities(self.files, self.calendars.equity)
        for sub in (
            "index/usa/minute/spx",
            "index/usa/minute/vix",
            "index/usa/hour",
            "index/usa/daily",
            "indexoption/usa/minute/spxw",
            "future/cme/minute/es",
            *(f"option/usa/minute/{t.lower()}" for t in EQUITY_ROOTS),
        ):
            for twin in sorted((self.folder / sub).glob("*.zip.zip")):
                self.files.problem(f"{twin.relative_to(self.folder)}: named *.zip.zip, skipped")
        unread = [
            f"indexoption/usa/{kind}/{root}"
            for kind in ("minute", "hour", "daily", "universes")
            for root in ("spx", "nqx")
            if (self.folder / "indexoption" / "usa" / kind / root).exists()
            or any((self.folder / "indexoption" / "usa" / kind).glob(f"{root}_*.zip"))
        ]
        if unread:
            self.notes.add(f"not read, no strategy trades AM-settled SPX or NQX options: {', '.join(unread)}")

    @property
    def problems(self) -> list[str]:
        return self.files.problems

    @property
    def price_notes(self) -> set[str]:
        return self.notes | self.equities.price_notes

    def events(self) -> EventCalendar | None:
        """The dividends in the folder's factor files, as LEAN reads them (replay/dividends); None without."""
        found = folder_dividends(self.folder, self.calendars.equity)
        return calendar_of(found, f"LEAN factor files in {self.folder}") if found else None

    @property
    def label(self) -> str:
        return f"LEAN data ({self.folder})"

    # ------------------------------------------------------------------ indices (SPX, VIX)

    def _index_minutes(self, ticker: str, day: date) -> list[tuple[datetime, float, float]]:
        if (ticker, day) not in self._minutes:
            path = self.folder / "index" / "usa" / "minute" / ticker / f"{day:%Y%m%d}_trade.zip"
            bars = []
            midnight = datetime.combine(day, time(0), tzinfo=CHICAGO)
            for _, rows in self.files.csv_members(path):
                for row in rows:
                    start = midnight + timedelta(milliseconds=int(row[0]))
                    bars.append((start + timedelta(minutes=1), float(row[1]), float(row[4])))
            self._minutes[(ticker, day)] = sorted(bars)
        return self._minutes[(ticker, day)]

    def _index_hours(self, ticker: str) -> list[tuple[datetime, float, float]]:
        if ticker not in self._hours:
            path = self.folder / "index" / "usa" / "hour" / f"{ticker}.zip"
            bars = []
            for _, rows in self.files.csv_members(path):
                for row in rows:
                    start = datetime.strptime(row[0], "%Y%m%d %H:%M").replace(tzinfo=CHICAGO)
                    bars.append((start + timedelta(hours=1), float(row[1]), float(row[4])))
            self._hours[ticker] = sorted(bars)
        return self._hours[ticker]

    def _index_level(self, ticker: str, moment: datetime) -> float | None:
        """The last closed minute bar of the day, else the last closed hour bar of the day."""
        day = moment.astimezone(NEW_YORK).date()
        done = [close for end, _, close in self._index_minutes(ticker, day) if end <= moment]
        if done:
            return done[-1]
        hours = [
            close
            for end, _, close in self._index_hours(ticker)
            if end <= moment and end.astimezone(NEW_YORK).date() == day
        ]
        if hours:
            self.notes.add(f"{ticker.upper()} from hour bars where minute bars are missing")
            return hours[-1]
        return None

    def vix(self, moment: datetime) -> float | None:
        """VIX from index/usa/*/vix when the folder has it: intraday bars, else the previous daily close."""
        level = self._index_level("vix", moment)
        if level is not None:
            return level
        bars = self.daily_bars(moment.astimezone(NEW_YORK).date(), "vix")
        if bars is None:
            if self.vix_stand_in is None:
                return None
            self.notes.add(f"VIX {self.vix_stand_in:g} where the folder has none (--vix, a stand-in)")
            return self.vix_stand_in
        self.notes.add("VIX from the previous daily close where intraday bars are missing")
        return float(bars.close[-1])

    def daily_bars(self, day: date, ticker: str = "spx") -> DailyBars | None:
        """An index's sessions before `day`, oldest first."""
        if ticker not in self._daily:
            path = self.folder / "index" / "usa" / "daily" / f"{ticker}.zip"
            self._daily[ticker] = daily_rows([r for _, rs in self.files.csv_members(path) for r in rs])
        return bars_before(self._daily[ticker], day)

    def price(self, root: str, moment: datetime) -> float | None:
        """SPX, the front ES future, or an equity (SPY, QQQ, IWM) at a moment."""
        if root in EQUITY_ROOTS:
            return self.equities.price(root, moment)
        if root in ("ES", "MES"):
            front = self._es_front(moment)
            if front is not None:
                return front[1]
            found = self._es_universe_front(moment)
            if found is None or found[1].underlying is None:
                return None
            self.notes.add("ES from the previous session's universe file (its close) where the day has no trades")
            return found[1].underlying[3]
        if root != "SPX":
            return None
        level = self._live_spx(moment)
        return level if level is not None else self._previous_close(moment)

    def _live_spx(self, moment: datetime) -> float | None:
        """SPX at the moment itself: the index's bars, else put-call parity on the day's SPXW quotes."""
        level = self._index_level("spx", moment)
        return level if level is not None else self._parity(moment.astimezone(NEW_YORK).date(), moment)

    def _previous_close(self, moment: datetime) -> float | None:
        """SPX's last close a session could know (the previous session's; the day's own once it is over), from
        the daily bars, else the SPXW universe file's underlying line. A level for chains read from universe
        files, which themselves hold closes."""
        known = known_close_day(self.calendars.equity, moment)
        bars = self.daily_bars(known + timedelta(days=1))
        if bars is not None and bars.day[-1] == known:
            self.notes.add("SPX from the previous daily close where the day has no index data")
            return float(bars.close[-1])
        universe = self._spxw_universe(known)
        if universe is not None and universe.underlying is not None:
            self.notes.add("SPX from the SPXW universe file's close where the day has no index data")
            return universe.underlying[3]
        return None

    def _open(self, day: date) -> float | None:
        minutes = self._index_minutes("spx", day)
        if minutes:
            return minutes[0][1]
        hours = [o for end, o, _ in self._index_hours("spx") if end.astimezone(NEW_YORK).date() == day]
        if hours:
            return hours[0]
        return self._parity(day, datetime.combine(day, time(9, 31), tzinfo=NEW_YORK))

    def _parity(self, day: date, moment: datetime) -> float | None:
        """SPX from the SPXW call and put nearest the money: C − P = S·e^(−qT) − K·e^(−rT), taken at T ≈ 0
        (same-day expiries), so S ≈ K + C − P."""
        quotes = self._spxw(day)
        minute = minute_of(moment)
        pairs: dict[float, dict[Right, float]] = {}
        for (expiry, strike, right), rows in quotes.items():
            if expiry != day:
                continue
            quote = latest(rows, minute)
            if quote is not None and quote[0] > 0 and quote[1] >= quote[0]:
                pairs.setdefault(strike, {})[right] = 0.5 * (quote[0] + quote[1])
        both = [(k, v[Right.CALL] - v[Right.PUT]) for k, v in pairs.items() if len(v) == 2]
        if not both:
            return None
        strike, difference = min(both, key=lambda kv: abs(kv[1]))
        self.notes.add("SPX from SPXW put-call parity on days without index data")
        return float(strike + difference)

    # ------------------------------------------------------------------ SPXW

    def _spxw(self, day: date) -> dict[tuple[date, float, Right], Quotes]:
        if day not in self._quotes:
            path = self.folder / "indexoption" / "usa" / "minute" / "spxw" / f"{day:%Y%m%d}_quote_european.zip"
            contracts = self.files.option_quotes(path, scale=10_000.0)  # index option prices are ×10000
            self._quotes[day] = contracts
        return self._quotes[day]

    def _spxw_universe(self, day: date) -> Universe | None:
        if day not in self._spxw_universes:
            path = self.folder / "indexoption" / "usa" / "universes" / "spxw" / f"{day:%Y%m%d}.csv"
            self._spxw_universes[day] = self.files.universe(path, day)
        return self._spxw_universes[day]

    def chain(self, moment: datetime) -> Chain | None:
        """SPXW from the day's minute quotes; else from the previous session's universe file without the
        day's own expiry: a 0DTE is never traded on yesterday's closes (it would find no expiry today and say
        so), a 120-day LT112 on SPX may be."""
        day = moment.astimezone(NEW_YORK).date()
        quotes = self._spxw(day)
        live = self._live_spx(moment)
        if quotes and live is not None:  # minute quotes are priced against a level of the same minute only
            return priced_chain(
                "SPXW", live, moment, quotes, minute_of(moment), PricingModel.SPOT, time(16, 0), SPX_DIVIDEND_YIELD
            )
        universe = self._spxw_universe(self.calendars.equity.previous_session(day))
        spot = self._previous_close(moment)
        if universe is None or spot is None:
            return None
        self.notes.add("SPXW from the previous session's universe file (bid = ask = that close; not today's expiry)")
        rows = universe_rows(universe, day + timedelta(days=1))
        return rows_chain("SPXW", spot, moment, rows, PricingModel.SPOT, time(16, 0), SPX_DIVIDEND_YIELD)

    # ------------------------------------------------------------------ ES

    def _es_bars(self, utc_day: date) -> dict[str, list[tuple[datetime, float]]]:
        """Contract month (YYYYMM) → (bar end, close) minute trades of one UTC day's file."""
        if utc_day not in self._es:
            path = self.folder / "future" / "cme" / "minute" / "es" / f"{utc_day:%Y%m%d}_trade.zip"
            months: dict[str, list[tuple[datetime, float]]] = {}
            midnight = datetime.combine(utc_day, time(0), tzinfo=UTC)
            for name, rows in self.files.csv_members(path):
                month = name.rsplit(".", 1)[0].split("_")[-1]
                months[month] = [(midnight + timedelta(milliseconds=int(r[0]) + MINUTE_MS), float(r[4])) for r in rows]
            self._es[utc_day] = months
        return self._es[utc_day]

    def es_daily_bars(self, day: date) -> DailyBars | None:
        """The daily bars before `day` of the ES contract that is front on `day` (`future/cme/daily/
        es_trade.zip`, one CSV per contract month, plain prices): the strangles' ranges and volatility."""
        if not self._es_daily:
            path = self.folder / "future" / "cme" / "daily" / "es_trade.zip"
            for name, rows in self.files.csv_members(path):
                month = name.rsplit(".", 1)[0].split("_")[-1]
                if not (len(month) == 6 and month.isdigit()):
                    continue
                self._es_daily[month] = daily_rows(rows)
        live = [m for m in sorted(self._es_daily) if self._es_expiry(m) >= day]
        return bars_before(self._es_daily[live[0]], day) if live else None

    def _es_expiry(self, month: str) -> date:
        return self.calendars.es_quarterly_expiry(int(month[:4]), int(month[4:]))

    def _es_front(self, moment: datetime) -> tuple[str, float] | None:
        """(contract month, last price) of the nearest ES quarterly not yet expired that traded by `moment`."""
        utc_day = moment.astimezone(UTC).date()
        day = moment.astimezone(NEW_YORK).date()
        for month, bars in sorted(self._es_bars(utc_day).items()):
            if self.calendars.es_quarterly_expiry(int(month[:4]), int(month[4:])) < day:
                continue
            done = [close for end, close in bars if end <= moment]
            if done:
                return month, done[-1]
        return None

    def _es_option_quotes(self, month: str, utc_day: date) -> dict[tuple[date, float, Right], Quotes]:
        key = (month, utc_day)
        if key not in self._es_quotes:
            name = f"{utc_day:%Y%m%d}_quote_american.zip"
            path = self.folder / "futureoption" / "cme" / "minute" / "es" / month / name
            contracts = self.files.option_quotes(path, scale=1.0)  # future option prices are plain
            self._es_quotes[key] = contracts
        return self._es_quotes[key]

    def _es_universe(self, month: str, day: date) -> Universe | None:
        key = (month, day)
        if key not in self._es_universes:
            path = self.folder / "futureoption" / "cme" / "universes" / "es" / month / f"{day:%Y%m%d}.csv"
            self._es_universes[key] = self.files.universe(path, day)
        return self._es_universes[key]

    def _es_universe_front(self, moment: datetime) -> tuple[str, Universe] | None:
        """Where the day has no ES minute trades: the nearest contract month not yet expired whose options have
        a universe file for the previous CME session (its underlying line is the future's bar)."""
        day = moment.astimezone(NEW_YORK).date()
        if self._es_universe_months is None:  # listed once: asked at every step of a day without ES trades
            folder = self.folder / "futureoption" / "cme" / "universes" / "es"
            names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
            self._es_universe_months = [m for m in names if len(m) == 6 and m.isdigit()]
        previous = self.calendars.cme.previous_session(day)
        for month in self._es_universe_months:
            if self._es_expiry(month) < day:
                continue
            universe = self._es_universe(month, previous)
            if universe is not None and universe.underlying is not None:
                return month, universe
        return None

    def es_chain(self, moment: datetime) -> Chain | None:
        """The front ES future's options (prices plain, times UTC), with Black-76 model Greeks; on a day
        without ES minute trades, the previous session's universe file (closes, said in the report)."""
        front = self._es_front(moment)
        if front is None:
            found = self._es_universe_front(moment)
            if found is None:
                return None
            _, universe = found
            assert universe.underlying is not None
            day = moment.astimezone(NEW_YORK).date()
            self.notes.add("ES options from the previous session's universe file (bid = ask = that close)")
            return rows_chain(
                "ES", universe.underlying[3], moment, universe_rows(universe, day), PricingModel.FUTURE, time(9, 30)
            )
        month, price = front
        utc = moment.astimezone(UTC)
        quotes = self._es_option_quotes(month, utc.date())
        ms = (utc.hour * 60 + utc.minute) * MINUTE_MS
        return priced_chain("ES", price, moment, quotes, ms, PricingModel.FUTURE, time(9, 30))

    # ------------------------------------------------------------------ the replay's market interface

    def sessions(self, start: date, end: date) -> list[date]:
        """Equity sessions in the range with data, by the folder's market hours (replay/lean_hours: applied to
        the calendars the engine shares, once per range)."""
        if (start, end) not in self._hours_applied:
            self._hours_applied.add((start, end))
            self.notes.update(apply_market_hours(self.folder, self.calendars, start, end))
        out = []
        days = (start + timedelta(days=n) for n in range((end - start).days + 1))
        for day in (d for d in days if self.calendars.equity.is_session(d)):
            if (
                self._spxw(day)
                or self._index_minutes("spx", day)
                or self._es_bars(day)
                or any(e.astimezone(NEW_YORK).date() == day for e, _, _ in self._index_hours("spx"))
                or self.equities.has_data(day)
                or self._spxw_universe(self.calendars.equity.previous_session(day))
                or self._es_universe_front(datetime.combine(day, time(10), tzinfo=NEW_YORK))
            ):
                out.append(day)
        return out

    def snapshot(
        self, moment: datetime, roots: set[str], expiries: Mapping[str, set[date]] | None = None
    ) -> MarketSnapshot:
        """`expiries` is ignored: the folder's chains are read whole (cached per file), and a narrower chain
        would save little."""
        day = moment.astimezone(NEW_YORK).date()
        chains = {}
        if "SPXW" in roots:
            chain = self.chain(moment)
            if chain is not None:
                chains["SPXW"] = chain
        if "ES" in roots:
            es_chain = self.es_chain(moment)
            if es_chain is not None:
                chains["ES"] = es_chain
        for ticker in EQUITY_ROOTS:
            if ticker in roots:
                equity_chain = self.equities.chain(ticker, moment)
                if equity_chain is not None:
                    chains[ticker] = equity_chain
        prices = {}
        for name in ("SPX", "ES", "MES", *EQUITY_ROOTS):
            value = self.price(name, moment)
            if value is not None:
                prices[name] = value
        daily = {}
        bars = self.daily_bars(day)
        if bars is not None:
            daily["SPX"] = bars
        es_bars = self.es_daily_bars(day)
        if es_bars is not None:
            daily["ES"] = es_bars
        for ticker in EQUITY_ROOTS:
            equity_bars = self.equities.daily_bars(ticker, day)
            if equity_bars is not None:
                daily[ticker] = equity_bars
        opened = self._open(day)
        return MarketSnapshot(moment, prices, self.vix(moment), chains, daily, {"SPX": opened} if opened else {}, {})
