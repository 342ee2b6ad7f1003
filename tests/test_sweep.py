"""Tests of ecssim.experiments.sweep: the grid, seeds, validation, means and workers."""

from __future__ import annotations

import json
import math
import shutil
import sys
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from ecssim.errors import ScenarioError
from ecssim.experiments import store as store_module
from ecssim.experiments import sweep as sweep_module
from ecssim.experiments.executors import SerialExecutor
from ecssim.experiments.sweep import (
    SweepResult,
    grid,
    render_sweep,
    sweep,
    write_sweep,
)
from ecssim.reports.folders import read_parquet, results_kind
from ecssim.results.metrics import SUMMARY_COLUMNS
from ecssim.results.stats import t_critical_95

POLICY = "services[0].protection.policy"
EXPIRES = "services[0].protection.expires_in"

SCENARIO = """\
name: tiny-sweep
seed: 40
duration: 2h
services:
  - name: worker
    desired_count: 3
    stop_timeout: 60s
    workload:
      kind: queue
      arrivals: {rate: 24/h}
      job_duration: {distribution: lognormal, median: 10m, p95: 40m}
    protection: {policy: renewing, expires_in: 20m}
  - name: spare
    desired_count: 1
scheduled:
  - {at: 40m, action: set_desired_count, service: worker, count: 1}
sweep:
  parameters:
    services[0].protection.policy: [none, renewing]
    services[0].protection.expires_in: [20m, 1h]
  replications: 2
"""


def _raw() -> dict[str, Any]:
    raw = yaml.safe_load(SCENARIO)
    assert isinstance(raw, dict)
    return raw


@pytest.fixture(scope="module")
def result() -> SweepResult:
    return sweep(_raw(), source="tiny-sweep.yaml")


def test_grid_is_the_cartesian_product_in_written_order() -> None:
    """The first parameter varies slowest, values keep their written order."""
    assert grid({"a": (1, 2), "b": ("x", "y", "z")}) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 1, "b": "z"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
        {"a": 2, "b": "z"},
    ]


def test_runs_has_one_row_per_run_and_service(result: SweepResult) -> None:
    """Four grid points x two replications x two services give 16 rows, with the
    point, parameter, replication, seed and status columns before every summary
    column."""
    runs = result.runs
    assert len(runs) == 4 * 2 * 2
    assert list(runs.columns) == [
        "point",
        POLICY,
        EXPIRES,
        "replication",
        "seed",
        "status",
        *SUMMARY_COLUMNS,
    ]
    assert result.parameters == (POLICY, EXPIRES)
    first = runs[runs["service"] == "worker"]
    assert list(first[POLICY]) == ["none"] * 4 + ["renewing"] * 4
    assert list(first[EXPIRES]) == ["20m", "20m", "1h", "1h"] * 2
    assert list(first["replication"]) == [0, 1] * 4
    assert list(first["seed"]) == [40, 41] * 4
    assert list(runs["point"]) == [p for p in range(4) for _ in range(4)]
    assert set(runs["status"]) == {"ok"}
    assert (result.failed, result.skipped) == (0, 0)


def test_policy_changes_the_outcome(result: SweepResult) -> None:
    """The swept value reaches the run: only protected grid points make protection calls."""
    calls = result.runs[result.runs["service"] == "worker"].groupby(POLICY)[
        "protection_calls"
    ]
    assert calls.sum()["none"] == 0
    assert calls.min()["renewing"] > 0


def test_means_have_a_95_percent_confidence_interval(result: SweepResult) -> None:
    """Means hold one row per grid point and service, each outcome's mean and
    its t-based 95 % CI half-width."""
    means = result.means
    assert len(means) == 4 * 2
    assert list(means.columns[:5]) == [
        "point",
        POLICY,
        EXPIRES,
        "service",
        "replications",
    ]
    assert set(means["replications"]) == {2}
    runs = result.runs
    for _, row in means.iterrows():
        values = runs[
            (runs["point"] == row["point"]) & (runs["service"] == row["service"])
        ]["task_hours"]
        assert row["task_hours"] == pytest.approx(values.mean())
        expected = t_critical_95(1) * values.std(ddof=1) / math.sqrt(2)
        assert row["task_hours_ci95"] == pytest.approx(expected)
    waits = means[means["service"] == "spare"]["queue_wait_p95_s"]
    assert waits.isna().all()  # nothing to measure is NaN, not zero


def test_paired_differences_pair_runs_by_seed_against_the_baseline(
    result: SweepResult,
) -> None:
    """Differences hold one row per non-baseline point and service: the mean of
    (point - baseline) over runs with the same seed, and its t half-width."""
    diffs = result.differences
    assert result.baseline == 0
    assert sorted(set(diffs["point"])) == [1, 2, 3]
    assert set(diffs["pairs"]) == {2}
    runs = result.runs
    for _, row in diffs.iterrows():
        mine = runs[runs["service"] == row["service"]].set_index("seed")
        point = mine[mine["point"] == row["point"]]["task_hours"]
        base = mine[mine["point"] == 0]["task_hours"]
        paired = (point - base).to_numpy()
        assert row["task_hours"] == pytest.approx(paired.mean())
        expected = t_critical_95(1) * paired.std(ddof=1) / math.sqrt(2)
        assert row["task_hours_ci95"] == pytest.approx(expected, nan_ok=True)


def test_a_named_baseline_is_the_reference() -> None:
    """sweep.baseline picks the grid point the others are compared with."""
    raw = _raw()
    raw["sweep"]["baseline"] = {POLICY: "renewing", EXPIRES: "1h"}
    raw["sweep"]["replications"] = 1
    result = sweep(raw, source="tiny-sweep.yaml")
    assert result.baseline == 3
    assert sorted(set(result.differences["point"])) == [0, 1, 2]


def test_a_baseline_that_is_not_a_grid_point_is_refused() -> None:
    """A baseline value that is not swept names the parameter and the values."""
    raw = _raw()
    raw["sweep"]["baseline"] = {POLICY: "always", EXPIRES: "1h"}
    with pytest.raises(ScenarioError, match="baseline"):
        sweep(raw, source="tiny-sweep.yaml")


def test_auto_replications_stop_at_the_cap_or_when_precise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """replications: auto starts with 3 and adds one per round until every target
    half-width is within the relative target, at most max_replications."""
    raw = _raw()
    raw["sweep"]["parameters"] = {POLICY: ["none", "renewing"]}
    raw["sweep"]["replications"] = "auto"
    raw["sweep"]["max_replications"] = 5
    raw["sweep"]["relative_half_width"] = 0.0001
    capped = sweep(raw, source="tiny-sweep.yaml")
    assert capped.replications == 5
    assert (
        list(capped.runs[capped.runs["service"] == "worker"]["seed"])
        == [40, 41, 42, 43, 44] * 2
    )
    raw["sweep"]["relative_half_width"] = 1.0
    raw["sweep"]["target_outcomes"] = ["jobs_arrived"]
    loose = sweep(raw, source="tiny-sweep.yaml")
    assert loose.replications == 3


def test_t_critical_values() -> None:
    """Critical values follow Student's t and approach 1.96 for large samples."""
    assert t_critical_95(1) == pytest.approx(12.706, rel=1e-3)
    assert t_critical_95(10) == pytest.approx(2.228, rel=1e-3)
    assert 1.96 <= t_critical_95(200) < 1.975
    # scipy's exact quantile, not a 3-decimal table
    assert t_critical_95(3) == pytest.approx(3.182446305284263, abs=1e-12)
    with pytest.raises(ValueError, match="degrees of freedom"):
        t_critical_95(0)


def test_a_bad_sweep_value_names_parameter_and_value_before_any_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An invalid value at one grid point is a ScenarioError naming the parameter
    and the value, raised before anything runs."""

    def no_runs(*_: object, **__: object) -> None:
        raise AssertionError("a run started")

    # the package exports the function sweep, so reach the module through sys.modules
    monkeypatch.setattr(sys.modules["ecssim.experiments.sweep"], "run", no_runs)
    raw = _raw()
    raw["sweep"]["parameters"][EXPIRES] = ["20m", "3d"]
    with pytest.raises(ScenarioError) as caught:
        sweep(raw, source="tiny-sweep.yaml")
    message = str(caught.value)
    assert "services[0].protection.expires_in='3d'" in message
    assert "services[0].protection.expires_in: '3d'" in message
    assert "2880" in message
    assert "'20m'" not in message.replace("expires_in='3d'", "")


def test_a_sweep_path_that_is_not_there_is_an_error() -> None:
    """A parameter path through a missing list item is a ScenarioError naming it."""
    raw = _raw()
    raw["sweep"]["parameters"] = {"services[5].desired_count": [1]}
    with pytest.raises(ScenarioError, match=r"services\[5\]\.desired_count"):
        sweep(raw, source="tiny-sweep.yaml")


def test_a_scenario_without_a_sweep_is_an_error() -> None:
    """Sweeping a scenario that has no sweep section says what to add."""
    raw = _raw()
    del raw["sweep"]
    with pytest.raises(ScenarioError, match="no sweep section"):
        sweep(raw, source="tiny-sweep.yaml")


def test_workers_do_not_change_the_tables(result: SweepResult) -> None:
    """Two worker processes give exactly the rows, in the order, of one."""
    parallel = sweep(_raw(), source="tiny-sweep.yaml", workers=2)
    pd.testing.assert_frame_equal(parallel.runs, result.runs)
    pd.testing.assert_frame_equal(parallel.means, result.means)


def test_write_sweep_writes_tables_plot_and_report(
    result: SweepResult, tmp_path: Path
) -> None:
    """A sweep folder has the runs, the means (Parquet and CSV), the trade-off
    plot and a report, and rendering it again gives the same bytes."""
    folder = write_sweep(result, tmp_path / "sweep")
    assert {p.name for p in folder.iterdir()} == {
        "runs.parquet",
        "means.parquet",
        "means.csv",
        "differences.parquet",
        "differences.csv",
        "sweep.json",
        "scenario.json",
        "tradeoff.png",
        "report.md",
        "report.html",
    }
    assert results_kind(folder) == "ecssim sweep"
    pd.testing.assert_frame_equal(read_parquet(folder / "runs.parquet"), result.runs)
    pd.testing.assert_frame_equal(read_parquet(folder / "means.parquet"), result.means)
    csv = pd.read_csv(folder / "means.csv")
    assert list(csv.columns) == list(result.means.columns)
    assert len(csv) == len(result.means)
    meta = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    assert meta["parameters"] == {POLICY: ["none", "renewing"], EXPIRES: ["20m", "1h"]}
    assert (meta["grid_points"], meta["runs"], meta["replications"]) == (4, 8, 2)
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "4 grid points x 2 replications = 8 runs, seeds 40..41" in report
    assert "](tradeoff.png)" in report
    assert "Not modelled: load balancers" in report
    assert "## Paired differences against the baseline" in report
    # lost work varies a lot between two replications: the report says n is too small
    assert "Too few replications to read some means: with n = 2" in report
    assert "lost_work_hours at services[0].protection.expires_in=20m" in report
    pd.testing.assert_frame_equal(
        read_parquet(folder / "differences.parquet"), result.differences
    )
    assert meta["baseline"] == {POLICY: "none", EXPIRES: "20m"}

    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    (copy / "tradeoff.png").unlink()
    render_sweep(copy)
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before


def test_sweep_takes_a_scenario_object() -> None:
    """``ecssim.sweep(load_scenario(...))`` runs the scenario's sweep like its data."""
    from ecssim import parse_scenario

    raw = _raw()
    raw["sweep"]["replications"] = 1
    scenario = parse_scenario(raw)
    from_object = sweep(scenario)
    from_data = sweep(raw, source="tiny-sweep.yaml")
    pd.testing.assert_frame_equal(from_object.runs, from_data.runs)


def test_the_bundled_sweep_shows_the_paired_saving_of_renewing(tmp_path: Path) -> None:
    """On scenarios/policy-sweep.yaml the means of none and renewing overlap, but
    the paired difference (same seeds) shows renewing's saving in task-hours,
    and the report says so."""
    from ecssim import load_scenario
    from ecssim.results.stats import excludes_zero

    root = Path(__file__).resolve().parent.parent
    result = sweep(load_scenario(root / "scenarios" / "policy-sweep.yaml"))
    means = result.means.set_index(POLICY)
    none, renewing = means.loc["none"], means.loc["renewing"]
    overlap = (none["task_hours"] - none["task_hours_ci95"]) < (
        renewing["task_hours"] + renewing["task_hours_ci95"]
    )
    assert overlap  # read unpaired, the two look the same
    diff = result.differences.set_index(POLICY).loc["renewing"]
    assert diff["task_hours"] < 0
    assert excludes_zero(diff["task_hours"], diff["task_hours_ci95"])
    report = (write_sweep(result, tmp_path / "s") / "report.md").read_text("utf-8")
    paired = report.split("## Paired differences against the baseline")[1]
    row = next(line for line in paired.splitlines() if line.startswith("| renewing |"))
    cell = f"{diff['task_hours']:.3g} +/- {diff['task_hours_ci95']:.3g} *"
    assert cell in row


def test_auto_replications_keep_one_pool_for_every_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a process pool, every round of replications: auto runs on the same
    pool (its workers import ecssim once), and the runs are those of a serial sweep."""
    opened: list[tuple[str, int]] = []

    @contextmanager
    def counting(kind: str, **options: Any) -> Iterator[Executor]:
        opened.append((kind, options["workers"]))
        yield SerialExecutor()

    raw = _raw()
    raw["sweep"]["parameters"] = {POLICY: ["none", "renewing"]}
    raw["sweep"]["replications"] = "auto"
    raw["sweep"]["max_replications"] = 5
    raw["sweep"]["relative_half_width"] = 0.0001
    serial = sweep(raw, source="tiny-sweep.yaml")
    monkeypatch.setattr(sweep_module, "open_executor", counting)
    monkeypatch.setattr(store_module, "open_executor", counting)
    pooled = sweep(raw, source="tiny-sweep.yaml", workers=2)
    assert opened == [("processes", 2)]
    assert pooled.replications == serial.replications == 5
    pd.testing.assert_frame_equal(pooled.runs, serial.runs)
