"""The simulated ECS "database": clusters, task definitions, services,
deployments, tasks and service events.

Records here are plain mutable objects owned by :class:`EcsBackend`. The backend
applies the pure rules (:mod:`ecssim.rules.protection`, :mod:`ecssim.rules.lifecycle`) and
tells a :class:`Listener` (the process layer) what changed; it never waits.
Simulated time is float seconds since the simulation's start.

A STOPPED task stays describable for ``stopped_task_retention_s`` (ECS: "at
least one hour") and is then forgotten, as ECS forgets it: memory is bounded
by the live tasks plus those stopped within the window, however long the run.
The outcomes come from the recorded events, never from these objects.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from ecssim.aws.capacity import CapacityProvider, ContainerInstance
from ecssim.aws.throttle import TokenBucket
from ecssim.rules import deployments, invariants, lifecycle, protection
from ecssim.rules.capacity import PlacementConstraint, PlacementStrategy, Resources
from ecssim.rules.deployments import ROLLING, DeploymentStrategy
from ecssim.rules.lifecycle import LIVE_STATUSES, RUNNING, STOPPED, StopCode, TaskStatus
from ecssim.rules.protection import Protection

#: ECS keeps (and DescribeServices shows) a service's 100 most recent events
MAX_SERVICE_EVENTS: Final = 100


class Listener(Protocol):
    """What the process layer hears from the control plane."""

    def task_created(self, task: Task) -> None:
        """A task record exists with desiredStatus RUNNING: start it."""

    def task_stop_requested(self, task: Task) -> None:
        """A task's desiredStatus became STOPPED: stop it."""

    def service_changed(self, service: Service) -> None:
        """Something the scheduler acts on changed (desired count, deployment)."""

    def protection_changed(self, task: Task) -> None:
        """A task's protection was set or cleared through the API."""

    def container_instance_changed(self, instance: ContainerInstance) -> None:
        """A container instance was registered, set ACTIVE or DRAINING or
        deregistered, or a task was placed on it or released from it."""


class NullListener:
    """A listener that ignores everything (a control plane without processes)."""

    def task_created(self, task: Task) -> None:
        """Ignore."""

    def task_stop_requested(self, task: Task) -> None:
        """Ignore."""

    def service_changed(self, service: Service) -> None:
        """Ignore."""

    def protection_changed(self, task: Task) -> None:
        """Ignore."""

    def container_instance_changed(self, instance: ContainerInstance) -> None:
        """Ignore."""


#: hears of one record: its kind and its fields (the dict is the observer's to keep)
Observer = Callable[[str, dict[str, Any]], None]


def _unobserved(kind: str, fields: dict[str, Any]) -> None:
    """A record nobody observes."""


DEFAULT_STOP_TIMEOUT_S: Final = 30.0
MAX_STOP_TIMEOUT_S: Final = 120.0


@dataclass(eq=False)
class Cluster:
    """An ECS cluster."""

    name: str
    arn: str
    services: dict[str, Service] = field(default_factory=dict)
    #: live tasks, and STOPPED ones within the retention window (oldest first)
    tasks: dict[str, Task] = field(default_factory=dict)
    status: str = "ACTIVE"
    #: registered container instances by id (INACTIVE ones kept for describe)
    container_instances: dict[str, ContainerInstance] = field(default_factory=dict)
    #: capacity providers set by PutClusterCapacityProviders (None: never set)
    capacity_providers: list[str] | None = None
    default_capacity_provider_strategy: list[dict[str, Any]] = field(
        default_factory=list
    )


@dataclass(eq=False)
class TaskDefinition:
    """One revision of a task definition family."""

    family: str
    revision: int
    arn: str
    registered_at: float
    description: dict[str, Any]
    status: str = "ACTIVE"
    #: When set, every task of this revision fails to start with this reason (a fault).
    fails_to_start: str | None = None
    #: what one task reserves on a container instance, worked out once
    #: (:func:`ecssim.aws.capacity.task_need`)
    resources: Resources | None = None

    @property
    def stop_timeout_s(self) -> float:
        """The longest ``stopTimeout`` of its containers (default 30 s)."""
        timeouts = [
            float(c.get("stopTimeout", DEFAULT_STOP_TIMEOUT_S))
            for c in self.description.get("containerDefinitions", [])
        ]
        return max(timeouts, default=DEFAULT_STOP_TIMEOUT_S)


@dataclass(eq=False)
class Deployment:
    """One deployment of a service (a task definition being rolled out)."""

    id: str
    task_definition: TaskDefinition
    created_at: float
    updated_at: float
    desired_count: int
    launch_type: str
    status: str = "PRIMARY"  # PRIMARY | ACTIVE | INACTIVE
    rollout_state: str = "IN_PROGRESS"  # IN_PROGRESS | COMPLETED | FAILED
    rollout_state_reason: str = ""
    failed_tasks: int = 0
    #: the service's strategy when the deployment started
    strategy: DeploymentStrategy = ROLLING
    #: BLUE_GREEN, LINEAR, CANARY: the lifecycle stage, when it began, and the
    #: production traffic on this (green) revision in percent
    stage: str | None = None
    stage_entered_at: float = 0.0
    traffic_percent: float = 0.0
    #: once replaced by a newer deployment: how many of its tasks the rolling
    #: update keeps (lowered as the scheduler replaces them; a task lost another
    #: way is replaced from this revision; scale-out raises it)
    replacement_target: int | None = None


@dataclass(eq=False)
class ServiceEvent:
    """A line of a service's event log."""

    id: str
    created_at: float
    message: str


#: the width of the expiry buckets of :class:`ProtectedCount` (the sampler's
#: usual interval, so a read looks at one or two buckets)
EXPIRY_BUCKET_S: Final = 60.0


class ProtectedCount:
    """How many of a service's RUNNING tasks are protected, and how many of those
    are idle, at any moment, at a cost independent of the number of tasks.

    Kept as protection, task status and busyness change. Protection lapses
    lazily: each protected task waits in the bucket of the minute its
    protection expires in, and a read of the counts lapses the tasks of the
    buckets that are due. A renewal moves the task to another bucket and a
    clear takes it out, so a read only ever looks at protections that do lapse
    (or lapse within the current minute), whatever the churn of protects,
    renewals and clears.
    """

    __slots__ = ("_active", "_due", "_idle", "_minutes")

    def __init__(self) -> None:
        #: expiry of each RUNNING task whose protection may still be active
        self._active: dict[str, float] = {}
        #: the ids in ``_active`` by the bucket their expiry falls in
        #: (``expiry // EXPIRY_BUCKET_S``); a bucket may be empty
        self._due: dict[float, set[str]] = {}
        #: the buckets of ``_due``, soonest first (a heap)
        self._minutes: list[float] = []
        self._idle = 0

    def _remove(self, task: Task) -> None:
        expires_at = self._active.pop(task.task_id, None)
        if expires_at is not None:
            self._due[expires_at // EXPIRY_BUCKET_S].discard(task.task_id)
            if not task.counted_busy:
                self._idle -= 1

    def update(self, task: Task) -> None:
        """*task*'s protection or status changed."""
        expires_at = task.protection.expires_at
        if expires_at is None or task.last_status is not RUNNING:
            self._remove(task)
            return
        task_id = task.task_id
        active, due = self._active, self._due
        previous = active.get(task_id)
        if previous is None:
            if not task.counted_busy:
                self._idle += 1
        elif previous == expires_at:
            return
        else:
            due[previous // EXPIRY_BUCKET_S].discard(task_id)
        active[task_id] = expires_at
        minute = expires_at // EXPIRY_BUCKET_S
        bucket = due.get(minute)
        if bucket is None:
            bucket = due[minute] = set()
            heapq.heappush(self._minutes, minute)
        bucket.add(task_id)

    def busy_changed(self, task: Task) -> None:
        """*task*'s ``counted_busy`` just flipped."""
        if task.task_id in self._active:
            self._idle += -1 if task.counted_busy else 1

    def counts(self, tasks: dict[str, Task], now: float) -> tuple[int, int]:
        """(protected, idle and protected) RUNNING tasks at *now*."""
        minutes, due, active = self._minutes, self._due, self._active
        last = now // EXPIRY_BUCKET_S
        unfinished = []
        while minutes and minutes[0] <= last:
            minute = heapq.heappop(minutes)
            bucket = due[minute]
            # the bucket of the current minute may hold expiries still ahead
            for task_id in [i for i in bucket if active[i] <= now]:
                self._remove(tasks[task_id])
            if bucket:
                unfinished.append(minute)
            else:
                del due[minute]
        for minute in unfinished:
            heapq.heappush(minutes, minute)
        return len(active), self._idle


@dataclass(eq=False)
class Service:
    """An ECS service (REPLICA scheduling, rolling-update deployments)."""

    name: str
    arn: str
    cluster: Cluster
    desired_count: int
    launch_type: str
    minimum_healthy_percent: int
    maximum_percent: int
    circuit_breaker_enable: bool
    circuit_breaker_rollback: bool
    availability_zones: tuple[str, ...]
    created_at: float
    request: dict[str, Any]
    deployments: list[Deployment] = field(default_factory=list)
    #: the 100 most recent service events (ECS shows no more)
    events: deque[ServiceEvent] = field(
        default_factory=lambda: deque(maxlen=MAX_SERVICE_EVENTS)
    )
    tasks: dict[str, Task] = field(default_factory=dict)
    #: its live tasks (:attr:`Task.is_live`) by id, in launch order as in
    #: :attr:`tasks`; kept as tasks launch and leave life, so the scheduler's
    #: reconcile does not walk every task to find them
    live_by_id: dict[str, Task] = field(default_factory=dict)
    status: str = "ACTIVE"
    #: the most recent deployment that reached COMPLETED (the rollback target)
    last_completed: Deployment | None = None
    #: ``strategy``, bake times, linear/canary configuration, lifecycle hooks
    strategy: DeploymentStrategy = ROLLING
    #: ``deploymentConfiguration.lifecycleHooks`` as the caller gave them
    lifecycle_hooks: list[dict[str, Any]] = field(default_factory=list)
    #: ids of live tasks that have (or had, until it lapsed) protection set
    protection_holders: set[str] = field(default_factory=set)
    #: since when each task (by id) has blocked a scale-in or a rollout with
    #: its protection (kept by the service scheduler)
    blocking_since: dict[str, float] = field(default_factory=dict)
    #: how many of its tasks are in each lastStatus (kept by Task.set_status)
    status_counts: Counter[TaskStatus] = field(default_factory=Counter)
    #: protected and idle-protected RUNNING tasks, kept as they change
    protected_count: ProtectedCount = field(default_factory=ProtectedCount)
    #: ``schedulingStrategy``: REPLICA, or DAEMON (one task per container instance)
    scheduling_strategy: str = "REPLICA"
    #: ``placementStrategy`` and ``placementConstraints`` (EC2 capacity), checked
    placement_strategies: tuple[PlacementStrategy, ...] = ()
    placement_constraints: tuple[PlacementConstraint, ...] = ()
    #: some of its tasks are being retired (Fargate task retirement, paced)
    retiring: bool = False

    @property
    def primary(self) -> Deployment:
        """The PRIMARY deployment: the task definition the service runs now."""
        return self.deployments[0]

    def live_tasks(self) -> list[Task]:
        """Tasks that are alive and meant to run (not being stopped), in launch
        order."""
        return list(self.live_by_id.values())

    @property
    def deployment_in_progress(self) -> bool:
        """Whether a rollout is under way (auto scaling suspends scale-in then).

        A rollout the circuit breaker FAILED is over, even if old tasks remain.
        """
        return bool(self.deployments) and self.primary.rollout_state == "IN_PROGRESS"

    @property
    def running_count(self) -> int:
        """Tasks in RUNNING (``runningCount``)."""
        return self.status_counts[RUNNING]

    @property
    def pending_count(self) -> int:
        """Tasks in PROVISIONING or PENDING (``pendingCount``)."""
        counts = self.status_counts
        return counts[TaskStatus.PROVISIONING] + counts[TaskStatus.PENDING]


@dataclass(eq=False)
class Task:
    """One task: a standalone task, or one launched by a service's deployment."""

    task_id: str
    arn: str
    cluster: Cluster
    task_definition: TaskDefinition
    availability_zone: str
    launch_type: str
    group: str
    started_by: str | None
    created_at: float
    service: Service | None = None
    deployment: Deployment | None = None
    capacity_provider: str | None = None
    last_status: TaskStatus = TaskStatus.PROVISIONING
    desired_status: str = "RUNNING"
    protection: Protection = protection.UNPROTECTED
    pull_started_at: float | None = None
    pull_stopped_at: float | None = None
    started_at: float | None = None
    healthy_at: float | None = None
    stopping_at: float | None = None
    execution_stopped_at: float | None = None
    stopped_at: float | None = None
    stop_code: StopCode | None = None
    stopped_reason: str | None = None
    exit_code: int | None = None
    #: a worker inside the task is busy and the task still RUNNING (kept by workers)
    counted_busy: bool = False
    #: the container instance it is placed on (EC2 capacity; None on Fargate)
    container_instance: ContainerInstance | None = None
    #: placed on a container instance (EC2 capacity): waits in PROVISIONING,
    #: with no instance and no zone, until there is room
    needs_instance: bool = False
    #: a standalone task's ``placementStrategy`` and ``placementConstraints``
    placement_strategies: tuple[PlacementStrategy, ...] = ()
    placement_constraints: tuple[PlacementConstraint, ...] = ()
    #: a DAEMON service's task: the only instance it may be placed on
    target_instance: ContainerInstance | None = None
    #: Fargate task retirement is replacing it: the ``stoppedReason`` it will
    #: stop with (the scheduler replaces it first, as for a DRAINING instance)
    retiring: str | None = None
    #: the task metadata server's rate limit of the task's own requests (kept
    #: by :class:`~ecssim.aws.agent.AgentEndpoint`; None before the first)
    metadata_rate_limit: TokenBucket | None = None
    #: alive and meant to run: desiredStatus RUNNING and lastStatus PROVISIONING,
    #: PENDING or RUNNING. A plain attribute, kept by :meth:`set_status` and
    #: :meth:`desire_stopped` (read on hot paths; a task never comes back to life)
    is_live: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.is_live = (
            self.desired_status == "RUNNING" and self.last_status in LIVE_STATUSES
        )

    def desire_stopped(self) -> None:
        """Set desiredStatus to STOPPED: the task is no longer live."""
        self.desired_status = "STOPPED"
        if self.is_live:
            self._leave_life()

    def _leave_life(self) -> None:
        """Stop counting as live (and leave the service's live tasks)."""
        self.is_live = False
        if self.service is not None:
            self.service.live_by_id.pop(self.task_id, None)

    @property
    def is_healthy(self) -> bool:
        """RUNNING long enough to count as healthy for deployments."""
        return self.last_status is RUNNING and self.healthy_at is not None

    def set_status(self, target: TaskStatus) -> None:
        """Move to *target* if the lifecycle table allows it (and keep the
        service's status counts)."""
        previous = self.last_status
        self.last_status = lifecycle.advance(previous, target)
        if self.is_live and target not in LIVE_STATUSES:
            self._leave_life()
        if self.service is not None:
            counts = self.service.status_counts
            counts[previous] -= 1
            counts[target] += 1
            if (previous is RUNNING) is not (target is RUNNING):
                self.service.protected_count.update(self)


class EcsBackend:
    """The ECS state of one account and region, and the operations on it.

    Args:
        clock: returns the current simulated time in seconds.
        new_id: returns a fresh random hex id (task ids).
        new_uuid: returns a fresh random UUID string.
        region: the AWS region, for ARNs.
        account_id: the 12-digit account id, for ARNs.
        availability_zones: the zones tasks are spread over.
        stopped_task_retention_s: how long a STOPPED task stays describable.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        new_id: Callable[..., str],
        new_uuid: Callable[[], str],
        region: str,
        account_id: str,
        availability_zones: tuple[str, ...],
        stopped_task_retention_s: float = 3600.0,
    ) -> None:
        self.clock = clock
        self.new_id = new_id
        self.new_uuid = new_uuid
        self.region = region
        self.account_id = account_id
        self.availability_zones = availability_zones
        self.clusters: dict[str, Cluster] = {}
        self.task_definitions: dict[str, list[TaskDefinition]] = {}
        self.listener: Listener = NullListener()
        #: who hears of every record, in the order they were added (:meth:`observe`)
        self.observers: tuple[Observer, ...] = ()
        #: tells every observer of one record ``(kind, fields)``: the observer
        #: itself while there is only one (the simulation's), without a loop
        self.emit: Observer = _unobserved
        self.stopped_task_retention_s = stopped_task_retention_s
        #: (stopped at, cluster, task id) of the STOPPED tasks still kept, oldest first
        self._stopped: deque[tuple[float, Cluster, str]] = deque()
        #: Auto Scaling group capacity providers of the account, by name
        self.capacity_providers: dict[str, CapacityProvider] = {}
        #: EC2 instance id -> the capacity provider whose Auto Scaling group
        #: launched it (what ECS learns from the group when the agent registers)
        self.ec2_instance_providers: dict[str, str] = {}

    # ---- records -------------------------------------------------------
    def observe(self, observer: Observer) -> None:
        """Tell *observer* of every record from now on."""
        self.observers += (observer,)
        self.emit = observer if len(self.observers) == 1 else self._emit_all

    def _emit_all(self, kind: str, fields: dict[str, Any]) -> None:
        for observer in self.observers:
            observer(kind, fields)

    def record(self, kind: str, **fields: Any) -> None:
        """Tell every observer that *kind* happened now (for results and checks);
        hot callers hand :attr:`emit` the fields' dict themselves."""
        self.emit(kind, fields)

    # ---- ARNs ----------------------------------------------------------
    def arn(self, resource: str) -> str:
        """The ECS ARN of *resource* (``cluster/NAME``, ``task/CLUSTER/ID`` ...)."""
        return f"arn:aws:ecs:{self.region}:{self.account_id}:{resource}"

    # ---- clusters ------------------------------------------------------
    def create_cluster(self, name: str) -> Cluster:
        """Create *name*, or return it if it exists (CreateCluster is idempotent)."""
        if name not in self.clusters:
            self.clusters[name] = Cluster(name=name, arn=self.arn(f"cluster/{name}"))
        return self.clusters[name]

    def find_cluster(self, ref: str | None) -> Cluster | None:
        """The cluster named or ARN'd by *ref* (``default`` when None)."""
        name = "default" if ref is None else ref
        prefix = self.arn("cluster/")
        if name.startswith(prefix):
            name = name[len(prefix) :]
        cluster = self.clusters.get(name)
        return cluster if cluster is not None and cluster.status == "ACTIVE" else None

    # ---- task definitions ----------------------------------------------
    def register_task_definition(
        self, family: str, description: dict[str, Any]
    ) -> TaskDefinition:
        """Register the next revision of *family*."""
        revisions = self.task_definitions.setdefault(family, [])
        revision = len(revisions) + 1
        td = TaskDefinition(
            family=family,
            revision=revision,
            arn=self.arn(f"task-definition/{family}:{revision}"),
            registered_at=self.clock(),
            description=description,
        )
        revisions.append(td)
        return td

    def find_task_definition(self, ref: str) -> TaskDefinition | None:
        """The revision named by *ref*: ``family``, ``family:rev`` or an ARN."""
        prefix = self.arn("task-definition/")
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
        family, _, rev = ref.partition(":")
        revisions = self.task_definitions.get(family)
        if not revisions:
            return None
        if not rev:
            active = [td for td in revisions if td.status == "ACTIVE"]
            return active[-1] if active else None
        if not rev.isdigit() or not 1 <= int(rev) <= len(revisions):
            return None
        return revisions[int(rev) - 1]

    # ---- services ------------------------------------------------------
    def find_service(self, cluster: Cluster, ref: str) -> Service | None:
        """The service of *cluster* named or ARN'd by *ref*."""
        name = ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref
        if ref.startswith("arn:") and ref != self.arn(f"service/{cluster.name}/{name}"):
            return None
        return cluster.services.get(name)

    def new_deployment(
        self, service: Service, task_definition: TaskDefinition
    ) -> Deployment:
        """Make *task_definition* the PRIMARY deployment of *service*."""
        now = self.clock()
        digits = str(int(self.new_id(8), 16) % 10**19).zfill(19)
        deployment = Deployment(
            id=f"ecs-svc/{digits}",
            task_definition=task_definition,
            created_at=now,
            updated_at=now,
            desired_count=service.desired_count,
            launch_type=service.launch_type,
            strategy=service.strategy,
        )
        if not service.strategy.is_rolling and service.deployments:
            # a service's first deployment has no blue revision: it just starts
            several = sum(1 for d in service.deployments if d.status != "INACTIVE") > 1
            deployment.stage = "RECONCILE_SERVICE" if several else "PRE_SCALE_UP"
            deployment.stage_entered_at = now
        for old in service.deployments:
            old.status = "ACTIVE"
            old.updated_at = now
            healthy = sum(
                1
                for t in service.tasks.values()
                if t.deployment is old and t.is_healthy
            )
            failed = old.rollout_state == "FAILED"
            old.replacement_target = 0 if failed else healthy
        service.deployments.insert(0, deployment)
        self.record(
            "deployment_started",
            service=service.name,
            deployment=deployment.id,
            task_definition=task_definition.arn,
            strategy=service.strategy.strategy,
        )
        if deployment.stage is not None:
            self.record(
                "deployment_stage",
                service=service.name,
                deployment=deployment.id,
                stage=deployment.stage,
            )
        return deployment

    def set_desired_count(self, service: Service, desired: int, cause: str) -> None:
        """Set *service*'s desired count (UpdateService or auto scaling) and tell
        the scheduler."""
        if desired < 0:
            raise ValueError(f"desired count {desired} of {service.name} is negative")
        if desired != service.desired_count:
            self.record(
                "desired_count_changed",
                service=service.name,
                previous=service.desired_count,
                desired_count=desired,
                cause=cause,
            )
            previous = service.desired_count
            service.desired_count = desired
            service.primary.desired_count = desired
            if service.deployment_in_progress and service.primary.stage is None:
                for old in service.deployments[1:]:
                    if old.replacement_target is not None:
                        old.replacement_target = deployments.scaled_out_target(
                            old.replacement_target, previous, desired
                        )
        self.listener.service_changed(service)

    def add_event(self, service: Service, message: str) -> None:
        """Append *message* to *service*'s event log (newest first when described)."""
        service.events.append(
            ServiceEvent(id=self.new_uuid(), created_at=self.clock(), message=message)
        )
        self.record("service_event", service=service.name, message=message)

    # ---- tasks ---------------------------------------------------------
    def find_task(self, cluster: Cluster, ref: str) -> Task | None:
        """The task of *cluster* named by an id or a full ARN (None once a
        STOPPED task has been forgotten)."""
        self.forget_stopped_tasks()
        if ref.startswith("arn:"):
            prefix = self.arn(f"task/{cluster.name}/")
            if not ref.startswith(prefix):
                return None
            ref = ref[len(prefix) :]
        return cluster.tasks.get(ref)

    def task_arn(self, cluster: Cluster, ref: str) -> str:
        """A full task ARN for *ref* (returned as is when it already is an ARN)."""
        return ref if ref.startswith("arn:") else self.arn(f"task/{cluster.name}/{ref}")

    def launch_task(
        self,
        cluster: Cluster,
        task_definition: TaskDefinition,
        *,
        availability_zone: str,
        launch_type: str,
        group: str,
        started_by: str | None,
        service: Service | None = None,
        deployment: Deployment | None = None,
        capacity_provider: str | None = None,
        placement_strategies: tuple[PlacementStrategy, ...] = (),
        placement_constraints: tuple[PlacementConstraint, ...] = (),
        target_instance: ContainerInstance | None = None,
    ) -> Task:
        """Create a task in PROVISIONING and have the process layer start it.

        A task that runs on a container instance (:meth:`places_on_instances`)
        has no zone until it is placed: *availability_zone* is ignored for it.
        """
        needs_instance = self.places_on_instances(
            cluster, launch_type, capacity_provider
        )
        if needs_instance:
            availability_zone = ""
        task_id = self.new_id()
        task = Task(
            task_id=task_id,
            arn=self.arn(f"task/{cluster.name}/{task_id}"),
            cluster=cluster,
            task_definition=task_definition,
            availability_zone=availability_zone,
            launch_type=launch_type,
            group=group,
            started_by=started_by,
            created_at=self.clock(),
            service=service,
            deployment=deployment,
            capacity_provider=capacity_provider,
        )
        if needs_instance:
            task.needs_instance = True
            task.placement_strategies = placement_strategies
            task.placement_constraints = placement_constraints
            task.target_instance = target_instance
        cluster.tasks[task_id] = task
        if service is not None:
            service.tasks[task_id] = task
            service.live_by_id[task_id] = task
            service.status_counts[task.last_status] += 1
        self.record(
            "task_created",
            service=service.name if service else None,
            task=task_id,
            availability_zone=availability_zone,
            deployment=deployment.id if deployment else None,
            capacity=capacity_provider or launch_type,
        )
        self.listener.task_created(task)
        return task

    def request_stop(
        self, task: Task, stop_code: StopCode, reason: str, *, notify: bool = True
    ) -> bool:
        """Set *task*'s desired status to STOPPED; False if it was already stopping.

        *notify* tells the scheduler of the task's service (it needs no telling
        about the stops it makes itself).
        """
        if task.desired_status == "STOPPED":
            return False
        task.desire_stopped()
        task.stop_code = stop_code
        task.stopped_reason = reason
        if task.service is not None:
            task.service.protection_holders.discard(task.task_id)
        self.record(
            "task_stop_requested",
            service=task.service.name if task.service else None,
            task=task.task_id,
            stop_code=stop_code.value,
            reason=reason,
            protected=task.protection.is_active(self.clock()),
        )
        self.listener.task_stop_requested(task)
        if notify and task.service is not None:
            self.listener.service_changed(task.service)
        return True

    def set_protection(self, task: Task, state: Protection) -> None:
        """Store *task*'s new protection and tell the process layer."""
        task.protection = state
        service = task.service
        if service is not None:
            service.protected_count.update(task)
            if state.expires_at is None or not task.is_live:
                service.protection_holders.discard(task.task_id)
            else:
                service.protection_holders.add(task.task_id)
        self.listener.protection_changed(task)

    def places_on_instances(
        self, cluster: Cluster, launch_type: str, capacity_provider: str | None
    ) -> bool:
        """Whether a task runs on a container instance: its capacity provider is
        an Auto Scaling group provider, or it has launch type EC2 on a cluster
        that has (or had) container instances. Otherwise it starts at once, as
        on Fargate."""
        if capacity_provider is not None:
            return capacity_provider in self.capacity_providers
        return launch_type == "EC2" and bool(cluster.container_instances)

    def task_stopped(self, task: Task) -> None:
        """*task* reached STOPPED: it leaves its service, stays describable
        through its cluster for the retention window, then is forgotten (and
        frees what it reserved on its container instance)."""
        if task.needs_instance:
            instance = task.container_instance
            invariants.check_task_placed(
                task.task_id,
                task.needs_instance,
                task.started_at is not None,
                None if instance is None else instance.container_instance_id,
                self.clock(),
            )
            if instance is not None:
                instance.tasks.pop(task.task_id, None)
                self.listener.container_instance_changed(instance)
        if task.service is not None:
            task.service.tasks.pop(task.task_id, None)
            task.service.protection_holders.discard(task.task_id)
        now = self.clock()
        self._stopped.append((now, task.cluster, task.task_id))
        self.forget_stopped_tasks(now)

    def forget_stopped_tasks(self, now: float | None = None) -> None:
        """Forget the tasks STOPPED longer than the retention window ago.

        Called on every stop and before every lookup, so the cost is one
        comparison unless a task is due (no timer, no scan of tasks).
        """
        stopped = self._stopped
        if not stopped:
            return
        horizon = (self.clock() if now is None else now) - self.stopped_task_retention_s
        while stopped and stopped[0][0] <= horizon:
            _, cluster, task_id = stopped.popleft()
            cluster.tasks.pop(task_id, None)

    def iter_service_tasks(self, cluster: Cluster) -> Iterator[Task]:
        """Every non-stopped task of *cluster*'s services, oldest first."""
        for task in cluster.tasks.values():
            if task.service is not None and task.last_status is not STOPPED:
                yield task
