"""Real botocore clients answered by the simulation.

:func:`real_client` makes a genuine botocore client (what ``boto3.client``
returns) whose calls never reach the network: botocore builds and validates
each request as usual, then a ``before-call`` hook hands the parameters to the
simulated service and returns its answer, so the user's own code (paginators,
``client.exceptions``, retries around ``ClientError``) runs unchanged against a
fast-forward clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from botocore.session import get_session

from ecssim.aws.errors import BotoShapedClient

_PARAMS_KEY: Final = "ecssim_params"


def _snake(operation: str) -> str:
    """``UpdateTaskProtection`` -> ``update_task_protection``."""
    out = []
    for i, char in enumerate(operation):
        if char.isupper() and i and not operation[i - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def method_for(target: object, operation: str) -> Callable[..., dict[str, Any]] | None:
    """The method of the simulated client *target* that answers *operation*
    (``UpdateTaskProtection``), or None when ecssim does not simulate it."""
    method: Callable[..., dict[str, Any]] | None = getattr(
        target, _snake(operation), None
    )
    return method


def real_client(target: BotoShapedClient, region: str) -> BaseClient:
    """A botocore client of *target*'s service whose calls *target* answers.

    Args:
        target: the simulated client (``sim.ecs``, ``sim.application_autoscaling``,
            ``sim.cloudwatch``).
        region: the region the client is for.
    """
    client = get_session().create_client(
        target.SERVICE,
        region_name=region,
        aws_access_key_id="ecssim",
        aws_secret_access_key="ecssim",  # never used: no request is signed or sent
    )

    def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS_KEY] = dict(params)

    def answer(
        model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]]:
        method = method_for(target, model.name)
        if method is None:
            raise NotImplementedError(
                f"ecssim does not simulate {target.SERVICE} {model.name}; "
                "no request was sent anywhere"
            )
        try:
            body = method(**context.get(_PARAMS_KEY, {}))
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            return AWSResponse("https://ecssim.invalid", status, {}, None), dict(
                exc.response
            )
        return AWSResponse("https://ecssim.invalid", 200, {}, None), body

    events = client.meta.events
    service_id = client.meta.service_model.service_id.hyphenize()
    events.register(f"before-parameter-build.{service_id}", keep_params)
    events.register(f"before-call.{service_id}", answer)
    return client
