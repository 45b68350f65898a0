"""The risk manager: reviews proposed entries against the portfolio rules, and proposes the closes the
portfolio rules call for (VIX regime, drawdown, 21-DTE defence).

`review` takes a batch in order, each against the book as it would be after the earlier approvals, and
answers each proposal with an Approval (possibly for a smaller quantity, with notes) or a Refusal naming
the rule. Rules run cheapest and most absolute first; the first refusal stops the review of that proposal;
reductions chain (a halved size is then fitted into the buying power left).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from core.book import with_part
from core.book_view import BookView
from core.exits import ExitAction, time_and_dte21_exit
from core.model import (
    AccountState,
    AlertLevel,
    Approval,
    Decision,
    Found,
    IntentAction,
    MarketSnapshot,
    NotFound,
    OrderIntent,
    Refusal,
)
from core.ports import Calendar, EventCalendar
from core.settings import Settings, share
from core.stress import StressResult, stress_book
from core.stress import stress as stress_of
from core.valuation import StructureView, value_structure

from risk import buying_power, correlation, drawdown, events, greeks, phases, positions, stress
from risk.buying_power import is_short_put_structure
from risk.state import RiskState
from risk.verdict import Candidate, Note, Reduce, Refuse, ReviewContext, Verdict, scaled

NEW_YORK = ZoneInfo("America/New_York")

RULES: tuple[Callable[[Candidate, ReviewContext], Verdict], ...] = (
    drawdown.check,
    phases.check,
    buying_power.check_vix_mode,
    positions.check,
    correlation.check,
    events.check,
    greeks.check,
    buying_power.check,
    stress.check,  # after buying power: it revalues the quantity that fits
)


class RiskManager:
    def __init__(
        self,
        settings: Settings,
        calendar: Calendar | None = None,
        event_calendar: EventCalendar | None = None,
        state: RiskState | None = None,
    ) -> None:
        self.settings = settings
        self.calendar = calendar
        self.events = event_calendar
        self.state = state or RiskState()
        self._entries_stopped = False  # warned of the stop-entries step (once per episode; again after a restart)
        self._looked_at: dict[str, date] = {}  # structure id → the day a person was last asked to look at it
        self._stress_warned: date | None = None  # the day the book's stress loss last raised its WARNING

    # ------------------------------------------------------------------------------------------ entries

    def review(
        self, intents: Sequence[OrderIntent], book: BookView, snapshot: MarketSnapshot, account: AccountState
    ) -> list[Approval | Refusal]:
        today = snapshot.time.astimezone(NEW_YORK).date()
        out: list[Approval | Refusal] = []
        shocked = self._warm_stress(intents, book, snapshot)
        for intent in intents:
            if intent.action is not IntentAction.OPEN:
                out.append(Approval(intent, ("closing is never limited by the risk rules",)))
                continue
            if intent.quantity <= 0:
                out.append(Refusal(intent, "quantity", f"quantity {intent.quantity} is not a positive number"))
                continue
            valued = self._value_candidate(intent, book, snapshot)
            if isinstance(valued, NotFound):
                out.append(Refusal(intent, "valuation", valued.reason))
                continue
            ctx = ReviewContext(
                self.settings, snapshot, account, book, self.state, today, self.calendar, self.events, shocked
            )
            answer = self._review_one(Candidate(intent, _at_quantity(valued.value, intent)), ctx)
            out.append(answer)
            if isinstance(answer, Approval):
                added = _at_quantity(valued.value, answer.intent)
                book = book.with_added(added)
                shocked = shocked.plus(stress_of([added], snapshot, self.settings))
        return out

    def _warm_stress(self, intents: Sequence[OrderIntent], book: BookView, snapshot: MarketSnapshot) -> StressResult:
        """The book on the stress grid, with every proposal revalued in the same vectorised pass (core/stress
        memoises each row on the snapshot) instead of one small pass per proposal in the stress rule."""
        views = list(book.views)
        for intent in intents:
            if intent.action is IntentAction.OPEN and intent.quantity > 0:
                valued = self._value_candidate(intent, book, snapshot)
                if isinstance(valued, Found):
                    views.append(_at_quantity(valued.value, intent))
        stress_of(views, snapshot, self.settings)
        return stress_book(book, snapshot, self.settings)

    def _value_candidate(
        self, intent: OrderIntent, book: BookView, snapshot: MarketSnapshot
    ) -> Found[StructureView] | NotFound:
        """A part of a held structure (an IPMCC's weekly call) is valued with its parent: its buying power is
        what it adds to the parent's (a covered call is not a naked one); its Greeks are its own."""
        valued = value_structure(intent.structure, snapshot, self.settings)
        parent_id = intent.structure.parent
        if isinstance(valued, NotFound) or not parent_id:
            return valued
        parent = next((v for v in book.views if v.structure.id == parent_id), None)
        if parent is None:
            return valued
        merged = value_structure(with_part(parent.structure, intent.structure), snapshot, self.settings)
        if isinstance(merged, NotFound):
            return merged
        return Found(dataclasses.replace(valued.value, bp=max(merged.value.bp - parent.bp, 0.0)))

    def _review_one(self, candidate: Candidate, ctx: ReviewContext) -> Approval | Refusal:
        notes: list[str] = []
        for rule in RULES:
            verdict = rule(candidate, ctx)
            if isinstance(verdict, Refuse):
                return Refusal(candidate.intent, verdict.rule, verdict.reason)
            if isinstance(verdict, Reduce):
                candidate = candidate.with_quantity(verdict.quantity)
                notes.append(verdict.note)
            elif isinstance(verdict, Note):
                notes.append(verdict.text)
        return Approval(candidate.intent, tuple(notes))

    # ------------------------------------------------------------------------------------------ closes

    def manage(
        self, book: BookView, snapshot: MarketSnapshot, account: AccountState
    ) -> tuple[list[OrderIntent], list[Decision]]:
        """Closes the portfolio rules call for, most severe first, at most one per structure, and decisions
        (alerts) for what a person should look at. May start a drawdown pause (self.state)."""
        s = self.settings
        now = snapshot.time
        closes: dict[str, OrderIntent] = {}
        decisions: list[Decision] = []

        def close(view: StructureView, rule: str, reason: str) -> None:
            sid = view.structure.id
            if sid not in closes:
                closes[sid] = OrderIntent(
                    IntentAction.CLOSE,
                    view.structure,
                    view.structure.quantity,
                    round(view.mark, 4),
                    f"{rule}: {reason}",
                )

        for problem in book.unvalued:
            decisions.append(Decision(now, "valuation", False, problem))
        dd = drawdown.drawdown(account)
        today = now.astimezone(NEW_YORK).date()
        paused = self.state.paused_on(today)
        if drawdown.reached(dd, s.drawdown_close_all):
            for view in book.views:
                close(view, "drawdown", f"{dd:.1%} below peak ≥ {share(s.drawdown_close_all)}: close everything")
            if not paused:  # once: a pause running is not started again by the drawdown that started it
                self._start_pause(now, f"drawdown of {dd:.1%} from peak {account.peak_net_liq:,.0f}")
                reason = (
                    f"{dd:.1%} below peak {account.peak_net_liq:,.0f}; all closed, entries paused until "
                    f"{self.state.pause_until}, then drawdown is measured from net liq on that day"
                )
                decisions.append(Decision(now, "drawdown", False, reason, alert=AlertLevel.CRITICAL))
        elif drawdown.reached(dd, s.drawdown_stop_entries):
            losers = [view for view in book.views if view.pnl < 0]
            for view in losers:
                close(
                    view,
                    "drawdown",
                    f"{dd:.1%} below peak ≥ {share(s.drawdown_stop_entries)}: close losers ({view.pnl:+,.0f})",
                )
            if not self._entries_stopped:
                self._entries_stopped = True
                back = account.peak_net_liq * (1.0 - s.drawdown_stop_entries)
                reason = (
                    f"{dd:.1%} below peak {account.peak_net_liq:,.0f}: no new entries until net liq is back to "
                    f"{back:,.0f}; closing {len(losers)} losing structure(s). If what stays open cannot get it "
                    "there, a person decides: set drawdown_reset_peak for one start"
                )
                decisions.append(Decision(now, "drawdown", False, reason, alert=AlertLevel.WARNING))
        if not drawdown.reached(dd, s.drawdown_stop_entries):
            self._entries_stopped = False
        vix = snapshot.vix
        if vix is not None and vix > s.vix_close_all_above:
            for view in book.views:
                if not is_short_put_structure(view.structure):
                    close(
                        view,
                        "vix regime",
                        f"VIX {vix:.2f} > {s.vix_close_all_above:g}: close everything but short puts",
                    )
        if vix is not None and vix > s.vix_put_only_above:
            for view in book.views:
                if view.structure.strategy == "strangles":
                    close(view, "vix regime", f"VIX {vix:.2f} > {s.vix_put_only_above:g}: close strangles")
        warning = self._stress_warning(book, snapshot, account)
        if warning is not None:
            decisions.append(warning)
        for view in book.views:
            signal = time_and_dte21_exit(view, s)
            if signal is None:
                continue
            if signal.action is ExitAction.CLOSE:
                close(view, signal.rule, signal.reason)
            elif signal.action is ExitAction.ALERT:
                sid = view.structure.id
                level = AlertLevel.WARNING if self._looked_at.get(sid) != today else None  # once a day each
                self._looked_at[sid] = today
                decisions.append(Decision(now, signal.rule, False, signal.reason, sid, alert=level))
        return list(closes.values()), decisions

    def _stress_warning(self, book: BookView, snapshot: MarketSnapshot, account: AccountState) -> Decision | None:
        """A WARNING, once a day, while the book's worst stress loss is beyond `stress_alert_loss` of net liq
        (RULEBOOK "Stress"); the gate keeps new entries from adding to it."""
        today = snapshot.time.astimezone(NEW_YORK).date()
        if self._stress_warned == today or account.net_liq <= 0:
            return None
        result = stress_book(book, snapshot, self.settings)
        if not result.complete:  # a book that cannot be revalued is not presumed within the level
            self._stress_warned = today
            reason = f"the book's stress loss is unknown: {result.unrevalued[0]}"
            return Decision(snapshot.time, "stress", False, reason, alert=AlertLevel.WARNING)
        worst = result.worst()
        limit = self.settings.stress_alert_loss
        if worst.loss <= limit * account.net_liq + stress.CENT:  # within a cent of the level is at it
            return None
        self._stress_warned = today
        reason = (
            f"the book would lose {worst.loss:,.0f}, {worst.loss / account.net_liq:.1%} of net liq, in "
            f"{worst.scenario.label()} (alert above {share(limit)}); worst three: "
            + "; ".join(w.describe() for w in result.ranked(3))
        )
        return Decision(snapshot.time, "stress", False, reason, alert=AlertLevel.WARNING)

    def end_pause(self, now: datetime) -> bool:
        """True once, at the first look on or after the session a close-all pause ends: the caller then
        measures drawdown from the net liq of that moment. Without it the drawdown that started the pause
        would still be there when it ends, and RULEBOOK's 10 trading days would never end."""
        if self.state.pause_until is None or self.state.paused_on(now.astimezone(NEW_YORK).date()):
            return False
        self.state = RiskState()
        return True

    def _start_pause(self, now: datetime, reason: str) -> None:
        today = now.astimezone(NEW_YORK).date()
        days = self.settings.drawdown_pause_days
        if self.calendar is not None:
            until = self.calendar.add_sessions(today, days + 1)
        else:  # without a calendar, count weekdays (no holidays): the pause can only come out longer
            until, left = today, days + 1
            while left:
                until = until.fromordinal(until.toordinal() + 1)
                left -= until.weekday() < 5
        if self.state.pause_until is None or until > self.state.pause_until:
            self.state = RiskState(until, reason)


def _at_quantity(view: StructureView, intent: OrderIntent) -> StructureView:
    """The valuation at the intent's quantity (the structure's own quantity may differ)."""
    return view if intent.quantity == view.structure.quantity else scaled(view, intent.quantity)
