"""Tasks on container instances: waiting in PROVISIONING for room, placement,
the instance watchers, ``World.stop_instance_tasks`` and the records the Auto
Scaling group side reads (``task_waiting_for_capacity``, ``task_placed``)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from ecssim import EcsSettings, Simulation
from ecssim.aws import capacity
from ecssim.aws.capacity import ContainerInstance
from ecssim.results.recorder import event_details
from ecssim.rules.capacity import Resources

ASG = (
    "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
    "1b2c3d4e-1111-2222-3333-444455556666:autoScalingGroupName/{}"
)


def _sim(*, provider: bool = True, **settings: Any) -> Simulation:
    """A cluster ``media`` with the Auto Scaling group provider ``workers`` as
    its default strategy, and a task definition ``app`` (1 vCPU, 2 GiB)."""
    sim = Simulation(seed=5, settings=EcsSettings(**settings))
    ecs = sim.ecs
    ecs.create_cluster(clusterName="media")
    if provider:
        ecs.create_capacity_provider(
            name="workers",
            autoScalingGroupProvider={"autoScalingGroupArn": ASG.format("workers")},
        )
        ecs.put_cluster_capacity_providers(
            cluster="media",
            capacityProviders=["workers"],
            defaultCapacityProviderStrategy=[
                {"capacityProvider": "workers", "weight": 1}
            ],
        )
    ecs.register_task_definition(
        family="app",
        containerDefinitions=[
            {"name": "app", "image": "app:1", "cpu": 1024, "memory": 2048}
        ],
    )
    return sim


def _instance(
    sim: Simulation,
    n: int,
    *,
    zone: str = "us-east-1a",
    cpu: int = 2048,
    memory: int = 4096,
    provider: str | None = "workers",
) -> ContainerInstance:
    """Register an instance the way the Auto Scaling group side does."""
    return capacity.register_instance(
        sim.backend,
        sim.backend.clusters["media"],
        ec2_instance_id=f"i-{n:017x}",
        availability_zone=zone,
        registered=Resources(cpu, memory),
        instance_type="c5.large",
        capacity_provider=provider,
    )


def _service(sim: Simulation, **extra: Any) -> dict[str, Any]:
    ecs = sim.ecs
    ecs.create_service(
        cluster="media", serviceName="web", taskDefinition="app", **extra
    )
    return _describe(sim)


def _describe(sim: Simulation) -> dict[str, Any]:
    return sim.ecs.describe_services(cluster="media", services=["web"])["services"][0]


def _events(sim: Simulation, kind: str) -> pd.DataFrame:
    events = sim.events()
    return events[events["kind"] == kind].reset_index(drop=True)


def test_tasks_wait_in_provisioning_until_an_instance_has_room() -> None:
    """With no instance, a service on an Auto Scaling group provider keeps its
    tasks in PROVISIONING with no zone and says why in its events; an instance
    for two tasks places two, a second instance the third."""
    sim = _sim()
    _service(sim, desiredCount=3)
    sim.advance(60)
    service = _describe(sim)
    assert (service["pendingCount"], service["runningCount"]) == (3, 0)
    assert service["capacityProviderStrategy"] == [
        {"capacityProvider": "workers", "weight": 1}
    ]
    assert any(
        e["message"]
        == "(service web) was unable to place a task because no container instance "
        "met all of its requirements. Reason: No Container Instances were found in "
        "your cluster. For more information, see the Troubleshooting section."
        for e in service["events"]
    )
    arns = sim.ecs.list_tasks(cluster="media")["taskArns"]
    tasks = sim.ecs.describe_tasks(cluster="media", tasks=arns)["tasks"]
    assert all("availabilityZone" not in t for t in tasks)
    assert {t["lastStatus"] for t in tasks} == {"PROVISIONING"}
    assert {t["launchType"] for t in tasks} == {"EC2"}
    first = _instance(sim, 1)
    sim.advance(120)
    assert (_describe(sim)["pendingCount"], _describe(sim)["runningCount"]) == (1, 2)
    assert len(first.tasks) == 2
    assert first.remaining == Resources(0, 0)
    _instance(sim, 2, zone="us-east-1b")
    sim.advance(120)
    service = _describe(sim)
    assert (service["pendingCount"], service["runningCount"]) == (0, 3)
    tasks = sim.ecs.describe_tasks(cluster="media", tasks=arns)["tasks"]
    assert sorted(t["availabilityZone"] for t in tasks) == [
        "us-east-1a",
        "us-east-1a",
        "us-east-1b",
    ]
    assert all(t["containerInstanceArn"].startswith("arn:aws:ecs:") for t in tasks)


def test_placement_records_for_the_auto_scaling_group_side() -> None:
    """Each waiting task is recorded once with its capacity provider, and once
    placed with its instance, zone and how long it waited."""
    sim = _sim()
    _service(sim, desiredCount=2)
    sim.advance(100)
    instance = _instance(sim, 1, zone="us-east-1c")
    sim.advance(1)
    events = sim.events()
    placed_rows = event_details(events, "task_placed")
    waiting_rows = event_details(events, "task_waiting_for_capacity")
    assert len(waiting_rows) == 2
    assert len(placed_rows) == 2
    for column, value in (
        ("service", "web"),
        ("container_instance_arn", instance.arn),
        ("availability_zone", "us-east-1c"),
        ("waited_s", 85.0),
    ):
        assert list(placed_rows[column]) == [value, value]
    assert list(waiting_rows["capacity_provider"]) == ["workers", "workers"]
    assert set(placed_rows["task_id"]) == set(waiting_rows["task_id"])


def test_instance_watchers_hear_every_change() -> None:
    """Watchers are called on register, on each task placed and released, on
    DRAINING and on deregistration."""
    sim = _sim()
    heard: list[tuple[str, str, int]] = []
    sim.world.instance_watchers.append(
        lambda i: heard.append((i.ec2_instance_id, i.status, len(i.tasks)))
    )
    instance = _instance(sim, 1)
    assert heard == [(instance.ec2_instance_id, "ACTIVE", 0)]
    _service(sim, desiredCount=1)
    sim.advance(60)
    assert heard[-1] == (instance.ec2_instance_id, "ACTIVE", 1)
    sim.ecs.update_service(cluster="media", service="web", desiredCount=0)
    sim.advance(60)
    assert heard[-1] == (instance.ec2_instance_id, "ACTIVE", 0)
    sim.ecs.update_container_instances_state(
        cluster="media", containerInstances=[instance.arn], status="DRAINING"
    )
    assert heard[-1] == (instance.ec2_instance_id, "DRAINING", 0)
    sim.ecs.deregister_container_instance(
        cluster="media", containerInstance=instance.arn
    )
    assert heard[-1] == (instance.ec2_instance_id, "INACTIVE", 0)


def test_a_task_stopped_while_waiting_goes_straight_to_stopped() -> None:
    """StopTask on a task waiting for room: STOPPED at once, no SIGTERM, never
    placed; the instance that registers later takes only the replacement."""
    sim = _sim()
    _service(sim, desiredCount=1)
    sim.advance(20)
    arn = sim.ecs.list_tasks(cluster="media")["taskArns"][0]
    sim.ecs.stop_task(cluster="media", task=arn)
    sim.advance(1)
    task = sim.ecs.describe_tasks(cluster="media", tasks=[arn])["tasks"][0]
    assert task["lastStatus"] == "STOPPED"
    assert "exitCode" not in task["containers"][0]
    assert _events(sim, "task_killed").empty
    instance = _instance(sim, 1)
    sim.advance(60)
    assert len(instance.tasks) == 1
    assert next(iter(instance.tasks.values())).arn != arn


@pytest.mark.parametrize("kill", [True, False])
def test_stop_instance_tasks(kill: bool) -> None:
    """Every task on the instance stops, protected or not: killed at once
    (STOPPED, exit 137, recorded as killed work) or SIGTERM as StopTask; the
    service starts replacements."""
    sim = _sim()
    instance = _instance(sim, 1)
    _service(sim, desiredCount=2)
    sim.advance(120)
    arns = sim.ecs.list_tasks(cluster="media")["taskArns"]
    sim.ecs.update_task_protection(
        cluster="media", tasks=arns[:1], protectionEnabled=True
    )
    capacity.set_instance_status(sim.backend, instance, "DRAINING")
    stopped = sim.world.stop_instance_tasks(
        instance.arn, reason="Host EC2 instance terminated", kill=kill
    )
    assert stopped == 2
    sim.advance(1)
    tasks = sim.ecs.describe_tasks(cluster="media", tasks=arns)["tasks"]
    assert {t["lastStatus"] for t in tasks} == ({"STOPPED"} if kill else {"STOPPING"})
    assert {t["stoppedReason"] for t in tasks} == {"Host EC2 instance terminated"}
    assert len(_events(sim, "task_killed")) == (2 if kill else 0)
    if kill:
        assert {t["containers"][0]["exitCode"] for t in tasks} == {137}
        assert instance.tasks == {}
    _instance(sim, 2)
    sim.advance(120)
    service = _describe(sim)
    assert (service["runningCount"], service["pendingCount"]) == (2, 0)


def test_launch_type_ec2_on_a_cluster_with_instances() -> None:
    """Launch type EC2 (no provider) on a cluster with instances registered
    through the API is placed on them; RunTask honours distinctInstance."""
    sim = _sim(provider=False)
    for n, zone in ((1, "us-east-1a"), (2, "us-east-1b")):
        sim.ecs.register_container_instance(
            cluster="media",
            instanceIdentityDocument=json.dumps(
                {"instanceId": f"i-{n:017x}", "availabilityZone": zone}
            ),
            totalResources=[
                {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
            ],
        )
    sim.ecs.run_task(
        cluster="media",
        taskDefinition="app",
        count=3,
        launchType="EC2",
        placementConstraints=[{"type": "distinctInstance"}],
    )
    sim.advance(60)
    tasks = sim.ecs.describe_tasks(
        cluster="media", tasks=sim.ecs.list_tasks(cluster="media")["taskArns"]
    )["tasks"]
    statuses = sorted(t["lastStatus"] for t in tasks)
    assert statuses == ["PROVISIONING", "RUNNING", "RUNNING"]
    hosts = {
        t.get("containerInstanceArn") for t in tasks if t["lastStatus"] == "RUNNING"
    }
    assert len(hosts) == 2


def test_fargate_services_never_wait() -> None:
    """A Fargate service on the same cluster starts at once, instances or not."""
    sim = _sim()
    _instance(sim, 1)
    sim.ecs.create_service(
        cluster="media",
        serviceName="web",
        taskDefinition="app",
        desiredCount=2,
        launchType="FARGATE",
    )
    sim.advance(120)
    assert _describe(sim)["runningCount"] == 2
    assert _events(sim, "task_waiting_for_capacity").empty


# --- draining -----------------------------------------------------------------------


def _running_on(instance: ContainerInstance) -> int:
    return sum(1 for t in instance.tasks.values() if t.last_status.value == "RUNNING")


def test_draining_replaces_running_tasks_elsewhere_first() -> None:
    """DRAINING with maximumPercent 200: replacements start on the other
    instance, and the drained tasks stop only once they are healthy, so the
    healthy count never drops below minimumHealthyPercent (100)."""
    sim = _sim()
    first = _instance(sim, 1, cpu=4096, memory=8192)
    _service(sim, desiredCount=2)
    sim.advance(120)
    second = _instance(sim, 2, zone="us-east-1b", cpu=4096, memory=8192)
    sim.ecs.update_container_instances_state(
        cluster="media", containerInstances=[first.arn], status="DRAINING"
    )
    service = sim.backend.clusters["media"].services["web"]
    lowest = 2
    for _ in range(30):
        sim.advance(5)
        lowest = min(lowest, sum(1 for t in service.tasks.values() if t.is_healthy))
    assert lowest == 2
    assert _running_on(first) == 0
    assert _running_on(second) == 2
    stopped = _events(sim, "task_stop_requested")
    assert set(stopped["reason"]) == {
        f"Container instance {first.container_instance_id} is DRAINING"
    }


def test_draining_stops_tasks_not_yet_running_at_once() -> None:
    """A task still PENDING on a DRAINING instance is stopped at once and
    replaced elsewhere."""
    sim = _sim()
    first = _instance(sim, 1)
    _service(sim, desiredCount=1)
    sim.advance(20)  # placed at 15 s, PROVISIONING for 10 s
    second = _instance(sim, 2, zone="us-east-1b")
    sim.ecs.update_container_instances_state(
        cluster="media", containerInstances=[first.arn], status="DRAINING"
    )
    sim.advance(16)
    assert len(_events(sim, "task_stop_requested")) == 1
    sim.advance(120)
    assert _running_on(first) == 0
    assert _running_on(second) == 1


@pytest.mark.parametrize("respects", [True, False])
def test_draining_and_task_protection(respects: bool) -> None:
    """A protected task on a DRAINING instance stays until its protection
    lapses (``draining_respects_protection``, the default) or is stopped at
    once like StopTask (stop code TerminationNotice) when the knob is off."""
    sim = _sim(draining_respects_protection=respects)
    first = _instance(sim, 1, cpu=4096, memory=8192)
    _service(sim, desiredCount=1)
    sim.advance(120)
    arn = sim.ecs.list_tasks(cluster="media")["taskArns"][0]
    sim.ecs.update_task_protection(
        cluster="media", tasks=[arn], protectionEnabled=True, expiresInMinutes=10
    )
    _instance(sim, 2, zone="us-east-1b", cpu=4096, memory=8192)
    sim.ecs.update_container_instances_state(
        cluster="media", containerInstances=[first.arn], status="DRAINING"
    )
    sim.advance(300)
    task = sim.ecs.describe_tasks(cluster="media", tasks=[arn])["tasks"][0]
    if respects:
        assert task["lastStatus"] == "RUNNING"
        sim.advance(400)
        task = sim.ecs.describe_tasks(cluster="media", tasks=[arn])["tasks"][0]
        assert task["lastStatus"] == "STOPPED"
        assert task["stopCode"] == "ServiceSchedulerInitiated"
    else:
        assert task["lastStatus"] == "STOPPED"
        assert task["stopCode"] == "TerminationNotice"
    assert _running_on(first) == 0


def test_forced_deregistration_orphans_tasks_and_replaces_them() -> None:
    """DeregisterContainerInstance with force: the tasks keep running on the
    INACTIVE instance and the service starts replacements elsewhere."""
    sim = _sim()
    first = _instance(sim, 1, cpu=4096, memory=8192)
    _service(sim, desiredCount=2)
    sim.advance(120)
    second = _instance(sim, 2, zone="us-east-1b", cpu=4096, memory=8192)
    sim.ecs.deregister_container_instance(
        cluster="media", containerInstance=first.arn, force=True
    )
    sim.advance(180)
    assert _running_on(first) == 2
    assert _running_on(second) == 2
    assert _describe(sim)["runningCount"] == 4
    assert _events(sim, "task_stop_requested").empty


# --- DAEMON services ------------------------------------------------------------------


def _daemon(sim: Simulation, **extra: Any) -> None:
    sim.ecs.register_task_definition(
        family="agent",
        containerDefinitions=[
            {"name": "agent", "image": "agent:1", "cpu": 256, "memory": 512}
        ],
    )
    sim.ecs.create_service(
        cluster="media",
        serviceName="agent",
        taskDefinition="agent",
        schedulingStrategy="DAEMON",
        launchType="EC2",
        **extra,
    )


def _daemon_tasks(instance: ContainerInstance) -> int:
    return sum(
        1
        for t in instance.tasks.values()
        if t.service is not None and t.service.name == "agent" and t.is_live
    )


def test_a_daemon_service_runs_one_task_per_active_instance() -> None:
    """DAEMON: one task on each ACTIVE instance meeting the constraints,
    deployment defaults 0 / 100 percent, desired count = instances; a new
    instance gets its daemon task before waiting tasks take the room."""
    sim = _sim()
    one = _instance(sim, 1)
    two = _instance(sim, 2, zone="us-east-1b")
    _daemon(sim)
    sim.advance(60)
    described = sim.ecs.describe_services(cluster="media", services=["agent"])[
        "services"
    ][0]
    assert described["schedulingStrategy"] == "DAEMON"
    assert described["desiredCount"] == 2
    config = described["deploymentConfiguration"]
    assert (config["minimumHealthyPercent"], config["maximumPercent"]) == (0, 100)
    assert (_daemon_tasks(one), _daemon_tasks(two)) == (1, 1)
    _service(sim, desiredCount=6)  # 1 vCPU each: fills both instances' room
    sim.advance(120)
    three = _instance(sim, 3, zone="us-east-1c")
    sim.advance(120)
    assert _daemon_tasks(three) == 1
    assert all(
        t.last_status.value == "RUNNING"
        for t in three.tasks.values()
        if t.service is not None and t.service.name == "agent"
    )


def test_daemon_tasks_stop_last_on_a_draining_instance() -> None:
    """On a DRAINING instance the daemon task stops only once the service
    tasks there are gone."""
    sim = _sim()
    one = _instance(sim, 1, cpu=4096, memory=8192)
    _instance(sim, 2, zone="us-east-1b", cpu=4096, memory=8192)
    _daemon(sim)
    _service(
        sim,
        desiredCount=1,
        placementConstraints=[
            {
                "type": "memberOf",
                "expression": "attribute:ecs.availability-zone == us-east-1a",
            }
        ],
    )
    sim.advance(120)
    sim.ecs.update_container_instances_state(
        cluster="media", containerInstances=[one.arn], status="DRAINING"
    )
    sim.advance(120)
    # the web task cannot go anywhere else (memberOf us-east-1a) and has no room
    # to be replaced first: with minimumHealthyPercent 100 it stays, so does the daemon
    assert _daemon_tasks(one) == 1
    sim.ecs.update_service(cluster="media", service="web", desiredCount=0)
    sim.advance(120)
    assert _daemon_tasks(one) == 0


def test_the_provisioning_quota_holds_back_launches() -> None:
    """No more than ``max_provisioning_tasks_per_cluster`` tasks wait in
    PROVISIONING; the rest are launched once some are placed."""
    sim = _sim(max_provisioning_tasks_per_cluster=3)
    _service(sim, desiredCount=5)
    sim.advance(300)
    assert _describe(sim)["pendingCount"] == 3
    assert len(_events(sim, "provisioning_quota_reached")) == 1
    _instance(sim, 1, cpu=8192, memory=16384)
    sim.advance(300)
    service = _describe(sim)
    assert (service["runningCount"], service["pendingCount"]) == (5, 0)


# --- the API: placement parameters, providers, DAEMON -------------------------------


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    error = err.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"placementStrategy": [{"type": "pack"}]}, "placementStrategy type"),
        (
            {"placementStrategy": [{"type": "spread", "field": "attribute:rack"}]},
            "spread field",
        ),
        ({"placementStrategy": [{"type": "random"}] * 6}, "at most 5"),
        (
            {"placementConstraints": [{"type": "memberOf", "expression": "x == y"}]},
            "is not modelled",
        ),
        (
            {
                "launchType": "FARGATE",
                "placementConstraints": [{"type": "distinctInstance"}],
            },
            "not supported for tasks on Fargate",
        ),
        (
            {"schedulingStrategy": "DAEMON", "launchType": "FARGATE"},
            "DAEMON scheduling strategy does not support Fargate",
        ),
        (
            {"schedulingStrategy": "DAEMON", "placementStrategy": [{"type": "random"}]},
            "not supported with the DAEMON",
        ),
        ({"schedulingStrategy": "BATCH"}, "schedulingStrategy should be one of"),
        (
            {"capacityProviderStrategy": [{"capacityProvider": "others", "weight": 1}]},
            "'others' is not associated",
        ),
        (
            {
                "capacityProviderStrategy": [
                    {"capacityProvider": "workers", "weight": 1},
                    {"capacityProvider": "FARGATE", "weight": 1},
                ]
            },
            "either Fargate or Auto Scaling group",
        ),
    ],
)
def test_create_service_refuses_what_ecs_refuses(
    extra: dict[str, Any], words: str
) -> None:
    """Bad placement, scheduling or provider parameters are
    InvalidParameterException naming the value."""
    sim = _sim()
    code, message = _error(
        sim.ecs.create_service,
        cluster="media",
        serviceName="web",
        taskDefinition="app",
        desiredCount=1,
        **extra,
    )
    assert code == "InvalidParameterException"
    assert words in message


def test_service_placement_is_described_as_given() -> None:
    """DescribeServices echoes placementStrategy and placementConstraints."""
    sim = _sim()
    strategy = [
        {"type": "spread", "field": "host"},
        {"type": "binpack", "field": "cpu"},
    ]
    rules = [{"type": "distinctInstance"}]
    described = _service(
        sim, desiredCount=1, placementStrategy=strategy, placementConstraints=rules
    )
    assert described["placementStrategy"] == strategy
    assert described["placementConstraints"] == rules
    assert described["schedulingStrategy"] == "REPLICA"


def test_a_daemon_service_has_no_desired_count_to_update() -> None:
    """UpdateService with desiredCount on a DAEMON service is refused."""
    sim = _sim()
    _daemon(sim)
    code, message = _error(
        sim.ecs.update_service, cluster="media", service="agent", desiredCount=3
    )
    assert code == "InvalidParameterException"
    assert "DAEMON" in message


def test_daemon_deployment_replaces_each_instance_task() -> None:
    """A new revision of a DAEMON service replaces the task on each instance
    (stop first: maximumPercent 100), ending with one new task per instance."""
    sim = _sim()
    one = _instance(sim, 1)
    two = _instance(sim, 2, zone="us-east-1b")
    _daemon(sim)
    sim.advance(120)
    sim.ecs.register_task_definition(
        family="agent",
        containerDefinitions=[
            {"name": "agent", "image": "agent:2", "cpu": 256, "memory": 512}
        ],
    )
    sim.ecs.update_service(cluster="media", service="agent", taskDefinition="agent:2")
    sim.advance(400)
    for instance in (one, two):
        live = [
            t
            for t in instance.tasks.values()
            if t.service is not None and t.service.name == "agent" and t.is_live
        ]
        assert [t.task_definition.revision for t in live] == [2]
    described = sim.ecs.describe_services(cluster="media", services=["agent"])[
        "services"
    ][0]
    assert [d["rolloutState"] for d in described["deployments"]] == ["COMPLETED"]


def test_scale_in_on_ec2_follows_the_service_strategy() -> None:
    """Scale-in with spread on instanceId stops from the instance with the most
    tasks of the service, never a protected task: from 2 + 2 to 1 + 1, the
    protected task among the survivors."""
    sim = _sim()
    big = _instance(sim, 1, cpu=8192, memory=16384)
    small = _instance(sim, 2, zone="us-east-1b", cpu=2048, memory=4096)
    _service(
        sim,
        desiredCount=4,
        placementStrategy=[{"type": "spread", "field": "instanceId"}],
    )
    sim.advance(120)
    assert (len(big.tasks), len(small.tasks)) == (2, 2)
    protected = [t.arn for t in big.tasks.values()][:1]
    sim.ecs.update_task_protection(
        cluster="media", tasks=protected, protectionEnabled=True
    )
    sim.ecs.update_service(cluster="media", service="web", desiredCount=2)
    sim.advance(120)
    # spread on instanceId: one from each instance; the protected one stays
    assert (len(big.tasks), len(small.tasks)) == (1, 1)
    assert [t.arn for t in big.tasks.values()] == protected


def test_a_rolling_deployment_on_instances_completes() -> None:
    """A new revision rolls out on container instances: old tasks chosen with
    the service's strategies, the deployment completes with only new tasks."""
    sim = _sim()
    _instance(sim, 1, cpu=4096, memory=8192)
    _instance(sim, 2, zone="us-east-1b", cpu=4096, memory=8192)
    _service(sim, desiredCount=3)
    sim.advance(120)
    sim.ecs.register_task_definition(
        family="app",
        containerDefinitions=[
            {"name": "app", "image": "app:2", "cpu": 1024, "memory": 2048}
        ],
    )
    sim.ecs.update_service(cluster="media", service="web", taskDefinition="app:2")
    sim.advance(600)
    service = _describe(sim)
    assert [d["rolloutState"] for d in service["deployments"]] == ["COMPLETED"]
    assert service["runningCount"] == 3
    tasks = sim.backend.clusters["media"].services["web"].tasks.values()
    assert {t.task_definition.revision for t in tasks} == {2}


def test_update_service_changes_placement_for_later_tasks() -> None:
    """UpdateService takes new placement strategies and constraints (checked
    first: a bad one changes nothing) and later placements follow them."""
    sim = _sim()
    _service(sim, desiredCount=0)
    code, _ = _error(
        sim.ecs.update_service,
        cluster="media",
        service="web",
        placementStrategy=[{"type": "binpack", "field": "disk"}],
        deploymentConfiguration={"minimumHealthyPercent": 50},
    )
    assert code == "InvalidParameterException"
    assert _describe(sim)["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    one = _instance(sim, 1, cpu=4096, memory=8192)
    two = _instance(sim, 2, zone="us-east-1b", cpu=4096, memory=8192)
    sim.ecs.update_service(
        cluster="media",
        service="web",
        desiredCount=3,
        placementStrategy=[{"type": "binpack", "field": "memory"}],
    )
    sim.advance(120)
    assert sorted([len(one.tasks), len(two.tasks)]) == [0, 3]
    assert _describe(sim)["placementStrategy"] == [
        {"type": "binpack", "field": "memory"}
    ]


def test_draining_with_no_room_reports_that_the_service_is_stuck() -> None:
    """minimumHealthyPercent 100 and maximumPercent 100: a RUNNING task on a
    DRAINING instance can be neither replaced first nor stopped; the service
    says its deployment configuration allows no progress."""
    sim = _sim()
    first = _instance(sim, 1)
    _service(
        sim,
        desiredCount=1,
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 100},
    )
    sim.advance(120)
    _instance(sim, 2, zone="us-east-1b")
    sim.ecs.update_container_instances_state(
        cluster="media", containerInstances=[first.arn], status="DRAINING"
    )
    sim.advance(120)
    assert _running_on(first) == 1
    assert any(
        "allows neither starting nor stopping a task" in e["message"]
        for e in _describe(sim)["events"]
    )
    assert len(_events(sim, "deployment_stuck")) == 1
