"""Properties of the risk review over random books and random batches of proposals."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from core.book_view import BookView
from core.model import Approval, Found, MarketSnapshot, OrderIntent, Refusal, Structure
from core.valuation import value_structure
from risk.buying_power import regime
from risk.correlation import counted, group_of, limit_of
from risk.manager import RiskManager
from risk.phases import max_positions, phase_of
from tests.fakes.market import opening
from tests.risk import kit
from tests.risk.kit import S, account

BASE = kit.snap()
TEMPLATES: list[Callable[[MarketSnapshot, str], Structure]] = [
    lambda mk, i: kit.es_strangle(mk, i),
    lambda mk, i: kit.es_strangle(mk, i, put=4200, call=5200),
    lambda mk, i: kit.es_lt112(mk, i),
    lambda mk, i: kit.spy_lt112(mk, i),
    lambda mk, i: kit.qqq_ipmcc(mk, i),
    lambda mk, i: kit.spxw_condor(mk, i),
    lambda mk, i: kit.spxw_condor(mk, i, wing=5),
    lambda mk, i: kit.spy_rung(mk, i),
    lambda mk, i: kit.spy_rung(mk, i, strike=400),
    lambda mk, i: kit.gld_strangle(mk, i),
]
VIXES = [11.0, 13.0, 17.0, 22.0, 27.0, 30.0, 31.0, 42.0]


@st.composite
def cases(draw: st.DrawFn) -> tuple[MarketSnapshot, list[Structure], list[OrderIntent], float]:
    market = dataclasses.replace(BASE, vix=draw(st.sampled_from(VIXES)))
    open_ids = draw(st.lists(st.integers(0, len(TEMPLATES) - 1), max_size=8))
    book = [TEMPLATES[t](market, f"b{n}") for n, t in enumerate(open_ids)]
    proposals = draw(st.lists(st.tuples(st.integers(0, len(TEMPLATES) - 1), st.integers(1, 4)), min_size=1, max_size=6))
    intents = []
    for n, (t, qty) in enumerate(proposals):
        s = dataclasses.replace(TEMPLATES[t](market, f"p{n}"), quantity=qty)
        intents.append(opening(s))
    net = draw(st.sampled_from([30_000.0, 45_000.0, 60_000.0, 80_000.0, 100_000.0, 250_000.0]))
    return market, book, intents, net


def outcome(answers: list[Approval | Refusal]) -> list[tuple[str, str, int, str]]:
    return [
        (
            a.intent.structure.id,
            "ok" if isinstance(a, Approval) else a.rule,
            a.intent.quantity,
            "" if isinstance(a, Approval) else a.reason,
        )
        for a in answers
    ]


@given(cases())
@settings(max_examples=120, deadline=None)
def test_approvals_never_breach_a_limit(case: tuple[MarketSnapshot, list[Structure], list[OrderIntent], float]) -> None:
    market, structures, intents, net = case
    acct = account(net)
    view = BookView.build(structures, market, S)
    answers = RiskManager(S).review(intents, view, market, acct)
    assert len(answers) == len(intents)
    phase = phase_of(net, S)
    assert market.vix is not None
    cap = min(regime(market.vix, S)[1], S.bp_reserve_ceiling) * net
    running = view
    for proposed, answer in zip(intents, answers, strict=True):
        if isinstance(answer, Refusal):
            assert answer.rule and answer.reason
            continue
        approved = answer.intent
        assert 1 <= approved.quantity <= proposed.quantity
        strategy = approved.structure.strategy
        assert running.count(strategy) < max_positions(strategy, phase, S)
        assert running.count() < S.max_positions_total[phase - 1]
        group = group_of(approved.structure.legs[0].contract.underlying, S)
        if group and strategy != "zero_dte":
            members = counted(running.structures, group, S)
            ladder_again = strategy == "leap_ladder" and any(m.strategy == "leap_ladder" for m in members)
            assert ladder_again or len(members) < limit_of(group, phase, S)
        valued = value_structure(approved.structure, market, S)
        assert isinstance(valued, Found), valued
        new = valued.value
        assert running.bp_in_use + new.bp <= cap + 1e-6
        for before, after, limit in (
            (running.delta_1pct, running.delta_1pct + new.delta_1pct, S.max_abs_delta * net),
            (running.vega, running.vega + new.vega, S.max_vega * net),
        ):
            assert abs(after) <= limit + 1e-6 or abs(after) <= abs(before) + 1e-6
        running = running.with_added(new)


@given(cases(), st.randoms())
@settings(max_examples=60, deadline=None)
def test_the_answer_does_not_depend_on_the_order_of_the_book(
    case: tuple[MarketSnapshot, list[Structure], list[OrderIntent], float],
    rnd: st.Random,  # type: ignore[name-defined]
) -> None:
    market, structures, intents, net = case
    shuffled = list(structures)
    rnd.shuffle(shuffled)
    first = RiskManager(S).review(intents, BookView.build(structures, market, S), market, account(net))
    second = RiskManager(S).review(intents, BookView.build(shuffled, market, S), market, account(net))
    assert outcome(first) == outcome(second)
