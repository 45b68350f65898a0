"""The LEAN algorithm: subscriptions, schedules and event handlers only; every decision lives in core/ and
the strategy, risk and safety packages, reached through lean_bridge/runtime (DESIGN.md).

It reads and validates every parameter and refuses to start on a bad one, prints the effective
configuration once, sets up the account the way live trading at TastyTrade needs (brokerage model, our fee
model on every security), subscribes to what the enabled strategies need, warms up the daily history, and
loads and reconciles the saved state before the first trade. Its brokerage message handler keeps LEAN from
stopping the algorithm on a broker error or outage (lean_bridge/messages). The last line of a run is the
self-check (`SELF-CHECK PASSED` or `SELF-CHECK FAILED: ...`)."""

from datetime import timedelta

from AlgorithmImports import (
    AccountType,
    BrokerageMessageEvent,
    BrokerageMessageType,
    BrokerageName,
    FuncSecuritySeeder,
    OrderEvent,
    QCAlgorithm,
    Resolution,
    Slice,
    Symbol,
    TimeZones,
    TradeBar,
)

from core.settings import Settings, SettingsError
from lean_bridge.fees import TastytradeSecurities
from lean_bridge.messages import BrokerageMessages
from lean_bridge.parameters import parameters_of
from lean_bridge.runtime import LeanRuntime
from lean_bridge.subscriptions import plan, subscribe, warm_up


class OptionsIncomeAlgorithm(QCAlgorithm):
    runtime: LeanRuntime | None = None

    def initialize(self) -> None:
        try:
            self.settings_ = Settings.from_parameters(parameters_of(self))
        except SettingsError as err:
            self.error(str(err))
            self.quit(str(err))
            return
        s = self.settings_
        self.set_start_date(s.start_date.year, s.start_date.month, s.start_date.day)
        self.set_end_date(s.end_date.year, s.end_date.month, s.end_date.day)
        self.set_cash(s.starting_cash)
        self.set_time_zone(TimeZones.NEW_YORK)
        self.set_brokerage_model(BrokerageName.TASTYTRADE, AccountType.MARGIN)
        seeder = FuncSecuritySeeder(self.get_last_known_prices)
        self.set_security_initializer(TastytradeSecurities(self.brokerage_model, seeder, s))
        subscribed = subscribe(self, plan(s), self._on_daily_bar, Resolution.MINUTE)
        self.runtime = LeanRuntime(self, s, subscribed)
        self.set_brokerage_message_handler(BrokerageMessages(lambda: self.runtime))
        self.set_benchmark(subscribed.reference)
        self._schedule(subscribed.reference)
        self.set_warm_up(warm_up(s), Resolution.DAILY)
        self.log("effective config:\n  " + "\n  ".join(s.describe()))

    def _schedule(self, market: Symbol) -> None:
        s, runtime = self.settings_, self.runtime
        assert runtime is not None
        every_day = self.date_rules.every_day(market)
        entry_times = {
            s.zdte_open_time,
            s.zdte_analysis_time,
            s.zdte_entry_time,
            s.strangle_entry_time,
            s.lt112_entry_time,
            s.ipmcc_short_call_time,
            s.ladder_entry_time,
            s.assignment_check_time,
            s.index_expiry_check_time,
        }
        for at in sorted(entry_times):  # the pipeline decides which strategy is due on which day
            self.schedule.on(
                every_day, self.time_rules.at(at.hour, at.minute), lambda: runtime.request_step("schedule")
            )
        self.schedule.on(every_day, self.time_rules.every(timedelta(minutes=1)), runtime.on_minute)

    def _on_daily_bar(self, root: str, bar: TradeBar) -> None:
        if self.runtime is not None:
            self.runtime.on_daily_bar(root, bar)

    def on_warmup_finished(self) -> None:
        if self.runtime is not None:
            self.runtime.start()

    def on_data(self, slice: Slice) -> None:
        if self.runtime is not None:
            self.runtime.on_data(slice)

    def on_order_event(self, order_event: OrderEvent) -> None:
        if self.runtime is not None:
            self.runtime.on_order_event(order_event)

    def on_assignment_order_event(self, assignment_event: OrderEvent) -> None:
        if self.runtime is not None:
            self.runtime.on_assignment(assignment_event)

    def on_brokerage_disconnect(self) -> None:
        if self.runtime is not None:
            self.runtime.on_disconnect()

    def on_brokerage_reconnect(self) -> None:
        if self.runtime is not None:
            self.runtime.on_reconnect()

    def on_brokerage_message(self, message_event: BrokerageMessageEvent) -> None:
        if self.runtime is not None:
            is_error = message_event.type == BrokerageMessageType.ERROR
            self.runtime.on_brokerage_message(str(message_event.code), str(message_event.message), is_error)

    def on_end_of_day(self, symbol: Symbol) -> None:
        if self.runtime is not None and not self.is_warming_up and symbol == self.runtime.subscribed.reference:
            self.runtime.end_of_day()

    def on_end_of_algorithm(self) -> None:
        if self.runtime is not None:
            self.runtime.end_of_algorithm()
