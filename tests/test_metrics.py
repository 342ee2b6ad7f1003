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

from ecssim.results.metrics import (
    CLOUDFORMATION_TIMEOUT_S,
    STANDALONE,
    SUMMARY_COLUMNS,
    summarize,
)
from ecssim.results.recorder import Recorder
from ecssim.sim.sampler import TIMESERIES_COLUMNS
from ecssim.sim.workloads import JOB_COLUMNS, SESSION_COLUMNS

HOUR = 3600.0
Event = tuple[float, str, dict[str, Any]]


def _events(*rows: Event) -> pd.DataFrame:
    recorder = Recorder()
    for time_s, kind, fields in rows:
        recorder.record(time_s, kind, fields)
    return recorder.events_frame()


def _timeseries(*rows: dict[str, Any]) -> pd.DataFrame:
    """Rows given as dicts; unnamed counts are 0, service defaults to ``svc``."""
    full = [
        {c: row.get(c, "svc" if c == "service" else 0) for c in TIMESERIES_COLUMNS}
        for row in rows
    ]
    return pd.DataFrame.from_records(full, columns=list(TIMESERIES_COLUMNS))


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
    timeseries: pd.DataFrame | None = None,
    jobs: pd.DataFrame | None = None,
    sessions: pd.DataFrame | None = None,
    *,
    services: tuple[str, ...] = ("svc",),
    duration_s: float = 4 * HOUR,
    sample_interval_s: float = 1800.0,
) -> pd.DataFrame:
    return summarize(
        events if events is not None else _events(),
        timeseries if timeseries is not None else _timeseries(),
        jobs if jobs is not None else _jobs(),
        sessions if sessions is not None else _sessions(),
        services=services,
        duration_s=duration_s,
        sample_interval_s=sample_interval_s,
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
    assert nan_columns == [
        "convergence_delay_max_s",
        "convergence_delay_mean_s",
        "queue_wait_p50_s",
        "queue_wait_p95_s",
        "queue_wait_p99_s",
        "session_wait_p95_s",
    ]


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


# ---- capacity from samples ----------------------------------------------------------------------
def test_task_hours_come_from_the_samples() -> None:
    """Each sample stands for one interval: counts x 0.5 h at a 30-minute interval."""
    series = _timeseries(
        {
            "time_s": 0.0,
            "desired": 2,
            "running": 2,
            "busy": 1,
            "idle": 1,
            "protected": 1,
        },
        {
            "time_s": 1800.0,
            "desired": 1,
            "running": 3,
            "busy": 1,
            "idle": 2,
            "protected": 3,
            "idle_protected": 2,
            "above_desired_protected": 2,
        },
        {
            "time_s": 3600.0,
            "desired": 1,
            "running": 2,
            "busy": 0,
            "idle": 2,
            "protected": 1,
            "idle_protected": 1,
            "above_desired_protected": 1,
        },
        {"time_s": 5400.0, "desired": 1, "running": 1, "busy": 1, "idle": 0},
        {"time_s": 0.0, "service": "other", "desired": 9, "running": 9, "idle": 9},
    )
    row = _row(_summary(timeseries=series))
    assert _nonzero(row) == {
        "task_hours": 4.0,
        "busy_task_hours": 1.5,
        "idle_task_hours": 2.5,
        "protected_task_hours": 2.5,
        "idle_protected_task_hours": 1.5,
        "hours_above_desired": 1.0,
        "protected_surplus_task_hours": 1.5,
    }


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


def test_convergence_delay_is_from_a_drop_to_the_first_converged_sample() -> None:
    """A desired-count drop converges at the first later sample with running <= desired;
    raises are ignored."""
    events = _events(
        (
            1000.0,
            "desired_count_changed",
            {"service": "svc", "previous": 4, "desired_count": 2},
        ),
        (
            4000.0,
            "desired_count_changed",
            {"service": "svc", "previous": 2, "desired_count": 5},
        ),
        (
            7300.0,
            "desired_count_changed",
            {"service": "svc", "previous": 5, "desired_count": 1},
        ),
    )
    series = _timeseries(
        {"time_s": 0.0, "desired": 4, "running": 4},
        {"time_s": 1800.0, "desired": 2, "running": 3},
        {"time_s": 3600.0, "desired": 2, "running": 2},
        {"time_s": 5400.0, "desired": 5, "running": 5},
        {"time_s": 7200.0, "desired": 5, "running": 5},
        {"time_s": 9000.0, "desired": 1, "running": 1},
    )
    row = _row(_summary(events, series, duration_s=10800.0))
    delays = [3600.0 - 1000.0, 9000.0 - 7300.0]
    assert row["convergence_delay_mean_s"] == pytest.approx(np.mean(delays))
    assert row["convergence_delay_max_s"] == pytest.approx(max(delays))


def test_a_drop_that_never_converges_has_no_delay() -> None:
    """A drop with no converged sample afterwards contributes no delay (NaN)."""
    events = _events(
        (
            1000.0,
            "desired_count_changed",
            {"service": "svc", "previous": 4, "desired_count": 2},
        ),
    )
    series = _timeseries(
        {"time_s": 0.0, "desired": 4, "running": 4},
        {"time_s": 1800.0, "desired": 2, "running": 4},
    )
    row = _row(_summary(events, series))
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
    assert _nonzero(row) == {
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
