"""The VIX scenario: a book of an ES strangle, two SPY LT112s and an IPMCC at VIX 16; then VIX 32 and 41."""

from __future__ import annotations

from core.model import Approval, Refusal
from risk.manager import RiskManager
from tests.fakes.market import opening
from tests.risk.kit import S, account, book, es_strangle, qqq_ipmcc, snap, spxw_condor, spy_lt112, spy_rung

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
    manager = RiskManager(S)
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
    manager = RiskManager(S)
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
    manager = RiskManager(S)
    closes, _ = manager.manage(book(structures, market), market, account(NET))
    assert sorted((c.structure.id, c.reason) for c in closes) == [
        ("7f3", "vix regime: VIX 41.00 > 40: close everything but short puts"),
        ("c55", "vix regime: VIX 41.00 > 40: close everything but short puts"),
    ]
    kept = {s.id for s in structures} - {c.structure.id for c in closes}
    assert kept == {"l1", "l2"}  # the LT112s are short puts with a put-spread hedge
