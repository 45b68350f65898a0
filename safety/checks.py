"""The SimpleSafetyChecks (RULEBOOK "Daily" and "Market open"): the last gate before an order goes out.

- Daily limits: a loss of `daily_loss_limit` (5%) of start-of-day net liq, or `daily_losing_trades` (3)
  trades closed at a loss today, put trading into REDUCING (close-only) until the next session. The day's
  loss is net liq against the start of the day (open positions count); losing trades are counted from real
  closes reported by the fill tracker, so the count only moves when money really was lost.
- Risk per trade: each entry's risk is at most `risk_per_trade` (2%) of net liq; an entry over it is cut to
  the quantity that fits, or refused. Risk is the defined maximum loss of the covered legs (core/margin's
  payoff), plus, for naked shorts, the loss at the strategy's stop: (stop multiple − 1) × their credit.
  Stops: 0DTE `zdte_stop_multiple`, strangles `strangle_stop_multiple`, LT112 `lt112_naked_stop_multiple`.
  Naked short puts with no stop (the LEAP ladder) risk their stress loss (RULEBOOK "Stress", core/stress):
  the structure's worst loss on the stress grid, alone, not an imagined stop; one that cannot be revalued
  (no IV) is refused. Naked short calls with no stop are refused: a call's loss has no floor, and the grid's
  largest rally (+10%) would measure it as if it had one. A long
  premium that the strategy's own exit caps risks that exit's loss, not the whole premium: the IPMCC exits all
  when its LEAP is down `ipmcc_leap_down_exit` (30%), so an IPMCC risks 30% of what it paid (a choice the
  RULEBOOK leaves open: its stop is a rule like the others'; the refusal says which measure was used).
- Market open: entries only in a regular session of every leg's exchange, not in the first
  `open_delay_minutes` after the NYSE open (the strategies' clock; CME products are checked to be open too),
  never on a holiday, not in the last `early_close_buffer_minutes` before an early close, and not after the
  close.
- Trading state: ACTIVE takes entries; REDUCING only closes; HALTED only safety closes (`OrderIntent.safety`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.book import with_part
from core.margin import loss_at_stop, split_naked
from core.model import (
    AccountState,
    Approval,
    IntentAction,
    MarketSnapshot,
    NotFound,
    OrderIntent,
    Refusal,
    Right,
    Structure,
)
from core.ports import Calendar
from core.products import AssetKind, UnknownProductError, product
from core.settings import Settings, share
from core.stress import stress
from core.valuation import StructureView, margin_legs, value_structure

from safety.data import DataValidator
from safety.state import TradingStateMachine, Transition

NEW_YORK = ZoneInfo("America/New_York")


def stop_multiple(strategy: str, s: Settings) -> float | None:
    return {
        "zero_dte": s.zdte_stop_multiple,
        "strangles": s.strangle_stop_multiple,
        "lt112": s.lt112_naked_stop_multiple,
    }.get(strategy)


def exit_fraction(strategy: str, s: Settings) -> float | None:
    """The share of what was paid at which the strategy's own exit closes a long premium (module docstring)."""
    return {"ipmcc": s.ipmcc_leap_down_exit}.get(strategy)


def risk_measure(strategy: str, s: Settings) -> str:
    """How `trade_risk` measured a long premium capped by its strategy's exit, for the reasons a trader reads."""
    fraction = exit_fraction(strategy, s)
    return "" if fraction is None else f" (measured at its {share(fraction)} LEAP exit)"


@dataclass(frozen=True, slots=True)
class TradeRisk:
    amount: float  # USD at risk in the structure at its quantity
    measure: str = ""  # how, when it is not the defined max loss or the loss at the stop, for the reasons


def trade_risk(view: StructureView, s: Settings, snapshot: MarketSnapshot) -> TradeRisk | NotFound:
    """USD at risk in one structure at its quantity (module docstring), or why it cannot be measured."""
    structure = view.structure
    legs = margin_legs(structure, view.legs, date.min)
    per_unit = loss_at_stop(legs, stop_multiple(structure.strategy, s))
    if per_unit is None:  # naked shorts and no stop: the stress loss, for puts only
        _, naked = split_naked(legs)
        if any(leg.right is Right.CALL for leg in naked):
            # A naked call's loss has no floor, and the grid's largest rally (+10%) is no measure of it.
            return NotFound(f"{structure.strategy} has naked short calls and no stop to measure them")
        result = stress([view], snapshot, s)
        if not result.complete:
            return NotFound(f"{structure.strategy} has naked shorts and no stop, and {result.unrevalued[0]}")
        worst = result.worst()
        return TradeRisk(worst.loss, f" (its stress loss in {worst.scenario.label()}: it has no stop)")
    fraction = exit_fraction(structure.strategy, s)
    paid = sum(leg.ratio * leg.premium for leg in legs)
    measure = ""
    if fraction is not None and paid > 0 and fraction * paid < per_unit:  # the exit's loss is the measure
        per_unit, measure = fraction * paid, risk_measure(structure.strategy, s)
    return TradeRisk(per_unit * structure.legs[0].contract.multiplier * structure.quantity, measure)


@dataclass
class DailyLimits:
    day: date | None = None
    start_of_day_net_liq: float = 0.0
    losing_closes: int = 0
    closed_pnl: float = 0.0
    losses: list[str] = field(default_factory=list)  # what lost, for the daily summary

    def new_session(self, day: date, net_liq: float) -> None:
        self.day, self.start_of_day_net_liq = day, net_liq
        self.losing_closes, self.closed_pnl, self.losses = 0, 0.0, []

    def record_close(self, structure_id: str, pnl: float) -> None:
        self.closed_pnl += pnl
        if pnl < 0:
            self.losing_closes += 1
            self.losses.append(f"{structure_id} {pnl:+,.2f}")


class SafetyChecks:
    """The gate itself: call `review` with each batch of intents, `on_close` with each realised close, and
    `new_session` at each session's start; state changes come back as Transitions to log and alert."""

    def __init__(
        self,
        settings: Settings,
        equity_calendar: Calendar,
        cme_calendar: Calendar,
        state: TradingStateMachine | None = None,
        data: DataValidator | None = None,
    ) -> None:
        self.settings = settings
        self.equity_calendar = equity_calendar
        self.cme_calendar = cme_calendar
        self.state = state or TradingStateMachine()
        self.data = data or DataValidator(settings)
        self.daily = DailyLimits()

    # ------------------------------------------------------------------ day and closes

    def new_session(self, now: datetime, account: AccountState) -> list[Transition]:
        self.daily.new_session(now.astimezone(NEW_YORK).date(), account.net_liq)
        moved = self.state.new_session(now)
        return [moved] if moved else []

    def on_close(self, now: datetime, structure_id: str, pnl: float, account: AccountState) -> list[Transition]:
        self.daily.record_close(structure_id, pnl)
        return self.evaluate(now, account)

    def evaluate(self, now: datetime, account: AccountState) -> list[Transition]:
        """Apply the daily limits to the trading state."""
        s, d = self.settings, self.daily
        out: list[Transition] = []
        start = d.start_of_day_net_liq or account.start_of_day_net_liq
        if start > 0:
            loss = (start - account.net_liq) / start
            if loss >= s.daily_loss_limit - 1e-9:
                moved = self.state.reduce(
                    now,
                    f"daily loss {loss:.1%} of start-of-day net liq {start:,.0f} (limit {share(s.daily_loss_limit)})",
                )
                if moved:
                    out.append(moved)
        if d.losing_closes >= s.daily_losing_trades:
            moved = self.state.reduce(now, f"{d.losing_closes} losing closes today ({', '.join(d.losses)})")
            if moved:
                out.append(moved)
        return out

    # ------------------------------------------------------------------ the gate

    def review(
        self,
        intents: Sequence[OrderIntent],
        snapshot: MarketSnapshot,
        account: AccountState,
        held: Mapping[str, Structure] | None = None,
    ) -> list[Approval | Refusal]:
        """`held`: the open structures by id, so a part is judged with its parent."""
        out: list[Approval | Refusal] = []
        for intent in intents:
            if intent.action is IntentAction.CLOSE:
                if self.state.allows_closes(intent.safety):
                    out.append(Approval(intent))
                else:
                    out.append(Refusal(intent, "trading state", f"HALTED ({self.state.reason}): only safety closes"))
                continue
            out.append(self._review_entry(intent, snapshot, account, held or {}))
        return out

    def _review_entry(
        self, intent: OrderIntent, snapshot: MarketSnapshot, account: AccountState, held: Mapping[str, Structure]
    ) -> Approval | Refusal:
        s = self.settings
        if not self.state.allows_entries():
            return Refusal(intent, "trading state", f"{self.state.state.value}: {self.state.reason}")
        closed = self.market_closed_reason(intent, snapshot.time)
        if closed:
            return Refusal(intent, "market open", closed)
        quotes = self.data.check_structure(intent.structure, snapshot)
        if quotes:
            return Refusal(intent, "data", quotes)
        sized = replace(intent.structure, quantity=intent.quantity)
        parent = held.get(sized.parent) if sized.parent else None
        valued = value_structure(sized if parent is None else with_part(parent, sized), snapshot, s)
        if isinstance(valued, NotFound):
            return Refusal(intent, "valuation", valued.reason)
        measured = trade_risk(valued.value, s, snapshot)
        if isinstance(measured, NotFound):
            return Refusal(intent, "risk per trade", measured.reason)
        risk = measured.amount
        if parent is not None:
            # A part (an IPMCC's weekly call) risks what it adds to its held parent: a call covered by the
            # LEAP adds nothing, so it is not refused as a naked short.
            alone = value_structure(parent, snapshot, s)
            if isinstance(alone, NotFound):
                return Refusal(intent, "valuation", alone.reason)
            parent_risk = trade_risk(alone.value, s, snapshot)
            if isinstance(parent_risk, NotFound):
                return Refusal(intent, "risk per trade", parent_risk.reason)
            risk = max(risk - parent_risk.amount, 0.0)
        limit = s.risk_per_trade * account.net_liq
        if risk <= limit + 1e-9:
            return Approval(intent)
        per_unit = risk / intent.quantity
        fits = math.floor((limit + 1e-9) / per_unit) if per_unit > 0 else 0
        text = f"risk {risk:,.0f}{measured.measure} is over {share(s.risk_per_trade)} of net liq ({limit:,.0f})"
        if fits >= 1:
            smaller = replace(intent, quantity=fits, structure=replace(intent.structure, quantity=fits))
            return Approval(smaller, (f"risk per trade: {intent.quantity} → {fits}, {text}",))
        return Refusal(intent, "risk per trade", f"{text}; one contract risks {per_unit:,.0f}")

    def market_closed_reason(self, intent: OrderIntent, now: datetime) -> str | None:
        """Why an entry may not go out now, or None."""
        s = self.settings
        local = now.astimezone(NEW_YORK)
        day = local.date()
        equity = self.equity_calendar.open_close(day)
        if equity is None:
            return f"{day} is not a trading day (weekend or holiday)"
        open_, close = equity
        if local < open_ + timedelta(minutes=s.open_delay_minutes):
            return f"{local:%H:%M} is within {s.open_delay_minutes} minutes of the {open_:%H:%M} open"
        if local >= close:
            return f"{local:%H:%M} is after the {close:%H:%M} close"
        early = self.equity_calendar.early_closes(day, day)
        if early and local >= close - timedelta(minutes=s.early_close_buffer_minutes):
            return f"early close at {close:%H:%M} today: no entries in its last {s.early_close_buffer_minutes} minutes"
        for leg in intent.structure.legs:
            if self._on_cme(leg.contract.underlying) and not self.cme_calendar.is_open(now):
                return f"the CME is closed at {local:%H:%M} for {leg.contract.root}"
        return None

    @staticmethod
    def _on_cme(root: str) -> bool:
        try:
            return product(root).kind is AssetKind.FUTURE
        except UnknownProductError:
            return False
