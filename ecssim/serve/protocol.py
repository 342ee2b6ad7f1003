"""AWS's JSON protocols (``application/x-amz-json-1.0`` and ``1.1``), server side.

A request names its operation in ``X-Amz-Target`` (``<targetPrefix>.<Operation>``,
the prefix from botocore's own service model); its JSON body is turned into
the keyword arguments the boto3-shaped clients take (timestamps, sent as epoch
seconds, become timezone-aware datetimes; blobs are base64-decoded), walking the
operation's input shape from the model. Answers are the clients' response
dicts as JSON (datetimes as epoch seconds with millisecond precision, as AWS
sends them), errors the ``{"__type": ..., "message": ...}`` body botocore's
JSON parser reads, with the request id in ``x-amzn-RequestId``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from botocore.exceptions import ClientError, ParamValidationError
from botocore.model import OperationModel, ServiceModel, Shape

from ecssim.aws.bridge import method_for
from ecssim.aws.errors import service_model

#: Largest request body accepted (SQS's 256 KiB messages fit, with room).
MAX_BODY_BYTES: Final = 1024 * 1024

#: The error code each service uses for a request that fails validation.
VALIDATION_CODE: Final = {
    "ecs": "InvalidParameterException",
    "application-autoscaling": "ValidationException",
    "sqs": "InvalidParameterValue",
    "cloudwatch": "InvalidParameterValue",
}


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    #: answer only once the simulated clock has reached this time (an ECS call
    #: that times out answers after the agent's 4 s timeout)
    not_before_s: float | None = None


def error_answer(status: int, code: str, message: str, request_id: str = "") -> Answer:
    """The JSON protocol's error body, as botocore parses it."""
    headers = {"x-amzn-RequestId": request_id} if request_id else {}
    if code in {"SerializationException", "UnknownOperationException"}:
        code = f"com.amazon.coral.service#{code}"
    return Answer(status, {"__type": code, "message": message}, headers)


@dataclass(frozen=True)
class JsonService:
    """One simulated service reachable through ``X-Amz-Target``.

    Args:
        name: botocore's service name (``"ecs"``).
        target: the object whose snake_case methods answer the operations
            (a boto3-shaped client, or anything with the same calling style).
        request_id: makes request ids for errors raised before the target runs.
    """

    name: str
    target: Any
    request_id: Callable[[], str]

    @property
    def model(self) -> ServiceModel:
        return service_model(self.name)

    @property
    def target_prefix(self) -> str:
        return str(self.model.metadata["targetPrefix"])

    @property
    def content_type(self) -> str:
        return f"application/x-amz-json-{self.model.metadata.get('jsonVersion', '1.1')}"

    def call(self, operation: str, raw_body: bytes) -> Answer:
        """Answer one request: *operation* (from ``X-Amz-Target``) with *raw_body*."""
        request_id = self.request_id
        if operation not in self.model.operation_names:
            return error_answer(
                400,
                "UnknownOperationException",
                f"{self.target_prefix}.{operation} is not an operation of {self.name}",
                request_id(),
            )
        try:
            decoded = json.loads(raw_body or b"{}", parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return error_answer(
                400, "SerializationException", "Malformed request body", request_id()
            )
        if not isinstance(decoded, dict):
            return error_answer(
                400,
                "SerializationException",
                "Start of structure or map found where not expected.",
                request_id(),
            )
        op_model: OperationModel = self.model.operation_model(operation)
        try:
            params = parse_input(op_model.input_shape, decoded)
        except (TypeError, ValueError, OverflowError) as exc:
            return error_answer(400, "SerializationException", str(exc), request_id())
        method = method_for(self.target, operation)
        if method is None:
            return error_answer(
                400,
                "UnknownOperationException",
                f"ecssim does not simulate {self.name} {operation}",
                request_id(),
            )
        try:
            response = method(**params)
        except ParamValidationError as exc:
            return error_answer(
                400,
                VALIDATION_CODE.get(self.name, "ValidationException"),
                str(exc.kwargs.get("report", exc)).strip(),
                request_id(),
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            meta = exc.response.get("ResponseMetadata", {})
            return error_answer(
                int(meta.get("HTTPStatusCode", 400)),
                str(error.get("Code", "ClientException")),
                str(error.get("Message", "")),
                str(meta.get("RequestId") or request_id()),
            )
        meta = response.get("ResponseMetadata", {})
        body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        return Answer(
            200, body, {"x-amzn-RequestId": str(meta.get("RequestId") or request_id())}
        )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_input(shape: Shape | None, value: Any) -> Any:
    """*value* (decoded JSON) as the client's keyword arguments for *shape*.

    Only what JSON cannot carry is converted: timestamps (epoch seconds or ISO
    8601) and blobs (base64). Everything else is left for the client's own
    validation against the model, so type errors come back as its errors.
    """
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            key: parse_input(members[key], item) if key in members else item
            for key, item in value.items()
        }
    if kind == "list" and isinstance(value, list):
        return [parse_input(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: parse_input(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return _timestamp(value)
    if kind == "blob" and isinstance(value, str):
        return base64.b64decode(value, validate=True)
    return value


def _timestamp(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"timestamp {value!r} is not a finite number")
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        text = value.replace("Z", "+00:00")
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return value


def to_json(body: Mapping[str, Any]) -> bytes:
    """*body* as the JSON protocol sends it: datetimes as epoch seconds (ms)."""
    return json.dumps(body, default=_json_default, separators=(",", ":")).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return round(value.timestamp(), 3)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
