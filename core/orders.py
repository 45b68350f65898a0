"""What the fill tracker tells a shell to do, and what it reports back: the vocabulary between the pipeline,
the safety systems and the shells' brokers."""

from __future__ import annotations

from dataclasses import dataclass

from core.model import Structure
from core.ports import AlertMessage


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    order_id: str
    structure: Structure
    side: int  # +1 open, −1 close
    quantity: int  # structures
    limit_price: float  # per unit of the structure as written, + debit
    safety: bool


@dataclass(frozen=True, slots=True)
class CancelOrder:
    order_id: str


@dataclass(frozen=True, slots=True)
class Filled:
    """Whole structures done: opened (side +1) or closed (side −1), at an average net price per unit."""

    structure_id: str
    side: int
    units: int
    average_price: float


Command = SubmitOrder | CancelOrder | AlertMessage | Filled
