"""Bad input that used to get through: each test names a family the fuzzing of
issue 16 found, and fails on the code before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecssim import Simulation
from ecssim.cli import main

SCENARIO = """\
name: {name}
duration: 10m
services:
  - name: app
    desired_count: 1
"""


def _scenario(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(name=name), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name",
    ['"../../outside"', '"/tmp/absolute"', '".hidden"', '"a/b"', '"a\\0b"', '"a b"'],
)
def test_unsafe_scenario_names_are_refused_before_touching_the_disk(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
) -> None:
    """A scenario name that is not a plain file name (a path, a dot file, a NUL
    byte) fails validation naming `name` and its line, and `run` writes nothing."""
    path = _scenario(tmp_path, name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["run", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1: name: " in err
    assert ("NUL byte" if "0" in name else "folder name") in err
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml", "work"]


def test_a_safe_scenario_name_with_dots_still_runs_into_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Letters, digits, '-', '_' and inner dots are accepted, and the default
    results folder is inside results/."""
    path = _scenario(tmp_path, "queue.v2_test-1")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--quiet"]) == 0
    assert [p.name for p in (tmp_path / "results").iterdir()] == [
        "queue.v2_test-1-seed0"
    ]


def test_set_cannot_smuggle_an_unsafe_name(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--set name=...` goes through the same check as the file."""
    path = _scenario(tmp_path, "fine")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--quiet", "--set", "name=../escape"]) == 2
    assert "name: '../escape'" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()
    assert not (tmp_path.parent / "escape-seed0").exists()


def _sim() -> Simulation:
    sim = Simulation(seed=1)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="web", containerDefinitions=[{"name": "app", "image": "nginx"}]
    )
    return sim


@pytest.mark.parametrize("desired", [True, False, 5001, 2**31])
def test_create_service_refuses_a_bool_or_an_over_quota_desired_count(
    desired: int,
) -> None:
    """botocore lets a bool through as an integer and has no upper bound; ECS
    refuses both (5,000 tasks per service), and no service is created."""
    sim = _sim()
    ecs = sim.ecs
    with pytest.raises(ecs.exceptions.InvalidParameterException) as err:
        ecs.create_service(
            cluster="prod",
            serviceName="api",
            taskDefinition="web",
            desiredCount=desired,
        )
    assert "desiredCount" in err.value.response["Error"]["Message"]
    assert ecs.list_services(cluster="prod")["serviceArns"] == []


@pytest.mark.parametrize("desired", [True, 5001, 2**31])
def test_update_service_refuses_a_bool_or_an_over_quota_desired_count(
    desired: int,
) -> None:
    """UpdateService keeps the old desired count when the new one is a bool or
    above the quota; 5,000 itself is accepted."""
    sim = _sim()
    ecs = sim.ecs
    ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="web", desiredCount=1
    )
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.update_service(cluster="prod", service="api", desiredCount=desired)
    service = ecs.describe_services(cluster="prod", services=["api"])["services"][0]
    assert service["desiredCount"] == 1
    assert type(service["desiredCount"]) is int
    ecs.update_service(cluster="prod", service="api", desiredCount=5000)
    service = ecs.describe_services(cluster="prod", services=["api"])["services"][0]
    assert service["desiredCount"] == 5000


def test_validate_refuses_a_desired_count_above_the_ecs_quota(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario asking for 1,000,000 tasks fails validation (it would have hung
    run), naming the field and its line."""
    path = tmp_path / "big.yaml"
    path.write_text(
        SCENARIO.format(name="big").replace(
            "desired_count: 1", "desired_count: 1000000"
        ),
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "services[0].desired_count" in err
    assert ":5:" in err


def _validate(tmp_path: Path, text: str) -> tuple[int, str, Path]:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    return code, str(path), path


def test_a_duplicate_key_is_refused_with_both_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key given twice is an error naming its dotted path and both lines, not a
    silent last-one-wins."""
    text = SCENARIO.format(name="dup") + "    desired_count: 2\n"
    code, source, _ = _validate(tmp_path, text)
    assert code == 2
    err = capsys.readouterr().err
    assert f"{source}:6: services[0].desired_count: given twice (lines 5 and 6)" in err


def test_an_alias_bomb_is_refused_quickly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nine levels of nine aliases (387 million values) are refused, naming the
    key and line, instead of being expanded."""
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        name, previous = chr(ord("a") + i), chr(ord("a") + i - 1)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    text = (
        SCENARIO.format(name="bomb")
        + "extra:\n"
        + "".join(f"  {line}\n" for line in levels)
    )
    code, source, _ = _validate(tmp_path, text)
    assert code == 2
    err = capsys.readouterr().err
    assert f"{source}:12: extra.f: stands for more than 100,000 values" in err


def test_deep_nesting_is_refused_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 1,000-deep list (RecursionError in the YAML composer) and a 60-deep one
    are both refused with a message."""
    for depth in (1000, 60):
        text = SCENARIO.format(name="deep") + "extra: " + "[" * depth + "]" * depth
        code, _, _ = _validate(tmp_path, text + "\n")
        assert code == 2
        err = capsys.readouterr().err
        assert "nested" in err
        assert "Traceback" not in err


def test_an_integer_with_thousands_of_digits_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 5,000-digit seed (ValueError in int()) gives exit 2 and a message."""
    text = SCENARIO.format(name="big") + "seed: " + "1" * 5000 + "\n"
    code, source, _ = _validate(tmp_path, text)
    assert code == 2
    assert f"{source}: a number is too long" in capsys.readouterr().err


def test_a_nested_set_value_does_not_escape_main(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A 1,000-deep YAML value given to --set is a usage error (exit 2)."""
    scenario = Path(__file__).resolve().parent.parent / "scenarios" / "hung-worker.yaml"
    nested = "[" * 1000 + "]" * 1000
    assert main(["validate", str(scenario), "--set", f"seed={nested}"]) == 2
    assert "is not a YAML value" in capsys.readouterr().err


AUTOSCALED = """\
name: scaled
duration: 1h
cluster:
  availability_zones: [{zones}]
services:
  - name: app
    desired_count: 1
    autoscaling:
      min_capacity: 1
      max_capacity: 3
      target_tracking:
        - {{metric: BusyTaskPercent, target_value: {target}}}
        - {{metric: {second}, target_value: 50}}
scheduled:
  - {{action: set_capacity, at: 10m, service: app, min_capacity: {low}, max_capacity: 2}}
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"zones": "us-east-1a, us-east-1a"},
            ":4: cluster.availability_zones[1]: 'us-east-1a' is listed twice",
        ),
        (
            {"target": ".inf"},
            ":12: services[0].autoscaling.target_tracking[0].target_value: inf",
        ),
        (
            {"second": "BusyTaskPercent"},
            "target_tracking[1].metric: 'BusyTaskPercent' already has a policy",
        ),
        ({"low": "5"}, ":15: scheduled[0]: min_capacity 5 is above max_capacity 2"),
    ],
)
def test_values_that_used_to_crash_run_fail_validation(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, str],
    expected: str,
) -> None:
    """Duplicate zones, an infinite target, two policies on one metric and a
    scheduled min above max are refused by validate, with path and line."""
    values = {
        "zones": "us-east-1a, us-east-1b",
        "target": "50",
        "second": "ECSServiceAverageCPUUtilization",
        "low": "1",
    }
    code, _, _ = _validate(tmp_path, AUTOSCALED.format(**{**values, **change}))
    assert code == 2
    assert expected in capsys.readouterr().err


def test_the_unchanged_autoscaled_scenario_is_valid(tmp_path: Path) -> None:
    """The base of the cases above validates, so each case fails for its change."""
    text = AUTOSCALED.format(
        zones="us-east-1a, us-east-1b",
        target="50",
        second="ECSServiceAverageCPUUtilization",
        low="1",
    )
    assert _validate(tmp_path, text)[0] == 0


@pytest.mark.parametrize(
    "value", ["!!float", "!!int", "!!bool", "!!timestamp", "!!timestamp 2020-13-45"]
)
def test_a_tagged_value_yaml_cannot_build_is_bad_input(
    tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """PyYAML's constructors raise IndexError, KeyError, AttributeError or ValueError
    on some tagged values (CI's fuzz run found ``x: !!float``): validate exits 2
    naming the file, and the same value through --set is a usage error."""
    path = tmp_path / "s.yaml"
    path.write_text(f"x: {value}\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: not valid YAML: a tagged value YAML cannot build" in err
    assert "Traceback" not in err
    assert main(["validate", str(path), "--set", f"duration={value}"]) == 2
    assert "is not a YAML value this can use" in capsys.readouterr().err
