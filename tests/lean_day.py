"""A scripted trading day for main.py on the fake AlgorithmImports: the test is LEAN's clock and data feed.

`LeanDay` builds the algorithm from parameters, feeds the daily history LEAN's warm-up would, sets prices,
runs the schedules LEAN would fire at a given minute and hands `on_data` a slice with an SPXW chain priced by
Black-Scholes (LEAN's zero Greeks, as during warm-up, so the bridge has to fill them).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import ModuleType
from typing import Any

import numpy as np

from core import pricing
from core.settings import Settings
from tests.fakes import algorithm_imports as fake

ZDTE_ONLY = {
    "enable_strangles": "false",
    "enable_lt112": "false",
    "enable_ipmcc": "false",
    "enable_leap_ladder": "false",
}
FRIDAY = date(2024, 3, 8)  # the Friday before the March 2024 DST change
SPX = 5100.0
ATR = 60.0  # 0.5 ATR out is 30 points: |delta| ≈ 0.2 at 10:30 with 28% vol, inside the 0.15-0.25 band
SIGMA = 0.28


class LeanDay:
    def __init__(self, main: ModuleType, overrides: dict[str, str] | None = None, day: date = FRIDAY) -> None:
        window = {"start_date": day.isoformat(), "end_date": (day + timedelta(days=7)).isoformat()}
        parameters = Settings().to_parameters() | ZDTE_ONLY | window | (overrides or {})
        self.day = day
        self.spread = 0.10  # each SPXW quote's width
        self.algo: Any = main.OptionsIncomeAlgorithm(parameters)
        self.algo.is_warming_up = True
        self.algo.initialize()

    # ---------------------------------------------------------------- set-up

    @property
    def runtime(self) -> Any:
        return self.algo.runtime

    def security(self, key: str) -> fake.Security:
        found: fake.Security = self.algo.subscribed[key]
        return found

    def warm_up(self, sessions: int = 30) -> None:
        """Daily SPX bars with a true range of ATR points, as LEAN's daily consolidator hands them over."""
        spx = self.security("SPX").symbol
        day = self.day - timedelta(days=1)
        fed = 0
        while fed < sessions:
            if day.weekday() < 5:
                bar = fake.TradeBar(datetime(day.year, day.month, day.day), SPX, SPX + ATR / 2, SPX - ATR / 2, SPX)  # noqa: DTZ001
                self.algo.consolidators[spx](bar)
                fed += 1
            day -= timedelta(days=1)
        self.algo.is_warming_up = False
        self.at(time(9, 31))
        self.algo.on_warmup_finished()

    def at(self, clock: time, spx: float = SPX, vix: float = 15.0) -> None:
        self.algo.time = datetime.combine(self.day, clock)
        index = self.security("SPX")
        index.price, index.open = spx, SPX
        self.security("VIX").price = vix

    # ---------------------------------------------------------------- LEAN's clock

    def minute(self, clock: time, slice_: fake.Slice | None = None, **prices: float) -> None:
        """What LEAN does at one minute: scheduled events at that time, the every-minute tick, then on_data."""
        self.at(clock, **prices)
        for callback in self.algo.schedule.at(clock):
            callback()
        for callback in self.algo.schedule.every_minute():
            callback()
        self.algo.on_data(slice_ or fake.Slice())

    def run(self, start: time, end: time, chains_at: tuple[time, ...] = (), **prices: float) -> None:
        """Every minute from `start` to `end` inclusive, with the SPXW chain in the slices at `chains_at`."""
        moment = datetime.combine(self.day, start)
        while moment.time() <= end:
            clock = moment.time()
            self.minute(clock, self.chain_slice(clock) if clock in chains_at else None, **prices)
            moment += timedelta(minutes=1)

    def chain_slice(self, clock: time, spx: float = SPX) -> fake.Slice:
        """The day's SPXW chain, 4800-5400 every 5 points, mids from Black-Scholes, Greeks zero."""
        underlying = self.security("SPX").symbol
        canonical = self.security("option:SPXW").symbol
        left = datetime.combine(self.day, time(16, 0)) - datetime.combine(self.day, clock)
        years = left.total_seconds() / pricing.SECONDS_PER_YEAR
        contracts = []
        strikes = np.arange(4800.0, 5400.0 + 1, 5.0)
        for right in (fake.OptionRight.CALL, fake.OptionRight.PUT):
            calls = right is fake.OptionRight.CALL
            mids = pricing.bs_price(spx, strikes, years, SIGMA, 0.045, 0.0, calls)
            for strike, mid in zip(strikes, mids, strict=True):
                symbol = fake.Symbol.option(underlying, "SPXW", right, float(strike), self.day)
                bid = max(round(float(mid) / 0.05) * 0.05 - 0.05, 0.0)
                contract = fake.OptionContract(symbol, bid, bid + self.spread)
                contracts.append(contract)
                security = self.algo.securities.get(symbol) or self.algo.add_security(
                    fake.Security(symbol, self.algo._hours)
                )
                security.bid_price, security.ask_price = bid, bid + self.spread
                security.price = bid + self.spread / 2
        chains = fake.OptionChains({canonical: fake.OptionChain(canonical, spx, contracts)})
        return fake.Slice(chains)

    # ---------------------------------------------------------------- LEAN's order events

    def fill(self, order: dict[str, Any], price: float, status: fake.OrderStatus = fake.OrderStatus.FILLED) -> None:
        """LEAN filled one leg: the event, and the portfolio as LEAN updates it."""
        symbol = order["symbol"]
        holding = self.algo.portfolio.setdefault(symbol, fake.SecurityHolding(symbol))
        holding.quantity += order["quantity"]
        self.algo.securities[symbol].holdings.quantity = holding.quantity
        utc = self.algo.time + timedelta(hours=5)
        event = fake.OrderEvent(order["id"], symbol, status, order["quantity"], price, utc)
        self.algo.on_order_event(event)
