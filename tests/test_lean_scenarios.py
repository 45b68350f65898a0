"""Scripted sessions through main.py on the LEAN-faithful double (issue #15, part 3). After each: nothing hung
(every handler did bounded work), the book equals the double's portfolio, no short option is held that no
structure meant, and the self-check line a user greps after `lean backtest` says so."""

from __future__ import annotations

from datetime import date, datetime, time
from types import ModuleType
from typing import Any

import pytest

from core.model import Leg, Structure
from safety.state import TradingState
from tests.fakes import algorithm_imports as fake
from tests.fakes.lean.engine import Market, OptionListing
from tests.lean_day import FRIDAY, LeanDay

MONDAY = date(2024, 3, 11)
MAX_ORDERS_PER_HANDLER = 8  # the most one LEAN callback may send: a structure, its orphan closes, a flatten


def assert_sound(day: LeanDay) -> str:
    """The checks every scenario ends with; returns the self-check line LEAN's log ends with."""
    assert max(day.algo.orders_in_callback, default=0) <= MAX_ORDERS_PER_HANDLER
    runtime = day.runtime
    assert runtime.pipeline.book.positions() == runtime.holdings(), "the book is LEAN's portfolio"
    day.engine.end()
    line: str = day.algo.logs[-1]
    assert line.startswith("SELF-CHECK PASSED"), line
    return line


def sent(day: LeanDay) -> list[dict[str, Any]]:
    return [o for o in day.algo.orders if o["type"] is not fake.OrderType.OPTION_EXERCISE]


def condor_sold_for_3_40(main: ModuleType) -> LeanDay:
    """The 10:30 condor filled by hand leg by leg (shorts 3.00 and 2.00, wings 1.00 and 0.60: 3.40 credit),
    the broker's automatic fills off: what happens next is the test's."""
    day = LeanDay(main)
    day.warm_up()
    day.algo.transactions.auto_fill = False
    day.run(time(9, 31), time(10, 30))
    for order, price in zip(day.algo.orders, (3.0, 1.0, 2.0, 0.6), strict=True):
        day.fill(order, price)
    return day


def test_a_friday_condor_partly_filled_then_cancelled_keeps_the_whole_units(main: ModuleType) -> None:
    """At 300,000 the 0DTE sends two condors (2% risk over 30-point wings) as one combo; the broker fills one
    unit of every leg (a partial fill of the combo, as TastyTrade fills complex orders: legs in ratio) and
    nothing more. At the timeout the
    rest is cancelled (one request, LEAN cancels the group) and the next attempt goes out for the one condor
    left. LEAN's fill model fills a combo only strictly through its limit, and with every leg's bar as wide
    as the others' the net of the bars is the natural price: the attempts, never past natural, do not fill,
    and the fill checks give up after the last. The book holds the one condor LEAN's portfolio holds."""
    day = LeanDay(main, {"starting_cash": "300000"}, market=Market(prices={"SPX": 5100.0, "VIX": 15.0}, bar_ticks=1))
    day.warm_up()
    day.algo.transactions.auto_fill = False
    day.run(time(9, 31), time(10, 30))
    ((_, quantity, _, _),) = day.algo.calls["combo"]
    assert quantity == -2  # two condors sold
    for order, price in zip(day.algo.orders, (3.0, 1.0, 2.0, 0.6), strict=True):
        day.fill(order, price, quantity=order["quantity"] / 2)
    assert [o["status"] for o in day.algo.orders] == [fake.OrderStatus.PARTIALLY_FILLED] * 4
    day.run(time(10, 31), time(10, 31))
    assert [o["status"] for o in day.algo.orders[:4]] == [fake.OrderStatus.CANCELED] * 4
    (held,) = day.runtime.pipeline.book.open_structures()
    assert held.quantity == 1 and held.entry_price == pytest.approx(-3.4)
    (retry,) = day.algo.calls["combo"][1:]
    assert retry[1] == -1  # the one condor still to sell
    assert not any("orphan leg" in e for e in day.algo.errors)
    day.algo.transactions.auto_fill = True
    day.run(time(10, 32), time(10, 45))
    assert len(day.algo.calls["combo"]) == 1 + 1 + day.runtime.settings.fill_max_reprices - 1
    assert [s.quantity for s in day.runtime.pipeline.book.open_structures()] == [1]
    assert any("1 of 2 filled" in line for line in day.algo.logs)
    assert_sound(day)


def test_an_spxw_condor_settles_in_cash_and_is_booked_at_the_next_session(main: ModuleType) -> None:
    """A condor (3.40 credit) that could not be closed (the broker never filled the exit) expires with SPX at
    5050, the short 5070 put 20 in the money and its 5060 wing 10: LEAN settles both in cash at midnight
    (−1,000) and delivers nothing; Monday's settlement books the condor at −6.60 a unit."""
    day = condor_sold_for_3_40(main)
    cash = day.algo.portfolio.cash
    day.run(time(10, 31), time(16, 0), spx=5050.0)
    day.next_day(MONDAY)
    day.minute(time(9, 31))
    exercises = [o for o in day.algo.orders if o["type"] is fake.OrderType.OPTION_EXERCISE]
    assert len(exercises) == 4 and not [
        o for o in sent(day) if o["symbol"].security_type is not fake.SecurityType.INDEX_OPTION
    ]
    assert day.algo.portfolio.cash - cash == pytest.approx(-1_000.0)
    [trade] = [t for t in day.runtime.closed if t.strategy == "zero_dte"]
    assert trade.pnl == pytest.approx((3.40 - 10.0) * 100)
    assert day.runtime.safety.state.state is TradingState.ACTIVE
    assert_sound(day)


def test_a_held_condor_is_stopped_in_the_minute_spx_breaks_through(main: ModuleType) -> None:
    """RULEBOOK 0DTE: a held 0DTE is checked every minute. The condor sold at 10:30 for 3.40 (shorts 5070 put
    and 5130 call, 10-point wings) is quiet to 10:36; at 10:37 SPX trades at 5030, the put spread is worth
    about its 10-point width and the cost to close passes 2 × 3.40 = 6.80. The buy-back goes out in that
    minute, not at the 10:45 management step; nothing else is managed or entered on the minute watch."""
    day = condor_sold_for_3_40(main)
    (condor,) = day.runtime.pipeline.book.open_structures()
    assert condor.entry_price == pytest.approx(-3.40)
    day.run(time(10, 31), time(10, 36))
    assert len(day.algo.calls["combo"]) == 1  # quiet: held
    day.minute(time(10, 37), spx=5030.0)
    (entry, close) = day.algo.calls["combo"]
    assert close[1] == 1 and entry[1] == -1  # the condor bought back
    assert day.runtime.pipeline.sent[(condor.id, -1)].reason.startswith("zero_dte: stop (cost to close")


def test_an_assigned_short_put_is_flattened_and_the_self_check_passes(main: ModuleType) -> None:
    """The LEAP ladder's rung assigned at expiry (tests/test_lean_fixes fix 1), run to the end of the
    algorithm: the self-check line counts the exercise and passes."""
    market = Market(prices={"SPX": 5100.0, "VIX": 15.0, "SPY": 480.0}, bar_ticks=1)
    market.options["SPY"] = OptionListing("SPY", [float(k) for k in range(300, 701)], [FRIDAY], 0.2, 0.04)
    day = LeanDay(main, {"enable_leap_ladder": "true"}, market=market)
    day.warm_up()
    from tests.test_lean_fixes import hold, spy_put

    hold(day, spy_put(day, 500.0), -1, "leap_ladder", -3.0)
    day.run(time(15, 59), time(15, 59))
    day.next_day(MONDAY)
    day.run(time(9, 31), time(9, 33))
    line = assert_sound(day)
    assert "exercises booked 1" in line and "fills 1" in line


def qqq_day(main: ModuleType, events: str | None) -> LeanDay:
    """The IPMCC on QQQ at 440: this Friday's weekly and a January 2025 LEAP listed; `events` is the events
    file in the ObjectStore (None: no file)."""
    market = Market(prices={"SPX": 5100.0, "VIX": 15.0, "QQQ": 440.0}, bar_ticks=1)
    strikes = [float(k) for k in range(300, 561)]
    market.options["QQQ"] = OptionListing("QQQ", strikes, [date(2024, 3, 15), date(2025, 1, 17)], 0.2, 0.04)
    day = LeanDay(main, {"enable_ipmcc": "true"}, market=market)
    if events is not None:
        day.algo.object_store.data["events.csv"] = events
    day.warm_up()
    return day


def test_an_itm_call_short_the_day_before_an_ex_date_is_bought_back_at_15_00(main: ModuleType) -> None:
    """The events file (written by `tasty metrics --write-events`, uploaded to the ObjectStore) says QQQ goes
    ex on Monday 2024-03-11 paying 0.57. The IPMCC holds a January 2025 350 LEAP under the 15 March 400 call,
    40 points in the money with QQQ at 440: its extrinsic is 0.34 (the carry on 400 over a week at 4.5%,
    400 × 0.045 × 7 / 365, on the quotes' cent grid; no time value left), below the dividend, so its holder
    exercises it tonight. At 15:00 the algorithm buys the call back, alone; the LEAP stays."""
    day = qqq_day(main, "root,date,kind,amount\nQQQ,2024-03-11,ex_dividend,0.57\nQQQ,2024-03-11,dividends_through\n")
    qqq = day.security("QQQ").symbol
    leap = fake.Symbol.option(qqq, "QQQ", fake.OptionRight.CALL, 350.0, date(2025, 1, 17))
    call = fake.Symbol.option(qqq, "QQQ", fake.OptionRight.CALL, 400.0, date(2024, 3, 15))
    legs = []
    for symbol, quantity in ((leap, 1), (call, -1)):
        security = day.algo.securities.get(symbol) or day.algo.add_security(fake.Security(symbol))
        security.underlying = day.algo.securities[qqq]
        security.holdings.quantity = quantity
        contract = day.runtime.registry.remember_symbol(symbol)
        assert contract is not None
        legs.append(Leg(contract, quantity))
    when = datetime(2024, 3, 1, 10, 0, tzinfo=day.runtime.now().tzinfo)
    ipmcc = Structure("ipmcc-1", "ipmcc", tuple(legs), 1, 75.0, when, leg_entry_prices=(95.0, 20.0))
    day.runtime.pipeline.book.add_units(ipmcc, 1, 75.0)
    day.run(time(9, 31), time(14, 59))
    assert not [o for o in sent(day) if o["symbol"] == call]  # held until the check
    day.minute(time(15, 0))
    [buy] = [o for o in sent(day) if o["symbol"] == call]
    assert buy["quantity"] == 1 and not [o for o in sent(day) if o["symbol"] == leap]
    [why] = [i.reason for (sid, side), i in day.runtime.pipeline.sent.items() if sid.startswith("ipmcc") and side < 0]
    assert "400 call extrinsic 0.34 is below the 0.57 dividend going ex 2024-03-11 (the rest stays)" in why
    assert any("'events.csv' read; ex-dividend dates listed for QQQ to 2024-03-11" in line for line in day.algo.logs)


def test_without_an_events_file_the_ipmcc_sells_no_call(main: ModuleType) -> None:
    """RULEBOOK: where a shell has no ex-dividend source, strategies that sell calls on dividend payers do
    not open, saying why. No events file in the ObjectStore: the IPMCC's Friday LEAP purchase is refused with
    the reason in the log, and nothing is sent."""
    day = qqq_day(main, None)
    day.run(time(9, 31), time(10, 0))
    assert any("no ObjectStore key 'events.csv'" in line for line in day.algo.logs)
    refused = [line for line in day.algo.logs if line.startswith("refused [events] ipmcc")]
    assert refused and "QQQ pays dividends" in refused[0], day.algo.logs[-20:]
    assert not [o for o in sent(day) if o["symbol"].underlying == day.security("QQQ").symbol]


def gold_market() -> Market:
    """GC futures and their options (LEAN's root OG), the options' expiry 90 days after the second Tuesday."""
    market = Market(prices={"SPX": 5100.0, "VIX": 19.0}, bar_ticks=1)
    august = date(2024, 8, 28)
    market.futures["GC"] = [(august, 2200.0)]
    strikes = [float(k) for k in range(1500, 3001, 25)]
    market.options["GC"] = OptionListing("GC", strikes, [date(2024, 6, 10)], 0.18, 0.3, tick=0.1)  # zero Greeks
    return market


def test_a_gold_future_option_strangle_opens_after_warm_up(main: ModuleType) -> None:
    """The strangles on GC at 150,000 (future options from full_size_from; one GC strangle risks ~2,040 at its
    3× stop, over 2% of 100,000): the chain arrives under LEAN's
    root OG, is read as GC's, the 6- and 5.5-delta strikes are chosen, the combo goes out on LEAN's grid and
    fills, and the book holds the GC strangle LEAN's portfolio holds."""
    tuesday = date(2024, 3, 12)  # the second Tuesday
    overrides = {
        "enable_zero_dte": "false",
        "enable_strangles": "true",
        "strangle_products_future": "GC",
        "starting_cash": "150000",
        "strangle_min_iv_rank": "0",
    }
    day = LeanDay(main, overrides, day=tuesday, market=gold_market())
    day.warm_up()
    day.run(time(9, 31), time(10, 30))
    opened = [s for s in day.runtime.pipeline.book.open_structures() if s.strategy == "strangles"]
    assert len(opened) == 1, [line for line in day.algo.logs if "strangle" in line or "order" in line][-8:]
    legs = {
        (leg.contract.root, leg.contract.right.value if leg.contract.right else "", leg.ratio) for leg in opened[0].legs
    }
    assert legs == {("GC", "put", -1), ("GC", "call", -1)}
    held = {s.id.symbol for s, h in day.algo.portfolio.items() if h.quantity}
    assert held == {"OG"}  # LEAN's root for them
    assert_sound(day)


def test_a_restart_mid_order_then_the_run_ends_sound(main: ModuleType) -> None:
    """The process dies with two legs of a condor filled; the restart closes them (test_lean_shell has the
    detail); the run then ends with the book and LEAN agreeing."""
    day = LeanDay(main, market=Market(prices={"SPX": 5100.0, "VIX": 15.0}, bar_ticks=1))
    day.warm_up()
    day.algo.transactions.auto_fill = False
    day.run(time(9, 31), time(10, 30))
    day.fill(day.algo.orders[0], 3.0)
    day.fill(day.algo.orders[1], 1.0)
    again = day.restart(main)
    again.warm_up(at=time(10, 32))
    again.run(time(10, 33), time(10, 36))
    assert again.runtime.safety.state.state is TradingState.ACTIVE
    assert_sound(again)


def test_a_broker_error_and_a_twenty_minute_outage_then_the_run_ends_sound(main: ModuleType) -> None:
    day = LeanDay(main)
    day.warm_up()
    day.run(time(9, 31), time(9, 40))
    day.engine.brokerage_message(fake.BrokerageMessageType.ERROR, "E1", "order service unavailable")
    day.engine.brokerage_message(fake.BrokerageMessageType.DISCONNECT, "Disconnect", "websocket closed")
    day.run(time(9, 41), time(10, 1))
    day.engine.brokerage_message(fake.BrokerageMessageType.RECONNECT, "Reconnect", "back")
    day.run(time(10, 2), time(10, 5))
    assert day.algo.status is fake.AlgorithmStatus.RUNNING
    assert_sound(day)


def test_live_events_from_two_threads_then_the_run_ends_sound(main: ModuleType) -> None:
    """Live mode over the whole morning: schedules on the real-time thread, data on the algorithm's, the
    broker's fills on its own thread; no two handlers' work interleaves."""
    day = LeanDay(main, market=Market(prices={"SPX": 5100.0, "VIX": 15.0}, bar_ticks=3), live=True)
    day.warm_up()
    day.run(time(9, 31), time(10, 40))
    assert day.algo.threads.interleaved() == [] and not day.algo.threads.errors
    assert {c.thread for c in day.algo.threads.calls} >= {"realtime", "algorithm", "brokerage"}
    assert datetime.combine(FRIDAY, time(10, 40)) == day.algo.time
    assert_sound(day)
