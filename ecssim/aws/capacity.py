"""Container instances and Auto Scaling group capacity providers of the
simulated ECS account (the control-plane half of EC2 capacity).

Records here are plain mutable objects owned by :class:`ecssim.aws.state.EcsBackend`
(``backend.capacity_providers``) and by each cluster
(``cluster.container_instances``); the functions below change them and record
what changed, then tell the backend's listener
(``container_instance_changed``): the process layer places waiting tasks,
drains and replaces (:mod:`ecssim.sim.placer`, ``docs/ec2-capacity.md``). The
arithmetic (remaining resources, placement, scaling) is in
:mod:`ecssim.rules.capacity`.

Sources: RegisterContainerInstance, DeregisterContainerInstance,
UpdateContainerInstancesState, CreateCapacityProvider and
PutClusterCapacityProviders in the Amazon ECS API Reference
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/), and
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-capacity-providers.html
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from ecssim.errors import InvariantViolation
from ecssim.rules.capacity import (
    CPU_UNITS_PER_VCPU,
    InstanceView,
    ManagedScaling,
    Resources,
    remaining_resources,
)
from ecssim.rules.lifecycle import TaskStatus

if TYPE_CHECKING:
    from ecssim.aws.state import Cluster, EcsBackend, Task

#: Container instance statuses that ListContainerInstances shows by default
LISTED_STATUSES: Final = (
    "ACTIVE",
    "DRAINING",
    "REGISTERING",
    "DEREGISTERING",
    "REGISTRATION_FAILED",
)
#: The statuses UpdateContainerInstancesState accepts
SETTABLE_STATUSES: Final = ("ACTIVE", "DRAINING")
#: The Fargate capacity providers every account has (they cannot be created)
FARGATE_PROVIDERS: Final = ("FARGATE", "FARGATE_SPOT")
#: A capacity provider's name may not start with these (case-insensitive)
RESERVED_PREFIXES: Final = ("aws", "ecs", "fargate")
ASG_ARN_RE: Final = re.compile(
    r"^arn:aws[a-z-]*:autoscaling:[a-z0-9-]+:\d{12}:autoScalingGroup:"
    r"[0-9a-fA-F-]+:autoScalingGroupName/[^/]{1,255}$"
)
_SIZE_RE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


@dataclass(eq=False)
class CapacityProvider:
    """An Auto Scaling group capacity provider (``type`` EC2_AUTOSCALING)."""

    name: str
    arn: str
    auto_scaling_group_arn: str
    managed_scaling: ManagedScaling
    managed_termination_protection: bool
    managed_draining: bool
    created_at: float
    tags: list[dict[str, str]] = field(default_factory=list)
    status: str = "ACTIVE"
    #: the clusters it is associated with (one at most with managed scaling)
    clusters: list[str] = field(default_factory=list)


@dataclass(eq=False)
class ContainerInstance:
    """An EC2 instance registered to a cluster by its ECS agent."""

    container_instance_id: str
    arn: str
    cluster: Cluster
    ec2_instance_id: str
    availability_zone: str
    registered: Resources
    registered_at: float
    instance_type: str | None = None
    capacity_provider: str | None = None
    #: custom attributes (the built-in ones are derived)
    attributes: dict[str, str | None] = field(default_factory=dict)
    #: registered resources other than CPU and MEMORY (PORTS ...), echoed back
    other_resources: list[dict[str, Any]] = field(default_factory=list)
    version_info: dict[str, str] = field(default_factory=dict)
    tags: list[dict[str, str]] = field(default_factory=list)
    status: str = "ACTIVE"
    #: bumped on every change, as ECS does (``version``)
    version: int = 1
    #: tasks placed here that are not STOPPED yet, by task id
    tasks: dict[str, Task] = field(default_factory=dict)

    @property
    def reserved(self) -> list[Resources]:
        """What each task placed here reserves until it is STOPPED."""
        return [
            task_need(t)
            for t in self.tasks.values()
            if t.last_status is not TaskStatus.STOPPED
        ]

    @property
    def remaining(self) -> Resources:
        """``remainingResources``: registered minus what its tasks reserve."""
        return remaining_resources(self.registered, self.reserved)

    @property
    def running_tasks_count(self) -> int:
        """Tasks here in RUNNING (``runningTasksCount``)."""
        return sum(
            1 for t in self.tasks.values() if t.last_status is TaskStatus.RUNNING
        )

    @property
    def pending_tasks_count(self) -> int:
        """Tasks here in PROVISIONING or PENDING (``pendingTasksCount``)."""
        return sum(
            1
            for t in self.tasks.values()
            if t.last_status in (TaskStatus.PROVISIONING, TaskStatus.PENDING)
        )

    @property
    def builtin_attributes(self) -> dict[str, str | None]:
        """The attributes ECS applies itself (task-placement-constraints.html)."""
        out: dict[str, str | None] = {
            "ecs.availability-zone": self.availability_zone,
            "ecs.os-type": "linux",
        }
        if self.instance_type is not None:
            out["ecs.instance-type"] = self.instance_type
        return out

    def view(self) -> InstanceView:
        """The instance as the placement rules see it."""
        return InstanceView(
            instance_id=self.container_instance_id,
            availability_zone=self.availability_zone,
            registered=self.registered,
            remaining=self.remaining,
            active=self.status == "ACTIVE",
        )


# ---- task resources ------------------------------------------------------------------


def _size(value: Any, unit_scale: dict[str, float], what: str) -> int:
    """A task definition size (``"1024"``, ``"1 vCPU"``, ``"2 GB"``) in units."""
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a size")
    if isinstance(value, int | float):
        return int(value)
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ValueError(f"{what} {value!r} is not a size")
    number, unit = float(match.group(1)), match.group(2).lower()
    if unit not in unit_scale:
        raise ValueError(f"{what} {value!r} has an unknown unit {unit!r}")
    return int(number * unit_scale[unit])


def task_resources(description: dict[str, Any]) -> Resources:
    """The CPU units and MiB a task of this task definition reserves.

    The task-level ``cpu`` and ``memory`` when given (``"1024"``, ``"1 vCPU"``,
    ``"2048"``, ``"2 GB"``); otherwise the sum over its containers of ``cpu``
    and of ``memory`` (or ``memoryReservation``), as the EC2 launch type
    reserves them (task_definition_parameters.html, "Task size").
    """
    containers = description.get("containerDefinitions", [])
    cpu_raw = description.get("cpu")
    memory_raw = description.get("memory")
    cpu = (
        _size(cpu_raw, {"": 1, "vcpu": CPU_UNITS_PER_VCPU}, "cpu")
        if cpu_raw is not None
        else sum(int(c.get("cpu", 0)) for c in containers)
    )
    memory = (
        _size(memory_raw, {"": 1, "mb": 1, "mib": 1, "gb": 1024, "gib": 1024}, "memory")
        if memory_raw is not None
        else sum(
            int(c.get("memory", c.get("memoryReservation", 0))) for c in containers
        )
    )
    return Resources(cpu, memory)


def task_need(task: Task) -> Resources:
    """What *task* reserves on an instance (its task definition's size, worked
    out once per revision: placement asks for it on every change)."""
    definition = task.task_definition
    need = definition.resources
    if need is None:
        need = definition.resources = task_resources(definition.description)
    return need


# ---- capacity providers ----------------------------------------------------------------


def create_capacity_provider(
    backend: EcsBackend,
    name: str,
    *,
    auto_scaling_group_arn: str,
    managed_scaling: ManagedScaling,
    managed_termination_protection: bool,
    managed_draining: bool,
    tags: list[dict[str, str]] | None = None,
) -> CapacityProvider:
    """Create an ACTIVE Auto Scaling group capacity provider (checked by the caller)."""
    provider = CapacityProvider(
        name=name,
        arn=backend.arn(f"capacity-provider/{name}"),
        auto_scaling_group_arn=auto_scaling_group_arn,
        managed_scaling=managed_scaling,
        managed_termination_protection=managed_termination_protection,
        managed_draining=managed_draining,
        created_at=backend.clock(),
        tags=list(tags or []),
    )
    backend.capacity_providers[name] = provider
    backend.record(
        "capacity_provider_created",
        capacity_provider=name,
        auto_scaling_group=auto_scaling_group_arn,
        managed_scaling=managed_scaling.enabled,
        managed_termination_protection=managed_termination_protection,
    )
    return provider


def find_capacity_provider(backend: EcsBackend, ref: str) -> CapacityProvider | None:
    """The ACTIVE Auto Scaling group provider named or ARN'd by *ref*."""
    prefix = backend.arn("capacity-provider/")
    name = ref[len(prefix) :] if ref.startswith(prefix) else ref
    provider = backend.capacity_providers.get(name)
    return provider if provider is not None and provider.status == "ACTIVE" else None


def set_cluster_capacity_providers(
    backend: EcsBackend,
    cluster: Cluster,
    providers: list[str],
    default_strategy: list[dict[str, Any]],
) -> None:
    """Associate *providers* (names) with *cluster* and set its default strategy."""
    for provider in backend.capacity_providers.values():
        if cluster.name in provider.clusters and provider.name not in providers:
            provider.clusters.remove(cluster.name)
        elif provider.name in providers and cluster.name not in provider.clusters:
            provider.clusters.append(cluster.name)
    cluster.capacity_providers = list(providers)
    cluster.default_capacity_provider_strategy = [dict(i) for i in default_strategy]
    backend.record(
        "cluster_capacity_providers_set",
        cluster=cluster.name,
        capacity_providers=list(providers),
    )


# ---- container instances --------------------------------------------------------------


def _hex(*parts: str, length: int) -> str:
    """A deterministic hex id (no random stream is drawn, so registering
    instances never shifts task ids)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def register_instance(
    backend: EcsBackend,
    cluster: Cluster,
    *,
    ec2_instance_id: str,
    availability_zone: str,
    registered: Resources,
    instance_type: str | None = None,
    capacity_provider: str | None = None,
    attributes: dict[str, str | None] | None = None,
    other_resources: list[dict[str, Any]] | None = None,
    version_info: dict[str, str] | None = None,
    tags: list[dict[str, str]] | None = None,
) -> ContainerInstance:
    """Register an EC2 instance with *cluster* as an ACTIVE container instance."""
    serial = str(len(cluster.container_instances))
    instance_id = _hex(cluster.name, ec2_instance_id, serial, length=32)
    instance = ContainerInstance(
        container_instance_id=instance_id,
        arn=backend.arn(f"container-instance/{cluster.name}/{instance_id}"),
        cluster=cluster,
        ec2_instance_id=ec2_instance_id,
        availability_zone=availability_zone,
        registered=registered,
        registered_at=backend.clock(),
        instance_type=instance_type,
        capacity_provider=capacity_provider,
        attributes=dict(attributes or {}),
        other_resources=list(other_resources or []),
        version_info=dict(version_info or {}),
        tags=list(tags or []),
    )
    cluster.container_instances[instance_id] = instance
    backend.record(
        "container_instance_registered",
        cluster=cluster.name,
        container_instance=instance_id,
        ec2_instance=ec2_instance_id,
        availability_zone=availability_zone,
        capacity_provider=capacity_provider,
        cpu=registered.cpu,
        memory=registered.memory,
    )
    backend.listener.container_instance_changed(instance)
    return instance


def new_ec2_instance_id(cluster: Cluster, serial: int) -> str:
    """An EC2-style instance id (``i-`` and 17 hex digits), deterministic."""
    return "i-" + _hex(cluster.name, "ec2", str(serial), length=17)


def find_instance(
    backend: EcsBackend, cluster: Cluster, ref: str
) -> ContainerInstance | None:
    """The container instance of *cluster* named by its id or full ARN."""
    if ref.startswith("arn:"):
        prefix = backend.arn(f"container-instance/{cluster.name}/")
        if not ref.startswith(prefix):
            return None
        ref = ref[len(prefix) :]
    return cluster.container_instances.get(ref)


def live_tasks(instance: ContainerInstance) -> list[Task]:
    """Tasks on *instance* that are not STOPPED yet."""
    return [
        t for t in instance.tasks.values() if t.last_status is not TaskStatus.STOPPED
    ]


def set_instance_status(
    backend: EcsBackend, instance: ContainerInstance, status: str
) -> bool:
    """Set ACTIVE or DRAINING; False when it already had that status."""
    if status not in SETTABLE_STATUSES:
        raise ValueError(f"container instance status {status!r} is not settable")
    if instance.status == status:
        return False
    previous = instance.status
    instance.status = status
    instance.version += 1
    backend.record(
        "container_instance_status_changed",
        cluster=instance.cluster.name,
        container_instance=instance.container_instance_id,
        previous=previous,
        status=status,
    )
    backend.listener.container_instance_changed(instance)
    return True


def deregister_instance(backend: EcsBackend, instance: ContainerInstance) -> None:
    """Mark *instance* INACTIVE; its tasks are orphaned (left as they are)."""
    instance.status = "INACTIVE"
    instance.version += 1
    backend.record(
        "container_instance_deregistered",
        cluster=instance.cluster.name,
        container_instance=instance.container_instance_id,
        orphaned_tasks=len(live_tasks(instance)),
    )
    backend.listener.container_instance_changed(instance)


def assign_task(instance: ContainerInstance, task: Task) -> None:
    """Put *task* on *instance* (the placement rules chose it).

    Raises:
        InvariantViolation: the task does not fit in what is left, or the
            instance is not ACTIVE (placement never chooses such an instance).
    """
    need = task_need(task)
    if instance.status != "ACTIVE" or not instance.remaining.fits(need):
        raise InvariantViolation(
            f"task {task.task_id} ({need}) placed on {instance.status} container "
            f"instance {instance.container_instance_id} with {instance.remaining} left"
        )
    instance.tasks[task.task_id] = task
    task.container_instance = instance


def release_task(task: Task) -> None:
    """Forget *task* on its instance once it is STOPPED (its resources are free)."""
    instance = task.container_instance
    if instance is not None:
        instance.tasks.pop(task.task_id, None)
