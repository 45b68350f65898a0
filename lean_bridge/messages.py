"""Our brokerage message handler, in place of LEAN's default one.

LEAN installs `DefaultBrokerageMessageHandler` before `initialize` (Engine/Engine.cs), and it stops the
algorithm on any brokerage error message, and 15 minutes after a disconnect while a market is open
(Common/Brokerages/DefaultBrokerageMessageHandler.cs `HandleMessage`, a runtime error), before
`on_brokerage_message` has run. A live options book stopped by a transient error or a broker outage is left
unmanaged: no stops, no assignment checks, no orphan closes. This handler stops nothing; LEAN then calls
`on_brokerage_message` and `on_brokerage_disconnect` / `on_brokerage_reconnect` for every message (Engine.cs),
and those go through our connection rules (safety/connection: no new orders, WARNING, CRITICAL after 5
minutes, reconciliation before anything resumes). What only this handler sees:
- ActionRequired (the broker needs a person, e.g. a new login): treated as a disconnect until LEAN reconnects;
- an order placed at the broker outside the algorithm (`handle_order`): not adopted (False, as LEAN's default
  answers), with a CRITICAL alert; if it fills, the next reconciliation finds it and halts trading.
LEAN wraps a Python handler and needs both `handle_message` and `handle_order`
(Common/Python/BrokerageMessageHandlerPythonWrapper.cs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from AlgorithmImports import BrokerageMessageEvent, BrokerageMessageType

from lean_bridge.runtime import LeanRuntime


class BrokerageMessages:
    def __init__(self, runtime: Callable[[], LeanRuntime | None]) -> None:
        self.runtime = runtime

    def handle_message(self, message: BrokerageMessageEvent) -> None:
        runtime = self.runtime()
        if runtime is not None and message.type == BrokerageMessageType.ACTION_REQUIRED:
            runtime.on_action_required(str(message.message))

    def handle_order(self, event_args: Any) -> bool:
        runtime = self.runtime()
        if runtime is not None:
            order = getattr(event_args, "order", None)
            runtime.order_outside(f"{getattr(order, 'symbol', '?')} x{getattr(order, 'quantity', '?')}")
        return False
