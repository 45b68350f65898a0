"""The book under a shock (RULEBOOK "Stress"): every open structure, and a proposed one, revalued under a grid
of SPX moves with IV changes, each underlying moved by its beta to SPX.

A short-premium book's danger is the gap (August 2015, February 2018, March 2020), where first-order Greeks
say little: a 13-delta put 20% out of the money is worth a few dollars until the market falls 20% and its
IV rises 15 points, when it is worth ten times as much. So each leg is repriced in full, not extrapolated.

The grid: each move m of `stress_moves` paired with the IV change of `stress_iv_points` (vol points added to
every option's IV), and each move again with IV unchanged (pairs already at 0 are not repeated). An
underlying with beta β (`stress_beta`, by the root it is written on: SPXW moves with SPX, an ES option with
ES) moves by β·m, floored at −99%; a future or a share moves by the same share of its price. The IV change is
the same for every option whatever its beta: RULEBOOK gives one, and in a gap volatility rises everywhere.
The shock is instantaneous: no time passes, so no decay is earned against it.

Each option is repriced with core/pricing at its own IV from the chain (Black-Scholes with the rate and the
underlying's dividend yield; Black-76 on the future for a future's options, as Black-Scholes with q = r), and
its P&L is the shocked value less the value at the unshocked IV, so the grid's zero move is zero whatever
the gap between the model and the quote's mid. Expiries are at 16:00 New York (an AM-settled expiry is
revalued a few hours long: a second-order error on the day it expires).

A leg that cannot be revalued (an option with no IV, or no price: core/valuation has already refused those)
is not guessed: its structure is listed in `unrevalued` with the reason, left out of the totals, and the
gate (risk/stress) refuses to judge on an incomplete book.

Vectorised: every leg of every structure in one (scenarios × legs) array, summed into structures by index.
Each structure's row is memoised on the snapshot like its valuation, so the risk manager reviewing a batch of
proposals revalues only what it has not seen.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np

from core import pricing
from core.book_view import BookView
from core.model import ContractKind, MarketSnapshot, Right
from core.products import AssetKind, UnknownProductError, option_underlying, product
from core.settings import Settings
from core.valuation import StructureView

NEW_YORK = ZoneInfo("America/New_York")
EXPIRY_TIME = time(16, 0)
_MIN_PRICE_SHARE = 0.01  # a −100% move (β = 1.2 on −90%) would put a price at or under zero
_MIN_IV = 0.01  # IV −5 points on an 8% IV leaves 3%; never zero or negative


@dataclass(frozen=True, slots=True)
class Scenario:
    move: float  # SPX move, share of price (−0.10)
    iv_points: float  # vol points added to every option's IV

    def label(self) -> str:
        iv = "IV unchanged" if self.iv_points == 0 else f"IV {self.iv_points:+g}"
        return f"SPX {self.move * 100:+g}%, {iv}"


def grid(settings: Settings) -> tuple[Scenario, ...]:
    """RULEBOOK's grid from the settings: each move with its IV change, then each move with IV unchanged."""
    paired = [Scenario(m, v) for m, v in zip(settings.stress_moves, settings.stress_iv_points, strict=True)]
    plain = [Scenario(m, 0.0) for m in settings.stress_moves]
    out: list[Scenario] = []
    for scenario in (*paired, *plain):
        if scenario not in out:
            out.append(scenario)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Worst:
    scenario: Scenario
    loss: float  # USD, positive for a loss (0 when every scenario gains)

    def describe(self) -> str:
        return f"{self.scenario.label()}: {self.loss:,.0f}"


def describe_worst(worst: Sequence[Worst], net_liq: float) -> str:
    """Scenarios and their losses, worst first, each with its share of net liq when net liq is positive
    ("SPX -20%, IV +15: 5,819 (5.8%); ..."): one wording for the daily summary, the report and the tool."""
    return "; ".join(w.describe() + (f" ({w.loss / net_liq:.1%})" if net_liq > 0 else "") for w in worst)


@dataclass(frozen=True)
class StressResult:
    """The P&L of each revalued structure in each scenario, USD (rows by `ids`, columns by `scenarios`)."""

    scenarios: tuple[Scenario, ...]
    ids: tuple[str, ...]
    pnl: pricing.FloatArray  # (len(ids), len(scenarios))
    unrevalued: tuple[str, ...] = ()  # why a structure could not be revalued (it is not in `pnl`)

    @property
    def complete(self) -> bool:
        return not self.unrevalued

    @property
    def total(self) -> pricing.FloatArray:
        """The book's P&L per scenario."""
        total: pricing.FloatArray = self.pnl.sum(axis=0)
        return total

    def worst(self) -> Worst:
        return self.ranked(1)[0]

    def ranked(self, count: int) -> list[Worst]:
        """The `count` worst scenarios, worst first (ties keep the grid's order)."""
        total = self.total
        order = np.argsort(total, kind="stable")[:count]
        return [Worst(self.scenarios[i], max(-float(total[i]), 0.0) + 0.0) for i in order]  # + 0.0: never −0

    def plus(self, other: StressResult) -> StressResult:
        """This book with `other`'s structures added (same grid)."""
        if other.scenarios != self.scenarios:
            raise ValueError("stress results on different grids cannot be added")
        return StressResult(
            self.scenarios,
            (*self.ids, *other.ids),
            np.vstack([self.pnl, other.pnl]),
            (*self.unrevalued, *other.unrevalued),
        )


def stress(views: Sequence[StructureView], snapshot: MarketSnapshot, settings: Settings) -> StressResult:
    """The grid's P&L for each structure in `views` at `snapshot`'s time (module docstring)."""
    memo = snapshot.memo
    scenarios = _remembered(memo, ("stress grid", id(settings)), settings)
    if not isinstance(scenarios, tuple):
        scenarios = grid(settings)
        memo[("stress grid", id(settings))] = (settings, scenarios)
    rows: dict[int, pricing.FloatArray | str] = {}
    todo: list[int] = []
    for i, view in enumerate(views):
        found = _remembered(memo, _key(view, settings), settings)
        if isinstance(found, np.ndarray | str):
            rows[i] = found
        else:
            todo.append(i)
    if todo:
        computed = _revalue([views[i] for i in todo], snapshot.time, settings, scenarios)
        for i, row in zip(todo, computed, strict=True):
            memo[_key(views[i], settings)] = (settings, row)
            rows[i] = row
    ids: list[str] = []
    pnl: list[pricing.FloatArray] = []
    unrevalued: list[str] = []
    for i, view in enumerate(views):
        row = rows[i]
        if isinstance(row, str):
            unrevalued.append(row)
        else:
            ids.append(view.structure.id)
            pnl.append(row)
    matrix = np.vstack(pnl) if pnl else np.zeros((0, len(scenarios)))
    return StressResult(scenarios, tuple(ids), matrix, tuple(unrevalued))


def stress_book(book: BookView, snapshot: MarketSnapshot, settings: Settings) -> StressResult:
    """The open book on the grid, with the structures that could not even be valued (`book.unvalued`) among
    the ones not revalued: a report or a warning on the rest alone would understate the book."""
    result = stress(book.views, snapshot, settings)
    if not book.unvalued:
        return result
    return StressResult(result.scenarios, result.ids, result.pnl, (*book.unvalued, *result.unrevalued))


def _remembered(memo: dict[object, object], key: tuple[object, ...], settings: Settings) -> object:
    """What was memoised under `key` for these very settings, or None. The settings are kept beside the value
    and compared by identity: CPython reuses the id() in the key once its object is gone, and a grid or a row
    of other settings must never be taken for these."""
    held = memo.get(key)
    return held[1] if isinstance(held, tuple) and held[0] is settings else None


def _key(view: StructureView, settings: Settings) -> tuple[object, ...]:
    return ("stress", id(settings), view.structure)


def _revalue(
    views: Sequence[StructureView], now: datetime, s: Settings, scenarios: tuple[Scenario, ...]
) -> list[pricing.FloatArray | str]:
    """One row of scenario P&L per view, or the reason it cannot be revalued."""
    owner: list[int] = []
    price: list[float] = []
    beta: list[float] = []
    scale: list[float] = []
    option: list[bool] = []
    strike: list[float] = []
    years: list[float] = []
    iv: list[float] = []
    carry: list[float] = []  # the dividend yield q (Black-Scholes), or the rate (Black-76 as Black-Scholes)
    call: list[bool] = []
    out: list[pricing.FloatArray | str] = []
    to_expiry: dict[date, float] = {}  # years from now to each expiry's 16:00, computed once per expiry
    for index, view in enumerate(views):
        problem = None
        start = len(owner)
        structure = view.structure
        for leg, mark in zip(structure.legs, view.legs, strict=True):
            contract = leg.contract
            underlying = option_underlying(contract.underlying)
            leg_beta = s.stress_beta.get(underlying)
            if leg_beta is None:
                problem = f"no stress_beta for {underlying}"
                break
            is_option = contract.kind is ContractKind.OPTION
            if is_option and not (math.isfinite(mark.iv) and mark.iv > 0):
                problem = f"{contract.root} {contract.expiry} {contract.strike:g} has no implied volatility"
                break
            on_future = _on_future(underlying)
            owner.append(index)
            price.append(mark.underlying_price if is_option else mark.mid)
            beta.append(leg_beta)
            scale.append(leg.ratio * structure.quantity * contract.multiplier)
            option.append(is_option)
            strike.append(contract.strike or 0.0)
            years.append(_years(now, contract.expiry, to_expiry) if is_option and contract.expiry else 0.0)
            iv.append(mark.iv if is_option else 0.0)
            carry.append(s.risk_free_rate if on_future else s.dividend_yield.get(underlying, 0.0))
            call.append(contract.right is Right.CALL)
        if problem is not None:
            del owner[start:], price[start:], beta[start:], scale[start:], option[start:], strike[start:]
            del years[start:], iv[start:], carry[start:], call[start:]
            out.append(f"cannot stress {structure.strategy} {structure.id}: {problem}")
        else:
            out.append(np.zeros(len(scenarios)))
    if not owner:
        return out
    moves = np.array([sc.move for sc in scenarios])[:, None]
    shifts = np.array([sc.iv_points for sc in scenarios])[:, None] / 100.0
    p, b, k, t, v = (np.array(a) for a in (price, beta, strike, years, iv))
    r, q, is_call, repriced = s.risk_free_rate, np.array(carry), np.array(call), np.array(option)
    shocked_price = p * np.maximum(1.0 + b * moves, _MIN_PRICE_SHARE)
    shocked_iv = np.maximum(v + shifts, _MIN_IV)
    before = pricing.bs_price(p, k, t, v, r, q, is_call)
    after = pricing.bs_price(shocked_price, k, t, shocked_iv, r, q, is_call)
    per_unit = np.where(repriced, after - before, shocked_price - p)
    leg_pnl = per_unit * np.array(scale)  # (scenarios, legs)
    structures = np.zeros((len(views), len(scenarios)))
    np.add.at(structures, np.array(owner), leg_pnl.T)
    for index, row in enumerate(out):
        if not isinstance(row, str):
            out[index] = structures[index]
    return out


def _years(now: datetime, expiry: date, cache: dict[date, float]) -> float:
    found = cache.get(expiry)
    if found is None:
        found = cache[expiry] = pricing.year_fraction(now, datetime.combine(expiry, EXPIRY_TIME, NEW_YORK))
    return found


@functools.cache
def _on_future(root: str) -> bool:
    try:
        return product(root).kind is AssetKind.FUTURE
    except UnknownProductError:
        return False
