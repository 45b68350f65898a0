"""`python -m replay.calibrate --data DIR --out OUT`: fit the modelled volatility surface (replay/modelled.
SurfaceParameters) to the real option quotes of a LEAN-format folder, each day anchored on that day's real VIX
close, and publish its error: OUT/calibration.json and OUT/calibration.md.

The fit sees only the days before `HELD_OUT_FROM` (SPX 2015-12-22/23 and 2020-12-30 to 2021-01-14, SPXW
2021-01-04..08, ES options 2020-01-06); the SPY days of 2023-08-03 and 2023-12-28 to 2024-01-09 are held
out and reported apart, so the fit is never judged only on the days it was fitted to. It is a weighted
least-squares fit of model IV to market IV (replay/calibration_quotes) with scipy, each root weighing the
same whatever its number of rows; deterministic (no random start) and a second or two on the sample.

Also reported, as a check of what the fit rests on: each root of the fit days left out of the fit in turn
(`leave_one_root_out`), that root's larger buckets and the premium ratios without it.

Reported: model IV against market IV by root, DTE bucket and |delta| bucket (of the out-of-the-money twin:
an 85-delta call counts as a 15-delta put), count and median absolute error in vol points; and, for the
contracts each strategy selects, the median ratio of model mid to market mid. `GOAL_ERROR`, `GOAL_MIN_COUNT`
and `GOAL_RATIO` are issue #18's goal; `misses` lists what falls short of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares

from core import pricing
from core.model import FloatArray
from replay.calibration_quotes import Observations, Spreads, read, spread_sample
from replay.modelled import SURFACE_RANGES, SurfaceParameters
from replay.spreads import FITTED_ROOTS, VIX_REFERENCE, SpreadParameters

HELD_OUT_FROM = date(2023, 1, 1)
DTE_BUCKETS = ((0, 0, "0"), (1, 7, "1-7"), (8, 45, "8-45"), (46, 180, "46-180"), (181, 730, "181-730"))
DELTA_BUCKETS = ((0.03, 0.10), (0.10, 0.20), (0.20, 0.35), (0.35, 0.50))
GOAL_ERROR = 2.0  # vol points
GOAL_MIN_COUNT = 20
GOAL_RATIO = (0.8, 1.25)
FITTED = (
    "atm_ratio",
    "long_run_vol",
    "reversion_per_year",
    "skew_put",
    "put_wing",
    "skew_call",
    "skew_horizon_days",
    "skew_decay",
    "call_floor",
    "intraday_share",
)
BEFORE = SurfaceParameters.before_calibration()  # what the replay priced with until this fit


# Where the fit starts (fixed, so that the fit does not depend on the defaults it writes): the first guesses
# of this calibration, a smile near the old one with an ATM level a little under VIX.
FIT_START = SurfaceParameters(
    atm_ratio=0.86,
    long_run_vol=0.2,
    reversion_per_year=2.0,
    skew_put=5.0,
    put_wing=2.0,
    skew_call=3.0,
    skew_horizon_days=90.0,
    skew_decay=0.5,
    call_floor=0.6,
    intraday_share=0.75,
    term_slope=0.0,
)


@dataclass(frozen=True)
class Selection:
    """The contracts one strategy sells or buys, as a filter on the table; `stand_in` says when another root
    stands in because the sample has none of the strategy's own."""

    strategy: str
    roots: tuple[str, ...]
    days: tuple[int, int]
    otm: bool  # out of the money (the shorts) or in it (the LEAP calls)
    call: bool | None  # None: either side
    abs_delta: tuple[float, float]
    stand_in: str = ""


SELECTIONS = (
    Selection("0DTE SPXW short", ("SPXW",), (0, 0), True, None, (0.15, 0.25)),
    Selection("ES strangle short", ("ES",), (45, 135), True, None, (0.05, 0.07)),
    Selection("ETF strangle short", ("SPX",), (45, 135), True, None, (0.05, 0.07), "SPX 2015 (no 5-7Δ ETF quotes)"),
    Selection("LEAP ladder put", ("SPX",), (250, 500), True, False, (0.12, 0.14), "SPX 2015 (no SPY put ~365 DTE)"),
    Selection("LEAP call", ("SPY",), (180, 1100), False, True, (0.75, 0.85)),
)


def model_iv(surface: SurfaceParameters, table: Observations) -> FloatArray:
    sessions = surface.variance_sessions(table.today, table.whole, table.nights)
    return surface.vix_implied_vol(table.vix, np.log(table.strike / table.forward), sessions, table.t)


def model_mid(surface: SurfaceParameters, table: Observations) -> FloatArray:
    return pricing.black76_price(
        table.forward, table.strike, table.t, model_iv(surface, table), table.rate, table.is_call
    )


def held_out(table: Observations) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = table.day >= HELD_OUT_FROM.toordinal()
    return out


def fit(table: Observations, start: SurfaceParameters = FIT_START) -> SurfaceParameters:
    """Least squares of model IV − market IV over `table`, each root weighing the same (1/√n per row), with a
    soft-L1 loss so a stale close or two does not pull the whole surface."""
    first = start
    weights = np.zeros(len(table))
    for root in np.unique(table.root):
        rows = table.root == root
        weights[rows] = 1.0 / np.sqrt(rows.sum())

    def surface_of(x: FloatArray) -> SurfaceParameters:
        return replace(first, **{name: float(v) for name, v in zip(FITTED, x, strict=True)})

    def residuals(x: FloatArray) -> FloatArray:
        out: FloatArray = weights * (model_iv(surface_of(x), table) - table.iv)
        return out

    x0 = np.array([getattr(first, name) for name in FITTED])
    low = np.array([SURFACE_RANGES[name][0] for name in FITTED])
    high = np.array([SURFACE_RANGES[name][1] for name in FITTED])
    result = least_squares(residuals, np.clip(x0, low, high), bounds=(low, high), loss="soft_l1", f_scale=0.01)
    return surface_of(result.x)


def fit_spreads(sample: Spreads) -> tuple[SpreadParameters, dict[str, dict[str, float]]]:
    """The half-spread (a + b × price) × (VIX / 20)^v by root, least squares on log(half-spread) (a spread is
    judged by how many times too wide or narrow it is), and per root the count, median real and model
    half-spread and median |log error|."""
    roots = [r for r in FITTED_ROOTS if (sample.root == r).any()]
    which = np.array([roots.index(r) if r in roots else -1 for r in sample.root.tolist()])
    keep = which >= 0
    which, mid, half, vix = which[keep], sample.mid[keep], sample.half[keep], sample.vix[keep]
    n = len(roots)

    def model(x: FloatArray) -> FloatArray:
        out: FloatArray = (x[:n][which] + x[n : 2 * n][which] * mid) * (vix / VIX_REFERENCE) ** x[2 * n]
        return out

    def residuals(x: FloatArray) -> FloatArray:
        out: FloatArray = np.log(model(x)) - np.log(half)
        return out

    x0 = np.array([0.05] * n + [0.005] * n + [0.0])
    low, high = np.array([1e-4] * (2 * n) + [-3.0]), np.array([5.0] * (2 * n) + [5.0])
    x = least_squares(residuals, x0, bounds=(low, high)).x
    x = np.array([float(f"{v:.3g}") for v in x])
    params = SpreadParameters(
        {r: (float(x[i]), float(x[n + i])) for i, r in enumerate(roots)}, vix_exponent=float(x[2 * n])
    )
    errors = np.abs(residuals(x))
    report = {
        r: {
            "n": int((which == i).sum()),
            "median_half_spread": round(float(np.median(half[which == i])), 4),
            "median_model_half_spread": round(float(np.median(model(x)[which == i])), 4),
            "median_abs_log_error": round(float(np.median(errors[which == i])), 3),
        }
        for i, r in enumerate(roots)
    }
    return params, report


def rounded(surface: SurfaceParameters) -> SurfaceParameters:
    """Three significant figures: the defaults are written from these."""
    return replace(surface, **{f.name: float(f"{getattr(surface, f.name):.3g}") for f in fields(surface)})


def dte_label(days: int) -> str | None:
    return next((label for low, high, label in DTE_BUCKETS if low <= days <= high), None)


def buckets(surface: SurfaceParameters, table: Observations) -> list[dict[str, object]]:
    error = np.abs(model_iv(surface, table) - table.iv) * 100.0
    dte = [dte_label(int(d)) for d in table.days_to_expiry]
    otm = table.otm_delta
    out: list[dict[str, object]] = []
    for out_of_fit in (False, True):
        for root in sorted(set(table.root.tolist())):
            for _, _, label in DTE_BUCKETS:
                for low, high in DELTA_BUCKETS:
                    rows = (
                        (table.root == root)
                        & np.array([d == label for d in dte])
                        & (otm >= low)
                        & (otm < high)
                        & (held_out(table) == out_of_fit)
                    )
                    n = int(rows.sum())
                    if n:
                        out.append(
                            {
                                "root": root,
                                "dte": label,
                                "delta": f"{low:.2f}-{high:.2f}",
                                "n": n,
                                "median_abs_error": round(float(np.median(error[rows])), 2),
                                "held_out": out_of_fit,
                            }
                        )
    return out


def selected_rows(table: Observations, selection: Selection) -> npt.NDArray[np.bool_]:
    days = table.days_to_expiry
    forward_otm = np.where(table.is_call, table.strike > table.forward, table.strike < table.forward)
    delta = np.abs(table.delta)
    rows: npt.NDArray[np.bool_] = (
        np.isin(table.root, selection.roots)
        & (days >= selection.days[0])
        & (days <= selection.days[1])
        & (forward_otm == selection.otm)
        & (delta >= selection.abs_delta[0])
        & (delta <= selection.abs_delta[1])
    )
    if selection.call is not None:
        rows &= table.is_call == selection.call
    return rows


def selected(surface: SurfaceParameters, table: Observations) -> list[dict[str, object]]:
    ratio = model_mid(surface, table) / table.mid
    out: list[dict[str, object]] = []
    for s in SELECTIONS:
        rows = selected_rows(table, s)
        n = int(rows.sum())
        out.append(
            {
                "strategy": s.strategy,
                "n": n,
                "premium_ratio": round(float(np.median(ratio[rows])), 3) if n else None,
                "held_out": bool(held_out(table)[rows].all()) if n else False,
                "stand_in": s.stand_in,
            }
        )
    return out


def misses(result: dict[str, object]) -> list[str]:
    """What falls short of the goal: a bucket of at least GOAL_MIN_COUNT contracts over GOAL_ERROR vol points,
    a selection whose premium ratio is outside GOAL_RATIO."""
    out = []
    for b in _dicts(result["buckets"]):
        if int(str(b["n"])) >= GOAL_MIN_COUNT and float(str(b["median_abs_error"])) > GOAL_ERROR:
            out.append(
                f"{b['root']} {b['dte']} DTE {b['delta']}Δ{' (held out)' if b['held_out'] else ''}: "
                f"{b['median_abs_error']} vol points over {b['n']} contracts"
            )
    low, high = GOAL_RATIO
    for s in _dicts(result["selected"]):
        ratio = s["premium_ratio"]
        if ratio is not None and not low <= float(str(ratio)) <= high:
            out.append(f"{s['strategy']}: premium ratio {ratio} over {s['n']} contracts")
    return out


def _dicts(value: object) -> list[dict[str, object]]:
    return list(value) if isinstance(value, list) else []


def leave_one_root_out(in_fit: Observations) -> list[dict[str, object]]:
    """What the fit rests on: refitted without each root of the fit days in turn, that root's buckets of at
    least GOAL_MIN_COUNT contracts and every selection's premium ratio (the held-out SPY days have none that
    large, so this is the only out-of-fit check of a bucket that size)."""
    out: list[dict[str, object]] = []
    for root in sorted(set(in_fit.root.tolist())):
        surface = rounded(fit(in_fit.take(in_fit.root != root)))
        alone = in_fit.take(in_fit.root == root)
        out.append(
            {
                "root_left_out": root,
                "buckets": [b for b in buckets(surface, alone) if int(str(b["n"])) >= GOAL_MIN_COUNT],
                "selected": [s for s in selected(surface, in_fit) if s["n"]],
            }
        )
    return out


def calibrate(folder: Path) -> tuple[dict[str, object], list[str]]:
    """The fit and its report as calibration.json holds it, and the notes on dropped rows."""
    table, notes = read(folder)
    if not len(table):
        raise ValueError(f"{folder}: no usable option quote (is it a LEAN data folder?)")
    in_fit = table.take(~held_out(table))
    surface = rounded(fit(in_fit))
    result: dict[str, object] = {
        "surface": {f.name: getattr(surface, f.name) for f in fields(surface)},
        "fitted_on": sorted({d.isoformat() for d in in_fit.days}),
        "held_out_days": sorted({d.isoformat() for d in table.take(held_out(table)).days}),
        "buckets": buckets(surface, table),
        "selected": selected(surface, table),
        "before": {"buckets": buckets(BEFORE, table), "selected": selected(BEFORE, table)},
        "dropped": notes,
    }
    result["misses"] = misses(result)
    result["leave_one_root_out"] = leave_one_root_out(in_fit)
    spreads, spread_report = fit_spreads(spread_sample(folder))
    result["spreads"] = {
        "fixed_and_share": {r: list(v) for r, v in spreads.fixed_and_share.items()},
        "vix_exponent": spreads.vix_exponent,
        "fit": spread_report,
    }
    return result, notes


def markdown(result: dict[str, object]) -> str:
    before = result["before"]
    old = {
        (b["root"], b["dte"], b["delta"], b["held_out"]): b["median_abs_error"]
        for b in _dicts(before["buckets"] if isinstance(before, dict) else [])
    }
    surface = result["surface"]
    lines = [
        "# Modelled surface against the real quotes",
        "",
        f"Fitted on {', '.join(map(str, _strings(result['fitted_on'])))}; held out: "
        f"{', '.join(map(str, _strings(result['held_out_days'])))}.",
        "",
        "Fitted parameters: "
        + ", ".join(f"{k} {v:g}" for k, v in (surface.items() if isinstance(surface, dict) else [])),
        "",
        "Median absolute error of model IV against market IV, in vol points (|Δ| of the out-of-the-money twin;"
        " 'before': the surface the replay used until this fit).",
        "",
        "| root | held out | DTE | \\|Δ\\| | n | error | before |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in _dicts(result["buckets"]):
        was = old.get((b["root"], b["dte"], b["delta"], b["held_out"]))
        lines.append(
            f"| {b['root']} | {'yes' if b['held_out'] else 'no'} | {b['dte']} | {b['delta']} | {b['n']} |"
            f" {b['median_abs_error']} | {was} |"
        )
    old_ratio = {
        s["strategy"]: s["premium_ratio"] for s in _dicts(before["selected"] if isinstance(before, dict) else [])
    }
    lines += ["", "Median model mid / market mid of the contracts each strategy selects.", ""]
    lines += ["| strategy | quotes | n | held out | ratio | before |", "|---|---|---|---|---|---|"]
    for s in _dicts(result["selected"]):
        lines.append(
            f"| {s['strategy']} | {s['stand_in'] or 'own'} | {s['n']} | {'yes' if s['held_out'] else 'no'} |"
            f" {s['premium_ratio']} | {old_ratio.get(s['strategy'])} |"
        )
    lines += [
        "",
        "Each root of the fit days left out of the fit in turn: its buckets of 20 or more contracts, and the premium"
        " ratios (of every selection) that surface gives.",
        "",
        "| left out | DTE | \\|Δ\\| | n | error | premium ratios |",
        "|---|---|---|---|---|---|",
    ]
    for check in _dicts(result.get("leave_one_root_out", [])):
        ratios = ", ".join(f"{s['strategy']} {s['premium_ratio']}" for s in _dicts(check["selected"]))
        for b in _dicts(check["buckets"]):
            cells = (check["root_left_out"], b["dte"], b["delta"], b["n"], b["median_abs_error"], ratios)
            lines.append("| " + " | ".join(map(str, cells)) + " |")
            ratios = ""
    spreads = result.get("spreads")
    if isinstance(spreads, dict):
        lines += [
            "",
            f"Half-spread (a + b × price) × (VIX / 20)^{spreads['vix_exponent']}, fitted on minute quotes:",
            "",
        ]
        lines += [
            "| root | a | b | quotes | median half-spread | model | median \\|log error\\| |",
            "|---|---|---|---|---|---|---|",
        ]
        for root, (a, b) in spreads["fixed_and_share"].items():
            f = spreads["fit"][root]
            lines.append(
                f"| {root} | {a} | {b} | {f['n']} | {f['median_half_spread']} | {f['median_model_half_spread']} |"
                f" {f['median_abs_log_error']} |"
            )
    missed = _strings(result["misses"])
    lines += ["", "Short of the goal (≤ 2 vol points where n ≥ 20, ratios 0.8-1.25): " + ("; ".join(missed) or "none")]
    return "\n".join(lines) + "\n"


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def main(argv: Sequence[str] | None = None, write: Callable[[str], object] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m replay.calibrate", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="a folder in LEAN's format")
    parser.add_argument("--out", type=Path, required=True, help="folder for calibration.json and calibration.md")
    args = parser.parse_args(argv)
    try:
        result, _ = calibrate(args.data)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "calibration.json").write_text(json.dumps(result, indent=1) + "\n")
    table = markdown(result)
    (args.out / "calibration.md").write_text(table)
    write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
