"""The time loop that runs an algorithm on the double, as Engine/AlgorithmManager.cs `Run` does, with a
market a test describes (`Market`).

One time step (`LeanEngine.step`), in LEAN's order (AlgorithmManager.Run, BacktestingTransactionHandler
`ProcessSynchronousEvents`):
1. the first step of a new date runs the midnight step first: the daily consolidators close yesterday's bars,
   options past their last trading day are exercised or expire (BacktestingBrokerage.ProcessDelistings), and
   after a session the option universes select the next session's contracts with the algorithm's filters;
2. securities take this minute's prices and quotes;
3. queued cancels are processed, then pending orders are scanned for fills (never in the step they were sent);
4. scheduled events due at this time run (date rules: the symbol's session days);
5. `on_data` with the slice (option chains of the selected and held contracts while their exchange is open);
6. requests made in `on_data` are processed (cancels turn Canceled here) and pending orders scanned again
   (orders of this step are not filled before the next); every order call also processes the queued
   requests and scans (BacktestingTransactionHandler.WaitForOrderSubmission), so earlier cancels and fills
   can arrive inside it;
7. `on_end_of_day(symbol)` ten minutes before each security's close (ScheduledEvent.SecurityEndOfDayDelta);
8. the default brokerage message handler's disconnect timer is checked.
A runtime error ends the run: `step` then raises `AlgorithmStopped`, as LEAN stops at the next slice.

Brokerage messages (`brokerage_message`) follow Engine.cs: the message handler first, then (after initialize)
`on_brokerage_message`, then `on_brokerage_disconnect` / `on_brokerage_reconnect`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np

from core import pricing
from tests.fakes.lean.algorithm import OptionUniverse, QCAlgorithm
from tests.fakes.lean.brokerage import BrokerageMessageEvent
from tests.fakes.lean.data import Greeks, OptionChain, OptionChains, OptionContract, Slice, TradeBar
from tests.fakes.lean.enums import AlgorithmStatus, BrokerageMessageType, OptionRight, SecurityType
from tests.fakes.lean.securities import Security
from tests.fakes.lean.symbols import FuturesOptionsSymbolMappings, Symbol
from tests.fakes.lean.transactions import QuoteBar
from tests.fakes.lean.universe import OptionFilterUniverse, UniverseRow

DEFAULT_FILTER = (-1, 1, 0, 35)


def calendars_of(algorithm: QCAlgorithm) -> Any:
    """The US equity sessions (the option universes' exchanges): hours.calendars().equity."""
    from tests.fakes.lean.hours import calendars

    return calendars().equity  # Option.cs: SetFilter(-1, 1, 0 days, 35 days)


END_OF_DAY_DELTA = timedelta(minutes=10)


class AlgorithmStopped(RuntimeError):
    pass


@dataclass
class OptionListing:
    """The contracts listed on one option root, priced by Black-Scholes on the underlying's price now."""

    root: str  # the option root as the algorithm subscribes it (SPXW, SPY, ES, GC)
    strikes: list[float]
    expiries: list[date]
    sigma: float = 0.20
    spread: float = 0.10
    rate: float = 0.045
    greeks: bool = False  # LEAN's contracts carry zero Greeks until a price model has warmed up
    tick: float = 0.01

    def quote(
        self, underlying: float, strike: float, expiry: date, right: OptionRight, now: datetime
    ) -> tuple[float, float, float]:
        close = datetime.combine(expiry, time(16, 0))
        years = max((close - now).total_seconds(), 60.0) / pricing.SECONDS_PER_YEAR
        calls = right is OptionRight.CALL
        mid = float(pricing.bs_price(underlying, np.array([strike]), years, self.sigma, self.rate, 0.0, calls)[0])
        bid = max(math.floor((mid - self.spread / 2) / self.tick) * self.tick, 0.0)
        ask = bid + self.spread if bid > 0 else self.tick
        d1 = (math.log(underlying / strike) + (self.rate + self.sigma**2 / 2) * years) / (self.sigma * math.sqrt(years))
        delta = 0.5 * (1 + math.erf(d1 / math.sqrt(2))) - (0.0 if calls else 1.0)
        return round(bid, 4), round(ask, 4), delta


@dataclass
class Market:
    """What the world quotes at each step: underlying prices by ticker (SPX, VIX, SPY, a future by its root and
    expiry), the futures listed, option listings by root, and explicit quotes or bars for contracts."""

    prices: dict[str, float] = field(default_factory=dict)
    futures: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    options: dict[str, OptionListing] = field(default_factory=dict)
    quotes: dict[Symbol, tuple[float, float]] = field(default_factory=dict)
    bars: dict[Symbol, QuoteBar] = field(default_factory=dict)
    bar_ticks: int = 0  # each minute's bid and ask bars reach this many ticks either side of the quote

    def price_of(self, symbol: Symbol) -> float | None:
        if symbol.security_type is SecurityType.FUTURE and not symbol.is_canonical():
            for expiry, price in self.futures.get(symbol.id.symbol, []):
                if expiry == symbol.id.date.date():
                    return price
            return None
        return self.prices.get(symbol.id.symbol)


@dataclass
class DayBars:
    open: float
    high: float
    low: float
    close: float

    def add(self, price: float) -> None:
        self.high, self.low, self.close = max(self.high, price), min(self.low, price), price


class LeanEngine:
    def __init__(self, algorithm: QCAlgorithm, market: Market | None = None) -> None:
        self.algorithm = algorithm
        self.market = market or Market()
        self.day: date | None = None
        self.day_bars: dict[Symbol, DayBars] = {}
        self.chain_universes: list[OptionUniverse] = []  # future-option universes, one per future contract
        self.stopped = False

    # ------------------------------------------------------------------ start

    def initialize(self) -> None:
        self.algorithm.initialize()
        self.algorithm.locked = True

    def warm_up(self, days: dict[date, dict[str, tuple[float, float, float, float]]]) -> None:
        """LEAN's warm-up: daily bars through the consolidators (oldest first), then `on_warmup_finished`."""
        algorithm = self.algorithm
        algorithm.is_warming_up = True
        for day in sorted(days):
            algorithm.time = datetime.combine(day + timedelta(days=1), time(0, 0))
            for ticker, (o, h, low, c) in days[day].items():
                for symbol, handler in list(algorithm.consolidators.items()):
                    if symbol.id.symbol == ticker:
                        bar = TradeBar(datetime.combine(day, time(0, 0)), o, h, low, c, symbol=symbol)
                        algorithm.run_callback("consolidator", "algorithm", functools.partial(handler, bar))
        algorithm.is_warming_up = False

    def finish_warm_up(self, at: datetime) -> None:
        self.algorithm.time = at
        self._prices(at)
        self.algorithm.dispatch("on_warmup_finished")

    # ------------------------------------------------------------------ the loop

    def run(self, start: datetime, end: datetime, every: timedelta = timedelta(minutes=1)) -> None:
        moment = start
        while moment <= end:
            self.step(moment)
            moment += every

    def step(self, moment: datetime, slice_: Slice | None = None, with_data: bool = True) -> Slice:
        """One time step; `with_data=False` is a minute without data: LEAN calls no `on_data` then."""
        algorithm = self.algorithm
        if algorithm.status is not AlgorithmStatus.RUNNING:
            raise AlgorithmStopped(str(algorithm.run_time_error or algorithm.quit_message))
        if self.day is not None and moment.date() > self.day:
            self._midnight(datetime.combine(self.day + timedelta(days=1), time(0, 0)))
            self.day = moment.date()
        elif self.day is None:
            self.day = moment.date()
            self._select(moment)
        algorithm.time = moment
        self._prices(moment)
        transactions = algorithm.transactions
        transactions.process_requests()
        transactions.scan()
        for event in list(algorithm.schedule.events):
            if event.fires(algorithm, moment):
                algorithm.run_callback("scheduled event", "realtime", event.callback)
        built = slice_ or self.slice(moment)
        if with_data:
            algorithm.dispatch("on_data", built)
        transactions.process_requests()  # ProcessSynchronousEvents after OnData: requests, then a scan
        transactions.scan()
        self._end_of_day(moment)
        handler = algorithm.brokerage_message_handler
        if hasattr(handler, "check"):
            handler.check(moment)
        algorithm.threads.join_all()
        return built

    def _midnight(self, midnight: datetime) -> None:
        """The step at 00:00 after a day: yesterday's daily bars, then expiries (delistings), then, after a
        session, the next session's universe (selected with this midnight's date: OptionFilterUniverse.
        AdjustExpirationReferenceDate moves it to the next trading day). A day the test skips has no steps:
        a Friday stepped straight into Monday runs Saturday's midnight alone, as LEAN selects Monday's
        contracts then."""
        algorithm = self.algorithm
        ended = self.day
        algorithm.time = midnight
        self._consolidate()
        self.day = midnight.date()
        algorithm.transactions.process_delistings()
        assert ended is not None
        self._select(midnight, after=ended)

    def _consolidate(self) -> None:
        assert self.day is not None
        bars, self.day_bars = self.day_bars, {}
        for symbol, handler in list(self.algorithm.consolidators.items()):
            day = bars.get(symbol)
            if day is None:
                continue
            bar = TradeBar(
                datetime.combine(self.day, time(0, 0)), day.open, day.high, day.low, day.close, symbol=symbol
            )
            self.algorithm.run_callback("consolidator", "algorithm", functools.partial(handler, bar))

    # ------------------------------------------------------------------ prices

    def _prices(self, moment: datetime) -> None:
        algorithm, market = self.algorithm, self.market
        transactions = algorithm.transactions
        transactions.bars = {}
        for security in list(algorithm.securities.values()):
            symbol = security.symbol
            if symbol.security_type in (SecurityType.INDEX, SecurityType.EQUITY, SecurityType.FUTURE):
                price = market.price_of(symbol)
                if price is None:
                    continue
                opening = symbol not in self.day_bars and security.exchange.hours.is_open(
                    algorithm.exchange_time(security)
                )
                security.price = security.close = price
                if security.type is not SecurityType.INDEX:
                    tick = security.symbol_properties.minimum_price_variation
                    security.bid_price, security.ask_price = price - tick, price + tick
                    self._bar(security, tick)
                if opening:
                    security.open = price
                    self.day_bars[symbol] = DayBars(price, price, price, price)
                elif symbol in self.day_bars and security.exchange.hours.is_open(algorithm.exchange_time(security)):
                    self.day_bars[symbol].add(price)
            elif symbol.is_canonical():
                continue
            else:
                quote = self.quote(security, moment)
                if quote is None:
                    continue
                security.bid_price, security.ask_price = quote
                security.price = security.close = (quote[0] + quote[1]) / 2
                if symbol in market.bars:
                    transactions.bars[symbol] = market.bars[symbol]
                else:
                    self._bar(security, security.symbol_properties.minimum_price_variation)

    def _bar(self, security: Security, tick: float) -> None:
        """The minute's quote bars around the quote (`Market.bar_ticks`): flat unless the market says so."""
        n = self.market.bar_ticks
        if n and security.bid_price > 0:
            bid, ask, reach = security.bid_price, security.ask_price, n * tick
            self.algorithm.transactions.bars[security.symbol] = QuoteBar(
                max(bid - reach, 0.0), bid + reach, max(ask - reach, tick), ask + reach
            )

    def quote(self, security: Security, moment: datetime) -> tuple[float, float] | None:
        symbol = security.symbol
        if symbol in self.market.quotes:
            return self.market.quotes[symbol]
        listing = self._listing(symbol)
        underlying = security.underlying
        if listing is None or underlying is None or underlying.price <= 0:
            return None
        sid = symbol.id
        assert sid.option_right is not None
        bid, ask, _ = listing.quote(underlying.price, sid.strike_price, sid.date.date(), sid.option_right, moment)
        return bid, ask

    def _listing(self, symbol: Symbol) -> OptionListing | None:
        root = symbol.id.symbol
        if symbol.security_type is SecurityType.FUTURE_OPTION:
            root = FuturesOptionsSymbolMappings.map_from_option(root)
        return self.market.options.get(root)

    # ------------------------------------------------------------------ universes

    def _select(self, moment: datetime, after: date | None = None) -> None:
        """The universes' selection; `after`: the day that ended, selected after only when it was a session."""
        algorithm = self.algorithm
        if after is not None and not calendars_of(algorithm).is_session(after):
            return
        self._select_futures(moment)
        for universe in [*algorithm.option_universes, *self.chain_universes]:
            self._select_options(universe, moment)

    def _select_futures(self, moment: datetime) -> None:
        algorithm = self.algorithm
        self.chain_universes = []
        for root, future_universe in algorithm.future_universes.items():
            security = algorithm.securities[future_universe.canonical]
            low, high = security.filter if isinstance(security.filter, tuple) else (0, 35)
            for expiry, _ in self.market.futures.get(root, []):
                if not moment.date() + timedelta(days=low) <= expiry <= moment.date() + timedelta(days=high):
                    continue
                contract = algorithm.add_security(Security(Symbol.future(root, expiry)))
                if root in algorithm.future_option_filters:
                    canonical = Symbol.canonical(contract.symbol, root)
                    self.chain_universes.append(OptionUniverse(canonical, contract.symbol))
        self._prices(moment)

    def _select_options(self, universe: OptionUniverse, moment: datetime) -> None:
        algorithm = self.algorithm
        canonical = universe.canonical
        underlying_symbol = universe.underlying
        if underlying_symbol not in algorithm.securities:
            return
        underlying = algorithm.securities[underlying_symbol]
        root = canonical.id.symbol
        listing = self._listing(canonical)
        if listing is None:
            universe.selected = []
            return
        price = underlying.price if underlying.price > 0 else self.market.price_of(underlying_symbol)
        rows = []
        for expiry in listing.expiries:
            if expiry < moment.date():
                continue
            if underlying_symbol.security_type is SecurityType.FUTURE and expiry > underlying_symbol.id.date.date():
                continue
            for strike in listing.strikes:
                for right in (OptionRight.CALL, OptionRight.PUT):
                    symbol = Symbol.option(underlying_symbol, root, right, strike, expiry)
                    delta = listing.quote(price, strike, expiry, right, moment)[2] if price else 0.0
                    rows.append(UniverseRow(symbol, delta, listing.sigma))
        hours = algorithm.securities[underlying_symbol].exchange.hours
        next_day = lambda day: day if hours.days.is_session(day) else hours.days.next_session(day)  # noqa: E731
        filtered = OptionFilterUniverse(rows, price, moment.date(), next_day)
        chosen_filter = self._filter_of(universe)
        if chosen_filter is None:
            low, high, first, last = DEFAULT_FILTER
            filtered.strikes(low, high).expiration(first, last)
            result: Any = filtered
        else:
            result = chosen_filter(filtered)
        # Option.SetFilter(PyObject): a filtered universe, a list of symbols (WhereContains), or None.
        if result is None:
            result = filtered
        if isinstance(result, OptionFilterUniverse):
            universe.selected = [row.symbol for row in result.data]
        else:
            wanted = set(result)
            universe.selected = [row.symbol for row in filtered.data if row.symbol in wanted]
        universe.selected_on = moment.date()
        for symbol in universe.selected:
            if symbol not in algorithm.securities:
                contract = Security(symbol)
                contract.underlying = underlying
                algorithm.add_security(contract)

    def _filter_of(self, universe: OptionUniverse) -> Any:
        if universe.security is not None:
            return universe.security.filter
        future_root = universe.underlying.id.symbol
        return self.algorithm.future_option_filters.get(future_root)

    def slice(self, moment: datetime) -> Slice:
        algorithm = self.algorithm
        chains = OptionChains()
        for universe in [*algorithm.option_universes, *self.chain_universes]:
            held = [
                s
                for s, sec in algorithm.securities.items()
                if sec.holdings.quantity
                and s.underlying == universe.underlying
                and s.id.symbol == universe.canonical.id.symbol
            ]
            symbols = list(dict.fromkeys([*universe.selected, *held]))
            contracts = []
            for symbol in symbols:
                security = algorithm.securities.get(symbol)
                if security is None or (security.bid_price <= 0 and security.ask_price <= 0):
                    continue
                if not security.exchange.hours.is_open(algorithm.exchange_time(security)):
                    continue
                greeks, iv = Greeks(), 0.0
                listing = self._listing(symbol)
                if listing is not None and listing.greeks and security.underlying is not None:
                    sid = symbol.id
                    assert sid.option_right is not None
                    delta = listing.quote(
                        security.underlying.price, sid.strike_price, sid.date.date(), sid.option_right, moment
                    )[2]
                    greeks, iv = Greeks(delta=delta), listing.sigma
                contracts.append(OptionContract(symbol, security.bid_price, security.ask_price, iv, greeks))
            if contracts:
                underlying = algorithm.securities.get(universe.underlying)
                price = underlying.price if underlying is not None else 0.0
                chains[universe.canonical] = OptionChain(universe.canonical, price, contracts)
        return Slice(chains, moment)

    # ------------------------------------------------------------------ end of day and messages

    def _end_of_day(self, moment: datetime) -> None:
        algorithm = self.algorithm
        for security in list(algorithm.subscribed.values()):
            if security.symbol.is_canonical():
                continue
            local = algorithm.exchange_time(security)
            session = security.exchange.hours.session(local.date())
            if session is not None and local == session[1] - END_OF_DAY_DELTA:
                algorithm.dispatch("on_end_of_day", security.symbol)

    def brokerage_message(self, kind: BrokerageMessageType, code: str, text: str) -> None:
        algorithm = self.algorithm
        message = BrokerageMessageEvent(kind, code, text)
        handler = algorithm.brokerage_message_handler
        algorithm.run_callback("handle_message", "brokerage", lambda: handler.handle_message(message))
        if algorithm.locked:
            algorithm.dispatch("on_brokerage_message", message)
            if kind is BrokerageMessageType.DISCONNECT:
                algorithm.dispatch("on_brokerage_disconnect")
            elif kind is BrokerageMessageType.RECONNECT:
                algorithm.dispatch("on_brokerage_reconnect")
        algorithm.threads.join_all()

    def end(self) -> None:
        """The end of the run: `on_end_of_algorithm`."""
        self.algorithm.threads.join_all()
        self.algorithm.dispatch("on_end_of_algorithm")
