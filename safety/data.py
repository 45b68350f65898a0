"""Data validation (the SimpleDataValidation, RULEBOOK "Data").

A quote is usable when bid ≥ 0, ask > 0, ask ≥ bid, neither is NaN or infinite, and the spread is at most
`quote_max_spread` (20%) of the mid — or, for options whose mid is under `quote_cheap_below` (2.00), at most
the larger of that and `quote_cheap_max_spread` (0.10), so a 0.05/0.10 wing is usable (a spread test against
20% of the bid would reject every cheap wing). The underlying price must be positive, and live quotes no older
than `quote_max_age_seconds`. A structure's combined spread (its natural prices around its net mid) obeys
the same rule. When more than `chain_max_unusable` of a chain is unusable there is no entry on it and a
WARNING. Rejections are counted by reason over the whole run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntFlag

import numpy as np
import numpy.typing as npt
from core.model import Chain, ContractKind, MarketSnapshot, QuoteFlag, Structure
from core.settings import Settings, share
from core.timeutil import elapsed
from core.valuation import describe


class QuoteProblem(IntFlag):
    """Core's structural flags plus the rules that need settings."""

    NOT_FINITE = QuoteFlag.NOT_FINITE
    NEGATIVE_BID = QuoteFlag.NEGATIVE_BID
    NO_ASK = QuoteFlag.NO_ASK
    CROSSED = QuoteFlag.CROSSED
    WIDE = 16
    STALE = 32
    NO_UNDERLYING = 64


def allowed_spread(mid: npt.NDArray[np.float64], s: Settings) -> npt.NDArray[np.float64]:
    relative = s.quote_max_spread * np.abs(mid)
    cheap = np.abs(mid) < s.quote_cheap_below
    allowed: npt.NDArray[np.float64] = np.where(cheap, np.maximum(relative, s.quote_cheap_max_spread), relative)
    return allowed


def quote_problems(chain: Chain, now: datetime, s: Settings, live: bool) -> npt.NDArray[np.int16]:
    """Per-row problem flags (0 = usable), vectorised."""
    problems = chain.flags.astype(np.int16)
    structural_ok = problems == 0
    with np.errstate(invalid="ignore"):
        mid = 0.5 * (chain.bid + chain.ask)
        # A hair of tolerance: 0.10 − 0.05 must pass a 0.05 limit in binary floating point.
        wide = (chain.ask - chain.bid) > allowed_spread(mid, s) + 1e-9
    problems[structural_ok & wide] |= QuoteProblem.WIDE
    if not (np.isfinite(chain.underlying_price) and chain.underlying_price > 0):
        problems |= QuoteProblem.NO_UNDERLYING
    if live and elapsed(chain.time, now) > timedelta(seconds=s.quote_max_age_seconds):
        problems |= QuoteProblem.STALE
    return problems


@dataclass(frozen=True, slots=True)
class ChainReport:
    root: str
    total: int
    usable: int
    problems: dict[str, int]  # rows carrying each problem
    tradable: bool
    warning: str | None


class DataValidator:
    """Checks chains and structures and keeps the run's counters of what was rejected and why."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rejected: Counter[str] = Counter()
        self.quotes_seen = 0

    def check_chain(self, chain: Chain, now: datetime, live: bool) -> tuple[npt.NDArray[np.bool_], ChainReport]:
        problems = quote_problems(chain, now, self.settings, live)
        usable = problems == 0
        counts = {p.name or "": int(np.count_nonzero(problems & p)) for p in QuoteProblem}
        counts = {k: v for k, v in counts.items() if v}
        self.rejected.update(counts)
        self.quotes_seen += len(chain)
        total, good = len(chain), int(np.count_nonzero(usable))
        unusable_share = 1.0 - good / total if total else 1.0
        tradable = total > 0 and unusable_share <= self.settings.chain_max_unusable
        warning = None
        if not tradable:
            detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "empty chain"
            warning = (
                f"{chain.root}: {total - good} of {total} quotes unusable "
                f"(over {share(self.settings.chain_max_unusable)}): no entries on it ({detail})"
            )
        return usable, ChainReport(chain.root, total, good, counts, tradable, warning)

    def check_structure(self, structure: Structure, snapshot: MarketSnapshot) -> str | None:
        """Why the structure's quotes cannot be traded on, or None: every leg usable, and the combined
        spread within the quote rule on the structure's net mid."""
        natural_buy = natural_sell = net_mid = 0.0
        for leg in structure.legs:
            contract = leg.contract
            if contract.kind is not ContractKind.OPTION:
                continue
            assert contract.expiry is not None and contract.strike is not None and contract.right is not None
            chain = snapshot.chains.get(contract.root)
            row = None if chain is None else chain.find(contract.expiry, contract.strike, contract.right)
            if chain is None or row is None:
                return f"no quote for {describe(contract)}"
            bid, ask = float(chain.bid[row]), float(chain.ask[row])
            one = quote_problems(_one_row(chain, row), snapshot.time, self.settings, live=False)[0]
            if one:
                return f"{describe(contract)} quote {bid:g}/{ask:g} unusable ({QuoteProblem(int(one)).name})"
            net_mid += leg.ratio * 0.5 * (bid + ask)
            natural_buy += leg.ratio * (ask if leg.ratio > 0 else bid)
            natural_sell += leg.ratio * (bid if leg.ratio > 0 else ask)
        spread = natural_buy - natural_sell
        limit = float(allowed_spread(np.array([net_mid]), self.settings)[0])
        if spread > limit + 1e-9:
            self.rejected["STRUCTURE_WIDE"] += 1
            return f"combined spread {spread:.2f} on a net mid of {net_mid:.2f} is over the {limit:.2f} allowed"
        return None


def _one_row(chain: Chain, row: int) -> Chain:
    sl = slice(row, row + 1)
    return Chain(
        chain.root,
        chain.underlying_price,
        chain.time,
        chain.expiry[sl],
        chain.strike[sl],
        chain.is_call[sl],
        chain.bid[sl],
        chain.ask[sl],
        chain.iv[sl],
        chain.delta[sl],
        chain.gamma[sl],
        chain.vega[sl],
        chain.theta[sl],
    )


class DataWatchdog:
    """No data for `no_data_minutes` during market hours counts as a broker disconnect."""

    def __init__(self, settings: Settings) -> None:
        self.limit = timedelta(minutes=settings.no_data_minutes)
        self.last_seen: datetime | None = None

    def observe(self, now: datetime) -> None:
        self.last_seen = now

    def silent(self, now: datetime, market_open: bool) -> bool:
        return market_open and self.last_seen is not None and elapsed(self.last_seen, now) >= self.limit
