"""EC2 capacity in scenario files: the cluster's capacity providers, instance
types, prices and the EC2 faults, validated with the field and line, and built
through the clients; Fargate task retirement."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import ecssim
from ecssim.errors import ScenarioError
from ecssim.reports.run_report import write_results
from ecssim.results.recorder import event_details
from ecssim.scenario.loading import parse_scenario
from ecssim.sim.faults import RETIREMENT_REASON

BASE = """\
name: ec2
duration: 2h
cluster:
  name: c
  capacity_providers:
    - name: hosts
      instance_types: [m5.large]
      max_size: 4
services:
  - name: app
    desired_count: 2
    capacity_provider_strategy: [{capacity_provider: hosts, weight: 1}]
"""


def _load(tmp_path: Path, text: str) -> ecssim.Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return ecssim.load_scenario(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[m5.large]", "[m5.huge]", "instance_types[0]: 'm5.huge' is not a known"),
        (
            "max_size: 4",
            "max_size: 4\n      min_size: 5",
            "min_size: 5 is above max_size",
        ),
        ("name: hosts", "name: ecs-hosts", "may not start with"),
        (
            "capacity_provider: hosts,",
            "capacity_provider: other,",
            "'other' is neither",
        ),
        (
            "max_size: 4",
            "max_size: 4\n      managed_scaling: {enabled: false}",
            "managed_termination_protection: needs managed_scaling.enabled",
        ),
        (
            "max_size: 4",
            "max_size: 4\n      spot: {on_demand_percent: 120}",
            "on_demand_percent",
        ),
        (
            "desired_count: 2",
            "desired_count: 2\n    cpu: 4096",
            "a task of 4096 CPU units and 2048 MiB fits no instance type",
        ),
    ],
)
def test_bad_capacity_providers_name_the_field_and_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    """A bad capacity provider is a ScenarioError naming the field and its line."""
    with pytest.raises(ScenarioError) as caught:
        _load(tmp_path, BASE.replace(old, new, 1))
    text = str(caught.value)
    assert message in text
    assert re.search(r"s\.yaml:\d+: ", text)


def test_an_unknown_instance_type_can_be_added_with_its_price(tmp_path: Path) -> None:
    """instance_types: adds a type (with its price) the providers may use."""
    text = BASE.replace("[m5.large]", "[x9.big]") + (
        "instance_types:\n  x9.big: {vcpus: 8, memory_gib: 64, on_demand_hourly_usd: 1.5}\n"
    )
    scenario = _load(tmp_path, text)
    assert scenario.instance_types["x9.big"].vcpus == 8


def test_a_fault_for_an_unknown_provider_is_refused(tmp_path: Path) -> None:
    """An ec2_spot_interruption names one of the cluster's capacity providers."""
    text = (
        BASE
        + "faults:\n  - {kind: ec2_spot_interruption, capacity_provider: nope, at: 1h}\n"
    )
    with pytest.raises(
        ScenarioError, match=re.escape("faults[0].capacity_provider: 'nope'")
    ):
        _load(tmp_path, text)


def test_a_scenario_on_ec2_launches_instances_places_tasks_and_prices_them(
    tmp_path: Path,
) -> None:
    """The service's two tasks wait for room, managed scaling launches an
    instance, the tasks run there, and the summary has instance-hours and a
    cost at the m5.large's price."""
    result = ecssim.run(_load(tmp_path, BASE))
    row = result.summary.set_index("service").loc["app"]
    assert row["tasks_waited_for_capacity"] == 2
    assert row["instance_hours"] > 0
    assert row["cost_usd"] == pytest.approx(row["instance_hours"] * 0.096)
    placed = event_details(result.events, "task_placed")
    assert len(placed) == 2


def test_fargate_runs_keep_nan_instance_figures_and_cost_fargate_prices() -> None:
    """A Fargate-only scenario: NaN instance-hours, and a cost from its task-hours
    at the Fargate prices (1 vCPU, 2 GB tasks)."""
    raw = {
        "name": "f",
        "duration": "2h",
        "services": [{"name": "app", "desired_count": 2, "launch_type": "FARGATE"}],
    }
    result = ecssim.run(parse_scenario(raw))
    row = result.summary.set_index("service").loc["app"]
    assert row["instance_hours"] != row["instance_hours"]  # NaN
    hourly = 0.04048 + 2 * 0.004445
    # billed from PENDING: a little more than the RUNNING task-hours
    assert row["cost_usd"] == pytest.approx(row["task_hours"] * hourly, rel=0.02)


def test_task_retirement_stops_protected_tasks_after_the_notice() -> None:
    """Fargate task retirement, all at once: the tasks live at the notice are
    stopped when it runs out, protected or not, with ECS's maintenance reason;
    the service replaces them."""
    raw = {
        "name": "r",
        "duration": "3h",
        "services": [
            {
                "name": "app",
                "desired_count": 2,
                "launch_type": "FARGATE",
                "protection": {"policy": "always"},
                "workload": {
                    "kind": "queue",
                    "arrivals": {"rate": "1/h"},
                    "job_duration": {"distribution": "fixed", "value": "10m"},
                },
            }
        ],
        "faults": [
            {
                "kind": "task_retirement",
                "service": "app",
                "at": "1h",
                "notice": "30m",
                "pacing": "all_at_once",
            }
        ],
    }
    result = ecssim.run(parse_scenario(raw))
    events = result.events
    notice = event_details(events, "task_retirement_notice")
    assert list(notice["time_s"]) == [3600.0]
    assert list(notice["tasks"]) == [2]
    stops = events[
        (events["kind"] == "task_stop_requested")
        & (events["reason"] == RETIREMENT_REASON)
    ]
    assert list(stops["time_s"]) == [5400.0, 5400.0]
    running = result.timeseries[result.timeseries["time_s"] == 3 * 3600 - 60]
    assert int(running["running"].iloc[0]) == 2


def test_a_scheduled_spot_interruption_reclaims_one_spot_instance(
    tmp_path: Path,
) -> None:
    """An ec2_spot_interruption at 1 h gives one Spot instance its notice; it is
    terminated two minutes later."""
    text = (
        BASE.replace(
            "max_size: 4", "max_size: 4\n      spot: {on_demand_percent: 0}", 1
        )
        + "faults:\n  - {kind: ec2_spot_interruption, capacity_provider: hosts, at: 1h}\n"
    )
    result = ecssim.run(_load(tmp_path, text))
    notices = event_details(result.events, "spot_interruption_notice")
    assert list(notices["time_s"]) == [3600.0]
    terminated = event_details(result.events, "instance_terminated")
    spot_ended = terminated[
        terminated["ec2_instance"] == notices["ec2_instance"].iloc[0]
    ]
    assert list(spot_ended["time_s"]) == [3720.0]
    assert list(spot_ended["cause"]) == ["Spot instance interruption"]


def test_the_report_of_an_ec2_run_has_its_providers_and_instances(
    tmp_path: Path,
) -> None:
    """A results folder of an EC2 run: the report has the EC2 headline outcomes
    and a table per capacity provider with its instances and cost."""
    result = ecssim.run(_load(tmp_path, BASE))
    out = tmp_path / "out"
    write_results(result, out)
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## EC2 capacity providers" in report
    row = next(line for line in report.splitlines() if line.startswith("| hosts |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "1"  # one instance launched
    assert "instance_hours_held_by_protection" in report
    assert "cost_usd" in report


def test_ecssim_run_and_compare_print_instance_hours_and_cost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On EC2 the command line says what the instances cost: ``run`` prints
    instance-hours and dollars, ``compare`` their paired differences (a service
    picked by name in ``--set``)."""
    from ecssim.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(BASE, encoding="utf-8")
    two, four = tmp_path / "two", tmp_path / "four"
    assert main(["run", str(path), "--out", str(two)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"app: .*instance-hours [0-9.]+, cost \[USD\] [0-9.]+", printed)
    assert (
        main(
            [
                "run",
                str(path),
                "--set",
                "services.app.desired_count=4",
                "--out",
                str(four),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["compare", str(two), str(four), "--out", str(tmp_path / "cmp")]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"four - two app: instance_hours \+?[0-9.]+ \(paired\)", printed)
    assert re.search(r"four - two app: cost_usd \+?[0-9.]+ \(paired\)", printed)


def _retirement(desired: int, minimum: int, maximum: int) -> ecssim.Result:
    raw = {
        "name": "r",
        "duration": "3h",
        "services": [
            {
                "name": "app",
                "desired_count": desired,
                "launch_type": "FARGATE",
                "deployment": {
                    "minimum_healthy_percent": minimum,
                    "maximum_percent": maximum,
                },
                "protection": {"policy": "always"},
                "workload": {
                    "kind": "queue",
                    "arrivals": {"rate": "1/h"},
                    "job_duration": {"distribution": "fixed", "value": "10m"},
                },
            }
        ],
        "faults": [
            {"kind": "task_retirement", "service": "app", "at": "1h", "notice": "30m"}
        ],
    }
    return ecssim.run(parse_scenario(raw))


def _retired_and_running(result: ecssim.Result) -> tuple[list[float], int]:
    events = result.events
    stops = events[
        (events["kind"] == "task_stop_requested")
        & (events["reason"] == RETIREMENT_REASON)
    ]
    statuses = event_details(events, "task_status")
    # fewest tasks RUNNING (and not asked to stop) from the retirement on
    running: set[str] = set()
    fewest = 10**6
    for time_s, task, status in zip(
        statuses["time_s"],
        statuses["task"].astype(str),
        statuses["status"],
        strict=True,
    ):
        if status == "RUNNING":
            running.add(task)
        elif task in running:
            running.discard(task)
        if 5400.0 <= time_s <= 3 * 3600 - 60:
            fewest = min(fewest, len(running))
    return list(stops["time_s"]), fewest


def test_paced_retirement_starts_replacements_first_by_default() -> None:
    """minimumHealthyPercent 100, maximumPercent 200 (the defaults): at the
    retirement time the scheduler launches two replacements, and stops the
    retired tasks (protected as they are) only once those are healthy, so two
    tasks run throughout."""
    result = _retirement(2, 100, 200)
    stops, fewest = _retired_and_running(result)
    assert len(stops) == 2
    created = result.events[result.events["kind"] == "task_created"]
    replacements = created[created["time_s"] >= 5400.0]["time_s"]
    # launched at the scheduler's next round, the retired tasks stop later
    assert len(replacements) == 2
    assert max(replacements) < 5400.0 + 60 < min(stops)
    assert fewest >= 2
    started = event_details(result.events, "task_retirement_started")
    assert list(started["tasks"]) == [2]


def test_paced_retirement_stops_within_minimum_healthy_percent() -> None:
    """minimumHealthyPercent 50, maximumPercent 100 with four tasks: two stop at
    once, the other two only after their replacements run; never fewer than
    two running."""
    result = _retirement(4, 50, 100)
    stops, fewest = _retired_and_running(result)
    assert len(stops) == 4
    assert stops[0] == stops[1] < 5400.0 + 60
    assert min(stops[2:]) > stops[0]
    assert fewest >= 2


def test_paced_retirement_goes_one_by_one_without_room() -> None:
    """minimumHealthyPercent 100 and maximumPercent 100 leave no room: the
    retirement still goes on, one task at a time."""
    result = _retirement(2, 100, 100)
    stops, fewest = _retired_and_running(result)
    assert len(stops) == 2
    assert stops[0] < 5400.0 + 60
    assert stops[1] > stops[0]
    assert fewest >= 1


def test_fargate_and_asg_strategies_share_a_cluster_with_base_and_weight() -> None:
    """One cluster, a service on FARGATE (base 1) and FARGATE_SPOT (weight 3),
    another on two Auto Scaling group providers likewise: each puts its base
    first and splits the rest 1:3; only the EC2 service has instance-hours and
    the Fargate one is billed at Fargate prices. (One strategy may not mix the
    two kinds: ECS refuses it, see test_container_instances.)"""
    raw = {
        "name": "mix",
        "duration": "2h",
        "cluster": {
            "name": "c",
            "capacity_providers": [
                {"name": "hosts", "instance_types": ["m5.large"], "max_size": 4},
                {
                    "name": "spot-hosts",
                    "instance_types": ["m5.large"],
                    "max_size": 4,
                    "spot": {"on_demand_percent": 0},
                },
            ],
        },
        "services": [
            {
                "name": "fg",
                "desired_count": 5,
                "capacity_provider_strategy": [
                    {"capacity_provider": "FARGATE", "base": 1, "weight": 1},
                    {"capacity_provider": "FARGATE_SPOT", "weight": 3},
                ],
            },
            {
                "name": "ec2",
                "desired_count": 5,
                "capacity_provider_strategy": [
                    {"capacity_provider": "hosts", "base": 1, "weight": 1},
                    {"capacity_provider": "spot-hosts", "weight": 3},
                ],
            },
        ],
    }
    result = ecssim.run(parse_scenario(raw))
    created = event_details(result.events, "task_created")
    counts = created.groupby([created["service"].astype(str), "capacity"]).size()
    assert counts.to_dict() == {
        ("ec2", "hosts"): 2,
        ("ec2", "spot-hosts"): 3,
        ("fg", "FARGATE"): 2,
        ("fg", "FARGATE_SPOT"): 3,
    }
    launched = event_details(result.events, "instance_launched")
    assert set(launched[launched["spot"].astype(bool)]["capacity_provider"]) == {
        "spot-hosts"
    }
    summary = result.summary.set_index("service")
    assert summary.loc["fg", "instance_hours"] != summary.loc["fg", "instance_hours"]
    assert summary.loc["ec2", "instance_hours"] > 0
    assert summary.loc["fg", "cost_usd"] > 0
    running = result.timeseries[result.timeseries["time_s"] == 2 * 3600 - 60]
    assert int(running["running"].sum()) == 10


def test_allocation_strategies_from_the_scenario_reach_the_group(
    tmp_path: Path,
) -> None:
    """A provider's on_demand_allocation_strategy and spot settings become the
    group's mixed instances policy: lowest-price launches the cheaper type;
    an unknown strategy is refused naming the field and the value."""
    text = BASE.replace(
        "instance_types: [m5.large]",
        "instance_types: [m5.xlarge, c5.xlarge]\n"
        "      on_demand_allocation_strategy: lowest-price\n"
        "      min_size: 2\n"
        "      spot: {allocation_strategy: price-capacity-optimized}",
    )
    result = ecssim.run(_load(tmp_path, text))
    launched = event_details(result.events, "instance_launched")
    assert set(launched["instance_type"]) == {"c5.xlarge"}
    bad = text.replace("lowest-price", "cheapest")
    with pytest.raises(ScenarioError, match="on_demand_allocation_strategy"):
        _load(tmp_path, bad)
