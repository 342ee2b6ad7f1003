"""Small models the tests share: built through the public API, as a user would."""

from __future__ import annotations

from ecssim.aws.state import Service
from ecssim.model.simulation import Simulation


def fargate_service(sim: Simulation, *, desired: int) -> Service:
    """Cluster ``c`` with service ``s`` of *desired* tasks of family ``w``
    (256 CPU units, 512 MiB, FARGATE), created at *sim*'s current time; the
    control plane's record of the service."""
    ecs = sim.ecs
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(
        family="w",
        containerDefinitions=[{"name": "w", "image": "w:1"}],
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
    )
    ecs.create_service(
        cluster="c",
        serviceName="s",
        taskDefinition="w",
        desiredCount=desired,
        launchType="FARGATE",
    )
    return sim.backend.clusters["c"].services["s"]
