"""Earnings and ex-dividend windows (RULEBOOK "Earnings and events"), for single-stock underlyings only
(ETFs, indices and futures are exempt): no entry whose life spans an earnings date, nor within
`earnings_days_before` trading days before one or `earnings_days_after` after it. An ex-dividend date within
the life of a structure with a short call refuses it too (early assignment; safety/assignment watches the
open ones). A single stock with no event source configured is refused: not knowing is not "no earnings".

`CsvEventCalendar` is the offline EventCalendar: text with a header `root,date,kind` (kind `earnings` or
`ex_dividend`, date YYYY-MM-DD) and an optional fourth column `amount` (the dividend per share, on
ex_dividend lines), parsed here from text the shell reads; a malformed line is an error that names the line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from core.model import ContractKind, Right
from core.ports import EventKind
from core.products import is_single_stock

from risk.verdict import Candidate, Refuse, ReviewContext, Verdict


class EventFileError(ValueError):
    pass


@dataclass(frozen=True)
class CsvEventCalendar:
    by_root: dict[str, tuple[tuple[date, EventKind], ...]] = field(default_factory=dict)
    dividends: dict[tuple[str, date], float] = field(default_factory=dict)

    def events(self, root: str, start: date, end: date) -> Sequence[tuple[date, EventKind]]:
        return [(d, k) for d, k in self.by_root.get(root.upper(), ()) if start <= d <= end]

    def dividend(self, root: str, ex_date: date) -> float | None:
        return self.dividends.get((root.upper(), ex_date))


def parse_event_csv(text: str, source: str = "events file") -> CsvEventCalendar:
    lines = [line.strip() for line in text.splitlines()]
    header = [c.strip().lower() for c in lines[0].split(",")] if lines else []
    if header not in (["root", "date", "kind"], ["root", "date", "kind", "amount"]):
        raise EventFileError(f"{source}: the first line must be the header 'root,date,kind' or 'root,date,kind,amount'")
    found: dict[str, list[tuple[date, EventKind]]] = defaultdict(list)
    dividends: dict[tuple[str, date], float] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and len(header) == 4:
            parts.append("")
        if len(parts) != len(header) or not parts[0]:
            raise EventFileError(f"{source} line {number}: expected {','.join(header)}, got '{line}'")
        try:
            day = date.fromisoformat(parts[1])
        except ValueError:
            raise EventFileError(f"{source} line {number}: '{parts[1]}' is not a date (YYYY-MM-DD)") from None
        try:
            kind = EventKind(parts[2].lower())
        except ValueError:
            kinds = ", ".join(k.value for k in EventKind)
            raise EventFileError(f"{source} line {number}: kind '{parts[2]}' is not one of {kinds}") from None
        found[parts[0].upper()].append((day, kind))
        if len(parts) == 4 and parts[3]:
            try:
                amount = float(parts[3])
            except ValueError:
                raise EventFileError(f"{source} line {number}: amount '{parts[3]}' is not a number") from None
            if kind is not EventKind.EX_DIVIDEND or not amount >= 0:
                raise EventFileError(
                    f"{source} line {number}: an amount belongs to an ex_dividend line, as a positive number"
                )
            dividends[(parts[0].upper(), day)] = amount
    return CsvEventCalendar({root: tuple(sorted(v)) for root, v in found.items()}, dividends)


def check(c: Candidate, ctx: ReviewContext) -> Verdict:
    s = ctx.settings
    structure = c.intent.structure
    root = structure.legs[0].contract.underlying
    if not is_single_stock(root):
        return None
    if ctx.events is None or ctx.calendar is None:
        return Refuse("events", f"{root} is a single stock and no earnings calendar is configured")
    expiries = [leg.contract.expiry for leg in structure.legs if leg.contract.expiry is not None]
    last = max(expiries) if expiries else ctx.today
    window_start = ctx.calendar.add_sessions(ctx.today, -s.earnings_days_after)
    window_end = max(last, ctx.calendar.add_sessions(ctx.today, s.earnings_days_before))
    short_call = any(
        leg.ratio < 0 and leg.contract.kind is ContractKind.OPTION and leg.contract.right is Right.CALL
        for leg in structure.legs
    )
    for day, kind in ctx.events.events(root, window_start, window_end):
        if kind is EventKind.EARNINGS:
            if ctx.today <= day <= last:
                return Refuse("events", f"{root} reports earnings on {day}, within the position's life (to {last})")
            if day < ctx.today:
                return Refuse(
                    "events",
                    f"{root} reported earnings on {day}: within {s.earnings_days_after} trading day(s) after",
                )
            return Refuse("events", f"{root} reports earnings on {day}: within {s.earnings_days_before} trading days")
        if kind is EventKind.EX_DIVIDEND and short_call and ctx.today <= day <= last:
            return Refuse("events", f"{root} goes ex-dividend on {day} while a short call is open (early assignment)")
    return None
