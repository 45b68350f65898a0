"""core/settings: defaults, config.json, parsing and the refusal to start on a bad parameter."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from core.settings import Settings, SettingsError, share

ROOT = Path(__file__).resolve().parents[1]


def config_parameters() -> dict[str, str]:
    return dict(json.loads((ROOT / "config.json").read_text())["parameters"])


def test_defaults_are_consistent() -> None:
    assert Settings().problems() == []


def test_config_json_holds_every_parameter_with_the_code_default() -> None:
    config = json.loads((ROOT / "config.json").read_text())
    assert config["algorithm-language"] == "Python"
    assert config["description"]
    params = config["parameters"]
    assert all(isinstance(v, str) for v in params.values()), "LEAN parameters are strings"
    assert params == Settings().to_parameters()
    assert Settings.from_parameters(params) == Settings()


def test_rulebook_numbers_are_the_defaults() -> None:
    s = Settings()
    assert s.phase_thresholds == (51_000.0, 76_000.0, 95_000.0)
    assert s.start_small_below == 38_000.0 and s.full_size_from == 70_000.0
    assert s.max_positions_total == (4, 8, 12, 18)
    assert s.max_positions_lt112 == (0, 4, 1, 3)
    assert s.vix_regime_bounds == (13.0, 18.0, 25.0, 30.0)
    assert s.vix_regime_max_bp == (0.45, 0.65, 0.78, 0.50, 0.80)
    assert s.correlation_group_members()["A1"][:2] == ("ES", "MES")
    assert s.correlation_max["C2"] == 1
    assert (s.drawdown_halve, s.drawdown_stop_entries, s.drawdown_close_all) == (0.10, 0.15, 0.20)
    assert (s.daily_loss_limit, s.daily_losing_trades, s.risk_per_trade) == (0.05, 3, 0.02)
    assert s.zdte_entry_time == time(10, 30) and s.zdte_exit_time == time(15, 0)
    assert (s.strangle_min_dte, s.strangle_target_dte, s.strangle_max_dte) == (75, 90, 105)
    assert s.dte21_losing_action == "close"


def test_overrides_parse_every_kind_of_value() -> None:
    s = Settings.from_parameters(
        {
            "daily_loss_limit": "0.04",
            "enable_delta_hedge": "true",
            "zdte_entry_time": "10:45",
            "max_positions_total": "3, 6, 9, 12",
            "span_initial_margin": "es=12000,CL=6500",
            "start_date": "2020-01-02",
            "dte21_losing_action": "alert",
        }
    )
    assert s.daily_loss_limit == 0.04 and s.enable_delta_hedge is True
    assert s.zdte_entry_time == time(10, 45)
    assert s.max_positions_total == (3, 6, 9, 12)
    assert s.span_initial_margin == {"ES": 12000.0, "CL": 6500.0}
    assert s.dte21_losing_action == "alert"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("daily_loss_limit", "5", "outside the allowed range 0 to 1"),
        ("daily_loss_limit", "five", "expected a number (allowed range 0 to 1)"),
        ("daily_loss_limit", "nan", "finite"),
        ("daily_losing_trades", "2.5", "whole number"),
        ("zdte_entry_time", "25:00", "HH:MM"),
        ("enable_lt112", "maybe", "true or false"),
        ("dte21_losing_action", "panic", "not one of close, hold, alert"),
        ("max_positions_total", "4,8,x", "whole number"),
        ("span_initial_margin", "ES", "KEY=NUMBER"),
        ("start_date", "02/01/2020", "YYYY-MM-DD"),
        ("dayly_loss_limit", "0.05", "unknown parameter 'dayly_loss_limit'"),
    ],
)
def test_a_bad_parameter_is_named_with_what_is_allowed(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_parameters({name: value})
    text = str(info.value)
    assert name in text and expected in text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"phase_thresholds": "76000,51000,95000"}, "phase_thresholds must be 3 increasing"),
        ({"drawdown_halve": "0.2"}, "drawdown steps must increase"),
        ({"zdte_short_delta_max": "0.35"}, "0DTE short delta band"),
        ({"max_positions_ipmcc": "1,2,3"}, "max_positions_ipmcc needs 4 numbers"),
        ({"strangle_min_dte": "95"}, "strangle_min_dte <= strangle_target_dte"),
        ({"correlation_groups": "A1:ES,SPY;A2:SPY"}, "SPY is in both A1 and A2"),
        ({"start_date": "2024-01-01", "end_date": "2023-01-01"}, "start_date must not be after end_date"),
    ],
)
def test_cross_field_conflicts_refuse_to_start(params: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError, match=expected):
        Settings.from_parameters(params)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_parameters({"daily_loss_limit": "2", "nope": "1", "zdte_exit_time": "x"})
    assert len(info.value.problems) == 3


def test_effective_config_marks_changes() -> None:
    lines = Settings.from_parameters({"risk_per_trade": "0.01"}).describe()
    assert "risk_per_trade = 0.01   (changed from 0.02)" in lines
    assert "daily_loss_limit = 0.05" in lines
    assert len(lines) == len(Settings().to_parameters())


def test_a_share_reads_as_a_person_writes_it() -> None:
    assert [share(x) for x in (0.1, 0.015, 0.02, 0.0225, 1.0)] == ["10%", "1.5%", "2%", "2.25%", "100%"]


# LEAN's optimizer writes each value it tries as `MinValue + Index * Step` on C# decimals, formatted invariant
# (QuantConnect/Lean Optimizer/Parameters/OptimizationStepParameterEnumerator.cs, `Current`); the lean CLI
# sends min, max and step as floats (lean-cli lean/models/optimizer.py, OptimizationParameter), so a decimal
# keeps their scale: min 1.0, step 1.0 gives "1.0", "2.0", "3.0", never "2".
def lean_optimizer_values(low: float, high: float, step: float, limit: int = 25) -> list[str]:
    """The values LEAN's optimizer tries for `--parameter NAME low high step` (the first `limit` of them)."""
    start, end, by = (Decimal(repr(float(x))) for x in (low, high, step))
    values: list[str] = []
    while start + len(values) * by <= end and len(values) < limit:
        values.append(str(start + len(values) * by))
    return values


def numeric_fields() -> list[dataclasses.Field[object]]:
    hints = typing.get_type_hints(Settings)
    return [f for f in dataclasses.fields(Settings) if hints[f.name] in (int, float)]


@pytest.mark.parametrize("spec", numeric_fields(), ids=lambda f: f.name)
def test_every_numeric_parameter_survives_the_optimizers_formatting(spec: dataclasses.Field[object]) -> None:
    default = getattr(Settings(), spec.name)
    lo = spec.metadata["lo"] if spec.metadata["lo"] is not None else default
    hi = spec.metadata["hi"] if spec.metadata["hi"] is not None else default
    whole = typing.get_type_hints(Settings)[spec.name] is int
    step = 1.0 if whole else (hi - lo) / 10 if hi - lo <= 1_000 else 100.0  # BIG bounds: a sweep a person runs
    values = [repr(float(default)), *lean_optimizer_values(lo, hi, step), repr(float(hi))]
    for text in values:
        assert "." in text  # what LEAN sends: a decimal with its scale, never a bare "2"
        try:
            parsed = Settings.from_parameters({spec.name: text})
        except SettingsError as err:  # only a cross-field rule may refuse a value inside the bounds
            assert all(f"'{spec.name}' = " not in problem for problem in err.problems), err
            continue
        assert getattr(parsed, spec.name) == (int(float(text)) if whole else float(text))


def test_an_integer_parameter_takes_the_optimizers_2_0_and_refuses_2_5_by_name() -> None:
    assert Settings.from_parameters({"daily_losing_trades": "2.0"}).daily_losing_trades == 2
    assert Settings.from_parameters({"max_positions_total": "3.0,6,9.0,12"}).max_positions_total == (3, 6, 9, 12)
    with pytest.raises(SettingsError) as info:
        Settings.from_parameters({"daily_losing_trades": "2.5"})
    assert "parameter 'daily_losing_trades' = '2.5': expected a whole number" in str(info.value)
    for text in ("1e400", "nan", "inf"):
        with pytest.raises(SettingsError, match="daily_losing_trades"):
            Settings.from_parameters({"daily_losing_trades": text})


def test_the_stress_parameters_hold_rulebooks_numbers_and_refuse_what_breaks_the_grid() -> None:
    """RULEBOOK "Stress": the grid, the betas it names, the 15% gate and the 20% alert are the defaults; a
    move without its IV change, a root without a beta, a beta for a root that is no underlying, a value out
    of range and the removed ladder stop each refuse to start, naming the parameter."""
    s = Settings()
    assert s.stress_moves == (-0.20, -0.10, -0.05, -0.03, 0.03, 0.05, 0.10)
    assert s.stress_iv_points == (15.0, 10.0, 5.0, 0.0, 0.0, -3.0, -5.0)
    assert (s.stress_max_loss, s.stress_alert_loss) == (0.15, 0.20)
    named = {"SPY": 1.0, "SPX": 1.0, "ES": 1.0, "MES": 1.0, "QQQ": 1.2, "IWM": 1.2, "GLD": 0.0, "GC": 0.0}
    named |= {"TLT": -0.3, "ZB": -0.3, "USO": 0.5, "CL": 0.5, "6E": 0.1}
    assert {root: s.stress_beta[root] for root in named} == named
    cases = {
        "stress_iv_points": ("15,10", "pair one IV change with each move"),
        "stress_beta": ("SPY=1.0", "stress_beta needs a beta for every underlying root: missing"),
        "stress_max_loss": ("11", "stress_max_loss"),
        "stress_moves": ("-0.95,0.1", "stress_moves"),
    }
    for name, (value, said) in cases.items():
        with pytest.raises(SettingsError, match=said):
            Settings.from_parameters({name: value})
    with pytest.raises(SettingsError) as info:
        Settings.from_parameters({"stress_beta": ",".join(f"{k}={v}" for k, v in s.stress_beta.items()) + ",SPXW=1"})
    assert info.value.problems == [
        "stress_beta: SPXW is not an underlying root (SPXW, NDXP, RUTW move with their index)"
    ]
    with pytest.raises(SettingsError) as info:
        Settings.from_parameters({"ladder_risk_stop_multiple": "3.0"})
    assert info.value.problems == [
        "parameter 'ladder_risk_stop_multiple' was removed: the LEAP ladder's risk per trade is now its stress "
        "loss (RULEBOOK 'Stress', stress_moves and stress_iv_points); delete it from config.json"
    ]
