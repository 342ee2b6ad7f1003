"""Behaviour of the boto3-shaped ECS client as a new user exercises it.

Clusters, task definitions, services, standalone tasks, listing and describing
tasks, and the errors boto3 would raise (``ClientError`` subclasses and
``ParamValidationError``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from ecssim import Simulation

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = f"arn:aws:ecs:{REGION}:{ACCOUNT}"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _sim(**kwargs: Any) -> Simulation:
    sim = Simulation(seed=3, **kwargs)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "nginx"}]
    )
    return sim


def _with_service(desired: int = 3, settle_s: float = 120.0) -> Simulation:
    sim = _sim()
    sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="web", desiredCount=desired
    )
    sim.advance(settle_s)
    return sim


def _service(sim: Simulation, name: str = "api") -> dict[str, Any]:
    return sim.ecs.describe_services(cluster="prod", services=[name])["services"][0]


def _body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


# ---- clusters ----------------------------------------------------------------
def test_create_cluster_is_idempotent() -> None:
    """Creating a cluster twice returns the same cluster and lists it once."""
    sim = Simulation(seed=1)
    first = sim.ecs.create_cluster(clusterName="prod")
    second = sim.ecs.create_cluster(clusterName="prod")
    assert _body(first) == _body(second)
    assert first["cluster"]["clusterArn"] == f"{PREFIX}:cluster/prod"
    assert first["cluster"]["status"] == "ACTIVE"
    assert sim.ecs.list_clusters()["clusterArns"] == [f"{PREFIX}:cluster/prod"]


def test_create_cluster_defaults_to_default() -> None:
    """CreateCluster without a name creates the cluster called ``default``."""
    sim = Simulation(seed=1)
    cluster = sim.ecs.create_cluster()["cluster"]
    assert (cluster["clusterName"], cluster["clusterArn"]) == (
        "default",
        f"{PREFIX}:cluster/default",
    )


def test_response_metadata_looks_like_boto3() -> None:
    """Every response carries boto3's ResponseMetadata with a 200 status."""
    sim = Simulation(seed=1)
    meta = sim.ecs.create_cluster(clusterName="prod")["ResponseMetadata"]
    assert set(meta) == {"RequestId", "HTTPStatusCode", "HTTPHeaders", "RetryAttempts"}
    assert meta["HTTPStatusCode"] == 200


def test_describe_clusters_reports_unknown_ones_as_missing() -> None:
    """DescribeClusters returns known clusters and a MISSING failure per unknown one."""
    sim = _sim()
    response = sim.ecs.describe_clusters(
        clusters=["prod", "nope", f"{PREFIX}:cluster/x"]
    )
    assert [c["clusterName"] for c in response["clusters"]] == ["prod"]
    assert response["failures"] == [
        {"arn": f"{PREFIX}:cluster/nope", "reason": "MISSING"},
        {"arn": f"{PREFIX}:cluster/x", "reason": "MISSING"},
    ]


def test_describe_clusters_accepts_an_arn() -> None:
    """A cluster can be named by its ARN."""
    sim = _sim()
    response = sim.ecs.describe_clusters(clusters=[f"{PREFIX}:cluster/prod"])
    assert [c["clusterArn"] for c in response["clusters"]] == [f"{PREFIX}:cluster/prod"]
    assert response["failures"] == []


def test_describe_clusters_counts_tasks_and_services() -> None:
    """A cluster's running, pending and active-service counts follow its tasks."""
    sim = _sim()
    sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="web", desiredCount=2
    )
    sim.ecs.run_task(cluster="prod", taskDefinition="web")
    sim.advance(16)  # service tasks launched at 15 s; the standalone one at 0 s
    cluster = sim.ecs.describe_clusters(clusters=["prod"])["clusters"][0]
    counts = {k: cluster[k] for k in ("runningTasksCount", "pendingTasksCount")}
    assert counts == {"runningTasksCount": 0, "pendingTasksCount": 3}
    assert cluster["activeServicesCount"] == 1
    sim.advance(60)
    cluster = sim.ecs.describe_clusters(clusters=["prod"])["clusters"][0]
    counts = {k: cluster[k] for k in ("runningTasksCount", "pendingTasksCount")}
    assert counts == {"runningTasksCount": 3, "pendingTasksCount": 0}


# ---- task definitions ----------------------------------------------------------
def test_task_definition_revisions_count_up_per_family() -> None:
    """Each registration of a family gets the next revision; families are separate."""
    sim = _sim()  # web:1 already registered
    td2 = sim.ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "nginx:2"}]
    )["taskDefinition"]
    other = sim.ecs.register_task_definition(
        family="batch", containerDefinitions=[{"name": "job", "image": "busybox"}]
    )["taskDefinition"]
    assert (td2["family"], td2["revision"]) == ("web", 2)
    assert td2["taskDefinitionArn"] == f"{PREFIX}:task-definition/web:2"
    assert (other["family"], other["revision"]) == ("batch", 1)
    assert sim.ecs.list_task_definitions(familyPrefix="web")["taskDefinitionArns"] == [
        f"{PREFIX}:task-definition/web:1",
        f"{PREFIX}:task-definition/web:2",
    ]


def test_describe_task_definition_by_family_revision_and_arn() -> None:
    """A family names its latest revision; ``family:rev`` and the ARN name one revision."""
    sim = _sim()
    sim.ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "nginx:2"}]
    )

    def describe(ref: str) -> dict[str, Any]:
        return sim.ecs.describe_task_definition(taskDefinition=ref)["taskDefinition"]

    assert describe("web")["revision"] == 2
    assert describe("web:1")["revision"] == 1
    assert describe("web:1")["containerDefinitions"] == [
        {"name": "app", "image": "nginx"}
    ]
    assert describe(f"{PREFIX}:task-definition/web:1") == describe("web:1")
    assert describe("web")["registeredAt"] == START


def test_task_definition_is_isolated_from_caller_objects() -> None:
    """Mutating the request or a response after the call leaves the registered
    task definition (and its stopTimeout) unchanged."""
    sim = Simulation(seed=1)
    containers = [{"name": "app", "image": "nginx", "stopTimeout": 10}]
    sim.ecs.register_task_definition(family="web", containerDefinitions=containers)
    containers[0]["stopTimeout"] = 500
    containers.append({"name": "extra", "image": "x"})
    described = sim.ecs.describe_task_definition(taskDefinition="web")
    described["taskDefinition"]["containerDefinitions"].clear()
    again = sim.ecs.describe_task_definition(taskDefinition="web")["taskDefinition"]
    assert again["containerDefinitions"] == [
        {"name": "app", "image": "nginx", "stopTimeout": 10}
    ]


def test_describe_unknown_task_definition_is_a_client_exception() -> None:
    """Describing a revision that does not exist raises ClientException."""
    sim = _sim()
    with pytest.raises(sim.ecs.exceptions.ClientException) as info:
        sim.ecs.describe_task_definition(taskDefinition="web:9")
    assert info.value.response["Error"]["Code"] == "ClientException"


def test_stop_timeout_above_120_seconds_is_rejected() -> None:
    """A container stopTimeout above 120 s is rejected and registers nothing."""
    sim = _sim()
    with pytest.raises(sim.ecs.exceptions.ClientException):
        sim.ecs.register_task_definition(
            family="web",
            containerDefinitions=[
                {"name": "app", "image": "nginx", "stopTimeout": 121}
            ],
        )
    accepted = sim.ecs.register_task_definition(
        family="web",
        containerDefinitions=[{"name": "app", "image": "nginx", "stopTimeout": 120}],
    )
    assert accepted["taskDefinition"]["revision"] == 2


# ---- services ----------------------------------------------------------------------
def test_create_service_response() -> None:
    """A new service has a long-format ARN, no tasks yet and one IN_PROGRESS deployment."""
    sim = _sim()
    service = sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="web", desiredCount=3
    )["service"]
    assert service["serviceArn"] == f"{PREFIX}:service/prod/api"
    assert service["clusterArn"] == f"{PREFIX}:cluster/prod"
    counts = {k: service[k] for k in ("desiredCount", "runningCount", "pendingCount")}
    assert counts == {"desiredCount": 3, "runningCount": 0, "pendingCount": 0}
    assert service["taskDefinition"] == f"{PREFIX}:task-definition/web:1"
    assert service["events"] == []
    [deployment] = service["deployments"]
    deployment_id = deployment.pop("id")
    assert deployment_id.startswith("ecs-svc/")
    assert deployment == {
        "status": "PRIMARY",
        "taskDefinition": f"{PREFIX}:task-definition/web:1",
        "desiredCount": 3,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": START,
        "updatedAt": START,
        "launchType": "EC2",
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": "",
    }
    assert sim.ecs.list_services(cluster="prod")["serviceArns"] == [
        f"{PREFIX}:service/prod/api"
    ]


def test_service_counts_follow_the_tasks() -> None:
    """pendingCount covers PROVISIONING and PENDING tasks, runningCount RUNNING ones."""
    sim = _sim()
    sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="web", desiredCount=3
    )
    observed = []
    for until in (10, 20, 30, 50):
        sim.advance(until - sim.now_s)
        service = _service(sim)
        observed.append((until, service["pendingCount"], service["runningCount"]))
    assert observed == [(10, 0, 0), (20, 3, 0), (30, 3, 0), (50, 0, 3)]


def test_service_events_are_newest_first_and_rollout_completes() -> None:
    """After the tasks are healthy the rollout is COMPLETED and the events say so,
    newest first."""
    sim = _with_service(desired=3, settle_s=120)
    service = _service(sim)
    [deployment] = service["deployments"]
    assert deployment["rolloutState"] == "COMPLETED"
    assert deployment["runningCount"] == 3
    task_ids = sorted(
        arn.rsplit("/", 1)[1]
        for arn in sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
    )
    messages = [e["message"] for e in service["events"]]
    assert messages[:2] == [
        "(service api) has reached a steady state.",
        f"(service api) (deployment {deployment['id']}) deployment completed.",
    ]
    started = re.fullmatch(
        r"\(service api\) has started 3 tasks: \(task (\w+)\) \(task (\w+)\) "
        r"\(task (\w+)\)\.",
        messages[2],
    )
    assert started is not None
    assert sorted(started.groups()) == task_ids
    assert len(messages) == 3
    times = [e["createdAt"] for e in service["events"]]
    assert times == sorted(times, reverse=True)
    assert times[-1] == START + timedelta(seconds=15)
    assert all(t.tzinfo is not None for t in times)


def test_update_service_changes_desired_count() -> None:
    """UpdateService sets the service's and the primary deployment's desired count."""
    sim = _with_service(desired=3)
    service = sim.ecs.update_service(cluster="prod", service="api", desiredCount=5)[
        "service"
    ]
    assert service["desiredCount"] == 5
    assert service["deployments"][0]["desiredCount"] == 5
    sim.advance(60)
    service = _service(sim)
    assert (service["desiredCount"], service["runningCount"]) == (5, 5)


def test_update_service_accepts_the_service_arn() -> None:
    """A service can be named by its long-format ARN."""
    sim = _with_service(desired=1)
    service = sim.ecs.update_service(
        cluster=f"{PREFIX}:cluster/prod",
        service=f"{PREFIX}:service/prod/api",
        desiredCount=2,
    )["service"]
    assert service["desiredCount"] == 2


def test_describe_services_reports_unknown_ones_as_missing() -> None:
    """DescribeServices returns a MISSING failure with a long ARN for an unknown service."""
    sim = _with_service(desired=1)
    response = sim.ecs.describe_services(cluster="prod", services=["api", "ghost"])
    assert [s["serviceName"] for s in response["services"]] == ["api"]
    assert response["failures"] == [
        {"arn": f"{PREFIX}:service/prod/ghost", "reason": "MISSING"}
    ]


def test_service_errors() -> None:
    """Unknown services, duplicate names, unknown task definitions and negative
    counts raise the ECS error codes."""
    sim = _with_service(desired=1)
    ecs = sim.ecs
    with pytest.raises(ecs.exceptions.ServiceNotFoundException) as info:
        ecs.update_service(cluster="prod", service="ghost", desiredCount=1)
    assert info.value.response["Error"]["Code"] == "ServiceNotFoundException"
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.create_service(
            cluster="prod", serviceName="api", taskDefinition="web", desiredCount=1
        )
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.create_service(
            cluster="prod", serviceName="new", taskDefinition="nope", desiredCount=1
        )
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.update_service(cluster="prod", service="api", desiredCount=-1)
    with pytest.raises(ecs.exceptions.ServiceNotFoundException):
        ecs.list_tasks(cluster="prod", serviceName="ghost")
    assert ecs.list_services(cluster="prod")["serviceArns"] == [
        f"{PREFIX}:service/prod/api"
    ]
    assert _service(sim)["desiredCount"] == 1


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("describe_services", {"services": ["api"]}),
        ("list_services", {}),
        ("list_tasks", {}),
        ("describe_tasks", {"tasks": ["abc"]}),
        ("run_task", {"taskDefinition": "web"}),
        ("stop_task", {"task": "abc"}),
        ("update_service", {"service": "api", "desiredCount": 1}),
        (
            "create_service",
            {"serviceName": "api", "taskDefinition": "web", "desiredCount": 1},
        ),
        ("update_task_protection", {"tasks": ["abc"], "protectionEnabled": True}),
        ("get_task_protection", {}),
    ],
)
def test_unknown_cluster_raises_cluster_not_found(
    method: str, params: dict[str, Any]
) -> None:
    """Every call naming an unknown cluster raises ClusterNotFoundException."""
    sim = _sim()
    with pytest.raises(sim.ecs.exceptions.ClusterNotFoundException) as info:
        getattr(sim.ecs, method)(cluster="ghost", **params)
    assert isinstance(info.value, ClientError)
    assert info.value.response["Error"]["Code"] == "ClusterNotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# ---- standalone tasks ---------------------------------------------------------------
def test_run_task_starts_standalone_tasks() -> None:
    """RunTask starts tasks outside any service, grouped as ``family:NAME``."""
    sim = _sim()
    response = sim.ecs.run_task(
        cluster="prod", taskDefinition="web", count=2, startedBy="me"
    )
    assert response["failures"] == []
    tasks = response["tasks"]
    assert [t["group"] for t in tasks] == ["family:web", "family:web"]
    assert [t["startedBy"] for t in tasks] == ["me", "me"]
    assert [t["lastStatus"] for t in tasks] == ["PROVISIONING", "PROVISIONING"]
    assert [t["desiredStatus"] for t in tasks] == ["RUNNING", "RUNNING"]
    assert len({t["availabilityZone"] for t in tasks}) == 2
    for task in tasks:
        assert task["taskArn"].startswith(f"{PREFIX}:task/prod/")
        assert len(task["taskArn"].rsplit("/", 1)[1]) == 32
    assert sorted(sim.ecs.list_tasks(cluster="prod")["taskArns"]) == sorted(
        t["taskArn"] for t in tasks
    )
    sim.advance(31)
    described = sim.ecs.describe_tasks(
        cluster="prod", tasks=[t["taskArn"] for t in tasks]
    )["tasks"]
    assert [t["lastStatus"] for t in described] == ["RUNNING", "RUNNING"]
    assert all(t["startedAt"] == START + timedelta(seconds=30) for t in described)


def test_run_task_custom_group() -> None:
    """RunTask keeps the group it was given."""
    sim = _sim()
    [task] = sim.ecs.run_task(cluster="prod", taskDefinition="web", group="batch")[
        "tasks"
    ]
    assert task["group"] == "batch"
    assert "startedBy" not in task


def test_run_task_errors() -> None:
    """RunTask rejects an unknown task definition and a count outside 1..10."""
    sim = _sim()
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.run_task(cluster="prod", taskDefinition="nope")
    for count in (0, 11):
        with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
            sim.ecs.run_task(cluster="prod", taskDefinition="web", count=count)
    assert sim.ecs.list_tasks(cluster="prod")["taskArns"] == []


def test_stop_task_stops_a_standalone_task() -> None:
    """StopTask sets desiredStatus STOPPED at once (lastStatus follows, as in ECS)
    and the task ends STOPPED with stop code UserInitiated and the given reason."""
    sim = _sim()
    [task] = sim.ecs.run_task(cluster="prod", taskDefinition="web")["tasks"]
    sim.advance(60)
    stopped = sim.ecs.stop_task(cluster="prod", task=task["taskArn"], reason="done")[
        "task"
    ]
    assert (stopped["desiredStatus"], stopped["lastStatus"]) == ("STOPPED", "RUNNING")
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "done"
    sim.advance(60)
    [described] = sim.ecs.describe_tasks(cluster="prod", tasks=[task["taskArn"]])[
        "tasks"
    ]
    timeline = {
        key: described[key]
        for key in (
            "createdAt",
            "pullStartedAt",
            "pullStoppedAt",
            "startedAt",
            "stoppingAt",
            "executionStoppedAt",
            "stoppedAt",
        )
    }
    assert timeline == {
        "createdAt": START,
        "pullStartedAt": START + timedelta(seconds=10),
        "pullStoppedAt": START + timedelta(seconds=30),
        "startedAt": START + timedelta(seconds=30),
        "stoppingAt": START + timedelta(seconds=60),
        "executionStoppedAt": START + timedelta(seconds=61),
        "stoppedAt": START + timedelta(seconds=66),
    }
    assert described["lastStatus"] == "STOPPED"
    assert described["stopCode"] == "UserInitiated"
    assert described["stoppedReason"] == "done"
    assert [c["exitCode"] for c in described["containers"]] == [0]


def test_stop_unknown_task_is_invalid_parameter() -> None:
    """StopTask of a task that does not exist raises InvalidParameterException."""
    sim = _sim()
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.stop_task(cluster="prod", task="0" * 32)


# ---- listing and describing tasks ------------------------------------------------------
def test_list_tasks_filters_by_service_and_desired_status() -> None:
    """ListTasks filters by serviceName and by desiredStatus RUNNING or STOPPED."""
    sim = _with_service(desired=3)
    [standalone] = sim.ecs.run_task(cluster="prod", taskDefinition="web")["tasks"]
    service_arns = sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
    assert len(service_arns) == 3
    assert standalone["taskArn"] not in service_arns
    assert sorted(sim.ecs.list_tasks(cluster="prod")["taskArns"]) == sorted(
        [*service_arns, standalone["taskArn"]]
    )
    sim.ecs.stop_task(cluster="prod", task=service_arns[0])
    assert sim.ecs.list_tasks(cluster="prod", desiredStatus="STOPPED")["taskArns"] == [
        service_arns[0]
    ]
    assert service_arns[0] not in sim.ecs.list_tasks(cluster="prod")["taskArns"]
    assert sim.ecs.list_tasks(cluster="prod", family="nope")["taskArns"] == []


def test_list_tasks_paginates() -> None:
    """maxResults pages through the tasks with nextToken; the pages cover every task once."""
    sim = _with_service(desired=5)
    everything = sim.ecs.list_tasks(cluster="prod")["taskArns"]
    pages, token = [], None
    while True:
        params: dict[str, Any] = {"cluster": "prod", "maxResults": 2}
        if token is not None:
            params["nextToken"] = token
        page = sim.ecs.list_tasks(**params)
        pages.append(page["taskArns"])
        token = page.get("nextToken")
        if token is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [arn for page in pages for arn in page] == everything
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.list_tasks(cluster="prod", maxResults=101)


@pytest.mark.parametrize("token", ["abc", "-1", "1.5", "²"])
def test_list_tasks_rejects_a_bad_next_token(token: str) -> None:
    """A nextToken ListTasks did not hand out raises InvalidParameterException."""
    sim = _with_service(desired=2)
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.list_tasks(cluster="prod", nextToken=token)


def test_describe_tasks_of_a_service_task() -> None:
    """DescribeTasks reports a service task's status, origin, zone and timestamps on
    the simulated clock."""
    sim = _with_service(desired=1)
    deployment_id = _service(sim)["deployments"][0]["id"]
    [arn] = sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
    task_id = arn.rsplit("/", 1)[1]
    response = sim.ecs.describe_tasks(cluster="prod", tasks=[task_id])
    assert response["failures"] == []
    [task] = response["tasks"]
    subset = {
        key: task[key]
        for key in (
            "taskArn",
            "clusterArn",
            "lastStatus",
            "desiredStatus",
            "taskDefinitionArn",
            "group",
            "startedBy",
            "availabilityZone",
            "launchType",
            "createdAt",
            "startedAt",
        )
    }
    assert subset == {
        "taskArn": arn,
        "clusterArn": f"{PREFIX}:cluster/prod",
        "lastStatus": "RUNNING",
        "desiredStatus": "RUNNING",
        "taskDefinitionArn": f"{PREFIX}:task-definition/web:1",
        "group": "service:api",
        "startedBy": deployment_id,
        "availabilityZone": "us-east-1a",
        "launchType": "EC2",
        "createdAt": START + timedelta(seconds=15),
        "startedAt": START + timedelta(seconds=45),
    }
    for key in ("stopCode", "stoppedReason", "stoppingAt", "stoppedAt"):
        assert key not in task
    assert [c["name"] for c in task["containers"]] == ["app"]
    assert "exitCode" not in task["containers"][0]


def test_describe_tasks_timestamps_follow_a_custom_start() -> None:
    """Timestamps are timezone-aware datetimes counted from the simulation's start."""
    start = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    sim = _sim(start=start)
    [task] = sim.ecs.run_task(cluster="prod", taskDefinition="web")["tasks"]
    sim.advance(31)
    [described] = sim.ecs.describe_tasks(cluster="prod", tasks=[task["taskArn"]])[
        "tasks"
    ]
    assert described["createdAt"] == start
    assert described["startedAt"] == start + timedelta(seconds=30)
    assert described["startedAt"].utcoffset() == timedelta(0)
    assert sim.now == start + timedelta(seconds=31)


def test_describe_tasks_reports_unknown_tasks_as_missing() -> None:
    """DescribeTasks returns a MISSING failure with the full task ARN for an unknown id."""
    sim = _sim()
    response = sim.ecs.describe_tasks(cluster="prod", tasks=["f" * 32])
    assert response["tasks"] == []
    assert response["failures"] == [
        {"arn": f"{PREFIX}:task/prod/{'f' * 32}", "reason": "MISSING"}
    ]
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.describe_tasks(cluster="prod", tasks=[])


# ---- parameter validation ------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("create_service", {"cluster": "prod", "taskDefinition": "web"}),
        (
            "create_service",
            {
                "cluster": "prod",
                "serviceName": "api",
                "taskDefinition": "web",
                "desiredCount": "3",
            },
        ),
        ("update_service", {"cluster": "prod", "desiredCount": 0}),
        ("update_service", {"cluster": "prod", "service": "api", "desiredCount": 1.5}),
        ("run_task", {"cluster": "prod"}),
        ("run_task", {"cluster": "prod", "taskDefinition": "web", "count": "2"}),
        ("stop_task", {"cluster": "prod"}),
        ("describe_tasks", {"cluster": "prod", "tasks": "abc"}),
        ("list_tasks", {"cluster": "prod", "maxResults": "2"}),
        ("list_tasks", {"cluster": "prod", "bogus": 1}),
        ("register_task_definition", {"family": "web"}),
        ("create_cluster", {"clusterName": 7}),
        ("update_task_protection", {"cluster": "prod", "tasks": ["a"]}),
        (
            "update_task_protection",
            {"cluster": "prod", "tasks": ["a"], "protectionEnabled": "yes"},
        ),
        (
            "update_task_protection",
            {
                "cluster": "prod",
                "tasks": ["a"],
                "protectionEnabled": True,
                "expiresInMinutes": 1.5,
            },
        ),
        ("get_task_protection", {"tasks": ["a"]}),
    ],
)
def test_bad_parameters_raise_param_validation_error_and_change_nothing(
    method: str, params: dict[str, Any]
) -> None:
    """A missing, unknown or mistyped parameter raises ParamValidationError before
    anything changes."""
    sim = _with_service(desired=2)
    arns = sim.ecs.list_tasks(cluster="prod")["taskArns"]
    before_service = _service(sim)
    before_events = sim.events()
    before_tds = sim.ecs.list_task_definitions()["taskDefinitionArns"]
    with pytest.raises(ParamValidationError):
        getattr(sim.ecs, method)(**params)
    after_service = _service(sim)
    assert after_service == before_service
    assert sim.ecs.list_tasks(cluster="prod")["taskArns"] == arns
    assert sim.ecs.list_task_definitions()["taskDefinitionArns"] == before_tds
    assert sim.ecs.list_clusters()["clusterArns"] == [f"{PREFIX}:cluster/prod"]
    assert sim.events().equals(before_events)
    sim.advance(60)
    assert sim.ecs.list_tasks(cluster="prod")["taskArns"] == arns
