"""``ecssim.run``: reproducible frames, conservation, the summary's shape, the
invariant checks, and the policy comparison a user runs ecssim for."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from ecssim import RunResult, load_scenario, parse_scenario, run
from ecssim.errors import InvariantViolation, ScenarioError
from ecssim.results.capacity import CAPACITY_COLUMNS
from ecssim.results.metrics import SUMMARY_COLUMNS, summarize
from ecssim.rules.invariants import check_conservation, check_record
from ecssim.scenario.schema import Scenario

FRAMES = ("events", "timeseries", "jobs", "sessions", "summary")
JOB_OUTCOMES = {"completed", "in_flight", "queued", "invisible", "dead_lettered"}


def _mixed(seed: int = 3, duration: str = "6h") -> Scenario:
    """A queue service and a session service with scale-ins and random faults."""
    return parse_scenario(
        {
            "name": "mixed",
            "seed": seed,
            "duration": duration,
            "sample_interval": "5m",
            "services": [
                {
                    "name": "queue",
                    "desired_count": 4,
                    "stop_timeout": "60s",
                    "workload": {
                        "kind": "queue",
                        "arrivals": {"rate": "12/h"},
                        "job_duration": {
                            "distribution": "lognormal",
                            "median": "10m",
                            "p95": "40m",
                        },
                        "visibility_timeout": "10m",
                        "max_receive_count": 2,
                    },
                    "protection": {"policy": "renewing", "expires_in": "15m"},
                },
                {
                    "name": "game",
                    "desired_count": 2,
                    "workload": {
                        "kind": "sessions",
                        "arrivals": {"rate": "20/h"},
                        "session_duration": {
                            "distribution": "exponential",
                            "mean": "15m",
                        },
                        "slots_per_task": 4,
                        "max_wait": "2m",
                    },
                    "protection": {"policy": "sessions", "expires_in": "30m"},
                },
            ],
            "scheduled": [
                {
                    "at": "1h",
                    "action": "set_desired_count",
                    "service": "queue",
                    "count": 1,
                },
                {
                    "at": "2h",
                    "action": "set_desired_count",
                    "service": "queue",
                    "count": 4,
                },
                {"at": "3h", "action": "deploy", "service": "game"},
                {
                    "at": "4h",
                    "action": "set_desired_count",
                    "service": "game",
                    "count": 1,
                },
            ],
            "faults": [
                {"kind": "task_crash", "service": "queue", "rate": "1/h"},
                {"kind": "protection_api_errors", "probability": 0.1},
            ],
        }
    )


def _queue(policy: str, seed: int = 0, **protection: Any) -> Scenario:
    """The headline scenario: a queue worker service scaled in and out every 2 h."""
    return parse_scenario(
        {
            "name": "headline",
            "seed": seed,
            "duration": "12h",
            "services": [
                {
                    "name": "svc",
                    "desired_count": 6,
                    "stop_timeout": "60s",
                    "workload": {
                        "kind": "queue",
                        "arrivals": {"rate": "12/h"},
                        "job_duration": {
                            "distribution": "lognormal",
                            "median": "15m",
                            "p95": "50m",
                        },
                        "visibility_timeout": "15m",
                    },
                    "protection": {"policy": policy, **protection},
                }
            ],
            "scheduled": [
                {
                    "at": f"{h}h",
                    "action": "set_desired_count",
                    "service": "svc",
                    "count": c,
                }
                for h, c in ((2, 3), (4, 6), (6, 2), (8, 6), (10, 3))
            ],
        }
    )


# ---- reproducibility ---------------------------------------------------------------------------
def test_the_same_scenario_and_seed_give_identical_frames() -> None:
    """Two runs with the same seed produce exactly the same five frames."""
    first, second = run(_mixed()), run(_mixed())
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    assert len(first.events) > 100
    assert len(first.jobs) > 20
    assert len(first.sessions) > 20


def test_a_seed_argument_overrides_the_scenario_seed() -> None:
    """run(seed=...) replaces the scenario's seed, and the result says which it used."""
    overridden = run(_mixed(seed=3), seed=4)
    native = run(_mixed(seed=4))
    assert (overridden.seed, native.seed) == (4, 4)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(overridden, name), getattr(native, name))


def test_another_seed_gives_different_frames() -> None:
    """A different seed changes arrivals, durations and the event log."""
    first, other = run(_mixed(seed=3)), run(_mixed(seed=4))
    assert not first.events.equals(other.events)
    assert list(first.jobs["arrival_s"]) != list(other.jobs["arrival_s"])
    assert list(first.sessions["arrival_s"]) != list(other.sessions["arrival_s"])


# ---- conservation and shapes ---------------------------------------------------------------------
def test_every_job_is_accounted_for_exactly_once() -> None:
    """Each job ends in one known outcome, and the summary's parts add up to arrivals."""
    result = run(_mixed())
    jobs = result.jobs
    assert set(jobs["outcome"]) <= JOB_OUTCOMES
    assert {"completed", "dead_lettered"} <= set(jobs["outcome"])
    assert list(jobs["job"]) == list(range(len(jobs)))
    summary = result.service_summary("queue")
    counts = jobs["outcome"].value_counts()
    assert summary["jobs_arrived"] == len(jobs)
    assert summary["jobs_completed"] == counts.get("completed", 0)
    assert summary["jobs_in_flight_at_end"] == counts.get("in_flight", 0)
    assert summary["jobs_waiting_at_end"] == counts.get("queued", 0) + counts.get(
        "invisible", 0
    )
    assert summary["jobs_dead_lettered"] == counts.get("dead_lettered", 0)
    assert (
        summary["jobs_completed"]
        + summary["jobs_in_flight_at_end"]
        + summary["jobs_waiting_at_end"]
        + summary["jobs_dead_lettered"]
        == summary["jobs_arrived"]
    )


def test_every_session_is_accounted_for_exactly_once() -> None:
    """Each session ends in one known outcome and the summary counts match the frame."""
    result = run(_mixed())
    sessions = result.sessions
    outcomes = {"waiting", "connected", "completed", "interrupted", "dropped"}
    assert set(sessions["outcome"]) <= outcomes
    summary = result.service_summary("game")
    counts = sessions["outcome"].value_counts()
    assert summary["sessions_arrived"] == len(sessions)
    assert summary["sessions_completed"] == counts.get("completed", 0)
    assert summary["sessions_interrupted"] == counts.get("interrupted", 0)
    assert summary["sessions_dropped"] == counts.get("dropped", 0)


def test_the_summary_has_every_column_in_order_and_one_row_per_service() -> None:
    """The summary's columns are exactly SUMMARY_COLUMNS, one row per service."""
    result = run(_mixed())
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)
    assert list(result.summary["service"]) == ["queue", "game"]
    with pytest.raises(KeyError, match="nope"):
        result.service_summary("nope")


def test_timeseries_has_one_row_per_service_per_interval_of_the_run() -> None:
    """Samples are taken at 0 and every sample_interval before the duration: each
    row stands for the interval that starts at its time, so rows cover the run."""
    result = run(_mixed(duration="2h"))
    expected = [float(t) for t in np.arange(0, 2 * 3600, 300)]
    series = result.timeseries
    for service in ("queue", "game"):
        assert list(series[series["service"] == service]["time_s"]) == expected


def test_timeseries_rows_follow_each_other_by_the_interval() -> None:
    """Rows come in time order, one per service per sample, 5 minutes apart."""
    result = run(_mixed(duration="2h"))
    series = result.timeseries
    times = series["time_s"].to_numpy()
    assert times[0] == 0.0
    assert list(series["service"][:4]) == ["queue", "game", "queue", "game"]
    assert set(np.diff(times[::2])) == {300.0}
    counts = series[["running", "busy", "idle", "protected", "idle_protected"]]
    assert (counts >= 0).all().all()
    assert (series["busy"] + series["idle"] == series["running"]).all()
    assert (series["idle_protected"] <= series["protected"]).all()


# ---- exact outcomes -----------------------------------------------------------------------------
def test_the_sample_interval_changes_only_the_timeseries() -> None:
    """Every summary figure (task-hours, convergence delays ...) comes from the
    events: the same run sampled every 10 s, 1 m, 5 m or 15 m has the same summary."""
    base = _mixed(duration="4h")
    summaries = [
        run(base.with_overrides({"sample_interval": interval})).summary
        for interval in ("10s", "1m", "5m", "15m")
    ]
    for summary in summaries[1:]:
        pd.testing.assert_frame_equal(summary, summaries[0])
    queue = summaries[0].iloc[0]
    assert queue["task_hours"] > 0
    assert queue["convergence_delay_max_s"] > 0


def test_exact_task_hours_agree_with_a_fine_sampling() -> None:
    """Sampled every 10 s, the time series' sums approach the exact integrals."""
    result = run(_mixed(duration="4h").with_overrides({"sample_interval": "10s"}))
    series = result.timeseries
    for service in ("queue", "game"):
        mine = series[series["service"] == service]
        row = result.service_summary(service)
        for column, outcome in (
            ("running", "task_hours"),
            ("busy", "busy_task_hours"),
            ("protected", "protected_task_hours"),
        ):
            sampled = float(mine[column].sum()) * 10 / 3600
            assert sampled == pytest.approx(row[outcome], rel=0.01, abs=0.05)


def test_measure_from_leaves_the_warm_up_out_of_every_outcome() -> None:
    """With measure_from: 2h, task-hours cover the last 2 of 4 hours and only jobs
    arriving after 2 h count."""
    full = run(_mixed(duration="4h"))
    warm = run(_mixed(duration="4h").with_overrides({"measure_from": "2h"}))
    jobs = full.jobs[(full.jobs["service"] == "queue")]
    assert warm.service_summary("queue")["jobs_arrived"] == int(
        (jobs["arrival_s"] >= 7200).sum()
    )
    assert (
        0
        < warm.service_summary("queue")["task_hours"]
        < full.service_summary("queue")["task_hours"]
    )
    series = full.timeseries
    late = series[(series["service"] == "queue") & (series["time_s"] >= 7200)]
    assert warm.service_summary("queue")["task_hours"] == pytest.approx(
        float(late["running"].sum()) * 300 / 3600, rel=0.05
    )


def test_a_session_service_has_no_queue_outcomes() -> None:
    """Outcomes of the other workload kind are NaN, not 0."""
    summary = run(_mixed(duration="1h")).summary.set_index("service")
    assert summary.loc["game", "sessions_arrived"] > 0
    assert (
        summary.loc[["game"], ["jobs_arrived", "queue_wait_p95_s"]].isna().all().all()
    )
    assert summary.loc[["queue"], ["sessions_arrived"]].isna().all().all()


def test_measure_from_must_be_before_the_end() -> None:
    """A warm-up as long as the run is refused with its path."""
    with pytest.raises(ScenarioError, match="measure_from"):
        _mixed(duration="1h").with_overrides({"measure_from": "1h"})


# ---- invariants -------------------------------------------------------------------------------------
def test_a_scheduler_stop_of_a_protected_task_breaks_the_invariant() -> None:
    """check_record raises on a ServiceSchedulerInitiated stop of a protected task."""
    with pytest.raises(InvariantViolation, match="while protected"):
        check_record(
            "task_stop_requested",
            {"stop_code": "ServiceSchedulerInitiated", "protected": True},
            0,
        )


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (
            "task_stop_requested",
            {"stop_code": "ServiceSchedulerInitiated", "protected": False},
        ),
        ("task_stop_requested", {"stop_code": "SpotInterruption", "protected": True}),
        ("task_stop_requested", {"stop_code": "UserInitiated", "protected": True}),
        (
            "task_stop_requested",
            {"stop_code": "EssentialContainerExited", "protected": True},
        ),
        ("desired_count_changed", {"desired_count": 0, "previous": 3}),
    ],
)
def test_allowed_records_pass_the_invariant_check(
    kind: str, fields: dict[str, Any]
) -> None:
    """Stops that ignore protection by design, and zero counts, raise nothing."""
    check_record(kind, fields, 12.5)


def test_a_negative_count_breaks_the_invariant() -> None:
    """check_record raises on a negative desired count."""
    with pytest.raises(InvariantViolation, match="desired_count is -1"):
        check_record("desired_count_changed", {"desired_count": -1}, 3.0)


def test_conservation_raises_when_parts_do_not_add_up() -> None:
    """check_conservation raises when the parts miss a job, and when a part is negative."""
    parts = {"completed": 3, "in_flight": 1, "queued": 0}
    check_conservation("queue of svc", 4, parts, 0)
    with pytest.raises(InvariantViolation, match="5 arrived"):
        check_conservation("queue of svc", 5, parts, 0)
    with pytest.raises(InvariantViolation, match="negative"):
        check_conservation("queue of svc", 3, {"completed": 4, "queued": -1}, 0)


# ---- the headline comparison ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def headline() -> dict[str, dict[str, Any]]:
    """The headline scenario's summary under each built-in queue policy."""
    results: dict[str, RunResult] = {
        policy: run(_queue(policy, expires_in="2h", on_failure="stop_taking_work"))
        for policy in ("none", "per_job", "renewing", "always")
    }
    return {p: r.service_summary("svc") for p, r in results.items()}


def test_protection_cuts_interrupted_jobs(headline: dict[str, dict[str, Any]]) -> None:
    """Without protection scale-ins kill jobs; per_job and renewing kill fewer."""
    none = headline["none"]["job_interruptions"]
    assert none >= 3
    assert headline["per_job"]["job_interruptions"] < none
    assert headline["renewing"]["job_interruptions"] < none
    assert headline["none"]["lost_work_hours"] > headline["per_job"]["lost_work_hours"]


def test_protection_costs_protected_task_hours(
    headline: dict[str, dict[str, Any]],
) -> None:
    """renewing and always hold protected task-hours that none does not."""
    assert headline["none"]["protected_task_hours"] == 0
    assert headline["renewing"]["protected_task_hours"] > 0
    assert headline["always"]["protected_task_hours"] > 0
    assert headline["always"]["idle_protected_task_hours"] > 0


def test_always_protected_has_the_most_idle_protected_hours(
    headline: dict[str, dict[str, Any]],
) -> None:
    """always keeps idle tasks protected: the most idle-but-protected task-hours."""
    idle = {p: s["idle_protected_task_hours"] for p, s in headline.items()}
    assert max(idle, key=idle.__getitem__) == "always"
    assert idle["always"] > 2 * max(idle["per_job"], idle["renewing"], idle["none"])


def test_protection_keeps_tasks_above_desired(
    headline: dict[str, dict[str, Any]],
) -> None:
    """Protection blocks scale-ins, so protected policies spend time above desired."""
    assert headline["none"]["scale_ins_blocked"] == 0
    assert headline["none"]["protected_surplus_task_hours"] == 0
    for policy in ("per_job", "renewing", "always"):
        assert headline[policy]["scale_ins_blocked"] > 0
        assert headline[policy]["protected_surplus_task_hours"] > 0


def test_throttled_protection_calls_are_counted_for_their_service() -> None:
    """With a tiny account token bucket, the ThrottlingExceptions the workers get are
    counted in their service's summary (throttles, protection_calls)."""
    scenario = parse_scenario(
        {
            "name": "throttled",
            "seed": 1,
            "duration": "2h",
            "ecs": {"protection_api_rate": "6/h", "protection_api_burst": 1},
            "services": [
                {
                    "name": "svc",
                    "desired_count": 4,
                    "workload": {
                        "kind": "queue",
                        "arrivals": {"rate": "30/h"},
                        "job_duration": {"distribution": "fixed", "value": "5m"},
                    },
                    "protection": {"policy": "per_job"},
                }
            ],
        }
    )
    result = run(scenario)
    throttled = int((result.events["kind"] == "protection_throttled").sum())
    assert throttled > 10
    summary = result.service_summary("svc")
    assert summary["throttles"] == throttled
    assert summary["protection_calls"] >= throttled


def test_build_then_advance_gives_what_run_gives() -> None:
    """A built scenario stepped to its end in pieces gives the frames run gives,
    and can be inspected with the boto3-shaped client on the way."""
    from ecssim.model.build import build

    scenario = _mixed(duration="2h")
    model = build(scenario)
    model.sim.advance(3600)
    arns = model.sim.ecs.list_tasks(cluster=scenario.cluster.name)["taskArns"]
    assert arns
    model.sim.advance(3600)
    built, ran = model.result(), run(scenario)
    for name in ("events", "timeseries", "jobs", "sessions", "summary"):
        pd.testing.assert_frame_equal(getattr(built, name), getattr(ran, name))


@pytest.mark.parametrize(
    ("path", "measure_from_s"),
    [
        ("scenarios/standalone-tasks.yaml", 0.0),
        ("scenarios/spot-and-throttling.yaml", 0.0),
        ("scenarios/transcoding-queue.yaml", 3600.0),
    ],
)
def test_a_runs_summary_is_the_one_computed_from_its_events(
    path: str, measure_from_s: float
) -> None:
    """The summary a run computes from its recorder's columns (occupancies, and
    counts of the most frequent kinds, which its frame leaves out) is exactly
    the one ``summarize`` computes from the events frame alone (standalone
    tasks and a warm-up too); the capacity columns come from the events frame
    in both (passed through)."""
    scenario = load_scenario(path).model_copy(
        update={"duration_s": 3 * 3600.0, "measure_from_s": measure_from_s}
    )
    result = run(scenario)
    again = summarize(
        result.events,
        result.jobs,
        result.sessions,
        services=[s.name for s in scenario.services],
        duration_s=scenario.duration_s,
        measure_from_s=scenario.measure_from_s,
        workloads={
            s.name: s.workload.kind if s.workload is not None else None
            for s in scenario.services
        },
        capacity=result.summary.set_index("service")[list(CAPACITY_COLUMNS)],
    )
    pd.testing.assert_frame_equal(result.summary, again, check_exact=True)


def test_a_run_worked_out_a_part_at_a_time_gives_the_same_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Occupancies taken a part of the tasks at a time (what a long run does)
    give the frames of one pass: the same summary, the same jobs."""
    from ecssim.model import build as build_module

    scenario = load_scenario("scenarios/transcoding-queue.yaml").model_copy(
        update={"duration_s": 4 * 3600.0}
    )
    whole = run(scenario)
    monkeypatch.setattr(build_module, "OCCUPANCY_PART_ROWS", 50)
    parts = run(scenario)
    pd.testing.assert_frame_equal(parts.summary, whole.summary, check_exact=True)
    pd.testing.assert_frame_equal(parts.jobs, whole.jobs, check_exact=True)


def test_the_events_are_built_when_read_from_what_was_recorded_by_then() -> None:
    """A result's events are built the first time they are read (then kept), and
    hold the records up to the result even when the model ran on since; read in
    parts they make the same frame."""
    from ecssim.model.build import build

    model = build(_mixed(duration="2h"))
    model.sim.advance(3600)
    result = model.result()
    recorded = len(model.sim.recorder)
    assert callable(vars(result)["events"])  # not built yet
    model.sim.advance(3600)
    assert len(model.sim.recorder) > recorded
    parts = list(result.event_parts(100))
    assert [len(p) for p in parts[:-1]] == [100] * (len(parts) - 1)
    events = result.events
    assert result.events is events
    pd.testing.assert_frame_equal(
        events, model.sim.recorder.events_frame().iloc[:recorded]
    )
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), events)
    pd.testing.assert_frame_equal(
        pd.concat(result.event_parts(100), ignore_index=True), events
    )
