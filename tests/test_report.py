"""Tests of ecssim.reports: results folder content, reproducibility, safe writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ecssim.model.build import run
from ecssim.model.result import RunResult
from ecssim.reports.document import Table, to_html
from ecssim.reports.folders import ResultsFolderError, read_parquet, results_kind
from ecssim.reports.run_report import (
    format_value,
    notable_outcomes,
    render_report,
    timeline_caption,
    what_happened,
    write_results,
)
from ecssim.results.metrics import SUMMARY_COLUMNS
from ecssim.scenario.loading import load_scenario
from ecssim.scenario.schema import Scenario

SCENARIO = """\
name: tiny
description: A short queue run with a scale-in and a rollout.
seed: 7
duration: 2h
services:
  - name: worker
    desired_count: 4
    stop_timeout: 60s
    workload:
      kind: queue
      arrivals: {rate: 30/h}
      job_duration: {distribution: lognormal, median: 10m, p95: 40m}
    protection: {policy: renewing, expires_in: 20m}
  - name: spare
    desired_count: 1
scheduled:
  - {at: 40m, action: set_desired_count, service: worker, count: 1}
  - {at: 70m, action: deploy, service: worker}
"""

EXPECTED_FILES = {
    "events.parquet",
    "timeseries.parquet",
    "jobs.parquet",
    "sessions.parquet",
    "summary.parquet",
    "summary.json",
    "scenario.json",
    "timeline-worker.png",
    "timeline-spare.png",
    "protection-cost.png",
    "report.md",
    "report.html",
}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    return load_scenario(path)


@pytest.fixture(scope="module")
def result(scenario: Scenario) -> RunResult:
    return run(scenario)


@pytest.fixture(scope="module")
def folder(result: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_results(result, tmp_path_factory.mktemp("out") / "tiny-seed7")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_results_folder_holds_every_table_plot_and_report(folder: Path) -> None:
    """A results folder has exactly the tables, JSON files, plots and reports."""
    assert {p.name for p in folder.iterdir()} == EXPECTED_FILES
    assert results_kind(folder) == "ecssim run"


def test_tables_read_back_equal_the_run_frames(folder: Path, result: RunResult) -> None:
    """Each Parquet table reads back as the frame the run returned."""
    for name in ("events", "timeseries", "jobs", "summary"):
        pd.testing.assert_frame_equal(
            read_parquet(folder / f"{name}.parquet"), getattr(result, name)
        )
    sessions = read_parquet(folder / "sessions.parquet")
    assert list(sessions.columns) == list(result.sessions.columns)
    assert sessions.empty


def test_summary_json_has_the_run_and_every_service(
    folder: Path, result: RunResult
) -> None:
    """summary.json names the scenario, seed and duration, and holds one summary
    per service with NaN written as null and keys sorted."""
    text = (folder / "summary.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"
    assert data["results"] == "ecssim run"
    assert (data["scenario"], data["seed"], data["duration_s"]) == ("tiny", 7, 7200.0)
    assert [s["service"] for s in data["services"]] == ["worker", "spare"]
    worker = data["services"][0]
    assert set(worker) == set(SUMMARY_COLUMNS)
    assert worker["session_wait_p95_s"] is None  # NaN in the frame
    assert worker["jobs_arrived"] == result.service_summary("worker")["jobs_arrived"]
    assert data["columns"]["jobs_completed"] == SUMMARY_COLUMNS["jobs_completed"]


def test_scenario_json_is_the_validated_scenario(
    folder: Path, scenario: Scenario
) -> None:
    """scenario.json is the scenario dumped with its YAML names and defaults."""
    data = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
    assert data == json.loads(
        json.dumps(scenario.model_dump(mode="json", by_alias=True))
    )
    assert data["services"][0]["protection"]["expires_in"] == 1200.0


def test_report_reads_without_python(folder: Path) -> None:
    """The report says what ran, tabulates outcomes with their meanings, shows
    every figure and points at the modelling caveats."""
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert markdown.startswith("# ecssim results: tiny\n")
    assert "A short queue run with a scale-in and a rollout." in markdown
    assert "at 40m: set the desired count of worker to 1" in markdown
    assert "| jobs_completed | messages processed to the end |" in markdown
    assert "README" not in markdown  # the caveats are in the report itself
    assert "Not modelled: load balancers" in markdown
    for png in ("timeline-worker.png", "protection-cost.png"):
        assert f"]({png})" in markdown
        assert f'href="{png}"' in page
    assert page.count('src="data:image/png;base64,') == 3
    assert "Not modelled: load balancers" in page
    assert str(folder) not in markdown + page


def test_same_seed_gives_byte_identical_folders(
    scenario: Scenario, folder: Path, tmp_path: Path
) -> None:
    """Running the same scenario with the same seed again writes the same bytes
    in every file."""
    again = write_results(run(scenario, seed=7), tmp_path / "again")
    assert _files(again) == _files(folder)


def test_render_report_reproduces_plots_and_report(
    folder: Path, tmp_path: Path
) -> None:
    """Rendering a copied folder from its files alone rewrites identical plots
    and reports."""
    copy = Path(shutil.copytree(folder, tmp_path / "copy"))
    for name in (
        "report.md",
        "report.html",
        "timeline-worker.png",
        "protection-cost.png",
    ):
        (copy / name).unlink()
    assert render_report(copy) == copy / "report.html"
    assert _files(copy) == _files(folder)


def test_render_report_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    """Rendering a folder ecssim did not write is a ResultsFolderError."""
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ResultsFolderError, match="not an ecssim run results folder"):
        render_report(tmp_path)


def test_refuses_to_overwrite_a_folder_it_did_not_write(
    result: RunResult, tmp_path: Path
) -> None:
    """A non-empty folder that is not a results folder is left untouched."""
    target = tmp_path / "precious"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work", encoding="utf-8")
    with pytest.raises(ResultsFolderError, match="not an ecssim results folder"):
        write_results(result, target)
    assert [p.name for p in target.iterdir()] == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious"]


def test_replaces_an_older_results_folder_and_an_empty_one(
    result: RunResult, folder: Path, tmp_path: Path
) -> None:
    """An existing results folder or an empty folder is replaced, leaving no
    temporary siblings."""
    old = Path(shutil.copytree(folder, tmp_path / "old"))
    (old / "timeline-retired.png").write_bytes(b"a service no longer there")
    (tmp_path / "empty").mkdir()
    write_results(result, old)
    write_results(result, tmp_path / "empty")
    assert _files(old) == _files(folder)
    assert _files(tmp_path / "empty") == _files(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "old"]


def test_refuses_to_replace_a_results_folder_holding_other_files(
    result: RunResult, folder: Path, tmp_path: Path
) -> None:
    """A results folder to which someone added their own file is not replaced."""
    target = Path(shutil.copytree(folder, tmp_path / "results"))
    (target / "notes.txt").write_text("my analysis", encoding="utf-8")
    with pytest.raises(ResultsFolderError, match=r"did not write \(notes.txt\)"):
        write_results(result, target)
    assert (target / "notes.txt").read_text(encoding="utf-8") == "my analysis"


def test_failure_while_writing_keeps_the_previous_folder(
    result: RunResult, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing fails half-way, the folder that was there is unchanged and no
    temporary folder is left behind."""
    target = Path(shutil.copytree(folder, tmp_path / "results"))

    def broken(_: Path) -> Path:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("ecssim.reports.run_report._render", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_results(result, target)
    assert _files(target) == _files(folder)
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_refuses_to_write_over_a_file(result: RunResult, tmp_path: Path) -> None:
    """An output path that is a file is a ResultsFolderError."""
    path = tmp_path / "file"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(ResultsFolderError, match="not a folder"):
        write_results(result, path)
    assert path.read_text(encoding="utf-8") == "x"


def test_report_opens_with_what_happened(folder: Path, result: RunResult) -> None:
    """The report opens with a sentence per service generated from the outcomes,
    and tabulates how the jobs ended instead of drawing bars."""
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    head = markdown.split("## What ran")[0]
    assert "## What happened" in head
    worker = result.service_summary("worker")
    arrived = f"{int(worker['jobs_arrived']):,} jobs arrived"
    completed = f"{int(worker['jobs_completed']):,} completed"
    assert f"- worker: {arrived} and {completed}" in head
    assert "- spare: " in head
    assert "## How the queue jobs ended" in markdown
    assert f"| arrived | {int(worker['jobs_arrived']):,} |" in markdown


def test_notable_outcomes_lead_with_what_went_wrong() -> None:
    """Only outcomes above 0 get a phrase, the most telling first."""
    row = {
        "service": "s",
        "tasks_killed": 2,
        "sessions_interrupted": 74,
        "failures_deployment_blocked": 28,
        "protection_lapsed_while_busy": 5,
        "jobs_interrupted": float("nan"),
        "spot_interruptions": 0,
    }
    assert notable_outcomes(row) == [
        "74 sessions cut off when their task stopped",
        "protection lapsed 5 times on a busy task",
        "28 protection calls refused (DEPLOYMENT_BLOCKED)",
        "2 tasks killed at their stop timeout",
    ]
    summary = pd.DataFrame([{**row, "task_hours": 3.5, "sessions_arrived": 0}])
    assert what_happened(summary)[0].startswith("s: 3.5 task-hours; 74 sessions cut")
    quiet = pd.DataFrame([{"service": "q", "task_hours": 1.0}])
    assert what_happened(quiet) == [
        "q: 1 task-hours; no interruptions, refusals or faults."
    ]


def test_timeline_captions_promise_only_what_is_drawn(
    result: RunResult,
) -> None:
    """A caption mentions shading and rollout lines only when the run had them."""
    events, series = result.events, result.timeseries
    for service in ("worker", "spare"):
        caption = timeline_caption(series, events, service)
        mine = events[events["service"] == service]
        assert ("shaded" in caption) == bool((mine["kind"] == "scale_in_blocked").any())
        rollouts = int((mine["kind"] == "deployment_started").sum()) > 1
        assert ("rollouts started" in caption) == rollouts


def test_one_number_format_everywhere() -> None:
    """Counts with thousands separators, other numbers with 3 significant digits
    (one decimal from 100 up), seconds with their unit, NaN as n/a."""
    assert format_value("jobs_arrived", 2661) == "2,661"
    assert format_value("jobs_arrived", 2661.0) == "2,661"
    assert format_value("task_hours", 1465.1122) == "1,465.1"
    assert format_value("task_hours", 0.018412) == "0.0184"
    assert format_value("queue_wait_p95_s", 401.65) == "401.6 s"
    assert format_value("queue_wait_p95_s", 3886.0) == "3,886.0 s"
    assert format_value("convergence_delay_mean_s", 15.0) == "15 s"
    assert format_value("task_hours", float("nan")) == "n/a"


def test_wide_tables_scroll_and_long_names_wrap(folder: Path) -> None:
    """Tables sit in a horizontally scrolling box and long names may break after
    '_' and '.', so a report fits a 1,200-pixel window without clipping."""
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert '<div class="wide"><table>' in page
    assert ".wide { overflow-x: auto;" in page
    table = Table(("services[0].protection.policy", "idle_task_hours"), (("a", "1"),))
    html = to_html([table], "t", folder)
    assert "<th>services[0]<wbr>.<wbr>protection.<wbr>policy</th>" in html
    assert "<th>idle_<wbr>task_<wbr>hours</th>" in html
