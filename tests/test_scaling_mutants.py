"""Target tracking, cooldowns and the decision in ecssim.rules.scaling, checked
as whole answers: every field of the signal a policy sends, for every branch.
Written from the mutants mutmut found surviving (docs/mutation-testing.md)."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.errors import ScenarioError
from ecssim.rules.scaling import (
    ALREADY_AT_DESIRED,
    ALREADY_AT_MAX,
    ALREADY_AT_MIN,
    DYNAMIC_IN_SUSPENDED,
    DYNAMIC_OUT_SUSPENDED,
    RUNNING_ABOVE_DESIRED,
    SCALE_IN_COOLDOWN,
    SCALE_OUT_COOLDOWN,
    Bounds,
    Cooldowns,
    Decision,
    ScalingSettings,
    Signal,
    Skip,
    Suspension,
    TargetTracking,
    TargetView,
    decide,
    target_tracking_capacity,
    target_tracking_signal,
)

running_counts = st.integers(min_value=1, max_value=5000)
metrics = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)
targets = st.floats(min_value=0.5, max_value=500.0, allow_nan=False)
cooldowns = st.floats(min_value=0.0, max_value=3600.0, allow_nan=False)


def _policy(
    target: float, out_s: float, in_s: float, disable_in: bool = False
) -> TargetTracking:
    return TargetTracking(
        target_value=target,
        scale_out_cooldown_s=out_s,
        scale_in_cooldown_s=in_s,
        disable_scale_in=disable_in,
    )


@given(
    running=running_counts,
    latest=metrics,
    target=targets,
    out_s=cooldowns,
    in_s=cooldowns,
    off=st.booleans(),
)
def test_alarm_high_asks_for_the_ratio_from_the_running_count(
    *, running: int, latest: float, target: float, out_s: float, in_s: float, off: bool
) -> None:
    """AlarmHigh in ALARM: scale out to ceil(running x metric / target), from the
    running count, with the scale-out cooldown and AlarmHigh's cause; the
    policy still votes on scale-in unless scale-in is disabled."""
    signal = target_tracking_signal(
        "cpu50",
        _policy(target, out_s, in_s, off),
        running=running,
        latest=latest,
        high="ALARM",
        low="OK",
        cause_high="high fired",
        cause_low="low fired",
    )
    want = max(0, math.ceil(round(running * latest / target, 9)))
    assert signal == Signal(
        policy="cpu50",
        kind="TargetTrackingScaling",
        direction="out",
        capacity=want,
        base=running,
        cooldown_s=out_s,
        cause="high fired",
        votes_on_scale_in=not off,
    )


@given(running_counts, metrics, targets, cooldowns, cooldowns)
def test_alarm_low_asks_for_the_ratio_with_the_scale_in_cooldown(
    running: int, latest: float, target: float, out_s: float, in_s: float
) -> None:
    """AlarmLow in ALARM (AlarmHigh not): scale in to the same formula, from the
    running count, with the scale-in cooldown and AlarmLow's cause."""
    signal = target_tracking_signal(
        "cpu50",
        _policy(target, out_s, in_s),
        running=running,
        latest=latest,
        high="OK",
        low="ALARM",
        cause_high="high fired",
        cause_low="low fired",
    )
    want = max(0, math.ceil(round(running * latest / target, 9)))
    assert signal == Signal(
        policy="cpu50",
        kind="TargetTrackingScaling",
        direction="in",
        capacity=want,
        base=running,
        cooldown_s=in_s,
        cause="low fired",
        votes_on_scale_in=True,
    )


@given(metrics, targets, cooldowns, cooldowns, st.sampled_from(["OK", "ALARM"]))
def test_no_running_task_and_demand_above_the_target_asks_for_one(
    latest: float, target: float, out_s: float, in_s: float, high: str
) -> None:
    """With no running task, one datapoint above the target asks for 1 task
    from 0 at once (whatever AlarmHigh says); at or below the target there is no
    such shortcut, and with AlarmHigh quiet the policy asks for nothing."""
    signal = target_tracking_signal(
        "cpu50",
        _policy(target, out_s, in_s),
        running=0,
        latest=latest,
        high=high,  # type: ignore[arg-type]
        low="OK",
        cause_high="high fired",
    )
    if latest > target:
        assert signal == Signal(
            policy="cpu50",
            kind="TargetTrackingScaling",
            direction="out",
            capacity=1,
            base=0,
            cooldown_s=out_s,
            cause="high fired",
            votes_on_scale_in=True,
        )
    elif high == "OK":
        assert signal.direction is None


def test_no_running_task_at_exactly_the_target_asks_for_nothing() -> None:
    """The shortcut needs a datapoint above the target: at the target, with no
    alarm, the policy is quiet."""
    signal = target_tracking_signal(
        "cpu50",
        _policy(50.0, 60.0, 300.0),
        running=0,
        latest=50.0,
        high="OK",
        low="OK",
    )
    assert signal == Signal(
        policy="cpu50",
        kind="TargetTrackingScaling",
        direction=None,
        votes_on_scale_in=True,
    )


@given(st.sampled_from([None, 10.0]), st.booleans())
def test_a_quiet_policy_still_names_itself_and_votes(
    latest: float | None, off: bool
) -> None:
    """No datapoint, or no alarm in ALARM: no direction, but the signal names
    the policy and its kind, and votes on scale-in unless scale-in is off."""
    signal = target_tracking_signal(
        "mem70",
        _policy(70.0, 60.0, 300.0, off),
        running=3,
        latest=latest,
        high="ALARM" if latest is None else "OK",
        low="ALARM" if off else "OK",
    )
    assert signal == Signal(
        policy="mem70",
        kind="TargetTrackingScaling",
        direction=None,
        votes_on_scale_in=not off,
    )


def test_without_causes_the_cause_is_empty() -> None:
    """A caller that passes no cause text gets none (the activity then writes
    its default cause)."""
    policy = _policy(50.0, 60.0, 300.0)
    low = target_tracking_signal(
        "p", policy, running=4, latest=10.0, high="OK", low="ALARM"
    )
    high = target_tracking_signal(
        "p", policy, running=4, latest=90.0, high="ALARM", low="OK"
    )
    assert (low.direction, low.cause) == ("in", "")
    assert (high.direction, high.cause) == ("out", "")


# ---- decide: what a skipped scaling reports -----------------------------------------


def _signal(direction: str, capacity: int, policy: str = "p", **kw: object) -> Signal:
    return Signal(
        policy=policy,
        kind="StepScaling",
        direction=direction,  # type: ignore[arg-type]
        capacity=capacity,
        base=kw.pop("base", 4),  # type: ignore[arg-type]
        cooldown_s=60.0,
        cause=f"alarm of {policy} in ALARM",
    )


def _skipped(
    direction: str, reason: str, signal: Signal, cooldowns: Cooldowns
) -> Decision:
    return Decision(
        desired=None,
        direction=None,
        winner=None,
        skip=Skip(
            direction=direction,  # type: ignore[arg-type]
            reason=reason,
            policy=signal.policy,
            proposed=signal.capacity,
            cause=signal.cause,
        ),
        cooldowns=cooldowns,
    )


OUT_COOLING = Cooldowns(scale_out_until_s=500.0, scale_out_capacity=8, scale_out_base=4)
IN_COOLING = Cooldowns(scale_in_until_s=500.0)


@pytest.mark.parametrize(
    ("view", "signal", "reason"),
    [
        (
            TargetView(
                desired=4,
                running=4,
                bounds=Bounds(1, 10),
                suspension=Suspension(dynamic_out=True),
            ),
            _signal("out", 6),
            DYNAMIC_OUT_SUSPENDED,
        ),
        (
            TargetView(desired=4, running=4, bounds=Bounds(1, 10)),
            _signal("out", 4),
            ALREADY_AT_DESIRED,
        ),
        (
            TargetView(desired=4, running=4, bounds=Bounds(1, 10)),
            _signal("out", 3),
            ALREADY_AT_DESIRED,
        ),
        (
            TargetView(desired=10, running=10, bounds=Bounds(1, 10)),
            _signal("out", 12),
            ALREADY_AT_MAX,
        ),
        (
            TargetView(
                desired=4, running=4, bounds=Bounds(1, 10), cooldowns=OUT_COOLING
            ),
            _signal("out", 8),
            SCALE_OUT_COOLDOWN,
        ),
        (
            TargetView(
                desired=4,
                running=4,
                bounds=Bounds(1, 10),
                suspension=Suspension(dynamic_in=True),
            ),
            _signal("in", 2),
            DYNAMIC_IN_SUSPENDED,
        ),
        (
            TargetView(
                desired=4, running=4, bounds=Bounds(1, 10), cooldowns=IN_COOLING
            ),
            _signal("in", 2),
            SCALE_IN_COOLDOWN,
        ),
        (
            TargetView(desired=1, running=1, bounds=Bounds(1, 10)),
            _signal("in", 0),
            ALREADY_AT_MIN,
        ),
        (
            TargetView(desired=4, running=4, bounds=Bounds(1, 10)),
            _signal("in", 4),
            ALREADY_AT_DESIRED,
        ),
        (
            TargetView(desired=4, running=6, bounds=Bounds(1, 10)),
            _signal("in", 5),
            RUNNING_ABOVE_DESIRED,
        ),
    ],
)
def test_a_skipped_scaling_reports_its_direction_reason_policy_and_proposal(
    view: TargetView, signal: Signal, reason: str
) -> None:
    """Every skip names the direction asked for, the reason (AlreadyAtMax only
    at MaxCapacity, AlreadyAtMin only at MinCapacity, RunningAboveDesired only
    with more tasks running than desired), the winning policy, what it proposed
    and its cause; the desired count and the cooldowns stay."""
    assert decide(view, [signal], now=100.0) == _skipped(
        signal.direction or "", reason, signal, view.cooldowns
    )


def test_a_scale_out_to_the_desired_count_is_not_a_scaling() -> None:
    """A scale-out proposal equal to the desired count changes nothing and starts
    no cooldown, even with no cooldown running."""
    view = TargetView(desired=5, running=5, bounds=Bounds(1, 10))
    decision = decide(view, [_signal("out", 5)], now=0.0)
    assert (decision.desired, decision.cooldowns) == (None, view.cooldowns)
    assert decision.skip is not None
    assert decision.skip.reason == ALREADY_AT_DESIRED


def test_the_first_of_equal_proposals_wins() -> None:
    """Two policies asking for the same capacity: the first one listed wins
    (its name and cause are the activity's)."""
    view = TargetView(desired=2, running=2, bounds=Bounds(1, 10))
    decision = decide(
        view, [_signal("out", 6, "first"), _signal("out", 6, "second")], now=0.0
    )
    assert decision.winner is not None
    assert decision.winner.policy == "first"
    skipped = decide(
        TargetView(desired=10, running=10, bounds=Bounds(1, 10)),
        [_signal("out", 12, "first"), _signal("out", 12, "second")],
        now=0.0,
    )
    assert skipped.skip is not None
    assert skipped.skip.policy == "first"


# ---- validation of settings, bounds and target tracking ------------------------------


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def test_the_smallest_valid_settings_are_accepted() -> None:
    """One datapoint, a scale-in fraction of exactly 1 and a zero (or short)
    default cooldown are valid settings."""
    settings = ScalingSettings(
        scale_out_datapoints=1,
        scale_in_datapoints=1,
        scale_in_fraction=1.0,
        default_cooldown_s=0.0,
    )
    assert settings.scale_in_fraction == 1.0
    assert ScalingSettings(default_cooldown_s=0.5).default_cooldown_s == 0.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"scale_out_datapoints": 0},
            "scale_out_datapoints: 0 must be an integer >= 1",
        ),
        ({"scale_in_fraction": 0.0}, "scale_in_fraction: 0.0 must be in (0, 1]"),
        ({"scale_in_fraction": 1.5}, "scale_in_fraction: 1.5 must be in (0, 1]"),
        ({"default_cooldown_s": -1.0}, "default_cooldown_s: -1.0 must be >= 0 seconds"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    """Each setting outside its range is refused, naming it and its value."""
    with pytest.raises(ScenarioError, match=_exactly(message)):
        ScalingSettings(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("low", "high"), [(-1, 5), (0, -1), (-2, -1)])
def test_negative_bounds_are_refused_either_way(low: int, high: int) -> None:
    """A negative MinCapacity or MaxCapacity is refused, naming both."""
    with pytest.raises(
        ScenarioError,
        match=_exactly(f"MinCapacity {low} and MaxCapacity {high} must be >= 0"),
    ):
        Bounds(low, high)


@pytest.mark.parametrize("target", [0.0, -1.0, math.inf, -math.inf, math.nan])
def test_a_target_value_must_be_a_positive_number(target: float) -> None:
    """TargetValue must be finite and above zero."""
    with pytest.raises(
        ScenarioError, match=_exactly(f"TargetValue: {target!r} must be > 0")
    ):
        TargetTracking(target_value=target)


def test_small_targets_and_zero_cooldowns_are_valid() -> None:
    """A target below 1 (a fraction of a metric) and cooldowns of 0 or under a
    second are valid."""
    policy = TargetTracking(
        target_value=0.5, scale_out_cooldown_s=0.0, scale_in_cooldown_s=0.5
    )
    assert (policy.target_value, policy.scale_out_cooldown_s) == (0.5, 0.0)


@pytest.mark.parametrize("name", ["scale_out_cooldown_s", "scale_in_cooldown_s"])
def test_a_negative_cooldown_is_refused_by_name(name: str) -> None:
    """A negative cooldown is refused, naming the cooldown and its value."""
    with pytest.raises(ScenarioError, match=_exactly(f"{name}: -1.0 must be >= 0")):
        TargetTracking(target_value=50.0, **{name: -1.0})  # type: ignore[arg-type]


def test_float_noise_below_a_billionth_is_not_a_task() -> None:
    """The ratio is tidied to 9 decimals before rounding up: 2 tasks and a
    ten-billionth is 2 tasks, 2 and a hundred-millionth is 3."""
    assert target_tracking_capacity(1, 2.0000000002, 1.0) == 2
    assert target_tracking_capacity(1, 2.00000001, 1.0) == 3
