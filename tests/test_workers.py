"""Workers inside tasks, seen through ``run(parse_scenario(...))`` and its frames.

Jobs and sessions come from CSV traces so every time is known in advance. With
the default knobs a service created at 0 launches its tasks at 15 s (scheduler
reaction delay) and they are RUNNING at 45 s; a desired-count change at T is
acted on at T + 15 s; protection calls take 0.1 s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ecssim import RunResult, load_scenario, parse_scenario, run
from ecssim.model.build import build
from ecssim.policies import (
    Action,
    BasePolicy,
    ConfiguredPolicy,
    Protect,
    Release,
    WorkerView,
)
from ecssim.scenario.schema import ProtectionPolicyConfig, Scenario
from ecssim.sim.workers import QueueWorker, Worker

SCHEDULER = "ServiceSchedulerInitiated"
LogRow = tuple[float, str, str | None, str | None]


def _trace(folder: Path, rows: list[tuple[float, float]], name: str = "trace") -> str:
    path = folder / f"{name}.csv"
    lines = ["arrival,duration", *(f"{a},{d}" for a, d in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _scenario(
    folder: Path,
    jobs: list[tuple[float, float]],
    *,
    desired: int = 1,
    counts: tuple[tuple[float, int], ...] = ((600, 0),),
    duration: str = "1h",
    protection: dict[str, Any] | None = None,
    worker: dict[str, Any] | None = None,
    workload: dict[str, Any] | None = None,
    service: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Scenario:
    """One queue service ``svc`` fed by *jobs* ``(arrival_s, duration_s)``,
    with its desired count set to each ``(at_s, count)`` of *counts*."""
    raw_workload: dict[str, Any] = {
        "kind": "queue",
        "arrivals": {"trace": _trace(folder, jobs)},
        "job_duration": {"distribution": "fixed", "value": "1m"},
        "visibility_timeout": "10m",
        **(workload or {}),
    }
    raw_service: dict[str, Any] = {
        "name": "svc",
        "desired_count": desired,
        "stop_timeout": "30s",
        "workload": raw_workload,
        # these tests were written with 100 ms calls (the default is now 30 ms)
        "protection": {"policy": "none", "call_latency": "100ms", **(protection or {})},
        "worker": worker or {},
        **(service or {}),
    }
    raw: dict[str, Any] = {
        "name": "workers",
        "seed": 1,
        "duration": duration,
        "services": [raw_service],
        "scheduled": [
            {"at": at, "action": "set_desired_count", "service": "svc", "count": n}
            for at, n in counts
        ],
        **(extra or {}),
    }
    return parse_scenario(raw)


def _labels(result: RunResult) -> dict[str, str]:
    """Task id -> ``t0``, ``t1``... in the order the tasks were created."""
    created = result.events[result.events["kind"] == "task_created"]["task"]
    return {task: f"t{i}" for i, task in enumerate(created)}


def _log(result: RunResult, *kinds: str) -> list[LogRow]:
    """``(time_s, kind, task label, note)`` of the events of *kinds*, in order.

    The note is the stop code for ``task_stop_requested`` and the reason column
    otherwise.
    """
    labels = _labels(result)
    events = result.events[result.events["kind"].isin(kinds)]
    rows: list[LogRow] = []
    for time_s, kind, task, reason, detail in zip(
        events["time_s"],
        events["kind"],
        events["task"],
        events["reason"],
        events["detail"],
        strict=True,
    ):
        if kind == "task_stop_requested":
            note = json.loads(detail)["stop_code"]
        else:
            note = None if pd.isna(reason) else str(reason)
        label = None if pd.isna(task) else labels.get(str(task), str(task))
        rows.append((round(float(time_s), 6), str(kind), label, note))
    return rows


def _details(result: RunResult, kind: str) -> list[dict[str, Any]]:
    events = result.events[result.events["kind"] == kind]
    return [json.loads(d) for d in events["detail"]]


def _job(result: RunResult, job: int) -> dict[str, Any]:
    row = result.jobs[result.jobs["job"] == job].iloc[0].to_dict()
    labels = _labels(result)
    row["task"] = labels.get(row["task"], row["task"])
    return row


def _stops_of_busy_tasks(result: RunResult) -> list[tuple[float, str]]:
    """Scheduler stops of a task that held a job at that moment, by the jobs frame.

    Only meaningful while no job moved to another task (the frame keeps a job's
    last task).
    """
    events = result.events
    stops = events[events["kind"] == "task_stop_requested"]
    busy = []
    jobs = result.jobs
    for time_s, task, detail in zip(
        stops["time_s"], stops["task"], stops["detail"], strict=True
    ):
        if json.loads(detail)["stop_code"] != SCHEDULER:
            continue
        held = jobs[
            (jobs["task"] == task)
            & (jobs["first_start_s"] <= time_s)
            & ~(jobs["end_s"] <= time_s)
        ]
        if len(held):
            busy.append((float(time_s), str(task)))
    return busy


# ---- scale-in without protection -------------------------------------------------------------
def test_scale_in_without_protection_kills_the_job_redelivers_it_then_dead_letters(
    tmp_path: Path,
) -> None:
    """policy none: each scale-in SIGKILLs the busy task; the job comes back after the
    visibility timeout, counts its receives, and dead-letters after max_receive_count."""
    scenario = _scenario(
        tmp_path,
        [(60, 3600)],
        counts=((600, 0), (1200, 1), (1800, 0)),
        workload={"max_receive_count": 2},
    )
    result = run(scenario)
    kinds = (
        "task_stop_requested",
        "task_killed",
        "job_interrupted",
        "job_redelivered",
        "job_dead_lettered",
    )
    assert _log(result, *kinds) == [
        (615.0, "task_stop_requested", "t0", SCHEDULER),
        (645.0, "task_killed", "t0", None),
        (645.0, "job_interrupted", "t0", "killed"),
        (1245.0, "job_redelivered", None, None),
        (1815.0, "task_stop_requested", "t1", SCHEDULER),
        (1845.0, "task_killed", "t1", None),
        (1845.0, "job_interrupted", "t1", "killed"),
        (2445.0, "job_dead_lettered", None, None),
    ]
    assert [d["lost_work_s"] for d in _details(result, "job_interrupted")] == [
        585.0,
        600.0,
    ]
    assert _job(result, 0) == {
        "job": 0,
        "service": "svc",
        "arrival_s": 60.0,
        "first_start_s": 60.0,
        "end_s": 2445.0,
        "outcome": "dead_lettered",
        "receives": 2,
        "interruptions": 2,
        "lost_work_s": 1185.0,
        "duration_s": 3600.0,
        "task": "t1",
    }
    summary = result.service_summary("svc")
    assert {
        k: summary[k]
        for k in (
            "jobs_arrived",
            "jobs_dead_lettered",
            "job_interruptions",
            "jobs_interrupted",
            "jobs_redelivered",
            "lost_work_hours",
            "tasks_killed",
            "tasks_stopped_by_scale_in",
        )
    } == {
        "jobs_arrived": 1,
        "jobs_dead_lettered": 1,
        "job_interruptions": 2,
        "jobs_interrupted": 1,
        "jobs_redelivered": 1,
        "lost_work_hours": pytest.approx(1185 / 3600),
        "tasks_killed": 2,
        "tasks_stopped_by_scale_in": 2,
    }


def test_a_redelivered_job_is_worked_again_from_the_start(tmp_path: Path) -> None:
    """A killed job reappears after visibility_timeout and runs its whole duration again."""
    scenario = _scenario(
        tmp_path,
        [(60, 900)],
        counts=((600, 0), (1200, 1)),
        duration="2h",
    )
    result = run(scenario)
    assert _job(result, 0) == {
        "job": 0,
        "service": "svc",
        "arrival_s": 60.0,
        "first_start_s": 60.0,
        "end_s": 1245.0 + 900.0,
        "outcome": "completed",
        "receives": 2,
        "interruptions": 1,
        "lost_work_s": 585.0,
        "duration_s": 900.0,
        "task": "t1",
    }


# ---- scale-in with per-job protection ----------------------------------------------------------
@pytest.mark.parametrize("policy", ["per_job", "renewing"])
def test_protected_busy_tasks_are_not_scaled_in(tmp_path: Path, policy: str) -> None:
    """per_job/renewing: scale-in is blocked while both tasks work and stops one only
    after its job is done and protection cleared; no job is interrupted."""
    scenario = _scenario(
        tmp_path,
        [(60, 1800), (61, 1800)],
        desired=2,
        counts=((600, 1),),
        protection={"policy": policy},
    )
    result = run(scenario)
    log = _log(
        result,
        "protection_set",
        "protection_cleared",
        "scale_in_blocked",
        "scale_in_unblocked",
        "task_stop_requested",
        "job_interrupted",
    )
    stopped = log[5][2]
    assert log == [
        (60.1, "protection_set", "t0", None),
        (61.1, "protection_set", "t1", None),
        (615.0, "scale_in_blocked", None, None),
        (1860.2, "protection_cleared", "t0", None),
        (1861.2, "protection_cleared", "t1", None),
        (1875.0, "task_stop_requested", stopped, SCHEDULER),
        (1875.0, "scale_in_unblocked", None, None),
    ]
    assert stopped in ("t0", "t1")
    assert _stops_of_busy_tasks(result) == []
    assert list(result.jobs["outcome"]) == ["completed", "completed"]
    assert result.service_summary("svc")["job_interruptions"] == 0


def test_without_protection_the_same_scale_in_stops_a_busy_task(tmp_path: Path) -> None:
    """Control for the test above: with policy none the scheduler stops a busy task."""
    scenario = _scenario(
        tmp_path, [(60, 1800), (61, 1800)], desired=2, counts=((600, 1),)
    )
    result = run(scenario)
    log = _log(result, "task_stop_requested", "task_killed", "job_interrupted")
    stopped = log[0][2]
    assert log == [
        (615.0, "task_stop_requested", stopped, SCHEDULER),
        (645.0, "task_killed", stopped, None),
        (645.0, "job_interrupted", stopped, "killed"),
    ]
    assert result.service_summary("svc")["job_interruptions"] == 1


# ---- SIGTERM: finish, abandon, SIGKILL -----------------------------------------------------------
def test_on_sigterm_finish_completes_a_job_that_fits_in_stop_timeout(
    tmp_path: Path,
) -> None:
    """on_sigterm finish: 50 s of work left at SIGTERM, stopTimeout 120 s: the job
    completes and the container exits 1 s later, not killed."""
    scenario = _scenario(
        tmp_path,
        [(60, 605)],
        worker={"on_sigterm": "finish"},
        service={"stop_timeout": "120s"},
    )
    result = run(scenario)
    assert _log(result, "task_stop_requested", "task_killed", "job_interrupted") == [
        (615.0, "task_stop_requested", "t0", SCHEDULER)
    ]
    assert _job(result, 0)["outcome"] == "completed"
    assert _job(result, 0)["end_s"] == 665.0
    statuses = result.events[result.events["kind"] == "task_status"]
    stopped = statuses[statuses["detail"].str.contains('"STOPPED"')]
    assert list(stopped["time_s"]) == [665.0 + 1.0 + 5.0]  # shutdown, deprovisioning


def test_on_sigterm_abandon_gives_up_the_job_at_once(tmp_path: Path) -> None:
    """on_sigterm abandon: the job is interrupted at SIGTERM (reason sigterm), its
    work lost, and redelivered after the visibility timeout."""
    scenario = _scenario(
        tmp_path,
        [(60, 605)],
        worker={"on_sigterm": "abandon"},
        service={"stop_timeout": "120s"},
    )
    result = run(scenario)
    assert _log(
        result,
        "task_stop_requested",
        "task_killed",
        "job_interrupted",
        "job_redelivered",
    ) == [
        (615.0, "task_stop_requested", "t0", SCHEDULER),
        (615.0, "job_interrupted", "t0", "sigterm"),
        (1215.0, "job_redelivered", None, None),
    ]
    assert _details(result, "job_interrupted")[0]["lost_work_s"] == 555.0
    assert _job(result, 0)["outcome"] == "queued"


def test_a_job_longer_than_stop_timeout_is_sigkilled_and_its_work_lost(
    tmp_path: Path,
) -> None:
    """on_sigterm finish with 200 s left and stopTimeout 120 s: task_killed at 120 s,
    the job interrupted with all its work lost."""
    scenario = _scenario(
        tmp_path,
        [(60, 755)],
        worker={"on_sigterm": "finish"},
        service={"stop_timeout": "120s"},
    )
    result = run(scenario)
    assert _log(
        result,
        "task_stop_requested",
        "task_killed",
        "job_interrupted",
        "job_redelivered",
    ) == [
        (615.0, "task_stop_requested", "t0", SCHEDULER),
        (735.0, "task_killed", "t0", None),
        (735.0, "job_interrupted", "t0", "killed"),
        (1335.0, "job_redelivered", None, None),
    ]
    assert _details(result, "task_killed") == [{"stop_timeout_s": 120.0}]
    assert _details(result, "job_interrupted")[0]["lost_work_s"] == 675.0
    assert _job(result, 0)["outcome"] == "queued"


# ---- expiry and renewal ------------------------------------------------------------------------------
def test_per_job_without_renewal_lets_protection_expire_mid_job(tmp_path: Path) -> None:
    """per_job with expires_in 2m and a 5-minute job: protection lapses while busy."""
    scenario = _scenario(
        tmp_path,
        [(60, 300)],
        counts=(),
        protection={"policy": "per_job", "expires_in": "2m"},
    )
    result = run(scenario)
    assert _log(
        result,
        "protection_set",
        "protection_renewed",
        "protection_cleared",
        "protection_expired_while_busy",
    ) == [
        (60.1, "protection_set", "t0", None),
        (360.1, "protection_expired_while_busy", "t0", None),
        (360.2, "protection_cleared", "t0", None),
    ]
    assert _details(result, "protection_expired_while_busy") == [{"job": 0}]
    assert result.service_summary("svc")["protection_expired_while_busy"] == 1


def test_renewing_keeps_protection_through_a_long_job(tmp_path: Path) -> None:
    """renewing with expires_in 2m renews every 96 s (80 %) while busy: no lapse."""
    scenario = _scenario(
        tmp_path,
        [(60, 600)],
        counts=(),
        protection={"policy": "renewing", "expires_in": "2m"},
    )
    result = run(scenario)
    log = _log(
        result,
        "protection_set",
        "protection_renewed",
        "protection_cleared",
        "protection_expired_while_busy",
    )
    expected = [(60.1, "protection_set", "t0", None)]
    expected += [
        (round(60.1 + 96.1 * i, 6), "protection_renewed", "t0", None)
        for i in range(1, 7)
    ]
    expected.append((660.2, "protection_cleared", "t0", None))
    assert log == expected
    summary = result.service_summary("svc")
    assert summary["protection_renewals"] == 6
    assert summary["protection_expired_while_busy"] == 0


def test_renewal_keeps_a_long_job_safe_from_scale_in(tmp_path: Path) -> None:
    """renewing with 2-minute protection: a scale-in 9 minutes into a 20-minute job
    stops the idle task and the busy one keeps renewing until its job is done."""
    scenario = _scenario(
        tmp_path,
        [(60, 1200)],
        desired=2,
        counts=((600, 1),),
        protection={"policy": "renewing", "expires_in": "2m"},
    )
    result = run(scenario)
    busy = _job(result, 0)["task"]
    idle = "t1" if busy == "t0" else "t0"
    assert _log(result, "task_stop_requested", "protection_failed") == [
        (615.0, "task_stop_requested", idle, SCHEDULER)
    ]
    assert _job(result, 0)["outcome"] == "completed"
    assert _job(result, 0)["end_s"] == 1260.1
    summary = result.service_summary("svc")
    assert summary["protection_renewals"] == 12
    assert summary["protection_expired_while_busy"] == 0


def test_release_hold_delays_clearing_by_the_hold(tmp_path: Path) -> None:
    """release_hold 5m: protection_cleared comes 300 s later than without a hold."""
    cleared = {}
    for hold in ("0s", "5m"):
        scenario = _scenario(
            tmp_path,
            [(60, 300)],
            counts=(),
            protection={"policy": "per_job", "release_hold": hold},
        )
        cleared[hold] = _log(run(scenario), "protection_cleared")
    assert cleared == {
        "0s": [(360.2, "protection_cleared", "t0", None)],
        "5m": [(660.2, "protection_cleared", "t0", None)],
    }


def test_a_job_taken_during_the_hold_cancels_the_release(tmp_path: Path) -> None:
    """A job claimed during release_hold keeps protection: no clear until it is done."""
    scenario = _scenario(
        tmp_path,
        [(60, 300), (400, 300)],
        counts=(),
        protection={"policy": "per_job", "release_hold": "5m"},
    )
    log = _log(
        run(scenario), "protection_set", "protection_renewed", "protection_cleared"
    )
    assert log == [
        (60.1, "protection_set", "t0", None),
        (400.1, "protection_renewed", "t0", None),
        (1000.1 + 0.1, "protection_cleared", "t0", None),
    ]


# ---- claim order ---------------------------------------------------------------------------------------
def test_protect_then_claim_protects_before_receiving_and_releases_after_empty_poll(
    tmp_path: Path,
) -> None:
    """protect_then_claim: protect, long-poll receive_wait 20 s, release when empty,
    and the job that arrives is received while the task is already protected."""
    scenario = _scenario(
        tmp_path,
        [(100, 120)],
        counts=(),
        duration="5m",
        protection={"policy": "per_job", "order": "protect_then_claim"},
        workload={"receive_wait": "20s"},
    )
    result = run(scenario)
    log = _log(result, "protection_set", "protection_cleared")
    assert log[:4] == [
        (45.1, "protection_set", "t0", None),
        (65.2, "protection_cleared", "t0", None),
        (65.3, "protection_set", "t0", None),
        (85.4, "protection_cleared", "t0", None),
    ]
    assert log[4] == (85.5, "protection_set", "t0", None)
    assert _job(result, 0)["first_start_s"] == 100.0
    # the job ends at 220: release, then the idle polling resumes
    assert log[5] == (220.1, "protection_cleared", "t0", None)
    assert log[6] == (220.2, "protection_set", "t0", None)


def test_claim_then_protect_protects_only_after_taking_a_job(tmp_path: Path) -> None:
    """claim_then_protect: no calls while idle; protect 0.1 s after the claim."""
    scenario = _scenario(
        tmp_path,
        [(100, 120)],
        counts=(),
        duration="10m",
        protection={"policy": "per_job", "order": "claim_then_protect"},
    )
    result = run(scenario)
    assert _log(result, "protection_set", "protection_cleared") == [
        (100.1, "protection_set", "t0", None),
        (220.2, "protection_cleared", "t0", None),
    ]
    assert _job(result, 0)["first_start_s"] == 100.0
    assert _job(result, 0)["end_s"] == 220.1


# ---- rejected protection ------------------------------------------------------------------------------------
def _blocked_scenario(
    folder: Path, protection: dict[str, Any], ecs: dict[str, Any] | None = None
) -> Scenario:
    """Two protected workers; desired drops to 1; t1 finishes first and its next
    protect (for job 2, queued since 200 s) is DEPLOYMENT_BLOCKED at 361.3 s."""
    return _scenario(
        folder,
        [(60, 3600), (61, 300), (200, 600)],
        desired=2,
        counts=((120, 1),),
        duration="30m",
        protection={"policy": "per_job", **protection},
        extra={"ecs": ecs} if ecs else None,
    )


def test_stop_taking_work_after_deployment_blocked_gives_the_job_back(
    tmp_path: Path,
) -> None:
    """on_failure stop_taking_work: the rejected worker stops taking work, returns
    the job unworked (no interruption, no lost work) and its process exits, so
    the task stops with EssentialContainerExited (as AWS's sample does)."""
    scenario = _blocked_scenario(tmp_path, {"on_failure": "stop_taking_work"})
    result = run(scenario)
    assert _log(
        result,
        "protection_failed",
        "protection_rejected",
        "worker_stopped_taking_work",
        "job_returned",
        "job_redelivered",
        "job_interrupted",
        "worker_exited",
        "task_stop_requested",
    ) == [
        (361.3, "protection_failed", "t1", "DEPLOYMENT_BLOCKED"),
        (361.3, "protection_rejected", "t1", "DEPLOYMENT_BLOCKED"),
        (361.3, "worker_stopped_taking_work", "t1", None),
        (361.3, "job_returned", None, None),
        (362.3, "worker_exited", "t1", None),
        (362.3, "task_stop_requested", "t1", "EssentialContainerExited"),
    ]
    job = _job(result, 2)
    assert (job["receives"], job["interruptions"], job["lost_work_s"]) == (1, 0, 0.0)
    assert job["outcome"] == "queued"
    assert result.service_summary("svc")["job_interruptions"] == 0


def test_a_job_given_back_unworked_has_not_started(tmp_path: Path) -> None:
    """A job claimed and given back before any work keeps no start time or task, so
    queue-wait percentiles do not count it as served."""
    scenario = _blocked_scenario(tmp_path, {"on_failure": "stop_taking_work"})
    result = run(scenario)
    job = _job(result, 2)
    assert (job["outcome"], job["lost_work_s"]) == ("queued", 0.0)
    assert pd.isna(job["first_start_s"])
    assert job["task"] is None or pd.isna(job["task"])


def test_keep_working_after_deployment_blocked_works_unprotected_and_is_killed(
    tmp_path: Path,
) -> None:
    """on_failure keep_working: the rejected worker works job 2 unprotected, and the
    pending scale-in stops its task and kills the job."""
    scenario = _blocked_scenario(tmp_path, {"on_failure": "keep_working"})
    result = run(scenario)
    kinds = ("protection_rejected", "task_stop_requested", "job_interrupted")
    log = _log(result, *kinds)
    assert [row[1:] for row in log] == [
        ("protection_rejected", "t1", "DEPLOYMENT_BLOCKED"),
        ("task_stop_requested", "t1", SCHEDULER),
        ("job_interrupted", "t1", "killed"),
    ]
    assert _job(result, 2)["interruptions"] == 1


@pytest.mark.parametrize(
    ("check_failure_body", "rejections", "drained"),
    [(True, 1, 1), (False, 0, 0)],
)
def test_agent_clients_that_ignore_the_failure_body_believe_a_rejected_protect(
    tmp_path: Path, check_failure_body: bool, rejections: int, drained: int
) -> None:
    """via agent: a DEPLOYMENT_BLOCKED protect is HTTP 200 with a failure body; a client
    that only checks the status believes it worked (no protection_rejected)."""
    scenario = _blocked_scenario(
        tmp_path,
        {
            "via": "agent",
            "on_failure": "stop_taking_work",
            "check_failure_body": check_failure_body,
        },
    )
    result = run(scenario)
    kinds = result.events["kind"]
    assert int((kinds == "protection_failed").sum()) >= 1  # ECS refused either way
    assert int((kinds == "protection_rejected").sum()) == rejections
    assert int((kinds == "worker_stopped_taking_work").sum()) == drained
    # the believing client works job 2 on an unprotected task: the scale-in kills it
    assert _job(result, 2)["interruptions"] == 1 - drained


def test_via_api_records_rejections_whatever_check_failure_body_says(
    tmp_path: Path,
) -> None:
    """via api: per-task failures are in the response, so check_failure_body does not apply."""
    scenario = _blocked_scenario(tmp_path, {"via": "api", "check_failure_body": False})
    result = run(scenario)
    assert [row[1:] for row in _log(result, "protection_rejected")] == [
        ("protection_rejected", "t1", "DEPLOYMENT_BLOCKED")
    ]


def test_deployment_blocked_ignore_accepts_every_protect(tmp_path: Path) -> None:
    """ecs.deployment_blocked ignore: the same protect succeeds and nothing is rejected."""
    scenario = _blocked_scenario(tmp_path, {}, ecs={"deployment_blocked": "ignore"})
    result = run(scenario)
    kinds = set(result.events["kind"])
    assert "protection_failed" not in kinds
    assert "protection_rejected" not in kinds
    assert _stops_of_busy_tasks(result) == []


def test_via_api_and_via_agent_record_the_same_events(tmp_path: Path) -> None:
    """For well-formed calls the agent path and the API path change protection alike."""
    results = {}
    for via in ("api", "agent"):
        scenario = _scenario(
            tmp_path,
            [(60, 1800), (61, 300), (500, 700)],
            desired=2,
            counts=((600, 1),),
            protection={"policy": "renewing", "expires_in": "10m", "via": via},
        )
        results[via] = run(scenario)
    pd.testing.assert_frame_equal(results["api"].events, results["agent"].events)
    pd.testing.assert_frame_equal(results["api"].jobs, results["agent"].jobs)
    assert results["api"].service_summary("svc")["protection_renewals"] > 0


# ---- custom policies -----------------------------------------------------------------------------
class ProtectOnStart(BasePolicy):
    """Protects each task for 30 minutes when it starts, and never again."""

    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_start(self, view: WorkerView) -> Action:
        """Protect once."""
        self.starts.append(view.now_s)
        return Protect(30)


def test_a_custom_policy_is_consulted_instead_of_the_scenarios(tmp_path: Path) -> None:
    """run(policies=...) replaces policy none: each task protects itself once at start,
    which blocks the scale-in until the protection expires 30 minutes later."""
    policy = ProtectOnStart()
    scenario = _scenario(tmp_path, [(60, 60)], desired=2, counts=((600, 1),))
    result = run(scenario, policies={"svc": policy})
    assert policy.starts == [45.0, 45.0]
    log = _log(
        result,
        "protection_set",
        "protection_renewed",
        "protection_cleared",
        "scale_in_blocked",
        "task_stop_requested",
    )
    assert log[:3] == [
        (45.1, "protection_set", "t0", None),
        (45.1, "protection_set", "t1", None),
        (615.0, "scale_in_blocked", None, None),
    ]
    # no renewal, no release: the next stop is the scheduler's after expiry at 1845.1
    assert len(log) == 4
    assert log[3][1:3] in (("task_stop_requested", "t0"), ("task_stop_requested", "t1"))
    assert 1845.1 <= log[3][0] <= 1845.1 + 15 + 1e-6


class ProtectWhileWorking(BasePolicy):
    """Overrides only after_claim and after_job: protect for each job, release after it."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, float]] = []

    def after_claim(self, view: WorkerView) -> Action:
        """Protect for an hour."""
        self.asked.append(("after_claim", view.now_s))
        return Protect(60)

    def after_job(self, view: WorkerView) -> Action:
        """Release at once."""
        self.asked.append(("after_job", view.now_s))
        return Release()


def test_a_base_policy_subclass_overriding_some_hooks_is_consulted(
    tmp_path: Path,
) -> None:
    """A BasePolicy subclass overriding only after_claim and after_job is asked at those
    moments (its other hooks are skipped) and protects like per_job: the scale-in
    waits for both jobs and interrupts neither."""
    policy = ProtectWhileWorking()
    scenario = _scenario(
        tmp_path, [(60, 1800), (61, 1800)], desired=2, counts=((600, 1),)
    )
    result = run(scenario, policies={"svc": policy})
    assert sorted(policy.asked) == [
        ("after_claim", 60.0),
        ("after_claim", 61.0),
        ("after_job", 1860.1),
        ("after_job", 1861.1),
    ]
    log = _log(
        result,
        "protection_set",
        "protection_cleared",
        "scale_in_blocked",
        "task_stop_requested",
        "job_interrupted",
    )
    assert [row[:2] for row in log] == [
        (60.1, "protection_set"),
        (61.1, "protection_set"),
        (615.0, "scale_in_blocked"),
        (1860.2, "protection_cleared"),
        (1861.2, "protection_cleared"),
        (1875.0, "task_stop_requested"),
    ]
    assert _stops_of_busy_tasks(result) == []
    assert list(result.jobs["outcome"]) == ["completed", "completed"]


class ProtectOnStartToo(ConfiguredPolicy):
    """The built-in policy, plus a protect at start."""

    def on_start(self, view: WorkerView) -> Action:
        """Protect for 30 minutes."""
        return Protect(30)


def test_a_configured_policy_subclass_is_asked_where_the_built_in_is_silent(
    tmp_path: Path,
) -> None:
    """A ConfiguredPolicy subclass of policy none still has its own on_start asked:
    each task protects itself at start, which blocks the scale-in."""
    policy = ProtectOnStartToo(
        ProtectionPolicyConfig.model_validate({"policy": "none"})
    )
    scenario = _scenario(tmp_path, [(60, 60)], desired=2, counts=((600, 1),))
    result = run(scenario, policies={"svc": policy})
    log = _log(result, "protection_set", "scale_in_blocked")
    assert log[:3] == [
        (45.1, "protection_set", "t0", None),
        (45.1, "protection_set", "t1", None),
        (615.0, "scale_in_blocked", None, None),
    ]


def test_policies_for_an_unknown_service_are_refused(tmp_path: Path) -> None:
    """A custom policy keyed by a service the scenario lacks raises KeyError."""
    scenario = _scenario(tmp_path, [(60, 60)])
    with pytest.raises(KeyError, match="nope"):
        run(scenario, policies={"nope": ProtectOnStart()})


# ---- sessions -------------------------------------------------------------------------------------------
def _sessions(
    folder: Path,
    sessions: list[tuple[float, float]],
    *,
    desired: int = 2,
    slots: int = 3,
    max_wait: str = "5m",
    protection: dict[str, Any] | None = None,
    counts: tuple[tuple[float, int], ...] = (),
    duration: str = "1h",
    stop_timeout: str = "30s",
) -> Scenario:
    return parse_scenario(
        {
            "name": "sessions",
            "seed": 4,
            "duration": duration,
            "services": [
                {
                    "name": "game",
                    "desired_count": desired,
                    "stop_timeout": stop_timeout,
                    "workload": {
                        "kind": "sessions",
                        "arrivals": {"trace": _trace(folder, sessions, "sessions")},
                        "session_duration": {"distribution": "fixed", "value": "1m"},
                        "slots_per_task": slots,
                        "max_wait": max_wait,
                    },
                    # written with 100 ms calls (the default is now 30 ms)
                    "protection": {
                        "call_latency": "100ms",
                        **(protection or {"policy": "none"}),
                    },
                }
            ],
            "scheduled": [
                {"at": at, "action": "set_desired_count", "service": "game", "count": n}
                for at, n in counts
            ],
        }
    )


def _session_table(result: RunResult) -> list[tuple[Any, ...]]:
    labels = _labels(result)
    s = result.sessions
    return [
        (
            int(i),
            outcome,
            labels.get(task) if isinstance(task, str) else None,
            None if pd.isna(start) else start,
            None if pd.isna(end) else end,
        )
        for i, outcome, task, start, end in zip(
            s["session"], s["outcome"], s["task"], s["start_s"], s["end_s"], strict=True
        )
    ]


def test_sessions_fill_the_fullest_task_with_a_free_slot(tmp_path: Path) -> None:
    """Sessions go to the fullest task that still has a slot: three on one, then the other."""
    scenario = _sessions(
        tmp_path, [(60, 5000), (61, 5000), (62, 5000), (63, 5000), (64, 5000)]
    )
    table = _session_table(run(scenario))
    first = table[0][2]
    other = "t1" if first == "t0" else "t0"
    assert [row[2] for row in table] == [first, first, first, other, other]
    assert [row[1] for row in table] == ["connected"] * 5


def test_a_freed_slot_is_refilled_before_an_empty_task(tmp_path: Path) -> None:
    """When one task has 2 of 3 and the other 1, the next session joins the fuller one."""
    scenario = _sessions(
        tmp_path, [(60, 3000), (61, 3000), (62, 100), (63, 3000), (300, 3000)]
    )
    table = _session_table(run(scenario))
    first, _, _, second, last = (row[2] for row in table)
    assert first != second
    # at 300 s: first hosts 2 (one left at 162), second hosts 1
    assert last == first


def test_sessions_are_interrupted_when_their_task_is_stopped(tmp_path: Path) -> None:
    """policy none: the scale-in stops the task; sessions longer than stopTimeout are
    cut off when it is killed."""
    scenario = _sessions(
        tmp_path,
        [(60, 3000), (61, 3000)],
        desired=1,
        counts=((600, 0),),
    )
    result = run(scenario)
    assert _session_table(result) == [
        (0, "interrupted", "t0", 60.0, 645.0),
        (1, "interrupted", "t0", 61.0, 645.0),
    ]
    assert [row[1:3] for row in _log(result, "session_interrupted")] == [
        ("session_interrupted", "t0"),
        ("session_interrupted", "t0"),
    ]
    assert result.service_summary("game")["sessions_interrupted"] == 2


def test_a_session_waiting_longer_than_max_wait_is_dropped(tmp_path: Path) -> None:
    """All slots taken: a session waits, and is dropped after max_wait."""
    scenario = _sessions(
        tmp_path,
        [(60, 5000), (70, 3000), (80, 60)],
        desired=1,
        slots=1,
        max_wait="2m",
    )
    result = run(scenario)
    assert _session_table(result) == [
        (0, "connected", "t0", 60.0, None),
        (1, "dropped", None, None, 190.0),
        (2, "dropped", None, None, 200.0),
    ]
    assert result.service_summary("game")["sessions_dropped"] == 2


def test_a_waiting_session_takes_a_slot_that_frees_in_time(tmp_path: Path) -> None:
    """A waiting session gets the slot the moment the previous session ends."""
    scenario = _sessions(
        tmp_path, [(60, 100), (70, 300)], desired=1, slots=1, max_wait="2m"
    )
    assert _session_table(run(scenario)) == [
        (0, "completed", "t0", 60.0, 160.0),
        (1, "completed", "t0", 160.0, 460.0),
    ]


def test_sessions_policy_protects_while_any_session_is_connected(
    tmp_path: Path,
) -> None:
    """policy sessions: protected from the first session to the last, so the scale-in
    waits until the task is empty."""
    scenario = _sessions(
        tmp_path,
        [(60, 600), (100, 900)],
        desired=1,
        counts=((300, 0),),
        protection={"policy": "sessions", "expires_in": "30m"},
    )
    result = run(scenario)
    log = _log(
        result,
        "protection_set",
        "protection_renewed",
        "protection_cleared",
        "scale_in_blocked",
        "task_stop_requested",
        "session_interrupted",
    )
    assert log[:4] == [
        (60.1, "protection_set", "t0", None),
        (315.0, "scale_in_blocked", None, None),
        (1000.1, "protection_cleared", "t0", None),
        (log[3][0], "task_stop_requested", "t0", SCHEDULER),
    ]
    assert 1000.1 < log[3][0] <= 1000.1 + 60
    assert len(log) == 4
    assert [row[1] for row in _session_table(result)] == ["completed", "completed"]


def test_a_policy_sees_its_jobs_age_and_size() -> None:
    """``view.job_size_s`` is the job's work and ``view.job_age_s`` the time on it,
    so a policy can protect long jobs only; without a job both are None."""
    from ecssim import parse_scenario, run
    from ecssim.policies import BasePolicy, Protect, Release

    seen: list[tuple[str, float | None, float | None]] = []

    class ProtectLongJobsOnly(BasePolicy):
        def after_claim(self, view: WorkerView) -> Protect | None:
            seen.append(("claim", view.job_age_s, view.job_size_s))
            if view.job_size_s is not None and view.job_size_s >= 1800:
                return Protect(expires_in_minutes=int(view.job_size_s // 60) + 10)
            return None

        def after_job(self, view: WorkerView) -> Release | None:
            seen.append(("done", view.job_age_s, view.job_size_s))
            return Release() if view.protected_until_s is not None else None

    scenario = parse_scenario(
        {
            "name": "long-jobs",
            "duration": "3h",
            "services": [
                {
                    "name": "svc",
                    "desired_count": 2,
                    "workload": {
                        "kind": "queue",
                        "arrivals": {"rate": "6/h"},
                        "job_duration": {
                            "distribution": "lognormal",
                            "median": "20m",
                            "p95": "60m",
                        },
                    },
                }
            ],
        }
    )
    result = run(scenario, policies={"svc": ProtectLongJobsOnly()})
    claims = [(age, size) for moment, age, size in seen if moment == "claim"]
    started = result.jobs[result.jobs["first_start_s"].notna()]
    assert sorted(size for _, size in claims) == sorted(started["duration_s"])
    assert all(age == 0.0 for age, _ in claims)
    assert all(age is None and size is None for m, age, size in seen if m == "done")
    long_jobs = int((started["duration_s"] >= 1800).sum())
    assert 0 < long_jobs < len(started)
    assert result.service_summary("svc")["protection_set"] == long_jobs


def test_a_queue_workers_view_is_what_the_generic_view_reads(tmp_path: Path) -> None:
    """QueueWorker.view, made at once (it runs for every job), says what
    Worker.view reads from the worker's properties: idle, waiting, or holding a
    job, with or without a protection it believes it has."""
    scenario = Path(__file__).resolve().parent.parent / "scenarios"
    config = load_scenario(scenario / "transcoding-queue.yaml").with_overrides(
        {"duration": "6h"}
    )
    model = build(config)
    states: set[tuple[bool, bool]] = set()
    for _ in range(36):
        model.sim.advance("10m")
        for worker in model.workers.by_task.values():
            assert isinstance(worker, QueueWorker)
            assert worker.view() == Worker.view(worker)
            states.add((worker.busy, worker.protected_until_s is not None))
    # the comparison saw idle and busy workers, protected and not
    assert {busy for busy, _ in states} == {False, True}
    assert {protected for _, protected in states} == {False, True}
