"""Service-level EC2 capacity fields of scenario files: ``scheduling_strategy``,
``placement_strategy``, ``placement_constraints`` and a capacity provider
strategy naming an Auto Scaling group provider, validated with the dotted path
and reaching CreateService."""

from __future__ import annotations

from typing import Any

import pytest

from ecssim.aws import capacity
from ecssim.errors import ScenarioError
from ecssim.model.build import build
from ecssim.rules.capacity import Resources
from ecssim.scenario.loading import parse_scenario


def _raw(**service: Any) -> dict[str, Any]:
    return {
        "name": "ec2",
        "duration": "1h",
        "services": [{"name": "web", "desired_count": 2, **service}],
    }


def _error(raw: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw)
    return str(err.value)


@pytest.mark.parametrize(
    ("service", "words"),
    [
        (
            {"launch_type": "EC2", "placement_strategy": [{"type": "pack"}]},
            "services[0].placement_strategy[0].type: 'pack'",
        ),
        (
            {"launch_type": "EC2", "placement_strategy": [{"type": "binpack"}]},
            "placement_strategy[0]: binpack field must be cpu or memory; got None",
        ),
        (
            {
                "launch_type": "EC2",
                "placement_constraints": [
                    {"type": "memberOf", "expression": "attribute:rack == 1"}
                ],
            },
            "placement_constraints[0]: expression 'attribute:rack == 1' is not modelled",
        ),
        (
            {"placement_constraints": [{"type": "distinctInstance"}]},
            "Fargate has no placement",
        ),
        (
            {
                "scheduling_strategy": "DAEMON",
                "desired_count": 0,
                "launch_type": "FARGATE",
            },
            "scheduling_strategy DAEMON runs on container instances",
        ),
        (
            {"scheduling_strategy": "DAEMON"},
            "desired_count: 2: a DAEMON service runs one task per container instance",
        ),
        (
            {
                "capacity_provider_strategy": [
                    {"capacity_provider": "workers", "weight": 1}
                ]
            },
            "services[0].capacity_provider_strategy[0].capacity_provider: 'workers' "
            "is neither FARGATE, FARGATE_SPOT nor an Auto Scaling group capacity "
            "provider of the cluster",
        ),
    ],
)
def test_bad_ec2_service_fields_name_the_field(
    service: dict[str, Any], words: str
) -> None:
    """Each refused EC2 field names its dotted path and value."""
    assert words in _error(_raw(**service))


def test_ec2_service_fields_reach_create_service() -> None:
    """A service with placement fields is created with them; a DAEMON service
    runs one task on each container instance registered to the cluster."""
    scenario = parse_scenario(
        {
            "name": "ec2",
            "duration": "1h",
            "services": [
                {
                    "name": "web",
                    "desired_count": 2,
                    "launch_type": "EC2",
                    "placement_strategy": [{"type": "binpack", "field": "memory"}],
                    "placement_constraints": [{"type": "distinctInstance"}],
                },
                {"name": "agent", "desired_count": 0, "scheduling_strategy": "DAEMON"},
            ],
        }
    )
    model = build(scenario)
    sim = model.sim
    cluster = sim.backend.clusters[model.cluster_name]
    for n, zone in enumerate(("us-east-1a", "us-east-1b", "us-east-1c")):
        capacity.register_instance(
            sim.backend,
            cluster,
            ec2_instance_id=f"i-{n:017x}",
            availability_zone=zone,
            registered=Resources(4096, 8192),
        )
    sim.advance(300)
    web, agent = sim.ecs.describe_services(
        cluster=model.cluster_name, services=["web", "agent"]
    )["services"]
    assert web["placementStrategy"] == [{"type": "binpack", "field": "memory"}]
    assert web["placementConstraints"] == [{"type": "distinctInstance"}]
    assert agent["schedulingStrategy"] == "DAEMON"
    assert (agent["desiredCount"], agent["runningCount"]) == (3, 3)
    # distinctInstance: the two web tasks are on two instances
    hosts = {
        t.container_instance.container_instance_id
        for t in cluster.services["web"].tasks.values()
        if t.container_instance is not None
    }
    assert len(hosts) == 2
