"""An order's price as the operator types it: a positive amount and a side (credit or debit), on the tick.

Money signs are said once here. The operator gives `--credit 1.20` or `--debit 0.80`, always positive. The
core's convention is + debit, − credit (`Price.core`); the SDK's `LimitOrder.price` is the other way round,
negative = debit (`Price.sdk`), and the SDK leaves `price-effect` out of the body altogether for a zero
price (tastytrade/order.py `_split_sign_into_effect`, utils.py `get_sign`). So a negative or zero amount
is refused before anything is sent: `--credit -1.80` would otherwise go out as a 1.80 debit (the mistake a
LEAN plugin made live) and `--credit 0` as an order without a price effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from core.products import order_tick

# Structures sold for a credit (tasty/structures.py): a debit pays to open them, which is a sign error far
# more often than a trade, so `check` refuses it unless the operator typed --debit.
CREDIT_STRUCTURES = frozenset({"ic", "bps", "bcs", "strangle", "sp"})


class PriceError(ValueError):
    """A price the tool will not send, said in one line."""


class Side(StrEnum):
    CREDIT = "credit"
    DEBIT = "debit"


@dataclass(frozen=True, slots=True)
class Price:
    amount: Decimal  # > 0, per structure
    side: Side

    def __post_init__(self) -> None:
        if not self.amount.is_finite() or self.amount <= 0:
            raise PriceError(f"a price is a positive amount, got {self.amount}")

    @property
    def core(self) -> float:
        """The core's sign: + debit, − credit."""
        return float(self.amount) if self.side is Side.DEBIT else -float(self.amount)

    @property
    def sdk(self) -> Decimal:
        """The SDK's sign (`LimitOrder.price`): negative = debit, positive = credit."""
        return -self.amount if self.side is Side.DEBIT else self.amount

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.side.value}"


def parse_price(flag: str, text: str, side: Side) -> Price:
    """`--credit 1.20` → Price(1.20, credit); a negative, zero or non-numeric amount is a PriceError."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise PriceError(f"{flag} {text}: not a price (give a positive amount, e.g. {flag} 1.20)") from None
    if not amount.is_finite():
        raise PriceError(f"{flag} {text}: not a price (give a positive amount, e.g. {flag} 1.20)")
    if amount <= 0:
        raise PriceError(f"{flag} {text}: a price is a positive amount; say which side it is with --credit or --debit")
    return Price(amount, side)


def on_tick(price: Price, root: str, legs: int) -> Price:
    """The price rounded to the nearest tick of the order (core/products.order_tick: a single option's tick,
    or the finer package tick of a combo); a price that rounds to nothing is a PriceError."""
    tick = Decimal(str(order_tick(root, float(price.amount), legs)))
    rounded = (price.amount / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP) * tick
    rounded = Decimal(format(rounded.normalize(), "f"))
    if rounded <= 0:
        raise PriceError(f"{price.amount} {price.side.value} is under half of {root}'s tick ({tick}): not a price")
    return Price(rounded, price.side)
