"""The protected-task counts the sampler reads are kept as things change, at a
cost independent of the number of tasks; they must always equal a count over
every task."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from builders import fargate_service
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim import EcsSettings, Simulation
from ecssim.aws.state import ProtectedCount, Service
from ecssim.rules.lifecycle import TaskStatus
from ecssim.rules.protection import UNPROTECTED, Protection


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
    service = fargate_service(sim, desired=4)
    sim.advance(120)
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


def _fake_task(task_id: str) -> Any:
    """The fields of a task that ProtectedCount reads (a real Task needs a
    whole control plane)."""
    return SimpleNamespace(
        task_id=task_id,
        protection=UNPROTECTED,
        last_status=TaskStatus.RUNNING,
        counted_busy=False,
    )


changes = st.lists(
    st.one_of(
        # protect or renew for d seconds: bucket edges (multiples of 60) included
        st.tuples(
            st.just("protect"),
            st.integers(0, 5),
            st.one_of(st.integers(0, 600).map(float), st.floats(0, 600)),
        ),
        st.tuples(st.just("clear"), st.integers(0, 5), st.just(0.0)),
        st.tuples(st.just("busy"), st.integers(0, 5), st.just(0.0)),
        st.tuples(st.just("running"), st.integers(0, 5), st.just(0.0)),
        st.tuples(
            st.just("read"),
            st.just(0),
            st.one_of(st.sampled_from([0.0, 60.0, 120.0]), st.floats(0, 300)),
        ),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(changes=changes)
def test_expiry_buckets_lapse_exactly_the_expired_protections(
    changes: list[tuple[str, int, float]],
) -> None:
    """Whatever the order of protects, renewals (sooner or later), clears,
    busy and status flips, and reads at any moment (bucket edges included),
    the counts equal a count over every task at that moment."""
    kept = ProtectedCount()
    tasks = {f"t{i}": _fake_task(f"t{i}") for i in range(6)}
    now = 0.0
    for kind, pick, value in changes:
        task = tasks[f"t{pick}"]
        if kind == "protect":
            task.protection = Protection(expires_at=now + value)
            kept.update(task)
        elif kind == "clear":
            task.protection = UNPROTECTED
            kept.update(task)
        elif kind == "busy":
            task.counted_busy = not task.counted_busy
            kept.busy_changed(task)
        elif kind == "running":
            running = task.last_status is TaskStatus.RUNNING
            task.last_status = TaskStatus.PENDING if running else TaskStatus.RUNNING
            kept.update(task)
        else:
            now += value
            protected = [
                t
                for t in tasks.values()
                if t.last_status is TaskStatus.RUNNING and t.protection.is_active(now)
            ]
            idle = sum(not t.counted_busy for t in protected)
            assert kept.counts(tasks, now) == (len(protected), idle)
