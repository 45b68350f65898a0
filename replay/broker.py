"""The replay's simulated broker: it carries out the fill tracker's commands against the modelled quotes.

A combo limit order fills at once and whole when it is marketable (its limit at or through the natural price
of the structure in its direction), at its limit; otherwise it waits until the tracker reprices or cancels it.
A cancel is confirmed at once. Fees come from core/fees; cash moves with every fill. It checks every order
that reduces a position against the holding it reduces (an invariant of the run), and keeps the holdings."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.fees import fee_kind, leg_fees
from core.model import AccountState, Contract, ContractKind, Fill, MarketSnapshot
from core.orders import CancelOrder, Command, SubmitOrder
from core.pipeline import Pipeline, StepResult
from core.ports import AlertMessage, Quote
from core.settings import Settings


@dataclass
class ReplayBroker:
    settings: Settings
    cash: float
    working: dict[str, SubmitOrder] = field(default_factory=dict)
    holdings: dict[Contract, int] = field(default_factory=dict)
    fees_by_strategy: dict[str, float] = field(default_factory=dict)
    alerts: list[AlertMessage] = field(default_factory=list)
    oversized_closes: int = 0

    def quote_from(self, snapshot: MarketSnapshot) -> Quote:
        def quote(contract: Contract) -> tuple[float, float] | None:
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
            if isinstance(command, SubmitOrder):
                self.working[command.order_id] = command
                result = self._try(command, snapshot, pipeline, account)
            elif isinstance(command, CancelOrder):
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

    def retry(self, snapshot: MarketSnapshot, pipeline: Pipeline, account: AccountState) -> StepResult:
        """Working orders meet the new quotes."""
        out = StepResult()
        for order in list(self.working.values()):
            result = self._try(order, snapshot, pipeline, account)
            out.extend(self.execute(result.commands, snapshot, pipeline, account))
            result.commands = []
            out.extend(result)
        return out

    def _try(
        self, order: SubmitOrder, snapshot: MarketSnapshot, pipeline: Pipeline, account: AccountState
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
        self.working.pop(order.order_id, None)
        # Fill at the limit: the improvement over natural goes to the first leg.
        improvement = (order.limit_price - natural) / order.structure.legs[0].ratio
        out = StepResult()
        for i, (leg, price) in enumerate(legs):
            contracts = leg.ratio * order.side * order.quantity
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
        opening = order.side > 0 and not order.safety
        kind = fee_kind(
            contract.underlying if contract.kind is ContractKind.OPTION else contract.root,
            contract.kind is ContractKind.OPTION,
        )
        sold = contracts < 0
        fees = leg_fees(
            self.settings,
            kind,
            contract.root,
            abs(contracts),
            opening,
            sold,
            abs(contracts) * price * contract.multiplier,
        )
        self.cash -= fees.total
        name = order.structure.strategy
        self.fees_by_strategy[name] = self.fees_by_strategy.get(name, 0.0) + fees.total
