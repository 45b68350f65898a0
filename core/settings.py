"""Typed, validated settings: every trading rule and limit in RULEBOOK.md is a parameter here.

LEAN hands parameters over as strings (config.json `parameters`, `lean backtest --parameter`, `lean optimize`)
, so `Settings.from_parameters` parses a `dict[str, str]`. Each field's metadata carries its allowed range or
choices and a one-line description; an unknown name, a value that does not parse, a value out of range or
a cross-field conflict fails with one `SettingsError` listing every problem, each naming the parameter and
what is allowed. The defaults are RULEBOOK's; config.json holds the same defaults (a test checks).

Value formats: numbers as decimals ("0.05"; whole numbers also as "2.0", as LEAN's optimizer writes them),
booleans "true"/"false", times of day "HH:MM" (exchange time, America/New_York), lists comma-separated
("4,8,12,18"), maps "KEY=VALUE" comma-separated ("ES=11880").
Fractions are fractions, not percentages: 0.05 means 5%.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from core.products import OPTION_UNDERLYING, PRODUCTS, AssetKind, option_underlying, product

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class SettingsError(ValueError):
    """One or more parameters are wrong. `problems` lists each as a full sentence."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid parameters:\n  - " + "\n  - ".join(problems))


def share(fraction: float) -> str:
    """A parameter that is a share, as a person writes it: 0.1 → "10%", 0.015 → "1.5%" (".0%" would say 2%)."""
    return f"{fraction * 100:.4g}%"


def _p(
    default: Any,
    lo: float | None = None,
    hi: float | None = None,
    doc: str = "",
    choices: tuple[str, ...] = (),
    secret: bool = False,
) -> Any:
    """A settings field: its default, inclusive bounds (for numbers, or for every number in a list or map),
    choices (for strings and string lists) and a description for the effective-config log. A `secret` value
    (an alert address or URL) is never printed: the log says only whether it is set."""
    meta = {"lo": lo, "hi": hi, "doc": doc, "choices": choices, "secret": secret}
    if isinstance(default, list | dict):
        raise TypeError("use tuples for list defaults and _map for maps")
    return field(default=default, metadata=meta)


def _map(default: dict[str, float], lo: float, hi: float, doc: str) -> Any:
    return field(default_factory=lambda: dict(default), metadata={"lo": lo, "hi": hi, "doc": doc, "choices": ()})


BIG = 1e9  # an upper bound for money amounts that only rejects typos of many digits
# Parameters that no longer exist, with what replaced them: a project that still sets one refuses to start with
# this sentence instead of "misspelt?".
REMOVED = {
    "ladder_risk_stop_multiple": "the LEAP ladder's risk per trade is now its stress loss (RULEBOOK 'Stress', "
    "stress_moves and stress_iv_points); delete it from config.json",
}
STRATEGY_NAMES = ("zero_dte", "strangles", "lt112", "ipmcc", "leap_ladder")


@dataclass(frozen=True)
class Settings:
    # ------------------------------------------------------------------ run
    start_date: date = _p(date(2019, 1, 2), doc="first day of a backtest")
    end_date: date = _p(date(2023, 12, 29), doc="last day of a backtest")
    starting_cash: float = _p(50_000.0, 1_000.0, BIG, "account size at the start of a backtest, USD")
    enable_zero_dte: bool = _p(True, doc="trade the Friday 0DTE strategy")
    enable_strangles: bool = _p(True, doc="trade the futures/ETF strangles")
    enable_lt112: bool = _p(True, doc="trade LT112")
    enable_ipmcc: bool = _p(True, doc="trade the income poor man's covered call")
    enable_leap_ladder: bool = _p(True, doc="trade the short LEAP put ladder")
    enable_delta_hedge: bool = _p(False, doc="hedge portfolio delta with MES futures")

    # ------------------------------------------------------------------ account phases
    phase_thresholds: tuple[float, ...] = _p(
        (51_000.0, 76_000.0, 95_000.0), 0.0, BIG, "net liq where phases 2, 3 and 4 begin, USD"
    )
    start_small_below: float = _p(38_000.0, 0.0, BIG, "below this net liq only 1-lot 0DTE with 5-point wings")
    full_size_from: float = _p(70_000.0, 0.0, BIG, "net liq from which full-size future options are traded")
    max_positions_total: tuple[int, ...] = _p((4, 8, 12, 18), 0, 100, "open structures allowed, phases 1-4")
    max_positions_zero_dte: tuple[int, ...] = _p((1, 2, 3, 4), 0, 100, "0DTE structures, phases 1-4")
    max_positions_strangles: tuple[int, ...] = _p((1, 3, 4, 5), 0, 100, "strangles, phases 1-4")
    max_positions_lt112: tuple[int, ...] = _p((0, 4, 1, 3), 0, 100, "LT112 structures, phases 1-4")
    max_positions_ipmcc: tuple[int, ...] = _p((1, 2, 3, 4), 0, 100, "IPMCC structures, phases 1-4")
    max_positions_leap_ladder: tuple[int, ...] = _p((0, 2, 3, 10), 0, 100, "LEAP ladder rungs, phases 1-4")
    bp_target_zero_dte: float = _p(0.02, 0.0, 1.0, "buying power per 0DTE structure, share of net liq")
    bp_target_strangle_etf: float = _p(0.025, 0.0, 1.0, "buying power per ETF strangle")
    bp_target_strangle_future: float = _p(0.035, 0.0, 1.0, "buying power per future-option strangle")
    bp_target_lt112_spy: float = _p(0.03, 0.0, 1.0, "buying power per SPY LT112")
    bp_target_lt112_es: float = _p(0.06, 0.0, 1.0, "buying power per ES LT112")
    bp_target_ipmcc: float = _p(0.08, 0.0, 1.0, "buying power per IPMCC")
    bp_target_leap_rung: float = _p(0.02, 0.0, 1.0, "buying power per LEAP ladder rung")

    # ------------------------------------------------------------------ portfolio limits
    vix_regime_bounds: tuple[float, ...] = _p((13.0, 18.0, 25.0, 30.0), 0.0, 200.0, "VIX levels between regimes")
    vix_regime_max_bp: tuple[float, ...] = _p(
        (0.45, 0.65, 0.78, 0.50, 0.80), 0.0, 1.0, "max BP in use for each VIX regime, lowest VIX first"
    )
    bp_reserve_ceiling: float = _p(0.80, 0.0, 1.0, "never plan beyond this share of net liq in use")
    vix_put_only_above: float = _p(30.0, 0.0, 200.0, "above this VIX only short puts open; strangles close")
    vix_close_all_above: float = _p(40.0, 0.0, 200.0, "above this VIX everything but short puts closes")
    correlation_groups: tuple[str, ...] = _p(
        (
            "A1:ES,MES,NQ,MNQ,RTY,M2K,YM,MYM,SPX,SPXW,XSP,NDX",
            "A2:SPY,QQQ,IWM,DIA",
            "B1:GC,MGC,GLD,TLT,ZB,ZN",
            "B2:SI,SIL,SLV,HG,PL,PA",
            "C1:CL,MCL,QM,RB,HO,USO,XLE,XOP",
            "C2:NG",
            "D1:ZC,ZS,ZW",
            "D2:LE,HE,GF",
            "E:6E,6B,6A,6C,M6E,M6A",
        ),
        doc="groups as NAME:ROOT,ROOT; groups are separated by ';' in the parameter string",
    )
    correlation_max: Mapping[str, float] = _map(
        {"A1": 2, "A2": 3, "B1": 2, "B2": 2, "C1": 2, "C2": 1, "D1": 2, "D2": 1, "E": 2},
        0,
        100,
        "max open structures per correlation group",
    )
    correlation_max_a1_phase4: int = _p(3, 0, 100, "group A1's max in phase 4")
    zero_dte_correlation_exempt: bool = _p(True, doc="0DTE structures do not count in correlation groups")
    drawdown_halve: float = _p(0.10, 0.0, 1.0, "drawdown from peak net liq that halves new position sizes")
    drawdown_stop_entries: float = _p(0.15, 0.0, 1.0, "drawdown that stops new entries and closes losers")
    drawdown_close_all: float = _p(0.20, 0.0, 1.0, "drawdown that closes everything and pauses entries")
    drawdown_pause_days: int = _p(10, 0, 250, "trading days without entries after a close-all drawdown")
    drawdown_reset_peak: bool = _p(
        False, doc="a person measures drawdown from net liq at this start (set it for one start, then back to false)"
    )
    max_abs_delta: float = _p(0.01, 0.0, 1.0, "|beta-weighted delta| per 1% SPX move, share of net liq")
    max_vega: float = _p(0.015, 0.0, 1.0, "vega per vol point, share of net liq")
    theta_target_min: float = _p(0.001, 0.0, 1.0, "daily theta below this share of net liq warns")
    theta_target_max: float = _p(0.004, 0.0, 1.0, "daily theta above this share of net liq warns")
    earnings_days_before: int = _p(3, 0, 30, "no single-stock entry within this many trading days before earnings")
    earnings_days_after: int = _p(1, 0, 30, "nor within this many trading days after")
    dte21_days: int = _p(21, 1, 365, "DTE at which the 21-DTE defence acts")
    dte21_threat_delta: float = _p(0.30, 0.0, 1.0, "a short leg at or above this |delta| is threatened")
    dte21_threat_distance: float = _p(0.02, 0.0, 1.0, "underlying within this fraction of a short strike is threatened")
    dte21_losing_action: str = _p(
        "close", doc="losing, unthreatened structures at 21 DTE", choices=("close", "hold", "alert")
    )
    time_exit_profit_under_21: float = _p(0.25, 0.0, 1.0, "close under 21 DTE at this share of max profit")
    time_exit_late_dte: int = _p(7, 0, 365, "DTE under which the late time exit applies")
    time_exit_profit_late: float = _p(0.10, 0.0, 1.0, "close under the late DTE at this share of max profit")

    # ------------------------------------------------------------------ safety
    daily_loss_limit: float = _p(0.05, 0.0, 1.0, "loss of start-of-day net liq that makes the day close-only")
    daily_losing_trades: int = _p(3, 1, 100, "losing closes in a day that make the day close-only")
    risk_per_trade: float = _p(0.02, 0.0, 1.0, "max loss of one trade, share of net liq")
    open_delay_minutes: int = _p(15, 0, 120, "no entries in the first minutes of the session")
    early_close_buffer_minutes: int = _p(60, 0, 240, "no entries this close to an early close")
    quote_max_spread: float = _p(0.20, 0.0, 1.0, "max bid-ask spread, share of mid")
    quote_cheap_below: float = _p(2.00, 0.0, 1_000.0, "options under this mid may use the absolute spread")
    quote_cheap_max_spread: float = _p(0.10, 0.0, 100.0, "absolute spread allowed for cheap options, USD")
    quote_max_age_seconds: int = _p(60, 1, 3_600, "live quotes older than this are stale")
    chain_max_unusable: float = _p(0.5, 0.0, 1.0, "share of unusable quotes above which a chain is not traded")
    fill_max_reprices: int = _p(3, 0, 10, "reprices toward natural before cancelling")
    clear_halt: bool = _p(False, doc="a person clears a sticky halt (set it for one start, then back to false)")
    fill_timeout_seconds: int = _p(10, 1, 600, "algorithm seconds per fill attempt")
    assignment_check_time: time = _p(time(15, 0), doc="daily check of ITM shorts near expiry (ET)")
    index_expiry_check_time: time = _p(time(15, 30), doc="expiry-day check of ITM cash-settled index shorts (ET)")
    index_itm_close_threshold: float = _p(0.005, 0.0, 1.0, "index shorts ITM by more than this close on expiry day")
    alert_dedupe_minutes: int = _p(15, 0, 1_440, "the same alert is not repeated within this many minutes")
    alert_max_per_hour: int = _p(30, 1, 10_000, "non-critical alerts per hour at most (CRITICAL always goes out)")
    performance_min_trades: int = _p(20, 5, 10_000, "trades before a win rate is compared with the expected one")
    performance_alpha: float = _p(0.05, 0.0001, 0.5, "significance of the win-rate test (one-sided binomial)")
    disconnect_critical_minutes: int = _p(5, 1, 120, "a disconnect this long raises a CRITICAL alert")
    alert_notify_level: str = _p(
        "WARNING",
        doc="live: alerts at or above this level also go out by notify",
        choices=("INFO", "WARNING", "CRITICAL", "OFF"),
    )
    alert_email: str = _p("", doc="live: email address for alerts (empty: none)", secret=True)
    alert_sms: str = _p("", doc="live: phone number for SMS alerts (empty: none)", secret=True)
    alert_telegram_id: str = _p(
        "", doc="live: Telegram chat id for alerts, QuantConnect's bot (empty: none)", secret=True
    )
    alert_webhook_url: str = _p("", doc="live: URL alerts are POSTed to as JSON (empty: none)", secret=True)
    manage_interval_minutes: int = _p(15, 1, 390, "LEAN: open structures are managed this often in market hours")
    cancel_confirm_seconds: int = _p(60, 5, 3_600, "LEAN: a cancel not confirmed by its event this long is sent again")
    warm_up_days: int = _p(380, 0, 2_000, "LEAN: calendar days of daily history before trading (ATR, EMA, IV rank)")
    no_data_minutes: int = _p(5, 1, 120, "no data this long in market hours counts as a disconnect")
    events_key: str = _p(
        "events.csv",
        doc="LEAN: ObjectStore key of the earnings and ex-dividend file (tasty metrics --write-events), read "
        "at the start and at each session",
    )

    # ------------------------------------------------------------------ 0DTE
    zdte_underlying: str = _p("SPXW", doc="0DTE option root", choices=("SPXW",))
    zdte_open_time: time = _p(time(9, 30), doc="record the open")
    zdte_analysis_time: time = _p(time(10, 0), doc="record move, ATR and VIX")
    zdte_entry_time: time = _p(time(10, 30), doc="enter")
    zdte_exit_time: time = _p(time(15, 0), doc="close regardless (ET)")
    zdte_early_close_exit_minutes: int = _p(60, 0, 240, "on early-close days close this long before the close")
    zdte_max_vix: float = _p(40.0, 0.0, 200.0, "skip the day above this VIX")
    zdte_move_threshold: float = _p(0.005, 0.0, 0.1, "move since the open that picks a spread over a condor")
    zdte_atr_days: int = _p(14, 2, 100, "daily ATR length")
    zdte_spread_atr: float = _p(0.7, 0.0, 5.0, "short strike distance for a spread, in ATRs")
    zdte_condor_atr: float = _p(0.5, 0.0, 5.0, "short strike distance for a condor, in ATRs")
    zdte_short_delta_min: float = _p(0.15, 0.0, 1.0, "short |delta| band, lower end")
    zdte_short_delta_max: float = _p(0.25, 0.0, 1.0, "short |delta| band, upper end")
    zdte_short_delta_never: float = _p(0.30, 0.0, 1.0, "never trade a short at or above this |delta|")
    zdte_wing_small: float = _p(10.0, 1.0, 500.0, "wing width below full_size_from, index points")
    zdte_wing_full: float = _p(20.0, 1.0, 500.0, "wing width from full_size_from")
    zdte_wing_phase4: float = _p(30.0, 1.0, 500.0, "wing width in phase 4")
    zdte_wing_start_small: float = _p(5.0, 1.0, 500.0, "wing width in start-small mode")
    zdte_narrow_wings_to_fit: bool = _p(True, doc="narrow the wings to the widest width that fits risk_per_trade")
    zdte_net_liq_per_contract: float = _p(40_000.0, 1.0, BIG, "one contract per this much net liq")
    zdte_max_contracts: int = _p(5, 1, 1_000, "contracts per structure at most")
    zdte_profit_target: float = _p(0.50, 0.0, 1.0, "close at this share of the credit")
    zdte_stop_multiple: float = _p(2.0, 1.0, 20.0, "stop when the cost to close reaches this many credits")
    zdte_expected_win_rate: float = _p(0.88, 0.0, 1.0, "expected win rate")

    # ------------------------------------------------------------------ strangles
    strangle_products_etf: tuple[str, ...] = _p(("GLD", "TLT", "USO"), doc="ETF strangles below full_size_from")
    strangle_products_etf_phase2: tuple[str, ...] = _p(("SLV", "XOP"), doc="added in phase 2")
    strangle_products_future: tuple[str, ...] = _p(
        ("ES", "CL", "GC", "6E", "ZB"), doc="future options from full_size_from"
    )
    strangle_entry_weekday_index: int = _p(2, 1, 4, "which Tuesday of the month (2 = second)")
    strangle_entry_time: time = _p(time(10, 15), doc="entry time (ET)")
    strangle_target_dte: int = _p(90, 1, 730, "expiry closest to this DTE")
    strangle_min_dte: int = _p(75, 1, 730, "within this window, lower end")
    strangle_max_dte: int = _p(105, 1, 730, "within this window, upper end")
    strangle_min_iv_rank: float = _p(30.0, 0.0, 100.0, "IV rank at least")
    strangle_iv_rank_days: int = _p(252, 20, 1_000, "days of ATM IV in the rank")
    strangle_consolidation_days: int = _p(20, 2, 250, "range look-back")
    strangle_max_range: float = _p(0.08, 0.0, 1.0, "(high - low) / close at most")
    strangle_put_delta: float = _p(0.06, 0.0, 1.0, "put |delta| target")
    strangle_put_delta_min: float = _p(0.05, 0.0, 1.0, "put |delta| band, lower end")
    strangle_put_delta_max: float = _p(0.07, 0.0, 1.0, "put |delta| band, upper end")
    strangle_call_delta: float = _p(0.055, 0.0, 1.0, "call delta target")
    strangle_call_delta_min: float = _p(0.05, 0.0, 1.0, "call delta band, lower end")
    strangle_call_delta_max: float = _p(0.06, 0.0, 1.0, "call delta band, upper end")
    strangle_skip_vix_below: float = _p(13.0, 0.0, 200.0, "no strangle below this VIX")
    strangle_size_vix_mid: float = _p(18.0, 0.0, 200.0, "from this VIX the size is scaled by strangle_size_mid")
    strangle_size_vix_high: float = _p(25.0, 0.0, 200.0, "above this VIX the size is scaled by strangle_size_high")
    strangle_size_mid: float = _p(1.5, 1.0, 10.0, "size multiplier, VIX 18-25")
    strangle_size_high: float = _p(2.0, 1.0, 10.0, "size multiplier, VIX above 25")
    strangle_base_size: int = _p(1, 1, 100, "strangles per product before the VIX multipliers")
    strangle_size_rounding: str = _p(
        "down",
        doc="base x multiplier rounded down (RULEBOOK; at base 1 the 1.5 step then stays 1) or half_up (1.5 -> 2)",
        choices=("down", "half_up"),
    )
    strangle_rv_days: int = _p(20, 2, 250, "realised-vol window of the IV-rank stand-in (before a year of IV)")
    strangle_profit_target: float = _p(0.50, 0.0, 1.0, "close at this share of the credit")
    strangle_tested_delta_side: float = _p(0.25, 0.0, 1.0, "tested short |delta| that closes that side")
    strangle_tested_delta_all: float = _p(0.30, 0.0, 1.0, "tested short |delta| that closes the strangle")
    strangle_stop_multiple: float = _p(3.0, 1.0, 20.0, "stop when the cost to close reaches this many credits")
    strangle_expected_win_rate: float = _p(0.71, 0.0, 1.0, "expected win rate")

    # ------------------------------------------------------------------ LT112
    lt112_underlying_small: str = _p("SPY", doc="LT112 underlying below full_size_from", choices=("SPY", "SPX"))
    lt112_underlying_full: str = _p("ES", doc="LT112 underlying from full_size_from", choices=("ES", "SPX", "SPY"))
    lt112_fallback_to_small: bool = _p(
        True, doc="from full_size_from, trade LT112 on lt112_underlying_small when the full product cannot open"
    )
    lt112_entry_time: time = _p(time(10, 0), doc="first Wednesday entry window opens (ET)")
    lt112_entry_window_minutes: int = _p(10, 1, 390, "entry window length")
    lt112_target_dte: int = _p(120, 1, 730, "expiry closest to this DTE")
    lt112_min_dte: int = _p(110, 1, 730, "within this window, lower end")
    lt112_max_dte: int = _p(130, 1, 730, "within this window, upper end")
    lt112_skip_at_52w_high: bool = _p(True, doc="skip when the underlying closed at a 52-week high")
    lt112_strike_mode: str = _p("moneyness", doc="how strikes are chosen", choices=("moneyness", "delta"))
    lt112_long_put_moneyness: float = _p(0.93, 0.5, 1.0, "long put strike / price")
    lt112_spread_width_index: float = _p(50.0, 1.0, 1_000.0, "debit spread width on index and futures, points")
    lt112_spread_width_spy: float = _p(5.0, 0.5, 100.0, "debit spread width on SPY, points")
    lt112_naked_moneyness: float = _p(0.88, 0.5, 1.0, "naked put strike / price")
    lt112_naked_count: int = _p(2, 1, 10, "naked puts per debit spread")
    lt112_long_put_delta: float = _p(0.25, 0.0, 1.0, "long put |delta| in delta mode")
    lt112_naked_put_delta: float = _p(0.05, 0.0, 1.0, "naked put |delta| in delta mode")
    lt112_long_delta_band: float = _p(0.05, 0.0, 0.5, "delta mode: long put |delta| within target +/- this")
    lt112_naked_delta_band: float = _p(0.03, 0.0, 0.5, "delta mode: naked put |delta| within target +/- this")
    lt112_naked_profit_target: float = _p(0.90, 0.0, 1.0, "close the naked puts at this share of their credit")
    lt112_danger_distance: float = _p(
        0.006, 0.0, 1.0, "close all when the underlying is this close to the naked strike"
    )
    lt112_naked_stop_multiple: float = _p(3.0, 1.0, 20.0, "close all when the naked puts cost this many credits")
    lt112_expected_win_rate: float = _p(0.73, 0.0, 1.0, "expected win rate")

    # ------------------------------------------------------------------ LEAPs
    ipmcc_underlying: str = _p("QQQ", doc="IPMCC underlying", choices=("QQQ", "SPY", "IWM"))
    ipmcc_leap_delta: float = _p(0.80, 0.0, 1.0, "LEAP call delta target")
    ipmcc_leap_delta_min: float = _p(0.70, 0.0, 1.0, "LEAP call delta band, lower end")
    ipmcc_leap_delta_max: float = _p(0.90, 0.0, 1.0, "LEAP call delta band, upper end")
    ipmcc_leap_target_dte: int = _p(365, 30, 1_200, "LEAP expiry closest to this DTE")
    ipmcc_leap_min_dte: int = _p(180, 30, 1_200, "LEAP window, lower end")
    ipmcc_leap_max_dte: int = _p(730, 30, 1_200, "LEAP window, upper end")
    ipmcc_max_extrinsic: float = _p(0.05, 0.0, 1.0, "LEAP extrinsic value under this share of the strike")
    ipmcc_short_call_time: time = _p(time(9, 45), doc="Friday short-call time (ET)")
    ipmcc_short_call_dte: int = _p(7, 1, 60, "short call DTE")
    ipmcc_short_call_max_dte: int = _p(14, 1, 90, "short call expiry at most this many days out")
    ipmcc_ema_fast: int = _p(8, 2, 200, "fast EMA")
    ipmcc_ema_slow: int = _p(21, 3, 400, "slow EMA")
    ipmcc_two_itm_trigger: float = _p(1.02, 1.0, 2.0, "price above this × fast EMA sells 2 strikes ITM")
    ipmcc_buyback_extrinsic: float = _p(
        0.90, 0.0, 1.0, "buy the short call back at this share of its extrinsic captured"
    )
    ipmcc_leap_down_half: float = _p(0.15, 0.0, 1.0, "LEAP down this much: sell half the calls")
    ipmcc_leap_down_exit: float = _p(0.30, 0.0, 1.0, "LEAP down this much: exit")
    ipmcc_expected_win_rate: float = _p(0.83, 0.0, 1.0, "expected win rate")
    ladder_underlying: str = _p("SPY", doc="LEAP put ladder underlying", choices=("SPY", "QQQ", "IWM"))
    ladder_entry_time: time = _p(time(10, 0), doc="Monday entry time (ET)")
    ladder_delta_min: float = _p(0.12, 0.0, 1.0, "put |delta| band, lower end")
    ladder_delta_max: float = _p(0.14, 0.0, 1.0, "put |delta| band, upper end")
    ladder_target_dte: int = _p(365, 30, 1_200, "expiry closest to this DTE")
    ladder_min_dte: int = _p(180, 30, 1_200, "rung expiry window, lower end (leaves time before the roll DTE)")
    ladder_max_dte: int = _p(540, 30, 1_200, "rung expiry window, upper end")
    ladder_max_rungs: int = _p(10, 1, 100, "rungs at most")
    ladder_skip_vix_below: float = _p(15.0, 0.0, 200.0, "skip the week below this VIX")
    ladder_double_vix_above: float = _p(20.0, 0.0, 200.0, "2 contracts above this VIX")
    ladder_profit_target: float = _p(0.30, 0.0, 1.0, "close at this share of the credit")
    ladder_roll_dte: int = _p(150, 1, 1_200, "close (roll) at this DTE")
    ladder_expected_win_rate: float = _p(0.82, 0.0, 1.0, "expected win rate")

    # ------------------------------------------------------------------ futures
    futures_min_trading_days: int = _p(10, 0, 60, "front contract needs this many trading days to its last trade")
    futures_roll_days: int = _p(5, 0, 60, "roll held futures this many trading days before the last trade")
    future_option_close_days: int = _p(5, 0, 60, "close future options whose underlying expires within this many days")
    hedge_target_fraction: float = _p(0.5, 0.0, 1.0, "the hedge brings delta back to this share of its limit")

    # ------------------------------------------------------------------ fees (TastyTrade, USD per contract)
    fee_equity_option_open: float = _p(1.00, 0.0, 100.0, "equity/ETF option commission to open")
    fee_equity_option_leg_cap: float = _p(10.00, 0.0, 1_000.0, "equity/ETF option commission cap per leg")
    fee_index_option_open: float = _p(1.00, 0.0, 100.0, "SPX/SPXW/XSP option commission to open")
    fee_index_option_exchange: float = _p(0.65, 0.0, 100.0, "index option exchange fee, open and close")
    fee_future_option_open: float = _p(2.50, 0.0, 100.0, "future option commission to open")
    fee_micro_future_option_open: float = _p(1.50, 0.0, 100.0, "micro future option commission to open")
    fee_future: float = _p(1.25, 0.0, 100.0, "future commission per side")
    fee_micro_future: float = _p(0.85, 0.0, 100.0, "micro future commission per side")
    fee_clearing_option: float = _p(0.10, 0.0, 100.0, "clearing per equity or index option contract")
    fee_clearing_future: float = _p(0.30, 0.0, 100.0, "clearing per future or future option contract")
    fee_clearing_stock_per_share: float = _p(0.0008, 0.0, 1.0, "clearing per share of stock")
    # CME Group's exchange fees for non-members on Globex, per contract per side, by root: CME's published
    # fee schedule (cmegroup.com "Fee Finder" / "CME Group fee schedule"), as brokers pass it through, read
    # from Interactive Brokers' "fees charged to offset CME / NYMEX / COMEX exchange fees" tables (Tier I =
    # non-member) in December 2026. YM, MYM, ZB and ZN (CBOT) and the micro options without their own row
    # take their product family's rate: check CME's Fee Finder before trading them. Never 0 (RULEBOOK).
    fee_exchange_future: Mapping[str, float] = _map(
        {
            "ES": 1.38,
            "MES": 0.35,
            "NQ": 1.38,
            "MNQ": 0.35,
            "RTY": 1.38,
            "M2K": 0.35,
            "YM": 1.38,
            "MYM": 0.35,
            "CL": 1.50,
            "MCL": 0.50,
            "NG": 1.60,
            "GC": 1.60,
            "MGC": 0.75,
            "SI": 1.60,
            "HG": 1.60,
            "6E": 1.60,
            "M6E": 0.24,
            "ZB": 0.80,
            "ZN": 0.80,
        },
        0.01,
        100.0,
        "CME exchange fee per future contract per side by root, USD (CME Globex non-member rates)",
    )
    fee_exchange_future_option: Mapping[str, float] = _map(
        {
            "ES": 0.55,
            "MES": 0.20,
            "NQ": 0.55,
            "MNQ": 0.20,
            "RTY": 0.55,
            "M2K": 0.20,
            "YM": 0.55,
            "MYM": 0.20,
            "CL": 1.50,
            "MCL": 0.75,
            "NG": 1.50,
            "GC": 1.60,
            "MGC": 0.75,
            "SI": 1.60,
            "HG": 1.60,
            "6E": 1.60,
            "M6E": 0.24,
            "ZB": 0.80,
            "ZN": 0.80,
        },
        0.01,
        100.0,
        "CME exchange fee per future option contract per side by root, USD (CME Globex non-member rates)",
    )
    fee_nfa: float = _p(0.02, 0.0, 100.0, "NFA fee per future or future option contract")
    fee_orf: float = _p(0.04, 0.0, 100.0, "options regulatory fee per equity or index option contract")
    fee_finra_taf_option: float = _p(0.00279, 0.0, 100.0, "FINRA TAF per option contract sold")
    fee_sec_rate: float = _p(0.0000278, 0.0, 0.01, "SEC fee per dollar of option sale proceeds")

    # ------------------------------------------------------------ margin (what the risk module calls BP)
    margin_equity_naked: float = _p(0.20, 0.0, 1.0, "naked equity/ETF option: share of the underlying")
    margin_equity_minimum: float = _p(0.10, 0.0, 1.0, "naked equity/ETF option minimum share")
    margin_index_naked: float = _p(0.15, 0.0, 1.0, "naked broad-index option: share of the underlying")
    margin_index_minimum: float = _p(0.10, 0.0, 1.0, "naked broad-index option minimum share")
    span_initial_margin: Mapping[str, float] = _map(
        {
            "ES": 11_880,
            "MES": 1_188,
            "NQ": 17_600,
            "MNQ": 1_760,
            "RTY": 6_600,
            "M2K": 660,
            "YM": 9_000,
            "MYM": 900,
            "CL": 6_000,
            "MCL": 600,
            "NG": 3_500,
            "GC": 9_000,
            "MGC": 900,
            "SI": 12_000,
            "HG": 5_500,
            "6E": 2_600,
            "M6E": 260,
            "ZB": 4_400,
            "ZN": 2_200,
        },
        0.0,
        BIG,
        "initial margin per future contract by root, USD (scan range = this / multiplier)",
    )
    risk_free_rate: float = _p(0.045, -0.05, 0.25, "rate for option pricing and SPAN revaluation")
    # Continuous dividend yields for the fallback Greeks (core/chain_greeks) of options on an ETF or an index:
    # rough trailing twelve-month yields of 2019-2024 from the funds' and indices' published distributions
    # (estimates: set the current figure). Every ETF and index root needs one; a future's options have none.
    dividend_yield: Mapping[str, float] = _map(
        {
            "SPY": 0.015,
            "SPX": 0.015,
            "XSP": 0.015,
            "QQQ": 0.007,
            "NDX": 0.007,
            "IWM": 0.012,
            "RUT": 0.012,
            "DIA": 0.018,
            "GLD": 0.0,
            "SLV": 0.0,
            "USO": 0.0,
            "TLT": 0.030,
            "XOP": 0.025,
            "XLE": 0.035,
            "SIL": 0.010,
        },
        0.0,
        0.20,
        "continuous dividend yield by ETF or index root, for fallback Greeks (estimates)",
    )
    beta_to_spx: Mapping[str, float] = _map(
        {
            "SPX": 1.0,
            "SPXW": 1.0,
            "XSP": 1.0,
            "ES": 1.0,
            "MES": 1.0,
            "SPY": 1.0,
            "NDX": 1.2,
            "NDXP": 1.2,
            "NQ": 1.2,
            "MNQ": 1.2,
            "QQQ": 1.2,
            "RUT": 1.1,
            "RUTW": 1.1,
            "RTY": 1.1,
            "M2K": 1.1,
            "IWM": 1.1,
            "YM": 0.9,
            "MYM": 0.9,
            "DIA": 0.9,
            "GC": 0.05,
            "MGC": 0.05,
            "GLD": 0.05,
            "SI": 0.2,
            "SLV": 0.2,
            "SIL": 0.3,
            "HG": 0.3,
            "ZB": -0.2,
            "ZN": -0.1,
            "TLT": -0.2,
            "CL": 0.4,
            "MCL": 0.4,
            "USO": 0.4,
            "XOP": 0.8,
            "XLE": 0.8,
            "NG": 0.1,
            "6E": 0.1,
            "M6E": 0.1,
        },
        -5.0,
        5.0,
        "beta to SPX by underlying root, for beta-weighted delta (estimates; a missing root counts as 1.0)",
    )
    # ------------------------------------------------------------------ stress (core/stress)
    stress_moves: tuple[float, ...] = _p(
        (-0.20, -0.10, -0.05, -0.03, 0.03, 0.05, 0.10), -0.9, 0.9, "SPX moves of the stress grid, share of price"
    )
    stress_iv_points: tuple[float, ...] = _p(
        (15.0, 10.0, 5.0, 0.0, 0.0, -3.0, -5.0),
        -50.0,
        100.0,
        "IV change in vol points with each stress move (each move is also tried with IV unchanged)",
    )
    stress_max_loss: float = _p(
        0.15, 0.0, 1.0, "refuse an entry taking the worst stress loss past this share of net liq"
    )
    stress_alert_loss: float = _p(
        0.20, 0.0, 1.0, "a book whose worst stress loss passes this share: WARNING once a day"
    )
    # RULEBOOK's stress betas (SPY/SPX/ES/MES 1.0, QQQ 1.2, IWM 1.2, GLD/GC 0.0, TLT/ZB -0.3, USO/CL 0.5, 6E 0.1);
    # the roots it does not name take their family's (NDX with QQQ, RUT with IWM, the micros with their
    # full-size future) or, for the rest, beta_to_spx's estimate. Larger than beta_to_spx for small caps and
    # crude: in a gap correlations rise, and the gate is about the gap.
    stress_beta: Mapping[str, float] = _map(
        {
            "SPX": 1.0,
            "XSP": 1.0,
            "SPY": 1.0,
            "ES": 1.0,
            "MES": 1.0,
            "NDX": 1.2,
            "QQQ": 1.2,
            "NQ": 1.2,
            "MNQ": 1.2,
            "RUT": 1.2,
            "IWM": 1.2,
            "RTY": 1.2,
            "M2K": 1.2,
            "DIA": 0.9,
            "YM": 0.9,
            "MYM": 0.9,
            "GLD": 0.0,
            "GC": 0.0,
            "MGC": 0.0,
            "SLV": 0.2,
            "SI": 0.2,
            "SIL": 0.3,
            "HG": 0.3,
            "TLT": -0.3,
            "ZB": -0.3,
            "ZN": -0.1,
            "USO": 0.5,
            "CL": 0.5,
            "MCL": 0.5,
            "NG": 0.1,
            "XLE": 0.8,
            "XOP": 0.8,
            "6E": 0.1,
            "M6E": 0.1,
        },
        -5.0,
        5.0,
        "stress: each underlying root's move as a multiple of SPX's (every underlying root needs one)",
    )

    span_vol_scan: float = _p(0.04, 0.0, 1.0, "volatility scan range, absolute (0.04 = 4 vol points)")
    span_extreme_multiple: float = _p(2.0, 1.0, 10.0, "extreme scenarios move this many scan ranges")
    span_extreme_coverage: float = _p(0.35, 0.0, 1.0, "share of the extreme scenarios' loss that counts")
    span_short_option_minimum: float = _p(0.10, 0.0, 1.0, "short future option minimum, share of the margin")

    # ------------------------------------------------------------------ construction and checks

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str]) -> Settings:
        """Build settings from LEAN-style string parameters over the defaults; raise SettingsError naming
        every parameter that is unknown, unparsable or out of range, and every cross-field conflict."""
        specs = {f.name: f for f in dataclasses.fields(cls)}
        hints = typing.get_type_hints(cls)
        problems: list[str] = []
        values: dict[str, Any] = {}
        for name, raw in parameters.items():
            spec = specs.get(name)
            if name in REMOVED:
                problems.append(f"parameter '{name}' was removed: {REMOVED[name]}")
                continue
            if spec is None:
                problems.append(f"unknown parameter '{name}' (is it misspelt? see config.json for the names)")
                continue
            if not isinstance(raw, str):
                problems.append(f"parameter '{name}' must be a string as LEAN passes it, got {type(raw).__name__}")
                continue
            try:
                values[name] = _parse(hints[name], raw.strip(), spec)
                _check_bounds(hints[name], values[name], spec)
            except ValueError as err:
                problems.append(f"parameter '{name}' = '{raw}': {err}")
        if problems:
            raise SettingsError(problems)
        settings = cls(**values)
        problems = settings.problems()
        if problems:
            raise SettingsError(problems)
        return settings

    def problems(self) -> list[str]:
        """Cross-field and bound checks (also run on the defaults by the tests)."""
        out: list[str] = []
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            try:
                _check_bounds(hints[f.name], getattr(self, f.name), f)
            except ValueError as err:
                out.append(f"parameter '{f.name}': {err}")

        def need(ok: bool, text: str) -> None:
            if not ok:
                out.append(text)

        need(self.start_date <= self.end_date, "start_date must not be after end_date")
        need(
            len(self.phase_thresholds) == 3 and list(self.phase_thresholds) == sorted(set(self.phase_thresholds)),
            "phase_thresholds must be 3 increasing numbers (phases 2, 3, 4)",
        )
        need(
            self.start_small_below <= self.phase_thresholds[0],
            "start_small_below must not exceed phase 2's threshold",
        )
        for name in ("total", *STRATEGY_NAMES):
            need(
                len(getattr(self, f"max_positions_{name}")) == 4,
                f"max_positions_{name} needs 4 numbers, one per phase",
            )
        need(
            len(self.vix_regime_bounds) == 4 and list(self.vix_regime_bounds) == sorted(set(self.vix_regime_bounds)),
            "vix_regime_bounds must be 4 increasing VIX levels",
        )
        need(len(self.vix_regime_max_bp) == 5, "vix_regime_max_bp needs 5 numbers, one per VIX regime")
        need(
            self.vix_put_only_above < self.vix_close_all_above,
            "vix_put_only_above must be below vix_close_all_above",
        )
        need(
            self.drawdown_halve < self.drawdown_stop_entries < self.drawdown_close_all,
            "drawdown steps must increase: drawdown_halve < drawdown_stop_entries < drawdown_close_all",
        )
        need(self.theta_target_min < self.theta_target_max, "theta_target_min must be below theta_target_max")
        need(
            self.zdte_short_delta_min <= self.zdte_short_delta_max < self.zdte_short_delta_never,
            "0DTE short delta band must satisfy min <= max < zdte_short_delta_never",
        )
        need(
            self.zdte_open_time < self.zdte_analysis_time < self.zdte_entry_time < self.zdte_exit_time,
            "0DTE times must be in order: open < analysis < entry < exit",
        )
        need(
            self.zdte_wing_start_small <= self.zdte_wing_small <= self.zdte_wing_full <= self.zdte_wing_phase4,
            "0DTE wings must not shrink as the account grows",
        )
        for prefix in ("strangle", "lt112"):
            lo, target, hi = (getattr(self, f"{prefix}_{k}_dte") for k in ("min", "target", "max"))
            need(lo <= target <= hi, f"{prefix}_min_dte <= {prefix}_target_dte <= {prefix}_max_dte must hold")
        need(
            self.ipmcc_leap_min_dte <= self.ipmcc_leap_target_dte <= self.ipmcc_leap_max_dte,
            "ipmcc_leap_min_dte <= ipmcc_leap_target_dte <= ipmcc_leap_max_dte must hold",
        )
        for prefix in ("strangle_put", "strangle_call", "ipmcc_leap"):
            lo, target, hi = (getattr(self, f"{prefix}_delta{k}") for k in ("_min", "", "_max"))
            need(lo <= target <= hi, f"{prefix}_delta must lie within {prefix}_delta_min..{prefix}_delta_max")
        need(
            self.ladder_delta_min <= self.ladder_delta_max,
            "ladder_delta_min must not exceed ladder_delta_max",
        )
        need(
            self.ladder_roll_dte < self.ladder_min_dte <= self.ladder_target_dte <= self.ladder_max_dte,
            "ladder_roll_dte < ladder_min_dte <= ladder_target_dte <= ladder_max_dte must hold",
        )
        need(
            self.strangle_tested_delta_side <= self.strangle_tested_delta_all,
            "strangle_tested_delta_side must not exceed strangle_tested_delta_all",
        )
        need(self.strangle_size_vix_mid <= self.strangle_size_vix_high, "strangle VIX size steps must increase")
        need(self.ipmcc_ema_fast < self.ipmcc_ema_slow, "ipmcc_ema_fast must be shorter than ipmcc_ema_slow")
        need(
            self.ipmcc_leap_down_half < self.ipmcc_leap_down_exit,
            "ipmcc_leap_down_half must be below ipmcc_leap_down_exit",
        )
        need(
            self.lt112_naked_moneyness < self.lt112_long_put_moneyness,
            "the naked puts must lie below the long put",
        )
        future_roots = {root for root, p in PRODUCTS.items() if p.kind is AssetKind.FUTURE}
        for name in ("fee_exchange_future", "fee_exchange_future_option"):
            fees: Mapping[str, float] = getattr(self, name)
            missing = sorted(future_roots - set(fees))
            need(not missing, f"{name} needs a fee for every future root: missing {', '.join(missing)}")
            for root in sorted(set(fees) - future_roots):
                out.append(f"{name}: {root} is not a future root (futures: {', '.join(sorted(future_roots))})")
        spot_roots = {root for root, p in PRODUCTS.items() if p.kind is not AssetKind.FUTURE}
        spot_roots -= set(OPTION_UNDERLYING)  # SPXW, NDXP, RUTW read their index's yield
        missing = sorted(spot_roots - set(self.dividend_yield))
        need(not missing, f"dividend_yield needs a yield for every ETF and index root: missing {', '.join(missing)}")
        for root in sorted(set(self.dividend_yield) - spot_roots):
            out.append(f"dividend_yield: {root} is not an ETF or index root (SPXW, NDXP, RUTW read their index's)")
        underlying_roots = set(PRODUCTS) - set(OPTION_UNDERLYING)
        missing = sorted(underlying_roots - set(self.stress_beta))
        need(not missing, f"stress_beta needs a beta for every underlying root: missing {', '.join(missing)}")
        for root in sorted(set(self.stress_beta) - underlying_roots):
            out.append(f"stress_beta: {root} is not an underlying root (SPXW, NDXP, RUTW move with their index)")
        need(
            len(self.stress_moves) == len(self.stress_iv_points),
            f"stress_moves ({len(self.stress_moves)} values) and stress_iv_points ({len(self.stress_iv_points)}) "
            "must pair one IV change with each move",
        )
        groups = self.correlation_group_members()
        seen: dict[str, str] = {}
        for group, members in groups.items():
            for root in members:
                if root in seen:
                    out.append(f"correlation_groups: {root} is in both {seen[root]} and {group}")
                seen[root] = group
        need(
            set(groups) == set(self.correlation_max),
            "correlation_max must name exactly the groups of correlation_groups "
            f"(groups {sorted(groups)}, limits {sorted(self.correlation_max)})",
        )
        return out

    # ------------------------------------------------------------------ derived views

    def phase(self, net_liq: float) -> int:
        """Account phase 1-4 for a net liq: phase n begins at the (n−1)-th threshold, inclusive."""
        return 1 + sum(1 for threshold in self.phase_thresholds if net_liq >= threshold)

    def yield_of(self, root: str) -> float:
        """The dividend yield an option root's underlying pays (SPXW reads SPX's); 0 for a future's options,
        which Black-76 prices on the future."""
        underlying = option_underlying(root)
        if product(underlying).kind is AssetKind.FUTURE:
            return 0.0
        return self.dividend_yield[underlying]

    def correlation_group_members(self) -> dict[str, tuple[str, ...]]:
        """Group name → member roots, parsed from `correlation_groups`."""
        return dict(self._group_members)

    @functools.cached_property
    def _group_members(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        for entry in self.correlation_groups:
            name, _, members = entry.partition(":")
            out[name.strip()] = tuple(m.strip().upper() for m in members.split(",") if m.strip())
        return out

    @functools.cached_property
    def correlation_group_of_root(self) -> dict[str, str]:
        """Root → its correlation group, parsed once (the risk rules look it up for every open structure)."""
        return {root: group for group, members in self._group_members.items() for root in members}

    def to_parameters(self) -> dict[str, str]:
        """The settings as LEAN parameter strings (what config.json holds for the defaults)."""
        return {f.name: _format(getattr(self, f.name), f.name) for f in dataclasses.fields(self)}

    def describe(self) -> list[str]:
        """One line per parameter for the effective-config log, marking values that differ from defaults."""
        defaults = Settings().to_parameters()
        lines = []
        for f in dataclasses.fields(self):
            text = _format(getattr(self, f.name), f.name)
            if f.metadata.get("secret"):
                lines.append(f"{f.name} = {'(set, not shown)' if text else '(empty)'}")
                continue
            mark = "" if text == defaults[f.name] else "   (changed from " + defaults[f.name] + ")"
            lines.append(f"{f.name} = {text}{mark}")
        return lines


# ---------------------------------------------------------------------------------------------- parsing


def _parse(hint: Any, raw: str, spec: dataclasses.Field[Any]) -> Any:
    origin = typing.get_origin(hint)
    if hint is bool:
        lowered = raw.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError("expected true or false")
    if hint is int:
        return _whole(raw, spec)
    if hint is float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number{_range_text(spec)}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"expected a finite number{_range_text(spec)}")
        return value
    if hint is str:
        return raw
    if hint is date:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValueError("expected a date as YYYY-MM-DD") from None
    if hint is time:
        match = _TIME.match(raw)
        if not match:
            raise ValueError("expected a time of day as HH:MM (24-hour, exchange time)")
        return time(int(match.group(1)), int(match.group(2)))
    if origin is tuple:
        inner = typing.get_args(hint)[0]
        separator = ";" if spec.name == "correlation_groups" else ","
        parts = [p.strip() for p in raw.split(separator) if p.strip()]
        return tuple(_parse(inner, p, spec) for p in parts)
    if origin is Mapping or hint is Mapping:
        out: dict[str, float] = {}
        for part in (p.strip() for p in raw.split(",") if p.strip()):
            key, eq, text = part.partition("=")
            if not eq or not key.strip():
                raise ValueError("expected KEY=NUMBER pairs separated by commas")
            out[key.strip().upper()] = _parse(float, text.strip(), spec)
        return out
    raise TypeError(f"no parser for {hint}")  # a programming error, not bad input


def _whole(raw: str, spec: dataclasses.Field[Any]) -> int:
    """A whole number, also as LEAN's optimizer writes one: it steps on C# decimals that keep the scale of
    the min and step the lean CLI sends as floats, so a sweep of `dte21_days` arrives as "21.0", "22.0"
    (QuantConnect/Lean Optimizer/Parameters/OptimizationStepParameterEnumerator.cs, `Current`; lean-cli
    lean/models/optimizer.py, `OptimizationParameter`). "2.5" is still refused: no rounding behind a
    person's back."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value.is_integer():  # also NaN and the infinities
        raise ValueError(f"expected a whole number{_range_text(spec)}, such as 2 or 2.0")
    return int(value)


def _range_text(spec: dataclasses.Field[Any]) -> str:
    lo, hi = spec.metadata["lo"], spec.metadata["hi"]
    if lo is None and hi is None:
        return ""
    return f" (allowed range {_num(lo)} to {_num(hi)})"


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _check_bounds(hint: Any, value: Any, spec: dataclasses.Field[Any]) -> None:
    lo, hi, choices = spec.metadata["lo"], spec.metadata["hi"], spec.metadata["choices"]
    numbers: list[float] = []
    strings: list[str] = []
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        numbers = [value]
    elif isinstance(value, str):
        strings = [value]
    elif isinstance(value, tuple):
        numbers = [v for v in value if isinstance(v, int | float)]
        strings = [v for v in value if isinstance(v, str)]
        if not value:
            raise ValueError("needs at least one value")
    elif isinstance(value, Mapping):
        numbers = list(value.values())
    for number in numbers:
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise ValueError(f"{_num(number)} is outside the allowed range {_num(lo)} to {_num(hi)}")
    if choices:
        for text in strings:
            if text not in choices:
                raise ValueError(f"'{text}' is not one of {', '.join(choices)}")


def _format(value: Any, name: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return (";" if name == "correlation_groups" else ",").join(_format(v, name) for v in value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={_format(float(v), name)}" for k, v in value.items())
    return str(value)
