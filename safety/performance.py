"""Performance tracking against the RULEBOOK's expected win rates.

A per-strategy ledger of closed trades: count, wins, win rate, average win and loss, expectancy and fees.
Once a strategy has `performance_min_trades` (20) trades, its wins are tested against its expected rate
with an exact one-sided binomial test; a p-value under `performance_alpha` (0.05) raises a WARNING (the
strategy is winning significantly less often than it should, not merely having a bad week).

What one trade is: for LT112 and the strangles, the whole position. Their parts closed early are the
management of one position (LT112's naked puts at 90% of their credit while the debit spread stays as a
hedge; a strangle's tested side), and the RULEBOOK's expected rates (73%, 71%) are per position: counted
part by part, a winning LT112 was a win and a loss (its spread decays), and the test warned of a 73%
strategy winning a third of the time. Their parts' P&L waits under the position until its last close. For
the IPMCC each weekly call is a trade of its own (the income the 83% is about), and the LEAP's close is one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, astuple, dataclass
from typing import Any

from core.settings import Settings
from scipy.special import bdtr

WHOLE_POSITION = frozenset({"lt112", "strangles"})
PENDING_KEY = "_open_positions"  # in the saved ledger: parts already closed of positions still open

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


def position_of(strategy: str, structure_id: str, parent: str) -> str | None:
    """The position a close belongs to when its strategy counts whole positions (module docstring), else
    None (the close is a trade by itself)."""
    return (parent or structure_id) if strategy in WHOLE_POSITION else None


def whole_trades(closes: Iterable[tuple[str, str, str, float]]) -> list[tuple[str, float]]:
    """(strategy, P&L) of each completed trade from (strategy, structure id, parent, P&L) closes in time
    order: a whole-position strategy's parts add up under their position until it closes itself."""
    pending: dict[str, float] = {}
    out: list[tuple[str, float]] = []
    for strategy, structure_id, parent, pnl in closes:
        key = position_of(strategy, structure_id, parent)
        if key is None:
            out.append((strategy, pnl))
            continue
        pending[key] = pending.get(key, 0.0) + pnl
        if not parent:
            out.append((strategy, pending.pop(key)))
    return out


class PerformanceLedger:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats: dict[str, StrategyStats] = {}
        self.pending: dict[str, tuple[float, float]] = {}  # position → P&L after fees and fees of its parts

    def record(
        self, strategy: str, pnl_after_fees: float, fees: float, structure_id: str = "", parent: str = ""
    ) -> str | None:
        """Book one close; returns a WARNING text when the strategy now underperforms. A part of a
        whole-position strategy's structure only adds to its position until the structure itself closes."""
        key = position_of(strategy, structure_id, parent) if structure_id else None
        if key is not None:
            pnl, paid = self.pending.get(key, (0.0, 0.0))
            self.pending[key] = (pnl + pnl_after_fees, paid + fees)
            if parent:
                return None
            pnl_after_fees, fees = self.pending.pop(key)
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
        out: dict[str, Any] = {k: asdict(v) for k, v in self.stats.items()}
        if self.pending:
            out[PENDING_KEY] = {k: list(v) for k, v in self.pending.items()}
        return out

    @classmethod
    def from_dict(cls, settings: Settings, data: dict[str, Any]) -> PerformanceLedger:
        ledger = cls(settings)
        ledger.stats, ledger.pending = read_ledger(data)
        return ledger


def read_ledger(data: dict[str, Any]) -> tuple[dict[str, StrategyStats], dict[str, tuple[float, float]]]:
    """The saved ledger's statistics and pending positions; a TypeError or ValueError for a malformed one
    (the state file's reader turns it into a StateFileError: a halt, not a crash at start)."""
    stats = {k: StrategyStats(**v) for k, v in data.items() if k != PENDING_KEY}
    for name, st in stats.items():
        if not all(_is_number(x) for x in astuple(st)):
            raise TypeError(f"performance of {name}: every figure must be a number")
    held = data.get(PENDING_KEY, {})
    if not isinstance(held, dict) or not all(
        isinstance(v, list | tuple) and len(v) == 2 and all(_is_number(x) for x in v) for v in held.values()
    ):
        raise TypeError(f"performance {PENDING_KEY}: each open position must be [P&L, fees]")
    pending = {k: (float(v[0]), float(v[1])) for k, v in held.items()}
    return stats, pending


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)
