"""A part (an IPMCC's weekly call) filled in pieces, and valued before it fills (core/book).

The book keeps a structure per unit: a LEAP and its call, each with ratio 1. Three LEAPs selling three
calls is three such units; when the broker fills two calls first, two units are covered and one is not.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from core.book import OpenBook, part_of, with_part
from core.book_view import BookView
from core.model import Contract, Found, IntentAction, OrderIntent, Structure
from core.orders import Filled
from core.pipeline import StepResult
from core.valuation import value_structure
from risk.manager import RiskManager
from tests.fakes.market import opening
from tests.risk.kit import S, gld_strangle, qqq_ipmcc, snap
from tests.test_pipeline import ACCOUNT, wire

MARKET = snap()


def leap_and_call(quantity: int, calls: int) -> tuple[Structure, Structure]:
    """`quantity` QQQ 2025-01-17 330 LEAPs held (id c55) and a sale of `calls` 2024-01-12 400 calls against them."""
    ipmcc = qqq_ipmcc(MARKET, "c55")
    leap = dataclasses.replace(
        ipmcc, legs=ipmcc.legs[:1], quantity=quantity, entry_price=75.0, leg_entry_prices=(75.0,)
    )
    call = dataclasses.replace(
        ipmcc,
        id="c55:call-20240112",
        legs=ipmcc.legs[1:],
        parent="c55",
        quantity=calls,
        entry_price=-1.25,
        leg_entry_prices=(1.25,),
    )
    return leap, call


def held(book: OpenBook) -> Counter[Contract]:
    """Contracts the book says the account holds (what reconciliation compares with the broker)."""
    out: Counter[Contract] = Counter()
    for st in book.open_structures():
        for leg in st.legs:
            out[leg.contract] += leg.ratio * st.quantity
    return out


def test_a_call_sale_filled_two_then_one_covers_two_units_then_the_third() -> None:
    leap, call = leap_and_call(3, 3)
    book = OpenBook()
    book.add_units(leap, 3, 75.0)
    book.add_units(call, 2, -1.20)  # two of three calls filled
    covered, rest = book.structures["c55.1"], book.structures["c55"]
    assert (covered.quantity, [leg.ratio for leg in covered.legs]) == (2, [1, -1])
    assert (rest.quantity, [leg.ratio for leg in rest.legs]) == (1, [1])
    assert covered.entry_price == pytest.approx(75.0 - 1.20) and covered.leg_entry_prices == pytest.approx((75.0, 1.20))
    assert held(book) == Counter({leap.legs[0].contract: 3, call.legs[0].contract: -2})
    book.add_units(call, 1, -1.10)  # the last one: the rest of the LEAPs is covered too
    last = book.structures["c55"]
    assert (last.quantity, [leg.ratio for leg in last.legs]) == (1, [1, -1])
    assert last.entry_price == pytest.approx(75.0 - 1.10) and last.leg_entry_prices == pytest.approx((75.0, 1.10))
    assert held(book) == Counter({leap.legs[0].contract: 3, call.legs[0].contract: -3})
    assert sorted(book.structures) == ["c55", "c55.1"]


def test_a_whole_sale_merges_as_before_and_a_second_piece_takes_a_new_id() -> None:
    leap, call = leap_and_call(4, 4)
    whole = OpenBook()
    whole.add_units(leap, 4, 75.0)
    merged = whole.add_units(call, 4, -1.20)
    assert sorted(whole.structures) == ["c55"] and (merged.quantity, [leg.ratio for leg in merged.legs]) == (4, [1, -1])
    pieces = OpenBook()
    pieces.add_units(leap, 4, 75.0)
    pieces.add_units(call, 1, -1.20)
    pieces.add_units(call, 1, -1.20)
    assert {k: v.quantity for k, v in pieces.structures.items()} == {"c55": 2, "c55.1": 1, "c55.2": 1}
    assert held(pieces) == Counter({leap.legs[0].contract: 4, call.legs[0].contract: -2})


@pytest.mark.parametrize(
    ("leaps", "calls", "quantity", "ratios"), [(3, 2, 1, [3, -2]), (2, 2, 2, [1, -1]), (2, 4, 2, [1, -2])]
)
def test_a_part_is_valued_with_its_parent_in_whole_contracts(
    leaps: int, calls: int, quantity: int, ratios: list[int]
) -> None:
    """Two calls against three LEAPs is one structure of 3 LEAPs and 2 calls (not 3 and 3, nor a leg of 0)."""
    leap, call = leap_and_call(leaps, calls)
    merged = with_part(leap, call)
    assert (merged.quantity, [leg.ratio for leg in merged.legs]) == (quantity, ratios)
    assert isinstance(value_structure(merged, MARKET, S), Found)


def test_more_of_a_part_than_its_parent_covers_is_held_alone_not_guessed() -> None:
    """Three calls against two LEAPs are not whole units of either: the calls stay a structure of their own."""
    leap, call = leap_and_call(2, 3)
    book = OpenBook()
    book.add_units(leap, 2, 75.0)
    book.add_units(call, 3, -1.20)
    assert {k: v.quantity for k, v in book.structures.items()} == {"c55": 2, "c55:call-20240112": 3}
    assert held(book) == Counter({leap.legs[0].contract: 2, call.legs[0].contract: -3})


def test_the_gates_value_two_calls_against_three_leaps_as_covered() -> None:
    """The risk manager and the safety gate both value a part with its parent: two covered calls add no
    buying power and no risk (before, a leg of ratio round(2/3) = 1 valued three calls, and one call against
    three LEAPs raised 'a leg's ratio cannot be zero')."""
    leap, call = leap_and_call(3, 2)
    held_book = BookView.build([leap], MARKET, S)
    valued = RiskManager(S)._value_candidate(opening(call), held_book, MARKET)
    assert isinstance(valued, Found) and valued.value.bp == 0.0
    one = dataclasses.replace(call, quantity=1)
    assert isinstance(RiskManager(S)._value_candidate(opening(one), held_book, MARKET), Found)


def test_a_part_closed_one_unit_at_a_time_leaves_what_the_broker_holds() -> None:
    """A two-lot GLD strangle's tested call side is bought back as a part; the broker fills one of the two.
    The book must still hold the other short call (which keeps its stop and its management), not drop both."""
    market = snap()
    strangle = dataclasses.replace(gld_strangle(market, "g01"), quantity=2)
    put, call = (leg.contract for leg in strangle.legs)
    book = OpenBook()
    book.add_units(strangle, 2, strangle.entry_price)
    side = part_of(book.structures["g01"], [1], "call")
    book.remove_part(side, 1)
    assert book.positions() == {put: -2, call: -1}
    assert {k: (v.quantity, [leg.contract for leg in v.legs]) for k, v in book.structures.items()} == {
        "g01": (1, [put, call]),  # the unit still short its call keeps the id the rest of the close works on
        "g01.1": (1, [put]),
    }
    book.remove_part(side, 1)
    assert book.positions() == {put: -2}
    book.remove_part(side, 2)  # a fill for a call the book no longer holds changes nothing
    assert book.positions() == {put: -2}


def test_the_pipeline_takes_out_only_the_units_the_broker_filled() -> None:
    """The same close through the pipeline's fill handling: one unit of the call side reported filled."""
    market = snap()
    pipeline = wire()
    strangle = dataclasses.replace(gld_strangle(market, "g01"), quantity=2)
    put, call = (leg.contract for leg in strangle.legs)
    pipeline.book.add_units(strangle, 2, strangle.entry_price)
    side = part_of(pipeline.book.structures["g01"], [1], "call")
    pipeline.sent[(side.id, -1)] = OrderIntent(IntentAction.CLOSE, side, 2, 0.5, "strangles: tested call side")
    result = StepResult()
    pipeline._filled(Filled(side.id, -1, 1, 0.5), ACCOUNT, market.time, result)
    assert pipeline.book.positions() == {put: -2, call: -1}
    assert [t.units for t in result.closed] == [1]
