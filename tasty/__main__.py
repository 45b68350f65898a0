"""`python -m tasty`: the operations tool beside a live LEAN deployment (README, "Operating it live").

Credentials come from TT_SECRET and TT_REFRESH; every line printed goes through the redactor first.
Exit codes: 0 fine, 1 a difference found (reconcile, check, metrics with unknown symbols), 2 an error
the operator can fix (said in one line: missing credentials, an expired refresh token, the network, a
bad argument, an unreadable state file).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx2
from httpx2.websockets import HTTPXWSException, WebSocketDisconnect
from tastytrade import Session
from tastytrade.utils import TastytradeError

from core.settings import Settings, SettingsError
from tasty import commands, streams
from tasty.prices import PriceError, Side, parse_price
from tasty.session import Redactor, ToolError, credentials_from, find_error, open_session, redacting_logs
from tasty.stress import stress_account
from tasty.structures import SpecError, parse

NEW_YORK = ZoneInfo("America/New_York")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tasty", description="TastyTrade operations beside the algorithm")
    p.add_argument("--sandbox", action="store_true", help="TastyTrade's certification environment")
    p.add_argument("--account", help="account number (needed when the login has several)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("status", help="accounts, balances, sessions, holidays, the algorithm's trading state")
    s.add_argument("--state", type=Path, help="the algorithm's saved state (trading_state from the ObjectStore)")
    sub.add_parser("positions", help="the broker's positions, read as core contracts")
    r = sub.add_parser("reconcile", help="the broker's positions against the saved state; exit 1 on a difference")
    r.add_argument("--state", type=Path, required=True)
    m = sub.add_parser("metrics", help="IV rank, IV percentile, next earnings and ex-dividend dates")
    m.add_argument("symbols", nargs="+")
    m.add_argument("--write-events", type=Path, help="write the risk manager's events CSV (root,date,kind)")
    c = sub.add_parser("check", help="dry-run a structure: the broker's BP effect and fees next to ours")
    c.add_argument("structure", help="e.g. 'ic SPXW 2026-12-04 5800/5830/6100/6130 x1'")
    price = c.add_mutually_exclusive_group(required=True)
    price.add_argument("--credit", help="net credit per structure, a positive amount (rounded to the tick)")
    price.add_argument("--debit", help="net debit per structure, a positive amount (rounded to the tick)")
    c.add_argument("--underlying", type=float, required=True, help="the underlying's price (for naked margin)")
    ch = sub.add_parser("chain", help="one expiry's quotes and Greeks from DXLink, checked as the algorithm would")
    ch.add_argument("root", help="option root, e.g. SPXW, SPY, QQQ")
    ch.add_argument("--expiry", type=date.fromisoformat, help="YYYY-MM-DD (default: the nearest)")
    ch.add_argument("--wait", type=float, default=10.0, help="seconds to wait for every quote (default 10)")
    ch.add_argument(
        "--strikes",
        type=int,
        default=streams.STRIKES,
        help=f"listed strikes each side of the money (default {streams.STRIKES})",
    )
    st = sub.add_parser("stress", help="the live book on RULEBOOK's stress grid; exit 1 beyond the alert level")
    st.add_argument("--state", type=Path, required=True, help="the algorithm's saved state (its structures)")
    st.add_argument("--wait", type=float, default=10.0, help="seconds to wait for live quotes (default 10)")
    st.add_argument("--config", type=Path, help="the project's config.json, for its parameters (default: RULEBOOK's)")
    w = sub.add_parser("watch", help="the account's order events; rejects are alerts; reconnects when dropped")
    w.add_argument("--events", type=int, help="stop after this many order events")
    w.add_argument("--seconds", type=float, help="stop after this many seconds")
    return p


def command(
    args: argparse.Namespace, today: date, say: Callable[[str], None], pause: Callable[[float], Awaitable[None]]
) -> Callable[[Session], Awaitable[commands.Outcome]]:
    if args.command == "status":
        return lambda s: commands.status(s, args.state, today)
    if args.command == "positions":
        return lambda s: commands.positions(s, args.account, today)
    if args.command == "reconcile":
        return lambda s: commands.reconcile_state(s, args.state, args.account, today)
    if args.command == "metrics":
        return lambda s: commands.metrics(s, args.symbols, args.write_events, today)
    if args.command == "chain":
        return lambda s: streams.chain(s, args.root, args.expiry, today, Settings(), args.wait, args.strikes)
    if args.command == "stress":
        settings = settings_from(args.config)
        return lambda s: stress_account(s, args.state, args.account, today, settings, args.wait)
    if args.command == "watch":
        return lambda s: streams.watch(s, args.account, args.events, args.seconds, say, pause)
    if args.credit is not None:
        price = parse_price("--credit", args.credit, Side.CREDIT)
    else:
        price = parse_price("--debit", args.debit, Side.DEBIT)
    spec = parse(args.structure)
    explicit = args.debit is not None
    return lambda s: commands.check(s, spec, price, args.underlying, args.account, Settings(), explicit)


def settings_from(path: Path | None) -> Settings:
    """The parameters of a project's config.json (as LEAN passes them), or the defaults; a wrong one is the
    same one-line refusal the algorithm gives."""
    if path is None:
        return Settings()
    try:
        parameters = json.loads(path.read_text())["parameters"]
    except (OSError, ValueError, KeyError) as err:
        raise ToolError(f"{path}: not a LEAN config.json with parameters ({err})") from None
    try:
        return Settings.from_parameters(parameters)
    except SettingsError as err:
        raise ToolError(f"{path}: " + "; ".join(err.problems)) from None


def _raised_in(err: BaseException) -> str:
    """The name of the function that raised `err` (the innermost frame of its traceback)."""
    frames = traceback.extract_tb(err.__traceback__)
    return frames[-1].name if frames else ""


def _tastytrade_error(err: TastytradeError) -> str:
    """Who said it: the API's error response (the SDK's utils.validate_response reads it and raises), the
    account streamer's refusal (streamer.py `AlertStreamer._reader`: 'Alert streamer error: ...'), or the
    SDK itself (its own checks: a DXLink message too long, data it could not map)."""
    text = " ".join(str(err).split())
    if _raised_in(err) == "validate_response" and not text.startswith("Couldn't parse response"):
        return f"TastyTrade said: {text}"
    if text.startswith("Alert streamer error: "):
        return f"the account streamer said: {text.removeprefix('Alert streamer error: ')}"
    return f"the tastytrade SDK: {text}"


def explain(err: BaseException) -> str | None:
    """One line for an error the operator can act on (looking inside exception groups), or None."""
    known = (ToolError, SpecError, PriceError, TastytradeError, httpx2.TransportError)
    found = find_error(err, known) or find_error(err, (WebSocketDisconnect, HTTPXWSException))
    if found is None:
        return None
    if isinstance(found, TastytradeError):
        return _tastytrade_error(found)
    if isinstance(found, httpx2.TransportError):
        return f"cannot reach TastyTrade ({type(found).__name__}: {found})"
    if isinstance(found, WebSocketDisconnect):
        return f"the DXLink stream dropped (WebSocketDisconnect {found.code}: {found.reason}); run it again"
    if isinstance(found, HTTPXWSException):
        return f"the DXLink stream dropped ({type(found).__name__}: {found}); run it again"
    return str(found)


def main(
    argv: list[str] | None = None,
    environ: dict[str, str] | None = None,
    today: date | None = None,
    pause: Callable[[float], Awaitable[None]] = anyio.sleep,
    **client_kwargs: Any,
) -> int:
    """`environ`, `today`, `pause` (watch's back-off) and `client_kwargs` (for the SDK's HTTP client) let
    the tests run it offline and without waiting."""
    args = parser().parse_args(argv)
    redact = Redactor()
    try:
        credentials = credentials_from(environ)
        redact.add(credentials.secret)
        redact.add(credentials.refresh)

        def say(line: str) -> None:  # what a long-running command prints as it goes
            print(redact(line), flush=True)

        run = command(args, today or datetime.now(NEW_YORK).date(), say, pause)

        async def go() -> commands.Outcome:
            async with open_session(credentials, args.sandbox, redact, **client_kwargs) as session:
                return await run(session)

        with redacting_logs(redact):
            outcome = anyio.run(go)
    except Exception as err:  # task groups (the SDK's, anyio's) wrap what went wrong in exception groups
        said = explain(err)
        if said is None:
            raise
        print(f"tasty: {redact(said)}", file=sys.stderr)
        return 2
    print(redact(outcome.text))
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())
