"""The shared time exits and the 21-DTE defence (core/exits), and the risk manager's pass that applies them."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from core.exits import ExitAction, exit_dte, time_and_dte21_exit
from core.model import AlertLevel, MarketSnapshot
from core.settings import Settings
from core.valuation import StructureView
from risk.manager import RiskManager
from tests.fakes import market as m
from tests.risk.kit import S, account, book

EXPIRY = date(2024, 4, 19)


def gld_market(day: date, price: float) -> MarketSnapshot:
    return m.snapshot(
        m.at(day),
        15.0,
        [
            m.priced_chain(
                "GLD", price, m.at(day), [EXPIRY, date(2025, 1, 17)], [float(k) for k in range(120, 260)], 0.13
            )
        ],
    )


def strangle_view(day: date, price: float, profit: float, strategy: str = "strangles") -> StructureView:
    """A GLD 175/205 strangle valued on `day` at `price`, entered at the credit that makes its P&L
    `profit` of that credit now."""
    market = gld_market(day, price)
    st = m.structure("g1", strategy, m.strangle("GLD", EXPIRY, 175.0, 205.0), market)
    mark = st.entry_price  # entered at today's mid: P&L 0
    entry = mark / (1.0 - profit)  # credit structures: P&L fraction = (mark − entry) / −entry
    [view] = book([dataclasses.replace(st, entry_price=entry)], market).views
    assert view.pnl_fraction == pytest.approx(profit)
    return view


DAY_18 = date(2024, 4, 1)  # 18 DTE
DAY_5 = date(2024, 4, 14)  # 5 DTE
DAY_21 = date(2024, 3, 29)  # exactly 21 DTE
DAY_22 = date(2024, 3, 28)


@pytest.mark.parametrize(
    ("day", "profit", "rule", "words"),
    [
        (DAY_5, 0.12, "time exit", "5 DTE with 12% profit (over 10% under 7 DTE)"),
        (DAY_18, 0.30, "time exit", "18 DTE with 30% profit (over 25% under 21 DTE)"),
        (DAY_18, 0.05, "21 DTE", "profitable at 18 DTE (+5%)"),
        (DAY_21, 0.05, "21 DTE", "profitable at 21 DTE"),
    ],
)
def test_profit_and_time_exits(day: date, profit: float, rule: str, words: str) -> None:
    signal = time_and_dte21_exit(strangle_view(day, 190.0, profit), S)
    assert signal is not None and signal.action is ExitAction.CLOSE and signal.rule == rule and words in signal.reason


def test_nothing_happens_above_21_dte() -> None:
    assert time_and_dte21_exit(strangle_view(DAY_22, 190.0, -0.2), S) is None
    assert time_and_dte21_exit(strangle_view(DAY_22, 190.0, 0.2), S) is None


def test_threatened_by_distance_or_delta() -> None:
    near = time_and_dte21_exit(strangle_view(DAY_18, 178.0, -0.5), S)
    assert near is not None and near.action is ExitAction.CLOSE
    assert "threatened at 18 DTE: underlying 178 within 2% of short GLD 2024-04-19 175 put" in near.reason
    tested = time_and_dte21_exit(strangle_view(DAY_18, 205.5, -0.5), S)
    assert tested is not None and "short GLD 2024-04-19 205 call" in tested.reason


@pytest.mark.parametrize(
    ("action", "expected"), [("close", ExitAction.CLOSE), ("hold", ExitAction.HOLD), ("alert", ExitAction.ALERT)]
)
def test_losing_and_unthreatened_follows_the_parameter(action: str, expected: ExitAction) -> None:
    settings = Settings.from_parameters({"dte21_losing_action": action})
    signal = time_and_dte21_exit(strangle_view(DAY_18, 190.0, -0.3), settings)
    assert (
        signal is not None and signal.action is expected and "losing (-30%) and unthreatened at 18 DTE" in signal.reason
    )


@pytest.mark.parametrize("strategy", ["zero_dte", "leap_ladder"])
def test_zero_dte_and_the_ladder_are_exempt(strategy: str) -> None:
    assert time_and_dte21_exit(strangle_view(DAY_18, 190.0, 0.5, strategy), S) is None


def test_an_ipmcc_counts_its_dte_on_the_leap() -> None:
    market = gld_market(DAY_18, 190.0)
    ipmcc = m.structure("c1", "ipmcc", m.ipmcc("GLD", date(2025, 1, 17), 170.0, EXPIRY, 192.0), market)
    [view] = book([ipmcc], market).views
    assert view.dte == 18  # the weekly call
    assert time_and_dte21_exit(dataclasses.replace(view, pnl=10.0, pnl_fraction=0.5), S) is None


def test_the_manager_pass_closes_and_alerts_once_per_structure() -> None:
    settings = Settings.from_parameters({"dte21_losing_action": "alert"})
    market = gld_market(DAY_18, 190.0)
    winner = m.structure("w1", "strangles", m.strangle("GLD", EXPIRY, 175.0, 205.0), market)
    winner = dataclasses.replace(winner, entry_price=winner.entry_price / 0.6)  # 40% of the credit kept
    loser = m.structure("l1", "strangles", m.strangle("GLD", EXPIRY, 176.0, 204.0), market)
    loser = dataclasses.replace(loser, entry_price=loser.entry_price / 1.3)  # costs 30% more than it paid
    far = m.structure("a0", "strangles", m.strangle("GLD", date(2025, 1, 17), 150.0, 230.0), market)  # 291 DTE
    held = book([far, winner, loser], market)  # views by id: a0 (nothing to do) is looked at first
    # The close goes at the mark, to 1/100 of a cent (the fill checks put it on the tick): -0.123456 → -0.1235.
    views = tuple(dataclasses.replace(v, mark=-0.123456) if v.structure.id == "w1" else v for v in held.views)
    closes, decisions = RiskManager(settings).manage(dataclasses.replace(held, views=views), market, account())
    assert [(c.structure.id, c.reason) for c in closes] == [
        ("w1", "time exit: 18 DTE with 40% profit (over 25% under 21 DTE)")
    ]
    assert closes[0].quantity == winner.quantity and closes[0].limit_price == -0.1235
    assert [(d.rule, d.subject, d.approved, d.reason, d.alert) for d in decisions] == [
        ("21 DTE", "l1", False, "losing (-30%) and unthreatened at 18 DTE: holding, needs a look", AlertLevel.WARNING)
    ]


def test_a_held_loser_asks_a_person_once_a_day_not_at_every_management_step() -> None:
    manager = RiskManager(Settings.from_parameters({"dte21_losing_action": "alert"}))
    loser = None
    levels = []
    for day, clock in ((DAY_18, 10), (DAY_18, 14), (DAY_18 + timedelta(days=1), 10)):
        market = gld_market(day, 190.0)
        market = dataclasses.replace(market, time=market.time.replace(hour=clock))
        if loser is None:
            loser = m.structure("l1", "strangles", m.strangle("GLD", EXPIRY, 176.0, 204.0), market)
            loser = dataclasses.replace(loser, entry_price=loser.entry_price / 1.3)  # costs 30% more than it paid
        _, decisions = manager.manage(book([loser], market), market, account())
        assert [d.subject for d in decisions] == ["l1"]  # still reported (logged) at every step
        levels.append(decisions[0].alert)
    assert levels == [AlertLevel.WARNING, None, AlertLevel.WARNING]


@pytest.mark.usefixtures("server_in_utc")
def test_once_a_day_means_a_new_york_day_not_the_servers() -> None:
    """15:00 and 20:00 New York on 2024-04-01 (EDT) are 19:00 that day and 00:00 the next in UTC: one
    trading day, one WARNING."""
    manager = RiskManager(Settings.from_parameters({"dte21_losing_action": "alert"}))
    market = gld_market(DAY_18, 190.0)
    loser = m.structure("l1", "strangles", m.strangle("GLD", EXPIRY, 176.0, 204.0), market)
    loser = dataclasses.replace(loser, entry_price=loser.entry_price / 1.3)  # costs 30% more than it paid
    levels = []
    for clock in (15, 20):
        at = dataclasses.replace(market, time=market.time.replace(hour=clock, minute=0))
        _, decisions = manager.manage(book([loser], at), at, account())
        levels.append(decisions[0].alert)
    assert levels == [AlertLevel.WARNING, None]


def test_threat_thresholds_are_inclusive_and_read_the_call_from_above() -> None:
    """RULEBOOK: threatened when a short leg's |delta| ≥ 0.30, or the underlying is within 2% of a short strike.
    The delta threshold is set to the call's own |delta| (at it: threatened); the underlying 201 is 4 below the
    205 call, 1.99% of 201: within 2%, from below, on the call's side."""
    view = strangle_view(DAY_18, 190.0, -0.5)
    call_delta = max(abs(mk.delta) for leg, mk in zip(view.structure.legs, view.legs, strict=True) if leg.ratio < 0)
    at = dataclasses.replace(S, dte21_threat_delta=call_delta, dte21_threat_distance=0.0)
    signal = time_and_dte21_exit(view, at)
    assert signal is not None and signal.action is ExitAction.CLOSE
    assert f"|delta| {call_delta:.2f} ≥ {call_delta:.2f}" in signal.reason
    below = time_and_dte21_exit(strangle_view(DAY_18, 201.0, -0.5), dataclasses.replace(S, dte21_threat_delta=0.99))
    assert below is not None and "underlying 201 within 2% of short GLD 2024-04-19 205 call" in below.reason
    far = time_and_dte21_exit(strangle_view(DAY_18, 190.0, -0.5), dataclasses.replace(S, dte21_threat_delta=0.99))
    assert far is not None and "unthreatened" in far.reason


# ------------------------------------------------------------------------------------------ #21: core/exits' edges

LEAP = date(2025, 1, 17)
NO_DELTA = dataclasses.replace(S, dte21_threat_delta=0.99)  # only the distance can threaten


def test_a_structure_with_two_expiries_not_an_ipmcc_counts_its_dte_on_the_nearest() -> None:
    market = gld_market(DAY_18, 190.0)
    diagonal = m.structure("d1", "strangles", m.ipmcc("GLD", LEAP, 170.0, EXPIRY, 200.0), market)
    [view] = book([diagonal], market).views
    assert exit_dte(view) == 18


def test_a_long_leg_never_threatens_and_a_short_after_it_still_does() -> None:
    """A long 170 LEAP call first, then the short call: at 200 (delta under 0.30, 5% away) nothing
    threatens and the loser closes; at 192 the short call's |delta| 0.39 does."""
    market = gld_market(DAY_18, 190.0)
    for short, threatened in ((200.0, False), (192.0, True)):
        st = m.structure("d1", "strangles", m.ipmcc("GLD", LEAP, 170.0, EXPIRY, short), market)
        [view] = book([st], market).views
        signal = time_and_dte21_exit(dataclasses.replace(view, pnl=-10.0, pnl_fraction=-0.2), S)
        assert signal is not None
        if threatened:
            assert signal.reason == "threatened at 18 DTE: short GLD 2024-04-19 192 call |delta| 0.39 ≥ 0.30"
        else:
            assert signal.reason == "losing (-20%) and unthreatened at 18 DTE: closing"


@pytest.mark.parametrize(
    ("price", "words"),
    [
        (206.0, "short GLD 2024-04-19 205 call is in the money (underlying 206)"),
        (205.0, "underlying 205 within 2% of short GLD 2024-04-19 205 call"),
        (204.5, "underlying 204.5 within 2% of short GLD 2024-04-19 205 call"),
    ],
)
def test_a_short_at_or_past_its_strike_is_named_so(price: float, words: str) -> None:
    signal = time_and_dte21_exit(strangle_view(DAY_18, price, -0.5), NO_DELTA)
    assert signal is not None and signal.action is ExitAction.CLOSE and signal.rule == "21 DTE"
    assert signal.reason == f"threatened at 18 DTE: {words}"


def test_the_distance_threshold_is_inclusive() -> None:
    """204 − 200 = 4 = 0.02 × 200 exactly: within 2%."""
    market = gld_market(DAY_18, 200.0)
    st = m.structure("g2", "strangles", m.strangle("GLD", EXPIRY, 175.0, 204.0), market)
    [view] = book([st], market).views
    signal = time_and_dte21_exit(dataclasses.replace(view, pnl=-10.0, pnl_fraction=-0.2), NO_DELTA)
    assert signal is not None
    assert signal.reason == "threatened at 18 DTE: underlying 200 within 2% of short GLD 2024-04-19 204 call"


def test_a_part_of_a_structure_follows_its_strategys_rules() -> None:
    view = strangle_view(DAY_18, 190.0, 0.5)
    part = dataclasses.replace(view, structure=dataclasses.replace(view.structure, parent="c1"))
    assert time_and_dte21_exit(part, S) is None


def test_time_exit_edges_are_strict() -> None:
    """RULEBOOK: over 10% under 7 DTE, over 25% under 21: at exactly 7 DTE, or exactly 25%, the 21-DTE
    rule's profitable close applies instead."""
    at_7 = time_and_dte21_exit(strangle_view(date(2024, 4, 12), 190.0, 0.12), S)
    assert at_7 is not None and (at_7.rule, at_7.reason) == ("21 DTE", "profitable at 7 DTE (+12%)")
    view = strangle_view(DAY_18, 190.0, 0.3)
    at_25 = time_and_dte21_exit(dataclasses.replace(view, pnl=5.0, pnl_fraction=0.25), S)
    assert at_25 is not None and (at_25.rule, at_25.reason) == ("21 DTE", "profitable at 18 DTE (+25%)")


def test_a_flat_structure_is_not_profitable() -> None:
    view = strangle_view(DAY_18, 190.0, 0.3)
    flat = time_and_dte21_exit(dataclasses.replace(view, pnl=0.0, pnl_fraction=0.0), S)
    assert flat is not None and flat.reason == "losing (+0%) and unthreatened at 18 DTE: closing"


@pytest.mark.parametrize(
    ("action", "words"), [("close", "closing"), ("hold", "holding"), ("alert", "holding, needs a look")]
)
def test_losing_and_unthreatened_says_what_it_does(action: str, words: str) -> None:
    settings = Settings.from_parameters({"dte21_losing_action": action})
    signal = time_and_dte21_exit(strangle_view(DAY_18, 190.0, -0.3), settings)
    assert signal is not None and signal.rule == "21 DTE"
    assert signal.reason == f"losing (-30%) and unthreatened at 18 DTE: {words}"


def test_a_threatened_structure_closes_under_the_21_dte_rule() -> None:
    signal = time_and_dte21_exit(strangle_view(DAY_18, 178.0, -0.5), S)
    assert signal is not None and signal.rule == "21 DTE"
    assert signal.reason == "threatened at 18 DTE: underlying 178 within 2% of short GLD 2024-04-19 175 put"
