"""Faults: hung workers, crashing tasks, Spot interruptions, at a time or a rate.

A rate is per task: one process per fault draws the next occurrence from an
exponential with the rate times the number of live tasks at that moment
(memoryless, so redrawing when the count changes is exact enough), then picks a
task at random. No process runs per task. Protection API errors are injected by
:class:`~ecssim.sim.workers.ProtectionCaller`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from ecssim.aws.state import EcsBackend, Service, Task
from ecssim.rules.lifecycle import StopCode, TaskStatus
from ecssim.scenario.schema import (
    SpotInterruption,
    TaskCrash,
    TaskRetirement,
    WorkerHang,
)
from ecssim.sim.tasks import TaskRunner
from ecssim.sim.timers import at
from ecssim.sim.workers import Workers

ProcessGenerator = Generator[simpy.Event, Any, None]
CRASH_EXIT_CODE = 1
#: How often a rate fault re-checks a service that has no eligible task.
IDLE_RECHECK_S = 3600.0
#: The ``stoppedReason`` of a task stopped by Fargate task retirement
#: (task-maintenance.html, "Task retirement and maintenance for AWS Fargate").
RETIREMENT_REASON = (
    "ECS is performing maintenance on the underlying infrastructure hosting the task"
)


class Faults:
    """Injects the scenario's task and worker faults."""

    def __init__(
        self,
        env: simpy.Environment,
        backend: EcsBackend,
        tasks: TaskRunner,
        workers: Workers,
        rng: np.random.Generator,
    ) -> None:
        self.env = env
        self.backend = backend
        self.tasks = tasks
        self.workers = workers
        self.rng = rng

    def add(
        self, fault: WorkerHang | TaskCrash | SpotInterruption, service: Service
    ) -> None:
        """Start injecting *fault* into *service*."""
        if fault.at_s is not None:
            at(self.env, fault.at_s, lambda: self._strike(fault, service))
        else:
            self.env.process(self._at_rate(fault, service))

    def _eligible(
        self, fault: WorkerHang | TaskCrash | SpotInterruption, service: Service
    ) -> list[Task]:
        tasks = [t for t in service.live_tasks() if t.last_status is TaskStatus.RUNNING]
        if isinstance(fault, SpotInterruption):
            tasks = [t for t in tasks if t.capacity_provider == "FARGATE_SPOT"]
        if isinstance(fault, WorkerHang):
            hangable = [
                t
                for t in tasks
                if t.task_id in self.workers.by_task
                and not self.workers.by_task[t.task_id].hung
            ]
            busy = [t for t in hangable if self.workers.by_task[t.task_id].busy]
            tasks = busy or hangable
        return sorted(tasks, key=lambda t: t.task_id)

    def _at_rate(
        self, fault: WorkerHang | TaskCrash | SpotInterruption, service: Service
    ) -> ProcessGenerator:
        """Strike at the fault's rate per task, for as long as the run lasts."""
        rate = fault.rate_per_s or 0.0
        while rate > 0:
            count = len(self._eligible(fault, service))
            if count == 0:
                yield self.env.timeout(IDLE_RECHECK_S)
                continue
            yield self.env.timeout(float(self.rng.exponential(1.0 / (rate * count))))
            self._strike(fault, service)

    def _strike(
        self, fault: WorkerHang | TaskCrash | SpotInterruption, service: Service
    ) -> None:
        tasks = self._eligible(fault, service)
        if not tasks:
            self.backend.record("fault_skipped", service=service.name, fault=fault.kind)
            return
        task = tasks[int(self.rng.integers(len(tasks)))]
        self.backend.record(
            "fault_injected", service=service.name, task=task.task_id, fault=fault.kind
        )
        if isinstance(fault, WorkerHang):
            self.workers.by_task[task.task_id].hang(fault.still_renewing)
        elif isinstance(fault, TaskCrash):
            self.tasks.container_exited(task, CRASH_EXIT_CODE)
        else:
            self.backend.request_stop(
                task, StopCode.SPOT_INTERRUPTION, "Your Spot Task was interrupted."
            )

    def retire(self, fault: TaskRetirement, service: Service) -> None:
        """Fargate task retirement: notice at ``fault.at_s``, then, ``notice_s``
        later, retire every task of *service* that was live at the notice.
        Protection does not stop it. With ``pacing: deployment`` (the default,
        task-maintenance.html: the scheduler launches the replacement, then
        stops the retired task, keeping ``minimumHealthyPercent``) the service
        scheduler replaces them as it replaces tasks of a DRAINING instance;
        with ``pacing: all_at_once`` every one is stopped at once (a SIGTERM as
        StopTask gives)."""

        def notice() -> None:
            tasks = sorted(service.live_tasks(), key=lambda t: t.task_id)
            self.backend.record(
                "task_retirement_notice",
                service=service.name,
                tasks=len(tasks),
                notice_s=fault.notice_s,
            )
            at(self.env, self.env.now + fault.notice_s, lambda: retire(tasks))

        def retire(tasks: list[Task]) -> None:
            if fault.pacing == "deployment":
                # the scheduler starts a replacement first when maximumPercent
                # allows, and stops the task within minimumHealthyPercent
                marked = 0
                for task in tasks:
                    if task.desired_status != "STOPPED":
                        task.retiring = RETIREMENT_REASON
                        marked += 1
                if marked:
                    service.retiring = True
                    self.backend.record(
                        "task_retirement_started", service=service.name, tasks=marked
                    )
                    self.backend.listener.service_changed(service)
                return
            for task in tasks:
                if task.desired_status == "STOPPED":
                    continue
                self.backend.record(
                    "fault_injected",
                    service=service.name,
                    task=task.task_id,
                    fault="task_retirement",
                )
                self.backend.request_stop(
                    task, StopCode.TERMINATION_NOTICE, RETIREMENT_REASON
                )

        at(self.env, fault.at_s, notice)
