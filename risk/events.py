"""Earnings and ex-dividend windows (RULEBOOK "Earnings and events", "Assignment").

Earnings, for single-stock underlyings only (ETFs, indices and futures are exempt): no entry whose life
spans an earnings date, nor within `earnings_days_before` trading days before one or `earnings_days_after`
after it. An ex-dividend date within the life of a single stock's structure with a short call refuses it too.
A single stock with no event source configured is refused: not knowing is not "no earnings".

Ex-dividend dates, for every short American call on a dividend payer (a single stock, or an ETF whose
`dividend_yield` is above 0; index options are European and futures pay none): safety/assignment closes such
a call the session before an ex-date when its extrinsic value is below the dividend, and can only do so if it
knows the date. So a structure that sells such a call, or exists to sell them (`SELLS_CALLS_AGAINST`: the
IPMCC buys its LEAP to sell weekly calls against it), is refused unless the event source lists the
underlying's ex-dates through the next session.

`CsvEventCalendar` is the EventCalendar: text with a header `root,date,kind` (kind `earnings`,
`ex_dividend` or `dividends_through`, date YYYY-MM-DD) and an optional fourth column `amount` (the dividend
per share, on ex_dividend lines), parsed here from text the shell reads; a malformed line is an error that
names the line. A `dividends_through` line says the file lists every ex-dividend date of its root from the
first one it lists up to that date (the file's writer vouches for it); a root without one is not covered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from core.model import ContractKind, Right, Structure
from core.ports import EventKind
from core.products import AssetKind, ExerciseStyle, is_single_stock, product
from core.settings import Settings

from risk.verdict import Candidate, Refuse, ReviewContext, Verdict

THROUGH = "dividends_through"  # the events file's coverage line (module docstring)
SELLS_CALLS_AGAINST = frozenset({"ipmcc"})  # strategies whose every structure is bought to sell calls against


class EventFileError(ValueError):
    pass


@dataclass(frozen=True)
class CsvEventCalendar:
    by_root: dict[str, tuple[tuple[date, EventKind], ...]] = field(default_factory=dict)
    dividends: dict[tuple[str, date], float] = field(default_factory=dict)
    through: dict[str, date] = field(default_factory=dict)  # root → ex-dates listed up to this day
    source: str = "the events file"

    def events(self, root: str, start: date, end: date) -> Sequence[tuple[date, EventKind]]:
        return [(d, k) for d, k in self.by_root.get(root.upper(), ()) if start <= d <= end]

    def dividend(self, root: str, ex_date: date) -> float | None:
        return self.dividends.get((root.upper(), ex_date))

    def covers_dividends(self, root: str, day: date) -> bool:
        """From the first ex-date the file lists for `root` (a history that starts later says nothing of
        what came before) to its `dividends_through` date."""
        key = root.upper()
        last = self.through.get(key)
        if last is None or day > last:
            return False
        listed = [d for d, kind in self.by_root.get(key, ()) if kind is EventKind.EX_DIVIDEND]
        return not listed or day >= listed[0]


def parse_event_csv(text: str, source: str = "events file") -> CsvEventCalendar:
    lines = [line.strip() for line in text.splitlines()]
    header = [c.strip().lower() for c in lines[0].split(",")] if lines else []
    if header not in (["root", "date", "kind"], ["root", "date", "kind", "amount"]):
        raise EventFileError(f"{source}: the first line must be the header 'root,date,kind' or 'root,date,kind,amount'")
    found: dict[str, list[tuple[date, EventKind]]] = defaultdict(list)
    dividends: dict[tuple[str, date], float] = {}
    through: dict[str, date] = {}
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
        if parts[2].lower() == THROUGH:
            if len(parts) == 4 and parts[3]:
                raise EventFileError(f"{source} line {number}: a {THROUGH} line has no amount")
            through[parts[0].upper()] = max(day, through.get(parts[0].upper(), day))
            continue
        try:
            kind = EventKind(parts[2].lower())
        except ValueError:
            kinds = ", ".join([*(k.value for k in EventKind), THROUGH])
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
    return CsvEventCalendar({root: tuple(sorted(v)) for root, v in found.items()}, dividends, through, source)


def pays_dividends(root: str, settings: Settings) -> bool:
    """A single stock (any equity root not known as an ETF), or an ETF with a dividend yield above 0."""
    if is_single_stock(root):
        return True
    return product(root).kind is AssetKind.EQUITY and settings.dividend_yield.get(root.upper(), 0.0) > 0


def sells_calls_on(structure: Structure) -> str | None:
    """The underlying of the short American calls `structure` sells, or is bought to sell (an IPMCC's LEAP)."""
    for leg in structure.legs:
        c = leg.contract
        american_call = c.kind is ContractKind.OPTION and c.right is Right.CALL and c.style is ExerciseStyle.AMERICAN
        if american_call and (leg.ratio < 0 or structure.strategy in SELLS_CALLS_AGAINST):
            return c.underlying
    return None


def dividend_source(c: Candidate, ctx: ReviewContext) -> Verdict:
    """Refuse a short call on a dividend payer that the event source cannot watch (module docstring)."""
    structure = c.intent.structure
    root = sells_calls_on(structure)
    if root is None or not pays_dividends(root, ctx.settings):
        return None
    why = "early exercise the session before an ex-date could not be seen coming"
    if ctx.events is None:
        return Refuse("events", f"{root} pays dividends and no ex-dividend source is configured: no short call ({why})")
    day = ctx.calendar.next_session(ctx.today) if ctx.calendar is not None else ctx.today
    if not ctx.events.covers_dividends(root, day):
        return Refuse(
            "events",
            f"{root} pays dividends and {ctx.events.source} does not list its ex-dates through {day}: "
            f"no short call ({why})",
        )
    return None


def check(c: Candidate, ctx: ReviewContext) -> Verdict:
    s = ctx.settings
    structure = c.intent.structure
    root = structure.legs[0].contract.underlying
    refused = dividend_source(c, ctx)
    if refused is not None:
        return refused
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
