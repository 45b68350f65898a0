"""lean_bridge/ piece by piece on the fake AlgorithmImports: symbols, chains, the fee model against core/fees,
the order router's event handling, the exchange-hours calendar across DST, notify in live mode."""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.fees import contract_fees, is_opening
from core.model import Contract, ContractKind, Leg, Right, Structure
from core.orders import SubmitOrder
from core.ports import AlertLevel
from core.products import ExerciseStyle, Settlement
from core.settings import Settings
from tests.fakes import algorithm_imports as fake

NY = ZoneInfo("America/New_York")
SPX = fake.Symbol.plain("SPX", fake.SecurityType.INDEX)
QQQ = fake.Symbol.plain("QQQ", fake.SecurityType.EQUITY)


@pytest.fixture
def bridge() -> Iterator[dict[str, ModuleType]]:
    fake.install()
    try:
        names = ("symbols", "market", "fees", "orders", "calendar", "notify", "store")
        yield {n: importlib.import_module(f"lean_bridge.{n}") for n in names}
    finally:
        fake.uninstall()


def spxw(right: fake.OptionRight, strike: float, expiry: date = date(2024, 3, 8)) -> fake.Symbol:
    return fake.Symbol.option(SPX, "SPXW", right, strike, expiry)


# ---------------------------------------------------------------------------------------------- symbols


def test_lean_symbols_become_the_contracts_the_strategies_build(bridge: dict[str, ModuleType]) -> None:
    symbols = bridge["symbols"]
    contract = symbols.contract_of(spxw(fake.OptionRight.PUT, 5070.0))
    assert contract == Contract(
        "SPXW", "SPX", ContractKind.OPTION, 100.0, right=Right.PUT, strike=5070.0, expiry=date(2024, 3, 8),
        style=ExerciseStyle.EUROPEAN, settlement=Settlement.CASH,
    )  # fmt: skip
    es = fake.Symbol.future("ES", date(2024, 6, 21))
    future = symbols.contract_of(es)
    assert (future.kind, future.multiplier, future.underlying_expiry) == (ContractKind.FUTURE, 50.0, date(2024, 6, 21))
    fop = symbols.contract_of(fake.Symbol.option(es, "ES", fake.OptionRight.CALL, 5400.0, date(2024, 6, 21)))
    assert (fop.root, fop.underlying, fop.multiplier, fop.settlement) == ("ES", "ES", 50.0, Settlement.PHYSICAL)
    assert symbols.contract_of(fake.Symbol.plain("ZZZZ", fake.SecurityType.FUTURE)) is None  # unknown: no guess
    registry = symbols.SymbolRegistry()
    assert registry.symbol(contract) is None
    registry.remember_symbol(spxw(fake.OptionRight.PUT, 5070.0))
    assert registry.symbol(contract) == spxw(fake.OptionRight.PUT, 5070.0)


# ---------------------------------------------------------------------------------------------- chains


def contract(symbol: fake.Symbol, bid: float, ask: float, delta: float = 0.0, iv: float = 0.0) -> Any:
    return fake.OptionContract(symbol, bid, ask, iv, fake.Greeks(delta=delta))


def test_chains_read_lean_greeks_and_fill_the_zeros_lean_gives_during_warm_up(bridge: dict[str, ModuleType]) -> None:
    market, symbols = bridge["market"], bridge["symbols"]
    now = datetime(2024, 3, 8, 10, 30, tzinfo=NY)
    canonical = fake.Symbol.canonical(SPX, "SPXW")
    rows = [contract(spxw(fake.OptionRight.PUT, k), 1.0, 1.2) for k in (5050.0, 5070.0)]
    registry = symbols.SymbolRegistry()
    chain_map = market.chains_from([fake.OptionChain(canonical, 5100.0, rows)], now, registry, Settings())
    chain = chain_map["SPXW"]
    assert chain.underlying_price == 5100.0 and len(chain) == 2
    assert all(math.isfinite(d) and d < 0 for d in chain.delta)  # filled from the mids, not LEAN's zeros
    assert len(registry) == 2
    with_own = [contract(spxw(fake.OptionRight.PUT, 5070.0), 1.0, 1.2, delta=-0.2, iv=0.3)]
    chain = market.chains_from([fake.OptionChain(canonical, 5100.0, with_own)], now, registry, Settings())["SPXW"]
    assert chain.delta[0] == -0.2 and chain.iv[0] == 0.3  # LEAN's own Greeks are kept


def test_future_option_chains_merge_per_root_at_the_front_futures_price(bridge: dict[str, ModuleType]) -> None:
    market, symbols = bridge["market"], bridge["symbols"]
    now = datetime(2024, 3, 8, 10, 30, tzinfo=NY)
    june, sept = fake.Symbol.future("ES", date(2024, 6, 21)), fake.Symbol.future("ES", date(2024, 9, 20))
    chains = []
    for future, price in ((sept, 5200.0), (june, 5150.0)):
        option = fake.Symbol.option(future, "ES", fake.OptionRight.PUT, 5000.0, future.id.date.date())
        canonical = fake.Symbol("?ES", fake.SecurityIdentifier("ES", fake.SecurityType.FUTURE_OPTION), future)
        chains.append(fake.OptionChain(canonical, price, [contract(option, 50.0, 51.0, delta=-0.3, iv=0.2)]))
    merged = market.chains_from(chains, now, symbols.SymbolRegistry(), Settings())
    assert set(merged) == {"ES"} and len(merged["ES"]) == 2 and merged["ES"].underlying_price == 5150.0


def test_daily_history_keeps_bars_and_one_iv_a_day(bridge: dict[str, ModuleType]) -> None:
    history = bridge["market"].DailyHistory()
    history.add_bar("SPX", date(2024, 3, 7), 5100.0, 5130.0, 5070.0, 5110.0)
    history.add_bar("SPX", date(2024, 3, 6), 5090.0, 5120.0, 5060.0, 5100.0)
    history.add_bar("SPX", date(2024, 3, 5), 0.0, 5120.0, 5060.0, 5100.0)  # a zero open: left out
    bars = history.bars("SPX")
    assert bars.day == (date(2024, 3, 6), date(2024, 3, 7)) and list(bars.close) == [5100.0, 5110.0]
    assert history.bars("QQQ") is None


def test_one_atm_iv_a_day_after_the_sample_time_or_from_the_warm_up_slices(bridge: dict[str, ModuleType]) -> None:
    market, symbols = bridge["market"], bridge["symbols"]
    history = market.DailyHistory()
    midnight = datetime(2024, 3, 8, 0, 0, tzinfo=NY)
    assert history.wants_iv(midnight, warming_up=True) and not history.wants_iv(midnight, warming_up=False)
    afternoon = datetime(2024, 3, 8, 15, 45, tzinfo=NY)
    assert history.wants_iv(afternoon, warming_up=False)
    expiry = date(2024, 4, 5)  # 28 days out: the one the 30-day ATM IV reads
    rows = [
        contract(fake.Symbol.option(SPX, "SPXW", right, k, expiry), 50.0, 51.0, delta=d, iv=iv)
        for right, k, d, iv in (
            (fake.OptionRight.CALL, 5100.0, 0.5, 0.14),
            (fake.OptionRight.PUT, 5100.0, -0.5, 0.16),
            (fake.OptionRight.PUT, 5000.0, -0.3, 0.19),
        )
    ]
    chains = market.chains_from(
        [fake.OptionChain(fake.Symbol.canonical(SPX, "SPXW"), 5101.0, rows)],
        afternoon,
        symbols.SymbolRegistry(),
        Settings(),
    )
    history.sample_iv(chains, afternoon)
    assert history.iv_history()["SPXW"].tolist() == pytest.approx([0.15])  # the ATM call and put, averaged
    assert not history.wants_iv(afternoon + timedelta(minutes=5), warming_up=False)  # once a day


# ---------------------------------------------------------------------------------------------- fees


def fee_case(
    symbol: fake.Symbol, quantity: int, held: int, price: float, settings: Settings, bridge: dict[str, ModuleType]
) -> tuple[float, float]:
    security = fake.Security(symbol)
    security.price = price
    security.holdings.quantity = held
    order = fake.Order(1, symbol, quantity)
    lean = bridge["fees"].TastytradeFees(settings).get_order_fee(fake.OrderFeeParameters(security, order))
    contract = bridge["symbols"].contract_of(symbol)
    expected = contract_fees(settings, contract, quantity, is_opening(held, quantity), price)
    return lean.value.amount, round(expected.total, 2)


def test_the_fee_model_charges_what_core_fees_does_for_lean_order_shapes(bridge: dict[str, ModuleType]) -> None:
    s = Settings()
    es = fake.Symbol.future("ES", date(2024, 6, 21))
    cases = [
        (spxw(fake.OptionRight.PUT, 5070.0), -1, 0, 3.0),  # a condor's short leg, opening
        (spxw(fake.OptionRight.PUT, 5070.0), 1, -1, 0.5),  # the same leg bought back: no commission
        (fake.Symbol.option(QQQ, "QQQ", fake.OptionRight.CALL, 450.0, date(2025, 1, 17)), 15, 0, 40.0),  # cap
        (fake.Symbol.option(es, "ES", fake.OptionRight.PUT, 5000.0, date(2024, 6, 21)), -2, 0, 50.0),
        (fake.Symbol.future("MES", date(2024, 6, 21)), 3, 0, 5100.0),
    ]
    for symbol, quantity, held, price in cases:
        lean, core = fee_case(symbol, quantity, held, price, s, bridge)
        assert lean == core and lean > 0, symbol
    opening, _ = fee_case(*cases[0][:3], 3.0, s, bridge)
    closing, _ = fee_case(*cases[1][:3], 0.5, s, bridge)
    assert closing < opening  # TastyTrade charges no option commission to close
    security = fake.Security(SPX)  # not a product we trade
    index = bridge["fees"].TastytradeFees(s).get_order_fee(fake.OrderFeeParameters(security, fake.Order(2, SPX, 1)))
    assert index.value.amount == 0.0


# ---------------------------------------------------------------------------------------------- orders


def condor() -> Structure:
    legs = []
    for right, strike, ratio in ((Right.PUT, 5070.0, -1), (Right.PUT, 5060.0, 1), (Right.CALL, 5130.0, -1)):
        legs.append(Leg(Contract("SPXW", "SPX", ContractKind.OPTION, 100.0, right=right, strike=strike,
                                 expiry=date(2024, 3, 8), style=ExerciseStyle.EUROPEAN,
                                 settlement=Settlement.CASH), ratio))  # fmt: skip
    return Structure("ic-1", "zero_dte", tuple(legs), 1, -2.0, datetime(2024, 3, 8, 10, 30, tzinfo=NY))


def routed(bridge: dict[str, ModuleType]) -> tuple[Any, Any, Structure]:
    algo = fake.QCAlgorithm()
    algo.set_brokerage_model(fake.BrokerageName.TASTYTRADE)
    registry = bridge["symbols"].SymbolRegistry()
    structure = condor()
    for leg in structure.legs:
        right = fake.OptionRight.PUT if leg.contract.right is Right.PUT else fake.OptionRight.CALL
        symbol = spxw(right, leg.contract.strike or 0.0)
        registry.remember_symbol(symbol)
        security = algo.add_security(fake.Security(symbol))
        security.bid_price, security.ask_price, security.price = 1.0, 1.2, 1.1
    router = bridge["orders"].OrderRouter(algo, registry, 60)
    assert router.send(SubmitOrder("ic-1#1", structure, 1, 1, -2.0, False), {}, {}) is None
    return algo, router, structure


def event(algo: Any, n: int, status: fake.OrderStatus, quantity: float = 0.0) -> fake.OrderEvent:
    order = algo.orders[n]
    return fake.OrderEvent(order["id"], order["symbol"], status, quantity, 1.0, datetime(2024, 3, 8, 15, 31))  # noqa: DTZ001


def statuses(algo: Any) -> list[fake.OrderStatus]:
    return [o["status"] for o in algo.orders]


def test_a_cancel_is_confirmed_only_when_every_leg_is_out_of_the_market(bridge: dict[str, ModuleType]) -> None:
    orders = bridge["orders"]
    algo, router, _ = routed(bridge)
    now = datetime(2024, 3, 8, 10, 31, tzinfo=NY)
    assert router.cancel("ic-1#1", now)
    assert statuses(algo) == [fake.OrderStatus.CANCEL_PENDING] + [fake.OrderStatus.SUBMITTED] * 2  # one leg asked
    assert {o["tag"] for o in algo.orders} == {"ic-1 ic-1#1"}  # no tag given: LEAN keeps ours
    filled = router.translate(event(algo, 0, fake.OrderStatus.FILLED, -1))
    assert [type(e) for e in filled] == [orders.LegFilled] and filled[0].fill.time.tzinfo is not None
    assert router.translate(event(algo, 1, fake.OrderStatus.CANCELED)) == []
    assert router.translate(event(algo, 2, fake.OrderStatus.CANCELED)) == [orders.OrderCanceled("ic-1#1")]
    assert router.translate(event(algo, 2, fake.OrderStatus.CANCELED)) == []  # said once


def test_an_unconfirmed_cancel_is_reported_and_not_sent_twice(bridge: dict[str, ModuleType]) -> None:
    """LEAN took the cancel (CancelPending) and the broker has not confirmed it: a second request would be
    refused at the ticket and reach nothing (OrderTicket.Cancel), so it is reported, not sent again."""
    algo, router, _ = routed(bridge)
    algo.transactions.hold_cancels = True
    sent = datetime(2024, 3, 8, 10, 31, tzinfo=NY)
    router.cancel("ic-1#1", sent)
    assert router.cancel("ic-1#1", sent + timedelta(seconds=20))  # still working: nothing new sent
    assert router.overdue_cancels(sent + timedelta(seconds=30)) == []
    assert router.overdue_cancels(sent + timedelta(seconds=61)) == [("ic-1#1", 2)]
    requests = [t.cancel_request for t in algo.transactions.tickets.values() if t.cancel_request is not None]
    assert len(requests) == 1
    algo.transactions.hold_cancels = False
    algo.transactions.process_requests()
    assert statuses(algo) == [fake.OrderStatus.CANCELED] * 3  # LEAN cancels the whole group


def test_events_of_orders_we_did_not_send_are_ignored(bridge: dict[str, ModuleType]) -> None:
    _, router, _ = routed(bridge)
    stranger = fake.OrderEvent(999, SPX, fake.OrderStatus.FILLED, 1.0, 1.0)
    assert router.translate(stranger) == []


def test_a_symbol_never_seen_is_not_guessed(bridge: dict[str, ModuleType]) -> None:
    router = bridge["orders"].OrderRouter(fake.QCAlgorithm(), bridge["symbols"].SymbolRegistry(), 60)
    why = router.send(SubmitOrder("ic-1#1", condor(), 1, 1, -2.0, False), {}, {})
    assert why is not None and "no LEAN symbol" in why


# ---------------------------------------------------------------------------------------------- calendar


def test_the_exchange_hours_calendar_answers_in_new_york_time_across_dst(bridge: dict[str, ModuleType]) -> None:
    from tests.fakes.lean.hours import SPX_INDEX

    hours = fake.SecurityExchangeHours(SPX_INDEX)  # SPX: 08:30-15:15 Chicago, as LEAN's database has it
    calendar = bridge["calendar"].LeanCalendar(hours)
    friday, monday = date(2024, 3, 8), date(2024, 3, 11)  # New York and Chicago moved their clocks on the 10th
    for day in (friday, monday):
        opened, closed = calendar.open_close(day)
        assert (opened.tzinfo, opened.time(), closed.time()) == (NY, time(9, 30), time(16, 15))
    assert calendar.next_session(friday) == monday and calendar.previous_session(monday) == friday
    assert calendar.is_open(datetime(2024, 3, 11, 9, 30, tzinfo=NY))
    assert not calendar.is_open(datetime(2024, 3, 11, 9, 29, tzinfo=NY))
    utc = ZoneInfo("UTC")  # after the change New York is UTC-4: 13:30 UTC is the open, in winter it was 14:30
    assert calendar.is_open(datetime(2024, 3, 11, 13, 30, tzinfo=utc))
    assert not calendar.is_open(datetime(2024, 3, 8, 13, 30, tzinfo=utc))
    assert not calendar.is_open(datetime(2024, 3, 10, 10, 0, tzinfo=NY))
    assert calendar.add_sessions(friday, 1) == monday and calendar.expiry_on_or_before(date(2024, 3, 9)) == friday
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.is_open(datetime(2024, 3, 11, 10, 0))  # noqa: DTZ001


def test_early_closes_come_back_as_new_york_times(bridge: dict[str, ModuleType]) -> None:
    from tests.fakes.lean.hours import EQUITY, SPX_INDEX

    for entry in (EQUITY, SPX_INDEX):  # 13:00 New York; the index's 12:00 Chicago is the same moment
        calendar = bridge["calendar"].LeanCalendar(fake.SecurityExchangeHours(entry))
        assert calendar.early_closes(date(2024, 11, 1), date(2024, 11, 30)) == {date(2024, 11, 29): time(13, 0)}


# ---------------------------------------------------------------------------------------------- notify and store


def test_live_alerts_go_out_by_notify_at_or_above_the_level_and_always_to_the_log(
    bridge: dict[str, ModuleType],
) -> None:
    algo = fake.QCAlgorithm()
    settings = Settings.from_parameters({"alert_email": "ops@example.invalid", "alert_notify_level": "WARNING"})
    sink = bridge["notify"].LeanAlerts(algo, settings)
    sink.send(AlertLevel.WARNING, "t", "backtest")
    assert algo.notify.sent == []  # QuantConnect ignores notify in backtests; we do not even try
    algo.live_mode = True
    sink.send(AlertLevel.INFO, "t", "info")
    sink.send(AlertLevel.CRITICAL, "t", "critical")
    assert algo.notify.sent == [("email", "ops@example.invalid")]
    assert len(algo.logs) >= 3 and not any("ops@example" in line for line in algo.logs + algo.errors)


def test_the_object_store_port_round_trips_and_says_when_nothing_is_saved(bridge: dict[str, ModuleType]) -> None:
    store = bridge["store"].ObjectStoreStore(fake.ObjectStore())
    assert store.load("k") is None
    store.save("k", "text")
    assert store.load("k") == "text"


def test_the_research_notebook_reads_quantbook_the_way_the_algorithm_reads_lean(bridge: dict[str, ModuleType]) -> None:
    research = importlib.import_module("lean_bridge.research")
    qb = fake.QuantBook()
    qb.time = datetime(2024, 3, 8, 10, 30)  # noqa: DTZ001  LEAN's naive New York clock
    for n in range(20):
        day = datetime(2024, 2, 1) + timedelta(days=n)  # noqa: DTZ001
        qb.bars.append(fake.TradeBar(day, 5000.0 + n, 5030.0 + n, 4970.0 + n, 5010.0 + n))
    spx = fake.Symbol.plain("SPX", fake.SecurityType.INDEX)
    canonical = fake.Symbol.canonical(spx, "SPXW")
    contracts = [contract(spxw(fake.OptionRight.PUT, k), 1.0, 1.2) for k in (5050.0, 5070.0)]
    qb.chains[canonical] = fake.OptionChain(canonical, 5100.0, contracts)
    snap = research.quantbook_snapshot(qb, Settings())
    assert qb.securities[spx].symbol == spx and "option:SPXW" in qb.subscribed
    assert snap.time.tzinfo is not None and len(snap.chains["SPXW"]) == 2
    bars = snap.daily["SPX"]
    assert bars.day[0] == date(2024, 2, 1) and bars.close[-1] == 5029.0  # dated by the session, not the bar's end
