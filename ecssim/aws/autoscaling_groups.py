"""EC2 Auto Scaling groups of the simulated account and their boto3-shaped
``autoscaling`` client.

The records (:class:`AutoScalingGroup`, :class:`GroupInstance`,
:class:`Activity`) live in :class:`AutoScalingBackend`; the client reads and
changes them and tells the backend's listeners, and the process layer
(:mod:`ecssim.sim.asg`) launches and terminates instances to follow the
desired capacity. Requests are validated against botocore's ``autoscaling``
model as :class:`~ecssim.aws.ecs.EcsClient` does.

ecssim models no launch templates: a group names its instance types in
``MixedInstancesPolicy.LaunchTemplate.Overrides`` (the launch template itself
is not looked up) and its on-demand / Spot split in
``MixedInstancesPolicy.InstancesDistribution``; zones are ``AvailabilityZones``.

Sources: the Amazon EC2 Auto Scaling API Reference
(https://docs.aws.amazon.com/autoscaling/ec2/APIReference/) for
CreateAutoScalingGroup, DescribeAutoScalingGroups, UpdateAutoScalingGroup,
SetInstanceProtection and DescribeScalingActivities, and the user guide's
instance scale-in protection page for the activity a protected scale-in leaves.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from ecssim.aws.errors import BotoShapedClient, ClientError
from ecssim.rules.instance_types import (
    INSTANCE_TYPES,
    ON_DEMAND_STRATEGIES,
    SPOT_STRATEGIES,
    InstanceType,
)

Response = dict[str, Any]

#: SetInstanceProtection takes up to 50 instance ids.
MAX_PROTECTION_INSTANCES: Final = 50
#: DescribeAutoScalingGroups / DescribeScalingActivities: MaxRecords up to 100.
MAX_RECORDS: Final = 100
#: The activity status message of a scale-in the group could not complete
#: (EC2 Auto Scaling user guide, "Use instance scale-in protection").
PROTECTED_SCALE_IN_MESSAGE: Final = (
    "Could not scale to desired capacity because all remaining instances are "
    "protected from scale-in."
)
#: Lifecycle states of an instance in the group.
PENDING: Final = "Pending"
IN_SERVICE: Final = "InService"
TERMINATING_WAIT: Final = "Terminating:Wait"
TERMINATED: Final = "Terminated"


@dataclass(eq=False)
class GroupInstance:
    """One EC2 instance of a group."""

    instance_id: str
    instance_type: str
    availability_zone: str
    spot: bool
    launched_at: float
    protected_from_scale_in: bool
    lifecycle_state: str = PENDING
    #: the ECS container instance id once its agent registered it
    container_instance_id: str | None = None
    #: the cluster its agent registered it with
    cluster: str = "default"


@dataclass(eq=False)
class Activity:
    """A scaling activity (DescribeScalingActivities)."""

    activity_id: str
    group: str
    description: str
    cause: str
    start_time: float
    end_time: float | None
    status_code: str
    status_message: str = ""
    progress: int = 100


@dataclass(eq=False)
class AutoScalingGroup:
    """An Auto Scaling group and its instances."""

    name: str
    arn: str
    min_size: int
    max_size: int
    desired_capacity: int
    availability_zones: tuple[str, ...]
    instance_types: tuple[str, ...]
    on_demand_base: int
    on_demand_percent_above_base: int
    new_instances_protected: bool
    created_at: float
    on_demand_allocation_strategy: str = "prioritized"
    spot_allocation_strategy: str = "lowest-price"
    spot_instance_pools: int = 2
    default_cooldown_s: int = 300
    tags: list[dict[str, Any]] = field(default_factory=list)
    #: live instances (not Terminated), by instance id, in launch order
    instances: dict[str, GroupInstance] = field(default_factory=dict)
    launched: int = 0

    @property
    def counted(self) -> list[GroupInstance]:
        """Instances that count towards the desired capacity (Pending and
        InService; an instance waiting to terminate no longer does)."""
        return [
            i
            for i in self.instances.values()
            if i.lifecycle_state in (PENDING, IN_SERVICE)
        ]


def new_instance_id(group: str, serial: int) -> str:
    """An EC2-style instance id (``i-`` and 17 hex digits), deterministic (no
    random stream is drawn, so launching instances never shifts task ids)."""
    digest = hashlib.sha256(f"{group}/ec2/{serial}".encode()).hexdigest()
    return "i-" + digest[:17]


class AutoScalingBackend:
    """The EC2 Auto Scaling "database" of the simulated account."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        new_uuid: Callable[[], str],
        region: str,
        account_id: str,
        availability_zones: tuple[str, ...],
        record: Callable[..., None],
    ) -> None:
        self.clock = clock
        self.new_uuid = new_uuid
        self.region = region
        self.account_id = account_id
        self.availability_zones = availability_zones
        self.record = record
        self.groups: dict[str, AutoScalingGroup] = {}
        self.activities: list[Activity] = []
        #: instance types known to this account (the bundled table, plus scenario's)
        self.instance_types: dict[str, InstanceType] = dict(INSTANCE_TYPES)
        #: called with a group whenever its capacity, protection or size changed
        self.listeners: list[Callable[[AutoScalingGroup], None]] = []

    def arn(self, group: str) -> str:
        """The ARN of the group named *group*."""
        uuid = self.new_uuid()
        return (
            f"arn:aws:autoscaling:{self.region}:{self.account_id}:autoScalingGroup:"
            f"{uuid}:autoScalingGroupName/{group}"
        )

    def find(self, ref: str) -> AutoScalingGroup | None:
        """The group named *ref* or with ARN *ref*."""
        group = self.groups.get(ref)
        if group is not None:
            return group
        for candidate in self.groups.values():
            if candidate.arn == ref:
                return candidate
        return None

    def changed(self, group: AutoScalingGroup) -> None:
        """Tell the listeners *group* changed."""
        for listener in self.listeners:
            listener(group)

    def add_activity(
        self,
        group: AutoScalingGroup,
        description: str,
        cause: str,
        *,
        status_code: str = "Successful",
        status_message: str = "",
    ) -> Activity:
        """Record a scaling activity of *group* (it starts and ends now)."""
        now = self.clock()
        activity = Activity(
            activity_id=self.new_uuid(),
            group=group.name,
            description=description,
            cause=cause,
            start_time=now,
            end_time=now,
            status_code=status_code,
            status_message=status_message,
        )
        self.activities.append(activity)
        return activity

    def set_desired_capacity(
        self, group: AutoScalingGroup, desired: int, cause: str
    ) -> bool:
        """Change *group*'s desired capacity (within min and max, checked by the
        caller); False when it already had it."""
        if desired == group.desired_capacity:
            return False
        previous = group.desired_capacity
        group.desired_capacity = desired
        self.record(
            "asg_desired_capacity_changed",
            auto_scaling_group=group.name,
            previous=previous,
            desired_capacity=desired,
            cause=cause,
        )
        self.changed(group)
        return True


@dataclass(frozen=True, slots=True)
class _Policy:
    names: tuple[str, ...]
    base: int
    percent: int
    on_demand_strategy: str
    spot_strategy: str
    spot_pools: int


def _instance_type_names(
    raw: Mapping[str, Any] | None, known: Mapping[str, InstanceType]
) -> _Policy | str:
    """Instance types, on-demand base, percent above base and allocation
    strategies of a mixed instances policy, or an error message."""
    if raw is None:
        return (
            "ecssim models no launch templates: give MixedInstancesPolicy with "
            "LaunchTemplate.Overrides naming the InstanceType of each instance type."
        )
    overrides = raw.get("LaunchTemplate", {}).get("Overrides") or []
    names = tuple(o.get("InstanceType") for o in overrides if o.get("InstanceType"))
    if not names:
        return (
            "MixedInstancesPolicy.LaunchTemplate.Overrides must name at least one "
            "InstanceType."
        )
    for name in names:
        if name not in known:
            return (
                f"The instance type {name!r} is not one ecssim knows; known: "
                f"{', '.join(sorted(known))}."
            )
    distribution = raw.get("InstancesDistribution", {})
    base = distribution.get("OnDemandBaseCapacity", 0)
    percent = distribution.get("OnDemandPercentageAboveBaseCapacity", 100)
    if base < 0 or not 0 <= percent <= 100:
        return (
            f"OnDemandBaseCapacity {base} must be >= 0 and "
            f"OnDemandPercentageAboveBaseCapacity {percent} within 0..100."
        )
    on_demand = distribution.get("OnDemandAllocationStrategy", "prioritized")
    if on_demand not in ON_DEMAND_STRATEGIES:
        return (
            f"OnDemandAllocationStrategy {on_demand!r} is not one ecssim models; "
            f"give one of {', '.join(ON_DEMAND_STRATEGIES)}."
        )
    spot = distribution.get("SpotAllocationStrategy", "lowest-price")
    if spot not in SPOT_STRATEGIES:
        return (
            f"SpotAllocationStrategy {spot!r} is not one ecssim models; give one "
            f"of {', '.join(SPOT_STRATEGIES)}."
        )
    pools = distribution.get("SpotInstancePools", 2)
    if not 1 <= pools <= 20:
        return f"SpotInstancePools {pools} must be within 1..20."
    if "SpotInstancePools" in distribution and spot != "lowest-price":
        return (
            "SpotInstancePools is valid only with the lowest-price "
            f"SpotAllocationStrategy, not {spot!r}."
        )
    return _Policy(names, base, percent, on_demand, spot, pools)


class AutoScalingClient(BotoShapedClient):
    """A boto3-shaped EC2 Auto Scaling client (``boto3.client("autoscaling")``)."""

    SERVICE = "autoscaling"

    def __init__(
        self,
        backend: AutoScalingBackend,
        *,
        epoch: datetime,
        request_id: Callable[[], str],
    ) -> None:
        self._backend = backend
        super().__init__(epoch=epoch, request_id=request_id)

    def _invalid(self, op: str, message: str) -> ClientError:
        return self._fail(op, "ValidationError", message)

    def _group(self, op: str, name: str) -> AutoScalingGroup:
        group = self._backend.find(name)
        if group is None:
            raise self._invalid(op, f"AutoScalingGroup name not found - {name}")
        return group

    @staticmethod
    def _check_sizes(min_size: int, max_size: int, desired: int) -> str | None:
        if min_size < 0 or max_size < 0:
            return f"MinSize {min_size} and MaxSize {max_size} must be >= 0."
        if min_size > max_size:
            return (
                f"Max bound, {max_size}, must be greater than or equal to min "
                f"bound, {min_size}"
            )
        if not min_size <= desired <= max_size:
            return (
                f"Desired capacity:{desired} must be between the specified min "
                f"size:{min_size} and max size:{max_size}"
            )
        return None

    # ---- operations -----------------------------------------------------------------
    def create_auto_scaling_group(self, **kwargs: Any) -> Response:
        """Create a group; it launches up to its desired capacity (the default is
        its MinSize) as soon as the simulation runs."""
        op = "CreateAutoScalingGroup"
        self._begin(op, kwargs)
        backend = self._backend
        name = kwargs["AutoScalingGroupName"]
        if name in backend.groups:
            raise self._fail(
                op,
                "AlreadyExists",
                f"AutoScalingGroup by this name already exists - A group with the "
                f"name {name} already exists",
            )
        for unsupported in (
            "VPCZoneIdentifier",
            "InstanceId",
            "LaunchConfigurationName",
        ):
            if unsupported in kwargs:
                raise self._invalid(
                    op,
                    f"ecssim does not model {unsupported}; give AvailabilityZones and "
                    "a MixedInstancesPolicy.",
                )
        types = _instance_type_names(
            kwargs.get("MixedInstancesPolicy"), backend.instance_types
        )
        if isinstance(types, str):
            raise self._invalid(op, types)
        names = types.names
        zones = tuple(kwargs.get("AvailabilityZones") or ())
        if not zones:
            raise self._invalid(op, "At least one Availability Zone must be given.")
        for zone in zones:
            if zone not in backend.availability_zones:
                raise self._invalid(
                    op,
                    f"Invalid Availability Zone {zone!r}; the simulated zones are "
                    f"{', '.join(backend.availability_zones)}.",
                )
        min_size, max_size = kwargs["MinSize"], kwargs["MaxSize"]
        desired = kwargs.get("DesiredCapacity", min_size)
        problem = self._check_sizes(min_size, max_size, desired)
        if problem:
            raise self._invalid(op, problem)
        group = AutoScalingGroup(
            name=name,
            arn=backend.arn(name),
            min_size=min_size,
            max_size=max_size,
            desired_capacity=desired,
            availability_zones=zones,
            instance_types=names,
            on_demand_base=types.base,
            on_demand_percent_above_base=types.percent,
            on_demand_allocation_strategy=types.on_demand_strategy,
            spot_allocation_strategy=types.spot_strategy,
            spot_instance_pools=types.spot_pools,
            new_instances_protected=bool(
                kwargs.get("NewInstancesProtectedFromScaleIn", False)
            ),
            created_at=backend.clock(),
            default_cooldown_s=kwargs.get("DefaultCooldown", 300),
            tags=copy.deepcopy(kwargs.get("Tags") or []),
        )
        backend.groups[name] = group
        backend.record(
            "asg_created",
            auto_scaling_group=name,
            min_size=min_size,
            max_size=max_size,
            desired_capacity=desired,
            instance_types=list(names),
        )
        backend.changed(group)
        return self._ok({})

    def _instance_json(
        self, group: AutoScalingGroup, instance: GroupInstance
    ) -> Response:
        return {
            "InstanceId": instance.instance_id,
            "InstanceType": instance.instance_type,
            "AvailabilityZone": instance.availability_zone,
            "LifecycleState": instance.lifecycle_state,
            "HealthStatus": "Healthy",
            "ProtectedFromScaleIn": instance.protected_from_scale_in,
            "LaunchTemplate": {"LaunchTemplateName": f"{group.name}-ecssim"},
        }

    def _group_json(self, group: AutoScalingGroup, with_instances: bool) -> Response:
        body: Response = {
            "AutoScalingGroupName": group.name,
            "AutoScalingGroupARN": group.arn,
            "MixedInstancesPolicy": {
                "LaunchTemplate": {
                    "LaunchTemplateSpecification": {
                        "LaunchTemplateName": f"{group.name}-ecssim"
                    },
                    "Overrides": [{"InstanceType": t} for t in group.instance_types],
                },
                "InstancesDistribution": {
                    "OnDemandBaseCapacity": group.on_demand_base,
                    "OnDemandPercentageAboveBaseCapacity": (
                        group.on_demand_percent_above_base
                    ),
                    "OnDemandAllocationStrategy": group.on_demand_allocation_strategy,
                    "SpotAllocationStrategy": group.spot_allocation_strategy,
                    **(
                        {"SpotInstancePools": group.spot_instance_pools}
                        if group.spot_allocation_strategy == "lowest-price"
                        else {}
                    ),
                },
            },
            "MinSize": group.min_size,
            "MaxSize": group.max_size,
            "DesiredCapacity": group.desired_capacity,
            "DefaultCooldown": group.default_cooldown_s,
            "AvailabilityZones": list(group.availability_zones),
            "HealthCheckType": "EC2",
            "CreatedTime": self._dt(group.created_at),
            "NewInstancesProtectedFromScaleIn": group.new_instances_protected,
            "TerminationPolicies": ["Default"],
            "Tags": copy.deepcopy(group.tags),
        }
        if with_instances:
            body["Instances"] = [
                self._instance_json(group, i) for i in group.instances.values()
            ]
        return body

    def _page(
        self, op: str, items: list[Any], kwargs: dict[str, Any]
    ) -> tuple[list[Any], str | None]:
        token = kwargs.get("NextToken") or "0"
        if not (token.isascii() and token.isdigit()):
            raise self._fail(op, "InvalidNextToken", f"Invalid NextToken {token!r}.")
        size = kwargs.get("MaxRecords", 50)
        if not 1 <= size <= MAX_RECORDS:
            raise self._invalid(op, f"MaxRecords {size} is outside 1..{MAX_RECORDS}.")
        start = int(token)
        more = start + size < len(items)
        return items[start : start + size], str(start + size) if more else None

    def describe_auto_scaling_groups(self, **kwargs: Any) -> Response:
        """Describe the named groups (all of them when none is named)."""
        op = "DescribeAutoScalingGroups"
        self._begin(op, kwargs)
        names = kwargs.get("AutoScalingGroupNames")
        groups = [
            g for g in self._backend.groups.values() if not names or g.name in names
        ]
        page, token = self._page(op, groups, kwargs)
        with_instances = kwargs.get("IncludeInstances", True)
        body: Response = {
            "AutoScalingGroups": [self._group_json(g, with_instances) for g in page]
        }
        if token is not None:
            body["NextToken"] = token
        return self._ok(body)

    def update_auto_scaling_group(self, **kwargs: Any) -> Response:
        """Change MinSize, MaxSize, DesiredCapacity or
        NewInstancesProtectedFromScaleIn (other settings are refused)."""
        op = "UpdateAutoScalingGroup"
        self._begin(op, kwargs)
        group = self._group(op, kwargs["AutoScalingGroupName"])
        supported = {
            "AutoScalingGroupName",
            "MinSize",
            "MaxSize",
            "DesiredCapacity",
            "NewInstancesProtectedFromScaleIn",
            "DefaultCooldown",
        }
        other = sorted(set(kwargs) - supported)
        if other:
            raise self._invalid(
                op, f"ecssim does not model changing {', '.join(other)}."
            )
        min_size = kwargs.get("MinSize", group.min_size)
        max_size = kwargs.get("MaxSize", group.max_size)
        desired = kwargs.get("DesiredCapacity")
        if desired is None:
            # a new min or max drags the desired capacity with it
            desired = max(min_size, min(max_size, group.desired_capacity))
        problem = self._check_sizes(min_size, max_size, desired)
        if problem:
            raise self._invalid(op, problem)
        group.min_size, group.max_size = min_size, max_size
        group.default_cooldown_s = kwargs.get(
            "DefaultCooldown", group.default_cooldown_s
        )
        if "NewInstancesProtectedFromScaleIn" in kwargs:
            group.new_instances_protected = bool(
                kwargs["NewInstancesProtectedFromScaleIn"]
            )
        previous = group.desired_capacity
        if not self._backend.set_desired_capacity(
            group,
            desired,
            f"a user request update of AutoScalingGroup constraints to min: "
            f"{min_size}, max: {max_size}, desired: {desired} changing the desired "
            f"capacity from {previous} to {desired}",
        ):
            self._backend.changed(group)
        return self._ok({})

    def set_instance_protection(self, **kwargs: Any) -> Response:
        """Turn scale-in protection on or off for up to 50 instances of a group."""
        op = "SetInstanceProtection"
        self._begin(op, kwargs)
        group = self._group(op, kwargs["AutoScalingGroupName"])
        ids = kwargs["InstanceIds"]
        if len(ids) > MAX_PROTECTION_INSTANCES:
            raise self._fail(
                op,
                "LimitExceeded",
                f"The number of instances exceeds the limit of "
                f"{MAX_PROTECTION_INSTANCES}.",
            )
        for instance_id in ids:
            if instance_id not in group.instances:
                raise self._invalid(
                    op,
                    f"The instance {instance_id} is not part of Auto Scaling group "
                    f"{group.name}.",
                )
        enabled = bool(kwargs["ProtectedFromScaleIn"])
        changed = False
        for instance_id in ids:
            instance = group.instances[instance_id]
            if instance.protected_from_scale_in != enabled:
                instance.protected_from_scale_in = enabled
                changed = True
        if changed:
            self._backend.changed(group)
        return self._ok({})

    def describe_scaling_activities(self, **kwargs: Any) -> Response:
        """A group's scaling activities, newest first."""
        op = "DescribeScalingActivities"
        self._begin(op, kwargs)
        name = kwargs.get("AutoScalingGroupName")
        if name is not None:
            self._group(op, name)
        wanted_ids = kwargs.get("ActivityIds")
        activities = [
            a
            for a in reversed(self._backend.activities)
            if (name is None or a.group == name)
            and (not wanted_ids or a.activity_id in wanted_ids)
        ]
        page, token = self._page(op, activities, kwargs)
        body: Response = {
            "Activities": [
                {
                    "ActivityId": a.activity_id,
                    "AutoScalingGroupName": a.group,
                    "AutoScalingGroupARN": self._backend.groups[a.group].arn,
                    "Description": a.description,
                    "Cause": a.cause,
                    "StartTime": self._dt(a.start_time),
                    **(
                        {"EndTime": self._dt(a.end_time)}
                        if a.end_time is not None
                        else {}
                    ),
                    "StatusCode": a.status_code,
                    **({"StatusMessage": a.status_message} if a.status_message else {}),
                    "Progress": a.progress,
                    "Details": "{}",
                }
                for a in page
            ]
        }
        if token is not None:
            body["NextToken"] = token
        return self._ok(body)
