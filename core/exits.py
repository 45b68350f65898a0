"""Exit rules shared by every strategy and the risk manager's 21-DTE pass (RULEBOOK "21 DTE defence"),
written once so that the strategies and the risk manager cannot disagree.

- Time exits: under `time_exit_late_dte` (7) DTE close at more than `time_exit_profit_late` (10%) of the
  maximum profit; under `dte21_days` (21) DTE at more than `time_exit_profit_under_21` (25%).
- At `dte21_days` DTE or less: close a profitable structure; close a threatened one (a short leg with
  |delta| ≥ `dte21_threat_delta`, or the underlying within `dte21_threat_distance` of a short strike);
  a losing, unthreatened one follows `dte21_losing_action` (close, hold, or hold with an alert).
The 0DTE strategy and the LEAP ladder are exempt (they have their own exits); an IPMCC counts its DTE on
its LEAP (`exit_dte`).
"Profit" is the P&L per unit over |entry price|: for a credit structure, the share of the credit kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from core.model import ContractKind, Right
from core.settings import Settings, share
from core.valuation import StructureView, describe

DTE21_EXEMPT = frozenset({"zero_dte", "leap_ladder"})
# An IPMCC lives as long as its LEAP; its weekly short call has its own buy-back rules (7 DTE at entry, so
# always under 21). Its DTE for these exits is the LEAP's, or the defence would close every IPMCC weekly.
DTE_FROM_LONGEST_EXPIRY = frozenset({"ipmcc"})


def exit_dte(view: StructureView) -> int | None:
    """The DTE these exits use: the nearest expiry, or for an IPMCC the LEAP's."""
    if view.structure.strategy not in DTE_FROM_LONGEST_EXPIRY or view.dte is None:
        return view.dte
    today_to_nearest = view.dte
    expiries = [leg.contract.expiry for leg in view.structure.legs if leg.contract.expiry is not None]
    return today_to_nearest + (max(expiries) - min(expiries)).days


class ExitAction(StrEnum):
    CLOSE = "close"
    HOLD = "hold"
    ALERT = "alert"  # hold, and tell a person


@dataclass(frozen=True, slots=True)
class ExitSignal:
    action: ExitAction
    rule: str
    reason: str


def threat(view: StructureView, s: Settings) -> str | None:
    """Why a structure is threatened, or None: a short option leg at or past the threat delta, or the
    underlying within the threat distance of a short strike."""
    price = view.underlying_price
    for leg, mark in zip(view.structure.legs, view.legs, strict=True):
        contract = leg.contract
        if leg.ratio >= 0 or contract.kind is not ContractKind.OPTION or contract.strike is None:
            continue
        if np.isfinite(mark.delta) and abs(mark.delta) >= s.dte21_threat_delta:
            return f"short {describe(contract)} |delta| {abs(mark.delta):.2f} ≥ {s.dte21_threat_delta:.2f}"
        distance = (price - contract.strike) if contract.right is Right.PUT else (contract.strike - price)
        if distance <= s.dte21_threat_distance * price:
            return (
                f"underlying {price:g} within {share(s.dte21_threat_distance)} of short {describe(contract)}"
                if distance >= 0
                else f"short {describe(contract)} is in the money (underlying {price:g})"
            )
    return None


def time_and_dte21_exit(view: StructureView, s: Settings) -> ExitSignal | None:
    """The shared time exits and 21-DTE defence for one open structure, or None to leave it alone."""
    dte = exit_dte(view)
    if view.structure.strategy in DTE21_EXEMPT or view.structure.parent or dte is None:
        return None  # a part (an IPMCC's weekly call) follows its strategy's own rules
    profit = view.pnl_fraction
    for under, least in (
        (s.time_exit_late_dte, s.time_exit_profit_late),
        (s.dte21_days, s.time_exit_profit_under_21),
    ):
        if dte < under and profit > least:
            rule_text = f"over {least:.0%} under {under} DTE"
            return ExitSignal(ExitAction.CLOSE, "time exit", f"{dte} DTE with {profit:.0%} profit ({rule_text})")
    if dte > s.dte21_days:
        return None
    if view.pnl > 0:
        return ExitSignal(ExitAction.CLOSE, "21 DTE", f"profitable at {dte} DTE ({profit:+.0%})")
    threatened = threat(view, s)
    if threatened:
        return ExitSignal(ExitAction.CLOSE, "21 DTE", f"threatened at {dte} DTE: {threatened}")
    action = ExitAction(s.dte21_losing_action)
    words = {
        ExitAction.CLOSE: "closing",
        ExitAction.HOLD: "holding",
        ExitAction.ALERT: "holding, needs a look",
    }
    return ExitSignal(action, "21 DTE", f"losing ({profit:+.0%}) and unthreatened at {dte} DTE: {words[action]}")
