"""Auto Scaling groups and ECS cluster auto scaling as processes.

:class:`GroupRunner` is the EC2 Auto Scaling side of one group: it launches
instances up to the desired capacity (an EC2 boot delay, then the ECS agent
registers the instance through the ECS API), terminates surplus instances by
the group's default termination policy among those not protected from
scale-in, and gives Spot instances their two-minute interruption notice.

:class:`ManagedScaling` is the ECS side of one Auto Scaling group capacity
provider: once a minute it computes ``CapacityProviderReservation``
(:mod:`ecssim.rules.capacity`) and feeds it to the target-tracking alarms
(:mod:`ecssim.rules.alarms`), sets the group's desired capacity, keeps scale-in
protection on instances running non-daemon tasks (managed termination
protection) and drains an instance before the group terminates it (managed
instance draining).

Every change is recorded; nothing polls per task or per instance: the
runners wake on the group's changes, on container-instance changes
(``World.instance_watchers``) and on one timer per provider per minute.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import simpy

from ecssim.aws import capacity
from ecssim.aws.autoscaling_groups import (
    IN_SERVICE,
    PENDING,
    PROTECTED_SCALE_IN_MESSAGE,
    TERMINATED,
    TERMINATING_WAIT,
    AutoScalingBackend,
    AutoScalingClient,
    AutoScalingGroup,
    GroupInstance,
    new_instance_id,
)
from ecssim.aws.capacity import ContainerInstance
from ecssim.errors import InvariantViolation
from ecssim.rules import capacity as rules
from ecssim.rules.alarms import evaluate_alarm
from ecssim.rules.instance_types import choose_instance_type, next_is_spot
from ecssim.rules.lifecycle import TaskStatus
from ecssim.sim.timers import after

if TYPE_CHECKING:
    from ecssim.aws.ecs import EcsClient
    from ecssim.aws.state import EcsBackend, Task

ProcessGenerator = Generator[simpy.Event, Any, None]

#: ECS evaluates CapacityProviderReservation once a minute.
METRIC_PERIOD_S: Final = 60.0
#: EC2 gives a Spot instance two minutes' notice before it interrupts it.
SPOT_NOTICE_S: Final = 120.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSettings:
    """How one group behaves where AWS gives no fixed number (scenario knobs).

    Attributes:
        boot_s: from launch to the ECS agent registering the instance.
        reserved_memory_mib: ``ECS_RESERVED_MEMORY`` of the agent.
        spot_interruptions_per_s: rate of Spot interruption notices per Spot
            instance (0: none at random).
        spot_draining: ``ECS_ENABLE_SPOT_INSTANCE_DRAINING``: the agent sets
            the instance DRAINING at the notice.
        draining_timeout_s: how long managed draining waits for an instance's
            tasks before the group terminates it anyway (the lifecycle hook's
            limit, 48 h).
    """

    boot_s: float = 90.0
    reserved_memory_mib: int = 0
    spot_interruptions_per_s: float = 0.0
    spot_draining: bool = False
    draining_timeout_s: float = 48 * 3600.0


def is_daemon(task: Task) -> bool:
    """Whether *task* belongs to a DAEMON service (ignored by cluster auto scaling)."""
    service = task.service
    return (
        service is not None
        and getattr(service, "scheduling_strategy", "REPLICA") == "DAEMON"
    )


def non_daemon_tasks(instance: ContainerInstance) -> list[Task]:
    """The live tasks on *instance* that are not daemon tasks."""
    return [t for t in capacity.live_tasks(instance) if not is_daemon(t)]


def has_non_daemon_task(instance: ContainerInstance) -> bool:
    """Whether *instance* runs a live task that is not a daemon task."""
    return any(
        t.last_status is not TaskStatus.STOPPED and not is_daemon(t)
        for t in instance.tasks.values()
    )


def terminated_reason(ec2_instance_id: str) -> str:
    """The ``stoppedReason`` of a task whose host went away."""
    return f"Host EC2 (instance {ec2_instance_id}) terminated."


class GroupRunner:
    """The EC2 Auto Scaling side of one group (see the module docstring)."""

    def __init__(
        self,
        env: simpy.Environment,
        ec2: Ec2Capacity,
        group: AutoScalingGroup,
        settings: GroupSettings,
        rng: np.random.Generator,
    ) -> None:
        self.env = env
        self.asgs = ec2.asgs
        self.client = ec2.client
        self.ecs = ec2.ecs
        self.ecs_backend = ec2.ecs_backend
        self.world = ec2.world
        self.group = group
        self.settings = settings
        self.rng = rng
        self._due = False
        self._blocked: tuple[int, int] | None = None
        #: container instance id -> group instance, for registered instances
        self.by_container: dict[str, GroupInstance] = {}
        #: EC2 instance id -> group instance, for every instance launched
        self.by_ec2: dict[str, GroupInstance] = {}
        self._spot_changed = env.event()
        #: Spot instances that got their interruption notice
        self._notices: set[str] = set()
        #: the last recorded load of each container instance
        self._loads: dict[str, tuple[tuple[str, ...], int]] = {}
        if settings.spot_interruptions_per_s > 0:
            env.process(self._spot_notices())
        self.notify()

    # ---- wiring ------------------------------------------------------------------
    @property
    def provider(self) -> capacity.CapacityProvider | None:
        """The ECS capacity provider that uses this group, if any."""
        for provider in self.ecs_backend.capacity_providers.values():
            if (
                provider.auto_scaling_group_arn == self.group.arn
                and provider.status == "ACTIVE"
            ):
                return provider
        return None

    @property
    def cluster(self) -> str:
        """The cluster the group's instances join: their capacity provider's
        (the ``ECS_CLUSTER`` of their user data), else ``default``."""
        provider = self.provider
        if provider is not None and provider.clusters:
            return provider.clusters[0]
        return "default"

    def container_instance(self, instance: GroupInstance) -> ContainerInstance | None:
        """The ECS container instance of *instance*, once registered."""
        if instance.container_instance_id is None:
            return None
        cluster = self.ecs_backend.find_cluster(instance.cluster)
        if cluster is None:
            return None
        return cluster.container_instances.get(instance.container_instance_id)

    def notify(self) -> None:
        """Reconcile the group with its desired capacity soon (same instant)."""
        if not self._due:
            self._due = True
            after(self.env, 0.0, self._reconcile)

    def instance_changed(self, instance: ContainerInstance) -> None:
        """A container instance changed (status, tasks): record its load when
        its tasks changed, and finish managed draining once a draining instance
        of the group has no non-daemon task."""
        mine = self.by_ec2.get(instance.ec2_instance_id)
        if mine is None:
            return
        if mine.container_instance_id is None:
            # the agent's registration is still returning
            mine.container_instance_id = instance.container_instance_id
            mine.cluster = instance.cluster.name
            self.by_container[instance.container_instance_id] = mine
        if instance.status != "INACTIVE":
            self._record_load(mine, instance)
        provider = self.provider
        if (
            provider is not None
            and provider.managed_termination_protection
            and mine.lifecycle_state == IN_SERVICE
            and not mine.protected_from_scale_in
            and has_non_daemon_task(instance)
        ):
            # ECS keeps scale-in protection on an instance that runs tasks
            self.client.set_instance_protection(
                AutoScalingGroupName=self.group.name,
                InstanceIds=[mine.instance_id],
                ProtectedFromScaleIn=True,
            )
        if (
            mine is not None
            and mine.lifecycle_state == TERMINATING_WAIT
            and not non_daemon_tasks(instance)
        ):
            # not from inside the placer's or the task's callback
            after(
                self.env, 0.0, lambda: self.terminate(mine, "managed draining finished")
            )

    def _record_load(self, mine: GroupInstance, instance: ContainerInstance) -> None:
        """Record ``instance_load`` when the set of tasks on *instance* changed."""
        live = capacity.live_tasks(instance)
        ids = tuple(sorted(t.task_id for t in live if not is_daemon(t)))
        key = (ids, len(live))
        if self._loads.get(instance.container_instance_id) == key:
            return
        self._loads[instance.container_instance_id] = key
        reserved = instance.registered.cpu - instance.remaining.cpu
        memory = instance.registered.memory - instance.remaining.memory
        self.asgs.record(
            "instance_load",
            auto_scaling_group=self.group.name,
            ec2_instance=mine.instance_id,
            container_instance=instance.container_instance_id,
            tasks=list(ids),
            daemon_tasks=len(live) - len(ids),
            daemons=sorted(t.task_id for t in live if is_daemon(t)),
            cpu=reserved,
            memory=memory,
            registered_cpu=instance.registered.cpu,
            registered_memory=instance.registered.memory,
        )

    def _record(self, kind: str, instance: GroupInstance, **fields: Any) -> None:
        provider = self.provider
        self.asgs.record(
            kind,
            auto_scaling_group=self.group.name,
            capacity_provider=provider.name if provider is not None else None,
            ec2_instance=instance.instance_id,
            instance_type=instance.instance_type,
            availability_zone=instance.availability_zone,
            spot=instance.spot,
            **fields,
        )

    # ---- reconcile ---------------------------------------------------------------
    def _reconcile(self) -> None:
        self._due = False
        group = self.group
        counted = group.counted
        missing = group.desired_capacity - len(counted)
        for _ in range(max(0, missing)):
            self.launch()
        if missing < 0:
            self._scale_in(-missing)
        else:
            self._blocked = None

    def _scale_in(self, surplus: int) -> None:
        group = self.group
        counted = group.counted
        loads = [
            rules.InstanceLoad(
                i.instance_id, i.availability_zone, int(i.protected_from_scale_in)
            )
            for i in counted
        ]
        chosen = rules.instances_to_terminate(
            loads, surplus, managed_termination_protection=True, rng=self.rng
        )
        cause = (
            f"an instance was taken out of service in response to a difference "
            f"between desired and actual capacity, shrinking the capacity from "
            f"{len(counted)} to {group.desired_capacity}"
        )
        for instance_id in chosen:
            self.retire(group.instances[instance_id], cause)
        if len(chosen) < surplus:
            state = (group.desired_capacity, surplus - len(chosen))
            if state != self._blocked:
                self._blocked = state
                self.asgs.add_activity(
                    group,
                    "Terminating EC2 instance",
                    cause,
                    status_code="Failed",
                    status_message=PROTECTED_SCALE_IN_MESSAGE,
                )
                provider = self.provider
                self.asgs.record(
                    "asg_scale_in_blocked",
                    auto_scaling_group=group.name,
                    capacity_provider=provider.name if provider is not None else None,
                    desired_capacity=group.desired_capacity,
                    instances=len(counted),
                    protected=surplus - len(chosen),
                )
        else:
            self._blocked = None

    # ---- launch ------------------------------------------------------------------
    def launch(self) -> GroupInstance:
        """Launch one instance: the zone with the fewest of the group's
        instances, Spot or on-demand by the policy, the instance type by the
        policy's allocation strategy for that purchase option."""
        group = self.group
        counted = group.counted
        zones = dict.fromkeys(group.availability_zones, 0)
        for i in counted:
            zones[i.availability_zone] = zones.get(i.availability_zone, 0) + 1
        zone = min(group.availability_zones, key=lambda z: zones[z])
        spot_count = sum(1 for i in counted if i.spot)
        spot = next_is_spot(
            len(counted) - spot_count,
            spot_count,
            group.on_demand_base,
            group.on_demand_percent_above_base,
        )
        same = [i for i in counted if i.availability_zone == zone and i.spot == spot]
        instance_type = choose_instance_type(
            [self.asgs.instance_types[t] for t in group.instance_types],
            {
                t: sum(1 for i in same if i.instance_type == t)
                for t in group.instance_types
            },
            spot=spot,
            on_demand_strategy=group.on_demand_allocation_strategy,
            spot_strategy=group.spot_allocation_strategy,
            spot_pools=group.spot_instance_pools,
        )
        group.launched += 1
        instance = GroupInstance(
            instance_id=new_instance_id(group.name, group.launched),
            instance_type=instance_type,
            availability_zone=zone,
            spot=spot,
            launched_at=self.env.now,
            protected_from_scale_in=group.new_instances_protected,
        )
        group.instances[instance.instance_id] = instance
        self.by_ec2[instance.instance_id] = instance
        self.asgs.add_activity(
            group,
            f"Launching a new EC2 instance: {instance.instance_id}",
            "an instance was started in response to a difference between desired "
            f"and actual capacity, increasing the capacity from {len(counted)} to "
            f"{group.desired_capacity}",
        )
        self._record("instance_launched", instance)
        after(self.env, self.settings.boot_s, lambda: self._boot(instance))
        return instance

    def _boot(self, instance: GroupInstance) -> None:
        """The instance is running: its ECS agent registers it."""
        if instance.lifecycle_state != PENDING:
            return
        instance.lifecycle_state = IN_SERVICE
        provider = self.provider
        kind = self.asgs.instance_types[instance.instance_type]
        registered = kind.registered(self.settings.reserved_memory_mib)
        cluster = self.cluster
        if self.ecs_backend.find_cluster(cluster) is None:
            return  # the agent finds no cluster to join: it never registers
        instance.cluster = cluster
        if provider is not None:
            self.ecs_backend.ec2_instance_providers[instance.instance_id] = (
                provider.name
            )
        response = self.ecs.register_container_instance(
            cluster=cluster,
            instanceIdentityDocument=json.dumps(
                {
                    "instanceId": instance.instance_id,
                    "availabilityZone": instance.availability_zone,
                    "instanceType": instance.instance_type,
                }
            ),
            totalResources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": registered.cpu},
                {
                    "name": "MEMORY",
                    "type": "INTEGER",
                    "integerValue": registered.memory,
                },
            ],
        )
        arn = response["containerInstance"]["containerInstanceArn"]
        instance.container_instance_id = arn.rsplit("/", 1)[-1]
        self.by_container[instance.container_instance_id] = instance
        self._record(
            "instance_in_service",
            instance,
            container_instance=instance.container_instance_id,
            cpu=registered.cpu,
            memory=registered.memory,
        )
        if instance.spot:
            self._wake_spot()

    # ---- termination -------------------------------------------------------------
    def retire(self, instance: GroupInstance, cause: str) -> None:
        """Take *instance* out of the group: drain it first when its provider
        has managed draining and it is registered, else terminate it now.

        Raises:
            InvariantViolation: managed termination protection is on and the
                instance runs non-daemon tasks (it must have stayed protected).
        """
        provider = self.provider
        ci = self.container_instance(instance)
        if (
            provider is not None
            and provider.managed_termination_protection
            and ci is not None
            and has_non_daemon_task(ci)
        ):
            raise InvariantViolation(
                f"the group {self.group.name} chose instance {instance.instance_id} "
                "for scale-in although it runs non-daemon tasks under managed "
                "termination protection"
            )
        if (
            provider is not None
            and provider.managed_draining
            and ci is not None
            and ci.status != "INACTIVE"
        ):
            instance.lifecycle_state = TERMINATING_WAIT
            self._record(
                "instance_draining",
                instance,
                container_instance=ci.container_instance_id,
                cause=cause,
            )
            if ci.status != "DRAINING":
                self.ecs.update_container_instances_state(
                    cluster=instance.cluster,
                    containerInstances=[ci.arn],
                    status="DRAINING",
                )
            if not non_daemon_tasks(ci):
                self.terminate(instance, cause)
            else:
                after(
                    self.env,
                    self.settings.draining_timeout_s,
                    lambda: self.terminate(instance, "draining timed out"),
                )
            return
        self.terminate(instance, cause)

    def terminate(self, instance: GroupInstance, cause: str) -> int:
        """Terminate *instance* now; its tasks die with it. Returns the
        non-daemon tasks killed."""
        if instance.lifecycle_state == TERMINATED:
            return 0
        instance.lifecycle_state = TERMINATED
        group = self.group
        group.instances.pop(instance.instance_id, None)
        ci = self.container_instance(instance)
        killed: list[Task] = []
        if ci is not None and ci.status != "INACTIVE":
            live = capacity.live_tasks(ci)
            killed = [t for t in live if not is_daemon(t)]
            for task in killed:
                self.asgs.record(
                    "task_killed_by_instance_termination",
                    service=task.service.name if task.service is not None else None,
                    task=task.task_id,
                    ec2_instance=instance.instance_id,
                    spot=instance.spot,
                )
            if live:
                self.world.stop_instance_tasks(
                    ci.arn, reason=terminated_reason(instance.instance_id), kill=True
                )
            self.ecs.deregister_container_instance(
                cluster=instance.cluster, containerInstance=ci.arn, force=True
            )
        if ci is not None:
            self.by_container.pop(ci.container_instance_id, None)
        self.by_ec2.pop(instance.instance_id, None)
        self.asgs.add_activity(
            group, f"Terminating EC2 instance: {instance.instance_id}", cause
        )
        self._record(
            "instance_terminated",
            instance,
            container_instance=instance.container_instance_id,
            cause=cause,
            tasks_killed=len(killed),
        )
        if instance.spot:
            self._wake_spot()
        self.notify()
        return len(killed)

    # ---- Spot ----------------------------------------------------------------------
    def _wake_spot(self) -> None:
        if not self._spot_changed.triggered:
            self._spot_changed.succeed()

    def spot_instances(self) -> list[GroupInstance]:
        """In-service Spot instances without a notice yet, in launch order."""
        return [
            i
            for i in self.group.instances.values()
            if i.spot and i.lifecycle_state == IN_SERVICE and not self._noticed(i)
        ]

    def _noticed(self, instance: GroupInstance) -> bool:
        return instance.instance_id in self._notices

    def _spot_notices(self) -> ProcessGenerator:
        """Spot interruption notices at the group's rate per Spot instance
        (memoryless: the next one is redrawn whenever the count changes)."""
        rate = self.settings.spot_interruptions_per_s
        while True:
            count = len(self.spot_instances())
            self._spot_changed = self.env.event()
            if count == 0:
                yield self._spot_changed
                continue
            wait = self.env.timeout(float(self.rng.exponential(1.0 / (rate * count))))
            yield wait | self._spot_changed
            if wait.processed:
                candidates = self.spot_instances()
                if candidates:
                    self.interrupt(candidates[int(self.rng.integers(len(candidates)))])

    def interrupt_one(self) -> None:
        """A scheduled Spot interruption: one in-service Spot instance, at
        random, gets its notice (recorded as skipped when there is none)."""
        candidates = self.spot_instances()
        if not candidates:
            self.asgs.record(
                "fault_skipped",
                auto_scaling_group=self.group.name,
                fault="ec2_spot_interruption",
            )
            return
        self.interrupt(candidates[int(self.rng.integers(len(candidates)))])

    def interrupt(self, instance: GroupInstance) -> None:
        """Give *instance* its two-minute Spot interruption notice; EC2
        terminates it when the notice runs out, whatever runs there."""
        self._notices.add(instance.instance_id)
        ci = self.container_instance(instance)
        tasks = non_daemon_tasks(ci) if ci is not None else []
        self._record(
            "spot_interruption_notice",
            instance,
            container_instance=instance.container_instance_id,
            tasks=len(tasks),
        )
        for task in tasks:
            self.asgs.record(
                "fault_injected",
                service=task.service.name if task.service is not None else None,
                task=task.task_id,
                fault="spot_interruption",
                ec2_instance=instance.instance_id,
            )
        if self.settings.spot_draining and ci is not None and ci.status == "ACTIVE":
            self.ecs.update_container_instances_state(
                cluster=instance.cluster, containerInstances=[ci.arn], status="DRAINING"
            )
        self._wake_spot()
        after(
            self.env,
            SPOT_NOTICE_S,
            lambda: self.terminate(instance, "Spot instance interruption"),
        )


class ManagedScaling:
    """ECS cluster auto scaling for one Auto Scaling group capacity provider."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        runner: GroupRunner,
        client: AutoScalingClient,
        provider: capacity.CapacityProvider,
        record: Callable[..., None],
    ) -> None:
        self.env = env
        self.runner = runner
        self.client = client
        self.provider = provider
        self.record = record
        settings = provider.managed_scaling
        self.settings = settings
        self.high: deque[float] = deque(maxlen=rules.SCALE_OUT_DATAPOINTS)
        self.low: deque[float] = deque(maxlen=rules.SCALE_IN_DATAPOINTS)
        if settings.enabled:
            after(env, METRIC_PERIOD_S, self.evaluate)

    def _instances(self) -> list[tuple[GroupInstance, ContainerInstance]]:
        out = []
        for instance in self.runner.group.instances.values():
            if instance.lifecycle_state != IN_SERVICE:
                continue
            ci = self.runner.container_instance(instance)
            if ci is not None and ci.status in ("ACTIVE", "DRAINING"):
                out.append((instance, ci))
        return out

    def waiting(self) -> dict[rules.Resources, int]:
        """Tasks of this provider waiting in PROVISIONING for room, by need (the
        cluster's placer keeps them in line)."""
        cluster = self.runner.ecs_backend.find_cluster(self.runner.cluster)
        placers = getattr(self.runner.world, "placers", {})
        groups: dict[rules.Resources, int] = {}
        if cluster is None or cluster.name not in placers:
            return groups
        for task in placers[cluster.name].waiting(self.provider.name):
            need = capacity.task_need(task)
            groups[need] = groups.get(need, 0) + 1
        return groups

    def evaluate(self) -> None:
        """One metric period: compute the metric, evaluate both alarms, act."""
        after(self.env, METRIC_PERIOD_S, self.evaluate)
        now = self.env.now
        settings = self.settings
        group = self.runner.group
        instances = self._instances()
        warm = [
            (i, ci)
            for i, ci in instances
            if now - i.launched_at >= settings.instance_warmup_period_s
        ]
        running = len(warm)
        busy = sum(1 for _, ci in warm if has_non_daemon_task(ci))
        types = [
            self.runner.asgs.instance_types[t].registered(
                self.runner.settings.reserved_memory_mib
            )
            for t in group.instance_types
        ]
        waiting = self.waiting()
        estimate = rules.scale_out_estimate(waiting, min(types), max(types))
        step = rules.scale_out_step(estimate, settings)
        needed = rules.instances_needed(running, busy, step)
        metric = rules.capacity_provider_reservation(needed, running)
        self.record(
            "capacity_provider_reservation",
            capacity_provider=self.provider.name,
            value=metric,
            running=running,
            needed=needed,
            waiting=sum(waiting.values()),
        )
        self.high.append(metric)
        self.low.append(metric)
        target = float(settings.target_capacity)
        wanted = rules.clamp_desired(
            rules.target_desired_capacity(needed, settings),
            group.min_size,
            group.max_size,
        )
        if (
            evaluate_alarm(
                list(self.high),
                comparison="GreaterThanThreshold",
                threshold=target,
                datapoints_to_alarm=rules.SCALE_OUT_DATAPOINTS,
            )
            == "ALARM"
        ):
            # a scale-out restarts any scale-in in progress
            self.low.clear()
            blocked = rules.scale_out_blocked(
                [i.launched_at for i in group.instances.values()], now, settings
            )
            if not blocked and wanted > group.desired_capacity:
                self._set_desired(wanted, metric)
            return
        if len(self.low) == rules.SCALE_IN_DATAPOINTS and (
            evaluate_alarm(
                list(self.low),
                comparison="LessThanThreshold",
                threshold=target,
                datapoints_to_alarm=rules.SCALE_IN_DATAPOINTS,
            )
            == "ALARM"
        ):
            self.protect(instances)
            desired = rules.scale_in_desired(group.desired_capacity, wanted)
            if desired < group.desired_capacity:
                self._set_desired(desired, metric)

    def protect(self, instances: list[tuple[GroupInstance, ContainerInstance]]) -> None:
        """Managed termination protection: scale-in protection on instances
        running non-daemon tasks, off on the others."""
        if not self.provider.managed_termination_protection:
            return
        for enabled in (True, False):
            ids = [
                i.instance_id
                for i, ci in instances
                if has_non_daemon_task(ci) is enabled
                and i.protected_from_scale_in is not enabled
            ]
            for start in range(0, len(ids), 50):
                self.client.set_instance_protection(
                    AutoScalingGroupName=self.runner.group.name,
                    InstanceIds=ids[start : start + 50],
                    ProtectedFromScaleIn=enabled,
                )

    def _set_desired(self, desired: int, metric: float) -> None:
        group = self.runner.group
        self.runner.asgs.set_desired_capacity(
            group,
            desired,
            f"monitor alarm TargetTracking-{self.provider.name} in state ALARM "
            f"(CapacityProviderReservation {metric:g}, target "
            f"{self.settings.target_capacity}) changing the desired capacity from "
            f"{group.desired_capacity} to {desired}",
        )


class Ec2Capacity:
    """Every Auto Scaling group of a simulation and the cluster auto scaling of
    the capacity providers that use them.

    A group gets its :class:`GroupRunner` when it is created (through the
    ``autoscaling`` client); a capacity provider naming a group's ARN gets its
    :class:`ManagedScaling` when it is created (through the ECS client).
    """

    def __init__(
        self,
        env: simpy.Environment,
        *,
        asgs: AutoScalingBackend,
        client: AutoScalingClient,
        ecs: EcsClient,
        ecs_backend: EcsBackend,
        world: Any,
        rng: np.random.Generator,
    ) -> None:
        self.env = env
        self.asgs = asgs
        self.client = client
        self.ecs = ecs
        self.ecs_backend = ecs_backend
        self.world = world
        self.rng = rng
        #: the knobs of each group by name (set before the group is created)
        self.settings: dict[str, GroupSettings] = {}
        self.runners: dict[str, GroupRunner] = {}
        self.scalers: dict[str, ManagedScaling] = {}
        asgs.listeners.append(self._group_changed)

    def _group_changed(self, group: AutoScalingGroup) -> None:
        runner = self.runners.get(group.name)
        if runner is None:
            if not self.runners:
                # hooked in with the first group: a run without EC2 pays nothing
                self.ecs_backend.observe(self._observe)
                watchers = getattr(self.world, "instance_watchers", None)
                if watchers is not None:
                    watchers.append(self._instance_changed)
            self.runners[group.name] = GroupRunner(
                self.env,
                self,
                group,
                self.settings.get(group.name, GroupSettings()),
                self.rng,
            )
        else:
            runner.notify()

    def _instance_changed(self, instance: ContainerInstance) -> None:
        for runner in self.runners.values():
            if instance.ec2_instance_id in runner.by_ec2:
                runner.instance_changed(instance)
                return

    def _observe(self, kind: str, fields: dict[str, Any]) -> None:
        if kind != "capacity_provider_created":
            return
        provider = self.ecs_backend.capacity_providers[fields["capacity_provider"]]
        group = self.asgs.find(provider.auto_scaling_group_arn)
        if group is None or provider.name in self.scalers:
            return
        self.scalers[provider.name] = ManagedScaling(
            self.env,
            runner=self.runners[group.name],
            client=self.client,
            provider=provider,
            record=self.asgs.record,
        )

    def runner_of(self, provider: str) -> GroupRunner | None:
        """The runner of the group behind capacity provider *provider*."""
        scaler = self.scalers.get(provider)
        return scaler.runner if scaler is not None else None
