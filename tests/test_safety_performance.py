"""safety/performance: the ledger's figures and the significance of a low win rate."""

from __future__ import annotations

import dataclasses
import math

import pytest

from core.settings import Settings
from safety.performance import PerformanceLedger, p_value_below, whole_trades

S = Settings()


def test_figures() -> None:
    ledger = PerformanceLedger(S)
    for pnl in (100.0, 50.0, -300.0, 80.0):
        ledger.record("zero_dte", pnl, fees=7.0)
    st = ledger.stats["zero_dte"]
    assert (st.trades, st.wins, st.win_rate) == (4, 3, 0.75)
    assert st.average_win == pytest.approx(230.0 / 3) and st.average_loss == pytest.approx(300.0)
    assert st.expectancy == pytest.approx(-70.0 / 4) and st.fees == pytest.approx(28.0)


def test_the_binomial_tail_matches_a_direct_sum() -> None:
    direct = sum(math.comb(30, k) * 0.88**k * 0.12 ** (30 - k) for k in range(0, 23))
    assert p_value_below(22, 30, 0.88) == pytest.approx(direct, rel=1e-10)


def test_no_verdict_before_twenty_trades_and_a_warning_when_significantly_low() -> None:
    ledger = PerformanceLedger(S)
    verdicts = [ledger.record("zero_dte", 10.0 if i % 2 else -10.0, 1.0) for i in range(19)]
    assert verdicts == [None] * 19  # 50% wins, but too few trades to say
    warning = ledger.record("zero_dte", -10.0, 1.0)
    assert warning is not None and warning.startswith("zero_dte wins 9 of 20 (45%) against an expected 88%")


def test_a_rate_near_the_expected_one_is_not_flagged() -> None:
    ledger = PerformanceLedger(S)
    results = [ledger.record("strangles", 10.0 if i % 10 < 7 else -10.0, 1.0) for i in range(40)]  # 70% vs 71%
    assert all(r is None for r in results)
    assert PerformanceLedger.from_dict(S, ledger.to_dict()).stats == ledger.stats


def test_an_lt112_is_one_trade_with_its_naked_puts_closed_early_even_across_a_restart() -> None:
    ledger = PerformanceLedger(Settings())
    # The naked puts close at 90% of their credit (+300 after fees); the debit spread decays and closes later.
    assert ledger.record("lt112", 300.0, 0.0, "lt112-1:naked", "lt112-1") is None
    assert "lt112" not in ledger.stats  # the position is still open: no trade yet
    restored = PerformanceLedger.from_dict(Settings(), ledger.to_dict())
    restored.record("lt112", -120.0, 9.5, "lt112-1", "")
    st = restored.stats["lt112"]
    assert (st.trades, st.wins) == (1, 1)
    assert st.total_win == pytest.approx(180.0) and st.fees == pytest.approx(9.5)
    assert restored.pending == {}


def test_ipmcc_calls_and_zero_dte_closes_are_trades_of_their_own() -> None:
    ledger = PerformanceLedger(Settings())
    ledger.record("ipmcc", 40.0, 0.0, "ipmcc-1:call-20240112", "ipmcc-1")
    ledger.record("ipmcc", -15.0, 0.0, "ipmcc-1:call-20240119", "ipmcc-1")
    ledger.record("zero_dte", 120.0, 4.0, "zero_dte-1", "")
    assert (ledger.stats["ipmcc"].trades, ledger.stats["ipmcc"].wins) == (2, 1)
    assert ledger.stats["zero_dte"].trades == 1


def test_whole_trades_groups_parts_under_their_position() -> None:
    closes = [
        ("strangles", "s-1:put", "s-1", -50.0),  # the tested side
        ("ipmcc", "i-1:call-20240112", "i-1", 30.0),
        ("strangles", "s-2", "", 80.0),
        ("strangles", "s-1", "", 90.0),  # the untested side: the position made +40
        ("lt112", "l-1:naked", "l-1", 200.0),  # still open at the end: not a trade yet
    ]
    assert whole_trades(closes) == [("ipmcc", 30.0), ("strangles", 80.0), ("strangles", 40.0)]


def test_a_flat_trade_is_not_a_win_and_losses_add_up() -> None:
    ledger = PerformanceLedger(S)
    ledger.record("zero_dte", 0.0, 1.0)  # broke even after fees: not a win
    ledger.record("zero_dte", 0.5, 1.0)  # fifty cents is a win
    ledger.record("zero_dte", -30.0, 1.0)
    ledger.record("zero_dte", -20.0, 1.0)
    st = ledger.stats["zero_dte"]
    assert (st.trades, st.wins, st.total_win, st.total_loss) == (4, 1, 0.5, 50.0)


def test_a_close_without_a_structure_id_is_a_trade_by_itself() -> None:
    ledger = PerformanceLedger(S)
    assert ledger.record("lt112", 10.0, 1.0) is None
    assert ledger.stats["lt112"].trades == 1 and ledger.pending == {}


def test_the_warning_needs_a_p_value_strictly_below_alpha() -> None:
    """20 trades, 9 wins, against 88%: p = P(X ≤ 9) for Binomial(20, 0.88). At alpha equal to that p the
    verdict is silent; a hair above it, it warns."""
    p = p_value_below(9, 20, 0.88)
    for alpha, warns in ((p, False), (p * 1.000001, True)):
        ledger = PerformanceLedger(dataclasses.replace(S, performance_alpha=alpha))
        for i in range(20):
            verdict = ledger.record("zero_dte", 10.0 if i < 9 else -10.0, 1.0)
        assert (verdict is not None) is warns
    assert PerformanceLedger(S).check("unknown") is None


def test_a_whole_position_closed_without_naming_a_parent_is_a_trade() -> None:
    """A strangle closed whole, its id given and no parent: one trade of +50 after 1.00 of fees."""
    ledger = PerformanceLedger(S)
    ledger.record("strangles", 50.0, 1.0, "s1")
    st = ledger.stats["strangles"]
    assert (st.trades, st.wins, st.total_win, st.fees) == (1, 1, 50.0, 1.0) and ledger.pending == {}


def test_a_fresh_ledger_has_nothing_to_say_about_any_strategy() -> None:
    ledger = PerformanceLedger(S)
    assert [ledger.check(s) for s in ("zero_dte", "strangles", "ipmcc", "hedge")] == [None] * 4
