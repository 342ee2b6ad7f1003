"""Faults: hung workers, crashing tasks, Spot interruptions, protection API errors.

Scenarios are small queue services fed by CSV traces, so the times in the event
log are known: tasks are RUNNING at 45 s, a desired-count change at T is acted
on at T + 15 s, protection calls take 0.1 s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ecssim import RunResult, parse_scenario, run
from ecssim.scenario.schema import Scenario

SCHEDULER = "ServiceSchedulerInitiated"


def _scenario(
    folder: Path,
    jobs: list[tuple[float, float]] | None = None,
    *,
    desired: int = 1,
    counts: tuple[tuple[float, int], ...] = (),
    duration: str = "1h",
    protection: dict[str, Any] | None = None,
    faults: list[dict[str, Any]] | None = None,
    service: dict[str, Any] | None = None,
    ecs: dict[str, Any] | None = None,
    seed: int = 1,
    rate: str | None = None,
) -> Scenario:
    """One queue service ``svc``: trace *jobs* ``(arrival_s, duration_s)`` or
    Poisson arrivals at *rate* with 20-minute jobs."""
    if rate is not None:
        arrivals: dict[str, Any] = {"rate": rate}
    else:
        trace = folder / "trace.csv"
        lines = ["arrival,duration", *(f"{a},{d}" for a, d in jobs or [])]
        trace.write_text("\n".join(lines) + "\n", encoding="utf-8")
        arrivals = {"trace": str(trace)}
    raw: dict[str, Any] = {
        "name": "faults",
        "seed": seed,
        "duration": duration,
        "services": [
            {
                "name": "svc",
                "desired_count": desired,
                "stop_timeout": "30s",
                "workload": {
                    "kind": "queue",
                    "arrivals": arrivals,
                    "job_duration": {"distribution": "fixed", "value": "20m"},
                    "visibility_timeout": "10m",
                },
                # written with 100 ms calls (the default is now 30 ms)
                "protection": {
                    "call_latency": "100ms",
                    **(protection or {"policy": "none"}),
                },
                **(service or {}),
            }
        ],
        "scheduled": [
            {"at": at, "action": "set_desired_count", "service": "svc", "count": n}
            for at, n in counts
        ],
        "faults": faults or [],
    }
    if ecs:
        raw["ecs"] = ecs
    return parse_scenario(raw)


def _of(result: RunResult, kind: str) -> pd.DataFrame:
    return result.events[result.events["kind"] == kind]


def _details(result: RunResult, kind: str) -> list[dict[str, Any]]:
    return [json.loads(d) for d in _of(result, kind)["detail"]]


def _times(result: RunResult, kind: str) -> list[float]:
    return [round(float(t), 6) for t in _of(result, kind)["time_s"]]


def _describe(result: RunResult, task_id: str) -> dict[str, Any]:
    sim = result.simulation
    cluster = result.scenario.cluster.name
    tasks = sim.ecs.describe_tasks(cluster=cluster, tasks=[task_id])["tasks"]
    assert len(tasks) == 1
    return tasks[0]


RENEWING_2M = {"policy": "renewing", "expires_in": "2m"}


# ---- worker_hang -----------------------------------------------------------------------------
def test_a_hung_worker_that_still_renews_stays_protected_and_never_finishes(
    tmp_path: Path,
) -> None:
    """worker_hang still_renewing: renewals go on, the job never completes, and the
    scale-in to 0 is blocked to the end of the run."""
    scenario = _scenario(
        tmp_path,
        [(60, 600)],
        counts=((600, 0),),
        protection=RENEWING_2M,
        faults=[
            {
                "kind": "worker_hang",
                "service": "svc",
                "at": "2m",
                "still_renewing": True,
            }
        ],
        ecs={"deployment_blocked": "ignore"},
    )
    result = run(scenario)
    hung = _of(result, "worker_hung")
    assert list(hung["time_s"]) == [120.0]
    assert _details(result, "worker_hung") == [{"still_renewing": True}]
    assert _times(result, "task_stop_requested") == []
    assert _times(result, "scale_in_blocked") == [615.0]
    job = result.jobs.iloc[0]
    assert (job["outcome"], job["interruptions"]) == ("in_flight", 0)
    last = result.timeseries.iloc[-1]
    assert (last["running"], last["desired"], last["protected"]) == (1, 0, 1)
    summary = result.service_summary("svc")
    assert summary["worker_hangs"] == 1
    # renewed every 96.1 s for the whole hour, hung or not
    assert summary["protection_renewals"] == int((3600 - 60.1) // 96.1)


def test_a_hung_worker_that_stops_renewing_loses_protection_and_is_killed(
    tmp_path: Path,
) -> None:
    """worker_hang without renewals: protection lapses at 180.1 s; the scale-in then
    stops the task and SIGKILLs the hung container at stopTimeout."""
    scenario = _scenario(
        tmp_path,
        [(60, 600)],
        counts=((600, 0),),
        protection=RENEWING_2M,
        faults=[
            {
                "kind": "worker_hang",
                "service": "svc",
                "at": "2m",
                "still_renewing": False,
            }
        ],
    )
    result = run(scenario)
    assert _times(result, "protection_set") == [60.1]
    assert _times(result, "protection_renewed") == []
    assert _times(result, "task_stop_requested") == [615.0]
    assert _details(result, "task_stop_requested") == [
        {"protected": False, "stop_code": SCHEDULER}
    ]
    assert _times(result, "task_killed") == [645.0]
    interrupted = _of(result, "job_interrupted")
    assert list(interrupted["reason"]) == ["killed"]
    assert [
        round(d["lost_work_s"], 6) for d in _details(result, "job_interrupted")
    ] == [584.9]


def test_a_hung_worker_still_renewing_is_refused_under_refuse_renewals_too(
    tmp_path: Path,
) -> None:
    """With renewals refused too, the hung task's first renewal after desired
    drops to 0 is refused; protection lapses and the task is stopped and SIGKILLed."""
    scenario = _scenario(
        tmp_path,
        [(60, 600)],
        counts=((600, 0),),
        protection=RENEWING_2M,
        faults=[{"kind": "worker_hang", "service": "svc", "at": "2m"}],
        ecs={"deployment_blocked": "refuse_renewals_too"},
    )
    result = run(scenario)
    assert _times(result, "protection_renewed") == [156.2, 252.3, 348.4, 444.5, 540.6]
    refused = _of(result, "protection_failed")
    assert list(zip(refused["time_s"].round(6), refused["reason"], strict=True)) == [
        (636.7, "DEPLOYMENT_BLOCKED")
    ]
    (stop,) = _times(result, "task_stop_requested")
    assert 540.6 + 120 <= stop <= 540.6 + 120 + 60
    assert _times(result, "task_killed") == [round(stop + 30, 6)]
    assert list(_of(result, "job_interrupted")["reason"]) == ["killed"]


def test_a_hung_worker_still_renewing_holds_its_task_forever_by_default(
    tmp_path: Path,
) -> None:
    """Under the default rule renewals of a protected task are accepted, so a hung
    worker that keeps renewing is never stopped after desired drops to 0: the
    scale-in stays blocked to the end of the run."""
    scenario = _scenario(
        tmp_path,
        [(60, 600)],
        counts=((600, 0),),
        protection=RENEWING_2M,
        faults=[{"kind": "worker_hang", "service": "svc", "at": "2m"}],
    )
    result = run(scenario)
    renewed = _times(result, "protection_renewed")
    assert renewed[:5] == [156.2, 252.3, 348.4, 444.5, 540.6]
    assert renewed[-1] > 3600 - 96
    assert _of(result, "protection_failed").empty
    assert _times(result, "task_stop_requested") == []
    assert _times(result, "scale_in_blocked") == [615.0]


def test_refuse_renewals_after_frees_a_hung_worker_that_blocks_a_scale_in(
    tmp_path: Path,
) -> None:
    """With refuse_renewals_after: 10m the hung task's renewals are refused once
    it has blocked the scale-in for 10 minutes; its protection then lapses and
    the scheduler stops it."""
    scenario = _scenario(
        tmp_path,
        [(60, 600)],
        counts=((600, 0),),
        protection=RENEWING_2M,
        faults=[{"kind": "worker_hang", "service": "svc", "at": "2m"}],
        ecs={"refuse_renewals_after": "10m"},
    )
    result = run(scenario)
    blocked_at = 615.0
    assert _times(result, "scale_in_blocked") == [blocked_at]
    refused = _of(result, "protection_failed")
    first_refusal = float(refused["time_s"].iloc[0])
    assert set(refused["reason"]) == {"DEPLOYMENT_BLOCKED"}
    assert blocked_at + 600 <= first_refusal < blocked_at + 600 + 96
    assert all(t < blocked_at + 600 for t in _times(result, "protection_renewed"))
    (stop,) = _times(result, "task_stop_requested")
    assert first_refusal < stop <= first_refusal + 120 + 60


def test_a_hang_while_idle_strikes_the_next_job(tmp_path: Path) -> None:
    """A worker hung while idle never finishes the next job it takes."""
    scenario = _scenario(
        tmp_path,
        [(300, 60)],
        faults=[{"kind": "worker_hang", "service": "svc", "at": "2m"}],
    )
    result = run(scenario)
    job = result.jobs.iloc[0]
    assert (job["first_start_s"], job["outcome"]) == (300.0, "in_flight")


# ---- task_crash --------------------------------------------------------------------------------
def test_a_task_crash_ignores_protection_and_the_task_is_replaced(
    tmp_path: Path,
) -> None:
    """task_crash: the protected busy task stops with EssentialContainerExited at once
    (no SIGTERM grace), its job is interrupted, and the scheduler starts a replacement."""
    scenario = _scenario(
        tmp_path,
        [(60, 1200)],
        protection={"policy": "renewing", "expires_in": "30m"},
        faults=[{"kind": "task_crash", "service": "svc", "at": "5m"}],
    )
    result = run(scenario)
    created = list(_of(result, "task_created")["task"])
    assert len(created) == 2
    crashed, replacement = created
    stops = _of(result, "task_stop_requested")
    assert list(zip(stops["time_s"], stops["task"], strict=True)) == [(300.0, crashed)]
    assert _details(result, "task_stop_requested") == [
        {"protected": True, "stop_code": "EssentialContainerExited"}
    ]
    interrupted = _of(result, "job_interrupted")
    assert list(zip(interrupted["time_s"], interrupted["task"], strict=True)) == [
        (300.0, crashed)
    ]
    assert _times(result, "task_killed") == []
    described = _describe(result, crashed)
    assert (described["lastStatus"], described["stopCode"]) == (
        "STOPPED",
        "EssentialContainerExited",
    )
    assert described["containers"][0]["exitCode"] == 1
    assert _describe(result, replacement)["lastStatus"] == "RUNNING"
    assert result.service_summary("svc")["task_crashes"] == 1


# ---- spot_interruption -------------------------------------------------------------------------
def _spot_scenario(
    folder: Path, seed: int, providers: list[dict[str, Any]]
) -> Scenario:
    return _scenario(
        folder,
        desired=6,
        duration="3h",
        rate="10/h",
        seed=seed,
        service={"capacity_provider_strategy": providers},
        faults=[{"kind": "spot_interruption", "service": "svc", "rate": "1/h"}],
        # every task stays describable to the end of the run, for the checks
        ecs={"stopped_task_retention": "3h"},
    )


MIXED = [
    {"capacity_provider": "FARGATE", "base": 2, "weight": 1},
    {"capacity_provider": "FARGATE_SPOT", "weight": 1},
]


def test_spot_interruptions_only_hit_fargate_spot_tasks(tmp_path: Path) -> None:
    """Every Spot interruption lands on a FARGATE_SPOT task and stops it with code
    SpotInterruption, while FARGATE tasks of the same service are spared."""
    result = run(_spot_scenario(tmp_path, 2, MIXED))
    struck = list(_of(result, "fault_injected")["task"])
    assert len(struck) >= 3
    providers = {
        t: _describe(result, t).get("capacityProviderName")
        for t in _of(result, "task_created")["task"]
    }
    assert set(providers.values()) == {"FARGATE", "FARGATE_SPOT"}
    assert {providers[t] for t in struck} == {"FARGATE_SPOT"}
    spot_stops = [
        (task, json.loads(detail)["stop_code"])
        for task, detail in zip(
            _of(result, "task_stop_requested")["task"],
            _of(result, "task_stop_requested")["detail"],
            strict=True,
        )
        if task in struck
    ]
    assert spot_stops == [(t, "SpotInterruption") for t in struck]
    assert result.service_summary("svc")["spot_interruptions"] == len(struck)


def test_a_spot_interruption_ignores_protection(tmp_path: Path) -> None:
    """A protected, busy FARGATE_SPOT task is still stopped (SpotInterruption) and its
    job, longer than stopTimeout, is killed."""
    scenario = _scenario(
        tmp_path,
        [(60, 1200)],
        protection={"policy": "renewing", "expires_in": "30m"},
        service={"capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT"}]},
        faults=[{"kind": "spot_interruption", "service": "svc", "at": "5m"}],
    )
    result = run(scenario)
    stops = _of(result, "task_stop_requested")
    assert list(stops["time_s"]) == [300.0]
    assert _details(result, "task_stop_requested") == [
        {"protected": True, "stop_code": "SpotInterruption"}
    ]
    assert _times(result, "task_killed") == [330.0]
    assert list(_of(result, "job_interrupted")["reason"]) == ["killed"]


def test_spot_interruptions_skip_a_service_without_spot_tasks(tmp_path: Path) -> None:
    """A service running only on FARGATE is never interrupted."""
    result = run(
        _spot_scenario(tmp_path, 2, [{"capacity_provider": "FARGATE", "weight": 1}])
    )
    assert _of(result, "fault_injected").empty
    assert _of(result, "task_stop_requested").empty


def test_a_spot_interruption_at_a_time_with_no_spot_task_is_skipped(
    tmp_path: Path,
) -> None:
    """spot_interruption at a time on a FARGATE-only service records fault_skipped."""
    scenario = _scenario(
        tmp_path,
        [],
        faults=[{"kind": "spot_interruption", "service": "svc", "at": "10m"}],
    )
    result = run(scenario)
    assert _times(result, "fault_skipped") == [600.0]
    assert _details(result, "fault_skipped") == [{"fault": "spot_interruption"}]


# ---- reproducibility of rate faults --------------------------------------------------------------
def _crashy(folder: Path, seed: int) -> Scenario:
    return _scenario(
        folder,
        desired=4,
        duration="6h",
        rate="8/h",
        seed=seed,
        faults=[{"kind": "task_crash", "service": "svc", "rate": "1/h"}],
    )


def test_rate_faults_are_reproducible_for_a_seed(tmp_path: Path) -> None:
    """The same seed strikes the same tasks at the same times; another seed does not."""
    first = run(_crashy(tmp_path, 5))
    again = run(_crashy(tmp_path, 5))
    other = run(_crashy(tmp_path, 6))
    faults = _of(first, "fault_injected")
    assert len(faults) >= 5
    pd.testing.assert_frame_equal(faults, _of(again, "fault_injected"))
    assert list(faults["time_s"]) != list(_of(other, "fault_injected")["time_s"])


# ---- protection API errors ------------------------------------------------------------------------
def test_protection_api_errors_are_injected_only_in_their_window(
    tmp_path: Path,
) -> None:
    """protection_api_errors from 30m until 1h: protection_call_error events occur in
    [1800, 3600) only, each injected with the configured code."""
    scenario = _scenario(
        tmp_path,
        desired=4,
        duration="2h",
        rate="30/h",
        protection={"policy": "renewing", "expires_in": "5m"},
        faults=[
            {
                "kind": "protection_api_errors",
                "probability": 0.5,
                "code": "ServerException",
                "from": "30m",
                "until": "1h",
            }
        ],
    )
    result = run(scenario)
    times = _times(result, "protection_call_error")
    assert len(times) >= 5
    assert all(1800 <= t < 3600 for t in times)
    assert {
        (d["code"], d["injected"]) for d in _details(result, "protection_call_error")
    } == {("ServerException", True)}
    calls_outside = [
        t
        for t in _times(result, "protection_set") + _times(result, "protection_renewed")
        if t < 1800 or t >= 3600
    ]
    assert calls_outside  # calls were made outside the window, and none failed there
    assert result.service_summary("svc")["injected_api_errors"] == len(times)


def test_request_timeout_through_the_agent_is_request_canceled(tmp_path: Path) -> None:
    """An injected RequestTimeout is the agent's RequestCanceled via agent, and stays
    RequestTimeout via the API; each failed attempt costs the 4 s ECS call timeout."""
    codes = {}
    for via in ("agent", "api"):
        scenario = _scenario(
            tmp_path,
            [(60, 120)],
            protection={"policy": "per_job", "via": via, "max_attempts": 2},
            faults=[
                {
                    "kind": "protection_api_errors",
                    "probability": 1,
                    "code": "RequestTimeout",
                }
            ],
        )
        result = run(scenario)
        codes[via] = [
            (round(float(t), 6), d["code"])
            for t, d in zip(
                _of(result, "protection_call_error")["time_s"],
                _details(result, "protection_call_error"),
                strict=True,
            )
        ]
        assert _of(result, "protection_set").empty
    # protect at 60: +0.1 latency, 4 s timeout, 0.1 s back-off, +0.1 latency, 4 s;
    # the job then runs 68.3..188.3 and the release fails the same way
    assert codes == {
        "agent": [
            (60.1, "RequestCanceled"),
            (64.3, "RequestCanceled"),
            (188.4, "RequestCanceled"),
            (192.6, "RequestCanceled"),
        ],
        "api": [
            (60.1, "RequestTimeout"),
            (64.3, "RequestTimeout"),
            (188.4, "RequestTimeout"),
            (192.6, "RequestTimeout"),
        ],
    }
