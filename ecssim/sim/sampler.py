"""The sampler: one row per service every ``sample_interval``.

It reads counts that the model already keeps; it never changes anything. Rows
are ``(time_s, service, desired, running, pending, protected, busy, idle,
idle_protected, queued, in_flight, sessions, sessions_waiting)``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Final

import simpy

from ecssim.aws.state import Service
from ecssim.lifecycle import TaskStatus
from ecssim.sim.workers import Workers
from ecssim.sim.workloads import JobQueue, SessionPool

ProcessGenerator = Generator[simpy.Event, Any, None]

TIMESERIES_COLUMNS: Final = (
    "time_s",
    "service",
    "desired",
    "running",
    "pending",
    "protected",
    "busy",
    "idle",
    "idle_protected",
    "above_desired_protected",
    "queued",
    "in_flight",
    "sessions",
    "sessions_waiting",
)


@dataclass(frozen=True, slots=True)
class Sampled:
    """One service as the sampler sees it."""

    service: Service
    queue: JobQueue | None
    pool: SessionPool | None


class Sampler:
    """Samples every service at a fixed interval."""

    def __init__(
        self,
        env: simpy.Environment,
        interval_s: float,
        services: Callable[[], list[Sampled]],
        workers: Workers,
    ) -> None:
        self.env = env
        self.interval_s = interval_s
        self.services = services
        self.workers = workers
        self.rows: list[tuple[Any, ...]] = []

    def run(self, until_s: float) -> ProcessGenerator:
        """Take a sample now and every interval until *until_s* (inclusive)."""
        while True:
            self.sample()
            if self.env.now + self.interval_s > until_s + 1e-9:
                return
            yield self.env.timeout(self.interval_s)

    def sample(self) -> None:
        """Append one row per service for the current moment."""
        now = self.env.now
        by_task = self.workers.by_task
        for item in self.services():
            service = item.service
            running = protected = busy = idle_protected = pending = 0
            for task in service.tasks.values():
                status = task.last_status
                if status is TaskStatus.RUNNING:
                    running += 1
                    is_protected = task.protection.is_active(now)
                    worker = by_task.get(task.task_id)
                    is_busy = worker is not None and worker.busy
                    protected += is_protected
                    busy += is_busy
                    idle_protected += is_protected and not is_busy
                elif status is TaskStatus.PROVISIONING or status is TaskStatus.PENDING:
                    pending += 1
            desired = service.desired_count
            self.rows.append(
                (
                    now,
                    service.name,
                    desired,
                    running,
                    pending,
                    protected,
                    busy,
                    running - busy,
                    idle_protected,
                    max(0, min(running - desired, protected)),
                    item.queue.queued if item.queue else 0,
                    item.queue.in_flight if item.queue else 0,
                    item.pool.connected if item.pool else 0,
                    len(item.pool.waiting) if item.pool else 0,
                )
            )
