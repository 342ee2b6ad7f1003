"""Scenario files: ``ecssim.scenario`` (loading, validation, overrides, schema).

Every bundled scenario loads; every kind of bad input (unknown keys, wrong
types, out-of-range values, missing keys, unknown discriminators, bad units,
cross-field rules, bad files) becomes one ScenarioError naming the dotted path,
the value and the line; hypothesis mutates valid scenarios and checks nothing
but a Scenario or a ScenarioError ever comes out.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from strategies import mutated_scenarios

from ecssim.errors import ScenarioError
from ecssim.scenario.loading import (
    dotted,
    json_schema,
    load_scenario,
    parse_scenario,
    with_overrides,
)
from ecssim.scenario.schema import Exponential, LogNormal, QueueWorkload, Scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BUNDLED = sorted(SCENARIOS.glob("*.yaml"))
RAW = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in BUNDLED}

TINY = """\
name: tiny
duration: 1d
services:
  - name: worker
    desired_count: 2
    workload:
      kind: queue
      arrivals: {rate: 10/h}
      job_duration: {distribution: exponential, mean: 5m}
    protection:
      policy: renewing
      expires_in: 30m
"""


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of *text* containing *needle*."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the scenario text")


def _error(path: Path) -> str:
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(path)
    return str(excinfo.value)


def _jsonable(value: Any) -> Any:
    """*value* as JSON would carry it (YAML timestamps become ISO strings)."""
    return json.loads(json.dumps(value, default=lambda o: o.isoformat()))


# ---- bundled scenarios ---------------------------------------------------------------
def test_the_bundled_scenarios_are_all_here() -> None:
    """The scenarios folder ships the sixteen documented experiments."""
    assert [p.stem for p in BUNDLED] == [
        "aws-sample-demo",
        "baseline-no-protection",
        "blue-green-vs-rolling",
        "calibrated-transcoder",
        "deploy-at-peak",
        "ec2-daemon-and-workers",
        "ec2-game-servers-spot",
        "ec2-queue-workers",
        "expiry-mid-job",
        "game-servers",
        "hung-worker",
        "policy-sweep",
        "spot-and-throttling",
        "standalone-tasks",
        "transcoding-queue",
        "tune-transcoding",
    ]


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_every_bundled_scenario_loads(path: Path) -> None:
    """Each bundled file validates into a Scenario named after the file."""
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name == path.stem
    assert scenario.start == datetime(2026, 1, 5, tzinfo=UTC)
    assert scenario.duration_s > 0
    assert len(scenario.services) >= 1


def test_transcoding_queue_values_are_converted_to_seconds() -> None:
    """Units in the transcoding scenario become the documented float seconds and rates."""
    scenario = load_scenario(SCENARIOS / "transcoding-queue.yaml")
    service = scenario.service("transcoder")
    assert scenario.duration_s == 3 * 86400
    assert scenario.ecs.scheduler_reaction_delay_s == 15.0
    assert scenario.ecs.task_pending_s == 30.0
    assert scenario.cluster.availability_zones == (
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    )
    assert service.stop_timeout_s == 120.0
    assert isinstance(service.workload, QueueWorkload)
    assert service.workload.arrivals.rate_per_s == pytest.approx(40 / 3600)
    assert service.workload.arrivals.daily_profile is not None
    assert len(service.workload.arrivals.daily_profile) == 24
    assert service.workload.job_duration == LogNormal(
        distribution="lognormal", median=900.0, p95=4500.0
    )
    assert service.workload.visibility_timeout_s == 1800.0
    protection = service.protection
    assert (protection.policy, protection.expires_in_s) == ("renewing", 1800.0)
    assert protection.renewal_interval_s == pytest.approx(1440.0)
    assert protection.release_hold_s == 60.0
    assert (protection.order, protection.via) == ("claim_then_protect", "agent")
    assert [t.metric for t in service.autoscaling.target_tracking] == [  # type: ignore[union-attr]
        "BacklogPerTask",
        "BusyTaskPercent",
    ]


def test_a_minimal_scenario_gets_the_documented_defaults(tmp_path: Path) -> None:
    """Keys left out take DESIGN §4's defaults (15 s reaction, 60 s reconcile, 30 s stop, 100/200)."""
    scenario = load_scenario(
        _write(
            tmp_path,
            "name: x\nduration: 1h\nservices: [{name: a, desired_count: 1}]\n",
        )
    )
    service = scenario.services[0]
    assert scenario.seed == 0
    assert scenario.sample_interval_s == 60.0
    assert scenario.ecs.scheduler_reaction_delay_s == 15.0
    assert scenario.ecs.reconcile_interval_s == 60.0
    assert scenario.ecs.deployment_blocked == "refuse_new"
    assert scenario.cluster.name == "default"
    assert service.stop_timeout_s == 30.0
    assert service.deployment.minimum_healthy_percent == 100
    assert service.deployment.maximum_percent == 200
    assert service.workload is None
    assert service.protection.policy == "none"
    assert service.protection.expires_in_s == 7200.0
    assert service.protection.renewal_interval_s is None
    assert (scenario.scheduled, scenario.faults, scenario.sweep) == ((), (), None)


def test_a_scenario_is_frozen() -> None:
    """Assigning to a loaded scenario (or a nested part) raises ValidationError."""
    scenario = load_scenario(SCENARIOS / "hung-worker.yaml")
    with pytest.raises(ValidationError):
        scenario.seed = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        scenario.services[0].protection.policy = "none"  # type: ignore[misc]


def test_a_start_without_a_timezone_is_utc(tmp_path: Path) -> None:
    """A naive ``start`` timestamp is read as UTC."""
    text = TINY + "start: 2026-03-01T06:30:00\n"
    scenario = load_scenario(_write(tmp_path, text))
    assert scenario.start == datetime(2026, 3, 1, 6, 30, tzinfo=UTC)


def test_service_looks_up_by_name_and_raises_key_error_otherwise() -> None:
    """``Scenario.service`` finds a service by name; an unknown name is a KeyError."""
    scenario = load_scenario(SCENARIOS / "deploy-at-peak.yaml")
    assert scenario.service("etl-worker").desired_count == 10
    with pytest.raises(KeyError, match="nope"):
        scenario.service("nope")


def test_relative_trace_paths_resolve_against_the_scenario_folder(
    tmp_path: Path,
) -> None:
    """A relative ``trace`` is made relative to the file's folder; an absolute one is kept."""
    folder = tmp_path / "exp"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "a.csv").write_text("arrival\n1\n", encoding="utf-8")
    elsewhere = tmp_path / "b.csv"  # absolute, outside the scenario's folder
    elsewhere.write_text("arrival\n1\n", encoding="utf-8")
    text = TINY.replace("arrivals: {rate: 10/h}", "arrivals: {trace: data/a.csv}")
    text += (
        "  - name: other\n"
        "    desired_count: 1\n"
        "    workload:\n"
        "      kind: queue\n"
        f"      arrivals: {{trace: {elsewhere}}}\n"
        "      job_duration: {distribution: fixed, value: 1m}\n"
    )
    scenario = load_scenario(_write(folder, text))
    traces = [s.workload.arrivals.trace for s in scenario.services]  # type: ignore[union-attr]
    assert traces == [folder / "data" / "a.csv", elsewhere]


def test_parse_scenario_accepts_plain_data() -> None:
    """``parse_scenario`` validates what ``yaml.safe_load`` returns, without a file."""
    scenario = parse_scenario(yaml.safe_load(TINY))
    assert scenario.services[0].workload.job_duration == Exponential(  # type: ignore[union-attr]
        distribution="exponential", mean=300.0
    )


# ---- bad scenarios: one ScenarioError naming path, value and line ---------------------
class BadCase(NamedTuple):
    """A mistake made in TINY and what its error must say."""

    id: str
    old: str  # a piece of TINY
    new: str  # what replaces it
    needle: str  # marks the line the error must name
    where: str  # the dotted path the error must name
    fragments: list[str]  # in the message too


BAD = [
    BadCase(
        "unknown key at the top",
        "duration: 1d",
        "duration: 1d\nreplicas: 3",
        "replicas",
        "replicas",
        ["unknown key"],
    ),
    BadCase(
        "unknown key in a service",
        "    desired_count: 2",
        "    desired_count: 2\n    desird: 3",
        "desird",
        "services[0].desird",
        ["unknown key"],
    ),
    BadCase(
        "unknown key four levels down",
        "      arrivals: {rate: 10/h}",
        "      arrivals: {rate: 10/h, burst: 5}",
        "arrivals",
        "services[0].workload.arrivals.burst",
        ["unknown key"],
    ),
    BadCase(
        "unknown key in the protection block",
        "      expires_in: 30m",
        "      expires_in: 30m\n      expires_in_minutes: 30",
        "expires_in_minutes",
        "services[0].protection.expires_in_minutes",
        ["unknown key"],
    ),
    BadCase(
        "string for an integer",
        "    desired_count: 2",
        "    desired_count: many",
        "desired_count",
        "services[0].desired_count",
        ["'many'", "valid integer"],
    ),
    BadCase(
        "list for a string",
        "name: tiny",
        "name: [a, b]",
        "name:",
        "name",
        ["valid string"],
    ),
    BadCase(
        "mapping for a duration",
        "duration: 1d",
        "duration: {days: 1}",
        "duration",
        "duration",
        ["is not a duration"],
    ),
    BadCase(
        "bool for a duration",
        "      expires_in: 30m",
        "      expires_in: yes",
        "expires_in",
        "services[0].protection.expires_in",
        ["True", "is not a duration"],
    ),
    BadCase(
        "negative count",
        "    desired_count: 2",
        "    desired_count: -1",
        "desired_count",
        "services[0].desired_count",
        ["-1", "greater than or equal to 0"],
    ),
    BadCase(
        "expires_in above 2880 minutes",
        "      expires_in: 30m",
        "      expires_in: 3000m",
        "expires_in",
        "services[0].protection.expires_in",
        ["'3000m': 3000 minutes is outside 1..2880 minutes"],
    ),
    BadCase(
        "expires_in not whole minutes",
        "      expires_in: 30m",
        "      expires_in: 90s",
        "expires_in",
        "services[0].protection.expires_in",
        ["'90s': 1.5 minutes is not a whole number of minutes"],
    ),
    BadCase(
        "expires_in of zero",
        "      expires_in: 30m",
        "      expires_in: 0s",
        "expires_in",
        "services[0].protection.expires_in",
        ["'0s'", "outside 1..2880 minutes"],
    ),
    BadCase(
        "missing key of a service",
        "    desired_count: 2\n",
        "",
        "- name: worker",
        "services[0].desired_count",
        ["Field required"],
    ),
    BadCase(
        "missing key of a workload",
        "      job_duration: {distribution: exponential, mean: 5m}\n",
        "",
        "workload:",
        "services[0].workload.job_duration",
        ["Field required"],
    ),
    BadCase(
        "unknown workload kind",
        "      kind: queue",
        "      kind: stream",
        "workload:",
        "services[0].workload",
        ["'stream'", "'queue'", "'sessions'"],
    ),
    BadCase(
        "unknown distribution",
        "      job_duration: {distribution: exponential, mean: 5m}",
        "      job_duration: {distribution: gamma, mean: 5m}",
        "job_duration",
        "services[0].workload.job_duration",
        ["'gamma'", "'lognormal'", "'empirical'"],
    ),
    BadCase(
        "unknown protection policy",
        "      policy: renewing",
        "      policy: sometimes",
        "policy:",
        "services[0].protection.policy",
        ["'sometimes'", "'per_job'"],
    ),
    BadCase(
        "unknown scheduled action",
        "duration: 1d",
        "duration: 1d\nscheduled:\n  - {at: 1h, action: explode, service: worker}",
        "explode",
        "scheduled[0]",
        ["'explode'", "'deploy'", "'set_desired_count'"],
    ),
    BadCase(
        "unknown fault kind",
        "duration: 1d",
        "duration: 1d\nfaults:\n  - {kind: meteor, service: worker, at: 1h}",
        "meteor",
        "faults[0]",
        ["'meteor'", "'worker_hang'", "'task_crash'"],
    ),
    BadCase(
        "unknown duration unit",
        "duration: 1d",
        "duration: 3 fortnights",
        "duration",
        "duration",
        ["'3 fortnights'", "is not a duration; write it like 90s"],
    ),
    BadCase(
        "unknown rate unit",
        "      arrivals: {rate: 10/h}",
        "      arrivals: {rate: 10/hour}",
        "arrivals",
        "services[0].workload.arrivals.rate",
        ["'10/hour'", "is not a rate"],
    ),
    BadCase(
        "renew_every as long as expires_in",
        "      expires_in: 30m",
        "      expires_in: 30m\n      renew_every: 30m",
        "protection:",
        "services[0].protection",
        ["renew_every (1800s) must be shorter than expires_in (1800s)"],
    ),
    BadCase(
        "renew_every longer than expires_in",
        "      expires_in: 30m",
        "      expires_in: 30m\n      renew_every: 1h",
        "protection:",
        "services[0].protection",
        ["renew_every (3600s) must be shorter than expires_in (1800s)"],
    ),
    BadCase(
        "lognormal p95 below median",
        "      job_duration: {distribution: exponential, mean: 5m}",
        "      job_duration: {distribution: lognormal, median: 20m, p95: 10m}",
        "job_duration",
        "services[0].workload.job_duration",
        ["p95 (600s) must be greater than median (1200s)"],
    ),
    BadCase(
        "lognormal p95 equal to median",
        "      job_duration: {distribution: exponential, mean: 5m}",
        "      job_duration: {distribution: lognormal, median: 20m, p95: 1200s}",
        "job_duration",
        "services[0].workload.job_duration",
        ["p95 (1200s) must be greater than median (1200s)"],
    ),
    BadCase(
        "daily profile of 23 hours",
        "      arrivals: {rate: 10/h}",
        "      arrivals: {rate: 10/h, daily_profile: [" + ", ".join(["1"] * 23) + "]}",
        "arrivals",
        "services[0].workload.arrivals",
        ["daily_profile needs 24 finite factors"],
    ),
    BadCase(
        "arrivals with nothing to arrive",
        "      arrivals: {rate: 10/h}",
        "      arrivals: {}",
        "arrivals",
        "services[0].workload.arrivals",
        ["give a rate, steps, bursts or a trace"],
    ),
    BadCase(
        "renew_every and renew_at_fraction together",
        "      expires_in: 30m",
        "      expires_in: 30m\n      renew_every: 10m\n      renew_at_fraction: 0.5",
        "protection:",
        "services[0].protection",
        ["give renew_every or renew_at_fraction, not both"],
    ),
    BadCase(
        "sessions policy on a queue",
        "      policy: renewing",
        "      policy: sessions",
        "- name: worker",
        "services[0]",
        ["protection policy 'sessions' needs a sessions workload"],
    ),
    BadCase(
        "autoscaling min above max",
        "    desired_count: 2",
        "    desired_count: 2\n    autoscaling: {min_capacity: 5, max_capacity: 3}",
        "autoscaling",
        "services[0].autoscaling",
        ["min_capacity 5 is above max_capacity 3"],
    ),
    BadCase(
        "service name with a space",
        "  - name: worker",
        "  - name: my worker",
        "- name:",
        "services[0].name",
        ["'my worker'", "pattern"],
    ),
    BadCase(
        "no services",
        TINY[TINY.index("services:") :],
        "services: []\n",
        "services",
        "services",
        ["at least 1 item"],
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[case.id for case in BAD])
def test_a_bad_scenario_names_the_path_the_value_and_the_line(
    tmp_path: Path, case: BadCase
) -> None:
    """One ScenarioError, ``file:LINE: dotted.path: value: reason``, for each kind of mistake."""
    old, new, needle, where = case.old, case.new, case.needle, case.where
    assert old in TINY
    text = TINY.replace(old, new, 1)
    path = _write(tmp_path, text)
    message = _error(path)
    line = _line_of(text, needle)
    assert message.startswith(f"{path}:{line}: {where}: "), message
    for fragment in case.fragments:
        assert fragment in message
    assert "\n" not in message, "one mistake gives one line"


def test_the_documented_expires_in_message_is_exact(tmp_path: Path) -> None:
    """``expires_in: 3000m`` gives exactly the message the brief quotes."""
    text = TINY.replace("expires_in: 30m", "expires_in: 3000m")
    path = _write(tmp_path, text)
    assert _error(path) == (
        f"{path}:12: services[0].protection.expires_in: "
        "'3000m': 3000 minutes is outside 1..2880 minutes"
    )


def test_a_missing_top_level_key_points_at_the_top(tmp_path: Path) -> None:
    """A scenario without ``duration`` names the key, at line 1."""
    path = _write(tmp_path, TINY.replace("duration: 1d\n", ""))
    assert _error(path) == f"{path}:1: duration: Field required"


def test_several_mistakes_are_all_reported(tmp_path: Path) -> None:
    """Two independent mistakes give two lines, each with its own path and line."""
    text = TINY.replace("desired_count: 2", "desired_count: -2").replace(
        "expires_in: 30m", "expires_in: 5000m"
    )
    path = _write(tmp_path, text)
    lines = _error(path).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:5: services[0].desired_count: -2: ")
    assert lines[1].startswith(f"{path}:12: services[0].protection.expires_in: ")


def test_a_capitalised_unknown_key_is_named(tmp_path: Path) -> None:
    """A CloudFormation-style key (``DesiredCount``) is reported by its own name."""
    text = TINY.replace(
        "    desired_count: 2", "    desired_count: 2\n    DesiredCount: 3"
    )
    path = _write(tmp_path, text)
    assert _error(path) == f"{path}:6: services[0].DesiredCount: unknown key"


@pytest.mark.parametrize(
    ("old", "new", "written"),
    [
        ("    desired_count: 2", "    desired_count: 2\n    stop_timeout: 3m", "'3m'"),
        ("duration: 1d", "duration: 400d", "'400d'"),
    ],
    ids=["stop_timeout", "duration"],
)
def test_an_out_of_range_duration_is_quoted_as_written(
    tmp_path: Path, old: str, new: str, written: str
) -> None:
    """A duration over its limit is quoted as the user wrote it, not as bare float seconds."""
    path = _write(tmp_path, TINY.replace(old, new))
    assert written in _error(path)


CROSS = [
    (
        "duplicate service names",
        "  - name: worker\n    desired_count: 1\n",
        "desired_count: 1",
        ["service names must be unique", "'worker'"],
    ),
    (
        "scheduled action on an unknown service",
        "scheduled:\n  - {at: 1h, action: deploy, service: nope}\n",
        "service: nope",
        ["scheduled[0].service", "'nope'", "['worker']"],
    ),
    (
        "set_capacity without autoscaling",
        "scheduled:\n  - {at: 1h, action: set_capacity, service: worker, min_capacity: 1}\n",
        "set_capacity",
        ["scheduled[0]", "set_capacity needs service 'worker' to have autoscaling"],
    ),
    (
        "fault on an unknown service",
        "faults:\n  - {kind: task_crash, service: nope, at: 1h}\n",
        "service: nope",
        ["faults[0].service", "'nope'"],
    ),
    (
        "fault with both at and rate",
        "faults:\n  - {kind: worker_hang, service: worker, at: 1h, rate: 1/d}\n",
        "worker_hang",
        ["faults[0]", "give exactly one of at or rate"],
    ),
    (
        "fault with neither at nor rate",
        "faults:\n  - {kind: spot_interruption, service: worker}\n",
        "spot_interruption",
        ["faults[0]", "give exactly one of at or rate"],
    ),
]


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [(case[1], case[3]) for case in CROSS],
    ids=[case[0] for case in CROSS],
)
def test_a_cross_field_mistake_is_a_scenario_error_naming_the_item(
    tmp_path: Path, extra: str, fragments: list[str]
) -> None:
    """Rules across fields (unique names, known services, at xor rate) raise ScenarioError."""
    path = _write(tmp_path, TINY + extra)
    message = _error(path)
    assert message.startswith(f"{path}:")
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("extra", "needle"),
    [(case[1], case[2]) for case in CROSS],
    ids=[case[0] for case in CROSS],
)
def test_a_cross_field_mistake_points_at_the_line_of_the_item(
    tmp_path: Path, extra: str, needle: str
) -> None:
    """A cross-field error gives the line of the offending item, not line 1."""
    text = TINY + extra
    path = _write(tmp_path, text)
    lines = {_line_of(text, needle), _line_of(text, needle) - 1}
    message = _error(path)
    reported = int(re.match(rf"{re.escape(str(path))}:(\d+): ", message)[1])  # type: ignore[index]
    assert reported in lines, message


def test_a_top_level_list_is_not_a_scenario(tmp_path: Path) -> None:
    """A YAML list at the top level raises ScenarioError saying it needs a mapping."""
    path = _write(tmp_path, "- name: x\n- name: y\n")
    assert _error(path) == f"{path}: a scenario is a mapping of keys, got list"


@pytest.mark.parametrize(
    ("text", "kind"), [("", "NoneType"), ("just words\n", "str"), ("42\n", "int")]
)
def test_an_empty_or_scalar_file_is_not_a_scenario(
    tmp_path: Path, text: str, kind: str
) -> None:
    """An empty file or a lone scalar raises ScenarioError naming what it got."""
    path = _write(tmp_path, text)
    assert _error(path) == f"{path}: a scenario is a mapping of keys, got {kind}"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: x\nduration: 1d\nservices: [\n  {name: a\n", 5),
        ("name: x\n\tduration: 1d\n", 2),
        ("name: x\nduration: 1d\nservices:\n  - name: a\n desired_count: 1\n", 5),
    ],
    ids=["unclosed flow", "tab", "bad indent"],
)
def test_invalid_yaml_names_the_file_and_line(
    tmp_path: Path, text: str, line: int
) -> None:
    """A YAML syntax error is a ScenarioError ``file:LINE: not valid YAML: ...``."""
    path = _write(tmp_path, text)
    assert _error(path).startswith(f"{path}:{line}: not valid YAML: ")


def test_python_tags_are_refused_not_executed(tmp_path: Path) -> None:
    """A ``!!python`` tag is invalid YAML to the safe loader, never code to run."""
    marker = tmp_path / "ran"
    path = _write(
        tmp_path,
        f'name: !!python/object/apply:os.system ["touch {marker}"]\n',
    )
    assert "not valid YAML" in _error(path)
    assert not marker.exists()


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    """A path that does not exist raises ScenarioError naming it and the reason."""
    path = tmp_path / "nope.yaml"
    assert _error(path) == (
        f"{path}: cannot read the scenario file (No such file or directory)"
    )


def test_a_folder_is_a_scenario_error(tmp_path: Path) -> None:
    """A directory given as the scenario raises ScenarioError, not IsADirectoryError."""
    assert _error(tmp_path).startswith(f"{tmp_path}: cannot read the scenario file")


def test_a_non_utf8_file_is_a_scenario_error(tmp_path: Path) -> None:
    """A Latin-1 file raises ScenarioError saying it is not UTF-8 text."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: café\nduration: 1d\n".encode("latin-1"))
    assert _error(path) == f"{path}: is not a UTF-8 text file"


def test_a_recursive_yaml_alias_is_a_scenario_error(tmp_path: Path) -> None:
    """A self-referencing alias does not recurse forever; it is a ScenarioError."""
    path = _write(tmp_path, "name: x\nduration: 1d\nservices: &s [*s]\n")
    assert _error(path).startswith(f"{path}:")


def test_an_integer_too_large_for_a_float_is_a_scenario_error(tmp_path: Path) -> None:
    """``duration: <400 digits>`` is a ScenarioError naming ``duration``, not an OverflowError."""
    path = _write(tmp_path, TINY.replace("duration: 1d", "duration: 1" + "0" * 400))
    assert _error(path).startswith(f"{path}:2: duration: ")


def test_parse_scenario_without_text_gives_no_line() -> None:
    """Without the YAML text the message is ``source: path: reason``."""
    raw = yaml.safe_load(TINY)
    raw["services"][0]["desired_count"] = -1
    with pytest.raises(ScenarioError) as excinfo:
        parse_scenario(raw, source="api")
    assert str(excinfo.value) == (
        "api: services[0].desired_count: -1: Input should be greater than or equal to 0"
    )


@pytest.mark.parametrize("raw", [None, [], "x", 3, ("a",)])
def test_parse_scenario_refuses_non_mappings(raw: object) -> None:
    """Anything but a mapping raises ScenarioError naming its type."""
    with pytest.raises(ScenarioError, match=r"^src: a scenario is a mapping of keys"):
        parse_scenario(raw, source="src")


def test_dotted_writes_keys_with_dots_and_indexes_in_brackets() -> None:
    """``dotted`` renders a path tuple the way messages and sweeps write it."""
    assert dotted(("services", 0, "protection", "expires_in")) == (
        "services[0].protection.expires_in"
    )
    assert dotted(("faults", 2)) == "faults[2]"
    assert dotted(()) == ""


@given(
    st.sampled_from(sorted(RAW)).flatmap(
        lambda name: st.tuples(st.just(name), mutated_scenarios(RAW[name]))
    )
)
def test_a_mutated_scenario_is_a_scenario_or_a_scenario_error(
    case: tuple[str, tuple[str, dict[str, Any]]],
) -> None:
    """Replacing, deleting or adding a key anywhere never raises anything but ScenarioError."""
    name, (_, raw) = case
    source = f"mutant-{name}"
    text = yaml.safe_dump(raw, sort_keys=False)
    try:
        result: Scenario | ScenarioError = parse_scenario(raw, source=source, text=text)
    except ScenarioError as exc:
        result = exc
    if isinstance(result, ScenarioError):
        assert str(result).startswith(source)
    else:
        assert isinstance(result, Scenario)


# ---- overrides ---------------------------------------------------------------------------
def test_with_overrides_sets_nested_values_by_dotted_path() -> None:
    """Dotted paths with list indexes set values in a deep copy; the original is untouched."""
    raw = RAW["transcoding-queue.yaml"]
    before = copy.deepcopy(raw)
    data = with_overrides(
        raw,
        {
            "services[0].protection.expires_in": "1h",
            "services[0].autoscaling.target_tracking[1].target_value": 60,
            "services[-1].desired_count": 3,
            "seed": 8,
        },
    )
    assert raw == before
    service = data["services"][0]
    assert service["protection"]["expires_in"] == "1h"
    assert service["autoscaling"]["target_tracking"][1]["target_value"] == 60
    assert service["autoscaling"]["target_tracking"][0]["target_value"] == 2
    assert service["desired_count"] == 3
    assert data["seed"] == 8
    scenario = parse_scenario(data)
    assert scenario.services[0].protection.expires_in_s == 3600.0
    assert scenario.services[0].protection.renewal_interval_s == pytest.approx(2880.0)


def test_with_overrides_creates_missing_mapping_keys() -> None:
    """A path through keys that are absent creates the mappings on the way."""
    data = with_overrides(RAW["hung-worker.yaml"], {"ecs.deployment_blocked": "ignore"})
    assert data["ecs"] == {"deployment_blocked": "ignore"}
    assert parse_scenario(data).ecs.deployment_blocked == "ignore"


def test_with_overrides_with_nothing_is_an_equal_copy() -> None:
    """No overrides gives an equal but separate copy."""
    raw = RAW["game-servers.yaml"]
    data = with_overrides(raw, {})
    assert data == raw
    data["services"][0]["name"] = "changed"
    assert raw["services"][0]["name"] == "match-server"


def test_with_overrides_picks_list_items_by_name() -> None:
    """``services.NAME.field`` sets the field of the service called NAME, as
    ``services[i].field`` does for its position."""
    raw = RAW["transcoding-queue.yaml"]
    name = raw["services"][0]["name"]
    by_name = with_overrides(raw, {f"services.{name}.protection.policy": "always"})
    by_index = with_overrides(raw, {"services[0].protection.policy": "always"})
    assert by_name == by_index
    assert by_name["services"][0]["protection"]["policy"] == "always"
    with pytest.raises(ScenarioError) as excinfo:
        with_overrides(raw, {"services.nosuch.protection.policy": "always"})
    message = str(excinfo.value)
    assert "no item named 'nosuch'" in message
    assert repr(name) in message


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("services[3].name", "no item [3] there"),
        ("services[-2].name", "no item [-2] there"),
        ("duration[0]", "no item [0] there"),
        ("name.first", "'first' is not under a mapping"),
        ("services.name", "'name' is not under a mapping"),
        ("services[0].protection.policy.kind", "'kind' is not under a mapping"),
        ("services[x].name", "[x] is not an index"),
        ("services[].name", "[] is not an index"),
        ("", "is empty"),
    ],
)
def test_with_overrides_rejects_impossible_paths(path: str, reason: str) -> None:
    """A path through a missing item or a non-container raises ScenarioError quoting it."""
    with pytest.raises(ScenarioError) as excinfo:
        with_overrides(RAW["expiry-mid-job.yaml"], {path: 1})
    message = str(excinfo.value)
    assert message.startswith(f"override {path!r}")
    assert reason in message


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_scenario_with_no_overrides_is_an_equal_scenario(path: Path) -> None:
    """``Scenario.with_overrides({})`` round-trips every bundled scenario unchanged."""
    scenario = load_scenario(path)
    assert scenario.with_overrides({}) == scenario


def test_scenario_with_overrides_takes_yaml_names_and_units() -> None:
    """``Scenario.with_overrides`` sets values by YAML path, with units, and revalidates."""
    scenario = load_scenario(SCENARIOS / "hung-worker.yaml")
    changed = scenario.with_overrides(
        {"duration": "6h", "services[0].protection.policy": "none"}
    )
    assert changed.duration_s == 6 * 3600
    assert changed.services[0].protection.policy == "none"
    assert scenario.duration_s == 86400
    assert scenario.services[0].protection.policy == "renewing"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"services[0].protection.expires_in": "3000m"},
            "<hung-worker>: services[0].protection.expires_in: '3000m': "
            "3000 minutes is outside 1..2880 minutes",
        ),
        (
            {"services[2].desired_count": 1},
            "override 'services[2].desired_count': no item [2] there",
        ),
    ],
    ids=["bad value", "impossible path"],
)
def test_scenario_with_overrides_refuses_bad_values_and_paths(
    overrides: dict[str, Any], message: str
) -> None:
    """A bad new value or a missing path raises ScenarioError naming it."""
    scenario = load_scenario(SCENARIOS / "hung-worker.yaml")
    with pytest.raises(ScenarioError) as excinfo:
        scenario.with_overrides(overrides)
    assert str(excinfo.value) == message


def test_every_value_of_the_bundled_sweep_makes_a_valid_scenario() -> None:
    """Each point of policy-sweep.yaml's grid, applied with with_overrides, validates."""
    raw = RAW["policy-sweep.yaml"]
    [(path, values)] = raw["sweep"]["parameters"].items()
    policies = [
        parse_scenario(with_overrides(raw, {path: value})).services[0].protection.policy
        for value in values
    ]
    assert policies == ["none", "per_job", "renewing", "always"]


# ---- JSON Schema -------------------------------------------------------------------------
def test_json_schema_is_valid_draft_2020_12() -> None:
    """``json_schema()`` is JSON-serialisable and a valid Draft 2020-12 schema."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "ecssim scenario"
    assert json.loads(json.dumps(schema)) == schema
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(RAW))
def test_json_schema_accepts_the_bundled_scenarios(name: str) -> None:
    """Each bundled file's raw YAML (timestamps as ISO strings, as JSON holds them) validates."""
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    errors = [e.message for e in validator.iter_errors(_jsonable(RAW[name]))]
    assert errors == []


def test_json_schema_uses_the_yaml_names_and_refuses_unknown_keys() -> None:
    """The schema speaks the file's keys (``expires_in``, not ``expires_in_s``) and forbids others."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    assert "duration" in schema["properties"]
    assert "duration_s" not in schema["properties"]
    assert set(schema["required"]) == {"name", "duration", "services"}
    validator = jsonschema.Draft202012Validator(schema)
    raw = _jsonable(RAW["transcoding-queue.yaml"])
    assert not validator.is_valid({**raw, "replicas": 3})
    bad = with_overrides(raw, {"services[0].protection.policy": "sometimes"})
    assert not validator.is_valid(bad)


def test_json_schema_checks_durations_rates_and_lengths() -> None:
    """Durations and rates written as strings have patterns (``3 days``, ``40 per
    hour`` fail), ``expires_in`` is held to 1..2880 minutes and a daily profile
    to 24 entries, as validation does."""
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    raw = _jsonable(RAW["transcoding-queue.yaml"])
    assert validator.is_valid(raw)
    profile = [1.0] * 23
    for path, value in (
        ("duration", "3 days"),
        ("services[0].workload.arrivals.rate", "40 per hour"),
        ("services[0].protection.expires_in", "3000m"),
        ("services[0].protection.expires_in", 200000),
        ("services[0].workload.arrivals.daily_profile", profile),
    ):
        assert not validator.is_valid(with_overrides(raw, {path: value})), path
        with pytest.raises(ScenarioError):
            parse_scenario(with_overrides(raw, {path: value}))
    for value in ("90m", "1h30m", "2d", 3600):
        changed = with_overrides(raw, {"services[0].protection.expires_in": value})
        assert validator.is_valid(changed), value


def test_json_schema_describes_every_property_and_has_an_id() -> None:
    """Every property has a description, and the schema an ``$id``."""
    schema = json_schema()
    assert schema["$id"].startswith("urn:ecssim:scenario-schema:")
    models = {"Scenario": schema, **schema["$defs"]}
    missing = [
        f"{model}.{name}"
        for model, node in models.items()
        for name, prop in node.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []


def test_the_committed_schema_file_is_current() -> None:
    """docs/scenario.schema.json (what the bundled scenarios' modeline points
    editors to) is what ``ecssim schema`` prints; regenerate it with
    ``ecssim schema > docs/scenario.schema.json``."""
    root = Path(__file__).resolve().parent.parent
    committed = json.loads((root / "docs" / "scenario.schema.json").read_text())
    assert committed == json.loads(json.dumps(json_schema()))
    for path in sorted((root / "scenarios").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == (
            "# yaml-language-server: $schema=../docs/scenario.schema.json"
        ), path.name
