"""Tests of ecssim.cli: each command's output, files and exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecssim.cli import main

SCENARIO = """\
name: cli-demo
seed: 3
duration: 2h
services:
  - name: worker
    desired_count: 3
    workload:
      kind: queue
      arrivals: {rate: 20/h}
      job_duration: {distribution: exponential, mean: 10m}
    protection: {policy: per_job, expires_in: 30m}
scheduled:
  - {at: 1h, action: set_desired_count, service: worker, count: 1}
sweep:
  parameters: {"services[0].protection.policy": [none, per_job]}
  replications: 2
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


def test_validate_a_good_file(
    scenario_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid file prints OK and a one-line description and exits 0."""
    assert main(["validate", str(scenario_file)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"OK {scenario_file}: scenario 'cli-demo': 1 service(s)")
    assert "sweep of 2 grid point(s) x 2 replication(s)" in out
    assert err == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read the scenario file"),
        ("name: [unclosed\n", "not valid YAML"),
        (
            SCENARIO.replace(
                "    desired_count: 3", "    desired_count: 3\n    colour: red"
            ),
            "services[0].colour: unknown key",
        ),
        (
            SCENARIO.replace("expires_in: 30m", "expires_in: 3d"),
            "services[0].protection.expires_in: '3d'",
        ),
    ],
    ids=["missing", "invalid-yaml", "unknown-key", "bad-value"],
)
def test_validate_a_bad_file_exits_2_naming_the_problem(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    expected: str,
) -> None:
    """A missing, non-YAML or invalid file exits 2 with the problem on stderr and
    no traceback."""
    path = tmp_path / "bad.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert str(path) in err
    assert expected in err
    assert "Traceback" not in err


def test_a_bad_flag_exits_2(
    scenario_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown flag or a bad flag value is a usage error with exit code 2."""
    assert main(["run", str(scenario_file), "--bogus"]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert main(["sweep", str(scenario_file), "--workers", "0"]) == 2
    assert "must be at least 1" in capsys.readouterr().err
    assert main([]) == 2


def test_an_internal_error_exits_1_with_a_traceback(
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure inside ecssim exits 1 and says so, with the traceback."""

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("ecssim.cli.run", broken)
    assert main(["run", str(scenario_file), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "internal error" in err
    assert "Traceback" in err
    assert "RuntimeError: simulated bug" in err
    assert not (tmp_path / "o").exists()


def test_schema_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """``ecssim schema`` prints the scenario JSON Schema."""
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"name", "duration", "services"} <= set(schema["properties"])


def test_run_writes_the_results_folder(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ecssim run`` writes the folder, with the chosen seed, and prints a
    summary per service and where the folder is."""
    out_dir = tmp_path / "out"
    code = main(
        ["run", str(scenario_file), "--seed", "9", "--out", str(out_dir), "--quiet"]
    )
    assert code == 0
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert (summary["scenario"], summary["seed"]) == ("cli-demo", 9)
    assert (out_dir / "report.html").is_file()
    out = capsys.readouterr().out
    assert "ran 'cli-demo' with seed 9 for 2h" in out
    worker = next(line for line in out.splitlines() if line.startswith("  worker: "))
    # what stands out (interruptions, refusals, faults) first, then the headlines
    assert "jobs arrived " in worker
    assert f"results: {out_dir}" in out


def test_run_defaults_to_results_name_seed(
    scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --out a run goes to results/<scenario>-seed<N> under the current folder."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(scenario_file), "--quiet"]) == 0
    assert (tmp_path / "results" / "cli-demo-seed3" / "summary.json").is_file()


def test_run_refuses_a_foreign_folder_before_running(
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An --out folder ecssim did not write exits 2 before the run starts."""

    def no_run(*_: object, **__: object) -> None:
        raise AssertionError("the run started")

    monkeypatch.setattr("ecssim.cli.run", no_run)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep", encoding="utf-8")
    assert main(["run", str(scenario_file), "--out", str(tmp_path / "mine")]) == 2
    assert "not an ecssim results folder" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text(encoding="utf-8") == "keep"


def test_sweep_and_report(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ecssim sweep`` writes a sweep folder and ``ecssim report`` re-renders it."""
    out_dir = tmp_path / "sweep"
    assert main(["sweep", str(scenario_file), "--out", str(out_dir), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "swept 'cli-demo': 2 grid point(s) x 2 replication(s) = 4 runs" in out
    assert "services[0].protection.policy=none [worker]: job_interruptions" in out
    assert (out_dir / "means.csv").is_file()
    (out_dir / "report.md").unlink()
    assert main(["report", str(out_dir)]) == 0
    assert (out_dir / "report.md").is_file()
    assert capsys.readouterr().out == f"report: {out_dir / 'report.html'}\n"


def test_report_of_a_run_folder_and_of_a_bad_folder(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ecssim report`` re-renders a run folder; a missing or foreign folder exits 2."""
    out_dir = tmp_path / "run"
    assert main(["run", str(scenario_file), "--out", str(out_dir), "--quiet"]) == 0
    before = (out_dir / "report.md").read_bytes()
    (out_dir / "report.md").unlink()
    assert main(["report", str(out_dir)]) == 0
    assert (out_dir / "report.md").read_bytes() == before
    capsys.readouterr()
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "not an ecssim results folder" in capsys.readouterr().err


def test_python_dash_m_ecssim_validate(scenario_file: Path) -> None:
    """``python -m ecssim validate`` works as a program and sets its exit code."""
    good = subprocess.run(
        [sys.executable, "-m", "ecssim", "validate", str(scenario_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("OK ")
    bad = subprocess.run(
        [sys.executable, "-m", "ecssim", "validate", str(scenario_file) + ".missing"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "cannot read the scenario file" in bad.stderr
    assert "Traceback" not in bad.stderr


# ---- --set: change a value of the scenario from the command line ----------------------
def test_run_with_set_changes_the_scenario_and_names_the_folder(
    scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--set`` values are YAML (units included), reach the run and its
    scenario.json, and give the default folder a suffix per change."""
    monkeypatch.chdir(tmp_path)
    args = ["run", str(scenario_file), "--quiet"]
    changes = ["--set", "services[0].protection.policy=none", "--set", "duration=1h"]
    assert main([*args, *changes]) == 0
    folder = tmp_path / "results" / "cli-demo-seed3-policy-none-duration-1h"
    scenario = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
    assert scenario["services"][0]["protection"]["policy"] == "none"
    assert scenario["duration"] in ("1h", 3600, 3600.0)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["duration_s"] == 3600
    # the file itself is untouched: a plain run still uses its values
    assert main(args) == 0
    plain = tmp_path / "results" / "cli-demo-seed3" / "scenario.json"
    original = json.loads(plain.read_text(encoding="utf-8"))
    assert original["services"][0]["protection"]["policy"] == "per_job"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("services[0].protection.polic=none", "services[0].protection.polic"),
        ("services[4].desired_count=2", "no item [4]"),
        ("duration=-5h", "duration: '-5h'"),
        ("duration", "is not PATH=VALUE"),
        ("duration=[1", "is not a YAML value"),
    ],
)
def test_a_bad_set_exits_2_naming_it(
    scenario_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    message: str,
) -> None:
    """A --set with an unknown key, a missing item, a bad value or no '=' exits 2,
    naming the path or value, and writes nothing."""
    out_dir = tmp_path / "out"
    code = main(["run", str(scenario_file), "--set", setting, "--out", str(out_dir)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out_dir.exists()


def test_validate_and_sweep_take_set(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``validate`` describes the changed scenario; ``sweep`` runs its grid on it."""
    assert main(["validate", str(scenario_file), "--set", "duration=30m"]) == 0
    assert "(with --set)" in capsys.readouterr().out
    out_dir = tmp_path / "sweep"
    code = main(
        [
            "sweep",
            str(scenario_file),
            "--set",
            "sweep.replications=1",
            "--out",
            str(out_dir),
            "--quiet",
        ]
    )
    assert code == 0
    assert "2 grid point(s) x 1 replication(s) = 2 runs" in capsys.readouterr().out


def test_python_dash_m_runs_the_command_line() -> None:
    """``python -m ecssim.cli`` is the ``ecssim`` command (it used to do nothing)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ecssim.cli", "validate", "/nonexistent.yaml"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "/nonexistent.yaml" in done.stderr
