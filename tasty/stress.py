"""`python -m tasty stress --state FILE`: the live account's book on RULEBOOK's stress grid, computed by the
same core/stress the algorithm's gate and daily summary use.

The book is the algorithm's own structures (the state file, as `reconcile` groups positions); the broker's
positions are reconciled against it first and any difference is said, since a structure the broker does not
hold would be stressed for nothing and one it holds unknown to the algorithm would be missed. Prices, in
order of preference for each option leg:
1. live: DXLink's Quote and Greeks (its IV), collected until every leg has both or `--wait` runs out;
2. the last known: the position's close price from the broker (the previous close's mark), with the IV
   implied from it by core/chain_greeks against the underlying's previous close (REST market data's
   prev-close: the spot that price went with), then revalued from today's price; without a previous close,
   against today's price, and said so;
3. neither: the structure is listed as not revalued, never guessed.
Underlyings as `chain` prices its one (tasty/streams `underlying_prices`): DXLink's Trade, else its Quote
mid, else REST market data (last, mark or mid). Net liq is
the broker's. Future options are not read by this tool (as `check`: OCC symbols only): a structure on a
future is listed as not revalued with that reason.

Exit code 1 when the worst scenario's loss is beyond `stress_alert_loss` of net liq, when anything could not
be revalued, when the broker's positions differ from the state's (a position the state does not know is not
stressed), or when net liq is not positive (no share of it means anything); 0 otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import anyio
from tastytrade import DXLinkStreamer, Session
from tastytrade.dxfeed import Greeks, Quote, Trade
from tastytrade.instruments import Option

from core.book_view import BookView
from core.calendar import Calendars
from core.chain_greeks import PricingModel, with_model_greeks
from core.model import Chain, ChainRow, Contract, ContractKind, MarketSnapshot, Structure
from core.products import AssetKind, option_underlying, product
from core.settings import Settings, share
from core.stress import describe_worst, stress_book
from tasty.commands import Outcome, pick_account, read_state
from tasty.reconcile import reconcile
from tasty.streams import market_data, quote_mid, start_readers, underlying_prices
from tasty.symbols import contract_of, occ_symbol

NEW_YORK = ZoneInfo("America/New_York")


@dataclass
class Feed:
    quotes: dict[str, Quote] = field(default_factory=dict)
    greeks: dict[str, Greeks] = field(default_factory=dict)
    trades: dict[str, float] = field(default_factory=dict)

    def complete(self, options: set[str], underlyings: set[str]) -> bool:
        return options <= set(self.quotes) & set(self.greeks) and underlyings <= set(self.trades) | set(self.quotes)


async def _collect(session: Session, options: set[str], underlyings: set[str], wait: float) -> Feed:
    feed = Feed()
    async with DXLinkStreamer(session) as streamer, anyio.create_task_group() as tasks:
        start_readers(streamer, tasks, feed.quotes, feed.greeks, feed.trades)
        await streamer.subscribe(Trade, sorted(underlyings))
        await streamer.subscribe(Quote, sorted(underlyings | options))
        if options:
            await streamer.subscribe(Greeks, sorted(options))
        with anyio.move_on_after(wait):
            while not feed.complete(options, underlyings):
                await anyio.sleep(0.01)  # polling what the readers collect; bounded by the wait
        tasks.cancel_scope.cancel()
    return feed


def _readable(structure: Structure) -> str | None:
    """Why the tool cannot revalue a structure from its own feeds, or None."""
    for leg in structure.legs:
        c = leg.contract
        if c.kind is not ContractKind.OPTION or product(option_underlying(c.root)).kind is AssetKind.FUTURE:
            return f"{structure.strategy} {structure.id}: {c.root} is not an equity or index option (not read here)"
    return None


def _implied_at(row: ChainRow, root: str, spot: float, now: datetime, settings: Settings) -> ChainRow:
    """A last-close row with the IV and Greeks its price implies against `spot` (core/chain_greeks)."""
    chain = Chain.from_rows(root, spot, now, [row])
    rate, q = settings.risk_free_rate, settings.yield_of(root)
    done, _ = with_model_greeks(chain, PricingModel.SPOT, rate, q, time(16, 0))
    values = (float(done.iv[0]), float(done.delta[0]), float(done.gamma[0]), float(done.vega[0]), float(done.theta[0]))
    return ChainRow(row.expiry, row.strike, row.right, row.bid, row.ask, *values)


def _chains(
    contracts: dict[str, Contract],
    feed: Feed,
    last_close: dict[Contract, float],
    prices: dict[str, tuple[float, str]],
    closes: dict[str, float],
    now: datetime,
    settings: Settings,
) -> tuple[dict[str, Chain], dict[str, int]]:
    """One chain per option root from the feed (or the last close), with IVs implied where DXLink gave none:
    a last-close price against its underlying's previous close (`closes`), else against today's price."""
    rows: dict[str, list[ChainRow]] = {}
    sources = {"live": 0, "last close": 0, "none": 0}
    for symbol, c in sorted(contracts.items()):
        assert c.expiry is not None and c.strike is not None and c.right is not None
        quote, greeks = feed.quotes.get(symbol), feed.greeks.get(symbol)
        bid = ask = math.nan
        iv = delta = gamma = vega = theta = math.nan
        if quote_mid(quote) is not None and quote is not None:
            bid, ask = float(quote.bid_price), float(quote.ask_price)
            sources["live"] += 1
            if greeks is not None:
                iv, delta, gamma = float(greeks.volatility), float(greeks.delta), float(greeks.gamma)
                vega, theta = float(greeks.vega), float(greeks.theta)
        elif c in last_close:
            bid = ask = last_close[c]
            sources["last close"] += 1
        else:
            sources["none"] += 1
        row = ChainRow(c.expiry, c.strike, c.right, bid, ask, iv, delta, gamma, vega, theta)
        close = closes.get(option_underlying(c.root))
        if c in last_close and quote_mid(quote) is None and close is not None:
            row = _implied_at(row, c.root, close, now, settings)
        rows.setdefault(c.root, []).append(row)
    chains = {}
    for root, found in rows.items():
        price = prices.get(option_underlying(root), (math.nan, ""))[0]
        chain = Chain.from_rows(root, price, now, found)
        chain, _ = with_model_greeks(
            chain, PricingModel.SPOT, settings.risk_free_rate, settings.yield_of(root), time(16, 0)
        )
        chains[root] = chain
    return chains, sources


async def stress_account(
    session: Session,
    state: Path,
    account_number: str | None,
    today: date,
    settings: Settings,
    wait: float = 10.0,
    now: datetime | None = None,
) -> Outcome:
    record = read_state(state)
    account = await pick_account(session, account_number)
    positions = await account.get_positions(session)
    net_liq = float((await account.get_balances(session)).net_liquidating_value)
    calendars = Calendars()
    signed = [
        (p.symbol, (-1 if p.quantity_direction.lower() == "short" else 1) * Decimal(p.quantity)) for p in positions
    ]
    found = reconcile(signed, record, calendars, today)
    last_close: dict[Contract, float] = {}
    for p in positions:
        contract = contract_of(p.symbol, calendars, today)
        if contract is not None and p.close_price:
            last_close[contract] = float(p.close_price)
    structures = record.book.open_structures()
    unreadable = [why for s in structures if (why := _readable(s))]
    readable = [s for s in structures if _readable(s) is None]
    contracts = {
        Option.occ_to_streamer_symbol(occ_symbol(leg.contract)): leg.contract for s in readable for leg in s.legs
    }
    underlyings = {option_underlying(c.root) for c in contracts.values()}
    feed = await _collect(session, set(contracts), underlyings, wait) if contracts else Feed()
    prices = await underlying_prices(session, underlyings, feed.quotes, feed.trades)
    unquoted = {option_underlying(c.root) for s, c in contracts.items() if quote_mid(feed.quotes.get(s)) is None}
    # The spot a last-close option price went with: REST market data's previous close.
    closes = {r: float(d.prev_close) for r, d in (await market_data(session, unquoted)).items() if d.prev_close}
    moment = now or datetime.now(NEW_YORK)
    chains, sources = _chains(contracts, feed, last_close, prices, closes, moment, settings)
    snapshot = MarketSnapshot(moment, {root: p for root, (p, _) in prices.items()}, None, chains)
    book = BookView.build(readable, snapshot, settings)
    result = stress_book(book, snapshot, settings)
    held = f"book from {state}: {len(structures)} structure(s)"
    lines = [f"account {account.account_number}: net liq {net_liq:,.2f}; {held}"]
    differences = found.differences
    lines.append(
        "the broker and the algorithm agree"
        if not differences
        else f"{len(differences)} difference(s) with the broker: run `reconcile` (the state's book is stressed)"
    )
    priced = ", ".join(f"{root} {p:,.2f} ({how})" for root, (p, how) in sorted(prices.items()))
    lines.append(f"underlyings: {priced or 'none'}")
    lines.append(
        f"option legs: {sources['live']} live (DXLink), {sources['last close']} at the last close "
        f"(IV implied from it), {sources['none']} with no price"
    )
    if sources["last close"]:
        known = ", ".join(f"{r} {p:,.2f}" for r, p in sorted(closes.items())) or "none"
        lines.append(f"previous closes the last-close IVs were implied against: {known} (others: today's price)")
    for structure_id, row in zip(result.ids, result.pnl, strict=True):
        worst = int(row.argmin())
        lines.append(f"  {structure_id}: worst {result.scenarios[worst].label()}: {max(-float(row[worst]), 0.0):,.0f}")
    missing = [*unreadable, *result.unrevalued]
    lines.extend(f"  not revalued: {p}" for p in missing)
    ranked = result.ranked(3) if result.ids else []
    alert = settings.stress_alert_loss
    over = False
    if ranked:
        lines.append(f"worst three: {describe_worst(ranked, net_liq)}")
        over = net_liq > 0 and ranked[0].loss > alert * net_liq
        lines.append(
            f"{'BEYOND' if over else 'within'} the alert level {share(alert)} of net liq; new entries are refused "
            f"past {share(settings.stress_max_loss)}"
        )
    else:
        lines.append("nothing revalued")
    problems = []
    if missing:
        problems.append("the figures above leave out what could not be revalued")
    if differences:
        problems.append("the broker holds what the state does not say (not stressed) or not what it says")
    if net_liq <= 0:
        problems.append(f"net liq {net_liq:,.2f} is not positive: no share of it is a measure")
    lines.extend(f"incomplete: {p}" for p in problems)
    return Outcome("\n".join(lines), 1 if over or problems else 0)
