"""The container agent's task protection endpoint, ``$ECS_AGENT_URI/task-protection/v1/state``.

Request and response shapes follow the agent's code (``reference/ecs-semantics.md``
§5): one task per call (the caller's own), PUT with ``{"ProtectionEnabled": bool,
"ExpiresInMinutes": int}`` (field names matched case-insensitively, as Go's
JSON decoder does; unknown fields rejected; no range check of its own: ECS
answers), after the task metadata server's rate limit, and every outcome as
``(HTTP status, JSON body)``:

* 200 ``{"protection": {...}}`` on success;
* **200** ``{"failure": {...}}`` when ECS returned a per-task failure such as
  ``DEPLOYMENT_BLOCKED`` or ``TASK_NOT_VALID`` (a client that only checks the
  status code misses it);
* 400 for a body it cannot decode or without ``ProtectionEnabled``;
* ECS's status and error for an ECS API error (``ThrottlingException`` ...);
* 504 ``RequestCanceled`` when the ECS call timed out (4 s).

Time and latency belong to the caller; this module only maps requests to
responses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from botocore.exceptions import ClientError

from ecssim.aws.ecs import EcsClient
from ecssim.aws.state import Task
from ecssim.aws.throttle import TokenBucket

ECS_CALL_TIMEOUT_S: Final = 4.0
STEADY_RATE_PER_S: Final = 40.0
BURST: Final = 60.0

AgentResponse = tuple[int, dict[str, Any]]
#: the PUT body's fields, by their lower-cased names
_FIELDS: Final = {
    "protectionenabled": "ProtectionEnabled",
    "expiresinminutes": "ExpiresInMinutes",
}
#: What the task metadata server answers over its rate limit (tollbooth's default).
TOO_MANY_REQUESTS: Final[AgentResponse] = (
    429,
    {
        "error": {
            "Code": "TooManyRequests",
            "Message": "You have reached maximum request limit.",
        }
    },
)


class AgentEndpoint:
    """Answers one task's protection requests the way the ECS agent does."""

    def __init__(self, client: EcsClient, epoch: datetime) -> None:
        self._client = client
        self._epoch = epoch

    @staticmethod
    def _over_limit(task: Task, now: float) -> bool:
        """Whether the task metadata server refuses this request (40/s, burst 60).

        Its bucket is kept on the task (made on the first request), so it goes
        with the task once the control plane has forgotten the task.
        """
        bucket = task.metadata_rate_limit
        if bucket is None:
            bucket = task.metadata_rate_limit = TokenBucket(STEADY_RATE_PER_S, BURST)
        return not bucket.take(now)

    def _protection(self, task: Task, now: float) -> dict[str, Any]:
        state = task.protection.current(now)
        expires = (
            None
            if state.expires_at is None
            else (self._epoch + timedelta(seconds=state.expires_at)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        )
        return {
            "ExpirationDate": expires,
            "ProtectionEnabled": state.is_active(now),
            "TaskArn": task.arn,
        }

    def put(self, task: Task, body: Any, now: float) -> AgentResponse:
        """PUT ``/task-protection/v1/state`` from inside *task*.

        The metadata server's rate limit comes first (429), then the body is
        decoded (field names in any case; unknown fields or wrong types: 400
        "failed to decode request"), then ``ProtectionEnabled`` must be there; the duration
        is not range-checked here but by ECS, whose error comes back as is.
        """
        if self._over_limit(task, now):
            return TOO_MANY_REQUESTS  # the metadata server limits before decoding
        decode_error: AgentResponse = (
            400,
            {
                "error": {
                    "Code": "InvalidParameterException",
                    "Message": "UpdateTaskProtection: failed to decode request",
                }
            },
        )
        if not isinstance(body, dict):
            return decode_error
        # Go's encoding/json matches field names case-insensitively; the last of
        # several spellings of one field wins; any other field is refused
        fields: dict[str, Any] = {}
        for key, value in body.items():
            name = _FIELDS.get(key.lower()) if isinstance(key, str) else None
            if name is None:
                return decode_error
            fields[name] = value
        body = fields
        enabled = body.get("ProtectionEnabled")
        minutes = body.get("ExpiresInMinutes")
        if enabled is not None and not isinstance(enabled, bool):
            return decode_error
        if minutes is not None and (
            isinstance(minutes, bool) or not isinstance(minutes, int)
        ):
            return decode_error
        if enabled is None:
            return 400, {
                "error": {
                    "Arn": task.arn,
                    "Code": "InvalidParameterException",
                    "Message": "Invalid request: does not contain "
                    "'ProtectionEnabled' field",
                }
            }
        try:
            self._client.take_protection_token(task)
            if enabled:
                self._client.check_expires_in_minutes(minutes)
        except ClientError as exc:
            return self.error(task, exc)
        reason = self._client.protect_task(task, enabled, minutes)
        if reason is not None:
            return 200, {"failure": {"Arn": task.arn, "Detail": None, "Reason": reason}}
        return 200, {"protection": self._protection(task, now)}

    def update(
        self, task: Task, enabled: bool, minutes: int | None, now: float
    ) -> tuple[int, str | None]:
        """The outcome of a well-formed PUT without building its body.

        Returns:
            ``(200, None)`` on success, ``(200, reason)`` for a per-task failure
            (the agent's 200-with-``failure`` answer), or ``(status, code)`` for
            an ECS API error.
        """
        # _over_limit, inlined (once per protection call)
        bucket = task.metadata_rate_limit
        if bucket is None:
            bucket = task.metadata_rate_limit = TokenBucket(STEADY_RATE_PER_S, BURST)
        if not bucket.take(now):
            return TOO_MANY_REQUESTS[0], "TooManyRequests"
        client = self._client
        try:
            client.take_protection_token(task, now)
        except ClientError as exc:
            status, body = self.error(task, exc)
            return status, body["error"]["Code"]
        return 200, client.protect_task(task, enabled, minutes, now)

    def get(self, task: Task, now: float) -> AgentResponse:
        """GET ``/task-protection/v1/state`` from inside *task*."""
        if self._over_limit(task, now):
            return TOO_MANY_REQUESTS
        if task.service is None:
            return 200, {
                "failure": {"Arn": task.arn, "Detail": None, "Reason": "TASK_NOT_VALID"}
            }
        return 200, {"protection": self._protection(task, now)}

    @staticmethod
    def error(task: Task, exc: ClientError) -> AgentResponse:
        """The agent's answer when the ECS call failed with *exc*."""
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        return int(meta.get("HTTPStatusCode", 500)), {
            "requestID": meta.get("RequestId"),
            "error": {
                "Arn": task.arn,
                "Code": error.get("Code"),
                "Message": error.get("Message"),
            },
        }

    @staticmethod
    def timeout(task: Task) -> AgentResponse:
        """The agent's answer when the ECS call did not return within 4 s."""
        return 504, {
            "error": {
                "Arn": task.arn,
                "Code": "RequestCanceled",
                "Message": "Timed out calling ECS Task Protection API",
            }
        }
