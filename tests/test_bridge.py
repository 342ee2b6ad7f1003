"""Real botocore clients answered by the simulation (Simulation.client)."""

from __future__ import annotations

from datetime import timedelta

import botocore.client
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from ecssim import Simulation


def _service(sim: Simulation, desired: int) -> botocore.client.BaseClient:
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(
        family="w", containerDefinitions=[{"name": "app", "image": "w:1"}]
    )
    ecs.create_service(
        cluster="c", serviceName="s", taskDefinition="w", desiredCount=desired
    )
    sim.advance(120)
    return ecs


def test_a_real_client_sees_the_simulated_account() -> None:
    """Calls through a genuine botocore client change and read the simulation."""
    sim = Simulation(seed=1)
    ecs = _service(sim, 3)
    assert isinstance(ecs, botocore.client.BaseClient)
    simulated = sim.ecs.describe_services(cluster="c", services=["s"])["services"][0]
    real = ecs.describe_services(cluster="c", services=["s"])["services"][0]
    assert real["runningCount"] == simulated["runningCount"] == 3
    assert real["serviceArn"] == simulated["serviceArn"]


def test_paginators_work_against_the_simulation() -> None:
    """list_tasks pages of 5 give every task of a 12-task service exactly once."""
    sim = Simulation(seed=2)
    ecs = _service(sim, 12)
    pages = ecs.get_paginator("list_tasks").paginate(
        cluster="c", serviceName="s", PaginationConfig={"PageSize": 5}
    )
    sizes = [len(page["taskArns"]) for page in pages]
    arns = [
        a
        for page in ecs.get_paginator("list_tasks").paginate(cluster="c")
        for a in page["taskArns"]
    ]
    assert sizes == [5, 5, 2]
    assert sorted(arns) == sorted(sim.ecs.list_tasks(cluster="c")["taskArns"])


def test_protection_and_its_errors_come_back_as_boto3_gives_them() -> None:
    """Protection works; an out-of-range duration raises the client's own
    InvalidParameterException; a missing parameter fails in botocore first."""
    sim = Simulation(seed=3)
    ecs = _service(sim, 2)
    arns = ecs.list_tasks(cluster="c")["taskArns"]
    answer = ecs.update_task_protection(
        cluster="c", tasks=arns[:1], protectionEnabled=True, expiresInMinutes=30
    )
    assert answer["protectedTasks"][0]["expirationDate"] == sim.now + timedelta(
        minutes=30
    )
    with pytest.raises(ecs.exceptions.InvalidParameterException) as caught:
        ecs.update_task_protection(
            cluster="c", tasks=arns[:1], protectionEnabled=True, expiresInMinutes=9999
        )
    assert isinstance(caught.value, ClientError)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ParamValidationError):
        ecs.update_task_protection(cluster="c", tasks=arns[:1])  # type: ignore[call-arg]
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.get_task_protection(cluster="nope")


def test_an_operation_ecssim_does_not_simulate_is_refused_without_any_request() -> None:
    """Calling an ECS operation the simulation lacks raises NotImplementedError."""
    ecs = Simulation(seed=4).client("ecs")
    with pytest.raises(NotImplementedError, match="DeleteCluster"):
        ecs.delete_cluster(cluster="c")


def test_only_the_simulated_services_have_clients() -> None:
    """Asking for a client of another service is a ValueError naming it."""
    with pytest.raises(ValueError, match="'s3'"):
        Simulation().client("s3")
