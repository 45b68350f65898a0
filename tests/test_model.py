"""core/model: the columnar Chain, its flags and selection helpers, and the aware-time rule."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.model import (
    Chain,
    ChainRow,
    Contract,
    ContractKind,
    Decision,
    Found,
    NotFound,
    QuoteFlag,
    Right,
    delivery,
    equity_contract,
    future_contract,
    option_contract,
)
from core.products import order_tick

NY = ZoneInfo("America/New_York")
NOW = datetime(2024, 1, 5, 10, 30, tzinfo=NY)
TODAY = NOW.date()
E1, E2, E3 = date(2024, 1, 5), date(2024, 4, 19), date(2024, 5, 17)


def chain() -> Chain:
    rows = []
    for expiry in (E1, E2, E3):
        for strike in range(4600, 4900, 10):
            for right in Right:
                # A crude but monotone delta: calls fall, puts rise in |delta| with the strike.
                d = float(np.clip(0.5 - (strike - 4750) / 300, 0.01, 0.99))
                delta = d if right is Right.CALL else d - 1.0
                rows.append(ChainRow(expiry, float(strike), right, 1.0, 1.2, delta=delta))
    # Bad quotes, kept and flagged: NaN bid, zero ask, crossed.
    rows.append(ChainRow(E2, 4725.0, Right.PUT, float("nan"), 1.0, delta=-0.4))
    rows.append(ChainRow(E2, 4735.0, Right.PUT, 0.0, 0.0, delta=-0.42))
    rows.append(ChainRow(E2, 4745.0, Right.PUT, 2.0, 1.5, delta=-0.44))
    return Chain.from_rows("SPX", 4750.0, NOW, rows)


def test_bad_quotes_are_kept_and_flagged() -> None:
    c = chain()
    assert len(c) == 3 * 30 * 2 + 3
    assert c.flag_counts() == {"NOT_FINITE": 1, "NO_ASK": 1, "CROSSED": 1}
    assert int(np.count_nonzero(~c.usable)) == 3
    assert c.flags[-1] == QuoteFlag.CROSSED


def test_nearest_expiry_in_a_window_or_a_reason() -> None:
    c = chain()
    # E1 is 0 DTE, E2 105, E3 133: 133 is nearer 120 than 105 is, and both lie in 100-140.
    assert c.nearest_expiry(TODAY, 120, 100, 140) == Found(E3)
    assert c.nearest_expiry(TODAY, 120, 100, 130) == Found(E2)
    assert c.nearest_expiry(TODAY, 0, 0, 0) == Found(E1)
    miss = c.nearest_expiry(TODAY, 45, 30, 60)
    assert isinstance(miss, NotFound) and "no expiry within 30-60 DTE (nearest 0)" in miss.reason


def test_closest_delta_within_a_band_skips_flagged_rows() -> None:
    c = chain()
    found = c.closest_delta(E2, Right.PUT, 0.40, 0.35, 0.45)
    assert isinstance(found, Found)
    assert c.usable[found.value] and c.expiry_date(found.value) == E2
    assert abs(abs(c.delta[found.value]) - 0.40) < 0.02
    miss = c.closest_delta(E2, Right.PUT, 0.995, 0.995, 1.0)
    assert isinstance(miss, NotFound) and "no |delta| within" in miss.reason


def test_zero_deltas_from_warm_up_never_qualify() -> None:
    rows = [
        ChainRow(E2, 4700.0, Right.PUT, 1.0, 1.1, delta=0.0),
        ChainRow(E2, 4650.0, Right.PUT, 0.5, 0.6, delta=0.0),
    ]
    miss = Chain.from_rows("SPX", 4750.0, NOW, rows).closest_delta(E2, Right.PUT, 0.0, 0.0, 0.3)
    assert isinstance(miss, NotFound) and "no usable quotes with a delta" in miss.reason


def test_strikes_at_or_beyond_and_wings() -> None:
    c = chain()
    up = c.strike_at_or_beyond(E2, Right.CALL, 4781.0, upward=True)
    down = c.strike_at_or_beyond(E2, Right.PUT, 4781.0, upward=False)
    assert isinstance(up, Found) and c.strike[up.value] == 4790.0
    assert isinstance(down, Found) and c.strike[down.value] == 4780.0
    put_wing = c.wing(E2, Right.PUT, 4700.0, 25.0)
    call_wing = c.wing(E2, Right.CALL, 4800.0, 25.0)
    assert isinstance(put_wing, Found) and c.strike[put_wing.value] == 4670.0
    assert isinstance(call_wing, Found) and c.strike[call_wing.value] == 4830.0
    miss = c.wing(E2, Right.CALL, 4880.0, 50.0)
    assert isinstance(miss, NotFound) and "no usable strike at or above 4930" in miss.reason


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Chain.from_rows("SPX", 1.0, datetime(2024, 1, 5, 10, 30), [])  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="rule name and a reason"):
        Decision(NOW, "", False, "")


def test_option_contracts_need_their_terms() -> None:
    with pytest.raises(ValueError, match="right, strike and expiry"):
        Contract("SPXW", "SPX", ContractKind.OPTION, 100.0)
    spxw = Contract("SPXW", "SPX", ContractKind.OPTION, 100.0, "CBOE", Right.PUT, 4700.0, E1)
    assert {spxw: 1}[Contract("SPXW", "SPX", ContractKind.OPTION, 100.0, "CBOE", Right.PUT, 4700.0, E1)] == 1


def test_one_quote_is_judged_by_the_same_rules_as_a_chain() -> None:
    import math

    import numpy as np

    from core.model import QuoteFlag, quote_flags, quote_is_usable

    cases = [(1.0, 1.1), (0.0, 0.05), (1.2, 1.1), (1.0, 0.0), (-0.1, 0.5), (math.nan, 1.0), (1.0, math.inf)]
    flags = quote_flags(np.array([b for b, _ in cases]), np.array([a for _, a in cases]))
    assert [quote_is_usable(b, a) for b, a in cases] == [f == QuoteFlag.NONE for f in flags]
    assert [quote_is_usable(b, a) for b, a in cases] == [True, True, False, False, False, False, False]


@pytest.mark.parametrize(
    ("right", "position", "shares"),
    [(Right.PUT, -1, +100), (Right.PUT, +2, -200), (Right.CALL, -1, -100), (Right.CALL, +1, +100)],
)
def test_what_an_exercise_or_assignment_delivers(right: Right, position: int, shares: int) -> None:
    option = option_contract("SPY", "SPY", right, 450.0, date(2024, 1, 19))
    assert delivery(option, position) == (equity_contract("SPY"), shares)


def test_future_options_deliver_one_future_and_index_options_nothing() -> None:
    es_put = option_contract("ES", "ES", Right.PUT, 4500.0, date(2024, 3, 15))
    assert delivery(es_put, -2, date(2024, 3, 15)) == (future_contract("ES", date(2024, 3, 15)), +2)
    assert future_contract("ES", None).multiplier == 50.0
    assert delivery(option_contract("SPXW", "SPX", Right.PUT, 4500.0, date(2024, 3, 15)), -1) is None


@pytest.mark.parametrize(
    ("root", "price", "legs", "tick"),
    [
        ("SPXW", 2.0, 1, 0.05),
        ("SPXW", 4.5, 1, 0.10),  # one option above 3.00
        ("SPXW", 4.5, 4, 0.05),  # a condor's package price: 0.05 at any price (Cboe SPX specification)
        ("SPY", 4.5, 2, 0.01),
        ("ES", 12.0, 1, 0.25),
        ("ES", 12.0, 3, 0.05),  # CME spreads at the reduced tick
        ("GLD", 4.0, 1, 0.05),
        ("GLD", 4.0, 2, 0.01),
    ],
)
def test_order_ticks_single_options_and_combos(root: str, price: float, legs: int, tick: float) -> None:
    assert order_tick(root, price, legs) == tick
