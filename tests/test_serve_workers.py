"""External workers under ``ecssim serve``: real processes, one per task, that
ECS signals as it would signal containers."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from ecssim import build, parse_scenario
from ecssim.serve.server import running_server

TIMEOUT_S = 30.0

WORKER = r"""
import json, os, signal, sys, time, urllib.request
state = sys.argv[1]
task = os.environ["ECS_AGENT_URI"].rsplit("/", 1)[1]
def on_term(*_):
    open(os.path.join(state, task + ".sigterm"), "w").close()
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
try:  # the first worker to start protects itself, the other does not
    os.close(os.open(os.path.join(state, "protector"), os.O_CREAT | os.O_EXCL))
    request = urllib.request.Request(
        os.environ["ECS_AGENT_URI"] + "/task-protection/v1/state",
        data=json.dumps({"ProtectionEnabled": True, "ExpiresInMinutes": 60}).encode(),
        method="PUT",
    )
    body = json.loads(urllib.request.urlopen(request, timeout=10).read())
    role = "protected" if body["protection"]["ProtectionEnabled"] else "failed"
except FileExistsError:
    role = "unprotected"
with open(os.path.join(state, task + "." + role), "w") as f:
    f.write(os.environ["ECS_CONTAINER_METADATA_URI_V4"])
print("worker", task, role, flush=True)
while not os.path.exists(os.path.join(state, task + ".exit")):
    time.sleep(0.05)
sys.exit(3)
"""


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_scale_in_sigterms_the_unprotected_worker_and_spares_the_protected_one(
    tmp_path: Path,
) -> None:
    """Two real worker processes; one protects itself through its ECS_AGENT_URI.
    Scaling to 1 sends SIGTERM to the other only; a worker that exits on its own
    stops its task (essential container exit) and the scheduler replaces it."""
    state = tmp_path / "state"
    state.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    scenario = parse_scenario(
        {
            "name": "external",
            "seed": 1,
            "duration": "12h",
            "cluster": {"name": "media"},
            "services": [
                {
                    "name": "transcoder",
                    "desired_count": 2,
                    "stop_timeout": "120s",
                    "worker": {"command": [sys.executable, str(script), str(state)]},
                }
            ],
        }
    )
    model = build(scenario)
    logs = tmp_path / "logs"
    with running_server(model, speed=60.0, worker_logs=logs) as srv:
        ecs = boto3.client(
            "ecs",
            endpoint_url=srv.url,
            region_name="us-east-1",
            aws_access_key_id="dummy",
            aws_secret_access_key="dummy",
            config=Config(retries={"max_attempts": 1}),
        )

        def roles(role: str) -> list[str]:
            return sorted(p.stem for p in state.glob(f"*.{role}"))

        _wait(
            lambda: len(roles("protected")) == 1 == len(roles("unprotected")), "workers"
        )
        (protected,), (unprotected,) = roles("protected"), roles("unprotected")
        ecs.update_service(cluster="media", service="transcoder", desiredCount=1)
        _wait(lambda: bool(roles("sigterm")), "SIGTERM")
        assert roles("sigterm") == [unprotected]

        def status(task: str) -> str:
            described = ecs.describe_tasks(cluster="media", tasks=[task])["tasks"]
            return str(described[0]["lastStatus"])

        _wait(lambda: status(unprotected) == "STOPPED", "the stop")
        assert status(protected) == "RUNNING"
        stopped = ecs.describe_tasks(cluster="media", tasks=[unprotected])["tasks"][0]
        assert stopped["stopCode"] == "ServiceSchedulerInitiated"
        assert stopped["containers"][0]["exitCode"] == 0

        (state / f"{protected}.exit").touch()  # the protected worker exits by itself
        _wait(lambda: status(protected) == "STOPPED", "the exit")
        gone = ecs.describe_tasks(cluster="media", tasks=[protected])["tasks"][0]
        assert gone["stopCode"] == "EssentialContainerExited"
        assert gone["containers"][0]["exitCode"] == 3
        external = srv.app.external
        assert external is not None
        _wait(lambda: len(external.started) == 3, "a replacement")
    logged = sorted(p.name for p in logs.iterdir())
    assert f"transcoder-{protected}.log" in logged
    assert "worker" in (logs / f"transcoder-{protected}.log").read_text()


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "workers"


def _example_command(language: str) -> list[str] | None:
    if language == "python":
        return [sys.executable, str(EXAMPLES / "worker.py")]
    node = shutil.which("node")
    if node is None or not (EXAMPLES / "node" / "node_modules").is_dir():
        return None
    return [node, str(EXAMPLES / "node" / "worker.mjs")]


@pytest.mark.parametrize("language", ["python", "node"])
def test_the_example_worker_takes_jobs_and_finishes_its_job_before_scale_in(
    tmp_path: Path, language: str
) -> None:
    """The example worker (as a user runs it) takes jobs from the scenario's
    queue over SQS, protects itself through the agent while it works, and
    scaling the service to 0 stops every task without killing a job: each
    finishes the job in hand, releases protection and exits on SIGTERM."""
    command = _example_command(language)
    if command is None:
        pytest.skip("node, or the example's node_modules (npm install), is missing")
    scenario = parse_scenario(
        {
            "name": "examples",
            "seed": 4,
            "duration": "12h",
            "cluster": {"name": "media"},
            "services": [
                {
                    "name": "transcoder",
                    "desired_count": 2,
                    "stop_timeout": "120s",
                    "workload": {
                        "kind": "queue",
                        "arrivals": {"rate": "60/h"},
                        "job_duration": {"distribution": "fixed", "value": "3m"},
                        "visibility_timeout": "30m",
                    },
                    "worker": {"command": command},
                }
            ],
        }
    )
    model = build(scenario)
    queue = model.services["transcoder"].queue
    assert queue is not None
    with running_server(model, speed=60.0, worker_logs=tmp_path / "logs") as srv:
        _wait(lambda: queue.completed >= 3, "three completed jobs")
        ecs = boto3.client(
            "ecs",
            endpoint_url=srv.url,
            region_name="us-east-1",
            aws_access_key_id="dummy",
            aws_secret_access_key="dummy",
            config=Config(retries={"max_attempts": 1}),
        )
        ecs.update_service(cluster="media", service="transcoder", desiredCount=0)

        def running() -> int:
            service = ecs.describe_services(cluster="media", services=["transcoder"])
            return int(service["services"][0]["runningCount"])

        _wait(lambda: running() == 0, "the scale-in to 0")
        events = model.sim.events()
    kinds = set(events["kind"])
    assert "task_killed" not in kinds
    assert "job_interrupted" not in kinds
    logs = "".join(p.read_text() for p in (tmp_path / "logs").iterdir())
    assert "done" in logs
    assert "SIGTERM" in logs


def test_a_worker_that_ignores_sigterm_is_killed_at_stop_timeout(
    tmp_path: Path,
) -> None:
    """A process that ignores SIGTERM gets SIGKILL when stopTimeout runs out in
    simulated time: the task records ``task_killed`` and exit code 137."""
    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('started', flush=True)\n"
        "while True:\n"
        "    time.sleep(0.05)\n",
        encoding="utf-8",
    )
    scenario = parse_scenario(
        {
            "name": "stubborn",
            "seed": 1,
            "duration": "12h",
            "cluster": {"name": "media"},
            "services": [
                {
                    "name": "s",
                    "desired_count": 1,
                    "stop_timeout": "30s",
                    "worker": {"command": [sys.executable, str(script)]},
                }
            ],
        }
    )
    model = build(scenario)
    with running_server(model, speed=60.0, worker_logs=tmp_path / "logs") as srv:
        external = srv.app.external
        assert external is not None
        _wait(lambda: len(external.running) == 1, "the worker")
        (task_id,) = external.running
        process = external.running[task_id].process
        _wait(
            lambda: "started" in next((tmp_path / "logs").iterdir()).read_text(),
            "output",
        )
        with srv.app.clock.lock:
            model.sim.ecs.update_service(cluster="media", service="s", desiredCount=0)
        task = model.sim.backend.clusters["media"].tasks[task_id]
        _wait(lambda: task.last_status.value == "STOPPED", "the stop")
        assert task.exit_code == 137
        assert process.wait(TIMEOUT_S) == -9
        killed = model.sim.events()
        assert "task_killed" in set(killed["kind"])
