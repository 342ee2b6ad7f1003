"""External workers under ``ecssim serve``: real processes, one per task, that
ECS signals as it would signal containers."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
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
                    "stop_timeout": "60s",
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
