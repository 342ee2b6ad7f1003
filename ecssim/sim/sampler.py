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
from ecssim.rules.invariants import check_counts
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
        """Sample at 0, interval, 2 x interval, ... while before *until_s*.

        Each row stands for the interval that starts at its time, so the rows
        cover [0, until_s) exactly and task-hours are the sum times the interval.
        """
        while True:
            self.sample()
            if self.env.now + self.interval_s >= until_s - 1e-9:
                return
            yield self.env.timeout(self.interval_s)

    def sample(self) -> None:
        """Append one row per service for the current moment.

        Counts are kept as tasks, protection and workers change (protection
        lapses lazily: ``ProtectedCount`` applies expiries when read), so a
        sample costs the same whatever the number of tasks.
        """
        now = self.env.now
        for item in self.services():
            service = item.service
            running = service.running_count
            busy = self.workers.load(service.name).busy
            protected, idle_protected = service.protected_count.counts(
                service.tasks, now
            )
            desired = service.desired_count
            pending = service.pending_count
            check_counts(
                service.name,
                {
                    "desired": desired,
                    "running": running,
                    "pending": pending,
                    "busy": busy,
                    "idle": running - busy,
                },
                now,
            )
            if item.queue is not None:
                item.queue.check()
            if item.pool is not None:
                item.pool.check()
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
