"""Stopped tasks are forgotten after the retention window, as ECS forgets them.

ECS documents that stopped tasks appear in DescribeTasks "for at least one
hour". ecssim keeps a STOPPED task describable for ``stopped_task_retention_s``
(default 1 h) and then forgets it: DescribeTasks, GetTaskProtection and
UpdateTaskProtection report it ``MISSING`` and ListTasks no longer lists it.
So memory is bounded by the live tasks plus those stopped within the window,
however long a run is, and the run's outcomes (built from the records) do not
change.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest

from ecssim import EcsSettings, Simulation
from ecssim.aws.state import MAX_SERVICE_EVENTS, Task
from ecssim.model.build import build, run
from ecssim.scenario.loading import parse_scenario


def _sim(settings: EcsSettings | None = None) -> Simulation:
    sim = Simulation(seed=3, settings=settings)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "nginx"}]
    )
    return sim


def _stopped_service_task(sim: Simulation) -> tuple[str, float]:
    """Start a service of 2, stop one of its tasks, and wait until it is
    STOPPED; returns its ARN and how long ago it stopped, in seconds."""
    sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="web", desiredCount=2
    )
    sim.advance(120)
    arn = sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"][0]
    sim.ecs.stop_task(cluster="prod", task=arn)
    sim.advance(60)
    [task] = sim.ecs.describe_tasks(cluster="prod", tasks=[arn])["tasks"]
    assert task["lastStatus"] == "STOPPED"
    return str(arn), (sim.now - task["stoppedAt"]).total_seconds()


def _views(sim: Simulation, arn: str) -> dict[str, Any]:
    """What the API shows of task *arn*."""
    described = sim.ecs.describe_tasks(cluster="prod", tasks=[arn])
    protection = sim.ecs.get_task_protection(cluster="prod", tasks=[arn])
    update = sim.ecs.update_task_protection(
        cluster="prod", tasks=[arn], protectionEnabled=False
    )
    return {
        "describe": [t["lastStatus"] for t in described["tasks"]]
        + [f["reason"] for f in described["failures"]],
        "get": [p["protectionEnabled"] for p in protection["protectedTasks"]]
        + [f["reason"] for f in protection["failures"]],
        "update": [f["reason"] for f in update["failures"]],
        "listed": arn
        in sim.ecs.list_tasks(cluster="prod", desiredStatus="STOPPED")["taskArns"],
    }


def test_a_stopped_task_is_describable_for_an_hour_then_missing() -> None:
    """Up to an hour after it stopped a task is described as STOPPED and listed
    with desiredStatus STOPPED; after that every call reports it MISSING."""
    sim = _sim()
    arn, ago_s = _stopped_service_task(sim)
    sim.advance(3600 - ago_s - 1)  # one second short of an hour after STOPPED
    assert _views(sim, arn) == {
        "describe": ["STOPPED"],
        "get": [False],
        "update": [],
        "listed": True,
    }
    sim.advance(1)
    missing = {
        "describe": ["MISSING"],
        "get": ["MISSING"],
        "update": ["MISSING"],
        "listed": False,
    }
    assert _views(sim, arn) == missing
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.stop_task(cluster="prod", task=arn)


def test_the_retention_window_is_a_knob() -> None:
    """EcsSettings(stopped_task_retention_s=...) sets the window; 0 forgets a
    task as soon as it is STOPPED."""
    sim = _sim(EcsSettings(stopped_task_retention_s=600))
    arn, ago_s = _stopped_service_task(sim)
    sim.advance(600 - ago_s - 1)
    assert _views(sim, arn)["describe"] == ["STOPPED"]
    sim.advance(1)
    assert _views(sim, arn)["describe"] == ["MISSING"]
    sim = _sim(EcsSettings(stopped_task_retention_s=0))
    sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="web", desiredCount=1
    )
    sim.advance(120)
    [arn] = sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
    sim.ecs.stop_task(cluster="prod", task=arn)
    sim.advance(60)
    assert _views(sim, arn)["describe"] == ["MISSING"]


def test_scenario_knob_and_its_validation() -> None:
    """``ecs: {stopped_task_retention: 10m}`` sets it; a negative one is refused."""
    raw: dict[str, Any] = {
        "name": "retention",
        "duration": "1h",
        "services": [{"name": "api", "desired_count": 1}],
        "ecs": {"stopped_task_retention": "10m"},
    }
    scenario = parse_scenario(raw, source="t")
    assert scenario.ecs.settings().stopped_task_retention_s == 600
    raw["ecs"] = {"stopped_task_retention": "-1s"}
    with pytest.raises(ValueError, match="stopped_task_retention"):
        parse_scenario(raw, source="t")


def test_a_long_churning_run_keeps_only_live_and_recent_tasks() -> None:
    """A service whose tasks crash every few minutes for two days creates
    hundreds of tasks, yet the control plane holds only the live ones and
    those stopped within the last hour, and each service keeps at most its
    recent events; the records still count every task."""
    raw = {
        "name": "churn",
        "duration": "2d",
        "services": [{"name": "api", "desired_count": 4}],
        "faults": [{"kind": "task_crash", "service": "api", "rate": "6/h"}],
    }
    model = build(parse_scenario(raw, source="t"))
    cluster = model.sim.backend.clusters[model.cluster_name]
    service = cluster.services["api"]
    most_kept = most_events = 0
    for _ in range(48):
        model.sim.advance(3600)
        most_kept = max(most_kept, len(cluster.tasks))
        most_events = max(most_events, len(service.events))
    created = sum(1 for kind in model.sim.recorder.kinds if kind == "task_created")
    assert created > 500
    # 4 live + about 24 crashes an hour kept for an hour, with room for chance
    assert most_kept < 80
    assert most_events <= MAX_SERVICE_EVENTS
    described = model.sim.ecs.describe_services(
        cluster=model.cluster_name, services=["api"]
    )["services"][0]["events"]
    assert len(described) == MAX_SERVICE_EVENTS
    times = [event["createdAt"] for event in described]
    assert times == sorted(times, reverse=True)
    assert described[0]["message"] == service.events[-1].message


def test_outcomes_do_not_depend_on_the_retention_window() -> None:
    """The same scenario and seed give the same events and summary whether
    stopped tasks are forgotten at once or kept for the whole run."""
    raw: dict[str, Any] = {
        "name": "same",
        "duration": "6h",
        "services": [
            {
                "name": "worker",
                "desired_count": 3,
                "workload": {
                    "kind": "queue",
                    "arrivals": {"rate": "30/h"},
                    "job_duration": {"distribution": "exponential", "mean": "10m"},
                },
                "protection": {"policy": "per_job", "expires_in": "30m"},
            }
        ],
        "faults": [{"kind": "task_crash", "service": "worker", "rate": "1/h"}],
        "scheduled": [
            {"at": "3h", "action": "set_desired_count", "service": "worker", "count": 1}
        ],
    }
    results = []
    for retention in ("0s", "1h", "7h"):
        raw["ecs"] = {"stopped_task_retention": retention}
        results.append(run(parse_scenario(raw, source="t"), seed=5))
    for other in results[1:]:
        assert other.events.equals(results[0].events)
        assert other.summary.equals(results[0].summary)


def test_agent_rate_limit_buckets_go_with_forgotten_tasks() -> None:
    """Workers that protect themselves through the agent endpoint get one rate
    limit bucket per task, kept on the task; a bucket goes with its forgotten
    task, so a long churning run keeps only the recent ones."""
    raw = {
        "name": "agent-churn",
        "duration": "1d",
        "services": [
            {
                "name": "worker",
                "desired_count": 3,
                "workload": {
                    "kind": "queue",
                    "arrivals": {"rate": "60/h"},
                    "job_duration": {"distribution": "exponential", "mean": "5m"},
                },
                "protection": {"policy": "per_job", "expires_in": "30m"},
            }
        ],
        "faults": [{"kind": "task_crash", "service": "worker", "rate": "6/h"}],
    }
    model = build(parse_scenario(raw, source="t"))
    model.sim.advance(86400)
    gc.collect()
    created = sum(1 for kind in model.sim.recorder.kinds if kind == "task_created")
    assert created > 150
    buckets = [
        o.metadata_rate_limit
        for o in gc.get_objects()
        if isinstance(o, Task) and o.metadata_rate_limit is not None
    ]
    assert 0 < len(buckets) < 60
