"""Equities and their options in a LEAN data folder, for the `lean` data source (REFERENCE.md "LEAN data
format"; prices ×10000, New York time):
- prices from minute trades (`equity/usa/minute/<t>/<day>_trade.zip`), else from daily bars
  (`equity/usa/daily/<t>.zip`) or, past those, the universe file's underlying line: the previous session's
  close while a session runs (a replay step never sees the day's own close), the day's close from its close on;
- daily bars for the indicators (EMAs, 52-week highs), with the universe files' underlying lines after them;
- option chains from minute quotes (`option/usa/minute/<t>/<day>_quote_american.zip`), else from the
  previous session's universe file (`option/usa/universes/<t>/<YYYYMMDD>.csv`, one end-of-day snapshot per
  date: the file for a date holds that day's close). Universe files carry closes, not quotes: bid and ask
  are both the close, so fills there are at the close, and every output says where prices came from.
Greeks are the models' (core/chain_greeks, Black-Scholes-Merton with a dividend yield), as for SPXW.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from core.calendar import ExchangeCalendar
from core.chain_greeks import PricingModel
from core.model import Chain, DailyBars
from replay.lean_files import (
    NEW_YORK,
    LeanFiles,
    OptionKey,
    Quotes,
    Universe,
    bars_before,
    daily_bars,
    daily_rows,
    known_close_day,
    minute_of,
    parity_price,
    priced_chain,
    rows_chain,
    universe_rows,
    ymd,
)

ROOTS = ("SPY", "QQQ", "IWM")
SCALE = 10_000.0
DIVIDEND_YIELD = {"SPY": 0.015, "QQQ": 0.007, "IWM": 0.012}  # roughly their trailing yields
CLOSE = time(16, 0)
DAILY_NOTE = "in a session: the previous"


@dataclass
class LeanEquities:
    files: LeanFiles
    calendar: ExchangeCalendar
    price_notes: set[str] = field(default_factory=set)
    _daily: dict[str, DailyBars] = field(default_factory=dict)
    _minutes: dict[tuple[str, date], list[tuple[datetime, float, float]]] = field(default_factory=dict)
    _quotes: dict[tuple[str, date], dict[OptionKey, Quotes]] = field(default_factory=dict)
    _universes: dict[tuple[str, date], Universe | None] = field(default_factory=dict)

    # ------------------------------------------------------------------ files

    def _universe(self, ticker: str, day: date) -> Universe | None:
        key = (ticker, day)
        if key not in self._universes:
            path = self.files.folder / "option" / "usa" / "universes" / ticker.lower() / f"{day:%Y%m%d}.csv"
            self._universes[key] = self.files.universe(path, day)
        return self._universes[key]

    def _minute_bars(self, ticker: str, day: date) -> list[tuple[datetime, float, float]]:
        key = (ticker, day)
        if key not in self._minutes:
            path = self.files.folder / "equity" / "usa" / "minute" / ticker.lower() / f"{day:%Y%m%d}_trade.zip"
            midnight = datetime.combine(day, time(0), tzinfo=NEW_YORK)
            bars = [
                (midnight + timedelta(milliseconds=int(r[0]) + 60_000), float(r[1]) / SCALE, float(r[4]) / SCALE)
                for _, rows in self.files.csv_members(path)
                for r in rows
            ]
            self._minutes[key] = sorted(bars)
        return self._minutes[key]

    def _option_minutes(self, ticker: str, day: date) -> dict[OptionKey, Quotes]:
        key = (ticker, day)
        if key not in self._quotes:
            name = f"{day:%Y%m%d}_quote_american.zip"
            path = self.files.folder / "option" / "usa" / "minute" / ticker.lower() / name
            self._quotes[key] = self.files.option_quotes(path, SCALE)
        return self._quotes[key]

    def _all_daily(self, ticker: str) -> DailyBars:
        if ticker not in self._daily:
            path = self.files.folder / "equity" / "usa" / "daily" / f"{ticker.lower()}.zip"
            read = daily_rows([r for _, rs in self.files.csv_members(path) for r in rs], SCALE)
            days: list[date] = list(read.day)
            ohlc = [list(bar) for bar in zip(read.open, read.high, read.low, read.close, strict=True)]
            # The universe files' underlying lines extend the bars past the daily file's end.
            for day, bar in self._universe_bars(ticker, days[-1] if days else date.min):
                days.append(day)
                ohlc.append(list(bar))
            self._daily[ticker] = daily_bars(days, ohlc)
        return self._daily[ticker]

    def _universe_bars(self, ticker: str, after: date) -> list[tuple[date, tuple[float, float, float, float]]]:
        folder = self.files.folder / "option" / "usa" / "universes" / ticker.lower()
        out = []
        for path in sorted(folder.glob("*.csv")) if folder.exists() else []:
            day = ymd(path.stem)
            universe = self._universe(ticker, day) if day > after else None
            if universe is not None and universe.underlying is not None:
                out.append((day, universe.underlying))
        return out

    # ------------------------------------------------------------------ what the source asks

    def has_data(self, day: date) -> bool:
        """A session the replay can run: minute option quotes of the day, or the previous session's chain."""
        previous = self.calendar.previous_session(day)
        return any(self._option_minutes(t, day) or self._universe(t, previous) for t in ROOTS)

    def daily_bars(self, ticker: str, day: date) -> DailyBars | None:
        """Completed sessions before `day`, oldest first."""
        return bars_before(self._all_daily(ticker), day)

    def price(self, ticker: str, moment: datetime) -> float | None:
        """The last closed minute bar; else a daily close no older than the previous session (the day's own
        once its session is over); else put-call parity on the day's option quotes; else nothing."""
        day = moment.astimezone(NEW_YORK).date()
        done = [close for end, _, close in self._minute_bars(ticker, day) if end <= moment]
        if done:
            return done[-1]
        bars = self._all_daily(ticker)
        wanted = known_close_day(self.calendar, moment)
        at = bisect.bisect_left(bars.day, wanted)
        if at < len(bars.day) and bars.day[at] == wanted:
            self.price_notes.add(
                f"{ticker} from daily closes where minute bars are missing (in a session: the previous)"
            )
            return float(bars.close[at])
        quotes = self._option_minutes(ticker, day)
        parity = parity_price(quotes, minute_of(moment), moment, DIVIDEND_YIELD.get(ticker, 0.0)) if quotes else None
        if parity is not None:
            self.price_notes.add(f"{ticker} from put-call parity on its options where it has no bars")
        return parity

    def chain(self, ticker: str, moment: datetime) -> Chain | None:
        day = moment.astimezone(NEW_YORK).date()
        spot = self.price(ticker, moment)
        if spot is None:
            return None
        dividend = DIVIDEND_YIELD.get(ticker, 0.0)
        quotes = self._option_minutes(ticker, day)
        if quotes:
            return priced_chain(ticker, spot, moment, quotes, minute_of(moment), PricingModel.SPOT, CLOSE, dividend)
        universe = self._universe(ticker, self.calendar.previous_session(day))
        if universe is None:
            return None
        self.price_notes.add(f"{ticker} options from the previous session's universe file: bid = ask = that close")
        return rows_chain(ticker, spot, moment, universe_rows(universe, day), PricingModel.SPOT, CLOSE, dividend)
