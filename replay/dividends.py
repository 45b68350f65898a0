"""Ex-dividend dates and amounts for the replay (RULEBOOK "Assignment": the event source the assignment check
and the risk manager's events rule read).

From LEAN's factor files (`equity/usa/factor_files/<ticker>.csv`: `yyyymmdd,price factor,split factor,
reference price`), as LEAN reads them (CorporateFactorRow.GetDividend, Dividend.ComputeDistribution in
QuantConnect/Lean): where a row's price factor differs from the next row's, the dividend goes ex on the
session after the row's date, and amounts to round(reference × (1 − factor / next factor), 2), the
reference being that row's close. A file lists every dividend to its last row, so it vouches for the
dates up to its last ex-date (`dividends_through`).

- A LEAN data folder (`--source lean`): its factor files, amounts as paid.
- The modelled market: the real ex-dates of SPY, QQQ and IWM, kept in `dividends.csv` beside this module
  (written from the LEAN sample data's factor files by `python -m replay.dividends --write`; a test checks
  it against them when they are present), each amount scaled by the modelled close over the real one on the
  session before (the same yield on the modelled price: the modelled QQQ is the NASDAQ Composite / 41, not
  QQQ's own price).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from core.calendar import OutOfCalendarRangeError
from core.ports import Calendar as SessionCalendar
from core.ports import EventKind
from replay.lean_files import ymd
from risk.events import CsvEventCalendar

TABLE = Path(__file__).with_name("dividends.csv")
TABLE_TICKERS = ("SPY", "QQQ", "IWM")
HEADER = "root,ex_date,amount,reference_close"


@dataclass(frozen=True, slots=True)
class Dividend:
    root: str
    ex_date: date
    amount: float  # per share, as paid
    reference_close: float  # the close of the session before the ex-date


class FactorFileError(ValueError):
    pass


def factor_file_dividends(root: str, text: str, calendar: SessionCalendar) -> list[Dividend]:
    """The dividends in one LEAN factor file (module docstring), oldest first."""
    rows: list[tuple[date, float, float]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            day = ymd(parts[0])
            rows.append((day, float(parts[1]), float(parts[3])))
        except (ValueError, IndexError):
            raise FactorFileError(
                f"{root} factor file line {number}: '{line}' is not date,factor,split,price"
            ) from None
    out = []
    for (day, factor, reference), (_, following, _) in itertools.pairwise(rows):
        if factor != following and following != 0:
            amount = round(reference * (1.0 - factor / following), 2)
            try:
                ex_date = calendar.next_session(day)
            except OutOfCalendarRangeError:
                continue  # before the sessions core/calendar knows (2005): no replay can reach it
            if amount > 0:
                out.append(Dividend(root.upper(), ex_date, amount, reference))
    return out


def calendar_of(
    dividends: Iterable[Dividend], source: str, scale: Callable[[Dividend], float] | None = None
) -> CsvEventCalendar:
    """An EventCalendar of these dividends, each root covered through its last ex-date; `scale` (the
    modelled market's price over the real one) multiplies each amount."""
    by_root: dict[str, list[tuple[date, EventKind]]] = {}
    amounts: dict[tuple[str, date], float] = {}
    through: dict[str, date] = {}
    for d in dividends:
        by_root.setdefault(d.root, []).append((d.ex_date, EventKind.EX_DIVIDEND))
        amounts[(d.root, d.ex_date)] = round(d.amount * (scale(d) if scale else 1.0), 4)
        through[d.root] = max(d.ex_date, through.get(d.root, d.ex_date))
    return CsvEventCalendar({r: tuple(sorted(v)) for r, v in by_root.items()}, amounts, through, source)


def folder_dividends(folder: Path, calendar: SessionCalendar) -> list[Dividend]:
    """Every dividend in a LEAN data folder's factor files."""
    out: list[Dividend] = []
    for path in sorted((folder / "equity" / "usa" / "factor_files").glob("*.csv")):
        out.extend(factor_file_dividends(path.stem, path.read_text(), calendar))
    return out


def read_table(text: str) -> list[Dividend]:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not lines or lines[0].strip() != HEADER:
        raise FactorFileError(f"{TABLE.name}: the first line must be '{HEADER}'")
    out = []
    for line in lines[1:]:
        root, day, amount, reference = line.split(",")
        out.append(Dividend(root, date.fromisoformat(day), float(amount), float(reference)))
    return out


def table_text(dividends: Iterable[Dividend]) -> str:
    lines = [
        "# Ex-dividend dates and amounts of SPY, QQQ and IWM from the LEAN sample data's factor files",
        "# (QuantConnect/Lean data, equity/usa/factor_files), read as LEAN reads them: replay/dividends.py.",
        HEADER,
    ]
    lines += [f"{d.root},{d.ex_date.isoformat()},{d.amount:.2f},{d.reference_close:g}" for d in dividends]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m replay.dividends --write [--data FOLDER]`: rewrite dividends.csv from a LEAN data folder."""
    from core.calendar import Calendars

    parser = argparse.ArgumentParser(prog="python -m replay.dividends", description=main.__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/lean-data"))
    parser.add_argument("--write", action="store_true", help=f"write {TABLE}")
    args = parser.parse_args(argv)
    found = [d for d in folder_dividends(args.data, Calendars().equity) if d.root in TABLE_TICKERS]
    if not found:
        print(f"{args.data}: no factor files for {', '.join(TABLE_TICKERS)}", file=sys.stderr)
        return 2
    text = table_text(sorted(found, key=lambda d: (d.root, d.ex_date)))
    if args.write:
        TABLE.write_text(text)
        print(f"{TABLE}: {len(found)} dividends")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
