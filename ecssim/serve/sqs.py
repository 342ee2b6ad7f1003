"""SQS over its JSON protocol, for a scenario's queue workloads.

Each service with ``workload: {kind: queue}`` has a queue named after the
service (``QueueUrl`` ``<server>/<account>/<service>``), backed by the same
:class:`~ecssim.sim.workloads.JobQueue` the in-process workers take from, so
arrivals, receives, deletes and lost work are counted in the results exactly as
in ``ecssim run``. Real SQS semantics for an external consumer: a received
message is invisible for its visibility timeout (the request's, else the
scenario's ``visibility_timeout``), on the simulated clock; unless deleted or
extended (``ChangeMessageVisibility``) it becomes visible again (and counts as
interrupted if work had started); after ``max_receive_count`` receives it is
dead-lettered. ``ReceiveMessage`` long-polls on the simulated clock. The body
of a message is JSON: ``{"job": id, "duration_s": seconds}``; a message sent
with ``SendMessage`` whose body is a JSON object with ``duration_s`` gets that
duration (else 60 s).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

from ecssim.aws.errors import ApiErrors
from ecssim.serve.clock import Clock
from ecssim.sim.workloads import Job, JobQueue

#: The most a long poll waits on the wall clock (its WaitTimeSeconds, at most
#: this), whatever the simulated clock does (manual mode, paused).
MAX_WALL_WAIT_S: Final = 20.0
DEFAULT_DURATION_S: Final = 60.0


@dataclass
class _Receipt:
    queue: JobQueue
    job: Job
    receives: int
    #: bumped by every visibility change: a superseded timer does nothing
    generation: int = 0
    deadline_s: float = 0.0


class SqsQueues:
    """The SQS API of a scenario's queues.

    Args:
        queues: the queue of each service, by service name.
        clock: the clock (its lock is held while a request runs; a long poll
            waits on :attr:`Clock.ticked`, which releases it).
        env_now: the simulated time.
        schedule: ``schedule(time_s, action)`` runs *action* at a simulated time.
        base_url: makes queue URLs.
        account_id: the account in queue URLs and ARNs.
        region: the region in ARNs.
        request_id: makes request ids.
    """

    SERVICE = "sqs"

    def __init__(
        self,
        queues: dict[str, JobQueue],
        *,
        clock: Clock,
        schedule: Callable[[float, Callable[[], object]], None],
        base_url: Callable[[], str],
        account_id: str,
        region: str,
        request_id: Callable[[], str],
        mark_busy: Callable[[str | None, bool], None] = lambda _task, _busy: None,
    ) -> None:
        self.queues = queues
        #: ``mark_busy(task_id, busy)``: a task took a message / is done with it
        self.mark_busy = mark_busy
        self.clock = clock
        self._schedule = schedule
        self._base_url = base_url
        self.account_id = account_id
        self.region = region
        self._errors = ApiErrors("sqs", request_id)
        self._request_id = request_id
        self._receipts: dict[str, _Receipt] = {}
        #: the task making the current request (from its access key), if known
        self.caller: str | None = None

    # ---- helpers -----------------------------------------------------------------
    @property
    def _now(self) -> float:
        return self.clock.sim.now_s

    def queue_url(self, name: str) -> str:
        """The URL of the queue of service *name*."""
        return f"{self._base_url()}/{self.account_id}/{name}"

    def _ok(self, body: dict[str, Any]) -> dict[str, Any]:
        body["ResponseMetadata"] = {"RequestId": self._request_id()}
        return body

    def _queue(self, operation: str, params: dict[str, Any]) -> tuple[str, JobQueue]:
        self._errors.validate(operation, params)
        name = str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]
        queue = self.queues.get(name)
        if queue is None:
            raise self._fail(
                operation, "QueueDoesNotExist", "The specified queue does not exist."
            )
        return name, queue

    def _fail(self, operation: str, code: str, message: str) -> ClientError:
        return ClientError(
            {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {
                    "RequestId": self._request_id(),
                    "HTTPStatusCode": 400,
                },
            },
            operation,
        )

    def _receipt(self, operation: str, handle: Any) -> _Receipt | None:
        receipt = self._receipts.get(str(handle))
        if receipt is None:
            raise self._fail(
                operation,
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{handle}" is not a valid receipt handle.',
            )
        job = receipt.job
        current = job.outcome == "in_flight" and job.receives == receipt.receives
        return receipt if current else None

    def _body(self, job: Job) -> str:
        return json.dumps({"job": job.id, "duration_s": job.duration_s})

    # ---- operations --------------------------------------------------------------
    def get_queue_url(self, **params: Any) -> dict[str, Any]:
        """GetQueueUrl: the queue of a service, by the service's name."""
        self._errors.validate("GetQueueUrl", params)
        name = params["QueueName"]
        if name not in self.queues:
            raise self._fail(
                "GetQueueUrl",
                "QueueDoesNotExist",
                "The specified queue does not exist.",
            )
        return self._ok({"QueueUrl": self.queue_url(name)})

    def list_queues(self, **params: Any) -> dict[str, Any]:
        """ListQueues: every scenario queue (by prefix)."""
        self._errors.validate("ListQueues", params)
        prefix = params.get("QueueNamePrefix", "")
        urls = [self.queue_url(n) for n in sorted(self.queues) if n.startswith(prefix)]
        return self._ok({"QueueUrls": urls})

    def send_message(self, **params: Any) -> dict[str, Any]:
        """SendMessage: a new job arrives now."""
        _, queue = self._queue("SendMessage", params)
        body = str(params["MessageBody"])
        duration = DEFAULT_DURATION_S
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            value = decoded.get("duration_s")
            if isinstance(value, int | float) and not isinstance(value, bool):
                duration = max(0.0, float(value))
        job = queue.arrive(duration)
        return self._ok(
            {
                "MessageId": self._message_id(job),
                "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest(),
            }
        )

    def _message_id(self, job: Job) -> str:
        return f"00000000-0000-4000-8000-{job.id:012d}"

    def receive_message(self, **params: Any) -> dict[str, Any]:
        """ReceiveMessage, with long polling on the simulated clock."""
        _, queue = self._queue("ReceiveMessage", params)
        count = int(params.get("MaxNumberOfMessages", 1))
        wait_s = float(params.get("WaitTimeSeconds", 0))
        if not 1 <= count <= 10:
            raise self._fail(
                "ReceiveMessage",
                "InvalidParameterValue",
                f"Value {count} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided.",
            )
        if not 0 <= wait_s <= 20:
            raise self._fail(
                "ReceiveMessage",
                "InvalidParameterValue",
                f"Value {wait_s:g} for parameter WaitTimeSeconds is invalid. "
                "Reason: Must be >= 0 and <= 20, if provided.",
            )
        visibility = float(
            params.get("VisibilityTimeout", queue.config.visibility_timeout_s)
        )
        caller = self.caller
        jobs = self._take(queue, count)
        if not jobs and wait_s > 0:
            until_s = self._now + wait_s
            wall_deadline = time.monotonic() + min(wait_s, MAX_WALL_WAIT_S)
            while not jobs:
                remaining = wall_deadline - time.monotonic()
                if self._now >= until_s or remaining <= 0 or self.clock.finished:
                    break
                self.clock.ticked.wait(min(remaining, 0.5))
                jobs = self._take(queue, count)
        messages = []
        epoch = self.clock_start_epoch()
        for job in jobs:
            queue.started(job, caller or "unknown", self._now)
            self.mark_busy(caller, True)
            handle = f"{job.id}-{job.receives}-{self._request_id()}"
            receipt = _Receipt(queue, job, job.receives)
            self._receipts[handle] = receipt
            self._set_visibility(receipt, visibility)
            body = self._body(job)
            messages.append(
                {
                    "MessageId": self._message_id(job),
                    "ReceiptHandle": handle,
                    "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),
                    "Body": body,
                    "Attributes": {
                        "ApproximateReceiveCount": str(job.receives),
                        "SentTimestamp": str(round((epoch + job.arrival_s) * 1000)),
                    },
                }
            )
        return self._ok({"Messages": messages} if messages else {})

    def clock_start_epoch(self) -> float:
        """The simulated start as epoch seconds."""
        start = getattr(self.clock.sim, "start", None)
        return float(start.timestamp()) if start is not None else 0.0

    def _take(self, queue: JobQueue, count: int) -> list[Job]:
        jobs: list[Job] = []
        while len(jobs) < count:
            job = queue.try_receive()
            if job is None:
                break
            jobs.append(job)
        return jobs

    def _set_visibility(self, receipt: _Receipt, seconds: float) -> None:
        receipt.generation += 1
        generation = receipt.generation
        receipt.deadline_s = self._now + seconds

        def expire() -> None:
            job = receipt.job
            if (
                receipt.generation == generation
                and job.outcome == "in_flight"
                and job.receives == receipt.receives
            ):
                started = job.attempt_start_s
                worked = 0.0 if started is None else self._now - started
                self.mark_busy(job.task, False)
                receipt.queue.expire(job, worked, "visibility_timeout")

        self._schedule(receipt.deadline_s, expire)

    def delete_message(self, **params: Any) -> dict[str, Any]:
        """DeleteMessage: the job is done."""
        _, queue = self._queue("DeleteMessage", params)
        receipt = self._receipt("DeleteMessage", params["ReceiptHandle"])
        if receipt is not None:
            receipt.generation += 1
            queue.complete(receipt.job, self._now)
            self.mark_busy(receipt.job.task, False)
        return self._ok({})

    def change_message_visibility(self, **params: Any) -> dict[str, Any]:
        """ChangeMessageVisibility: extend (or end, with 0) a message's invisibility."""
        self._queue("ChangeMessageVisibility", params)
        seconds = int(params["VisibilityTimeout"])
        if not 0 <= seconds <= 43200:
            raise self._fail(
                "ChangeMessageVisibility",
                "InvalidParameterValue",
                f"Value {seconds} for parameter VisibilityTimeout is invalid. "
                "Reason: Must be >= 0 and <= 43200, if provided.",
            )
        receipt = self._receipt("ChangeMessageVisibility", params["ReceiptHandle"])
        if receipt is None:
            raise self._fail(
                "ChangeMessageVisibility",
                "MessageNotInflight",
                "The message referred to isn't in flight.",
            )
        self._set_visibility(receipt, float(seconds))
        return self._ok({})

    def get_queue_attributes(self, **params: Any) -> dict[str, Any]:
        """GetQueueAttributes: counts and settings of the queue."""
        name, queue = self._queue("GetQueueAttributes", params)
        attributes = {
            "ApproximateNumberOfMessages": str(queue.queued),
            "ApproximateNumberOfMessagesNotVisible": str(
                queue.in_flight + queue.invisible
            ),
            "ApproximateNumberOfMessagesDelayed": "0",
            "VisibilityTimeout": str(round(queue.config.visibility_timeout_s)),
            "ReceiveMessageWaitTimeSeconds": "0",
            "QueueArn": f"arn:aws:sqs:{self.region}:{self.account_id}:{name}",
        }
        wanted = params.get("AttributeNames") or ["All"]
        if "All" not in wanted:
            attributes = {k: v for k, v in attributes.items() if k in wanted}
        return self._ok({"Attributes": attributes})
