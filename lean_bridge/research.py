"""What research.ipynb reads inside QuantConnect: the market now, through QuantBook, converted exactly as
the algorithm converts its own data (lean_bridge/market), so the notebook's decisions are the algorithm's.
Kept here rather than in the notebook so that mypy checks it against quantconnect-stubs."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from AlgorithmImports import QuantBook, Resolution
from core.model import MarketSnapshot
from core.settings import Settings

from lean_bridge.market import DailyHistory, chains_from, snapshot
from lean_bridge.symbols import SymbolRegistry

NEW_YORK = ZoneInfo("America/New_York")
DAILY_BARS = 60  # enough for the 0DTE's 14-day ATR, with room for holidays


def quantbook_snapshot(qb: QuantBook, settings: Settings) -> MarketSnapshot:
    """SPX, VIX, SPX's recent daily bars and today's SPXW chain, as one MarketSnapshot at QuantBook's time."""
    now = qb.time.replace(tzinfo=NEW_YORK)
    spx, vix = qb.add_index("SPX"), qb.add_index("VIX")
    spxw = qb.add_index_option(spx.symbol, "SPXW")
    history = DailyHistory()
    frame = qb.history(spx.symbol, DAILY_BARS, Resolution.DAILY)
    ends = frame.index.get_level_values("time")
    for ended, o, h, lo, c in zip(ends, frame["open"], frame["high"], frame["low"], frame["close"], strict=True):
        day = (ended - timedelta(microseconds=1)).date()  # LEAN stamps a daily bar at its end
        history.add_bar("SPX", day, float(o), float(h), float(lo), float(c))
    chains = chains_from([qb.option_chain(spxw.symbol)], now, SymbolRegistry(), settings)
    price = float(qb.securities[spx.symbol].price)
    level = float(qb.securities[vix.symbol].price)
    return snapshot(now, chains, {"SPX": price}, level, history, {"SPX": float(qb.securities[spx.symbol].open)})
