"""The strategy modules (RULEBOOK "Strategies"). `build` returns the enabled ones, wired identically for the
LEAN shell and the replay."""

from __future__ import annotations

from core.calendar import Calendars
from core.ports import Strategy
from core.settings import Settings

from strategies.futures import Futures
from strategies.leaps import Ipmcc, LeapPutLadder
from strategies.lt112 import Lt112
from strategies.strangles import Strangles
from strategies.zero_dte import ZeroDte


def build(settings: Settings, calendars: Calendars) -> tuple[list[Strategy], Futures]:
    futures = Futures(settings, calendars)
    out: list[Strategy] = []
    if settings.enable_zero_dte:
        out.append(ZeroDte(settings, calendars.equity))
    if settings.enable_strangles:
        out.append(Strangles(settings, calendars.equity, futures))
    if settings.enable_lt112:
        out.append(Lt112(settings, calendars.equity, futures))
    if settings.enable_ipmcc:
        out.append(Ipmcc(settings, calendars.equity))
    if settings.enable_leap_ladder:
        out.append(LeapPutLadder(settings, calendars.equity))
    return out, futures
