"""core/calendar: sessions, holidays, early closes, DST days, entry-day and expiry rules."""

from __future__ import annotations

import time as pytime
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.calendar import (
    FRIDAY,
    TUESDAY,
    WEDNESDAY,
    Calendars,
    ExchangeCalendar,
    Market,
    OutOfCalendarRangeError,
    Session,
    dte,
    nth_weekday_date,
)

NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def cal() -> Calendars:
    return Calendars()


def test_holidays_and_early_closes(cal: Calendars) -> None:
    assert cal.equity.is_holiday(date(2024, 7, 4))
    assert not cal.equity.is_holiday(date(2024, 7, 6))  # a Saturday is not a holiday, just not a session
    assert cal.equity.early_closes(date(2024, 11, 1), date(2024, 12, 31)) == {
        date(2024, 11, 29): time(13, 0),
        date(2024, 12, 24): time(13, 0),
    }
    assert cal.equity.holidays(date(2025, 1, 1), date(2025, 1, 31)) == [
        date(2025, 1, 1),
        date(2025, 1, 9),
        date(2025, 1, 20),
    ]


def test_sessions_on_dst_days_open_at_0930_new_york(cal: Calendars) -> None:
    spring = cal.equity.session(date(2024, 3, 11))  # first session after clocks went forward
    autumn = cal.equity.session(date(2024, 11, 4))  # first session after clocks went back
    assert spring is not None and autumn is not None
    assert spring.open.astimezone(UTC).hour == 13 and autumn.open.astimezone(UTC).hour == 14
    assert spring.open.time() == autumn.open.time() == time(9, 30)
    # CME's Sunday-evening open straddles the change: 18:00 New York on both sides.
    cme = cal.cme.session(date(2024, 3, 11))
    assert cme is not None and cme.open.time() == time(18, 0) and cme.open.date() == date(2024, 3, 10)


def test_is_open_respects_early_closes_and_needs_aware_times(cal: Calendars) -> None:
    ny = cal.equity.session(date(2024, 11, 29))
    assert ny is not None
    at = ny.open.replace(hour=12, minute=59)
    assert cal.equity.is_open(at)
    assert not cal.equity.is_open(at.replace(hour=13, minute=1))
    assert cal.cme.is_open(datetime(2024, 3, 10, 23, 0, tzinfo=UTC))  # 19:00 New York Sunday
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.equity.is_open(datetime(2024, 3, 11, 10, 0))  # noqa: DTZ001 - the point of the test


def test_cme_closes_early_when_nyse_does_or_is_shut(cal: Calendars) -> None:
    juneteenth = cal.cme.session(date(2024, 6, 19))
    july3 = cal.cme.session(date(2025, 7, 3))
    assert juneteenth is not None and juneteenth.close.time() == time(13, 0) and juneteenth.early_close
    assert july3 is not None and july3.close.time() == time(13, 15)


def test_next_previous_and_counting_sessions(cal: Calendars) -> None:
    assert cal.equity.next_session(date(2024, 7, 3)) == date(2024, 7, 5)
    assert cal.equity.previous_session(date(2024, 7, 5)) == date(2024, 7, 3)
    assert cal.equity.add_sessions(date(2024, 7, 3), 1) == date(2024, 7, 5)
    assert cal.equity.add_sessions(date(2024, 7, 6), 0) == date(2024, 7, 8)
    assert cal.equity.add_sessions(date(2024, 7, 8), -2) == date(2024, 7, 3)
    assert cal.equity.sessions_between(date(2024, 7, 1), date(2024, 7, 8)) == 4
    with pytest.raises(OutOfCalendarRangeError, match="outside"):
        cal.equity.is_session(date(1997, 1, 2))


def test_entry_days_move_to_the_next_session_on_a_holiday(cal: Calendars) -> None:
    # LT112's first Wednesday of January 2025 is New Year's Day: it moves to Thursday.
    assert nth_weekday_date(2025, 1, WEDNESDAY, 1) == date(2025, 1, 1)
    assert cal.equity.nth_weekday(2025, 1, WEDNESDAY, 1) == date(2025, 1, 2)
    assert cal.equity.nth_weekday(2024, 10, TUESDAY, 2) == date(2024, 10, 8)
    # Juneteenth 2024 was the third Wednesday.
    assert cal.equity.nth_weekday(2024, 6, WEDNESDAY, 3) == date(2024, 6, 20)
    with pytest.raises(ValueError, match="no 5th"):
        nth_weekday_date(2024, 2, FRIDAY, 5)


def test_monthly_and_quarterly_expiries(cal: Calendars) -> None:
    assert cal.monthly_expiry(2024, 12) == date(2024, 12, 20)
    assert cal.monthly_expiry(2025, 4) == date(2025, 4, 17)  # the third Friday was Good Friday
    assert cal.es_quarterly_expiry(2026, 3) == date(2026, 3, 20)
    with pytest.raises(ValueError, match="March, June"):
        cal.es_quarterly_expiry(2026, 4)
    assert cal.leap_expiries(date(2024, 1, 5), 180, 400) == [
        cal.monthly_expiry(y, m)
        for y, m in [(2024, 7), (2024, 8), (2024, 9), (2024, 10), (2024, 11), (2024, 12), (2025, 1)]
    ]


def test_front_es_contract_needs_ten_trading_days(cal: Calendars) -> None:
    assert cal.es_front_quarterly(date(2024, 2, 20), 10) == date(2024, 3, 15)
    assert cal.es_front_quarterly(date(2024, 3, 8), 10) == date(2024, 6, 21)  # 5 sessions left in March


def test_spxw_expiries_follow_the_listing_history(cal: Calendars) -> None:
    # January 2021: Monday, Wednesday and Friday only (the sample data's 01-04, 01-06, 01-08).
    assert cal.spxw_expiries(date(2021, 1, 4), date(2021, 1, 8)) == [
        date(2021, 1, 4),
        date(2021, 1, 6),
        date(2021, 1, 8),
    ]
    # 2023: every session; Good Friday's expiry moves to Thursday.
    assert len(cal.spxw_expiries(date(2023, 6, 5), date(2023, 6, 9))) == 5
    assert date(2025, 4, 17) in cal.spxw_expiries(date(2025, 4, 14), date(2025, 4, 18))
    assert date(2025, 4, 18) not in cal.spxw_expiries(date(2025, 4, 14), date(2025, 4, 18))


def test_spxw_mondays_and_wednesdays_expire_only_from_their_launch(cal: Calendars) -> None:
    """#16 item 10. Cboe listed Wednesday SPXW weeklys from 2016-02-23 (first expiry 2016-03-02) and Monday
    ones from 2016-08-15 (first expiry 2016-08-22) (Cboe Options Hub, 2016-02-22 and 2016-07-12; press
    releases); Tuesdays (2022-04-18) and Thursdays (2022-05-11) came later. Before, a week had its Friday only."""
    assert cal.spxw_expiries(date(2015, 3, 2), date(2015, 3, 6)) == [date(2015, 3, 6)]
    assert cal.spxw_expiries(date(2016, 2, 29), date(2016, 3, 4)) == [date(2016, 3, 2), date(2016, 3, 4)]
    assert cal.spxw_expiries(date(2016, 8, 15), date(2016, 8, 19)) == [date(2016, 8, 17), date(2016, 8, 19)]
    assert cal.spxw_expiries(date(2016, 8, 22), date(2016, 8, 26)) == [
        date(2016, 8, 22),
        date(2016, 8, 24),
        date(2016, 8, 26),
    ]


def test_dte_counts_calendar_days() -> None:
    assert dte(date(2024, 1, 5), date(2024, 1, 5)) == 0
    assert dte(date(2024, 1, 5), date(2024, 5, 3)) == 119


# ------------------------------------------------------------------------------------------ edges of the calendar


def test_cme_equity_index_sessions_close_early_on_nyse_holidays_and_early_closes() -> None:
    """CME trades on Juneteenth 2023 (Monday 06-19, an NYSE holiday) but closes at 13:00 ET; on the day
    before Independence Day 2023 (NYSE closes 13:00; the CMES calendar keeps its 18:00 close) it closes at
    13:15 ET; a close already earlier (13:00 the day after Thanksgiving) stays. A normal day keeps its session.
    Built here, not taken from the module's fixture: the caps are applied while the calendars are built."""
    cal = Calendars()
    juneteenth = cal.cme.session(date(2023, 6, 19))
    assert juneteenth is not None and juneteenth.close == datetime(2023, 6, 19, 13, 0, tzinfo=NY)
    assert juneteenth.early_close and date(2023, 6, 19) in cal.cme.early_closes(date(2023, 6, 19), date(2023, 6, 19))
    july_3 = cal.cme.session(date(2023, 7, 3))
    assert july_3 is not None and july_3.close == datetime(2023, 7, 3, 13, 15, tzinfo=NY) and july_3.early_close
    black_friday = cal.cme.session(date(2023, 11, 24))
    assert black_friday is not None and black_friday.close == datetime(2023, 11, 24, 13, 0, tzinfo=NY)
    normal = cal.cme.session(date(2023, 11, 21))
    assert normal is not None and normal.close.time() > time(13, 15) and not normal.early_close
    assert normal.day == date(2023, 11, 21) and normal.open < normal.close


def test_is_open_from_the_open_inclusive_to_the_close_exclusive(cal: Calendars) -> None:
    opened, closed = cal.equity.open_close(date(2024, 1, 8)) or (None, None)
    assert opened is not None and closed is not None
    assert cal.equity.is_open(opened) and not cal.equity.is_open(opened - timedelta(microseconds=1))
    assert not cal.equity.is_open(closed) and cal.equity.is_open(closed - timedelta(microseconds=1))
    assert cal.equity.is_open(opened.astimezone(UTC))  # any zone: the moment, not its clock
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.equity.is_open(datetime(2024, 1, 8, 10, 0))  # noqa: DTZ001 - the point of the test


def test_session_counts_and_steps_at_the_calendars_ends(cal: Calendars) -> None:
    monday = date(2024, 1, 8)
    assert cal.equity.sessions_between(monday, monday) == 0
    assert cal.equity.sessions_between(monday, date(2024, 1, 5)) == 0
    assert cal.equity.sessions_between(monday, date(2024, 1, 9)) == 1
    first, last = cal.equity.session_days()[0], cal.equity.session_days()[-1]
    assert cal.equity.add_sessions(first, 0) == first and cal.equity.add_sessions(last, 0) == last
    with pytest.raises(OutOfCalendarRangeError, match=f"-1 sessions from {first} is outside the calendar"):
        cal.equity.add_sessions(first, -1)
    with pytest.raises(OutOfCalendarRangeError, match="1 sessions from"):
        cal.equity.add_sessions(last, 1)
    assert cal.for_market(Market.EQUITY) is cal.equity and cal.for_market(Market.CME) is cal.cme


def test_a_session_removed_is_gone_from_every_question() -> None:
    equity = ExchangeCalendar(Market.EQUITY)
    day = date(2024, 1, 9)
    assert equity.is_session(day)
    equity.remove_session(day)
    assert not equity.is_session(day) and equity.session(day) is None
    assert equity.next_session(date(2024, 1, 8)) == date(2024, 1, 10)
    assert equity.add_sessions(date(2024, 1, 8), 1) == date(2024, 1, 10)
    assert equity.sessions_between(date(2024, 1, 8), date(2024, 1, 10)) == 1
    equity.remove_session(date(2024, 1, 13))  # a Saturday: nothing to remove, nothing changes
    assert equity.add_sessions(date(2024, 1, 12), 1) == date(2024, 1, 16)  # MLK day still a holiday
    early = date(2024, 11, 29)
    assert early in equity.early_closes(early, early)
    equity.remove_session(early)
    assert early not in equity.early_closes(early, early)


def test_leap_and_front_future_windows_are_inclusive(cal: Calendars) -> None:
    today = date(2024, 1, 8)
    jan_2025 = cal.monthly_expiry(2025, 1)
    days = (jan_2025 - today).days
    assert jan_2025 in cal.leap_expiries(today, days, days)  # both ends inclusive
    assert jan_2025 not in cal.leap_expiries(today, days + 1, days + 400)
    assert jan_2025 not in cal.leap_expiries(today, 0, days - 1)
    # December rolls into March of the next year: 2024-12-10 has 8 sessions to the 12-20 ES expiry.
    december = date(2024, 12, 10)
    assert cal.cme.sessions_between(december, date(2024, 12, 20)) == 8
    assert cal.es_front_quarterly(december, 8) == date(2024, 12, 20)  # exactly enough sessions
    assert cal.es_front_quarterly(december, 9) == date(2025, 3, 21)
    assert cal.es_front_quarterly(date(2024, 12, 20), 0) == date(2024, 12, 20)  # its own last trade day


def test_a_calendar_built_alone_covers_its_years_and_knows_its_market() -> None:
    """The tables span FIRST_YEAR to LAST_YEAR (exchange_calendars' default is about twenty years back and
    one ahead of today): the first session of 1998 and the last of 2030 are there, counted in order."""
    cme = ExchangeCalendar(Market.CME)
    assert cme.market is Market.CME
    assert cme.is_session(date(1998, 1, 2)) and cme.is_session(date(2030, 12, 31))
    assert cme.add_sessions(date(1998, 1, 2), 1) == date(1998, 1, 5)
    assert cme.add_sessions(date(2030, 12, 31), -1) == date(2030, 12, 30)


def test_cme_early_closes_apply_in_the_calendars_last_year() -> None:
    """2030 too: Juneteenth (Wednesday 06-19, NYSE shut) closes CME at 13:00 ET, 07-03 (NYSE early close) at
    13:15 ET. The shortened session keeps its day and its 18:00 open the evening before."""
    cal = Calendars()
    juneteenth = cal.cme.session(date(2030, 6, 19))
    assert juneteenth == Session(
        date(2030, 6, 19), datetime(2030, 6, 18, 18, 0, tzinfo=NY), datetime(2030, 6, 19, 13, 0, tzinfo=NY), True
    )
    july_3 = cal.cme.session(date(2030, 7, 3))
    assert july_3 is not None and july_3.close == datetime(2030, 7, 3, 13, 15, tzinfo=NY) and july_3.early_close


def test_a_cap_at_or_after_the_close_leaves_the_session_alone() -> None:
    equity = ExchangeCalendar(Market.EQUITY)
    monday = date(2024, 1, 8)
    before = equity.session(monday)
    equity.close_no_later_than(monday, time(16, 0))  # the regular close itself
    equity.close_no_later_than(monday, time(17, 0))
    assert equity.session(monday) == before and equity.early_closes(monday, monday) == {}
    equity.close_no_later_than(monday, time(13, 0))
    assert equity.early_closes(monday, monday) == {monday: time(13, 0)}


def test_no_session_within_two_weeks_is_an_error_that_names_the_day() -> None:
    """Fifteen days probed: with 07-02 to 07-16 (2024) removed, the next session after 07-01 would be the
    16th day, 07-17: too far for a market that never closes two weeks."""
    equity = ExchangeCalendar(Market.EQUITY)
    day = date(2024, 7, 2)
    while day <= date(2024, 7, 16):
        equity.remove_session(day)
        day += timedelta(days=1)
    with pytest.raises(OutOfCalendarRangeError, match=r"^no session within two weeks of 2024-07-01$"):
        equity.next_session(date(2024, 7, 1))
    assert equity.previous_session(date(2024, 7, 16)) == date(2024, 7, 1)  # the 15th day back is probed


def test_is_open_does_not_depend_on_the_machines_time_zone(cal: Calendars, monkeypatch: pytest.MonkeyPatch) -> None:
    """Monday 2024-07-01 15:00 New York is already Tuesday 04:00 in Tokyo: the session is Monday's whatever
    the zone of the machine running the algorithm."""
    moment = datetime(2024, 7, 1, 15, 0, tzinfo=NY)
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    pytime.tzset()
    try:
        assert cal.equity.is_open(moment) and cal.equity.is_open(moment.astimezone(UTC))
    finally:
        monkeypatch.undo()
        pytime.tzset()


def test_is_open_refuses_a_naive_datetime_in_words(cal: Calendars) -> None:
    with pytest.raises(ValueError, match=r"^is_open needs a timezone-aware datetime$"):
        cal.equity.is_open(datetime(2024, 1, 8, 10, 0))  # noqa: DTZ001 - the point of the test
