"""The streaming commands: a chain snapshot from DXLink, and a watch on the account's order events.

- `chain ROOT [--expiry D]`: the listed options of one expiry (REST), then their Quote and Greeks events and
  the underlying's Trade (SPX's value comes from Trade, not Quote) from DXLink until every contract has
  both or the wait runs out; the result is the core's columnar Chain, checked by safety/data exactly as the
  algorithm checks its own, printed as a table with the validator's verdict.
- `watch`: the account streamer's order events; a rejected order is an alert line. The SDK's streamers do
  not reconnect by themselves: a dropped stream is said, and reconnected with a doubling back-off (1 s to
  60 s), until `--events` events were seen or `--seconds` passed (both unlimited by default).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

import anyio
from anyio.abc import TaskGroup
from httpx2.websockets import HTTPXWSException, WebSocketDisconnect
from tastytrade import AlertStreamer, DXLinkStreamer, Session
from tastytrade.account import AccountBalance, CurrentPosition
from tastytrade.dxfeed import Greeks, Quote, Trade
from tastytrade.instruments import Option, get_option_chain
from tastytrade.market_data import MarketData, get_market_data_by_type
from tastytrade.order import OrderStatus, PlacedOrder
from tastytrade.utils import TastytradeError

from core.model import Chain, ChainRow, Right
from core.products import AssetKind, option_underlying, product
from core.settings import Settings
from safety.data import DataValidator
from tasty.commands import Outcome, pick_account
from tasty.session import ToolError, find_error

NEW_YORK = ZoneInfo("America/New_York")
# A socket that went away; not a TastytradeError, which is an answer (the account streamer's refusal, which
# reconnecting would only repeat) or the SDK's own complaint, and is said as such by `python -m tasty`.
DROPPED = (WebSocketDisconnect, HTTPXWSException, OSError)


# DXLink batches everything a subscription brings into one message per aggregation period, and the SDK
# opens the socket with httpx2's default 64 KiB message limit (DEFAULT_MAX_MESSAGE_SIZE_BYTES): a full SPXW
# expiry (about 2,000 symbols) comes back as one message over it, the client closes the socket (1009) and
# the SDK says "Subscription message too long!". So `chain` subscribes a window of strikes around the
# money, CHUNK symbols at a time, each chunk's data in before the next; and if the socket is closed for
# size all the same, it halves the chunk and goes again (down to MIN_CHUNK).
STRIKES = 60  # listed strikes each side of the money (SPXW's 5-point strikes: ±300 points)
CHUNK = 200
MIN_CHUNK = 25


@dataclass
class Collected:
    quotes: dict[str, Quote] = field(default_factory=dict)
    greeks: dict[str, Greeks] = field(default_factory=dict)
    trades: dict[str, float] = field(default_factory=dict)  # last trade price by symbol
    price: float | None = None  # the underlying's price used
    source: str = ""  # where it came from

    def complete(self, symbols: set[str]) -> bool:
        return symbols <= set(self.quotes) and symbols <= set(self.greeks)


def _number(value: Decimal | float | None) -> float:
    return math.nan if value is None else float(value)


def _too_long(err: BaseException) -> bool:
    found = find_error(err, TastytradeError)
    return found is not None and "too long" in str(found)


def window(options: dict[str, Option], price: float | None, strikes: int) -> tuple[dict[str, Option], str]:
    """The options within `strikes` listed strikes either side of the one nearest the price (the middle of
    the listed strikes when there is no price), and a phrase saying so."""
    listed = sorted({float(o.strike_price) for o in options.values()})
    centre = price if price is not None else listed[len(listed) // 2]
    nearest = min(range(len(listed)), key=lambda i: abs(listed[i] - centre))
    kept = set(listed[max(0, nearest - strikes) : nearest + strikes + 1])
    chosen = {s: o for s, o in options.items() if float(o.strike_price) in kept}
    around = "the money" if price is not None else "the middle strike (no underlying price)"
    return chosen, f"{len(kept)} of {len(listed)} listed strikes (±{strikes} around {around})"


async def _until(done: Callable[[], bool], deadline: float) -> None:
    with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
        while not done():
            await anyio.sleep(0.01)  # polling what the readers collect; bounded by the deadline


def quote_mid(quote: Quote | None) -> float | None:
    """A quote's mid, or None without both a bid and an ask."""
    if quote is None or not quote.bid_price or not quote.ask_price:
        return None
    return float((quote.bid_price + quote.ask_price) / 2)


def _quoted(got: Collected, symbol: str) -> bool:
    return quote_mid(got.quotes.get(symbol)) is not None


async def market_data(session: Session, roots: set[str]) -> dict[str, MarketData]:
    """REST market data of underlying roots, each asked for as what it is (an index or an equity: the API
    answers only under the instrument type it is asked for); none when the request fails."""
    if not roots:
        return {}
    indices = sorted(r for r in roots if product(r).kind is AssetKind.INDEX)
    equities = sorted(roots - set(indices))
    try:
        found = await get_market_data_by_type(session, indices=indices or None, equities=equities or None)
    except TastytradeError:
        return {}
    return {d.symbol: d for d in found if d.symbol in roots}


async def underlying_prices(
    session: Session, roots: set[str], quotes: dict[str, Quote], trades: dict[str, float]
) -> dict[str, tuple[float, str]]:
    """Each root's price and where it came from: the last trade; else the quote's mid (RUT's index value
    comes as no Trade from DXLink); else the REST market data's last, mark or mid (one request for all)."""
    out: dict[str, tuple[float, str]] = {}
    for root in roots:
        mid = quote_mid(quotes.get(root))
        if root in trades:
            out[root] = (trades[root], "last trade (DXLink Trade)")
        elif mid is not None:
            out[root] = (mid, "quote mid (DXLink Quote; no Trade)")
    for symbol, data in (await market_data(session, roots - set(out))).items():
        for name, value in (("last", data.last), ("mark", data.mark), ("mid", data.mid)):
            if value:
                out[symbol] = (float(value), f"REST market data {name} (no DXLink Trade or Quote)")
                break
    return out


async def _underlying_price(session: Session, underlying: str, got: Collected) -> None:
    """`underlying_prices` for the chain's one underlying; `got.source` says where it came from."""
    found = await underlying_prices(session, {underlying}, got.quotes, got.trades)
    if underlying in found:
        got.price, got.source = found[underlying]


def start_readers(
    streamer: DXLinkStreamer,
    tasks: TaskGroup,
    quotes: dict[str, Quote],
    greeks: dict[str, Greeks],
    trades: dict[str, float],
) -> None:
    """Keep the latest Quote and Greeks event of each symbol, and each Trade's price when it has one, as
    DXLink sends them, until the task group is cancelled (`chain` and `stress` share them)."""

    async def read_quotes() -> None:
        async for q in streamer.listen(Quote):
            quotes[q.event_symbol] = q

    async def read_greeks() -> None:
        async for g in streamer.listen(Greeks):
            greeks[g.event_symbol] = g

    async def read_trades() -> None:
        async for t in streamer.listen(Trade):
            if t.price:
                trades[t.event_symbol] = float(t.price)

    for reader in (read_quotes, read_greeks, read_trades):
        tasks.start_soon(reader)


async def _stream(
    session: Session, underlying: str, options: dict[str, Option], got: Collected, deadline: float,
    strikes: int, chunk: int,
) -> tuple[dict[str, Option], str]:  # fmt: skip
    async with DXLinkStreamer(session) as streamer, anyio.create_task_group() as tasks:
        start_readers(streamer, tasks, got.quotes, got.greeks, got.trades)
        await streamer.subscribe(Trade, [underlying])
        await streamer.subscribe(Quote, [underlying])
        await _until(
            lambda: underlying in got.trades or _quoted(got, underlying), min(deadline, anyio.current_time() + 2)
        )
        if got.price is None:
            await _underlying_price(session, underlying, got)
        legs, said = window(options, got.price, strikes)
        symbols = sorted(legs)
        for start in range(0, len(symbols), chunk):
            batch = symbols[start : start + chunk]
            await streamer.subscribe(Quote, batch)
            await streamer.subscribe(Greeks, batch)
            await _until(partial(got.complete, set(batch)), deadline)
        tasks.cancel_scope.cancel()
    return legs, said


async def chain(
    session: Session,
    root: str,
    expiry: date | None,
    today: date,
    settings: Settings,
    wait: float = 10.0,
    strikes: int = STRIKES,
    chunk: int = CHUNK,
) -> Outcome:
    if strikes < 1:
        raise ToolError(f"--strikes {strikes}: give at least 1 strike each side of the money")
    root = root.upper()
    underlying = option_underlying(root)
    listed = await get_option_chain(session, underlying)
    options = [o for day in listed.values() for o in day if o.root_symbol.upper() == root]
    if not options:
        raise ToolError(f"no {root} options listed on {underlying} (is the symbol right?)")
    expiries = sorted({o.expiration_date for o in options if o.expiration_date >= today})
    chosen = expiry or (expiries[0] if expiries else None)
    if chosen is None or chosen not in expiries:
        nearby = ", ".join(d.isoformat() for d in expiries[:5])
        raise ToolError(f"{root} has no expiry {chosen}; listed: {nearby}")
    expiring = {o.streamer_symbol: o for o in options if o.expiration_date == chosen}
    got = Collected()
    deadline = anyio.current_time() + wait
    notes: list[str] = []
    while True:
        try:
            legs, said = await _stream(session, underlying, expiring, got, deadline, strikes, chunk)
            break
        except Exception as err:  # the SDK raises it from its task group, wrapped
            if not _too_long(err) or chunk // 2 < MIN_CHUNK:
                raise
            notes.append(f"DXLink closed the socket (message too long) at {chunk} symbols a subscription")
            chunk //= 2
    notes.append(f"subscribed {said}, {chunk} symbols at a time")
    now = datetime.now(NEW_YORK)
    rows = []
    for symbol, option in sorted(legs.items(), key=lambda kv: (kv[1].option_type.value, float(kv[1].strike_price))):
        q, g = got.quotes.get(symbol), got.greeks.get(symbol)
        rows.append(
            ChainRow(
                chosen,
                float(option.strike_price),
                Right.CALL if option.option_type.value == "C" else Right.PUT,
                _number(q.bid_price) if q else math.nan,
                _number(q.ask_price) if q else math.nan,
                _number(g.volatility) if g else math.nan,
                _number(g.delta) if g else math.nan,
                _number(g.gamma) if g else math.nan,
                _number(g.vega) if g else math.nan,
                _number(g.theta) if g else math.nan,
            )
        )
    snapshot = Chain.from_rows(root, got.price if got.price is not None else math.nan, now, rows)
    usable, report = DataValidator(settings).check_chain(snapshot, now, live=True)
    price = f"{got.price} ({got.source})" if got.price is not None else "no price (no trade, quote or market data)"
    lines = [f"{root} {chosen}: {underlying} {price}", *notes]
    lines.append(f"{'right':<5} {'strike':>9} {'bid':>8} {'ask':>8} {'iv':>7} {'delta':>7}  usable")
    for i in range(len(snapshot)):
        right = "call" if snapshot.is_call[i] else "put"
        lines.append(
            f"{right:<5} {snapshot.strike[i]:>9g} {snapshot.bid[i]:>8.2f} {snapshot.ask[i]:>8.2f} "
            f"{snapshot.iv[i]:>7.3f} {snapshot.delta[i]:>7.3f}  {'yes' if usable[i] else 'no'}"
        )
    problems = ", ".join(f"{k} {v}" for k, v in sorted(report.problems.items())) or "none"
    missing = len(set(legs) - set(got.quotes))
    lines.append(f"{report.usable} of {report.total} usable; problems: {problems}; no quote in time: {missing}")
    if report.warning:
        lines.append(f"the algorithm would not trade it: {report.warning}")
    return Outcome("\n".join(lines), 0 if report.tradable else 1)


# ---------------------------------------------------------------------------------------------- watch


@dataclass
class OrderLog:
    """What `watch` has seen: each order update once (by id, status and time), whichever way it came."""

    say: Callable[[str], None]
    seen: set[tuple[int, str, datetime]] = field(default_factory=set)
    events: int = 0
    rejects: int = 0
    ignored: int = 0  # balance and position messages, drained so the SDK's unbounded queues stay empty
    last: datetime | None = None  # the updated-at of the latest order update seen

    def report(self, order: PlacedOrder, found: str = "") -> None:
        key = (order.id, order.status.value, order.updated_at)
        if key in self.seen:
            return
        self.seen.add(key)
        self.events += 1
        self.last = order.updated_at if self.last is None else max(self.last, order.updated_at)
        legs = ", ".join(f"{leg.action.value} {leg.quantity} {leg.symbol}" for leg in order.legs)
        where = f" [{found}]" if found else ""
        if order.status is OrderStatus.REJECTED:
            self.rejects += 1
            when = order.updated_at.astimezone(NEW_YORK)
            self.say(
                f"ALERT order {order.id} REJECTED at {when:%Y-%m-%d %H:%M:%S %Z}: "
                f"{order.reject_reason or 'no reason given'} ({legs}){where}"
            )
        else:
            self.say(f"order {order.id} {order.status.value}: {legs}{where}")

    def catch_up(self, live: list[PlacedOrder], found: str) -> None:
        """Rejects among the live orders updated since the last update seen (all of today's at the start):
        what happened while no stream was there to say it."""
        for order in sorted(live, key=lambda o: o.updated_at):
            if order.status is OrderStatus.REJECTED and (self.last is None or order.updated_at >= self.last):
                self.report(order, found)


async def _drain(streamer: AlertStreamer, kind: type[AccountBalance] | type[CurrentPosition], log: OrderLog) -> None:
    async for _ in streamer.listen(kind):
        log.ignored += 1


async def watch(
    session: Session,
    account_number: str | None,
    events: int | None,
    seconds: float | None,
    say: Callable[[str], None],
    pause: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> Outcome:
    """The module docstring's `watch`. After every connect (the first and each reconnect) the live orders
    are fetched, after subscribing so that nothing falls between the two, and a reject not yet seen is an
    alert: the account streamer sends no heartbeat and its session lapses, so a reject can happen while
    the tool is reconnecting and no stream will ever carry it."""
    account = await pick_account(session, account_number)
    log = OrderLog(say)
    drops, backoff = 0, 1.0

    def done() -> bool:
        return events is not None and log.events >= events

    with anyio.move_on_after(seconds if seconds is not None else math.inf):
        while not done():
            try:
                async with AlertStreamer(session) as streamer, anyio.create_task_group() as tasks:
                    await streamer.subscribe_accounts([account])
                    say(f"watching account {account.account_number}")
                    backoff = 1.0
                    tasks.start_soon(_drain, streamer, AccountBalance, log)
                    tasks.start_soon(_drain, streamer, CurrentPosition, log)
                    found = "in the live orders after connecting" if drops else "in today's live orders"
                    try:
                        live = await account.get_live_orders(session)
                    except TastytradeError as err:  # an answer, not a dropped stream: no reconnecting
                        raise ToolError(
                            f"the live orders could not be read after connecting: {str(err).strip()}"
                        ) from None
                    log.catch_up(live, found)
                    if not done():
                        async for order in streamer.listen(PlacedOrder):
                            log.report(order)
                            if done():
                                break
                    tasks.cancel_scope.cancel()
            except Exception as err:  # the SDK's task groups wrap a dropped socket in an ExceptionGroup
                cause = find_error(err, DROPPED)
                if cause is None or find_error(err, ToolError) is not None:  # a socket may go down with it
                    raise
                if done():  # the socket went as the tool was leaving: nothing to come back for
                    break
                drops += 1
                say(f"stream dropped ({type(cause).__name__}); reconnecting in {backoff:g} s")
                await pause(backoff)
                backoff = min(backoff * 2, 60.0)
    summary = (
        f"{log.events} order event(s), {log.rejects} rejected, {drops} reconnect(s); "
        f"{log.ignored} balance/position update(s) ignored"
    )
    return Outcome(summary, 1 if log.rejects else 0)
