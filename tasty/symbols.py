"""TastyTrade symbols ⇄ core contracts.

- Equity and index options use OCC symbols: the root padded to 6 characters, YYMMDD, C or P, the strike
  times 1000 in 8 digits (`SPXW  261204P05800000`). SPX/SPXW legs are `Equity Option` at TastyTrade.
- Futures: `/ESZ6` (root, CME month code, last digit of the year).
- Future options: `./ESZ6 EW4Z6 261204P5800` (the future, the option product code, YYMMDD, C or P, the
  strike as written).
- Stocks and ETFs: the ticker.
A symbol the core has no product for comes back as None: the caller reports it, never guesses.
"""

from __future__ import annotations

import re
from datetime import date

from core.calendar import QUARTERLY_MONTHS, Calendars
from core.model import Contract, ContractKind, Right, equity_contract, future_contract, option_contract
from core.products import AssetKind, UnknownProductError, option_underlying, product

MONTH_CODES = "FGHJKMNQUVXZ"  # CME: January F ... December Z
OCC = re.compile(r"^(?P<root>[A-Z0-9.]{1,6}) *(?P<date>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")
FUTURE = re.compile(r"^/(?P<root>[A-Z0-9]{1,4}?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{1,2})$")
FUTURE_OPTION = re.compile(
    r"^\./(?P<future>[A-Z0-9]+) +(?P<code>[A-Z0-9]+) +(?P<date>\d{6})(?P<right>[CP])(?P<strike>[\d.]+)$"
)


def _yymmdd(text: str) -> date:
    return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))


def _option(root: str, underlying: str, right: str, strike: float, expiry: date) -> Contract | None:
    try:
        return option_contract(root, underlying, Right.CALL if right == "C" else Right.PUT, strike, expiry)
    except UnknownProductError:
        return None


def future_expiry(root: str, month_code: str, year_digits: str, calendars: Calendars, today: date) -> date | None:
    """The last trade date of a quarterly equity-index future (ES, MES, NQ, ...); None for other cycles."""
    month = MONTH_CODES.index(month_code) + 1
    decade = today.year - today.year % 10
    year = decade + int(year_digits) if len(year_digits) == 1 else 2000 + int(year_digits)
    if year < today.year - 1:  # a one-digit year that wrapped into the next decade
        year += 10
    if month not in QUARTERLY_MONTHS or root not in ("ES", "MES", "NQ", "MNQ", "RTY", "M2K", "YM", "MYM"):
        return None
    return calendars.es_quarterly_expiry(year, month)


def contract_of(symbol: str, calendars: Calendars, today: date) -> Contract | None:
    """The core contract of a TastyTrade symbol, or None (module docstring)."""
    text = symbol.strip()
    if match := OCC.match(text):
        root = match["root"].strip()
        return _option(
            root, option_underlying(root), match["right"], int(match["strike"]) / 1000, _yymmdd(match["date"])
        )
    if match := FUTURE_OPTION.match(text):
        future = FUTURE.match("/" + match["future"])
        if future is None:
            return None
        root = future["root"]
        return _option(root, root, match["right"], float(match["strike"]), _yymmdd(match["date"]))
    if match := FUTURE.match(text):
        root = match["root"]
        try:
            product(root)
        except UnknownProductError:
            return None
        last = future_expiry(root, match["month"], match["year"], calendars, today)
        if last is None:
            return None
        return future_contract(root, last)
    try:
        facts = product(text)
    except UnknownProductError:
        return None
    if facts.kind is AssetKind.EQUITY:
        return equity_contract(text)
    return None


def occ_symbol(contract: Contract) -> str:
    """The OCC symbol of an equity or index option (what TastyTrade's order legs take)."""
    if contract.kind is not ContractKind.OPTION or contract.expiry is None or contract.strike is None:
        raise ValueError(f"{contract.root}: not an option")
    right = "C" if contract.right is Right.CALL else "P"
    return f"{contract.root:<6}{contract.expiry:%y%m%d}{right}{round(contract.strike * 1000):08d}"
