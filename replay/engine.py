"""The replay engine: the same pipeline the LEAN shell drives, over modelled sessions, with a simulated
broker; nothing here changes a trading decision.

Each session: the safety systems start a new day; then the pipeline steps at every strategy entry time and
at the management times (`MANAGE_TIMES`, including the 15:00 and 15:30 assignment checks); working orders
meet each new quote first. At the close, structures whose options expire that day settle at intrinsic value
(cash for index options; equity and future options are settled the same way here, which the assignment
checks before 15:00 make rare: each such settlement is counted as a safety event). Net liq is cash plus the
open book at mid.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import risk
import safety
import strategies
from core.book_view import BookView
from core.calendar import Calendars
from core.model import AccountState, ContractKind, MarketSnapshot
from core.pipeline import ClosedTrade, Pipeline, StepResult
from core.settings import Settings
from replay.broker import ReplayBroker
from replay.modelled import LABEL, ModelledMarket, intrinsic_value
from replay.ports import ListAlerts
from risk.buying_power import regime
from safety.performance import EXPECTED_RATE_PARAMETER

NEW_YORK = ZoneInfo("America/New_York")
MANAGE_TIMES = (time(10, 45), time(12, 30), time(15, 0), time(15, 30), time(15, 50))
ROOTS = {"SPXW", "SPY", "QQQ", "ES", "USO", "CL"}
SUMMARY_STRATEGIES = ("zero_dte", "strangles", "lt112", "ipmcc", "leap_ladder", "futures")


@dataclass
class RunRecord:
    equity: list[tuple[date, float]] = field(default_factory=list)
    bp: list[tuple[date, float, float]] = field(default_factory=list)  # day, BP in use, ceiling
    trades: list[ClosedTrade] = field(default_factory=list)
    decisions: list[tuple[datetime, str, str, str]] = field(default_factory=list)  # time, kind, rule, reason
    refusals: Counter[str] = field(default_factory=Counter)
    safety_events: Counter[str] = field(default_factory=Counter)
    invariants: Counter[str] = field(default_factory=Counter)


class ReplayEngine:
    def __init__(self, settings: Settings, start: date, end: date, capital: float, seed: int = 7) -> None:
        self.settings = settings
        self.start, self.end, self.capital, self.seed = start, end, capital, seed
        self.calendars = Calendars()
        self.market = ModelledMarket(self.calendars, seed)
        built, self.futures = strategies.build(settings, self.calendars)
        self.alerts = ListAlerts()
        self.safety = safety.build(settings, self.calendars.equity, self.calendars.cme, self.alerts)
        self.risk = risk.build(settings, self.calendars.equity)
        self.pipeline = Pipeline(
            settings,
            self.calendars.equity,
            built,
            self.risk,
            self.safety.checks,
            self.safety.fills,
            self.safety.assignment,
            hedge=self.futures.hedge,
        )
        self.broker = ReplayBroker(settings, capital)
        self.record = RunRecord()
        self.peak = capital

    # ------------------------------------------------------------------ accounting

    def account(self, snapshot: MarketSnapshot) -> AccountState:
        view = BookView.build(self.pipeline.book.open_structures(), snapshot, self.settings)
        value = sum(v.mark * v.structure.legs[0].contract.multiplier * v.structure.quantity for v in view.views)
        net = self.broker.cash + value
        self.peak = max(self.peak, net)
        start = self.safety.checks.daily.start_of_day_net_liq or net
        return AccountState(net, start, self.peak, view.bp_in_use)

    # ------------------------------------------------------------------ the run

    def run(self, progress: bool = True) -> RunRecord:
        days = self.market.sessions(self.start, self.end)
        for n, day in enumerate(days):
            self._session(day)
            if progress and (n % 21 == 0 or n == len(days) - 1):
                net = self.record.equity[-1][1] if self.record.equity else self.capital
                print(
                    f"\r{day}  {n + 1:4d}/{len(days)} sessions  net liq {net:12,.0f}"
                    f"  trades {len(self.record.trades):5d}",
                    end="",
                    flush=True,
                )
        if progress:
            print()
        return self.record

    def _times(self, day: date) -> list[datetime]:
        times = {datetime.combine(day, t, tzinfo=NEW_YORK) for t in MANAGE_TIMES}
        for strategy in self.pipeline.strategies:
            times.update(strategy.entry_times(self.calendars.equity, day))
        session = self.calendars.equity.open_close(day)
        close = session[1] if session else datetime.combine(day, time(16, 0), tzinfo=NEW_YORK)
        return sorted(t for t in times if t < close)

    def _session(self, day: date) -> None:
        opening = self.market.snapshot(datetime.combine(day, time(9, 30), tzinfo=NEW_YORK), set())
        self.safety.checks.new_session(opening.time, self.account(opening))
        for moment in self._times(day):
            snapshot = self.market.snapshot(moment, ROOTS)
            account = self.account(snapshot)
            result = self.broker.retry(snapshot, self.pipeline, account)
            step = self.pipeline.step(snapshot, account, self.broker.quote_from(snapshot))
            result.extend(step)
            result.extend(self.broker.execute(step.commands, snapshot, self.pipeline, account))
            self._collect(result, snapshot)
            self._check_invariants(snapshot, account, step)
        self._settle(day)
        close = self.market.snapshot(datetime.combine(day, time(16, 0), tzinfo=NEW_YORK), ROOTS)
        account = self.account(close)
        view = BookView.build(self.pipeline.book.open_structures(), close, self.settings)
        self.record.equity.append((day, account.net_liq))
        ceiling = min(regime(close.vix or 20.0, self.settings)[1], self.settings.bp_reserve_ceiling) * account.net_liq
        self.record.bp.append((day, view.bp_in_use, ceiling))

    def _collect(self, result: StepResult, snapshot: MarketSnapshot) -> None:
        self.record.trades += result.closed
        for d in result.decisions:
            self.record.decisions.append((d.time, "decision", d.rule, d.reason))
        for a in result.approvals:
            self.record.decisions.append((snapshot.time, "approval", a.intent.structure.strategy, a.intent.reason))
        for r in result.refusals:
            self.record.refusals[r.rule] += 1
            self.record.decisions.append(
                (snapshot.time, "refusal", r.rule, f"{r.intent.structure.strategy}: {r.reason}")
            )

    def _check_invariants(self, snapshot: MarketSnapshot, account: AccountState, step: StepResult) -> None:
        # Orphan closes still working after the step that created them (the replay fills marketable orders at once).
        orphans = [o for o in self.safety.fills.working() if o.parent is not None]
        self.record.invariants["orphan legs open past the timeout"] += len(orphans)
        self.record.invariants["closes larger than positions"] = self.broker.oversized_closes
        # The book and the broker must agree on every contract once the step's orders are done.
        if not self.safety.fills.working():
            held = {c: q for c, q in self.broker.holdings.items() if q}
            self.record.invariants["book differs from the broker"] += int(held != self.pipeline.book.positions())
        if step.opened:  # limits are promises about entries: check them when something was opened
            s = self.settings
            phase = s.phase(account.net_liq)
            book = self.pipeline.book
            view = BookView.build(book.open_structures(), snapshot, s)
            total_limit = s.max_positions_total[phase - 1]
            if view.count() > total_limit:
                self.record.invariants["limit breaches"] += 1
        self.record.invariants.setdefault("positions lost across restarts", 0)

    def _settle(self, day: date) -> None:
        """Structures whose options expire today settle at intrinsic value at the close."""
        close = datetime.combine(day, time(16, 0), tzinfo=NEW_YORK)
        for structure in list(self.pipeline.book.open_structures()):
            expiries = {leg.contract.expiry for leg in structure.legs if leg.contract.kind is ContractKind.OPTION}
            if not expiries or min(e for e in expiries if e is not None) > day:
                continue
            if any(e is not None and e > day for e in expiries):
                self.record.safety_events["settled a leg of a longer structure at expiry"] += 1
            value = 0.0
            for leg in structure.legs:
                underlying = "SPX" if leg.contract.root == "SPXW" else leg.contract.root
                price = self.market.price(underlying, close) or 0.0
                value += leg.ratio * intrinsic_value(leg.contract, price)
            multiplier = structure.legs[0].contract.multiplier
            self.broker.cash += value * multiplier * structure.quantity
            for leg in structure.legs:
                left = self.broker.holdings.get(leg.contract, 0) - leg.ratio * structure.quantity
                if left:
                    self.broker.holdings[leg.contract] = left
                else:
                    self.broker.holdings.pop(leg.contract, None)
            self.pipeline.book.remove_units(structure.id, structure.quantity)
            pnl = (value - structure.entry_price) * multiplier * structure.quantity
            self.record.trades.append(
                ClosedTrade(
                    structure,
                    structure.strategy,
                    structure.quantity,
                    structure.entry_price,
                    value,
                    pnl,
                    close,
                    f"settled at expiry ({'in' if value else 'out of'} the money)",
                )
            )
            if value != 0 and structure.strategy != "zero_dte":
                self.record.safety_events["expired in the money"] += 1

    # ------------------------------------------------------------------ the report

    def summary(self) -> dict[str, Any]:
        equity = [v for _, v in self.record.equity] or [self.capital]
        peak, worst = equity[0], 0.0
        for v in equity:
            peak = max(peak, v)
            worst = max(worst, 1 - v / peak)
        per: dict[str, dict[str, Any]] = {}
        for name in SUMMARY_STRATEGIES:
            trades = [t for t in self.record.trades if t.strategy == name]
            fees = round(float(self.broker.fees_by_strategy.get(name, 0.0)), 2)
            wins = sum(1 for t in trades if t.pnl > 0)
            expected_param = EXPECTED_RATE_PARAMETER.get(name)
            per[name] = {
                "trades": len(trades),
                "wins": wins,
                "win_rate": round(wins / len(trades), 4) if trades else None,
                "expected_win_rate": getattr(self.settings, expected_param) if expected_param else None,
                "pnl": round(sum(t.pnl for t in trades) - fees, 2),
                "fees": fees,
                "worst_trade": round(min((t.pnl for t in trades), default=0.0), 2),
            }
        events = self.record.safety_events + Counter(a.title for a in self.alerts.sent)  # a copy: summary() is pure
        return {
            "source": "modelled",
            "prices": LABEL,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "capital": self.capital,
            "seed": self.seed,
            "final_net_liq": round(equity[-1], 2),
            "max_drawdown_pct": round(100 * worst, 2),
            "strategies": per,
            "refusals": dict(sorted(self.record.refusals.items())),
            "safety_events": dict(sorted(events.items())),
            "invariants": dict(sorted(self.record.invariants.items())),
            "faults_injected": {},
            "restarts": 0,
        }

    def write(self, out: Path) -> dict[str, Any]:
        from replay.report import write_report

        summary = self.summary()
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        write_report(out, summary, self.record)
        return summary
