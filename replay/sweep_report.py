"""What `python -m replay.sweep` writes: sweep.csv and sweep.md (one row per run), the objective's heatmap over
the first two varied parameters, walk_forward.csv and .md, monte_carlo.json, .md and its chart. Every figure
follows replay/statistics' conventions (cagr a fraction, max_drawdown_pct a positive percent)."""

from __future__ import annotations

import csv
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from replay.bootstrap import MonteCarlo
from replay.engine import SUMMARY_STRATEGIES
from replay.sweep_runs import Row, objective_value

FIGURES = ("final_net_liq", "cagr", "max_drawdown_pct", "sharpe", "calmar")
_ORDER = {name: i for i, name in enumerate(SUMMARY_STRATEGIES)}
MODELLED_NOTE = "modelled prices: real daily histories, option chains priced by the replay's model"


def table(rows: Sequence[Row], varied: Sequence[str]) -> list[dict[str, Any]]:
    """sweep.csv's rows: the varied parameters, the seed, the window, the figures, trades and win rate per
    strategy."""
    out = []
    for row in rows:
        given = dict(row["parameters"])
        line: dict[str, Any] = {name: given.get(name, "") for name in varied}
        line.update(seed=row["seed"], start=row["start"], end=row["end"])
        line.update({name: row[name] for name in FIGURES})
        strategies = row["strategies"]  # in the engine's order: a cached row's keys come back sorted
        for strategy in sorted(strategies, key=lambda s: (_ORDER.get(s, len(_ORDER)), s)):
            line[f"{strategy}_trades"] = strategies[strategy]["trades"]
            line[f"{strategy}_win_rate"] = strategies[strategy]["win_rate"]
        out.append(line)
    return out


def write_csv(path: Path, lines: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(lines[0]) if lines else ["seed"])
        writer.writeheader()
        writer.writerows([{k: "" if v is None else v for k, v in line.items()} for line in lines])


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown_table(lines: Sequence[dict[str, Any]]) -> list[str]:
    if not lines:
        return ["(no runs)"]
    names = list(lines[0])
    return [
        "| " + " | ".join(names) + " |",
        "|" + "---|" * len(names),
        *("| " + " | ".join(_cell(line[n]) for n in names) + " |" for line in lines),
    ]


def heatmap_grid(
    rows: Sequence[Row], first: str, second: str | None, objective: str
) -> tuple[list[str], list[str], list[list[float | None]]]:
    """The objective by (first, second) value: the mean over seeds of each parameter set, and where more than
    two parameters vary, the best of those means over the others (what the two could reach). Rows of `first`,
    columns of `second` (one column when only one parameter varies)."""
    means: dict[tuple[str, str], list[float | None]] = {}
    sets: dict[tuple[tuple[str, str], ...], list[float | None]] = {}
    for row in rows:
        sets.setdefault(tuple((n, v) for n, v in row["parameters"]), []).append(objective_value(row, objective))
    for key, found in sets.items():
        given = dict(key)
        cell = (given[first], given[second] if second else "")
        mean = None if any(v is None for v in found) else statistics.fmean(v for v in found if v is not None)
        means.setdefault(cell, []).append(mean)
    xs = list(dict.fromkeys(c[0] for c in means))
    ys = list(dict.fromkeys(c[1] for c in means))
    sign = -1.0 if objective == "max_drawdown_pct" else 1.0  # back to the figure's own sign for the chart

    def best(cell: tuple[str, str]) -> float | None:
        found = [v for v in means.get(cell, []) if v is not None]
        return sign * max(found) if found else None

    return xs, ys, [[best((x, y)) for y in ys] for x in xs]


def write_heatmap(
    path: Path, rows: Sequence[Row], varied: Sequence[str], objective: str, source: str = "modelled"
) -> str | None:
    """The heatmap PNG, or why there is none."""
    if not varied:
        return "no parameter varies: no heatmap"
    first, second = varied[0], (varied[1] if len(varied) > 1 else None)
    xs, ys, values = heatmap_grid(rows, first, second, objective)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    grid = np.array([[np.nan if v is None else v for v in line] for line in values], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.6 + 1.1 * len(ys)), 1.6 + 0.6 * len(xs)))
    image = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_yticks(range(len(xs)), xs)
    ax.set_ylabel(first)
    ax.set_xticks(range(len(ys)), ys if second else [""])
    ax.set_xlabel(second or "")
    for i in range(len(xs)):
        for j in range(len(ys)):
            ax.text(j, i, _cell(values[i][j]), ha="center", va="center", color="white", fontsize=8)
    fig.colorbar(image, ax=ax, label=objective)
    prices = "; modelled prices" if source == "modelled" else ""  # every output on modelled data says so
    ax.set_title(f"{objective} (mean over seeds{prices})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return None


def sweep_markdown(
    rows: Sequence[Row], varied: Sequence[str], objective: str, where: str, heatmap: str | None, source: str
) -> str:
    lines = [
        f"# Sweep: {len(rows)} runs" + (f", {rows[0]['start']} to {rows[0]['end']}" if rows else ""),
        "",
        f"Varied: {', '.join(varied) or 'nothing'}; ran {where}."
        + (f" Prices: {MODELLED_NOTE}." if source == "modelled" else ""),
        "",
        f"Heatmap of {objective}: " + (heatmap or f"heatmap_{objective}.png"),
        "",
        *markdown_table(table(rows, varied)),
        "",
    ]
    return "\n".join(lines)


def walk_forward_markdown(
    windows: Sequence[dict[str, Any]], out_of_sample: dict[str, Any], objective: str, spans: str
) -> str:
    lines = [
        f"# Walk-forward {spans} by {objective}",
        "",
        "Each training window ran every grid row with the market's histories cut at its last day; the"
        " parameters with the best mean objective over the seeds then ran on the test window that follows,"
        " from the capital, flat. In-sample: those parameters' figures on their training window;"
        " out-of-sample: on the test window. The stitched curve compounds the test windows.",
        "",
        "| train | test | chosen | in-sample " + objective + " | out-of-sample " + objective
        + " | out-of-sample cagr | out-of-sample max dd % |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for w in windows:
        lines.append(
            f"| {w['train_start']}..{w['train_end']} | {w['test_start']}..{w['test_end']} | {w['chosen'] or 'defaults'}"
            f" | {_cell(w['in_sample'])} | {_cell(w['out_of_sample'])} | {_cell(w['test_cagr'])}"
            f" | {_cell(w['test_max_drawdown_pct'])} |"
        )
    lines += ["", "Stitched out-of-sample (per seed):", "", "| seed | " + " | ".join(FIGURES[1:]) + " |"]
    lines += ["|---|" + "---|" * len(FIGURES[1:])]
    for seed, figures in out_of_sample.items():
        lines.append(f"| {seed} | " + " | ".join(_cell(figures[n]) for n in FIGURES[1:]) + " |")
    return "\n".join(lines) + "\n"


def monte_carlo_outputs(out: Path, mc: MonteCarlo, what: str) -> dict[str, Any]:
    figures = mc.figures()
    figures["resampled"] = what
    (out / "monte_carlo.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    lines = [
        f"# Monte Carlo: {figures['paths']:,} block-bootstrap paths of {what}",
        "",
        f"{figures['days']} daily P&Ls resampled in circular blocks of {mc.block} days (seed {mc.seed}),"
        f" from a capital of {mc.capital:,.0f}.",
        "",
        "| figure | p5 | p25 | p50 | p75 | p95 |",
        "|---|---|---|---|---|---|",
        *(
            f"| {name} | " + " | ".join(f"{figures[name][f'p{q}']:,.2f}" for q in (5, 25, 50, 75, 95)) + " |"
            for name in ("final_net_liq", "max_drawdown_pct")
        ),
        "",
        f"- probability of a drawdown of 15% or more (half size): {figures['p_drawdown_15']:.1%}",
        f"- probability of a drawdown of 20% or more (everything stops): {figures['p_drawdown_20']:.1%}",
        f"- CVaR 95% of the final P&L (mean of the worst 5% of paths): {figures['cvar95_final_pnl']:,.2f}",
        "",
    ]
    (out / "monte_carlo.md").write_text("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.hist(mc.max_drawdown_pct, bins=40, color="tab:red")
    for step in (15.0, 20.0):
        left.axvline(step, color="black", linestyle="--", linewidth=0.8)
    left.set_xlabel("max drawdown %")
    right.hist(mc.final_net_liq, bins=40, color="tab:blue")
    right.axvline(mc.capital, color="black", linestyle="--", linewidth=0.8)
    right.set_xlabel("final net liq")
    fig.suptitle(f"{figures['paths']:,} bootstrap paths, block {mc.block} days ({what})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "monte_carlo.png", dpi=90)
    plt.close(fig)
    return figures
