"""The agent endpoint ``$ECS_AGENT_URI/task-protection/v1/state`` (ecs-semantics §5).

Answers are compared whole, ``(HTTP status, JSON body)``, against the shapes the
ECS agent's handlers produce: 200 with ``protection`` or with ``failure``, 400
for bodies it cannot decode, ECS's status and ``requestID`` for an ECS error,
504 ``RequestCanceled`` on a timeout.
"""

from __future__ import annotations

from typing import Any

import pytest

from ecssim import EcsSettings, Simulation
from ecssim.aws.agent import AgentEndpoint
from ecssim.aws.state import Task

DECODE_ERROR = {
    "error": {
        "Code": "InvalidParameterException",
        "Message": "UpdateTaskProtection: failed to decode request",
    }
}
SETTLE_S = 127.0  # steady at 100 s; 127 s keeps expiries off round minutes


def _sim(desired: int = 2, settings: EcsSettings | None = None) -> Simulation:
    """Cluster ``prod`` with a steady service ``api`` of *desired* tasks."""
    sim = Simulation(seed=3, settings=settings)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="worker", containerDefinitions=[{"name": "app", "image": "worker"}]
    )
    sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="worker", desiredCount=desired
    )
    sim.advance(SETTLE_S)
    return sim


def _tasks(sim: Simulation, service: str = "api") -> list[Task]:
    """The service's tasks, ordered by ARN."""
    arns = sorted(sim.ecs.list_tasks(cluster="prod", serviceName=service)["taskArns"])
    return [_task(sim, arn) for arn in arns]


def _task(sim: Simulation, arn: str) -> Task:
    cluster = sim.backend.find_cluster("prod")
    assert cluster is not None
    task = sim.backend.find_task(cluster, arn)
    assert task is not None
    return task


def _agent(sim: Simulation) -> AgentEndpoint:
    return AgentEndpoint(sim.ecs, sim.start)


def _protection(task: Task, expires: str | None) -> dict[str, Any]:
    return {
        "protection": {
            "ExpirationDate": expires,
            "ProtectionEnabled": expires is not None,
            "TaskArn": task.arn,
        }
    }


def _standalone(sim: Simulation) -> Task:
    arn = sim.ecs.run_task(cluster="prod", taskDefinition="worker", count=1)["tasks"][
        0
    ]["taskArn"]
    sim.advance(60)
    return _task(sim, arn)


# ---- PUT: success -------------------------------------------------------------------
def test_put_protects_for_the_given_minutes_with_an_rfc3339_expiry() -> None:
    """PUT with ExpiresInMinutes answers 200 with the expiry now + minutes in RFC3339."""
    sim = _sim()
    task = _tasks(sim)[0]
    answer = _agent(sim).put(
        task, {"ProtectionEnabled": True, "ExpiresInMinutes": 60}, sim.now_s
    )
    assert answer == (200, _protection(task, "2026-01-05T10:02:07Z"))


def test_put_without_minutes_protects_for_two_hours() -> None:
    """PUT with only ProtectionEnabled true protects for ECS's default 120 minutes."""
    sim = _sim()
    task = _tasks(sim)[0]
    answer = _agent(sim).put(task, {"ProtectionEnabled": True}, sim.now_s)
    assert answer == (200, _protection(task, "2026-01-05T11:02:07Z"))


def test_put_disable_answers_a_null_expiration_date() -> None:
    """PUT ProtectionEnabled false clears protection: ExpirationDate null, enabled false."""
    sim = _sim()
    task = _tasks(sim)[0]
    agent = _agent(sim)
    agent.put(task, {"ProtectionEnabled": True, "ExpiresInMinutes": 30}, sim.now_s)
    answer = agent.put(task, {"ProtectionEnabled": False}, sim.now_s)
    assert answer == (200, _protection(task, None))
    assert sim.ecs.get_task_protection(cluster="prod", tasks=[task.arn])[
        "protectedTasks"
    ] == [{"taskArn": task.arn, "protectionEnabled": False}]


def test_put_disable_forwards_minutes_that_ecs_ignores() -> None:
    """A disable that carries ExpiresInMinutes (even out of range) still clears (DESIGN §4)."""
    sim = _sim()
    task = _tasks(sim)[0]
    agent = _agent(sim)
    agent.put(task, {"ProtectionEnabled": True}, sim.now_s)
    answer = agent.put(
        task, {"ProtectionEnabled": False, "ExpiresInMinutes": 5000}, sim.now_s
    )
    assert answer == (200, _protection(task, None))


def test_put_goes_through_ecs_and_is_recorded_like_an_api_call() -> None:
    """A PUT sets the same protection the ECS API reports, and records protection_set."""
    sim = _sim()
    task = _tasks(sim)[0]
    _agent(sim).put(task, {"ProtectionEnabled": True, "ExpiresInMinutes": 5}, sim.now_s)
    got = sim.ecs.get_task_protection(cluster="prod", tasks=[task.arn])
    assert got["protectedTasks"] == [
        {
            "taskArn": task.arn,
            "protectionEnabled": True,
            "expirationDate": sim.start.replace(hour=9, minute=7, second=7),
        }
    ]
    events = sim.events()
    last = events[events["kind"] == "protection_set"]
    assert list(zip(last["time_s"], last["task"], strict=True)) == [
        (SETTLE_S, task.task_id)
    ]


# ---- GET ------------------------------------------------------------------------------
def test_get_of_an_unprotected_task_answers_null_expiration() -> None:
    """GET on a task never protected answers 200 protection with a null ExpirationDate."""
    sim = _sim()
    task = _tasks(sim)[0]
    assert _agent(sim).get(task, sim.now_s) == (200, _protection(task, None))


def test_get_shows_protection_until_it_expires_then_null() -> None:
    """GET reports the RFC3339 expiry while protected and null once it lapsed."""
    sim = _sim()
    task = _tasks(sim)[0]
    agent = _agent(sim)
    agent.put(task, {"ProtectionEnabled": True, "ExpiresInMinutes": 1}, sim.now_s)
    sim.advance(59)
    assert agent.get(task, sim.now_s) == (
        200,
        _protection(task, "2026-01-05T09:03:07Z"),
    )
    sim.advance(1)
    assert agent.get(task, sim.now_s) == (200, _protection(task, None))


# ---- per-task failures: 200 with a failure body --------------------------------------
def test_put_on_a_standalone_task_is_200_with_task_not_valid() -> None:
    """A RunTask task is not in a service: 200 with a TASK_NOT_VALID failure, Detail null."""
    sim = _sim()
    task = _standalone(sim)
    answer = _agent(sim).put(task, {"ProtectionEnabled": True}, sim.now_s)
    assert answer == (
        200,
        {"failure": {"Arn": task.arn, "Detail": None, "Reason": "TASK_NOT_VALID"}},
    )


def test_get_on_a_standalone_task_is_200_with_task_not_valid() -> None:
    """GET from a standalone task answers 200 with a TASK_NOT_VALID failure body."""
    sim = _sim()
    task = _standalone(sim)
    assert _agent(sim).get(task, sim.now_s) == (
        200,
        {"failure": {"Arn": task.arn, "Detail": None, "Reason": "TASK_NOT_VALID"}},
    )


def test_put_above_the_desired_count_is_200_with_deployment_blocked() -> None:
    """Protecting more tasks than desired answers 200 with a DEPLOYMENT_BLOCKED
    failure (a renewal of a protected task would be accepted)."""
    sim = _sim(desired=2)
    first, second = _tasks(sim)
    agent = _agent(sim)
    assert agent.put(second, {"ProtectionEnabled": True}, sim.now_s)[0] == 200
    sim.ecs.update_service(cluster="prod", service="api", desiredCount=1)
    assert agent.put(second, {"ProtectionEnabled": True}, sim.now_s)[0] == 200
    answer = agent.put(first, {"ProtectionEnabled": True}, sim.now_s)
    assert answer == (
        200,
        {"failure": {"Arn": first.arn, "Detail": None, "Reason": "DEPLOYMENT_BLOCKED"}},
    )


# ---- 400: bodies the agent cannot decode ----------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {"ProtectionEnabled": True, "Foo": 1},
        {"Foo": 1},
        {"ProtectionEnabled": "bad"},
        {"ProtectionEnabled": 1},
        {"ProtectionEnabled": True, "ExpiresInMinutes": "60"},
        {"ProtectionEnabled": True, "ExpiresInMinutes": 60.5},
        {"ProtectionEnabled": True, "ExpiresInMinutes": True},
        ["ProtectionEnabled"],
        "ProtectionEnabled=true",
    ],
)
def test_put_with_a_body_that_does_not_decode_is_400(body: Any) -> None:
    """Unknown fields, wrong types or a non-object body: 400 'failed to decode request'."""
    sim = _sim()
    task = _tasks(sim)[0]
    assert _agent(sim).put(task, body, sim.now_s) == (400, DECODE_ERROR)
    assert _agent(sim).get(task, sim.now_s) == (200, _protection(task, None))


@pytest.mark.parametrize(
    ("body", "expected_minutes"),
    [
        ({"protectionEnabled": True, "expiresInMinutes": 30}, 30),
        ({"PROTECTIONENABLED": True}, 120),
        ({"protectionenabled": True, "ExpiresInMinutes": 5}, 5),
        # two spellings of one field: the last one wins, as in Go
        (
            {"ExpiresInMinutes": 5, "expiresInMinutes": 45, "ProtectionEnabled": True},
            45,
        ),
    ],
)
def test_put_matches_field_names_in_any_case(
    body: dict[str, Any], expected_minutes: int
) -> None:
    """The agent decodes with Go's case-insensitive field matching, so the API's
    camelCase names (or any case) work too."""
    sim = _sim()
    task = _tasks(sim)[0]
    status, answer = _agent(sim).put(task, body, sim.now_s)
    assert status == 200
    assert answer["protection"]["ProtectionEnabled"] is True
    assert task.protection.expires_at == sim.now_s + 60 * expected_minutes


def test_the_rate_limit_applies_before_the_body_is_decoded() -> None:
    """Over the metadata server's limit even a body that does not decode gets 429,
    and undecodable requests use up the task's burst like any other."""
    sim = _sim()
    task = _tasks(sim)[0]
    agent = _agent(sim)
    now = sim.now_s
    answers = [agent.put(task, {"Foo": 1}, now)[0] for _ in range(61)]
    assert answers == [400] * 60 + [429]
    assert agent.put(task, {"ProtectionEnabled": True}, now)[0] == 429


@pytest.mark.parametrize(
    "body", [{}, {"ExpiresInMinutes": 60}, {"ProtectionEnabled": None}]
)
def test_put_without_protection_enabled_is_400_naming_the_field(body: Any) -> None:
    """A decodable body without ProtectionEnabled: 400 with the task's Arn and the field."""
    sim = _sim()
    task = _tasks(sim)[0]
    assert _agent(sim).put(task, body, sim.now_s) == (
        400,
        {
            "error": {
                "Arn": task.arn,
                "Code": "InvalidParameterException",
                "Message": "Invalid request: does not contain 'ProtectionEnabled' field",
            }
        },
    )


def test_decoding_errors_come_before_the_missing_field_check() -> None:
    """A mistyped ExpiresInMinutes without ProtectionEnabled fails decoding first (§5.2 order)."""
    sim = _sim()
    task = _tasks(sim)[0]
    assert _agent(sim).put(task, {"ExpiresInMinutes": "bad"}, sim.now_s) == (
        400,
        DECODE_ERROR,
    )


def test_out_of_range_minutes_come_back_as_ecs_invalid_parameter() -> None:
    """The agent does not range-check ExpiresInMinutes: ECS's 400 comes back with a requestID."""
    sim = _sim()
    task = _tasks(sim)[0]
    status, body = _agent(sim).put(
        task, {"ProtectionEnabled": True, "ExpiresInMinutes": 2881}, sim.now_s
    )
    assert status == 400
    assert body["error"]["Arn"] == task.arn
    assert body["error"]["Code"] == "InvalidParameterException"
    assert isinstance(body.get("requestID"), str)
    assert body["requestID"]


# ---- ECS errors and timeouts -------------------------------------------------------------
def test_throttling_comes_back_with_ecs_status_and_request_id() -> None:
    """An ECS ThrottlingException is passed on with ECS's HTTP 400 and its requestID."""
    sim = _sim(
        settings=EcsSettings(protection_api_rate_per_s=0.001, protection_api_burst=1)
    )
    first, second = _tasks(sim)
    agent = _agent(sim)
    assert agent.put(first, {"ProtectionEnabled": True}, sim.now_s)[0] == 200
    status, body = agent.put(second, {"ProtectionEnabled": True}, sim.now_s)
    request_id = body.get("requestID")
    assert isinstance(request_id, str)
    assert request_id
    assert (status, body) == (
        400,
        {
            "requestID": request_id,
            "error": {
                "Arn": second.arn,
                "Code": "ThrottlingException",
                "Message": "Rate exceeded",
            },
        },
    )
    assert agent.get(second, sim.now_s) == (200, _protection(second, None))


def test_timeout_is_504_request_canceled() -> None:
    """A timed-out ECS call answers 504 RequestCanceled with the task's Arn, no requestID."""
    sim = _sim()
    task = _tasks(sim)[0]
    assert AgentEndpoint.timeout(task) == (
        504,
        {
            "error": {
                "Arn": task.arn,
                "Code": "RequestCanceled",
                "Message": "Timed out calling ECS Task Protection API",
            }
        },
    )


# ---- update(): the workers' shortcut ----------------------------------------------------
def test_update_answers_status_and_reason_like_put() -> None:
    """update() gives (200, None), (200, reason) and (status, code) as PUT would."""
    sim = _sim(
        desired=2,
        settings=EcsSettings(protection_api_rate_per_s=0.001, protection_api_burst=2),
    )
    first, second = _tasks(sim)
    agent = _agent(sim)
    now = sim.now_s
    assert agent.update(first, True, 10, now) == (200, None)
    assert first.protection.expires_at == SETTLE_S + 600
    sim.ecs.update_service(cluster="prod", service="api", desiredCount=0)
    assert agent.update(second, True, 10, now) == (200, "DEPLOYMENT_BLOCKED")
    assert agent.update(second, True, 10, now) == (400, "ThrottlingException")


def test_the_metadata_server_limits_each_task_to_40_per_second_burst_60() -> None:
    """A task's 61st request within an instant gets 429; the next second allows 40
    more; another task is not affected."""
    sim = _sim(desired=2)
    first, second = _tasks(sim)
    agent = _agent(sim)
    now = sim.now_s
    answers = [agent.get(first, now)[0] for _ in range(61)]
    assert answers == [200] * 60 + [429]
    assert agent.put(first, {"ProtectionEnabled": True}, now)[0] == 429
    assert agent.update(first, True, None, now) == (429, "TooManyRequests")
    assert agent.get(second, now)[0] == 200
    later = [agent.get(first, now + 1.0)[0] for _ in range(41)]
    assert later == [200] * 40 + [429]
