"""Wires the control plane to the processes: the listener the backend talks to.

It owns one :class:`~ecssim.sim.scheduler.ServiceScheduler` per service and the
:class:`~ecssim.sim.tasks.TaskRunner`, and routes each control-plane change to
whichever of them acts on it.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from ecssim.aws.capacity import ContainerInstance, live_tasks
from ecssim.aws.state import Cluster, EcsBackend, Service, Task
from ecssim.config import EcsSettings
from ecssim.rng import Streams
from ecssim.rules.invariants import check_instance_capacity
from ecssim.rules.lifecycle import StopCode, TaskStatus
from ecssim.sim.placer import Placer
from ecssim.sim.scheduler import ServiceScheduler
from ecssim.sim.tasks import TaskRunner


class World:
    """The process layer of one simulation (implements the backend's Listener)."""

    def __init__(
        self,
        env: simpy.Environment,
        backend: EcsBackend,
        settings: EcsSettings,
        streams: Streams,
    ) -> None:
        self.env = env
        self.backend = backend
        self.settings = settings
        self.streams = streams
        self.schedulers: dict[str, ServiceScheduler] = {}
        self.tasks = TaskRunner(env, backend, settings, self._task_changed)
        #: one placer per cluster with container instances, by cluster name
        self.placers: dict[str, Placer] = {}
        #: called with a container instance whenever it is registered, set
        #: ACTIVE or DRAINING, deregistered, or a task is placed on it or
        #: released from it (the Auto Scaling group side appends here)
        self.instance_watchers: list[Callable[[ContainerInstance], None]] = []
        backend.listener = self

    def scheduler(self, service: Service) -> ServiceScheduler:
        """The scheduler of *service*, created on first use."""
        scheduler = self.schedulers.get(service.arn)
        if scheduler is None or scheduler.service is not service:
            scheduler = ServiceScheduler(
                self.env, self.backend, service, self.settings, self.streams["victims"]
            )
            cluster = service.cluster
            scheduler.waiting_in_cluster = lambda: self.placer(cluster).waiting_count
            self.schedulers[service.arn] = scheduler
        return scheduler

    def placer(self, cluster: Cluster) -> Placer:
        """The placer of *cluster*, created on first use."""
        placer = self.placers.get(cluster.name)
        if placer is None or placer.cluster is not cluster:
            placer = Placer(
                self.backend,
                cluster,
                self.streams.for_key("victims", f"placement/{cluster.name}"),
                lambda: float(self.env.now),
                self._placed,
            )
            self.placers[cluster.name] = placer
        return placer

    def _placed(self, task: Task) -> None:
        """*task* is on an instance: its provisioning timer starts."""
        self.tasks.start(task)
        instance = task.container_instance
        if instance is not None:
            for watcher in list(self.instance_watchers):
                watcher(instance)

    def stop_instance_tasks(
        self,
        container_instance_arn: str,
        *,
        reason: str,
        kill: bool,
        stop_code: StopCode = StopCode.TERMINATION_NOTICE,
    ) -> int:
        """Stop every task on the container instance *container_instance_arn*
        (its host is going away), protected or not; returns how many.

        ``kill=True``: the host is gone, each task is STOPPED at once without
        SIGTERM (recorded as ``task_killed``); ``kill=False``: SIGTERM now and
        SIGKILL at ``stopTimeout``, as StopTask. Services replace the tasks as
        usual. Raises ``KeyError`` for an unknown instance.
        """
        instance = self._instance(container_instance_arn)
        tasks = sorted(
            (
                t
                for t in instance.tasks.values()
                if t.last_status is not TaskStatus.STOPPED
            ),
            key=lambda t: t.created_at,
        )
        for task in tasks:
            if task.desired_status != "STOPPED":
                self.backend.request_stop(task, stop_code, reason)
            elif kill:
                task.stopped_reason = reason
            if kill:
                self.tasks.kill(task)
        return len(tasks)

    def _instance(self, arn: str) -> ContainerInstance:
        for cluster in self.backend.clusters.values():
            for instance in cluster.container_instances.values():
                if arn in (instance.arn, instance.container_instance_id):
                    return instance
        raise KeyError(f"no container instance {arn!r}")

    # ---- Listener ----------------------------------------------------------
    def task_created(self, task: Task) -> None:
        """Start the new task's lifecycle (once placed, for one that needs an
        instance)."""
        if task.needs_instance:
            self.placer(task.cluster).enqueue(task)
        else:
            self.tasks.start(task)

    def task_stop_requested(self, task: Task) -> None:
        """Send the task its SIGTERM (via its lifecycle process); a task still
        waiting for an instance stops at once."""
        if (
            task.needs_instance
            and task.container_instance is None
            and self.placer(task.cluster).withdraw(task)
        ):
            self.tasks.stop_unplaced(task)
            return
        self.tasks.request_stop(task)

    def container_instance_changed(self, instance: ContainerInstance) -> None:
        """An instance came, went, changed status, or took or freed a task: tell
        the watchers, place what waits, and wake the services concerned."""
        placer = self.placer(instance.cluster)
        check_instance_capacity(
            instance.container_instance_id,
            (instance.registered.cpu, instance.registered.memory),
            placer.reserved(instance),
            self.env.now,
        )
        for watcher in list(self.instance_watchers):
            watcher(instance)
        if instance.status == "ACTIVE":
            self._daemons_place(instance)
            placer.place(instance.capacity_provider)
            placer.place(None)
        if instance.status != "ACTIVE":
            services = {
                t.service for t in live_tasks(instance) if t.service is not None
            }
            services.update(self._daemons(instance.cluster))
            for service in sorted(services, key=lambda s: s.name):
                self.scheduler(service).notify()

    def _daemons(self, cluster: Cluster) -> list[Service]:
        return [
            s
            for s in cluster.services.values()
            if s.scheduling_strategy == "DAEMON" and s.status == "ACTIVE"
        ]

    def _daemons_place(self, instance: ContainerInstance) -> None:
        """DAEMON services start their task on a new ACTIVE instance before
        waiting tasks take its room."""
        for service in self._daemons(instance.cluster):
            self.scheduler(service).place_daemon(instance)

    def service_changed(self, service: Service) -> None:
        """Desired count, deployment or an outside stop: reconcile soon."""
        self.scheduler(service).notify()

    def protection_changed(self, task: Task) -> None:
        """Protection matters to the scheduler only while it is out of steady state."""
        service = task.service
        if service is not None:
            scheduler = self.schedulers.get(service.arn)
            if scheduler is None or scheduler.service is not service:
                scheduler = self.scheduler(service)
            if not scheduler.steady:
                scheduler.notify()

    def _task_changed(self, task: Task) -> None:
        """A service task started, became healthy, stopped or had its protection
        changed: the scheduler needs to look only while it is out of steady state."""
        if task.service is not None:
            scheduler = self.scheduler(task.service)
            if not scheduler.steady:
                scheduler.notify()
