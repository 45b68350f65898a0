"""replay/dividends: ex-dividend dates and amounts from LEAN's factor files, as LEAN reads them, for both
replay markets (#16 item 1)."""

from __future__ import annotations

from datetime import date

import pytest

from core.calendar import Calendars
from replay.dividends import (
    TABLE,
    TABLE_TICKERS,
    Dividend,
    FactorFileError,
    factor_file_dividends,
    folder_dividends,
    read_table,
    table_text,
)
from replay.lean_source import LeanSource
from tests.leandata import require_lean_data

CAL = Calendars()
SPY_2018 = (
    "20171214,0.9375096,1,265.66\n20180315,0.9423337,1,275\n20180614,0.9461182,1,278.73\n20180920,0.9503803,1,293.58\n"
)


def test_a_factor_file_row_whose_factor_changes_is_a_dividend_the_next_session() -> None:
    """LEAN's CorporateFactorRow.GetDividend: the row of Thursday 2018-03-15 (factor 0.9423337, close 275)
    before the row with 0.9461182 is SPY's March 2018 dividend, going ex on Friday the 16th:
    275 × (1 − 0.9423337 / 0.9461182) = 275 × 0.0040000 = 1.10 (SPY paid 1.0967; LEAN's rounding to cents).
    The last row has no successor and so no dividend (a real file ends with a 2050 row of factor 1)."""
    found = factor_file_dividends("spy", SPY_2018, CAL.equity)
    assert found[0] == Dividend("SPY", date(2017, 12, 15), round(265.66 * (1 - 0.9375096 / 0.9423337), 2), 265.66)
    assert found[1] == Dividend("SPY", date(2018, 3, 16), 1.10, 275.0)
    assert found[2].ex_date == date(2018, 6, 15) and found[2].amount == 1.25 and len(found) == 3
    with pytest.raises(FactorFileError, match="spy factor file line 2"):
        factor_file_dividends("spy", "20171214,0.9,1,265\nnot a row\n", CAL.equity)


def test_the_modelled_markets_table_is_what_the_factor_files_say() -> None:
    """dividends.csv, which the modelled market reads without the LEAN data, against the factor files."""
    folder = require_lean_data()
    expected = sorted(
        (d for d in folder_dividends(folder, CAL.equity) if d.root in TABLE_TICKERS),
        key=lambda d: (d.root, d.ex_date),
    )
    assert TABLE.read_text() == table_text(expected)
    table = read_table(TABLE.read_text())
    spy = [d for d in table if d.root == "SPY" and d.ex_date.year == 2018]
    assert [(d.ex_date.isoformat(), d.amount) for d in spy] == [
        ("2018-03-16", 1.10),
        ("2018-06-15", 1.25),
        ("2018-09-21", 1.33),
        ("2018-12-21", 1.44),
    ]


def test_a_lean_folder_gives_its_own_dividends_as_paid() -> None:
    folder = require_lean_data()
    events = LeanSource(folder, CAL).events()
    assert events is not None and "LEAN factor files" in events.source
    assert events.dividend("QQQ", date(2018, 3, 19)) == 0.28
    assert events.covers_dividends("QQQ", date(2018, 3, 19)) and not events.covers_dividends("QQQ", date(2003, 6, 2))
