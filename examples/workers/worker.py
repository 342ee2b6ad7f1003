#!/usr/bin/env python3
"""A queue worker that protects its task while it works.

Written the way AWS's sample queue consumer for ECS task scale-in protection
is: before each receive it protects its task for PROTECT_MINUTES through the
ECS agent (``$ECS_AGENT_URI/task-protection/v1/state``); while a job runs it
renews the protection (and the message's visibility) at 80 % of that time;
after each job, or when the queue is empty, it releases the protection. On
SIGTERM it takes no new work, finishes the job in hand and exits.

It runs unchanged on ECS and under ``ecssim serve`` (which sets the same
variables plus ``QUEUE_URL``, ``AWS_ENDPOINT_URL`` and ``ECSSIM_SPEED``, the
clock's speed: a job whose message says ``duration_s`` takes that long in
simulated time, so ``duration_s / ECSSIM_SPEED`` wall-clock seconds here).

Needs boto3 (SQS) and nothing else; the agent is called with urllib.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import boto3

AGENT_URI = os.environ["ECS_AGENT_URI"]
QUEUE_URL = os.environ["QUEUE_URL"]
SPEED = float(os.environ.get("ECSSIM_SPEED", "1"))  # 1 on ECS: real time
PROTECT_MINUTES = int(os.environ.get("PROTECT_MINUTES", "30"))
RENEW_AFTER_S = 0.8 * PROTECT_MINUTES * 60 / SPEED  # wall-clock seconds

stopping = threading.Event()


def log(*parts: object) -> None:
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


def on_sigterm(_signum: int, _frame: Any) -> None:
    stopping.set()
    log("SIGTERM: finishing the job in hand, taking no new work")


def set_protection(enabled: bool) -> bool:
    """PUT the task's protection state; True only if ECS set it.

    The agent answers **200 with a ``failure`` body** when ECS refused (for
    example ``DEPLOYMENT_BLOCKED``): checking the status code alone misses it.
    """
    body: dict[str, Any] = {"ProtectionEnabled": enabled}
    if enabled:
        body["ExpiresInMinutes"] = PROTECT_MINUTES
    request = urllib.request.Request(
        f"{AGENT_URI}/task-protection/v1/state",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as err:
        log("protection call failed:", err.code, err.read().decode(errors="replace"))
        return False
    except (urllib.error.URLError, TimeoutError) as err:
        log("agent unreachable:", err)
        return False
    if "failure" in answer:
        log("protection refused:", answer["failure"].get("Reason"))
        return False
    return True


def main() -> int:
    signal.signal(signal.SIGTERM, on_sigterm)
    sqs = boto3.client("sqs")
    log("worker started, queue", QUEUE_URL)
    while not stopping.is_set():
        if not set_protection(True):
            stopping.wait(min(5.0, 60 / SPEED))  # not protected: take no work now
            continue
        renew_at = time.monotonic() + RENEW_AFTER_S
        messages = sqs.receive_message(
            QueueUrl=QUEUE_URL,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=20,
            VisibilityTimeout=PROTECT_MINUTES * 60,
        ).get("Messages", [])
        if not messages:
            set_protection(False)
            continue
        message = messages[0]
        job = json.loads(message["Body"])
        work_s = float(job.get("duration_s", 60)) / SPEED
        log(f"job {job.get('job')}: {job.get('duration_s')} s of work")
        done_at = time.monotonic() + work_s
        while time.monotonic() < done_at:
            time.sleep(min(0.2, max(0.0, done_at - time.monotonic())))
            if time.monotonic() >= renew_at:
                # renewed or not (DEPLOYMENT_BLOCKED while the service scales
                # in), try again at the next 80 % mark: do not hammer the agent
                set_protection(True)
                renew_at = time.monotonic() + RENEW_AFTER_S
                sqs.change_message_visibility(
                    QueueUrl=QUEUE_URL,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=PROTECT_MINUTES * 60,
                )
        sqs.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=message["ReceiptHandle"])
        log(f"job {job.get('job')}: done")
        set_protection(False)
    log("exiting")
    return 0


if __name__ == "__main__":
    sys.exit(main())
