"""API errors exactly as boto3 raises them.

Exceptions are botocore's own: a modelled error code raises the class that
boto3 would generate for the client (``client.exceptions.InvalidParameterException``,
a subclass of ``botocore.exceptions.ClientError``); an unmodelled one such as
``ThrottlingException`` raises a plain ``ClientError``. Parameter validation
uses botocore's validator over the real service model, so a missing or mistyped
parameter raises ``botocore.exceptions.ParamValidationError`` as boto3 does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from botocore.errorfactory import BaseClientExceptions, ClientExceptionsFactory
from botocore.exceptions import ClientError, ParamValidationError
from botocore.model import ServiceModel
from botocore.session import get_session
from botocore.validate import ParamValidator

__all__ = [
    "ApiErrors",
    "BotoShapedClient",
    "ClientError",
    "ParamValidationError",
    "service_model",
]

_HTTP_STATUS = {"ServerException": 500, "ThrottlingException": 400}


@cache
def service_model(name: str) -> ServiceModel:
    """The botocore service model of *name* ("ecs", "application-autoscaling")."""
    return get_session().get_service_model(name)


class ApiErrors:
    """Raises the errors of one service and validates its requests."""

    def __init__(self, service: str, request_id: Any) -> None:
        self.model = service_model(service)
        self.exceptions: BaseClientExceptions = (
            ClientExceptionsFactory().create_client_exceptions(self.model)
        )
        self._request_id = request_id
        self._validator = ParamValidator()

    def validate(self, operation: str, params: dict[str, Any]) -> None:
        """Check *params* against the operation's input shape, as botocore does.

        Raises:
            ParamValidationError: a required parameter is missing, a parameter is
                unknown, or a value has the wrong type.
        """
        shape = self.model.operation_model(operation).input_shape
        report = self._validator.validate(params, shape)
        if report.has_errors():
            raise ParamValidationError(report=report.generate_report())

    def error(self, operation: str, code: str, message: str) -> ClientError:
        """The exception boto3 would raise for an API error *code*."""
        response: Any = {
            "Error": {"Code": code, "Message": message},
            "message": message,
            "ResponseMetadata": {
                "RequestId": self._request_id(),
                "HTTPStatusCode": _HTTP_STATUS.get(code, 400),
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        }
        cls = self.exceptions.from_code(code)
        return cls(response, operation)


class BotoShapedClient:
    """What every boto3-shaped client of the simulation shares: request
    validation against the service model, boto3's exceptions, response metadata
    and timestamps on the simulated clock.

    Subclasses set :attr:`SERVICE` (the botocore service name).
    """

    SERVICE: str = ""

    def __init__(self, *, epoch: datetime, request_id: Callable[[], str]) -> None:
        self._epoch = epoch
        self._request_id = request_id
        self._errors = ApiErrors(self.SERVICE, request_id)
        #: The exception classes boto3 generates for the service
        #: (``ClientError`` subclasses).
        self.exceptions = self._errors.exceptions

    def _begin(self, operation: str, params: dict[str, Any]) -> None:
        self._errors.validate(operation, params)

    def _fail(self, operation: str, code: str, message: str) -> ClientError:
        return self._errors.error(operation, code, message)

    def _ok(self, body: dict[str, Any]) -> dict[str, Any]:
        body["ResponseMetadata"] = {
            "RequestId": self._request_id(),
            "HTTPStatusCode": 200,
            "HTTPHeaders": {},
            "RetryAttempts": 0,
        }
        return body

    def _dt(self, t: float) -> datetime:
        """Simulated seconds as a timezone-aware datetime."""
        return self._epoch + timedelta(seconds=t)
