"""Tests for ecssim.config: EcsSettings defaults and their validation."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.config import EcsSettings
from ecssim.errors import ScenarioError

DURATION_FIELDS = [
    "scheduler_reaction_delay_s",
    "reconcile_interval_s",
    "task_provisioning_s",
    "task_pending_s",
    "task_healthy_after_s",
    "sigterm_exit_s",
    "task_deprovisioning_s",
    "refuse_renewals_after_s",
    "stopped_task_retention_s",
    "lifecycle_hook_s",
]
OPTIONAL_DURATION_FIELDS = ("sigterm_exit_s", "refuse_renewals_after_s")
REQUIRED_DURATION_FIELDS = [
    f for f in DURATION_FIELDS if f not in OPTIONAL_DURATION_FIELDS
]


def test_defaults_are_the_documented_ones() -> None:
    """Default settings match DESIGN §4 (15 s reaction, 60 s reconcile, refuse_new),
    ECS's documented hour for stopped tasks and its quota of 500 tasks waiting in
    PROVISIONING per cluster."""
    assert dataclasses.asdict(EcsSettings()) == {
        "scheduler_reaction_delay_s": 15.0,
        "reconcile_interval_s": 60.0,
        "task_provisioning_s": 10.0,
        "task_pending_s": 20.0,
        "task_healthy_after_s": 40.0,
        "sigterm_exit_s": 1.0,
        "task_deprovisioning_s": 5.0,
        "deployment_blocked": "refuse_new",
        "refuse_renewals_after_s": None,
        "protection_api_rate_per_s": 50.0,
        "protection_api_burst": 100.0,
        "stopped_task_retention_s": 3600.0,
        "lifecycle_hook_s": 0.0,
        "draining_respects_protection": True,
        "max_provisioning_tasks_per_cluster": 500,
    }


def test_duration_fields_are_all_the_seconds_fields() -> None:
    """The list this module checks covers every duration EcsSettings has."""
    names = [f.name for f in dataclasses.fields(EcsSettings)]
    assert [
        n for n in names if n.endswith("_s") and "_per_" not in n
    ] == DURATION_FIELDS


@pytest.mark.parametrize("field", DURATION_FIELDS)
@pytest.mark.parametrize("value", [-1.0, -1e-9, math.nan, -math.inf])
def test_negative_or_nan_duration_is_rejected_naming_the_field(
    field: str, value: float
) -> None:
    """A duration below zero (or NaN) raises ScenarioError naming the field and value."""
    with pytest.raises(ScenarioError, match=f"^{field}: ") as excinfo:
        EcsSettings(**{field: value})
    assert repr(value) in str(excinfo.value)


@pytest.mark.parametrize(
    "field", [f for f in DURATION_FIELDS if f != "reconcile_interval_s"]
)
def test_zero_duration_is_accepted(field: str) -> None:
    """Zero is a valid duration (an instant reaction or transition)."""
    assert getattr(EcsSettings(**{field: 0.0}), field) == 0.0


def test_reconcile_interval_must_be_positive() -> None:
    """A zero reconcile interval raises ScenarioError naming the field."""
    with pytest.raises(ScenarioError, match=r"^reconcile_interval_s: 0\.0 must be > 0"):
        EcsSettings(reconcile_interval_s=0.0)


def test_sigterm_exit_may_be_none() -> None:
    """None for sigterm_exit_s means containers ignore SIGTERM."""
    assert EcsSettings(sigterm_exit_s=None).sigterm_exit_s is None


@pytest.mark.parametrize("value", ["refuse_new", "refuse_renewals_too", "ignore"])
def test_deployment_blocked_accepts_its_three_modes(value: str) -> None:
    """deployment_blocked is "refuse_new", "refuse_renewals_too" or "ignore"."""
    assert EcsSettings(deployment_blocked=value).deployment_blocked == value  # type: ignore[arg-type]


def test_deployment_blocked_rejects_other_values() -> None:
    """Any other deployment_blocked mode raises ScenarioError naming field and value."""
    with pytest.raises(
        ScenarioError, match=r"^deployment_blocked: 'warn' is not one of"
    ):
        EcsSettings(deployment_blocked="warn")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0.0, -5.0, math.nan])
def test_api_rate_must_be_positive(value: float) -> None:
    """A throttling rate that is not positive raises ScenarioError naming the field."""
    with pytest.raises(ScenarioError, match=r"^protection_api_rate_per_s: "):
        EcsSettings(protection_api_rate_per_s=value)


def test_api_rate_none_disables_throttling() -> None:
    """None for the rate is accepted (no throttling)."""
    assert EcsSettings(protection_api_rate_per_s=None).protection_api_rate_per_s is None


@pytest.mark.parametrize("value", [0.0, 0.999, math.nan])
def test_api_burst_below_one_is_rejected(value: float) -> None:
    """A token bucket smaller than one call raises ScenarioError naming the field."""
    with pytest.raises(ScenarioError, match=r"^protection_api_burst: "):
        EcsSettings(protection_api_burst=value)


def test_api_burst_of_one_is_accepted() -> None:
    """A bucket of exactly one call is the smallest allowed."""
    assert EcsSettings(protection_api_burst=1.0).protection_api_burst == 1.0


def test_settings_are_frozen_and_keyword_only() -> None:
    """Settings cannot be changed after construction or built positionally."""
    settings = EcsSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.task_pending_s = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        EcsSettings(15.0)  # type: ignore[misc]
    assert dataclasses.replace(settings, task_pending_s=3.0).task_pending_s == 3.0


def test_scenario_error_is_a_value_error() -> None:
    """Callers that catch ValueError also catch a bad setting."""
    with pytest.raises(ValueError, match="task_pending_s"):
        EcsSettings(task_pending_s=-1.0)


@given(
    values=st.fixed_dictionaries(
        {
            field: st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
            for field in DURATION_FIELDS
        }
    ),
    rate=st.none() | st.floats(min_value=1e-3, max_value=1e4),
    burst=st.floats(min_value=1.0, max_value=1e4),
)
def test_any_positive_finite_settings_are_accepted(
    values: dict[str, float], rate: float | None, burst: float
) -> None:
    """Every combination of positive durations, rate and burst >= 1 is valid and kept."""
    settings = EcsSettings(
        **values, protection_api_rate_per_s=rate, protection_api_burst=burst
    )
    assert {f: getattr(settings, f) for f in DURATION_FIELDS} == values


# --- validation of types and of the rate ----------------------------------------


@pytest.mark.parametrize("field", REQUIRED_DURATION_FIELDS)
def test_none_is_rejected_for_a_required_duration(field: str) -> None:
    """Only sigterm_exit_s may be None; None elsewhere raises ScenarioError naming the field."""
    with pytest.raises(ScenarioError, match=f"^{field}: None"):
        EcsSettings(**{field: None})


@pytest.mark.parametrize("field", REQUIRED_DURATION_FIELDS)
def test_non_numeric_duration_is_rejected_naming_the_field(field: str) -> None:
    """A string duration raises ScenarioError naming the field, not a bare TypeError."""
    with pytest.raises(ScenarioError, match=f"^{field}: '15'"):
        EcsSettings(**{field: "15"})


def test_negative_api_rate_message_is_about_a_rate() -> None:
    """A negative rate is reported with the rate's own rule, not as a duration in seconds."""
    with pytest.raises(ScenarioError) as excinfo:
        EcsSettings(protection_api_rate_per_s=-1.0)
    assert str(excinfo.value) == "protection_api_rate_per_s: -1.0 must be > 0"
