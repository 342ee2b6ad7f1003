"""The pure Service Auto Scaling rules of ``ecssim.rules.scaling``.

Alarm evaluation, target-tracking and step arithmetic (the AWS documentation's
own examples), cooldowns, policy combination, bounds, deployments and
suspension, the protected-surplus rule, and schedule expressions; hypothesis
checks that a decision never leaves ``[min, max]`` and never scales in during a
deployment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.errors import ScenarioError
from ecssim.rules.alarms import aggregate, breaches, evaluate_alarm
from ecssim.rules.scaling import (
    Bounds,
    Cooldowns,
    Decision,
    ScalingSettings,
    Signal,
    StepAdjustment,
    StepScaling,
    Suspension,
    TargetTracking,
    TargetView,
    check_step_adjustments,
    decide,
    percent_change,
    scheduled_bounds,
    select_step,
    step_capacity,
    step_signal,
    target_tracking_capacity,
    target_tracking_signal,
)
from ecssim.rules.schedules import (
    AtSchedule,
    CronSchedule,
    RateSchedule,
    next_fire,
    parse_schedule,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday


def _out(policy: str, capacity: int, cooldown_s: float = 300.0) -> Signal:
    return Signal(
        policy=policy,
        kind="TargetTrackingScaling",
        direction="out",
        capacity=capacity,
        cooldown_s=cooldown_s,
        votes_on_scale_in=True,
    )


def _tt_in(policy: str, capacity: int) -> Signal:
    return Signal(
        policy=policy,
        kind="TargetTrackingScaling",
        direction="in",
        capacity=capacity,
        votes_on_scale_in=True,
    )


def _tt_quiet(policy: str) -> Signal:
    return Signal(
        policy=policy,
        kind="TargetTrackingScaling",
        direction=None,
        votes_on_scale_in=True,
    )


def _step_in(policy: str, capacity: int) -> Signal:
    return Signal(policy=policy, kind="StepScaling", direction="in", capacity=capacity)


def _reason(decision: Decision) -> str | None:
    """The skip reason of *decision*, None when nothing was skipped."""
    return None if decision.skip is None else decision.skip.reason


def _view(desired: int, running: int | None = None, **kwargs: object) -> TargetView:
    params: dict[str, object] = {
        "desired": desired,
        "running": desired if running is None else running,
        "bounds": Bounds(1, 10),
    }
    params.update(kwargs)
    return TargetView(**params)  # type: ignore[arg-type]


# ---- settings ----------------------------------------------------------------
def test_settings_default_to_the_documented_alarm_shapes() -> None:
    """The defaults are 3 of 3 above target, 15 of 15 below 90 %, 300 s cooldowns."""
    settings = ScalingSettings()
    assert (settings.scale_out_datapoints, settings.scale_in_datapoints) == (3, 15)
    assert settings.scale_in_fraction == 0.9
    assert settings.default_cooldown_s == 300.0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("scale_out_datapoints", 0, "scale_out_datapoints: 0 must be an integer >= 1"),
        ("scale_in_datapoints", 2.5, "scale_in_datapoints: 2.5 must be an integer"),
        ("scale_in_fraction", 1.5, "scale_in_fraction: 1.5 must be in (0, 1]"),
        ("default_cooldown_s", -1.0, "default_cooldown_s: -1.0 must be >= 0"),
    ],
)
def test_settings_reject_bad_values_naming_the_field(
    field: str, value: object, message: str
) -> None:
    """A bad knob raises ScenarioError naming the field and the value."""
    with pytest.raises(
        ScenarioError, match=message.replace("(", r"\(").replace("]", r"\]")
    ):
        ScalingSettings(**{field: value})  # type: ignore[arg-type]


# ---- alarms ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("comparison", "expected"),
    [
        ("GreaterThanThreshold", [False, False, True]),
        ("GreaterThanOrEqualToThreshold", [False, True, True]),
        ("LessThanThreshold", [True, False, False]),
        ("LessThanOrEqualToThreshold", [True, True, False]),
    ],
)
def test_breaches_follows_the_comparison_operator(
    comparison: str, expected: list[bool]
) -> None:
    """Each comparison operator treats a value equal to the threshold as documented."""
    assert [breaches(v, comparison, 50.0) for v in (40.0, 50.0, 60.0)] == expected


def test_alarm_needs_m_breaching_datapoints_of_n() -> None:
    """3 of 3 datapoints above the threshold is ALARM; 2 of 3 is OK."""
    high = {"comparison": "GreaterThanThreshold", "threshold": 50.0}
    assert evaluate_alarm([60, 70, 80], datapoints_to_alarm=3, **high) == "ALARM"  # type: ignore[arg-type]
    assert evaluate_alarm([40, 70, 80], datapoints_to_alarm=3, **high) == "OK"  # type: ignore[arg-type]
    assert evaluate_alarm([40, 70, 80], datapoints_to_alarm=2, **high) == "ALARM"  # type: ignore[arg-type]


def test_alarm_without_data_is_insufficient_and_missing_never_breaches() -> None:
    """No datapoint gives INSUFFICIENT_DATA; missing data is not low utilisation."""
    low = {
        "comparison": "LessThanThreshold",
        "threshold": 45.0,
        "datapoints_to_alarm": 3,
    }
    assert evaluate_alarm([None, None, None], **low) == "INSUFFICIENT_DATA"  # type: ignore[arg-type]
    assert evaluate_alarm([None, 10.0, None], **low) == "OK"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("treat", "previous", "expected"),
    [
        ("missing", "ALARM", "INSUFFICIENT_DATA"),
        ("ignore", "ALARM", "ALARM"),
        ("breaching", "OK", "ALARM"),
        ("notBreaching", "ALARM", "OK"),
    ],
)
def test_treat_missing_data_decides_a_window_without_data(
    treat: str, previous: str, expected: str
) -> None:
    """TreatMissingData turns an empty window into the documented state."""
    state = evaluate_alarm(
        [None, None],
        comparison="GreaterThanThreshold",
        threshold=1.0,
        datapoints_to_alarm=2,
        treat_missing_data=treat,
        previous=previous,  # type: ignore[arg-type]
    )
    assert state == expected


def test_aggregate_uses_present_values_only() -> None:
    """MetricAggregationType aggregates the datapoints that exist."""
    values = [None, 10.0, 30.0]
    assert (aggregate(values, "Average"), aggregate(values, "Minimum")) == (20.0, 10.0)
    assert aggregate(values, "Maximum") == 30.0
    assert aggregate([None], "Average") is None


# ---- target tracking -----------------------------------------------------------
@pytest.mark.parametrize(
    ("running", "metric", "target", "capacity"),
    [
        (2, 90.0, 50.0, 4),
        (3, 75.0, 50.0, 5),
        (10, 20.0, 50.0, 4),
        (3, 0.7, 0.7, 3),
        (0, 90, 50, 0),
    ],
)
def test_target_tracking_capacity_rounds_up(
    running: int, metric: float, target: float, capacity: int
) -> None:
    """New capacity is ceil(running x metric / target), without float noise."""
    assert target_tracking_capacity(running, metric, target) == capacity


def test_target_tracking_signal_follows_its_alarms() -> None:
    """AlarmHigh asks to scale out, AlarmLow to scale in, both from the running count."""
    config = TargetTracking(target_value=50.0)
    kwargs = {"running": 4, "latest": 90.0}
    out = target_tracking_signal("cpu", config, high="ALARM", low="OK", **kwargs)  # type: ignore[arg-type]
    assert (out.direction, out.capacity, out.base) == ("out", 8, 4)
    low = target_tracking_signal(
        "cpu", config, running=4, latest=20.0, high="OK", low="ALARM"
    )
    assert (low.direction, low.capacity, low.cooldown_s) == ("in", 2, 300.0)
    quiet = target_tracking_signal(
        "cpu", config, running=4, latest=48.0, high="OK", low="OK"
    )
    assert (quiet.direction, quiet.votes_on_scale_in) == (None, True)


def test_disable_scale_in_neither_scales_in_nor_votes() -> None:
    """A policy with DisableScaleIn never asks to scale in and does not block others."""
    config = TargetTracking(target_value=50.0, disable_scale_in=True)
    signal = target_tracking_signal(
        "cpu", config, running=4, latest=1.0, high="OK", low="ALARM"
    )
    assert (signal.direction, signal.votes_on_scale_in) == (None, False)


def test_no_data_means_no_scaling() -> None:
    """Without a datapoint a target-tracking policy asks for nothing."""
    config = TargetTracking(target_value=50.0)
    signal = target_tracking_signal(
        "cpu", config, running=4, latest=None, high="ALARM", low=None
    )
    assert signal.direction is None


def test_scale_out_from_zero_after_one_datapoint() -> None:
    """With no running task and demand in the latest datapoint, ask for 1 task at once."""
    config = TargetTracking(target_value=10.0)
    signal = target_tracking_signal(
        "backlog", config, running=0, latest=40.0, high="INSUFFICIENT_DATA", low=None
    )
    assert (signal.direction, signal.capacity) == ("out", 1)
    view = _view(0, bounds=Bounds(2, 10))
    assert decide(view, [signal], 0.0).desired == 2


# ---- step scaling (the AAS user guide's worked example) ----------------------------
OUT_STEPS = (
    StepAdjustment(0.0, 10.0, 0),
    StepAdjustment(10.0, 20.0, 10),
    StepAdjustment(20.0, None, 30),
)
IN_STEPS = (
    StepAdjustment(-10.0, 0.0, 0),
    StepAdjustment(-20.0, -10.0, -10),
    StepAdjustment(None, -20.0, -30),
)


@pytest.mark.parametrize(
    ("steps", "value", "adjustment"),
    [
        (OUT_STEPS, 55.0, 0),
        (OUT_STEPS, 60.0, 10),  # lower bound inclusive above the threshold
        (OUT_STEPS, 70.0, 30),
        (IN_STEPS, 45.0, 0),
        (IN_STEPS, 40.0, -10),  # upper bound inclusive below the threshold
        (IN_STEPS, 30.0, -30),
    ],
)
def test_select_step_by_breach_size(
    steps: tuple[StepAdjustment, ...], value: float, adjustment: int
) -> None:
    """The step whose interval holds metric - threshold (threshold 50) applies."""
    step = select_step(steps, value, 50.0)
    assert step is not None
    assert step.scaling_adjustment == adjustment


@pytest.mark.parametrize(
    ("current", "percent", "change"),
    [
        (10, 10, 1),
        (11, 30, 3),
        (14, -10, -1),
        (13, -30, -3),
        (3, 20, 1),
        (3, -20, -1),
        (0, 50, 0),
    ],
)
def test_percent_change_rounds_as_documented(
    current: int, percent: int, change: int
) -> None:
    """Above 1 rounds down, (0, 1) becomes 1, (-1, 0) becomes -1, below -1 rounds up."""
    assert percent_change(current, percent) == change


def test_step_capacity_by_adjustment_type() -> None:
    """ChangeInCapacity adds, ExactCapacity sets, percent obeys MinAdjustmentMagnitude."""
    steps = (StepAdjustment(0.0, None, 5),)
    change = StepScaling(adjustment_type="ChangeInCapacity", step_adjustments=steps)
    exact = StepScaling(adjustment_type="ExactCapacity", step_adjustments=steps)
    percent = StepScaling(
        adjustment_type="PercentChangeInCapacity",
        step_adjustments=steps,
        min_adjustment_magnitude=2,
    )
    assert step_capacity(3, change, 5) == 8
    assert step_capacity(3, exact, 5) == 5
    assert step_capacity(4, percent, 25) == 6  # 25 % of 4 is 1, raised to 2
    assert step_capacity(2, change, -5) == 0


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((), "at least one step"),
        ((StepAdjustment(None, None, 1),), "both bounds null"),
        (
            (StepAdjustment(0.0, 10.0, 1), StepAdjustment(5.0, None, 2)),
            "overlap or leave a gap",
        ),
        (
            (StepAdjustment(0.0, 10.0, 1), StepAdjustment(20.0, None, 2)),
            "overlap or leave a gap",
        ),
        ((StepAdjustment(-5.0, None, 1),), "null lower bound is required"),
        ((StepAdjustment(0.0, 10.0, 1),), "null upper bound is required"),
        (
            (StepAdjustment(None, 0.0, 1), StepAdjustment(None, -5.0, 1)),
            "only one step",
        ),
    ],
)
def test_invalid_step_adjustments_are_rejected(
    steps: tuple[StepAdjustment, ...], message: str
) -> None:
    """Overlaps, gaps and missing open ends raise ScenarioError saying which."""
    with pytest.raises(ScenarioError, match=message):
        check_step_adjustments(steps)


def test_min_adjustment_magnitude_needs_percent_change() -> None:
    """MinAdjustmentMagnitude is only valid with PercentChangeInCapacity."""
    with pytest.raises(ScenarioError, match="MinAdjustmentMagnitude: only valid"):
        StepScaling(
            adjustment_type="ChangeInCapacity",
            step_adjustments=(StepAdjustment(0.0, None, 1),),
            min_adjustment_magnitude=2,
        )


def test_step_scale_out_during_cooldown_counts_the_in_flight_capacity() -> None:
    """During the cooldown of a +2 from 10, a +3 step adds only 1 (AAS example)."""
    config = StepScaling(
        adjustment_type="ChangeInCapacity",
        step_adjustments=(StepAdjustment(0.0, 10.0, 2), StepAdjustment(10.0, None, 3)),
    )
    first = step_signal(
        "up",
        config,
        value=55,
        threshold=50,
        running=10,
        desired=10,
        cooldowns=Cooldowns(),
        now=0,
    )
    assert first is not None
    done = decide(_view(10, bounds=Bounds(1, 20)), [first], 0.0)
    assert (done.desired, done.cooldowns.scale_out_base) == (12, 10)
    again = step_signal(
        "up",
        config,
        value=65,
        threshold=50,
        running=11,
        desired=12,
        cooldowns=done.cooldowns,
        now=60,
    )
    assert again is not None
    later = decide(
        _view(12, 11, bounds=Bounds(1, 20), cooldowns=done.cooldowns), [again], 60.0
    )
    assert later.desired == 13


# ---- decisions ----------------------------------------------------------------------
def test_scale_out_takes_the_largest_capacity_and_starts_a_cooldown() -> None:
    """Several scale-outs: the largest wins and its cooldown starts now."""
    decision = decide(_view(2), [_out("cpu", 4, 120.0), _out("mem", 6, 60.0)], 100.0)
    assert (decision.desired, decision.direction) == (6, "out")
    assert decision.winner is not None
    assert decision.winner.policy == "mem"
    assert decision.cooldowns.scale_out_until_s == 160.0
    assert decision.cooldowns.scale_out_capacity == 6


def test_scale_out_cooldown_allows_only_a_larger_scale_out() -> None:
    """During a scale-out cooldown a scale-out must exceed the in-flight capacity."""
    cooling = Cooldowns(scale_out_until_s=400.0, scale_out_capacity=6, scale_out_base=2)
    view = _view(4, cooldowns=cooling)  # desired lowered by hand during the cooldown
    skipped = decide(view, [_out("cpu", 6)], 200.0)
    assert skipped.desired is None
    assert _reason(skipped) == "ScaleOutCooldown"
    assert decide(view, [_out("cpu", 7)], 200.0).desired == 7
    assert decide(view, [_out("cpu", 6)], 400.0).desired == 6


def test_scale_in_cooldown_blocks_scale_in_but_not_scale_out() -> None:
    """Scale-in waits for its cooldown; a scale-out goes at once and ends it."""
    cooling = Cooldowns(scale_in_until_s=500.0)
    blocked = decide(_view(6, cooldowns=cooling), [_tt_in("cpu", 3)], 200.0)
    assert _reason(blocked) == "ScaleInCooldown"
    out = decide(_view(6, cooldowns=cooling), [_out("cpu", 8)], 200.0)
    assert out.desired == 8
    assert out.cooldowns.scale_in_until_s is None
    assert decide(_view(6, cooldowns=cooling), [_tt_in("cpu", 3)], 500.0).desired == 3


def test_scale_in_needs_every_target_tracking_policy() -> None:
    """Target tracking scales in only when all its scale-in voters ask to."""
    assert decide(_view(6), [_tt_in("cpu", 3), _tt_quiet("mem")], 0.0).desired is None
    both = decide(_view(6), [_tt_in("cpu", 3), _tt_in("mem", 4)], 0.0)
    assert (both.desired, both.direction) == (4, "in")


def test_scale_out_wins_over_scale_in() -> None:
    """When one policy wants out and another in, availability wins."""
    assert decide(_view(6), [_tt_in("cpu", 3), _out("mem", 7)], 0.0).desired == 7


def test_step_scale_in_is_not_blocked_by_target_tracking() -> None:
    """A step scale-in applies even when target tracking is not ready to scale in."""
    decision = decide(_view(6), [_tt_quiet("cpu"), _step_in("steps", 5)], 0.0)
    assert (decision.desired, decision.direction) == (5, "in")


def test_desired_below_min_scale_out_jumps_to_min_and_scale_in_leaves_it() -> None:
    """Below MinCapacity a scale-out lands on at least min; a scale-in does nothing."""
    bounds = Bounds(3, 10)
    assert decide(_view(1, bounds=bounds), [_out("cpu", 2)], 0.0).desired == 3
    skipped = decide(_view(1, bounds=bounds), [_tt_in("cpu", 0)], 0.0)
    assert _reason(skipped) == "AlreadyAtMinCapacity"


def test_desired_above_max_scale_in_drops_to_max_and_scale_out_leaves_it() -> None:
    """Above MaxCapacity a scale-in lands on at most max; a scale-out does nothing."""
    bounds = Bounds(1, 10)
    assert decide(_view(15, bounds=bounds), [_tt_in("cpu", 12)], 0.0).desired == 10
    skipped = decide(_view(15, bounds=bounds), [_out("cpu", 20)], 0.0)
    assert _reason(skipped) == "AlreadyAtMaxCapacity"


def test_deployment_suspends_scale_in_only() -> None:
    """During a deployment scale-in is skipped and scale-out continues."""
    skipped = decide(_view(6, deployment_in_progress=True), [_tt_in("cpu", 3)], 0.0)
    assert skipped.desired is None
    assert _reason(skipped) == "DeploymentInProgress"
    out = decide(_view(6, deployment_in_progress=True), [_out("cpu", 8)], 0.0)
    assert out.desired == 8


@pytest.mark.parametrize(
    ("suspension", "signal", "reason"),
    [
        (Suspension(dynamic_out=True), _out("cpu", 8), "DynamicScalingOutSuspended"),
        (Suspension(dynamic_in=True), _tt_in("cpu", 2), "DynamicScalingInSuspended"),
    ],
)
def test_suspended_directions_do_not_scale(
    suspension: Suspension, signal: Signal, reason: str
) -> None:
    """SuspendedState turns off the suspended direction."""
    decision = decide(_view(6, suspension=suspension), [signal], 0.0)
    assert decision.desired is None
    assert _reason(decision) == reason


def test_protected_surplus_never_raises_or_ratchets_desired() -> None:
    """With protected tasks above desired, a scale-in from the running count is
    skipped, and repeating the same evaluation changes nothing."""
    step = Signal(policy="steps", kind="StepScaling", direction="in", capacity=7)
    skipped = decide(_view(4, running=8), [step], 0.0)
    assert skipped.desired is None
    assert _reason(skipped) == "RunningAboveDesiredCount"
    config = TargetTracking(target_value=50.0)
    signal = target_tracking_signal(
        "cpu", config, running=8, latest=20.0, high="OK", low="ALARM"
    )
    first = decide(_view(5, running=8), [signal], 0.0)
    assert first.desired == 4
    second = decide(_view(4, running=8, cooldowns=first.cooldowns), [signal], 1000.0)
    assert second.desired is None
    assert _reason(second) == "RunningAboveDesiredCount"


def test_scheduled_bounds_keep_the_target_valid() -> None:
    """A scheduled action sets min and/or max, dragging the other along if needed."""
    bounds = Bounds(1, 10)
    assert scheduled_bounds(bounds, 5, None) == Bounds(5, 10)
    assert scheduled_bounds(bounds, 12, None) == Bounds(12, 12)
    assert scheduled_bounds(Bounds(4, 10), None, 2) == Bounds(2, 2)
    assert scheduled_bounds(bounds, 2, 3).clamp(7) == 3


def test_bounds_reject_min_above_max() -> None:
    """MinCapacity above MaxCapacity is an error naming both."""
    with pytest.raises(ScenarioError, match="MinCapacity 5 is above MaxCapacity 2"):
        Bounds(5, 2)


# ---- schedules ------------------------------------------------------------------------
def _fires(expression: str, count: int = 3, **kwargs: object) -> list[datetime]:
    schedule = parse_schedule(expression)
    times, after = [], T0
    for _ in range(count):
        when = next_fire(schedule, after, created_at=T0, **kwargs)  # type: ignore[arg-type]
        if when is None:
            break
        times.append(when)
        after = when
    return times


def test_parse_schedule_kinds() -> None:
    """at(), rate() and cron() parse into their schedule types."""
    assert parse_schedule("at(2026-01-05T18:00:00)") == AtSchedule(
        datetime(2026, 1, 5, 18, 0)  # noqa: DTZ001  (a wall-clock time)
    )
    assert parse_schedule("rate(1 minute)") == RateSchedule(60.0)
    assert parse_schedule("rate(2 hours)") == RateSchedule(7200.0)
    cron = parse_schedule("cron(0/15 8-17 ? * MON-FRI *)")
    assert isinstance(cron, CronSchedule)
    assert cron.minutes == frozenset({0, 15, 30, 45})
    assert cron.hours == frozenset(range(8, 18))
    assert cron.days_of_week == frozenset({2, 3, 4, 5, 6})
    assert cron.days_of_month is None


def test_cron_weekdays_at_six_pm() -> None:
    """cron(0 18 ? * MON-FRI *) from Friday noon runs Friday, then Monday, Tuesday."""
    friday_noon = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
    schedule = parse_schedule("cron(0 18 ? * MON-FRI *)")
    times, after = [], friday_noon
    for _ in range(3):
        when = next_fire(schedule, after, created_at=friday_noon)
        assert when is not None
        times.append(when)
        after = when
    assert [t.strftime("%a %H:%M") for t in times] == [
        "Fri 18:00",
        "Mon 18:00",
        "Tue 18:00",
    ]


def test_cron_day_of_week_numbers_start_on_sunday() -> None:
    """In AWS cron 1 is Sunday, so 3 is Tuesday."""
    assert {t.strftime("%a") for t in _fires("cron(30 6 ? * 3 *)")} == {"Tue"}
    assert [t.day for t in _fires("cron(0 8 1,15 * ? *)")] == [15, 1, 15]


def test_cron_follows_the_time_zone() -> None:
    """A cron in America/New_York runs at 9:00 local, 14:00 UTC in winter."""
    when = next_fire(
        parse_schedule("cron(0 9 ? * MON *)"),
        T0,
        created_at=T0,
        tz=ZoneInfo("America/New_York"),
    )
    assert when == datetime(2026, 1, 5, 14, 0, tzinfo=UTC)


def test_rate_recurs_from_creation_or_start_time() -> None:
    """rate() runs one period after creation, or at StartTime and every period after."""
    assert _fires("rate(5 minutes)", 2) == [
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=10),
    ]
    start = T0 + timedelta(hours=1)
    assert _fires("rate(1 hour)", 2, start_time=start) == [
        start,
        start + timedelta(hours=1),
    ]


def test_end_time_stops_recurrence_and_at_runs_once() -> None:
    """Nothing runs after EndTime; at() runs once."""
    end = T0 + timedelta(minutes=12)
    assert len(_fires("rate(5 minutes)", 5, end_time=end)) == 2
    assert _fires("at(2026-01-05T18:00:00)", 3) == [
        datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    ]
    assert _fires("at(2026-01-05T08:00:00)", 3) == []


def test_cron_with_start_time_runs_at_the_start_then_recurs() -> None:
    """With a StartTime a cron action runs at the start time, then on its schedule."""
    start = T0 + timedelta(minutes=7)
    times = _fires("cron(0 * * * ? *)", 2, start_time=start)
    assert times == [start, T0 + timedelta(hours=1)]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 18 * * MON *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 18 L * ? *)", "L, W or #"),
        ("cron(0 18 ? * 6#3 *)", "L, W or #"),
        ("cron(61 * * * ? *)", "minutes: 61 is outside 0..59"),
        ("cron(0 18 ? * FRI-MON *)", "runs backwards"),
        ("cron(0 18 * *)", "needs 6 cron fields"),
        ("rate(0 minutes)", "the rate must be >= 1"),
        ("rate(5 weeks)", "is not at"),
        ("at(2026-13-01T00:00:00)", "not a valid date"),
    ],
)
def test_bad_schedule_expressions_name_the_problem(
    expression: str, message: str
) -> None:
    """Malformed or unsupported expressions raise ScenarioError saying why."""
    with pytest.raises(ScenarioError, match=message):
        parse_schedule(expression)


# ---- properties -------------------------------------------------------------------------
@st.composite
def _bounds(draw: st.DrawFn) -> Bounds:
    low = draw(st.integers(0, 20))
    return Bounds(low, draw(st.integers(low, 40)))


@st.composite
def _signals(draw: st.DrawFn) -> list[Signal]:
    signals = []
    for i in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["TargetTrackingScaling", "StepScaling"]))
        signals.append(
            Signal(
                policy=f"p{i}",
                kind=kind,
                direction=draw(st.sampled_from(["out", "in", None])),
                capacity=draw(st.integers(0, 60)),
                base=draw(st.integers(0, 60)),
                cooldown_s=draw(st.sampled_from([0.0, 60.0, 300.0])),
                votes_on_scale_in=kind == "TargetTrackingScaling"
                and draw(st.booleans()),
            )
        )
    return signals


@st.composite
def _views(draw: st.DrawFn) -> TargetView:
    until = st.none() | st.floats(0, 1000)
    return TargetView(
        desired=draw(st.integers(0, 60)),
        running=draw(st.integers(0, 60)),
        bounds=draw(_bounds()),
        suspension=Suspension(
            dynamic_in=draw(st.booleans()),
            dynamic_out=draw(st.booleans()),
        ),
        cooldowns=Cooldowns(
            scale_out_until_s=draw(until),
            scale_out_capacity=draw(st.integers(0, 60)),
            scale_in_until_s=draw(until),
        ),
        deployment_in_progress=draw(st.booleans()),
    )


@given(view=_views(), signals=_signals(), now=st.floats(0, 1000))
def test_property_a_new_desired_count_is_within_bounds(
    view: TargetView, signals: list[Signal], now: float
) -> None:
    """Whatever the policies ask, a changed desired count lies in [min, max] and
    moves in the decision's direction."""
    decision = decide(view, signals, now)
    if decision.desired is not None:
        bounds = view.bounds
        assert bounds.min_capacity <= decision.desired <= bounds.max_capacity
        assert (decision.desired > view.desired) == (decision.direction == "out")
        assert decision.desired != view.desired


@given(view=_views(), signals=_signals(), now=st.floats(0, 1000))
def test_property_no_scale_in_while_a_deployment_is_in_progress(
    view: TargetView, signals: list[Signal], now: float
) -> None:
    """During a deployment a decision never lowers the desired count."""
    deploying = TargetView(
        desired=view.desired,
        running=view.running,
        bounds=view.bounds,
        suspension=view.suspension,
        cooldowns=view.cooldowns,
        deployment_in_progress=True,
    )
    decision = decide(deploying, signals, now)
    assert decision.direction != "in"
    assert decision.desired is None or decision.desired > view.desired


@given(current=st.integers(0, 500), percent=st.integers(-100, 500))
def test_property_percent_change_moves_at_least_one_task(
    current: int, percent: int
) -> None:
    """A non-zero percentage of a non-zero capacity changes it by at least one
    task, in the percentage's direction, never by more than the exact amount."""
    change = percent_change(current, percent)
    exact = current * percent / 100
    if current and percent:
        assert abs(change) >= 1
        assert (change > 0) == (percent > 0)
        assert abs(change) <= max(1, abs(exact) + 1e-9)
    else:
        assert change == 0


@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    start=st.datetimes(
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001
        max_value=datetime(2027, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
)
def test_property_daily_cron_fires_after_and_on_its_minute(
    minute: int, hour: int, start: datetime
) -> None:
    """The next run of a daily cron is strictly later, within a day, on its minute."""
    schedule = parse_schedule(f"cron({minute} {hour} * * ? *)")
    when = next_fire(schedule, start, created_at=start)
    assert when is not None
    assert start < when <= start + timedelta(days=1)
    assert (when.hour, when.minute, when.second) == (hour, minute, 0)
