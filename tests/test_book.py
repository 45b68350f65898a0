"""core/book: units in and out, parts merged into their parent, and a cost basis that matches the fills."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from core.book import OpenBook, filled_leg_prices
from core.model import Leg, Structure
from tests.fakes import market as m

NOW = m.at(date(2018, 1, 5))


def leap() -> Structure:
    [(call, ratio)] = m.ipmcc("QQQ", date(2019, 1, 18), 160.0, date(2018, 1, 19), 175.0)[:1]
    return Structure("c1", "ipmcc", (Leg(call, ratio),), 1, 19.44, NOW, leg_entry_prices=(19.44,))


def weekly() -> Structure:
    [(call, ratio)] = m.ipmcc("QQQ", date(2019, 1, 18), 160.0, date(2018, 1, 19), 175.0)[1:]
    return Structure("c1:w", "ipmcc", (Leg(call, ratio),), 1, -1.605, NOW, parent="c1", leg_entry_prices=(1.605,))


def test_leg_prices_add_up_to_the_fill_and_share_the_slippage() -> None:
    legs = tuple(Leg(c, r) for c, r in m.iron_condor("SPXW", date(2018, 1, 5), 2700.0, 10.0, 2780.0, 10.0))
    condor = Structure("ic", "zero_dte", legs, 1, -2.0, NOW, leg_entry_prices=(1.0, 2.0, 2.0, 1.0))
    ratios = [leg.ratio for leg in condor.legs]
    planned = sum(r * p for r, p in zip(ratios, condor.leg_entry_prices, strict=True))
    moved = filled_leg_prices(condor, planned + 0.30)  # filled 0.30 worse than planned
    assert sum(r * p for r, p in zip(ratios, moved, strict=True)) == pytest.approx(planned + 0.30)
    # Each leg's share of the slippage is in proportion to its size (|ratio × price|): twice the price, twice the share.
    shares = [r * (b - a) / abs(r * a) for r, a, b in zip(ratios, condor.leg_entry_prices, moved, strict=True)]
    assert shares == pytest.approx([shares[0]] * 4) and shares[0] == pytest.approx(0.30 / 6.0)
    assert filled_leg_prices(dataclasses.replace(condor, leg_entry_prices=()), 1.0) == ()


def test_the_basis_after_a_weekly_call_leaves_is_what_the_leap_cost() -> None:
    # The replay found it: the book's basis came from the planned mids (19.44) while the LEAP filled at 20.35,
    # so every closed weekly call moved the P&L away from the cash.
    book = OpenBook()
    book.add_units(leap(), 1, 20.35)
    merged = book.add_units(weekly(), 1, -1.53)
    assert merged.entry_price == pytest.approx(20.35 - 1.53) and merged.leg_entry_prices == pytest.approx((20.35, 1.53))
    left = book.remove_part(weekly(), 1)
    assert left is not None and left.entry_price == pytest.approx(20.35)


def test_adding_units_averages_the_leg_prices_too() -> None:
    book = OpenBook()
    book.add_units(leap(), 1, 20.0)
    both = book.add_units(leap(), 3, 22.0)
    assert both.quantity == 4 and both.entry_price == pytest.approx(21.5)
    assert both.leg_entry_prices == pytest.approx((21.5,))
