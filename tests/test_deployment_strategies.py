"""BLUE_GREEN, LINEAR and CANARY deployments: the pure timeline rules, the API
shapes through a real botocore client, each strategy's timeline on the simulated
clock, protected blue tasks, rollbacks, and scenario files (the AWS developer
guide's blue/green, linear and canary pages; botocore's ``DeploymentConfiguration``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError
from botocore.loaders import Loader
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim import EcsSettings, Simulation, load_scenario, run
from ecssim.cli import main
from ecssim.rules.deployments import (
    STAGES,
    DeploymentStrategy,
    LifecycleHook,
    production_traffic_steps,
    stage_duration_s,
    traffic_percent,
)

MINUTE = 60.0
KNOBS = EcsSettings()
#: from a stop request to STOPPED (SIGTERM exit, then deprovisioning)
SETTLE_S = 120.0


# ---- 1. the pure rules ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("strategy", "steps"),
    [
        (DeploymentStrategy("BLUE_GREEN", 5), ((0.0, 100.0),)),
        (
            DeploymentStrategy("LINEAR", linear_step_percent=25.0),
            ((0.0, 25.0), (360.0, 50.0), (720.0, 75.0), (1080.0, 100.0)),
        ),
        (
            DeploymentStrategy(
                "LINEAR", linear_step_percent=30.0, linear_step_bake_minutes=2
            ),
            ((0.0, 30.0), (120.0, 60.0), (240.0, 90.0), (360.0, 100.0)),
        ),
        (DeploymentStrategy("CANARY"), ((0.0, 5.0), (600.0, 100.0))),
        (DeploymentStrategy("CANARY", canary_percent=100.0), ((0.0, 100.0),)),
    ],
)
def test_production_traffic_steps(
    strategy: DeploymentStrategy, steps: tuple[tuple[float, float], ...]
) -> None:
    """All at once for BLUE_GREEN; equal steps with the step bake time between
    them (none after 100 %) for LINEAR; canary, its bake time, then the rest."""
    assert production_traffic_steps(strategy) == steps


def test_linear_with_the_smallest_step_ends_at_exactly_100() -> None:
    """3 % steps: 34 steps, each 3 % more, the last one capped at 100 %."""
    steps = production_traffic_steps(
        DeploymentStrategy("LINEAR", linear_step_percent=3.0)
    )
    assert len(steps) == 34
    assert [p for _, p in steps][:3] == [3.0, 6.0, 9.0]
    assert steps[-1] == (33 * 360.0, 100.0)
    assert steps[-2] == (32 * 360.0, 99.0)


def test_stage_durations_follow_hooks_and_bake_time() -> None:
    """A stage lasts as long as its slowest hook (Lambda: the knob; PAUSE: its
    timeout); the traffic shift adds its steps; BAKE_TIME is the bake time;
    SCALE_UP and CLEAN_UP end on a condition."""
    strategy = DeploymentStrategy(
        "CANARY",
        bake_time_minutes=20,
        canary_bake_minutes=7,
        hooks=(
            LifecycleHook(stages=("POST_SCALE_UP", "PRODUCTION_TRAFFIC_SHIFT")),
            LifecycleHook(
                stages=("POST_SCALE_UP",), target_type="PAUSE", timeout_minutes=3
            ),
        ),
    )
    durations = {s: stage_duration_s(strategy, s, hook_s=30.0) for s in STAGES}
    assert durations == {
        "RECONCILE_SERVICE": 0.0,
        "PRE_SCALE_UP": 0.0,
        "SCALE_UP": None,
        "POST_SCALE_UP": 180.0,
        "TEST_TRAFFIC_SHIFT": 0.0,
        "POST_TEST_TRAFFIC_SHIFT": 0.0,
        "PRE_PRODUCTION_TRAFFIC_SHIFT": 0.0,
        "PRODUCTION_TRAFFIC_SHIFT": 30.0 + 420.0,
        "POST_PRODUCTION_TRAFFIC_SHIFT": 0.0,
        "BAKE_TIME": 1200.0,
        "CLEAN_UP": None,
    }
    shift = "PRODUCTION_TRAFFIC_SHIFT"
    assert traffic_percent(strategy, shift, 29.0, hook_s=30.0) == 0.0
    assert traffic_percent(strategy, shift, 30.0, hook_s=30.0) == 5.0
    assert traffic_percent(strategy, shift, 449.0, hook_s=30.0) == 5.0
    assert traffic_percent(strategy, shift, 450.0, hook_s=30.0) == 100.0
    assert traffic_percent(strategy, "BAKE_TIME", 0.0, hook_s=30.0) == 100.0
    assert traffic_percent(strategy, "SCALE_UP", 99.0, hook_s=30.0) == 0.0


# ---- helpers -------------------------------------------------------------------------
def _sim(
    desired: int = 4,
    config: dict[str, Any] | None = None,
    *,
    settings: EcsSettings | None = None,
    seed: int = 5,
) -> Simulation:
    """Cluster ``prod``, revisions ``worker:1..3``, service ``api`` of *desired*
    tasks on ``worker:1`` with *config*, settled."""
    sim = Simulation(seed=seed, settings=settings)
    sim.ecs.create_cluster(clusterName="prod")
    for _ in range(3):
        sim.ecs.register_task_definition(
            family="worker", containerDefinitions=[{"name": "app", "image": "worker"}]
        )
    sim.ecs.create_service(
        cluster="prod",
        serviceName="api",
        taskDefinition="worker:1",
        desiredCount=desired,
        deploymentConfiguration=config or {},
    )
    sim.advance(SETTLE_S)
    return sim


def _events(sim: Simulation, kind: str, after_s: float = -1.0) -> pd.DataFrame:
    """Rows of one kind recorded after *after_s*, detail JSON spread into columns."""
    frame = sim.events()
    rows = frame[(frame["kind"] == kind) & (frame["time_s"] > after_s)]
    rows = rows.reset_index(drop=True)
    detail = pd.DataFrame([json.loads(d) for d in rows["detail"]], index=rows.index)
    return pd.concat([rows.drop(columns=["detail"]), detail], axis=1)


def _service(sim: Simulation) -> dict[str, Any]:
    return sim.ecs.describe_services(cluster="prod", services=["api"])["services"][0]


def _arns(sim: Simulation) -> list[str]:
    return sorted(sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"])


def _task_definitions(sim: Simulation) -> list[str]:
    tasks = sim.ecs.describe_tasks(cluster="prod", tasks=_arns(sim))["tasks"]
    return sorted(t["taskDefinitionArn"].rsplit("/", 1)[1] for t in tasks)


def _timeline(sim: Simulation, t0: float) -> list[tuple[float, str, Any]]:
    """Stages and traffic changes from *t0* on in the order they were recorded,
    as (seconds after t0, kind, stage or percent)."""
    frame = sim.events()
    kinds = ("deployment_stage", "traffic_shifted")
    rows = frame[frame["kind"].isin(kinds) & (frame["time_s"] >= t0)]
    out = []
    for time_s, kind, detail in zip(
        rows["time_s"], rows["kind"], rows["detail"], strict=True
    ):
        fields = json.loads(detail)
        value = fields["stage"] if kind == "deployment_stage" else fields["percent"]
        out.append((round(time_s - t0, 6), kind, value))
    return out


def _green_ready_at(sim: Simulation, t0: float) -> float:
    """When the green tasks were all healthy and the scheduler saw it: the end of
    SCALE_UP, seconds after *t0*."""
    stages = _events(sim, "deployment_stage", t0)
    return float(stages[stages["stage"] == "POST_SCALE_UP"]["time_s"].iloc[0]) - t0


# ---- 2. the API, through a real botocore client --------------------------------------
LINEAR_CONFIG: dict[str, Any] = {
    "minimumHealthyPercent": 100,
    "maximumPercent": 200,
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "strategy": "LINEAR",
    "bakeTimeInMinutes": 15,
    "linearConfiguration": {"stepPercent": 12.5, "stepBakeTimeInMinutes": 4},
    "lifecycleHooks": [
        {
            "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:check",
            "roleArn": "arn:aws:iam::123456789012:role/ecs-hooks",
            "lifecycleStages": ["POST_SCALE_UP", "POST_PRODUCTION_TRAFFIC_SHIFT"],
            "hookDetails": {"suite": "smoke"},
        }
    ],
}


def test_strategy_configuration_round_trips_through_a_botocore_client() -> None:
    """CreateService takes strategy, bake time, linearConfiguration and lifecycle
    hooks; DescribeServices returns them as given; UpdateService to CANARY fills
    in the documented canary defaults and drops the linear configuration."""
    sim = Simulation(seed=1)
    ecs = sim.client("ecs")
    ecs.create_cluster(clusterName="prod")
    ecs.register_task_definition(
        family="worker", containerDefinitions=[{"name": "app", "image": "worker"}]
    )
    created = ecs.create_service(
        cluster="prod",
        serviceName="api",
        taskDefinition="worker",
        desiredCount=2,
        deploymentConfiguration=LINEAR_CONFIG,
    )["service"]
    assert created["deploymentConfiguration"] == LINEAR_CONFIG
    described = ecs.describe_services(cluster="prod", services=["api"])["services"][0]
    assert described["deploymentConfiguration"] == LINEAR_CONFIG
    updated = ecs.update_service(
        cluster="prod",
        service="api",
        deploymentConfiguration={"strategy": "CANARY"},
    )["service"]["deploymentConfiguration"]
    assert updated == {
        **{k: v for k, v in LINEAR_CONFIG.items() if k != "linearConfiguration"},
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 10},
    }


def test_a_rolling_service_reports_its_strategy_and_deployments_keep_their_shape() -> (
    None
):
    """A service created without a strategy reports ``strategy: ROLLING`` and no
    bake time; deployments carry only members of botocore's ``Deployment``."""
    sim = _sim(2)
    config = _service(sim)["deploymentConfiguration"]
    assert config["strategy"] == "ROLLING"
    assert "bakeTimeInMinutes" not in config
    members = set(
        Loader().load_service_model("ecs", "service-2")["shapes"]["Deployment"][
            "members"
        ]
    )
    for deployment in _service(sim)["deployments"]:
        assert set(deployment) <= members


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"strategy": "BLUE_GREEN"}, "bakeTimeInMinutes is required"),
        ({"strategy": "RED_BLACK"}, "strategy 'RED_BLACK' is not one of"),
        ({"strategy": "CANARY", "bakeTimeInMinutes": 1441}, "outside 0..1440"),
        (
            {
                "strategy": "BLUE_GREEN",
                "bakeTimeInMinutes": 5,
                "linearConfiguration": {},
            },
            "linearConfiguration is only valid with the LINEAR",
        ),
        (
            {"strategy": "LINEAR", "canaryConfiguration": {"canaryPercent": 5.0}},
            "canaryConfiguration is only valid with the CANARY",
        ),
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.9}},
            "multiple of 0.1 from 3 to 100",
        ),
        (
            {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 10.05}},
            "multiple of 0.1 from 3 to 100",
        ),
        (
            {
                "strategy": "CANARY",
                "canaryConfiguration": {"canaryBakeTimeInMinutes": -1},
            },
            "outside 0..1440",
        ),
        (
            {
                "strategy": "CANARY",
                "lifecycleHooks": [
                    {"lifecycleStages": ["BAKE_TIME"], "hookTargetArn": "arn:x"}
                ],
            },
            "'BAKE_TIME' is not one of",
        ),
        (
            {
                "strategy": "CANARY",
                "lifecycleHooks": [{"lifecycleStages": ["PRE_SCALE_UP"]}],
            },
            "hookTargetArn is required",
        ),
        ({"earlySuccessCriteria": {"enable": True}}, "does not model"),
    ],
)
def test_bad_strategy_configurations_are_refused(
    config: dict[str, Any], message: str
) -> None:
    """Out-of-range bake times and percentages, a linear or canary configuration
    with another strategy, a BLUE_GREEN without bake time and malformed hooks
    fail with InvalidParameterException, and nothing changes."""
    sim = _sim(2)
    ecs = sim.client("ecs")
    before = _service(sim)["deploymentConfiguration"]
    with pytest.raises(ecs.exceptions.InvalidParameterException) as excinfo:
        ecs.update_service(
            cluster="prod", service="api", deploymentConfiguration=config
        )
    assert isinstance(excinfo.value, ClientError)
    assert message in str(excinfo.value)
    assert _service(sim)["deploymentConfiguration"] == before


# ---- 3. each strategy's timeline -----------------------------------------------------
def test_blue_green_timeline() -> None:
    """Green scales to the full desired count at once (maximumPercent does not
    bound it), traffic moves all at once when green is healthy, the blue tasks
    all run through the bake time and are stopped when it ends; then COMPLETED."""
    sim = _sim(
        4, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10, "maximumPercent": 100}
    )
    blue = _arns(sim)
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(KNOBS.scheduler_reaction_delay_s + 1)
    created = _events(sim, "task_created", t0)
    assert len(created) == 4  # all of green at once, beside 4 blue: 200 %
    sim.advance(5 * MINUTE)
    ready = _green_ready_at(sim, t0)
    assert _timeline(sim, t0) == [
        (0.0, "deployment_stage", "PRE_SCALE_UP"),
        (KNOBS.scheduler_reaction_delay_s, "deployment_stage", "SCALE_UP"),
        (ready, "deployment_stage", "POST_SCALE_UP"),
        (ready, "deployment_stage", "TEST_TRAFFIC_SHIFT"),
        (ready, "deployment_stage", "POST_TEST_TRAFFIC_SHIFT"),
        (ready, "deployment_stage", "PRE_PRODUCTION_TRAFFIC_SHIFT"),
        (ready, "deployment_stage", "PRODUCTION_TRAFFIC_SHIFT"),
        (ready, "traffic_shifted", 100.0),
        (ready, "deployment_stage", "POST_PRODUCTION_TRAFFIC_SHIFT"),
        (ready, "deployment_stage", "BAKE_TIME"),
    ]
    sim.advance(t0 + ready + 10 * MINUTE - 1 - sim.now_s)
    assert set(blue) <= set(_arns(sim))  # the bake time: both revisions run
    assert _service(sim)["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    sim.advance(5 * MINUTE)
    stops = _events(sim, "task_stop_requested", t0)
    assert sorted(stops["time_s"] - t0) == [ready + 10 * MINUTE] * 4
    assert set(stops["task"]) == {a.rsplit("/", 1)[1] for a in blue}
    [deployment] = _service(sim)["deployments"]
    assert deployment["rolloutState"] == "COMPLETED"
    assert _task_definitions(sim) == ["worker:2"] * 4


def test_linear_timeline() -> None:
    """LINEAR shifts 25 % every 3 minutes from the moment green is ready, then
    bakes; no blue task stops before the bake time ends."""
    config = {
        "strategy": "LINEAR",
        "bakeTimeInMinutes": 5,
        "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 3},
    }
    sim = _sim(4, config)
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(2 * 3600)
    ready = _green_ready_at(sim, t0)
    shifts = _events(sim, "traffic_shifted", t0)
    assert list(zip(shifts["time_s"] - t0, shifts["percent"], strict=True)) == [
        (ready, 25.0),
        (ready + 3 * MINUTE, 50.0),
        (ready + 6 * MINUTE, 75.0),
        (ready + 9 * MINUTE, 100.0),
    ]
    stops = _events(sim, "task_stop_requested", t0)
    assert set(stops["time_s"] - t0) == {ready + 9 * MINUTE + 5 * MINUTE}
    completed = _events(sim, "deployment_completed", t0)
    assert len(completed) == 1


def test_canary_timeline() -> None:
    """CANARY shifts 10 %, waits the canary bake time (4 minutes), shifts the
    rest, then bakes (2 minutes) before the blue tasks go."""
    config = {
        "strategy": "CANARY",
        "bakeTimeInMinutes": 2,
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 4},
    }
    sim = _sim(3, config)
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(3600)
    ready = _green_ready_at(sim, t0)
    shifts = _events(sim, "traffic_shifted", t0)
    assert list(zip(shifts["time_s"] - t0, shifts["percent"], strict=True)) == [
        (ready, 10.0),
        (ready + 4 * MINUTE, 100.0),
    ]
    clean_up = _events(sim, "deployment_stage", t0)
    assert float(clean_up[clean_up["stage"] == "CLEAN_UP"]["time_s"].iloc[0]) - t0 == (
        ready + 6 * MINUTE
    )
    assert _task_definitions(sim) == ["worker:2"] * 3


def test_lifecycle_hooks_hold_their_stage() -> None:
    """A Lambda hook on POST_SCALE_UP holds the deployment for the
    ``lifecycle_hook_s`` knob before traffic moves."""
    hook = {
        "hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "lifecycleStages": ["POST_SCALE_UP"],
    }
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 0,
        "lifecycleHooks": [hook],
    }
    sim = _sim(2, config, settings=EcsSettings(lifecycle_hook_s=90.0))
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(3600)
    ready = _green_ready_at(sim, t0)
    shifts = _events(sim, "traffic_shifted", t0)
    assert list(shifts["time_s"] - t0) == [ready + 90.0]


# ---- 4. protected blue tasks ---------------------------------------------------------
def test_protected_blue_tasks_hold_the_deployment_until_protection_lapses() -> None:
    """At CLEAN_UP only the unprotected blue tasks stop; the protected one keeps
    running, the deployment stays IN_PROGRESS with the task-set event, and it is
    stopped and the deployment completes only once its protection expires."""
    sim = _sim(4, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5})
    blue = _arns(sim)
    protected = blue[0]
    response = sim.ecs.update_task_protection(
        cluster="prod", tasks=[protected], protectionEnabled=True, expiresInMinutes=60
    )
    assert response["failures"] == []
    protected_at = sim.now_s
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(30 * MINUTE)
    service = _service(sim)
    green, old = service["deployments"]
    assert green["rolloutState"] == "IN_PROGRESS"
    assert (old["status"], old["desiredCount"], old["runningCount"]) == ("ACTIVE", 1, 1)
    assert protected in _arns(sim)
    assert (
        f"(service api, taskSet {old['id']}) was unable to scale in due to "
        "(reason 1 tasks under protection)"
    ) in [e["message"] for e in service["events"]]
    stops = _events(sim, "task_stop_requested", t0)
    assert len(stops) == 3
    assert not stops["protected"].any()
    sim.advance(protected_at + 60 * MINUTE - sim.now_s - 1)
    assert _service(sim)["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    sim.advance(5 * MINUTE)
    stops = _events(sim, "task_stop_requested", t0)
    assert len(stops) == 4
    assert not stops["protected"].any()
    last = float(stops["time_s"].iloc[-1])
    assert last >= protected_at + 60 * MINUTE
    [deployment] = _service(sim)["deployments"]
    assert deployment["rolloutState"] == "COMPLETED"


# ---- 5. rollbacks ----------------------------------------------------------------------
def test_circuit_breaker_rolls_a_blue_green_deployment_back_to_blue() -> None:
    """Green that fails to start trips the breaker; with rollback the blue
    deployment, still at full size, is PRIMARY again: no new deployment, no new
    blue task, the same blue tasks keep running."""
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 5,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }
    sim = _sim(4, config)
    blue = _arns(sim)
    [original] = _service(sim)["deployments"]
    sim.fail_task_starts("worker:2")
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(30 * MINUTE)
    [primary] = _service(sim)["deployments"]
    assert (primary["id"], primary["status"]) == (original["id"], "PRIMARY")
    assert _arns(sim) == blue
    assert len(_events(sim, "deployment_started", t0 - 1)) == 1
    assert len(_events(sim, "deployment_failed", t0)) == 1
    assert list(_events(sim, "deployment_rolled_back", t0)["deployment"]) == [
        original["id"]
    ]
    assert _events(sim, "traffic_shifted", t0).empty


@pytest.mark.parametrize(
    ("action", "rolled_back"), [("ROLLBACK", True), ("CONTINUE", False)]
)
def test_a_pause_hook_times_out_with_its_action(action: str, rolled_back: bool) -> None:
    """ecssim cannot continue a paused deployment: a PAUSE hook waits out its
    timeout, then rolls back to blue or continues, as its action says."""
    hook = {
        "targetType": "PAUSE",
        "lifecycleStages": ["POST_SCALE_UP"],
        "timeoutConfiguration": {"timeoutInMinutes": 20, "action": action},
    }
    config = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 0,
        "lifecycleHooks": [hook],
    }
    sim = _sim(2, config)
    blue = _arns(sim)
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(2 * 3600)
    ready = _green_ready_at(sim, t0)
    stops = _events(sim, "task_stop_requested", t0)
    if rolled_back:
        # the green tasks are now the old ones: stopped after the reaction delay
        delay = KNOBS.scheduler_reaction_delay_s
        assert set(stops["time_s"] - t0) == {ready + 20 * MINUTE + delay}
        assert _arns(sim) == blue
        assert len(_events(sim, "deployment_failed", t0)) == 1
        assert _events(sim, "traffic_shifted", t0).empty
    else:
        assert set(stops["time_s"] - t0) == {ready + 20 * MINUTE}
        assert _task_definitions(sim) == ["worker:2"] * 2
        assert _service(sim)["deployments"][0]["rolloutState"] == "COMPLETED"


# ---- 6. scenario files ----------------------------------------------------------------
SCENARIO = """\
name: strategies
duration: 3h
services:
  - name: app
    desired_count: 3
    deployment:
      strategy: {strategy}
      bake_time: {bake}
scheduled:
  - {{at: 30m, action: deploy, service: app{deploy}}}
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"strategy": "BLUEGREEN"}, ":7: services[0].deployment.strategy: 'BLUEGREEN'"),
        (
            {"bake": "90s"},
            ":8: services[0].deployment.bake_time: '90s': 1.5 minutes is not a whole",
        ),
        ({"bake": "1441m"}, "outside 0..1440 minutes"),
        (
            {"deploy": ", strategy: CANARY, linear: {step_percent: 10}"},
            ":10: scheduled[0].linear: only valid with strategy LINEAR",
        ),
        (
            {"deploy": ", strategy: LINEAR, linear: {step_percent: 2}"},
            "scheduled[0].linear.step_percent: ",
        ),
        (
            {"deploy": ", strategy: CANARY, canary: {percent: 5.05}"},
            "scheduled[0].canary.percent: ",
        ),
        (
            {"deploy": ", bake_time: 5m"},
            "scheduled[0]: bake_time, linear and canary need a strategy",
        ),
    ],
)
def test_validate_refuses_bad_strategies_with_path_and_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    expected: str,
) -> None:
    """An unknown strategy, a bake time that is not whole minutes or above 1440,
    a configuration for another strategy and percentages that are not multiples
    of 0.1 are refused by validate with the dotted path."""
    values = {"strategy": "BLUE_GREEN", "bake": "10m", "deploy": ""}
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(**{**values, **change}), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert expected in capsys.readouterr().err


def test_a_deploy_action_switches_the_strategy(tmp_path: Path) -> None:
    """A rolling service deployed with ``strategy: CANARY`` in its deploy action
    shifts 5 % then the rest after the canary bake time, and the deployment's
    duration in the summary includes the canary and deployment bake times."""
    text = SCENARIO.format(
        strategy="ROLLING",
        bake="0s",
        deploy=", strategy: CANARY, bake_time: 15m, canary: {percent: 5, bake_time: 20m}",
    )
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    result = run(load_scenario(path))
    events = result.events
    shifts = [
        json.loads(d)["percent"]
        for d in events[events["kind"] == "traffic_shifted"]["detail"]
    ]
    assert shifts == [5.0, 100.0]
    [row] = result.summary.to_dict("records")
    assert row["deployments_completed"] == 1
    assert 35 * MINUTE < row["deployment_duration_max_s"] < 40 * MINUTE
    assert row["deployments_over_cloudformation_timeout"] == 0


def test_bundled_comparison_blue_green_keeps_old_tasks_longer() -> None:
    """On the bundled comparison (its seed, one day), blue/green holds more
    old-revision task-hours than the rolling update (its bake time keeps the idle
    blue tasks), takes at least as long, both complete but over CloudFormation's
    3 hours, and neither strategy stops a protected task."""
    path = Path(__file__).parent.parent / "scenarios" / "blue-green-vs-rolling.yaml"
    scenario = load_scenario(path)
    rows = {}
    for strategy in ("ROLLING", "BLUE_GREEN"):
        result = run(
            scenario.with_overrides({"services[0].deployment.strategy": strategy})
        )
        [rows[strategy]] = result.summary.to_dict("records")
        stops = result.events[result.events["kind"] == "task_stop_requested"]
        assert not any(json.loads(d)["protected"] for d in stops["detail"])
    assert (
        rows["BLUE_GREEN"]["old_revision_task_hours"]
        > rows["ROLLING"]["old_revision_task_hours"]
    )
    assert (
        rows["BLUE_GREEN"]["deployment_duration_max_s"]
        >= rows["ROLLING"]["deployment_duration_max_s"]
    )
    for row in rows.values():
        assert row["deployments_completed"] == 1
        assert row["deployments_over_cloudformation_timeout"] == 1


def test_a_pause_hook_on_the_traffic_shift_rolls_back_before_any_traffic_moves() -> (
    None
):
    """A PAUSE hook on PRODUCTION_TRAFFIC_SHIFT holds the stage before its first
    step; at its timeout (ROLLBACK) blue is PRIMARY again and no traffic moved."""
    hook = {
        "targetType": "PAUSE",
        "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"],
        "timeoutConfiguration": {"timeoutInMinutes": 7},
    }
    config = {"strategy": "LINEAR", "lifecycleHooks": [hook]}
    sim = _sim(2, config)
    blue = _arns(sim)
    [original] = _service(sim)["deployments"]
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(3600)
    ready = _green_ready_at(sim, t0)
    failed = _events(sim, "deployment_failed", t0)
    assert list(failed["time_s"] - t0) == [ready + 7 * MINUTE]
    assert list(failed["lifecycle_stage"]) == ["PRODUCTION_TRAFFIC_SHIFT"]
    assert _events(sim, "traffic_shifted", t0).empty
    assert _arns(sim) == blue
    [primary] = _service(sim)["deployments"]
    assert primary["id"] == original["id"]


def test_a_second_deployment_supersedes_one_in_its_bake_time() -> None:
    """A deployment started while another bakes goes through RECONCILE_SERVICE
    (two revisions active), and its CLEAN_UP removes the tasks of both older
    revisions."""
    sim = _sim(2, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 30})
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(10 * MINUTE)
    assert len(_arns(sim)) == 4
    t1 = sim.now_s
    sim.ecs.update_service(
        cluster="prod",
        service="api",
        taskDefinition="worker:3",
        deploymentConfiguration={"bakeTimeInMinutes": 0},
    )
    sim.advance(30 * MINUTE)
    stages = _events(sim, "deployment_stage", t1 - 1)
    assert list(stages["stage"])[:3] == [
        "RECONCILE_SERVICE",
        "PRE_SCALE_UP",
        "SCALE_UP",
    ]
    assert _task_definitions(sim) == ["worker:3"] * 2
    [deployment] = _service(sim)["deployments"]
    assert deployment["rolloutState"] == "COMPLETED"
    stops = _events(sim, "task_stop_requested", t0)
    assert len(stops) == 4
    assert len(set(stops["time_s"])) == 1  # both older revisions, at one CLEAN_UP


# ---- 7. properties ------------------------------------------------------------------------
@st.composite
def _staged(draw: st.DrawFn) -> tuple[dict[str, Any], list[int | None], int]:
    """(deploymentConfiguration, protection minutes per blue task or None, seed)."""
    strategy = draw(st.sampled_from(["BLUE_GREEN", "LINEAR", "CANARY"]))
    config: dict[str, Any] = {
        "strategy": strategy,
        "bakeTimeInMinutes": draw(st.integers(0, 20)),
    }
    if strategy == "LINEAR":
        config["linearConfiguration"] = {
            "stepPercent": draw(st.integers(30, 1000)) / 10,
            "stepBakeTimeInMinutes": draw(st.integers(0, 5)),
        }
    if strategy == "CANARY":
        config["canaryConfiguration"] = {
            "canaryPercent": draw(st.integers(1, 1000)) / 10,
            "canaryBakeTimeInMinutes": draw(st.integers(0, 20)),
        }
    desired = draw(st.integers(1, 6))
    minutes = draw(
        st.lists(
            st.one_of(st.none(), st.integers(1, 90)), min_size=desired, max_size=desired
        )
    )
    return config, minutes, draw(st.integers(0, 2**16))


@settings(max_examples=15)
@given(_staged())
def test_every_staged_deployment_completes_after_protection_and_bake(
    case: tuple[dict[str, Any], list[int | None], int],
) -> None:
    """Whatever the strategy, configuration and protection: traffic only grows and
    ends at 100 %, no blue task is stopped before CLEAN_UP nor while protected,
    and the deployment completes once the last protection lapsed, with only
    green tasks left."""
    config, minutes, seed = case
    sim = _sim(len(minutes), config, seed=seed)
    blue = _arns(sim)
    for arn, protect in zip(blue, minutes, strict=True):
        if protect is not None:
            sim.ecs.update_task_protection(
                cluster="prod",
                tasks=[arn],
                protectionEnabled=True,
                expiresInMinutes=protect,
            )
    t0 = sim.now_s
    sim.ecs.update_service(cluster="prod", service="api", taskDefinition="worker:2")
    sim.advance(6 * 3600)
    shifts = list(_events(sim, "traffic_shifted", t0)["percent"])
    assert shifts == sorted(shifts)
    assert shifts[-1] == 100.0
    stages = _events(sim, "deployment_stage", t0)
    clean_up = float(stages[stages["stage"] == "CLEAN_UP"]["time_s"].iloc[0])
    stops = _events(sim, "task_stop_requested", t0)
    assert (stops["time_s"] >= clean_up).all()
    assert not stops["protected"].any()
    last_expiry = t0 + max((m * MINUTE for m in minutes if m is not None), default=0.0)
    completed = _events(sim, "deployment_completed", t0)
    assert len(completed) == 1
    assert float(completed["time_s"].iloc[0]) >= max(clean_up, last_expiry)
    assert _task_definitions(sim) == ["worker:2"] * len(minutes)
