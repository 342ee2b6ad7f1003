"""Task lifecycles: PROVISIONING -> PENDING -> RUNNING, and SIGTERM/SIGKILL stops.

One short process per task. Whatever runs inside a task (a worker, in later
layers) plugs in through :class:`TaskHooks`: it hears when the task is RUNNING,
decides how long the container takes to exit after SIGTERM, and hears when the
task stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Protocol

import simpy

from ecssim.aws.state import EcsBackend, Task
from ecssim.config import EcsSettings
from ecssim.rules.lifecycle import StopCode, TaskStatus

ProcessGenerator = Generator[simpy.Event, Any, None]

SIGKILL_EXIT_CODE = 137
SIGTERM_EXIT_CODE = 0
#: the interrupt cause of a task whose host is gone (:meth:`TaskRunner.kill`)
KILLED = "killed"


class TaskHooks(Protocol):
    """What runs inside tasks: workers, sessions, faults."""

    def task_running(self, task: Task) -> None:
        """*task* reached RUNNING."""

    def task_sigterm(self, task: Task) -> float | None:
        """*task* got SIGTERM: seconds until its container exits (None: never)."""

    def task_stopped(self, task: Task) -> None:
        """*task*'s containers exited (it is about to be STOPPED)."""


class TaskRunner:
    """Runs every task's lifecycle process.

    Args:
        env: the SimPy environment.
        backend: the ECS control plane whose tasks it runs.
        settings: the task timing knobs.
        on_service_change: called when a service task becomes RUNNING, healthy
            or STOPPED (the scheduler decides whether that matters).
    """

    def __init__(
        self,
        env: simpy.Environment,
        backend: EcsBackend,
        settings: EcsSettings,
        on_service_change: Callable[[Task], None],
    ) -> None:
        self.env = env
        self.backend = backend
        self.settings = settings
        self.on_service_change = on_service_change
        self.hooks: list[TaskHooks] = []
        self._processes: dict[str, simpy.Process] = {}
        self._exited: set[str] = set()
        #: tasks whose container is a real process (``ecssim serve``): after
        #: SIGTERM their stop waits for :meth:`container_exited` or stopTimeout
        self.external: set[str] = set()
        self._exit_waits: dict[str, simpy.Event] = {}

    def start(self, task: Task) -> None:
        """Start *task*'s lifecycle process."""
        self._processes[task.task_id] = self.env.process(self._life(task))

    def stop_unplaced(self, task: Task) -> None:
        """*task* was stopped while it waited for a container instance: nothing
        runs, so it goes straight to STOPPED (no SIGTERM)."""
        self._processes[task.task_id] = self.env.process(self._stop_unplaced(task))

    def _stop_unplaced(self, task: Task) -> ProcessGenerator:
        yield self.env.timeout(0)
        task.stopping_at = task.execution_stopped_at = self.env.now
        self._set(task, TaskStatus.STOPPING)
        self._stopped(task)

    def kill(self, task: Task) -> None:
        """*task*'s host is gone: it is STOPPED now, without SIGTERM (its work
        is lost, recorded as a kill)."""
        if task.last_status is TaskStatus.STOPPED:
            return
        process = self._processes.pop(task.task_id, None)
        if (
            process is not None
            and process.is_alive
            and process is not self.env.active_process
        ):
            # the lifecycle ends without a stop of its own; if the interrupt
            # lands in the middle of a graceful stop, the failure is ignored
            process.interrupt(KILLED)
            process.defused = True
        self._exited.add(task.task_id)
        now = self.env.now
        if task.last_status is not TaskStatus.STOPPING:
            task.stopping_at = now
            self._set(task, TaskStatus.STOPPING)
        if task.started_at is not None:
            task.exit_code = SIGKILL_EXIT_CODE
            self.backend.record(
                "task_killed",
                service=task.service.name if task.service else None,
                task=task.task_id,
                stop_timeout_s=0.0,
                host_lost=True,
            )
        task.execution_stopped_at = now
        for hook in self.hooks:
            hook.task_stopped(task)
        self._exit_waits.pop(task.task_id, None)
        self._stopped(task)

    def request_stop(self, task: Task) -> None:
        """Interrupt *task*'s lifecycle: its desired status is now STOPPED."""
        process = self._processes.get(task.task_id)
        if process is not None and process.is_alive:
            process.interrupt(task.stop_code)

    def container_exited(self, task: Task, exit_code: int) -> None:
        """The essential container of *task* exited on its own (a crash), or,
        for an external task being stopped, after SIGTERM."""
        waiting = self._exit_waits.get(task.task_id)
        if waiting is not None and not waiting.triggered:
            waiting.succeed(exit_code)
            return
        if not task.is_live:
            return
        self._exited.add(task.task_id)
        task.exit_code = exit_code
        self.backend.request_stop(
            task,
            StopCode.ESSENTIAL_CONTAINER_EXITED,
            "Essential container in task exited",
        )

    def _fail_to_start(self, task: Task, reason: str) -> None:
        """*task* could not start: it stops with ``TaskFailedToStart``."""
        self._exited.add(task.task_id)
        task.desire_stopped()
        task.stop_code = StopCode.TASK_FAILED_TO_START
        task.stopped_reason = reason
        if task.deployment is not None:
            task.deployment.failed_tasks += 1
        self.backend.record(
            "task_failed_to_start",
            service=task.service.name if task.service else None,
            task=task.task_id,
            reason=reason,
        )

    def _set(self, task: Task, status: TaskStatus) -> None:
        task.set_status(status)
        self.backend.record(
            "task_status",
            service=task.service.name if task.service else None,
            task=task.task_id,
            status=status.value,
        )

    def _life(self, task: Task) -> ProcessGenerator:
        """Wait out provisioning and pending, run until interrupted, then stop."""
        settings = self.settings
        try:
            yield self.env.timeout(settings.task_provisioning_s)
            task.pull_started_at = self.env.now
            self._set(task, TaskStatus.PENDING)
            yield self.env.timeout(settings.task_pending_s)
            failure = task.task_definition.fails_to_start
            if failure is not None:
                self._fail_to_start(task, failure)
                yield from self._stop(task)
                return
            task.pull_stopped_at = task.started_at = self.env.now
            self._set(task, TaskStatus.RUNNING)
            for hook in self.hooks:
                hook.task_running(task)
            self.on_service_change(task)
            yield self.env.timeout(settings.task_healthy_after_s)
            task.healthy_at = self.env.now
            self.on_service_change(task)
            yield self.env.event()  # runs until a stop interrupts it
        except simpy.Interrupt:
            if task.last_status is TaskStatus.STOPPED:
                return  # killed (TaskRunner.kill): already STOPPED
        yield from self._stop(task)

    def _stop(self, task: Task) -> ProcessGenerator:
        """SIGTERM, wait for the container to exit or stopTimeout, then STOPPED."""
        was_running = task.last_status is TaskStatus.RUNNING
        task.stopping_at = self.env.now
        self._set(task, TaskStatus.STOPPING)
        if was_running and task.task_id not in self._exited:
            exit_after = self._sigterm(task)
            timeout = task.task_definition.stop_timeout_s
            if task.task_id in self.external:
                yield from self._await_exit(task, exit_after, timeout)
            elif exit_after is None or exit_after > timeout:
                yield self.env.timeout(timeout)
                task.exit_code = SIGKILL_EXIT_CODE
                self.backend.record(
                    "task_killed",
                    service=task.service.name if task.service else None,
                    task=task.task_id,
                    stop_timeout_s=timeout,
                )
            else:
                yield self.env.timeout(exit_after)
                task.exit_code = SIGTERM_EXIT_CODE
        task.execution_stopped_at = self.env.now
        for hook in self.hooks:
            hook.task_stopped(task)
        yield self.env.timeout(self.settings.task_deprovisioning_s)
        self._stopped(task)

    def _stopped(self, task: Task) -> None:
        """*task* reaches STOPPED: the control plane and its service hear of it,
        and the runner forgets it."""
        task.stopped_at = self.env.now
        self._set(task, TaskStatus.STOPPED)
        self.backend.task_stopped(task)
        self._processes.pop(task.task_id, None)
        self._exited.discard(task.task_id)
        self.external.discard(task.task_id)
        self.on_service_change(task)

    def _await_exit(
        self, task: Task, exit_after: float | None, timeout: float
    ) -> ProcessGenerator:
        """An external task after SIGTERM: its container exits when its process
        does (:meth:`container_exited`), or is killed at stopTimeout."""
        exited = self._exit_waits[task.task_id] = self.env.event()
        limit = timeout if exit_after is None else min(exit_after, timeout)
        yield self.env.timeout(limit) | exited
        del self._exit_waits[task.task_id]
        if exited.triggered:
            task.exit_code = int(exited.value or 0)
        elif exit_after is not None and exit_after <= timeout:
            task.exit_code = SIGTERM_EXIT_CODE
        else:
            task.exit_code = SIGKILL_EXIT_CODE
            self.backend.record(
                "task_killed",
                service=task.service.name if task.service else None,
                task=task.task_id,
                stop_timeout_s=timeout,
            )

    def _sigterm(self, task: Task) -> float | None:
        """The longest exit delay any hook asks for (settings when none cares)."""
        answers = [hook.task_sigterm(task) for hook in self.hooks]
        if not answers:
            return self.settings.sigterm_exit_s
        if any(a is None for a in answers):
            return None
        return max(a for a in answers if a is not None)
