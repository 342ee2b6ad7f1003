"""Tests of a tune's report (ecssim.reports.tune_report) and ``ecssim report`` on
a tune folder: the Pareto front table and plot, every trial, the recommended
settings, redrawn from the folder's files alone; clear exits on folders that are
not a finished run, sweep or tune."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ecssim.cli import main
from ecssim.reports.folders import write_json, write_parquet
from ecssim.reports.tune_report import TUNE_MARKER, pareto_order, render_tune

pytest.importorskip("optuna")

from ecssim.experiments.tune import tune, write_tune

POLICY = "services[0].protection.policy"
EXPIRES = "services[0].protection.expires_in"

SCENARIO = """\
name: tiny-tune
description: A tiny queue to tune.
seed: 3
duration: 90m
services:
  - name: worker
    desired_count: 3
    stop_timeout: 60s
    workload:
      kind: queue
      arrivals: {rate: 24/h}
      job_duration: {distribution: lognormal, median: 10m, p95: 40m}
    protection: {policy: renewing, expires_in: 20m}
scheduled:
  - {at: 40m, action: set_desired_count, service: worker, count: 1}
tune:
  parameters:
    services[0].protection.policy: {choices: [none, per_job, renewing]}
    services[0].protection.expires_in: {low: 5, high: 60, integer: true, unit: m}
  objectives: [{minimize: idle_protected_task_hours}, {minimize: task_hours}]
  constraints: ["job_interruptions <= 1.5"]
  trials: 5
  replications: 2
  batch: 5
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tune") / "tiny"
    result = tune(yaml.safe_load(SCENARIO), source="tiny.yaml", out=out)
    write_tune(result, out)
    return out


def test_ecssim_report_redraws_a_tune_report_byte_for_byte(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ecssim report`` on a tune folder rewrites report.md, report.html and
    pareto.png from the files alone, the same bytes the tune wrote."""
    before = {
        name: (folder / name).read_bytes()
        for name in ("report.md", "report.html", "pareto.png")
    }
    for name in before:
        (folder / name).unlink()
    (folder / "tune.journal").rename(folder.parent / "journal-elsewhere")
    try:
        assert main(["report", str(folder)]) == 0
    finally:
        (folder.parent / "journal-elsewhere").rename(folder / "tune.journal")
    assert capsys.readouterr().out == f"report: {folder / 'report.html'}\n"
    for name, data in before.items():
        assert (folder / name).read_bytes() == data, name


def test_the_report_shows_the_pick_the_front_in_order_and_every_trial(
    folder: Path,
) -> None:
    """Recommended settings come first with the trial's values, then the
    Pareto front in the order of pareto.csv, the plot, and a row per trial."""
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    meta = json.loads((folder / "tune.json").read_text(encoding="utf-8"))
    trials = pd.read_parquet(folder / "trials.parquet")
    pareto = pd.read_csv(folder / "pareto.csv")
    assert meta["description"] == "A tiny queue to tune."
    assert meta["scenario_seed"] == 3
    assert "seeds 3..4 (the same at every trial)" in markdown
    sections = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert sections[:3] == [
        "## Recommended settings",
        "## Pareto front",
        "## Search space",
    ]
    assert "## Trials" in sections
    assert "## Modelling caveats" in sections
    chosen = trials.set_index("trial").loc[meta["recommended"]]
    assert f"Trial {meta['recommended']}, the trial on the Pareto front" in markdown
    assert f"- {POLICY}: {chosen[POLICY]}" in markdown
    assert f"- {EXPIRES}: {chosen[EXPIRES]}" in markdown

    front = markdown.split("## Pareto front")[1].split("## Search space")[0]
    rows = [
        line
        for line in front.splitlines()
        if line.startswith("| ") and "---" not in line
    ]
    assert [r.split(" | ")[0].strip("| ") for r in rows[1:]] == [
        str(t) for t in pareto["trial"]
    ]
    assert "](pareto.png)" in front
    assert f"- {EXPIRES}: 5 to 60 m (whole numbers)\n" in markdown

    listed = markdown.split("## Trials")[1].split("## Files")[0]
    lines = [line for line in listed.splitlines() if line.startswith("| ")]
    assert lines[0].startswith(
        f"| trial | {POLICY} | {EXPIRES} | idle_protected_task_hours | task_hours | "
        "job_interruptions <= 1.5 broken by | feasible | on the front | error |"
    )
    assert len(lines) == 2 + len(trials)
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert f"All {len(trials)} trials" in html
    assert 'src="data:image/png;base64,' in html or "pareto.png" in html


def _hand_made(folder: Path, **meta: Any) -> Path:
    """A tune folder written by hand: three trials, one failed, maximising."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json(
        {
            "results": TUNE_MARKER,
            "ecssim_version": "test",
            "scenario": "by-hand",
            "parameters": {
                "a": {"low": 1.0, "high": 9.0},
                "b": {"choices": ["x", "y"]},
            },
            "objectives": ["sessions_completed", "task_hours[web]"],
            "directions": ["maximize", "minimize"],
            "constraints": ["sessions_dropped <= 0"],
            "replications": 1,
            "seed": 0,
            "trials": 4,
            "recommended": 2,
            **meta,
        },
        folder / "tune.json",
    )
    trials = pd.DataFrame(
        {
            "trial": [0, 1, 2, 3],
            "state": ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"],
            "a": [1.5, 2.0, 8.0, 4.0],
            "b": ["x", "y", "y", "x"],
            "sessions_completed": [10.0, math.nan, 30.0, 20.0],
            "task_hours[web]": [5.0, math.nan, 9.0, 6.0],
            "constraint_0": [0.0, math.nan, 0.0, 2.0],
            "feasible": [True, False, True, False],
            "pareto": [True, False, True, False],
            "error": [None, "ValueError: boom\nTraceback ...", None, None],
        }
    )
    write_parquet(trials, folder / "trials.parquet")
    return folder


def test_a_hand_made_folder_renders_maximised_objectives_first_and_failures(
    tmp_path: Path,
) -> None:
    """A maximised first objective puts its largest value first on the front;
    a failed trial's first error line is in the trials table; a broken
    constraint shows by how much; no seed in tune.json is said plainly."""
    folder = _hand_made(tmp_path / "t")
    render_tune(folder)
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    front = markdown.split("## Pareto front")[1].split("## Search space")[0]
    assert front.index("| 2 | 8.0 | y |") < front.index("| 0 | 1.5 | x |")
    assert "| 1 | 2.0 | y | n/a | n/a | n/a | no |  | ValueError: boom |" in markdown
    assert "| 3 | 4.0 | x | 20 | 6 | 2 | no |  |  |" in markdown
    assert "1 trial(s) failed" in markdown
    assert "the scenario's seeds" in markdown
    assert '- a: 1 to 9\n- b: "x", "y"' in markdown
    assert "maximize sessions_completed:" in markdown
    assert "minimize task_hours[web]: RUNNING task-hours" in markdown


def test_no_recommendation_says_what_to_do(tmp_path: Path) -> None:
    """A tune no trial of which met the constraints says how to go on."""
    folder = _hand_made(tmp_path / "t", recommended=None)
    render_tune(folder)
    assert "No trial met every constraint" in (folder / "report.md").read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: (f / "tune.json").write_text("{not json", encoding="utf-8"),
         "tune.json: is not valid JSON"),
        (lambda f: (f / "trials.parquet").unlink(), "trials.parquet is missing"),
        (lambda f: (f / "trials.parquet").write_bytes(b"PAR1 truncated"),
         "trials.parquet: cannot be read as a Parquet table"),
        (lambda f: write_parquet(
            pd.read_parquet(f / "trials.parquet").drop(columns="pareto"),
            f / "trials.parquet"),
         "lacks the column(s) 'pareto'"),
        (lambda f: write_json(
            {**json.loads((f / "tune.json").read_text(encoding="utf-8")),
             "directions": ["maximize"]}, f / "tune.json"),
         "'objectives' and 'directions' differ in length"),
        (lambda f: write_json(
            {**json.loads((f / "tune.json").read_text(encoding="utf-8")),
             "parameters": None}, f / "tune.json"),
         "'parameters' is missing or not a dict"),
    ],
    ids=["json", "missing", "truncated", "column", "directions", "parameters"],
)  # fmt: skip
def test_a_damaged_tune_folder_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Any, message: str
) -> None:
    """A damaged tune folder: exit 2, the message names the file and what is
    wrong, no traceback."""
    folder = _hand_made(tmp_path / "t")
    damage(folder)
    assert main(["report", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ecssim report: {folder}")
    assert message in err
    assert "Traceback" not in err


def test_folders_that_are_none_of_run_sweep_or_tune_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unfinished tune, an unfinished sweep, a comparison and a plain
    folder each exit 2 with a message saying what it is and what to do."""
    unfinished = tmp_path / "tune"
    unfinished.mkdir()
    (unfinished / "tune.journal").write_text("", encoding="utf-8")
    store = tmp_path / "sweep"
    write_json({"results": "ecssim sweep runs"}, (store / "runs").mkdir(parents=True)
               or store / "runs" / "store.json")  # fmt: skip
    comparison = tmp_path / "cmp"
    comparison.mkdir()
    write_json({"results": "ecssim comparison"}, comparison / "compare.json")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("mine", encoding="utf-8")
    for path, message in (
        (unfinished, "a tune that has not finished"),
        (store, "a sweep that has not finished"),
        (comparison, "a comparison; run ecssim compare again"),
        (plain, "not an ecssim results folder (written by ecssim run, ecssim "
                "sweep or ecssim tune)"),
    ):  # fmt: skip
        assert main(["report", str(path)]) == 2
        assert message in capsys.readouterr().err
    assert (plain / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not (unfinished / "report.md").exists()


@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.booleans()),
        min_size=0,
        max_size=12,
    ),
    st.sampled_from(["minimize", "maximize"]),
)
def test_pareto_order_keeps_the_front_best_first(
    points: list[tuple[float, float, bool]], direction: str
) -> None:
    """pareto_order returns exactly the rows marked pareto, ordered by the
    first objective in its direction, ties by the second, then by trial."""
    trials = pd.DataFrame(
        {
            "trial": range(len(points)),
            "x": [p[0] for p in points],
            "y": [p[1] for p in points],
            "pareto": [p[2] for p in points],
        }
    )
    ordered = pareto_order(trials, ["x", "y"], [direction, "minimize"])
    assert sorted(ordered["trial"]) == sorted(
        trials[trials["pareto"].astype(bool)]["trial"]
    )
    sign = 1 if direction == "minimize" else -1
    keys = [(sign * r.x, r.y, r.trial) for r in ordered.itertuples()]
    assert keys == sorted(keys)


def test_a_tune_whose_every_trial_failed_still_has_a_report(tmp_path: Path) -> None:
    """No trial finished: the plot says so (no empty legend warning), the
    report lists the failures and recommends nothing."""
    folder = _hand_made(tmp_path / "t", recommended=None)
    trials = pd.read_parquet(folder / "trials.parquet")
    trials["state"] = "FAIL"
    trials[["sessions_completed", "task_hours[web]"]] = math.nan
    trials[["feasible", "pareto"]] = False
    trials["error"] = "RuntimeError: no capacity"
    write_parquet(trials, folder / "trials.parquet")
    render_tune(folder)  # warnings are errors in this suite
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "4 trials (0 finished, 0 met the constraints)" in markdown
    assert "4 trial(s) failed" in markdown
    assert markdown.count("RuntimeError: no capacity") == 4
    assert "No trial met every constraint" in markdown
