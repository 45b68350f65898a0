"""LEAN's enums with LEAN's own numeric values (QuantConnect/Lean, August 2026), so a test double of
`AlgorithmImports` compares and prints as the engine does. Python sees them in upper snake case.

- SecurityType, OptionRight, OptionStyle, SettlementType, DelistingType: Common/Global.cs
- OrderType, OrderDirection, OrderStatus: Common/Orders/OrderTypes.cs
- BrokerageMessageType: Common/Brokerages/BrokerageMessageType.cs
- Resolution: Common/Global.cs; DataNormalizationMode: Common/Global.cs; AccountType: Common/Global.cs
"""

from __future__ import annotations

from enum import Enum


class SecurityType(Enum):
    BASE = 0
    EQUITY = 1
    OPTION = 2
    COMMODITY = 3
    FOREX = 4
    FUTURE = 5
    CFD = 6
    CRYPTO = 7
    FUTURE_OPTION = 8
    INDEX = 9
    INDEX_OPTION = 10


OPTION_TYPES = (SecurityType.OPTION, SecurityType.INDEX_OPTION, SecurityType.FUTURE_OPTION)


class OptionRight(Enum):
    CALL = 0
    PUT = 1


class OptionStyle(Enum):
    AMERICAN = 0
    EUROPEAN = 1


class SettlementType(Enum):
    PHYSICAL_DELIVERY = 0
    CASH = 1


class DelistingType(Enum):
    WARNING = 0
    DELISTED = 1


class OrderType(Enum):
    MARKET = 0
    LIMIT = 1
    STOP_MARKET = 2
    STOP_LIMIT = 3
    MARKET_ON_OPEN = 4
    MARKET_ON_CLOSE = 5
    OPTION_EXERCISE = 6
    LIMIT_IF_TOUCHED = 7
    COMBO_MARKET = 8
    COMBO_LIMIT = 9
    COMBO_LEG_LIMIT = 10
    TRAILING_STOP = 11


class OrderDirection(Enum):
    BUY = 0
    SELL = 1
    HOLD = 2


class OrderStatus(Enum):
    NEW = 0
    SUBMITTED = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 5
    NONE = 6
    INVALID = 7
    CANCEL_PENDING = 8
    UPDATE_SUBMITTED = 9

    def is_closed(self) -> bool:
        """Common/Orders/OrderExtensions.cs IsClosed: Filled, Canceled or Invalid."""
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.INVALID)

    def is_open(self) -> bool:
        """Common/Orders/OrderExtensions.cs IsOpen: neither closed nor None."""
        return not self.is_closed() and self is not OrderStatus.NONE


class BrokerageMessageType(Enum):
    INFORMATION = 0
    WARNING = 1
    ERROR = 2
    RECONNECT = 3
    DISCONNECT = 4
    ACTION_REQUIRED = 5


class Resolution(Enum):
    TICK = 0
    SECOND = 1
    MINUTE = 2
    HOUR = 3
    DAILY = 4


class DataNormalizationMode(Enum):
    RAW = 0
    ADJUSTED = 1
    SPLIT_ADJUSTED = 2
    TOTAL_RETURN = 3


class AccountType(Enum):
    MARGIN = 0
    CASH = 1


class BrokerageName(Enum):
    DEFAULT = 0
    TASTYTRADE = 32


class AlgorithmStatus(Enum):
    """Common/Global.cs AlgorithmStatus (the values this double reaches)."""

    RUNNING = 2
    STOPPED = 3
    RUNTIME_ERROR = 7
