"""The TastyTrade fee model LEAN charges every fill with: core/fees' schedule, not LEAN's built-in
TastytradeFeeModel, which leaves out clearing and index fees and charges futures nothing (core/fees)."""

from __future__ import annotations

from AlgorithmImports import CashAmount, FeeModel, OrderFee, OrderFeeParameters
from core.fees import contract_fees
from core.settings import Settings

from lean_bridge.symbols import contract_of


def is_opening(held: float, order_quantity: float) -> bool:
    """An order opens unless it reduces a position held the other way (a close pays no option commission)."""
    return held == 0 or (held > 0) == (order_quantity > 0)


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
