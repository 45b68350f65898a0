"""The replay's simulated broker: it carries out the fill tracker's commands against the modelled quotes.

A combo limit order fills at once and whole when it is marketable (its limit at or through the natural price
of the structure in its direction), at its limit; otherwise it waits until the tracker reprices or cancels it.
A cancel is confirmed at once. Fees come from core/fees; cash moves with every fill. Faults (replay/faults.py)
turn some marketable orders into rejects or partial fills. It checks every order
that reduces a position against the holding it reduces (an invariant of the run), and keeps the holdings."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field

from core.fees import contract_fees, is_opening
from core.model import AccountState, Contract, ContractKind, Fill, MarketSnapshot
from core.orders import CancelOrder, Command, SubmitOrder
from core.pipeline import Pipeline, StepResult
from core.ports import AlertMessage, Quote
from core.products import future_tick
from core.settings import Settings
from replay.faults import Faults


@dataclass
class ReplayBroker:
    settings: Settings
    cash: float
    working: dict[str, SubmitOrder] = field(default_factory=dict)
    holdings: dict[Contract, int] = field(default_factory=dict)
    fees_by_strategy: dict[str, float] = field(default_factory=dict)
    alerts: list[AlertMessage] = field(default_factory=list)
    oversized_closes: int = 0
    faults: Faults = field(default_factory=Faults)
    seed: int = 7
    faults_injected: Counter[str] = field(default_factory=Counter)
    stuck: set[str] = field(default_factory=set)  # partly filled orders whose rest never fills
    delayed: set[str] = field(default_factory=set)  # marketable orders whose fill comes after the cancel
    down: bool = False  # the connection is lost: nothing goes out, nothing fills

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def quote_from(self, snapshot: MarketSnapshot) -> Quote:
        def quote(contract: Contract) -> tuple[float, float] | None:
            if contract.kind is ContractKind.FUTURE:  # one tick wide, on the tick, as futures trade
                price = snapshot.prices.get(contract.root)
                if price is None or not math.isfinite(price):
                    return None
                tick = future_tick(contract.root)
                bid = math.floor(price / tick + 1e-9) * tick
                return round(bid, 10), round(bid + tick, 10)
            if contract.kind is not ContractKind.OPTION:
                price = snapshot.prices.get(contract.root)
                return None if price is None else (price, price)
            chain = snapshot.chains.get(contract.root)
            if chain is None or contract.expiry is None or contract.strike is None or contract.right is None:
                return None
            row = chain.find(contract.expiry, contract.strike, contract.right)
            if row is None or chain.flags[row]:
                return None
            return float(chain.bid[row]), float(chain.ask[row])

        return quote

    def execute(
        self, commands: list[Command], snapshot: MarketSnapshot, pipeline: Pipeline, account: AccountState
    ) -> StepResult:
        out = StepResult()
        queue = list(commands)
        quote = self.quote_from(snapshot)
        while queue:
            command = queue.pop(0)
            if isinstance(command, SubmitOrder) and self.down:
                reason = "broker disconnected: order not sent"
                result = pipeline.on_reject(command.order_id, reason, quote, snapshot.time, account)
            elif isinstance(command, SubmitOrder):
                self.working[command.order_id] = command
                result = self._try(command, snapshot, pipeline, account)
            elif isinstance(command, CancelOrder):
                if self.faults.ignore_cancel and self.rng.random() < self.faults.ignore_cancel:
                    self.faults_injected["cancels ignored"] += 1  # acknowledged, not acted on: still working
                    continue
                self.stuck.discard(command.order_id)
                late = self.working.get(command.order_id) if command.order_id in self.delayed else None
                self.delayed.discard(command.order_id)
                if late is not None:  # the fill was already on its way: it arrives, the cancel does nothing
                    result = self._try(late, snapshot, pipeline, account, late=True)
                    if command.order_id not in self.working:
                        self.faults_injected["fills after the cancel"] += 1
                        queue += result.commands
                        result.commands = []
                        out.extend(result)
                        continue
                if self.working.pop(command.order_id, None) is None:
                    continue
                result = pipeline.on_cancel_confirmed(command.order_id, quote, snapshot.time, account)
            else:
                if isinstance(command, AlertMessage):
                    self.alerts.append(command)
                continue
            queue += result.commands
            result.commands = []
            out.extend(result)
        return out

    def deliver(self, option: Contract, position: int, delivered: Contract, quantity: int) -> None:
        """An expiring option exercised or assigned: the position goes, the stock or future arrives and the
        strike is paid for it (cash moves as for a fill at the strike)."""
        left = self.holdings.get(option, 0) - position
        if left:
            self.holdings[option] = left
        else:
            self.holdings.pop(option, None)
        have = self.holdings.get(delivered, 0) + quantity
        if have:
            self.holdings[delivered] = have
        else:
            self.holdings.pop(delivered, None)
        self.cash -= quantity * (option.strike or 0.0) * delivered.multiplier

    def cancel_everything(self) -> None:
        """A restarting algorithm cancels every open order first; nothing of them fills afterwards."""
        self.working.clear()
        self.stuck.clear()
        self.delayed.clear()

    def retry(self, snapshot: MarketSnapshot, pipeline: Pipeline, account: AccountState) -> StepResult:
        """Working orders meet the new quotes."""
        out = StepResult()
        if self.down:
            return out
        for order in [o for o in self.working.values() if o.order_id not in self.stuck | self.delayed]:
            result = self._try(order, snapshot, pipeline, account)
            out.extend(self.execute(result.commands, snapshot, pipeline, account))
            result.commands = []
            out.extend(result)
        return out

    def _try(
        self,
        order: SubmitOrder,
        snapshot: MarketSnapshot,
        pipeline: Pipeline,
        account: AccountState,
        late: bool = False,
    ) -> StepResult:
        quote = self.quote_from(snapshot)
        legs = []
        natural = 0.0
        for leg in order.structure.legs:
            q = quote(leg.contract)
            if q is None:
                return StepResult()
            bid, ask = q
            buying = leg.ratio * order.side > 0
            price = ask if buying else bid
            natural += leg.ratio * price
            legs.append((leg, price))
        marketable = order.limit_price >= natural - 1e-9 if order.side > 0 else order.limit_price <= natural + 1e-9
        if not marketable:
            return StepResult()
        faulty = self.faults.reject or self.faults.partial or self.faults.delay
        draw = self.rng.random() if faulty and not late else 1.0
        if draw < self.faults.reject:
            self.working.pop(order.order_id, None)
            self.faults_injected["leg rejects"] += 1
            reason = "fault injected: a leg was rejected"
            return pipeline.on_reject(order.order_id, reason, quote, snapshot.time, account)
        if (
            self.faults.reject + self.faults.partial
            <= draw
            < self.faults.reject + self.faults.partial + self.faults.delay
        ):
            self.delayed.add(order.order_id)  # marketable, but its fill arrives only after the tracker cancels
            return StepResult()
        filling = list(enumerate(legs))
        units = order.quantity
        if draw < self.faults.reject + self.faults.partial and (len(legs) > 1 or order.quantity > 1):
            self.faults_injected["partial fills"] += 1
            self.stuck.add(order.order_id)  # stays working until the tracker cancels it
            if len(legs) > 1:
                filling = filling[: self.rng.randint(1, len(legs) - 1)]  # some legs: orphans to close
            else:
                units = order.quantity // 2
        else:
            self.working.pop(order.order_id, None)
        # Fill at the limit: the improvement over natural goes to the first leg.
        improvement = (order.limit_price - natural) / order.structure.legs[0].ratio
        out = StepResult()
        for i, (leg, price) in filling:
            contracts = leg.ratio * order.side * units
            fill_price = price + (improvement if i == 0 else 0.0)
            self._book_fill(order, leg.contract, contracts, fill_price)
            fill = Fill(order.structure.id, leg.contract, contracts, fill_price, snapshot.time)
            out.extend(pipeline.on_fill(order.order_id, fill, quote, account))
        return out

    def _book_fill(self, order: SubmitOrder, contract: Contract, contracts: int, price: float) -> None:
        have = self.holdings.get(contract, 0)
        reduces = have != 0 and (contracts > 0) != (have > 0)
        if (order.side < 0 or order.safety) and reduces and abs(contracts) > abs(have):
            self.oversized_closes += 1
        self.holdings[contract] = have + contracts
        if self.holdings[contract] == 0:
            del self.holdings[contract]
        self.cash -= contracts * price * contract.multiplier
        fees = contract_fees(self.settings, contract, contracts, is_opening(have, contracts), price)
        self.cash -= fees.total
        name = order.structure.strategy
        self.fees_by_strategy[name] = self.fees_by_strategy.get(name, 0.0) + fees.total
