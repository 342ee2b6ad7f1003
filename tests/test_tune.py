"""Tests of ecssim.experiments.tune and ``ecssim tune``: the tune section, the
search, constraints, the Pareto front, the recommended scenario file, the
report, resuming a study, and the same search on any executor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from ecssim.cli import main
from ecssim.errors import ScenarioError
from ecssim.experiments.executors import SerialExecutor
from ecssim.experiments.tune import TuneResult, tune, write_tune
from ecssim.scenario.loading import load_scenario, parse_scenario

pytest.importorskip("optuna")

POLICY = "services[0].protection.policy"
EXPIRES = "services[0].protection.expires_in"

SCENARIO = """\
name: tiny-tune
seed: 3
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
scheduled:
  - {at: 40m, action: set_desired_count, service: worker, count: 1}
tune:
  parameters:
    services[0].protection.policy: {choices: [none, per_job, renewing]}
    services[0].protection.expires_in: {low: 5, high: 60, integer: true, unit: m}
  objectives: [{minimize: idle_protected_task_hours}, {minimize: task_hours}]
  constraints: ["job_interruptions <= 1.5"]
  trials: 6
  replications: 2
  batch: 3
"""


def _raw(text: str = SCENARIO) -> dict[str, Any]:
    raw = yaml.safe_load(text)
    assert isinstance(raw, dict)
    return raw


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tune")


@pytest.fixture(scope="module")
def result(folder: Path) -> TuneResult:
    return tune(_raw(), source="tiny-tune.yaml", out=folder)


def test_the_tune_section_is_validated() -> None:
    """Ranges need low below high, a parameter needs a range or choices, an
    objective one direction, a constraint OUTCOME OP NUMBER."""
    bad = {
        "parameters": {POLICY: {"low": 5, "high": 1}},
        "objectives": [{"minimize": "task_hours", "maximize": "task_hours"}],
        "constraints": ["job_interruptions is zero"],
    }
    with pytest.raises(ScenarioError) as info:
        parse_scenario({**_raw(), "tune": bad}, source="t.yaml")
    text = str(info.value)
    assert "low (5) must be below high (1)" in text
    assert "give one of minimize or maximize" in text
    good = {**_raw()["tune"], "constraints": ["job_interruptions is zero"]}
    with pytest.raises(ScenarioError) as info:
        parse_scenario({**_raw(), "tune": good}, source="t.yaml")
    assert str(info.value).startswith(
        "t.yaml: tune.constraints[0]: 'job_interruptions is zero' is not OUTCOME OP"
    )


def test_unknown_outcomes_and_bad_ranges_fail_before_any_run(tmp_path: Path) -> None:
    """An outcome that is not in the summary, and a range end that makes the
    scenario invalid, are named with their path; nothing is written."""
    raw = _raw()
    raw["tune"]["objectives"] = [{"minimize": "cost_dollars"}]
    raw["tune"]["parameters"][EXPIRES] = {"low": 5, "high": 3000, "unit": "m"}
    with pytest.raises(ScenarioError) as info:
        tune(raw, source="t.yaml", out=tmp_path / "t")
    text = str(info.value)
    assert "t.yaml: tune.objectives[0]: 'cost_dollars' is not an outcome" in text
    assert f"t.yaml: tune.parameters.{EXPIRES}: the value 3000.0" in text
    assert "3000 minutes is outside 1..2880 minutes" in text
    assert not (tmp_path / "t").exists()
    del raw["tune"]
    with pytest.raises(ScenarioError, match="has no tune section"):
        tune(raw, source="t.yaml", out=tmp_path / "t")


def test_trials_table_constraints_and_pareto_front(result: TuneResult) -> None:
    """Six trials, each with its settings as written into the scenario, the
    objective means, how far the constraint is broken, feasibility and the
    front; the recommendation is the front's best on the first objective."""
    trials = result.trials
    assert list(trials.columns) == [
        "trial",
        "state",
        POLICY,
        EXPIRES,
        "idle_protected_task_hours",
        "task_hours",
        "constraint_0",
        "feasible",
        "error",
        "pareto",
    ]
    assert list(trials["trial"]) == list(range(6))
    assert set(trials["state"]) == {"COMPLETE"}
    assert set(trials[POLICY]) <= {"none", "per_job", "renewing"}
    assert all(v.endswith("m") and 5 <= int(v[:-1]) <= 60 for v in trials[EXPIRES])
    assert list(trials["feasible"]) == list(trials["constraint_0"] <= 0)
    assert trials["pareto"].sum() == len(result.pareto) >= 1
    assert result.pareto["feasible"].all()
    assert result.recommended == int(result.pareto["trial"].iloc[0])
    assert result.objectives == ("idle_protected_task_hours", "task_hours")


def test_the_search_is_reproducible_and_the_same_on_any_executor(
    result: TuneResult, tmp_path: Path
) -> None:
    """The same seed gives the same trials; an executor passed in (here the
    serial one) changes nothing."""
    again = tune(
        _raw(), source="tiny-tune.yaml", out=tmp_path / "b", executor=SerialExecutor()
    )
    pd.testing.assert_frame_equal(again.trials, result.trials)


def test_write_tune_writes_tables_plot_scenario_and_report(
    result: TuneResult, folder: Path
) -> None:
    """The folder holds the study, the tables, the plot, a report in the run
    and sweep style, and recommended.yaml, which loads as a scenario with the
    recommended settings and no tune section."""
    report = write_tune(result, folder)
    assert {p.name for p in folder.iterdir()} == {
        "tune.journal",
        "tune.json",
        "trials.csv",
        "trials.parquet",
        "pareto.csv",
        "pareto.png",
        "recommended.yaml",
        "report.md",
        "report.html",
    }
    assert report == folder / "report.html"
    meta = json.loads((folder / "tune.json").read_text(encoding="utf-8"))
    assert (meta["results"], meta["recommended"]) == ("ecssim tune", result.recommended)
    recommended = load_scenario(folder / "recommended.yaml")
    row = result.trials.set_index("trial").loc[result.recommended]
    assert recommended.tune is None
    assert recommended.services[0].protection.policy == row[POLICY]
    assert (
        recommended.services[0].protection.expires_in_s == int(row[EXPIRES][:-1]) * 60
    )
    text = (folder / "recommended.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Recommended by ecssim tune")
    assert "meets: job_interruptions <= 1.5" in text
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    for heading in ("# ecssim tune: tiny-tune", "## Search space", "## Pareto front"):
        assert heading in markdown
    assert "6 trials (6 finished" in markdown
    assert "](pareto.png)" in markdown
    assert "## Modelling caveats" in markdown


def test_cli_tune_resumes_its_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ecssim tune`` twice on one folder: the second carries on from the
    study (--trials raises the goal) and keeps the first trials; --fresh starts
    again; no feasible trial exits 3 without recommended.yaml."""
    scenario = tmp_path / "t.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    args = ["tune", str(scenario), "--out", str(out), "--quiet"]
    assert main(args) == 0
    first = pd.read_parquet(out / "trials.parquet")
    assert main([*args, "--trials", "8"]) == 0
    printed = capsys.readouterr().out
    assert "tuned 'tiny-tune': 8 trial(s) (6 from the earlier study)" in printed
    second = pd.read_parquet(out / "trials.parquet")
    pd.testing.assert_frame_equal(
        second.iloc[:6].drop(columns="pareto"), first.drop(columns="pareto")
    )
    assert len(second) == 8
    assert f"recommended: trial {second[second['pareto']]['trial'].iloc[0]}" in printed

    strict = scenario.read_text(encoding="utf-8").replace("<= 1.5", "< -1")
    scenario.write_text(strict, encoding="utf-8")
    assert main([*args, "--trials", "2", "--fresh"]) == 3
    assert "no trial met the constraints" in capsys.readouterr().err
    assert len(pd.read_parquet(out / "trials.parquet")) == 2
    assert not (out / "recommended.yaml").exists()


def test_a_study_for_another_scenario_is_not_carried_on(tmp_path: Path) -> None:
    """Changing the scenario or the tune section (but trials) between two tunes
    on one folder is refused, naming --fresh, before any run."""
    out = tmp_path / "t"
    tune(_raw(), source="t.yaml", out=out, trials=1)
    more = _raw()
    more["tune"]["trials"] = 2
    assert len(tune(more, source="t.yaml", out=out).trials) == 2
    other = _raw(SCENARIO.replace("high: 60", "high: 90"))
    with pytest.raises(ScenarioError, match="start again with --fresh"):
        tune(other, source="t.yaml", out=out)
    assert len(tune(other, source="t.yaml", out=out, fresh=True, trials=1).trials) == 1


def test_a_folder_with_other_files_is_refused(tmp_path: Path) -> None:
    """A tune never writes into a folder holding files it did not write."""
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(OSError, match="holds files ecssim tune did not write"):
        tune(_raw(), source="t.yaml", out=tmp_path)


def test_a_trial_cut_short_is_run_again(tmp_path: Path) -> None:
    """A trial asked for but never told (the tune was killed) is run again with
    the same settings when the tune carries on, and is not counted twice."""
    import optuna

    out = tmp_path / "t"
    tune(_raw(), source="t.yaml", out=out, trials=3)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(out / "tune.journal"))
    )
    study = optuna.load_study(study_name="tiny-tune", storage=storage)
    study.enqueue_trial({POLICY: "none", EXPIRES: 7})
    cut = study.ask(
        {
            POLICY: optuna.distributions.CategoricalDistribution(
                ["none", "per_job", "renewing"]
            ),
            EXPIRES: optuna.distributions.IntDistribution(5, 60),
        }
    )
    assert (cut.number, cut.params[EXPIRES]) == (3, 7)
    carried = tune(_raw(), source="t.yaml", out=out, trials=4)
    assert carried.resumed == 3
    assert list(carried.trials["trial"]) == [0, 1, 2, 4]
    assert list(carried.trials.iloc[-1][[POLICY, EXPIRES]]) == ["none", "7m"]
    assert set(carried.trials["state"]) == {"COMPLETE"}
