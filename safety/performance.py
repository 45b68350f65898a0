"""Performance tracking against the RULEBOOK's expected win rates.

A per-strategy ledger of closed trades: count, wins, win rate, average win and loss, expectancy and fees.
Once a strategy has `performance_min_trades` (20) trades, its wins are tested against its expected rate
with an exact one-sided binomial test; a p-value under `performance_alpha` (0.05) raises a WARNING (the
strategy is winning significantly less often than it should, not merely having a bad week).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.settings import Settings
from scipy.special import bdtr

EXPECTED_RATE_PARAMETER = {
    "zero_dte": "zdte_expected_win_rate",
    "strangles": "strangle_expected_win_rate",
    "lt112": "lt112_expected_win_rate",
    "ipmcc": "ipmcc_expected_win_rate",
    "leap_ladder": "ladder_expected_win_rate",
}


@dataclass
class StrategyStats:
    trades: int = 0
    wins: int = 0
    total_win: float = 0.0
    total_loss: float = 0.0  # a positive number: the sum of losing trades' losses
    fees: float = 0.0

    @property
    def win_rate(self) -> float:
        return self.wins / self.trades if self.trades else 0.0

    @property
    def average_win(self) -> float:
        return self.total_win / self.wins if self.wins else 0.0

    @property
    def average_loss(self) -> float:
        losses = self.trades - self.wins
        return self.total_loss / losses if losses else 0.0

    @property
    def expectancy(self) -> float:
        """Average P&L per trade, after fees."""
        return (self.total_win - self.total_loss) / self.trades if self.trades else 0.0


def p_value_below(wins: int, trades: int, expected: float) -> float:
    """P(X ≤ wins) for X ~ Binomial(trades, expected): how surprising so few wins would be."""
    return float(bdtr(wins, trades, expected))


class PerformanceLedger:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats: dict[str, StrategyStats] = {}

    def record(self, strategy: str, pnl_after_fees: float, fees: float) -> str | None:
        """Book one closed trade; returns a WARNING text when the strategy now underperforms."""
        st = self.stats.setdefault(strategy, StrategyStats())
        st.trades += 1
        st.fees += fees
        if pnl_after_fees > 0:
            st.wins += 1
            st.total_win += pnl_after_fees
        else:
            st.total_loss += -pnl_after_fees
        return self.check(strategy)

    def expected_rate(self, strategy: str) -> float | None:
        name = EXPECTED_RATE_PARAMETER.get(strategy)
        return None if name is None else float(getattr(self.settings, name))

    def check(self, strategy: str) -> str | None:
        st = self.stats.get(strategy)
        expected = self.expected_rate(strategy)
        if st is None or expected is None or st.trades < self.settings.performance_min_trades:
            return None
        p = p_value_below(st.wins, st.trades, expected)
        if p < self.settings.performance_alpha:
            return (
                f"{strategy} wins {st.wins} of {st.trades} ({st.win_rate:.0%}) against an expected {expected:.0%}: "
                f"that few wins has a {p:.1%} chance if the expected rate were true"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {k: asdict(v) for k, v in self.stats.items()}

    @classmethod
    def from_dict(cls, settings: Settings, data: dict[str, Any]) -> PerformanceLedger:
        ledger = cls(settings)
        ledger.stats = {k: StrategyStats(**v) for k, v in data.items()}
        return ledger
