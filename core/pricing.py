"""Vectorised option maths: Black-Scholes (spot, with rate and dividend yield) and Black-76 (options on
futures) prices, Greeks and implied volatility for whole arrays at once.

Everything here works on numpy arrays (scalars broadcast) and never raises for bad market data: an input
that cannot be priced, or a price that no volatility fits, gives NaN and a status code that says why.

Conventions (the ones option traders quote, and what the risk module sums):
- `t` is the year fraction to expiry, calendar time ACT/365 (`year_fraction` makes it from datetimes, so a
  0DTE option at 10:30 ET has about 5.5 hours / 8760 hours of life left).
- `delta` is per 1.00 of the underlying (spot for Black-Scholes, the future for Black-76); `gamma` likewise.
- `vega` is per 1 volatility point (0.01), `theta` per calendar day (negative when time decay costs the
  holder), `rho` per 1 rate point (0.01). Prices are per unit of underlying (multiply by the multiplier).

Both models are one model in forward form: the value is D·(F·N(d1) − K·N(d2)) for a call, with D = e^(−rT)
and F = S·e^((r−q)T) for Black-Scholes or the futures price for Black-76. Implied volatility is solved once
in the normalised form of that value (Jäckel's normalisation, "Let's be rational", 2015): with
x = ln(F/K) and s = σ√T, the time value of the out-of-the-money side divided by √(FK) is
b(x, s) = e^(x/2)·N(x/s + s/2) − e^(−x/2)·N(x/s − s/2), x ≤ 0, which depends on two numbers only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

from core.timeutil import elapsed

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayLike = npt.ArrayLike

SECONDS_PER_YEAR = 365.0 * 24.0 * 3600.0
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)

# The solver's limits. Below MIN_NORMALISED_TIME_VALUE the time value is under 1e-14 of the underlying: no
# quote is that precise, and the volatility is not determined by it. MAX_TOTAL_VOL (σ√T) caps the answer: at
# 10 an at-the-money option is worth 1 - 5.7e-7 of its maximum, so a price within about 6e-7 of the maximum
# comes back at the cap with status OK, a volatility that does not reproduce it (up to 4.4e-5 on 100). No
# traded quote is that close to its maximum; returning ABOVE_MAXIMUM there would be the stricter answer.
MIN_NORMALISED_TIME_VALUE = 1e-14
MAX_TOTAL_VOL = 10.0
# Convergence. Newton's step is second order and Householder's third-order step converges with order four,
# so after a step δ the error left is about δ² (Newton) or δ⁴ (Householder), relative to s. A Newton step
# under 1e-7·s or a Householder step under 1e-3·s therefore leaves an error of order 1e-12 or less: far
# inside the 1e-6 volatility accuracy promised, and it saves the iteration that would only confirm it
# (measured: the largest error on the benchmark's 20,000 contracts is the same 5e-11 as with 1e-4).
_NEWTON_STEP_TOLERANCE = 1e-7
_HOUSEHOLDER_STEP_TOLERANCE = 1e-3
_MAX_ITERATIONS = 40


class IVStatus(IntEnum):
    """Why an implied volatility is (or is not) there. OK is the only status with a number."""

    OK = 0
    BAD_INPUT = 1  # NaN or infinite input, a negative price, or a forward, strike or time that is not positive
    BELOW_INTRINSIC = 2  # price under the discounted intrinsic value: no volatility fits
    ABOVE_MAXIMUM = 3  # price at or over the no-arbitrage maximum (the forward for a call, the strike for a put)
    NO_TIME_VALUE = 4  # time value too small for the price to determine a volatility
    NOT_CONVERGED = 5  # the solver did not settle: seen only at the money for time values of 1e-14..1e-13 of F


@dataclass(frozen=True, slots=True)
class Greeks:
    """Prices and Greeks, one array each, in the conventions of the module docstring."""

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray
    rho: FloatArray


@dataclass(frozen=True, slots=True)
class ImpliedVol:
    """Implied volatilities (NaN where there is none) and a status code per element."""

    iv: FloatArray
    status: npt.NDArray[np.int8]

    def counts(self) -> dict[str, int]:
        """How many elements ended in each status, by name, leaving out the ones that never occurred."""
        values, counts = np.unique(self.status, return_counts=True)
        return {IVStatus(int(v)).name: int(c) for v, c in zip(values, counts, strict=True)}


def year_fraction(start: datetime, end: datetime) -> float:
    """Calendar time from `start` to `end` in years (ACT/365), both timezone-aware; never negative."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("year_fraction needs timezone-aware datetimes")
    return max(elapsed(start, end).total_seconds(), 0.0) / SECONDS_PER_YEAR


# ---------------------------------------------------------------------------------------------- prices


def _as_float(a: ArrayLike) -> FloatArray:
    return np.asarray(a, dtype=np.float64)


def _as_bool(a: ArrayLike) -> BoolArray:
    return np.asarray(a, dtype=np.bool_)


def _black_value(
    forward: FloatArray, strike: FloatArray, total_vol: FloatArray, discount: FloatArray, is_call: BoolArray
) -> FloatArray:
    """D·Black(F, K, σ√T) with the expiry limit (σ√T = 0) giving the discounted intrinsic value."""
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.log(forward / strike) / total_vol + 0.5 * total_vol
        d2 = d1 - total_vol
        sign = np.where(is_call, 1.0, -1.0)
        value = discount * sign * (forward * ndtr(sign * d1) - strike * ndtr(sign * d2))
        intrinsic = discount * np.maximum(sign * (forward - strike), 0.0)
    return np.where(total_vol > 0.0, value, intrinsic)


def black76_price(
    forward: ArrayLike, strike: ArrayLike, t: ArrayLike, sigma: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> FloatArray:
    """Black-76 value of European options on a future (per unit; multiply by the contract multiplier)."""
    f, k, tt, sig, rr = (_as_float(v) for v in (forward, strike, t, sigma, r))
    return _black_value(f, k, sig * np.sqrt(tt), np.exp(-rr * tt), _as_bool(is_call))


def bs_price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    sigma: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Black-Scholes-Merton value of European options on a spot price with continuous dividend yield q."""
    s, k, tt, sig, rr, qq = (_as_float(v) for v in (spot, strike, t, sigma, r, q))
    forward = s * np.exp((rr - qq) * tt)
    return _black_value(forward, k, sig * np.sqrt(tt), np.exp(-rr * tt), _as_bool(is_call))


# ---------------------------------------------------------------------------------------------- Greeks


def _greeks(
    forward: FloatArray,
    strike: FloatArray,
    t: FloatArray,
    sigma: FloatArray,
    r: FloatArray,
    is_call: BoolArray,
    spot: FloatArray | None,
    q: FloatArray | None,
) -> Greeks:
    """Greeks in forward form. `spot` None means Black-76 (delta and gamma by the future, rho with F fixed);
    otherwise Black-Scholes with dividend yield q (delta and gamma by spot, rho with S fixed). Uses
    D·F = S·e^(−qT) so that each Greek is a product of a few shared terms."""
    discount = np.exp(-r * t)
    sqrt_t = np.sqrt(t)
    total_vol = sigma * sqrt_t
    sign = np.where(is_call, 1.0, -1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.log(forward / strike) / total_vol + 0.5 * total_vol
        discounted_forward = discount * forward
        n_d1 = ndtr(sign * d1)
        forward_leg = discounted_forward * n_d1  # D·F·N(±d1)
        strike_leg = discount * strike * ndtr(sign * (d1 - total_vol))  # D·K·N(±d2)
        density = discounted_forward * _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)  # D·F·φ(d1)
        price = sign * (forward_leg - strike_leg)
        vega_year = density * sqrt_t
        decay = -0.5 * density * sigma / sqrt_t
        underlying = forward if spot is None else spot
        gamma = density / (underlying * underlying * total_vol)
        if spot is None:
            delta = sign * discount * n_d1
            theta_year = decay + r * price
            rho_year = -t * price
        else:
            assert q is not None
            # e^(−qT)·N(d1) directly: D·F·N(d1)/S can round past 1 for a deep in-the-money call.
            delta = sign * np.exp(-q * t) * n_d1
            theta_year = decay + sign * (q * forward_leg - r * strike_leg)
            rho_year = sign * t * strike_leg
    return Greeks(
        price=price,
        delta=delta,
        gamma=gamma,
        vega=vega_year / 100.0,
        theta=theta_year / 365.0,
        rho=rho_year / 100.0,
    )


def black76_greeks(
    forward: ArrayLike, strike: ArrayLike, t: ArrayLike, sigma: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> Greeks:
    """Black-76 price and Greeks; delta and gamma are with respect to the futures price."""
    f, k, tt, sig, rr = _broadcast(forward, strike, t, sigma, r)
    return _greeks(f, k, tt, sig, rr, _as_bool(is_call), None, None)


def bs_greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    sigma: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-Scholes-Merton price and Greeks; delta and gamma are with respect to spot."""
    s, k, tt, sig, rr, qq = _broadcast(spot, strike, t, sigma, r, q)
    forward = s * np.exp((rr - qq) * tt)
    return _greeks(forward, k, tt, sig, rr, _as_bool(is_call), s, qq)


def _broadcast(*values: ArrayLike) -> list[FloatArray]:
    """The inputs as float arrays of one shape; `values[1]` is the strike and `values[2]` the time. When
    both already have the whole shape (a chain: a strike and a time per row) the others stay as they are
    (the spot and the rates are scalars there): every exp, log and ndtr of `_greeks` then still takes a
    whole array, and the arithmetic on a scalar rounds as on its broadcast copies, so every value is the
    same to the bit. Broadcasting the scalars cost a fifth of pricing a small chain."""
    arrays = [_as_float(v) for v in values]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    if arrays[1].shape == shape and arrays[2].shape == shape:
        return arrays
    return list(np.broadcast_arrays(*arrays))


# ---------------------------------------------------------------------------------------------- implied vol


# Börjesson and Sundberg (1979), "Simple approximations of the error function Q(x) for communications
# applications": the normal tail Q(z) ≈ φ(z) / ((1 − a)·z + a·√(z² + b)) for z ≥ 0, within about 0.3%.
_MILLS_A = 0.339
_MILLS_B = 5.510
_LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_GUESS_ITERATIONS = 4


def _initial_total_vol(x: FloatArray, log_beta: FloatArray, half: FloatArray) -> FloatArray:
    """A start for the solver, within a fraction of a percent for most inputs, so that one high-order step
    usually finishes the job. b is convex in s below the inflection point s_c = √(2|x|), concave above.

    Above (near the money): the at-the-money inverse s = 2·N⁻¹((1 + b·e^(−x/2))/2), never below s_c.
    Below (the wings, most of a chain): with z1 = −d1 ≥ 0 and z2 = z1 + s, b = e^(x/2)·φ(d1)·(R(z1) − R(z2))
    where R is the Mills ratio; with R from Börjesson and Sundberg's approximation and the difference written
    without cancellation, ln b ≈ −x²/(2s²) − s²/8 − ln√(2π) + ln(R(z1) − R(z2)) costs no special function,
    and its derivative is 1/(R(z1) − R(z2)). Newton's method on it in u = 1/s² (where ln b is nearly
    linear), from s_c, gives the start in a few cheap iterations."""
    s_c = np.sqrt(-2.0 * x)
    with np.errstate(divide="ignore", invalid="ignore"):
        # At s_c, d1 = x/s_c + s_c/2 is exactly 0, so b(s_c) = e^(x/2)/2 − N(−s_c)·e^(−x/2).
        log_b_c = np.log(0.5 * half - ndtr(-s_c) / half)
    lower = log_beta < log_b_c
    start = s_c.copy()
    upper = ~lower
    if upper.any():
        atm = 2.0 * ndtri(np.clip(0.5 + 0.5 * np.exp(log_beta[upper]) / half[upper], 0.5, 1.0 - 1e-16))
        start[upper] = np.maximum(atm, s_c[upper])
    if lower.any():
        xl, lb, scl = x[lower], log_beta[lower], s_c[lower]
        x2_half = 0.5 * xl * xl
        u_floor = 1.0 / (scl * scl)
        s = scl.copy()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for _ in range(_GUESS_ITERATIONS):
                z1 = -xl / s - 0.5 * s
                z2 = z1 + s
                r1, r2 = np.sqrt(z1 * z1 + _MILLS_B), np.sqrt(z2 * z2 + _MILLS_B)
                g1 = (1.0 - _MILLS_A) * z1 + _MILLS_A * r1
                g2 = (1.0 - _MILLS_A) * z2 + _MILLS_A * r2
                mills_gap = s * ((1.0 - _MILLS_A) + _MILLS_A * (z1 + z2) / (r1 + r2)) / (g1 * g2)  # R(z1) − R(z2)
                model = -x2_half / (s * s) - 0.125 * s * s - _LN_SQRT_2PI + np.log(mills_gap)
                u = 1.0 / (s * s)
                u = np.maximum(u + (model - lb) * 2.0 * mills_gap / (s * s * s), u_floor)
                s = 1.0 / np.sqrt(u)
        start[lower] = np.where(np.isfinite(s) & (s > 0.0), s, scl)
    clipped: FloatArray = np.clip(start, 1e-8, MAX_TOTAL_VOL)
    return clipped


def _solve_total_vol(x: FloatArray, log_beta: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Solve ln b(x, s) = ln β for s. Householder's third-order step on the log objective (which is close to
    linear over most of the domain), falling back to Newton's step whenever the higher-order correction
    points the other way or more than doubles it; elements leave the working set as they converge, so
    late iterations cost only what is still unsettled."""
    half = np.exp(0.5 * x)
    s = _initial_total_vol(x, log_beta, half)
    converged = np.zeros(x.shape, dtype=np.bool_)
    active = np.arange(x.size)
    # Per-element constants, compressed with the working set: x², e^(x/2) and e^(x/2)/√(2π).
    xa, x2a, la, ha, density_a, sa = x, x * x, log_beta, half, half * _INV_SQRT_2PI, s
    for _ in range(_MAX_ITERATIONS):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            d1 = xa / sa + 0.5 * sa
            b = ha * ndtr(d1) - ndtr(d1 - sa) / ha
            r1 = density_a * np.exp(-0.5 * d1 * d1) / b  # (ln b)' = b'/b
            f = np.log(b) - la
            inv_s = 1.0 / sa
            x2_s3 = x2a * inv_s * inv_s * inv_s
            curvature = x2_s3 - 0.25 * sa  # b''/b'
            # Householder's ratios of the derivatives of f = ln b − ln β: h2 = f''/f' and h3 = f'''/f'.
            h2 = curvature - r1
            h3 = curvature * (curvature - 3.0 * r1) - 3.0 * x2_s3 * inv_s - 0.25 + 2.0 * r1 * r1
            newton = -f / r1
            step = newton * (1.0 + 0.5 * h2 * newton) / (1.0 + newton * (h2 + h3 * newton / 6.0))
            # NaN and ±inf fail both comparisons, so they fall back to Newton's step too.
            safe = (step * newton > 0.0) & (np.abs(step) <= 2.0 * np.abs(newton))
            step = np.where(safe, step, newton)
            s_new = np.clip(sa + step, 0.25 * sa, np.minimum(4.0 * sa, MAX_TOTAL_VOL))
        done = np.abs(s_new - sa) <= np.where(safe, _HOUSEHOLDER_STEP_TOLERANCE, _NEWTON_STEP_TOLERANCE) * sa
        s[active] = s_new
        if done.any():
            converged[active[done]] = True
            keep = ~done
            active = active[keep]
            if active.size == 0:
                break
            xa, x2a, la, ha, density_a, sa = xa[keep], x2a[keep], la[keep], ha[keep], density_a[keep], s_new[keep]
        else:
            sa = s_new
    return s, converged


def _implied_vol(
    price: FloatArray,
    forward: FloatArray,
    strike: FloatArray,
    t: FloatArray,
    discount: FloatArray,
    is_call: BoolArray,
) -> ImpliedVol:
    shape = price.shape
    price, forward, strike, t, discount = (a.ravel() for a in (price, forward, strike, t, discount))
    is_call = is_call.ravel()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        good = np.isfinite(price + forward + strike + t + discount)  # NaN and ±inf propagate through a sum
        good &= (price >= 0.0) & (forward > 0.0) & (strike > 0.0) & (t > 0.0) & (discount > 0.0)
        p = price / discount
        intrinsic = np.maximum(np.where(is_call, forward - strike, strike - forward), 0.0)
        time_value = p - intrinsic  # the out-of-the-money twin has the same time value (put-call parity)
        x = -np.abs(np.log(forward / strike))
        beta = time_value / np.sqrt(forward * strike)
        # A price a few ulps under intrinsic is intrinsic (no time value), not below it.
        below = time_value < -1e-12 * np.maximum(p, 1.0)
        above = beta >= np.exp(0.5 * x) * (1.0 - 1e-15)  # b(x, ∞) = e^(x/2)
        tiny = beta < MIN_NORMALISED_TIME_VALUE
    # Later assignments win: a bad input is BAD_INPUT whatever else its NaNs made true.
    status = np.zeros(price.shape, dtype=np.int8)
    status[tiny] = IVStatus.NO_TIME_VALUE
    status[above] = IVStatus.ABOVE_MAXIMUM
    status[below] = IVStatus.BELOW_INTRINSIC
    status[~good] = IVStatus.BAD_INPUT
    iv = np.full(price.shape, np.nan)
    sv = np.flatnonzero(status == IVStatus.OK)
    if sv.size:
        total_vol, converged = _solve_total_vol(x[sv], np.log(beta[sv]))
        iv[sv] = np.where(converged, total_vol / np.sqrt(t[sv]), np.nan)
        status[sv[~converged]] = IVStatus.NOT_CONVERGED
    return ImpliedVol(iv=iv.reshape(shape), status=status.reshape(shape))


def black76_implied_vol(
    price: ArrayLike, forward: ArrayLike, strike: ArrayLike, t: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> ImpliedVol:
    """Implied Black-76 volatility of option prices on a future."""
    p, f, k, tt, rr = np.broadcast_arrays(*(_as_float(v) for v in (price, forward, strike, t, r)))
    call = np.broadcast_to(_as_bool(is_call), p.shape)
    return _implied_vol(p, f, k, tt, np.exp(-rr * tt), call)


def bs_implied_vol(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
) -> ImpliedVol:
    """Implied Black-Scholes-Merton volatility of option prices on a spot price with dividend yield q."""
    p, s, k, tt, rr, qq = np.broadcast_arrays(*(_as_float(v) for v in (price, spot, strike, t, r, q)))
    call = np.broadcast_to(_as_bool(is_call), p.shape)
    return _implied_vol(p, s * np.exp((rr - qq) * tt), k, tt, np.exp(-rr * tt), call)


def bs_iv_and_greeks(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
) -> tuple[ImpliedVol, Greeks]:
    """Implied volatility and the Greeks at it, for a chain whose quotes carry no usable Greeks (LEAN's are
    zero during warm-up). Greeks are NaN wherever the volatility is."""
    implied = bs_implied_vol(price, spot, strike, t, r, q, is_call)
    return implied, bs_greeks(spot, strike, t, implied.iv, r, q, is_call)


def black76_iv_and_greeks(
    price: ArrayLike, forward: ArrayLike, strike: ArrayLike, t: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> tuple[ImpliedVol, Greeks]:
    """The Black-76 twin of `bs_iv_and_greeks`, for future options."""
    implied = black76_implied_vol(price, forward, strike, t, r, is_call)
    return implied, black76_greeks(forward, strike, t, implied.iv, r, is_call)
