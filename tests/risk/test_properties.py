"""Properties of the risk review over random books and random batches of proposals.

The expected limits come from tables written by hand from RULEBOOK (phases, max positions, correlation
groups, buying power by VIX), never from the risk modules' own functions: a property that asks the code
under test what the limit is cannot catch a wrong limit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from core.book_view import BookView
from core.model import Approval, Found, MarketSnapshot, OrderIntent, Refusal, Structure
from core.valuation import value_structure
from risk.manager import RiskManager
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

# RULEBOOK "Account phases" (net liq → phase; below 38,000 the start-small mode, phase 1).
PHASE = {30_000.0: 1, 45_000.0: 1, 60_000.0: 2, 80_000.0: 3, 100_000.0: 4, 250_000.0: 4}
# RULEBOOK "Max positions per strategy by phase", P1..P4, and the total per phase.
MAX_POSITIONS = {
    "zero_dte": (1, 2, 3, 4),
    "strangles": (1, 3, 4, 5),
    "lt112": (0, 4, 1, 3),
    "ipmcc": (1, 2, 3, 4),
    "leap_ladder": (0, 2, 3, 10),
}
MAX_TOTAL = (4, 8, 12, 18)
# RULEBOOK "Buying power by VIX regime", capped by the 80% reserve.
BP_SHARE = {11.0: 0.45, 13.0: 0.65, 17.0: 0.65, 22.0: 0.78, 27.0: 0.50, 30.0: 0.50, 31.0: 0.80, 42.0: 0.80}
# RULEBOOK "Correlation groups", for the underlyings the templates use (0DTE is exempt).
GROUP = {"ES": "A1", "SPY": "A2", "QQQ": "A2", "GLD": "B1"}
GROUP_MAX = {"A1": (2, 2, 2, 3), "A2": (3, 3, 3, 3), "B1": (2, 2, 2, 2)}


def in_group(structures: tuple[Structure, ...], group: str) -> int:
    """Open structures in a group, the LEAP ladder's rungs counting once and 0DTE not at all."""
    members = [s for s in structures if s.strategy != "zero_dte" and GROUP.get(s.legs[0].contract.underlying) == group]
    rungs = [s for s in members if s.strategy == "leap_ladder"]
    return len(members) - len(rungs) + (1 if rungs else 0)


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
    phase = PHASE[net]
    assert market.vix is not None
    cap = BP_SHARE[market.vix] * net
    running = view
    for proposed, answer in zip(intents, answers, strict=True):
        if isinstance(answer, Refusal):
            assert answer.rule and answer.reason
            continue
        approved = answer.intent
        assert 1 <= approved.quantity <= proposed.quantity
        strategy = approved.structure.strategy
        if net < 38_000:
            assert strategy == "zero_dte" and approved.quantity == 1
        assert running.count(strategy) < MAX_POSITIONS[strategy][phase - 1]
        assert running.count() < MAX_TOTAL[phase - 1]
        group = GROUP.get(approved.structure.legs[0].contract.underlying)
        if group and strategy != "zero_dte":
            ladder_again = strategy == "leap_ladder" and any(
                s.strategy == "leap_ladder" and GROUP.get(s.legs[0].contract.underlying) == group
                for s in running.structures
            )
            assert ladder_again or in_group(running.structures, group) < GROUP_MAX[group][phase - 1]
        valued = value_structure(approved.structure, market, S)
        assert isinstance(valued, Found), valued
        new = valued.value
        assert running.bp_in_use + new.bp <= cap + 1e-6
        for before, after, limit in (
            (running.delta_1pct, running.delta_1pct + new.delta_1pct, 0.01 * net),  # |delta| ≤ 1.0% of net liq
            (running.vega, running.vega + new.vega, 0.015 * net),  # vega ≤ 1.5% of net liq
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
