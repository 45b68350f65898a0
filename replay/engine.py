"""The replay engine: the same pipeline the LEAN shell drives, over modelled sessions, with a simulated
broker; nothing here changes a trading decision.

Each session: the safety systems start a new day; then the pipeline steps when LEAN's schedule would
(lean_bridge/runtime.on_minute): at every strategy entry and exit time, at the assignment checks, and every
`manage_interval_minutes` from the open while something is held (`_times`); working orders meet each new
quote first, minute by minute until the next step, and a held 0DTE is managed at each of those minutes too
(`Pipeline.watch`). At the close, structures whose options expire that day
settle: index options in cash at intrinsic value, equity and future options a cent or more in the money by
delivery (the shares or the future enter the book and are flattened at the next session's first step).
Net liq is cash plus the open book at mid, a structure without a quote at its last mark.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from core.calendar import Calendars
from core.expiry import intrinsic_value, settle_expired, settles_with_its_future
from core.model import AccountState, ContractKind, Leg, MarketSnapshot, Structure, delivery
from core.pipeline import ClosedTrade, StepResult
from core.ports import EventCalendar, TimedExit
from core.products import Settlement
from core.settings import Settings
from core.stress import Worst, stress_book
from replay.broker import ReplayBroker
from replay.coverage import Coverage
from replay.faults import DISCONNECT_MINUTES, Faults
from replay.modelled import ModelledMarket, with_bad_quotes
from replay.ports import FolderStore, ListAlerts, MemoryStore
from replay.progress import ProgressBar
from replay.statistics import benchmark, run_statistics, years
from risk import drawdown
from risk.buying_power import regime
from risk.correlation import counted, group_of, limit_of
from safety.performance import EXPECTED_RATE_PARAMETER, whole_trades
from safety.persistence import TradingRecord
from safety.state import TradingState
from trading.system import STATE_KEY, TradingSystem, restored

NEW_YORK = ZoneInfo("America/New_York")
ROOTS = {"SPXW", "SPY", "QQQ", "IWM", "ES", "USO", "CL"}
OPTIONAL_ROOTS = {"IWM"}  # a leap strategy's underlying by choice only: its chain is built when chosen
ORPHAN_GRACE = timedelta(minutes=5)
ES_ROOTS = ("ES", "MES")  # options on E-mini S&P futures: the quarterlies settle at the SOQ
SOQ_TIME = time(9, 30)  # E-mini S&P quarterlies stop trading at the open (08:30 Chicago) of their third Friday
EXERCISE_THRESHOLD = 0.01  # OCC exercises (and assigns) an expiring option in the money by a cent or more
OPERATOR_NOTE = (
    "a person in the loop: a HALT is cleared at the next open, and entries stopped by the drawdown step with"
    " nothing open restart from a peak reset to net liq (see safety events); --no-operator leaves both for good"
)
SUMMARY_STRATEGIES = ("zero_dte", "strangles", "lt112", "ipmcc", "leap_ladder", "futures")


class Market(Protocol):
    """Where the replay's snapshots come from: replay/modelled.py or replay/lean_source.py."""

    calendars: Calendars  # the sessions the market keeps; the engine's clock and the algorithm use them too

    @property
    def source(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def problems(self) -> list[str]:
        """Odd files reported and skipped."""
        ...

    @property
    def price_notes(self) -> set[str]:
        """How prices were found where they were not read directly."""
        ...

    def events(self) -> EventCalendar | None:
        """The ex-dividend dates and amounts this market knows (replay/dividends), or None."""
        ...

    def sessions(self, start: date, end: date) -> list[date]: ...

    def snapshot(
        self, moment: datetime, roots: set[str], expiries: Mapping[str, set[date]] | None = None
    ) -> MarketSnapshot:
        """The market at `moment` with the chains of `roots`; `expiries` may narrow a root's chain to those
        expiries (a minute step needs only what it holds or works: a market may ignore the hint)."""
        ...

    def price(self, root: str, moment: datetime) -> float | None: ...


@dataclass
class RunRecord:
    equity: list[tuple[date, float]] = field(default_factory=list)
    bp: list[tuple[date, float, float]] = field(default_factory=list)  # day, BP in use, ceiling
    trades: list[ClosedTrade] = field(default_factory=list)
    decisions: list[tuple[datetime, str, str, str]] = field(default_factory=list)  # time, kind, rule, reason
    refusals: Counter[str] = field(default_factory=Counter)
    safety_events: Counter[str] = field(default_factory=Counter)
    invariants: Counter[str] = field(default_factory=Counter)
    coverage: Coverage = field(default_factory=lambda: Coverage(tuple(sorted(ROOTS))))
    # The book on the stress grid at each close (core/stress): day, net liq, worst three (scenario, loss),
    # or the reason it could not be revalued.
    stress: list[tuple[date, float, tuple[Worst, ...], str]] = field(default_factory=list)


class ReplayEngine:
    def __init__(
        self,
        settings: Settings,
        start: date,
        end: date,
        capital: float,
        seed: int = 7,
        faults: Faults | None = None,
        market: Market | None = None,
        operator: bool = False,
    ) -> None:
        """`operator`: a person clears a HALT at the next session's open, after it was counted, and measures
        drawdown afresh when its −15% step has stopped entries with nothing left open (the chaos run's and the
        CLI's stand-in for the operator who looks; without it a halted or stopped run trades nothing more)."""
        self.settings = settings
        self.operator = operator
        self.start, self.end, self.capital, self.seed = start, end, capital, seed
        self.faults = faults or Faults()
        self.calendars = market.calendars if market is not None else Calendars()  # the market's own hours
        self.market: Market = market or ModelledMarket(self.calendars, seed)
        # The chains an entry step builds: every root but an optional one no strategy is set to trade.
        chosen = {settings.ipmcc_underlying, settings.ladder_underlying}
        self.entry_roots = (ROOTS - OPTIONAL_ROOTS) | (OPTIONAL_ROOTS & chosen)
        self.alerts = ListAlerts()
        self.store = MemoryStore()
        self.broker = ReplayBroker(settings, capital, faults=self.faults, seed=seed)
        self.record = RunRecord(coverage=Coverage(tuple(sorted(self.entry_roots))))
        self.restarts = 0
        self.last_close: MarketSnapshot | None = None
        self.minute_ticks = 0  # fill-check steps between the scheduled ones
        self.watch_minutes = 0  # of which a held 0DTE's minute management (Pipeline.watch)
        self.fault_rng = random.Random(seed + 1)  # the engine's own faults (disconnects)
        self.down_until = datetime.min.replace(tzinfo=NEW_YORK)
        self.faults_disconnects = 0
        self.limit_checks = 0  # how often the limit invariants ran (a test sees that they do)
        self.orphans_seen: dict[str, datetime] = {}  # working orphan close → when it was first seen
        self.orphans_late: set[str] = set()
        self.management_only: set[datetime] = set()  # today's steps that only manage what is held
        self.last_marks: dict[str, float] = {}  # structure id → its last mark (account(): a broker's last price)
        self.faults_engine: Counter[str] = Counter()  # faults the engine injects (the broker counts its own)
        self.steps_per_day = 1  # the day's scheduled steps (`_session`): so `disconnect` is a share of sessions
        cal = self.calendars
        self.events = self.market.events()  # ex-dividend dates: the market's own (replay/dividends)
        self._wire(TradingSystem(settings, cal, cal.equity, cal.cme, self.alerts, peak=capital, events=self.events))

    def _wire(self, system: TradingSystem) -> None:
        """Use a freshly built algorithm (at the start, or rebuilt from the saved state as a restart would)."""
        self.system = system
        self.futures, self.safety, self.risk = system.futures, system.safety, system.risk
        self.pipeline = system.pipeline

    @property
    def peak(self) -> float:
        return self.system.peak

    # ------------------------------------------------------------------ state and restarts

    def trading_record(self) -> TradingRecord:
        return self.system.record()

    def save(self, now: datetime) -> None:
        self.system.save(self.store, now, STATE_KEY)

    def restart(self, now: datetime) -> bool:
        """Throw the algorithm away and rebuild it from the saved state, reconciled with the broker's holdings,
        as a crash and a start would: the shell first cancels every order still open at the broker, then the
        orders that were in flight resume from their saved fills (legs out of ratio closed, the rest
        repriced or finished)."""
        if self.safety.fills.working():
            self.faults_engine["restarts between an order and its fill"] += 1
        self.broker.cancel_everything()
        before = self.pipeline.book.positions()
        cal, holdings = self.calendars, dict(self.broker.holdings)
        system, alerts = restored(
            self.settings, cal, cal.equity, cal.cme, self.alerts, self.store, holdings, now, self.system.peak,
            events=self.events,
        )  # fmt: skip
        self._wire(system)
        for alert in alerts:
            if alert.title != "no saved state":
                self.alerts.send(alert.level, alert.title, alert.body)
        self.record.invariants["positions lost across restarts"] += int(self.pipeline.book.positions() != before)
        snapshot = self.market.snapshot(now, self.entry_roots)
        account = self.account(snapshot)
        result = self.system.resume(self.broker.quote_from(snapshot), now, account)
        result.extend(self.broker.execute(result.commands, snapshot, self.pipeline, account))
        self._collect(result, snapshot)
        self.save(now)  # as the LEAN shell does: a halt, adopted orphans, a truncated file replaced at once
        self.restarts += 1
        return True

    def _restart_now(self, moment: datetime) -> None:
        """The restart fault at any moment; some restarts find the state file truncated, and then trading
        must come back HALTED (never trusting a state it could not read)."""
        corrupt = self._draw(self.faults.corrupt)
        if corrupt:
            text = self.store.load(STATE_KEY) or ""
            self.store.save(STATE_KEY, text[: len(text) // 2])
            self.faults_engine["state files truncated"] += 1
        self.restart(moment)
        self.faults_engine["restarts at random moments"] += 1
        if corrupt:
            self.record.invariants["not HALTED on an untrusted state"] += int(
                self.safety.state.state is not TradingState.HALTED
            )

    # ------------------------------------------------------------------ accounting

    def account(self, snapshot: MarketSnapshot) -> AccountState:
        """Net liq as a broker reports it: cash plus every open structure at its mark, and a structure the
        snapshot cannot value (a chain missing, bad quotes) at its last mark, as a broker keeps a holding's
        last price. Leaving it out made a book of short puts look richer by their whole value whenever its
        chain was missing: a false peak for the drawdown rules and a false daily loss against it."""
        view = self.system.book_view(snapshot)
        value = 0.0
        for v in view.views:
            self.last_marks[v.structure.id] = v.mark
            value += v.mark * v.structure.legs[0].contract.multiplier * v.structure.quantity
        valued = {v.structure.id for v in view.views}
        for s in view.structures:
            if s.id not in valued:
                mark = self.last_marks.get(s.id, s.entry_price)
                value += mark * s.legs[0].contract.multiplier * s.quantity
        return self.system.account(self.broker.cash + value, view, snapshot.time)

    # ------------------------------------------------------------------ the run

    def run(self, progress: bool = True) -> RunRecord:
        days = self.market.sessions(self.start, self.end)
        bar = ProgressBar(len(days)) if progress else None
        for n, day in enumerate(days):
            self._session(day)
            if bar is not None:
                net = self.record.equity[-1][1] if self.record.equity else self.capital
                bar.update(n + 1, day, net, len(self.record.trades))
        if bar is not None:
            bar.finish()
        return self.record

    def _stopped_with_nothing_open(self, account: AccountState, day: date) -> bool:
        """Entries stopped by the drawdown step (not the close-all's own pause, which ends by itself) while
        the book holds nothing that could win the loss back."""
        below = drawdown.reached(drawdown.drawdown(account), self.settings.drawdown_stop_entries)
        return below and not self.pipeline.book.structures and not self.system.risk.state.paused_on(day)

    def _times(self, day: date) -> list[datetime]:
        """The day's steps, as LEAN's schedule takes them (lean_bridge/runtime.on_minute): every
        `manage_interval_minutes` from the open while something is held (`management_only`: skipped when the
        book is empty), the strategies' entry and exit times, and the assignment checks (the exit and the
        checks move earlier on an early close; steps past the close fall away)."""
        session = self.calendars.equity.open_close(day)
        management: set[datetime] = set()
        if session is not None:
            step = timedelta(minutes=self.settings.manage_interval_minutes)
            moment = session[0] + step
            while moment < session[1]:
                management.add(moment)
                moment += step
        others = set(self.safety.assignment.check_times(day))
        for strategy in self.pipeline.strategies:
            others.update(strategy.entry_times(self.calendars.equity, day))
            if isinstance(strategy, TimedExit):
                others.add(strategy.exit_time(day))
        self.management_only = management - others
        close = session[1] if session else datetime.combine(day, time(16, 0), tzinfo=NEW_YORK)
        return sorted(t for t in management | others if t < close)

    def _session(self, day: date) -> None:
        opening = self.market.snapshot(datetime.combine(day, time(9, 30), tzinfo=NEW_YORK), self.entry_roots)
        if self.faults.restart_daily and self.record.equity:
            self.restart(opening.time)
        if self.operator and self.safety.state.state is TradingState.HALTED:
            self.safety.state.clear(opening.time, "the operator looked (replay)")
            self.record.safety_events["halts cleared by the operator"] += 1
        account = self.account(opening)
        if self.operator and self._stopped_with_nothing_open(account, day):
            # RULEBOOK's −15% step stops entries until net liq is back; with nothing open nothing can bring it
            # back, and "a person decides" (drawdown_reset_peak). The replay's operator decides at the next
            # open to measure afresh, as that parameter would for one start; the report counts each time.
            self.system.reset_peak(account.net_liq, opening.time, "the operator looked (replay)")
            self.record.safety_events["drawdown peaks reset by the operator"] += 1
            account = self.account(opening)
        self.safety.checks.new_session(opening.time, account)
        scheduled = self._times(day)
        self.steps_per_day = max(len(scheduled), 1)
        session = self.calendars.equity.open_close(day)
        last = session[1] if session else datetime.combine(day, time(16, 0), tzinfo=NEW_YORK)
        for n, moment in enumerate(scheduled):
            self._moment(moment, full=True)
            # While an order works, the fill checks tick every minute until the next scheduled step, as the
            # live algorithm's minute data would drive them: reprices, cancels and orphan closes play out. While
            # a 0DTE is held its own management runs every minute too (Pipeline.watch: a stop is a stop).
            until = scheduled[n + 1] if n + 1 < len(scheduled) else last
            minute = moment + timedelta(minutes=1)
            while (self.safety.fills.working() or self.broker.down or self.pipeline.watching()) and minute < until:
                self._moment(minute, full=False)
                minute += timedelta(minutes=1)
        if self.broker.down:
            self._connection(last, full=False)
        self._settle(day)
        # Only what is held is valued at the close (net liq, the equity curve, what is open at the end): every
        # chain here cost 7% of a year's replay. (The opening snapshot stays whole: the modelled market lists
        # the day's strikes around the price at its first chain of the day, which must stay 09:30's.)
        roots, narrowed = self._needs(True)
        close = self.market.snapshot(datetime.combine(day, time(16, 0), tzinfo=NEW_YORK), roots, narrowed)
        self.last_close = close  # the marks the summary values what is still open at
        account = self.account(close)
        self.record.equity.append((day, account.net_liq))
        shocked = stress_book(self.system.book_view(close), close, self.settings)
        problem = "" if shocked.complete else shocked.unrevalued[0]
        ranked = tuple(shocked.ranked(3)) if shocked.ids and not problem else ()  # never a part for the whole
        self.record.stress.append((day, account.net_liq, ranked, problem))
        self.save(close.time)  # expiries settled, the day's counters final
        share = (
            math.nan
            if close.vix is None
            else min(regime(close.vix, self.settings)[1], self.settings.bp_reserve_ceiling)
        )
        self.record.bp.append((day, account.bp_in_use, share * account.net_liq))  # no VIX: no ceiling to draw

    def _connection(self, moment: datetime, full: bool) -> None:
        """The disconnect fault: drop at a scheduled step, reconnect (and reconcile) DISCONNECT_MINUTES later."""
        monitor = self.safety.connection
        if self.broker.down and moment >= self.down_until:
            self.broker.down = False

            def agrees() -> bool:
                # As the LEAN shell: on a difference the book is rebuilt from the holdings and trading halts.
                differences = self.system.reconcile(dict(self.broker.holdings), moment)
                for found in differences:
                    self.alerts.send(found.level, found.title, found.body)
                return not differences

            alerts, _ = monitor.on_reconnect(moment, agrees)
        elif self.broker.down:
            alerts = monitor.tick(moment)
        elif full and self.faults.disconnect and self.fault_rng.random() < self.faults.disconnect / self.steps_per_day:
            close = self.calendars.equity.open_close(moment.astimezone(NEW_YORK).date())
            low, high = self.faults.disconnect_minutes
            minutes = (
                DISCONNECT_MINUTES if (low, high) == (DISCONNECT_MINUTES,) * 2 else self.fault_rng.randint(low, high)
            )
            back = moment + timedelta(minutes=minutes)
            # Back by the close at the latest: a restart overnight would otherwise forget the outage.
            self.broker.down, self.down_until = True, min(back, close[1]) if close else back
            self.faults_disconnects += 1
            alerts, _ = monitor.on_disconnect(moment, "fault injected: connection lost")
        else:
            return
        for alert in alerts:
            self.alerts.send(alert.level, alert.title, alert.body)

    def _draw(self, share: float) -> bool:
        """One fault draw; no draw at all for a fault that is off, so runs without it stay as they were."""
        return bool(share) and self.fault_rng.random() < share

    def _needs(self, management: bool) -> tuple[set[str], dict[str, set[date]]]:
        """The chains a step without entries reads, each narrowed to the expiries it holds or works: at a
        management step the whole book's and the working orders' legs; at a minute between steps the watched
        0DTE's and the working orders' (the rest of the book keeps its last marks, as a broker's account does
        between quotes). Building every chain at every step cost the default backtest minutes and decided
        nothing: strategies propose entries only at their entry times, which read the whole market."""
        held = self.pipeline.book.open_structures() if management else self.pipeline.watched()
        expiries: dict[str, set[date]] = {}
        for structure in [*held, *(o.structure for o in self.safety.fills.working())]:
            for leg in structure.legs:
                if leg.contract.root in ROOTS and leg.contract.expiry is not None:
                    expiries.setdefault(leg.contract.root, set()).add(leg.contract.expiry)
        return set(expiries), expiries

    def _moment(self, moment: datetime, full: bool) -> None:
        """A scheduled step (strategies, risk, safety, fill checks) or, with full=False, a minute between them:
        the watched 0DTE's management with the fill checks while one is held, else the fill checks only."""
        faults = self.faults
        if full and moment in self.management_only and not self.pipeline.book.structures:
            return  # LEAN manages only while something is open
        if self._draw(faults.gap):
            self.faults_engine["data gaps"] += 1  # nothing arrives: no step at this moment
            return
        if self._draw(faults.restart):
            self._restart_now(moment)
        self._connection(moment, full)
        every = full and moment not in self.management_only  # a step where strategies may enter
        roots, narrowed = (self.entry_roots, None) if every else self._needs(full)
        snapshot = self.market.snapshot(moment, roots, narrowed)
        if every:
            self.record.coverage.add(snapshot)
        if self._draw(faults.bad_quotes):
            snapshot = with_bad_quotes(snapshot, self.fault_rng)
            self.faults_engine["steps with bad quotes"] += 1
        before = self.safety.state.state
        sent_before = len(self.pipeline.sent)  # keys are never removed: the new ones come after these
        account = self.account(snapshot)
        quote = self.broker.quote_from(snapshot)
        result = self.broker.retry(snapshot, self.pipeline, account)
        if full:
            step = self.pipeline.step(snapshot, account, quote)
        elif self.pipeline.watching():
            step = self.pipeline.watch(snapshot, account, quote)
            self.watch_minutes += 1
        else:
            step = self.pipeline.tick(snapshot, account, quote)
        result.extend(step)
        result.extend(self.broker.execute(step.commands, snapshot, self.pipeline, account))
        self._collect(result, snapshot)
        self._check_invariants(snapshot, account, result)  # result: the step and the fills it led to
        if TradingState.ACTIVE not in (before, self.safety.state.state):
            # The gates' promise: no new entry goes out unless trading is ACTIVE (safety closes may).
            new = [key for key in itertools.islice(self.pipeline.sent, sent_before, None) if key[1] > 0]
            entries = [k for k in new if not self.pipeline.sent[k].safety]
            self.record.invariants["entries sent while not ACTIVE"] += len(entries)
        if result.opened or result.closed or step.commands or result.commands:
            self.save(moment)  # after every change, as the live algorithm does
        self.minute_ticks += 0 if full else 1

    def _collect(self, result: StepResult, snapshot: MarketSnapshot) -> None:
        self.record.trades += result.closed
        for d in result.decisions:
            self.record.decisions.append((d.time, "decision", d.rule, d.reason))
            if d.alert is not None:
                self.safety.alerts.send(d.time, d.alert, d.rule, d.reason)
        for a in result.approvals:
            notes = "".join(f"; {note}" for note in a.notes)  # what the rules changed (a halved size, a note)
            self.record.decisions.append(
                (snapshot.time, "approval", a.intent.structure.strategy, a.intent.reason + notes)
            )
        for r in result.refusals:
            self.record.refusals[r.rule] += 1
            self.record.decisions.append(
                (snapshot.time, "refusal", r.rule, f"{r.intent.structure.strategy}: {r.reason}")
            )

    def _check_invariants(self, snapshot: MarketSnapshot, account: AccountState, step: StepResult) -> None:
        # An orphan close still working ORPHAN_GRACE after it was first seen: time enough for the fill checks'
        # timeout, a cancel sent twice and a late fill (the faults do all of these); not counted while the
        # connection is down, when nothing can close it. Counted once per orphan.
        now = snapshot.time
        working = {o.key for o in self.safety.fills.working() if o.parent is not None}
        self.orphans_seen = {k: v for k, v in self.orphans_seen.items() if k in working}
        for key in working:
            self.orphans_seen.setdefault(key, now)
        late = [
            k for k, first in self.orphans_seen.items() if now - first > ORPHAN_GRACE and k not in self.orphans_late
        ]
        if not self.broker.down:
            self.orphans_late.update(late)
            self.record.invariants["orphan legs open past the timeout"] += len(late)
        self.record.invariants["closes larger than positions"] = self.broker.oversized_closes
        # The book and the broker must agree on every contract once the step's orders are done, and no option
        # may be short at the broker beyond what an open structure means to be short.
        if not self.safety.fills.working():
            held = {c: q for c, q in self.broker.holdings.items() if q}
            intended = self.pipeline.book.positions()
            self.record.invariants["book differs from the broker"] += int(held != intended)
            naked = [c for c, q in held.items() if c.kind is ContractKind.OPTION and q < min(intended.get(c, 0), 0)]
            self.record.invariants["short options nobody meant to hold"] += len(naked)
        if step.opened:  # limits are promises about entries: check them when something was opened
            self._check_limits(snapshot, account, {s.strategy for s, _, _ in step.opened})
        self.record.invariants.setdefault("positions lost across restarts", 0)

    def _check_limits(self, snapshot: MarketSnapshot, account: AccountState, opened: set[str]) -> None:
        """After an entry: the total and the opened strategies' position limits for the phase, and buying
        power within the VIX regime's ceiling (2% of room for marks that moved between approval and fill)."""
        self.limit_checks += 1
        s = self.settings
        phase = s.phase(account.net_liq)
        view = self.system.book_view(snapshot)
        ours = sum(1 for x in view.structures if not x.parent and x.strategy != "orphan")
        breaches = int(ours > s.max_positions_total[phase - 1])
        for strategy in opened:
            limits = getattr(s, f"max_positions_{strategy}", None)
            breaches += int(limits is not None and view.count(strategy) > limits[phase - 1])
        self.record.invariants["limit breaches"] += breaches
        groups = {group_of(x.legs[0].contract.underlying, s) for x in view.structures if x.strategy in opened}
        self.record.invariants["correlation group over its limit"] += sum(
            1 for g in groups if g is not None and len(counted(view.structures, g, s)) > limit_of(g, phase, s)
        )
        if snapshot.vix is not None and account.net_liq > 0:
            ceiling = min(regime(snapshot.vix, s)[1], s.bp_reserve_ceiling) * account.net_liq
            self.record.invariants["buying power over the VIX ceiling"] += int(view.bp_in_use > 1.02 * ceiling)

    def _settle(self, day: date) -> None:
        """At the close of an expiry day: physically settled options in the money deliver their stock or
        future (`_deliver`); the rest settle at intrinsic value, in cash (core/expiry). Only the expiring legs
        go: an IPMCC's LEAP stays open when its weekly call expires."""
        close = datetime.combine(day, time(16, 0), tzinfo=NEW_YORK)
        self._deliver(day, close)
        settled, missing = settle_expired(self.pipeline.book, day, close, lambda root: self._settlement(root, day))
        for names in missing:  # never settled on a made-up price: left open, and the report says so
            self.record.safety_events[f"no settlement price for {names}: left open"] += 1
        for done in settled:
            multiplier = done.legs[0].contract.multiplier
            self.broker.cash += done.value * multiplier * done.units
            for leg in done.legs:
                left = self.broker.holdings.get(leg.contract, 0) - leg.ratio * done.units
                if left:
                    self.broker.holdings[leg.contract] = left
                else:
                    self.broker.holdings.pop(leg.contract, None)
            self.record.trades.append(done.trade)
            if done.value != 0 and done.trade.strategy != "zero_dte":
                self.record.safety_events["expired in the money"] += 1

    def _future_last_trade(self, underlying: str, day: date) -> date | None:
        """The last trading day of the future an E-mini S&P option on `day` exercises into (the front
        quarterly); None for other roots (their delivery names no month here)."""
        return self.calendars.es_front_quarterly(day, 0) if underlying in ES_ROOTS else None

    def _settlement(self, root: str, day: date) -> float | None:
        """The price an option on `root` expiring on `day` settles against: the close, but an E-mini S&P
        option expiring with its quarterly future settles at the special opening quotation, which the modelled
        market stands in for with its 09:30 open (core/expiry.settles_with_its_future)."""
        if root in ES_ROOTS and self._future_last_trade(root, day) == day:
            return self.market.price("ES", datetime.combine(day, SOQ_TIME, tzinfo=NEW_YORK))
        return self.market.price(root, datetime.combine(day, time(16, 0), tzinfo=NEW_YORK))

    def _deliver(self, day: date, close: datetime) -> None:
        """Expiring equity and future options in the money by at least `EXERCISE_THRESHOLD` are exercised or
        assigned, as the clearing house does by exception: the broker swaps the position for the stock or
        future at the strike, and the system books it as LEAN's assignment event would have it booked. The
        market is closed, so the flattening closes go out at the next session's first step (the assignment
        check's standing rule): the delivery is held overnight, with its gap risk, as it would be."""
        snapshot: MarketSnapshot | None = None
        while True:
            found = self._expiring_in_the_money(day, close)
            if found is None:
                return
            structure, leg, price = found
            option = leg.contract
            position = leg.ratio * structure.quantity
            arrived = delivery(option, position, self._future_last_trade(option.underlying, day))
            if arrived is None:
                return
            delivered, quantity = arrived
            self.broker.deliver(option, position, delivered, quantity)
            snapshot = snapshot or self.market.snapshot(close, ROOTS)
            account = self.account(snapshot)
            quote = self.broker.quote_from(snapshot)
            result, alerts = self.system.on_assignment(
                option, -position, delivered, quantity, price, snapshot, account, quote, send=False
            )
            for alert in alerts:
                self.alerts.send(alert.level, alert.title, alert.body)
            self._collect(result, snapshot)
            self.record.safety_events["delivered at expiry"] += 1

    def _expiring_in_the_money(self, day: date, close: datetime) -> tuple[Structure, Leg, float] | None:
        for structure in self.pipeline.book.open_structures():
            for leg in structure.legs:
                c = leg.contract
                if c.kind is not ContractKind.OPTION or c.settlement is not Settlement.PHYSICAL or c.expiry != day:
                    continue
                if settles_with_its_future(c, self._future_last_trade(c.underlying, day)):
                    continue  # cash at the SOQ, with the cash-settled (settle_expired)
                price = self.market.price(c.underlying, close)
                if price is not None and intrinsic_value(c, price) >= EXERCISE_THRESHOLD:
                    return structure, leg, price
        return None

    # ------------------------------------------------------------------ the report

    def open_at_end(self) -> dict[str, tuple[int, float]]:
        """Per strategy, the structures still open after the last session and their P&L at its closing marks
        (what a trade's win rate and P&L leave out)."""
        out: dict[str, tuple[int, float]] = {}
        if self.last_close is None:
            return out
        for view in self.system.book_view(self.last_close).views:
            count, pnl = out.get(view.structure.strategy, (0, 0.0))
            out[view.structure.strategy] = (count + 1, pnl + view.pnl)
        return out

    def summary(self) -> dict[str, Any]:
        equity = [v for _, v in self.record.equity] or [self.capital]
        peak, worst = equity[0], 0.0
        for v in equity:
            peak = max(peak, v)
            worst = max(worst, 1 - v / peak)
        per: dict[str, dict[str, Any]] = {}
        # A trade as the expected win rates mean it (safety/performance): LT112 and strangle parts closed
        # early count with their position; P&L is every close's, realised.
        outcomes = whole_trades((t.strategy, t.structure.id, t.structure.parent, t.pnl) for t in self.record.trades)
        still_open = self.open_at_end()
        for name in SUMMARY_STRATEGIES:
            closes = [t for t in self.record.trades if t.strategy == name]
            results = [pnl for strategy, pnl in outcomes if strategy == name]
            fees = round(float(self.broker.fees_by_strategy.get(name, 0.0)), 2)
            wins = sum(1 for pnl in results if pnl > 0)
            expected_param = EXPECTED_RATE_PARAMETER.get(name)
            per[name] = {
                "trades": len(results),
                "wins": wins,
                "win_rate": round(wins / len(results), 4) if results else None,
                "expected_win_rate": getattr(self.settings, expected_param) if expected_param else None,
                "pnl": round(sum(t.pnl for t in closes) - fees, 2),
                "fees": fees,
                "worst_trade": round(min(results, default=0.0), 2),
                "open": still_open.get(name, (0, 0.0))[0],
                "unrealised_pnl": round(still_open.get(name, (0, 0.0))[1], 2),
            }
        alerts = self.alerts.sent + self.broker.alerts  # the safety systems' and the fill tracker's
        events = self.record.safety_events + Counter(a.title for a in alerts)  # a copy: summary() is pure
        spy_closes = getattr(self.market, "benchmark_closes", None)  # optional: the LEAN-folder source has none
        spy: list[tuple[date, float]] | None = spy_closes(self.start, self.end) if spy_closes else None
        return {
            "source": self.market.source,
            "prices": self.market.label,
            "data_problems": list(self.market.problems),
            "price_notes": sorted(self.market.price_notes),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "capital": self.capital,
            "seed": self.seed,
            "final_net_liq": round(equity[-1], 2),
            "max_drawdown_pct": round(100 * worst, 2),
            "statistics": run_statistics(self.record.equity, self.capital, self.record.trades),
            "benchmark": benchmark(spy, [day for day, _ in self.record.equity]),
            "years": years(self.record.equity, self.capital, self.record.trades),
            "strategies": per,
            "refusals": dict(sorted(self.record.refusals.items())),
            "safety_events": dict(sorted(events.items())),
            "invariants": dict(sorted(self.record.invariants.items())),
            "faults_injected": dict(
                sorted(
                    (
                        self.broker.faults_injected
                        + self.faults_engine
                        + Counter({"disconnects": self.faults_disconnects})
                    ).items()
                )
            ),
            "stress": self.stress_summary(),
            "restarts": self.restarts,
            "operator": OPERATOR_NOTE if self.operator else None,
            "data_coverage": self.record.coverage.to_dict(),
        }

    def stress_summary(self) -> dict[str, Any]:
        """The book's worst stress loss over the run (RULEBOOK "Stress"), as a share of that day's net liq: its
        largest, the day and scenario of it, the closes beyond `stress_alert_loss`, and the closes it could
        not be revalued."""
        worst_pct, worst_day, worst_scenario, over, unknown = 0.0, None, None, 0, 0
        for day, net_liq, ranked, problem in self.record.stress:
            unknown += bool(problem)
            if not ranked or net_liq <= 0:
                continue
            share = ranked[0].loss / net_liq
            over += share > self.settings.stress_alert_loss
            if share > worst_pct:
                worst_pct, worst_day, worst_scenario = share, day.isoformat(), ranked[0].scenario.label()
        return {
            "max_worst_loss_pct": round(100 * worst_pct, 2),
            "max_worst_loss_day": worst_day,
            "max_worst_loss_scenario": worst_scenario,
            "days_over_alert": over,
            "days_not_revalued": unknown,
        }

    def write(self, out: Path) -> dict[str, Any]:
        from replay.report import write_report

        summary = self.summary()
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        FolderStore(out).save(STATE_KEY, self.store.load(STATE_KEY) or self.trading_record().to_text(self._end_time()))
        write_report(out, summary, self.record)
        return summary

    def _end_time(self) -> datetime:
        return datetime.combine(self.end, time(16, 0), tzinfo=NEW_YORK)
