"""Service Auto Scaling rules: pure functions of (state, input, now).

This module owns the arithmetic and decisions of Application Auto Scaling for
ECS services and of the CloudWatch alarms that drive it
(``reference/ecs-semantics.md`` §8, DESIGN §4):

* alarm evaluation over a window of datapoints (M of N, ``TreatMissingData``);
* target tracking: ``ceil(running x metric / target)``, scale-out from zero;
* step scaling: choosing the step by breach size, ``ChangeInCapacity`` /
  ``ExactCapacity`` / ``PercentChangeInCapacity`` with AWS's rounding and
  ``MinAdjustmentMagnitude``;
* cooldowns, suspension, deployments and the combination of several policies
  into one decision (:func:`decide`);
* clamping into ``[MinCapacity, MaxCapacity]`` and scheduled min/max changes;
* schedule expressions (``at()``, ``rate()``, 6-field AWS ``cron()``) and their
  next fire time.

No SimPy, no pandas, no clock: callers pass the time in. Where AWS is silent the
choice is stated next to the rule.

Decisions the simulator makes (all documented in :func:`decide`):

* The base of every computation is the service's RUNNING count, as AWS
  documents, never the desired count. While protected tasks keep a service
  above its desired count, a scale-in proposal computed from that running count
  is usually at or above the desired count already: it is *skipped*
  (``RunningAboveDesiredCount``), never applied as an increase, and because the
  proposal depends only on (running, metric) it does not ratchet the desired
  count down a step per evaluation while the surplus persists. A scale-in that
  is genuinely lower than the desired count (the metric fell) still applies.
* Skips are reported as :class:`Skip` values; the process layer records each
  skip once per change of reason, not once a minute.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Literal

from ecssim.errors import ScenarioError
from ecssim.rules.alarms import AlarmState, aggregate

# ---- settings ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ScalingSettings:
    """The knobs of Service Auto Scaling that AWS does not document (DESIGN §4).

    Attributes:
        scale_out_datapoints: datapoints (M of M, 1 minute each) above the target
            before a target-tracking policy scales out (AlarmHigh).
        scale_in_datapoints: datapoints (M of M) below ``scale_in_fraction`` x
            target before a target-tracking policy scales in (AlarmLow).
        scale_in_fraction: the AlarmLow threshold as a fraction of the target.
        default_cooldown_s: cooldown when a policy does not give one.
    """

    scale_out_datapoints: int = 3
    scale_in_datapoints: int = 15
    scale_in_fraction: float = 0.9
    default_cooldown_s: float = 300.0

    def __post_init__(self) -> None:
        for name in ("scale_out_datapoints", "scale_in_datapoints"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ScenarioError(f"{name}: {value!r} must be an integer >= 1")
        if not 0 < self.scale_in_fraction <= 1:
            raise ScenarioError(
                f"scale_in_fraction: {self.scale_in_fraction!r} must be in (0, 1]"
            )
        if not self.default_cooldown_s >= 0:
            raise ScenarioError(
                f"default_cooldown_s: {self.default_cooldown_s!r} must be >= 0 seconds"
            )


# ---- bounds, suspension, cooldowns --------------------------------------------


@dataclass(frozen=True, slots=True)
class Bounds:
    """``MinCapacity`` and ``MaxCapacity`` of a scalable target."""

    min_capacity: int
    max_capacity: int

    def __post_init__(self) -> None:
        if self.min_capacity < 0 or self.max_capacity < 0:
            raise ScenarioError(
                f"MinCapacity {self.min_capacity} and MaxCapacity "
                f"{self.max_capacity} must be >= 0"
            )
        if self.min_capacity > self.max_capacity:
            raise ScenarioError(
                f"MinCapacity {self.min_capacity} is above MaxCapacity "
                f"{self.max_capacity}"
            )

    def clamp(self, capacity: int) -> int:
        """*capacity* moved into ``[min_capacity, max_capacity]``."""
        return min(self.max_capacity, max(self.min_capacity, capacity))


def scheduled_bounds(
    bounds: Bounds, min_capacity: int | None, max_capacity: int | None
) -> Bounds:
    """The bounds after a scheduled action sets *min_capacity* / *max_capacity*.

    A scheduled action that gives only one of them and would cross the other
    drags the other along (AWS does not say; ecssim keeps the target valid).
    """
    low = bounds.min_capacity if min_capacity is None else min_capacity
    high = bounds.max_capacity if max_capacity is None else max_capacity
    if low > high:
        if max_capacity is None:
            high = low
        else:
            low = high
    return Bounds(low, high)


@dataclass(frozen=True, slots=True, kw_only=True)
class Suspension:
    """``SuspendedState`` of a scalable target."""

    dynamic_in: bool = False
    dynamic_out: bool = False
    scheduled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Cooldowns:
    """The cooldowns in force on one scalable target.

    Attributes:
        scale_out_until_s: end of the scale-out cooldown, None when none runs.
        scale_out_capacity: the capacity the in-flight scale-out set; a further
            scale-out during the cooldown must exceed it.
        scale_out_base: the capacity the in-flight scale-out started from; step
            scale-outs during the cooldown start from it too, so the capacity it
            added counts toward the next one.
        scale_in_until_s: end of the scale-in cooldown, None when none runs.
    """

    scale_out_until_s: float | None = None
    scale_out_capacity: int = 0
    scale_out_base: int = 0
    scale_in_until_s: float | None = None

    def scale_out_active(self, now: float) -> bool:
        """Whether a scale-out cooldown is running at *now*."""
        return self.scale_out_until_s is not None and now < self.scale_out_until_s

    def scale_in_active(self, now: float) -> bool:
        """Whether a scale-in cooldown is running at *now*."""
        return self.scale_in_until_s is not None and now < self.scale_in_until_s


NO_COOLDOWNS: Final = Cooldowns()

# ---- policies ------------------------------------------------------------------

Direction = Literal["out", "in"]
PolicyKind = Literal["TargetTrackingScaling", "StepScaling"]
ADJUSTMENT_TYPES: Final = (
    "ChangeInCapacity",
    "ExactCapacity",
    "PercentChangeInCapacity",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetTracking:
    """A target-tracking policy's configuration."""

    target_value: float
    scale_out_cooldown_s: float = 300.0
    scale_in_cooldown_s: float = 300.0
    disable_scale_in: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.target_value) and self.target_value > 0):
            raise ScenarioError(f"TargetValue: {self.target_value!r} must be > 0")
        for name in ("scale_out_cooldown_s", "scale_in_cooldown_s"):
            if not getattr(self, name) >= 0:
                raise ScenarioError(f"{name}: {getattr(self, name)!r} must be >= 0")


@dataclass(frozen=True, slots=True)
class StepAdjustment:
    """One step: bounds relative to the alarm threshold, and the adjustment."""

    lower_bound: float | None
    upper_bound: float | None
    scaling_adjustment: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StepScaling:
    """A step scaling policy's configuration."""

    adjustment_type: str
    step_adjustments: tuple[StepAdjustment, ...]
    min_adjustment_magnitude: int | None = None
    cooldown_s: float = 300.0
    metric_aggregation: str = "Average"

    def __post_init__(self) -> None:
        if self.adjustment_type not in ADJUSTMENT_TYPES:
            raise ScenarioError(
                f"AdjustmentType: {self.adjustment_type!r} is not one of "
                f"{', '.join(ADJUSTMENT_TYPES)}"
            )
        check_step_adjustments(self.step_adjustments)
        if self.min_adjustment_magnitude is not None:
            if self.adjustment_type != "PercentChangeInCapacity":
                raise ScenarioError(
                    "MinAdjustmentMagnitude: only valid with AdjustmentType "
                    f"PercentChangeInCapacity, got {self.adjustment_type!r}"
                )
            if self.min_adjustment_magnitude < 1:
                raise ScenarioError(
                    f"MinAdjustmentMagnitude: {self.min_adjustment_magnitude} "
                    "must be >= 1"
                )
        if self.adjustment_type == "ExactCapacity" and any(
            s.scaling_adjustment < 0 for s in self.step_adjustments
        ):
            raise ScenarioError(
                "ScalingAdjustment: ExactCapacity adjustments must be >= 0"
            )
        if not self.cooldown_s >= 0:
            raise ScenarioError(f"Cooldown: {self.cooldown_s!r} must be >= 0")
        aggregate([0.0], self.metric_aggregation)  # validates the name


def check_step_adjustments(steps: Sequence[StepAdjustment]) -> None:
    """Raise unless *steps* are valid: no overlap, no gap, open ends where needed.

    Raises:
        ScenarioError: naming the offending step and bound.
    """
    if not steps:
        raise ScenarioError("StepAdjustments: at least one step adjustment is required")
    for step in steps:
        low, high = step.lower_bound, step.upper_bound
        if low is None and high is None:
            raise ScenarioError(
                "StepAdjustments: a step cannot have both bounds null "
                f"(adjustment {step.scaling_adjustment})"
            )
        if low is not None and high is not None and not low < high:
            raise ScenarioError(
                f"StepAdjustments: lower bound {low:g} must be below upper bound {high:g}"
            )
    if sum(1 for s in steps if s.lower_bound is None) > 1:
        raise ScenarioError(
            "StepAdjustments: only one step can have a null lower bound"
        )
    if sum(1 for s in steps if s.upper_bound is None) > 1:
        raise ScenarioError(
            "StepAdjustments: only one step can have a null upper bound"
        )
    ordered = sorted(
        steps, key=lambda s: -math.inf if s.lower_bound is None else s.lower_bound
    )
    for before, after in itertools.pairwise(ordered):
        if before.upper_bound != after.lower_bound:
            raise ScenarioError(
                "StepAdjustments: steps must not overlap or leave a gap; "
                f"upper bound {before.upper_bound} is followed by lower bound "
                f"{after.lower_bound}"
            )
    first, last = ordered[0], ordered[-1]
    if first.lower_bound is not None and first.lower_bound < 0:
        raise ScenarioError(
            f"StepAdjustments: lower bound {first.lower_bound:g} is negative, so a "
            "step with a null lower bound is required"
        )
    if last.upper_bound is not None and last.upper_bound > 0:
        raise ScenarioError(
            f"StepAdjustments: upper bound {last.upper_bound:g} is positive, so a "
            "step with a null upper bound is required"
        )


def select_step(
    steps: Sequence[StepAdjustment], value: float, threshold: float
) -> StepAdjustment | None:
    """The step whose interval holds ``value - threshold``, or None.

    Above the threshold the lower bound is inclusive and the upper exclusive;
    below it the lower bound is exclusive and the upper inclusive (AWS).
    """
    diff = value - threshold
    for step in steps:
        low = -math.inf if step.lower_bound is None else step.lower_bound
        high = math.inf if step.upper_bound is None else step.upper_bound
        if diff >= 0:
            if low <= diff < high:
                return step
        elif low < diff <= high:
            return step
    return None


def _tidy(x: float) -> float:
    """*x* with float noise removed before rounding (3 x 0.7 / 0.7 is 3)."""
    return round(x, 9)


def percent_change(current: int, percent: int) -> int:
    """The task change of ``PercentChangeInCapacity``, rounded as AWS documents.

    Above 1 rounds down, between 0 and 1 becomes 1, between -1 and 0 becomes
    -1, below -1 rounds up (towards zero).
    """
    raw = _tidy(current * percent / 100)
    if raw > 0:
        return max(1, math.floor(raw))
    if raw < 0:
        return min(-1, math.ceil(raw))
    return 0


def step_capacity(base: int, policy: StepScaling, adjustment: int) -> int:
    """The capacity a step *adjustment* asks for, starting from *base* tasks.

    ``MinAdjustmentMagnitude`` (PercentChangeInCapacity only) raises a smaller
    non-zero change to that many tasks, in the adjustment's direction. The
    result is not clamped (see :meth:`Bounds.clamp`) but never negative.
    """
    if policy.adjustment_type == "ExactCapacity":
        return max(0, adjustment)
    if policy.adjustment_type == "ChangeInCapacity":
        return max(0, base + adjustment)
    change = percent_change(base, adjustment)
    magnitude = policy.min_adjustment_magnitude
    if magnitude is not None and adjustment != 0 and abs(change) < magnitude:
        change = magnitude if adjustment > 0 else -magnitude
    return max(0, base + change)


def target_tracking_capacity(running: int, metric: float, target: float) -> int:
    """``ceil(running x metric / target)``: the capacity that brings the metric
    back to the target, rounded up (conservative in both directions).

    Raises:
        ScenarioError: a negative running count or a target that is not > 0.
    """
    if running < 0:
        raise ScenarioError(f"running count {running} is negative")
    if not target > 0:
        raise ScenarioError(f"TargetValue: {target!r} must be > 0")
    return max(0, math.ceil(_tidy(running * metric / target)))


# ---- signals and the decision ---------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """What one policy asks for at one evaluation.

    Attributes:
        policy: the policy's name.
        kind: ``TargetTrackingScaling`` or ``StepScaling``.
        direction: ``out``, ``in``, or None when the policy does not want to
            scale (a target-tracking policy still votes on scale-in then).
        capacity: the capacity asked for, before clamping.
        base: the capacity the computation started from.
        cooldown_s: the cooldown the activity starts if it wins.
        cause: why (``monitor alarm X in state ALARM triggered policy Y``).
        votes_on_scale_in: a target-tracking policy with scale-in enabled;
            scale-in by target tracking needs all of these to ask for it.
    """

    policy: str
    kind: PolicyKind
    direction: Direction | None
    capacity: int = 0
    base: int = 0
    cooldown_s: float = 300.0
    cause: str = ""
    votes_on_scale_in: bool = False


def target_tracking_signal(
    policy: str,
    config: TargetTracking,
    *,
    running: int,
    latest: float | None,
    high: AlarmState,
    low: AlarmState | None,
    cause_high: str = "",
    cause_low: str = "",
) -> Signal:
    """What a target-tracking policy asks for, given its alarms and metric.

    * AlarmHigh in ALARM: scale out to ``ceil(running x latest / target)``.
    * Running count 0 and the latest datapoint above the target: demand with
      no capacity; scale out to 1 after that single datapoint (clamping lifts it
      to MinCapacity) without waiting for AlarmHigh.
    * AlarmLow in ALARM (scale-in enabled): scale in to the same formula.

    *latest* is the newest datapoint of the metric (None when it has none:
    no scaling on missing data).
    """
    votes = not config.disable_scale_in
    target = config.target_value
    # each signal made at once (not a quiet one replaced): this runs every minute
    if latest is not None and running == 0 and latest > target:
        direction: Direction | None = "out"
        capacity, base = 1, 0
        cooldown_s, cause = config.scale_out_cooldown_s, cause_high
    elif latest is not None and high == "ALARM":
        direction = "out"
        capacity, base = target_tracking_capacity(running, latest, target), running
        cooldown_s, cause = config.scale_out_cooldown_s, cause_high
    elif latest is not None and low == "ALARM" and votes:
        direction = "in"
        capacity, base = target_tracking_capacity(running, latest, target), running
        cooldown_s, cause = config.scale_in_cooldown_s, cause_low
    else:  # no data, or no alarm asking: no scaling, but the vote on scale-in
        return Signal(
            policy=policy,
            kind="TargetTrackingScaling",
            direction=None,
            votes_on_scale_in=votes,
        )
    return Signal(
        policy=policy,
        kind="TargetTrackingScaling",
        direction=direction,
        capacity=capacity,
        base=base,
        cooldown_s=cooldown_s,
        cause=cause,
        votes_on_scale_in=votes,
    )


def step_signal(
    policy: str,
    config: StepScaling,
    *,
    value: float,
    threshold: float,
    running: int,
    desired: int,
    cooldowns: Cooldowns,
    now: float,
    cause: str = "",
) -> Signal | None:
    """What a step policy asks for when its alarm is in ALARM, or None when no
    step matches or the step's adjustment is zero.

    *value* is the alarm's recent datapoints aggregated with the policy's
    ``MetricAggregationType``. The base is the running count, or during a
    scale-out cooldown the base of the in-flight scale-out, so "the capacity
    added by the initiating scale-out counts toward the next one".
    """
    step = select_step(config.step_adjustments, value, threshold)
    if step is None:
        return None
    adjustment = step.scaling_adjustment
    if config.adjustment_type == "ExactCapacity":
        capacity = step_capacity(running, config, adjustment)
        if capacity == desired:
            return None
        direction: Direction = "out" if capacity > desired else "in"
        base = running
    else:
        if adjustment == 0:
            return None
        direction = "out" if adjustment > 0 else "in"
        base = running
        if direction == "out" and cooldowns.scale_out_active(now):
            base = cooldowns.scale_out_base
        capacity = step_capacity(base, config, adjustment)
    return Signal(
        policy=policy,
        kind="StepScaling",
        direction=direction,
        capacity=capacity,
        base=base,
        cooldown_s=config.cooldown_s,
        cause=cause,
    )


ALREADY_AT_MAX: Final = "AlreadyAtMaxCapacity"
ALREADY_AT_MIN: Final = "AlreadyAtMinCapacity"
ALREADY_AT_DESIRED: Final = "AlreadyAtDesiredCapacity"
RUNNING_ABOVE_DESIRED: Final = "RunningAboveDesiredCount"
SCALE_OUT_COOLDOWN: Final = "ScaleOutCooldown"
SCALE_IN_COOLDOWN: Final = "ScaleInCooldown"
DEPLOYMENT_IN_PROGRESS: Final = "DeploymentInProgress"
DYNAMIC_OUT_SUSPENDED: Final = "DynamicScalingOutSuspended"
DYNAMIC_IN_SUSPENDED: Final = "DynamicScalingInSuspended"
SCHEDULED_SUSPENDED: Final = "ScheduledScalingSuspended"

#: Skip reasons AWS reports as "not scaled" activities, and the code it uses.
NOT_SCALED_CODES: Final = {
    ALREADY_AT_MAX: "AlreadyAtMaxCapacity",
    ALREADY_AT_MIN: "AlreadyAtMinCapacity",
    ALREADY_AT_DESIRED: "AlreadyAtDesiredCapacity",
    RUNNING_ABOVE_DESIRED: "AlreadyAtDesiredCapacity",
    DEPLOYMENT_IN_PROGRESS: "TargetServicePutResourceAsUnscalable",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetView:
    """What a decision needs to know about one scalable target and its service."""

    desired: int
    running: int
    bounds: Bounds
    suspension: Suspension = field(default_factory=Suspension)
    cooldowns: Cooldowns = NO_COOLDOWNS
    deployment_in_progress: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Skip:
    """A scaling the policies asked for that did not happen, and why."""

    direction: Direction
    reason: str
    policy: str
    proposed: int
    cause: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The outcome of one evaluation of a scalable target's policies.

    Attributes:
        desired: the new desired count, None to leave it as it is.
        direction: the direction of the change, None when nothing changes.
        winner: the signal that won.
        skip: what was asked for and did not happen, if anything.
        cooldowns: the cooldowns in force afterwards.
    """

    desired: int | None
    direction: Direction | None
    winner: Signal | None
    skip: Skip | None
    cooldowns: Cooldowns


def _largest(signals: Sequence[Signal]) -> Signal:
    """The signal with the largest capacity (the first one on a tie)."""
    best = signals[0]
    for signal in signals[1:]:
        if signal.capacity > best.capacity:
            best = signal
    return best


def decide(view: TargetView, signals: Sequence[Signal], now: float) -> Decision:
    """Combine the policies' signals into one scaling decision at *now*.

    The rules, in order (``reference/ecs-semantics.md`` §8):

    1. Scale out if any policy asks to (availability first); the largest
       capacity wins. It must be above the desired count after clamping (so a
       desired count set below MinCapacity first jumps to MinCapacity). During
       a scale-out cooldown it must also exceed the capacity the in-flight
       scale-out set. A scale-out ends any scale-in cooldown and starts its own
       scale-out cooldown. It runs during deployments.
    2. Otherwise scale in if every target-tracking policy with scale-in enabled
       asks to (all AlarmLow in ALARM), or any step policy asks to (step
       scale-in is not blocked by target tracking); the largest capacity wins.
       It must be below the desired count after clamping (so a desired count
       above MaxCapacity first drops to MaxCapacity). Scale-in waits for the
       scale-in cooldown, and is suspended while a deployment is in progress.
    3. ``DynamicScalingOutSuspended`` / ``DynamicScalingInSuspended`` turn the
       direction off.

    A proposal computed from the running count while protected tasks hold the
    service above its desired count is skipped with ``RunningAboveDesiredCount``
    instead of raising the desired count: see the module docstring.
    """
    bounds, desired, cooldowns = view.bounds, view.desired, view.cooldowns

    def skip(direction: Direction, reason: str, winner: Signal) -> Decision:
        return Decision(
            desired=None,
            direction=None,
            winner=None,
            skip=Skip(
                direction=direction,
                reason=reason,
                policy=winner.policy,
                proposed=winner.capacity,
                cause=winner.cause,
            ),
            cooldowns=cooldowns,
        )

    outs = [s for s in signals if s.direction == "out"]
    if outs:
        winner = _largest(outs)
        if view.suspension.dynamic_out:
            return skip("out", DYNAMIC_OUT_SUSPENDED, winner)
        new = bounds.clamp(winner.capacity)
        if new <= desired:
            reason = (
                ALREADY_AT_MAX if desired >= bounds.max_capacity else ALREADY_AT_DESIRED
            )
            return skip("out", reason, winner)
        if cooldowns.scale_out_active(now) and new <= cooldowns.scale_out_capacity:
            return skip("out", SCALE_OUT_COOLDOWN, winner)
        return Decision(
            desired=new,
            direction="out",
            winner=winner,
            skip=None,
            cooldowns=Cooldowns(
                scale_out_until_s=now + winner.cooldown_s,
                scale_out_capacity=new,
                scale_out_base=winner.base,
                scale_in_until_s=None,
            ),
        )

    voters = [s for s in signals if s.votes_on_scale_in]
    tracking_ready = bool(voters) and all(s.direction == "in" for s in voters)
    ins = [
        s
        for s in signals
        if s.direction == "in" and (s.kind == "StepScaling" or tracking_ready)
    ]
    if not ins:
        return Decision(
            desired=None, direction=None, winner=None, skip=None, cooldowns=cooldowns
        )
    winner = _largest(ins)
    if view.suspension.dynamic_in:
        return skip("in", DYNAMIC_IN_SUSPENDED, winner)
    if view.deployment_in_progress:
        return skip("in", DEPLOYMENT_IN_PROGRESS, winner)
    if cooldowns.scale_in_active(now):
        return skip("in", SCALE_IN_COOLDOWN, winner)
    new = bounds.clamp(winner.capacity)
    if new >= desired:
        if desired <= bounds.min_capacity:
            reason = ALREADY_AT_MIN
        elif view.running > desired:
            reason = RUNNING_ABOVE_DESIRED
        else:
            reason = ALREADY_AT_DESIRED
        return skip("in", reason, winner)
    return Decision(
        desired=new,
        direction="in",
        winner=winner,
        skip=None,
        cooldowns=replace(cooldowns, scale_in_until_s=now + winner.cooldown_s),
    )
