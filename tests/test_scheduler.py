"""The service scheduler as a user sees it through the ECS API and the event log.

Launch timing and AZ spread, replacing stopped tasks, scale-in that skips
protected tasks, reacting to protection being cleared or expiring, the
SIGTERM/SIGKILL stop timeline and stop codes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

from ecssim import EcsSettings, Simulation

SCHEDULER = "ServiceSchedulerInitiated"


def _sim(
    desired: int = 3,
    settings: EcsSettings | None = None,
    settle_s: float = 120.0,
    containers: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> Simulation:
    """Cluster ``prod``, service ``api`` of *desired* tasks, run for *settle_s*."""
    sim = Simulation(seed=5, settings=settings, **kwargs)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="worker",
        containerDefinitions=containers or [{"name": "app", "image": "worker"}],
    )
    sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="worker", desiredCount=desired
    )
    sim.advance(settle_s)
    return sim


def _arns(sim: Simulation, desired_status: str = "RUNNING") -> list[str]:
    return sorted(
        sim.ecs.list_tasks(
            cluster="prod", serviceName="api", desiredStatus=desired_status
        )["taskArns"]
    )


def _id(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def _service(sim: Simulation) -> dict[str, Any]:
    return sim.ecs.describe_services(cluster="prod", services=["api"])["services"][0]


def _describe(sim: Simulation, arns: list[str]) -> list[dict[str, Any]]:
    return sim.ecs.describe_tasks(cluster="prod", tasks=arns)["tasks"]


def _set_desired(sim: Simulation, desired: int) -> None:
    sim.ecs.update_service(cluster="prod", service="api", desiredCount=desired)


def _protect(sim: Simulation, arns: list[str], minutes: int | None = None) -> None:
    params: dict[str, Any] = {
        "cluster": "prod",
        "tasks": arns,
        "protectionEnabled": True,
    }
    if minutes is not None:
        params["expiresInMinutes"] = minutes
    response = sim.ecs.update_task_protection(**params)
    assert response["failures"] == []


def _events(sim: Simulation, kind: str) -> pd.DataFrame:
    """Rows of one kind, with their detail JSON spread into columns."""
    frame = sim.events()
    rows = frame[frame["kind"] == kind].reset_index(drop=True)
    detail = pd.DataFrame([json.loads(d) for d in rows["detail"]], index=rows.index)
    return pd.concat([rows.drop(columns=["detail"]), detail], axis=1)


def _stops(sim: Simulation) -> list[tuple[float, str, str, bool]]:
    """Every stop request as (time, task id, stop code, protected)."""
    rows = _events(sim, "task_stop_requested")
    if rows.empty:
        return []
    return [
        (r.time_s, r.task, r.stop_code, bool(r.protected))
        for r in rows.itertuples(index=False)
    ]


def _messages(sim: Simulation) -> list[str]:
    return [e["message"] for e in _service(sim)["events"]]


# ---- launching ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "created", "pending", "running"),
    [
        (EcsSettings(), 15.0, 25.0, 45.0),
        (
            EcsSettings(
                scheduler_reaction_delay_s=2, task_provisioning_s=3, task_pending_s=7
            ),
            2.0,
            5.0,
            12.0,
        ),
    ],
)
def test_launch_goes_provisioning_pending_running(
    settings: EcsSettings, created: float, pending: float, running: float
) -> None:
    """Tasks are created after the reaction delay and move PROVISIONING -> PENDING ->
    RUNNING with the configured timing."""
    sim = _sim(desired=2, settings=settings, settle_s=60)
    frame = sim.events()
    tasks = frame[frame["kind"].isin(["task_created", "task_status"])]
    task_ids = sorted(tasks["task"].unique())
    assert len(task_ids) == 2
    observed = sorted(
        (row.task, row.time_s, json.loads(row.detail).get("status", "PROVISIONING"))
        for row in tasks.itertuples(index=False)
    )
    assert observed == sorted(
        (task, t, status)
        for task in task_ids
        for t, status in (
            (created, "PROVISIONING"),
            (pending, "PENDING"),
            (running, "RUNNING"),
        )
    )
    described = _describe(sim, _arns(sim))
    assert [t["lastStatus"] for t in described] == ["RUNNING", "RUNNING"]
    assert all(
        t["startedAt"] == sim.start + timedelta(seconds=running) for t in described
    )


def test_launch_spreads_tasks_over_zones() -> None:
    """Six tasks over three zones land two in each zone."""
    sim = _sim(desired=6)
    zones = Counter(t["availabilityZone"] for t in _describe(sim, _arns(sim)))
    assert zones == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}


def test_launch_uses_the_configured_zones() -> None:
    """Five tasks over two custom zones land three and two."""
    sim = _sim(desired=5, availability_zones=("eu-x-1a", "eu-x-1b"))
    zones = Counter(t["availabilityZone"] for t in _describe(sim, _arns(sim)))
    assert zones == {"eu-x-1a": 3, "eu-x-1b": 2}


def test_scale_out_keeps_zones_balanced() -> None:
    """Scaling from 3 to 6 adds one task to each zone."""
    sim = _sim(desired=3)
    _set_desired(sim, 6)
    sim.advance(120)
    zones = Counter(t["availabilityZone"] for t in _describe(sim, _arns(sim)))
    assert zones == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}
    service = _service(sim)
    assert (service["runningCount"], service["pendingCount"]) == (6, 0)


def test_steady_service_costs_nothing() -> None:
    """A service in steady state records nothing over a simulated day."""
    sim = _sim(desired=3, settle_s=200)
    before = len(sim.events())
    sim.advance(86_400)
    assert len(sim.events()) == before


def test_steady_state_event_after_launch() -> None:
    """The service reports a steady state once its tasks are healthy, and again
    after a scale-out settles."""
    sim = _sim(desired=3, settle_s=101)
    steady = _events(sim, "steady_state_reached")
    assert list(steady["time_s"]) == [100.0]  # RUNNING 45 s + healthy 40 s + 15 s
    assert _messages(sim)[0] == "(service api) has reached a steady state."
    _set_desired(sim, 4)  # at 101 s: launch at 116, RUNNING 146, healthy 186
    sim.advance(200)
    assert list(_events(sim, "steady_state_reached")["time_s"]) == [100.0, 201.0]
    assert _messages(sim)[0] == "(service api) has reached a steady state."


def test_steady_state_event_after_scale_in() -> None:
    """After a scale-in the service reports a steady state once the surplus task is STOPPED."""
    sim = _sim(desired=3, settle_s=101)
    _set_desired(
        sim, 2
    )  # stop at 116 s, exits 117 s, STOPPED 122 s, reacted on at 137 s
    sim.advance(60)
    assert _messages(sim)[0] == "(service api) has reached a steady state."
    assert list(_events(sim, "steady_state_reached")["time_s"]) == [100.0, 137.0]


@pytest.mark.parametrize("how", ["advance(0)", "advance_to(now)", "advance_to(past)"])
def test_advance_zero_is_a_no_op(how: str) -> None:
    """Advancing by zero seconds (or to a time not in the future) is allowed and
    leaves the clock and the log where they are."""
    sim = _sim(desired=1, settle_s=10)
    before = len(sim.events())
    if how == "advance(0)":
        sim.advance(0)
    elif how == "advance_to(now)":
        sim.advance_to(sim.now)
    else:
        sim.advance_to(sim.now - timedelta(seconds=5))
    assert sim.now_s == 10
    assert len(sim.events()) == before


# ---- replacing stopped tasks -------------------------------------------------------
def test_stopped_task_is_replaced() -> None:
    """A task stopped by StopTask (UserInitiated) is replaced in its zone after the
    reaction delay."""
    sim = _sim(desired=3)
    victim = _arns(sim)[0]
    [before] = _describe(sim, [victim])
    sim.ecs.stop_task(cluster="prod", task=victim)
    stopped_at = sim.now_s
    sim.advance(120)
    [after] = _describe(sim, [victim])
    assert (after["lastStatus"], after["stopCode"]) == ("STOPPED", "UserInitiated")
    running = _arns(sim)
    assert len(running) == 3
    assert victim not in running
    created = _events(sim, "task_created")
    replacement = created[created["time_s"] > stopped_at]
    assert list(replacement["time_s"]) == [stopped_at + 15]
    assert list(replacement["availability_zone"]) == [before["availabilityZone"]]
    assert _stops(sim) == [(stopped_at, _id(victim), "UserInitiated", False)]


def test_stop_task_stops_a_protected_task() -> None:
    """StopTask ignores scale-in protection: the protected task stops and is replaced."""
    sim = _sim(desired=2)
    victim = _arns(sim)[0]
    _protect(sim, [victim])
    sim.ecs.stop_task(cluster="prod", task=victim, reason="operator")
    t = sim.now_s
    sim.advance(120)
    [after] = _describe(sim, [victim])
    assert (after["lastStatus"], after["stopCode"], after["stoppedReason"]) == (
        "STOPPED",
        "UserInitiated",
        "operator",
    )
    assert _stops(sim) == [(t, _id(victim), "UserInitiated", True)]
    assert len(_arns(sim)) == 2


# ---- scale-in and protection ---------------------------------------------------------
def test_scale_in_stops_only_unprotected_tasks() -> None:
    """Scaling 4 -> 2 with two protected tasks stops exactly the two unprotected ones,
    with stop code ServiceSchedulerInitiated."""
    sim = _sim(desired=4)
    arns = _arns(sim)
    protected, unprotected = arns[:2], arns[2:]
    _protect(sim, protected)
    _set_desired(sim, 2)
    t = sim.now_s
    sim.advance(60)
    assert sorted(_stops(sim)) == sorted(
        (t + 15, _id(a), SCHEDULER, False) for a in unprotected
    )
    assert _arns(sim) == protected
    deployment = _service(sim)["deployments"][0]["id"]
    for task in _describe(sim, unprotected):
        assert task["stopCode"] == SCHEDULER
        assert task["stoppedReason"] == (
            f"Scaling activity initiated by (deployment {deployment})"
        )
    service = _service(sim)
    assert (service["desiredCount"], service["runningCount"]) == (2, 2)
    messages = [e["message"] for e in service["events"]]
    assert messages[0] == "(service api) has reached a steady state."
    stopped = re.fullmatch(
        r"\(service api\) has stopped 2 running tasks: \(task (\w+)\) \(task (\w+)\)\.",
        messages[1],
    )
    assert stopped is not None
    assert sorted(stopped.groups()) == [_id(a) for a in unprotected]


def test_protected_surplus_keeps_running() -> None:
    """Protected tasks above the desired count keep running and the service says,
    with its task set, that it was unable to scale in and to reach steady state."""
    sim = _sim(desired=3)
    arns = _arns(sim)
    _protect(sim, arns[:2])
    _set_desired(sim, 0)
    t = sim.now_s
    sim.advance(3600)
    assert _stops(sim) == [(t + 15, _id(arns[2]), SCHEDULER, False)]
    assert _arns(sim) == arns[:2]
    service = _service(sim)
    assert (service["desiredCount"], service["runningCount"]) == (0, 2)
    task_set = service["deployments"][0]["id"]
    blocked = (
        f"(service api, taskSet {task_set}) was unable to scale in due to "
        "(reason 2 tasks under protection)"
    )
    steady = (
        f"service (api) was unable to reach steady state because task set "
        f"({task_set}) was unable to scale in. Reason: The number of protected "
        "tasks are more than the desired count of tasks."
    )
    # reported once each, not on every periodic reconcile; newest first
    assert _messages(sim)[:2] == [steady, blocked]
    assert _messages(sim).count(blocked) == 1
    assert _messages(sim).count(steady) == 1


def test_an_unresolved_block_is_reported_again_after_six_hours() -> None:
    """ECS omits a duplicate service event until its cause is resolved or six hours
    pass; a cause resolved and back is reported again at once."""
    sim = _sim(desired=2)
    arns = _arns(sim)
    _protect(sim, arns, minutes=2880)
    _set_desired(sim, 0)
    sim.advance(6 * 3600 - 120)

    def blocked_times() -> list[float]:
        return [
            e["createdAt"].timestamp()
            for e in _service(sim)["events"]
            if "was unable to scale in due to" in e["message"]
        ]

    first = blocked_times()
    assert len(first) == 1
    sim.advance(240)
    again = blocked_times()
    assert len(again) == 2
    assert 6 * 3600 <= again[0] - again[1] <= 6 * 3600 + 60
    # resolved: the surplus is gone once protection is cleared...
    sim.ecs.update_task_protection(cluster="prod", tasks=arns, protectionEnabled=False)
    sim.advance(120)
    assert _arns(sim) == []
    assert len(blocked_times()) == 2
    # ...and a new block is reported at once, although its message is identical
    _set_desired(sim, 2)
    sim.advance(120)
    arns = _arns(sim)
    _protect(sim, arns, minutes=2880)
    _set_desired(sim, 0)
    sim.advance(120)
    assert len(blocked_times()) == 3


def test_a_service_keeps_its_hundred_most_recent_events() -> None:
    """DescribeServices shows the 100 most recent events, newest first, and the
    account keeps no more."""
    sim = _sim(desired=1)
    for count in (2, 1) * 60:
        _set_desired(sim, count)
        sim.advance(120)
    events = _service(sim)["events"]
    assert len(events) == 100
    times = [e["createdAt"] for e in events]
    assert times == sorted(times, reverse=True)
    svc = sim.backend.clusters["prod"].services["api"]
    assert len(svc.events) == 100


def test_clearing_protection_lets_the_scheduler_stop_the_surplus() -> None:
    """Clearing protection is enough: the scheduler stops the surplus within the
    reaction delay, with no other call."""
    sim = _sim(desired=2, settings=EcsSettings(reconcile_interval_s=10_000))
    arns = _arns(sim)
    _protect(sim, arns)
    _set_desired(sim, 1)
    sim.advance(100)
    assert _stops(sim) == []
    sim.ecs.update_task_protection(
        cluster="prod", tasks=[arns[0]], protectionEnabled=False
    )
    cleared = sim.now_s
    sim.advance(100)
    assert _stops(sim) == [(cleared + 15, _id(arns[0]), SCHEDULER, False)]
    assert _arns(sim) == [arns[1]]
    assert _messages(sim)[0] == "(service api) has reached a steady state."


@pytest.mark.parametrize("reconcile_interval_s", [60.0, 1e9])
def test_protection_expiry_alone_lets_the_scheduler_stop_the_surplus(
    reconcile_interval_s: float,
) -> None:
    """When protection expires the scheduler stops the surplus at expiry plus the
    reaction delay, even with no periodic reconcile."""
    sim = _sim(
        desired=3, settings=EcsSettings(reconcile_interval_s=reconcile_interval_s)
    )
    arns = _arns(sim)
    _protect(sim, [arns[0]], minutes=10)
    expiry_0 = sim.now_s + 600
    sim.advance(7)
    _protect(sim, [arns[1]], minutes=20)
    expiry_1 = sim.now_s + 1200
    _set_desired(sim, 0)
    t = sim.now_s
    sim.advance(3 * 3600)
    assert _stops(sim) == [
        (t + 15, _id(arns[2]), SCHEDULER, False),
        (expiry_0 + 15, _id(arns[0]), SCHEDULER, False),
        (expiry_1 + 15, _id(arns[1]), SCHEDULER, False),
    ]
    assert _arns(sim) == []
    assert _service(sim)["runningCount"] == 0


def test_renewed_protection_moves_the_stop_to_the_new_expiry() -> None:
    """A blocking protection renewed before it expires delays the stop to the new
    expiry plus the reaction delay."""
    settings = EcsSettings(reconcile_interval_s=1e9, deployment_blocked="ignore")
    sim = _sim(desired=1, settings=settings)
    [arn] = _arns(sim)
    _protect(sim, [arn], minutes=10)
    _set_desired(sim, 0)
    sim.advance(300)
    _protect(sim, [arn], minutes=10)
    renewed_expiry = sim.now_s + 600
    sim.advance(3600)
    assert _stops(sim) == [(renewed_expiry + 15, _id(arn), SCHEDULER, False)]


# ---- stopping ---------------------------------------------------------------------------
def test_scale_in_stop_timeline_with_sigterm() -> None:
    """A stopped task gets stoppingAt, its container exits sigterm_exit_s later with
    exit code 0, and it is STOPPED task_deprovisioning_s after that."""
    sim = _sim(desired=1)
    [arn] = _arns(sim)
    _set_desired(sim, 0)
    t = sim.now_s + 15
    sim.advance(60)
    [task] = _describe(sim, [arn])
    start = sim.start
    assert {
        k: task[k]
        for k in ("stoppingAt", "executionStoppedAt", "stoppedAt", "lastStatus")
    } == {
        "stoppingAt": start + timedelta(seconds=t),
        "executionStoppedAt": start + timedelta(seconds=t + 1),
        "stoppedAt": start + timedelta(seconds=t + 6),
        "lastStatus": "STOPPED",
    }
    assert [c["exitCode"] for c in task["containers"]] == [0]
    assert task["stopCode"] == SCHEDULER
    assert _events(sim, "task_killed").empty


@pytest.mark.parametrize(
    ("sigterm_exit_s", "containers", "stop_timeout_s"),
    [
        (None, [{"name": "app", "image": "worker", "stopTimeout": 45}], 45),
        (None, [{"name": "app", "image": "worker"}], 30),
        (
            None,
            [
                {"name": "app", "image": "worker", "stopTimeout": 10},
                {"name": "sidecar", "image": "envoy", "stopTimeout": 70},
            ],
            70,
        ),
        (50.0, [{"name": "app", "image": "worker"}], 30),
        (1.0, [{"name": "app", "image": "worker", "stopTimeout": 0}], 0),
    ],
)
def test_container_ignoring_sigterm_is_killed_at_stop_timeout(
    sigterm_exit_s: float | None,
    containers: list[dict[str, Any]],
    stop_timeout_s: float,
) -> None:
    """A container that ignores SIGTERM (sigterm_exit_s=None) or takes longer than
    the task definition's stopTimeout (default 30 s, longest container wins) is
    SIGKILLed at stopTimeout and exits with code 137."""
    sim = _sim(
        desired=1,
        settings=EcsSettings(sigterm_exit_s=sigterm_exit_s),
        containers=containers,
    )
    [arn] = _arns(sim)
    _set_desired(sim, 0)
    t = sim.now_s + 15
    sim.advance(200)
    [task] = _describe(sim, [arn])
    start = sim.start
    assert task["stoppingAt"] == start + timedelta(seconds=t)
    assert task["executionStoppedAt"] == start + timedelta(seconds=t + stop_timeout_s)
    assert task["stoppedAt"] == start + timedelta(seconds=t + stop_timeout_s + 5)
    assert [c["exitCode"] for c in task["containers"]] == [137] * len(containers)
    killed = _events(sim, "task_killed")
    assert list(
        zip(killed["time_s"], killed["task"], killed["stop_timeout_s"], strict=True)
    ) == [(t + stop_timeout_s, _id(arn), stop_timeout_s)]


def test_scale_in_prefers_pending_tasks() -> None:
    """Tasks not yet RUNNING are stopped before RUNNING ones."""
    sim = _sim(desired=3)
    running = _arns(sim)
    _set_desired(sim, 5)
    sim.advance(16)  # the two new tasks are PROVISIONING
    new = sorted(set(_arns(sim)) - set(running))
    assert [t["lastStatus"] for t in _describe(sim, new)] == ["PROVISIONING"] * 2
    _set_desired(sim, 3)
    sim.advance(120)
    stopped = sorted(s[1] for s in _stops(sim))
    assert stopped == sorted(_id(a) for a in new)
    assert _arns(sim) == running
    for task in _describe(sim, new):
        assert task["stopCode"] == SCHEDULER
        assert "startedAt" not in task
        assert [c.get("exitCode") for c in task["containers"]] == [None]


def test_scale_in_keeps_zones_balanced() -> None:
    """Scaling 6 -> 3 leaves one task in each zone."""
    sim = _sim(desired=6)
    _set_desired(sim, 3)
    sim.advance(60)
    zones = Counter(t["availabilityZone"] for t in _describe(sim, _arns(sim)))
    assert zones == {"us-east-1a": 1, "us-east-1b": 1, "us-east-1c": 1}


def test_scale_in_balances_zones_counting_protected_tasks() -> None:
    """With both tasks of one zone protected, scale-in stops tasks from the zones
    that then hold the most tasks."""
    sim = _sim(desired=6)
    by_zone: dict[str, list[str]] = {}
    for task in _describe(sim, _arns(sim)):
        by_zone.setdefault(task["availabilityZone"], []).append(task["taskArn"])
    _protect(sim, by_zone["us-east-1a"])
    _set_desired(sim, 4)
    sim.advance(60)
    zones = Counter(t["availabilityZone"] for t in _describe(sim, _arns(sim)))
    assert zones == {"us-east-1a": 2, "us-east-1b": 1, "us-east-1c": 1}
