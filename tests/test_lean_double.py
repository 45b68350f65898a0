"""The LEAN double's own tests: each behaviour it emulates, against the facts read in LEAN's C# source (the
citations are in tests/fakes/lean/*). A small algorithm records what LEAN calls it with, and what its portfolio
held at that moment."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from tests.fakes.lean.algorithm import LeanTimeout, QCAlgorithm
from tests.fakes.lean.brokerage import BrokerageModelSecurityInitializer, TastytradeFeeModel
from tests.fakes.lean.engine import AlgorithmStopped, LeanEngine, Market, OptionListing
from tests.fakes.lean.enums import (
    AlgorithmStatus,
    BrokerageMessageType,
    BrokerageName,
    OptionRight,
    OrderStatus,
    OrderType,
    SecurityType,
)
from tests.fakes.lean.hours import SecurityExchangeHours, hours_for
from tests.fakes.lean.orders import ArgumentException, Leg, Order, OrderEvent, round_price
from tests.fakes.lean.securities import GetMinimumPriceVariationParameters, Security
from tests.fakes.lean.symbols import FuturesOptionsSymbolMappings, Symbol
from tests.fakes.lean.universe import InvalidOperationException, OptionFilterUniverse, UniverseRow

FRIDAY = date(2024, 3, 8)
PUT, CALL = OptionRight.PUT, OptionRight.CALL


class Recorder(QCAlgorithm):
    """Records every event with the holdings LEAN's portfolio showed while the handler ran."""

    def initialize(self) -> None:
        self.set_brokerage_model(BrokerageName.TASTYTRADE)
        self.set_cash(100_000)
        self.seen: list[tuple[str, Any, dict[str, float]]] = []

    def _held(self) -> dict[str, float]:
        return {str(s): h.quantity for s, h in self.portfolio.items() if h.quantity}

    def on_order_event(self, event: OrderEvent) -> None:
        self.seen.append(("order", event, self._held()))

    def on_assignment_order_event(self, event: OrderEvent) -> None:
        self.seen.append(("assignment", event, self._held()))

    def on_brokerage_message(self, message: Any) -> None:
        self.seen.append(("message", message, {}))

    def on_brokerage_disconnect(self) -> None:
        self.seen.append(("disconnect", None, {}))

    def on_brokerage_reconnect(self) -> None:
        self.seen.append(("reconnect", None, {}))


def spxw_engine(spread: float = 0.10) -> tuple[LeanEngine, Recorder, Symbol]:
    market = Market(prices={"SPX": 5100.0})
    market.options["SPXW"] = OptionListing(
        "SPXW", [5000.0 + 10 * i for i in range(21)], [FRIDAY], 0.2, spread, tick=0.05
    )
    algo = Recorder()
    engine = LeanEngine(algo, market)
    engine.initialize()
    spx = algo.add_index("SPX")
    algo.add_index_option(spx.symbol, "SPXW").set_filter(lambda u: u.strikes(-10, 10).expiration(0, 0))
    return engine, algo, spx.symbol


def spxw(spx: Symbol, right: OptionRight, strike: float, expiry: date = FRIDAY) -> Symbol:
    return Symbol.option(spx, "SPXW", right, strike, expiry)


def at(clock: time, day: date = FRIDAY) -> datetime:
    return datetime.combine(day, clock)


# ---------------------------------------------------------------------------------------------- enums and symbols


def test_enum_values_are_leans_own() -> None:
    assert OrderType.COMBO_LIMIT.value == 9 and OrderType.OPTION_EXERCISE.value == 6
    assert OrderStatus.INVALID.value == 7 and OrderStatus.CANCEL_PENDING.value == 8
    assert SecurityType.FUTURE_OPTION.value == 8 and SecurityType.INDEX_OPTION.value == 10
    assert BrokerageMessageType.DISCONNECT.value == 4 and BrokerageName.TASTYTRADE.value == 32


def test_future_option_roots_are_mapped_from_the_future() -> None:
    gc = Symbol.future("GC", date(2024, 6, 26))
    assert Symbol.option(gc, "GC", CALL, 2400.0, date(2024, 5, 28)).id.symbol == "OG"
    es = Symbol.future("ES", date(2024, 6, 21))
    assert Symbol.option(es, "ES", PUT, 5000.0, date(2024, 6, 21)).id.symbol == "ES"  # not in the table
    assert [FuturesOptionsSymbolMappings.map(r) for r in ("CL", "ZB", "6E", "nq")] == ["LO", "OZB", "EUU", "NQ"]
    assert FuturesOptionsSymbolMappings.map_from_option("OG") == "GC"
    assert FuturesOptionsSymbolMappings.map_from_option("XYZ") == "XYZ"


# ---------------------------------------------------------------------------------------------- hours and ticks


def test_each_security_has_its_own_hours_from_the_market_hours_database() -> None:
    spx = hours_for(Symbol.plain("SPX", SecurityType.INDEX))
    option = hours_for(Symbol.option(Symbol.plain("SPY", SecurityType.EQUITY), "SPY", PUT, 500.0, FRIDAY))
    es = hours_for(Symbol.future("ES", date(2024, 6, 21)))
    assert spx.time_zone == "America/Chicago" and spx.session(FRIDAY) == (at(time(8, 30)), at(time(15, 15)))
    assert option.session(FRIDAY) == (at(time(9, 30)), at(time(16, 0)))
    assert es.session(FRIDAY) == (at(time(9, 30)), at(time(17, 0)))
    black_friday = date(2024, 11, 29)
    assert spx.session(black_friday) == (at(time(8, 30), black_friday), at(time(12, 0), black_friday))  # 13:00 NY
    assert option.session(black_friday) == (at(time(9, 30), black_friday), at(time(13, 0), black_friday))
    assert spx.session(date(2024, 11, 28)) is None  # Thanksgiving


def test_minimum_price_variation_follows_the_symbol_properties_database() -> None:
    spx = Symbol.plain("SPX", SecurityType.INDEX)
    option = Security(spxw(spx, PUT, 5000.0))
    assert (
        option.price_variation_model.get_minimum_price_variation(GetMinimumPriceVariationParameters(option, 2.9))
        == 0.05
    )
    assert (
        option.price_variation_model.get_minimum_price_variation(GetMinimumPriceVariationParameters(option, 3.0))
        == 0.10
    )
    es_option = Security(Symbol.option(Symbol.future("ES", date(2024, 6, 21)), "ES", PUT, 5000.0, date(2024, 6, 21)))
    assert es_option.symbol_properties.minimum_price_variation == 0.25  # no row: the future's
    assert es_option.symbol_properties.contract_multiplier == 50.0
    spy = Security(Symbol.option(Symbol.plain("SPY", SecurityType.EQUITY), "SPY", PUT, 500.0, FRIDAY))
    assert spy.symbol_properties.minimum_price_variation == 0.01
    assert round_price(1.125, 0.05) == pytest.approx(1.10) and round_price(1.175, 0.05) == pytest.approx(1.20)
    assert round_price(0.05, 0.25) == 0.0  # a one-tick ES stand-in on the 0.05 grid rounds to nothing


# ---------------------------------------------------------------------------------------------- universes


def spy_rows(price_strikes: list[float], expiries: list[date]) -> list[UniverseRow]:
    spy = Symbol.plain("SPY", SecurityType.EQUITY)
    return [UniverseRow(Symbol.option(spy, "SPY", PUT, k, e)) for k in price_strikes for e in expiries]


def test_strikes_counts_listed_strikes_not_dollars() -> None:
    rows = spy_rows([float(k) for k in range(400, 601)], [date(2024, 3, 15)])
    # 500.4 is no strike: the next one above (501) is the centre, the upper bound one lower.
    universe = OptionFilterUniverse(rows, 500.4, FRIDAY).strikes(-2, 2)
    assert sorted({r.symbol.id.strike_price for r in universe.data}) == [499.0, 500.0, 501.0, 502.0]
    exact = OptionFilterUniverse(rows, 500.0, FRIDAY).strikes(-2, 2)
    assert sorted({r.symbol.id.strike_price for r in exact.data}) == [498.0, 499.0, 500.0, 501.0, 502.0]
    above = OptionFilterUniverse(rows, 500.4, FRIDAY).strikes(1, 3)
    assert sorted({r.symbol.id.strike_price for r in above.data}) == [501.0, 502.0, 503.0]
    assert OptionFilterUniverse(rows, 700.0, FRIDAY).strikes(-5, 5).data == []


def test_expiration_is_inclusive_calendar_days_and_include_weeklys_changes_nothing() -> None:
    rows = spy_rows([500.0], [FRIDAY, date(2024, 3, 15), date(2024, 3, 22)])
    chosen = OptionFilterUniverse(rows, 500.0, FRIDAY).include_weeklys().expiration(0, 7)
    assert [r.symbol.id.date.date() for r in chosen.data] == [FRIDAY, date(2024, 3, 15)]
    es = Symbol.future("ES", date(2024, 6, 21))
    fop = [UniverseRow(Symbol.option(es, "ES", PUT, 5000.0, date(2024, 6, 21)))]
    with pytest.raises(InvalidOperationException, match="future options"):
        OptionFilterUniverse(fop, 5100.0, FRIDAY).delta(-0.3, -0.1)


def test_the_engine_selects_the_filtered_contracts_and_keeps_held_ones_in_the_chain() -> None:
    engine, _, _ = spxw_engine()
    engine.step(at(time(9, 31)))
    chain = next(iter(engine.slice(at(time(9, 31))).option_chains.values()))
    strikes = sorted({c.strike for c in chain})
    assert strikes[0] == 5000.0 and strikes[-1] == 5200.0  # ±10 strikes of 10 points around 5100
    assert all(c.greeks.delta == 0.0 for c in chain)  # no price model: LEAN's zeros


# ---------------------------------------------------------------------------------------------- orders


def condor_legs(spx: Symbol) -> list[Leg]:
    return [
        Leg.create(spxw(spx, PUT, 5050.0), -1),
        Leg.create(spxw(spx, PUT, 5040.0), 1),
        Leg.create(spxw(spx, CALL, 5150.0), -1),
        Leg.create(spxw(spx, CALL, 5160.0), 1),
    ]


def test_combo_orders_are_checked_rounded_and_acknowledged_inside_the_call() -> None:
    engine, algo, spx = spxw_engine()
    engine.step(at(time(9, 31)))
    with pytest.raises(ArgumentException, match=r"reduced from 1x\(-2 .*to 2x\(-1"):
        algo.combo_limit_order([Leg.create(s.symbol, 2 * s.quantity) for s in condor_legs(spx)], 1, -1.0)
    with pytest.raises(ArgumentException, match="requires a limit price"):
        algo.combo_limit_order(condor_legs(spx), 1, 0.0)
    tickets = algo.combo_limit_order(condor_legs(spx), 2, -1.234, tag="ic-1 ic-1#1")
    assert [t.order_id for t in tickets] == [1, 2, 3, 4]
    assert [o.quantity for o in algo.transactions.orders.values()] == [-2, 2, -2, 2]
    assert [o.limit_price for o in algo.transactions.orders.values()] == pytest.approx([-1.25] * 4)  # 0.05 grid
    submitted = [e for kind, e, _ in algo.seen if kind == "order"]
    assert [e.status for e in submitted] == [OrderStatus.SUBMITTED] * 4  # raised inside combo_limit_order
    assert any("rounded to" in line for line in algo.errors)


def test_a_failed_pre_order_check_returns_one_invalid_ticket_and_sends_nothing() -> None:
    engine, algo, spx = spxw_engine()
    engine.step(at(time(9, 31)))
    (ticket,) = algo.combo_limit_order(
        [Leg.create(spxw(spx, PUT, 5050.0), 1), Leg.create(spxw(spx, PUT, 5040.0), -1)], 0, 1.0
    )
    assert ticket.order_id == -10 and ticket.status is OrderStatus.INVALID and not algo.transactions.orders
    assert not algo.seen
    with pytest.raises(InvalidOperationException):  # not a security at all
        algo.limit_order(Symbol.plain("AAPL", SecurityType.EQUITY), 1, 100.0)


def test_the_tastytrade_model_refuses_a_combo_leg_through_zero_and_invalidates_every_leg() -> None:
    engine, algo, spx = spxw_engine()
    engine.step(at(time(9, 31)))
    short_put = algo.securities[spxw(spx, PUT, 5050.0)]
    short_put.holdings.quantity = 1  # long 1; the combo sells 2 of it
    tickets = algo.combo_limit_order(condor_legs(spx), 2, -1.0)
    assert [t.status for t in tickets] == [OrderStatus.INVALID] * 4
    invalid = [e for kind, e, _ in algo.seen if kind == "order"]
    assert len(invalid) == 4 and "cross the zero holdings threshold" in invalid[0].message
    assert algo.status is AlgorithmStatus.RUNNING
    (refused,) = algo.combo_limit_order([Leg.create(spx, 1), Leg.create(spxw(spx, PUT, 5000.0), 1)], 1, 1.0)[:1]
    assert refused.status is OrderStatus.INVALID  # an index is not tradable at TastyTrade


def test_a_combo_limit_fills_the_next_step_only_strictly_through_its_limit_all_legs_at_once() -> None:
    engine, algo, spx = spxw_engine()
    engine.step(at(time(10, 0)))
    legs = condor_legs(spx)
    natural = sum(
        leg.quantity
        * (algo.securities[leg.symbol].ask_price if leg.quantity > 0 else algo.securities[leg.symbol].bid_price)
        for leg in legs
    )
    algo.combo_limit_order(legs, 1, round(natural, 2))  # exactly at natural: LEAN wants strictly through
    engine.step(at(time(10, 1)))
    assert all(o.status is OrderStatus.SUBMITTED for o in algo.transactions.orders.values())
    algo.combo_limit_order(legs, 1, round(natural, 2) + 0.05)
    assert not [e for k, e, _ in algo.seen if k == "order" and e.status is OrderStatus.FILLED]  # not this step
    engine.step(at(time(10, 2)))
    fills = [(e, held) for k, e, held in algo.seen if k == "order" and e.status is OrderStatus.FILLED]
    assert len(fills) == 4 and len(fills[0][1]) == 4  # the whole portfolio moved before the first event
    assert [e.order_fee.value.amount for e, _ in fills] == [1.0] * 4  # LEAN's TastyTrade model: 1.00 to open
    assert algo.portfolio.fees_paid == pytest.approx(4.0)


def test_a_cancel_of_one_leg_cancels_the_group_and_writes_its_tag() -> None:
    engine, algo, spx = spxw_engine()
    engine.step(at(time(10, 0)))
    tickets = algo.combo_limit_order(condor_legs(spx), 1, -9.0, tag="ic-1 ic-1#1")
    algo.seen.clear()
    algo.transactions.cancel_order(tickets[0].order_id)
    assert [(e.order_id, e.status) for _, e, _ in algo.seen] == [(1, OrderStatus.CANCEL_PENDING)]
    assert algo.transactions.orders[1].tag == ""  # cancel_order's default tag overwrote it
    tickets[1].cancel()  # no tag: the order keeps its own
    assert algo.transactions.orders[2].tag == "ic-1 ic-1#1"
    engine.step(at(time(10, 1)))
    canceled = [e.order_id for _, e, _ in algo.seen if e.status is OrderStatus.CANCELED]
    assert canceled == [1, 2, 3, 4]
    again = algo.transactions.cancel_order(3, "late")
    assert again.cancel_request is not None and again.cancel_request.response is not None
    assert again.cancel_request.response.is_error and algo.transactions.orders[3].tag == "late"


# ---------------------------------------------------------------------------------------------- expiry and assignment


def equity_engine(spy_price: float) -> tuple[LeanEngine, Recorder, Security]:
    market = Market(prices={"SPY": spy_price})
    market.options["SPY"] = OptionListing("SPY", [480.0, 500.0, 520.0], [FRIDAY], 0.2, 0.05)
    algo = Recorder()
    engine = LeanEngine(algo, market)
    engine.initialize()
    spy = algo.add_equity("SPY")
    algo.add_option(spy.symbol).set_filter(lambda u: u.strikes(-5, 5).expiration(0, 30))
    engine.step(at(time(15, 59)))
    return engine, algo, spy


def test_an_assigned_short_put_delivers_only_after_the_assignment_handler_ran() -> None:
    engine, algo, spy = equity_engine(480.0)
    put = algo.securities[Symbol.option(spy.symbol, "SPY", PUT, 500.0, FRIDAY)]
    put.holdings.quantity = -1
    engine.step(at(time(9, 31), date(2024, 3, 11)))  # Monday: the midnight step after Friday ran first
    kinds = [(k, str(e.symbol), e.fill_price, e.fill_quantity, held) for k, e, held in algo.seen]
    assert kinds[0][:4] == ("order", str(put.symbol), 0.0, 1.0) and kinds[0][4] == {}  # no shares yet
    assert kinds[1][0] == "assignment" and kinds[1][4] == {}  # still none inside the assignment handler
    assert kinds[2][:4] == ("order", "SPY", 500.0, 100.0) and kinds[2][4] == {"SPY": 100.0}
    first = algo.seen[0][1]
    assert first.is_assignment and first.is_in_the_money and first.order_id == algo.seen[2][1].order_id
    exercise = algo.transactions.get_order_by_id(first.order_id)
    assert exercise is not None
    assert exercise.type is OrderType.OPTION_EXERCISE and exercise.quantity == 1 and exercise.price == 500.0
    assert first.utc_time == datetime(2024, 3, 9, 5, 0)  # noqa: DTZ001  midnight New York after Friday


def test_an_out_of_the_money_expiry_is_one_fill_at_zero_without_delivery() -> None:
    engine, algo, spy = equity_engine(510.0)
    put = algo.securities[Symbol.option(spy.symbol, "SPY", PUT, 500.0, FRIDAY)]
    call = algo.securities[Symbol.option(spy.symbol, "SPY", CALL, 520.0, FRIDAY)]
    put.holdings.quantity, call.holdings.quantity = -2, 1
    engine.step(at(time(9, 31), date(2024, 3, 11)))
    assert [(k, e.fill_price, e.fill_quantity, e.is_in_the_money, e.is_assignment) for k, e, _ in algo.seen] == [
        ("order", 0.0, -1.0, False, False),  # the long call
        ("order", 0.0, 2.0, False, False),  # the short put: no assignment event
    ]
    assert not any(h.quantity for h in algo.portfolio.values())


def test_a_cash_settled_index_option_moves_cash_and_delivers_nothing() -> None:
    engine, algo, spx = spxw_engine()
    engine.step(at(time(15, 59)))
    short_put = algo.securities[spxw(spx, PUT, 5150.0)]
    short_put.holdings.quantity = -1
    cash = algo.portfolio.cash
    engine.step(at(time(9, 31), date(2024, 3, 11)))
    ((kind, event, _), (second, _, _)) = algo.seen
    assert (kind, second) == ("order", "assignment") and event.is_assignment
    assert algo.portfolio.cash == pytest.approx(cash - 50.0 * 100)  # 50 points in the money
    assert not any(h.quantity for h in algo.portfolio.values())


def test_a_deep_short_american_put_near_expiry_is_assigned_early_at_the_hour() -> None:
    market = Market(prices={"SPY": 450.0})
    expiry = date(2024, 3, 11)
    market.options["SPY"] = OptionListing("SPY", [500.0], [expiry], 0.2, 0.05)
    algo = Recorder()
    engine = LeanEngine(algo, market)
    engine.initialize()
    spy = algo.add_equity("SPY")
    algo.add_option(spy.symbol).set_filter(lambda u: u.strikes(-5, 5).expiration(0, 30))
    engine.step(at(time(10, 0)))
    put = algo.securities[Symbol.option(spy.symbol, "SPY", PUT, 500.0, expiry)]
    put.holdings.quantity = -1
    market.quotes[put.symbol] = (49.0, 49.5)  # bid below the 50.00 intrinsic: the holder exercises
    engine.step(at(time(10, 30)))
    assert not algo.seen  # checked once an hour
    engine.step(at(time(11, 0)))
    assert [k for k, _, _ in algo.seen] == ["order", "assignment", "order"]
    assert "Simulated option assignment" in algo.seen[1][1].message


# ---------------------------------------------------------------------------------------------- brokerage


def test_the_tastytrade_fee_model_charges_options_to_open_only_and_futures_both_ways() -> None:
    model = TastytradeFeeModel()
    spy = Security(Symbol.option(Symbol.plain("SPY", SecurityType.EQUITY), "SPY", PUT, 500.0, FRIDAY))
    es = Security(Symbol.future("ES", date(2024, 6, 21)))
    from tests.fakes.lean.brokerage import OrderFeeParameters

    def fee(security: Security, quantity: int, held: int) -> float:
        security.holdings.quantity = held
        return model.get_order_fee(OrderFeeParameters(security, Order(1, security.symbol, quantity))).value.amount

    assert (fee(spy, 10, 0), fee(spy, 1, -1), fee(spy, 11, -10)) == (10.0, 0.0, 0.0)
    assert (fee(es, 1, 0), fee(es, -10, 1)) == (1.25, 12.5)


def test_a_brokerage_error_stops_the_algorithm_before_its_own_handler_sees_it() -> None:
    engine, algo, _ = spxw_engine()
    engine.step(at(time(10, 0)))
    engine.brokerage_message(BrokerageMessageType.ERROR, "500", "order routing failed")
    assert algo.status is AlgorithmStatus.RUNTIME_ERROR and [k for k, _, _ in algo.seen] == ["message"]
    with pytest.raises(AlgorithmStopped):
        engine.step(at(time(10, 1)))


def test_a_disconnect_in_market_hours_stops_the_algorithm_after_fifteen_minutes() -> None:
    engine, algo, _ = spxw_engine()
    engine.step(at(time(10, 0)))
    engine.brokerage_message(BrokerageMessageType.DISCONNECT, "Disconnect", "lost")
    assert [k for k, _, _ in algo.seen] == ["message", "disconnect"]
    engine.run(at(time(10, 1)), at(time(10, 14)))
    running = algo.status
    engine.step(at(time(10, 15)))
    assert (running, algo.status) == (AlgorithmStatus.RUNNING, AlgorithmStatus.RUNTIME_ERROR)
    engine2, algo2, _ = spxw_engine()
    engine2.step(at(time(10, 0)))
    engine2.brokerage_message(BrokerageMessageType.DISCONNECT, "Disconnect", "lost")
    engine2.brokerage_message(BrokerageMessageType.RECONNECT, "Reconnect", "back")
    engine2.run(at(time(10, 1)), at(time(10, 20)))
    assert algo2.status is AlgorithmStatus.RUNNING


def test_a_message_handler_must_implement_both_methods() -> None:
    algo = Recorder()
    algo.initialize()

    class Half:
        def handle_message(self, message: Any) -> None:
            pass

    with pytest.raises(NotImplementedError, match="HandleOrder"):
        algo.set_brokerage_message_handler(Half())


# ---------------------------------------------------------------------------------------------- threads


def test_live_callbacks_run_on_leans_threads_and_interleave_at_lean_calls() -> None:
    engine, algo, spx = spxw_engine()
    algo.live_mode = True
    names: list[str] = []
    algo.on_data = lambda data: names.append(threading.current_thread().name)  # type: ignore[attr-defined]
    algo.schedule.on(
        algo.date_rules.every_day(spx), algo.time_rules.at(10, 0), lambda: names.append(threading.current_thread().name)
    )
    engine.step(at(time(10, 0)))
    assert names == ["realtime", "algorithm"]

    # A callback inside a LEAN call lets another run: without a lock, their LEAN calls interleave.
    def scheduled() -> None:
        algo.log("a1")
        algo.log("a2")

    def brokerage() -> None:
        algo.run_callback("on_order_event", "brokerage", lambda: algo.log("b"))

    algo.threads.interleave("brokerage", brokerage)
    algo.run_callback("scheduled event", "realtime", scheduled)
    algo.threads.join_all()
    assert algo.threads.interleaved()


def test_a_callback_that_keeps_sending_orders_is_stopped_like_leans_time_limit() -> None:
    engine, algo, spx = spxw_engine()
    engine.step(at(time(10, 0)))
    symbol = spxw(spx, PUT, 5050.0)

    def runaway() -> None:
        while True:
            algo.limit_order(symbol, 1, 0.05)

    with pytest.raises(LeanTimeout):
        algo.run_callback("on_order_event", "brokerage", runaway)


def test_an_initializer_of_the_algorithm_replaces_leans_fee_model_on_every_security() -> None:
    algo = Recorder()
    algo.initialize()
    marker = TastytradeFeeModel()

    class Ours(BrokerageModelSecurityInitializer):
        def initialize(self, security: Any) -> None:
            super().initialize(security)
            security.set_fee_model(marker)

    algo.set_security_initializer(Ours(algo.brokerage_model, None))
    assert algo.add_equity("SPY").fee_model is marker
    assert SecurityExchangeHours is not None and timedelta is not None


def test_an_exception_in_the_assignment_handler_costs_the_delivery() -> None:
    """BrokerageTransactionHandler.HandlePositionAssigned has no try/catch: an exception raised in
    on_assignment_order_event leaves EmitOptionNotificationEvents, Brokerage.OnOptionNotification only logs
    it, and the underlying's delivery never happens."""
    engine, algo, spy = equity_engine(480.0)
    put = algo.securities[Symbol.option(spy.symbol, "SPY", PUT, 500.0, FRIDAY)]
    put.holdings.quantity = -1

    def broken(event: OrderEvent) -> None:
        raise RuntimeError("a bug in the handler")

    algo.on_assignment_order_event = broken  # type: ignore[method-assign]
    engine.step(at(time(9, 31), date(2024, 3, 11)))
    assert [k for k, _, _ in algo.seen] == ["order"]  # the option's event only
    assert not spy.holdings.quantity and any("a bug in the handler" in line for line in algo.logs)
    assert algo.status is AlgorithmStatus.RUNNING
