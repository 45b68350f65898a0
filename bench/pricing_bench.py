"""Benchmark rows for core/pricing (see bench/run.py for how rows are written).

Row `iv_greeks_20k`: implied volatility plus all five Greeks for 20,000 mixed contracts (a fifth 0DTE with
5 minutes to 6.5 hours left, the rest spread evenly in log time from 1 day to 2 years; strikes 70%-130% of
spot; calls and puts; volatilities 10%-60%), by core/pricing in one vectorised call, against the same work
done one contract at a time by vollib (the per-contract library people use; `py_vollib_vectorized`, the
vectorised wrapper, no longer runs with current vollib) and by QuantLib, in the same run. Medians of
repeated runs; the ratio is baseline / ours. Accuracy is checked in the same run: the largest IV error
where the price is sensitive to volatility (vega of at least 1e-4 per vol point per unit).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import QuantLib as ql
from vollib.black_scholes_merton.greeks import analytical as vollib_greeks
from vollib.black_scholes_merton.implied_volatility import implied_volatility as vollib_iv

from bench.common import BenchResult, median_ms, row
from core import pricing

N = 20_000
SPOT, RATE, DIVIDEND = 5_000.0, 0.045, 0.013
MEANINGFUL_VEGA = 1e-4
TARGET_MS = 5.0


def contracts(seed: int = 20_240_105, n: int = N) -> dict[str, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    minute = 1.0 / (365.0 * 24.0 * 60.0)
    zero_dte = rng.random(n) < 0.2
    t = np.where(
        zero_dte,
        rng.uniform(5.0, 390.0, n) * minute,
        np.exp(rng.uniform(math.log(1.0 / 365.0), math.log(2.0), n)),
    )
    strike = np.round(SPOT * rng.uniform(0.7, 1.3, n) / 5.0) * 5.0
    vol = rng.uniform(0.10, 0.60, n)
    is_call = rng.random(n) < 0.5
    price = pricing.bs_price(SPOT, strike, t, vol, RATE, DIVIDEND, is_call)
    return {"t": t, "strike": strike, "vol": vol, "is_call": is_call, "price": price}


def ours(c: dict[str, np.ndarray[Any, Any]]) -> tuple[pricing.ImpliedVol, pricing.Greeks]:
    return pricing.bs_iv_and_greeks(c["price"], SPOT, c["strike"], c["t"], RATE, DIVIDEND, c["is_call"])


def vollib_loop(c: dict[str, np.ndarray[Any, Any]]) -> int:
    failures = 0
    for price, k, t, call in zip(c["price"], c["strike"], c["t"], c["is_call"], strict=True):
        flag = "c" if call else "p"
        try:
            sigma = vollib_iv(price, SPOT, k, t, RATE, DIVIDEND, flag)
        except Exception:  # vollib raises for prices below intrinsic or above the maximum
            failures += 1
            continue
        for greek in (
            vollib_greeks.delta,
            vollib_greeks.gamma,
            vollib_greeks.vega,
            vollib_greeks.theta,
            vollib_greeks.rho,
        ):
            greek(flag, SPOT, k, t, RATE, sigma, DIVIDEND)
    return failures


def quantlib_loop(c: dict[str, np.ndarray[Any, Any]]) -> int:
    failures = 0
    for price, k, t, call in zip(c["price"], c["strike"], c["t"], c["is_call"], strict=True):
        kind = ql.Option.Call if call else ql.Option.Put
        discount = math.exp(-RATE * t)
        forward = SPOT * math.exp((RATE - DIVIDEND) * t)
        try:
            std = ql.blackFormulaImpliedStdDev(kind, k, forward, price, discount, 0.0, 0.3 * math.sqrt(t), 1e-12, 100)
        except RuntimeError:
            failures += 1
            continue
        calc = ql.BlackCalculator(ql.PlainVanillaPayoff(kind, k), forward, std, discount)
        calc.delta(SPOT), calc.gamma(SPOT), calc.vega(t), calc.theta(SPOT, t), calc.rho(t)
    return failures


def run() -> BenchResult:
    c = contracts()
    implied, _ = ours(c)
    greeks_at_truth = pricing.bs_greeks(SPOT, c["strike"], c["t"], c["vol"], RATE, DIVIDEND, c["is_call"])
    meaningful = greeks_at_truth.vega >= MEANINGFUL_VEGA
    ok = implied.status == pricing.IVStatus.OK
    max_error = float(np.max(np.abs(implied.iv - c["vol"])[meaningful]))
    missing = int(np.count_nonzero(meaningful & ~ok))

    ours_ms = median_ms(lambda: ours(c), repeats=50, warmup=5)
    vollib_ms = median_ms(lambda: vollib_loop(c), repeats=3)
    quantlib_ms = median_ms(lambda: quantlib_loop(c), repeats=3)
    detail = {
        "max_iv_error_where_vega_meaningful": max_error,
        "meaningful_without_iv": missing,
        "meaningful_contracts": int(meaningful.sum()),
        "status_counts": implied.counts(),
        "target_ms": TARGET_MS,
    }
    rows = [
        row("iv_greeks_20k", ours_ms, "vollib, one contract at a time", vollib_ms, N, detail),
        row("iv_greeks_20k_vs_quantlib", ours_ms, "QuantLib, one contract at a time", quantlib_ms, N),
    ]
    met = ours_ms <= TARGET_MS and max_error <= 1e-6 and missing == 0
    lines = [
        f"IV accuracy: max error {max_error:.2e} over {int(meaningful.sum())} contracts with meaningful "
        f"vega; {missing} of them without an IV; statuses {implied.counts()}",
        ("target met" if met else "TARGET MISSED")
        + f": iv_greeks_20k {ours_ms:.2f} ms (target {TARGET_MS} ms), accuracy 1e-6",
    ]
    return BenchResult(rows, met, lines)
