"""strategies/leaps (the LEAP put ladder), strategies/futures, and strategies.build."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, time

import numpy as np
import pytest

from core.book_view import BookView
from core.calendar import Calendars
from core.model import (
    AccountState,
    Chain,
    ChainRow,
    Contract,
    ContractKind,
    Decision,
    IntentAction,
    MarketSnapshot,
    OrderIntent,
    Right,
)
from core.settings import Settings
from core.valuation import StructureView
from strategies import build
from strategies.futures import Futures
from strategies.leaps import LeapPutLadder
from tests.fakes import market as m
from tests.fakes.book import FakeBook
from tests.leandata import read_universe, require_lean_data

S = Settings()
CAL = Calendars()
MONDAY = date(2024, 1, 8)
LEAPS = [date(2024, 12, 20), date(2025, 1, 17), date(2025, 6, 20)]  # 347, 375 and 529 DTE


def spy(vix: float = 17.0, price: float = 470.0, day: date = MONDAY) -> MarketSnapshot:
    now = datetime.combine(day, time(10, 0), tzinfo=m.NY)
    return m.snapshot(
        now, vix, [m.priced_chain("SPY", price, now, LEAPS, [float(k) for k in range(300, 520)], 0.16, 0.4)]
    )


def ladder(snap: MarketSnapshot, rungs: int = 0) -> OrderIntent | Decision:
    held = [
        dataclasses.replace(
            m.structure(f"r{i}", "leap_ladder", m.short_put("SPY", LEAPS[1], 400.0 - i), spy()), id=f"r{i}"
        )
        for i in range(rungs)
    ]
    [answer] = LeapPutLadder(S, CAL.equity).propose(snap, FakeBook(held))
    return answer


def test_weekly_on_the_first_session_of_the_week() -> None:
    lad = LeapPutLadder(S, CAL.equity)
    assert [t.time() for t in lad.entry_times(CAL.equity, MONDAY)] == [time(10, 0)]
    assert lad.entry_times(CAL.equity, date(2024, 1, 9)) == []
    assert lad.entry_times(CAL.equity, date(2024, 1, 15)) == []  # Martin Luther King Jr. Day
    assert [t.date() for t in lad.entry_times(CAL.equity, date(2024, 1, 16))] == [date(2024, 1, 16)]


def test_a_rung_is_a_12_to_14_delta_put_near_365_days() -> None:
    intent = ladder(spy())
    assert isinstance(intent, OrderIntent) and intent.quantity == 1
    [leg] = intent.structure.legs
    chain = spy().chains["SPY"]
    row = chain.find(LEAPS[1], leg.contract.strike or 0, Right.PUT)
    assert leg.ratio == -1 and leg.contract.expiry == LEAPS[1] and row is not None
    assert 0.12 <= abs(chain.delta[row]) <= 0.14
    assert intent.reason.startswith("leap_ladder: rung 1: SPY 2025-01-17")


@pytest.mark.parametrize(("vix", "expected"), [(14.99, "skip the week"), (15.0, 1), (20.0, 1), (20.01, 2)])
def test_vix_decides_skip_and_size(vix: float, expected: int | str) -> None:
    answer = ladder(spy(vix=vix))
    if isinstance(expected, str):
        assert isinstance(answer, Decision) and expected in answer.reason
    else:
        assert isinstance(answer, OrderIntent) and answer.quantity == expected


def test_at_most_ten_rungs() -> None:
    answer = ladder(spy(), rungs=10)
    assert isinstance(answer, Decision) and answer.reason == "leap_ladder: 10 of 10 rungs open"
    assert isinstance(ladder(spy(), rungs=9), OrderIntent)


def test_rung_exits() -> None:
    intent = ladder(spy())
    assert isinstance(intent, OrderIntent)
    rung = intent.structure
    lad = LeapPutLadder(S, CAL.equity)
    assert lad.manage(rung, spy()) is None
    kept = lad.manage(dataclasses.replace(rung, entry_price=rung.entry_price / 0.69), spy())
    assert kept is not None and "profit target" in kept.reason
    late = spy(day=date(2024, 8, 19), price=415.0)  # 151 DTE, not profitable: nothing; 150: roll
    assert lad.manage(rung, late) is None
    rolled = lad.manage(rung, spy(day=date(2024, 8, 20), price=415.0))
    assert rolled is not None and rolled.reason == "leap_ladder: 150 DTE ≤ 150: close (roll)"


def test_the_real_spy_chain_of_2024_01_08() -> None:
    """The sample's long-dated SPY expiries that day are 2024-09-30 (266 DTE) and 2026-12-18, one call each:
    the ladder takes 2024-09-30 and finds no put there to sell."""
    path = require_lean_data() / "option" / "usa" / "universes" / "spy" / "20240108.csv"
    spy_close = float(path.read_text().splitlines()[1].split(",")[6])  # the underlying's own line
    now = datetime(2024, 1, 8, 10, 0, tzinfo=m.NY)
    rows = [
        ChainRow(date(int(e[:4]), int(e[4:6]), int(e[6:])), k, Right.CALL if r == "C" else Right.PUT, c, c, iv, d)
        for e, k, r, c, iv, d in read_universe(path)
        if math.isfinite(c) and c > 0
    ]
    snap = m.snapshot(now, 17.0, [Chain.from_rows("SPY", spy_close, now, rows)])
    answer = ladder(snap)
    assert isinstance(answer, Decision)
    assert answer.reason == "leap_ladder: SPY 2024-09-30 put: no usable quotes with a delta"


# ------------------------------------------------------------------------------------------ futures


def test_front_contract_needs_ten_sessions() -> None:
    f = Futures(S, CAL)
    assert f.front_contract(date(2024, 2, 20)) == date(2024, 3, 15)
    assert f.front_contract(date(2024, 3, 4)) == date(2024, 6, 21)


def test_held_futures_roll_and_future_options_close_before_expiry() -> None:
    f = Futures(S, CAL)
    mes = Contract("MES", "MES", ContractKind.FUTURE, 5.0, "CME", underlying_expiry=date(2024, 3, 15))
    day = date(2024, 3, 8)  # 5 sessions to 03-15
    snap = m.snapshot(datetime.combine(day, time(10, 0), tzinfo=m.NY), 15.0, [], {"MES": 5100.0})
    hedge = m.structure("h1", "futures", [(mes, 1)], snap)
    close = f.expiry_close(hedge, snap)
    assert (
        close is not None
        and close.action is IntentAction.CLOSE
        and "MES future trades until 2024-03-15 (5 sessions): roll" in close.reason
    )
    earlier = m.snapshot(datetime.combine(date(2024, 3, 7), time(10, 0), tzinfo=m.NY), 15.0, [], {"MES": 5100.0})
    assert f.expiry_close(hedge, earlier) is None
    fop = dataclasses.replace(m.option("ES", date(2024, 3, 15), 5000.0, Right.PUT), underlying_expiry=date(2024, 3, 15))
    chain = m.priced_chain("ES", 5100.0, snap.time, [date(2024, 3, 15)], [5000.0], 0.15)
    fsnap = m.snapshot(snap.time, 15.0, [chain])
    held = m.structure("s1", "strangles", [(fop, -1)], fsnap)
    close = f.expiry_close(held, fsnap)
    assert close is not None and "future option's underlying trades until 2024-03-15" in close.reason


def test_the_delta_hedge_is_off_by_default_and_sizes_mes_to_half_the_limit() -> None:
    snap = m.snapshot(datetime.combine(MONDAY, time(11, 0), tzinfo=m.NY), 15.0, [], {"MES": 4800.0})
    book = BookView((), (), (), 0.0, 2_400.0, 0.0, 0.0)  # +2,400 USD per 1% SPX: past the 1,000 limit
    account = AccountState(100_000.0, 100_000.0, 100_000.0, 0.0)
    assert Futures(S, CAL).hedge(book, account, snap) is None
    on = Futures(Settings.from_parameters({"enable_delta_hedge": "true"}), CAL)
    intent = on.hedge(book, account, snap)
    assert intent is not None
    [leg] = intent.structure.legs
    assert leg.contract.root == "MES" and leg.ratio == -1 and intent.quantity == 8  # (500 − 2,400) / 240 per contract
    within = BookView((), (), (), 0.0, 900.0, 0.0, 0.0)
    assert on.hedge(within, account, snap) is None


def test_build_returns_the_enabled_strategies_and_names_what_is_missing() -> None:
    strategies, futures = build(S, CAL)
    assert [s.name for s in strategies] == ["zero_dte", "strangles", "lt112", "ipmcc", "leap_ladder"]
    assert isinstance(futures, Futures)
    only = Settings.from_parameters(
        {"enable_strangles": "false", "enable_lt112": "false", "enable_leap_ladder": "false", "enable_ipmcc": "false"}
    )
    assert [s.name for s in build(only, CAL)[0]] == ["zero_dte"]


def test_entry_times_stay_at_new_york_clock_time_across_the_dst_change() -> None:
    """The Fridays either side of 2024-03-10: 10:30 New York is 15:30 UTC, then 14:30 UTC."""
    from datetime import UTC

    strategies, _ = build(S, CAL)
    zero_dte = next(s for s in strategies if s.name == "zero_dte")
    before, after = (
        zero_dte.entry_times(CAL.equity, date(2024, 3, 8)),
        zero_dte.entry_times(CAL.equity, date(2024, 3, 15)),
    )
    assert [t.time() for t in before] == [t.time() for t in after] == [time(9, 30), time(10, 0), time(10, 30)]
    assert before[-1].astimezone(UTC).hour == 15 and after[-1].astimezone(UTC).hour == 14
    ladder = next(s for s in strategies if s.name == "leap_ladder")
    assert [t.astimezone(UTC).hour for t in ladder.entry_times(CAL.equity, date(2024, 3, 11))] == [14]  # 10:00 EDT


# ------------------------------------------------------------------------------------------ the delta hedge, whole


HEDGING = Settings.from_parameters({"enable_delta_hedge": "true"})
NET = AccountState(100_000.0, 100_000.0, 100_000.0, 0.0)


def _hedge_market(mes: float | None = 4800.0) -> MarketSnapshot:
    return m.snapshot(datetime.combine(MONDAY, time(11, 0), tzinfo=m.NY), 15.0, [], {} if mes is None else {"MES": mes})


def _delta(delta: float, views: tuple[StructureView, ...] = ()) -> BookView:
    return BookView(tuple(v.structure for v in views), views, (), 0.0, delta, 0.0, 0.0)


@pytest.mark.parametrize(
    ("delta", "mes", "expected"),
    [
        (1_000.0, 4800.0, None),  # exactly at the ±1% limit: nothing to do
        (-1_000.0, 4800.0, None),
        (2_400.0, 4800.0, -8),  # (+500 − 2,400) / 240 = −7.9 → sell 8
        (-2_400.0, 4800.0, 8),  # (−500 + 2,400) / 240 → buy 8
        (1_100.0, 4800.0, -2),  # (500 − 1,100) / 240 = −2.5 → −2 (round half to even)
        (1_001.0, 48_000.0, None),  # 2,400 a contract: (500 − 1,001) / 2,400 rounds to 0
        (2_400.0, 0.5, -76_000),  # a tiny price is still a price: (500 − 2,400) / 0.025
        (2_400.0, 0.0, None),  # no price, no hedge
        (2_400.0, None, None),
    ],
)
def test_the_hedge_sizes_mes_from_the_book_delta_by_hand(delta: float, mes: float | None, expected: int | None) -> None:
    intent = Futures(HEDGING, CAL).hedge(_delta(delta), NET, _hedge_market(mes))
    if expected is None:
        assert intent is None
        return
    assert intent is not None and intent.action is IntentAction.OPEN
    [leg] = intent.structure.legs
    assert (leg.contract.root, leg.ratio, intent.quantity, intent.limit_price) == (
        "MES",
        1 if expected > 0 else -1,
        abs(expected),
        mes,
    )
    assert intent.structure.strategy == "futures" and intent.structure.tag == "delta hedge"
    assert intent.structure.quantity == abs(expected) and leg.contract.underlying_expiry == date(2024, 3, 15)
    target = 500.0 if delta > 0 else -500.0
    assert intent.reason == (
        f"futures: beta-weighted delta {delta:+,.0f} per 1% SPX is past ±1,000: {expected:+d} MES to {target:+,.0f}"
    )


def test_the_hedge_nets_against_the_opposite_hedge_held_before_opening_another() -> None:
    """Long 5 MES held (h1) and 3 (h2) while the book is now +2,400: selling 8 first closes 5 of the larger,
    h1, at its mark, rather than holding both sides. A same-side hedge (short) is not netted."""
    snap = _hedge_market()
    mes = m.future("MES", date(2024, 3, 15))

    def held(sid: str, ratio: int, qty: int) -> StructureView:
        s = m.structure(sid, "futures", [(mes, ratio)], snap, qty)
        return StructureView(s, (), 4790.0, 0.0, 0.0, None, 0.0, "future", 0.0, 0.0, 0.0, 4800.0)

    book = _delta(2_400.0, (held("h1", 1, 5), held("h2", 1, 3), held("h3", -1, 9)))
    intent = Futures(HEDGING, CAL).hedge(book, NET, snap)
    assert intent is not None and intent.action is IntentAction.CLOSE
    assert (intent.structure.id, intent.structure.quantity, intent.quantity, intent.limit_price) == ("h1", 5, 5, 4790.0)
    assert intent.reason.endswith(": -8 MES to +500: close 5 of h1")
    small = _delta(2_400.0, (held("h2", 1, 3),))
    part = Futures(HEDGING, CAL).hedge(small, NET, snap)
    assert part is not None and (part.structure.id, part.quantity) == ("h2", 3)
    spread = dataclasses.replace(held("h4", 1, 5), structure=m.structure("h4", "futures", [(mes, 1), (mes, 1)], snap))
    assert Futures(HEDGING, CAL).hedge(_delta(2_400.0, (spread,)), NET, snap).action is IntentAction.OPEN  # type: ignore[union-attr]


# ------------------------------------------------------------------------------------------ the ladder's answers, whole


def test_the_rung_is_the_put_nearest_13_delta_and_says_so() -> None:
    """The oracle reads the chain itself: of the 2025-01-17 puts with |delta| in 0.12..0.14, the one nearest
    0.13 (RULEBOOK's 12–14 band's middle)."""
    snap = spy()
    intent = ladder(snap)
    assert isinstance(intent, OrderIntent)
    chain = snap.chains["SPY"]
    puts = [
        (abs(abs(float(chain.delta[r])) - 0.13), float(chain.strike[r]), abs(float(chain.delta[r])))
        for r in range(len(chain))
        if chain.expiry_date(r) == LEAPS[1] and not chain.is_call[r] and 0.12 <= abs(float(chain.delta[r])) <= 0.14
    ]
    _, strike, delta = min(puts)
    assert len(puts) >= 3  # a choice to make, not a single candidate
    [leg] = intent.structure.legs
    assert leg.contract.strike == strike
    assert intent.reason == f"leap_ladder: rung 1: SPY 2025-01-17 {strike:g} put x1 (|delta| {delta:.3f})"
    assert intent.structure.tag == "" and intent.structure.strategy == "leap_ladder"
    row = chain.find(LEAPS[1], strike, Right.PUT)
    assert row is not None
    [price] = intent.structure.leg_entry_prices
    assert price == pytest.approx(float(chain.mid[row]))


def test_each_reason_for_no_rung_is_the_ladders_own_decision() -> None:
    snap = spy()
    when = snap.time
    no_vix = dataclasses.replace(snap, vix=None)
    assert ladder(no_vix) == Decision(when, "leap_ladder", False, "leap_ladder: no VIX", "leap_ladder")
    no_chain = dataclasses.replace(snap, chains={})
    answer = ladder(no_chain)
    assert answer == Decision(when, "leap_ladder", False, f"leap_ladder: {no_chain.no_chain('SPY')}", "leap_ladder")
    short_dated = dataclasses.replace(
        snap, chains={"SPY": m.priced_chain("SPY", 470.0, when, [date(2024, 3, 15)], [400.0, 450.0], 0.16, 0.4)}
    )
    answer = ladder(short_dated)
    assert isinstance(answer, Decision) and answer.rule == "leap_ladder" and answer.subject == "leap_ladder"
    assert answer.reason.startswith("leap_ladder: ") and "2024-03-15" not in answer.reason.split(":")[0]
    far = dataclasses.replace(
        snap, chains={"SPY": m.priced_chain("SPY", 470.0, when, [LEAPS[1]], [460.0, 470.0], 0.16, 0.4)}
    )
    answer = ladder(far)  # only near-the-money puts: nothing in the 12–14 delta band
    assert isinstance(answer, Decision) and answer.reason.startswith("leap_ladder: ") and not answer.approved
    assert answer.time == when and answer.subject == "leap_ladder"


def test_build_hands_each_strategy_the_equity_calendar_and_the_futures_roll() -> None:
    """Strangles and LT112 close future options whose future is about to expire through the Futures module
    build gives them; every strategy reads the equity calendar."""
    strategies, futures = build(S, CAL)
    by_name = {s.name: s for s in strategies}
    assert by_name["strangles"].futures is futures and by_name["lt112"].futures is futures  # type: ignore[attr-defined]
    assert all(s.calendar is CAL.equity for s in strategies)  # type: ignore[attr-defined]
    assert futures.calendars is CAL and futures.settings is S


# ------------------------------------------------------------------------------------------ futures, whole (#21)


@pytest.mark.parametrize(
    ("betas", "expected"),
    [
        ({"MES": 2.0}, -4),  # 5 × 4,800 × 1% × 2 = 480 a contract: (500 − 2,400) / 480 = −3.96 → −4
        ({"SPX": 1.0}, -8),  # MES not listed: beta 1, 240 a contract → −7.9 → −8
    ],
)
def test_the_hedge_weighs_a_contract_by_mes_beta(betas: dict[str, float], expected: int) -> None:
    settings = dataclasses.replace(HEDGING, beta_to_spx=betas)
    intent = Futures(settings, CAL).hedge(_delta(2_400.0), NET, _hedge_market())
    assert intent is not None and intent.quantity == abs(expected) and intent.structure.legs[0].ratio == -1
    assert intent.reason.endswith(f": {expected:+d} MES to +500")


NEAR = dataclasses.replace(HEDGING, hedge_target_fraction=0.9)  # back to 90% of the limit: ±900


def test_a_one_contract_hedge_buys_one_or_closes_one_short() -> None:
    """Book at −1,100 per 1%: back to −900 is (−900 + 1,100) / 240 = 0.83 → buy 1 MES. With 3 short MES held
    (h1), the one bought closes 1 of them instead."""
    snap = _hedge_market()
    intent = Futures(NEAR, CAL).hedge(_delta(-1_100.0), NET, snap)
    assert intent is not None and intent.action is IntentAction.OPEN
    assert (intent.quantity, intent.structure.legs[0].ratio, intent.structure.entry_price) == (1, 1, 4800.0)
    mes = m.future("MES", date(2024, 3, 15))
    short = m.structure("h1", "futures", [(mes, -1)], snap, 3)
    view = StructureView(short, (), -4790.0, 0.0, 0.0, None, 0.0, "future", 0.0, 0.0, 0.0, -4800.0)
    close = Futures(NEAR, CAL).hedge(_delta(-1_100.0, (view,)), NET, snap)
    assert close is not None and close.action is IntentAction.CLOSE
    assert (close.structure.id, close.structure.quantity, close.quantity) == ("h1", 1, 1)
    assert close.reason.endswith(": +1 MES to -900: close 1 of h1")


def test_netting_closes_only_the_units_needed_of_a_larger_hedge() -> None:
    """9 long MES held, the book needs −8: 8 of the 9 close, and the part closed holds 8."""
    snap = _hedge_market()
    mes = m.future("MES", date(2024, 3, 15))
    long_ = m.structure("h9", "futures", [(mes, 1)], snap, 9)
    view = StructureView(long_, (), 4790.0, 0.0, 0.0, None, 0.0, "future", 0.0, 0.0, 0.0, 4800.0)
    close = Futures(HEDGING, CAL).hedge(_delta(2_400.0, (view,)), NET, snap)
    assert close is not None and (close.structure.id, close.structure.quantity, close.quantity) == ("h9", 8, 8)


def test_each_leg_of_a_structure_is_checked_for_its_futures_expiry() -> None:
    """An ES strangle whose put came without its future (`underlying_expiry` unknown) and whose call names the
    March future, 5 sessions from its last trade: the put is skipped, the call still closes the strangle."""
    f = Futures(S, CAL)
    day = datetime.combine(date(2024, 3, 8), time(10, 0), tzinfo=m.NY)
    snap = m.snapshot(day, 15.0, [m.priced_chain("ES", 5100.0, day, [date(2024, 3, 15)], [5000.0, 5200.0], 0.15)])
    put = m.option("ES", date(2024, 3, 15), 5000.0, Right.PUT)
    call = dataclasses.replace(
        m.option("ES", date(2024, 3, 15), 5200.0, Right.CALL), underlying_expiry=date(2024, 3, 15)
    )
    held = m.structure("s", "strangles", [(put, -1), (call, -1)], snap)
    close = f.expiry_close(held, snap)
    assert close is not None
    assert close.reason == "futures: ES future option's underlying trades until 2024-03-15 (5 sessions): close"


def test_futures_and_future_options_have_their_own_windows() -> None:
    """Futures roll 5 sessions before their last trade, future options close 3 before their future's: on
    2024-03-11 (4 sessions to 2024-03-15) the MES future rolls, the ES option does not close yet."""
    settings = dataclasses.replace(S, futures_roll_days=5, future_option_close_days=3)
    f = Futures(settings, CAL)
    day = datetime.combine(date(2024, 3, 11), time(10, 0), tzinfo=m.NY)
    chain = m.priced_chain("ES", 5100.0, day, [date(2024, 3, 15)], [5000.0], 0.15)
    snap = m.snapshot(day, 15.0, [chain], {"MES": 5100.0})
    hedge = m.structure("h", "futures", [(m.future("MES", date(2024, 3, 15)), 1)], snap)
    roll = f.expiry_close(hedge, snap)
    assert roll is not None and roll.reason == "futures: MES future trades until 2024-03-15 (4 sessions): roll"
    fop = dataclasses.replace(m.option("ES", date(2024, 3, 15), 5000.0, Right.PUT), underlying_expiry=date(2024, 3, 15))
    held = m.structure("s", "strangles", [(fop, -1)], snap)
    assert f.expiry_close(held, snap) is None
    later = datetime.combine(date(2024, 3, 12), time(10, 0), tzinfo=m.NY)
    snap = m.snapshot(later, 15.0, [m.priced_chain("ES", 5100.0, later, [date(2024, 3, 15)], [5000.0], 0.15)])
    close = f.expiry_close(held, snap)
    assert close is not None
    assert close.reason == "futures: ES future option's underlying trades until 2024-03-15 (3 sessions): close"


# ------------------------------------------------------------------------------------------ the ladder, whole (#21)


def _no_rung(snap: MarketSnapshot, reason: str) -> Decision:
    return Decision(snap.time, "leap_ladder", False, f"leap_ladder: {reason}", "leap_ladder")


def test_the_rungs_id_is_the_same_for_the_same_put_on_the_same_day() -> None:
    """The id is `<strategy>-<day>-<6 hex digits of the legs' hash>`: the value recorded here is what a restart
    on the same day rebuilds (the state file and the broker's orders are matched by it)."""
    first, again = ladder(spy()), ladder(spy())
    assert isinstance(first, OrderIntent) and isinstance(again, OrderIntent)
    assert first.structure.id == again.structure.id == "leap_ladder-20240108-f07b3d"
    assert first.structure.legs[0].contract.strike == 387.0
    assert first.limit_price == first.structure.entry_price == -8.0  # the 387 put's mid, a credit


def test_the_rung_closes_at_its_mark_on_the_tick() -> None:
    """Rolled at 150 DTE: the limit is minus the put's mid that day (to the cent: SPY's 0.01 tick)."""
    rung = ladder(spy())
    assert isinstance(rung, OrderIntent)
    snap = spy(day=date(2024, 8, 20), price=415.0)
    rolled = LeapPutLadder(S, CAL.equity).manage(rung.structure, snap)
    assert rolled is not None
    row = snap.chains["SPY"].find(LEAPS[1], 387.0, Right.PUT)
    assert row is not None
    mid = float(snap.chains["SPY"].mid[row])
    assert rolled.limit_price == pytest.approx(-mid, abs=0.005) and rolled.quantity == 1


def test_the_rung_profit_target_is_inclusive() -> None:
    """Sold at twice today's mid, the rung has kept exactly 50% of its credit: a target of 50% closes it."""
    rung = ladder(spy())
    assert isinstance(rung, OrderIntent)
    [mid] = rung.structure.leg_entry_prices
    sold = dataclasses.replace(rung.structure, entry_price=-2 * mid, leg_entry_prices=(2 * mid,))
    kept = LeapPutLadder(dataclasses.replace(S, ladder_profit_target=0.5), CAL.equity).manage(sold, spy())
    assert kept is not None and kept.reason == "leap_ladder: profit target (50% of the credit kept)"


def test_each_ladder_refusal_in_full() -> None:
    snap = spy()
    when = snap.time
    short_dated = dataclasses.replace(
        snap, chains={"SPY": m.priced_chain("SPY", 470.0, when, [date(2024, 3, 15)], [400.0, 450.0], 0.16, 0.4)}
    )
    assert ladder(short_dated) == _no_rung(snap, "SPY: no expiry within 180-540 DTE (nearest 67)")
    far = dataclasses.replace(
        snap, chains={"SPY": m.priced_chain("SPY", 470.0, when, [LEAPS[1]], [460.0, 470.0], 0.16, 0.4)}
    )
    deltas = np.abs(far.chains["SPY"].delta[~far.chains["SPY"].is_call])
    nearest = float(deltas[np.argmin(np.abs(deltas - 0.13))])
    assert ladder(far) == _no_rung(snap, f"SPY 2025-01-17 put: no |delta| within 0.120-0.140 (nearest {nearest:.3f})")


def test_another_strategys_positions_are_not_rungs() -> None:
    """Nine rungs and an IPMCC LEAP held: the tenth rung still opens."""
    snap = spy()
    held = [
        dataclasses.replace(
            m.structure(f"r{i}", "leap_ladder", m.short_put("SPY", LEAPS[1], 400.0 - i), snap), id=f"r{i}"
        )
        for i in range(9)
    ]
    leap = m.structure("ip", "ipmcc", [(m.option("SPY", LEAPS[1], 400.0, Right.CALL), 1)], snap)
    [answer] = LeapPutLadder(S, CAL.equity).propose(snap, FakeBook([*held, leap]))
    assert isinstance(answer, OrderIntent) and answer.reason.startswith("leap_ladder: rung 10: ")


def test_a_chain_without_greeks_is_given_model_deltas() -> None:
    """LEAN's Greeks are zero while it warms up: the rung is still chosen, by model deltas from the quotes."""
    snap = spy()
    chain = snap.chains["SPY"]
    blind = dataclasses.replace(snap, chains={"SPY": dataclasses.replace(chain, delta=np.zeros_like(chain.delta))})
    answer = ladder(blind)
    assert isinstance(answer, OrderIntent)
    delta = float(answer.reason.rsplit("|delta| ", 1)[1].rstrip(")"))
    assert 0.12 <= delta <= 0.14
