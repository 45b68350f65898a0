"""`python -m replay` (and `make backtest`): replay the whole decision pipeline over modelled sessions and
write a report folder. `--source lean` reads a folder in LEAN's format instead of the modelled market."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time as clock
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.settings import Settings, SettingsError
from replay.faults import Faults, FaultSpecError

if TYPE_CHECKING:
    from replay.engine import Market, ReplayEngine


DEFAULT_START = date(2007, 1, 3)  # 2008, August 2015, February 2018 and March 2020 inside the default run
DEFAULT_END = date(2021, 3, 31)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replay", description=__doc__)
    parser.add_argument("--source", choices=["modelled", "lean"], default="modelled", help="market data")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("LEAN_DATA_DIR", "data")),
        help="a folder in LEAN's format, for --source lean (default $LEAN_DATA_DIR, else ./data)",
    )
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START)
    parser.add_argument(
        "--end", type=date.fromisoformat, default=None, help=f"default {DEFAULT_END}, or --history-until's DATE"
    )
    parser.add_argument(
        "--history-until",
        type=date.fromisoformat,
        default=None,
        metavar="DATE",
        help="modelled market: read every daily history only up to DATE, as if the files ended there",
    )
    parser.add_argument("--capital", type=float, default=100_000.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a parameter")
    parser.add_argument("--faults", default="", metavar="SPEC", help="e.g. reject=0.05,partial=0.10,restart=daily")
    parser.add_argument(
        "--surface",
        default="",
        metavar="SPEC",
        help="modelled surface, e.g. atm_ratio=0.8,skew_put=10 (see SurfaceParameters; the defaults are the fit of"
        " python -m replay.calibrate on ../shared/lean-data)",
    )
    parser.add_argument(
        "--vix",
        type=float,
        default=None,
        metavar="LEVEL",
        help="--source lean: a stand-in VIX where the folder has none (e.g. the day's close; said in the report)",
    )
    parser.add_argument(
        "--spot-vol-correlation",
        type=float,
        default=None,
        metavar="RHO",
        help="modelled market: correlation of VIX's intraday noise with the index's (default -0.73, the daily"
        " SPY/VIX correlation of the shipped histories)",
    )
    parser.add_argument(
        "--no-operator",
        dest="operator",
        action="store_false",
        help="no person in the loop: a HALT, or entries stopped by a drawdown with nothing open, stay for good",
    )
    parser.add_argument("--out", type=Path, default=Path("reports/latest"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.end is None:
        args.end = args.history_until or DEFAULT_END
    try:
        settings = Settings.from_parameters(overrides(args.set, "--set"))
    except SettingsError as err:
        print(err, file=sys.stderr)
        return 2
    except ValueError as err:
        parser.error(str(err))
    try:
        faults = Faults.parse(args.faults)
    except FaultSpecError as err:
        print(err, file=sys.stderr)
        return 2
    from core.calendar import Calendars
    from replay.engine import ReplayEngine
    from replay.intraday import SPOT_VOL_CORRELATION
    from replay.lean_source import LeanSource
    from replay.modelled import ModelledMarket, SurfaceError, SurfaceParameters

    try:
        surface = SurfaceParameters.parse(args.surface)
    except SurfaceError as err:
        print(err, file=sys.stderr)
        return 2
    if args.end < args.start:
        print(f"--end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    market: Market
    if args.source == "modelled":
        rho = SPOT_VOL_CORRELATION if args.spot_vol_correlation is None else args.spot_vol_correlation
        try:
            modelled = ModelledMarket(Calendars(), args.seed, surface, args.history_until, rho)
        except SurfaceError as err:
            print(f"--spot-vol-correlation {rho:g}: {err}", file=sys.stderr)
            return 2
        market = modelled
    elif args.history_until is not None:
        print("--history-until cuts the modelled market's histories; --source lean reads its folder", file=sys.stderr)
        return 2
    if args.source == "lean":
        if not args.data.is_dir():
            print(
                f"--data {args.data}: no such folder (a folder in LEAN's format, e.g. ../shared/lean-data)",
                file=sys.stderr,
            )
            return 2
        if args.vix is not None and not 1.0 <= args.vix <= 150.0:
            print(f"--vix {args.vix:g}: a VIX level is between 1 and 150", file=sys.stderr)
            return 2
        market = LeanSource(args.data, Calendars(), vix_stand_in=args.vix)

    problem = window_problem(market, args.start, args.end)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    started = clock.perf_counter()
    engine = ReplayEngine(settings, args.start, args.end, args.capital, args.seed, faults, market, args.operator)
    engine.run(progress=not args.quiet and sys.stdout.isatty())
    summary = write_whole(engine, args.out)
    seconds = clock.perf_counter() - started
    print(
        f"{summary['source']} ({summary['prices']}) {summary['start']}..{summary['end']}:"
        f" net liq {summary['capital']:,.0f} → {summary['final_net_liq']:,.0f},"
        f" max drawdown {summary['max_drawdown_pct']}%"
    )
    for name, st in summary["strategies"].items():
        rate = "" if st["win_rate"] is None else format(st["win_rate"], ".0%")
        print(f"  {name:12s} trades {st['trades']:5d}  win rate {rate:>5s}  P&L {st['pnl']:12,.2f}")
    print(f"  invariants: {summary['invariants']}")
    print(f"  faults: {faults.describe()}; injected {summary['faults_injected']}; restarts {summary['restarts']}")
    print(f"report: {args.out} ({seconds:.0f} s)")
    return 0


def overrides(items: list[str], option: str) -> dict[str, str]:
    """`NAME=VALUE` items as LEAN passes parameters (strings), for `Settings.from_parameters` to check; a later
    item overrides an earlier one. ValueError names an item without `=`."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"{option} needs NAME=VALUE, got '{item}'")
        out[name] = value
    return out


def window_problem(market: Market, start: date, end: date) -> str | None:
    """Why a replay cannot run from `start` to `end` on this market, or None: the same words for every command
    that starts replays (this one, `python -m replay.sweep`)."""
    if end < start:
        return f"--end {end} is before --start {start}"
    span = getattr(market, "span", None)  # the modelled market's histories have ends; a LEAN folder has sessions
    if span is not None:
        first, last = span()
        if start < first or end > last:
            cut = getattr(market, "history_until", None)
            return f"--start {start} --end {end}: the modelled market's histories run {first} to {last}" + (
                f" (cut by --history-until {cut})" if cut else ""
            )
    if not market.sessions(start, end):
        return f"--start {start} --end {end}: the {market.source} data has no session in it"
    return None


def write_whole(engine: ReplayEngine, out: Path) -> dict[str, Any]:
    """The report folder, written beside `out` and renamed over it only once whole: a run that fails or is
    stopped while writing leaves the last good report where it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        summary = engine.write(partial)
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        if out.exists():
            out.rename(old)
        partial.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return summary


if __name__ == "__main__":
    sys.exit(main())
