"""Services, standalone tasks and their workers, built from a scenario.

Each scenario service becomes a task definition and a service created through
the boto3-shaped ECS client, its workload (a queue or a session pool) with its
arrivals, and a worker factory that gives every new task its protection policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecssim.aws.state import Service as ServiceRecord
from ecssim.aws.state import Task
from ecssim.model.autoscaling import add_autoscaling
from ecssim.scenario.schema import (
    Distribution,
    QueueWorkload,
    SessionWorkload,
    StandaloneTasks,
)
from ecssim.scenario.schema import Service as ServiceConfig
from ecssim.sim.timers import at
from ecssim.sim.workers import (
    QueueWorker,
    SessionWorker,
    Worker,
    policy_for,
)
from ecssim.sim.workloads import (
    JobQueue,
    SessionPool,
    feed_arrivals,
)

if TYPE_CHECKING:
    from ecssim.model.build import Model


@dataclass
class ServiceRuntime:
    config: ServiceConfig
    record: ServiceRecord
    queue: JobQueue | None = None
    pool: SessionPool | None = None


def register_task_definition(
    model: Model, config: ServiceConfig, revision_tag: int
) -> str:
    ecs = model.sim.ecs
    response = ecs.register_task_definition(
        family=config.name,
        containerDefinitions=[
            {
                "name": "worker",
                "image": f"{config.name}:{revision_tag}",
                "essential": True,
                "stopTimeout": math.ceil(config.stop_timeout_s),
            }
        ],
        requiresCompatibilities=["FARGATE", "EC2"],
        networkMode="awsvpc",
        cpu=str(config.cpu),
        memory=str(config.memory),
    )
    arn: str = response["taskDefinition"]["taskDefinitionArn"]
    return arn


def add_service(model: Model, config: ServiceConfig) -> None:
    sim = model.sim
    td = register_task_definition(model, config, 1)
    deployment = config.deployment
    request: dict[str, Any] = {
        "cluster": model.cluster_name,
        "serviceName": config.name,
        "taskDefinition": td,
        "desiredCount": config.desired_count,
        "deploymentConfiguration": {
            "minimumHealthyPercent": deployment.minimum_healthy_percent,
            "maximumPercent": deployment.maximum_percent,
            "deploymentCircuitBreaker": {
                "enable": deployment.circuit_breaker.enable,
                "rollback": deployment.circuit_breaker.rollback,
            },
            **deployment.request(),
        },
    }
    if config.capacity_provider_strategy:
        request["capacityProviderStrategy"] = [
            {
                "capacityProvider": c.capacity_provider,
                "base": c.base,
                "weight": c.weight,
            }
            for c in config.capacity_provider_strategy
        ]
    elif config.scheduling_strategy == "DAEMON":
        request["launchType"] = "EC2"
    elif config.launch_type is not None:
        request["launchType"] = config.launch_type
    elif not model.scenario.cluster.default_capacity_provider_strategy:
        request["launchType"] = "FARGATE"
    # else: the cluster's default capacity provider strategy
    if config.scheduling_strategy == "DAEMON":
        request["schedulingStrategy"] = "DAEMON"
        del request["desiredCount"]
        # a DAEMON service's defaults (ecs_services, "Daemon")
        request["deploymentConfiguration"] |= {
            "minimumHealthyPercent": 0,
            "maximumPercent": 100,
        }
    if config.placement_strategy:
        request["placementStrategy"] = [
            p.model_dump(exclude_none=True) for p in config.placement_strategy
        ]
    if config.placement_constraints:
        request["placementConstraints"] = [
            c.model_dump(exclude_none=True) for c in config.placement_constraints
        ]
    sim.ecs.create_service(**request)
    cluster = sim.backend.find_cluster(model.cluster_name)
    assert cluster is not None  # created in __init__
    record = cluster.services[config.name]
    runtime = ServiceRuntime(config=config, record=record)
    model.services[config.name] = runtime
    workload = config.workload
    until = model.scenario.duration_s
    arrivals = sim.streams.for_key("arrivals", config.name)
    durations = sim.streams.for_key("durations", config.name)
    if isinstance(workload, QueueWorkload):
        runtime.queue = JobQueue(sim.env, config.name, workload, sim.backend.record)
        arrive: Callable[[float], object] = runtime.queue.arrive
        distribution: Distribution = workload.job_duration
    elif isinstance(workload, SessionWorkload):
        runtime.pool = SessionPool(sim.env, config.name, workload, sim.backend.record)
        arrive = runtime.pool.arrive
        distribution = workload.session_duration
    if workload is not None:
        sim.env.process(
            feed_arrivals(
                sim.env,
                arrivals=workload.arrivals,
                distribution=distribution,
                rng_arrivals=arrivals,
                rng_durations=durations,
                until_s=until,
                start_hour_s=model.start_hour_s,
                arrive=arrive,
            )
        )
        model.workers.factories[config.name] = worker_factory(model, runtime)
    if config.autoscaling is not None:
        add_autoscaling(model, runtime)


def worker_factory(model: Model, runtime: ServiceRuntime) -> Callable[[Task], Worker]:
    config = runtime.config
    custom = model.policies.get(config.name)

    def make(task: Task) -> Worker:
        policy = policy_for(config.protection, custom)
        common: dict[str, Any] = {
            "policy": policy,
            "config": config.protection,
            "caller": model.caller,
            "worker_config": config.worker,
            "record": model.sim.backend.record,
            "load": model.workers.load(config.name),
            "exit_container": model.sim.world.tasks.container_exited,
        }
        if runtime.queue is not None:
            assert isinstance(config.workload, QueueWorkload)
            return QueueWorker(
                model.env,
                task,
                queue=runtime.queue,
                receive_wait_s=config.workload.receive_wait_s,
                **common,
            )
        assert runtime.pool is not None
        return SessionWorker(model.env, task, pool=runtime.pool, **common)

    return make


def add_standalone(model: Model, config: StandaloneTasks) -> None:
    sim = model.sim
    ecs = sim.ecs
    ecs.register_task_definition(
        family=config.name,
        containerDefinitions=[{"name": "main", "image": f"{config.name}:1"}],
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
    )
    custom = model.policies.get(config.name)

    def make(task: Task) -> Worker:
        return Worker(
            model.env,
            task,
            policy=policy_for(config.protection, custom),
            config=config.protection,
            caller=model.caller,
            worker_config=model.scenario.services[0].worker,
            record=model.sim.backend.record,
        )

    group = f"family:{config.name}"
    model.workers.factories[group] = make
    at(
        sim.env,
        config.at_s,
        lambda: ecs.run_task(
            cluster=model.cluster_name,
            taskDefinition=config.name,
            count=config.count,
            launchType="FARGATE",
            group=group,
        ),
    )
