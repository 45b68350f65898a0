"""Each risk rule at its boundaries, through the manager (so each refusal's text and rule name are what a
person reads)."""

from __future__ import annotations

import dataclasses

import pytest

from core.model import Approval, Refusal
from core.settings import Settings
from risk.buying_power import regime
from risk.manager import RiskManager
from risk.phases import phase_of, wing_width
from tests.fakes.market import opening
from tests.risk.kit import (
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


def review_one(structure, net=100_000.0, open_=(), market=MARKET, settings: Settings = S, qty=None):  # type: ignore[no-untyped-def]
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
    settings = dataclasses.replace(S, max_positions_total=(2, 8, 12, 18))
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
    strict = dataclasses.replace(S, zero_dte_correlation_exempt=False)
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
        S, correlation_max={**S.correlation_max, "A2": 10}, max_positions_lt112=(0, 4, 1, 20)
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
    tight = dataclasses.replace(S, bp_reserve_ceiling=0.05)
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
    tight = dataclasses.replace(S, max_vega=0.001)  # ±100 per vol point: the open strangle is past it
    open_ = [es_strangle(MARKET, "s1")]
    long_vega = dataclasses.replace(qqq_ipmcc(MARKET), id="c1")  # a long LEAP call: positive vega
    assert book(open_, MARKET).vega < -100 and book([long_vega], MARKET).vega > 0
    answer = review_one(long_vega, open_=open_, settings=tight)
    assert not (isinstance(answer, Refusal) and answer.rule == "greeks")


def test_delta_limit() -> None:
    tight = dataclasses.replace(S, max_abs_delta=0.0001)  # ±10 USD per 1% SPX move
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
    manager = RiskManager(S)
    market = snap()
    intents = [opening(gld_strangle(market, "g1")), opening(gld_strangle(market, "g2"))]
    first, second = manager.review(intents, book([], market), market, account(45_000.0))
    approved(first)
    refused(second, "positions", "strangles: 1 of 1 open in phase 1")
