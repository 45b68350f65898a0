"""The operator's commands, each `async (session, ...) -> Outcome` (text to print and an exit code).

status, positions, reconcile, metrics and check talk to TastyTrade's REST API through the SDK; what they
compare against is the core's own: the saved state (safety/persistence), core/margin and core/fees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from tastytrade import Account, Session
from tastytrade.market_sessions import (
    ExchangeType,
    MarketSession,
    get_futures_holidays,
    get_market_holidays,
    get_market_sessions,
)
from tastytrade.metrics import DividendInfo, MarketMetricInfo, get_dividends, get_market_metrics
from tastytrade.order import InstrumentType, LimitOrder, OrderAction
from tastytrade.order import Leg as TastyLeg
from tastytrade.utils import TastytradeError

from core.calendar import Calendars
from core.fees import contract_fees
from core.margin import MarginLeg, option_requirement
from core.products import product
from core.settings import Settings
from core.valuation import describe
from safety.persistence import StateFileError, TradingRecord
from tasty.prices import CREDIT_STRUCTURES, Price, PriceError, Side, on_tick
from tasty.reconcile import quantity_text, reconcile
from tasty.session import ToolError
from tasty.structures import Spec
from tasty.symbols import contract_of, occ_symbol

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True)
class Outcome:
    text: str
    code: int = 0


def read_state(path: Path) -> TradingRecord:
    try:
        return TradingRecord.from_text(path.read_text())
    except FileNotFoundError:
        raise ToolError(f"{path}: no such state file (export `trading_state` from the ObjectStore)") from None
    except StateFileError as err:
        raise ToolError(f"{path}: not a state file the algorithm wrote ({err})") from None


async def pick_account(session: Session, number: str | None) -> Account:
    if number:
        return await Account.get(session, number)
    accounts = await Account.get(session)
    if not accounts:
        raise ToolError("no open accounts for this login")
    if len(accounts) > 1:
        listed = ", ".join(a.account_number for a in accounts)
        raise ToolError(f"several accounts ({listed}): choose one with --account")
    return accounts[0]


def _money(value: Decimal | float) -> str:
    return f"{float(value):,.2f}"


# ---------------------------------------------------------------------------------------------- status


def _hours(market: MarketSession) -> str:
    """A session's open and close converted to New York time (the API writes them with an offset, usually
    UTC's); the weekday shows a session that opens the evening before (CME)."""
    if market.open_at is None or market.close_at is None:
        return "no session today"
    opens, closes = market.open_at.astimezone(NEW_YORK), market.close_at.astimezone(NEW_YORK)
    return f"{opens:%a %H:%M}-{closes:%a %H:%M %Z} (New York)"


async def status(session: Session, state: Path | None, today: date) -> Outcome:
    lines = []
    for account in await Account.get(session):
        b = await account.get_balances(session)
        lines.append(
            f"account {account.account_number} ({account.margin_or_cash}): net liq {_money(b.net_liquidating_value)}, "
            f"derivative BP {_money(b.derivative_buying_power)}, maintenance {_money(b.maintenance_requirement)}"
        )
    for market in await get_market_sessions(session, [ExchangeType.NYSE, ExchangeType.CME]):
        lines.append(f"market {market.instrument_collection}: {market.status.value}, {_hours(market)}")
    equities = await get_market_holidays(session)
    futures = await get_futures_holidays(session, ExchangeType.CME)
    for name, calendar in (("NYSE", equities), ("CME", futures)):
        today_is = (
            "a holiday" if today in calendar.holidays else "an early close" if today in calendar.half_days else None
        )
        upcoming = sorted(d for d in calendar.holidays + calendar.half_days if d > today)[:1]
        after = f"; next {upcoming[0]}" if upcoming else ""
        lines.append(f"{name}: today is {today_is or 'a regular day'}{after}")
    if state is not None:
        record = read_state(state)
        machine = record.state
        lines.append(f"algorithm state ({state}): {machine.state.value}: {machine.reason}")
    return Outcome("\n".join(lines))


# ---------------------------------------------------------------------------------------------- positions


async def broker_positions(session: Session, account: Account) -> list[tuple[str, Decimal]]:
    """(symbol, signed quantity), the quantity exact: a fractional share position is 0.5, not int()'s 0."""
    out = []
    for position in await account.get_positions(session):
        sign = -1 if position.quantity_direction.lower() == "short" else 1
        out.append((position.symbol, sign * Decimal(position.quantity)))
    return out


async def positions(session: Session, account_number: str | None, today: date) -> Outcome:
    account = await pick_account(session, account_number)
    calendars = Calendars()
    lines = [f"account {account.account_number}"]
    for symbol, quantity in await broker_positions(session, account):
        contract = contract_of(symbol, calendars, today)
        what = describe(contract) if contract else "(not a product we know)"
        lines.append(f"  {symbol:<28} {quantity_text(quantity):>6}  {what}")
    return Outcome("\n".join(lines))


async def reconcile_state(session: Session, state: Path, account_number: str | None, today: date) -> Outcome:
    record = read_state(state)
    account = await pick_account(session, account_number)
    found = reconcile(await broker_positions(session, account), record, Calendars(), today)
    return Outcome(f"account {account.account_number} against {state}\n" + found.text(), 1 if found.differences else 0)


# ---------------------------------------------------------------------------------------------- metrics


def _percent(value: str | Decimal | None) -> str:
    """A fraction (0.1823) as a percent: the API's ranks, percentiles and implied-volatility-index."""
    return "n/a" if value is None else f"{100 * float(value):.1f}%"


def _already_percent(value: str | Decimal | None) -> str:
    """A value the API gives in percent already: implied-volatility-30-day ('21.87' is 21.87%, beside
    implied-volatility-index '0.2187'; tests/fixtures/tasty/README.md has the recorded responses)."""
    return "n/a" if value is None else f"{float(value):.1f}%"


# SEC Rule 10b-17: an issuer gives notice of a dividend at least ten days before its record date, and the
# ex-date comes a session or so before the record date; so a date not announced by today is at least a week
# away. A file written today vouches for the week ahead, or to the next ex-date it lists if that is later.
NOTICE_DAYS = 7


# The API carries two IV ranks that differ widely: `implied-volatility-index-rank`, a third party's (the
# source `implied-volatility-index-rank-source` names, "tos" in the responses on record), and TastyTrade's
# own `tw-implied-volatility-index-rank` (tests/fixtures/tasty/README.md). The tool uses TastyTrade's own,
# the rank its platform shows beside the account this system trades, and names it wherever it is written;
# a symbol without it gets "n/a", never the other rank in its place.
IV_RANK_FIELD = "tw-implied-volatility-index-rank"
IV_RANK_NAME = f"TastyTrade's own ({IV_RANK_FIELD})"


def iv_rank(m: MarketMetricInfo) -> Decimal | None:
    return m.tw_implied_volatility_index_rank


def _iv_rank_said(found: list[MarketMetricInfo]) -> str:
    others = sorted({m.implied_volatility_index_rank_source for m in found if m.implied_volatility_index_rank_source})
    other = f", not the third-party {', '.join(repr(o) for o in others)} rank" if others else ""
    return f"IV rank: {IV_RANK_NAME}{other}"


def events_csv(metrics: list[MarketMetricInfo], dividends: dict[str, list[DividendInfo]], today: date) -> str:
    """The events file (risk/events.py): upcoming earnings; for each symbol whose dividend history TastyTrade
    returned, every ex-date in it with its amount (a backtest over those years reads them), the announced
    next ex-date (its amount the last one paid, until TastyTrade has the declared figure), and the
    `dividends_through` line that lets the algorithm sell calls on it (NOTICE_DAYS). Comment lines (`#`,
    which risk/events.py skips) record each symbol's IV rank and name its source."""
    rows = ["root,date,kind,amount", f"# {_iv_rank_said(metrics)}"]
    for m in sorted(metrics, key=lambda m: m.symbol):
        symbol = m.symbol.upper()
        rank = iv_rank(m)
        rows.append(f"# {symbol} iv_rank {rank if rank is not None else 'n/a'} {IV_RANK_FIELD}")
        earnings = m.earnings.expected_report_date if m.earnings else None
        if earnings and earnings >= today:
            rows.append(f"{symbol},{earnings.isoformat()},earnings,")
        history = sorted(dividends.get(symbol, []), key=lambda d: d.occurred_date)
        paid = {d.occurred_date: d.amount for d in history}
        for day, amount in paid.items():
            rows.append(f"{symbol},{day.isoformat()},ex_dividend,{amount}")
        upcoming = m.dividend_ex_date if m.dividend_ex_date and m.dividend_ex_date >= today else None
        if upcoming is not None and upcoming not in paid:
            last = f"{history[-1].amount}" if history else ""
            rows.append(f"{symbol},{upcoming.isoformat()},ex_dividend,{last}")
        if symbol in dividends:
            through = max(today + timedelta(days=NOTICE_DAYS), upcoming or today)
            rows.append(f"{symbol},{through.isoformat()},dividends_through,")
    return "\n".join(rows) + "\n"


async def metrics(session: Session, symbols: list[str], events: Path | None, today: date) -> Outcome:
    wanted = [s.upper() for s in symbols]
    found = await get_market_metrics(session, wanted)
    by_symbol = {m.symbol.upper(): m for m in found}
    lines = [f"{'symbol':<8} {'IV rank':>8} {'IV pct':>8} {'IV 30d':>8}  next earnings  ex-dividend"]
    for symbol in wanted:
        m = by_symbol.get(symbol)
        if m is None:
            lines.append(f"{symbol:<8} unknown symbol (no metrics)")
            continue
        report = m.earnings.expected_report_date if m.earnings else None
        earnings = report.isoformat() if report else "-"  # a date's format spec is strftime's: text first
        ex_dividend = m.dividend_ex_date.isoformat() if m.dividend_ex_date else "-"
        iv30 = _already_percent(m.implied_volatility_30_day)
        lines.append(
            f"{symbol:<8} {_percent(iv_rank(m)):>8} {_percent(m.implied_volatility_percentile):>8}"
            f" {iv30:>8}  {earnings:<13}  {ex_dividend}"
        )
    lines.append(_iv_rank_said(found))
    if events is not None:
        dividends: dict[str, list[DividendInfo]] = {}
        for symbol in sorted(by_symbol):
            try:
                dividends[symbol] = await get_dividends(session, symbol)
            except TastytradeError as err:  # that symbol stays unlisted: the algorithm sells no call on it
                lines.append(f"{symbol:<8} no dividend history ({err}): not listed, no short calls on it")
        events.write_text(events_csv(found, dividends, today))
        lines.append(f"events written to {events} (upload it to the ObjectStore as events.csv: README)")
    missing = [s for s in wanted if s not in by_symbol]
    return Outcome("\n".join(lines), 1 if missing else 0)


# ---------------------------------------------------------------------------------------------- check


def tasty_order(spec: Spec, price: Price) -> LimitOrder:
    """The spec as TastyTrade's limit order at `price` (its sign for the SDK: tasty/prices.py)."""
    legs = [
        TastyLeg(
            instrument_type=InstrumentType.EQUITY_OPTION,
            symbol=occ_symbol(leg.contract),
            action=OrderAction.BUY_TO_OPEN if leg.ratio > 0 else OrderAction.SELL_TO_OPEN,
            quantity=abs(leg.ratio) * spec.quantity,
        )
        for leg in spec.legs
    ]
    return LimitOrder(legs=legs, price=price.sdk)


def leg_premiums(spec: Spec, price: float) -> list[float]:
    """Without quotes, the net price is spread over the short legs (a credit) or the long ones (a debit)."""
    side = [i for i, leg in enumerate(spec.legs) if (leg.ratio < 0) == (price < 0)] or list(range(len(spec.legs)))
    units = sum(abs(spec.legs[i].ratio) for i in side)
    return [abs(price) / units if i in side else 0.0 for i in range(len(spec.legs))]


def ours(spec: Spec, price: float, underlying: float, settings: Settings) -> tuple[float, float, str]:
    """core/margin's buying power and core/fees' fees for opening the spec."""
    premiums = leg_premiums(spec, price)
    legs = [
        MarginLeg(leg.contract.right, leg.contract.strike or 0.0, leg.ratio, premium, leg.contract.expiry or date.min)
        for leg, premium in zip(spec.legs, premiums, strict=True)
        if leg.contract.right is not None
    ]
    facts = product(spec.legs[0].contract.root)
    need = option_requirement(legs, underlying, facts.option_multiplier, spec.quantity, facts.broad_index, settings)
    fees = sum(
        contract_fees(settings, leg.contract, leg.ratio * spec.quantity, True, premium).total
        for leg, premium in zip(spec.legs, premiums, strict=True)
    )
    return need.amount, fees, need.method


async def check(
    session: Session,
    spec: Spec,
    given: Price,
    underlying: float,
    account_number: str | None,
    settings: Settings,
    debit_explicit: bool = False,
) -> Outcome:
    """Dry-run the spec at `given` rounded to the product's tick. A credit structure priced as a debit is
    refused (ToolError, nothing sent) unless `debit_explicit` (the operator typed --debit)."""
    if spec.kind in CREDIT_STRUCTURES and given.side is Side.DEBIT and not debit_explicit:
        raise ToolError(
            f"{spec.kind} is sold for a credit: a debit of {given.amount:.2f} pays to open it; "
            "give --debit explicitly if that is meant"
        )
    root = spec.legs[0].contract.root
    try:
        price = on_tick(given, root, len(spec.legs))
    except PriceError as err:
        raise ToolError(str(err)) from None
    account = await pick_account(session, account_number)
    answer = await account.place_order(session, tasty_order(spec, price), dry_run=True)
    broker_bp = -float(answer.buying_power_effect.change_in_buying_power)  # a use of BP is a debit effect
    broker_fees = float(answer.fee_calculation.total_fees) if answer.fee_calculation else float("nan")
    our_bp, our_fees, method = ours(spec, price.core, underlying, settings)
    what = " / ".join(f"{leg.ratio:+d} {describe(leg.contract)}" for leg in spec.legs)
    rounded = f" ({given.amount} rounded to {price.amount:.2f}, {root}'s tick)" if price != given else ""
    lines = [
        f"dry run on {account.account_number}: {spec.kind} x{spec.quantity} at {price}{rounded}: {what}",
        f"{'':<14}{'broker':>12}{'ours':>12}{'difference':>12}",
        f"{'buying power':<14}{broker_bp:>12,.2f}{our_bp:>12,.2f}{our_bp - broker_bp:>+12,.2f}  ({method})",
        f"{'fees':<14}{-broker_fees:>12,.2f}{our_fees:>12,.2f}{our_fees + broker_fees:>+12,.2f}",
    ]
    for message in (answer.warnings or []) + (answer.errors or []):
        lines.append(f"broker says: {message.code}: {message.message}")
    return Outcome("\n".join(lines), 1 if answer.errors else 0)
