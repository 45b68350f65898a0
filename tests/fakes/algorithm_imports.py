"""A LEAN-faithful double of `AlgorithmImports`: the names main.py and lean_bridge/ use, behaving as LEAN's
engine does for what the tests drive. Each behaviour cites the LEAN source it follows (QuantConnect/Lean,
August 2026), in the module that implements it under tests/fakes/lean/:

- enums.py: LEAN's enum values (OrderType.COMBO_LIMIT is 9, OPTION_EXERCISE 6, ...);
- symbols.py: symbols, and future-option roots (GC options are OG, CL's LO, ZB's OZB, 6E's EUU);
- hours.py: per-security exchange hours from the market-hours database (SPX closes 16:15 New York, equity
  options 16:00, ES 17:00);
- securities.py: symbol properties and price variation (SPXW 0.05/0.10, ES options fall back to ES's 0.25),
  holdings and the portfolio;
- universe.py: option filters (`strikes(-n, n)` counts listed strikes);
- orders.py, transactions.py: combo and limit orders (sizing, rounding, the brokerage model per leg,
  synchronous Submitted and Invalid events), fills by LEAN's fill model, cancels (group cancel, the tag a
  cancel writes), expiry, exercise and assignment in LEAN's event order, early assignment;
- brokerage.py: the TastyTrade brokerage and fee models, brokerage messages and the default handler that
  stops the algorithm;
- algorithm.py: QCAlgorithm, callbacks (threads in live mode), the runtime error that stops a run;
- engine.py: the time loop of AlgorithmManager, and a market a test describes.

What it cannot be: LEAN's real data, fills against real quotes, its margin model, its C# performance. Install
it with `install()` before importing main.py or lean_bridge; `uninstall()` removes them again.
"""

from __future__ import annotations

import sys
import types

from tests.fakes.lean.algorithm import (
    DateRules,
    LeanTimeout,
    LiveThreads,
    Notify,
    ObjectStore,
    QCAlgorithm,
    QuantBook,
    Schedule,
    TimeRules,
)
from tests.fakes.lean.brokerage import (
    BrokerageMessageEvent,
    BrokerageModelSecurityInitializer,
    DefaultBrokerageMessageHandler,
    FeeModel,
    FuncSecuritySeeder,
    IBrokerageMessageHandler,
    IBrokerageModel,
    ISecuritySeeder,
    OrderFeeParameters,
    TastytradeBrokerageModel,
    TastytradeFeeModel,
)
from tests.fakes.lean.data import (
    Delisting,
    Greeks,
    OptionChain,
    OptionChains,
    OptionContract,
    Slice,
    TradeBar,
    Underlying,
)
from tests.fakes.lean.enums import (
    AccountType,
    AlgorithmStatus,
    BrokerageMessageType,
    BrokerageName,
    DataNormalizationMode,
    DelistingType,
    OptionRight,
    OptionStyle,
    OrderDirection,
    OrderStatus,
    OrderType,
    Resolution,
    SecurityType,
    SettlementType,
)
from tests.fakes.lean.hours import MarketHoursDatabase, SecurityExchangeHours
from tests.fakes.lean.orders import (
    ArgumentException,
    CashAmount,
    GroupOrderManager,
    Leg,
    Order,
    OrderEvent,
    OrderFee,
    OrderResponse,
    OrderTicket,
)
from tests.fakes.lean.securities import (
    Exchange,
    GetMinimumPriceVariationParameters,
    Portfolio,
    Securities,
    Security,
    SecurityHolding,
    SymbolProperties,
)
from tests.fakes.lean.symbols import FuturesOptionsSymbolMappings, SecurityIdentifier, Symbol
from tests.fakes.lean.universe import InvalidOperationException, OptionFilterUniverse


class TimeZones:
    NEW_YORK = "America/New_York"
    CHICAGO = "America/Chicago"
    UTC = "UTC"


class Market:
    USA = "usa"
    CME = "cme"


__all__ = [
    "AccountType", "AlgorithmStatus", "ArgumentException", "BrokerageMessageEvent", "BrokerageMessageType",
    "BrokerageModelSecurityInitializer", "BrokerageName", "CashAmount", "DataNormalizationMode", "DateRules",
    "DefaultBrokerageMessageHandler", "Delisting", "DelistingType", "Exchange", "FeeModel", "FuncSecuritySeeder",
    "FuturesOptionsSymbolMappings", "GetMinimumPriceVariationParameters", "Greeks", "GroupOrderManager",
    "IBrokerageMessageHandler", "IBrokerageModel", "ISecuritySeeder", "InvalidOperationException", "LeanTimeout",
    "Leg", "LiveThreads", "Market", "MarketHoursDatabase", "Notify", "ObjectStore", "OptionChain", "OptionChains",
    "OptionContract", "OptionFilterUniverse", "OptionRight", "OptionStyle", "Order", "OrderDirection", "OrderEvent",
    "OrderFee", "OrderFeeParameters", "OrderResponse", "OrderStatus", "OrderTicket", "OrderType", "Portfolio",
    "QCAlgorithm", "QuantBook", "Resolution", "Schedule", "Securities", "Security", "SecurityExchangeHours",
    "SecurityHolding", "SecurityIdentifier", "SecurityType", "SettlementType", "Slice", "Symbol",
    "SymbolProperties", "TastytradeBrokerageModel", "TastytradeFeeModel", "TimeRules", "TimeZones", "TradeBar",
    "Underlying", "install", "uninstall",
]  # fmt: skip
NAMES = __all__


def install() -> types.ModuleType:
    module = types.ModuleType("AlgorithmImports")
    names = [n for n in NAMES if n not in ("install", "uninstall")]
    for name in names:
        setattr(module, name, globals()[name])
    module.__all__ = names  # type: ignore[attr-defined]
    sys.modules["AlgorithmImports"] = module
    return module


def uninstall() -> None:
    sys.modules.pop("AlgorithmImports", None)
    for name in [m for m in sys.modules if m == "main" or m.startswith("lean_bridge")]:
        sys.modules.pop(name, None)
