"""Each risk rule at its boundaries, through the manager (so each refusal's text and rule name are what a
person reads)."""

from __future__ import annotations

import dataclasses
import math
from datetime import date

import pytest

from core.model import Approval, IntentAction, Leg, OrderIntent, Refusal, Right, Structure
from core.settings import Settings
from risk import buying_power, greeks
from risk.buying_power import is_short_put_structure, regime
from risk.correlation import counted
from risk.manager import RiskManager
from risk.phases import future_option_underlying, phase_of, wing_width
from risk.state import RiskState
from risk.verdict import Candidate, Note, Reduce, Refuse, ReviewContext
from tests.fakes import market as m
from tests.fakes.market import opening
from tests.risk.kit import (
    TODAY,
    WITHOUT_STRESS,
    S,
    account,
    book,
    es_lt112,
    es_strangle,
    gld_strangle,
    qqq_ipmcc,
    snap,
    spxw_condor,
    spy_lt112,
    spy_rung,
)

MARKET = snap()


def closing(structure: Structure) -> OrderIntent:
    return OrderIntent(IntentAction.CLOSE, structure, structure.quantity, 0.0, "test exit")


def review_one(structure, net=100_000.0, open_=(), market=MARKET, settings: Settings = WITHOUT_STRESS, qty=None):  # type: ignore[no-untyped-def]
    intent = opening(structure)
    if qty is not None:
        intent = dataclasses.replace(intent, quantity=qty)
    manager = RiskManager(settings)
    [answer] = manager.review([intent], book(list(open_), market), market, account(net))
    return answer


def refused(answer, rule: str, *words: str) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(answer, Refusal), f"expected a refusal by {rule}, got {answer}"
    assert answer.rule == rule, str(answer)
    assert str(answer).startswith(rule + ": ")
    for w in words:
        assert w in answer.reason, answer.reason


def approved(answer, qty: int | None = None) -> Approval:  # type: ignore[no-untyped-def]
    assert isinstance(answer, Approval), f"expected an approval, got {answer}"
    if qty is not None:
        assert answer.intent.quantity == qty
    return answer


# ------------------------------------------------------------------------------------------ phases


@pytest.mark.parametrize(
    ("net", "phase"),
    [(0.0, 1), (50_999.99, 1), (51_000.0, 2), (75_999.0, 2), (76_000.0, 3), (94_999.0, 3), (95_000.0, 4)],
)
def test_phase_thresholds_are_inclusive(net: float, phase: int) -> None:
    assert phase_of(net, S) == phase


def test_phase_decides_the_strategies() -> None:
    refused(review_one(spy_lt112(MARKET, "l1"), net=50_999.0), "phase", "phase 1", "does not trade lt112")
    approved(review_one(spy_lt112(MARKET, "l1"), net=51_000.0))
    refused(review_one(spy_rung(MARKET, "r1"), net=50_000.0), "phase", "leap_ladder")


def test_future_options_need_full_size() -> None:
    refused(review_one(es_strangle(MARKET), net=69_999.0), "phase", "options on ES futures need net liq of 70,000")
    approved(review_one(es_strangle(MARKET), net=70_000.0))


def test_start_small_below_38000() -> None:
    refused(review_one(gld_strangle(MARKET), net=37_999.0), "start small", "only the 0DTE strategy")
    refused(review_one(spxw_condor(MARKET, wing=10), net=37_999.0), "start small", "wings of 10 points", "allows 5")
    answer = approved(review_one(spxw_condor(MARKET, wing=5, qty=3), net=37_999.0), qty=1)
    assert any("start small: 1 contract" in n for n in answer.notes)
    approved(review_one(spxw_condor(MARKET, wing=10, qty=1), net=38_000.0))


def test_wing_width_of_uneven_condor_is_the_wider_wing() -> None:
    condor = spxw_condor(MARKET, wing=5)
    assert wing_width(condor) == 5.0


def test_unknown_strategies_are_refused() -> None:
    odd = dataclasses.replace(gld_strangle(MARKET), strategy="martingale")
    refused(review_one(odd), "phase", "unknown strategy 'martingale'")


# ------------------------------------------------------------------------------------------ positions


def test_per_strategy_limit_reached_and_one_under() -> None:
    # Phase 1 allows 1 strangle.
    refused(
        review_one(gld_strangle(MARKET, "g2"), net=45_000.0, open_=[gld_strangle(MARKET, "g1")]),
        "positions",
        "strangles: 1 of 1 open in phase 1",
    )
    approved(review_one(gld_strangle(MARKET, "g2"), net=45_000.0))


def test_total_limit() -> None:
    settings = dataclasses.replace(WITHOUT_STRESS, max_positions_total=(2, 8, 12, 18))
    open_ = [spxw_condor(MARKET, "z1"), qqq_ipmcc(MARKET)]
    refused(
        review_one(gld_strangle(MARKET), net=45_000.0, open_=open_, settings=settings),
        "positions",
        "all strategies: 2 of 2 open in phase 1",
    )


# ------------------------------------------------------------------------------------------ correlation


def test_correlation_group_limit_names_the_open_structures() -> None:
    open_ = [es_strangle(MARKET, "7f3"), es_lt112(MARKET, "a91")]
    answer = review_one(es_strangle(MARKET, "b22", put=4200, call=5200), net=80_000.0, open_=open_)
    refused(answer, "correlation", "group A1: 2 of 2 open (ES strangles 7f3, ES lt112 a91)")
    approved(review_one(es_strangle(MARKET, "b22", put=4200, call=5200), net=80_000.0, open_=open_[:1]))
    # Phase 4 allows three in A1.
    approved(review_one(es_strangle(MARKET, "b22", put=4200, call=5200), net=100_000.0, open_=open_))


def test_zero_dte_is_exempt_by_parameter() -> None:
    open_ = [es_strangle(MARKET, "7f3"), es_lt112(MARKET, "a91")]
    approved(review_one(spxw_condor(MARKET), net=80_000.0, open_=open_))
    strict = dataclasses.replace(WITHOUT_STRESS, zero_dte_correlation_exempt=False)
    refused(review_one(spxw_condor(MARKET), net=80_000.0, open_=open_, settings=strict), "correlation", "group A1")


def test_the_leap_ladder_counts_once() -> None:
    open_ = [qqq_ipmcc(MARKET), spy_lt112(MARKET, "l1"), spy_rung(MARKET, "r1")]
    approved(review_one(spy_rung(MARKET, "r2", strike=415), open_=open_))
    refused(review_one(spy_lt112(MARKET, "l2"), open_=open_), "correlation", "group A2: 3 of 3 open")


# ------------------------------------------------------------------------------------------ VIX and buying power


@pytest.mark.parametrize(
    ("vix", "share"),
    [
        (12.99, 0.45),
        (13.0, 0.65),
        (17.99, 0.65),
        (18.0, 0.78),
        (24.99, 0.78),
        (25.0, 0.50),
        (30.0, 0.50),
        (30.01, 0.80),
        (40.0, 0.80),
        (41.0, 0.80),
    ],
)
def test_vix_regimes_at_their_boundaries(vix: float, share: float) -> None:
    assert regime(vix, S)[1] == share


@pytest.mark.parametrize(("vix", "allowed"), [(30.0, True), (30.01, False), (40.0, False), (40.01, False)])
def test_above_30_only_short_puts_open(vix: float, allowed: bool) -> None:
    market = snap(vix=vix)
    condor = review_one(spxw_condor(market), market=market)
    if allowed:
        approved(condor)
    else:
        refused(condor, "vix regime", f"VIX {vix:.2f} > 30", "only short-put structures")
    approved(review_one(spy_rung(market, "r1"), market=market))
    approved(review_one(spy_lt112(market, "l1"), market=market))


def test_no_vix_means_no_entries() -> None:
    market = snap(vix=None)
    refused(review_one(spy_rung(market, "r1"), market=market), "vix regime", "no VIX")


def test_buying_power_cuts_the_size_to_what_fits_or_refuses() -> None:
    market = snap(vix=12.0)  # 45% of 100,000 may be in use
    open_ = [es_strangle(MARKET, "7f3"), spy_lt112(market, "l1"), spy_lt112(market, "l2"), qqq_ipmcc(market)]
    used = book(open_, market).bp_in_use
    per_lt112 = book([spy_lt112(market, "x")], market).bp_in_use
    fits = int((45_000 - used) // per_lt112)
    assert fits >= 1
    settings = dataclasses.replace(
        WITHOUT_STRESS, correlation_max={**S.correlation_max, "A2": 10}, max_positions_lt112=(0, 4, 1, 20)
    )
    answer = approved(
        review_one(spy_lt112(market, "l3"), open_=open_, market=market, settings=settings, qty=fits + 2), qty=fits
    )
    assert any(n.startswith(f"buying power: {fits + 2} → {fits}") for n in answer.notes)
    full = open_ + [spy_lt112(market, f"f{i}", qty=1) for i in range(fits)]
    refused(
        review_one(spy_lt112(market, "l9"), open_=full, market=market, settings=settings),
        "buying power",
        "VIX 12.00 allows 45%",
    )


def test_the_reserve_caps_every_regime() -> None:
    market = snap(vix=35.0)  # regime 80%, reserve 80%
    tight = dataclasses.replace(WITHOUT_STRESS, bp_reserve_ceiling=0.05)
    refused(review_one(spy_lt112(market, "l1"), market=market, settings=tight), "buying power", "allows 5%")


# ------------------------------------------------------------------------------------------ greeks


def test_vega_limit_refuses_the_entry_that_crosses_it() -> None:
    open_ = [es_strangle(MARKET, "s1"), es_strangle(MARKET, "s2", put=4250, call=5150)]
    before = book(open_, MARKET).vega
    third = es_strangle(MARKET, "s3", put=4400, call=5000)
    after = before + book([third], MARKET).vega
    assert abs(before) < 1_500 < abs(after)
    refused(review_one(third, open_=open_), "greeks", "vega would be", "limit ±1,500")


def test_an_entry_that_reduces_an_over_limit_greek_is_allowed() -> None:
    tight = dataclasses.replace(WITHOUT_STRESS, max_vega=0.001)  # ±100 per vol point: the open strangle is past it
    open_ = [es_strangle(MARKET, "s1")]
    long_vega = dataclasses.replace(qqq_ipmcc(MARKET), id="c1")  # a long LEAP call: positive vega
    assert book(open_, MARKET).vega < -100 and book([long_vega], MARKET).vega > 0
    answer = review_one(long_vega, open_=open_, settings=tight)
    assert not (isinstance(answer, Refusal) and answer.rule == "greeks")


def test_delta_limit() -> None:
    tight = dataclasses.replace(WITHOUT_STRESS, max_abs_delta=0.0001)  # ±10 USD per 1% SPX move
    refused(review_one(spy_lt112(MARKET, "l1"), settings=tight), "greeks", "beta-weighted delta would be", "limit ±10")


def test_theta_outside_its_band_only_warns() -> None:
    answer = approved(review_one(spxw_condor(MARKET)))
    assert any(n.startswith("theta") and "outside the target" in n for n in answer.notes)


# ------------------------------------------------------------------------------------------ valuation


def test_an_unvaluable_proposal_is_refused_with_the_leg_named() -> None:
    from datetime import date

    from tests.fakes import market as m

    ghost = m.structure("x1", "strangles", m.strangle("GLD", date(2024, 4, 19), 175.0, 205.0), MARKET)
    ghost = dataclasses.replace(
        ghost,
        legs=(
            ghost.legs[0],
            dataclasses.replace(ghost.legs[1], contract=dataclasses.replace(ghost.legs[1].contract, strike=205.5)),
        ),
    )
    refused(review_one(ghost), "valuation", "GLD 2024-04-19 205.5 call is not in the GLD chain")


def test_batches_are_reviewed_against_the_book_after_earlier_approvals() -> None:
    manager = RiskManager(WITHOUT_STRESS)
    market = snap()
    intents = [opening(gld_strangle(market, "g1")), opening(gld_strangle(market, "g2"))]
    first, second = manager.review(intents, book([], market), market, account(45_000.0))
    approved(first)
    refused(second, "positions", "strangles: 1 of 1 open in phase 1")


# ------------------------------------------------------------------------------------------ boundaries, rule by rule
# Each threshold just inside, at, and just outside, with the expected answers written from RULEBOOK (not from
# the module's own functions). The book and the proposal are set to exact Greeks and buying power, so the
# boundary is the only thing that moves.


def _rule_ctx(
    *,
    delta: float = 0.0,
    vega: float = 0.0,
    theta: float = 0.0,
    bp: float = 0.0,
    add_delta: float = 0.0,
    add_vega: float = 0.0,
    add_theta: float = 0.0,
    add_bp: float = 0.0,
    qty: int = 1,
    vix: float = 16.0,
    net: float = 100_000.0,
    unvalued: tuple[str, ...] = (),
    settings: Settings = WITHOUT_STRESS,
) -> tuple[Candidate, ReviewContext]:
    market = snap(vix=vix)
    structure = spy_lt112(market, "p1", qty=qty)
    view = dataclasses.replace(
        book([structure], market).views[0], delta_1pct=add_delta, vega=add_vega, theta=add_theta, bp=add_bp
    )
    open_book = dataclasses.replace(
        book([], market), unvalued=unvalued, delta_1pct=delta, vega=vega, theta=theta, bp_in_use=bp
    )
    intent = dataclasses.replace(opening(structure), quantity=qty)
    ctx = ReviewContext(settings, market, account(net), open_book, RiskState(), market.time.date())
    return Candidate(intent, view), ctx


@pytest.mark.parametrize(
    ("after", "refused_"),
    [(999.0, False), (1_000.0, False), (1_000.01, True), (-1_000.0, False), (-1_000.01, True)],
)
def test_greeks_delta_limit_is_inclusive_at_one_percent_of_net_liq(after: float, refused_: bool) -> None:
    """RULEBOOK: |delta| ≤ 1.0% of net liq per 1% SPX move: 1,000 on 100,000 is allowed, a cent more is not."""
    verdict = greeks.check(*_rule_ctx(add_delta=after))
    if refused_:
        assert verdict == Refuse(
            "greeks",
            f"beta-weighted delta would be {after:+,.0f} USD per 1% SPX move (now +0); limit ±1,000",
        )
    else:
        assert not isinstance(verdict, Refuse)


@pytest.mark.parametrize(("after", "refused_"), [(1_500.0, False), (1_500.01, True), (-1_500.01, True)])
def test_greeks_vega_limit_is_inclusive_at_one_and_a_half_percent(after: float, refused_: bool) -> None:
    verdict = greeks.check(*_rule_ctx(add_vega=after))
    if refused_:
        assert verdict == Refuse("greeks", f"vega would be {after:+,.0f} USD per vol point (now +0); limit ±1,500")
    else:
        assert not isinstance(verdict, Refuse)


def test_greeks_an_over_limit_book_may_not_grow_even_by_a_little_but_may_stay_or_shrink() -> None:
    # The book is 2,000 short vega (past ±1,500): adding more is refused; adding nothing or less is not.
    assert isinstance(greeks.check(*_rule_ctx(vega=-2_000.0, add_vega=-0.01)), Refuse)
    assert not isinstance(greeks.check(*_rule_ctx(vega=-2_000.0, add_vega=0.0)), Refuse)
    assert not isinstance(greeks.check(*_rule_ctx(vega=-2_000.0, add_vega=+10.0)), Refuse)


@pytest.mark.parametrize(
    ("theta", "warned"),
    [(99.99, True), (100.0, False), (250.0, False), (400.0, False), (400.01, True), (-5.0, True)],
)
def test_greeks_theta_target_is_inclusive_at_both_ends(theta: float, warned: bool) -> None:
    """RULEBOOK: theta 0.1–0.4% of net liq a day (100..400 on 100,000); outside only warns. The book's theta
    and the entry's add up (60 + 40 = 100 is inside)."""
    verdict = greeks.check(*_rule_ctx(theta=60.0, add_theta=theta - 60.0))
    if warned:
        assert verdict == Note(f"theta {theta:+,.0f} USD a day after this entry is outside the target 100..400")
    else:
        assert verdict is None


def test_greeks_and_buying_power_refuse_when_the_open_book_cannot_be_valued() -> None:
    candidate, ctx = _rule_ctx(unvalued=("ES 2024-04-19 4300 put has no quote", "other"))
    why = "the open book cannot be valued: ES 2024-04-19 4300 put has no quote"
    assert greeks.check(candidate, ctx) == Refuse("greeks", why)
    assert buying_power.check(candidate, ctx) == Refuse("buying power", why)


def test_greeks_a_proposal_without_usable_greeks_is_refused_by_name() -> None:
    candidate, ctx = _rule_ctx(add_vega=math.nan)
    assert greeks.check(candidate, ctx) == Refuse("greeks", "lt112 p1 has legs without usable Greeks")


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        (15_000.0, None),  # 50,000 + 15,000 = 65,000: exactly the 65% of VIX 16 fits
        (15_000.03, 2),  # a cent past: cut to the 2 lots (10,000.02) that fit
        (45_000.0, 1),  # 15,000 a lot and 15,000 left: one lot fits exactly
    ],
)
def test_buying_power_cap_is_inclusive_and_cuts_to_what_fits(wanted: float, expected: int | None) -> None:
    candidate, ctx = _rule_ctx(bp=50_000.0, add_bp=wanted, qty=3)
    verdict = buying_power.check(candidate, ctx)
    if expected is None:
        assert verdict is None
    else:
        assert isinstance(verdict, Reduce) and verdict.quantity == expected
        used = (50_000.0 + wanted) / 100_000.0
        assert verdict.note == (
            f"buying power: 3 → {expected}, {used:.1%} of net liq would be in use (now 50.0%, this entry "
            f"{wanted:,.0f}); VIX 16.00 allows 65%"
        )


def test_buying_power_refuses_when_not_one_lot_fits() -> None:
    candidate, ctx = _rule_ctx(bp=60_000.0, add_bp=10_000.0, qty=2)  # 5,000 a lot, 5,000 left: one fits
    assert buying_power.check(candidate, ctx) == Reduce(
        1,
        "buying power: 2 → 1, 70.0% of net liq would be in use (now 60.0%, this entry 10,000); VIX 16.00 allows 65%",
    )
    candidate, ctx = _rule_ctx(bp=60_000.01, add_bp=10_000.0, qty=2)  # a cent less than one lot left
    assert buying_power.check(candidate, ctx) == Refuse(
        "buying power", "70.0% of net liq would be in use (now 60.0%, this entry 10,000); VIX 16.00 allows 65%"
    )


def test_buying_power_cuts_by_the_lot_even_when_a_lot_costs_under_a_dollar() -> None:
    """Four covered calls adding 0.50 of buying power each, with 1.00 left under the cap: two fit."""
    candidate, ctx = _rule_ctx(bp=64_999.0, add_bp=2.0, qty=4)
    assert buying_power.check(candidate, ctx) == Reduce(
        2, "buying power: 4 → 2, 65.0% of net liq would be in use (now 65.0%, this entry 2); VIX 16.00 allows 65%"
    )


def test_buying_power_a_proposal_that_frees_buying_power_is_never_cut() -> None:
    # An over-cap book and a proposal with no buying power of its own (a covered part): nothing to fit.
    candidate, ctx = _rule_ctx(bp=70_000.0, add_bp=0.0, qty=2)
    assert buying_power.check(candidate, ctx) == Reduce(
        2, "buying power: 2 → 2, 70.0% of net liq would be in use (now 70.0%, this entry 0); VIX 16.00 allows 65%"
    )


def test_vix_mode_without_a_finite_vix_refuses_by_name() -> None:
    candidate, ctx = _rule_ctx(vix=math.nan)
    assert buying_power.check_vix_mode(candidate, ctx) == Refuse(
        "vix regime", "no VIX in the snapshot: the buying-power regime is unknown"
    )


def test_a_short_put_structure_needs_a_short_leg_and_only_puts() -> None:
    rung = spy_rung(MARKET, "r1")
    long_put = dataclasses.replace(rung, legs=(dataclasses.replace(rung.legs[0], ratio=1),))
    assert is_short_put_structure(rung)
    assert not is_short_put_structure(long_put)
    assert not is_short_put_structure(gld_strangle(MARKET))


@pytest.mark.parametrize("qty", [0, -1])
def test_quantity_rule_refuses_a_proposal_of_no_contracts(qty: int) -> None:
    answer = review_one(spy_rung(MARKET, "r1"), qty=qty)
    refused(answer, "quantity", f"quantity {qty} is not a positive number")
    assert answer.intent.structure.id == "r1"


def test_every_proposal_of_a_batch_is_answered_in_order_after_a_refusal() -> None:
    manager = RiskManager(WITHOUT_STRESS)
    intents = [
        dataclasses.replace(opening(spy_rung(MARKET, "r1")), quantity=0),
        closing(gld_strangle(MARKET, "g1")),
        opening(spy_rung(MARKET, "r2")),
    ]
    answers = manager.review(intents, book([], MARKET), MARKET, account())
    assert [type(a).__name__ for a in answers] == ["Refusal", "Approval", "Approval"]
    assert [a.intent.structure.id for a in answers] == ["r1", "g1", "r2"]
    assert isinstance(answers[1], Approval) and answers[1].notes == ("closing is never limited by the risk rules",)


def test_phase_start_small_allows_one_contract_and_cuts_two() -> None:
    one = approved(review_one(spxw_condor(MARKET, wing=5, qty=1), net=37_999.0), qty=1)
    assert not any("start small" in n for n in one.notes)
    two = approved(review_one(spxw_condor(MARKET, wing=5, qty=2), net=37_999.0, qty=2), qty=1)
    assert any("start small: 1 contract" in n for n in two.notes)


def test_phase_future_option_rule_names_the_future() -> None:
    answer = review_one(es_lt112(MARKET), net=69_999.0)
    assert isinstance(answer, Refusal) and (answer.rule, answer.reason) == (
        "phase",
        "options on ES futures need net liq of 70,000 (now 69,999)",
    )


def test_phase_future_option_is_the_first_option_on_a_known_future() -> None:
    """Named by the future under it, wherever its leg sits; a root the registry does not know (ACME) is not
    taken for a future, and does not hide the ES option after it."""
    es_put = es_lt112(MARKET).legs[0]
    spy_put = spy_lt112(MARKET, "s1").legs[0]
    acme = dataclasses.replace(spy_put, contract=dataclasses.replace(spy_put.contract, root="ACME", underlying="ACME"))
    mixed = dataclasses.replace(es_lt112(MARKET), legs=(spy_put, es_put))
    assert future_option_underlying(mixed) == "ES"
    assert future_option_underlying(dataclasses.replace(mixed, legs=(acme, es_put))) == "ES"
    assert future_option_underlying(dataclasses.replace(mixed, legs=(acme,))) is None
    es_future = Leg(m.future("ES", date(2024, 3, 15)), -1)  # the future itself is not an option on it
    assert future_option_underlying(dataclasses.replace(mixed, legs=(es_future, es_put))) == "ES"
    assert future_option_underlying(dataclasses.replace(mixed, legs=(es_future,))) is None
    assert future_option_underlying(spy_lt112(MARKET, "s1")) is None
    assert future_option_underlying(es_strangle(MARKET)) == "ES"


def test_phase_unknown_strategy_lists_the_known_ones() -> None:
    odd = dataclasses.replace(gld_strangle(MARKET), strategy="martingale")
    refused(review_one(odd), "phase", "(known: zero_dte, strangles, lt112, ipmcc, leap_ladder)")


def test_positions_hedges_and_parts_are_not_counted_as_new_positions() -> None:
    # Phase 1 allows 1 strangle; an IPMCC's weekly call (a part, with a parent) is not a new position.
    open_ = [qqq_ipmcc(MARKET)]
    ipmcc = open_[0]
    call = dataclasses.replace(ipmcc, id="c55-w2", legs=(ipmcc.legs[1],), parent=ipmcc.id, quantity=ipmcc.quantity)
    settings = dataclasses.replace(WITHOUT_STRESS, max_positions_ipmcc=(1, 1, 1, 1), max_positions_total=(1, 8, 12, 18))
    answer = review_one(call, net=45_000.0, open_=open_, settings=settings)
    assert not (isinstance(answer, Refusal) and answer.rule == "positions"), answer


@pytest.mark.parametrize("strategy", ["futures"])
def test_correlation_futures_are_exempt_from_the_groups(strategy: str) -> None:
    open_ = [es_strangle(MARKET, "7f3"), es_lt112(MARKET, "a91")]
    hedge = dataclasses.replace(es_strangle(MARKET, "h1", put=4200, call=5200), strategy=strategy)
    answer = review_one(hedge, net=80_000.0, open_=open_)
    assert not (isinstance(answer, Refusal) and answer.rule == "correlation"), answer


def test_correlation_open_futures_and_zero_dte_do_not_fill_a_group() -> None:
    # Two open structures in A1 that the groups exempt (a futures hedge, a 0DTE condor) leave room for two.
    hedge = dataclasses.replace(es_strangle(MARKET, "h1"), strategy="futures")
    open_ = [hedge, spxw_condor(MARKET, "z1"), es_lt112(MARKET, "a91")]
    loose = dataclasses.replace(WITHOUT_STRESS, max_vega=1.0)  # the Greeks are not under test here
    approved(review_one(es_strangle(MARKET, "b22", put=4200, call=5200), net=80_000.0, open_=open_, settings=loose))
    refused(
        review_one(
            es_strangle(MARKET, "b23", put=4200, call=5200),
            net=80_000.0,
            open_=[*open_, es_strangle(MARKET)],
            settings=loose,
        ),
        "correlation",
        "group A1: 2 of 2 open",
    )


def test_correlation_ladder_rungs_after_the_first_are_not_counted_but_other_members_after_it_are() -> None:
    # Rungs r1, r2, r3 count once; the LT112 and the IPMCC listed after them still count: 3 of 3 in A2.
    open_ = [spy_rung(MARKET, "r1"), spy_rung(MARKET, "r2", 415), spy_rung(MARKET, "r3", 410)]
    open_ += [spy_lt112(MARKET, "x1"), qqq_ipmcc(MARKET, "x2")]
    settings = dataclasses.replace(
        WITHOUT_STRESS, max_positions_total=(40, 40, 40, 40), max_positions_lt112=(9, 9, 9, 9)
    )
    refused(review_one(spy_lt112(MARKET, "x3"), open_=open_, settings=settings), "correlation", "group A2: 3 of 3 open")
    approved(review_one(spy_lt112(MARKET, "x3"), open_=open_[:4], settings=settings))


def test_correlation_a_hedge_or_exempt_0dte_before_a_member_does_not_hide_it() -> None:
    """The ES futures hedge and the exempt SPXW condor are passed over, not the end of the count: the ES
    LT112 listed after them is the one member of group A1."""
    hedge = dataclasses.replace(es_strangle(MARKET, "a1"), strategy="futures")
    held = (hedge, spxw_condor(MARKET, "a2"), es_lt112(MARKET, "a3"))
    assert [st.id for st in counted(held, "A1", WITHOUT_STRESS)] == ["a3"]


def _spxw(sid: str, legs: list[tuple[float, str, int]], expiry: date = TODAY) -> Structure:
    rights = {"P": Right.PUT, "C": Right.CALL}
    return m.structure(sid, "zero_dte", [(m.option("SPXW", expiry, k, rights[r]), q) for k, r, q in legs], MARKET)


@pytest.mark.parametrize(
    ("legs", "width"),
    [
        ([(4705.0, "P", 1), (4710.0, "P", -1), (4790.0, "C", -1), (4800.0, "C", 1)], 10.0),  # the wider wing
        ([(4700.0, "P", 1), (4705.0, "P", 1), (4710.0, "P", -1)], 5.0),  # the nearest long below the short put
        ([(4790.0, "C", -1), (4795.0, "C", 1), (4810.0, "C", 1)], 5.0),  # the nearest long above the short call
        ([(4715.0, "P", 1), (4700.0, "P", 1), (4710.0, "P", -1)], 10.0),  # a long above the put is not its wing
        ([(4715.0, "P", 1), (4710.0, "P", -1)], 5.0),  # no outward long: the nearest long covers it
        ([(4780.0, "C", 1), (4790.0, "C", -1), (4810.0, "C", 1)], 20.0),  # a long below the call is not its wing
        ([(4710.0, "P", 1), (4710.0, "P", -1), (4690.0, "P", 1)], 20.0),  # nor a long at the put's own strike
        ([(4790.0, "C", 1), (4790.0, "C", -1), (4805.0, "C", 1)], 15.0),  # nor at the call's
        ([(4710.0, "P", -1), (4790.0, "C", 1)], 0.0),  # a call does not cover a put
        ([(4710.0, "P", -1)], 0.0),  # naked
    ],
)
def test_phase_wing_width_reads_the_nearest_outward_long_of_the_same_right(
    legs: list[tuple[float, str, int]], width: float
) -> None:
    assert wing_width(_spxw("w", legs)) == width


def test_phase_wing_width_pairs_only_legs_of_the_same_expiry() -> None:
    spread = _spxw("w", [(4700.0, "P", 1), (4710.0, "P", -1)])
    long_, short = spread.legs
    later = dataclasses.replace(long_, contract=dataclasses.replace(long_.contract, expiry=date(2024, 1, 9)))
    assert wing_width(spread) == 10.0
    assert wing_width(dataclasses.replace(spread, legs=(later, short))) == 0.0


def test_a_candidate_at_another_quantity_scales_everything_that_scales() -> None:
    structure = spy_lt112(MARKET, "p1", qty=2)
    # Two units 120 under water: six are 360 under (a fresh proposal's P&L is 0, which any factor keeps).
    view = dataclasses.replace(book([structure], MARKET).views[0], pnl=-120.0)
    six = Candidate(opening(structure), view).with_quantity(6)
    assert six.quantity == 6 and six.intent.structure.quantity == 6 and six.view.structure.quantity == 6
    assert six.view.pnl == pytest.approx(-360.0)
    for field in ("bp", "delta_1pct", "vega", "theta"):
        assert getattr(six.view, field) == pytest.approx(3 * getattr(view, field)), field
    assert view.vega != 0 and view.theta != 0 and view.delta_1pct != 0 and view.bp > 0
