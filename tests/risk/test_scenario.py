"""The VIX scenario: a book of an ES strangle, two SPY LT112s and an IPMCC at VIX 16; then VIX 32 and 41."""

from __future__ import annotations

import dataclasses

import pytest

from core.model import AlertLevel, Approval, Decision, Found, IntentAction, Refusal
from risk.manager import RiskManager
from tests.fakes.market import opening
from tests.risk.kit import (
    WITHOUT_STRESS,
    account,
    book,
    es_strangle,
    qqq_ipmcc,
    snap,
    spxw_condor,
    spy_lt112,
    spy_rung,
)

NET = 100_000.0


def the_book(vix: float):  # type: ignore[no-untyped-def]
    market = snap(vix=vix)
    return market, [
        es_strangle(market, "7f3"),
        spy_lt112(market, "l1"),
        spy_lt112(market, "l2"),
        qqq_ipmcc(market, "c55"),
    ]


def words(answers: list[Approval | Refusal]) -> list[str]:
    return [
        f"{a.intent.structure.id}: approved" if isinstance(a, Approval) else f"{a.intent.structure.id}: {a}"
        for a in answers
    ]


def test_vix_16_leaves_the_book_alone_and_takes_new_entries() -> None:
    market, structures = the_book(16.0)
    manager = RiskManager(WITHOUT_STRESS)
    closes, decisions = manager.manage(book(structures, market), market, account(NET))
    assert closes == [] and decisions == []
    answers = manager.review(
        [opening(spxw_condor(market)), opening(spy_rung(market, "r1"))], book(structures, market), market, account(NET)
    )
    assert words(answers) == [
        "z01: approved",
        "r1: correlation: group A2: 3 of 3 open (QQQ ipmcc c55, SPY lt112 l1, SPY lt112 l2)",
    ]


def test_vix_32_closes_the_strangle_and_opens_only_short_puts() -> None:
    market, structures = the_book(32.0)
    manager = RiskManager(WITHOUT_STRESS)
    closes, _ = manager.manage(book(structures, market), market, account(NET))
    assert [(c.structure.id, c.reason) for c in closes] == [("7f3", "vix regime: VIX 32.00 > 30: close strangles")]
    answers = manager.review(
        [opening(spxw_condor(market)), opening(es_strangle(market, "n1", put=4200, call=5200))],
        book(structures, market),
        market,
        account(NET),
    )
    assert words(answers) == [
        "z01: vix regime: VIX 32.00 > 30: only short-put structures may open",
        "n1: vix regime: VIX 32.00 > 30: only short-put structures may open",
    ]


def test_vix_41_closes_everything_but_short_puts() -> None:
    market, structures = the_book(41.0)
    manager = RiskManager(WITHOUT_STRESS)
    closes, _ = manager.manage(book(structures, market), market, account(NET))
    assert sorted((c.structure.id, c.reason) for c in closes) == [
        ("7f3", "vix regime: VIX 41.00 > 40: close everything but short puts"),
        ("c55", "vix regime: VIX 41.00 > 40: close everything but short puts"),
    ]
    kept = {s.id for s in structures} - {c.structure.id for c in closes}
    assert kept == {"l1", "l2"}  # the LT112s are short puts with a put-spread hedge


# RULEBOOK writes "> 30" and "VIX > 40": both are strict. At exactly 30 the book stays; at exactly 40 only the
# strangle goes (it is past 30); a cent above 40 closes everything but the short puts.
@pytest.mark.parametrize(
    ("vix", "closed"),
    [(30.0, []), (30.01, ["7f3"]), (40.0, ["7f3"]), (40.01, ["7f3", "c55"])],
)
def test_vix_close_thresholds_are_strict(vix: float, closed: list[str]) -> None:
    market, structures = the_book(vix)
    closes, _ = RiskManager(WITHOUT_STRESS).manage(book(structures, market), market, account(NET))
    assert sorted(c.structure.id for c in closes) == closed
    assert all(c.action is IntentAction.CLOSE and c.quantity == 1 for c in closes)


def test_a_structure_the_book_cannot_value_is_reported_not_closed() -> None:
    market, structures = the_book(16.0)
    valued = book(structures, market)
    blind = dataclasses.replace(valued, unvalued=("SPY 2024-05-17 435 put has no quote",))
    closes, decisions = RiskManager(WITHOUT_STRESS).manage(blind, market, account(NET))
    assert closes == []
    assert decisions == [
        Decision(market.time, "valuation", False, "SPY 2024-05-17 435 put has no quote"),
        # Whatever the stress levels, a book it cannot revalue is not presumed within them (once a day).
        Decision(
            market.time,
            "stress",
            False,
            "the book's stress loss is unknown: SPY 2024-05-17 435 put has no quote",
            alert=AlertLevel.WARNING,
        ),
    ]


def test_a_covered_call_adds_only_what_it_adds_to_its_leaps_buying_power() -> None:
    """An IPMCC's weekly call is valued with its LEAP: covered, it adds no naked-call margin."""
    market, _ = the_book(16.0)
    ipmcc = qqq_ipmcc(market, "c55")
    leap_only = dataclasses.replace(ipmcc, legs=ipmcc.legs[:1])
    call = dataclasses.replace(ipmcc, id="c55-w1", legs=ipmcc.legs[1:], parent="c55")
    alone = book([dataclasses.replace(call, parent="")], market).bp_in_use
    with_leap = book([ipmcc], market).bp_in_use - book([leap_only], market).bp_in_use
    assert alone > 0.0 > with_leap  # the short call lowers the diagonal's margin below the LEAP's cost: it adds none
    manager = RiskManager(WITHOUT_STRESS)
    valued = manager._value_candidate(opening(call), book([leap_only], market), market)
    assert isinstance(valued, Found) and valued.value.bp == 0.0
    orphan = manager._value_candidate(opening(call), book([], market), market)  # its parent is not open
    assert isinstance(orphan, Found) and orphan.value.bp == pytest.approx(alone)


def test_a_covered_call_that_cannot_be_valued_is_refused_under_its_own_name() -> None:
    """The weekly call's strike 402.5 is not listed (the chain has every 5): the refusal names the call
    (c55-w1), not the held IPMCC it would have been valued with."""
    market, _ = the_book(16.0)
    ipmcc = qqq_ipmcc(market, "c55")
    leap_only = dataclasses.replace(ipmcc, legs=ipmcc.legs[:1])
    unlisted = dataclasses.replace(ipmcc.legs[1].contract, strike=402.5)
    call = dataclasses.replace(
        ipmcc, id="c55-w1", legs=(dataclasses.replace(ipmcc.legs[1], contract=unlisted),), parent="c55"
    )
    [answer] = RiskManager(WITHOUT_STRESS).review([opening(call)], book([leap_only], market), market, account())
    assert isinstance(answer, Refusal) and (answer.rule, answer.reason) == (
        "valuation",
        "cannot value ipmcc c55-w1: QQQ 2024-01-12 402.5 call is not in the QQQ chain",
    )
