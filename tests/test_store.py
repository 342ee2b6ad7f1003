"""Tests of ecssim.experiments.store: one folder per run, written whole; reruns
skip what is stored; failed runs are recorded and the sweep goes on; an
interrupted ``ecssim sweep`` leaves only whole runs and a rerun completes the
same table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import ecssim.experiments.store as store_module
from ecssim.cli import main
from ecssim.experiments.store import RunKey, RunStore, fingerprint
from ecssim.experiments.sweep import SweepResult, sweep
from ecssim.model.build import run
from ecssim.reports.folders import read_parquet, results_kind, write_parquet
from ecssim.scenario.loading import parse_scenario, with_overrides

ROOT = Path(__file__).resolve().parent.parent

SCENARIO = """\
name: store-sweep
seed: 3
duration: 1h
services:
  - name: worker
    desired_count: 2
    workload:
      kind: queue
      arrivals: {rate: 30/h}
      job_duration: {distribution: lognormal, median: 5m, p95: 20m}
    protection: {policy: renewing, expires_in: 10m}
sweep:
  parameters:
    services[0].protection.policy: [none, renewing]
  replications: 2
"""

RUN_NAMES = [
    f"point-{p:04d}_replication-{r:03d}_seed-{3 + r}" for p in (0, 1) for r in (0, 1)
]


def _raw(text: str = SCENARIO) -> dict[str, Any]:
    raw = yaml.safe_load(text)
    assert isinstance(raw, dict)
    return raw


@pytest.fixture(scope="module")
def plain() -> SweepResult:
    return sweep(_raw(), source="store-sweep.yaml")


def test_each_run_gets_its_own_folder(plain: SweepResult, tmp_path: Path) -> None:
    """A stored sweep has one whole folder per run, named by point, replication
    and seed, and the same tables as one that stores nothing."""
    result = sweep(_raw(), source="store-sweep.yaml", store=tmp_path)
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == [*RUN_NAMES, "store.json"]
    meta = json.loads((runs / RUN_NAMES[3] / "run.json").read_text(encoding="utf-8"))
    # point 1 is the scenario's own policy
    scenario = parse_scenario(
        {k: v for k, v in _raw().items() if k != "sweep"}, source="x"
    )
    assert meta["status"] == "ok"
    assert (meta["point"], meta["replication"], meta["seed"]) == (1, 1, 4)
    assert meta["error"] is None
    assert len(meta["fingerprint"]) == 64
    assert results_kind(tmp_path) == "ecssim sweep runs"
    summary = read_parquet(runs / RUN_NAMES[3] / "summary.parquet")
    assert summary.equals(run(scenario, seed=4).summary)
    assert result.runs.equals(plain.runs)
    assert (result.failed, result.skipped) == (0, 0)


def test_a_rerun_skips_stored_runs_and_gives_the_same_bytes(
    plain: SweepResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs already stored are read back, not run; the tables are byte-identical;
    --fresh (fresh=True) runs them all again."""
    sweep(_raw(), source="store-sweep.yaml", store=tmp_path)
    calls: list[int] = []
    real = store_module.run

    def counting(scenario: Any, *, seed: int) -> Any:
        calls.append(seed)
        return real(scenario, seed=seed)

    monkeypatch.setattr(store_module, "run", counting)
    again = sweep(_raw(), source="store-sweep.yaml", store=tmp_path)
    assert (calls, again.skipped) == ([], 4)
    a = write_parquet(again.runs, tmp_path / "a.parquet").read_bytes()
    b = write_parquet(plain.runs, tmp_path / "b.parquet").read_bytes()
    assert a == b
    fresh = sweep(_raw(), source="store-sweep.yaml", store=tmp_path, fresh=True)
    assert (len(calls), fresh.skipped) == (4, 0)


def test_a_changed_scenario_does_not_reuse_stored_runs(tmp_path: Path) -> None:
    """A stored run only counts for the same scenario and seed (its fingerprint)."""
    sweep(_raw(), source="store-sweep.yaml", store=tmp_path)
    changed = sweep(
        _raw(SCENARIO.replace("rate: 30/h", "rate: 20/h")),
        source="store-sweep.yaml",
        store=tmp_path,
    )
    assert changed.skipped == 0
    scenario = parse_scenario(_raw(), source="x")
    assert fingerprint(scenario, 1) != fingerprint(scenario, 2)


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run with seed 4 raises: its folder holds the error and traceback, its
    rows say failed with no outcomes, the other runs and the means go on; a
    rerun tries it again."""
    real = store_module.run

    def flaky(scenario: Any, *, seed: int) -> Any:
        if seed == 4:
            raise RuntimeError("worker exploded")
        return real(scenario, seed=seed)

    monkeypatch.setattr(store_module, "run", flaky)
    result = sweep(_raw(), source="store-sweep.yaml", store=tmp_path)
    assert result.failed == 2
    assert list(result.runs["status"]) == ["ok", "failed", "ok", "failed"]
    failed = result.runs[result.runs["status"] == "failed"]
    assert failed["task_hours"].isna().all()
    assert list(failed["service"]) == ["worker", "worker"]
    assert list(result.means["replications"]) == [1, 1]
    folder = tmp_path / "runs" / RUN_NAMES[1]
    meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert (meta["status"], meta["error"]) == (
        "failed",
        "RuntimeError: worker exploded",
    )
    error = (folder / "error.txt").read_text(encoding="utf-8")
    assert error.startswith("RuntimeError: worker exploded\n\nTraceback")
    assert 'raise RuntimeError("worker exploded")' in error
    assert not (folder / "summary.parquet").exists()

    monkeypatch.setattr(store_module, "run", real)
    healed = sweep(_raw(), source="store-sweep.yaml", store=tmp_path)
    assert (healed.failed, healed.skipped) == (0, 2)


def test_cli_exit_code_says_runs_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ecssim sweep`` writes the sweep folder with the failed rows and exits 3."""
    real = store_module.run

    def flaky(scenario: Any, *, seed: int) -> Any:
        if seed == 3:
            raise ValueError("bad luck")
        return real(scenario, seed=seed)

    monkeypatch.setattr(store_module, "run", flaky)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sweep", str(scenario), "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "2 run(s) failed; their errors are in" in err
    runs = read_parquet(out / "runs.parquet")
    assert list(runs["status"]) == ["failed", "ok", "failed", "ok"]
    assert results_kind(out) == "ecssim sweep"


def test_store_save_is_whole_or_nothing(tmp_path: Path) -> None:
    """A save that fails midway leaves no folder and no temporary; leftovers of a
    killed process are swept away when the store opens."""
    store = RunStore(tmp_path)
    key = RunKey(0, 0, 1)

    class Broken:
        status = "ok"
        error = ""
        traceback = ""
        frames = ()

        @property
        def summary(self) -> Any:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.save(key, "x", Broken())  # type: ignore[arg-type]
    assert sorted(p.name for p in store.path.iterdir()) == ["store.json"]
    (store.path / ".tmp-point-0000_replication-000_seed-1-dead").mkdir()
    RunStore(tmp_path)
    assert sorted(p.name for p in store.path.iterdir()) == ["store.json"]


def _ecssim(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "ecssim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a terminal's job
    )


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_sigint_mid_sweep_keeps_whole_runs_and_a_rerun_completes(
    executor: str, tmp_path: Path
) -> None:
    """SIGINT to the process group (Ctrl-C) after the first runs are stored: exit 130, every run folder is
    whole, no temporary is left, no sweep table is written; the rerun skips the
    stored runs and writes the table a sweep from nothing writes."""
    # runs of a day, not an hour: the rest of the sweep must still be running
    # when the signal comes (hour-long runs could all finish in between)
    text = SCENARIO.replace("replications: 2", "replications: 6").replace(
        "duration: 1h", "duration: 1d"
    )
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    args = ["sweep", str(scenario), "--out", str(out), "--quiet"]
    args += ["--executor", executor, "--workers", "2"]
    process = _ecssim(*args)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(list((out / "runs").glob("point-*"))) >= 2:
            break
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the sweep and its pool
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    runs = out / "runs"
    stored = sorted(runs.glob("point-*"))
    assert 2 <= len(stored) < 12
    assert [p.name for p in runs.iterdir() if p.name.startswith(".")] == []
    for folder in stored:
        assert sorted(p.name for p in folder.iterdir()) == [
            "run.json",
            "summary.parquet",
        ]
    assert not (out / "runs.parquet").exists()

    rerun = _ecssim(*args)
    output, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"skipped {len(stored)} run(s)" in output
    fresh = tmp_path / "fresh"
    assert main(["sweep", str(scenario), "--out", str(fresh), "--quiet"]) == 0
    for table in ("runs.parquet", "means.parquet", "means.csv"):
        assert (out / table).read_bytes() == (fresh / table).read_bytes(), table


def test_frames_are_one_hive_partitioned_dataset_per_table(tmp_path: Path) -> None:
    """With --frames every run's tables are kept under frames/, partitioned by
    parameter, replication and seed: pandas reads each table of every run in
    one call; the finished sweep folder keeps them."""
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["sweep", str(scenario), "--out", str(out), "--quiet", "--frames"]) == 0
    assert sorted(p.name for p in (out / "frames").iterdir()) == [
        "events",
        "jobs",
        "sessions",
        "timeseries",
    ]
    jobs = pd.read_parquet(out / "frames" / "jobs")
    assert {"services[0].protection.policy", "replication", "seed"} <= set(jobs.columns)
    raw = {k: v for k, v in _raw().items() if k != "sweep"}
    none = parse_scenario(
        with_overrides(raw, {"services[0].protection.policy": "none"}), source="x"
    )
    expected = run(none, seed=4).jobs
    mine = jobs[
        (jobs["services[0].protection.policy"] == "none")
        & (jobs["seed"].astype(str) == "4")
    ]
    assert len(mine) == len(expected)
    assert list(mine["job"]) == list(expected["job"])
    assert (
        jobs.groupby(["services[0].protection.policy", "replication"], observed=True)[
            "job"
        ]
        .count()
        .min()
        > 0
    )
