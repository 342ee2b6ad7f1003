"""A service keeps its live tasks (``Service.live_by_id``) and each task its
``is_live`` flag as tasks launch, stop, fail to start and crash, so the
scheduler need not walk every task; both must always equal the scan they
replace, in the same (launch) order."""

from __future__ import annotations

from builders import fargate_service
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim import EcsSettings, Simulation
from ecssim.aws.state import Service, Task
from ecssim.rules.lifecycle import LIVE_STATUSES


def _live_by_scan(task: Task) -> bool:
    return task.desired_status == "RUNNING" and task.last_status in LIVE_STATUSES


def _check(sim: Simulation, service: Service) -> None:
    """The kept live tasks and flags equal a scan over every task."""
    cluster = sim.backend.clusters["c"]
    for task in cluster.tasks.values():
        assert task.is_live is _live_by_scan(task), task
    scanned = [t for t in service.tasks.values() if _live_by_scan(t)]
    assert service.live_tasks() == scanned
    assert list(service.live_by_id) == [t.task_id for t in scanned]


steps = st.lists(
    st.one_of(
        st.tuples(st.just("desired"), st.integers(0, 8)),
        st.tuples(st.just("stop"), st.integers(0, 20)),
        st.tuples(st.just("crash"), st.integers(0, 20)),
        st.tuples(st.just("host_lost"), st.integers(0, 20)),
        st.tuples(st.just("failing"), st.booleans()),
        st.tuples(st.just("standalone"), st.integers(1, 2)),
        st.tuples(st.just("advance"), st.integers(1, 90)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(steps=steps, seed=st.integers(0, 2**16))
def test_kept_live_tasks_equal_a_scan_over_every_task(
    steps: list[tuple[str, int]], seed: int
) -> None:
    """Through scale-outs and scale-ins, StopTask at every stage of a task's
    life, tasks that fail to start, crashed containers, lost hosts and
    standalone tasks, the kept live tasks equal the scan, in launch order."""
    sim = Simulation(seed=seed, settings=EcsSettings(deployment_blocked="ignore"))
    ecs = sim.ecs
    service = fargate_service(sim, desired=3)
    definition = sim.backend.task_definitions["w"][0]
    _check(sim, service)
    for kind, pick in steps:
        tasks = list(sim.backend.clusters["c"].tasks.values())
        task = tasks[pick % len(tasks)] if tasks else None
        if kind == "desired":
            ecs.update_service(cluster="c", service="s", desiredCount=pick)
        elif kind == "stop" and task is not None:
            ecs.stop_task(cluster="c", task=task.arn)
        elif kind == "crash" and task is not None:
            sim.world.tasks.container_exited(task, 1)
        elif kind == "host_lost" and task is not None:
            # STOPPING with desiredStatus still RUNNING, as when an instance is lost
            sim.world.tasks.kill(task)
        elif kind == "failing":
            definition.fails_to_start = "CannotPullContainerError" if pick else None
        elif kind == "standalone":
            ecs.run_task(
                cluster="c", taskDefinition="w", count=pick, launchType="FARGATE"
            )
        elif kind == "advance":
            sim.advance(pick)
        _check(sim, service)


def test_a_task_leaves_the_live_tasks_once_asked_to_stop() -> None:
    """StopTask takes a task out of its service's live tasks at once, before
    it is STOPPING; the scheduler's replacement joins them at the end."""
    sim = Simulation(seed=1)
    ecs = sim.ecs
    service = fargate_service(sim, desired=3)
    sim.advance(120)
    first, second, third = service.live_tasks()
    ecs.stop_task(cluster="c", task=second.arn)
    assert not second.is_live
    assert service.live_tasks() == [first, third]
    sim.advance(120)
    replacement = [t for t in service.live_tasks() if t not in (first, third)]
    assert len(replacement) == 1
    assert service.live_tasks() == [first, third, *replacement]
