"""The modelled market's bid/ask: a half-spread (a + b × price) × (VIX / 20)^`vix_exponent` around the model
price, each side on the product's nearest tick, fitted by `python -m replay.calibrate` on the real minute
quotes of ../shared/lean-data (SPXW 2021-01-04..08, SPY 2023-08-03, ES options 2020-01-06), every contract's
quote every 15 minutes (replay/calibration_quotes.SPREAD_TIMES). The replay's broker fills at these quotes
(replay/broker: a buy at the ask, a sale at the bid).

What the sample shows and what it cannot: a fixed part of a few ticks plus a share of the price fits each root
to within about a third on SPXW and ES (median |log error| 0.33 and 0.27), worse on SPY's one day of four
contracts (0.55). Moneyness and days to expiry add nothing once price is in (a cheap far option is relatively
wide because it is cheap; a factor e^(a·|ln(K/F)| + b·ln(1 + days)) fitted with them left the median |log
error| at 0.34, 0.56 and 0.30), and across the SPXW days VIX ran only from 21.6 to 27 (13.9 on the ES day,
15.9 on the SPY day): the fitted exponent, 0.22 (VIX 40 quotes 17% wider than VIX 20), is what those days
show, not a measure of spreads in a crash. QQQ and IWM, penny-pilot classes like SPY, take SPY's fit; crude
(CL, USO) has no option quote here and keeps a wide assumed spread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.model import FloatArray

VIX_REFERENCE = 20.0
FITTED_ROOTS = ("SPXW", "SPY", "ES")
BORROWS = {"QQQ": "SPY", "IWM": "SPY"}  # penny-pilot classes quoted like SPY
UNFITTED = (0.025, 0.025)  # CL and USO: no quotes to fit, the old assumed max(0.025, 2.5% of the price)


@dataclass
class SpreadParameters:
    """(a, b) of the half-spread a + b × price by root, and the VIX exponent (fitted defaults; the fit's
    figures are in README "Calibrated surface"). `floors` are roots quoted by the older rule max(least,
    share × price), rounded outward to the tick: the products without quotes to fit (crude), and every
    product in `before_calibration`."""

    fixed_and_share: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"SPXW": (0.0607, 0.0062), "SPY": (0.0001, 0.00871), "ES": (0.088, 0.00222)}
    )
    vix_exponent: float = 0.222
    floors: dict[str, tuple[float, float]] = field(default_factory=dict)
    round_outward: bool = False

    @classmethod
    def before_calibration(cls) -> SpreadParameters:
        """The quotes the replay made before this fit: max(0.025, 2.5% of the price) (SPY, QQQ and IWM
        max(0.005, 0.5%)), bid down and ask up to the tick. Kept so that scenario tests found on that market
        (engine mechanics, not prices) still meet their scenario."""
        penny = (0.005, 0.005)
        return cls({}, 0.0, {"SPY": penny, "QQQ": penny, "IWM": penny}, round_outward=True)

    def half_spread(self, root: str, price: FloatArray, vix: float) -> FloatArray:
        fixed_share = self.fixed_and_share.get(BORROWS.get(root, root))
        if fixed_share is None:
            least, share = self.floors.get(root, UNFITTED)
            out: FloatArray = np.maximum(least, share * price)
            return out
        widen = (max(vix, 1.0) / VIX_REFERENCE) ** self.vix_exponent
        fixed, share = fixed_share
        fitted: FloatArray = (fixed + share * np.asarray(price)) * widen
        return fitted

    def quotes(self, price: FloatArray, half: FloatArray, tick: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Bid and ask on the tick: each side at the nearest tick to price ∓ half (the fit is on real quotes,
        which are already on their ticks), at least a tick apart, the bid never under zero; `round_outward`:
        the bid down and the ask up to the tick."""
        if self.round_outward:
            bid = np.maximum(np.floor((price - half) / tick) * tick, 0.0)
            ask = np.maximum(np.ceil((price + half) / tick) * tick, tick)
            return bid, ask
        bid = np.maximum(np.round((price - half) / tick) * tick, 0.0)
        ask = np.maximum(np.round((price + half) / tick) * tick, bid + tick)
        return bid, ask
