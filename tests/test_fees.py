"""core/fees: one test per row of TastyTrade's schedule, and the SPXW iron condor RULEBOOK quotes."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from core.fees import FeeBreakdown, FeeKind, contract_fees, fee_kind, is_opening, leg_fees
from core.model import Contract, ContractKind, Right, option_contract
from core.products import PRODUCTS, AssetKind, UnknownProductError
from core.settings import Settings, SettingsError

S = Settings()
NO_REG = dataclasses.replace(S, fee_orf=0.0, fee_finra_taf_option=0.0, fee_sec_rate=0.0, fee_nfa=0.0)


def test_equity_option_open_is_capped_at_10_per_leg_and_close_is_free() -> None:
    assert leg_fees(NO_REG, FeeKind.EQUITY_OPTION, "SPY", 3, opening=True).commission == pytest.approx(3.0)
    capped = leg_fees(NO_REG, FeeKind.EQUITY_OPTION, "SPY", 25, opening=True)
    assert capped.commission == pytest.approx(10.0)
    assert capped.clearing == pytest.approx(2.5)  # clearing is per contract, never capped
    closing = leg_fees(NO_REG, FeeKind.EQUITY_OPTION, "SPY", 25, opening=False)
    assert closing.commission == 0.0 and closing.total == pytest.approx(2.5)


def test_index_option_pays_commission_to_open_uncapped_and_the_index_fee_both_ways() -> None:
    opening = leg_fees(NO_REG, FeeKind.INDEX_OPTION, "SPXW", 20, opening=True)
    assert opening.commission == pytest.approx(20.0)  # no $10 cap on index options
    assert opening.exchange == pytest.approx(13.0)
    closing = leg_fees(NO_REG, FeeKind.INDEX_OPTION, "SPXW", 20, opening=False)
    assert (
        closing.commission == 0.0 and closing.exchange == pytest.approx(13.0) and closing.clearing == pytest.approx(2.0)
    )


def test_spxw_iron_condor_costs_about_7_to_open_and_3_to_close_before_regulatory_fees() -> None:
    sold = [False, True, True, False]  # long put wing, short put, short call, long call wing

    def before_regulatory(opening: bool) -> float:
        fees = [leg_fees(S, FeeKind.INDEX_OPTION, "SPXW", 1, opening, is_sale=s == opening) for s in sold]
        return sum(f.total - f.regulatory for f in fees)

    assert before_regulatory(opening=True) == pytest.approx(7.00)
    assert before_regulatory(opening=False) == pytest.approx(3.00)
    # Regulatory fees come on top and are small: ORF on every contract, TAF and SEC on the sold legs.
    reg = sum(leg_fees(S, FeeKind.INDEX_OPTION, "SPXW", 1, True, s, 150.0).regulatory for s in sold)
    assert 0.16 <= reg <= 0.2


def test_future_options_and_micro_future_options() -> None:
    es = leg_fees(NO_REG, FeeKind.FUTURE_OPTION, "ES", 2, opening=True)
    assert es.commission == pytest.approx(5.0) and es.clearing == pytest.approx(0.6)
    assert leg_fees(NO_REG, FeeKind.FUTURE_OPTION, "ES", 2, opening=False).commission == 0.0
    assert leg_fees(NO_REG, FeeKind.FUTURE_OPTION, "MES", 2, opening=True).commission == pytest.approx(3.0)


def test_futures_pay_both_sides_and_micros_less() -> None:
    for opening in (True, False):
        assert leg_fees(NO_REG, FeeKind.FUTURE, "ES", 1, opening).commission == pytest.approx(1.25)
        assert leg_fees(NO_REG, FeeKind.FUTURE, "MES", 1, opening).commission == pytest.approx(0.85)
    assert leg_fees(S, FeeKind.FUTURE, "ES", 1, True).total == pytest.approx(1.25 + 0.30 + 1.38 + 0.02)


def test_cme_exchange_fees_are_charged_per_root_futures_and_options_apart() -> None:
    """RULEBOOK "Fees": CME's exchange fee is real money and differs by product and by future or option.

    Worked by hand from the defaults (CME Globex non-member rates): one ES future costs 1.25 commission
    + 0.30 clearing + 1.38 exchange + 0.02 NFA = 2.95 a side; one ES option to open 2.50 + 0.30 + 0.55 +
    0.02 = 3.37 and to close 0 + 0.30 + 0.55 + 0.02 = 0.87; a short MES option strangle (2 legs) closed
    pays 2 × (0.30 + 0.20 + 0.02) = 1.04; one CL future 1.25 + 0.30 + 1.50 + 0.02 = 3.07."""
    assert leg_fees(S, FeeKind.FUTURE, "ES", 1, True).total == pytest.approx(2.95)
    assert leg_fees(S, FeeKind.FUTURE_OPTION, "ES", 1, True).total == pytest.approx(3.37)
    assert leg_fees(S, FeeKind.FUTURE_OPTION, "ES", 1, False).total == pytest.approx(0.87)
    assert leg_fees(S, FeeKind.FUTURE_OPTION, "MES", 2, False).total == pytest.approx(1.04)
    assert leg_fees(S, FeeKind.FUTURE, "CL", 1, False).total == pytest.approx(3.07)
    for root in ("ES", "MES", "CL", "GC", "6E", "ZN"):
        for kind in (FeeKind.FUTURE, FeeKind.FUTURE_OPTION):
            assert leg_fees(S, kind, root, 1, True).exchange > 0.0, f"{root} {kind} exchange fee is 0"


def test_every_future_root_has_an_exchange_fee_and_none_may_be_zero() -> None:
    """A root missing from either map, a root that is not a future, or a fee of 0 refuses to start, naming
    the parameter (a future traded at 0 exchange fee flatters every backtest)."""
    futures = sorted(r for r, p in PRODUCTS.items() if p.kind is AssetKind.FUTURE)
    assert sorted(S.fee_exchange_future) == futures and sorted(S.fee_exchange_future_option) == futures
    with pytest.raises(SettingsError) as err:
        Settings.from_parameters({"fee_exchange_future": "ES=0"})
    assert "fee_exchange_future" in str(err.value) and "0 is outside the allowed range 0.01" in str(err.value)
    with pytest.raises(SettingsError) as err:
        Settings.from_parameters({"fee_exchange_future_option": "ES=0.55,SPY=1"})
    text = str(err.value)
    assert "fee_exchange_future_option" in text and "MES" in text and "SPY is not a future" in text
    with pytest.raises(SettingsError):
        Settings.from_parameters({"fee_exchange_future": "0.0"})  # the old single number is refused


def test_stock_pays_clearing_per_share_only() -> None:
    fees = leg_fees(S, FeeKind.STOCK, "SPY", 100, opening=True)
    assert fees.commission == 0.0 and fees.total == pytest.approx(0.08)


def test_regulatory_fees_fall_on_sales_as_parameters() -> None:
    bought = leg_fees(S, FeeKind.EQUITY_OPTION, "QQQ", 10, True, is_sale=False)
    sold = leg_fees(S, FeeKind.EQUITY_OPTION, "QQQ", 10, True, is_sale=True, sale_proceeds=2_000.0)
    assert bought.regulatory == pytest.approx(10 * 0.04)
    assert sold.regulatory == pytest.approx(10 * 0.04 + 10 * 0.00279 + 2_000.0 * 0.0000278)
    custom = dataclasses.replace(S, fee_orf=0.0, fee_finra_taf_option=0.0, fee_sec_rate=0.0)
    assert leg_fees(custom, FeeKind.EQUITY_OPTION, "QQQ", 10, True, True, 2_000.0).regulatory == 0.0


def test_kinds_by_root_and_bad_input() -> None:
    assert fee_kind("SPXW", True) is FeeKind.INDEX_OPTION
    assert fee_kind("ES", True) is FeeKind.FUTURE_OPTION and fee_kind("ES", False) is FeeKind.FUTURE
    assert fee_kind("QQQ", True) is FeeKind.EQUITY_OPTION and fee_kind("QQQ", False) is FeeKind.STOCK
    with pytest.raises(UnknownProductError, match="ZZZ"):
        fee_kind("ZZZ", True)
    with pytest.raises(ValueError, match="negative"):
        leg_fees(S, FeeKind.STOCK, "SPY", -1, True)
    assert leg_fees(S, FeeKind.INDEX_OPTION, "SPX", 0, True).total == 0.0


def test_a_fill_opens_unless_it_reduces_a_holding_the_other_way() -> None:
    from core.fees import is_opening

    assert is_opening(0, -1) and is_opening(-1, -2) and is_opening(3, 1)
    assert not is_opening(-1, 1) and not is_opening(2, -1)
    assert not is_opening(-1, 3)  # a fill larger than the holding still counts as a close (never sent: see orders)


# ------------------------------------------------------------------------------------------ one fill of one contract


def test_a_fill_is_charged_by_its_underlyings_row_with_its_side_and_its_proceeds() -> None:
    """contract_fees is what the replay's broker charges and LEAN's fee model returns, per fill. Worked by
    hand from RULEBOOK's schedule and the regulatory defaults (ORF 0.04 a contract, FINRA TAF 0.00279 a
    contract sold, SEC 0.0000278 a dollar sold)."""
    spy_put = option_contract("SPY", "SPY", Right.PUT, 450.0, date(2024, 5, 17))
    sold = contract_fees(S, spy_put, -2, True, 1.50)  # sell 2 to open at 1.50: proceeds 300
    assert (sold.commission, sold.clearing, sold.exchange) == pytest.approx((2.0, 0.20, 0.0))
    assert sold.regulatory == pytest.approx(2 * 0.04 + 2 * 0.00279 + 0.0000278 * 300.0)
    bought = contract_fees(S, spy_put, +2, False, 1.50)  # buy 2 back: no commission, no sale fees
    assert (bought.commission, bought.clearing, bought.regulatory) == pytest.approx((0.0, 0.20, 2 * 0.04))
    spxw = option_contract("SPXW", "SPX", Right.CALL, 4800.0, date(2024, 1, 12))
    index = contract_fees(NO_REG, spxw, -3, True, 2.0)
    assert (index.commission, index.clearing, index.exchange) == pytest.approx((3.0, 0.30, 3 * 0.65))
    es_put = option_contract("ES", "ES", Right.PUT, 4300.0, date(2024, 3, 15))
    fop = contract_fees(NO_REG, es_put, -1, True, 30.0)  # a future option: its underlying's (ES) row
    assert (fop.commission, fop.clearing) == pytest.approx((2.50, 0.30))
    assert fop.exchange == pytest.approx(S.fee_exchange_future_option["ES"]) and fop.exchange > 0
    mes = Contract("MES", "MES", ContractKind.FUTURE, 5.0, "CME")
    micro = contract_fees(NO_REG, mes, -4, False, 4800.0)  # futures pay commission both ways
    assert (micro.commission, micro.clearing) == pytest.approx((4 * 0.85, 4 * 0.30))
    assert micro.exchange == pytest.approx(4 * S.fee_exchange_future["MES"])
    assert contract_fees(S, spy_put, 0, True, 1.50) == FeeBreakdown(0.0, 0.0, 0.0, 0.0)


def test_fees_of_several_legs_add_up_field_by_field() -> None:
    a, b = FeeBreakdown(1.0, 0.1, 0.65, 0.04), FeeBreakdown(2.0, 0.2, 1.30, 0.08)
    total = a + b
    assert (total.commission, total.clearing, total.exchange, total.regulatory) == pytest.approx((3.0, 0.3, 1.95, 0.12))
    assert (a + b).total == pytest.approx(a.total + b.total)


@pytest.mark.parametrize(
    ("held", "quantity", "opening"),
    [(0, 1, True), (0, -1, True), (1, 1, True), (1, -1, False), (-1, -1, True), (-1, 1, False), (2, -1, False)],
)
def test_a_fill_opens_when_nothing_is_held_or_it_adds_to_the_same_side(held: int, quantity: int, opening: bool) -> None:
    assert is_opening(held, quantity) is opening


def test_a_leg_is_not_a_sale_unless_it_says_so() -> None:
    """The defaults: no sale, no proceeds: only the ORF falls on a bought option."""
    bought = leg_fees(S, FeeKind.EQUITY_OPTION, "SPY", 1, opening=True)
    assert bought.regulatory == pytest.approx(0.04)
    sold = leg_fees(S, FeeKind.EQUITY_OPTION, "SPY", 1, opening=True, is_sale=True)  # no proceeds given
    assert sold.regulatory == pytest.approx(0.04 + 0.00279)
    negative = leg_fees(S, FeeKind.EQUITY_OPTION, "SPY", 1, opening=True, is_sale=True, sale_proceeds=-5.0)
    assert negative.regulatory == pytest.approx(0.04 + 0.00279)  # proceeds below 0 count as none


def test_an_index_itself_does_not_trade_and_a_negative_quantity_is_refused_in_words() -> None:
    with pytest.raises(ValueError, match=r"^SPX is an index: only its options trade$"):
        fee_kind("SPX", False)
    with pytest.raises(
        ValueError, match=r"^quantity is a count of contracts and cannot be negative; the side is `is_sale`$"
    ):
        leg_fees(S, FeeKind.EQUITY_OPTION, "SPY", -2, True)
