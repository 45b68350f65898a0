"""main.py and lean_bridge/ on the LEAN-faithful double (tests/fakes/lean): what LEAN is asked to do, and what
the algorithm does with what LEAN tells it, on LEAN's clock and in LEAN's event order."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from types import ModuleType
from typing import Any

import pytest

from core.settings import Settings
from safety.state import TradingState
from tests.fakes import algorithm_imports as fake
from tests.fakes.lean.universe import OptionFilterUniverse, UniverseRow
from tests.lean_day import FRIDAY, LeanDay

NEW_YORK_OPEN = time(9, 31)


def friday_with_condor(main: ModuleType, spread: float = 0.10, **overrides: str) -> LeanDay:
    day = LeanDay(main, overrides)
    day.spread = spread
    day.warm_up()
    day.algo.transactions.auto_fill = False  # the tests play the brokerage
    day.run(NEW_YORK_OPEN, time(10, 30))
    return day


def combo_orders(day: LeanDay) -> list[Any]:
    combos: list[Any] = day.algo.calls.get("combo", [])
    return combos


def fill_all(day: LeanDay, prices: tuple[float, ...] = (3.0, 1.0, 2.0, 0.6)) -> None:
    for order, price in zip(day.algo.orders, prices, strict=False):
        day.fill(order, price)


# ---------------------------------------------------------------------------------------------- initialize


def test_initialize_subscribes_what_the_strategies_need_and_sets_the_models(main: ModuleType) -> None:
    algo = main.OptionsIncomeAlgorithm(Settings().to_parameters() | {"enable_delta_hedge": "true"})
    algo.initialize()
    assert algo.quit_message is None
    assert algo.calls["brokerage"] == (fake.BrokerageName.TASTYTRADE, fake.AccountType.MARGIN)
    assert isinstance(algo.brokerage_model, fake.TastytradeBrokerageModel)
    assert algo.calls["time_zone"] == "America/New_York"
    assert algo.calls["warm_up"] == (timedelta(days=380), fake.Resolution.DAILY)
    # Every strategy's underlyings, their options, the futures with theirs, MES for the hedge.
    for key in ("SPX", "VIX", "SPY", "QQQ", "GLD", "ES", "CL", "MES", "option:SPXW", "option:QQQ"):
        assert key in algo.subscribed, key
    assert {"ES", "CL", "GC"} <= set(algo.calls["future_options"]) and "MES" not in algo.calls["future_options"]
    assert algo.subscribed["ES"].filter == (0, 230)  # LT112's 130 days + 100
    # Our fee model on every security, through the brokerage model's initializer; our message handler.
    from lean_bridge.fees import TastytradeFees, TastytradeSecurities
    from lean_bridge.messages import BrokerageMessages

    assert isinstance(algo.initializer, TastytradeSecurities)
    assert all(isinstance(s.fee_model, TastytradeFees) for s in algo.securities.values())
    assert isinstance(algo.brokerage_message_handler, BrokerageMessages)
    # Daily history for every underlying; the strategies' clock times and the every-minute safety tick.
    assert {s.value for s in algo.consolidators} >= {"SPX", "SPY", "QQQ", "/ES"}
    times = {e.time_rule[1] for e in algo.schedule.events if e.time_rule[0] == "at"}
    assert {time(9, 30), time(10, 0), time(10, 30), time(10, 15), time(15, 0), time(15, 30)} <= times
    assert sum(1 for e in algo.schedule.events if e.time_rule == ("every", timedelta(minutes=1))) == 1
    config_logs = [line for line in algo.logs if line.startswith("effective config")]
    assert len(config_logs) == 1 and "daily_loss_limit = 0.05" in config_logs[0]
    assert algo.calls["start_date"] == (2019, 1, 2) and algo.calls["cash"] == 50_000.0


def test_spxw_reaches_out_to_lt112_when_lt112_trades_spx(main: ModuleType) -> None:
    from lean_bridge.subscriptions import plan

    spx = plan(Settings.from_parameters({"lt112_underlying_full": "SPX"}))
    (spxw,) = [p for p in spx.options if p.root == "SPXW"]
    assert (spxw.underlying, spxw.max_days) == ("SPX", 130)
    assert spxw.wants(is_call=False, days=120, moneyness=0.88) and spxw.wants(is_call=True, days=0, moneyness=1.0)
    assert not spxw.wants(is_call=True, days=120, moneyness=1.0)  # LT112 buys and sells puts only


def test_zero_dte_only_subscribes_spxw_for_today_near_the_money(main: ModuleType) -> None:
    day = LeanDay(main)
    assert set(day.algo.subscribed) == {"SPX", "VIX", "option:SPXW"}
    spx = day.security("SPX").symbol
    rows = [
        UniverseRow(fake.Symbol.option(spx, "SPXW", right, float(k), expiry))
        for right in (fake.OptionRight.CALL, fake.OptionRight.PUT)
        for k in range(4000, 6001, 5)
        for expiry in (FRIDAY, FRIDAY + timedelta(days=3))
    ]
    chosen = day.security("option:SPXW").filter(OptionFilterUniverse(rows, 5100.0, FRIDAY))
    strikes = sorted({s.id.strike_price for s in chosen})
    assert {s.id.date.date() for s in chosen} == {FRIDAY}
    assert strikes[0] >= 5100 * 0.92 and strikes[-1] <= 5100 * 1.08 and len(strikes) > 100


def test_a_wrong_parameter_stops_before_anything_is_subscribed(main: ModuleType) -> None:
    algo = main.OptionsIncomeAlgorithm({"zdte_short_delta_min": "2"})
    algo.initialize()
    assert algo.quit_message is not None and "zdte_short_delta_min" in algo.quit_message
    assert not algo.subscribed and algo.runtime is None
    algo.on_data(fake.Slice())  # handlers of a refused start do nothing
    assert not algo.orders


def test_secret_alert_addresses_never_reach_the_log(main: ModuleType) -> None:
    algo = main.OptionsIncomeAlgorithm(
        Settings().to_parameters() | {"alert_webhook_url": "https://hooks.example/T0KEN"}
    )
    algo.initialize()
    assert not any("T0KEN" in line for line in algo.logs)
    assert any("alert_webhook_url = (set, not shown)" in line for line in algo.logs)


# ---------------------------------------------------------------------------------------------- a Friday


def test_a_scripted_friday_sends_the_zero_dte_condor_as_one_combo_limit_order(main: ModuleType) -> None:
    day = friday_with_condor(main)
    combos = combo_orders(day)
    assert len(combos) == 1
    legs, quantity, limit, tag = combos[0]
    described = [(leg.symbol.id.option_right, leg.symbol.id.strike_price, leg.quantity) for leg in legs]
    put, call = fake.OptionRight.PUT, fake.OptionRight.CALL
    # 0.5 ATR (30 points) out from 5100, 10-point wings below the start-small... (50k: the small wing).
    # Sold for a credit: the condor's ratios negated and a quantity of −1, at a positive limit.
    assert described == [(put, 5070.0, 1), (put, 5060.0, -1), (call, 5130.0, 1), (call, 5140.0, -1)]
    assert quantity == -1 and limit > 0
    assert [o["quantity"] for o in day.algo.orders] == [-1, 1, -1, 1]  # the short legs sold
    assert round(limit / 0.05, 6).is_integer()  # on LEAN's 0.05 grid for SPXW combos: its rounding moves nothing
    structure_id, _, order_id = tag.partition(" ")
    assert structure_id.startswith("zero_dte-20240308") and order_id.startswith(structure_id)
    assert any("analysis at 10:00" in line for line in day.algo.logs)
    assert any(line.startswith("approved zero_dte") for line in day.algo.logs)
    assert all(leg.symbol.id.date == datetime(2024, 3, 8) for leg in legs)  # noqa: DTZ001  today's expiry
    assert [o["status"] for o in day.algo.orders] == [fake.OrderStatus.SUBMITTED] * 4


def test_the_start_small_preset_trades_one_condor_with_five_point_wings_at_any_size(main: ModuleType) -> None:
    from deploy.bundle import PRESETS

    # Narrower quotes: with 5-point wings the 0.10-wide ones fail the combined-spread check (as they should).
    day = friday_with_condor(main, spread=0.05, **(PRESETS["start-small"] | {"starting_cash": "250000.0"}))
    ((legs, quantity, _, _),) = combo_orders(day)
    strikes = [leg.symbol.id.strike_price for leg in legs]
    assert quantity == -1 and strikes == [5070.0, 5065.0, 5130.0, 5135.0]


def test_no_condor_on_a_thursday(main: ModuleType) -> None:
    day = LeanDay(main, day=date(2024, 3, 7))
    day.market.options["SPXW"].expiries = [date(2024, 3, 7)]
    day.warm_up()
    day.run(NEW_YORK_OPEN, time(10, 31))
    assert not combo_orders(day)


def test_a_partial_fill_reaches_the_fill_tracker_and_the_whole_fill_the_book(main: ModuleType) -> None:
    day = friday_with_condor(main)
    orders = day.algo.orders
    tracker = day.runtime.safety.fills
    (tracked,) = tracker.tracked.values()
    day.fill(orders[0], 3.0)
    day.fill(orders[1], 1.0)
    assert tracked.filled == {0: -1, 1: 1}  # the short and long put are in, the calls are not
    assert not day.runtime.pipeline.book.structures
    day.fill(orders[2], 2.0)
    day.fill(orders[3], 0.6)
    (held,) = day.runtime.pipeline.book.open_structures()
    assert held.strategy == "zero_dte" and held.entry_price == pytest.approx(-3.4)
    saved = json.loads(day.algo.object_store.read("trading_state"))
    assert [s["id"] for s in saved["structures"]] == [held.id], "state is saved after the fill"
    assert day.runtime.pipeline.book.positions() == day.runtime.holdings()


def test_a_combo_the_broker_rejects_is_not_sent_again_and_leaves_nothing_working(main: ModuleType) -> None:
    day = friday_with_condor(main)
    day.algo.transactions.brokerage_reject(day.algo.orders[2]["id"], "margin")
    assert [o["status"] for o in day.algo.orders] == [fake.OrderStatus.INVALID] * 4
    assert not day.runtime.safety.fills.working()
    day.run(time(10, 31), time(10, 40))
    assert len(combo_orders(day)) == 1  # a rejected structure is not sent again


# ---------------------------------------------------------------------------------------------- safety


def test_a_disconnect_halts_entries_and_a_reconnect_that_reconciles_resumes(main: ModuleType) -> None:
    day = LeanDay(main)
    day.warm_up()
    day.run(NEW_YORK_OPEN, time(10, 0))
    day.engine.brokerage_message(fake.BrokerageMessageType.DISCONNECT, "Disconnect", "lost the session")
    assert not day.runtime.safety.state.allows_entries()
    day.run(time(10, 1), time(10, 30))
    assert not combo_orders(day)
    assert any("refused [trading state] zero_dte" in line for line in day.algo.logs)
    assert day.algo.status is fake.AlgorithmStatus.RUNNING  # our handler: LEAN's default would stop at 10:15
    day.engine.brokerage_message(fake.BrokerageMessageType.RECONNECT, "Reconnect", "back")
    assert day.runtime.safety.state.state is TradingState.ACTIVE


def test_no_data_for_minutes_in_market_hours_counts_as_a_disconnect(main: ModuleType) -> None:
    day = LeanDay(main)
    day.warm_up()
    day.run(NEW_YORK_OPEN, time(9, 35))
    for minute in range(36, 46):  # the clock runs, but no slice comes for 10 minutes
        day.minute(time(9, minute), with_data=False)
    assert not day.runtime.safety.state.allows_entries()
    day.minute(time(9, 46))  # data again
    assert day.runtime.safety.state.allows_entries()


# ---------------------------------------------------------------------------------------------- state


def test_state_saved_at_the_end_of_the_day_restores_in_a_new_instance(main: ModuleType) -> None:
    day = friday_with_condor(main)
    fill_all(day)
    day.run(time(10, 31), time(16, 5))  # the 15:00 exit leaves it unfilled (the tests fill by hand): held
    assert any("daily summary" in line for line in day.algo.logs)  # on_end_of_day at SPX's close − 10 min
    (held,) = day.runtime.pipeline.book.open_structures()
    restarted = day.restart(main)
    restarted.warm_up(at=time(16, 6))
    (restored,) = restarted.runtime.pipeline.book.open_structures()
    assert restored == held
    assert restarted.runtime.safety.state.state is TradingState.ACTIVE
    assert not [e for e in restarted.algo.errors if "CRITICAL" in e]


def test_a_restart_between_an_order_and_its_fill_closes_the_legs_that_filled_alone(main: ModuleType) -> None:
    day = friday_with_condor(main)
    day.fill(day.algo.orders[0], 3.0)  # the short put ...
    day.fill(day.algo.orders[1], 1.0)  # ... and its wing filled; then the process dies
    restarted = day.restart(main)
    restarted.algo.transactions.auto_fill = False
    restarted.warm_up(at=time(10, 32))
    assert restarted.runtime.safety.state.state is TradingState.ACTIVE  # the holdings are what the state expects
    closes = restarted.algo.calls.get("limit", [])
    held = {day.algo.orders[0]["symbol"]: 1, day.algo.orders[1]["symbol"]: -1}  # buy back the short, sell the wing
    assert {(symbol, quantity) for symbol, quantity, _, _ in closes} == set(held.items())


def test_a_restart_that_finds_different_holdings_halts_and_adopts_them(main: ModuleType) -> None:
    day = friday_with_condor(main)
    fill_all(day)
    for order in day.algo.orders[1:]:  # only the first leg is still held when the process comes back
        day.algo.securities[order["symbol"]].holdings.quantity = 0
    restarted = day.restart(main)
    restarted.warm_up(at=time(10, 32))
    assert restarted.runtime.safety.state.state is TradingState.HALTED
    assert any("reconciliation" in line for line in restarted.algo.errors)
    (orphan,) = restarted.runtime.pipeline.book.open_structures()
    assert orphan.strategy == "orphan"


def test_drawdown_reset_peak_measures_drawdown_from_net_liq_at_that_start(main: ModuleType) -> None:
    day = LeanDay(main)
    day.warm_up()
    net = float(day.algo.portfolio.total_portfolio_value)
    day.runtime.system.peak = net / 0.8  # a 20% drawdown, saved as such
    day.runtime.save(day.runtime.now())
    for reset, peak in (("false", net / 0.8), ("true", net)):
        restarted = day.restart(main, {"drawdown_reset_peak": reset})
        restarted.warm_up()
        assert restarted.runtime.system.peak == pytest.approx(peak)
        said = [line for line in restarted.algo.logs if "drawdown peak reset" in line]
        assert bool(said) == (reset == "true")
        assert not said or "drawdown_reset_peak" in said[0]


def test_a_corrupt_state_file_halts_with_a_critical_alert(main: ModuleType) -> None:
    day = LeanDay(main)
    day.algo.object_store.save("trading_state", "{not json")
    day.warm_up()
    assert day.runtime.safety.state.state is TradingState.HALTED
    assert any("corrupt state file" in line for line in day.algo.errors)
    assert day.algo.object_store.contains_key(next(k for k in day.algo.object_store.data if ".corrupt." in k))


def test_an_unfilled_condor_is_repriced_only_after_lean_confirms_the_cancel(main: ModuleType) -> None:
    day = friday_with_condor(main)
    first = combo_orders(day)[0]
    day.algo.transactions.hold_cancels = True  # a live broker that has not confirmed yet
    day.run(time(10, 31), time(10, 31))  # the fill checks' timeout passes: the cancel goes out
    assert [o["status"] for o in day.algo.orders] == [fake.OrderStatus.CANCEL_PENDING] + [
        fake.OrderStatus.SUBMITTED
    ] * 3
    day.run(time(10, 32), time(10, 33))
    assert len(combo_orders(day)) == 1  # nothing new until LEAN says the legs are cancelled
    day.algo.transactions.hold_cancels = False
    day.run(time(10, 34), time(10, 34))
    assert [o["status"] for o in day.algo.orders[:4]] == [fake.OrderStatus.CANCELED] * 4
    second = combo_orders(day)[1]
    assert second[1] == -1 and 0 < second[2] < first[2]  # the same condor sold, for a smaller credit (toward natural)
    assert all(o["tag"] == first[3] for o in day.algo.orders[:4])  # the cancel kept our tag on every leg


@pytest.mark.parametrize("next_seen", [date(2024, 3, 11), date(2024, 3, 12)])  # Monday, or Tuesday after a restart
def test_a_condor_that_expired_leaves_the_book_at_its_settlement_next_session(
    main: ModuleType, next_seen: date
) -> None:
    """Settled at the close of its own expiry day, whenever the algorithm next sees a session (after a restart
    over the weekend and Monday, the close it needs is still Friday's). LEAN expires the options at midnight
    after Friday (out of the money: one fill at 0 each) and the next session books the settlement."""
    day = friday_with_condor(main)
    fill_all(day)
    assert day.runtime.pipeline.book.structures
    day.run(time(10, 31), time(16, 0), spx=5105.0)  # between the shorts at the close
    if next_seen == date(2024, 3, 12):
        day.engine.step(datetime(2024, 3, 9, 0, 0))  # noqa: DTZ001  LEAN expires them; then the process dies
        day = day.restart(main)
        day.next_day(next_seen)
        day.warm_up(at=NEW_YORK_OPEN)
    else:
        day.next_day(next_seen)
    day.minute(NEW_YORK_OPEN)
    assert not day.runtime.pipeline.book.structures  # settled out of the money: nothing left, no mismatch
    (settled,) = [t for t in day.runtime.closed if t.strategy == "zero_dte"]
    assert settled.exit_price == 0.0 and settled.pnl == pytest.approx(340.0)  # the 3.40 credit kept
    assert day.runtime.safety.state.state is TradingState.ACTIVE
    assert not [e for e in day.algo.errors if "CRITICAL" in e]


@pytest.mark.parametrize(
    ("interval", "expected"), [("15", [time(10, 45)]), ("5", [time(10, 35), time(10, 40), time(10, 45)])]
)
def test_open_structures_are_managed_every_manage_interval_minutes(
    main: ModuleType, interval: str, expected: list[time]
) -> None:
    day = friday_with_condor(main, manage_interval_minutes=interval)
    fill_all(day)
    steps: list[time] = []
    day.runtime._step = lambda market: steps.append(market.time.time())
    day.run(time(10, 31), time(10, 49))
    assert steps == expected


def test_the_assignment_checks_run_before_an_early_close(main: ModuleType) -> None:
    """Regression: the checks were due at 15:00 and 15:30 only, after a 13:00 close."""
    black_friday = date(2018, 11, 23)  # the Friday after Thanksgiving closes at 13:00
    day = LeanDay(main, day=black_friday)
    day.market.options["SPXW"].expiries = [black_friday]
    day.warm_up()
    steps: list[time] = []
    day.runtime._step = lambda market: steps.append(market.time.time())
    day.run(time(11, 55), time(12, 35))
    assert steps == [time(12, 0), time(12, 30)]
