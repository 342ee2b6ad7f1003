"""``ecssim.results.metrics.summarize`` over small hand-built frames.

Events are built with the real :class:`~ecssim.results.recorder.Recorder`, so they have
the run's exact schema; the other frames use the runner's column tuples. Each
test checks the columns it is about and that the rest stay at their zero value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.results.capacity import CAPACITY_COLUMNS
from ecssim.results.metrics import (
    _COUNTS,
    CLOUDFORMATION_TIMEOUT_S,
    OCCUPANCY_FIELDS,
    OCCUPANCY_KINDS,
    STANDALONE,
    SUMMARY_COLUMNS,
    _steps,
    occupancy,
    occupancy_of,
    summarize,
)
from ecssim.results.recorder import Recorder
from ecssim.sim.workloads import JOB_COLUMNS, SESSION_COLUMNS

HOUR = 3600.0
Event = tuple[float, str, dict[str, Any]]


def _events(*rows: Event) -> pd.DataFrame:
    recorder = Recorder()
    for time_s, kind, fields in rows:
        recorder.record(time_s, kind, fields)
    return recorder.events_frame()


def _jobs(*rows: dict[str, Any]) -> pd.DataFrame:
    defaults = {
        "service": "svc",
        "first_start_s": float("nan"),
        "end_s": float("nan"),
        "outcome": "queued",
        "receives": 0,
        "interruptions": 0,
        "lost_work_s": 0.0,
        "duration_s": 600.0,
        "task": None,
    }
    full = [{**defaults, "job": i, **row} for i, row in enumerate(rows)]
    frame = pd.DataFrame.from_records(full, columns=list(JOB_COLUMNS))
    return frame.astype({"first_start_s": "float64", "end_s": "float64"})


def _sessions(*rows: dict[str, Any]) -> pd.DataFrame:
    defaults = {
        "service": "svc",
        "start_s": float("nan"),
        "end_s": float("nan"),
        "outcome": "waiting",
        "duration_s": 600.0,
        "task": None,
    }
    full = [{**defaults, "session": i, **row} for i, row in enumerate(rows)]
    frame = pd.DataFrame.from_records(full, columns=list(SESSION_COLUMNS))
    return frame.astype({"start_s": "float64", "end_s": "float64"})


def _summary(
    events: pd.DataFrame | None = None,
    jobs: pd.DataFrame | None = None,
    sessions: pd.DataFrame | None = None,
    *,
    services: tuple[str, ...] = ("svc",),
    duration_s: float = 4 * HOUR,
    measure_from_s: float = 0.0,
    workloads: dict[str, str | None] | None = None,
) -> pd.DataFrame:
    return summarize(
        events if events is not None else _events(),
        jobs if jobs is not None else _jobs(),
        sessions if sessions is not None else _sessions(),
        services=services,
        duration_s=duration_s,
        measure_from_s=measure_from_s,
        workloads=workloads,
    )


def _row(summary: pd.DataFrame, service: str = "svc") -> dict[str, Any]:
    rows = summary[summary["service"] == service]
    assert len(rows) == 1
    return {str(k): v for k, v in rows.iloc[0].items()}


def _nonzero(row: dict[str, Any]) -> dict[str, Any]:
    """The columns of *row* that are not 0 or NaN (service excluded)."""
    return {
        k: v
        for k, v in row.items()
        if k != "service" and not (v == 0 or (isinstance(v, float) and math.isnan(v)))
    }


# ---- shape ------------------------------------------------------------------------------------
def test_empty_frames_give_a_row_of_zeros_and_nans() -> None:
    """No events, samples, jobs or sessions: every count 0, every percentile NaN."""
    summary = _summary()
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    row = _row(summary)
    assert _nonzero(row) == {}
    nan_columns = sorted(
        k for k, v in row.items() if isinstance(v, float) and math.isnan(v)
    )
    # the capacity columns come from capacity_outcomes: NaN when none is given
    assert nan_columns == sorted(
        [
            "convergence_delay_max_s",
            "convergence_delay_mean_s",
            "queue_wait_p50_s",
            "queue_wait_p95_s",
            "queue_wait_p99_s",
            "session_wait_p95_s",
            *CAPACITY_COLUMNS,
        ]
    )


def test_one_row_per_service_in_the_given_order() -> None:
    """Services come out in the order given, each with only its own rows counted."""
    jobs = _jobs({"service": "b"}, {"service": "a"}, {"service": "a"})
    summary = _summary(jobs=jobs, services=("b", "a"))
    assert list(summary["service"]) == ["b", "a"]
    assert list(summary["jobs_arrived"]) == [1, 2]


# ---- jobs ---------------------------------------------------------------------------------------
def test_job_counts_and_queue_wait_percentiles() -> None:
    """Outcomes, interruptions, lost work and the wait percentiles of started jobs."""
    jobs = _jobs(
        {"arrival_s": 0.0, "first_start_s": 0.0, "outcome": "completed"},
        {"arrival_s": 5.0, "first_start_s": 15.0, "outcome": "completed"},
        {
            "arrival_s": 10.0,
            "first_start_s": 30.0,
            "outcome": "completed",
            "interruptions": 1,
            "lost_work_s": 360.0,
        },
        {
            "arrival_s": 20.0,
            "first_start_s": 50.0,
            "outcome": "in_flight",
            "interruptions": 2,
            "lost_work_s": 720.0,
        },
        {"arrival_s": 0.0, "first_start_s": 40.0, "outcome": "invisible"},
        {"arrival_s": 100.0, "outcome": "queued"},
        {"arrival_s": 100.0, "first_start_s": 110.0, "outcome": "dead_lettered"},
    )
    events = _events(
        (700.0, "job_redelivered", {"service": "svc", "job": 3}),
        (900.0, "job_redelivered", {"service": "svc", "job": 3}),
        (950.0, "job_redelivered", {"service": "other", "job": 1}),
    )
    row = _row(_summary(events, jobs=jobs))
    waits = [0.0, 10.0, 20.0, 30.0, 40.0, 10.0]
    assert _nonzero(row) == {
        "jobs_arrived": 7,
        "jobs_completed": 3,
        "jobs_in_flight_at_end": 1,
        "jobs_waiting_at_end": 2,
        "jobs_dead_lettered": 1,
        "job_interruptions": 3,
        "jobs_interrupted": 2,
        "jobs_redelivered": 2,
        "lost_work_hours": pytest.approx(0.3),
        "queue_wait_p50_s": pytest.approx(np.percentile(waits, 50)),
        "queue_wait_p95_s": pytest.approx(np.percentile(waits, 95)),
        "queue_wait_p99_s": pytest.approx(np.percentile(waits, 99)),
    }
    assert (row["queue_wait_p50_s"], row["queue_wait_p95_s"]) == pytest.approx(
        (15.0, 37.5)
    )


def test_session_counts_and_wait() -> None:
    """Session outcomes are counted, and the p95 wait covers placed sessions only."""
    sessions = _sessions(
        {"arrival_s": 0.0, "start_s": 0.0, "outcome": "completed"},
        {"arrival_s": 0.0, "start_s": 100.0, "outcome": "completed"},
        {"arrival_s": 50.0, "start_s": 50.0, "outcome": "interrupted"},
        {"arrival_s": 60.0, "end_s": 240.0, "outcome": "dropped"},
        {"arrival_s": 70.0, "start_s": 70.0, "outcome": "connected"},
    )
    row = _row(_summary(sessions=sessions))
    assert _nonzero(row) == {
        "sessions_arrived": 5,
        "sessions_completed": 2,
        "sessions_interrupted": 1,
        "sessions_dropped": 1,
        "session_wait_p95_s": pytest.approx(np.percentile([0, 100, 0, 0], 95)),
    }


# ---- capacity, exactly from events ------------------------------------------------------------
def _status(
    time_s: float, task: str, status: str, service: str | None = "svc"
) -> Event:
    return (time_s, "task_status", {"service": service, "task": task, "status": status})


def _busy(time_s: float, task: str, busy: bool) -> Event:
    return (time_s, "task_busy_changed", {"service": "svc", "task": task, "busy": busy})


def _protect(
    time_s: float, task: str, expires_at: float, kind: str = "protection_set"
) -> Event:
    return (time_s, kind, {"service": "svc", "task": task, "expires_at": expires_at})


def _desired(time_s: float, previous: int, desired: int) -> Event:
    return (
        time_s,
        "desired_count_changed",
        {"service": "svc", "previous": previous, "desired_count": desired},
    )


def test_task_hours_are_integrated_exactly_from_state_changes() -> None:
    """RUNNING, busy and protected time run from one event to the next; protection
    lapses at its expires_at between events; a stop request ends it."""
    events = _events(
        (0.0, "service_created", {"service": "svc", "desired_count": 2}),
        _status(100.0, "a", "RUNNING"),
        _status(200.0, "b", "RUNNING"),
        _busy(300.0, "a", True),
        _protect(300.0, "a", 2100.0),  # lapses at 2100 while a is busy
        _busy(3900.0, "a", False),
        _protect(400.0, "b", 4000.0),
        _desired(1000.0, 2, 1),
        (1500.0, "task_stop_requested", {"service": "svc", "task": "b"}),
        _status(1500.0, "b", "STOPPING"),
        _status(1530.0, "b", "STOPPED"),
        _status(100.0, "x", "RUNNING", service="other"),
    )
    row = _row(_summary(events, duration_s=2 * HOUR))
    busy = 3600.0
    running = (7200 - 100) + (1500 - 200)
    protected_a = 2100 - 300
    protected_b = 1500 - 400  # idle all along
    assert _nonzero(row) == {
        "task_hours": pytest.approx(running / HOUR),
        "busy_task_hours": pytest.approx(busy / HOUR),
        "idle_task_hours": pytest.approx((running - busy) / HOUR),
        "protected_task_hours": pytest.approx((protected_a + protected_b) / HOUR),
        "idle_protected_task_hours": pytest.approx(protected_b / HOUR),
        # desired 1 from 1000 s; two RUNNING until b stops at 1500 s
        "hours_above_desired": pytest.approx(500 / HOUR),
        "protected_surplus_task_hours": pytest.approx(500 / HOUR),
        "convergence_delay_mean_s": pytest.approx(500.0),
        "convergence_delay_max_s": pytest.approx(500.0),
        "protection_set": 2,
        "protection_calls": 2,
        "protection_lapsed_while_busy": 1,
    }


def test_a_renewal_before_expiry_keeps_protection_without_a_lapse() -> None:
    """A renewal moves expires_at on: protected time runs to the new expiry, no lapse."""
    events = _events(
        _status(0.0, "a", "RUNNING"),
        _busy(0.0, "a", True),
        _protect(0.0, "a", 1800.0),
        _protect(1700.0, "a", 3500.0, "protection_renewed"),
        _busy(3000.0, "a", False),
        (
            3000.0,
            "protection_cleared",
            {"service": "svc", "task": "a", "expires_at": None},
        ),
    )
    row = _row(_summary(events, duration_s=HOUR))
    assert row["protected_task_hours"] == pytest.approx(3000 / HOUR)
    assert row["idle_protected_task_hours"] == 0
    assert row["protection_lapsed_while_busy"] == 0
    assert row["task_hours"] == pytest.approx(1.0)


def test_standalone_tasks_have_task_hours() -> None:
    """RunTask tasks (no service) count their RUNNING time in the standalone row."""
    events = _events(
        *(_status(330.0, t, "RUNNING", service=None) for t in ("s1", "s2", "s3")),
    )
    row = _row(_summary(events, duration_s=7200.0), STANDALONE)
    assert row["task_hours"] == pytest.approx(3 * (7200 - 330) / HOUR)
    assert row["hours_above_desired"] == 0
    assert math.isnan(row["jobs_arrived"])
    assert math.isnan(row["sessions_arrived"])


def test_measure_from_leaves_out_the_warm_up() -> None:
    """Time integrals start at measure_from; events, jobs and sessions before it
    are not counted."""
    events = _events(
        (0.0, "service_created", {"service": "svc", "desired_count": 1}),
        _status(0.0, "a", "RUNNING"),
        (100.0, "scale_in", {"service": "svc", "stopped": 1, "surplus": 1}),
        (4000.0, "scale_in", {"service": "svc", "stopped": 2, "surplus": 2}),
        (500.0, "scale_in_blocked", {"service": "svc", "protected_tasks": 1}),
        (5400.0, "scale_in_unblocked", {"service": "svc"}),
        _desired(1000.0, 1, 0),
    )
    jobs = _jobs(
        {"arrival_s": 10.0, "first_start_s": 20.0, "outcome": "completed"},
        {"arrival_s": 4000.0, "first_start_s": 4100.0, "outcome": "completed"},
    )
    row = _row(_summary(events, jobs, duration_s=2 * HOUR, measure_from_s=HOUR))
    assert row["task_hours"] == pytest.approx(1.0)
    assert row["scale_in_decisions"] == 1
    assert row["tasks_stopped_by_scale_in"] == 2
    assert row["blocked_hours"] == pytest.approx(0.5)
    assert row["scale_ins_blocked"] == 0  # it started during the warm-up
    assert row["jobs_arrived"] == 1
    assert row["queue_wait_p50_s"] == pytest.approx(100.0)
    assert math.isnan(row["convergence_delay_mean_s"])  # the drop was before


def test_outcomes_of_another_workload_kind_are_not_applicable() -> None:
    """With workload kinds given, a session service has NaN queue outcomes and a
    queue service NaN session outcomes, not zeros."""
    summary = _summary(
        services=("svc", "games"), workloads={"svc": "queue", "games": "sessions"}
    )
    queue, games = _row(summary), _row(summary, "games")
    assert queue["jobs_arrived"] == 0
    assert math.isnan(queue["sessions_arrived"])
    assert games["sessions_arrived"] == 0
    assert math.isnan(games["jobs_arrived"])
    assert math.isnan(games["protection_expired_while_busy"])
    assert games["protection_lapsed_while_busy"] == 0


# ---- scale-in -----------------------------------------------------------------------------------
def test_scale_in_decisions_and_tasks_stopped() -> None:
    """scale_in events count decisions; their ``stopped`` fields add up to tasks stopped."""
    events = _events(
        (100.0, "scale_in", {"service": "svc", "stopped": 2, "surplus": 2}),
        (700.0, "scale_in", {"service": "svc", "stopped": 1, "surplus": 3}),
        (800.0, "scale_in", {"service": "other", "stopped": 5, "surplus": 5}),
    )
    assert _nonzero(_row(_summary(events))) == {
        "scale_in_decisions": 2,
        "tasks_stopped_by_scale_in": 3,
    }


def test_blocked_hours_run_from_blocked_to_unblocked_or_the_end() -> None:
    """Blocked time is summed per episode; an episode still open runs to the end."""
    events = _events(
        (1000.0, "scale_in_blocked", {"service": "svc", "protected_tasks": 2}),
        (2800.0, "scale_in_unblocked", {"service": "svc"}),
        (10800.0, "scale_in_blocked", {"service": "svc", "protected_tasks": 1}),
    )
    row = _row(_summary(events, duration_s=4 * HOUR))
    assert row["blocked_hours"] == pytest.approx((1800 + 3600) / HOUR)
    assert row["scale_ins_blocked"] == 2


def test_a_blocked_episode_whose_task_count_changes_is_counted_once() -> None:
    """A second scale_in_blocked while already blocked (fewer protected tasks) continues
    the episode: one blocking, one stretch of blocked hours."""
    events = _events(
        (1000.0, "scale_in_blocked", {"service": "svc", "protected_tasks": 4}),
        (1900.0, "scale_in_blocked", {"service": "svc", "protected_tasks": 2}),
        (2800.0, "scale_in_unblocked", {"service": "svc"}),
    )
    row = _row(_summary(events))
    assert row["blocked_hours"] == pytest.approx(0.5)
    assert row["scale_ins_blocked"] == 1


def test_convergence_delay_runs_from_a_drop_to_running_at_or_below_desired() -> None:
    """A desired-count drop converges the moment running <= desired (exactly, from
    task_status events); raises are ignored; a drop already met converges at once."""
    events = _events(
        (0.0, "service_created", {"service": "svc", "desired_count": 2}),
        _status(0.0, "a", "RUNNING"),
        _status(0.0, "b", "RUNNING"),
        _desired(1000.0, 2, 1),
        _status(1015.0, "b", "STOPPING"),
        _desired(4000.0, 1, 3),
        _desired(7300.0, 3, 1),
    )
    row = _row(_summary(events, duration_s=10800.0))
    delays = [15.0, 0.0]
    assert row["convergence_delay_mean_s"] == pytest.approx(np.mean(delays))
    assert row["convergence_delay_max_s"] == pytest.approx(max(delays))


def test_a_drop_that_never_converges_has_no_delay() -> None:
    """A drop with running above desired until the end contributes no delay (NaN)."""
    events = _events(
        (0.0, "service_created", {"service": "svc", "desired_count": 4}),
        *(_status(0.0, t, "RUNNING") for t in "abcd"),
        _desired(1000.0, 4, 2),
    )
    row = _row(_summary(events))
    assert math.isnan(row["convergence_delay_mean_s"])
    assert math.isnan(row["convergence_delay_max_s"])


# ---- deployments ------------------------------------------------------------------------------------
def _task(time_s: float, task: str, deployment: str) -> list[Event]:
    return [
        (
            time_s,
            "task_created",
            {"service": "svc", "task": task, "deployment": deployment},
        ),
        (
            time_s + 30,
            "task_status",
            {"service": "svc", "task": task, "status": "RUNNING"},
        ),
    ]


def _stopping(time_s: float, task: str) -> list[Event]:
    return [
        (time_s, "task_status", {"service": "svc", "task": task, "status": "STOPPING"}),
        (
            time_s + 40,
            "task_status",
            {"service": "svc", "task": task, "status": "STOPPED"},
        ),
    ]


def test_deployment_durations_and_the_cloudformation_flag() -> None:
    """Rollouts after the first: one completes in 1000 s; one is still IN_PROGRESS at the
    end after 15000 s, longer than CloudFormation's 3 hours."""
    rows: list[Event] = [
        (0.0, "deployment_started", {"service": "svc", "deployment": "d1"}),
        *_task(0.0, "a", "d1"),
        (1000.0, "deployment_started", {"service": "svc", "deployment": "d2"}),
        *_task(1000.0, "b", "d2"),
        *_stopping(3000.0, "a"),
        (2000.0, "deployment_completed", {"service": "svc", "deployment": "d2"}),
        (5000.0, "deployment_started", {"service": "svc", "deployment": "d3"}),
        *_task(5000.0, "c", "d3"),
    ]
    rows.sort(key=lambda r: r[0])
    row = _row(_summary(_events(*rows), duration_s=20000.0))
    assert CLOUDFORMATION_TIMEOUT_S == 3 * HOUR
    # old revisions: a ran 1000..3000 after d2 started; b ran 5000..20000 after d3 started
    capacity = {"task_hours", "idle_task_hours"}  # tested above
    assert {k: v for k, v in _nonzero(row).items() if k not in capacity} == {
        "deployments_started": 2,
        "deployments_completed": 1,
        "deployments_in_progress_at_end": 1,
        "deployment_duration_max_s": 15000.0,
        "deployments_over_cloudformation_timeout": 1,
        "old_revision_task_hours": pytest.approx((2000.0 + 15000.0) / HOUR),
    }


def test_a_failed_rollout_is_finished_but_not_completed() -> None:
    """A rollout failed by the circuit breaker ends at its failure and is not in progress."""
    events = _events(
        (0.0, "deployment_started", {"service": "svc", "deployment": "d1"}),
        (600.0, "deployment_started", {"service": "svc", "deployment": "d2"}),
        (
            900.0,
            "deployment_failed",
            {"service": "svc", "deployment": "d2", "failed_tasks": 3},
        ),
    )
    assert _nonzero(_row(_summary(events))) == {
        "deployments_started": 1,
        "deployments_failed": 1,
        "deployment_duration_max_s": 300.0,
    }


# ---- protection API and faults ------------------------------------------------------------------------
def test_protection_calls_and_failures_by_reason() -> None:
    """Calls, sets, renewals, clears, failures by reason, throttles and injected errors."""
    svc = {"service": "svc", "task": "t1"}
    events = _events(
        (1.0, "protection_set", {**svc, "expires_at": 61.0}),
        (2.0, "protection_renewed", {**svc, "expires_at": 62.0}),
        (3.0, "protection_renewed", {**svc, "expires_at": 63.0}),
        (4.0, "protection_cleared", {**svc, "expires_at": None}),
        (
            5.0,
            "protection_failed",
            {**svc, "reason": "DEPLOYMENT_BLOCKED", "enabled": True},
        ),
        (
            6.0,
            "protection_failed",
            {**svc, "reason": "DEPLOYMENT_BLOCKED", "enabled": True},
        ),
        (
            7.0,
            "protection_failed",
            {**svc, "reason": "TASK_NOT_VALID", "enabled": True},
        ),
        (8.0, "protection_failed", {**svc, "reason": "MISSING", "enabled": True}),
        (9.0, "protection_throttled", {**svc}),
        (
            10.0,
            "protection_call_error",
            {**svc, "code": "ServerException", "injected": True},
        ),
        (11.0, "protection_rejected", {**svc, "reason": "DEPLOYMENT_BLOCKED"}),
        (12.0, "protection_expired_while_busy", {**svc, "job": 3}),
    )
    assert _nonzero(_row(_summary(events))) == {
        "protection_calls": 10,
        "protection_set": 1,
        "protection_renewals": 2,
        "protection_cleared": 1,
        "failures_task_not_valid": 1,
        "failures_deployment_blocked": 2,
        "failures_missing": 1,
        "throttles": 1,
        "injected_api_errors": 1,
        "protection_expired_while_busy": 1,
    }


def test_faults_kills_and_hangs_are_counted() -> None:
    """task_killed, worker_hung and fault_injected kinds feed their own columns."""
    svc = {"service": "svc", "task": "t1"}
    events = _events(
        (1.0, "task_killed", {**svc, "stop_timeout_s": 30.0}),
        (2.0, "worker_hung", {**svc, "still_renewing": True}),
        (3.0, "fault_injected", {**svc, "fault": "worker_hang"}),
        (4.0, "fault_injected", {**svc, "fault": "task_crash"}),
        (5.0, "fault_injected", {**svc, "fault": "task_crash"}),
        (6.0, "fault_injected", {**svc, "fault": "spot_interruption"}),
        (7.0, "fault_skipped", {"service": "svc", "fault": "spot_interruption"}),
    )
    assert _nonzero(_row(_summary(events))) == {
        "tasks_killed": 1,
        "worker_hangs": 1,
        "task_crashes": 2,
        "spot_interruptions": 1,
    }


def test_standalone_task_events_get_a_row_of_their_own() -> None:
    """Events of tasks without a service are summarised in a '(standalone tasks)' row."""
    events = _events(
        (
            300.0,
            "protection_failed",
            {"service": None, "task": "s1", "reason": "TASK_NOT_VALID"},
        ),
        (
            300.0,
            "protection_failed",
            {"service": None, "task": "s2", "reason": "TASK_NOT_VALID"},
        ),
        (400.0, "protection_set", {"service": "svc", "task": "t1", "expires_at": 1.0}),
        (500.0, "scheduled_action", {"service": None, "action": "deploy"}),
    )
    summary = _summary(events)
    assert list(summary["service"]) == ["svc", STANDALONE]
    assert _nonzero(_row(summary, STANDALONE)) == {
        "protection_calls": 2,
        "failures_task_not_valid": 2,
    }
    assert _nonzero(_row(summary)) == {"protection_calls": 1, "protection_set": 1}


def test_no_standalone_row_without_standalone_events() -> None:
    """Service-less events without a task (scheduler chatter) add no standalone row."""
    events = _events((1.0, "scheduled_action", {"service": None, "action": "deploy"}))
    assert list(_summary(events)["service"]) == ["svc"]


# ---- exact integrals against a second-by-second reference ---------------------------------------
_TASK_EVENTS = st.lists(
    st.tuples(
        st.integers(0, 119),
        st.sampled_from("abc"),
        st.sampled_from(
            [
                "running",
                "stopping",
                "busy",
                "idle",
                "protect",
                "renew",
                "clear",
                "stop_requested",
            ]
        ),
        st.integers(1, 90),
    ),
    max_size=40,
)


def _as_event(time_s: int, task: str, what: str, length: int) -> Event:
    fields: dict[str, Any] = {"service": "svc", "task": task}
    if what in ("running", "stopping"):
        return (float(time_s), "task_status", {**fields, "status": what.upper()})
    if what in ("busy", "idle"):
        return (float(time_s), "task_busy_changed", {**fields, "busy": what == "busy"})
    if what == "clear":
        return (float(time_s), "protection_cleared", {**fields, "expires_at": None})
    if what == "stop_requested":
        return (float(time_s), "task_stop_requested", fields)
    kind = "protection_set" if what == "protect" else "protection_renewed"
    return (float(time_s), kind, {**fields, "expires_at": float(time_s + length)})


@given(_TASK_EVENTS)
def test_exact_integrals_match_a_second_by_second_count(
    raw: list[tuple[int, str, str, int]],
) -> None:
    """With every change on a whole second, the exact integrals equal counting
    each task's state second by second (the state after all events at that second)."""
    end = 120
    rows = sorted(raw, key=lambda r: r[0])
    events = _events(*(_as_event(*r) for r in rows))
    row = _row(_summary(events, duration_s=float(end)))
    totals = dict.fromkeys(("running", "busy", "protected", "idle_protected"), 0)
    for second in range(end):
        for task in "abc":
            running = busy = False
            holder = True
            expires: float | None = None
            for time_s, name, what, length in rows:
                if name != task or time_s > second:
                    continue
                if what in ("running", "stopping"):
                    running = what == "running"
                elif what in ("busy", "idle"):
                    busy = what == "busy"
                elif what == "clear":
                    expires = None
                elif what == "stop_requested":
                    holder = False
                else:
                    expires = float(time_s + length)
            protected = running and holder and expires is not None and second < expires
            totals["running"] += running
            totals["busy"] += busy
            totals["protected"] += protected
            totals["idle_protected"] += protected and not busy
    assert row["task_hours"] == pytest.approx(totals["running"] / HOUR)
    assert row["busy_task_hours"] == pytest.approx(totals["busy"] / HOUR)
    assert row["protected_task_hours"] == pytest.approx(totals["protected"] / HOUR)
    assert row["idle_protected_task_hours"] == pytest.approx(
        totals["idle_protected"] / HOUR
    )


@given(_TASK_EVENTS)
def test_the_occupancy_from_the_recorder_is_the_one_from_the_events_frame(
    raw: list[tuple[int, str, str, int]],
) -> None:
    """A run's occupancy, taken straight from the recorder's columns, has exactly
    the steps and lapses of the one decoded from the events frame."""
    recorder = Recorder()
    recorder.record(0.0, "service_created", {"service": "svc", "desired_count": 2})
    for time_s, kind, fields in (_as_event(*r) for r in sorted(raw)):
        recorder.record(time_s, kind, fields)
    recorder.record(
        60.0,
        "desired_count_changed",
        {"service": "svc", "previous": 2, "desired_count": 1, "cause": "x"},
    )
    from_frame = occupancy(recorder.events_frame(), 120.0)
    positions, times, kinds, fields = recorder.select(OCCUPANCY_KINDS, OCCUPANCY_FIELDS)
    from_columns = occupancy_of(positions, times, kinds, fields, 120.0)
    pd.testing.assert_frame_equal(
        from_frame.steps, from_columns.steps, check_exact=True
    )
    assert from_frame.lapses_while_busy == from_columns.lapses_while_busy
    assert list(from_frame.lapses_while_busy) == sorted(from_frame.lapses_while_busy)


def test_a_lapse_while_busy_is_kept_with_the_time_it_expired() -> None:
    """Protection that expires between a task's events while it is busy is one lapse
    at its expiry; idle at expiry is no lapse."""
    events = _events(
        (0.0, "task_status", {"service": "svc", "task": "a", "status": "RUNNING"}),
        (0.0, "task_status", {"service": "svc", "task": "b", "status": "RUNNING"}),
        (1.0, "task_busy_changed", {"service": "svc", "task": "a", "busy": True}),
        (2.0, "protection_set", {"service": "svc", "task": "a", "expires_at": 10.0}),
        (2.0, "protection_set", {"service": "svc", "task": "b", "expires_at": 5.0}),
        (20.0, "task_busy_changed", {"service": "svc", "task": "a", "busy": False}),
    )
    track = occupancy(events, 30.0)
    assert track.lapses_while_busy == (10.0,)
    assert track.steps["protected"].tolist() == [0, 0, 2, 1, 0, 0]
    assert track.steps["time_s"].tolist() == [0.0, 1.0, 2.0, 5.0, 10.0, 20.0]


_CHANGES = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 1.0, 2.5, 2.5, 7.0, 9.0, 12.0]),
            st.sampled_from(list(_COUNTS)),
            st.integers(-3, 3),
        ),
        max_size=12,
    ),
    max_size=4,
)


@given(_CHANGES, st.sampled_from([0.0, 2.5, 8.0, 12.0, 20.0]))
def test_the_steps_are_the_changes_summed_per_moment_then_accumulated(
    parts: list[list[tuple[float, str, int]]], end_s: float
) -> None:
    """Whatever the parts (each listing the changes of some counts, unsorted,
    moments shared between parts), each step is every change up to its moment
    summed, one row per moment before *end_s*."""
    times = [np.array([t for t, _, _ in part]) for part in parts]
    changes = []
    for part in parts:
        found: dict[str, np.ndarray] = {}
        for name in {n for _, n, _ in part}:
            found[name] = np.array(
                [d if n == name else 0 for _, n, d in part],
                dtype=np.int64 if name == "desired" else np.int8,
            )
        changes.append(found)
    steps = _steps(times, changes, end_s, desired_known=True)
    every = sorted((t, n, d) for part in parts for t, n, d in part)
    moments = sorted({t for t, _, _ in every if t < end_s})
    assert steps["time_s"].tolist() == moments
    for name in _COUNTS:
        expected = [
            sum(d for t, n, d in every if n == name and t <= m) for m in moments
        ]
        assert steps[name].tolist() == expected, name
