"""The report folder: summary.json (written by the engine), report.md, trades.csv, decisions.csv and PNG
charts (equity and drawdown, buying power against the VIX-regime ceiling, P&L by strategy, cumulative P&L by
strategy). report.md tables the statistics, the benchmark and the years (replay/statistics). Every file says
when its prices are modelled."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.calendar import NEW_YORK
from core.stress import describe_worst
from replay.coverage import coverage_lines
from replay.statistics import Close

if TYPE_CHECKING:
    from replay.engine import RunRecord


def write_report(out: Path, summary: dict[str, Any], record: RunRecord) -> None:
    label = summary.get("prices", "")
    with (out / "trades.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["closed", "strategy", "structure", "units", "entry", "exit", "pnl_before_fees", "why", "prices"])
        for t in record.trades:
            w.writerow(
                [
                    t.time.isoformat(),
                    t.strategy,
                    t.structure.id,
                    t.units,
                    round(t.entry_price, 4),
                    round(t.exit_price, 4),
                    round(t.pnl, 2),
                    t.reason,
                    label,
                ]
            )
    with (out / "decisions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time", "kind", "rule", "reason", "prices"])
        for when, kind, rule, reason in record.decisions:
            w.writerow([when.isoformat(), kind, rule, reason, label])
    lines = [
        f"# Replay {summary['start']} to {summary['end']} ({label})",
        "",
        f"Capital {summary['capital']:,.0f} → final net liq {summary['final_net_liq']:,.0f};"
        f" max drawdown {summary['max_drawdown_pct']}%.",
        "",
        *([f"Operator: {summary['operator']}.", ""] if summary.get("operator") else []),
        "Trades and win rates count closed positions; what is still open at the end is shown apart, at the last",
        "session's marks (realised P&L after fees plus unrealised P&L is the change in net liq).",
        "",
        "| strategy | trades | win rate | expected | P&L after fees | fees | worst trade | open at the end"
        " | unrealised P&L |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, st in summary["strategies"].items():
        rate = "" if st["win_rate"] is None else f"{st['win_rate']:.0%}"
        expected = "" if st["expected_win_rate"] is None else f"{st['expected_win_rate']:.0%}"
        lines.append(
            f"| {name} | {st['trades']} | {rate} | {expected} | {st['pnl']:,.2f} | {st['fees']:,.2f}"
            f" | {st['worst_trade']:,.2f} | {st.get('open', 0)} | {st.get('unrealised_pnl', 0.0):,.2f} |"
        )
    lines += ["", *_statistics_lines(summary), "", *_years_lines(summary)]
    lines += ["", "## Data", ""]
    if "data_coverage" in summary:
        lines += [*coverage_lines(summary["data_coverage"]), ""]
    lines += [f"- {note}" for note in summary.get("price_notes", [])]
    lines += [f"- {problem}" for problem in summary.get("data_problems", [])] or ["- no odd files"]
    lines += ["", "## What each strategy and rule decided (most frequent reasons)", ""]
    for strategy, reasons in _reasons(record).items():
        lines += [f"- {strategy}: " + "; ".join(f"{why} ({n}×)" for why, n in reasons)]
    lines += ["", *_stress_lines(summary, record)]
    lines += ["", "## Refusals by rule", ""] + [f"- {rule}: {n}" for rule, n in summary["refusals"].items()]
    lines += ["", "## Safety events", ""] + [f"- {event}: {n}" for event, n in summary["safety_events"].items()]
    lines += ["", "## Invariants (violations; the goal is 0)", ""] + [
        f"- {name}: {n}" for name, n in summary["invariants"].items()
    ]
    lines += ["", f"Faults injected: {summary['faults_injected'] or 'none'}; restarts: {summary['restarts']}.", ""]
    (out / "report.md").write_text("\n".join(lines))
    _charts(out, record, str(label))


def _stress_lines(summary: dict[str, Any], record: RunRecord) -> list[str]:
    """The book on RULEBOOK's stress grid: its worst loss over the run, and the last close's worst three."""
    st = summary.get("stress")
    if not st:
        return []
    lines = ["## Stress (the book at each close under RULEBOOK's shocks; stress.png)", ""]
    if st["max_worst_loss_day"] is None:
        lines.append("- nothing was open at any close")
    else:
        lines.append(
            f"- worst: {st['max_worst_loss_pct']}% of net liq on {st['max_worst_loss_day']}"
            f" in {st['max_worst_loss_scenario']}"
        )
    lines.append(f"- closes beyond the alert level: {st['days_over_alert']}; not revalued: {st['days_not_revalued']}")
    if record.stress and record.stress[-1][2]:
        day, net_liq, ranked, _ = record.stress[-1]
        lines.append(f"- last close ({day}), worst three: {describe_worst(ranked, net_liq)}")
    return lines


def _shown(value: float | None, form: str) -> str:
    """A figure as the tables show it; an undefined one (null in summary.json) as "n/a"."""
    return "n/a" if value is None else format(value, form)


def _statistics_lines(summary: dict[str, Any]) -> list[str]:
    """The run's statistics beside the benchmark's, and the conventions behind them (replay/statistics)."""
    run, spy = summary["statistics"], summary["benchmark"]
    said = f"{spy['name']}, {spy['prices']}" if spy["why"] is None else f"{spy['name']}: no figures, {spy['why']}"
    rows = [
        ("CAGR", "cagr", ".2%", True),
        ("volatility, annualised", "volatility", ".2%", False),
        ("Sharpe", "sharpe", ".2f", True),
        ("Sortino", "sortino", ".2f", False),
        ("Calmar", "calmar", ".2f", False),
        ("max drawdown, %", "max_drawdown_pct", ".2f", True),
        ("longest drawdown, calendar days", "max_drawdown_days", "d", False),
        ("worst day, %", "worst_day_pct", ".2f", False),
        ("profit factor, closed trades before fees", "profit_factor", ".2f", False),
        ("expectancy per closed trade before fees, USD", "expectancy", ",.2f", False),
    ]
    lines = ["## Statistics", "", f"| | this run | {spy['name']} |", "|---|---|---|"]
    for title, key, form, compared in rows:
        beside = _shown(spy[key], form) if compared else ""
        lines.append(f"| {title} | {_shown(run[key], form)} | {beside} |")
    lines += [
        "",
        "Daily returns of net liq at each session's close, the capital standing before the first session;"
        " 252 sessions a year, risk-free rate 0. Max drawdown: the largest fall below the running peak (the"
        " capital included); longest drawdown: calendar days from a peak to the first session back at it, or"
        " to the last session when it never gets back. Profit factor (gross wins / gross losses) and"
        " expectancy (mean P&L) count every close record as a trade and are before fees: a trade's record"
        " carries no fees (the replay counts them per strategy, in the table above).",
        "",
        f"Benchmark: {said}.",
    ]
    return lines


def _years_lines(summary: dict[str, Any]) -> list[str]:
    lines = ["## Years", "", "| year | P&L | max drawdown, % | trades closed |", "|---|---|---|---|"]
    for year, row in summary["years"].items():
        lines.append(f"| {year} | {row['pnl']:,.2f} | {_shown(row['max_drawdown_pct'], '.2f')} | {row['trades']} |")
    lines += [
        "",
        "P&L: the change of net liq over the year (realised and unrealised, after fees), from the last session"
        " of the year before (the capital in the first year); the drawdown is measured inside the year.",
    ]
    return lines


def _reasons(record: RunRecord, most: int = 4) -> dict[str, list[tuple[str, int]]]:
    """The most frequent decision and refusal reasons per strategy (a refusal's reason starts with its
    strategy) or per rule (a rule's own decision: trading state, drawdown, 21 DTE, ...), numbers folded (so
    "VIX 11.2 < 13" and "VIX 12.0 < 13" count together), the analysis notes of the 0DTE left out."""
    counts: dict[str, Counter[str]] = {}
    for _, kind, rule, reason in record.decisions:
        if kind == "approval" or "analysis at" in reason:
            continue
        if kind == "refusal":
            key, _, text = reason.partition(": ")
            text = f"refused by {rule}: {text}"
        else:
            key, text = rule, reason.removeprefix(f"{rule}: ")
        folded = re.sub(r"\d[\d,.]*", "#", text)
        counts.setdefault(key, Counter())[folded] += 1
    return {k: v.most_common(most) for k, v in sorted(counts.items())}


def _charts(out: Path, record: RunRecord, label: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not record.equity:
        return
    import numpy as np

    days = np.array([d for d, _ in record.equity], dtype="datetime64[D]")
    equity = [v for _, v in record.equity]
    peak, drawdown = equity[0], []
    for v in equity:
        peak = max(peak, v)
        drawdown.append(100 * (v / peak - 1))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    top.plot(days, equity)
    top.set_title(f"Net liq ({label})")
    bottom.fill_between(days, drawdown, 0, color="tab:red", alpha=0.4)
    bottom.set_title("Drawdown from peak, %")
    fig.tight_layout()
    fig.savefig(out / "equity_drawdown.png", dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(10, 3.5))
    bp_days = np.array([d for d, _, _ in record.bp], dtype="datetime64[D]")
    ax.plot(bp_days, [b for _, b, _ in record.bp], label="BP in use")
    ax.plot(bp_days, [c for _, _, c in record.bp], label="VIX-regime ceiling", linestyle="--")
    ax.set_title(f"Buying power in use at each session's close, USD ({label})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "buying_power.png", dpi=90)
    plt.close(fig)
    if record.stress:
        # The worst-scenario loss beside net liq (RULEBOOK "Stress"): a short-premium book's gap risk, day by day.
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
        stress_days = np.array([d for d, _, _, _ in record.stress], dtype="datetime64[D]")
        top.plot(stress_days, [n for _, n, _, _ in record.stress])
        top.set_title(f"Net liq ({label})")
        loss = [100 * r[0].loss / n if r and n > 0 else 0.0 for _, n, r, _ in record.stress]
        bottom.fill_between(stress_days, loss, 0, color="tab:purple", alpha=0.4, label="worst scenario")
        bottom.set_title("Worst stress-scenario loss at each close, % of net liq")
        fig.tight_layout()
        fig.savefig(out / "stress.png", dpi=90)
        plt.close(fig)
    by: dict[str, float] = {}
    for t in record.trades:
        by[t.strategy] = by.get(t.strategy, 0.0) + t.pnl
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar(list(by), list(by.values()))
    ax.set_title(f"P&L by strategy before fees ({label})")
    fig.tight_layout()
    fig.savefig(out / "pnl_by_strategy.png", dpi=90)
    plt.close(fig)
    _cumulative_by_strategy(out, record, label)


class StrategyClose(Close, Protocol):
    """A closed trade and its strategy, as core.pipeline.ClosedTrade has them."""

    @property
    def strategy(self) -> str: ...


def cumulative_pnl_by_strategy(
    trades: Sequence[StrategyClose], first: date, last: date
) -> dict[str, tuple[list[date], list[float]]]:
    """Per strategy, its closed-trade P&L added up: (days, totals) from 0 on the `first` session, a point at
    each close (New York date), held flat to the `last` session; before fees (a trade's record carries none)."""
    lines: dict[str, tuple[list[date], list[float]]] = {}
    for t in sorted(trades, key=lambda t: t.time):
        days, totals = lines.setdefault(t.strategy, ([first], [0.0]))
        days.append(t.time.astimezone(NEW_YORK).date())
        totals.append(totals[-1] + t.pnl)
    for days, totals in lines.values():
        days.append(max(last, days[-1]))  # a strategy that stopped closing trades shows it as a flat line
        totals.append(totals[-1])
    return dict(sorted(lines.items()))


def _cumulative_by_strategy(out: Path, record: RunRecord, label: str) -> None:
    """pnl_cumulative_by_strategy.png: one step line per strategy (`cumulative_pnl_by_strategy`)."""
    import matplotlib.pyplot as plt  # _charts chose the Agg backend
    import numpy as np

    lines = cumulative_pnl_by_strategy(record.trades, record.equity[0][0], record.equity[-1][0])
    fig, ax = plt.subplots(figsize=(10, 4))
    for name, (days, totals) in lines.items():
        ax.step(np.array(days, dtype="datetime64[D]"), totals, where="post", label=name)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_title(f"Cumulative closed-trade P&L by strategy before fees, USD ({label})")
    if lines:
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "pnl_cumulative_by_strategy.png", dpi=90)
    plt.close(fig)
