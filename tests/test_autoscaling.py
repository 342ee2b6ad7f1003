"""Service Auto Scaling as a user drives it: the boto3-shaped Application Auto
Scaling and CloudWatch clients of a ``Simulation``.

Register a service, put target-tracking or step policies, feed metrics, advance
the clock, and watch desired and running counts, alarms, scaling activities and
the event log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from ecssim import Simulation
from ecssim.aws.cloudwatch import from_series

RESOURCE = "service/prod/api"
TARGET: dict[str, str] = {
    "ServiceNamespace": "ecs",
    "ResourceId": RESOURCE,
    "ScalableDimension": "ecs:service:DesiredCount",
}
MINUTE = 60.0


def _sim(desired: int = 2, settle_s: float = 90.0) -> Simulation:
    """Cluster ``prod`` with service ``api`` of *desired* tasks, settled."""
    sim = Simulation(seed=3)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "web"}]
    )
    sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="web", desiredCount=desired
    )
    sim.advance(settle_s)
    return sim


def _register(sim: Simulation, low: int = 1, high: int = 10, **extra: Any) -> None:
    sim.application_autoscaling.register_scalable_target(
        **TARGET, MinCapacity=low, MaxCapacity=high, **extra
    )


def _cpu_policy(sim: Simulation, target: float = 50.0, **config: Any) -> dict[str, Any]:
    return sim.application_autoscaling.put_scaling_policy(
        PolicyName="cpu",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": target,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
            **config,
        },
    )


def _service(sim: Simulation) -> dict[str, Any]:
    return sim.ecs.describe_services(cluster="prod", services=["api"])["services"][0]


def _counts(sim: Simulation) -> tuple[int, int]:
    """(desiredCount, runningCount) of the service."""
    service = _service(sim)
    return service["desiredCount"], service["runningCount"]


def _load(sim: Simulation, total: dict[str, float]) -> Callable[[float], float | None]:
    """CPU percent of a service carrying ``total["load"]`` task-percent of work,
    spread over its running tasks (so adding tasks lowers it)."""

    def cpu(t: float) -> float:
        running = _service(sim)["runningCount"]
        return min(100.0, total["load"] / max(1, running))

    return cpu


def _activities(sim: Simulation, **kwargs: Any) -> list[dict[str, Any]]:
    return sim.application_autoscaling.describe_scaling_activities(
        ServiceNamespace="ecs", ResourceId=RESOURCE, **kwargs
    )["ScalingActivities"]


def _events(sim: Simulation, kind: str) -> pd.DataFrame:
    """Rows of one kind with their detail JSON spread into columns."""
    frame = sim.events()
    rows = frame[frame["kind"] == kind].reset_index(drop=True)
    details = pd.DataFrame([json.loads(d) for d in rows["detail"]], index=rows.index)
    return pd.concat([rows.drop(columns=["detail"]), details], axis=1)


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


# ---- scalable targets ----------------------------------------------------------
def test_register_describe_and_update_a_scalable_target() -> None:
    """Registering twice updates the bounds and merges the SuspendedState flags."""
    sim = _sim()
    aas = sim.application_autoscaling
    arn = aas.register_scalable_target(**TARGET, MinCapacity=1, MaxCapacity=10)[
        "ScalableTargetARN"
    ]
    aas.register_scalable_target(
        **TARGET, MaxCapacity=6, SuspendedState={"DynamicScalingInSuspended": True}
    )
    (target,) = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert target["ScalableTargetARN"] == arn
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 6)
    assert target["SuspendedState"] == {
        "DynamicScalingInSuspended": True,
        "DynamicScalingOutSuspended": False,
        "ScheduledScalingSuspended": False,
    }
    assert target["ResourceId"] == RESOURCE
    assert target["CreationTime"] == sim.start + timedelta(seconds=90)


def test_register_moves_the_desired_count_into_the_range() -> None:
    """A desired count below the new MinCapacity is raised to it, as an activity."""
    sim = _sim(desired=2)
    _register(sim, low=3, high=10)
    assert _counts(sim)[0] == 3
    (activity,) = _activities(sim)
    assert activity["Description"] == "Setting desired count to 3."
    assert activity["StatusCode"] == "Successful"


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"ResourceId": "service/prod/nope"},
            "ValidationException",
            "ECS service doesn't exist",
        ),
        (
            {"ResourceId": "table/prod"},
            "ValidationException",
            "Unsupported resource ID",
        ),
        (
            {"ServiceNamespace": "dynamodb"},
            "ValidationException",
            "Unsupported service namespace",
        ),
        (
            {"MinCapacity": None},
            "ValidationException",
            "MinCapacity and MaxCapacity are required",
        ),
        (
            {"MinCapacity": 5, "MaxCapacity": 2},
            "ValidationException",
            "MinCapacity 5 is above",
        ),
    ],
)
def test_register_rejects_bad_requests(
    params: dict[str, Any], code: str, message: str
) -> None:
    """Bad registrations raise the ClientError boto3 would, naming the problem."""
    sim = _sim()
    request: dict[str, Any] = {**TARGET, "MinCapacity": 1, "MaxCapacity": 4, **params}
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(ClientError) as excinfo:
        sim.application_autoscaling.register_scalable_target(**request)
    got_code, got_message = _error(excinfo)
    assert got_code == code
    assert message in got_message


def test_policies_need_a_registered_target_and_a_valid_request() -> None:
    """No target is ObjectNotFoundException; a malformed request fails like boto3."""
    sim = _sim()
    aas = sim.application_autoscaling
    with pytest.raises(aas.exceptions.ObjectNotFoundException):
        _cpu_policy(sim)
    _register(sim)
    with pytest.raises(ParamValidationError):
        aas.put_scaling_policy(PolicyName="x", **TARGET, PolicyType=7)
    with pytest.raises(
        aas.exceptions.ValidationException, match="not supported by ecssim"
    ):
        aas.put_scaling_policy(
            PolicyName="alb",
            **TARGET,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 100.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ALBRequestCountPerTarget"
                },
            },
        )
    with pytest.raises(
        aas.exceptions.ValidationException, match="overlap or leave a gap"
    ):
        aas.put_scaling_policy(
            PolicyName="steps",
            **TARGET,
            PolicyType="StepScaling",
            StepScalingPolicyConfiguration={
                "AdjustmentType": "ChangeInCapacity",
                "StepAdjustments": [
                    {
                        "MetricIntervalLowerBound": 0,
                        "MetricIntervalUpperBound": 10,
                        "ScalingAdjustment": 1,
                    },
                    {"MetricIntervalLowerBound": 20, "ScalingAdjustment": 2},
                ],
            },
        )


# ---- target tracking -------------------------------------------------------------
def test_target_tracking_creates_managed_alarms() -> None:
    """A target-tracking policy creates AlarmHigh (3 of 3 > target) and AlarmLow
    (15 of 15 < 90 % of target) on the service's CPUUtilization."""
    sim = _sim()
    _register(sim)
    response = _cpu_policy(sim)
    names = [a["AlarmName"] for a in response["Alarms"]]
    uuid = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(f"TargetTracking-service/prod/api-AlarmHigh-{uuid}", names[0])
    assert re.fullmatch(f"TargetTracking-service/prod/api-AlarmLow-{uuid}", names[1])
    alarms = {
        a["AlarmName"]: a
        for a in sim.cloudwatch.describe_alarms(
            AlarmNamePrefix="TargetTracking-service/prod/api-"
        )["MetricAlarms"]
    }
    high, low = alarms[names[0]], alarms[names[1]]
    assert (high["Threshold"], high["ComparisonOperator"]) == (
        50.0,
        "GreaterThanThreshold",
    )
    assert (high["EvaluationPeriods"], high["DatapointsToAlarm"], high["Period"]) == (
        3,
        3,
        60,
    )
    assert (low["Threshold"], low["ComparisonOperator"]) == (45.0, "LessThanThreshold")
    assert (low["EvaluationPeriods"], low["DatapointsToAlarm"]) == (15, 15)
    assert high["Namespace"] == "AWS/ECS"
    assert high["MetricName"] == "CPUUtilization"
    assert high["Dimensions"] == [
        {"Name": "ClusterName", "Value": "prod"},
        {"Name": "ServiceName", "Value": "api"},
    ]
    assert high["AlarmActions"] == [response["PolicyARN"]]
    assert high["StateValue"] == "INSUFFICIENT_DATA"


def test_no_metric_data_means_no_scaling() -> None:
    """Without a metric provider the alarms stay INSUFFICIENT_DATA and nothing scales."""
    sim = _sim()
    _register(sim)
    _cpu_policy(sim)
    sim.advance(30 * MINUTE)
    states = {a["StateValue"] for a in sim.cloudwatch.describe_alarms()["MetricAlarms"]}
    assert states == {"INSUFFICIENT_DATA"}
    assert _counts(sim) == (2, 2)
    assert _activities(sim) == []


def test_target_tracking_scales_out_from_the_running_count() -> None:
    """Three minutes above target scale out to ceil(running x metric / target)."""
    sim = _sim(desired=2)
    _register(sim)
    policy = _cpu_policy(sim)
    sim.metrics.set_service_utilization("prod", "api", cpu=_load(sim, {"load": 180.0}))
    start = sim.now_s
    sim.advance(2 * MINUTE)
    assert _counts(sim) == (2, 2)
    sim.advance(10 * MINUTE)
    assert _counts(sim) == (4, 4)  # 180 task-% over 4 tasks is 45 %: in band
    (activity,) = _activities(sim)
    high = policy["Alarms"][0]["AlarmName"]
    assert activity["Description"] == "Setting desired count to 4."
    assert (
        activity["Cause"] == f"monitor alarm {high} in state ALARM triggered policy cpu"
    )
    assert activity["StatusCode"] == "Successful"
    # the policy came at t=90 s: minutes 1, 2 and 3 are the first 3 datapoints
    assert activity["StartTime"] == sim.start + timedelta(seconds=240)
    changes = _events(sim, "alarm_state_changed")
    mine = changes[changes["alarm"] == high]
    assert list(zip(mine["old_state"], mine["new_state"], strict=True)) == [
        ("INSUFFICIENT_DATA", "OK"),
        ("OK", "ALARM"),
        ("ALARM", "OK"),
    ]
    assert mine["time_s"].iloc[1] == 240.0
    assert start == 90.0


def test_scale_in_waits_for_fifteen_low_minutes() -> None:
    """Scale-in needs 15 datapoints below 90 % of the target, then goes to
    ceil(running x metric / target)."""
    sim = _sim(desired=4)
    _register(sim)
    _cpu_policy(sim)
    sim.metrics.set_service_utilization("prod", "api", cpu=lambda t: 20.0)
    sim.advance(14 * MINUTE)
    assert _counts(sim)[0] == 4
    sim.advance(2 * MINUTE)
    assert _counts(sim)[0] == 2  # ceil(4 x 20 / 50)
    sim.advance(2 * MINUTE)
    assert _counts(sim) == (2, 2)


def test_scale_in_is_suspended_during_a_deployment_but_scale_out_is_not() -> None:
    """While a deployment is in progress low load scales nothing in; high load
    still scales out."""
    sim = _sim(desired=2)
    _register(sim)
    _cpu_policy(sim)
    arns = sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
    sim.ecs.update_task_protection(
        cluster="prod", tasks=arns[:1], protectionEnabled=True
    )
    sim.ecs.update_service(cluster="prod", service="api", forceNewDeployment=True)
    load = {"load": 30.0}
    sim.metrics.set_service_utilization("prod", "api", cpu=_load(sim, load))
    sim.advance(20 * MINUTE)
    assert _service(sim)["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert _counts(sim)[0] == 2
    skipped = _events(sim, "scaling_skipped")
    assert list(skipped["reason"]) == ["DeploymentInProgress"]
    not_scaled = _activities(sim, IncludeNotScaledActivities=True)[0]
    assert not_scaled["StatusCode"] == "Failed"
    assert (
        not_scaled["NotScaledReasons"][0]["Code"]
        == "TargetServicePutResourceAsUnscalable"
    )
    load["load"] = 270.0  # 90 % over the 3 running tasks
    sim.advance(5 * MINUTE)
    assert _counts(sim)[0] == 6


def test_protected_surplus_does_not_ratchet_scale_in() -> None:
    """With protected tasks running above desired, scale-in happens once and is
    then skipped (recorded once), never lowering desired again and again."""
    sim = _sim(desired=4)
    _register(sim, low=0)
    _cpu_policy(sim)
    arns = sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
    sim.ecs.update_task_protection(
        cluster="prod", tasks=arns[:3], protectionEnabled=True
    )
    sim.metrics.set_service_utilization("prod", "api", cpu=lambda t: 10.0)
    sim.advance(16 * MINUTE)
    assert _counts(sim) == (1, 3)  # ceil(4 x 10 / 50); three protected tasks stay
    sim.advance(40 * MINUTE)
    assert _counts(sim) == (1, 3)
    assert [a["Description"] for a in _activities(sim)] == [
        "Setting desired count to 1."
    ]
    skipped = _events(sim, "scaling_skipped")
    assert list(skipped["reason"]) == ["ScaleInCooldown", "RunningAboveDesiredCount"]
    assert list(skipped["running_count"]) == [3, 3]
    assert list(_events(sim, "desired_count_changed")["desired_count"]) == [1]


def test_scale_out_is_suspended_by_the_suspended_state() -> None:
    """DynamicScalingOutSuspended keeps the desired count and records why once."""
    sim = _sim(desired=2)
    _register(sim, SuspendedState={"DynamicScalingOutSuspended": True})
    _cpu_policy(sim)
    sim.metrics.set_service_utilization("prod", "api", cpu=lambda t: 95.0)
    sim.advance(10 * MINUTE)
    assert _counts(sim)[0] == 2
    skipped = _events(sim, "scaling_skipped")
    assert list(skipped["reason"]) == ["DynamicScalingOutSuspended"]


def test_desired_set_below_min_jumps_to_min_on_scale_out() -> None:
    """A desired count set by hand below MinCapacity jumps to it on the next scale-out."""
    sim = _sim(desired=3)
    _register(sim, low=3)
    _cpu_policy(sim)
    sim.ecs.update_service(cluster="prod", service="api", desiredCount=1)
    sim.advance(2 * MINUTE)
    sim.metrics.set_service_utilization("prod", "api", cpu=_load(sim, {"load": 60.0}))
    sim.advance(6 * MINUTE)
    assert _counts(sim) == (3, 3)  # ceil(1 x 60 / 50) = 2, raised to MinCapacity


def test_two_policies_scale_out_on_either_and_in_only_on_both() -> None:
    """With CPU and memory policies, either scales out; scale-in needs both low."""
    sim = _sim(desired=2)
    _register(sim)
    _cpu_policy(sim)
    sim.application_autoscaling.put_scaling_policy(
        PolicyName="memory",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 60.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageMemoryUtilization"
            },
        },
    )
    load = {"load": 180.0}
    memory = {"percent": 58.0}
    sim.metrics.set_service_utilization(
        "prod", "api", cpu=_load(sim, load), memory=lambda t: memory["percent"]
    )
    sim.advance(5 * MINUTE)
    assert _counts(sim) == (4, 4)  # ceil(2 x 90 / 50); then 45 % each
    load["load"] = 40.0  # 10 % each
    sim.advance(20 * MINUTE)
    assert _counts(sim)[0] == 4  # memory is not below 54 %
    memory["percent"] = 20.0
    sim.advance(16 * MINUTE)
    assert _counts(sim)[0] == 2  # largest of ceil(4 x 10/50)=1 and ceil(4 x 20/60)=2


def test_scale_out_from_zero_on_a_custom_metric() -> None:
    """With no task and a backlog, one datapoint scales out to the minimum amount."""
    sim = _sim(desired=0)
    _register(sim, low=0, high=5)
    sim.application_autoscaling.put_scaling_policy(
        PolicyName="backlog",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 10.0,
            "CustomizedMetricSpecification": {
                "MetricName": "BacklogPerTask",
                "Namespace": "MyApp",
                "Dimensions": [{"Name": "Queue", "Value": "jobs"}],
                "Statistic": "Average",
            },
        },
    )
    per_task = _load(sim, {"load": 30.0})  # 30 jobs waiting, shared by the tasks
    sim.metrics.set_source("MyApp", "BacklogPerTask", {"Queue": "jobs"}, per_task)
    sim.advance(1 * MINUTE + 5)
    assert _counts(sim)[0] == 1
    sim.advance(6 * MINUTE)
    assert _counts(sim) == (3, 3)  # then ceil(1 x 30 / 10), and 10 per task


# ---- step scaling -------------------------------------------------------------------
def test_step_scaling_follows_its_alarm_and_cooldown() -> None:
    """A user alarm drives a step policy; during its cooldown only a larger step
    scales further, counting the capacity already added."""
    sim = _sim(desired=2)
    _register(sim)
    policy = sim.application_autoscaling.put_scaling_policy(
        PolicyName="backlog-steps",
        **TARGET,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "StepAdjustments": [
                {
                    "MetricIntervalLowerBound": 0,
                    "MetricIntervalUpperBound": 50,
                    "ScalingAdjustment": 1,
                },
                {"MetricIntervalLowerBound": 50, "ScalingAdjustment": 3},
            ],
            "Cooldown": 300,
        },
    )
    assert policy["Alarms"] == []
    backlog = {"value": 120.0}
    sim.metrics.set_source("MyApp", "Backlog", {}, lambda t: backlog["value"])
    sim.cloudwatch.put_metric_alarm(
        AlarmName="backlog-high",
        Namespace="MyApp",
        MetricName="Backlog",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=100.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[policy["PolicyARN"]],
    )
    sim.advance(1 * MINUTE)
    assert _counts(sim)[0] == 3  # +1 from 2 running
    sim.advance(1 * MINUTE)
    assert _counts(sim)[0] == 3  # same step in the cooldown: no more
    backlog["value"] = 170.0
    sim.advance(1 * MINUTE)
    assert _counts(sim)[0] == 5  # +3 counted from the in-flight base of 2
    described = sim.application_autoscaling.describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=RESOURCE
    )["ScalingPolicies"]
    assert described[0]["Alarms"][0]["AlarmName"] == "backlog-high"
    assert described[0]["StepScalingPolicyConfiguration"]["Cooldown"] == 300


# ---- scheduled actions ----------------------------------------------------------------
def test_scheduled_actions_change_bounds_and_clamp_desired() -> None:
    """Scheduled actions set min/max at their time, even during a cooldown, and
    move the desired count into the new range."""
    sim = _sim(desired=2)
    _register(sim)
    aas = sim.application_autoscaling
    aas.put_scheduled_action(
        **TARGET,
        ScheduledActionName="morning",
        Schedule="at(2026-01-05T09:10:00)",
        ScalableTargetAction={"MinCapacity": 5},
    )
    aas.put_scheduled_action(
        **TARGET,
        ScheduledActionName="cap",
        Schedule="cron(20 9 ? * MON *)",
        ScalableTargetAction={"MaxCapacity": 3},
    )
    aas.put_scheduled_action(
        **TARGET,
        ScheduledActionName="never",
        Schedule="rate(1 minute)",
        ScalableTargetAction={"MinCapacity": 9},
    )
    aas.delete_scheduled_action(**TARGET, ScheduledActionName="never")
    names = [
        a["ScheduledActionName"]
        for a in aas.describe_scheduled_actions(ServiceNamespace="ecs")[
            "ScheduledActions"
        ]
    ]
    assert names == ["morning", "cap"]
    sim.advance_to(sim.start + timedelta(minutes=11))
    assert _counts(sim)[0] == 5
    sim.advance_to(sim.start + timedelta(minutes=21))
    assert _counts(sim)[0] == 3
    (target,) = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 3)
    assert [(a["Description"], a["Cause"]) for a in _activities(sim)] == [
        ("Setting desired count to 3.", "scheduled action name cap was triggered"),
        (
            "Setting min capacity to 3 and max capacity to 3",
            "scheduled action name cap was triggered",
        ),
        ("Setting desired count to 5.", "scheduled action name morning was triggered"),
        (
            "Setting min capacity to 5 and max capacity to 10",
            "scheduled action name morning was triggered",
        ),
    ]


def test_scheduled_action_runs_during_a_cooldown() -> None:
    """A scheduled max lowers desired right after a policy scale-out."""
    sim = _sim(desired=2)
    _register(sim)
    _cpu_policy(sim)
    sim.metrics.set_service_utilization("prod", "api", cpu=lambda t: 90.0)
    sim.application_autoscaling.put_scheduled_action(
        **TARGET,
        ScheduledActionName="cap",
        Schedule="at(2026-01-05T09:04:30)",
        ScalableTargetAction={"MaxCapacity": 3},
    )
    sim.advance_to(sim.start + timedelta(minutes=4, seconds=10))
    assert _counts(sim)[0] == 4  # scaled out at 9:04:00, cooldown until 9:09
    sim.advance_to(sim.start + timedelta(minutes=4, seconds=40))
    assert _counts(sim)[0] == 3


def test_scheduled_scaling_can_be_suspended() -> None:
    """ScheduledScalingSuspended skips a scheduled action's run."""
    sim = _sim(desired=2)
    _register(sim, SuspendedState={"ScheduledScalingSuspended": True})
    sim.application_autoscaling.put_scheduled_action(
        **TARGET,
        ScheduledActionName="morning",
        Schedule="at(2026-01-05T09:05:00)",
        ScalableTargetAction={"MinCapacity": 5},
    )
    sim.advance(10 * MINUTE)
    assert _counts(sim)[0] == 2
    assert list(_events(sim, "scaling_skipped")["reason"]) == [
        "ScheduledScalingSuspended"
    ]


def test_bad_schedules_are_validation_errors() -> None:
    """An unparsable Schedule or time zone is a ValidationException naming it."""
    sim = _sim()
    _register(sim)
    aas = sim.application_autoscaling
    with pytest.raises(aas.exceptions.ValidationException, match="exactly one of"):
        aas.put_scheduled_action(
            **TARGET,
            ScheduledActionName="x",
            Schedule="cron(0 9 * * MON *)",
            ScalableTargetAction={"MinCapacity": 1},
        )
    with pytest.raises(aas.exceptions.ValidationException, match="Mars/Olympus"):
        aas.put_scheduled_action(
            **TARGET,
            ScheduledActionName="x",
            Schedule="rate(1 hour)",
            Timezone="Mars/Olympus",
            ScalableTargetAction={"MinCapacity": 1},
        )


# ---- lifecycle of policies and targets ----------------------------------------------------
def test_alarms_and_ticks_exist_only_while_policies_need_them() -> None:
    """Deleting the policy deletes its alarms, and the minute ticker stops."""
    sim = _sim()
    _register(sim)
    sim.advance(5 * MINUTE)
    assert not sim.autoscaler.ticking
    _cpu_policy(sim)
    assert sim.autoscaler.ticking
    sim.application_autoscaling.delete_scaling_policy(PolicyName="cpu", **TARGET)
    assert sim.cloudwatch.describe_alarms()["MetricAlarms"] == []
    sim.advance(2 * MINUTE)
    assert not sim.autoscaler.ticking
    with pytest.raises(sim.application_autoscaling.exceptions.ObjectNotFoundException):
        sim.application_autoscaling.delete_scaling_policy(PolicyName="cpu", **TARGET)


def test_deregister_deletes_policies_alarms_and_actions() -> None:
    """Deregistering a target deletes what hangs off it."""
    sim = _sim()
    _register(sim)
    _cpu_policy(sim)
    aas = sim.application_autoscaling
    aas.put_scheduled_action(
        **TARGET,
        ScheduledActionName="later",
        Schedule="rate(5 minutes)",
        ScalableTargetAction={"MinCapacity": 4},
    )
    aas.deregister_scalable_target(**TARGET)
    sim.advance(10 * MINUTE)
    assert (
        aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    )
    assert (
        aas.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []
    )
    assert sim.cloudwatch.describe_alarms()["MetricAlarms"] == []
    assert _counts(sim)[0] == 2


def test_activities_are_newest_first_and_paginated() -> None:
    """describe_scaling_activities pages with MaxResults and NextToken."""
    sim = _sim(desired=2)
    _register(sim, low=3)
    _register(sim, low=4)
    first = sim.application_autoscaling.describe_scaling_activities(
        ServiceNamespace="ecs", MaxResults=1
    )
    assert first["ScalingActivities"][0]["Description"] == "Setting desired count to 4."
    second = sim.application_autoscaling.describe_scaling_activities(
        ServiceNamespace="ecs", MaxResults=1, NextToken=first["NextToken"]
    )
    assert (
        second["ScalingActivities"][0]["Description"] == "Setting desired count to 3."
    )
    assert "NextToken" not in second


# ---- CloudWatch -----------------------------------------------------------------------------
def test_metric_data_round_trip() -> None:
    """put_metric_data values come back per period from get_metric_statistics."""
    sim = _sim()
    cw = sim.cloudwatch
    for minute, values in enumerate([[10.0, 30.0], [50.0]]):
        cw.put_metric_data(
            Namespace="MyApp",
            MetricData=[
                {
                    "MetricName": "Latency",
                    "Dimensions": [{"Name": "Api", "Value": "get"}],
                    "Values": values,
                    "Timestamp": sim.start + timedelta(minutes=minute),
                }
            ],
        )
    query = {
        "Namespace": "MyApp",
        "MetricName": "Latency",
        "Dimensions": [{"Name": "Api", "Value": "get"}],
        "StartTime": sim.start,
        "EndTime": sim.now,
        "Statistics": ["Average", "Sum", "SampleCount", "Maximum"],
    }
    per_minute = cw.get_metric_statistics(**query, Period=60)["Datapoints"]
    assert [(p["Average"], p["SampleCount"]) for p in per_minute] == [
        (20.0, 2.0),
        (50.0, 1.0),
    ]
    (both,) = cw.get_metric_statistics(**query, Period=120)["Datapoints"]
    assert (both["Sum"], both["Maximum"], both["Timestamp"]) == (90.0, 50.0, sim.start)
    other = cw.get_metric_statistics(**{**query, "Dimensions": []}, Period=60)
    assert other["Datapoints"] == []


def test_cloudwatch_errors_look_like_boto3() -> None:
    """Reserved namespaces, bad periods and unknown alarms raise CloudWatch's errors."""
    sim = _sim()
    cw = sim.cloudwatch
    with pytest.raises(cw.exceptions.InvalidParameterValueException) as excinfo:
        cw.put_metric_data(
            Namespace="AWS/ECS", MetricData=[{"MetricName": "X", "Value": 1.0}]
        )
    assert _error(excinfo)[0] == "InvalidParameterValue"
    with pytest.raises(
        cw.exceptions.InvalidParameterValueException, match="multiple of 60"
    ):
        cw.put_metric_alarm(
            AlarmName="fast",
            Namespace="MyApp",
            MetricName="X",
            Statistic="Average",
            Period=10,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold",
        )
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.delete_alarms(AlarmNames=["nope"])
    with pytest.raises(ParamValidationError):
        cw.put_metric_alarm(Namespace="MyApp")


def test_user_alarm_changes_state_and_is_recorded() -> None:
    """A user alarm on a custom metric moves through its states, recorded with old
    and new state."""
    sim = _sim()
    sim.metrics.set_source("MyApp", "Errors", {}, from_series([0, 180], [0.0, 5.0]))
    sim.cloudwatch.put_metric_alarm(
        AlarmName="errors",
        Namespace="MyApp",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    sim.advance(6 * MINUTE)
    changes = _events(sim, "alarm_state_changed")
    assert list(zip(changes["old_state"], changes["new_state"], strict=True)) == [
        ("INSUFFICIENT_DATA", "OK"),
        ("OK", "ALARM"),
    ]
    (alarm,) = sim.cloudwatch.describe_alarms(StateValue="ALARM")["MetricAlarms"]
    assert alarm["AlarmName"] == "errors"
    assert alarm["StateReason"].startswith("Threshold Crossed")


def test_ecs_metrics_have_no_datapoint_without_running_tasks() -> None:
    """The predefined ECS metric reports nothing while the service runs no task."""
    sim = _sim(desired=0)
    sim.metrics.set_service_utilization("prod", "api", cpu=lambda t: 80.0)
    sim.cloudwatch.put_metric_alarm(
        AlarmName="cpu",
        Namespace="AWS/ECS",
        MetricName="CPUUtilization",
        Dimensions=[
            {"Name": "ClusterName", "Value": "prod"},
            {"Name": "ServiceName", "Value": "api"},
        ],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=50.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    sim.advance(3 * MINUTE)
    (alarm,) = sim.cloudwatch.describe_alarms()["MetricAlarms"]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"


def test_alarm_re_put_with_a_new_threshold_is_evaluated_again() -> None:
    """A constant metric gives every minute the same window, so the alarm's state
    stands; overwriting the alarm with another threshold changes it at the next
    evaluation although the datapoints are the same."""
    sim = _sim()
    sim.metrics.set_source("MyApp", "Depth", {}, lambda t: 5.0)
    alarm = {
        "AlarmName": "depth",
        "Namespace": "MyApp",
        "MetricName": "Depth",
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 3,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    sim.cloudwatch.put_metric_alarm(**alarm, Threshold=10.0)
    sim.advance(5 * MINUTE)
    sim.cloudwatch.put_metric_alarm(**alarm, Threshold=1.0)
    sim.advance(2 * MINUTE)
    changes = _events(sim, "alarm_state_changed")
    assert list(zip(changes["old_state"], changes["new_state"], strict=True)) == [
        ("INSUFFICIENT_DATA", "OK"),
        ("OK", "ALARM"),
    ]
    (described,) = sim.cloudwatch.describe_alarms()["MetricAlarms"]
    assert described["StateValue"] == "ALARM"
