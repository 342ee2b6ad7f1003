"""``ecssim serve`` as a user runs it: the command in its own process (SIGTERM
writes the results folder) and the real AWS CLI pointed at it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TIMEOUT_S = 30.0

SCENARIO = """\
name: served
seed: 3
duration: 2h
cluster: {name: media}
services:
  - name: transcoder
    desired_count: 2
standalone_tasks:
  - {name: batch, count: 1, at: 30s, protection: {policy: none}}
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``ecssim serve --manual --port 0`` in a subprocess; yields its URL and
    results folder, and always stops it."""
    scenario = tmp_path / "served.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "results"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ecssim",
            "serve",
            str(scenario),
            "--manual",
            "--port",
            "0",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # bounded by the process's own start
        assert first.startswith("serving 'served'"), first
        url = first.rsplit(" on ", 1)[1].strip()
        yield url, out
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 0, stderr
        assert "results:" in stdout
        assert json.loads((out / "summary.json").read_text())["scenario"] == "served"
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=TIMEOUT_S)


def _post(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def test_serve_answers_then_writes_its_results_folder_on_sigterm(
    served: tuple[str, Path],
) -> None:
    """The command serves on loopback, moves its manual clock when told, and
    SIGTERM ends it with a results folder as ``ecssim run`` writes."""
    url, out = served
    assert url.startswith("http://127.0.0.1:")
    assert _post(f"{url}/_ecssim/advance?seconds=120")["now_s"] == 120.0
    assert not out.exists()


def test_serve_refuses_a_bad_port_or_speed(tmp_path: Path) -> None:
    """``--port`` out of range or ``--speed 0`` is bad input (exit 2), before
    anything binds."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    from ecssim.cli import main

    assert main(["serve", str(scenario), "--port", "70000"]) == 2
    assert main(["serve", str(scenario), "--speed", "0"]) == 2
    assert main(["serve", str(scenario), "--speed", "2", "--manual"]) == 2


def _aws() -> str | None:
    found = shutil.which("aws")
    beside = Path(sys.executable).with_name("aws")
    return found or (str(beside) if beside.exists() else None)


@pytest.mark.skipif(_aws() is None, reason="the AWS CLI (awscli) is not installed")
def test_the_real_aws_cli_against_the_server(served: tuple[str, Path]) -> None:
    """``aws ecs update-task-protection``, ``get-task-protection`` and
    ``describe-services`` with ``--endpoint-url``, including TASK_NOT_VALID and
    an out-of-range ``--expires-in-minutes``."""
    url, _ = served
    _post(f"{url}/_ecssim/advance?seconds=120")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "dummy",
        "AWS_SECRET_ACCESS_KEY": "dummy",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    aws = _aws()
    assert aws is not None

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [aws, "ecs", *args, "--endpoint-url", url, "--output", "json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=TIMEOUT_S,
            check=False,
        )

    listed = cli("list-tasks", "--cluster", "media", "--service-name", "transcoder")
    assert listed.returncode == 0, listed.stderr
    task = json.loads(listed.stdout)["taskArns"][0]
    done = cli(
        "update-task-protection",
        "--cluster",
        "media",
        "--tasks",
        task,
        "--protection-enabled",
        "--expires-in-minutes",
        "60",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["protectedTasks"][0]["protectionEnabled"] is True
    got = cli("get-task-protection", "--cluster", "media", "--tasks", task)
    assert json.loads(got.stdout)["protectedTasks"][0]["protectionEnabled"] is True
    too_long = cli(
        "update-task-protection",
        "--cluster",
        "media",
        "--tasks",
        task,
        "--protection-enabled",
        "--expires-in-minutes",
        "3000",
    )
    assert too_long.returncode != 0
    assert "InvalidParameterException" in too_long.stderr
    standalone = json.loads(
        cli("list-tasks", "--cluster", "media", "--family", "batch").stdout
    )["taskArns"]
    refused = cli(
        "update-task-protection",
        "--cluster",
        "media",
        "--tasks",
        *standalone,
        "--protection-enabled",
    )
    assert refused.returncode == 0, refused.stderr
    assert json.loads(refused.stdout)["failures"][0]["reason"] == "TASK_NOT_VALID"
    described = cli(
        "describe-services", "--cluster", "media", "--services", "transcoder"
    )
    assert json.loads(described.stdout)["services"][0]["runningCount"] == 2
