"""Regression tests for the ways the LEAN shell went wrong inside the real engine (issue #15, part 2), each on the
LEAN-faithful double and each failing on the shell as it was: named after the fix, with the trader's scenario
in the docstring."""

from __future__ import annotations

import importlib
from datetime import date, datetime, time, timedelta
from types import ModuleType
from typing import Any

import pytest

from core.model import Contract, Leg, Right, Structure, future_contract, option_contract
from core.orders import SubmitOrder
from core.settings import Settings
from safety.state import TradingState
from tests.fakes import algorithm_imports as fake
from tests.fakes.lean.engine import Market, OptionListing
from tests.fakes.lean.hours import ES
from tests.lean_day import FRIDAY, LeanDay

MONDAY = date(2024, 3, 11)


def spy_day(main: ModuleType, spy: float, overrides: dict[str, str] | None = None, live: bool = False) -> LeanDay:
    """The ladder on SPY: SPY and its options listed (this Friday's and the one-year puts), minute bars one tick
    wide so limits at the natural price fill as they do on real minute data."""
    market = Market(prices={"SPX": 5100.0, "VIX": 15.0, "SPY": spy}, bar_ticks=1)
    strikes = [float(k) for k in range(300, 701)]
    market.options["SPY"] = OptionListing("SPY", strikes, [FRIDAY, date(2025, 3, 21)], 0.2, 0.04)
    day = LeanDay(main, {"enable_leap_ladder": "true"} | (overrides or {}), market=market, live=live)
    day.warm_up()
    return day


def hold(day: LeanDay, symbol: fake.Symbol, quantity: int, strategy: str, entry: float) -> Structure:
    """A structure the algorithm holds, as LEAN and the book both know it after its fill."""
    security = day.algo.securities.get(symbol) or day.algo.add_security(fake.Security(symbol))
    security.underlying = day.algo.securities[symbol.underlying] if symbol.underlying else None
    security.holdings.quantity = quantity
    security.holdings.average_price = abs(entry)
    contract = day.runtime.registry.remember_symbol(symbol)
    assert contract is not None
    when = datetime(2024, 3, 1, 10, 0, tzinfo=day.runtime.now().tzinfo)
    structure = Structure(
        f"{strategy}-1", strategy, (Leg(contract, 1 if quantity > 0 else -1),), abs(quantity), entry, when,
        leg_entry_prices=(abs(entry),),
    )  # fmt: skip
    day.runtime.pipeline.book.add_units(structure, abs(quantity), entry)
    day.runtime.save(day.runtime.now())
    return structure


def spy_put(day: LeanDay, strike: float, expiry: date = FRIDAY) -> fake.Symbol:
    return fake.Symbol.option(day.security("SPY").symbol, "SPY", fake.OptionRight.PUT, strike, expiry)


def critical(day: LeanDay) -> list[str]:
    return [e for e in day.algo.errors if "[CRITICAL]" in e]


# ---------------------------------------------------------------------------------------------- 1 and 2: expiry


def test_fix01_a_physical_assignment_never_hangs_and_the_delivery_is_flattened_at_the_open(main: ModuleType) -> None:
    """A ladder rung, short 1 SPY 500 put, expires Friday with SPY at 480: LEAN assigns it at midnight. Its
    events come in LEAN's order: the put's fill, `on_assignment_order_event`, and only then the 100 shares.
    The shell used to flatten inside the assignment handler, before the shares existed: the close was refused
    ("none held"), the fill tracker sent it again at once, for ever, and LEAN killed the algorithm. Now the
    assignment is booked (−20.00 intrinsic against the 3.00 credit: −1,700), nothing is sent while the market
    is closed, and Monday's first minute sells the 100 shares at the bid."""
    day = spy_day(main, 480.0)
    rung = hold(day, spy_put(day, 500.0), -1, "leap_ladder", -3.0)
    day.run(time(15, 59), time(15, 59))
    day.next_day(MONDAY)
    day.minute(time(9, 31))
    assert max(day.algo.orders_in_callback) <= 2  # bounded work in every handler (LEAN's time limit never near)
    [trade] = [t for t in day.runtime.closed if t.strategy == "leap_ladder"]
    assert trade.pnl == pytest.approx((-20.0 + 3.0) * 100) and trade.structure.parent == rung.id
    assert any("assignment" in e and "assigned x1" in e for e in critical(day))
    spy = day.security("SPY").symbol
    [flatten] = [o for o in day.algo.orders if o["symbol"] == spy]
    assert flatten["quantity"] == -100 and flatten["limit"] == pytest.approx(479.99)  # SPY at 480 ± 0.01
    day.minute(time(9, 32))  # LEAN fills it on the next bar
    assert day.algo.securities[spy].holdings.quantity == 0
    assert day.runtime.pipeline.book.positions() == day.runtime.holdings() == {}
    assert day.runtime.safety.state.state is TradingState.ACTIVE


def sent(day: LeanDay) -> list[dict[str, Any]]:
    """The orders the algorithm sent (LEAN's own OptionExercise orders left out)."""
    return [o for o in day.algo.orders if o["type"] is not fake.OrderType.OPTION_EXERCISE]


def test_fix02_an_out_of_the_money_expiry_is_not_an_exercise_with_a_delivery(main: ModuleType) -> None:
    """The same rung with SPY at 510 at the close: LEAN expires it, one fill at 0 for the whole position, no
    assignment event and no shares. The shell used to book every OptionExercise fill as an exercise with a
    delivery (a phantom −100 shares to flatten, and the book against LEAN's holdings off). Now nothing is booked
    at the event, and Monday's settlement books the 3.00 credit kept (+300)."""
    day = spy_day(main, 510.0)
    hold(day, spy_put(day, 500.0), -1, "leap_ladder", -3.0)
    day.run(time(15, 59), time(15, 59))
    day.next_day(MONDAY)
    day.minute(time(9, 31))
    assert not sent(day) and not critical(day)
    [trade] = [t for t in day.runtime.closed if t.strategy == "leap_ladder"]
    assert trade.exit_price == 0.0 and trade.pnl == pytest.approx(300.0)
    assert day.runtime.pipeline.book.positions() == day.runtime.holdings() == {}


def test_a_restart_after_a_friday_expiry_does_not_halt_on_the_expired_legs(main: ModuleType) -> None:
    """Found by the double: a process restarted on Monday loads a book that still holds Friday's expired
    rung while LEAN's holdings no longer do; reconciliation called that a difference and HALTED trading after
    every weekend restart. Expired options are the settlement's business (safety/persistence.expired_by)."""
    day = spy_day(main, 510.0)
    hold(day, spy_put(day, 500.0), -1, "leap_ladder", -3.0)
    day.run(time(15, 59), time(15, 59))
    day.engine.step(datetime(2024, 3, 9, 0, 0))  # noqa: DTZ001  LEAN expires it at midnight; then the process dies
    again = day.restart(main, {"enable_leap_ladder": "true"})
    again.next_day(MONDAY)
    again.warm_up()
    again.minute(time(9, 31))
    assert again.runtime.safety.state.state is TradingState.ACTIVE and not critical(again)
    assert [t.pnl for t in again.runtime.closed] == [pytest.approx(300.0)]


# ---------------------------------------------------------------------------------------------- 3: FOP roots


def test_fix03_future_option_chains_are_read_under_their_futures_root(main: ModuleType) -> None:
    """LEAN's GC options carry the root OG (FuturesOptionsSymbolMappings). The shell used OG as the root: no
    product, so fees and holdings skipped them, and core/chain_greeks raised UnknownProductError inside
    `on_data` during warm-up. Now the chain is GC's, its contracts map back to LEAN's OG symbols, and a root the
    core does not know is skipped and said once."""
    market: Any = importlib.import_module("lean_bridge.market")  # Any: mypy reads lean_bridge against LEAN's stubs
    symbols: Any = importlib.import_module("lean_bridge.symbols")
    chains_from, registry_type, contract_of = market.chains_from, symbols.SymbolRegistry, symbols.contract_of

    gc = fake.Symbol.future("GC", date(2024, 6, 26))
    og = fake.Symbol.option(gc, "GC", fake.OptionRight.PUT, 2000.0, date(2024, 5, 28))
    assert og.id.symbol == "OG"
    contract = contract_of(og)
    assert contract is not None and (contract.root, contract.underlying, contract.multiplier) == ("GC", "GC", 100.0)
    chain = fake.OptionChain(fake.Symbol.canonical(gc, "GC"), 2200.0, [fake.OptionContract(og, 10.0, 10.5)])
    zz = fake.Symbol.future("ZZ", date(2024, 6, 26))
    zz_option = fake.Symbol.option(zz, "ZZ", fake.OptionRight.PUT, 90.0, date(2024, 5, 28))
    unknown = fake.OptionChain(fake.Symbol.canonical(zz, "ZZ"), 100.0, [fake.OptionContract(zz_option, 1.0, 1.1)])
    said: list[str] = []
    registry = registry_type(said.append)
    now = datetime(2024, 3, 8, 10, 0, tzinfo=day_zone())
    chains = chains_from([chain, unknown, unknown], now, registry, Settings())
    assert set(chains) == {"GC"} and len(said) == 1 and "ZZ" in said[0]
    assert registry.symbol(contract) == og


def day_zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/New_York")


# ---------------------------------------------------------------------------------------------- 4: combo sizing


def test_fix04_combo_legs_with_a_common_factor_go_out_divided(main: ModuleType) -> None:
    """An assigned strangle ×4 can leave a structure whose legs are −2/−4 per unit. LEAN raises for leg ratios
    with a common divisor (CheckComboOrderSizing). Sent as 2 × (−1, −2) at half the per-unit limit."""
    day = LeanDay(main)
    day.warm_up()
    day.minute(time(10, 0))
    spx = day.security("SPX").symbol
    symbols = [fake.Symbol.option(spx, "SPXW", fake.OptionRight.PUT, k, FRIDAY) for k in (5000.0, 4950.0)]
    contracts = [day.runtime.registry.remember_symbol(s) for s in symbols]
    legs = (Leg(contracts[0], -2), Leg(contracts[1], -4))
    structure = Structure("odd-1", "strangles", legs, 1, -3.0, day.runtime.now())
    why = day.runtime.router.send(SubmitOrder("odd-1#1", structure, 1, 1, -3.10, False), {}, {})
    assert why is None
    ((lean_legs, quantity, limit, _),) = day.algo.calls["combo"]
    # Sold for a credit: 2 × (+1, +2) sold at 1.55 each, the legs' orders −2 and −4 as the structure means.
    assert [leg.quantity for leg in lean_legs] == [1, 2] and quantity == -2 and limit == pytest.approx(1.55)
    assert [o["quantity"] for o in day.algo.orders] == [-2, -4]


# ---------------------------------------------------------------------------------------------- 5: threads


def test_fix05_live_events_from_two_threads_never_run_at_once(main: ModuleType) -> None:
    """Live: a leg's fill arrives on the brokerage's thread at 10:31, and while its handler waits inside a call
    into LEAN (the GIL is released there) the algorithm thread delivers the 10:31 slice, whose fill checks find
    the order past its timeout and cancel it. The shell guarded with a plain flag: `on_data` saw it set and ran
    its work at once, inside the fill's (the tracker half-way through a fill, cancelling the same order). Now
    every handler's work is queued and run one at a time: no two handlers' calls into LEAN interleave, and the
    fill is booked before the cancel goes out."""
    day = LeanDay(main, live=True)
    day.warm_up()
    day.algo.transactions.auto_fill = False
    day.run(time(9, 31), time(10, 30))
    orders = day.algo.orders
    assert len(orders) == 4
    day.algo.time = datetime.combine(FRIDAY, time(10, 31))
    data = day.engine.slice(day.algo.time)
    day.algo.threads.calls.clear()
    day.algo.threads.interleave("algorithm", lambda: day.algo.dispatch("on_data", data))
    day.fill(orders[0], 3.0)
    day.algo.threads.join_all()
    assert not day.algo.threads.errors
    names = {c.name for c in day.algo.threads.calls}
    assert "get_order_by_id" in names and names & {"cancel_order", "ticket.cancel"}
    assert day.algo.threads.interleaved() == []
    (tracked,) = day.runtime.safety.fills.tracked.values()
    assert tracked.filled == {0: -1}


# ---------------------------------------------------------------------------------------------- 6: messages


def test_fix06_a_broker_error_and_a_long_disconnect_go_through_our_rules_not_leans_stop(main: ModuleType) -> None:
    """LEAN's default message handler stops the algorithm on any broker error and 15 minutes after a
    disconnect in market hours, leaving a live book unmanaged. Ours: an error is a CRITICAL alert and a
    reconciliation when quiet; a disconnect stops entries, WARNING then CRITICAL after 5 minutes, and the
    reconnect reconciles before anything resumes."""
    day = LeanDay(main)
    day.warm_up()
    day.minute(time(9, 40))
    day.engine.brokerage_message(fake.BrokerageMessageType.ERROR, "500", "order routing failed")
    day.minute(time(9, 41))
    assert day.algo.status is fake.AlgorithmStatus.RUNNING
    assert any("brokerage error" in e and "order routing failed" in e for e in critical(day))
    day.engine.brokerage_message(fake.BrokerageMessageType.DISCONNECT, "Disconnect", "session lost")
    day.run(time(9, 42), time(10, 2))  # 20 minutes down in market hours
    assert day.algo.status is fake.AlgorithmStatus.RUNNING
    assert not day.runtime.safety.state.allows_entries()
    assert any("disconnect" in e.lower() for e in critical(day))
    day.engine.brokerage_message(fake.BrokerageMessageType.RECONNECT, "Reconnect", "back")
    assert day.runtime.safety.state.state is TradingState.ACTIVE


def test_an_order_placed_outside_the_algorithm_is_not_adopted_and_is_said(main: ModuleType) -> None:
    day = LeanDay(main)
    day.warm_up()
    order = fake.Order(99, day.security("SPX").symbol, 1)
    assert day.algo.brokerage_message_handler.handle_order(type("Args", (), {"order": order})()) is False
    assert any("order placed outside the algorithm" in e for e in critical(day))


# ---------------------------------------------------------------------------------------------- 7: filters


def test_fix07_the_contracts_each_strategy_selects_are_in_its_chain(main: ModuleType) -> None:
    """SPY lists $1 strikes. `strikes(-40, 40)` kept 460-540 around 500: the ladder's one-year 12-14 delta puts
    (near 0.75 × SPY, ~375) and the IPMCC's 80-delta QQQ LEAPs were never in the chain, so neither could open.
    Filtered by what each strategy selects, they are there, and the chain stays far smaller than the listing."""
    market = Market(prices={"SPX": 5100.0, "VIX": 15.0, "SPY": 500.0, "QQQ": 440.0})
    one_year = date(2025, 3, 21)
    market.options["SPY"] = OptionListing("SPY", [float(k) for k in range(200, 801)], [FRIDAY, one_year], 0.22, 0.05)
    market.options["QQQ"] = OptionListing("QQQ", [float(k) for k in range(200, 701)], [FRIDAY, one_year], 0.25, 0.05)
    day = LeanDay(main, {"enable_leap_ladder": "true", "enable_ipmcc": "true"}, market=market)
    day.warm_up()
    data = day.minute(time(10, 0))
    chains = {str(k.id.symbol): v for k, v in data.option_chains.items()}
    spy = {(c.strike, c.expiry.date(), c.right) for c in chains["SPY"]}
    qqq = {(c.strike, c.expiry.date(), c.right) for c in chains["QQQ"]}
    assert (375.0, one_year, fake.OptionRight.PUT) in spy  # ~13 delta at 22% vol
    assert (360.0, one_year, fake.OptionRight.CALL) in qqq  # ~80 delta at 25% vol
    assert (440.0, FRIDAY, fake.OptionRight.CALL) in qqq  # the weekly call, at the money
    assert len(chains["SPY"]) < 601 * 4 / 2


# ---------------------------------------------------------------------------------------------- 8: ES ticks


def test_fix08_es_option_limits_are_on_the_grid_lean_rounds_to(main: ModuleType) -> None:
    """LEAN has no symbol-properties row for ES options: it rounds their limits to ES's 0.25, ties to even. A
    buy at 2.40 became 2.50 (past the limit asked), and the one-tick 0.05 stand-in for a zero combo limit
    rounded to 0, which LEAN refuses (ComboLimitOrder requires a limit price). The router rounds first, on
    LEAN's grid and on the passive side."""
    from lean_bridge.orders import on_grid

    assert on_grid(2.40, 0.25, buying=True) == 2.25 and on_grid(2.40, 0.25, buying=False) == 2.50
    assert on_grid(0.0, 0.25, buying=True) == 0.25 and on_grid(0.0, 0.25, buying=False) == -0.25
    market = Market(prices={"SPX": 5100.0, "VIX": 15.0})
    june = date(2024, 6, 21)
    market.futures["ES"] = [(june, 5120.0)]
    market.options["ES"] = OptionListing("ES", [float(k) for k in range(4500, 5800, 25)], [june], 0.16, 1.0)
    day = LeanDay(main, {"enable_strangles": "true"}, market=market)
    day.warm_up()
    day.minute(time(10, 0))
    future = fake.Symbol.future("ES", june)
    symbols = [
        fake.Symbol.option(future, "ES", right, k, june)
        for right, k in ((fake.OptionRight.PUT, 4800.0), (fake.OptionRight.CALL, 5450.0))
    ]
    contracts = [day.runtime.registry.remember_symbol(s) for s in symbols]
    assert all(s in day.algo.securities for s in symbols)
    strangle = Structure("es-1", "strangles", tuple(Leg(c, -1) for c in contracts), 1, -8.0, day.runtime.now())
    assert day.runtime.router.send(SubmitOrder("es-1#1", strangle, 1, 1, 0.0, False), {}, {}) is None
    assert day.runtime.router.send(SubmitOrder("es-1#2", strangle, 1, 1, -8.40, False), {}, {}) is None
    limits = [limit for _, _, limit, _ in day.algo.calls["combo"]]
    assert limits == [0.25, 8.5]  # the zero stand-in one tick up; the 8.40 credit asked 8.50 (passive: up)
    assert {o["limit"] for o in day.algo.orders} == {0.25, 8.5}  # LEAN's own rounding moved nothing
    assert not [e for e in day.algo.errors if "rounded" in e]


# ---------------------------------------------------------------------------------------------- 9: the MES hedge


def test_fix09_the_hedges_future_is_listed_and_known_to_the_router(main: ModuleType) -> None:
    """The MES delta hedge asks for a contract no option chain lists; the registry only learnt symbols from
    chains and holdings, so every hedge order was refused ("no LEAN symbol known"). And on 2024-03-08 the March
    contract has 5 sessions left, so the hedge takes June, 105 days out: past the 100 days the MES universe
    listed. Now two quarters are listed, and the contracts LEAN's universes add are registered each session."""
    market = Market(prices={"SPX": 5100.0, "VIX": 15.0})
    june = date(2024, 6, 21)
    market.futures["MES"] = [(date(2024, 3, 15), 5110.0), (june, 5120.0)]
    day = LeanDay(main, {"enable_delta_hedge": "true"}, market=market)
    day.warm_up()
    day.run(time(9, 31), time(9, 31))
    assert day.runtime.futures.front_contract(FRIDAY) == june  # the hedge's own choice
    mes = future_contract("MES", june)
    assert day.runtime.registry.symbol(mes) == fake.Symbol.future("MES", june)
    hedge = Structure("hedge-1", "futures", (Leg(mes, 1),), 1, 5120.0, day.runtime.now())
    assert day.runtime.router.send(SubmitOrder("hedge-1#1", hedge, 1, 1, 5120.25, False), {}, {}) is None
    assert day.algo.calls["limit"][0][1] == 1


# ---------------------------------------------------------------------------------------------- 10: hours


def test_fix10_the_equity_calendar_closes_at_four_not_at_the_index_close(main: ModuleType) -> None:
    """The equity calendar (entries, market-open checks, management, assignment check times) was built from
    the SPX index's hours, which close at 16:15 New York: equity options stop at 16:00. It now comes from the
    market-hours database's equity entry, with or without an equity subscribed."""
    day = LeanDay(main)
    opened, closed = day.runtime.equity_calendar.open_close(FRIDAY)
    assert (opened.time(), closed.time()) == (time(9, 30), time(16, 0))
    assert not day.runtime.equity_calendar.is_open(datetime.combine(FRIDAY, time(16, 5), tzinfo=day_zone()))
    session = day.security("SPX").exchange.hours.session(FRIDAY)
    assert session is not None and session[1].time() == time(15, 15)  # Chicago: 16:15 New York


# ---------------------------------------------------------------------------------------------- 11: cancels


def test_fix11_a_combo_is_cancelled_once_and_keeps_its_tag(main: ModuleType) -> None:
    """Cancelling a combo leg cancels the whole group in LEAN, and `transactions.cancel_order(id, tag)` writes
    the cancel's tag over the order's. The shell cancelled every leg with the tag "cancel requested by the fill
    tracker": four requests (three answered as errors) and no leg still carried the structure's tag. Now one
    request, no tag, and every leg keeps "<structure> <order>"."""
    day = LeanDay(main)
    day.warm_up()
    day.algo.transactions.auto_fill = False
    day.run(time(9, 31), time(10, 30))
    tag = day.algo.orders[0]["tag"]
    day.run(time(10, 31), time(10, 31))  # the fill checks' timeout: the cancel
    tickets = [day.algo.transactions.tickets[o["id"]] for o in day.algo.orders[:4]]
    assert sum(1 for t in tickets if t.cancel_request is not None) == 1
    assert [day.algo.transactions.orders[t.order_id].tag for t in tickets] == [tag] * 4
    assert [t.status for t in tickets] == [fake.OrderStatus.CANCELED] * 4


# ---------------------------------------------------------------------------------------------- 12: zero crossing


def test_fix12_an_opening_combo_that_would_cross_a_holding_is_not_sent(main: ModuleType) -> None:
    """Two 0DTE structures on one day share a strike: the first holds the 5060 put +1, the second sells it ×2.
    TastyTrade's brokerage model refuses a ComboLimit that takes a holding through zero, invalidating every
    leg. The router does not send it, and says why."""
    day = LeanDay(main)
    day.warm_up()
    day.minute(time(10, 0))
    spx = day.security("SPX").symbol
    short, wing = (fake.Symbol.option(spx, "SPXW", fake.OptionRight.PUT, k, FRIDAY) for k in (5060.0, 5050.0))
    contracts: list[Contract] = [day.runtime.registry.remember_symbol(s) for s in (short, wing)]
    spread = Structure("bps-2", "zero_dte", (Leg(contracts[0], -1), Leg(contracts[1], 1)), 2, -1.0, day.runtime.now())
    why = day.runtime.router.send(SubmitOrder("bps-2#1", spread, 1, 2, -1.0, False), {contracts[0]: 1}, {})
    assert why is not None and "through zero" in why and "TastyTrade" in why
    assert "combo" not in day.algo.calls
    assert day.runtime.router.send(SubmitOrder("bps-2#2", spread, 1, 1, -1.0, False), {contracts[0]: 1}, {}) is None


def test_the_runtime_comments_say_what_lean_does(main: ModuleType) -> None:
    """The two descriptions of LEAN the review found wrong."""
    import lean_bridge.fees
    import lean_bridge.orders

    assert "charges futures nothing" not in (lean_bridge.fees.__doc__ or "")
    assert "combo *market* order" not in (lean_bridge.orders.__doc__ or "")
    assert option_contract is not None and Right is not None and timedelta is not None and ES is not None


# ---------------------------------------------------------------------------------------------- found in review


def test_a_cancel_nobody_asked_for_ends_the_attempt_and_the_delivery_is_still_flattened(main: ModuleType) -> None:
    """The assigned rung's 100 shares are being sold on Monday when the broker cancels the order by itself (an
    expired day order, a broker-side cancel; LEAN also cancels open orders on an expiring option). The tracker
    waited for the cancel it had not asked for: the order sat CANCELLING for ever, the shares were never sold,
    and the day's reconciliation never ran. The cancel now ends the attempt: the sale goes out again and fills."""
    day = spy_day(main, 480.0)
    hold(day, spy_put(day, 500.0), -1, "leap_ladder", -3.0)
    day.run(time(15, 59), time(15, 59))
    day.next_day(MONDAY)
    day.algo.transactions.auto_fill = False
    day.minute(time(9, 31))
    spy = day.security("SPY").symbol
    [first] = [o for o in day.algo.orders if o["symbol"] == spy]
    day.algo.transactions.cancel(first["id"], None)  # the broker's own cancel: no request from the algorithm
    day.algo.transactions.process_requests()
    assert day.algo.transactions.orders[first["id"]].status is fake.OrderStatus.CANCELED
    day.algo.transactions.auto_fill = True
    day.run(time(9, 32), time(9, 35))
    sales = [o for o in day.algo.orders if o["symbol"] == spy]
    assert len(sales) == 2 and sales[1]["status"] is fake.OrderStatus.FILLED
    assert day.runtime.pipeline.book.positions() == day.runtime.holdings() == {}
    assert not day.runtime.safety.fills.working()
    assert any("cancelled by the broker" in line for line in day.algo.logs)


def test_a_close_is_measured_against_what_the_algorithm_expects_not_against_zero(main: ModuleType) -> None:
    """Two structures hold the 5060 put +1 and −1: LEAN nets them to 0. Closing either was refused as "none
    held that way", so a stop never went out. A close is refused only when LEAN's holding differs from what
    the algorithm expects in the close's direction (a lagging or different holding): the netted close goes;
    a close of a put the book holds short while LEAN shows nothing does not."""
    day = LeanDay(main)
    day.warm_up()
    day.minute(time(10, 0))
    spx = day.security("SPX").symbol
    put = day.runtime.registry.remember_symbol(fake.Symbol.option(spx, "SPXW", fake.OptionRight.PUT, 5060.0, FRIDAY))
    assert put is not None
    short = Structure("y-1", "zero_dte", (Leg(put, -1),), 1, -2.0, day.runtime.now())
    close = SubmitOrder("y-1#1", short, -1, 1, -2.0, safety=False)
    assert day.runtime.router.send(close, {}, {}) is None  # netted: LEAN 0, expected 0
    refused = day.runtime.router.send(SubmitOrder("y-1#2", short, -1, 1, -2.0, safety=False), {}, {put: -1})
    assert refused is not None and "LEAN holds +0 where the algorithm expects -1" in refused


def test_a_safety_close_refused_again_and_again_is_abandoned_and_the_book_reconciled(main: ModuleType) -> None:
    """The book holds 100 SPY delivered by an assignment, LEAN holds none (they differ). The flattening close is
    refused by the router each time ("would open a position"). It is sent again at the next minute, never in
    the event that refused it (resent at once, it looped inside one event until LEAN stopped the algorithm);
    after five refusals it is abandoned with a CRITICAL alert, the book is reconciled with LEAN's holdings, the
    difference halts trading, and the phantom delivery leaves the book."""
    from core.model import equity_contract

    day = spy_day(main, 480.0)
    day.minute(time(9, 31))  # the session's reconciliation: all agree
    spy = equity_contract("SPY")
    day.runtime.registry.remember_symbol(day.security("SPY").symbol)
    delivered = Structure("delivered-SPY-1", "leap_ladder", (Leg(spy, 1),), 100, 480.0, day.runtime.now())
    day.runtime.pipeline.book.add_units(delivered, 100, 480.0)
    day.run(time(9, 32), time(9, 45))
    refusals = [line for line in day.algo.logs if line.startswith("order delivered-SPY-1#") and "would open" in line]
    assert len(refusals) == 5
    assert max(day.algo.orders_in_callback) <= 1 and not day.algo.orders
    assert any("safety order abandoned" in e for e in critical(day))
    assert day.runtime.safety.state.state is TradingState.HALTED
    assert day.runtime.pipeline.book.positions() == day.runtime.holdings() == {}


def test_the_day_after_a_holiday_selects_that_days_0dte_contracts(main: ModuleType) -> None:
    """LEAN selects the next session's universe at the midnight after a session: Wednesday's midnight for the
    Friday after Thanksgiving. Days to expiry were counted from that midnight (a Thursday holiday), so the 0DTE
    window of 0 days kept nothing and Black Friday had no SPXW chain. They count from the next session now."""
    wednesday, black_friday = date(2024, 11, 27), date(2024, 11, 29)
    market = Market(prices={"SPX": 5100.0, "VIX": 15.0})
    market.options["SPXW"] = OptionListing(
        "SPXW", [4800.0 + 5 * i for i in range(121)], [wednesday, black_friday], 0.28, 0.1, tick=0.05
    )
    day = LeanDay(main, day=wednesday, market=market)
    day.warm_up()
    day.run(time(15, 58), time(15, 59))
    day.next_day(black_friday)
    data = day.minute(time(9, 31))
    chains = list(data.option_chains.values())
    assert chains and {c.expiry.date() for c in chains[0]} == {black_friday}


def test_a_run_ending_between_leans_expiry_and_the_next_session_still_checks_sound(main: ModuleType) -> None:
    """A run whose end date is a Saturday ends after LEAN's midnight expiry and before the settlement that books
    it: the expired rung was in the book and not at LEAN, and the self-check called that a failure. Options
    past their expiry day are the settlement's, as in reconciliation."""
    day = spy_day(main, 510.0)
    hold(day, spy_put(day, 500.0), -1, "leap_ladder", -3.0)
    day.run(time(15, 59), time(15, 59))
    day.engine.step(datetime(2024, 3, 9, 0, 1))  # noqa: DTZ001
    day.engine.end()
    assert day.algo.logs[-1].startswith("SELF-CHECK PASSED"), day.algo.logs[-1]


def test_a_limit_under_leans_grid_is_not_bumped_past_what_was_asked(main: ModuleType) -> None:
    from lean_bridge.orders import on_grid

    assert on_grid(0.10, 0.25, buying=True) is None  # one increment would be 0.25, more than the 0.10 asked
    assert on_grid(-0.10, 0.25, buying=False) is None
    assert on_grid(0.0, 0.25, buying=True) == 0.25


def test_live_an_exercise_lean_never_reports_is_booked_halts_and_is_flattened_after_a_restart(main: ModuleType) -> None:
    """Live, LEAN's TastyTrade brokerage reports no exercise or assignment: the rung assigned on Friday stays
    in LEAN's portfolio, and the 100 shares at the broker are invisible to LEAN until a restart. On Monday the
    shell books the delivery the broker made, says so (CRITICAL) and halts, and compares nothing with LEAN's
    stale holdings (that would drop the delivery). After the person checks the account and restarts with
    clear_halt, LEAN loads the shares and the shell sells them."""
    day = spy_day(main, 480.0)
    day.algo.transactions.exercise_events = False
    hold(day, spy_put(day, 500.0), -1, "leap_ladder", -3.0)
    day.run(time(15, 59), time(15, 59))
    day.next_day(MONDAY)
    day.run(time(9, 31), time(9, 35))
    assert any("unreported exercise" in e for e in critical(day))
    assert day.runtime.safety.state.state is TradingState.HALTED
    spy = day.security("SPY").symbol
    assert {c.root: q for c, q in day.runtime.pipeline.book.positions().items()} == {"SPY": 100}
    # The person checks the account; the restart loads the broker's holdings (the shares, no expired put).
    day.algo.securities[spy_put(day, 500.0)].holdings.quantity = 0
    day.algo.securities[spy].holdings.quantity = 100
    again = day.restart(main, {"enable_leap_ladder": "true", "clear_halt": "true"})
    again.warm_up(at=time(9, 40))
    again.run(time(9, 41), time(9, 43))
    assert again.runtime.safety.state.state is TradingState.ACTIVE
    assert again.runtime.pipeline.book.positions() == again.runtime.holdings() == {}
