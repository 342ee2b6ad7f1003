"""Wires the control plane to the processes: the listener the backend talks to.

It owns one :class:`~ecssim.sim.scheduler.ServiceScheduler` per service and the
:class:`~ecssim.sim.tasks.TaskRunner`, and routes each control-plane change to
whichever of them acts on it.
"""

from __future__ import annotations

import simpy

from ecssim.aws.state import EcsBackend, Service, Task
from ecssim.config import EcsSettings
from ecssim.rng import Streams
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
        backend.listener = self

    def scheduler(self, service: Service) -> ServiceScheduler:
        """The scheduler of *service*, created on first use."""
        scheduler = self.schedulers.get(service.arn)
        if scheduler is None or scheduler.service is not service:
            scheduler = ServiceScheduler(
                self.env, self.backend, service, self.settings, self.streams["victims"]
            )
            self.schedulers[service.arn] = scheduler
        return scheduler

    # ---- Listener ----------------------------------------------------------
    def task_created(self, task: Task) -> None:
        """Start the new task's lifecycle."""
        self.tasks.start(task)

    def task_stop_requested(self, task: Task) -> None:
        """Send the task its SIGTERM (via its lifecycle process)."""
        self.tasks.request_stop(task)

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
