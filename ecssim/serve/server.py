"""The HTTP server of ``ecssim serve``: one loopback port for everything.

Routes (``ThreadingHTTPServer`` from the standard library, one thread per
connection, every handler under the clock's lock):

* ``POST /`` with ``X-Amz-Target``: the AWS JSON APIs (ECS, Application Auto
  Scaling, CloudWatch, SQS when the scenario has a queue), see
  :mod:`ecssim.serve.protocol`;
* ``/api/<task-id>/task-protection/v1/state`` (GET, PUT): the task's
  ``$ECS_AGENT_URI`` endpoint, answered by :class:`ecssim.aws.agent.AgentEndpoint`;
* ``/v4/<task-id>`` and ``/v4/<task-id>/task``: the task's
  ``$ECS_CONTAINER_METADATA_URI_V4`` container and task documents;
* ``/_ecssim/clock``, ``/_ecssim/advance?seconds=N`` (manual mode),
  ``/_ecssim/pause``, ``/_ecssim/resume``, ``/_ecssim/summary``,
  ``/_ecssim/tasks``: the control endpoint.

Requests are never signed-checked: any dummy credentials work. It binds
127.0.0.1 unless told otherwise (:func:`check_bind`).
"""

from __future__ import annotations

import ipaddress
import json
import math
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlsplit

from ecssim.aws.agent import ECS_CALL_TIMEOUT_S, AgentEndpoint
from ecssim.aws.state import Task
from ecssim.errors import EcsSimError
from ecssim.serve.clock import Clock
from ecssim.serve.protocol import (
    MAX_BODY_BYTES,
    Answer,
    JsonService,
    error_answer,
    to_json,
)
from ecssim.serve.sqs import SqsQueues
from ecssim.serve.workers import ExternalWorkers
from ecssim.sim.timers import at

if TYPE_CHECKING:
    from ecssim.model.build import Model

LOOPBACK: Final = "127.0.0.1"
AGENT_PREFIX: Final = "/api/"
METADATA_PREFIX: Final = "/v4/"
CONTROL_PREFIX: Final = "/_ecssim/"
#: An oversize body up to this size is read and dropped before the 413 answer.
DRAIN_BYTES: Final = 16 * 1024 * 1024


class BindError(EcsSimError, ValueError):
    """A bind address that is not loopback, without an explicit ``--bind``."""


def is_loopback(host: str) -> bool:
    """Whether *host* only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, allow_remote: bool) -> str:
    """*host*, if the server may bind it.

    Raises:
        BindError: *host* is not a loopback address and *allow_remote* is false.
    """
    if not is_loopback(host) and not allow_remote:
        raise BindError(
            f"refusing to bind {host!r}: ecssim serve answers AWS calls without any "
            "authentication, so it binds 127.0.0.1 only unless --bind is given"
        )
    return host


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ServeApp:
    """What the server answers, independent of sockets.

    Args:
        model: the scenario built into a simulated account.
        clock: the clock driving it.
        base_url: the server's own URL (``http://127.0.0.1:PORT``), for the
            per-task URIs.
    """

    def __init__(self, model: Model, clock: Clock, base_url: str = "") -> None:
        self.model = model
        self.clock = clock
        self.base_url = base_url
        sim = model.sim
        self.agent = AgentEndpoint(sim.ecs, sim.start)
        request_id = sim.streams.request_id
        services = [
            JsonService("ecs", sim.ecs, request_id),
            JsonService(
                "application-autoscaling", sim.application_autoscaling, request_id
            ),
            JsonService("cloudwatch", sim.cloudwatch, request_id),
        ]
        queues = {
            name: runtime.queue
            for name, runtime in model.services.items()
            if runtime.queue is not None
        }
        #: SQS for the scenario's queues (None without any)
        self.sqs: SqsQueues | None = None
        if queues:
            self.sqs = SqsQueues(
                queues,
                clock=clock,
                schedule=lambda time_s, action: at(sim.env, time_s, action),
                base_url=lambda: self.base_url,
                account_id=sim.backend.account_id,
                region=sim.backend.region,
                request_id=request_id,
                mark_busy=self.mark_busy,
            )
            services.append(JsonService("sqs", self.sqs, request_id))
        self.services: dict[str, JsonService] = {s.target_prefix: s for s in services}
        #: the real worker processes, when services have a command
        self.external: ExternalWorkers | None = None

    # ---- URIs of a task ------------------------------------------------------------
    def agent_uri(self, task: Task) -> str:
        """``$ECS_AGENT_URI`` of *task*."""
        return f"{self.base_url}{AGENT_PREFIX}{task.task_id}"

    def metadata_uri(self, task: Task) -> str:
        """``$ECS_CONTAINER_METADATA_URI_V4`` of *task*."""
        return f"{self.base_url}{METADATA_PREFIX}{task.task_id}"

    def mark_busy(self, task_id: str | None, busy: bool) -> None:
        """Count *task_id* as busy (or not) for the workload metrics
        (``BusyTaskPercent``, CPU), as in-process workers do: only while the
        task is RUNNING and meant to run."""
        task = None if task_id is None else self.find_task(task_id)
        if task is None or task.service is None or (busy and not task.is_live):
            return
        if task.counted_busy != busy:
            task.counted_busy = busy
            self.model.workers.load(task.service.name).busy += 1 if busy else -1

    def find_task(self, task_id: str) -> Task | None:
        for cluster in self.model.sim.backend.clusters.values():
            task = cluster.tasks.get(task_id)
            if task is not None:
                return task
        return None

    # ---- dispatch ------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        """Answer one HTTP request (headers with lower-case names)."""
        target = headers.get("x-amz-target")
        url = urlsplit(path)
        with self.clock.lock:
            if target is not None or (method == "POST" and url.path == "/"):
                if self.sqs is not None:
                    self.sqs.caller = self._caller(headers.get("authorization", ""))
                return self._aws(method, target, body)
            if url.path.startswith(AGENT_PREFIX):
                answer = self._agent(method, url.path[len(AGENT_PREFIX) :], body)
            elif url.path.startswith(METADATA_PREFIX):
                return self._metadata(method, url.path[len(METADATA_PREFIX) :])
            elif url.path.startswith(CONTROL_PREFIX):
                return self._control(
                    method, url.path[len(CONTROL_PREFIX) :], parse_qs(url.query)
                )
            else:
                return _not_found(f"no such path {url.path!r}")
        # an agent answer that waits for the simulated clock waits without the lock
        return answer if answer.not_before_s is None else self._wait_for(answer)

    def _wait_for(self, answer: Answer, limit_s: float = 600.0) -> Answer:
        """Hold *answer* until the simulated clock reaches its time (the lock is
        free meanwhile, so the clock and other requests go on); at most
        *limit_s* of wall-clock time, or until the clock stops at the end."""
        ready_s = answer.not_before_s
        give_up = time.monotonic() + limit_s
        while ready_s is not None and time.monotonic() < give_up:
            with self.clock.lock:
                if self.model.sim.now_s >= ready_s or self.clock.finished:
                    break
            time.sleep(0.01)
        return answer

    def _caller(self, authorization: str) -> str | None:
        """The task whose access key signed the request (external workers get
        their task id as ``AWS_ACCESS_KEY_ID``), if any."""
        _, found, rest = authorization.partition("Credential=")
        key = rest.split("/", 1)[0] if found else ""
        return key if key and self.find_task(key) is not None else None

    def _aws(self, method: str, target: str | None, body: bytes) -> Answer:
        request_id = self.model.sim.streams.request_id
        if method != "POST" or not target or "." not in target:
            return error_answer(
                400,
                "UnknownOperationException",
                "an AWS JSON request is a POST with an X-Amz-Target header",
                request_id(),
            )
        prefix, _, operation = target.rpartition(".")
        service = self.services.get(prefix)
        if service is None:
            return error_answer(
                400,
                "UnknownOperationException",
                f"unknown X-Amz-Target {target[:200]!r}",
                request_id(),
            )
        return service.call(operation, body)

    def _agent(self, method: str, rest: str, body: bytes) -> Answer:
        task_id, _, endpoint = rest.partition("/")
        task = self.find_task(task_id)
        if task is None:
            return Answer(
                404,
                {
                    "error": {
                        "Code": "ResourceNotFoundException",
                        "Message": "Invalid request: no task was found",
                    }
                },
            )
        if endpoint != "task-protection/v1/state":
            return _not_found(f"no agent endpoint {endpoint!r}")
        now = self.model.sim.now_s
        if method == "GET":
            status, answer = self.agent.get(task, now)
            return Answer(status, answer)
        if method != "PUT":
            return Answer(
                405, {"error": {"Code": "MethodNotAllowed", "Message": method}}
            )
        try:
            decoded: Any = json.loads(body, parse_constant=_refuse)
        except (ValueError, RecursionError):
            decoded = None  # the agent answers "failed to decode request"
        injected = self.model.caller.injected()
        if injected is not None and isinstance(decoded, dict):
            return self._injected_answer(task, injected, now)
        status, answer = self.agent.put(task, decoded, now)
        return Answer(status, answer)

    def _injected_answer(self, task: Task, code: str, now: float) -> Answer:
        """What the agent answers when a scenario's ``protection_api_errors``
        fault hits this call, as for in-process workers: ECS's error passed
        through (400 throttling, 500 server error), or 504 ``RequestCanceled``
        once the agent's 4 s call timeout has passed on the simulated clock."""
        reason = "RequestCanceled" if code == "RequestTimeout" else code
        self.model.caller.record(
            "protection_call_error",
            service=task.service.name if task.service else None,
            task=task.task_id,
            code=reason,
            injected=True,
        )
        if code == "RequestTimeout":
            status, body = AgentEndpoint.timeout(task)
            return Answer(status, body, not_before_s=now + ECS_CALL_TIMEOUT_S)
        status = 400 if code == "ThrottlingException" else 500
        message = "Rate exceeded" if status == 400 else "Server error"
        return Answer(
            status,
            {
                "requestID": self.model.sim.streams.request_id(),
                "error": {"Arn": task.arn, "Code": code, "Message": message},
            },
        )

    def _metadata(self, method: str, rest: str) -> Answer:
        task_id, _, document = rest.partition("/")
        task = self.find_task(task_id)
        if task is None or method != "GET":
            return _not_found("no task metadata here")
        if document == "":
            return Answer(200, self.container_document(task))
        if document == "task":
            return Answer(200, self.task_document(task))
        return _not_found(f"no metadata document {document!r}")

    def container_document(self, task: Task) -> dict[str, Any]:
        """The v4 container metadata of *task*'s (only) container."""
        sim = self.model.sim
        td = task.task_definition
        container = (td.description.get("containerDefinitions") or [{}])[0]
        name = str(container.get("name", "app"))
        docker_id = f"{task.task_id}-{abs(hash(name)) % 10**10:010d}"
        doc: dict[str, Any] = {
            "DockerId": docker_id,
            "Name": name,
            "DockerName": f"ecs-{td.family}-{td.revision}-{name}",
            "Image": container.get("image", ""),
            "Labels": {
                "com.amazonaws.ecs.cluster": task.cluster.arn,
                "com.amazonaws.ecs.container-name": name,
                "com.amazonaws.ecs.task-arn": task.arn,
                "com.amazonaws.ecs.task-definition-family": td.family,
                "com.amazonaws.ecs.task-definition-version": str(td.revision),
            },
            "DesiredStatus": task.desired_status,
            "KnownStatus": task.last_status.value,
            "Type": "NORMAL",
            "ContainerARN": sim.backend.arn(
                f"container/{task.cluster.name}/{task.task_id}/{name}"
            ),
        }
        if task.started_at is not None:
            doc["StartedAt"] = _rfc3339(sim.start + timedelta(seconds=task.started_at))
        return doc

    def task_document(self, task: Task) -> dict[str, Any]:
        """The v4 ``/task`` document of *task*."""
        sim = self.model.sim
        td = task.task_definition

        def at(t: float | None) -> str | None:
            return None if t is None else _rfc3339(sim.start + timedelta(seconds=t))

        doc: dict[str, Any] = {
            "Cluster": task.cluster.arn,
            "TaskARN": task.arn,
            "Family": td.family,
            "Revision": str(td.revision),
            "DesiredStatus": task.desired_status,
            "KnownStatus": task.last_status.value,
            "AvailabilityZone": task.availability_zone,
            "LaunchType": task.launch_type,
            "Containers": [self.container_document(task)],
        }
        if task.service is not None:
            doc["ServiceName"] = task.service.name
        times = {
            "PullStartedAt": at(task.pull_started_at),
            "PullStoppedAt": at(task.pull_stopped_at),
            "ExecutionStoppedAt": at(task.execution_stopped_at),
        }
        doc.update({key: value for key, value in times.items() if value is not None})
        return doc

    def _control(self, method: str, what: str, query: dict[str, list[str]]) -> Answer:
        clock = self.clock
        if what == "clock" and method == "GET":
            return Answer(200, self.clock_state())
        if what == "summary" and method == "GET":
            return Answer(200, self.summary())
        if what == "tasks" and method == "GET":
            return Answer(200, {"tasks": self.tasks()})
        if method != "POST":
            return _not_found(f"no control endpoint {method} /_ecssim/{what}")
        if what == "advance":
            if not clock.manual:
                return _conflict("advance is for --manual; the clock runs by itself")
            try:
                seconds = float(query.get("seconds", [""])[0])
            except ValueError:
                seconds = math.nan
            if not (math.isfinite(seconds) and seconds >= 0):
                return Answer(
                    400, {"error": "seconds must be a finite number >= 0 (?seconds=N)"}
                )
            clock.advance(seconds)
            return Answer(200, self.clock_state())
        if what == "pause":
            clock.pause()
            return Answer(200, self.clock_state())
        if what == "resume":
            if clock.manual:
                return _conflict("the clock is manual: use /_ecssim/advance")
            clock.resume()
            return Answer(200, self.clock_state())
        return _not_found(f"no control endpoint /_ecssim/{what}")

    def clock_state(self) -> dict[str, Any]:
        """The clock, with the simulated date."""
        state = self.clock.state()
        state["now"] = _rfc3339(self.model.sim.now)
        if self.clock.failure is not None:
            state["failure"] = repr(self.clock.failure)
        return state

    def summary(self) -> dict[str, Any]:
        """The live summary: one row per service, every outcome so far."""
        result = self.model.result()
        rows = json.loads(result.summary.to_json(orient="records"))
        return {"clock": self.clock_state(), "services": rows}

    def tasks(self) -> list[dict[str, Any]]:
        """Every task with its status and its two URIs."""
        return [
            {
                "taskArn": task.arn,
                "service": task.service.name if task.service else None,
                "lastStatus": task.last_status.value,
                "ECS_AGENT_URI": self.agent_uri(task),
                "ECS_CONTAINER_METADATA_URI_V4": self.metadata_uri(task),
            }
            for cluster in self.model.sim.backend.clusters.values()
            for task in cluster.tasks.values()
        ]


def _refuse(name: str) -> Any:
    raise ValueError(name)


def _not_found(message: str) -> Answer:
    return Answer(404, {"error": {"Code": "NotFound", "Message": message}})


def _conflict(message: str) -> Answer:
    return Answer(409, {"error": {"Code": "Conflict", "Message": message}})


class _Handler(BaseHTTPRequestHandler):
    server: EcssimHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "ecssim"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log = self.server.access_log
        if log is not None:
            log(format % args)

    def _answer(self) -> None:
        app = self.server.app
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            if 0 < length <= DRAIN_BYTES:  # read it, so the client hears the answer
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 65536))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            self._send(
                error_answer(
                    413,
                    "RequestEntityTooLargeException",
                    f"request body over {MAX_BODY_BYTES} bytes"
                    if length > 0
                    else "bad Content-Length",
                ),
                "application/json",
            )
            return
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            answer = app.handle(self.command, self.path, headers, body)
        except Exception as exc:  # a bug in ecssim: answer 500, keep serving
            answer = error_answer(500, "InternalFailure", f"ecssim: {exc!r}")
            if self.server.on_error is not None:
                self.server.on_error(exc)
        content_type = "application/json"
        target = headers.get("x-amz-target", "")
        service = app.services.get(target.rpartition(".")[0])
        if service is not None:
            content_type = service.content_type
        self._send(answer, content_type)

    def _send(self, answer: Answer, content_type: str) -> None:
        payload = to_json(answer.body)
        self.send_response(answer.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    # http.server calls do_<METHOD>; every method goes through _answer
    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()


class EcssimHttpServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` that answers with a :class:`ServeApp`."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        app: ServeApp,
        *,
        access_log: Callable[[str], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.on_error = on_error
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        host, port = self.server_address[:2]
        app.base_url = f"http://{_url_host(str(host))}:{port}"

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of this server."""
        return self.app.base_url

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection failed outside a request's answer (the client went
        away): say so in one line, keep serving."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return
        if self.on_error is not None and isinstance(exc, Exception):
            self.on_error(exc)
        else:
            sys.stderr.write(f"ecssim serve: {client_address}: {exc!r}\n")


def _url_host(host: str) -> str:
    if host in {"0.0.0.0", ""}:  # a URL local clients can use
        return LOOPBACK
    return f"[{host}]" if ":" in host else host


@contextmanager
def running_server(
    model: Model,
    *,
    speed: float | None,
    host: str = LOOPBACK,
    port: int = 0,
    allow_remote: bool = False,
    worker_logs: Path | None = None,
) -> Iterator[EcssimHttpServer]:
    """Serve *model* in background threads for the duration of a ``with`` block.

    The clock starts with the server (in manual mode it waits for
    ``/_ecssim/advance``); leaving the block shuts both down. Services with a
    ``worker.command`` run it as one real process per task (logs in
    *worker_logs*, default a ``workers`` folder in the current directory),
    stopped when the block ends.

    Raises:
        BindError: *host* is not loopback and *allow_remote* is false.
    """
    check_bind(host, allow_remote=allow_remote)
    clock = Clock(model.sim, until_s=model.scenario.duration_s, speed=speed)
    app = ServeApp(model, clock)
    server = EcssimHttpServer((host, port), app)
    commands = {
        s.name: s.worker.command
        for s in model.scenario.services
        if s.worker.command is not None
    }
    workers = None
    if commands:
        workers = ExternalWorkers(
            app, commands, worker_logs or Path("workers"), speed=speed
        )
        workers.install()
    app.external = workers
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()
    clock.start()
    try:
        yield server
    finally:
        clock.stop()
        if workers is not None:
            workers.shutdown()
        server.shutdown()
        server.server_close()
        thread.join(10)
