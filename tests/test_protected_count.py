"""The protected-task counts the sampler reads are kept as things change, at a
cost independent of the number of tasks; they must always equal a count over
every task."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim import EcsSettings, Simulation
from ecssim.aws.state import Service
from ecssim.rules.lifecycle import TaskStatus


def _brute(service: Service, now: float) -> tuple[int, int]:
    running = [
        t
        for t in service.tasks.values()
        if t.last_status is TaskStatus.RUNNING and t.protection.is_active(now)
    ]
    return len(running), sum(not t.counted_busy for t in running)


steps = st.lists(
    st.one_of(
        st.tuples(st.just("protect"), st.integers(0, 9), st.integers(1, 5)),
        st.tuples(st.just("clear"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("busy"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("desired"), st.integers(0, 6), st.just(0)),
        st.tuples(st.just("stop"), st.integers(0, 9), st.just(0)),
        st.tuples(st.just("advance"), st.integers(1, 400), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(steps=steps, seed=st.integers(0, 2**16))
def test_kept_counts_equal_a_count_over_every_task(
    steps: list[tuple[str, int, int]], seed: int
) -> None:
    """Through protects, renewals, clears, expiries, busy flips, scale-ins,
    StopTask and replacements, the kept counts equal the brute-force ones."""
    sim = Simulation(seed=seed, settings=EcsSettings(deployment_blocked="ignore"))
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
        desiredCount=4,
        launchType="FARGATE",
    )
    sim.advance(120)
    service = sim.backend.clusters["c"].services["s"]
    for kind, pick, minutes in steps:
        tasks = sorted(service.tasks.values(), key=lambda t: t.task_id)
        task = tasks[pick % len(tasks)] if tasks else None
        params: dict[str, Any] = {"cluster": "c"}
        if kind == "protect" and task is not None:
            ecs.update_task_protection(
                **params,
                tasks=[task.arn],
                protectionEnabled=True,
                expiresInMinutes=minutes,
            )
        elif kind == "clear" and task is not None:
            ecs.update_task_protection(
                **params, tasks=[task.arn], protectionEnabled=False
            )
        elif kind == "busy" and task is not None:
            # what a worker does when it takes or finishes work
            busy = not task.counted_busy and task.last_status is TaskStatus.RUNNING
            if busy != task.counted_busy:
                task.counted_busy = busy
                service.protected_count.busy_changed(task)
        elif kind == "desired":
            ecs.update_service(cluster="c", service="s", desiredCount=pick)
        elif kind == "stop" and task is not None:
            ecs.stop_task(**params, task=task.arn)
        elif kind == "advance":
            sim.advance(pick)
        assert service.protected_count.counts(service.tasks, sim.now_s) == _brute(
            service, sim.now_s
        )
