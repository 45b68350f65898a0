"""TastyTrade's commission and fee schedule as a pure function (RULEBOOK "Fees", REFERENCE.md's table).

The same numbers serve LEAN's fee model, the offline replay and expected P&L, because LEAN's built-in
TastytradeFeeModel leaves out clearing and index fees and charges futures nothing.

- equity/ETF option: $1.00 to open, capped at $10 per leg; $0 to close; clearing $0.10 per contract.
- SPX/SPXW/XSP/NDX/RUT option: $1.00 to open, no cap; $0 to close; clearing $0.10; index fee $0.65 open
  and close.
- Both kinds of option: ORF per contract, and the FINRA TAF and SEC fee on sales.
- future option: $2.50 to open ($1.50 micro); $0 to close; clearing $0.30, CME's exchange fee for the root's
  options (`fee_exchange_future_option`) and the NFA fee, open and close.
- future: $1.25 per side ($0.85 micro); clearing $0.30, CME's exchange fee for the root
  (`fee_exchange_future`) and the NFA fee.
- stock/ETF: $0; clearing $0.0008 per share.

Every amount is a parameter (core/settings.py, `fee_*`). Money is positive: a fee is a cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.model import Contract, ContractKind
from core.products import AssetKind, product
from core.settings import Settings


class FeeKind(StrEnum):
    EQUITY_OPTION = "equity_option"
    INDEX_OPTION = "index_option"
    FUTURE_OPTION = "future_option"
    FUTURE = "future"
    STOCK = "stock"


@dataclass(frozen=True, slots=True)
class FeeBreakdown:
    commission: float
    clearing: float
    exchange: float
    regulatory: float

    @property
    def total(self) -> float:
        return self.commission + self.clearing + self.exchange + self.regulatory

    def __add__(self, other: FeeBreakdown) -> FeeBreakdown:
        return FeeBreakdown(
            self.commission + other.commission,
            self.clearing + other.clearing,
            self.exchange + other.exchange,
            self.regulatory + other.regulatory,
        )


ZERO = FeeBreakdown(0.0, 0.0, 0.0, 0.0)


def fee_kind(root: str, is_option: bool) -> FeeKind:
    """Which row of the schedule a root's option (or the root itself) falls in."""
    kind = product(root).kind
    if kind is AssetKind.FUTURE:
        return FeeKind.FUTURE_OPTION if is_option else FeeKind.FUTURE
    if kind is AssetKind.INDEX:
        if not is_option:
            raise ValueError(f"{root} is an index: only its options trade")
        return FeeKind.INDEX_OPTION
    return FeeKind.EQUITY_OPTION if is_option else FeeKind.STOCK


def leg_fees(
    settings: Settings,
    kind: FeeKind,
    root: str,
    quantity: int,
    opening: bool,
    is_sale: bool = False,
    sale_proceeds: float = 0.0,
) -> FeeBreakdown:
    """Fees for one leg of `quantity` contracts (shares for stock), opening or closing.

    `is_sale` and `sale_proceeds` (premium × multiplier × quantity, USD) drive the FINRA TAF and SEC fee,
    which fall on option sales only."""
    if quantity < 0:
        raise ValueError("quantity is a count of contracts and cannot be negative; the side is `is_sale`")
    if quantity == 0:
        return ZERO
    s, q = settings, float(quantity)
    if kind is FeeKind.STOCK:
        return FeeBreakdown(0.0, s.fee_clearing_stock_per_share * q, 0.0, 0.0)
    if kind in (FeeKind.FUTURE, FeeKind.FUTURE_OPTION):
        micro = product(root).micro
        if kind is FeeKind.FUTURE:
            commission = (s.fee_micro_future if micro else s.fee_future) * q  # both sides
        else:
            per = s.fee_micro_future_option_open if micro else s.fee_future_option_open
            commission = per * q if opening else 0.0
        exchange = (s.fee_exchange_future if kind is FeeKind.FUTURE else s.fee_exchange_future_option)[root.upper()]
        return FeeBreakdown(commission, s.fee_clearing_future * q, exchange * q, s.fee_nfa * q)
    # Equity and index options.
    regulatory = s.fee_orf * q
    if is_sale:
        regulatory += s.fee_finra_taf_option * q + s.fee_sec_rate * max(sale_proceeds, 0.0)
    if kind is FeeKind.EQUITY_OPTION:
        commission = min(s.fee_equity_option_open * q, s.fee_equity_option_leg_cap) if opening else 0.0
        return FeeBreakdown(commission, s.fee_clearing_option * q, 0.0, regulatory)
    commission = s.fee_index_option_open * q if opening else 0.0
    return FeeBreakdown(commission, s.fee_clearing_option * q, s.fee_index_option_exchange * q, regulatory)


def is_opening(held: float, quantity: float) -> bool:
    """A fill opens unless it reduces a position held the other way (TastyTrade charges no option commission
    to close); `quantity` is signed, + bought."""
    return held == 0 or (held > 0) == (quantity > 0)


def contract_fees(settings: Settings, contract: Contract, contracts: int, opening: bool, price: float) -> FeeBreakdown:
    """Fees for one fill of `contracts` (signed: + bought, − sold) of a contract at `price` per unit: what the
    replay's broker charges and what LEAN's fee model returns for the same order."""
    is_option = contract.kind is ContractKind.OPTION
    kind = fee_kind(contract.underlying if is_option else contract.root, is_option)
    proceeds = abs(contracts) * price * contract.multiplier
    return leg_fees(settings, kind, contract.root, abs(contracts), opening, contracts < 0, proceeds)
