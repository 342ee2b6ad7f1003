"""Property tests: random call sequences against a Simulation.

Whatever a user does (change the desired count, protect and unprotect random
tasks for random durations, stop tasks, let time pass):

* the scheduler never stops a task while its protection is active, checked by
  the simulation's own invariant and again here from the event log against
  protection rebuilt from the ``protection_updated`` records;
* once all protection is gone and enough time passes, the service runs exactly
  its desired count and reports a steady state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import event, given, settings, target
from hypothesis import strategies as st

from ecssim import EcsSettings, Simulation

SCHEDULER = "ServiceSchedulerInitiated"
MAX_DESIRED = 6
PROTECTION_KINDS = ("protection_set", "protection_renewed", "protection_cleared")
STEADY = "(service api) has reached a steady state."
BLOCKED = "(service api) was unable to scale in"


@dataclass(frozen=True)
class SetDesired:
    """UpdateService(desiredCount=count)."""

    count: int


@dataclass(frozen=True)
class Protect:
    """UpdateTaskProtection(protectionEnabled=True) on some tasks (picked by index)."""

    picks: tuple[int, ...]
    minutes: int | None


@dataclass(frozen=True)
class Unprotect:
    """UpdateTaskProtection(protectionEnabled=False) on some tasks."""

    picks: tuple[int, ...]


@dataclass(frozen=True)
class Stop:
    """StopTask on one task."""

    pick: int


@dataclass(frozen=True)
class Advance:
    """Let simulated time pass."""

    seconds: float


Op = SetDesired | Protect | Unprotect | Stop | Advance

picks = st.lists(st.integers(0, 63), min_size=1, max_size=4).map(tuple)
set_desired = st.builds(SetDesired, st.integers(0, MAX_DESIRED))
protect = st.builds(
    Protect, picks, st.one_of(st.none(), st.integers(1, 30), st.integers(1, 2880))
)
# advance(0) is left out: it raises (see test_scheduler.py::test_advance_zero_is_a_no_op)
advance = st.builds(
    Advance,
    st.one_of(st.integers(1, 120).map(float), st.floats(0.5, 3600, allow_nan=False)),
)
ops = st.one_of(
    set_desired,
    set_desired,
    protect,
    protect,
    st.builds(Unprotect, picks),
    st.builds(Stop, st.integers(0, 63)),
    advance,
    advance,
)
sims = st.builds(
    dict,
    seed=st.integers(0, 2**16),
    desired=st.integers(0, MAX_DESIRED),
    blocked=st.sampled_from(["refuse_new", "refuse_renewals_too", "ignore"]),
    sigterm=st.sampled_from([1.0, None]),
    warm_up_s=st.sampled_from([1.0, 50.0, 120.0]),
)


def _start(params: dict[str, Any]) -> Simulation:
    settings_ = EcsSettings(
        deployment_blocked=params["blocked"], sigterm_exit_s=params["sigterm"]
    )
    sim = Simulation(seed=params["seed"], settings=settings_)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="worker", containerDefinitions=[{"name": "app", "image": "worker"}]
    )
    sim.ecs.create_service(
        cluster="prod",
        serviceName="api",
        taskDefinition="worker",
        desiredCount=params["desired"],
    )
    sim.advance(params["warm_up_s"])
    return sim


def _service_tasks(sim: Simulation) -> list[str]:
    """Every task of the service ever started, running ones first (stable order)."""
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        arns += sorted(
            sim.ecs.list_tasks(cluster="prod", serviceName="api", desiredStatus=status)[
                "taskArns"
            ]
        )
    return arns


def _apply(sim: Simulation, op: Op) -> int:
    """Apply *op*; return how many tasks had their protection set or cleared."""
    ecs = sim.ecs
    if isinstance(op, SetDesired):
        ecs.update_service(cluster="prod", service="api", desiredCount=op.count)
    elif isinstance(op, Advance):
        sim.advance(op.seconds)
    else:
        tasks = _service_tasks(sim)
        if not tasks:
            return 0
        if isinstance(op, Stop):
            ecs.stop_task(cluster="prod", task=tasks[op.pick % len(tasks)])
            return 0
        chosen = list(dict.fromkeys(tasks[i % len(tasks)] for i in op.picks))
        params: dict[str, Any] = {"cluster": "prod", "tasks": chosen}
        if isinstance(op, Protect):
            params["protectionEnabled"] = True
            if op.minutes is not None:
                params["expiresInMinutes"] = op.minutes
        else:
            params["protectionEnabled"] = False
        response = ecs.update_task_protection(**params)
        assert len(response["protectedTasks"]) + len(response["failures"]) == len(
            chosen
        )
        return len(response["protectedTasks"])
    return 0


def _check_scheduler_stops(sim: Simulation, updates: int) -> int:
    """Check every scheduler stop against protection rebuilt from the event log
    (which must hold one record per applied protection update); return how many
    scheduler stops there were."""
    expires_at: dict[str, float | None] = {}
    stops = records = 0
    for row in sim.events().itertuples(index=False):
        detail = json.loads(row.detail)
        if row.kind in PROTECTION_KINDS:
            records += 1
            expires_at[row.task] = detail["expires_at"]
        elif row.kind == "task_stop_requested" and detail["stop_code"] == SCHEDULER:
            stops += 1
            assert detail["protected"] is False, row
            expiry = expires_at.get(row.task)
            assert expiry is None or expiry <= row.time_s, (row, expiry)
    assert records == updates
    return stops


@settings(max_examples=250, deadline=None)
@given(params=sims, steps=st.lists(ops, min_size=2, max_size=30))
def test_scheduler_never_stops_a_protected_task(
    params: dict[str, Any], steps: list[Op]
) -> None:
    """No sequence of calls makes the scheduler stop a task whose protection is
    active (the run raises no InvariantViolation and the event log agrees)."""
    sim = _start(params)
    updates = sum(_apply(sim, op) for op in steps)
    sim.advance(600)
    stops = _check_scheduler_stops(sim, updates)
    blocked = int((sim.events()["kind"] == "scale_in_blocked").sum())
    event(f"scale-in blocked by protection: {blocked > 0}")
    target(float(stops + blocked), label="scheduler stops and blocks")


@settings(max_examples=150, deadline=None)
@given(
    params=sims,
    steps=st.lists(ops, min_size=2, max_size=30),
    clear=st.booleans(),
    final_desired=st.one_of(st.none(), st.integers(0, MAX_DESIRED)),
)
def test_service_converges_once_protection_is_gone(
    params: dict[str, Any],
    steps: list[Op],
    clear: bool,
    final_desired: int | None,
) -> None:
    """After protection is cleared (or has expired) and time passes, the service runs
    exactly its desired count and its latest status event is a steady state."""
    sim = _start(params)
    updates = sum(_apply(sim, op) for op in steps)
    if final_desired is not None:
        _apply(sim, SetDesired(final_desired))
    if clear:
        live = sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
        for i in range(0, len(live), 10):
            response = sim.ecs.update_task_protection(
                cluster="prod", tasks=live[i : i + 10], protectionEnabled=False
            )
            updates += len(response["protectedTasks"])
        sim.advance(600)
    else:
        sim.advance((2880 + 10) * 60)
    protection = sim.ecs.get_task_protection(cluster="prod")["protectedTasks"]
    assert not any(t["protectionEnabled"] for t in protection)
    service = sim.ecs.describe_services(cluster="prod", services=["api"])["services"][0]
    running = sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
    assert len(running) == service["desiredCount"]
    assert (service["runningCount"], service["pendingCount"]) == (
        service["desiredCount"],
        0,
    )
    [deployment] = service["deployments"]
    assert deployment["rolloutState"] == "COMPLETED"
    status = [
        e["message"]
        for e in service["events"]
        if e["message"] == STEADY or e["message"].startswith(BLOCKED)
    ]
    assert status[0] == STEADY
    _check_scheduler_stops(sim, updates)
