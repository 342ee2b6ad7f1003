"""AWS's task-protection sample (aws-containers/ecs-task-protection-examples) and
its README demo, reproduced: as a bundled scenario with the built-in
``aws_sample`` policy, and as the sample's ProtectionManager ported to Python
against ``sim.client("ecs")``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ecssim import EcsSettings, RunResult, Simulation, load_scenario, run

DEMO = Path(__file__).parent.parent / "scenarios" / "aws-sample-demo.yaml"
JOB_START_S, JOB_S, SCALE_IN_S = 60.0, 360.0, 120.0


def _kinds(result: RunResult, *kinds: str) -> pd.DataFrame:
    events = result.events
    return events[events["kind"].isin(kinds)].reset_index(drop=True)


def _messages(result: RunResult) -> list[str]:
    return [json.loads(d)["message"] for d in _kinds(result, "service_event")["detail"]]


def _demo(**overrides: Any) -> RunResult:
    scenario = load_scenario(DEMO)
    if overrides:
        scenario = scenario.with_overrides(overrides)
    return run(scenario)


def test_the_demo_job_finishes_and_then_ecs_stops_the_task() -> None:
    """Desired count 0 while a 6-minute job runs on 1-minute protection: the
    renewals are accepted, the task stays up with the blocked event (with its task
    set) until the job is done, and ECS stops it once the worker released."""
    result = _demo()
    summary = result.service_summary("queue-consumer")
    assert summary["jobs_completed"] == 1
    assert summary["job_interruptions"] == 0
    renewed = _kinds(result, "protection_renewed")["time_s"].tolist()
    during = [t for t in renewed if SCALE_IN_S < t < JOB_START_S + JOB_S]
    # a renewal every ~50 s (80 % of a minute, on a 10 s timer) through the job
    assert len(during) >= 5
    assert all(40 <= b - a <= 60 for a, b in itertools.pairwise(renewed))
    messages = _messages(result)
    blocked = [m for m in messages if "was unable to scale in due to" in m]
    assert len(blocked) == 1
    assert blocked[0].startswith("(service queue-consumer, taskSet ecs-svc/")
    assert blocked[0].endswith("(reason 1 tasks under protection)")
    assert any(
        "was unable to reach steady state because task set" in m for m in messages
    )
    cleared = _kinds(result, "protection_cleared")["time_s"].tolist()
    assert len(cleared) == 1
    assert JOB_START_S + JOB_S <= cleared[0] < JOB_START_S + JOB_S + 1
    (stop,) = _kinds(result, "task_stop_requested").itertuples()
    assert json.loads(stop.detail)["stop_code"] == "ServiceSchedulerInitiated"
    assert cleared[0] + 15 <= stop.time_s <= cleared[0] + 16
    # the worker's next protect was refused (it only checks the status code)
    refused = _kinds(result, "protection_failed")
    assert refused["reason"].tolist() == ["DEPLOYMENT_BLOCKED"]
    assert _kinds(result, "task_killed").empty
    last = result.timeseries.iloc[-1]
    assert (last["desired"], last["running"]) == (0, 0)


def test_the_old_rule_kills_the_demo_job() -> None:
    """Under refuse_renewals_too the first renewal after the scale-in is refused,
    protection lapses and the job is SIGKILLed: what the sample's demo refutes."""
    result = _demo(**{"ecs.deployment_blocked": "refuse_renewals_too"})
    summary = result.service_summary("queue-consumer")
    assert summary["job_interruptions"] == 1
    (killed,) = _kinds(result, "task_killed")["time_s"].tolist()
    assert SCALE_IN_S < killed < SCALE_IN_S + 120


def test_a_worker_that_reads_the_failure_body_exits_by_itself() -> None:
    """With check_failure_body the sample's worker sees DEPLOYMENT_BLOCKED, stops
    taking work and exits: the essential container exits and the task stops."""
    result = _demo(**{"services[0].protection.check_failure_body": True})
    log = _kinds(
        result, "protection_rejected", "worker_stopped_taking_work", "worker_exited"
    )
    assert log["kind"].tolist() == [
        "protection_rejected",
        "worker_stopped_taking_work",
        "worker_exited",
    ]
    (stop,) = _kinds(result, "task_stop_requested").itertuples()
    assert '"EssentialContainerExited"' in stop.detail
    assert stop.time_s == pytest.approx(log["time_s"].iloc[-1])


def test_the_sample_releases_between_jobs_and_holds_a_short_release(
    tmp_path: Path,
) -> None:
    """Call for call: protect before each receive, release after each job, so the
    task is really unprotected between jobs; a release asked for within 10 % of
    the duration (6 s) of the last change waits for the manager's next 10 s tick."""
    trace = tmp_path / "jobs.csv"
    trace.write_text("arrival,duration\n60,2\n120,30\n")
    scenario = load_scenario(DEMO).with_overrides(
        {"scheduled": [], "services[0].workload.arrivals.trace": str(trace)}
    )
    result = run(scenario)
    log = _kinds(result, "protection_set", "protection_cleared")
    rows = list(zip(log["time_s"].round(2), log["kind"], strict=True))
    sets = [t for t, k in rows if k == "protection_set"]
    clears = [t for t, k in rows if k == "protection_cleared"]
    assert result.jobs["end_s"].round(2).tolist() == [62.0, 150.0]
    # the 2 s job ended 2 s after the protect that preceded it: the release is
    # held to the first tick at least 6 s after that protect
    first_set = max(t for t in sets if t <= 60)
    first_clear = min(t for t in clears if t > 62)
    assert first_clear >= first_set + 6
    assert first_clear - 62 <= 10
    # the 30 s job: released right after it, with no hold
    assert min(t for t in clears if t > 150) == pytest.approx(150.03)
    # never two protects without a release between (real gaps, not renewals)
    merged = [k for _, k in rows]
    assert all(a != b for a, b in itertools.pairwise(merged))


# ---- the sample's ProtectionManager, ported, against sim.client("ecs") ---------
class PortedProtectionManager:
    """queue-consumer/lib/protection-manager.js, in Python, calling
    UpdateTaskProtection through a real botocore client (the agent endpoint
    forwards the same call)."""

    def __init__(self, ecs: Any, cluster: str, task: str, sim: Simulation) -> None:
        self.ecs, self.cluster, self.task, self.sim = ecs, cluster, task, sim
        self.minutes, self.refresh, self.maintain = 1, 0.8, 0.1
        self.desired = self.current = "unprotected"
        self.last_change = sim.now_s
        self.rejected: list[str] = []

    def attempt(self) -> None:
        if self.current == self.desired == "unprotected":
            return
        since = self.sim.now_s - self.last_change
        if self.current == self.desired == "protected" and since < 60 * self.refresh:
            return
        if (
            self.current == "protected"
            and self.desired == "unprotected"
            and since < 60 * self.maintain
        ):
            return
        enabled = self.desired == "protected"
        params: dict[str, Any] = {"protectionEnabled": enabled}
        if enabled:
            params["expiresInMinutes"] = self.minutes
        response = self.ecs.update_task_protection(
            cluster=self.cluster, tasks=[self.task], **params
        )
        if response["failures"]:
            self.rejected.append(response["failures"][0]["reason"])
            return
        self.last_change = self.sim.now_s
        self.current = self.desired


def test_the_ported_sample_reproduces_the_readme_demo() -> None:
    """The sample's manager and loop, ported to Python against sim.client("ecs")
    with a 10 s timer: the 6-minute job survives desired count 0, the service
    reports the protected task, and after the release ECS stops the task."""
    sim = Simulation(seed=3, settings=EcsSettings())
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="demo")
    ecs.register_task_definition(
        family="queue-consumer",
        containerDefinitions=[{"name": "worker", "image": "consumer:1"}],
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
    )
    ecs.create_service(
        cluster="demo",
        serviceName="queue-consumer",
        taskDefinition="queue-consumer",
        desiredCount=1,
        launchType="FARGATE",
    )
    sim.advance(120)
    [task] = ecs.list_tasks(cluster="demo")["taskArns"]
    manager = PortedProtectionManager(ecs, "demo", task, sim)
    manager.desired = "protected"  # acquire()
    manager.attempt()
    assert manager.current == "protected"
    job_ends = sim.now_s + JOB_S
    ecs.update_service(cluster="demo", service="queue-consumer", desiredCount=0)
    while sim.now_s < job_ends:  # the job runs; the 10 s timer keeps protection fresh
        sim.advance(10)
        manager.attempt()
        assert ecs.list_tasks(cluster="demo")["taskArns"] == [task]
    assert manager.rejected == []
    events = ecs.describe_services(cluster="demo", services=["queue-consumer"])[
        "services"
    ][0]["events"]
    assert any(
        "taskSet ecs-svc/" in e["message"]
        and e["message"].endswith(
            "was unable to scale in due to (reason 1 tasks under protection)"
        )
        for e in events
    )
    manager.desired = "unprotected"  # release()
    manager.attempt()
    assert manager.current == "unprotected"
    manager.desired = "protected"  # the loop's next acquire()
    manager.attempt()
    assert manager.rejected == ["DEPLOYMENT_BLOCKED"]
    sim.advance(60)
    assert ecs.list_tasks(cluster="demo")["taskArns"] == []
    stopped = ecs.describe_tasks(cluster="demo", tasks=[task])["tasks"][0]
    assert stopped["stopCode"] == "ServiceSchedulerInitiated"
