"""Application Auto Scaling for ECS services: its state and boto3-shaped client.

This module owns the scalable targets (``ecs`` / ``ecs:service:DesiredCount`` /
``service/CLUSTER/SERVICE``), their scaling policies and scheduled actions, the
target-tracking alarms it creates in CloudWatch
(``TargetTracking-service/CLUSTER/SERVICE-AlarmHigh-<uuid>`` and ``-AlarmLow-``),
and the scaling activities. Requests are validated against botocore's
``application-autoscaling`` model first, then against the rules of
:mod:`ecssim.rules.scaling`; API errors raise the exception classes boto3 generates
(``ValidationException``, ``ObjectNotFoundException`` ...).

Every change of a service's desired count goes through
``EcsBackend.set_desired_count`` and becomes a ``Successful`` scaling activity
(``describe_scaling_activities``) and a ``scaling_activity`` record. The
per-minute evaluation of policies lives in :mod:`ecssim.sim.autoscaler`; this
module never waits.

Modelling choices where AWS is silent: RegisterScalableTarget moves a desired
count outside the new ``[MinCapacity, MaxCapacity]`` inside it (the AAS user
guide's "anytime ... the RegisterScalableTarget API is called"); a
target-tracking policy with ``DisableScaleIn`` gets no AlarmLow; cooldowns are
kept per scalable target, with the length of the policy that started them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.utils import parse_timestamp

from ecssim.aws.cloudwatch import (
    ECS_NAMESPACE,
    CloudWatchBackend,
    Dimensions,
    MetricAlarm,
    MetricKey,
)
from ecssim.aws.errors import BotoShapedClient
from ecssim.aws.state import EcsBackend, Service
from ecssim.errors import ScenarioError
from ecssim.rules.scaling import (
    NO_COOLDOWNS,
    NOT_SCALED_CODES,
    SCHEDULED_SUSPENDED,
    Bounds,
    Cooldowns,
    ScalingSettings,
    Skip,
    StepAdjustment,
    StepScaling,
    Suspension,
    TargetTracking,
    scheduled_bounds,
)
from ecssim.rules.schedules import Schedule, parse_schedule

NAMESPACE: Final = "ecs"
DIMENSION: Final = "ecs:service:DesiredCount"
PREDEFINED_METRICS: Final = {
    "ECSServiceAverageCPUUtilization": "CPUUtilization",
    "ECSServiceAverageMemoryUtilization": "MemoryUtilization",
}
MAX_RESULTS: Final = 50
_RESOURCE_RE: Final = re.compile(
    r"^service/([A-Za-z0-9_-]{1,255})/([A-Za-z0-9_-]{1,255})$"
)
_NAME_RE: Final = re.compile(r"^(?!\s)[^\x00-\x1f\x7f:/|]{1,256}(?<!\s)$")

Response = dict[str, Any]


@dataclass(eq=False)
class ScalingPolicy:
    """A scaling policy of a scalable target."""

    name: str
    arn: str
    policy_type: str
    created_at: float
    request: dict[str, Any]
    target_tracking: TargetTracking | None = None
    step: StepScaling | None = None
    #: names of the alarms a target-tracking policy owns: (AlarmHigh, AlarmLow)
    alarm_high: str | None = None
    alarm_low: str | None = None
    metric: MetricKey | None = None


@dataclass(eq=False)
class ScheduledAction:
    """A scheduled action of a scalable target."""

    name: str
    arn: str
    expression: str
    schedule: Schedule
    created_at: float
    timezone: str = "UTC"
    start_time: datetime | None = None
    end_time: datetime | None = None
    min_capacity: int | None = None
    max_capacity: int | None = None

    @property
    def tz(self) -> tzinfo:
        """The action's time zone."""
        return UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)


@dataclass(eq=False)
class ScalableTarget:
    """A registered ECS service (``ecs:service:DesiredCount``)."""

    resource_id: str
    cluster: str
    service: str
    arn: str
    bounds: Bounds
    created_at: float
    suspension: Suspension = field(default_factory=Suspension)
    cooldowns: Cooldowns = NO_COOLDOWNS
    policies: dict[str, ScalingPolicy] = field(default_factory=dict)
    scheduled_actions: dict[str, ScheduledAction] = field(default_factory=dict)
    #: the last skip recorded per direction (records once per change of reason)
    last_skip: dict[str, str] = field(default_factory=dict)


@dataclass(eq=False)
class Activity:
    """One scaling activity (``ScalingActivity``)."""

    id: str
    resource_id: str
    description: str
    cause: str
    start_s: float
    status_code: str = "Successful"
    status_message: str | None = None
    not_scaled: tuple[dict[str, Any], ...] = ()


class AutoScalingBackend:
    """The Application Auto Scaling state of the account.

    Args:
        ecs: the ECS backend (services, desired counts, records).
        cloudwatch: where target-tracking alarms live.
        settings: the Service Auto Scaling knobs.
        new_uuid: returns a fresh UUID string (alarm names, ARNs, activities).
        new_id: returns *n* random bytes as hex (scalable target ARNs).
    """

    def __init__(
        self,
        ecs: EcsBackend,
        cloudwatch: CloudWatchBackend,
        settings: ScalingSettings,
        *,
        new_uuid: Callable[[], str],
        new_id: Callable[[int], str],
    ) -> None:
        self.new_uuid = new_uuid
        self.new_id = new_id
        self.ecs = ecs
        self.cloudwatch = cloudwatch
        self.settings = settings
        self.targets: dict[str, ScalableTarget] = {}
        self.activities: list[Activity] = []
        #: called with (target, action) when a scheduled action is created,
        #: changed or deleted (the process layer re-plans its timer)
        self.on_schedule_changed: Callable[[ScalableTarget, ScheduledAction], None] = (
            lambda target, action: None
        )

    @property
    def prefix(self) -> str:
        """``arn:aws:autoscaling:REGION:ACCOUNT``."""
        return f"arn:aws:autoscaling:{self.ecs.region}:{self.ecs.account_id}"

    def service_of(self, target: ScalableTarget) -> Service | None:
        """The ACTIVE ECS service behind *target*, or None."""
        cluster = self.ecs.find_cluster(target.cluster)
        if cluster is None:
            return None
        service = self.ecs.find_service(cluster, target.service)
        return service if service is not None and service.status == "ACTIVE" else None

    # ---- activities --------------------------------------------------------
    def add_activity(
        self,
        target: ScalableTarget,
        description: str,
        cause: str,
        *,
        status_code: str = "Successful",
        status_message: str | None = None,
        not_scaled: tuple[dict[str, Any], ...] = (),
    ) -> Activity:
        """Append a scaling activity of *target* at the current time."""
        activity = Activity(
            id=self.new_uuid(),
            resource_id=target.resource_id,
            description=description,
            cause=cause,
            start_s=self.ecs.clock(),
            status_code=status_code,
            status_message=status_message,
            not_scaled=not_scaled,
        )
        self.activities.append(activity)
        return activity

    def set_capacity(
        self,
        target: ScalableTarget,
        service: Service,
        desired: int,
        cause: str,
        **detail: Any,
    ) -> None:
        """Set *service*'s desired count to *desired* as a scaling activity."""
        previous = service.desired_count
        self.ecs.set_desired_count(service, desired, cause="ApplicationAutoScaling")
        self.add_activity(
            target,
            f"Setting desired count to {desired}.",
            cause,
            status_message=(
                f"Successfully set desired count to {desired}. Change successfully "
                "fulfilled by ecs."
            ),
        )
        self.ecs.record(
            "scaling_activity",
            service=service.name,
            resource_id=target.resource_id,
            previous=previous,
            desired_count=desired,
            running_count=service.running_count,
            cause=cause,
            **detail,
        )

    def enforce_bounds(self, target: ScalableTarget, cause: str) -> None:
        """Move the service's desired count inside the target's bounds."""
        service = self.service_of(target)
        if service is None:
            return
        clamped = target.bounds.clamp(service.desired_count)
        if clamped != service.desired_count:
            self.set_capacity(target, service, clamped, cause, direction="bounds")

    def report_skip(
        self, target: ScalableTarget, service: Service, skip: Skip | None
    ) -> None:
        """Record a skipped scaling once per change of reason and direction.

        Reasons AWS reports as "not scaled" activities (AlreadyAt...Capacity,
        TargetServicePutResourceAsUnscalable) also become a ``Failed`` activity
        with ``NotScaledReasons`` (``IncludeNotScaledActivities=True``).
        """
        if skip is None:
            target.last_skip.clear()
            return
        if target.last_skip.get(skip.direction) == skip.reason:
            return
        target.last_skip.clear()
        target.last_skip[skip.direction] = skip.reason
        self.ecs.record(
            "scaling_skipped",
            service=service.name,
            resource_id=target.resource_id,
            direction=skip.direction,
            reason=skip.reason,
            policy=skip.policy,
            proposed=skip.proposed,
            desired_count=service.desired_count,
            running_count=service.running_count,
        )
        code = NOT_SCALED_CODES.get(skip.reason)
        if code is None:
            return
        reason: dict[str, Any] = {
            "Code": code,
            "CurrentCapacity": service.desired_count,
        }
        if code == "AlreadyAtMaxCapacity":
            reason["MaxCapacity"] = target.bounds.max_capacity
        elif code == "AlreadyAtMinCapacity":
            reason["MinCapacity"] = target.bounds.min_capacity
        self.add_activity(
            target,
            "Attempting to scale due to alarm triggered",
            skip.cause,
            status_code="Failed",
            not_scaled=(reason,),
        )

    def run_scheduled_action(
        self, target: ScalableTarget, action: ScheduledAction
    ) -> None:
        """Run *action* now: set the target's min/max and move the desired count
        into the new range. Cooldowns do not apply; ``ScheduledScalingSuspended``
        skips the run."""
        cause = f"scheduled action name {action.name} was triggered"
        if target.suspension.scheduled:
            self.ecs.record(
                "scaling_skipped",
                service=target.service,
                resource_id=target.resource_id,
                direction="scheduled",
                reason=SCHEDULED_SUSPENDED,
                policy=action.name,
            )
            return
        old = target.bounds
        new = scheduled_bounds(old, action.min_capacity, action.max_capacity)
        self.ecs.record(
            "scheduled_action_run",
            service=target.service,
            resource_id=target.resource_id,
            action=action.name,
            min_capacity=new.min_capacity,
            max_capacity=new.max_capacity,
        )
        if new != old:
            target.bounds = new
            self.add_activity(
                target,
                f"Setting min capacity to {new.min_capacity} and max capacity to "
                f"{new.max_capacity}",
                cause,
                status_message=(
                    f"Successfully set min capacity to {new.min_capacity} and max "
                    f"capacity to {new.max_capacity}"
                ),
            )
        self.enforce_bounds(target, cause)

    # ---- targets ------------------------------------------------------------
    def deregister(self, target: ScalableTarget) -> None:
        """Remove *target* with its policies (and their alarms) and actions."""
        for policy in list(target.policies.values()):
            self.delete_policy(target, policy)
        for action in list(target.scheduled_actions.values()):
            del target.scheduled_actions[action.name]
            self.on_schedule_changed(target, action)
        del self.targets[target.resource_id]

    def delete_policy(self, target: ScalableTarget, policy: ScalingPolicy) -> None:
        """Remove *policy* and the alarms it owns."""
        del target.policies[policy.name]
        owned = [n for n in (policy.alarm_high, policy.alarm_low) if n is not None]
        self.cloudwatch.delete_alarms(owned)

    def tracking_alarms(
        self, target: ScalableTarget, policy: ScalingPolicy, reuse: ScalingPolicy | None
    ) -> None:
        """Create (or update in place) the alarms of a target-tracking policy."""
        config = policy.target_tracking
        if config is None or policy.metric is None:
            return
        namespace, metric_name, dims = policy.metric
        statistic = (
            policy.request["TargetTrackingScalingPolicyConfiguration"]
            .get("CustomizedMetricSpecification", {})
            .get("Statistic", "Average")
        )
        base = f"TargetTracking-{target.resource_id}"
        high = reuse.alarm_high if reuse is not None and reuse.alarm_high else None
        low = reuse.alarm_low if reuse is not None and reuse.alarm_low else None
        high = high or f"{base}-AlarmHigh-{self.new_uuid()}"
        description = (
            f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy.arn}."
        )
        settings = self.settings

        def put(name: str, datapoints: int, threshold: float, comparison: str) -> None:
            self.cloudwatch.put_alarm(
                MetricAlarm(
                    name=name,
                    arn=self.cloudwatch.alarm_arn(name),
                    namespace=namespace,
                    metric_name=metric_name,
                    dimensions=dims,
                    statistic=statistic,
                    period_s=60,
                    evaluation_periods=datapoints,
                    datapoints_to_alarm=datapoints,
                    threshold=threshold,
                    comparison=comparison,
                    alarm_actions=(policy.arn,),
                    description=description,
                    managed_by=policy.arn,
                )
            )

        put(
            high,
            settings.scale_out_datapoints,
            config.target_value,
            "GreaterThanThreshold",
        )
        policy.alarm_high = high
        if config.disable_scale_in:
            if low is not None:
                self.cloudwatch.delete_alarms([low])
            policy.alarm_low = None
            return
        low = low or f"{base}-AlarmLow-{self.new_uuid()}"
        put(
            low,
            settings.scale_in_datapoints,
            config.target_value * settings.scale_in_fraction,
            "LessThanThreshold",
        )
        policy.alarm_low = low


class ApplicationAutoScalingClient(BotoShapedClient):
    """A boto3-shaped Application Auto Scaling client for ECS services.

    Use it like ``boto3.client("application-autoscaling")`` with
    ``ServiceNamespace="ecs"``, ``ScalableDimension="ecs:service:DesiredCount"``
    and ``ResourceId="service/CLUSTER/SERVICE"``. Other namespaces and
    dimensions fail with ``ValidationException``, as do predictive scaling,
    metric math and predefined metrics other than the ECS CPU and memory ones.
    """

    SERVICE = "application-autoscaling"

    def __init__(
        self,
        backend: AutoScalingBackend,
        *,
        epoch: datetime,
        request_id: Callable[[], str],
    ) -> None:
        self._backend = backend
        super().__init__(epoch=epoch, request_id=request_id)

    # ---- plumbing -------------------------------------------------------------
    def _now(self) -> float:
        return self._backend.ecs.clock()

    def _namespace(self, op: str, params: dict[str, Any]) -> None:
        namespace = params["ServiceNamespace"]
        if namespace != NAMESPACE:
            raise self._fail(
                op,
                "ValidationException",
                f"Unsupported service namespace {namespace!r}: ecssim models only "
                "Amazon ECS services (ServiceNamespace 'ecs').",
            )
        dimension = params.get("ScalableDimension")
        if dimension is not None and dimension != DIMENSION:
            raise self._fail(
                op,
                "ValidationException",
                f"Unsupported scalable dimension {dimension!r} for service namespace "
                f"ecs; use {DIMENSION!r}.",
            )

    def _resource(self, op: str, resource_id: str) -> tuple[str, str]:
        m = _RESOURCE_RE.match(resource_id)
        if m is None:
            raise self._fail(
                op,
                "ValidationException",
                f"Unsupported resource ID {resource_id!r}: an ECS service is "
                "'service/CLUSTER/SERVICE'.",
            )
        return m.group(1), m.group(2)

    def _target(self, op: str, params: dict[str, Any]) -> ScalableTarget:
        self._namespace(op, params)
        resource_id = params["ResourceId"]
        self._resource(op, resource_id)
        target = self._backend.targets.get(resource_id)
        if target is None:
            raise self._fail(
                op,
                "ObjectNotFoundException",
                f"No scalable target registered for service namespace: ecs, resource "
                f"ID: {resource_id}, scalable dimension: {DIMENSION}",
            )
        return target

    def _page(
        self, op: str, params: dict[str, Any], items: list[Any]
    ) -> tuple[list[Any], str | None]:
        size = params.get("MaxResults", MAX_RESULTS)
        if not 1 <= size <= MAX_RESULTS:
            raise self._fail(
                op,
                "ValidationException",
                f"MaxResults {size} is outside 1..{MAX_RESULTS}.",
            )
        raw = params.get("NextToken") or "0"
        if not raw.isdigit():
            raise self._fail(
                op, "InvalidNextTokenException", "The next token supplied is invalid."
            )
        start = int(raw)
        page = items[start : start + size]
        return page, str(start + size) if start + size < len(items) else None

    def _base(self, target: ScalableTarget) -> Response:
        return {
            "ServiceNamespace": NAMESPACE,
            "ResourceId": target.resource_id,
            "ScalableDimension": DIMENSION,
        }

    # ---- scalable targets ------------------------------------------------------
    def register_scalable_target(self, **kwargs: Any) -> Response:
        """Register an ECS service, or update its MinCapacity/MaxCapacity and
        SuspendedState. A desired count outside the new bounds is moved inside."""
        op = "RegisterScalableTarget"
        self._begin(op, kwargs)
        self._namespace(op, kwargs)
        if "ScalableDimension" not in kwargs:
            raise self._fail(
                op, "ValidationException", "ScalableDimension is required."
            )
        resource_id = kwargs["ResourceId"]
        cluster_name, service_name = self._resource(op, resource_id)
        backend = self._backend
        cluster = backend.ecs.find_cluster(cluster_name)
        service = (
            None if cluster is None else backend.ecs.find_service(cluster, service_name)
        )
        if service is None or service.status != "ACTIVE":
            raise self._fail(
                op, "ValidationException", f"ECS service doesn't exist: {resource_id}"
            )
        target = backend.targets.get(resource_id)
        low = kwargs.get(
            "MinCapacity", None if target is None else target.bounds.min_capacity
        )
        high = kwargs.get(
            "MaxCapacity", None if target is None else target.bounds.max_capacity
        )
        if low is None or high is None:
            raise self._fail(
                op,
                "ValidationException",
                "MinCapacity and MaxCapacity are required when registering a new "
                f"scalable target; got MinCapacity={low!r}, MaxCapacity={high!r}.",
            )
        try:
            bounds = Bounds(low, high)
        except ScenarioError as exc:
            raise self._fail(op, "ValidationException", f"{exc}.") from None
        state = kwargs.get("SuspendedState", {})
        old = target.suspension if target is not None else Suspension()
        suspension = Suspension(
            dynamic_in=state.get("DynamicScalingInSuspended", old.dynamic_in),
            dynamic_out=state.get("DynamicScalingOutSuspended", old.dynamic_out),
            scheduled=state.get("ScheduledScalingSuspended", old.scheduled),
        )
        if target is None:
            target = ScalableTarget(
                resource_id=resource_id,
                cluster=cluster_name,
                service=service_name,
                arn=(
                    f"arn:aws:application-autoscaling:{backend.ecs.region}:"
                    f"{backend.ecs.account_id}:scalable-target/{backend.new_id(14)}"
                ),
                bounds=bounds,
                created_at=self._now(),
                suspension=suspension,
            )
            backend.targets[resource_id] = target
        else:
            target.bounds = bounds
            target.suspension = suspension
        backend.ecs.record(
            "scalable_target_registered",
            service=service_name,
            resource_id=resource_id,
            min_capacity=bounds.min_capacity,
            max_capacity=bounds.max_capacity,
        )
        backend.enforce_bounds(
            target,
            f"minimum capacity was set to {bounds.min_capacity} and maximum capacity "
            f"was set to {bounds.max_capacity}",
        )
        return self._ok({"ScalableTargetARN": target.arn})

    def describe_scalable_targets(self, **kwargs: Any) -> Response:
        """The registered targets, optionally filtered by ``ResourceIds``."""
        op = "DescribeScalableTargets"
        self._begin(op, kwargs)
        self._namespace(op, kwargs)
        targets = list(self._backend.targets.values())
        if "ResourceIds" in kwargs:
            wanted = set(kwargs["ResourceIds"])
            targets = [t for t in targets if t.resource_id in wanted]
        page, token = self._page(op, kwargs, targets)
        role = (
            f"arn:aws:iam::{self._backend.ecs.account_id}:role/aws-service-role/"
            "ecs.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_ECSService"
        )
        body: Response = {
            "ScalableTargets": [
                {
                    **self._base(t),
                    "MinCapacity": t.bounds.min_capacity,
                    "MaxCapacity": t.bounds.max_capacity,
                    "RoleARN": role,
                    "CreationTime": self._dt(t.created_at),
                    "SuspendedState": {
                        "DynamicScalingInSuspended": t.suspension.dynamic_in,
                        "DynamicScalingOutSuspended": t.suspension.dynamic_out,
                        "ScheduledScalingSuspended": t.suspension.scheduled,
                    },
                    "ScalableTargetARN": t.arn,
                }
                for t in page
            ]
        }
        if token is not None:
            body["NextToken"] = token
        return self._ok(body)

    def deregister_scalable_target(self, **kwargs: Any) -> Response:
        """Deregister a target; its policies, their alarms and its scheduled
        actions are deleted."""
        op = "DeregisterScalableTarget"
        self._begin(op, kwargs)
        target = self._target(op, kwargs)
        self._backend.deregister(target)
        self._backend.ecs.record(
            "scalable_target_deregistered",
            service=target.service,
            resource_id=target.resource_id,
        )
        return self._ok({})

    # ---- scaling policies ------------------------------------------------------
    def put_scaling_policy(self, **kwargs: Any) -> Response:
        """Create or update a ``TargetTrackingScaling`` or ``StepScaling`` policy.

        A target-tracking policy creates its CloudWatch alarms (returned in
        ``Alarms``); a step policy acts when an alarm you create with
        ``AlarmActions=[PolicyARN]`` is in ALARM.
        """
        op = "PutScalingPolicy"
        self._begin(op, kwargs)
        target = self._target(op, kwargs)
        name = kwargs["PolicyName"]
        if not _NAME_RE.match(name):
            raise self._fail(
                op, "ValidationException", f"PolicyName {name!r} is not valid."
            )
        existing = target.policies.get(name)
        policy_type = kwargs.get(
            "PolicyType", existing.policy_type if existing else None
        )
        if policy_type is None:
            raise self._fail(
                op,
                "ValidationException",
                "PolicyType is required when creating a scaling policy.",
            )
        if existing is not None and existing.policy_type != policy_type:
            raise self._fail(
                op,
                "ValidationException",
                f"Policy {name} is of type {existing.policy_type}; its PolicyType cannot "
                f"change to {policy_type}.",
            )
        arn = (
            existing.arn
            if existing is not None
            else (
                f"{self._backend.prefix}:scalingPolicy:{self._backend.new_uuid()}:resource/"
                f"ecs/{target.resource_id}:policyName/{name}"
            )
        )
        policy = ScalingPolicy(
            name=name,
            arn=arn,
            policy_type=policy_type,
            created_at=existing.created_at if existing is not None else self._now(),
            request={},
        )
        if policy_type == "TargetTrackingScaling":
            self._target_tracking(op, kwargs, target, policy)
        elif policy_type == "StepScaling":
            self._step_scaling(op, kwargs, policy)
        else:
            raise self._fail(
                op,
                "ValidationException",
                f"PolicyType {policy_type} is not supported by ecssim.",
            )
        target.policies[name] = policy
        self._backend.tracking_alarms(target, policy, existing)
        alarms = [
            {"AlarmName": n, "AlarmARN": self._backend.cloudwatch.alarm_arn(n)}
            for n in (policy.alarm_high, policy.alarm_low)
            if n is not None
        ]
        self._backend.ecs.record(
            "scaling_policy_put",
            service=target.service,
            policy=name,
            policy_type=policy_type,
        )
        return self._ok({"PolicyARN": arn, "Alarms": alarms})

    def _target_tracking(
        self,
        op: str,
        kwargs: dict[str, Any],
        target: ScalableTarget,
        policy: ScalingPolicy,
    ) -> None:
        config = kwargs.get("TargetTrackingScalingPolicyConfiguration")
        if config is None:
            raise self._fail(
                op,
                "ValidationException",
                "TargetTrackingScalingPolicyConfiguration is required for a "
                "TargetTrackingScaling policy.",
            )
        if "StepScalingPolicyConfiguration" in kwargs:
            raise self._fail(
                op,
                "ValidationException",
                "StepScalingPolicyConfiguration is not valid for a TargetTrackingScaling policy.",
            )
        predefined = config.get("PredefinedMetricSpecification")
        custom = config.get("CustomizedMetricSpecification")
        if (predefined is None) == (custom is None):
            raise self._fail(
                op,
                "ValidationException",
                "Specify exactly one of PredefinedMetricSpecification and "
                "CustomizedMetricSpecification.",
            )
        if predefined is not None:
            kind = predefined["PredefinedMetricType"]
            if kind not in PREDEFINED_METRICS:
                raise self._fail(
                    op,
                    "ValidationException",
                    f"PredefinedMetricType {kind} is not supported by ecssim; use "
                    f"{' or '.join(PREDEFINED_METRICS)}, or a "
                    "CustomizedMetricSpecification.",
                )
            dims: Dimensions = (
                ("ClusterName", target.cluster),
                ("ServiceName", target.service),
            )
            metric = (ECS_NAMESPACE, PREDEFINED_METRICS[kind], dims)
        else:
            if "Metrics" in custom:
                raise self._fail(
                    op,
                    "ValidationException",
                    "Metric math (Metrics) is not supported by ecssim.",
                )
            missing = [
                k for k in ("MetricName", "Namespace", "Statistic") if k not in custom
            ]
            if missing:
                raise self._fail(
                    op,
                    "ValidationException",
                    f"CustomizedMetricSpecification needs {', '.join(missing)}.",
                )
            dims = tuple(
                sorted((d["Name"], d["Value"]) for d in custom.get("Dimensions", []))
            )
            metric = (custom["Namespace"], custom["MetricName"], dims)
        for other in target.policies.values():
            if other.name != policy.name and other.metric == metric:
                raise self._fail(
                    op,
                    "ValidationException",
                    f"Target tracking policy {other.name} already uses metric "
                    f"{metric[0]}/{metric[1]}; each target-tracking policy of a "
                    "scalable target needs a different metric.",
                )
        default = self._backend.settings.default_cooldown_s
        try:
            policy.target_tracking = TargetTracking(
                target_value=float(config["TargetValue"]),
                scale_out_cooldown_s=float(config.get("ScaleOutCooldown", default)),
                scale_in_cooldown_s=float(config.get("ScaleInCooldown", default)),
                disable_scale_in=bool(config.get("DisableScaleIn", False)),
            )
        except ScenarioError as exc:
            raise self._fail(op, "ValidationException", f"{exc}.") from None
        policy.metric = metric
        policy.request = {"TargetTrackingScalingPolicyConfiguration": config}

    def _step_scaling(
        self, op: str, kwargs: dict[str, Any], policy: ScalingPolicy
    ) -> None:
        config = kwargs.get("StepScalingPolicyConfiguration")
        if config is None:
            raise self._fail(
                op,
                "ValidationException",
                "StepScalingPolicyConfiguration is required for a StepScaling policy.",
            )
        if "TargetTrackingScalingPolicyConfiguration" in kwargs:
            raise self._fail(
                op,
                "ValidationException",
                "TargetTrackingScalingPolicyConfiguration is not valid for a StepScaling policy.",
            )
        if "AdjustmentType" not in config:
            raise self._fail(op, "ValidationException", "AdjustmentType is required.")
        steps = tuple(
            StepAdjustment(
                s.get("MetricIntervalLowerBound"),
                s.get("MetricIntervalUpperBound"),
                s["ScalingAdjustment"],
            )
            for s in config.get("StepAdjustments", [])
        )
        try:
            policy.step = StepScaling(
                adjustment_type=config["AdjustmentType"],
                step_adjustments=steps,
                min_adjustment_magnitude=config.get("MinAdjustmentMagnitude"),
                cooldown_s=float(
                    config.get("Cooldown", self._backend.settings.default_cooldown_s)
                ),
                metric_aggregation=config.get("MetricAggregationType", "Average"),
            )
        except ScenarioError as exc:
            raise self._fail(op, "ValidationException", f"{exc}.") from None
        policy.request = {"StepScalingPolicyConfiguration": config}

    def describe_scaling_policies(self, **kwargs: Any) -> Response:
        """Policies, optionally of one ``ResourceId`` and by ``PolicyNames``."""
        op = "DescribeScalingPolicies"
        self._begin(op, kwargs)
        self._namespace(op, kwargs)
        resource = kwargs.get("ResourceId")
        names = set(kwargs["PolicyNames"]) if "PolicyNames" in kwargs else None
        found = [
            (t, p)
            for t in self._backend.targets.values()
            if resource is None or t.resource_id == resource
            for p in t.policies.values()
            if names is None or p.name in names
        ]
        page, token = self._page(op, kwargs, found)
        policies = []
        for target, policy in page:
            alarms = [
                {"AlarmName": a.name, "AlarmARN": a.arn}
                for a in self._backend.cloudwatch.alarms_with_action(policy.arn)
            ]
            policies.append(
                {
                    "PolicyARN": policy.arn,
                    "PolicyName": policy.name,
                    **self._base(target),
                    "PolicyType": policy.policy_type,
                    **policy.request,
                    "Alarms": alarms,
                    "CreationTime": self._dt(policy.created_at),
                }
            )
        body: Response = {"ScalingPolicies": policies}
        if token is not None:
            body["NextToken"] = token
        return self._ok(body)

    def delete_scaling_policy(self, **kwargs: Any) -> Response:
        """Delete a policy and the alarms it owns."""
        op = "DeleteScalingPolicy"
        self._begin(op, kwargs)
        target = self._target(op, kwargs)
        policy = target.policies.get(kwargs["PolicyName"])
        if policy is None:
            raise self._fail(
                op,
                "ObjectNotFoundException",
                f"No scaling policy found for service namespace: ecs, resource ID: "
                f"{target.resource_id}, scalable dimension: {DIMENSION}, policy name: "
                f"{kwargs['PolicyName']}",
            )
        self._backend.delete_policy(target, policy)
        return self._ok({})

    # ---- scheduled actions ------------------------------------------------------
    def _time(self, op: str, name: str, value: Any) -> datetime:
        try:
            when = value if isinstance(value, datetime) else parse_timestamp(value)
        except (ValueError, TypeError):
            raise self._fail(
                op, "ValidationException", f"{name} {value!r} is not a timestamp."
            ) from None
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

    def put_scheduled_action(self, **kwargs: Any) -> Response:
        """Create or update a scheduled action (``at()``, ``rate()`` or
        ``cron()``) that sets MinCapacity and/or MaxCapacity when it runs."""
        op = "PutScheduledAction"
        self._begin(op, kwargs)
        target = self._target(op, kwargs)
        name = kwargs["ScheduledActionName"]
        if not _NAME_RE.match(name):
            raise self._fail(
                op, "ValidationException", f"ScheduledActionName {name!r} is not valid."
            )
        existing = target.scheduled_actions.get(name)
        expression = kwargs.get("Schedule", existing.expression if existing else None)
        if expression is None:
            raise self._fail(
                op,
                "ValidationException",
                "Schedule is required when creating a scheduled action.",
            )
        try:
            schedule = parse_schedule(expression)
        except ScenarioError as exc:
            raise self._fail(op, "ValidationException", f"{exc}.") from None
        timezone = kwargs.get("Timezone", existing.timezone if existing else "UTC")
        if timezone != "UTC":
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise self._fail(
                    op,
                    "ValidationException",
                    f"Timezone {timezone!r} is not a valid IANA time zone.",
                ) from None
        start = (
            self._time(op, "StartTime", kwargs["StartTime"])
            if "StartTime" in kwargs
            else (existing.start_time if existing else None)
        )
        end = (
            self._time(op, "EndTime", kwargs["EndTime"])
            if "EndTime" in kwargs
            else (existing.end_time if existing else None)
        )
        if start is not None and end is not None and end <= start:
            raise self._fail(
                op, "ValidationException", "EndTime must be after StartTime."
            )
        action_spec = kwargs.get("ScalableTargetAction")
        low = existing.min_capacity if existing else None
        high = existing.max_capacity if existing else None
        if action_spec is not None:
            low = action_spec.get("MinCapacity")
            high = action_spec.get("MaxCapacity")
        if low is None and high is None:
            raise self._fail(
                op,
                "ValidationException",
                "ScalableTargetAction needs MinCapacity, MaxCapacity or both.",
            )
        if (
            (low is not None and low < 0)
            or (high is not None and high < 0)
            or (low is not None and high is not None and low > high)
        ):
            raise self._fail(
                op,
                "ValidationException",
                f"ScalableTargetAction MinCapacity {low} and MaxCapacity {high} must be "
                ">= 0 with MinCapacity <= MaxCapacity.",
            )
        arn = (
            existing.arn
            if existing is not None
            else (
                f"{self._backend.prefix}:scheduledAction:{self._backend.new_uuid()}:resource/"
                f"ecs/{target.resource_id}:scheduledActionName/{name}"
            )
        )
        action = ScheduledAction(
            name=name,
            arn=arn,
            expression=expression,
            schedule=schedule,
            created_at=existing.created_at if existing else self._now(),
            timezone=timezone,
            start_time=start,
            end_time=end,
            min_capacity=low,
            max_capacity=high,
        )
        target.scheduled_actions[name] = action
        self._backend.on_schedule_changed(target, action)
        return self._ok({})

    def describe_scheduled_actions(self, **kwargs: Any) -> Response:
        """Scheduled actions, optionally of one ``ResourceId`` and by name."""
        op = "DescribeScheduledActions"
        self._begin(op, kwargs)
        self._namespace(op, kwargs)
        resource = kwargs.get("ResourceId")
        names = (
            set(kwargs["ScheduledActionNames"])
            if "ScheduledActionNames" in kwargs
            else None
        )
        found = [
            (t, a)
            for t in self._backend.targets.values()
            if resource is None or t.resource_id == resource
            for a in t.scheduled_actions.values()
            if names is None or a.name in names
        ]
        page, token = self._page(op, kwargs, found)
        actions = []
        for target, action in page:
            body: Response = {
                "ScheduledActionName": action.name,
                "ScheduledActionARN": action.arn,
                **self._base(target),
                "Schedule": action.expression,
                "Timezone": action.timezone,
                "ScalableTargetAction": {
                    k: v
                    for k, v in (
                        ("MinCapacity", action.min_capacity),
                        ("MaxCapacity", action.max_capacity),
                    )
                    if v is not None
                },
                "CreationTime": self._dt(action.created_at),
            }
            if action.start_time is not None:
                body["StartTime"] = action.start_time
            if action.end_time is not None:
                body["EndTime"] = action.end_time
            actions.append(body)
        result: Response = {"ScheduledActions": actions}
        if token is not None:
            result["NextToken"] = token
        return self._ok(result)

    def delete_scheduled_action(self, **kwargs: Any) -> Response:
        """Delete a scheduled action (it will not run again)."""
        op = "DeleteScheduledAction"
        self._begin(op, kwargs)
        target = self._target(op, kwargs)
        action = target.scheduled_actions.pop(kwargs["ScheduledActionName"], None)
        if action is None:
            raise self._fail(
                op,
                "ObjectNotFoundException",
                f"No scheduled action found for service namespace: ecs, resource ID: "
                f"{target.resource_id}, scalable dimension: {DIMENSION}, scheduled "
                f"action name: {kwargs['ScheduledActionName']}",
            )
        self._backend.on_schedule_changed(target, action)
        return self._ok({})

    # ---- activities ------------------------------------------------------------
    def describe_scaling_activities(self, **kwargs: Any) -> Response:
        """Scaling activities, newest first; with
        ``IncludeNotScaledActivities=True`` also the decisions not to scale."""
        op = "DescribeScalingActivities"
        self._begin(op, kwargs)
        self._namespace(op, kwargs)
        resource = kwargs.get("ResourceId")
        if resource is not None:
            self._resource(op, resource)
        include = kwargs.get("IncludeNotScaledActivities", False)
        found = [
            a
            for a in reversed(self._backend.activities)
            if (resource is None or a.resource_id == resource)
            and (include or not a.not_scaled)
        ]
        page, token = self._page(op, kwargs, found)
        activities = []
        for a in page:
            body: Response = {
                "ActivityId": a.id,
                "ServiceNamespace": NAMESPACE,
                "ResourceId": a.resource_id,
                "ScalableDimension": DIMENSION,
                "Description": a.description,
                "Cause": a.cause,
                "StartTime": self._dt(a.start_s),
                "StatusCode": a.status_code,
            }
            if a.status_code == "Successful":
                body["EndTime"] = self._dt(a.start_s)
            if a.status_message is not None:
                body["StatusMessage"] = a.status_message
            if a.not_scaled:
                body["NotScaledReasons"] = list(a.not_scaled)
            activities.append(body)
        result: Response = {"ScalingActivities": activities}
        if token is not None:
            result["NextToken"] = token
        return self._ok(result)
