"""The TastyTrade fee model LEAN charges every fill with: core/fees' schedule, not LEAN's built-in
TastytradeFeeModel (Common/Orders/Fees/TastytradeFeeModel.cs), which charges the commissions only (options 1.00
and future options 2.50 to open, futures 1.25 a side) and leaves out clearing, exchange, index and regulatory
fees."""

from __future__ import annotations

from AlgorithmImports import (
    BrokerageModelSecurityInitializer,
    CashAmount,
    FeeModel,
    IBrokerageModel,
    ISecuritySeeder,
    OrderFee,
    OrderFeeParameters,
    Security,
)
from core.fees import contract_fees, is_opening
from core.settings import Settings

from lean_bridge.symbols import contract_of


class TastytradeFees(FeeModel):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def get_order_fee(self, parameters: OrderFeeParameters) -> OrderFee:
        security, order = parameters.security, parameters.order
        contract = contract_of(security.symbol)
        if contract is None:  # a product the core does not know (an index, a benchmark): LEAN charges nothing
            return OrderFee(CashAmount(0.0, "USD"))
        quantity = int(order.quantity)
        opening = is_opening(float(security.holdings.quantity), quantity)
        fees = contract_fees(self.settings, contract, quantity, opening, float(security.price))
        return OrderFee(CashAmount(round(fees.total, 2), "USD"))


class TastytradeSecurities(BrokerageModelSecurityInitializer):
    """Every security LEAN adds (option contracts as their universes select them, too) gets the brokerage
    model's defaults, a seed price, and our fee model: LEAN's documented way to change one model of every
    security without losing the others."""

    def __init__(self, brokerage_model: IBrokerageModel, seeder: ISecuritySeeder, settings: Settings) -> None:
        super().__init__(brokerage_model, seeder)
        self.fees = TastytradeFees(settings)

    def initialize(self, security: Security) -> None:
        super().initialize(security)
        security.set_fee_model(self.fees)
