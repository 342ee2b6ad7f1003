"""Capacity outcomes from synthetic records: instance-hours, idle and held by
protection, bin-packing, waits, kills, Spot notices and dollars."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.results.capacity import (
    Prices,
    Resources,
    capacity_outcomes,
    provider_outcomes,
)
from ecssim.results.recorder import Recorder

PRICES = Prices(instance_hourly_usd=(("m5.large", 0.1),), ec2_spot_discount=0.5)
H = 3600.0


def _events(*rows: tuple[float, str, dict[str, Any]]) -> pd.DataFrame:
    recorder = Recorder()
    for time_s, kind, fields in rows:
        recorder.record(time_s, kind, fields)
    return recorder.events_frame()


def _instance(ec2: str, spot: bool = False) -> dict[str, Any]:
    return {
        "capacity_provider": "cp",
        "ec2_instance": ec2,
        "instance_type": "m5.large",
        "spot": spot,
    }


def _load(ec2: str, tasks: list[str], cpu: int = 0) -> dict[str, Any]:
    return {
        "ec2_instance": ec2,
        "container_instance": f"ci-{ec2}",
        "tasks": tasks,
        "cpu": cpu,
        "memory": cpu * 2,
        "registered_cpu": 2048,
        "registered_memory": 8192,
    }


def _outcomes(events: pd.DataFrame, end: float = 10 * H, **kw: Any) -> pd.Series:
    frame = capacity_outcomes(
        events,
        services=["svc"],
        service_providers={"svc": ["cp"]},
        task_sizes={"svc": Resources(1024, 2048)},
        prices=PRICES,
        duration_s=end,
        **kw,
    )
    return frame.loc["svc"]


def _task(
    time_s: float, kind: str, task: str, **fields: Any
) -> tuple[float, str, dict[str, Any]]:
    return (time_s, kind, {"service": "svc", "task": task, **fields})


def test_one_instance_idle_then_held_then_busy() -> None:
    """An instance launched at 0, registered empty at 1 h, given task t at 2 h
    (RUNNING, protected, idle until 4 h, then busy), terminated at 6 h:
    6 instance-hours, 2 idle, 2 held by protection, CPU half reserved while
    the task is there."""
    events = _events(
        (0.0, "instance_launched", _instance("i-1")),
        (H, "instance_load", _load("i-1", [])),
        _task(2 * H, "task_status", "t", status="RUNNING"),
        (2 * H, "instance_load", _load("i-1", ["t"], cpu=1024)),
        _task(2 * H, "protection_set", "t", expires_at=100 * H),
        _task(4 * H, "task_busy_changed", "t", busy=True),
        (6 * H, "instance_terminated", _instance("i-1") | {"tasks_killed": 1}),
        _task(6 * H, "task_killed_by_instance_termination", "t"),
    )
    row = _outcomes(events)
    assert row["instance_hours"] == pytest.approx(6)
    assert row["idle_instance_hours"] == pytest.approx(2)
    assert row["instance_hours_held_by_protection"] == pytest.approx(2)
    # reserved 1024 of 2048 over 4 of the 5 registered hours
    assert row["cpu_reservation"] == pytest.approx(4 * 1024 / (5 * 2048))
    assert row["tasks_killed_by_instance_termination"] == 1
    assert row["cost_usd"] == pytest.approx(0.6)


def test_held_needs_every_task_protected_and_idle_and_lapses_at_expiry() -> None:
    """Two tasks on one instance: held only while both are protected and idle;
    a protection that expires ends the stretch at its expiry."""
    events = _events(
        (0.0, "instance_launched", _instance("i-1")),
        (0.0, "instance_load", _load("i-1", ["a", "b"])),
        _task(0.0, "task_status", "a", status="RUNNING"),
        _task(0.0, "task_status", "b", status="RUNNING"),
        _task(0.0, "protection_set", "a", expires_at=3 * H),
        _task(H, "protection_set", "b", expires_at=10 * H),
        _task(2 * H, "task_busy_changed", "b", busy=True),
        _task(2.5 * H, "task_busy_changed", "b", busy=False),
    )
    row = _outcomes(events, end=5 * H)
    # both held: 1 h..2 h and 2.5 h..3 h (a lapses at 3 h)
    assert row["instance_hours_held_by_protection"] == pytest.approx(1.5)
    assert row["idle_instance_hours"] == pytest.approx(0)


def test_spot_instances_cost_less_and_measure_from_clips() -> None:
    """A Spot instance costs the discounted price; only the measured window
    counts."""
    events = _events(
        (0.0, "instance_launched", _instance("i-1", spot=True)),
        (H, "spot_interruption_notice", _instance("i-1", spot=True)),
        (4 * H, "instance_terminated", _instance("i-1", spot=True)),
    )
    row = _outcomes(events, measure_from_s=2 * H)
    assert row["instance_hours"] == pytest.approx(2)
    assert row["cost_usd"] == pytest.approx(2 * 0.05)
    assert row["spot_instance_interruptions"] == 0  # the notice was before 2 h
    assert _outcomes(events)["spot_instance_interruptions"] == 1


def test_waits_count_tasks_and_take_the_95th_percentile() -> None:
    """Tasks that waited for room are counted; the p95 is over their waits."""
    rows = []
    for n in range(20):
        rows.append(
            _task(n, "task_waiting_for_capacity", f"t{n}", capacity_provider="cp")
        )
        rows.append(_task(n + 10 * n, "task_placed", f"t{n}", waited_s=10.0 * n))
    row = _outcomes(_events(*rows))
    assert row["tasks_waited_for_capacity"] == 20
    # t0 was placed at once (0 s is no wait): p95 of 10, 20 .. 190 s
    assert row["capacity_wait_p95_s"] == pytest.approx(181)


def test_fargate_only_service_has_nan_instance_figures_and_fargate_dollars() -> None:
    """A Fargate service: NaN instance-hours, zero counts, and its tasks cost
    vCPU-hours and GB-hours from PENDING to STOPPED (FARGATE_SPOT discounted)."""
    events = _events(
        _task(0.0, "task_created", "a", capacity="FARGATE"),
        _task(0.0, "task_created", "b", capacity="FARGATE_SPOT"),
        _task(0.0, "task_status", "a", status="PENDING"),
        _task(0.0, "task_status", "b", status="PENDING"),
        _task(H, "task_status", "a", status="STOPPED"),
    )
    frame = capacity_outcomes(
        events,
        services=["svc"],
        service_providers={"svc": ["FARGATE"]},
        task_sizes={"svc": Resources(1024, 2048)},
        prices=Prices(),
        duration_s=2 * H,
    )
    row = frame.loc["svc"]
    assert math.isnan(row["instance_hours"])
    assert row["tasks_waited_for_capacity"] == 0
    hourly = 0.04048 + 2 * 0.004445
    assert row["cost_usd"] == pytest.approx(hourly + 2 * hourly * 0.3)


def test_provider_outcomes_sum_the_group() -> None:
    """The cluster view: one row per provider with its instances and kills."""
    events = _events(
        (0.0, "instance_launched", _instance("i-1")),
        (0.0, "instance_launched", _instance("i-2")),
        (H, "instance_terminated", _instance("i-1") | {"tasks_killed": 2}),
        (H, "asg_scale_in_blocked", {"capacity_provider": "cp"}),
    )
    frame = provider_outcomes(events, prices=PRICES, duration_s=2 * H)
    row = frame.set_index("capacity_provider").loc["cp"]
    assert row["instances_launched"] == 2
    assert row["instance_hours"] == pytest.approx(3)
    assert row["tasks_killed_by_instance_termination"] == 2
    assert row["asg_scale_ins_blocked"] == 1
    assert provider_outcomes(_events(), prices=PRICES, duration_s=H).empty


# ---- a provider shared by services ------------------------------------------------

SIZES = {
    "a": Resources(1024, 2048),
    "b": Resources(512, 1024),
    "logs": Resources(256, 512),
}


def _shared(events: pd.DataFrame, end: float, services: list[str]) -> pd.DataFrame:
    return capacity_outcomes(
        events,
        services=services,
        service_providers={s: ["cp"] for s in services},
        task_sizes=SIZES,
        prices=PRICES,
        duration_s=end,
    )


def _created(
    time_s: float, service: str, task: str
) -> tuple[float, str, dict[str, Any]]:
    return (time_s, "task_created", {"service": service, "task": task})


def test_a_shared_provider_splits_by_reserved_cpu_over_time() -> None:
    """Tasks a1 (1024 CPU, service a) and b1 (512, service b) share an instance
    for 2 h, a1 stays alone 1 h, then the instance is empty 1 h: a holds 2/3 of
    the first 2 h and the next hour, and of the empty hour its share over the
    instance's life (3072 of 4096 CPU-hours): 3.083 h to b's 0.917 h, which
    add up to the provider's 4 h, with the cost split alike."""
    events = _events(
        _created(0.0, "a", "a1"),
        _created(0.0, "b", "b1"),
        (0.0, "instance_launched", _instance("i-1")),
        (0.0, "instance_load", _load("i-1", ["a1", "b1"], cpu=1536)),
        (2 * H, "instance_load", _load("i-1", ["a1"], cpu=1024)),
        (3 * H, "instance_load", _load("i-1", [])),
        (4 * H, "instance_terminated", _instance("i-1") | {"tasks_killed": 0}),
    )
    frame = _shared(events, 5 * H, ["a", "b"])
    assert frame.loc["a", "instance_hours"] == pytest.approx(4 / 3 + 1 + 0.75)
    assert frame.loc["b", "instance_hours"] == pytest.approx(2 / 3 + 0.25)
    assert frame.loc["a", "idle_instance_hours"] == pytest.approx(0.75)
    assert frame.loc["b", "idle_instance_hours"] == pytest.approx(0.25)
    assert frame.loc["a", "cost_usd"] + frame.loc["b", "cost_usd"] == pytest.approx(0.4)
    provider = provider_outcomes(events, prices=PRICES, duration_s=5 * H).iloc[0]
    assert provider["instance_hours"] == pytest.approx(4)
    # bin-packing stays the provider's whole figure in both rows
    assert frame.loc["a", "cpu_reservation"] == frame.loc["b", "cpu_reservation"]


def test_daemon_tasks_take_their_share_and_empty_providers_split_evenly() -> None:
    """A daemon task (256 CPU) next to a worker (1024) takes 1/5 of the hour;
    an instance that never had a task splits evenly between the services."""
    daemon_load = _load("i-1", ["a1"], cpu=1280) | {"daemons": ["d1"]}
    events = _events(
        _created(0.0, "a", "a1"),
        _created(0.0, "logs", "d1"),
        (0.0, "instance_launched", _instance("i-1")),
        (0.0, "instance_load", daemon_load),
        (H, "instance_terminated", _instance("i-1") | {"tasks_killed": 0}),
    )
    frame = _shared(events, H, ["a", "logs"])
    assert frame.loc["logs", "instance_hours"] == pytest.approx(0.2)
    assert frame.loc["a", "instance_hours"] == pytest.approx(0.8)
    empty = _events(
        (0.0, "instance_launched", _instance("i-2")),
        (2 * H, "instance_terminated", _instance("i-2") | {"tasks_killed": 0}),
    )
    frame = _shared(empty, 3 * H, ["a", "b"])
    assert list(frame["instance_hours"]) == pytest.approx([1.0, 1.0])
    assert list(frame["idle_instance_hours"]) == pytest.approx([1.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.1, 3.0),
            st.lists(st.sampled_from(["a1", "a2", "b1", "b2", "x"]), unique=True),
            st.lists(st.sampled_from(["d1", "d2"]), unique=True),
        ),
        min_size=1,
        max_size=8,
    ),
    st.floats(0.0, 2.0),
)
def test_service_shares_add_up_to_the_provider(
    stretches: list[tuple[float, list[str], list[str]]], measure_from: float
) -> None:
    """Whatever the loads, the services' instance-hours, idle hours and
    cost add up to the provider's (no task outside a service here)."""
    rows: list[tuple[float, str, dict[str, Any]]] = [
        _created(0.0, "a", "a1"),
        _created(0.0, "a", "a2"),
        _created(0.0, "b", "b1"),
        _created(0.0, "b", "b2"),
        _created(0.0, "b", "x"),
        _created(0.0, "logs", "d1"),
        _created(0.0, "logs", "d2"),
        (0.0, "instance_launched", _instance("i-1")),
        (0.2 * H, "instance_launched", _instance("i-2", spot=True)),
    ]
    t = 0.5 * H
    for hours, tasks, daemons in stretches:
        rows.append((t, "instance_load", _load("i-1", tasks) | {"daemons": daemons}))
        t += hours * H
    rows.append((t, "instance_terminated", _instance("i-1") | {"tasks_killed": 0}))
    events = _events(*sorted(rows, key=lambda r: r[0]))
    end = t + H
    frame = capacity_outcomes(
        events,
        services=["a", "b", "logs"],
        service_providers={s: ["cp"] for s in ("a", "b", "logs")},
        task_sizes=SIZES,
        prices=PRICES,
        duration_s=end,
        measure_from_s=measure_from * H,
    )
    provider = provider_outcomes(
        events, prices=PRICES, duration_s=end, measure_from_s=measure_from * H
    ).iloc[0]
    for column in ("instance_hours", "idle_instance_hours", "cost_usd"):
        assert frame[column].sum() == pytest.approx(provider[column], abs=1e-9)
    assert frame["instance_hours_held_by_protection"].sum() == pytest.approx(
        provider["instance_hours_held_by_protection"], abs=1e-9
    )
