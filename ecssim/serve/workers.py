"""External workers: one real process per task of a service with
``worker: {command: [...]}``.

A task's process starts when the task reaches RUNNING, with the variables a
container on ECS has (``ECS_AGENT_URI``, ``ECS_CONTAINER_METADATA_URI_V4``)
plus the AWS endpoint variables pointing at the server and, for a queue
service, ``QUEUE_URL``. ECS stopping the task sends it SIGTERM (to its process
group) and, if it has not exited by ``stopTimeout`` in simulated time, SIGKILL;
a process that exits on its own stops its task as an essential container exit,
and the service scheduler replaces it. Each process writes to
``<service>-<task id>.log`` in the log folder.

Implements :class:`ecssim.sim.tasks.TaskHooks` (called with the clock's lock
held); a watcher thread notices processes that exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

from ecssim.aws.state import Task

if TYPE_CHECKING:
    from ecssim.serve.server import ServeApp

#: Wall-clock seconds between two looks at the processes.
POLL_S: Final = 0.1
#: Wall-clock seconds processes get to exit after SIGTERM at shutdown.
SHUTDOWN_GRACE_S: Final = 5.0


@dataclass
class _Running:
    task: Task
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    reported: bool = False


def exit_code(returncode: int) -> int:
    """A container's exit code for a process's return code (killed by signal N:
    128 + N, as Docker reports it)."""
    return 128 - returncode if returncode < 0 else returncode


class ExternalWorkers:
    """Runs and signals the real worker processes of *commands*' services.

    Args:
        app: the server's application (URIs of tasks, the clock, the model).
        commands: the command of each service that has one.
        log_dir: where per-task log files go (created).
        speed: the clock's speed, passed on as ``ECSSIM_SPEED`` (1 if manual).
        env: the environment processes inherit (default: this process's).
    """

    def __init__(
        self,
        app: ServeApp,
        commands: Mapping[str, Sequence[str]],
        log_dir: Path,
        *,
        speed: float | None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self.commands = {k: list(v) for k, v in commands.items()}
        self.log_dir = log_dir
        self.speed = speed
        self.base_env = dict(os.environ if env is None else env)
        self.running: dict[str, _Running] = {}
        #: every task id a process was started for, in order
        self.started: list[str] = []
        self._runner = app.model.sim.world.tasks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def install(self) -> None:
        """Take over the services' workers from the in-process model and start
        watching processes."""
        workers = self.app.model.workers
        for service in self.commands:
            workers.factories.pop(service, None)
        self._runner.hooks.append(self)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(
            target=self._watch, name="ecssim-workers", daemon=True
        )
        self._thread.start()

    def environment(self, task: Task) -> dict[str, str]:
        """The variables *task*'s process gets."""
        app = self.app
        sim = app.model.sim
        env = dict(self.base_env)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            env.pop(key, None)
        env.update(
            {
                "ECS_AGENT_URI": app.agent_uri(task),
                "ECS_CONTAINER_METADATA_URI_V4": app.metadata_uri(task),
                "ECS_CONTAINER_METADATA_URI": app.metadata_uri(task),
                "AWS_ENDPOINT_URL": app.base_url,
                # the access key names the task, so the server knows who calls
                "AWS_ACCESS_KEY_ID": task.task_id,
                "AWS_SECRET_ACCESS_KEY": "ecssim",
                "AWS_REGION": sim.backend.region,
                "AWS_DEFAULT_REGION": sim.backend.region,
                "AWS_EC2_METADATA_DISABLED": "true",
                "ECSSIM_SPEED": f"{self.speed if self.speed is not None else 1.0:g}",
            }
        )
        sqs = app.sqs
        if (
            task.service is not None
            and sqs is not None
            and task.service.name in sqs.queues
        ):
            env["QUEUE_URL"] = sqs.queue_url(task.service.name)
        return env

    # ---- TaskHooks ---------------------------------------------------------------
    def task_running(self, task: Task) -> None:
        """Start *task*'s process, if its service has a command."""
        if task.service is None or task.service.name not in self.commands:
            return
        name = f"{task.service.name}-{task.task_id}.log"
        log = (self.log_dir / name).open("ab")
        try:
            process = subprocess.Popen(
                self.commands[task.service.name],
                env=self.environment(task),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            log.write(f"ecssim: could not start the worker: {exc}\n".encode())
            log.close()
            self._runner.container_exited(task, 127)
            return
        self._runner.external.add(task.task_id)
        self.running[task.task_id] = _Running(task, process, log)
        self.started.append(task.task_id)

    def task_sigterm(self, task: Task) -> float | None:
        """SIGTERM the process: it exits when it does (None: not by itself)."""
        self.app.mark_busy(task.task_id, False)
        running = self.running.get(task.task_id)
        if running is None:
            return 0.0
        if running.process.poll() is not None:
            return 0.0
        _signal(running.process, signal.SIGTERM)
        return None

    def task_stopped(self, task: Task) -> None:
        """The container is gone: SIGKILL the process if it still runs."""
        self.app.mark_busy(task.task_id, False)
        running = self.running.pop(task.task_id, None)
        if running is None:
            return
        if running.process.poll() is None:
            _signal(running.process, signal.SIGKILL)
        running.log.close()

    # ---- watching and shutting down ------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            self.check()

    def check(self) -> None:
        """Report processes that exited to the task runner."""
        clock = self.app.clock
        for running in list(self.running.values()):
            code = running.process.poll()
            if code is None or running.reported:
                continue
            with clock.lock:
                if running.reported:
                    continue
                running.reported = True
                self._runner.container_exited(running.task, exit_code(code))

    def shutdown(self) -> None:
        """Stop watching; SIGTERM every process, SIGKILL what is left after a grace."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        processes = [r.process for r in self.running.values()]
        for process in processes:
            if process.poll() is None:
                _signal(process, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(SHUTDOWN_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal(process, signal.SIGKILL)
                process.wait(SHUTDOWN_GRACE_S)
        for running in self.running.values():
            running.log.close()
        self.running.clear()


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
