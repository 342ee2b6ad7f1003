"""Placing tasks on container instances (EC2 capacity): one :class:`Placer` per cluster.

A task that runs on a container instance (its capacity provider is an Auto
Scaling group provider, or launch type EC2 on a cluster with instances) is
created in PROVISIONING with no instance and no zone, and waits in a FIFO of its
capacity provider (``None``: launch type EC2, any instance of the cluster).
Whenever room can appear (a task released, an instance registered or set
ACTIVE, a new waiting task) the placer walks that FIFO in order and places what
fits with :func:`ecssim.rules.capacity.place_task` (the service's strategies in
order, ECS's default when it has none; its constraints). A task that does not
fit stays in line without holding back the tasks behind it: a group of tasks
with the same requirements that failed once is skipped for the rest of the walk.

Event-driven: nothing runs while nothing changes. The placer never waits; the
:class:`ecssim.sim.tasks.TaskRunner` starts a task's provisioning timer once it
is placed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Final

import numpy as np

from ecssim.aws.capacity import ContainerInstance, assign_task, task_need
from ecssim.aws.state import Cluster, EcsBackend, Task
from ecssim.rules.capacity import (
    DEFAULT_SERVICE_STRATEGIES,
    InstanceView,
    PlacementConstraint,
    PlacementStrategy,
    Resources,
    candidates,
    place_task,
    satisfies,
)
from ecssim.rules.lifecycle import TaskStatus

#: ECS repeats an unresolved service event after six hours, not before
EVENT_REPEAT_AFTER_S: Final = 6 * 3600.0


def unplaced_message(
    service: str,
    instances: list[InstanceView],
    need: Resources,
    *,
    any_instance: bool = True,
) -> str:
    """The service event ECS sends when no container instance can take a task
    (service-event-messages.html). *instances* are the ACTIVE instances of the
    task's capacity that meet its constraints. With no ACTIVE instance at all
    (*any_instance* False), ECS's "No Container Instances were found" reason;
    with none meeting the constraints, no closest match; otherwise the closest matching one (ecssim:
    the one with the most CPU, then memory, left) and what it lacks.
    """
    head = (
        f"(service {service}) was unable to place a task because no container "
        "instance met all of its requirements."
    )
    tail = " For more information, see the Troubleshooting section."
    if not any_instance:
        return (
            f"{head} Reason: No Container Instances were found in your cluster.{tail}"
        )
    if not instances:
        return head + tail
    closest = max(
        instances, key=lambda i: (i.remaining.cpu, i.remaining.memory, i.instance_id)
    )
    left = closest.remaining
    if left.cpu < need.cpu:
        lack = "insufficient CPU units available"
    elif left.memory < need.memory:
        lack = "insufficient memory available"
    else:
        return head + tail
    return (
        f"{head} The closest matching (container-instance "
        f"{closest.instance_id}) has {lack}.{tail}"
    )


class Placer:
    """Keeps the tasks of one cluster that wait for room, and places them.

    Args:
        backend: the ECS control plane.
        cluster: the cluster whose instances it fills.
        rng: the generator placement ties are drawn from.
        clock: the simulated time.
        placed: called with each task once it is on an instance (start its
            provisioning timer, tell the instance watchers).
    """

    def __init__(
        self,
        backend: EcsBackend,
        cluster: Cluster,
        rng: np.random.Generator,
        clock: Callable[[], float],
        placed: Callable[[Task], None],
    ) -> None:
        self.backend = backend
        self.cluster = cluster
        self.rng = rng
        self.clock = clock
        self.placed = placed
        #: waiting tasks per capacity provider (None: launch type EC2), FIFO
        self.queues: dict[str | None, list[Task]] = {}
        #: when each waiting task started waiting, by task id
        self.waiting_since: dict[str, float] = {}
        #: (service name, message) -> when it was last sent, while its cause lasts
        self._sent: dict[tuple[str, str], float] = {}
        self._placing = False
        self._again: set[str | None] = set()
        #: per FIFO, the kinds of task that found no room in its last walk
        self._failed: dict[str | None, set[tuple[int, str]]] = {}

    # ---- queue ------------------------------------------------------------
    @staticmethod
    def key(task: Task) -> str | None:
        """The FIFO a task waits in: its capacity provider (None: any instance)."""
        return task.capacity_provider

    @property
    def waiting_count(self) -> int:
        """Tasks of the cluster waiting for room."""
        return len(self.waiting_since)

    def waiting(self, capacity_provider: str | None) -> list[Task]:
        """The tasks waiting for room on *capacity_provider*, oldest first."""
        return list(self.queues.get(capacity_provider, ()))

    def enqueue(self, task: Task) -> None:
        """*task* needs an instance: it waits in line, and a placement is tried."""
        key = self.key(task)
        self.queues.setdefault(key, []).append(task)
        self.waiting_since[task.task_id] = self.clock()
        self.backend.record(
            "task_waiting_for_capacity",
            task_id=task.task_id,
            task=task.task_id,
            service=task.service.name if task.service else None,
            capacity_provider=key,
        )
        if task.target_instance is None and self._signature(task) in self._failed.get(
            key, ()
        ):
            return  # its like found no room, and no room has appeared since
        self._again.add(key)
        self._run()

    def withdraw(self, task: Task) -> bool:
        """Take *task* out of line (it was stopped while waiting); False if it
        was not waiting."""
        if self.waiting_since.pop(task.task_id, None) is None:
            return False
        queue = self.queues.get(self.key(task), [])
        if task in queue:
            queue.remove(task)
        return True

    # ---- placing ---------------------------------------------------------------
    def place(self, key: str | None) -> None:
        """Room may have appeared for the FIFO of *key*: place what fits
        (re-entrant calls are merged)."""
        self._failed.pop(key, None)
        if not self.queues.get(key):
            return
        self._again.add(key)
        self._run()

    @staticmethod
    def _signature(task: Task) -> tuple[int, str]:
        """Tasks alike for placement: the same service (or task) and group."""
        return (id(task.service) if task.service else id(task), task.group)

    def _run(self) -> None:
        if self._placing:
            return
        self._placing = True
        try:
            while self._again:
                self._walk(min(self._again, key=lambda k: (k is not None, k or "")))
        finally:
            self._placing = False

    def place_all(self) -> None:
        """Try every FIFO (an instance registered or became ACTIVE)."""
        for key in sorted(self.queues, key=lambda k: (k is not None, k or "")):
            self.place(key)

    def _instances(self, key: str | None) -> list[ContainerInstance]:
        return [
            i
            for i in self.cluster.container_instances.values()
            if i.status != "INACTIVE" and (key is None or i.capacity_provider == key)
        ]

    def view(self, instance: ContainerInstance) -> InstanceView:
        """*instance* as placement sees it, its remaining resources summed from
        the cached requirements of its tasks (not parsed again each time)."""
        cpu = memory = 0
        for task in instance.tasks.values():
            if task.last_status is not TaskStatus.STOPPED:
                need = task_need(task)
                cpu += need.cpu
                memory += need.memory
        registered = instance.registered
        return InstanceView(
            instance_id=instance.container_instance_id,
            availability_zone=instance.availability_zone,
            registered=registered,
            remaining=Resources(registered.cpu - cpu, registered.memory - memory),
            active=instance.status == "ACTIVE",
        )

    def reserved(self, instance: ContainerInstance) -> list[tuple[int, int]]:
        """(CPU units, MiB) reserved by each task on *instance* not STOPPED."""
        return [
            (need.cpu, need.memory)
            for need in (
                task_need(t)
                for t in instance.tasks.values()
                if t.last_status is not TaskStatus.STOPPED
            )
        ]

    @staticmethod
    def rules(
        task: Task,
    ) -> tuple[tuple[PlacementStrategy, ...], tuple[PlacementConstraint, ...]]:
        """The strategies (ECS's default when none) and constraints of *task*."""
        source = task.service if task.service is not None else task
        strategies = source.placement_strategies or DEFAULT_SERVICE_STRATEGIES
        return strategies, source.placement_constraints

    def _group_counts(self, task: Task) -> Counter[str]:
        """Tasks of *task*'s group (its service, or its ``group``) per instance,
        counting every task there that is not STOPPED."""
        counts: Counter[str] = Counter()
        pool: Iterable[Task]
        if task.service is not None:
            pool = task.service.tasks.values()
        else:
            pool = (t for t in self.cluster.tasks.values() if t.group == task.group)
        for other in pool:
            instance = other.container_instance
            if instance is not None and other.last_status is not TaskStatus.STOPPED:
                counts[instance.container_instance_id] += 1
        return counts

    def _walk(self, key: str | None) -> None:
        """One walk along the FIFO of *key*."""
        self._again.discard(key)
        current = self.queues.get(key)
        if not current:
            return
        queue = list(current)
        instances = self._instances(key)
        by_id = {i.container_instance_id: i for i in instances}
        views = {i.container_instance_id: self.view(i) for i in instances}
        failed: set[tuple[int, str]] = set()
        left: list[Task] = []
        # a DAEMON service's tasks (bound to their instance) go first
        daemons = [t for t in queue if t.target_instance is not None]
        if daemons:
            queue = daemons + [t for t in queue if t.target_instance is None]
        for task in queue:
            signature = self._signature(task)
            if signature in failed:
                left.append(task)
                continue
            need = task_need(task)
            strategies, constraints = self.rules(task)
            counts = self._group_counts(task)
            target = task.target_instance
            if target is not None:
                view = views.get(target.container_instance_id)
                fits = view is not None and candidates([view], need, (), counts)
                chosen = target.container_instance_id if fits else None
            else:
                chosen = place_task(
                    list(views.values()),
                    need,
                    strategies=strategies,
                    constraints=constraints,
                    group_counts=counts,
                    rng=self.rng,
                )
            if chosen is None:
                if target is None:
                    failed.add(signature)
                left.append(task)
                self._report(task, views, need, constraints, counts)
                continue
            instance = by_id[chosen]
            self._assign(task, instance)
            views[chosen] = self.view(instance)
        self._failed[key] = failed
        # tasks that arrived during the walk (a watcher launched one) keep their turn
        seen = {t.task_id for t in queue}
        arrived = [t for t in self.queues.get(key, ()) if t.task_id not in seen]
        self.queues[key] = [
            t for t in [*left, *arrived] if t.task_id in self.waiting_since
        ]

    def _assign(self, task: Task, instance: ContainerInstance) -> None:
        assign_task(instance, task)
        task.availability_zone = instance.availability_zone
        since = self.waiting_since.pop(task.task_id)
        service = task.service
        if service is not None:
            for sent in [s for s in self._sent if s[0] == service.name]:
                del self._sent[sent]
        self.backend.record(
            "task_placed",
            task_id=task.task_id,
            task=task.task_id,
            service=service.name if service else None,
            container_instance_arn=instance.arn,
            availability_zone=instance.availability_zone,
            waited_s=self.clock() - since,
        )
        self.placed(task)

    def _report(
        self,
        task: Task,
        views: dict[str, InstanceView],
        need: Resources,
        constraints: tuple[PlacementConstraint, ...],
        counts: Counter[str],
    ) -> None:
        """Tell the service (once while the cause lasts, again after 6 h)."""
        service = task.service
        if service is None:
            return
        active = [v for v in views.values() if v.active]
        fitting = [v for v in active if satisfies(v, constraints, counts)]
        message = unplaced_message(
            service.name, fitting, need, any_instance=bool(active)
        )
        now = self.clock()
        last = self._sent.get((service.name, message))
        if last is not None and now - last < EVENT_REPEAT_AFTER_S:
            return
        self._sent[(service.name, message)] = now
        self.backend.add_event(service, message)
