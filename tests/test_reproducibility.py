"""One seed, one result: the same calls on the same seed give the same run.

A run here exercises every random choice the control plane and scheduler make
(task ids, deployment ids, event ids, scale-in victims within a zone).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecssim import EcsSettings, Simulation
from ecssim.results.recorder import EVENT_COLUMNS


def _scenario(seed: int, *, read_only_calls: bool = False) -> Simulation:
    """Launch, protect some tasks, scale in, stop one by hand, let protection expire."""
    sim = Simulation(seed=seed, settings=EcsSettings(deployment_blocked="ignore"))
    ecs = sim.ecs

    def look() -> None:
        if read_only_calls:
            ecs.describe_services(cluster="prod", services=["api"])
            ecs.list_tasks(cluster="prod")
            ecs.get_task_protection(cluster="prod")

    ecs.create_cluster(clusterName="prod")
    ecs.register_task_definition(
        family="worker", containerDefinitions=[{"name": "app", "image": "worker"}]
    )
    ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="worker", desiredCount=9
    )
    sim.advance(120)
    look()
    arns = sorted(ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"])
    ecs.update_task_protection(
        cluster="prod", tasks=arns[:2], protectionEnabled=True, expiresInMinutes=15
    )
    ecs.update_service(cluster="prod", service="api", desiredCount=1)
    sim.advance(90)
    look()
    ecs.stop_task(cluster="prod", task=arns[0])
    ecs.run_task(cluster="prod", taskDefinition="worker", count=2)
    sim.advance(1800)
    look()
    ecs.update_service(cluster="prod", service="api", desiredCount=5)
    sim.advance(300)
    ecs.update_service(cluster="prod", service="api", desiredCount=2)
    sim.advance(600)
    return sim


def _task_arns(sim: Simulation) -> list[str]:
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        arns += sim.ecs.list_tasks(cluster="prod", desiredStatus=status)["taskArns"]
    return arns


def _service_without_metadata(sim: Simulation) -> dict[str, Any]:
    return sim.ecs.describe_services(cluster="prod", services=["api"])["services"][0]


def test_same_seed_same_events_and_arns() -> None:
    """The same seed and calls give identical event frames, task ARNs and service
    descriptions."""
    first, second = _scenario(42), _scenario(42)
    pd.testing.assert_frame_equal(first.events(), second.events())
    assert _task_arns(first) == _task_arns(second)
    assert len(_task_arns(first)) > 9
    assert _service_without_metadata(first) == _service_without_metadata(second)


def test_the_scenario_really_draws_victims() -> None:
    """The scenario scales in and stops tasks (so the comparison covers victim choice)."""
    frame = _scenario(42).events()
    kinds = set(frame["kind"])
    assert {"scale_in", "scale_in_blocked", "scale_in_unblocked"} <= kinds
    scale_ins = frame[frame["kind"] == "scale_in"]
    assert len(scale_ins) >= 2


def test_different_seeds_give_different_task_ids() -> None:
    """Two seeds give disjoint task ids."""
    first, second = _scenario(1), _scenario(2)
    ids_1 = {arn.rsplit("/", 1)[1] for arn in _task_arns(first)}
    ids_2 = {arn.rsplit("/", 1)[1] for arn in _task_arns(second)}
    assert len(ids_1) == len(_task_arns(first))
    assert ids_1.isdisjoint(ids_2)


def test_events_frame_has_a_fixed_schema() -> None:
    """The events frame is tidy: the same columns and dtypes whatever happened."""
    empty = Simulation(seed=0).events()
    full = _scenario(0).events()
    assert list(empty.columns) == list(full.columns)
    assert list(full.columns) == list(EVENT_COLUMNS)
    assert empty.dtypes.astype(str).to_dict() == full.dtypes.astype(str).to_dict()
    assert full["time_s"].is_monotonic_increasing


def test_read_only_calls_do_not_change_the_run() -> None:
    """Describe, List and Get calls change nothing: the run's events, task ids and
    scale-in victims are the same with or without them."""
    quiet = _scenario(42)
    watched = _scenario(42, read_only_calls=True)
    assert _task_arns(quiet) == _task_arns(watched)
    pd.testing.assert_frame_equal(quiet.events(), watched.events())
