"""Property tests of EC2 placement in running simulations: whatever the fleet
of container instances and whatever happens to it (registrations, draining,
reactivation, forced deregistration, hosts lost, scaling, protection), no
instance is over-committed, no task of an Auto Scaling group provider runs
without an instance, a protected task is never stopped by the scheduler, and
the instances' and tasks' books agree."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ZONE_NAMES

from ecssim import EcsSettings, Simulation
from ecssim.aws import capacity
from ecssim.rules.capacity import Resources
from ecssim.rules.invariants import check_instance_capacity, check_task_placed
from ecssim.rules.lifecycle import TaskStatus

ASG = (
    "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
    "1b2c3d4e-1111-2222-3333-444455556666:autoScalingGroupName/workers"
)
ZONES = ZONE_NAMES[:3]

instances = st.tuples(
    st.sampled_from(ZONES),
    st.sampled_from([1024, 2048, 4096]),
    st.sampled_from([2048, 4096, 8192]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("register"), instances),
        st.tuples(st.just("desired"), st.integers(0, 8)),
        st.tuples(st.just("drain"), st.integers(0, 7)),
        st.tuples(st.just("activate"), st.integers(0, 7)),
        st.tuples(st.just("deregister"), st.integers(0, 7)),
        st.tuples(st.just("lose_host"), st.integers(0, 7), st.booleans()),
        st.tuples(st.just("protect"), st.integers(0, 7)),
        st.tuples(st.just("advance"), st.sampled_from([5, 30, 90, 300])),
        st.tuples(st.just("deploy"), st.sampled_from([256, 512, 1024])),
    ),
    max_size=25,
)
strategies = st.sampled_from(
    [
        [],
        [{"type": "binpack", "field": "memory"}],
        [{"type": "spread", "field": "instanceId"}],
        [{"type": "random"}],
    ]
)
constraints = st.sampled_from(
    [
        [],
        [{"type": "distinctInstance"}],
        [
            {
                "type": "memberOf",
                "expression": "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            }
        ],
    ]
)


def _setup(
    respects: bool,
    placement: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    daemon: bool,
) -> Simulation:
    sim = Simulation(
        seed=3, settings=EcsSettings(draining_respects_protection=respects)
    )
    ecs = sim.ecs
    ecs.create_cluster(clusterName="fleet")
    ecs.create_capacity_provider(
        name="workers", autoScalingGroupProvider={"autoScalingGroupArn": ASG}
    )
    ecs.put_cluster_capacity_providers(
        cluster="fleet",
        capacityProviders=["workers"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "workers", "weight": 1}],
    )
    ecs.register_task_definition(
        family="app",
        containerDefinitions=[
            {"name": "app", "image": "a", "cpu": 512, "memory": 1024}
        ],
    )
    ecs.create_service(
        cluster="fleet",
        serviceName="web",
        taskDefinition="app",
        desiredCount=3,
        placementStrategy=placement,
        placementConstraints=rules,
    )
    if daemon:
        ecs.register_task_definition(
            family="agent",
            containerDefinitions=[
                {"name": "agent", "image": "g", "cpu": 128, "memory": 256}
            ],
        )
        ecs.create_service(
            cluster="fleet",
            serviceName="agent",
            taskDefinition="agent",
            schedulingStrategy="DAEMON",
            launchType="EC2",
        )
    return sim


def _check(sim: Simulation) -> None:
    cluster = sim.backend.clusters["fleet"]
    now = sim.now_s
    for instance in cluster.container_instances.values():
        check_instance_capacity(
            instance.container_instance_id,
            (instance.registered.cpu, instance.registered.memory),
            ((r.cpu, r.memory) for r in instance.reserved),
            now,
        )
        for task in instance.tasks.values():
            assert task.container_instance is instance
            assert task.availability_zone == instance.availability_zone
    for task in cluster.tasks.values():
        placed = task.container_instance
        check_task_placed(
            task.task_id,
            task.needs_instance,
            task.started_at is not None,
            None if placed is None else placed.container_instance_id,
            now,
        )
        if task.last_status is not TaskStatus.STOPPED and placed is not None:
            assert task.task_id in placed.tasks
        if placed is None and task.last_status is TaskStatus.PROVISIONING:
            assert task.availability_zone == ""
    for instance in cluster.container_instances.values():
        daemons = [
            t
            for t in instance.tasks.values()
            if t.is_live and t.service is not None and t.service.name == "agent"
        ]
        assert len(daemons) <= 1


@settings(max_examples=40, deadline=None)
@given(
    fleet=st.lists(instances, min_size=1, max_size=4),
    ops=operations,
    respects=st.booleans(),
    placement=strategies,
    rules=constraints,
    daemon=st.booleans(),
)
def test_placement_invariants_hold_whatever_happens_to_the_fleet(
    *,
    fleet: list[tuple[str, int, int]],
    ops: list[tuple[Any, ...]],
    respects: bool,
    placement: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    daemon: bool,
) -> None:
    """Random fleets and operations never over-commit an instance, never run a
    task without one, never let the scheduler stop a protected task (the
    run's record check raises), and keep instance and task books in step."""
    sim = _setup(respects, placement, rules, daemon)
    cluster = sim.backend.clusters["fleet"]
    registered: list[capacity.ContainerInstance] = []

    def register(spec: tuple[str, int, int]) -> None:
        zone, cpu, memory = spec
        registered.append(
            capacity.register_instance(
                sim.backend,
                cluster,
                ec2_instance_id=f"i-{len(registered):017x}",
                availability_zone=zone,
                registered=Resources(cpu, memory),
                capacity_provider="workers",
            )
        )

    for spec in fleet:
        register(spec)
    for op in ops:
        kind = op[0]
        if kind == "register":
            register(op[1])
        elif kind == "desired":
            sim.ecs.update_service(cluster="fleet", service="web", desiredCount=op[1])
        elif kind == "advance":
            sim.advance(op[1])
        elif kind == "deploy":
            sim.ecs.register_task_definition(
                family="app",
                containerDefinitions=[
                    {"name": "app", "image": "b", "cpu": op[1], "memory": 2 * op[1]}
                ],
            )
            sim.ecs.update_service(cluster="fleet", service="web", taskDefinition="app")
        elif registered:
            instance = registered[op[1] % len(registered)]
            if kind in ("drain", "activate") and instance.status != "INACTIVE":
                status = "DRAINING" if kind == "drain" else "ACTIVE"
                capacity.set_instance_status(sim.backend, instance, status)
            elif kind == "deregister" and instance.status != "INACTIVE":
                capacity.deregister_instance(sim.backend, instance)
            elif kind == "lose_host":
                sim.world.stop_instance_tasks(
                    instance.arn, reason="Host EC2 instance terminated", kill=op[2]
                )
            elif kind == "protect":
                running = [
                    t.arn
                    for t in instance.tasks.values()
                    if t.last_status is TaskStatus.RUNNING and t.service is not None
                ]
                if running:
                    sim.ecs.update_task_protection(
                        cluster="fleet",
                        tasks=running[:1],
                        protectionEnabled=True,
                        expiresInMinutes=5,
                    )
        _check(sim)
    sim.advance(600)
    _check(sim)
