"""Amazon ECS service quotas the simulated API enforces (docs/sources.md).

Each quota is hit through the boto3-shaped client as a user would hit it: the
call that would go one over the limit fails with the error ECS returns, the
state stays as it was, and freeing room (a deregistered instance) lets the
next call through.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecssim import Simulation
from ecssim.aws import ecs
from ecssim.errors import ScenarioError
from ecssim.scenario.loading import parse_scenario

ASG = (
    "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
    "1b2c3d4e-1111-2222-3333-444455556666:autoScalingGroupName/{}"
)


def _sim() -> Simulation:
    sim = Simulation(seed=11)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "nginx"}]
    )
    return sim


def _register(sim: Simulation, index: int, cluster: str = "prod") -> str:
    document = json.dumps(
        {"instanceId": f"i-{index:017x}", "availabilityZone": "us-east-1a"}
    )
    response = sim.ecs.register_container_instance(
        cluster=cluster,
        instanceIdentityDocument=document,
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": 1024},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048},
        ],
    )
    return str(response["containerInstance"]["containerInstanceArn"])


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = err.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_the_quotas_are_the_documented_values() -> None:
    """The values of Amazon ECS's service quotas page (docs/sources.md)."""
    assert (
        ecs.MAX_TASKS_PER_SERVICE,
        ecs.MAX_SERVICES_PER_CLUSTER,
        ecs.MAX_CONTAINER_INSTANCES_PER_CLUSTER,
        ecs.MAX_CLUSTER_CAPACITY_PROVIDERS,
        ecs.MAX_UPDATE_PROTECTION_TASKS,
        ecs.MAX_RUN_TASK_COUNT,
    ) == (5000, 5000, 5000, 20, 10, 10)


def test_a_cluster_holds_at_most_5000_services() -> None:
    """ "Services per cluster" (5,000): the 5,001st CreateService fails with
    InvalidParameterException naming the limit; another cluster still has room."""
    sim = _sim()
    for index in range(ecs.MAX_SERVICES_PER_CLUSTER):
        sim.ecs.create_service(
            cluster="prod",
            serviceName=f"s{index}",
            taskDefinition="web",
            desiredCount=0,
        )
    with pytest.raises(ClientError) as err:
        sim.ecs.create_service(
            cluster="prod", serviceName="one-more", taskDefinition="web", desiredCount=0
        )
    code, message = _error(err)
    assert code == "InvalidParameterException"
    assert "5000 services per cluster" in message
    listed = sim.backend.clusters["prod"].services
    assert len(listed) == 5000
    assert "one-more" not in listed
    sim.ecs.create_cluster(clusterName="other")
    created = sim.ecs.create_service(
        cluster="other", serviceName="one-more", taskDefinition="web", desiredCount=0
    )
    assert created["service"]["status"] == "ACTIVE"


def test_a_cluster_holds_at_most_5000_container_instances() -> None:
    """ "Container instances per cluster" (5,000): the 5,001st registration fails;
    a deregistered (INACTIVE) instance no longer counts."""
    sim = _sim()
    arns = [_register(sim, index) for index in range(5000)]
    with pytest.raises(ClientError) as err:
        _register(sim, 5000)
    code, message = _error(err)
    assert code == "InvalidParameterException"
    assert "limit of 5000 per cluster" in message
    assert len(sim.backend.clusters["prod"].container_instances) == 5000
    sim.ecs.deregister_container_instance(cluster="prod", containerInstance=arns[0])
    again = _register(sim, 5000)
    assert again not in arns


def _providers(sim: Simulation, count: int) -> list[str]:
    names = [f"asg{index}" for index in range(count)]
    for name in names:
        sim.ecs.create_capacity_provider(
            name=name,
            autoScalingGroupProvider={"autoScalingGroupArn": ASG.format(name)},
        )
    return names


@pytest.mark.parametrize("count", [20, 21])
def test_a_cluster_has_at_most_20_capacity_providers(count: int) -> None:
    """ "Capacity providers per cluster" (20): 20 are associated, 21 are
    refused and the cluster keeps none."""
    sim = _sim()
    names = [*_providers(sim, count - 2), "FARGATE", "FARGATE_SPOT"]
    call: dict[str, Any] = {
        "cluster": "prod",
        "capacityProviders": names,
        "defaultCapacityProviderStrategy": [],
    }
    if count <= ecs.MAX_CLUSTER_CAPACITY_PROVIDERS:
        cluster = sim.ecs.put_cluster_capacity_providers(**call)["cluster"]
        assert cluster["capacityProviders"] == names
        return
    with pytest.raises(ClientError) as err:
        sim.ecs.put_cluster_capacity_providers(**call)
    code, message = _error(err)
    assert code == "InvalidParameterException"
    assert "at most 20 capacity providers per cluster; got 21" in message
    assert sim.backend.clusters["prod"].capacity_providers is None


@pytest.mark.parametrize("count", [5000, 5001])
def test_a_scenario_has_at_most_5000_services(count: int) -> None:
    """The scenario's one cluster holds ECS's 5,000 services at most: one more
    fails validation naming `services`."""
    raw = {
        "name": "many",
        "duration": "10m",
        "services": [{"name": f"s{i}", "desired_count": 0} for i in range(count)],
    }
    if count <= ecs.MAX_SERVICES_PER_CLUSTER:
        assert len(parse_scenario(raw).services) == count
        return
    with pytest.raises(ScenarioError, match=r"services: .*at most 5000 items"):
        parse_scenario(raw)
