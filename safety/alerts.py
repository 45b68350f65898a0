"""Alerts (the SimpleAlerts) and the day's journal for the daily summary.

CRITICAL, WARNING and INFO go to the AlertSink port (LEAN's log everywhere, notify in live trading).
An alert identical to one sent within `alert_dedupe_minutes` is held back and counted; beyond
`alert_max_per_hour` non-critical alerts in an hour the rest are held back and counted too. CRITICAL always
goes out once per dedupe window. The journal keeps the day's closes by strategy, refusals and safety
events; `daily_summary` writes them up with the open book at the close.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from core.book_view import BookView
from core.model import AccountState
from core.ports import AlertLevel, AlertSink
from core.settings import Settings
from core.stress import StressResult, describe_worst
from core.timeutil import elapsed


class Alerts:
    def __init__(self, settings: Settings, sink: AlertSink) -> None:
        self.settings = settings
        self.sink = sink
        self._last_sent: dict[tuple[str, str, str], datetime] = {}
        self._recent: deque[datetime] = deque()
        self.held_back: Counter[str] = Counter()

    def send(self, now: datetime, level: AlertLevel, title: str, body: str) -> bool:
        """Send unless it repeats a recent alert or the hourly budget is spent; True when sent."""
        key = (level.value, title, body)
        last = self._last_sent.get(key)
        if last is not None and elapsed(last, now) < timedelta(minutes=self.settings.alert_dedupe_minutes):
            self.held_back["duplicate"] += 1
            return False
        while self._recent and elapsed(self._recent[0], now) >= timedelta(hours=1):
            self._recent.popleft()
        if level is not AlertLevel.CRITICAL and len(self._recent) >= self.settings.alert_max_per_hour:
            self.held_back["rate limit"] += 1
            return False
        self._last_sent[key] = now
        if level is not AlertLevel.CRITICAL:
            self._recent.append(now)
        self.sink.send(level, title, body)
        return True


@dataclass
class DayJournal:
    day: date | None = None
    pnl_by_strategy: dict[str, float] = field(default_factory=dict)
    trades_by_strategy: Counter[str] = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def new_day(self, day: date) -> None:
        self.day = day
        self.pnl_by_strategy, self.trades_by_strategy = {}, Counter()
        self.refusals, self.events = [], []

    def record_close(self, strategy: str, pnl: float) -> None:
        self.pnl_by_strategy[strategy] = self.pnl_by_strategy.get(strategy, 0.0) + pnl
        self.trades_by_strategy[strategy] += 1

    def daily_summary(
        self, book: BookView, account: AccountState, held_back: Counter[str], stress: StressResult | None = None
    ) -> str:
        """What happened today; `stress`, the book on the stress grid at the close (core/stress), adds the
        worst three scenarios (RULEBOOK "Stress")."""
        lines = [
            f"Daily summary {self.day}: net liq {account.net_liq:,.0f} (start {account.start_of_day_net_liq:,.0f})"
        ]
        total = sum(self.pnl_by_strategy.values())
        lines.append(f"closed P&L {total:+,.2f} in {sum(self.trades_by_strategy.values())} trades")
        for strategy in sorted(self.pnl_by_strategy):
            lines.append(
                f"  {strategy}: {self.pnl_by_strategy[strategy]:+,.2f} in {self.trades_by_strategy[strategy]} trades"
            )
        share = book.bp_in_use / account.net_liq if account.net_liq else 0.0
        lines.append(f"open structures {len(book.structures)}; BP in use {book.bp_in_use:,.0f} ({share:.1%})")
        greeks = f"delta {book.delta_1pct:+,.0f} per 1% SPX, vega {book.vega:+,.0f} per vol point"
        lines.append(f"Greeks: {greeks}, theta {book.theta:+,.0f} a day")
        if stress is not None:
            lines.append(stress_line(stress, account.net_liq))
        for s in book.structures:
            lines.append(f"  {s.strategy} {s.id} x{s.quantity}")
        for problem in book.unvalued:
            lines.append(f"  cannot value: {problem}")
        lines.append(f"refusals {len(self.refusals)}:")
        lines.extend(f"  {r}" for r in self.refusals)
        lines.append(f"safety events {len(self.events)}:")
        lines.extend(f"  {e}" for e in self.events)
        if held_back:
            lines.append("alerts held back: " + ", ".join(f"{k} {v}" for k, v in sorted(held_back.items())))
        return "\n".join(lines)


def stress_line(result: StressResult, net_liq: float) -> str:
    """The book's worst three stress scenarios with their losses, for a person to read."""
    if not result.complete:
        return f"stress: unknown, {result.unrevalued[0]}"
    if not result.ids:
        return "stress: nothing open"
    return f"stress, worst three: {describe_worst(result.ranked(3), net_liq)}"
