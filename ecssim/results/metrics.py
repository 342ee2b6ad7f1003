"""Outcome metrics: pure pandas over a run's recorded frames.

:func:`summarize` turns the events, the time series, the jobs and the sessions
of one run into one row per service with every outcome DESIGN §5 asks for,
named in plain words with their unit. Nothing here knows about SimPy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

#: CloudFormation's update-stack timeout: a rollout longer than this fails the stack.
CLOUDFORMATION_TIMEOUT_S: Final = 3 * 3600.0
STANDALONE: Final = "(standalone tasks)"

#: Every column of a summary, in order, with what it means.
SUMMARY_COLUMNS: Final[dict[str, str]] = {
    "service": "service name",
    "jobs_arrived": "queue messages that arrived",
    "jobs_completed": "messages processed to the end",
    "jobs_in_flight_at_end": "messages held by a worker when the run ended",
    "jobs_waiting_at_end": "messages queued or invisible when the run ended",
    "jobs_dead_lettered": "messages moved to the dead-letter queue",
    "job_interruptions": "times a worker was killed or gave up mid-job",
    "jobs_interrupted": "messages interrupted at least once",
    "jobs_redelivered": "times a message came back after its visibility timeout",
    "lost_work_hours": "hours of work thrown away by interruptions",
    "queue_wait_p50_s": "median wait from arrival to first start [s]",
    "queue_wait_p95_s": "95th percentile wait from arrival to first start [s]",
    "queue_wait_p99_s": "99th percentile wait from arrival to first start [s]",
    "sessions_arrived": "game sessions that asked for a slot",
    "sessions_completed": "sessions that ended normally",
    "sessions_interrupted": "sessions cut off because their task stopped",
    "sessions_dropped": "sessions that waited too long for a slot",
    "session_wait_p95_s": "95th percentile wait for a slot [s]",
    "task_hours": "RUNNING task-hours (what you pay for)",
    "busy_task_hours": "task-hours with work in hand",
    "idle_task_hours": "task-hours without work",
    "protected_task_hours": "task-hours with active scale-in protection",
    "idle_protected_task_hours": "idle task-hours kept protected (what protection costs)",
    "hours_above_desired": "hours with more RUNNING tasks than desired",
    "protected_surplus_task_hours": "task-hours kept above desired by protection",
    "scale_in_decisions": "scheduler rounds that stopped tasks for scale-in",
    "tasks_stopped_by_scale_in": "tasks the scheduler stopped as surplus",
    "scale_ins_blocked": "times protection started to block a scale-in or rollout",
    "blocked_hours": "hours during which protection blocked the scheduler",
    "convergence_delay_mean_s": "mean time from a desired-count drop to running <= desired [s]",
    "convergence_delay_max_s": "longest time from a desired-count drop to running <= desired [s]",
    "deployments_started": "rollouts started (the initial one excluded)",
    "deployments_completed": "rollouts that reached COMPLETED",
    "deployments_in_progress_at_end": "rollouts still IN_PROGRESS when the run ended",
    "deployments_failed": "rollouts failed by the circuit breaker",
    "deployment_duration_max_s": "longest rollout, to completion or to the run's end [s]",
    "deployments_over_cloudformation_timeout": "rollouts longer than 3 h (a CloudFormation update would fail)",
    "old_revision_task_hours": "task-hours of old revisions after their replacement started",
    "protection_calls": "UpdateTaskProtection calls that reached ECS or failed on the way",
    "protection_set": "protections enabled on an unprotected task",
    "protection_renewals": "protections renewed while still active",
    "protection_cleared": "protections cleared",
    "failures_task_not_valid": "per-task failures TASK_NOT_VALID",
    "failures_deployment_blocked": "per-task failures DEPLOYMENT_BLOCKED",
    "failures_missing": "per-task failures MISSING",
    "throttles": "ThrottlingException answers (account token bucket)",
    "injected_api_errors": "protection call errors injected by faults",
    "protection_expired_while_busy": "jobs during which the task's protection lapsed",
    "tasks_killed": "tasks SIGKILLed at stopTimeout",
    "worker_hangs": "workers that hung",
    "task_crashes": "tasks whose essential container exited",
    "spot_interruptions": "FARGATE_SPOT tasks interrupted",
}


def _pct(values: pd.Series, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _count(events: pd.DataFrame, kind: str, reason: str | None = None) -> int:
    mask = events["kind"] == kind
    if reason is not None:
        mask &= events["reason"] == reason
    return int(mask.sum())


def _details(events: pd.DataFrame) -> list[dict[str, Any]]:
    return [json.loads(text) for text in events["detail"]]


def _blocked_episodes(events: pd.DataFrame, end_s: float) -> tuple[int, float]:
    """How many times protection started to block the scheduler, and for how
    many hours in all (a repeated ``scale_in_blocked`` inside one episode is
    the same episode)."""
    episodes = 0
    total = 0.0
    since: float | None = None
    for time_s, kind in zip(events["time_s"], events["kind"], strict=True):
        if kind == "scale_in_blocked" and since is None:
            since = time_s
            episodes += 1
        elif kind == "scale_in_unblocked" and since is not None:
            total += time_s - since
            since = None
    if since is not None:
        total += end_s - since
    return episodes, total / 3600


def _convergence(events: pd.DataFrame, timeseries: pd.DataFrame) -> list[float]:
    drops = events[events["kind"] == "desired_count_changed"]
    delays = []
    times = timeseries["time_s"].to_numpy()
    converged = (timeseries["running"] <= timeseries["desired"]).to_numpy()
    for time_s, detail in zip(drops["time_s"], _details(drops), strict=True):
        if detail.get("desired_count", 0) >= detail.get("previous", 0):
            continue
        later = np.nonzero((times >= time_s) & converged)[0]
        if len(later):
            delays.append(float(times[later[0]] - time_s))
    return delays


def _deployments(events: pd.DataFrame, end_s: float) -> dict[str, Any]:
    started = events[events["kind"] == "deployment_started"]
    details = _details(started)
    ids = [d["deployment"] for d in details]
    times = list(started["time_s"])
    done = events[events["kind"].isin(["deployment_completed", "deployment_failed"])]
    finished = {
        d["deployment"]: t for t, d in zip(done["time_s"], _details(done), strict=True)
    }
    completed_ids = {
        d["deployment"]
        for d in _details(events[events["kind"] == "deployment_completed"])
    }
    rollouts = list(zip(ids, times, strict=True))[
        1:
    ]  # the first one creates the service
    durations = [finished.get(i, end_s) - t for i, t in rollouts]
    return {
        "deployments_started": len(rollouts),
        "deployments_completed": sum(1 for i, _ in rollouts if i in completed_ids),
        "deployments_in_progress_at_end": sum(
            1 for i, _ in rollouts if i not in finished
        ),
        "deployments_failed": _count(events, "deployment_failed"),
        "deployment_duration_max_s": max(durations) if durations else 0.0,
        "deployments_over_cloudformation_timeout": sum(
            1 for d in durations if d > CLOUDFORMATION_TIMEOUT_S
        ),
        "old_revision_task_hours": _old_revision_hours(events, rollouts, end_s),
    }


def _old_revision_hours(
    events: pd.DataFrame, rollouts: list[tuple[str, float]], end_s: float
) -> float:
    if not rollouts:
        return 0.0
    created = events[events["kind"] == "task_created"]
    deployment_of = {
        task: json.loads(detail).get("deployment")
        for task, detail in zip(created["task"], created["detail"], strict=True)
    }
    status = events[events["kind"] == "task_status"]
    running_at: dict[str, float] = {}
    stopped_at: dict[str, float] = {}
    for time_s, task, detail in zip(
        status["time_s"], status["task"], status["detail"], strict=True
    ):
        state = json.loads(detail).get("status")
        if state == "RUNNING":
            running_at[task] = time_s
        elif state == "STOPPING":
            stopped_at.setdefault(task, time_s)
    order = {d: i for i, (d, _) in enumerate(rollouts)}
    total = 0.0
    for task, started in running_at.items():
        deployment = deployment_of.get(task) or ""
        stop = stopped_at.get(task, end_s)
        # the first rollout that replaced this task's revision
        later = [t for d, t in rollouts if order.get(deployment, -1) < order[d]]
        if not later:
            continue
        replaced = min(later)
        total += max(0.0, stop - max(started, replaced))
    return total / 3600


def _service_row(
    name: str,
    events: pd.DataFrame,
    timeseries: pd.DataFrame,
    jobs: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    duration_s: float,
    sample_interval_s: float,
) -> dict[str, Any]:
    hours = sample_interval_s / 3600
    waits = (jobs["first_start_s"] - jobs["arrival_s"]).dropna()
    session_waits = (sessions["start_s"] - sessions["arrival_s"]).dropna()
    delays = _convergence(events, timeseries)
    episodes, blocked_hours = _blocked_episodes(events, duration_s)
    outcome = jobs["outcome"]
    row: dict[str, Any] = {
        "service": name,
        "jobs_arrived": len(jobs),
        "jobs_completed": int((outcome == "completed").sum()),
        "jobs_in_flight_at_end": int((outcome == "in_flight").sum()),
        "jobs_waiting_at_end": int(outcome.isin(["queued", "invisible"]).sum()),
        "jobs_dead_lettered": int((outcome == "dead_lettered").sum()),
        "job_interruptions": int(jobs["interruptions"].sum()),
        "jobs_interrupted": int((jobs["interruptions"] > 0).sum()),
        "jobs_redelivered": _count(events, "job_redelivered"),
        "lost_work_hours": float(jobs["lost_work_s"].sum()) / 3600,
        "queue_wait_p50_s": _pct(waits, 50),
        "queue_wait_p95_s": _pct(waits, 95),
        "queue_wait_p99_s": _pct(waits, 99),
        "sessions_arrived": len(sessions),
        "sessions_completed": int((sessions["outcome"] == "completed").sum()),
        "sessions_interrupted": int((sessions["outcome"] == "interrupted").sum()),
        "sessions_dropped": int((sessions["outcome"] == "dropped").sum()),
        "session_wait_p95_s": _pct(session_waits, 95),
        "task_hours": float(timeseries["running"].sum()) * hours,
        "busy_task_hours": float(timeseries["busy"].sum()) * hours,
        "idle_task_hours": float(timeseries["idle"].sum()) * hours,
        "protected_task_hours": float(timeseries["protected"].sum()) * hours,
        "idle_protected_task_hours": float(timeseries["idle_protected"].sum()) * hours,
        "hours_above_desired": float(
            (timeseries["running"] > timeseries["desired"]).sum()
        )
        * hours,
        "protected_surplus_task_hours": float(
            timeseries["above_desired_protected"].sum()
        )
        * hours,
        "scale_in_decisions": _count(events, "scale_in"),
        "tasks_stopped_by_scale_in": int(
            sum(
                d.get("stopped", 0)
                for d in _details(events[events["kind"] == "scale_in"])
            )
        ),
        "scale_ins_blocked": episodes,
        "blocked_hours": blocked_hours,
        "convergence_delay_mean_s": float(np.mean(delays)) if delays else float("nan"),
        "convergence_delay_max_s": float(np.max(delays)) if delays else float("nan"),
    }
    row.update(_deployments(events, duration_s))
    row.update(
        {
            "protection_calls": int(
                events["kind"]
                .isin(
                    [
                        "protection_set",
                        "protection_renewed",
                        "protection_cleared",
                        "protection_failed",
                        "protection_throttled",
                        "protection_call_error",
                    ]
                )
                .sum()
            ),
            "protection_set": _count(events, "protection_set"),
            "protection_renewals": _count(events, "protection_renewed"),
            "protection_cleared": _count(events, "protection_cleared"),
            "failures_task_not_valid": _count(
                events, "protection_failed", "TASK_NOT_VALID"
            ),
            "failures_deployment_blocked": _count(
                events, "protection_failed", "DEPLOYMENT_BLOCKED"
            ),
            "failures_missing": _count(events, "protection_failed", "MISSING"),
            "throttles": _count(events, "protection_throttled"),
            "injected_api_errors": _count(events, "protection_call_error"),
            "protection_expired_while_busy": _count(
                events, "protection_expired_while_busy"
            ),
            "tasks_killed": _count(events, "task_killed"),
            "worker_hangs": _count(events, "worker_hung"),
            "task_crashes": int(
                (
                    (events["kind"] == "fault_injected")
                    & events["detail"].str.contains('"task_crash"', regex=False)
                ).sum()
            ),
            "spot_interruptions": int(
                (
                    (events["kind"] == "fault_injected")
                    & events["detail"].str.contains('"spot_interruption"', regex=False)
                ).sum()
            ),
        }
    )
    return row


def summarize(
    events: pd.DataFrame,
    timeseries: pd.DataFrame,
    jobs: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    services: Sequence[str],
    duration_s: float,
    sample_interval_s: float,
) -> pd.DataFrame:
    """One row per service with every column of :data:`SUMMARY_COLUMNS`.

    Events of standalone tasks (no service) get a row of their own named
    :data:`STANDALONE` when there are any.
    """
    rows = []
    names = list(services)
    standalone = events["service"].isna() & events["task"].notna()
    if standalone.any():
        names.append(STANDALONE)
    for name in names:
        if name == STANDALONE:
            mine = events[standalone]
        else:
            mine = events[events["service"] == name]
        rows.append(
            _service_row(
                name,
                mine,
                timeseries[timeseries["service"] == name],
                jobs[jobs["service"] == name],
                sessions[sessions["service"] == name],
                duration_s=duration_s,
                sample_interval_s=sample_interval_s,
            )
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
