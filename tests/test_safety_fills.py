"""safety/fills: pricing and repricing, partial fills, orphan legs on opens and closes, rejects, cancels
that do nothing, fills after a cancel, and a property over random broker behaviour."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model import Contract, Fill, IntentAction, Leg, OrderIntent, Right, Structure, option_contract
from core.orders import CancelOrder, Command, SubmitOrder
from core.ports import AlertLevel, AlertMessage
from core.settings import Settings
from safety.fills import FillTracker, _round_passive
from tests.fakes import market as m
from tests.fakes.broker import SimBroker

S = Settings()
DAY = date(2024, 1, 8)
NOW = m.at(DAY)
EXP = date(2024, 1, 8)


def condor() -> Structure:
    legs = m.iron_condor("SPXW", EXP, 4740.0, 10.0, 4760.0, 10.0)
    return Structure("ic1", "zero_dte", tuple(Leg(c, r) for c, r in legs), 1, -2.0, NOW)


def quotes_for(structure: Structure) -> dict[Contract, tuple[float, float]]:
    # Short legs 2.00/2.20, wings 0.90/1.00: the condor's net mid is −2.30; natural −2.00 to open, −2.60 to close.
    out = {}
    for leg in structure.legs:
        out[leg.contract] = (2.00, 2.20) if leg.ratio < 0 else (0.90, 1.00)
    return out


def broker(structure: Structure) -> SimBroker:
    return SimBroker(FillTracker(S), quotes_for(structure), NOW)


def open_intent(structure: Structure, quantity: int = 1) -> OrderIntent:
    return OrderIntent(
        IntentAction.OPEN, dataclasses.replace(structure, quantity=quantity), quantity, structure.entry_price, "entry"
    )


def close_intent(structure: Structure, quantity: int = 1) -> OrderIntent:
    return OrderIntent(IntentAction.CLOSE, dataclasses.replace(structure, quantity=quantity), quantity, 0.0, "exit")


def test_a_structure_fills_at_mid_in_one_attempt() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    [first] = b.submissions
    assert first.limit_price == -2.30 and first.quantity == 1 and first.side == 1
    b.fill_all(first.order_id)
    assert [(f.units, round(f.average_price, 2)) for f in b.filled_reports] == [(1, -2.00)]  # the sim fills at natural
    assert not b.tracker.working()
    b.advance(60)
    assert len(b.submissions) == 1  # nothing more goes out


def test_repricing_steps_toward_natural_and_never_past_it_then_cancels() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    for _ in range(6):
        b.advance(S.fill_timeout_seconds)
        b.confirm_cancels()
    prices = [s.limit_price for s in b.submissions]
    assert prices == [-2.30, -2.20, -2.10, -2.00]  # mid, then a third of the way each step, natural last
    assert all(p <= -2.00 for p in prices)  # opening the condor: never accept less credit than natural
    assert not b.tracker.working()
    # What a person is told, whole: how far the order got.
    assert told(b) == [(AlertLevel.INFO, "order finished unfilled", "ic1: 0 of 1 filled after 4 attempt(s)")]


def test_partial_fills_keep_the_whole_structures() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic, 3), b.quote, b.now))
    first = b.submissions[0]
    for leg in range(4):
        b.fill(first.order_id, leg, 2)  # two of three condors
    assert sum(f.units for f in b.filled_reports) == 2
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    assert b.submissions[-1].quantity == 1  # the next attempt asks only for what is left
    for _ in range(5):
        b.advance(S.fill_timeout_seconds)
        b.confirm_cancels()
    assert not b.tracker.working()
    assert all(b.positions[leg.contract] == 2 * leg.ratio for leg in ic.legs)


def test_an_opening_leg_filled_alone_is_closed_at_once_as_an_orphan() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    first = b.submissions[0]
    short_put = 1
    b.fill(first.order_id, short_put, 1)  # the exchange fills the short put and nothing else
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    orphan = [s for s in b.submissions if s.safety]
    assert len(orphan) == 1 and orphan[0].quantity == 1
    assert (
        orphan[0].structure.legs[0].contract == ic.legs[short_put].contract and orphan[0].structure.legs[0].ratio == +1
    )
    assert orphan[0].limit_price == 2.20  # at natural: buy back at the ask
    assert any(a.level is AlertLevel.CRITICAL and a.title == "orphan leg" for a in b.alerts)
    assert b.submissions[-1] is orphan[0]  # the condor waits until its orphan is closed
    b.fill_all(orphan[0].order_id)
    assert b.submissions[-1].safety is False and b.submissions[-1].limit_price == -2.20  # then goes on, repriced
    b.drain()
    assert all(b.positions[leg.contract] == leg.ratio for leg in ic.legs)  # one whole condor, nothing else
    assert b.oversized_closes == []


def test_a_partial_close_finishes_closing_the_unit_instead_of_leaving_a_naked_short() -> None:
    ic = condor()
    b = broker(ic)
    b.positions = {leg.contract: leg.ratio for leg in ic.legs}  # one condor held
    b.apply(b.tracker.submit(close_intent(ic), b.quote, b.now))
    close = b.submissions[0]
    assert close.side == -1 and close.limit_price == -2.30  # to close, pay the condor's mid (2.30) to buy it back
    b.fill(close.order_id, 0, 1)  # only the long put wing is sold: the short put would be naked
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    safety = [s for s in b.submissions if s.safety]
    assert sorted((s.structure.legs[0].contract.strike, s.structure.legs[0].ratio) for s in safety) == [
        (4740.0, 1),  # buy back the short put
        (4760.0, 1),  # buy back the short call
        (4770.0, -1),  # sell the long call
    ]
    b.drain()
    assert all(v == 0 for v in b.positions.values()) and b.oversized_closes == []


def test_a_close_that_bought_back_one_of_two_naked_puts_finishes_the_unit_not_resells_it() -> None:
    """#21, a mutant that survived: the close's even-out counted started units with floor. An LT112 (long
    470 put, short 465 put, two naked 440 puts) is closing; only one of the two naked puts is bought back
    before the timeout: 1 of 2 on that leg is half a unit begun. Rounded up (ceil), the unit is finished:
    buy back the other 440, buy back the 465, sell the 470. Rounded down (floor), the unit "never started"
    and the even-out would sell the bought-back 440 again: a naked put re-opened on a position being closed."""
    expiry = date(2024, 5, 17)
    legs = (
        Leg(option_contract("SPY", "SPY", Right.PUT, 470.0, expiry), 1),
        Leg(option_contract("SPY", "SPY", Right.PUT, 465.0, expiry), -1),
        Leg(option_contract("SPY", "SPY", Right.PUT, 440.0, expiry), -2),
    )
    lt112 = Structure("lt1", "lt112", legs, 1, -3.0, NOW)
    b = broker(lt112)
    b.positions = {leg.contract: leg.ratio for leg in lt112.legs}
    b.apply(b.tracker.submit(close_intent(lt112), b.quote, b.now))
    close = b.submissions[0]
    b.fill(close.order_id, 2, 1)  # one of the two naked 440 puts bought back, nothing else
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    safety = [s for s in b.submissions if s.safety]
    assert sorted((s.structure.legs[0].contract.strike, s.structure.legs[0].ratio * s.quantity) for s in safety) == [
        (440.0, 1),  # buy back the second naked put
        (465.0, 1),  # buy back the short put
        (470.0, -1),  # sell the long put
    ]
    b.drain()
    assert all(v == 0 for v in b.positions.values()) and b.oversized_closes == []


@pytest.mark.parametrize(
    ("intent", "mid", "natural"),
    [(open_intent, -2.30, -2.00), (close_intent, -2.30, -2.60)],
)
def test_every_reprice_lies_between_mid_and_natural_and_the_last_is_natural(intent, mid, natural) -> None:  # type: ignore[no-untyped-def]
    """#21: a reprice limit allowed past the natural price survived. Opening the condor (a credit of 2.30 at
    mid, 2.00 at natural) or closing it (2.30 at mid, 2.60 at natural), nothing fills: the attempts step from
    mid toward natural in `fill_max_reprices` steps of 0.10 (rounded to the 0.05 tick on the passive side),
    never beyond natural, the last at natural, and then the order is cancelled, not sent past it."""
    ic = condor()
    b = broker(ic)
    if intent is close_intent:
        b.positions = {leg.contract: leg.ratio for leg in ic.legs}
    b.apply(b.tracker.submit(intent(ic), b.quote, b.now))
    for _ in range(S.fill_max_reprices + 2):
        b.advance(S.fill_timeout_seconds)
        b.confirm_cancels()
    limits = [sub.limit_price for sub in b.submissions]
    step = 0.10 if natural > mid else -0.10
    assert limits == pytest.approx([mid, mid + step, mid + 2 * step, natural])
    assert all(min(mid, natural) - 1e-9 <= x <= max(mid, natural) + 1e-9 for x in limits)


def test_a_reject_ends_the_order_and_evens_out_the_legs() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic, 2), b.quote, b.now))
    first = b.submissions[0]
    for leg in range(4):
        b.fill(first.order_id, leg, 1)
    b.fill(first.order_id, 1, 1)  # a second short put, without its partners
    b.reject(first.order_id)
    assert any(a.title == "order rejected" for a in b.alerts)
    b.drain()
    assert all(b.positions[leg.contract] == leg.ratio for leg in ic.legs)  # one whole condor kept
    assert len([s for s in b.submissions if not s.safety]) == 1  # a rejected structure is not sent again


def test_a_cancel_that_does_nothing_is_sent_again_with_a_warning() -> None:
    ic = condor()
    b = broker(ic)
    b.ignore_cancels = True
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    b.advance(S.fill_timeout_seconds)
    b.advance(S.fill_timeout_seconds)
    b.advance(S.fill_timeout_seconds)
    warnings = [a for a in b.alerts if a.title == "cancel not confirmed"]
    assert len(warnings) == 2 and "cancel sent 3 times" in warnings[-1].body
    assert len(b.submissions) == 1  # nothing new goes out while the old order may still be live


def test_a_fill_after_a_confirmed_cancel_is_evened_out() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    first = b.submissions[0]
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()  # the broker says cancelled ...
    b.working[first.order_id].done = False  # ... but the order was still live at the exchange
    b.fill(first.order_id, 2, 1)  # and its short call fills
    assert any(a.title == "fill after cancel" for a in b.alerts)
    b.drain()
    for leg in ic.legs:
        assert b.positions.get(leg.contract, 0) in (0, leg.ratio)
    held = {leg.contract: b.positions.get(leg.contract, 0) for leg in ic.legs}
    assert len({v * leg.ratio for leg, v in zip(ic.legs, held.values(), strict=True)}) == 1  # in ratio or flat
    assert b.oversized_closes == []


def test_an_orphan_without_quotes_waits_and_closes_when_quotes_return() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    first = b.submissions[0]
    b.fill(first.order_id, 1, 1)
    saved = dict(b.quotes)
    del b.quotes[ic.legs[1].contract]
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    assert any(a.title == "no usable quotes" and a.level is AlertLevel.CRITICAL for a in b.alerts)
    assert not [s for s in b.submissions if s.safety]
    b.quotes = saved
    b.advance(1)
    assert len([s for s in b.submissions if s.safety]) == 1
    b.drain()
    assert all(b.positions[leg.contract] == leg.ratio for leg in ic.legs)  # orphan closed, then the condor filled


# ------------------------------------------------------------------------------------------ property

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("fill_leg"), st.integers(0, 3), st.integers(1, 3)),
        st.tuples(st.just("fill_all"), st.just(0), st.just(0)),
        st.tuples(st.just("tick"), st.just(0), st.just(0)),
        st.tuples(st.just("confirm"), st.just(0), st.just(0)),
        st.tuples(st.just("reject"), st.just(0), st.just(0)),
        st.tuples(st.just("ignore_cancels"), st.just(0), st.just(0)),
        st.tuples(st.just("late_fill"), st.integers(0, 3), st.integers(1, 2)),
    ),
    max_size=25,
)


def structure_with(legs: int) -> Structure:
    all_legs = m.iron_condor("SPXW", EXP, 4740.0, 10.0, 4760.0, 10.0)
    chosen = {1: all_legs[1:2], 2: all_legs[0:2], 3: [all_legs[0], (all_legs[1][0], -2), all_legs[2]], 4: all_legs}[
        legs
    ]
    return Structure(f"s{legs}", "zero_dte", tuple(Leg(c, r) for c, r in chosen), 1, -1.0, NOW)


@given(st.integers(1, 4), st.integers(1, 3), st.booleans(), ACTIONS)
@settings(max_examples=int(__import__("os").environ.get("FILL_EXAMPLES", "250")), deadline=None)
def test_random_broker_behaviour_always_ends_in_ratio_or_flat(
    legs: int, quantity: int, closing: bool, actions: list[tuple[str, int, int]]
) -> None:
    s = structure_with(legs)
    b = broker(s)
    if closing:
        b.positions = {leg.contract: leg.ratio * quantity for leg in s.legs}
        intent = close_intent(s, quantity)
    else:
        intent = open_intent(s, quantity)
    b.apply(b.tracker.submit(intent, b.quote, b.now))
    ended: list[str] = []
    for action, a, n in actions:
        live = b.live_orders()
        if action == "fill_leg" and live:
            order = b.working[live[0]].order
            b.fill(live[0], a % len(order.structure.legs), n)
        elif action == "fill_all" and live:
            b.fill_all(live[0])
        elif action == "tick":
            b.advance(S.fill_timeout_seconds)
        elif action == "confirm":
            pending = [oid for oid, w in b.working.items() if w.cancel_requested and not w.done]
            b.confirm_cancels()
            ended.extend(oid for oid in pending if b.working[oid].done)  # only cancels the broker confirmed
        elif action == "reject" and live:
            b.reject(live[0])
        elif action == "ignore_cancels":
            b.ignore_cancels = not b.ignore_cancels
        elif action == "late_fill" and ended:
            w = b.working[ended[-1]]
            w.done = False  # the "cancelled" order was still live
            b.fill(ended[-1], a % len(w.order.structure.legs), n)
            w.done = True
    b.drain()
    assert b.oversized_closes == []
    units = {b.positions.get(leg.contract, 0) / leg.ratio for leg in s.legs}
    assert len(units) == 1, f"legs out of ratio: {b.positions}"
    (held,) = units
    assert held == int(held) and 0 <= held <= quantity
    assert not b.tracker.working()


def test_prices_are_on_the_tick() -> None:
    ic = condor()
    b = broker(ic)
    b.quotes = {c: (bid + 0.013, ask + 0.013) for c, (bid, ask) in b.quotes.items()}
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    limit = b.submissions[0].limit_price
    assert abs(limit / 0.05 - round(limit / 0.05)) < 1e-9
    assert isinstance(b.submissions[0], SubmitOrder)


def test_an_spxw_condor_over_3_reaches_its_natural_on_the_combo_grid() -> None:
    """Regression: combos were priced on the single-option grid (0.10 above 3.00), so a close whose natural
    was 4.65 stepped 4.40, 4.50, 4.50, 4.50 and never filled; 3 of 4 closes of 2014-07-18's condor failed.
    SPX complex orders trade in 0.05 at any price, so the last attempt is natural itself."""
    ic = condor()
    b = broker(ic)
    # Each leg on its own tick; as written the condor's mid is -5.55 and its natural to close -5.95.
    put_short, call_short, put_wing, call_wing = (4.00, 4.40), (3.10, 3.30), (0.85, 0.95), (0.90, 1.00)
    b.quotes = {
        leg.contract: (put_short if leg.contract.right is Right.PUT else call_short)
        if leg.ratio < 0
        else (put_wing if leg.contract.right is Right.PUT else call_wing)
        for leg in ic.legs
    }
    b.apply(b.tracker.submit(close_intent(ic), b.quote, b.now))
    for _ in range(3):
        b.advance(S.fill_timeout_seconds)
        b.confirm_cancels()
    prices = [s.limit_price for s in b.submissions]
    assert prices[0] == -5.55 and prices[-1] == -5.95  # natural, though it is no multiple of 0.10
    assert all(abs(p / 0.05 - round(p / 0.05)) < 1e-9 for p in prices)


def test_a_working_part_keeps_its_parent_busy() -> None:
    # The replay found it: a weekly call's buy-back still working when the assignment check closed the whole
    # IPMCC, so the call was bought back twice and the account ended long a call the book did not know.
    _, short = m.ipmcc("QQQ", date(2025, 1, 17), 330.0, date(2024, 1, 12), 400.0)
    part = Structure("c55:call", "ipmcc", (Leg(*short),), 1, -1.0, NOW, parent="c55")
    tracker = FillTracker(S)
    tracker.submit(close_intent(part), lambda c: (1.0, 1.1), NOW)
    assert tracker.working_structure_ids() == {"c55:call", "c55"}


def test_an_order_waiting_for_quotes_on_an_expired_leg_is_dropped_with_an_alert() -> None:
    # The replay found it: a safety close sent at 15:30 on a weekly call's expiry day went unfilled, the call
    # expired, and the close waited for quotes that never come, keeping its IPMCC busy for good.
    ic = condor()  # expires on DAY
    tracker = FillTracker(S)
    urgent = dataclasses.replace(close_intent(ic), safety=True)  # a safety close waits for quotes; others give up
    [waiting] = tracker.submit(urgent, lambda c: None, NOW)
    assert isinstance(waiting, AlertMessage) and waiting.title == "no usable quotes"
    assert [o.phase.value for o in tracker.working()] == ["waiting for quotes"]
    assert tracker.tick(lambda c: None, m.at(DAY, 15, 50)) == [] and tracker.working()  # still today: keeps waiting
    [alert] = tracker.tick(lambda c: None, m.at(date(2024, 1, 9), 9, 45))
    assert isinstance(alert, AlertMessage) and alert.title == "order dropped: a leg expired"
    assert "SPXW 2024-01-08" in alert.body and not tracker.working()


def test_orders_in_flight_resume_after_a_restart_from_their_saved_fills() -> None:
    """A restart between an order and its fill (found by the chaos run: saved orders were never restored): the
    condor had its short put filled alone; after the restart the tracker closes that orphan, then tries the
    condor again, with order ids no earlier attempt used."""
    from safety.persistence import order_from_dict, order_to_dict, tracker_orders

    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    first = b.submissions[0]
    b.fill(first.order_id, 1, 1)  # the short put, alone
    saved = [order_from_dict(order_to_dict(o)) for o in tracker_orders(b.tracker)]  # what the state file holds
    restarted = SimBroker(FillTracker(S), quotes_for(ic), b.now, positions=dict(b.positions))
    restarted.apply(restarted.tracker.resume(saved, restarted.quote, restarted.now))
    [orphan] = restarted.submissions
    assert orphan.safety and orphan.structure.legs[0].contract == ic.legs[1].contract and orphan.quantity == 1
    assert orphan.order_id != first.order_id
    restarted.fill_all(orphan.order_id)
    retry = restarted.submissions[-1]
    assert not retry.safety and retry.quantity == 1 and retry.order_id not in {first.order_id, orphan.order_id}
    restarted.drain()
    assert all(restarted.positions.get(leg.contract, 0) == leg.ratio for leg in ic.legs)  # one condor, no orphan


def test_the_saved_orders_keep_a_finished_orphan_close_of_an_order_still_working() -> None:
    from safety.persistence import tracker_orders

    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    b.fill(b.submissions[0].order_id, 1, 1)
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    orphan = next(s for s in b.submissions if s.safety)
    b.fill_all(orphan.order_id)  # the orphan close is done; the condor is still being worked
    kept = tracker_orders(b.tracker)
    assert {o.key for o in kept} == {"ic1:open", f"{orphan.structure.id}:open"}


# ------------------------------------------------------------------------------------------ what a person is told
# The alerts below are what the shells log and send: each is compared whole (level, title, body), from the
# scenario's own numbers (the condor's short put 4740, call 4760, wings 4730 and 4770; one contract).


def told(b: SimBroker) -> list[tuple[AlertLevel, str, str]]:
    return [(a.level, a.title, a.body) for a in b.alerts]


def test_a_second_order_for_a_working_structure_is_refused_until_the_first_is_done() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    again = b.tracker.submit(open_intent(ic), b.quote, b.now)
    assert again == [AlertMessage(AlertLevel.WARNING, "duplicate order", "ic1:open already has an order working")]
    # A close of the same structure is another order: it is not a duplicate of the open.
    assert not [c for c in b.tracker.submit(close_intent(ic), b.quote, b.now) if isinstance(c, AlertMessage)]
    b.fill_all(b.submissions[0].order_id)
    assert [c for c in b.tracker.submit(open_intent(ic), b.quote, b.now) if isinstance(c, SubmitOrder)]


def test_a_safety_order_is_abandoned_on_its_fifth_refusal_in_a_row_not_before() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    b.fill(b.submissions[0].order_id, 1, 1)  # the short put alone
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    for refusal in range(1, 6):
        orphan = [s for s in b.submissions if s.safety][-1]
        assert len([s for s in b.submissions if s.safety]) == refusal  # sent again after each refusal
        assert b.tracker.abandoned == []
        b.reject(orphan.order_id)
        b.advance(1)
    refused = (AlertLevel.WARNING, "order rejected", "ic1-orphan-2: leg rejected by the exchange")
    assert told(b) == [
        (
            AlertLevel.CRITICAL,
            "orphan leg",
            "zero_dte ic1: SPXW 2024-01-08 4740 put, 1 contract(s) opened without its partners; "
            "buying 1 at natural now",
        ),
        *[refused] * 4,
        (
            AlertLevel.CRITICAL,
            "safety order abandoned",
            "ic1-orphan-2: refused 5 times (leg rejected by the exchange); given up: the book and the broker are "
            "compared, and a difference halts trading until a person looks",
        ),
    ]
    assert b.tracker.abandoned == ["ic1-orphan-2:open"]
    b.advance(S.fill_timeout_seconds)
    assert len([s for s in b.submissions if s.safety]) == 5  # abandoned: not sent a sixth time


def test_the_legs_a_partial_close_leaves_are_closed_each_in_its_own_direction() -> None:
    ic = condor()
    b = broker(ic)
    b.positions = {leg.contract: leg.ratio for leg in ic.legs}
    b.apply(b.tracker.submit(close_intent(ic), b.quote, b.now))
    b.fill(b.submissions[0].order_id, 0, 1)  # only the long put wing sold
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    left = "1 contract(s) left by a partial close"
    assert told(b) == [
        (AlertLevel.CRITICAL, "orphan leg", f"zero_dte ic1: SPXW 2024-01-08 4740 put, {left}; buying 1 at natural now"),
        (
            AlertLevel.CRITICAL,
            "orphan leg",
            f"zero_dte ic1: SPXW 2024-01-08 4760 call, {left}; buying 1 at natural now",
        ),
        (
            AlertLevel.CRITICAL,
            "orphan leg",
            f"zero_dte ic1: SPXW 2024-01-08 4770 call, {left}; selling 1 at natural now",
        ),
    ]
    orphans = [s for s in b.submissions if s.safety]
    assert [(s.structure.strategy, s.structure.entry_price, s.structure.tag) for s in orphans] == [
        ("zero_dte", 0.0, "orphan of ic1")
    ] * 3


def test_a_working_order_the_broker_cancels_is_reported_and_priced_again() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    first = b.submissions[0]
    b.apply(b.tracker.on_cancel_confirmed(first.order_id, b.quote, b.now))
    assert told(b) == [(AlertLevel.WARNING, "order cancelled", f"ic1: order {first.order_id} cancelled by the broker")]
    assert [s.limit_price for s in b.submissions] == [-2.30, -2.20]
    assert b.tracker.on_cancel_confirmed("no-such-order", b.quote, b.now) == []
    assert b.tracker.on_reject("no-such-order", "why", b.quote, b.now) == []


def test_a_cancel_is_sent_again_only_after_its_timeout() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    order_id = b.submissions[0].order_id
    timeout = timedelta(seconds=S.fill_timeout_seconds)

    def tick(at: datetime) -> list[Command]:
        return b.tracker.tick(b.quote, at)

    assert tick(NOW + timeout - timedelta(seconds=1)) == []  # the attempt has not timed out yet
    assert tick(NOW + timeout) == [CancelOrder(order_id)]  # it has: the first cancel
    assert tick(NOW + 2 * timeout - timedelta(seconds=1)) == []  # the cancel's own timeout not yet passed
    again = tick(NOW + 2 * timeout)
    assert again[0] == CancelOrder(order_id) and isinstance(again[1], AlertMessage)
    assert (again[1].level, again[1].title) == (AlertLevel.WARNING, "cancel not confirmed")


def test_a_fill_for_an_order_or_a_contract_it_does_not_know_is_critical() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    stranger = m.option("SPXW", EXP, 4500.0, Right.PUT)
    fill = Fill("ic1", stranger, -1, 1.0, b.now)
    assert b.tracker.on_fill("nope", fill, b.quote) == [
        AlertMessage(AlertLevel.CRITICAL, "fill for an unknown order", "nope: SPXW 2024-01-08 4500 put -1")
    ]
    assert b.tracker.on_fill(b.submissions[0].order_id, fill, b.quote) == [
        AlertMessage(
            AlertLevel.CRITICAL,
            "fill for a contract not in the order",
            f"{b.submissions[0].order_id}: SPXW 2024-01-08 4500 put",
        )
    ]


@pytest.mark.parametrize(
    ("price", "natural", "buying", "expected"),
    [
        (2.23, 2.60, True, 2.20),  # a buyer rounds down: never pays more than the step asked
        (2.23, 1.80, False, 2.25),  # a seller rounds up: never takes less
        (-2.27, -2.00, True, -2.30),  # opening a credit condor is a buy at a negative price: down, more credit
        (-2.27, -2.60, False, -2.25),  # closing it (a sale of the structure): up
        (2.58, 2.60, True, 2.55),
        (2.62, 2.60, True, 2.60),  # past natural: held at natural
        (1.77, 1.80, False, 1.80),
        (2.25, 2.60, True, 2.25),  # on the tick already: unchanged, either way
        (2.25, 1.80, False, 2.25),
    ],
)
def test_a_reprice_off_the_tick_is_rounded_to_the_passive_side(
    price: float, natural: float, buying: bool, expected: float
) -> None:
    assert _round_passive(price, 0.05, natural, buying) == pytest.approx(expected, abs=1e-12)


# ------------------------------------------------------------------------------------------ #21: the branches and texts
# The condor's numbers as above: short legs 2.00/2.20, wings 0.90/1.00 (net mid −2.30, natural −2.00 to open).


def orphan_working(quantity: int = 1) -> tuple[SimBroker, SubmitOrder, SubmitOrder]:
    """`quantity` condors asked for; the short put fills alone (all of it); the attempt times out and its cancel
    is confirmed, so the orphan close (buy the put back at its 2.20 ask) is working. The first order, the
    orphan's."""
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic, quantity), b.quote, b.now))
    first = b.submissions[0]
    b.fill(first.order_id, 1, quantity)
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    orphan = b.submissions[-1]
    assert orphan.safety and orphan.quantity == quantity and orphan.limit_price == 2.20
    return b, first, orphan


ORPHAN_PUT = (
    AlertLevel.CRITICAL,
    "orphan leg",
    "zero_dte ic1: SPXW 2024-01-08 4740 put, 1 contract(s) opened without its partners; buying 1 at natural now",
)


def test_a_structure_that_fills_whole_is_reported_once_and_tells_nobody_anything() -> None:
    """One condor filled in its first attempt: one Filled of 1 unit at the natural credit (the sim fills at
    natural: wings bought at 1.00, shorts sold at 2.00, 1 + 1 − 2 − 2 = −2.00) and no alert at all."""
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    b.fill_all(b.submissions[0].order_id)
    assert [(f.structure_id, f.side, f.units, f.average_price) for f in b.filled_reports] == [("ic1", 1, 1, -2.0)]
    assert told(b) == []


def test_whole_units_are_reported_as_they_complete_at_their_average_price() -> None:
    """Three condors: two fill on every leg, then the third. Each fill at natural costs −2.00 a condor
    (2 × 1.00 − 2 × 2.00 for two is −4.00, so −4.00 / 2 = −2.00); the reports are 2 then 1, each at −2.00."""
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic, 3), b.quote, b.now))
    first = b.submissions[0].order_id
    for leg in range(4):
        b.fill(first, leg, 2)
    for leg in range(4):
        b.fill(first, leg, 1)
    assert [(f.units, f.average_price) for f in b.filled_reports] == [(2, -2.0), (1, -2.0)]


def test_an_orphan_close_reports_no_units_of_its_own() -> None:
    b, _, orphan = orphan_working()
    b.fill_all(orphan.order_id)
    b.drain()
    assert {f.structure_id for f in b.filled_reports} == {"ic1"}


def test_an_orphan_close_left_unfilled_is_sent_again_at_natural_each_time_with_a_critical_alert() -> None:
    b, _, orphan = orphan_working()
    assert b.tracker.working_structure_ids() == {"ic1"}  # the orphan close keeps its structure busy, by its id
    assert b.tracker.at_broker() == [b.tracker.tracked[f"{orphan.structure.id}:open"]]
    for attempt in (1, 2):
        b.advance(S.fill_timeout_seconds)
        b.confirm_cancels()
        again = b.submissions[-1]
        assert again.structure == orphan.structure and again.quantity == 1 and again.limit_price == 2.20
        assert told(b)[-1] == (
            AlertLevel.CRITICAL,
            "orphan still open",
            f"ic1-orphan-2: 1 still open after attempt {attempt}; again at natural",
        )
    assert len(b.alerts) == 3


def test_a_refused_orphan_close_waits_off_the_broker_and_its_resend_counts_as_an_attempt() -> None:
    b, _, orphan = orphan_working()
    b.reject(orphan.order_id)
    assert b.tracker.at_broker() == []  # refused: nothing of the structure is at the broker until the next tick
    b.advance(1)
    resent = b.submissions[-1]
    assert resent.structure == orphan.structure and b.tracker.at_broker() == [b.tracker.orders[resent.order_id]]
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    assert told(b)[-1] == (
        AlertLevel.CRITICAL,
        "orphan still open",
        "ic1-orphan-2: 1 still open after attempt 2; again at natural",
    )


def test_an_orphan_close_that_waited_for_quotes_counts_its_first_attempt_once() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    b.fill(b.submissions[0].order_id, 1, 1)
    saved = dict(b.quotes)
    del b.quotes[ic.legs[1].contract]
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    waiting = (AlertLevel.CRITICAL, "no usable quotes", "ic1-orphan-2: cannot price the orphan close; retrying")
    assert told(b) == [ORPHAN_PUT, waiting]
    b.advance(1)
    assert told(b) == [ORPHAN_PUT, waiting]  # said once, not at every tick
    b.quotes = saved
    b.advance(1)
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    assert told(b)[-1] == (
        AlertLevel.CRITICAL,
        "orphan still open",
        "ic1-orphan-2: 1 still open after attempt 1; again at natural",
    )


def test_an_order_that_cannot_be_priced_is_dropped_with_a_warning() -> None:
    ic = condor()
    tracker = FillTracker(S)
    assert tracker.submit(open_intent(ic), lambda c: None, NOW) == [
        AlertMessage(AlertLevel.WARNING, "no usable quotes", "ic1: cannot price the order")
    ]
    assert tracker.working() == []


def test_an_order_dropped_for_want_of_quotes_is_not_sent_again_after_a_late_fill_is_closed() -> None:
    """The first attempt times out; when its cancel is confirmed there are no quotes, so the condor is given
    up. A fill of that attempt arrives after all: its short put is closed as an orphan, and that is all: the
    given-up condor does not go out again."""
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    first = b.submissions[0]
    saved = dict(b.quotes)
    b.advance(S.fill_timeout_seconds)
    b.quotes = {}
    b.confirm_cancels()
    assert told(b) == [(AlertLevel.WARNING, "no usable quotes", "ic1: cannot price the order")]
    b.quotes = saved
    b.working[first.order_id].done = False
    b.fill(first.order_id, 1, 1)
    b.drain()
    assert [s.order_id for s in b.submissions] == ["ic1#1", "ic1-orphan-2#3"]
    assert all(q == 0 for q in b.positions.values())


def test_a_late_fill_stops_the_orphan_close_sized_without_it_and_sizes_them_again() -> None:
    """The short put filled alone and its orphan close is working when a fill of the cancelled attempt
    arrives: the short call. The orphan close was sized without it: it is cancelled (once, then again only
    after its own timeout, counted) and, when the broker refuses it instead, both short legs are closed."""
    b, first, orphan = orphan_working()
    b.working[first.order_id].done = False
    b.fill(first.order_id, 2, 1)  # the short call, late
    late = (AlertLevel.CRITICAL, "fill after cancel", "ic1: ic1#1 filled SPXW 2024-01-08 4760 call -1 after it ended")
    assert told(b) == [ORPHAN_PUT, late]
    assert b.working[orphan.order_id].cancel_requested
    b.advance(1)
    assert told(b) == [ORPHAN_PUT, late]  # the cancel has its timeout before it is sent again
    b.ignore_cancels = True
    b.advance(S.fill_timeout_seconds)
    again = (AlertLevel.WARNING, "cancel not confirmed", "ic1-orphan-2 order ic1-orphan-2#3: cancel sent 2 times")
    assert told(b) == [ORPHAN_PUT, late, again]
    sent = len(b.submissions)
    b.reject(orphan.order_id)
    call = (
        AlertLevel.CRITICAL,
        "orphan leg",
        "zero_dte ic1: SPXW 2024-01-08 4760 call, 1 contract(s) opened without its partners; buying 1 at natural now",
    )
    rejected = (AlertLevel.WARNING, "order rejected", "ic1-orphan-2: leg rejected by the exchange")
    assert told(b) == [ORPHAN_PUT, late, again, rejected, ORPHAN_PUT, call]
    closes = [(s.structure.legs[0].contract.strike, s.structure.legs[0].ratio, s.limit_price) for s in b.submissions]
    assert closes[sent:] == [(4740.0, 1, 2.20), (4760.0, 1, 2.20)]


def test_a_fill_resets_the_count_of_refusals_in_a_row() -> None:
    """An orphan close of two puts is refused four times, then one put fills: the next four refusals are
    again not enough to abandon it; a fifth in a row is."""
    b, _, orphan = orphan_working(quantity=2)
    for _ in range(4):
        b.reject(b.submissions[-1].order_id)
        b.advance(1)
    b.fill(b.submissions[-1].order_id, 0, 1)
    for _ in range(4):
        b.reject(b.submissions[-1].order_id)
        b.advance(1)
    assert b.tracker.abandoned == []
    b.reject(b.submissions[-1].order_id)
    assert b.tracker.abandoned == [f"{orphan.structure.id}:open"]


@pytest.mark.parametrize(("reprices", "limits"), [(0, [-2.00]), (1, [-2.30, -2.00])])
def test_with_few_reprices_the_order_still_ends_at_natural(reprices: int, limits: list[float]) -> None:
    """No reprices: the one attempt goes at natural (−2.00). One: mid (−2.30), then natural."""
    ic = condor()
    b = SimBroker(FillTracker(dataclasses.replace(S, fill_max_reprices=reprices)), quotes_for(ic), NOW)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    for _ in range(3):
        b.advance(S.fill_timeout_seconds)
        b.confirm_cancels()
    assert [s.limit_price for s in b.submissions] == limits


def lt112_of(quantity: int) -> Structure:
    expiry = date(2024, 5, 17)
    legs = (
        Leg(option_contract("SPY", "SPY", Right.PUT, 470.0, expiry), 1),
        Leg(option_contract("SPY", "SPY", Right.PUT, 465.0, expiry), -1),
        Leg(option_contract("SPY", "SPY", Right.PUT, 440.0, expiry), -2),
    )
    return Structure("lt1", "lt112", legs, quantity, -3.0, NOW)


def test_an_attempt_is_complete_only_when_both_naked_puts_of_an_lt112_filled() -> None:
    lt112 = lt112_of(1)
    b = broker(lt112)
    b.apply(b.tracker.submit(open_intent(lt112), b.quote, b.now))
    order = b.submissions[0].order_id
    b.fill(order, 0, 1)
    b.fill(order, 1, 1)
    b.fill(order, 2, 1)  # one of the two naked puts
    assert [o.phase.value for o in b.tracker.working()] == ["working"] and len(b.submissions) == 1
    b.fill(order, 2, 1)
    assert b.tracker.working() == [] and [f.units for f in b.filled_reports] == [1]


def test_closing_two_lt112s_one_naked_put_bought_back_finishes_that_unit_only() -> None:
    """Two LT112s closing; one naked 440 put of the four is bought back: one unit was begun (1 of its 2), so
    that unit is finished (the other 440, the 465, the 470) and the second LT112 is left whole."""
    lt112 = lt112_of(2)
    b = broker(lt112)
    b.positions = {leg.contract: 2 * leg.ratio for leg in lt112.legs}
    b.apply(b.tracker.submit(close_intent(lt112, 2), b.quote, b.now))
    b.fill(b.submissions[0].order_id, 2, 1)
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    safety = [s for s in b.submissions if s.safety]
    assert sorted((s.structure.legs[0].contract.strike, s.structure.legs[0].ratio * s.quantity) for s in safety) == [
        (440.0, 1),
        (465.0, 1),
        (470.0, -1),
    ]


def test_a_second_close_of_a_closing_structure_is_refused_by_its_key() -> None:
    ic = condor()
    tracker = FillTracker(S)
    tracker.submit(close_intent(ic), broker(ic).quote, NOW)
    assert tracker.submit(close_intent(ic), broker(ic).quote, NOW) == [
        AlertMessage(AlertLevel.WARNING, "duplicate order", "ic1:close already has an order working")
    ]


def test_order_ids_count_up_and_after_a_restart_carry_the_restarts_new_york_time() -> None:
    """Ids are the structure's id, '#', a counter; after a restart at 10:30 New York on 2024-01-08 the
    counter starts again, so the ids carry that moment: 20240108103000-."""
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    assert b.submissions[0].order_id == "ic1#1"
    b.fill(b.submissions[0].order_id, 1, 1)
    from safety.persistence import tracker_orders

    restarted = SimBroker(FillTracker(S), quotes_for(ic), NOW, positions=dict(b.positions))
    restarted.apply(restarted.tracker.resume(tracker_orders(b.tracker), restarted.quote, NOW))
    assert [s.order_id for s in restarted.submissions] == ["ic1-orphan-1#20240108103000-2"]


def test_a_restart_with_an_orphan_close_working_sizes_it_again_and_resumes_every_structure() -> None:
    """Saved: condor ic1 with its short put filled alone and the orphan close of it working (not filled),
    and condor ic2 with its short call filled alone. After the restart the saved orphan close is over (the
    shell cancelled it), ic1's put is closed again, ic2's call too, and both condors end whole."""
    ic1 = condor()
    ic2 = dataclasses.replace(condor(), id="ic2")
    b = broker(ic1)
    b.apply(b.tracker.submit(open_intent(ic1), b.quote, b.now))
    b.fill(b.submissions[0].order_id, 1, 1)
    b.advance(S.fill_timeout_seconds)
    b.confirm_cancels()
    b.apply(b.tracker.submit(open_intent(ic2), b.quote, b.now))
    b.fill(b.submissions[-1].order_id, 2, 1)
    from safety.persistence import order_from_dict, order_to_dict, tracker_orders

    saved = [order_from_dict(order_to_dict(o)) for o in tracker_orders(b.tracker)]
    assert sorted(o.key for o in saved) == ["ic1-orphan-2:open", "ic1:open", "ic2:open"]
    restarted = SimBroker(FillTracker(S), quotes_for(ic1), b.now, positions=dict(b.positions))
    restarted.apply(restarted.tracker.resume(saved, restarted.quote, restarted.now))
    assert sorted((s.structure.tag, s.structure.legs[0].contract.strike) for s in restarted.submissions) == [
        ("orphan of ic1", 4740.0),
        ("orphan of ic2", 4760.0),
    ]
    restarted.drain()
    assert all(restarted.positions.get(leg.contract, 0) == 2 * leg.ratio for leg in ic1.legs)


@pytest.mark.usefixtures("server_in_utc")
def test_every_expired_order_waiting_for_quotes_is_dropped_each_with_its_first_leg() -> None:
    """Two safety closes wait for quotes on condors that expire on 2024-01-08. At 20:30 New York that day
    (01:30 the next day in UTC) they still wait; the next morning both are dropped, each naming its first
    leg (the 4730 put)."""
    tracker = FillTracker(S)
    for sid in ("ic1", "ic2"):
        urgent = dataclasses.replace(close_intent(dataclasses.replace(condor(), id=sid)), safety=True)
        tracker.submit(urgent, lambda c: None, NOW)
    assert tracker.tick(lambda c: None, m.at(DAY, 20, 30)) == [] and len(tracker.working()) == 2
    assert tracker.tick(lambda c: None, m.at(date(2024, 1, 9), 9, 45)) == [
        AlertMessage(
            AlertLevel.WARNING,
            "order dropped: a leg expired",
            f"{sid}: SPXW 2024-01-08 4730 put expired before it could be priced",
        )
        for sid in ("ic1", "ic2")
    ]
    assert tracker.working() == []


def test_orders_are_ticked_in_the_order_they_were_sent() -> None:
    tracker = FillTracker(S)
    for sid in ("zz", "aa"):
        ic = dataclasses.replace(condor(), id=sid)
        tracker.submit(open_intent(ic), broker(ic).quote, NOW)
    timeout = timedelta(seconds=S.fill_timeout_seconds)
    assert tracker.tick(lambda c: None, NOW + timeout) == [CancelOrder("zz#1"), CancelOrder("aa#2")]


def test_a_cancel_is_sent_a_third_time_only_after_its_second_timeout() -> None:
    ic = condor()
    tracker = FillTracker(S)
    tracker.submit(open_intent(ic), broker(ic).quote, NOW)
    timeout = timedelta(seconds=S.fill_timeout_seconds)
    tracker.tick(lambda c: None, NOW + timeout)
    tracker.tick(lambda c: None, NOW + 2 * timeout)
    assert tracker.tick(lambda c: None, NOW + 3 * timeout - timedelta(seconds=1)) == []
    assert tracker.tick(lambda c: None, NOW + 3 * timeout) == [
        CancelOrder("ic1#1"),
        AlertMessage(AlertLevel.WARNING, "cancel not confirmed", "ic1 order ic1#1: cancel sent 3 times"),
    ]


def test_a_second_confirmation_of_an_earlier_attempts_cancel_changes_nothing() -> None:
    ic = condor()
    b = broker(ic)
    b.apply(b.tracker.submit(open_intent(ic), b.quote, b.now))
    first = b.submissions[0].order_id
    b.apply(b.tracker.on_cancel_confirmed(first, b.quote, b.now))
    assert [s.order_id for s in b.submissions] == ["ic1#1", "ic1#2"]
    assert b.tracker.on_cancel_confirmed(first, b.quote, b.now) == []
    assert b.tracker.on_reject(first, "late", b.quote, b.now) == []
