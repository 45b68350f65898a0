"""The benchmark's inputs and baselines, on a few hundred contracts: ours agrees with vollib's and QuantLib's
per-contract answers, so the figures in reports/bench.json compare the same work."""

from __future__ import annotations

import math

import numpy as np
import QuantLib as ql
from vollib.black_scholes_merton.greeks import analytical
from vollib.black_scholes_merton.implied_volatility import implied_volatility

from bench.pricing_bench import DIVIDEND, MEANINGFUL_VEGA, RATE, SPOT, contracts, ours, quantlib_loop, vollib_loop


def test_inputs_are_deterministic_and_mixed() -> None:
    a, b = contracts(seed=7, n=500), contracts(seed=7, n=500)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    t = a["t"]
    assert (t < 1 / 365).any() and (t > 1.0).any() and a["is_call"].any() and (~a["is_call"]).any()


def test_ours_matches_vollib_and_quantlib_contract_by_contract() -> None:
    c = contracts(seed=11, n=300)
    implied, greeks = ours(c)
    checked = 0
    for i in range(300):
        if implied.status[i] != 0 or greeks.vega[i] < MEANINGFUL_VEGA:
            continue
        flag = "c" if c["is_call"][i] else "p"
        args = (c["price"][i], SPOT, c["strike"][i], c["t"][i], RATE, DIVIDEND, flag)
        sigma = implied_volatility(*args)
        assert abs(sigma - implied.iv[i]) < 1e-6
        assert math.isclose(
            analytical.delta(flag, SPOT, c["strike"][i], c["t"][i], RATE, sigma, DIVIDEND),
            greeks.delta[i],
            abs_tol=1e-7,
        )
        assert math.isclose(
            analytical.vega(flag, SPOT, c["strike"][i], c["t"][i], RATE, sigma, DIVIDEND),
            greeks.vega[i],
            rel_tol=1e-6,
            abs_tol=1e-9,
        )
        forward = SPOT * math.exp((RATE - DIVIDEND) * c["t"][i])
        std = ql.blackFormulaImpliedStdDev(
            ql.Option.Call if c["is_call"][i] else ql.Option.Put,
            c["strike"][i],
            forward,
            c["price"][i],
            math.exp(-RATE * c["t"][i]),
            0.0,
            0.3,
            1e-12,
            100,
        )
        assert abs(std / math.sqrt(c["t"][i]) - implied.iv[i]) < 1e-6
        checked += 1
    assert checked > 150
    assert vollib_loop(contracts(seed=11, n=50)) >= 0 and quantlib_loop(contracts(seed=11, n=50)) >= 0


def test_risk_bench_inputs_value_and_pass_every_rule() -> None:
    from bench import risk_bench
    from core.book_view import BookView
    from core.model import AccountState, Approval
    from risk.manager import RiskManager
    from tests.fakes.market import opening

    settings = risk_bench.relaxed()
    mk = risk_bench.market()
    book = BookView.build(risk_bench.structures(mk, "b"), mk, settings)
    assert len(book.views) == 40 and not book.unvalued
    proposals = [opening(s) for s in risk_bench.structures(mk, "p")[::4][:10]]
    manager = RiskManager(settings, event_calendar=risk_bench.dividends())
    answers = manager.review(proposals, book, mk, AccountState(5e6, 5e6, 5e6, 0.0))
    assert all(isinstance(a, Approval) for a in answers)  # so the benchmark times every rule
