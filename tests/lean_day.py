"""A scripted trading day for main.py on the LEAN-faithful double (tests/fakes/lean): the algorithm is built
from parameters, warmed up with the daily bars LEAN's warm-up would hand it, and run minute by minute by the
double's engine, which fires the schedules, selects the option universes with the algorithm's filters, builds
the slices, fills orders by LEAN's fill model and exercises expiring options in LEAN's order.

The market: SPX at 5100 with an SPXW chain listed for the day (4800-5400, 5-point strikes) priced by
Black-Scholes, LEAN's Greeks zero as they are without a price model, so the bridge fills them. Tests that play
the brokerage by hand (partial fills, late fills) turn `auto_fill` off and call `fill`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import ModuleType
from typing import Any

from core.settings import Settings
from tests.fakes import algorithm_imports as fake
from tests.fakes.lean.engine import LeanEngine, Market, OptionListing

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
    def __init__(
        self,
        main: ModuleType,
        overrides: dict[str, str] | None = None,
        day: date = FRIDAY,
        market: Market | None = None,
        live: bool = False,
    ) -> None:
        window = {"start_date": day.isoformat(), "end_date": (day + timedelta(days=7)).isoformat()}
        parameters = Settings().to_parameters() | ZDTE_ONLY | window | (overrides or {})
        self.day = day
        self.market = market or Market(prices={"SPX": SPX, "VIX": 15.0})
        self.market.options.setdefault(
            "SPXW", OptionListing("SPXW", [4800.0 + 5 * i for i in range(121)], [day], SIGMA, 0.10, tick=0.05)
        )
        self.algo: Any = main.OptionsIncomeAlgorithm(parameters)
        self.algo.live_mode = live
        self.engine = LeanEngine(self.algo, self.market)
        self.algo.is_warming_up = True
        self.engine.initialize()

    # ---------------------------------------------------------------- set-up

    @property
    def runtime(self) -> Any:
        return self.algo.runtime

    @property
    def spread(self) -> float:
        return self.market.options["SPXW"].spread

    @spread.setter
    def spread(self, value: float) -> None:
        self.market.options["SPXW"].spread = value

    def security(self, key: str) -> fake.Security:
        found: fake.Security = self.algo.subscribed[key]
        return found

    def warm_up(self, sessions: int = 30, at: time = time(9, 31)) -> None:
        """Daily bars with a true range of ATR points for every subscribed underlying, then warm-up ends."""
        days: dict[date, dict[str, tuple[float, float, float, float]]] = {}
        day = self.day - timedelta(days=1)
        while len(days) < sessions:
            if day.weekday() < 5:
                bars = {}
                prices = dict(self.market.prices)
                prices.update({root: listed[0][1] for root, listed in self.market.futures.items() if listed})
                for ticker, price in prices.items():
                    bars[ticker] = (price, price * (1 + ATR / SPX / 2), price * (1 - ATR / SPX / 2), price)
                days[day] = bars
            day -= timedelta(days=1)
        self.engine.warm_up(days)
        self.engine.finish_warm_up(datetime.combine(self.day, at))

    # ---------------------------------------------------------------- LEAN's clock

    def minute(self, clock: time, with_data: bool = True, **prices: float) -> fake.Slice:
        """One time step of LEAN's engine at `clock` on the day (prices by ticker: spx=..., vix=...)."""
        for ticker, value in prices.items():
            self.market.prices[ticker.upper()] = value
        return self.engine.step(datetime.combine(self.day, clock), with_data=with_data)

    def run(self, start: time, end: time, **prices: float) -> None:
        """Every minute from `start` to `end` inclusive."""
        moment = datetime.combine(self.day, start)
        while moment.time() <= end and moment.date() == self.day:
            self.minute(moment.time(), True, **prices)
            moment += timedelta(minutes=1)

    def next_day(self, day: date) -> None:
        self.day = day

    def restart(self, main: ModuleType, overrides: dict[str, str] | None = None) -> LeanDay:
        """A new process on the same account: the ObjectStore and LEAN's holdings (with their securities)
        carried over, nothing else; not yet warmed up."""
        again = LeanDay(main, overrides, self.day, self.market)
        again.algo.object_store.data = dict(self.algo.object_store.data)
        again.algo.portfolio.cash = self.algo.portfolio.cash
        for symbol, security in self.algo.securities.items():
            if security.holdings.quantity:
                copy = again.algo.securities.get(symbol) or again.algo.add_security(fake.Security(symbol))
                copy.underlying = again.algo.securities.get(symbol.underlying) if symbol.underlying else None
                copy.holdings.quantity = security.holdings.quantity
                copy.holdings.average_price = security.holdings.average_price
        return again

    # ---------------------------------------------------------------- the brokerage by hand

    def order(self, n: int) -> fake.Order:
        found: fake.Order = self.algo.transactions.orders[self.algo.orders[n]["id"]]
        return found

    def fill(self, order: dict[str, Any], price: float, quantity: float | None = None) -> None:
        """The brokerage fills one leg (all of it, or `quantity`): LEAN's events and portfolio follow."""
        self.algo.transactions.auto_fill = False
        lean_order = self.algo.transactions.orders[order["id"]]
        self.algo.transactions.fill([(lean_order, lean_order.quantity if quantity is None else quantity, price)])
