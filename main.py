"""The LEAN algorithm: subscriptions, schedules and event handlers only; every decision lives in core/ and
the strategy, risk and safety packages (DESIGN.md). This is the foundation's minimal algorithm: it reads and
validates every parameter, refuses to start on a bad one, prints the effective configuration once, and sets
up the account the way live trading at TastyTrade needs. The strategies are wired in by issue #7."""

from AlgorithmImports import *

from core.settings import Settings, SettingsError
from lean_bridge.parameters import parameters_of


class OptionsIncomeAlgorithm(QCAlgorithm):
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
        self.log("effective config:\n  " + "\n  ".join(s.describe()))
