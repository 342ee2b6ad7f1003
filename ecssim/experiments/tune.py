"""Policy search: which settings are best? ``ecssim tune`` over a scenario's ``tune:``.

A scenario's ``tune`` section names the parameters to search (dotted paths,
each a range or a list of choices), the objectives (summary outcomes to
minimise or maximise) and constraints such as ``job_interruptions == 0``::

    tune:
      parameters:
        services[0].protection.expires_in: {low: 5, high: 120, integer: true, unit: m}
        services[0].protection.release_hold: {choices: [0s, 1m, 5m]}
      objectives: [{minimize: idle_protected_task_hours}, {minimize: task_hours}]
      constraints: ["job_interruptions == 0"]
      trials: 24
      replications: 2

:func:`tune` asks Optuna (TPE, multi-objective when there are several
objectives, constraints honoured) for ``batch`` trials at a time, runs each
trial's replications on any executor (as sweeps do: serial, a process pool,
Dask), and tells Optuna the means. The study lives in ``tune.journal`` in the
output folder, so an interrupted tune, started again, carries on: trials
finished are kept and the ones that were running are run again.

:func:`write_tune` writes the trials, the Pareto front (table and plot), the
recommended settings as a ready scenario file (``recommended.yaml``) and a
report. The recommendation is the feasible trial on the Pareto front that is
best on the first objective (then the next ones, then the earliest).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from ecssim.errors import ScenarioError
from ecssim.experiments.executors import open_executor, run_tasks
from ecssim.experiments.store import OK, RunOutcome, run_outcome
from ecssim.reports.folders import ResultsFolderError, write_json, write_parquet
from ecssim.reports.tune_report import STUDY_FILE, TUNE_MARKER, render_tune
from ecssim.results.metrics import SUMMARY_COLUMNS
from ecssim.scenario.loading import parse_scenario, resolve_paths, with_overrides
from ecssim.scenario.schema import Scenario, Tune, TuneParameter
from ecssim.scenario.writing import scenario_yaml
from ecssim.version import __version__

#: Every file a tune writes into its folder.
TUNE_FILES: Final = frozenset(
    {
        STUDY_FILE,
        "tune.json",
        "trials.csv",
        "trials.parquet",
        "pareto.csv",
        "pareto.png",
        "recommended.yaml",
        "report.md",
        "report.html",
    }
)


@dataclass(frozen=True)
class TuneResult:
    """What a tune found.

    Attributes:
        scenario: the scenario as written.
        parameters: the searched dotted paths (also columns of ``trials``).
        objectives: the objective columns of ``trials``, in the written order.
        trials: one row per finished trial: ``trial``, ``state``, the values
            written into the scenario, the objectives, one ``constraint_<i>``
            column per constraint (how far it is broken; 0 or less is met),
            ``feasible``, ``pareto`` and ``error``.
        pareto: the feasible trials on the Pareto front, best first.
        recommended: the recommended trial's number (None: no feasible trial).
        recommended_scenario: the scenario with its settings, as plain data.
        resumed: trials that were already finished in the study when it started.
    """

    scenario: Scenario
    parameters: tuple[str, ...]
    objectives: tuple[str, ...]
    trials: pd.DataFrame
    pareto: pd.DataFrame
    recommended: int | None
    recommended_scenario: dict[str, Any] | None
    resumed: int


def _optuna() -> Any:
    """Optuna, imported when a tune starts (it is slow to import), quietened."""
    optuna = importlib.import_module("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def scenario_value(parameter: TuneParameter, value: Any) -> Any:
    """*value* as it is written into the scenario (with ``unit`` appended)."""
    if parameter.unit is None or parameter.choices is not None:
        return value
    number = int(value) if parameter.integer else float(value)
    return f"{number:g}{parameter.unit}"


def objective_columns(spec: Tune) -> tuple[str, ...]:
    """The column name of each objective: the outcome, ``[service]`` when given."""
    return tuple(
        o.outcome if o.service is None else f"{o.outcome}[{o.service}]"
        for o in spec.objectives
    )


def _check(base: Scenario, raw: Mapping[str, Any], source: str) -> Tune:
    spec = base.tune
    if spec is None:
        raise ScenarioError(
            f"{source}: has no tune section; add tune.parameters, tune.objectives "
            "(and tune.constraints) to search for the best settings"
        )
    problems = []
    services = [s.name for s in base.services]
    for index, objective in enumerate(spec.objectives):
        if objective.outcome not in SUMMARY_COLUMNS or objective.outcome == "service":
            problems.append(
                f"tune.objectives[{index}]: {objective.outcome!r} is not an outcome "
                "of the summary (see ecssim.results.metrics.SUMMARY_COLUMNS)"
            )
        if objective.service is not None and objective.service not in services:
            problems.append(
                f"tune.objectives[{index}].service: {objective.service!r} is not "
                f"one of {services}"
            )
    for index, text in enumerate(spec.constraints):
        outcome, _, _ = Tune.parse_constraint(text)
        if outcome not in SUMMARY_COLUMNS or outcome == "service":
            problems.append(
                f"tune.constraints[{index}]: {outcome!r} is not an outcome of the summary"
            )
    for path, parameter in spec.parameters.items():
        if parameter.choices is not None:
            problems.extend(
                f"tune.parameters.{path}.choices: {value!r} is not a plain "
                "value (text, number, true/false or null)"
                for value in parameter.choices
                if not (value is None or isinstance(value, str | int | float | bool))
            )
            ends = list(parameter.choices)
        else:
            ends = list(_bounds(parameter))
        for value in ends:
            try:
                _trial_scenario(raw, {path: scenario_value(parameter, value)}, source)
            except ScenarioError as exc:
                problems.append(
                    f"tune.parameters.{path}: the value {value!r} does not give a "
                    f"valid scenario: {exc}"
                )
    if problems:
        raise ScenarioError("\n".join(f"{source}: {p}" for p in problems))
    return spec


def _trial_scenario(
    raw: Mapping[str, Any], settings: Mapping[str, Any], source: str
) -> Scenario:
    data = with_overrides(raw, settings, what="tune parameter")
    data.pop("sweep", None)
    data.pop("tune", None)
    return parse_scenario(data, source=f"{source} [tune]")


def _distributions(spec: Tune) -> dict[str, Any]:
    dist = _optuna().distributions
    out: dict[str, Any] = {}
    for path, p in spec.parameters.items():
        if p.choices is not None:
            out[path] = dist.CategoricalDistribution(list(p.choices))
        elif p.integer:
            low, high = _bounds(p)
            step = 1 if p.step is None else max(1, int(p.step))
            out[path] = dist.IntDistribution(
                math.ceil(low), math.floor(high), log=p.log, step=step
            )
        else:
            low, high = _bounds(p)
            out[path] = dist.FloatDistribution(low, high, log=p.log, step=p.step)
    return out


def _bounds(parameter: TuneParameter) -> tuple[float, float]:
    if parameter.low is None or parameter.high is None:  # the schema checked
        raise ValueError("a range needs low and high")
    return parameter.low, parameter.high


def _violations(spec: Tune, means: Mapping[str, float]) -> list[float]:
    """How far each constraint is broken (0 or less: met)."""
    out = []
    for text in spec.constraints:
        outcome, op, bound = Tune.parse_constraint(text)
        value = means[outcome]
        if op in ("<=", "<"):
            out.append(value - bound)
        elif op in (">=", ">"):
            out.append(bound - value)
        else:
            out.append(abs(value - bound))
    return out


def _run_value(summary: pd.DataFrame, outcome: str, service: str | None) -> float:
    rows = summary if service is None else summary[summary["service"] == service]
    values = pd.to_numeric(rows[outcome], errors="coerce")
    if values.isna().all():
        return math.nan
    return float(values.sum())


def _trial_means(spec: Tune, summaries: Sequence[pd.DataFrame]) -> dict[str, float]:
    """Objective and constraint outcomes: per run over services, mean over runs."""
    wanted: dict[str, tuple[str, str | None]] = {}
    for column, objective in zip(objective_columns(spec), spec.objectives, strict=True):
        wanted[column] = (objective.outcome, objective.service)
    for text in spec.constraints:
        outcome, _, _ = Tune.parse_constraint(text)
        wanted.setdefault(outcome, (outcome, None))
    return {
        column: float(
            pd.Series(
                [_run_value(s, outcome, service) for s in summaries], dtype=float
            ).mean()
        )
        for column, (outcome, service) in wanted.items()
    }


def tune(
    raw_scenario: Mapping[str, Any],
    *,
    source: str,
    out: str | Path,
    workers: int = 1,
    executor: Executor | str | None = None,
    scheduler: str | None = None,
    trials: int | None = None,
    fresh: bool = False,
    progress: bool = False,
    folder: str | Path | None = None,
) -> TuneResult:
    """Search *raw_scenario*'s ``tune`` section; the study is kept in *out*.

    Args:
        raw_scenario: the scenario as plain data.
        source: names the scenario in error messages (usually its file).
        out: the tune's folder; its ``tune.journal`` is the Optuna study, so
            calling again with the same folder carries on where it stopped.
        workers: processes for ``processes`` and a local Dask cluster.
        executor: where runs happen, as for :func:`ecssim.sweep`.
        scheduler: a Dask scheduler's address for ``executor="dask"``.
        trials: finished trials to reach (default the section's ``trials``).
        fresh: forget the study in *out* and start again.
        progress: show a progress bar over runs on stderr (when it is a TTY).
        folder: resolve relative trace paths against this folder.

    Raises:
        ScenarioError: no tune section, an unknown outcome, or a parameter
            whose range gives an invalid scenario; nothing has run yet.
        ResultsFolderError: *out* holds something that is not a tune's.
    """
    base = parse_scenario(raw_scenario, source=source)
    spec = _check(base, raw_scenario, source)
    target = check_tune_folder(out)
    optuna = _optuna()
    target.mkdir(parents=True, exist_ok=True)
    journal = target / STUDY_FILE
    if fresh and journal.exists():
        journal.unlink()
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    directions = [o.direction for o in spec.objectives]
    study = optuna.create_study(
        study_name=base.name,
        storage=storage,
        directions=directions,
        load_if_exists=True,
    )
    with warnings.catch_warnings():  # multivariate TPE is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # a resumed study draws on from a seed of its own, not the first trials again
        study.sampler = optuna.samplers.TPESampler(
            seed=spec.seed + len(study.trials),
            multivariate=len(spec.parameters) > 1,
        )
    made_for = _study_key(base)
    if study.user_attrs.get("scenario") is None and not study.trials:
        study.set_user_attr("scenario", made_for)
    if (
        study.user_attrs.get("scenario") != made_for
        or [d.name.lower() for d in study.directions] != directions
    ):
        raise ScenarioError(
            f"{source}: the study in {journal} was made for another scenario or "
            "tune section; start again with --fresh (fresh=True), or use another "
            "output folder"
        )
    distributions = _distributions(spec)
    state = optuna.trial.TrialState
    resumed = _finished(study)
    goal = spec.trials if trials is None else trials
    base_raw = dict(raw_scenario)

    def settings_of(params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            path: scenario_value(spec.parameters[path], params[path])
            for path in spec.parameters
        }

    def evaluate(batch: list[Any], pool: Executor) -> None:
        """Run the trials of *batch* (Optuna trials) and tell Optuna each result."""
        tasks: list[tuple[Scenario, int]] = []
        owners: list[int] = []
        errors: dict[int, str] = {}
        for position, trial in enumerate(batch):
            try:
                scenario = _trial_scenario(base_raw, settings_of(trial.params), source)
            except ScenarioError as exc:
                errors[position] = str(exc)
                continue
            if folder is not None:
                scenario = resolve_paths(scenario, Path(folder))
            for replication in range(spec.replications):
                tasks.append((scenario, scenario.seed + replication))
                owners.append(position)
        outcomes: dict[int, RunOutcome] = {}
        run_tasks(
            run_outcome,
            tasks,
            pool,
            on_result=outcomes.__setitem__,
            progress=progress,
            description=f"tune {base.name}",
        )
        for position, trial in enumerate(batch):
            mine = [outcomes[i] for i, o in enumerate(owners) if o == position]
            failed = [o for o in mine if o.status != OK]
            if position not in errors and failed:
                errors[position] = failed[0].error
            if position not in errors:
                summaries = [o.summary for o in mine if o.summary is not None]
                means = _trial_means(spec, summaries)
                trial.set_user_attr("means", means)
                violations = _violations(spec, means)
                trial.set_user_attr("constraints", violations)
                for index, violation in enumerate(violations):
                    trial.set_constraint(f"constraint_{index}", violation)
                values = [means[c] for c in objective_columns(spec)]
                if not any(math.isnan(v) for v in values):
                    study.tell(trial, values)
                    continue
                errors[position] = "an objective had nothing to measure (NaN)"
            trial.set_user_attr("error", errors[position])
            study.tell(trial, state=state.FAIL)

    context: AbstractContextManager[Executor]
    if isinstance(executor, Executor):
        context = nullcontext(executor)
    else:
        kind = executor or ("processes" if workers > 1 else "serial")
        context = open_executor(kind, workers=workers, scheduler=scheduler)
    with context as pool:
        # trials asked for but not told when a tune was interrupted: run again
        for stale in study.get_trials(deepcopy=False, states=(state.RUNNING,)):
            study.tell(stale.number, state=state.FAIL)
            study.enqueue_trial(dict(stale.params), skip_if_exists=False)
        while True:
            done = _finished(study)
            if done >= goal:
                break
            asked = [
                study.ask(distributions) for _ in range(min(spec.batch, goal - done))
            ]
            evaluate(asked, pool)
    return _result(
        base,
        spec,
        study=study,
        resumed=resumed,
        settings_of=settings_of,
        raw=base_raw,
    )


def _study_key(base: Scenario) -> str:
    """A digest of everything that makes trials comparable (all but tune.trials)."""
    data = base.model_dump(mode="json", by_alias=True)
    data["tune"].pop("trials", None)
    text = json.dumps(data, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _finished(study: Any) -> int:
    """Trials told: complete, or failed with an error (not cut short)."""
    return len(_told(study))


def _told(study: Any) -> list[Any]:
    state = _optuna().trial.TrialState
    return [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state == state.COMPLETE
        or (t.state == state.FAIL and "error" in t.user_attrs)
    ]


def _dominates(a: Sequence[float], b: Sequence[float], signs: Sequence[int]) -> bool:
    better = False
    for x, y, sign in zip(a, b, signs, strict=True):
        if sign * x > sign * y:
            return False
        if sign * x < sign * y:
            better = True
    return better


def _result(
    base: Scenario,
    spec: Tune,
    *,
    study: Any,
    resumed: int,
    settings_of: Callable[[Mapping[str, Any]], dict[str, Any]],
    raw: Mapping[str, Any],
) -> TuneResult:
    optuna = _optuna()
    state = optuna.trial.TrialState
    columns = objective_columns(spec)
    signs = [1 if o.direction == "minimize" else -1 for o in spec.objectives]
    rows = []
    for trial in _told(study):
        row: dict[str, Any] = {"trial": trial.number, "state": trial.state.name}
        settings = settings_of(trial.params) if trial.params else {}
        for path in spec.parameters:
            row[path] = settings.get(path)
        means = trial.user_attrs.get("means", {})
        for column in columns:
            row[column] = means.get(column, math.nan)
        violations = list(trial.user_attrs.get("constraints", []))
        for index in range(len(spec.constraints)):
            row[f"constraint_{index}"] = (
                violations[index] if index < len(violations) else math.nan
            )
        complete = trial.state == state.COMPLETE
        row["feasible"] = complete and all(v <= 0 for v in violations)
        row["error"] = trial.user_attrs.get("error")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(
            columns=[
                "trial",
                "state",
                *spec.parameters,
                *columns,
                *(f"constraint_{i}" for i in range(len(spec.constraints))),
                "feasible",
                "error",
            ]
        )
    for path in spec.parameters:  # one type per column, as sweeps do
        kinds = {type(v) for v in frame[path] if v is not None}
        if not (kinds <= {int, float} or len(kinds) <= 1):
            frame[path] = [None if v is None else str(v) for v in frame[path]]
    feasible = frame[frame["feasible"].astype(bool)]
    points = {
        int(r["trial"]): [float(r[c]) for c in columns] for _, r in feasible.iterrows()
    }
    front = {
        n
        for n, p in points.items()
        if not any(_dominates(q, p, signs) for m, q in points.items() if m != n)
    }
    frame["pareto"] = [int(n) in front for n in frame["trial"]]
    order = sorted(
        front,
        key=lambda n: (*(s * v for s, v in zip(signs, points[n], strict=True)), n),
    )
    pareto = (
        frame.set_index("trial").loc[order].reset_index()
        if order
        else frame.iloc[0:0].copy()
    )
    recommended = order[0] if order else None
    recommended_scenario = None
    if recommended is not None:
        chosen = study.trials[recommended]
        data = with_overrides(raw, settings_of(chosen.params), what="tune parameter")
        data.pop("sweep", None)
        data.pop("tune", None)
        recommended_scenario = data
    return TuneResult(
        scenario=base,
        parameters=tuple(spec.parameters),
        objectives=columns,
        trials=frame.reset_index(drop=True),
        pareto=pareto,
        recommended=recommended,
        recommended_scenario=recommended_scenario,
        resumed=resumed,
    )


# ---- the folder ----------------------------------------------------------------------
def check_tune_folder(out: str | Path) -> Path:
    """*out* as a Path, if a tune may be kept there.

    It may when it does not exist, is empty, or holds only a tune's files.

    Raises:
        ResultsFolderError: *out* is a file, or holds files a tune does not write.
    """
    target = Path(out)
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise ResultsFolderError(
                f"{target}: exists and is not a folder; choose another output folder"
            )
        foreign = sorted(
            p.name
            for p in target.iterdir()
            if p.name not in TUNE_FILES and not p.name.startswith(".")
        )
        if foreign:
            raise ResultsFolderError(
                f"{target}: holds files ecssim tune did not write "
                f"({', '.join(foreign[:5])}); choose another output folder"
            )
    return target


def _replace(path: Path, write: Callable[[Path], Any]) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    write(temporary)
    os.replace(temporary, path)


def write_tune(result: TuneResult, out: str | Path) -> Path:
    """Write *result* into the tune's folder *out* and return the report's path.

    Writes ``trials.parquet`` / ``trials.csv``, ``pareto.csv``, ``pareto.png``,
    ``recommended.yaml`` (when a trial met the constraints; else it is
    removed), ``tune.json`` and ``report.md`` / ``report.html``; each file is
    replaced whole.
    """
    folder = check_tune_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    spec = result.scenario.tune
    assert spec is not None
    _replace(folder / "trials.parquet", lambda p: write_parquet(result.trials, p))
    _replace(
        folder / "trials.csv",
        lambda p: p.write_text(
            result.trials.to_csv(index=False, lineterminator="\n"), encoding="utf-8"
        ),
    )
    _replace(
        folder / "pareto.csv",
        lambda p: p.write_text(
            result.pareto.to_csv(index=False, lineterminator="\n"), encoding="utf-8"
        ),
    )
    recommended_file = folder / "recommended.yaml"
    if result.recommended_scenario is not None:
        row = result.trials[result.trials["trial"] == result.recommended].iloc[0]
        comment = (
            f"Recommended by ecssim tune ({__version__}) for {result.scenario.name!r}: "
            f"trial {result.recommended}, the mean of {spec.replications} "
            "replication(s):\n"
            + "\n".join(f"  {c} = {row[c]:g}" for c in result.objectives)
            + "".join(f"\nmeets: {c}" for c in spec.constraints)
        )
        text = scenario_yaml(result.recommended_scenario, comment=comment)
        _replace(recommended_file, lambda p: p.write_text(text, encoding="utf-8"))
    elif recommended_file.exists():
        recommended_file.unlink()
    _replace(
        folder / "tune.json",
        lambda p: write_json(
            {
                "results": TUNE_MARKER,
                "ecssim_version": __version__,
                "scenario": result.scenario.name,
                "description": result.scenario.description,
                "scenario_seed": result.scenario.seed,
                "parameters": {
                    k: v.model_dump(exclude_none=True)
                    for k, v in spec.parameters.items()
                },
                "objectives": list(result.objectives),
                "directions": [o.direction for o in spec.objectives],
                "constraints": list(spec.constraints),
                "replications": spec.replications,
                "seed": spec.seed,
                "trials": len(result.trials),
                "recommended": result.recommended,
            },
            p,
        ),
    )
    return render_tune(folder)


def forget(out: str | Path) -> None:
    """Remove a tune's folder *out* (its study included)."""
    shutil.rmtree(check_tune_folder(out), ignore_errors=True)
