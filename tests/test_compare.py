"""Comparisons: ``compare_sides``, ``RunResult.compare``, ``SweepResult.compare``
and ``ecssim compare`` on run and sweep folders."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ecssim import parse_scenario, run
from ecssim.cli import main
from ecssim.experiments.sweep import sweep, write_sweep
from ecssim.reports.compare import write_comparison
from ecssim.reports.folders import ResultsFolderError, read_parquet, results_kind
from ecssim.reports.run_report import write_results
from ecssim.results.stats import COMPARISON_COLUMNS, compare_sides, t_critical_95
from ecssim.scenario.schema import Scenario

POLICY = "services[0].protection.policy"


def _raw(policy: str = "renewing") -> dict[str, Any]:
    return {
        "name": "small",
        "seed": 5,
        "duration": "2h",
        "services": [
            {
                "name": "worker",
                "desired_count": 3,
                "stop_timeout": "60s",
                "workload": {
                    "kind": "queue",
                    "arrivals": {"rate": "30/h"},
                    "job_duration": {
                        "distribution": "lognormal",
                        "median": "10m",
                        "p95": "40m",
                    },
                },
                "protection": {"policy": policy, "expires_in": "20m"},
            }
        ],
        "scheduled": [
            {
                "at": "40m",
                "action": "set_desired_count",
                "service": "worker",
                "count": 1,
            }
        ],
    }


def _scenario(policy: str = "renewing") -> Scenario:
    return parse_scenario(_raw(policy))


def _runs(seeds: list[int], values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"service": "svc", "seed": seeds, "task_hours": values})


def test_sides_with_the_same_seeds_are_paired() -> None:
    """Differences are the mean of the run-by-run differences, with the t interval
    of those differences (much narrower than the means' when runs co-vary)."""
    a = _runs([1, 2, 3], [10.0, 20.0, 30.0])
    b = _runs([3, 1, 2], [28.0, 9.0, 18.5])
    table = compare_sides([("a", a), ("b", b)])
    assert list(table.columns) == list(COMPARISON_COLUMNS)
    row = table[table["side"] == "b"].iloc[0]
    deltas = np.array([9.0 - 10.0, 18.5 - 20.0, 28.0 - 30.0])
    assert row["paired"]
    assert row["runs"] == 3
    assert row["difference"] == pytest.approx(deltas.mean())
    half = t_critical_95(2) * deltas.std(ddof=1) / math.sqrt(3)
    assert row["difference_ci95"] == pytest.approx(half)
    first = table[table["side"] == "a"].iloc[0]
    assert first["mean"] == pytest.approx(20.0)
    assert math.isnan(first["difference"])


def test_sides_without_common_seeds_get_welch_intervals() -> None:
    """With no seeds in common the difference of means has Welch's interval."""
    a = _runs([1, 2, 3], [10.0, 20.0, 30.0])
    b = _runs([7, 8], [12.0, 16.0])
    row = compare_sides([("a", a), ("b", b)]).iloc[1]
    assert not row["paired"]
    assert row["difference"] == pytest.approx(14.0 - 20.0)
    va, vb = 100.0 / 3, 8.0 / 2
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 1)
    from scipy import stats

    expected = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert row["difference_ci95"] == pytest.approx(expected)


def test_compare_needs_two_sides() -> None:
    """One side is not a comparison."""
    with pytest.raises(ValueError, match="two or more"):
        compare_sides([("a", _runs([1], [1.0]))])


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("runs")
    a = write_results(run(_scenario("renewing")), base / "renewing")
    b = write_results(run(_scenario("none")), base / "none")
    return a, b


def test_run_result_compare_pairs_runs_with_the_same_seed() -> None:
    """``a.compare(b)`` holds every outcome; differences are b - a, paired."""
    a, b = run(_scenario("renewing")), run(_scenario("none"))
    table = a.compare(b, labels=["renewing", "none"])
    hours = table[(table["outcome"] == "task_hours") & (table["side"] == "none")]
    assert len(hours) == 1
    row = hours.iloc[0]
    assert bool(row["paired"])
    expected = b.summary["task_hours"].iloc[0] - a.summary["task_hours"].iloc[0]
    assert row["difference"] == pytest.approx(expected)
    calls = table[(table["outcome"] == "protection_calls") & (table["side"] == "none")]
    assert calls["mean"].iloc[0] == 0
    assert calls["difference"].iloc[0] < 0


def test_ecssim_compare_on_two_runs_writes_a_report(
    two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The comparison folder has the table, the stacked timelines and a report
    whose table shows both runs and their paired difference."""
    out = tmp_path / "cmp"
    assert main(["compare", str(two_runs[0]), str(two_runs[1]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "none - renewing worker: task_hours" in printed
    assert "(paired)" in printed
    assert results_kind(out) == "ecssim comparison"
    assert {p.name for p in out.iterdir()} == {
        "comparison.parquet",
        "comparison.csv",
        "compare.json",
        "timeline-worker.png",
        "report.md",
        "report.html",
    }
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "# ecssim comparison: renewing vs none" in report
    assert "| service | outcome | renewing | none | none - renewing |" in report
    assert "paired run by run with the same seed" in report
    assert "protection_calls" in report
    assert "<img" in (out / "report.html").read_text(encoding="utf-8")
    # the folder can be written again (it is an ecssim folder)
    write_comparison(list(two_runs), out)


def test_compare_refuses_a_folder_that_is_not_results(
    two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder that is not a run or sweep folder is bad input (exit 2)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ResultsFolderError, match="not an ecssim run or sweep"):
        write_comparison([two_runs[0], empty], tmp_path / "out")
    assert main(["compare", str(two_runs[0]), str(empty)]) == 2
    assert "not an ecssim run or sweep folder" in capsys.readouterr().err
    assert main(["compare", str(two_runs[0])]) == 2


def test_compare_two_sweeps_matches_grid_points(tmp_path: Path) -> None:
    """Two sweeps are compared grid point by grid point, paired by seed, both in
    Python and with ``ecssim compare``."""
    raw = _raw()
    raw["sweep"] = {"parameters": {POLICY: ["none", "renewing"]}, "replications": 2}
    first = sweep(raw, source="small.yaml")
    raw["services"][0]["protection"]["expires_in"] = "1h"
    second = sweep(raw, source="small.yaml")
    table = first.compare(second, labels=["20m", "1h"])
    points = set(table["point"])
    assert points == {f"{POLICY}=none", f"{POLICY}=renewing"}
    none = table[
        (table["point"] == f"{POLICY}=none")
        & (table["side"] == "1h")
        & (table["outcome"] == "task_hours")
    ].iloc[0]
    assert bool(none["paired"])
    assert none["runs"] == 2
    assert none["difference"] == pytest.approx(0.0)  # no protection: expiry is moot

    a = write_sweep(first, tmp_path / "a")
    b = write_sweep(second, tmp_path / "b")
    out = write_comparison([a, b], tmp_path / "ab")
    on_disk = read_parquet(out / "comparison.parquet")
    pd.testing.assert_frame_equal(
        on_disk.drop(columns="side"), table.drop(columns="side"), check_dtype=False
    )
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| grid point | service | outcome | a | b | b - a |" in report
    meta = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert [s["kind"] for s in meta["sides"]] == ["ecssim sweep", "ecssim sweep"]
