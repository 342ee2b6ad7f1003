"""Bad input that validated and then crashed, hung or ate memory (issue 16):
capacity-provider strategies ECS refuses, rates and intervals whose runs would
not finish, times past the longest run, names too long for Application Auto
Scaling. Each test fails on the code before its fix."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim import Simulation, load_scenario, run
from ecssim.cli import main
from ecssim.model.build import build
from ecssim.scenario import schema
from ecssim.scenario.schema import Arrivals
from ecssim.workload import RateFunction

BASE = """\
name: limits
duration: 2h
services:
  - name: app
    desired_count: 2
    autoscaling:
      min_capacity: 1
      max_capacity: 4
      target_tracking:
        - {metric: BusyTaskPercent, target_value: 50}
    workload:
      kind: queue
      arrivals: {rate: 60/h}
      job_duration: {distribution: fixed, value: 5m}
scheduled:
  - {action: set_capacity, at: 30m, service: app, min_capacity: 1, max_capacity: 3}
"""


def _validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *settings: str
) -> tuple[int, str, Path]:
    path = tmp_path / "s.yaml"
    path.write_text(BASE, encoding="utf-8")
    argv = ["validate", str(path)]
    for setting in settings:
        argv += ["--set", setting]
    code = main(argv)
    return code, capsys.readouterr().err, path


# ---- capacity-provider strategies -----------------------------------------------------
STRATEGIES = {
    "every weight 0": (
        "[{capacity_provider: FARGATE, weight: 0}, "
        "{capacity_provider: FARGATE_SPOT, weight: 0}]",
        "services[0].capacity_provider_strategy: every weight is 0",
    ),
    "two bases": (
        "[{capacity_provider: FARGATE, base: 1}, "
        "{capacity_provider: FARGATE_SPOT, base: 2}]",
        "services[0].capacity_provider_strategy[1].base: 2: only one capacity "
        "provider in a strategy can have a base",
    ),
    "base over 100,000": (
        "[{capacity_provider: FARGATE, base: 100001}]",
        "services[0].capacity_provider_strategy[0].base: 100001: ",
    ),
    "weight over 1,000": (
        "[{capacity_provider: FARGATE, weight: 1001}]",
        "services[0].capacity_provider_strategy[0].weight: 1001: ",
    ),
    "a provider twice": (
        "[{capacity_provider: FARGATE}, {capacity_provider: FARGATE}]",
        "services[0].capacity_provider_strategy[1].capacity_provider: 'FARGATE' is "
        "listed twice",
    ),
    "21 entries": (
        "[" + ", ".join(["{capacity_provider: FARGATE}"] * 21) + "]",
        "services[0].capacity_provider_strategy: ",
    ),
}


@pytest.mark.parametrize("case", list(STRATEGIES))
def test_validate_refuses_strategies_ecs_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """Each strategy CreateService refuses fails `validate` with its path (these
    used to validate and then crash `run` with a ClientError)."""
    value, expected = STRATEGIES[case]
    setting = f"services[0].capacity_provider_strategy={value}"
    code, err, _ = _validate(tmp_path, capsys, setting)
    assert code == 2
    assert expected in err


def test_a_strategy_in_the_file_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The strategy's line in the file is in the message."""
    path = tmp_path / "s.yaml"
    path.write_text(
        BASE.replace(
            "    desired_count: 2\n",
            "    desired_count: 2\n"
            "    capacity_provider_strategy:\n"
            "      - {capacity_provider: FARGATE, base: 1}\n"
            "      - {capacity_provider: FARGATE_SPOT, base: 3}\n",
        ),
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:8: services[0].capacity_provider_strategy[1].base: 3: " in err


def _sim() -> Simulation:
    sim = Simulation(seed=1)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "nginx"}]
    )
    return sim


API_STRATEGIES: dict[str, list[dict[str, Any]]] = {
    "every weight 0": [
        {"capacityProvider": "FARGATE", "weight": 0},
        {"capacityProvider": "FARGATE_SPOT"},
    ],
    "two bases": [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 1},
    ],
    "base over 100,000": [
        {"capacityProvider": "FARGATE", "base": 100_001, "weight": 1}
    ],
    "weight over 1,000": [{"capacityProvider": "FARGATE", "weight": 1001}],
    "a provider twice": [
        {"capacityProvider": "FARGATE", "weight": 1},
        {"capacityProvider": "FARGATE", "weight": 2},
    ],
    "21 entries": [{"capacityProvider": "FARGATE", "weight": 1}] * 21,
    "a bool weight": [{"capacityProvider": "FARGATE", "weight": True}],
}


@pytest.mark.parametrize("case", list(API_STRATEGIES))
def test_create_service_refuses_strategies_ecs_refuses(case: str) -> None:
    """CreateService raises InvalidParameterException and creates nothing (zero
    weights, two bases and out-of-range values were refused before; a provider
    twice, 21 entries and a bool are new)."""
    ecs = _sim().ecs
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.create_service(
            cluster="prod",
            serviceName="api",
            taskDefinition="web",
            desiredCount=1,
            capacityProviderStrategy=API_STRATEGIES[case],
        )
    assert ecs.list_services(cluster="prod")["serviceArns"] == []


@pytest.mark.parametrize("case", list(API_STRATEGIES))
def test_update_service_refuses_strategies_ecs_refuses(case: str) -> None:
    """UpdateService checks a strategy as CreateService does and changes
    nothing (the desired count given with it is not applied)."""
    ecs = _sim().ecs
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    ecs.create_service(
        cluster="prod",
        serviceName="api",
        taskDefinition="web",
        desiredCount=1,
        capacityProviderStrategy=strategy,
    )
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.update_service(
            cluster="prod",
            service="api",
            desiredCount=3,
            capacityProviderStrategy=API_STRATEGIES[case],
        )
    service = ecs.describe_services(cluster="prod", services=["api"])["services"][0]
    assert service["desiredCount"] == 1
    assert service["capacityProviderStrategy"] == strategy
    ecs.update_service(
        cluster="prod", service="api", desiredCount=2, capacityProviderStrategy=strategy
    )


def test_update_service_refuses_a_new_strategy_it_does_not_model() -> None:
    """A valid but different strategy is refused (ecssim does not move tasks
    between providers) rather than silently ignored."""
    ecs = _sim().ecs
    ecs.create_service(
        cluster="prod",
        serviceName="api",
        taskDefinition="web",
        desiredCount=1,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )
    with pytest.raises(ecs.exceptions.InvalidParameterException) as err:
        ecs.update_service(
            cluster="prod",
            service="api",
            capacityProviderStrategy=[
                {"capacityProvider": "FARGATE_SPOT", "weight": 1}
            ],
        )
    assert "does not model changing" in err.value.response["Error"]["Message"]


def test_update_service_refuses_a_desired_count_of_2_to_the_31() -> None:
    """The issue's UpdateService(desiredCount=2**31) is refused by the API."""
    ecs = _sim().ecs
    ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="web", desiredCount=1
    )
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.update_service(cluster="prod", service="api", desiredCount=2**31)


# ---- runs that would not finish ---------------------------------------------------------
PROFILE = "[" + ", ".join(["9223372036854775808"] + ["1"] * 23) + "]"
EXPLOSIONS = {
    "rate 1e300": (
        "services[0].workload.arrivals.rate=1.0e+300",
        "services[0].workload.arrivals: expects 7.2e+303 arrivals in 2h",
    ),
    "profile factor 2**63": (
        f"services[0].workload.arrivals.daily_profile={PROFILE}",
        "services[0].workload.arrivals: expects 5.53e+20 arrivals in 2h",
    ),
    "huge step": (
        "services[0].workload.arrivals.steps=[{at: 1h, rate: 100000}]",
        "services[0].workload.arrivals: expects 360,000,060 arrivals",
    ),
    "huge burst": (
        "services[0].workload.arrivals.bursts=[{at: 1h, duration: 10s, rate: 1000000}]",
        "services[0].workload.arrivals: expects 10,000,120 arrivals",
    ),
    "a peak rate after the run": (
        "services[0].workload.arrivals.steps=[{at: 3h, rate: 1.0e+9}]",
        "services[0].workload.arrivals: the peak rate (1e+09/s",
    ),
    "sample_interval 1ms": (
        "sample_interval=1ms",
        "sample_interval: '1ms': must be at least 1s",
    ),
    "a year sampled every second": (
        "duration=366d",
        "sample_interval: 1s over 366d is 31,622,400 samples per service; at most "
        "1,000,000",
    ),
    "renewing every millisecond": (
        "services[0].protection={policy: renewing, renew_every: 1ms}",
        "services[0].protection: renews every 0.001s; the shortest renewal "
        "interval is 1s",
    ),
    "crashes at 1000/s": (
        "faults=[{kind: task_crash, service: app, rate: 1000/s}]",
        "faults[0].rate: 1000/s per task with up to 4 tasks for 2h is 28,800,000 "
        "events; at most 1,000,000",
    ),
    "an action after the longest run": (
        "scheduled[0].at=1.0e+12",
        "scheduled[0].at: 1000000000000.0: 1e+12s is after 366 days, the longest run",
    ),
    "a sweep of 40,000 runs": (
        "sweep={parameters: {seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "
        "'services[0].desired_count': [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "
        "duration: [1h, 2h, 3h, 4h, 5h, 6h, 7h, 8h, 9h, 10h]}, replications: 40}",
        "sweep.parameters: 10 x 10 x 10 grid points x 40 replication(s) is more "
        "than 10,000 runs",
    ),
    "a NaN API burst": (
        "ecs.protection_api_burst=.nan",
        "ecs.protection_api_burst: nan: Input should be a finite number",
    ),
    "year 1": (
        "start=0001-01-01T00:00:00Z",
        "start: 0001-01-01T00:00:00+00:00: must be between 1970-01-01 and 9998-01-01",
    ),
}


@pytest.mark.parametrize("case", list(EXPLOSIONS))
def test_scenarios_whose_runs_would_not_finish_fail_validation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """Rates, profiles, steps, bursts, intervals and fault rates whose runs would
    hang or eat memory (or overflow a date) are refused, naming the field and
    saying why."""
    setting, expected = EXPLOSIONS[case]
    settings = [setting]
    if case == "a year sampled every second":
        settings.append("sample_interval=1s")
    code, err, _ = _validate(tmp_path, capsys, *settings)
    assert code == 2
    assert expected in err


def test_the_arrival_bound_names_the_line_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From the file, the message carries the arrivals' line."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace("rate: 60/h", "rate: 1.0e+300"), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert f"{path}:13: services[0].workload.arrivals: expects" in (
        capsys.readouterr().err
    )


def test_the_base_scenario_and_one_just_under_the_bounds_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bounds leave real scenarios alone: 60/h, and a year at one arrival a
    second with a sample every minute, renewals every minute for 4 tasks."""
    assert _validate(tmp_path, capsys)[0] == 0
    code, err, _ = _validate(
        tmp_path,
        capsys,
        "duration=57d",
        "services[0].workload.arrivals.rate=1/s",
        "services[0].protection={policy: renewing, renew_every: 1m}",
    )
    assert (code, err) == (0, "")


def test_a_valid_scenario_with_a_255_character_service_name_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A service name of 255 characters (ECS's limit) made the auto scaling
    policy and scheduled action names longer than Application Auto Scaling's
    256 and crashed the run with a ClientError traceback. Only the simulation
    is run here: the results folder names are another matter."""
    name = "a" * 255
    path = tmp_path / "s.yaml"
    path.write_text(
        BASE.replace("name: app", f"name: {name}").replace(
            "service: app", f"service: {name}"
        ),
        encoding="utf-8",
    )
    scenario = load_scenario(path)
    result = run(scenario.with_overrides({"duration": "1h"}))
    assert list(result.summary["service"]) == [name]


@given(
    rate=st.floats(0, 100),
    steps=st.lists(st.tuples(st.floats(0, 30_000), st.floats(0, 100)), max_size=4),
    bursts=st.lists(
        st.tuples(st.floats(0, 30_000), st.floats(1, 5000), st.floats(0, 100)),
        max_size=3,
    ),
    profile=st.none() | st.lists(st.floats(0, 3), min_size=24, max_size=24),
    start_hour_s=st.floats(0, 86_399),
    until_s=st.floats(1, 30_000),
)
def test_expected_arrivals_is_the_integral_of_the_rate(  # noqa: PLR0917 (given)
    rate: float,
    steps: list[tuple[float, float]],
    bursts: list[tuple[float, float, float]],
    profile: list[float] | None,
    start_hour_s: float,
    until_s: float,
) -> None:
    """The bound's estimate equals the workload's own rate function integrated
    over the run (a fine Riemann sum), so the check measures what a run does."""
    arrivals = Arrivals.model_validate(
        {
            "rate": rate + (0 if steps or bursts else 1),
            "steps": [{"at": a, "rate": r} for a, r in steps],
            "bursts": [{"at": a, "duration": d, "rate": r} for a, d, r in bursts],
            "daily_profile": profile,
        }
    )
    expected = arrivals.expected_arrivals(until_s, start_hour_s)
    edges = np.linspace(0, until_s, 200_001)
    mids = (edges[:-1] + edges[1:]) / 2
    rates = RateFunction(arrivals, start_hour_s).rates_at(mids)
    numeric = float(np.sum(rates) * (until_s / 200_000))
    peak = RateFunction(arrivals, start_hour_s).max_rate
    # each jump of the rate costs at most one slice of the Riemann sum
    jumps = (
        2 + len(steps) + 2 * len(bursts) + (until_s / 3600 + 1) * (profile is not None)
    )
    assert math.isclose(
        expected, numeric, rel_tol=1e-9, abs_tol=jumps * peak * until_s / 200_000
    )
    assert arrivals.peak_rate_per_s == peak
    assert expected <= peak * until_s * (1 + 1e-9) + 1e-9


def test_the_arrival_bound_is_documented() -> None:
    """The README gives the bound (and the reason for it)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(
        encoding="utf-8"
    )
    assert f"{schema.MAX_ARRIVALS:,}" in readme


def test_two_capacity_changes_in_the_same_second_both_apply(tmp_path: Path) -> None:
    """Two set_capacity actions of one service at the same time used to share a
    scheduled-action name, so the second silently replaced the first."""
    path = tmp_path / "s.yaml"
    path.write_text(
        BASE.replace(
            "  - {action: set_capacity, at: 30m, service: app, min_capacity: 1, "
            "max_capacity: 3}\n",
            "  - {action: set_capacity, at: 30m, service: app, min_capacity: 3}\n"
            "  - {action: set_capacity, at: 30m, service: app, max_capacity: 3}\n",
        ),
        encoding="utf-8",
    )
    model = build(load_scenario(path))
    model.sim.advance(3600)
    aas = model.sim.application_autoscaling
    target = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target[0]["MinCapacity"], target[0]["MaxCapacity"]) == (3, 3)
