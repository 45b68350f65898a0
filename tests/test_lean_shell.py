"""main.py and lean_bridge/ on the fake AlgorithmImports: what LEAN would be asked to do, and what the
algorithm does with what LEAN tells it (issue #7's done-means, one test each)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from types import ModuleType
from typing import Any

import pytest

from core.model import Contract, ContractKind, Leg, Right, Structure
from core.products import ExerciseStyle, Settlement
from core.settings import Settings
from safety.state import TradingState
from tests.fakes import algorithm_imports as fake
from tests.lean_day import LeanDay

NEW_YORK_OPEN = time(9, 31)


@pytest.fixture
def main() -> Iterator[ModuleType]:
    fake.install()
    try:
        yield importlib.import_module("main")
    finally:
        fake.uninstall()


def friday_with_condor(main: ModuleType, spread: float = 0.10, **overrides: str) -> LeanDay:
    day = LeanDay(main, overrides)
    day.spread = spread
    day.warm_up()
    day.run(NEW_YORK_OPEN, time(10, 30), chains_at=(time(10, 0), time(10, 30)))
    return day


def combo_orders(day: LeanDay) -> list[Any]:
    combos: list[Any] = day.algo.calls.get("combo", [])
    return combos


# ---------------------------------------------------------------------------------------------- initialize


def test_initialize_subscribes_what_the_strategies_need_and_sets_the_models(main: ModuleType) -> None:
    algo = main.OptionsIncomeAlgorithm(Settings().to_parameters() | {"enable_delta_hedge": "true"})
    algo.initialize()
    assert algo.quit_message is None
    assert algo.calls["brokerage"] == (fake.BrokerageName.TASTYTRADE, fake.AccountType.MARGIN)
    assert algo.calls["time_zone"] == "America/New_York"
    assert algo.calls["warm_up"] == (timedelta(days=380), fake.Resolution.DAILY)
    # Every strategy's underlyings, their options, the futures with theirs, MES for the hedge.
    for key in ("SPX", "VIX", "SPY", "QQQ", "GLD", "ES", "CL", "MES", "option:SPXW", "option:QQQ", "option:ES"):
        assert key in algo.subscribed, key
    assert "option:MES" not in algo.subscribed  # LEAN lists no micro future options
    # Filters: SPXW 0DTE-capable; QQQ out to the longest IPMCC LEAP; futures listed beyond their options.
    spxw = fake.OptionFilterUniverse()
    algo.subscribed["option:SPXW"].filter(spxw)
    assert ("include_weeklys", ()) in spxw.calls and ("expiration", (0, 0)) in spxw.calls
    qqq = fake.OptionFilterUniverse()
    algo.subscribed["option:QQQ"].filter(qqq)
    assert ("expiration", (0, 730)) in qqq.calls
    assert algo.subscribed["ES"].filter == (0, 230)  # LT112's 130 days + 100
    # Our fee model on every security, through the brokerage model's initializer.
    from lean_bridge.fees import TastytradeFees, TastytradeSecurities

    assert isinstance(algo.initializer, TastytradeSecurities)
    assert all(isinstance(s.fee_model, TastytradeFees) for s in algo.securities.values())
    # Daily history for every underlying; the strategies' clock times and the every-minute safety tick.
    assert {s.value for s in algo.consolidators} >= {"SPX", "SPY", "QQQ", "/ES"}
    times = {rule[1] for _, rule, _ in algo.schedule.events if rule[0] == "at"}
    assert {time(9, 30), time(10, 0), time(10, 30), time(10, 15), time(15, 0), time(15, 30)} <= times
    assert len(algo.schedule.every_minute()) == 1
    config_logs = [line for line in algo.logs if line.startswith("effective config")]
    assert len(config_logs) == 1 and "daily_loss_limit = 0.05" in config_logs[0]
    assert algo.calls["start_date"] == (2019, 1, 2) and algo.calls["cash"] == 50_000.0


def test_spxw_reaches_out_to_lt112_when_lt112_trades_spx(main: ModuleType) -> None:
    from lean_bridge.subscriptions import plan

    spx = plan(Settings.from_parameters({"lt112_underlying_full": "SPX"}))
    (spxw,) = [p for p in spx.options if p.root == "SPXW"]
    assert (spxw.underlying, spxw.max_days, spxw.strikes) == ("SPX", 130, 80)
    assert "ES" not in {p.root for p in spx.options} or "ES" in Settings().strangle_products_future


def test_zero_dte_only_subscribes_spxw_for_today_and_nothing_else(main: ModuleType) -> None:
    day = LeanDay(main)
    assert set(day.algo.subscribed) == {"SPX", "VIX", "option:SPXW"}
    universe = fake.OptionFilterUniverse()
    day.security("option:SPXW").filter(universe)
    assert universe.calls == [("include_weeklys", ()), ("strikes", (-80, 80)), ("expiration", (0, 0))]


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
    assert described == [(put, 5070.0, -1), (put, 5060.0, 1), (call, 5130.0, -1), (call, 5140.0, 1)]
    assert quantity == 1 and limit < 0  # one condor, for a credit
    structure_id, _, order_id = tag.partition(" ")
    assert structure_id.startswith("zero_dte-20240308") and order_id.startswith(structure_id)
    assert any("analysis at 10:00" in line for line in day.algo.logs)
    assert any(line.startswith("approved zero_dte") for line in day.algo.logs)
    assert all(leg.symbol.id.date == datetime(2024, 3, 8) for leg in legs)  # noqa: DTZ001  today's expiry


def test_the_start_small_preset_trades_one_condor_with_five_point_wings_at_any_size(main: ModuleType) -> None:
    from deploy.bundle import PRESETS

    # Narrower quotes: with 5-point wings the 0.10-wide ones fail the combined-spread check (as they should).
    day = friday_with_condor(main, spread=0.05, **(PRESETS["start-small"] | {"starting_cash": "250000.0"}))
    ((legs, quantity, _, _),) = combo_orders(day)
    strikes = [leg.symbol.id.strike_price for leg in legs]
    assert quantity == 1 and strikes == [5070.0, 5065.0, 5130.0, 5135.0]


def test_no_condor_on_a_thursday(main: ModuleType) -> None:
    day = LeanDay(main, day=date(2024, 3, 7))
    day.warm_up()
    day.run(NEW_YORK_OPEN, time(10, 31), chains_at=(time(10, 30),))
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


def test_a_leg_lean_refuses_rejects_the_order_and_cancels_the_other_legs(main: ModuleType) -> None:
    day = friday_with_condor(main)
    orders = day.algo.orders
    event = fake.OrderEvent(orders[2]["id"], orders[2]["symbol"], fake.OrderStatus.INVALID, message="margin")
    day.algo.on_order_event(event)
    assert {o["id"] for o in orders} - {orders[2]["id"]} <= set(day.algo.transactions.cancelled)
    assert not day.runtime.safety.fills.working()


# ---------------------------------------------------------------------------------------------- safety


def test_a_disconnect_halts_entries_and_a_reconnect_that_reconciles_resumes(main: ModuleType) -> None:
    day = LeanDay(main)
    day.warm_up()
    day.run(NEW_YORK_OPEN, time(10, 0), chains_at=(time(10, 0),))
    day.algo.on_brokerage_disconnect()
    assert not day.runtime.safety.state.allows_entries()
    day.run(time(10, 1), time(10, 30), chains_at=(time(10, 30),))
    assert not combo_orders(day)
    assert any("refused [trading state] zero_dte" in line for line in day.algo.logs)
    day.algo.on_brokerage_reconnect()
    assert day.runtime.safety.state.state is TradingState.ACTIVE


def test_no_data_for_minutes_in_market_hours_counts_as_a_disconnect(main: ModuleType) -> None:
    day = LeanDay(main)
    day.warm_up()
    day.run(NEW_YORK_OPEN, time(9, 35))
    day.at(time(9, 45))
    for callback in day.algo.schedule.every_minute():  # the tick runs, but no slice came for 10 minutes
        callback()
    assert not day.runtime.safety.state.allows_entries()
    day.minute(time(9, 46))  # data again
    assert day.runtime.safety.state.allows_entries()


def spy_short_put(day: LeanDay) -> tuple[Structure, Any]:
    """A LEAP-ladder rung held: one short SPY put, known to the registry as LEAN's symbol."""
    spy = day.security("SPY").symbol
    expiry = date(2025, 1, 17)
    symbol = fake.Symbol.option(spy, "SPY", fake.OptionRight.PUT, 500.0, expiry)
    contract = Contract(
        "SPY", "SPY", ContractKind.OPTION, 100.0, right=Right.PUT, strike=500.0, expiry=expiry,
        style=ExerciseStyle.AMERICAN, settlement=Settlement.PHYSICAL,
    )  # fmt: skip
    assert day.runtime.registry.remember_symbol(symbol) == contract
    when = datetime(2024, 3, 1, 10, 0, tzinfo=day.runtime.now().tzinfo)
    rung = Structure("leap_ladder-rung-1", "leap_ladder", (Leg(contract, -1),), 1, -20.0, when)
    day.runtime.pipeline.book.add_units(rung, 1, -20.0)
    return rung, symbol


def test_an_assignment_flattens_the_delivered_shares_and_says_so(main: ModuleType) -> None:
    day = LeanDay(main, {"enable_leap_ladder": "true"})
    day.warm_up()
    day.run(NEW_YORK_OPEN, time(10, 0))
    _, option = spy_short_put(day)
    spy = day.security("SPY")
    spy.price, spy.bid_price, spy.ask_price = 480.0, 479.99, 480.01
    day.algo.portfolio[spy.symbol] = fake.SecurityHolding(spy.symbol, 100.0)  # LEAN delivered the shares
    event = fake.OrderEvent(77, option, fake.OrderStatus.FILLED, 1.0, 0.0, datetime(2024, 3, 8, 15))  # noqa: DTZ001
    day.algo.on_assignment_order_event(event)
    (flatten,) = day.algo.calls["limit"]
    symbol, quantity, price, tag = flatten
    assert symbol == spy.symbol and quantity == -100 and price == pytest.approx(480.0, abs=0.05)
    assert "delivered" in tag
    assert any("[CRITICAL] assignment" in line and "assigned" in line for line in day.algo.errors)
    # The book follows LEAN at once: the assigned put is gone, the delivered shares are in it. (It used to
    # keep the put, so the next reconciliation found a difference and halted trading.)
    assert day.runtime.pipeline.book.positions() == day.runtime.holdings()
    assert day.runtime.reconcile(day.runtime.now())


def test_a_long_put_lean_exercises_at_expiry_is_booked_and_its_short_shares_flattened(main: ModuleType) -> None:
    """LEAN's exercise model removes an exercised long option through OnOrderEvent only (IsAssignment false,
    from its own OptionExercise order). Ignored, the book kept the put while LEAN held -100 shares, and the
    next reconciliation halted trading."""
    day = LeanDay(main, {"enable_leap_ladder": "true"})
    day.warm_up()
    day.run(NEW_YORK_OPEN, time(10, 0))
    spy = day.security("SPY")
    expiry = date(2024, 3, 8)
    symbol = fake.Symbol.option(spy.symbol, "SPY", fake.OptionRight.PUT, 500.0, expiry)
    contract = day.runtime.registry.remember_symbol(symbol)
    assert contract is not None
    when = datetime(2024, 3, 1, 10, 0, tzinfo=day.runtime.now().tzinfo)
    hedge = Structure("lt112-1", "lt112", (Leg(contract, 1),), 1, 21.0, when, leg_entry_prices=(21.0,))
    day.runtime.pipeline.book.add_units(hedge, 1, 21.0)
    spy.price, spy.bid_price, spy.ask_price = 480.0, 479.99, 480.01
    day.algo.portfolio[spy.symbol] = fake.SecurityHolding(spy.symbol, -100.0)  # LEAN delivered the sale
    day.algo.transactions.orders[91] = fake.Order(91, symbol, -1.0, type=fake.OrderType.OPTION_EXERCISE)
    removal = fake.OrderEvent(91, symbol, fake.OrderStatus.FILLED, -1.0, 0.0, datetime(2024, 3, 8, 21))  # noqa: DTZ001
    day.algo.on_order_event(removal)
    assert day.runtime.pipeline.book.positions() == day.runtime.holdings()
    assert day.runtime.reconcile(day.runtime.now())
    (flatten,) = day.algo.calls["limit"]
    assert flatten[0] == spy.symbol and flatten[1] == 100  # buy the 100 shares back
    [trade] = [t for t in day.runtime.closed if t.strategy == "lt112"]
    assert trade.pnl == pytest.approx((20.0 - 21.0) * 100)  # bought for 21.00, exercised at 20.00 intrinsic
    assert any("[CRITICAL] assignment" in line and "exercised x1" in line for line in day.algo.errors)


def test_a_close_larger_than_the_holding_is_never_sent(main: ModuleType) -> None:
    day = LeanDay(main, {"enable_leap_ladder": "true"})
    day.warm_up()
    rung, option = spy_short_put(day)  # in the book, but LEAN holds none of it
    from core.orders import SubmitOrder
    from lean_bridge.orders import OrderRouter

    router = OrderRouter(day.algo, day.runtime.registry, 60)
    close = SubmitOrder("x#1", rung, -1, 1, -2.0, safety=False)  # buy the short put back, 2.00 at most
    assert "would open" in (router.send(close, {}) or "")  # nothing held: it would buy to open
    held = {rung.legs[0].contract: -1}
    assert "larger than the 1 held" in (router.send(SubmitOrder("x#2", rung, -1, 2, -2.0, safety=False), held) or "")
    assert "limit" not in day.algo.calls
    assert router.send(close, held) is None
    assert day.algo.calls["limit"] == [(option, 1, 2.0, f"{rung.id} x#1")]


def test_a_zero_limit_goes_out_one_tick_marketable_never_as_a_combo_market_order(main: ModuleType) -> None:
    from core.orders import SubmitOrder
    from lean_bridge.orders import lean_limit

    day = friday_with_condor(main)
    (tracked,) = day.runtime.safety.fills.tracked.values()
    opening = SubmitOrder("o#1", tracked.structure, 1, 1, 0.0, safety=False)
    closing = SubmitOrder("c#1", tracked.structure, -1, 1, 0.0, safety=False)
    assert lean_limit(opening) == 0.05 and lean_limit(closing) == -0.05  # SPXW tick under 3.00


# ---------------------------------------------------------------------------------------------- state


def test_state_saved_at_the_end_of_the_day_restores_in_a_new_instance(main: ModuleType) -> None:
    day = friday_with_condor(main)
    for order, price in zip(day.algo.orders, (3.0, 1.0, 2.0, 0.6), strict=True):
        day.fill(order, price)
    day.at(time(16, 0))
    day.algo.on_end_of_day(day.security("SPX").symbol)
    assert any("daily summary" in line for line in day.algo.logs)
    (held,) = day.runtime.pipeline.book.open_structures()

    restarted = LeanDay(main)
    restarted.algo.object_store.data = dict(day.algo.object_store.data)
    restarted.algo.portfolio.update(day.algo.portfolio)  # LEAN reports the same holdings
    restarted.warm_up()
    (restored,) = restarted.runtime.pipeline.book.open_structures()
    assert restored == held
    assert restarted.runtime.safety.state.state is TradingState.ACTIVE
    assert not restarted.algo.errors


def test_a_restart_between_an_order_and_its_fill_closes_the_legs_that_filled_alone(main: ModuleType) -> None:
    day = friday_with_condor(main)
    day.fill(day.algo.orders[0], 3.0)  # the short put ...
    day.fill(day.algo.orders[1], 1.0)  # ... and its wing filled; then the process dies
    restarted = LeanDay(main)
    restarted.algo.object_store.data = dict(day.algo.object_store.data)
    restarted.algo.portfolio.update(day.algo.portfolio)
    restarted.algo.securities.update(
        {s: sec for s, sec in day.algo.securities.items() if s not in restarted.algo.securities}
    )
    restarted.warm_up()
    assert restarted.runtime.safety.state.state is TradingState.ACTIVE  # the holdings are what the state expects
    closes = restarted.algo.calls.get("limit", [])
    held = {day.algo.orders[0]["symbol"]: 1, day.algo.orders[1]["symbol"]: -1}  # buy back the short, sell the wing
    assert {(symbol, quantity) for symbol, quantity, _, _ in closes} == set(held.items())


def test_a_restart_that_finds_different_holdings_halts_and_adopts_them(main: ModuleType) -> None:
    day = friday_with_condor(main)
    for order, price in zip(day.algo.orders, (3.0, 1.0, 2.0, 0.6), strict=True):
        day.fill(order, price)
    restarted = LeanDay(main)
    restarted.algo.object_store.data = dict(day.algo.object_store.data)
    first = day.algo.orders[0]["symbol"]
    restarted.algo.portfolio[first] = fake.SecurityHolding(first, -1.0)  # only one leg is still held
    restarted.warm_up()
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
        restarted = LeanDay(main, {"drawdown_reset_peak": reset})
        restarted.algo.object_store.data = dict(day.algo.object_store.data)
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
    day.run(time(10, 31), time(10, 31))  # the fill checks' timeout passes: the cancel goes out
    legs = [o["id"] for o in day.algo.orders]
    assert day.algo.transactions.cancelled == legs
    assert len(combo_orders(day)) == 1  # nothing new until LEAN says the legs are cancelled
    for order in day.algo.orders[:3]:
        day.algo.on_order_event(fake.OrderEvent(order["id"], order["symbol"], fake.OrderStatus.CANCELED))
    assert len(combo_orders(day)) == 1  # one leg still open at LEAN
    last = day.algo.orders[3]
    day.algo.on_order_event(fake.OrderEvent(last["id"], last["symbol"], fake.OrderStatus.CANCELED))
    second = combo_orders(day)[1]
    assert second[1] == 1 and second[2] > first[2]  # the same condor, for a smaller credit (toward natural)


@pytest.mark.parametrize("next_seen", [date(2024, 3, 11), date(2024, 3, 12)])  # Monday, or Tuesday after a restart
def test_a_condor_that_expired_leaves_the_book_at_its_settlement_next_session(
    main: ModuleType, next_seen: date
) -> None:
    """Settled at the close of its own expiry day, whenever the algorithm next sees a session (after a restart
    over the weekend and Monday, the close it needs is still Friday's)."""
    day = friday_with_condor(main)
    for order, price in zip(day.algo.orders, (3.0, 1.0, 2.0, 0.6), strict=True):
        day.fill(order, price)
    assert day.runtime.pipeline.book.structures
    spx = day.security("SPX").symbol
    friday = datetime(2024, 3, 8)  # noqa: DTZ001  LEAN's daily bar of the expiry day, between the shorts
    day.algo.consolidators[spx](fake.TradeBar(friday, 5100.0, 5110.0, 5090.0, 5105.0))
    for symbol in list(day.algo.portfolio):  # LEAN removes the expired options from the portfolio
        day.algo.portfolio[symbol].quantity = 0
    day.day = next_seen  # after the DST change
    day.minute(NEW_YORK_OPEN)
    assert not day.runtime.pipeline.book.structures  # settled out of the money: nothing left, no mismatch
    (settled,) = [t for t in day.runtime.closed if t.strategy == "zero_dte"]
    assert settled.exit_price == 0.0 and settled.pnl == pytest.approx(340.0)  # the 3.40 credit kept
    assert day.runtime.safety.state.state is TradingState.ACTIVE and not day.algo.errors


@pytest.mark.parametrize(
    ("interval", "expected"), [("15", [time(10, 45)]), ("5", [time(10, 35), time(10, 40), time(10, 45)])]
)
def test_open_structures_are_managed_every_manage_interval_minutes(
    main: ModuleType, interval: str, expected: list[time]
) -> None:
    day = friday_with_condor(main, manage_interval_minutes=interval)
    for order, price in zip(day.algo.orders, (3.0, 1.0, 2.0, 0.6), strict=True):
        day.fill(order, price)
    steps: list[time] = []
    day.runtime._step = lambda market: steps.append(market.time.time())
    day.run(time(10, 31), time(10, 49))
    assert steps == expected


def test_the_assignment_checks_run_before_an_early_close(main: ModuleType) -> None:
    """Regression: the checks were due at 15:00 and 15:30 only, after a 13:00 close."""
    day = LeanDay(main, day=date(2018, 11, 23))  # the Friday after Thanksgiving closes at 13:00
    day.warm_up()
    steps: list[time] = []
    day.runtime._step = lambda market: steps.append(market.time.time())
    day.run(time(11, 55), time(12, 35))
    assert steps == [time(12, 0), time(12, 30)]
