"""Tests of the step scaling rules in ecssim.rules.scaling: the policy's
validation (each message exactly), the capacity a step asks for, and the
signal a step policy sends. Written from the mutants mutmut found surviving
(docs/mutation-testing.md)."""

from __future__ import annotations

import re

import pytest

from ecssim.errors import ScenarioError
from ecssim.rules.scaling import (
    NO_COOLDOWNS,
    Cooldowns,
    Signal,
    StepAdjustment,
    StepScaling,
    TargetTracking,
    check_step_adjustments,
    select_step,
    step_capacity,
    step_signal,
    target_tracking_capacity,
    target_tracking_signal,
)

UP = (StepAdjustment(0, 10, 1), StepAdjustment(10, None, 3))
DOWN = (StepAdjustment(None, 0, -2),)


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def _policy(kind: str, steps: tuple[StepAdjustment, ...], **kw: object) -> StepScaling:
    return StepScaling(adjustment_type=kind, step_adjustments=steps, **kw)  # type: ignore[arg-type]


# ---- validation ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((), "StepAdjustments: at least one step adjustment is required"),
        (
            (StepAdjustment(None, None, 1),),
            "StepAdjustments: a step cannot have both bounds null (adjustment 1)",
        ),
        (
            (StepAdjustment(5, 5, 1), StepAdjustment(None, 5, 1)),
            "StepAdjustments: lower bound 5 must be below upper bound 5",
        ),
        (
            (StepAdjustment(None, 0, 1), StepAdjustment(None, 1, 1)),
            "StepAdjustments: only one step can have a null lower bound",
        ),
        (
            (StepAdjustment(0, None, 1), StepAdjustment(1, None, 1)),
            "StepAdjustments: only one step can have a null upper bound",
        ),
        (
            (StepAdjustment(0, 5, 1), StepAdjustment(6, None, 1)),
            "StepAdjustments: steps must not overlap or leave a gap; upper bound 5 "
            "is followed by lower bound 6",
        ),
        (
            (StepAdjustment(-5, None, 1),),
            "StepAdjustments: lower bound -5 is negative, so a step with a null "
            "lower bound is required",
        ),
        (
            (StepAdjustment(None, 5, 1),),
            "StepAdjustments: upper bound 5 is positive, so a step with a null "
            "upper bound is required",
        ),
        (
            (StepAdjustment(None, 1, 1),),
            "StepAdjustments: upper bound 1 is positive, so a step with a null "
            "upper bound is required",
        ),
    ],
)
def test_bad_step_adjustments_are_refused_with_their_message(
    steps: tuple[StepAdjustment, ...], message: str
) -> None:
    """Each documented rule on step adjustments has its own message."""
    with pytest.raises(ScenarioError, match=_exactly(message)):
        check_step_adjustments(steps)


@pytest.mark.parametrize(
    "steps",
    [
        (StepAdjustment(0, None, 1),),
        (StepAdjustment(None, 0, -1),),
        (StepAdjustment(None, 0, -1), StepAdjustment(0, None, 1)),
        (StepAdjustment(0, 10, 1), StepAdjustment(10, None, 2)),
        (StepAdjustment(None, -10, -2), StepAdjustment(-10, 0, -1)),
        (StepAdjustment(10, None, 2), StepAdjustment(0, 10, 1)),  # any order
    ],
)
def test_good_step_adjustments_pass(steps: tuple[StepAdjustment, ...]) -> None:
    """Adjacent steps that cover the threshold's side with open ends pass
    (bounds of 0 at either end included)."""
    check_step_adjustments(steps)


@pytest.mark.parametrize(
    ("kind", "kw", "message"),
    [
        (
            "Exact",
            {},
            "AdjustmentType: 'Exact' is not one of ChangeInCapacity, ExactCapacity, "
            "PercentChangeInCapacity",
        ),
        (
            "ChangeInCapacity",
            {"min_adjustment_magnitude": 2},
            "MinAdjustmentMagnitude: only valid with AdjustmentType "
            "PercentChangeInCapacity, got 'ChangeInCapacity'",
        ),
        (
            "PercentChangeInCapacity",
            {"min_adjustment_magnitude": 0},
            "MinAdjustmentMagnitude: 0 must be >= 1",
        ),
        ("ChangeInCapacity", {"cooldown_s": -1.0}, "Cooldown: -1.0 must be >= 0"),
    ],
)
def test_bad_step_policies_are_refused_with_their_message(
    kind: str, kw: dict[str, object], message: str
) -> None:
    """A bad adjustment type, a misplaced or too small MinAdjustmentMagnitude
    and a negative cooldown each have their own message."""
    with pytest.raises(ScenarioError, match=_exactly(message)):
        _policy(kind, UP, **kw)


def test_exact_capacity_refuses_negative_adjustments() -> None:
    """ExactCapacity adjustments are capacities: a negative one is refused,
    0 is fine."""
    with pytest.raises(
        ScenarioError,
        match=_exactly("ScalingAdjustment: ExactCapacity adjustments must be >= 0"),
    ):
        _policy("ExactCapacity", DOWN)
    _policy("ExactCapacity", (StepAdjustment(None, 0, 0),))


def test_good_step_policies_pass_and_keep_their_settings() -> None:
    """Valid policies keep what they were given; MinAdjustmentMagnitude 1 and
    a cooldown of 0 are allowed."""
    policy = _policy(
        "PercentChangeInCapacity", UP, min_adjustment_magnitude=1, cooldown_s=0.0
    )
    assert (policy.min_adjustment_magnitude, policy.cooldown_s) == (1, 0.0)
    assert _policy("ChangeInCapacity", UP).metric_aggregation == "Average"
    with pytest.raises(
        ScenarioError,
        match=_exactly(
            "MetricAggregationType: 'Median' is not one of Average, Minimum, Maximum"
        ),
    ):
        _policy("ChangeInCapacity", UP, metric_aggregation="Median")


# ---- which step ---------------------------------------------------------------------
def test_select_step_at_the_threshold_and_on_a_bound() -> None:
    """At the threshold itself the step starting at 0 applies; above it a
    lower bound is inclusive, below it an upper bound is inclusive (AWS)."""
    steps = (
        StepAdjustment(None, -0.5, -2),
        StepAdjustment(-0.5, 0, -1),
        StepAdjustment(0, 0.5, 1),
        StepAdjustment(0.5, None, 2),
    )
    assert select_step(steps, 50.0, 50.0) == steps[2]
    assert select_step(steps, 50.5, 50.0) == steps[3]
    assert select_step(steps, 49.5, 50.0) == steps[0]
    assert select_step(steps, 50.25, 50.0) == steps[2]


# ---- capacity -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "base", "adjustment", "magnitude", "capacity"),
    [
        ("ExactCapacity", 4, 7, None, 7),
        ("ExactCapacity", 4, 0, None, 0),
        ("ChangeInCapacity", 4, 2, None, 6),
        ("ChangeInCapacity", 4, -6, None, 0),
        ("PercentChangeInCapacity", 10, 50, None, 15),
        ("PercentChangeInCapacity", 10, 5, None, 11),  # 0.5 becomes 1
        ("PercentChangeInCapacity", 10, 5, 3, 13),  # raised to the magnitude
        ("PercentChangeInCapacity", 10, 1, 3, 13),
        ("PercentChangeInCapacity", 10, -5, 3, 7),
        ("PercentChangeInCapacity", 10, 30, 3, 13),  # 3 is not below 3
        ("PercentChangeInCapacity", 10, 50, 3, 15),  # already larger
        ("PercentChangeInCapacity", 10, 0, 3, 10),  # no change stays none
        ("PercentChangeInCapacity", 2, -200, None, 0),  # never negative
    ],
)
def test_step_capacity(
    kind: str, base: int, adjustment: int, magnitude: int | None, capacity: int
) -> None:
    """The capacity each adjustment type asks for, with MinAdjustmentMagnitude
    applied only to a smaller, non-zero percentage change."""
    steps = (StepAdjustment(0, None, 1),)
    policy = _policy(kind, steps, min_adjustment_magnitude=magnitude)
    assert step_capacity(base, policy, adjustment) == capacity


# ---- signals ------------------------------------------------------------------------
def _signal(
    policy: StepScaling,
    value: float,
    *,
    running: int = 4,
    desired: int = 4,
    cooldowns: Cooldowns = NO_COOLDOWNS,
    **kw: str,
) -> Signal | None:
    return step_signal(
        "p",
        policy,
        value=value,
        threshold=50.0,
        running=running,
        desired=desired,
        cooldowns=cooldowns,
        now=100.0,
        **kw,
    )


def test_exact_capacity_signals_the_direction_from_the_desired_count() -> None:
    """ExactCapacity asks for the step's capacity: out above the desired count,
    in below it, nothing when equal; the base is the running count."""
    policy = _policy("ExactCapacity", (StepAdjustment(0, None, 6),), cooldown_s=60.0)
    assert _signal(policy, 55.0, running=3, desired=4, cause="why") == Signal(
        policy="p",
        kind="StepScaling",
        direction="out",
        capacity=6,
        base=3,
        cooldown_s=60.0,
        cause="why",
    )
    signal = _signal(policy, 55.0, running=9, desired=8)
    assert signal is not None
    assert (signal.direction, signal.capacity, signal.base) == ("in", 6, 9)
    assert _signal(policy, 55.0, running=3, desired=6) is None


def test_change_in_capacity_signals() -> None:
    """ChangeInCapacity: the step's sign gives the direction, zero asks
    nothing, no step for the value asks nothing, and the cause defaults to
    empty."""
    policy = _policy("ChangeInCapacity", (*UP,))
    assert _signal(policy, 65.0) == Signal(
        policy="p",
        kind="StepScaling",
        direction="out",
        capacity=7,
        base=4,
        cooldown_s=300.0,
        cause="",
    )
    assert _signal(policy, 40.0) is None  # below the threshold: no step
    zero = _policy("ChangeInCapacity", (StepAdjustment(0, None, 0),))
    assert _signal(zero, 60.0) is None
    down = _policy("ChangeInCapacity", DOWN)
    signal = _signal(down, 45.0)
    assert signal is not None
    assert (signal.direction, signal.capacity, signal.base) == ("in", 2, 4)


def test_a_scale_out_during_its_cooldown_starts_from_the_in_flight_base() -> None:
    """During a scale-out cooldown a further step scale-out starts from the
    in-flight scale-out's base; after it, and for scale-in, from the running
    count."""
    policy = _policy("ChangeInCapacity", (*UP,))
    cooling = Cooldowns(scale_out_until_s=200.0, scale_out_capacity=5, scale_out_base=2)
    signal = _signal(policy, 55.0, cooldowns=cooling)
    assert signal is not None
    assert (signal.base, signal.capacity) == (2, 3)
    over = Cooldowns(scale_out_until_s=100.0, scale_out_capacity=5, scale_out_base=2)
    signal = _signal(policy, 55.0, cooldowns=over)
    assert signal is not None
    assert (signal.base, signal.capacity) == (4, 5)
    down = _policy("ChangeInCapacity", DOWN)
    signal = _signal(down, 45.0, cooldowns=cooling)
    assert signal is not None
    assert (signal.base, signal.capacity) == (4, 2)


# ---- target tracking arithmetic ---------------------------------------------------------
def test_target_tracking_capacity_refuses_what_it_cannot_compute() -> None:
    """A negative running count or a target of 0 is a ScenarioError that says so."""
    with pytest.raises(ScenarioError, match=_exactly("running count -1 is negative")):
        target_tracking_capacity(-1, 50.0, 50.0)
    with pytest.raises(ScenarioError, match=_exactly("TargetValue: 0 must be > 0")):
        target_tracking_capacity(1, 50.0, 0)


def test_target_tracking_signal_cause_defaults_to_empty() -> None:
    """Without a cause the signal's cause is empty (the caller adds it)."""
    config = TargetTracking(target_value=50.0)
    signal = target_tracking_signal(
        "cpu", config, running=2, latest=100.0, high="ALARM", low="OK"
    )
    assert (signal.direction, signal.capacity, signal.cause) == ("out", 4, "")
