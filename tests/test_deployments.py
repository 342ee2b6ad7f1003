"""Rolling-update deployments as a user sees them through the ECS API and the event log.

The rounding of ``minimumHealthyPercent`` (up) and ``maximumPercent`` (down) with
the documented worked examples, the shape of ``deployments`` in DescribeServices,
protected old tasks holding a deployment, the deployment circuit breaker, Service
Auto Scaling during a deployment, and properties over random configurations
(``reference/ecs-semantics.md`` §7, DESIGN §4).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ecssim import EcsSettings, Simulation
from ecssim.aws.cloudwatch import from_series
from ecssim.rules.deployments import (
    CIRCUIT_BREAKER_MAX,
    CIRCUIT_BREAKER_MIN,
    circuit_breaker_threshold,
    maximum_tasks,
    minimum_healthy_tasks,
    scaled_out_target,
)

SCHEDULER = "ServiceSchedulerInitiated"
LIVE = ("PROVISIONING", "PENDING", "RUNNING")
TARGET: dict[str, str] = {
    "ServiceNamespace": "ecs",
    "ResourceId": "service/prod/api",
    "ScalableDimension": "ecs:service:DesiredCount",
}
MINUTE = 60.0

# the timing knobs every bound below is derived from
KNOBS = EcsSettings()
REACTION_S = KNOBS.scheduler_reaction_delay_s
#: from task creation to RUNNING, then to healthy
START_S = KNOBS.task_provisioning_s + KNOBS.task_pending_s
HEALTHY_S = KNOBS.task_healthy_after_s
#: from a stop request to STOPPED (SIGTERM exit, then deprovisioning)
STOP_S = (KNOBS.sigterm_exit_s or 0.0) + KNOBS.task_deprovisioning_s
#: one replacement round: react, start a task, wait until it is healthy
ROUND_S = REACTION_S + START_S + HEALTHY_S
#: the settled service: created at 0, launched at 15 s, healthy at 85 s, steady at 100 s
SETTLE_S = 120.0


def _sim(
    desired: int = 4,
    minimum: int = 100,
    maximum: int = 200,
    *,
    breaker: dict[str, bool] | None = None,
    settings: EcsSettings | None = None,
    seed: int = 5,
) -> Simulation:
    """Cluster ``prod``, revisions ``worker:1..3``, service ``api`` of *desired*
    tasks on ``worker:1`` with the given deployment configuration, settled."""
    sim = Simulation(seed=seed, settings=settings)
    sim.ecs.create_cluster(clusterName="prod")
    for _ in range(3):
        sim.ecs.register_task_definition(
            family="worker", containerDefinitions=[{"name": "app", "image": "worker"}]
        )
    config: dict[str, Any] = {
        "minimumHealthyPercent": minimum,
        "maximumPercent": maximum,
    }
    if breaker is not None:
        config["deploymentCircuitBreaker"] = breaker
    sim.ecs.create_service(
        cluster="prod",
        serviceName="api",
        taskDefinition="worker:1",
        desiredCount=desired,
        deploymentConfiguration=config,
    )
    sim.advance(SETTLE_S)
    return sim


def _td(sim: Simulation, revision: int) -> str:
    return sim.backend.arn(f"task-definition/worker:{revision}")


def _deploy(sim: Simulation, revision: int = 2, **kwargs: Any) -> float:
    """UpdateService to ``worker:<revision>``; returns the time of the call."""
    sim.ecs.update_service(
        cluster="prod", service="api", taskDefinition=f"worker:{revision}", **kwargs
    )
    return sim.now_s


def _service(sim: Simulation) -> dict[str, Any]:
    return sim.ecs.describe_services(cluster="prod", services=["api"])["services"][0]


def _deployments(sim: Simulation) -> list[dict[str, Any]]:
    return list(_service(sim)["deployments"])


def _messages(sim: Simulation) -> list[str]:
    return [e["message"] for e in _service(sim)["events"]]


def _arns(sim: Simulation, desired_status: str = "RUNNING") -> list[str]:
    return sorted(
        sim.ecs.list_tasks(
            cluster="prod", serviceName="api", desiredStatus=desired_status
        )["taskArns"]
    )


def _id(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def _describe(sim: Simulation, arns: list[str]) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    for i in range(0, len(arns), 100):
        tasks += sim.ecs.describe_tasks(cluster="prod", tasks=arns[i : i + 100])[
            "tasks"
        ]
    return tasks


def _protect(sim: Simulation, arns: list[str], minutes: int) -> None:
    response = sim.ecs.update_task_protection(
        cluster="prod", tasks=arns, protectionEnabled=True, expiresInMinutes=minutes
    )
    assert response["failures"] == []


def _events(sim: Simulation, kind: str, after_s: float = -1.0) -> pd.DataFrame:
    """Rows of one kind recorded after *after_s*, detail JSON spread into columns."""
    frame = sim.events()
    rows = frame[(frame["kind"] == kind) & (frame["time_s"] > after_s)]
    rows = rows.reset_index(drop=True)
    detail = pd.DataFrame([json.loads(d) for d in rows["detail"]], index=rows.index)
    return pd.concat([rows.drop(columns=["detail"]), detail], axis=1)


def _stops(
    sim: Simulation, after_s: float = -1.0
) -> list[tuple[float, str, str, bool]]:
    """Every stop request after *after_s* as (time, task id, stop code, protected)."""
    rows = _events(sim, "task_stop_requested", after_s)
    if rows.empty:
        return []
    return [
        (r.time_s, r.task, r.stop_code, bool(r.protected))
        for r in rows.itertuples(index=False)
    ]


def _created(sim: Simulation, after_s: float = -1.0) -> list[tuple[float, str, str]]:
    """Every task created after *after_s* as (time, task id, deployment id)."""
    rows = _events(sim, "task_created", after_s)
    if rows.empty:
        return []
    return [(r.time_s, r.task, r.deployment) for r in rows.itertuples(index=False)]


def _first(sim: Simulation, kind: str, after_s: float) -> float | None:
    rows = _events(sim, kind, after_s)
    return None if rows.empty else float(rows["time_s"].iloc[0])


def _timeline(sim: Simulation) -> list[tuple[float, int, int]]:
    """After all the events of each instant: (time, tasks RUNNING or PENDING,
    tasks healthy), rebuilt from the task_created / task_status records; a task
    counts as healthy task_healthy_after_s after it reached RUNNING."""
    frame = sim.events()
    rows = frame[frame["kind"].isin(["task_created", "task_status"])]
    status: dict[str, str] = {}
    running_since: dict[str, float] = {}
    out: list[tuple[float, int, int]] = []

    def snapshot(now: float) -> tuple[float, int, int]:
        live = sum(1 for s in status.values() if s in LIVE)
        healthy = sum(
            1
            for task, s in status.items()
            if s == "RUNNING" and running_since[task] + HEALTHY_S <= now
        )
        return now, live, healthy

    previous: float | None = None
    for row in rows.itertuples(index=False):
        if previous is not None and row.time_s != previous:
            out.append(snapshot(previous))
        previous = row.time_s
        if row.kind == "task_created":
            status[row.task] = "PROVISIONING"
        else:
            status[row.task] = json.loads(row.detail)["status"]
            if status[row.task] == "RUNNING":
                running_since[row.task] = row.time_s
    if previous is not None:
        out.append(snapshot(previous))
    return out


def _check_completed_healthy(sim: Simulation, after_s: float) -> None:
    """The deployment completed after *after_s* only once every task it left
    running had been RUNNING for task_healthy_after_s."""
    completed = _first(sim, "deployment_completed", after_s)
    assert completed is not None
    started = [t["startedAt"] for t in _describe(sim, _arns(sim))]
    assert started
    healthy_at = max(started) + timedelta(seconds=HEALTHY_S)
    assert sim.start + timedelta(seconds=completed) >= healthy_at


def _check_bounds(
    sim: Simulation, since_s: float, maximum: int, minimum_healthy: int
) -> None:
    """Running + pending never above *maximum*, healthy never below
    *minimum_healthy*, at any instant from *since_s* on."""
    timeline = [t for t in _timeline(sim) if t[0] >= since_s]
    assert timeline, "no task changed state"
    assert max(live for _, live, _ in timeline) <= maximum
    assert min(healthy for _, _, healthy in timeline) >= minimum_healthy


# ---- 1. the pure rules ------------------------------------------------------------
@pytest.mark.parametrize(
    ("desired", "percent", "healthy", "may_stop"),
    [
        (4, 50, 2, 2),  # the guide: may stop 2 before starting 2
        (2, 75, 2, 0),  # the guide: can't stop any (1.5 rounds up)
        (4, 100, 4, 0),
        (3, 50, 2, 1),
        (4, 0, 0, 4),
        (0, 100, 0, 0),
    ],
)
def test_minimum_healthy_tasks_worked_examples(
    desired: int, percent: int, healthy: int, may_stop: int
) -> None:
    """minimumHealthyPercent rounds up: the guide's examples keep 2 of 4 at 50 % and
    2 of 2 at 75 %."""
    assert minimum_healthy_tasks(desired, percent) == healthy
    assert desired - minimum_healthy_tasks(desired, percent) == may_stop


@pytest.mark.parametrize(
    ("desired", "percent", "most", "may_start"),
    [
        (4, 200, 8, 4),  # the guide: may start 4 before stopping 4
        (3, 125, 3, 0),  # the guide: can't start any (3.75 rounds down)
        (4, 100, 4, 0),
        (4, 125, 5, 1),
        (8, 125, 10, 2),
        (0, 200, 0, 0),
    ],
)
def test_maximum_tasks_worked_examples(
    desired: int, percent: int, most: int, may_start: int
) -> None:
    """maximumPercent rounds down: 200 % of 4 allows 8, 125 % of 3 allows 3."""
    assert maximum_tasks(desired, percent) == most
    assert maximum_tasks(desired, percent) - desired == may_start


@given(desired=st.integers(0, 1000), percent=st.integers(0, 100))
def test_minimum_healthy_tasks_is_the_ceiling(desired: int, percent: int) -> None:
    """The healthy floor is the smallest count at or above percent of desired."""
    healthy = minimum_healthy_tasks(desired, percent)
    assert isinstance(healthy, int)
    assert 0 <= healthy <= desired
    assert healthy * 100 >= desired * percent
    assert (healthy - 1) * 100 < desired * percent or healthy == 0


@given(desired=st.integers(0, 1000), percent=st.integers(100, 400))
def test_maximum_tasks_is_the_floor(desired: int, percent: int) -> None:
    """The ceiling is the largest count at or below percent of desired, never below
    desired."""
    most = maximum_tasks(desired, percent)
    assert isinstance(most, int)
    assert most >= desired
    assert most * 100 <= desired * percent
    assert (most + 1) * 100 > desired * percent


@pytest.mark.parametrize(
    ("desired", "threshold"),
    [
        (0, 3),
        (1, 3),
        (4, 3),
        (6, 3),
        (7, 4),
        (8, 4),
        (100, 50),
        (399, 200),
        (400, 200),
        (1000, 200),
    ],
)
def test_circuit_breaker_threshold_examples(desired: int, threshold: int) -> None:
    """The breaker trips at half the desired count (rounded up), at least 3, at most
    200."""
    assert circuit_breaker_threshold(desired) == threshold


@given(desired=st.integers(0, 5000))
def test_circuit_breaker_threshold_is_half_within_bounds(desired: int) -> None:
    """The threshold stays in 3..200, is half the desired count between the bounds,
    and never falls as the desired count grows."""
    threshold = circuit_breaker_threshold(desired)
    assert CIRCUIT_BREAKER_MIN == 3
    assert CIRCUIT_BREAKER_MAX == 200
    assert 3 <= threshold <= 200
    if 6 <= desired <= 400:
        assert threshold == (desired + 1) // 2
    assert circuit_breaker_threshold(desired + 1) >= threshold


# ---- 2. the worked examples end to end ------------------------------------------------
@pytest.mark.parametrize(
    ("desired", "minimum", "maximum", "started", "stopped"),
    [
        (4, 50, 100, 2, 2),  # min 50 % of 4: stop 2 (which frees room for 2)
        (2, 75, 200, 2, 0),  # min 75 % of 2: stop none, start 2 within 200 %
        (4, 100, 200, 4, 0),  # max 200 % of 4: start 4 before stopping any
        (3, 50, 125, 1, 1),  # max 125 % of 3: start none until 1 is stopped
        (4, 0, 100, 4, 4),  # min 0 %: stop all at once
    ],
)
def test_first_reconcile_follows_the_worked_examples(
    desired: int, minimum: int, maximum: int, started: int, stopped: int
) -> None:
    """One reaction delay after UpdateService the scheduler starts and stops exactly
    as many tasks as the guide's worked examples allow, then finishes the rollout."""
    sim = _sim(desired, minimum, maximum)
    old = _arns(sim)
    t0 = _deploy(sim)
    sim.advance(REACTION_S + 1)
    primary, previous = _deployments(sim)
    created = _created(sim, t0)
    assert created == [(t0 + REACTION_S, d, primary["id"]) for _, d, _ in created]
    assert len(created) == started
    stops = _stops(sim, t0)
    assert len(stops) == stopped
    assert {s[1] for s in stops} <= {_id(a) for a in old}
    assert all(s[0] == t0 + REACTION_S and s[2] == SCHEDULER for s in stops)
    assert primary["pendingCount"] == started
    assert previous["runningCount"] == desired - stopped

    sim.advance(15 * MINUTE)
    [deployment] = _deployments(sim)
    assert (deployment["id"], deployment["status"], deployment["rolloutState"]) == (
        primary["id"],
        "PRIMARY",
        "COMPLETED",
    )
    assert deployment["taskDefinition"] == _td(sim, 2)
    assert deployment["runningCount"] == desired
    running = _describe(sim, _arns(sim))
    assert [t["taskDefinitionArn"] for t in running] == [_td(sim, 2)] * desired
    assert not set(old) & {t["taskArn"] for t in running}
    assert {t["stopCode"] for t in _describe(sim, old)} == {SCHEDULER}
    _check_completed_healthy(sim, t0)
    _check_bounds(
        sim,
        t0,
        maximum_tasks(desired, maximum),
        minimum_healthy_tasks(desired, minimum),
    )


@pytest.mark.parametrize(
    ("desired", "minimum", "maximum"), [(4, 100, 100), (3, 100, 125), (1, 100, 150)]
)
def test_deployment_without_room_never_progresses(
    desired: int, minimum: int, maximum: int
) -> None:
    """When the configuration allows neither starting nor stopping a task, nothing
    happens, the deployment stays IN_PROGRESS and the service says so once."""
    sim = _sim(desired, minimum, maximum)
    old = _arns(sim)
    t0 = _deploy(sim)
    sim.advance(3600)
    assert _created(sim, t0) == []
    assert _stops(sim, t0) == []
    assert _arns(sim) == old
    primary, previous = _deployments(sim)
    assert (primary["status"], primary["rolloutState"], primary["runningCount"]) == (
        "PRIMARY",
        "IN_PROGRESS",
        0,
    )
    assert (previous["status"], previous["runningCount"]) == ("ACTIVE", desired)
    stuck = (
        f"(service api) is unable to make progress: its deployment configuration "
        f"(minimumHealthyPercent {minimum}, maximumPercent {maximum}) allows neither "
        "starting nor stopping a task."
    )
    assert _messages(sim)[0] == stuck
    assert _messages(sim).count(stuck) == 1
    assert len(_events(sim, "deployment_stuck", t0)) == 1


def test_raising_maximum_percent_unblocks_a_deployment_without_room() -> None:
    """A deployment stuck at min 100 / max 125 of 3 completes once maximumPercent is
    raised to 200."""
    sim = _sim(3, 100, 125)
    _deploy(sim)
    sim.advance(5 * MINUTE)
    t1 = sim.now_s
    sim.ecs.update_service(
        cluster="prod", service="api", deploymentConfiguration={"maximumPercent": 200}
    )
    sim.advance(REACTION_S + 1)
    assert len(_created(sim, t1)) == 3
    sim.advance(10 * MINUTE)
    [deployment] = _deployments(sim)
    assert deployment["rolloutState"] == "COMPLETED"
    assert deployment["taskDefinition"] == _td(sim, 2)


# ---- 3. the shape of a deployment --------------------------------------------------
#: the DescribeServices deployment fields compared whole below
_SHAPE = (
    "status",
    "taskDefinition",
    "desiredCount",
    "pendingCount",
    "runningCount",
    "failedTasks",
    "rolloutState",
)


def test_update_service_makes_a_new_primary_and_an_active_old_deployment() -> None:
    """Right after UpdateService the new deployment is PRIMARY and IN_PROGRESS with
    no tasks yet, and the old one is ACTIVE, COMPLETED and still runs every task."""
    sim = _sim(4)
    [before] = _deployments(sim)
    _deploy(sim)
    service = _service(sim)
    assert service["taskDefinition"] == _td(sim, 2)
    primary, previous = service["deployments"]
    assert primary["id"].startswith("ecs-svc/")
    assert primary["id"] != before["id"]
    assert {k: primary[k] for k in _SHAPE} == {
        "status": "PRIMARY",
        "taskDefinition": _td(sim, 2),
        "desiredCount": 4,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "rolloutState": "IN_PROGRESS",
    }
    assert previous["id"] == before["id"]
    assert {k: previous[k] for k in _SHAPE} == {
        "status": "ACTIVE",
        "taskDefinition": _td(sim, 1),
        "desiredCount": 4,
        "pendingCount": 0,
        "runningCount": 4,
        "failedTasks": 0,
        "rolloutState": "COMPLETED",
    }


def test_deployment_counts_add_up_to_the_service_counts() -> None:
    """Sampled through a rollout, the deployments' running and pending counts add up
    to the service's, and each matches its own tasks (startedBy is the deployment)."""
    sim = _sim(4, 50, 150)
    t0 = _deploy(sim)
    seen_two = False
    while sim.now_s < t0 + 10 * MINUTE:
        sim.advance(5)
        service = _service(sim)
        deployments = service["deployments"]
        seen_two = seen_two or len(deployments) == 2
        assert sum(d["runningCount"] for d in deployments) == service["runningCount"]
        assert sum(d["pendingCount"] for d in deployments) == service["pendingCount"]
        tasks = _describe(sim, _arns(sim) + _arns(sim, "STOPPED"))
        for d in deployments:
            mine = [t["lastStatus"] for t in tasks if t.get("startedBy") == d["id"]]
            assert mine.count("RUNNING") == d["runningCount"]
            assert (
                mine.count("PROVISIONING") + mine.count("PENDING") == d["pendingCount"]
            )
    assert seen_two
    assert [d["rolloutState"] for d in _deployments(sim)] == ["COMPLETED"]


def test_same_task_definition_without_force_starts_no_deployment() -> None:
    """UpdateService naming the task definition already deployed changes nothing."""
    sim = _sim(2)
    [before] = _deployments(sim)
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:1")
    sim.advance(10 * MINUTE)
    assert _deployments(sim) == [before]
    assert _created(sim, t0) == []
    assert _stops(sim, t0) == []


def test_force_new_deployment_rolls_every_task() -> None:
    """forceNewDeployment with the same task definition replaces every task and ends
    with one new COMPLETED deployment on that task definition."""
    sim = _sim(3)
    old = _arns(sim)
    [before] = _deployments(sim)
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", forceNewDeployment=True)
    primary, previous = _deployments(sim)
    assert primary["taskDefinition"] == previous["taskDefinition"] == _td(sim, 1)
    assert (primary["rolloutState"], previous["id"]) == ("IN_PROGRESS", before["id"])
    sim.advance(10 * MINUTE)
    [after] = _deployments(sim)
    assert (after["id"], after["rolloutState"]) == (primary["id"], "COMPLETED")
    now = _arns(sim)
    assert len(now) == 3
    assert not set(now) & set(old)
    assert sorted((s[1], s[2]) for s in _stops(sim, t0)) == sorted(
        (_id(a), SCHEDULER) for a in old
    )
    assert {d for _, _, d in _created(sim, t0)} == {primary["id"]}


def test_second_update_supersedes_a_deployment_in_progress() -> None:
    """A second UpdateService during a rollout wins: every task ends on the newest
    revision and only its deployment, COMPLETED, is left."""
    sim = _sim(3)
    t0 = _deploy(sim, 2)
    sim.advance(40)  # the worker:2 tasks are starting
    first = _deployments(sim)[0]
    assert (first["taskDefinition"], first["pendingCount"]) == (_td(sim, 2), 3)
    _deploy(sim, 3)
    assert [(d["status"], d["taskDefinition"]) for d in _deployments(sim)] == [
        ("PRIMARY", _td(sim, 3)),
        ("ACTIVE", _td(sim, 2)),
        ("ACTIVE", _td(sim, 1)),
    ]
    newest = _deployments(sim)[0]
    sim.advance(15 * MINUTE)
    [deployment] = _deployments(sim)
    assert (deployment["id"], deployment["rolloutState"]) == (
        newest["id"],
        "COMPLETED",
    )
    tasks = _describe(sim, _arns(sim))
    assert [t["taskDefinitionArn"] for t in tasks] == [_td(sim, 3)] * 3
    retired = set(_events(sim, "deployment_retired", t0)["deployment"])
    assert first["id"] in retired
    assert len(_events(sim, "deployment_completed", t0)) == 1
    _check_completed_healthy(sim, t0)
    _check_bounds(sim, t0, maximum_tasks(3, 200), minimum_healthy_tasks(3, 100))


def test_deployment_timestamps_are_timezone_aware_and_ordered() -> None:
    """createdAt is the UpdateService time, updatedAt moves with each change of
    status or rollout state and is never before createdAt."""
    sim = _sim(2)
    t0 = _deploy(sim)
    at = sim.start + timedelta(seconds=t0)
    primary, previous = _deployments(sim)
    for d in (primary, previous):
        assert d["createdAt"].tzinfo is not None
        assert d["updatedAt"].tzinfo is not None
        assert d["updatedAt"] >= d["createdAt"]
    assert primary["createdAt"] == primary["updatedAt"] == at
    assert previous["createdAt"] == sim.start
    assert previous["updatedAt"] == at  # it became ACTIVE
    sim.advance(10 * MINUTE)
    [done] = _deployments(sim)
    completed = _first(sim, "deployment_completed", t0)
    assert completed is not None
    assert done["createdAt"] == at
    assert done["updatedAt"] == sim.start + timedelta(seconds=completed)


# ---- 4. protection -------------------------------------------------------------------
def _protected_rollout(
    minutes: int, settings: EcsSettings | None = None
) -> tuple[Simulation, list[str], float, str]:
    """Service of 4 at 100/200, its first two tasks protected for *minutes*, then
    deployed to worker:2 and run 10 minutes: (sim, protected arns, t0, old id)."""
    sim = _sim(4, settings=settings)
    protected = _arns(sim)[:2]
    _protect(sim, protected, minutes)
    [old] = _deployments(sim)
    t0 = _deploy(sim)
    sim.advance(10 * MINUTE)
    return sim, protected, t0, old["id"]


def test_protected_old_tasks_hold_the_deployment() -> None:
    """Old tasks under protection keep running while the new tasks start and the
    unprotected old ones stop; the deployment stays IN_PROGRESS and the service
    says the old task set could not scale in."""
    sim, protected, t0, old_id = _protected_rollout(30)
    stops = _stops(sim, t0)
    assert len(stops) == 2
    assert not {s[1] for s in stops} & {_id(a) for a in protected}
    assert not any(protected_ for *_, protected_ in stops)
    assert set(protected) <= set(_arns(sim))
    primary, previous = _deployments(sim)
    assert (primary["rolloutState"], primary["runningCount"]) == ("IN_PROGRESS", 4)
    assert (previous["id"], previous["status"], previous["runningCount"]) == (
        old_id,
        "ACTIVE",
        2,
    )
    blocked = (
        f"(service api, taskSet {old_id}) was unable to scale in due to "
        "(reason 2 tasks under protection)"
    )
    assert _messages(sim)[0] == blocked
    assert _messages(sim).count(blocked) == 1


@pytest.mark.parametrize("reconcile_interval_s", [60.0, 1e9])
def test_clearing_protection_lets_the_deployment_complete(
    reconcile_interval_s: float,
) -> None:
    """Once protection is cleared the old tasks are stopped within the reaction
    delay and the deployment completes once they are STOPPED and reacted to."""
    settings = EcsSettings(reconcile_interval_s=reconcile_interval_s)
    sim, protected, _, _ = _protected_rollout(30, settings)
    sim.ecs.update_task_protection(
        cluster="prod", tasks=protected, protectionEnabled=False
    )
    cleared = sim.now_s
    sim.advance(10 * MINUTE)
    stops = _stops(sim, cleared)
    assert sorted(s[1] for s in stops) == sorted(_id(a) for a in protected)
    assert all(cleared < s[0] <= cleared + REACTION_S for s in stops)
    completed = _first(sim, "deployment_completed", cleared)
    assert completed is not None
    assert completed <= cleared + REACTION_S + STOP_S + REACTION_S
    if reconcile_interval_s == 1e9:  # only the reaction to the change paces it
        assert {s[0] for s in stops} == {cleared + REACTION_S}
        assert completed == cleared + REACTION_S + STOP_S + REACTION_S
    [deployment] = _deployments(sim)
    assert deployment["rolloutState"] == "COMPLETED"


@pytest.mark.parametrize("reconcile_interval_s", [60.0, 1e9])
def test_protection_expiry_lets_the_deployment_complete(
    reconcile_interval_s: float,
) -> None:
    """When protection expires the old tasks are stopped (never before) and the
    deployment completes within expiry + reaction + stop + reaction, with no call."""
    settings = EcsSettings(reconcile_interval_s=reconcile_interval_s)
    sim, protected, t0, _ = _protected_rollout(15, settings)
    expiry = t0 + 15 * MINUTE
    assert _first(sim, "deployment_completed", t0) is None
    sim.advance(20 * MINUTE)
    late = [s for s in _stops(sim, t0) if s[1] in {_id(a) for a in protected}]
    assert len(late) == 2
    assert all(expiry <= s[0] <= expiry + REACTION_S for s in late)
    completed = _first(sim, "deployment_completed", t0)
    assert completed is not None
    assert expiry < completed <= expiry + REACTION_S + STOP_S + REACTION_S
    assert [d["rolloutState"] for d in _deployments(sim)] == ["COMPLETED"]


def test_raising_maximum_percent_starts_new_tasks_beside_protected_ones() -> None:
    """With every old task protected and no room (min 50 / max 100) nothing moves;
    raising maximumPercent to 200 starts the new tasks while the protected old ones
    keep running."""
    sim = _sim(4, 50, 100)
    old = _arns(sim)
    _protect(sim, old, 30)
    t0 = _deploy(sim)
    sim.advance(5 * MINUTE)
    assert _created(sim, t0) == []
    assert _stops(sim, t0) == []
    old_id = _deployments(sim)[1]["id"]
    assert _messages(sim)[0] == (
        f"(service api, taskSet {old_id}) was unable to scale in due to "
        "(reason 4 tasks under protection)"
    )
    t1 = sim.now_s
    sim.ecs.update_service(
        cluster="prod", service="api", deploymentConfiguration={"maximumPercent": 200}
    )
    sim.advance(5 * MINUTE)
    assert [c[0] for c in _created(sim, t1)] == [t1 + REACTION_S] * 4
    assert _stops(sim, t0) == []
    primary, previous = _deployments(sim)
    assert (primary["rolloutState"], primary["runningCount"]) == ("IN_PROGRESS", 4)
    assert previous["runningCount"] == 4
    assert set(old) <= set(_arns(sim))
    sim.advance(30 * MINUTE)  # the protection expires
    assert [d["rolloutState"] for d in _deployments(sim)] == ["COMPLETED"]
    assert len(_arns(sim)) == 4


# ---- 5. the deployment circuit breaker -----------------------------------------------
@pytest.mark.parametrize(
    ("desired", "maximum", "failed"),
    [
        (4, 200, 4),  # all 4 start at once and fail together (threshold 3)
        (8, 125, 4),  # 2 at a time: trips after the second pair (threshold 4)
    ],
)
def test_circuit_breaker_fails_the_rollout(
    desired: int, maximum: int, failed: int
) -> None:
    """With the breaker on (no rollback) a revision that fails to start is FAILED
    once the failed tasks reach the threshold, and no more of it are launched."""
    sim = _sim(desired, 100, maximum, breaker={"enable": True, "rollback": False})
    old = _arns(sim)
    sim.fail_task_starts("worker:2")
    t0 = _deploy(sim)
    sim.advance(30 * MINUTE)
    primary, previous = _deployments(sim)
    assert (primary["rolloutState"], primary["taskDefinition"]) == (
        "FAILED",
        _td(sim, 2),
    )
    assert "circuit breaker" in primary["rolloutStateReason"]
    assert primary["failedTasks"] == failed
    assert failed >= circuit_breaker_threshold(desired)
    failed_at = _first(sim, "deployment_failed", t0)
    assert failed_at is not None
    created = _created(sim, t0)
    assert len(created) == failed
    assert all(t <= failed_at for t, _, _ in created)
    assert (previous["status"], previous["runningCount"]) == ("ACTIVE", desired)
    assert _arns(sim) == old
    stopped = _describe(sim, _arns(sim, "STOPPED"))
    assert {t["stopCode"] for t in stopped} == {"TaskFailedToStart"}
    assert len(stopped) == failed


def test_circuit_breaker_failure_is_not_reported_as_a_configuration_deadlock() -> None:
    """After the breaker fails a rollout at 100/200 the service does not claim its
    deployment configuration allows neither starting nor stopping a task."""
    sim = _sim(4, 100, 200, breaker={"enable": True, "rollback": False})
    sim.fail_task_starts("worker:2")
    t0 = _deploy(sim)
    sim.advance(30 * MINUTE)
    assert _deployments(sim)[0]["rolloutState"] == "FAILED"
    assert not [m for m in _messages(sim) if "unable to make progress" in m]
    assert _events(sim, "deployment_stuck", t0).empty


@pytest.mark.parametrize(
    ("minimum", "maximum"),
    [
        (100, 200),  # the old tasks all still run when the breaker trips
        (50, 100),  # half of them were replaced by failing tasks
        (0, 100),  # all of them were stopped at once: only the record is left
    ],
)
def test_circuit_breaker_rolls_back_to_the_last_completed_deployment(
    minimum: int, maximum: int
) -> None:
    """With rollback the breaker starts a new PRIMARY deployment on the last
    COMPLETED task definition, which completes and is all that is left, whether or
    not tasks of that deployment were still running."""
    sim = _sim(4, minimum, maximum, breaker={"enable": True, "rollback": True})
    [original] = _deployments(sim)
    sim.fail_task_starts("worker:2")
    t0 = _deploy(sim)
    failed = _deployments(sim)[0]
    sim.advance(30 * MINUTE)
    assert _first(sim, "deployment_failed", t0) is not None
    [rollback] = _deployments(sim)
    assert rollback["id"] not in (original["id"], failed["id"])
    assert (rollback["status"], rollback["taskDefinition"]) == ("PRIMARY", _td(sim, 1))
    assert (rollback["rolloutState"], rollback["runningCount"]) == ("COMPLETED", 4)
    assert f"(service api) rolling back to deployment {original['id']}." in (
        _messages(sim)
    )
    tasks = _describe(sim, _arns(sim))
    assert [t["taskDefinitionArn"] for t in tasks] == [_td(sim, 1)] * 4
    assert {t["startedBy"] for t in tasks} == {rollback["id"]}
    rolled = _events(sim, "deployment_rolled_back", t0)
    assert list(rolled["deployment"]) == [rollback["id"]]
    failed_at = _first(sim, "deployment_failed", t0)
    assert failed_at is not None
    assert not [c for c in _created(sim, failed_at - 1) if c[2] == failed["id"]]


def test_circuit_breaker_rollback_skips_a_deployment_that_never_completed() -> None:
    """Rolling back from worker:3 while worker:2 was still rolling out returns to
    worker:1, the last deployment that COMPLETED."""
    sim = _sim(2, breaker={"enable": True, "rollback": True})
    rev1 = _arns(sim)
    t0 = _deploy(sim, 2)
    sim.advance(90)  # the worker:2 tasks run; the worker:1 ones are not stopped yet
    rev2 = sorted(set(_arns(sim)) - set(rev1))
    assert len(rev2) == 2
    _protect(sim, [rev1[0], rev2[0]], 30)  # keeps one task of each deployment
    sim.fail_task_starts("worker:3")
    _deploy(sim, 3)
    assert [(d["taskDefinition"], d["rolloutState"]) for d in _deployments(sim)] == [
        (_td(sim, 3), "IN_PROGRESS"),
        (_td(sim, 2), "IN_PROGRESS"),
        (_td(sim, 1), "COMPLETED"),
    ]
    sim.advance(10 * MINUTE)
    assert _first(sim, "deployment_failed", t0) is not None
    rolled = _events(sim, "deployment_rolled_back", t0)
    assert list(rolled["to_task_definition"]) == [_td(sim, 1)]
    assert _deployments(sim)[0]["taskDefinition"] == _td(sim, 1)
    sim.advance(40 * MINUTE)  # the protection expires
    [deployment] = _deployments(sim)
    assert (deployment["taskDefinition"], deployment["rolloutState"]) == (
        _td(sim, 1),
        "COMPLETED",
    )
    tasks = _describe(sim, _arns(sim))
    assert [t["taskDefinitionArn"] for t in tasks] == [_td(sim, 1)] * 2


def test_without_circuit_breaker_failed_tasks_keep_being_replaced() -> None:
    """Without the breaker a revision that fails to start is retried for ever:
    failedTasks grows and the deployment stays IN_PROGRESS beside the old tasks."""
    sim = _sim(4)
    old = _arns(sim)
    sim.fail_task_starts("worker:2")
    _deploy(sim)
    sim.advance(10 * MINUTE)
    first = _deployments(sim)[0]["failedTasks"]
    sim.advance(10 * MINUTE)
    primary, previous = _deployments(sim)
    assert first > circuit_breaker_threshold(4)
    assert primary["failedTasks"] > first
    assert primary["rolloutState"] == "IN_PROGRESS"
    assert previous["runningCount"] == 4
    assert _arns(sim) == old


# ---- 6. Service Auto Scaling during a deployment ---------------------------------------
def _autoscale(sim: Simulation, low: int = 1, high: int = 10) -> None:
    """Register the service (low..high) with a 50 % CPU target-tracking policy."""
    aas = sim.application_autoscaling
    aas.register_scalable_target(**TARGET, MinCapacity=low, MaxCapacity=high)
    aas.put_scaling_policy(
        PolicyName="cpu",
        **TARGET,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
        },
    )


def test_scale_in_waits_for_the_deployment_to_complete() -> None:
    """Low CPU asks for a scale-in during a deployment held by protection: nothing
    scales in until the deployment completes, then the service scales in."""
    sim = _sim(4)
    _autoscale(sim)
    _protect(sim, _arns(sim)[:1], 30)
    sim.metrics.set_service_utilization("prod", "api", cpu=lambda t: 5.0)
    t0 = _deploy(sim)
    sim.advance(25 * MINUTE)
    assert _deployments(sim)[0]["rolloutState"] == "IN_PROGRESS"
    assert _service(sim)["desiredCount"] == 4
    assert _events(sim, "scaling_activity").empty
    skipped = _events(sim, "scaling_skipped")
    assert list(skipped["reason"]) == ["DeploymentInProgress"]
    assert list(skipped["direction"]) == ["in"]
    sim.advance(15 * MINUTE)
    completed = _first(sim, "deployment_completed", t0)
    assert completed is not None
    activity = _events(sim, "scaling_activity")
    assert list(activity["direction"]) == ["in"]
    assert completed < activity["time_s"].iloc[0] <= completed + 2 * MINUTE
    assert _service(sim)["desiredCount"] == 1


def test_scale_out_continues_during_a_deployment_on_both_revisions() -> None:
    """High CPU scales out while a deployment is in progress; since November 2025
    ECS applies the scale-out to both revisions: the old revision's count grows
    by the same factor (ecssim's split), and its extra tasks are replaced again
    once the new ones are healthy, leaving only the protected old task."""
    sim = _sim(2)
    _autoscale(sim)
    _protect(sim, _arns(sim)[:1], 60)
    sim.metrics.set_service_utilization("prod", "api", cpu=lambda t: 90.0)
    t0 = _deploy(sim)
    sim.advance(10 * MINUTE)
    activity = _events(sim, "scaling_activity", t0)
    assert not activity.empty
    assert set(activity["direction"]) == {"out"}
    service = _service(sim)
    assert service["desiredCount"] > 2
    primary, previous = service["deployments"]
    assert primary["rolloutState"] == "IN_PROGRESS"
    assert primary["desiredCount"] == service["desiredCount"]
    assert (previous["desiredCount"], previous["runningCount"]) == (1, 1)
    created = {d for _, _, d in _created(sim, t0)}
    assert created == {primary["id"], previous["id"]}
    changes = _events(sim, "desired_count_changed", t0)
    first = changes.iloc[0]
    window = (first.time_s, first.time_s + REACTION_S + 1)
    old_started = [
        t
        for t, _, d in _created(sim, t0)
        if d == previous["id"] and window[0] < t <= window[1]
    ]
    # one old task (the protected one) was left when the first scale-out came
    target = scaled_out_target(1, int(first.previous), int(first.desired_count))
    assert target > 1
    assert len(old_started) == target - 1
    assert not any(p for *_, p in _stops(sim, t0))


def test_scaled_out_target_is_proportional_and_never_shrinks() -> None:
    """The old revision grows by the desired count's factor (rounded down); a
    scale-in or a start from zero leaves it as it is."""
    assert scaled_out_target(3, 6, 10) == 5
    assert scaled_out_target(1, 2, 6) == 3
    assert scaled_out_target(4, 8, 4) == 4
    assert scaled_out_target(2, 0, 5) == 2


@pytest.mark.parametrize("breaker", [False, True])
def test_an_old_task_stopped_during_a_rollout_is_replaced_from_its_revision(
    breaker: bool,
) -> None:
    """Since November 2025 a task of the current revision that is terminated
    during a rolling deployment is replaced with a task of that same revision,
    whether the new revision is held by protected old tasks or FAILED by the
    circuit breaker (then it stays; otherwise the rollout replaces it in turn
    once it is healthy and unprotected)."""
    config = {"enable": True, "rollback": False} if breaker else None
    sim = _sim(4, 100, 200, breaker=config)
    old = _arns(sim)
    if breaker:
        sim.fail_task_starts("worker:2")
    else:
        _protect(sim, old, 120)
    t0 = _deploy(sim)
    sim.advance(20 * MINUTE)
    primary, previous = _deployments(sim)
    assert primary["rolloutState"] == ("FAILED" if breaker else "IN_PROGRESS")
    t1 = sim.now_s
    sim.ecs.stop_task(cluster="prod", task=old[0], reason="lost")
    sim.advance(5 * MINUTE)
    created = _created(sim, t1)
    assert [d for _, _, d in created] == [previous["id"]]
    [replacement] = _describe(sim, [created[0][1]])
    assert replacement["taskDefinitionArn"] == _td(sim, 1)
    assert t0 < t1
    if breaker:  # the new revision fails: the replacement stays
        assert replacement["lastStatus"] == "RUNNING"
        assert _deployments(sim)[1]["runningCount"] == 4
    else:  # unprotected, it is replaced by the rollout once it is healthy
        assert replacement["lastStatus"] == "STOPPED"
        assert replacement["stopCode"] == SCHEDULER
        assert _deployments(sim)[1]["runningCount"] == 3


# ---- 7. properties ---------------------------------------------------------------------
@st.composite
def _rollouts(draw: st.DrawFn) -> tuple[int, int, int, list[int | None], int]:
    """(desired, min %, max %, protection minutes per old task or None, seed)."""
    desired = draw(st.integers(1, 8))
    minimum = draw(st.integers(0, 100))
    maximum = draw(st.integers(100, 200))
    minutes = draw(
        st.lists(
            st.one_of(st.none(), st.integers(1, 30)),
            min_size=desired,
            max_size=desired,
        )
    )
    return desired, minimum, maximum, minutes, draw(st.integers(0, 2**16))


@settings(max_examples=150, deadline=None)
@given(_rollouts())
def test_every_rollout_completes_within_its_bounds(
    rollout: tuple[int, int, int, list[int | None], int],
) -> None:
    """Whatever the configuration (with room to move) and the protection on old
    tasks, a deployment completes within the last expiry plus one replacement round
    per task, never runs more than maximumPercent, never drops below
    minimumHealthyPercent, and never stops a protected task."""
    desired, minimum, maximum, minutes, seed = rollout
    most = maximum_tasks(desired, maximum)
    healthy = minimum_healthy_tasks(desired, minimum)
    assume(most > desired or healthy < desired)  # otherwise it can never move
    sim = _sim(desired, minimum, maximum, seed=seed)
    old = _arns(sim)
    expiry: dict[str, float] = {}
    for arn, m in zip(old, minutes, strict=True):
        if m is not None:
            _protect(sim, [arn], m)
            expiry[_id(arn)] = sim.now_s + m * MINUTE
    t0 = _deploy(sim)
    last = max([t0, *expiry.values()])
    # after the last expiry: react, then at worst one task per round, then the
    # last old task stops and is reacted to; plus one periodic reconcile of slack
    bound = (
        REACTION_S
        + desired * ROUND_S
        + STOP_S
        + REACTION_S
        + KNOBS.reconcile_interval_s
    )
    sim.advance(last - t0 + bound + 1)
    completed = _first(sim, "deployment_completed", t0)
    assert completed is not None
    assert completed <= last + bound
    [deployment] = _deployments(sim)
    assert (deployment["taskDefinition"], deployment["rolloutState"]) == (
        _td(sim, 2),
        "COMPLETED",
    )
    assert deployment["runningCount"] == desired
    _check_completed_healthy(sim, t0)
    _check_bounds(sim, t0, most, healthy)
    for when, task, code, protected in _stops(sim, t0):
        assert code == SCHEDULER
        assert not protected
        assert when >= expiry.get(task, t0)


@settings(max_examples=25, deadline=None)
@given(
    _rollouts(),
    st.lists(st.integers(0, 600), min_size=1, max_size=3),
)
def test_rollouts_with_lost_old_tasks_still_complete_within_maximum(
    rollout: tuple[int, int, int, list[int | None], int], stop_after_s: list[int]
) -> None:
    """Old tasks stopped by StopTask during a rollout are replaced from their own
    revision (never beyond maximumPercent), only before the rollout completes, and
    the rollout still completes once protection lapses, stopping no protected
    task itself."""
    desired, minimum, maximum, minutes, seed = rollout
    most = maximum_tasks(desired, maximum)
    assume(most > desired or minimum_healthy_tasks(desired, minimum) < desired)
    sim = _sim(desired, minimum, maximum, seed=seed)
    old = _arns(sim)
    [original] = _deployments(sim)
    for arn, m in zip(old, minutes, strict=True):
        if m is not None:
            _protect(sim, [arn], m)
    t0 = _deploy(sim)
    lost = 0
    for delay in sorted(stop_after_s):
        sim.advance(max(0.0, t0 + delay - sim.now_s))
        live_old = [
            t["taskArn"]
            for t in _describe(sim, _arns(sim))
            if t["taskDefinitionArn"] == _td(sim, 1)
        ]
        if live_old:
            sim.ecs.stop_task(cluster="prod", task=live_old[0], reason="lost")
            lost += 1
    sim.advance(3 * 3600)
    [deployment] = _deployments(sim)
    assert deployment["rolloutState"] == "COMPLETED"
    assert _task_definitions_running(sim) == [_td(sim, 2)] * desired
    completed = _first(sim, "deployment_completed", t0)
    assert completed is not None
    restored = [t for t, _, d in _created(sim, t0) if d == original["id"]]
    assert len(restored) <= lost
    assert all(t < completed for t in restored)
    timeline = [t for t in _timeline(sim) if t[0] >= t0]
    assert max(live for _, live, _ in timeline) <= max(most, desired)
    for _, _, code, protected in _stops(sim, t0):
        assert code in (SCHEDULER, "UserInitiated")
        assert not (protected and code == SCHEDULER)


def _task_definitions_running(sim: Simulation) -> list[str]:
    return sorted(t["taskDefinitionArn"] for t in _describe(sim, _arns(sim)))


_LEVELS = st.one_of(
    st.none(), st.sampled_from([0.0, 5.0, 30.0, 44.0, 50.0, 56.0, 90.0, 100.0])
)


@settings(max_examples=100, deadline=None)
@given(
    low=st.integers(0, 4),
    span=st.integers(0, 6),
    start=st.integers(0, 10),
    values=st.lists(_LEVELS, min_size=1, max_size=30),
    step_s=st.sampled_from([60.0, 300.0]),
    deploy_after=st.one_of(st.none(), st.integers(0, 60)),
    seed=st.integers(0, 2**16),
)
def test_auto_scaling_keeps_desired_within_capacity_bounds(
    *,
    low: int,
    span: int,
    start: int,
    values: list[float | None],
    step_s: float,
    deploy_after: int | None,
    seed: int,
) -> None:
    """Across a random CPU series, with or without a deployment on the way, auto
    scaling keeps the desired count within [MinCapacity, MaxCapacity]."""
    high = max(low + span, 1)
    desired = min(max(start, low), high)
    sim = _sim(desired, seed=seed)
    _autoscale(sim, low, high)
    t0 = sim.now_s
    times = [t0 + step_s * i for i in range(len(values))]
    sim.metrics.set_service_utilization("prod", "api", cpu=from_series(times, values))
    end = t0 + 2 * 3600
    while sim.now_s < end:
        if deploy_after is not None and sim.now_s >= t0 + deploy_after * MINUTE:
            _deploy(sim)
            deploy_after = None
        sim.advance(2 * MINUTE)
        assert low <= _service(sim)["desiredCount"] <= high
    changes = _events(sim, "desired_count_changed", t0)
    if not changes.empty:
        assert changes["desired_count"].between(low, high).all()
    activity = _events(sim, "scaling_activity", t0)
    if not activity.empty:
        assert activity["desired_count"].between(low, high).all()
