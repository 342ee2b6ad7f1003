"""Sweeps: a scenario run over a grid of parameter values, several times each.

A scenario's ``sweep`` section names dotted paths and the values to try::

    sweep:
      parameters: {"services[0].protection.policy": [none, per_job, renewing]}
      replications: 3

:func:`sweep` runs every point of the grid (the cartesian product of the
values, in the order written) ``replications`` times with seeds
``seed + replication``, so every grid point sees the same random streams
(common random numbers). Every point is validated before the first run
starts. Runs go to a process pool when ``workers > 1``; the result is the same
rows in the same order whatever the number of workers.

The result holds three tables: ``runs`` (one row per run and service:
``point``, the parameter columns, ``replication``, ``seed`` and every summary
column), ``means`` (one row per grid point and service: the mean of each
outcome in a column of its name and the half-width of its 95 % confidence
interval, from Student's t, in ``<outcome>_ci95``) and ``differences`` (one
row per grid point other than the ``baseline`` and service: the mean paired
difference point - baseline over replications with the same seed, and its
half-width). Since replications share seeds, the paired differences show
effects the means' wide intervals hide. ``replications: auto`` adds
replications round by round until the target outcomes are precise enough.
:func:`write_sweep` writes the tables with a trade-off plot and a report.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from ecssim.errors import ScenarioError
from ecssim.experiments.executors import open_executor
from ecssim.experiments.store import (
    OK,
    RunKey,
    RunStore,
    keep_runs,
    partition_value,
    run_sweep_tasks,
)
from ecssim.model.build import run
from ecssim.reports.compare import point_labels
from ecssim.reports.document import (
    Block,
    BulletList,
    FigureRef,
    Heading,
    Paragraph,
    Table,
    caveat_blocks,
    to_html,
    to_markdown,
)
from ecssim.reports.folders import (
    SWEEP_MARKER,
    ResultsFolderError,
    read_parquet,
    results_kind,
    staged_folder,
    write_json,
    write_parquet,
)
from ecssim.reports.run_report import format_value
from ecssim.results.metrics import SUMMARY_COLUMNS
from ecssim.results.stats import (
    compare_sides,
    excludes_zero,
    interval_table,
    outcome_columns,
    paired_differences,
    too_wide,
)
from ecssim.scenario.loading import parse_scenario, with_overrides
from ecssim.scenario.schema import Scenario
from ecssim.version import __version__

#: Replications of every point before ``replications: auto`` looks at the intervals.
AUTO_START: Final = 3
#: Outcomes of the report's table of means by topic; a topic is shown when the
#: sweep has data for it (see :func:`report_columns`).
REPORT_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "jobs": ("job_interruptions", "lost_work_hours", "queue_wait_p95_s"),
    "sessions": ("sessions_interrupted", "sessions_dropped"),
    "capacity": (
        "task_hours",
        "idle_protected_task_hours",
        "protected_surplus_task_hours",
        "blocked_hours",
    ),
    "deployments": ("deployment_duration_max_s",),
    "protection": ("protection_expired_while_busy",),
}
_TOPIC_GATES: Final = {
    "jobs": "jobs_arrived",
    "sessions": "sessions_arrived",
    "deployments": "deployments_started",
}


@dataclass(frozen=True)
class SweepResult:
    """What a sweep produced.

    Attributes:
        scenario: the scenario as written (before any sweep value is applied).
        parameters: the swept dotted paths, which are also column names.
        replications: runs per grid point (as many as ``replications: auto`` chose).
        runs: one row per run and service.
        means: one row per grid point and service, means and 95 % CI half-widths.
        baseline: the grid point (``point`` number) the others are compared with.
        differences: one row per other grid point and service: the mean paired
            difference (point - baseline, run by run with the same seed) of
            every outcome and its 95 % CI half-width (``<outcome>_ci95``).
    """

    scenario: Scenario
    parameters: tuple[str, ...]
    replications: int
    runs: pd.DataFrame
    means: pd.DataFrame
    baseline: int = 0
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    failed: int = 0
    skipped: int = 0

    def compare(
        self, *others: SweepResult, labels: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Every outcome of this sweep beside *others*', grid point by grid point.

        Points are matched by their parameter values (``point`` holds them as
        ``path=value, ...``); differences are (other - this), paired by seed
        where the seeds match. The table is
        :func:`ecssim.results.stats.compare_sides`'.

        Raises:
            ValueError: no other sweep, or *labels* of the wrong length.
        """
        results = (self, *others)
        names = (
            list(labels)
            if labels is not None
            else [f"{i + 1}: {r.scenario.name}" for i, r in enumerate(results)]
        )
        if len(names) != len(results):
            raise ValueError(f"labels: {len(names)} given for {len(results)} sweeps")
        sides = []
        for name, result in zip(names, results, strict=True):
            runs = result.runs.copy()
            runs["point"] = point_labels(runs, result.parameters)
            sides.append((name, runs.drop(columns=list(result.parameters))))
        return compare_sides(sides)


def grid(parameters: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the values, the first parameter varying slowest."""
    names = list(parameters)
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*(parameters[n] for n in names))
    ]


def _describe_point(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


def grid_scenarios(
    raw_scenario: Mapping[str, Any],
    *,
    source: str = "<scenario>",
    folder: str | Path | None = None,
) -> tuple[Scenario, list[dict[str, Any]], list[Scenario]]:
    """The scenario, its grid points and one validated scenario per point.

    Raises:
        ScenarioError: the scenario is invalid, has no sweep, or some grid
            points are invalid (each named by its parameters and values).
    """
    base = parse_scenario(raw_scenario, source=source, folder=folder)
    if base.sweep is None:
        raise ScenarioError(
            f"{source}: has no sweep section; add sweep.parameters "
            "(dotted path: list of values) to run a sweep"
        )
    for name, values in base.sweep.parameters.items():
        if not values:
            raise ScenarioError(f"{source}: sweep.parameters.{name}: has no values")
    grid_points = grid(base.sweep.parameters)
    scenarios: list[Scenario] = []
    # each problem once, with the first grid point that shows it
    errors: dict[str, str] = {}
    for point in grid_points:
        label = f"{source} [sweep point {_describe_point(point)}]"
        try:
            raw = with_overrides(raw_scenario, point, what="sweep parameter")
            raw.pop("sweep", None)
            scenario = parse_scenario(raw, source=label, folder=folder)
        except ScenarioError as exc:
            for line in str(exc).splitlines():
                problem = line.removeprefix(label).lstrip(": ")
                errors.setdefault(problem, f"{label}: {problem}")
            continue
        scenarios.append(scenario)
    if errors:
        raise ScenarioError("\n".join(errors.values()))
    return base, grid_points, scenarios


def _column_values(values: Sequence[Any]) -> list[Any]:
    """Sweep values as one column: kept when they share a scalar type, else text."""
    present = [v for v in values if v is not None]
    kinds = {type(v) for v in present}
    if kinds <= {int, float} or (len(kinds) <= 1 and kinds <= {str, bool}):
        return list(values)
    return [
        v if isinstance(v, str) or v is None else json.dumps(v, sort_keys=True)
        for v in values
    ]


def run_summary(task: tuple[Scenario, int]) -> pd.DataFrame:
    """The summary frame of one run (the process pool's worker function)."""
    scenario, seed = task
    return run(scenario, seed=seed).summary


def sweep(
    raw_scenario: Mapping[str, Any] | Scenario,
    *,
    source: str | None = None,
    workers: int = 1,
    progress: bool = False,
    folder: str | Path | None = None,
    executor: Executor | str | None = None,
    scheduler: str | None = None,
    store: str | Path | None = None,
    fresh: bool = False,
    keep_frames: bool = False,
) -> SweepResult:
    """Run every grid point of *raw_scenario*'s sweep ``replications`` times.

    Args:
        raw_scenario: a :class:`~ecssim.Scenario` with a ``sweep`` (what
            :func:`ecssim.load_scenario` returns), or the scenario as plain
            data (what the YAML file holds).
        source: names the scenario in error messages (usually its file;
            ``<name>`` when not given).
        workers: processes to run on; 1 runs in this process.
        progress: show a progress bar over runs on stderr (when it is a TTY).
        folder: resolve relative trace paths against this folder.
        executor: where runs happen: any ``concurrent.futures.Executor``
            (Dask's ``client.get_executor()`` included), or ``"serial"``,
            ``"processes"``, ``"dask"`` (see ``experiments.executors``);
            default a process pool when *workers* > 1.
        scheduler: a Dask scheduler's address for ``executor="dask"``.
        store: a sweep folder to keep every run in as it finishes
            (``runs/``); runs already there are read back, not run again.
        fresh: forget the runs already in *store*.
        keep_frames: keep every run's tables in *store* as one Parquet dataset per
            table, partitioned by the swept parameters (``frames/``).

    A run that raises becomes rows with ``status`` ``failed`` (its error in
    *store*) and the sweep goes on; ``failed`` and ``skipped`` count them.

    Raises:
        ScenarioError: the scenario or a grid point is invalid; nothing has
            run yet.
        ValueError: *workers* is below 1.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if isinstance(raw_scenario, Scenario):
        label = source or f"<{raw_scenario.name}>"
        raw_scenario = raw_scenario.model_dump(mode="json", by_alias=True)
    else:
        label = source or f"<{raw_scenario.get('name', 'scenario')}>"
    base, points, scenarios = grid_scenarios(raw_scenario, source=label, folder=folder)
    assert base.sweep is not None  # grid_scenarios() checked
    settings = base.sweep
    parameters = tuple(settings.parameters)
    baseline = points.index(settings.baseline_point())
    summaries: dict[tuple[int, int], pd.DataFrame] = {}

    run_store = None if store is None else RunStore(store, fresh=fresh)
    counts = {"failed": 0, "skipped": 0}

    def more(replications: range) -> None:
        keys = [(p, r) for p in range(len(scenarios)) for r in replications]
        tasks = [(scenarios[p], scenarios[p].seed + r) for p, r in keys]
        ran = run_sweep_tasks(
            tasks,
            [
                RunKey(p, r, seed, _partition(points[p]))
                for (p, r), (_, seed) in zip(keys, tasks, strict=True)
            ],
            executor=executor,
            workers=workers,
            scheduler=scheduler,
            store=run_store,
            progress=progress,
            description=f"sweep {base.name}",
            frames=keep_frames,
        )
        counts["failed"] += ran.failed
        counts["skipped"] += ran.skipped
        summaries.update(zip(keys, ran.summaries, strict=True))

    with ExitStack() as stack:
        kind = executor or ("processes" if workers > 1 else "serial")
        if (
            settings.replications == "auto"
            and isinstance(kind, str)
            and kind != "serial"
        ):
            # one pool for every round: its workers import ecssim once, not per round
            executor = stack.enter_context(
                open_executor(kind, workers=workers, scheduler=scheduler)
            )
        if settings.replications == "auto":
            done = min(AUTO_START, settings.max_replications)
            more(range(done))
            while done < settings.max_replications and not precise_enough(
                means_of(_runs_frame(base, scenarios, summaries, done), parameters),
                settings.target_outcomes,
                settings.relative_half_width,
            ):
                more(range(done, done + 1))
                done += 1
            replications = done
        else:
            replications = settings.replications
            more(range(replications))
    runs = _runs_frame(base, scenarios, summaries, replications)
    ok = runs[runs["status"] == OK]
    return SweepResult(
        scenario=base,
        parameters=parameters,
        replications=replications,
        runs=runs,
        means=means_of(ok, parameters),
        baseline=baseline,
        differences=differences_of(ok, parameters, baseline),
        failed=counts["failed"],
        skipped=counts["skipped"],
    )


def _partition(point: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, partition_value(v)) for k, v in point.items())


def _runs_frame(
    base: Scenario,
    scenarios: Sequence[Scenario],
    summaries: Mapping[tuple[int, int], pd.DataFrame],
    replications: int,
) -> pd.DataFrame:
    """One row per run and service, points in grid order, replications in order."""
    assert base.sweep is not None
    parameters = tuple(base.sweep.parameters)
    columns = {name: _column_values(base.sweep.parameters[name]) for name in parameters}
    indexes = list(
        itertools.product(*(range(len(columns[name])) for name in parameters))
    )
    frames = []
    for point in range(len(scenarios)):
        for replication in range(replications):
            head: dict[str, Any] = {"point": point}
            for name, value_index in zip(parameters, indexes[point], strict=True):
                head[name] = columns[name][value_index]
            head["replication"] = replication
            head["seed"] = scenarios[point].seed + replication
            frame = summaries[(point, replication)].copy()
            for position, (name, value) in enumerate(head.items()):
                frame.insert(position, name, [value] * len(frame))
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def precise_enough(
    means: pd.DataFrame, outcomes: Sequence[str], relative_half_width: float
) -> bool:
    """Whether every 95 % half-width of *outcomes* is within *relative_half_width*
    of its mean, at every grid point and service (an outcome that is always
    the same, or never measured, is precise)."""
    for outcome in outcomes:
        if outcome not in means.columns:
            raise ScenarioError(
                f"sweep.target_outcomes: {outcome!r} is not an outcome "
                f"(see ecssim.results.metrics.SUMMARY_COLUMNS)"
            )
        for mean, half in zip(means[outcome], means[f"{outcome}_ci95"], strict=True):
            if math.isnan(mean) or half == 0:
                continue
            if math.isnan(half) or half > relative_half_width * abs(mean):
                return False
    return True


def means_of(runs: pd.DataFrame, parameters: Sequence[str]) -> pd.DataFrame:
    """Mean and 95 % CI half-width of every numeric outcome per grid point and service.

    Runs whose value is NaN (nothing to measure) are left out of that outcome's
    mean; with fewer than two values the half-width is NaN.
    """
    outcomes = outcome_columns(runs, parameters)
    out = interval_table(runs, ["point", "service"], outcomes)
    settings = runs.drop_duplicates("point")[["point", *parameters]]
    out = settings.merge(out, on="point", how="right", sort=False)
    return out.reset_index(drop=True)


def differences_of(
    runs: pd.DataFrame, parameters: Sequence[str], baseline: int
) -> pd.DataFrame:
    """Paired differences (point - *baseline*, run by run with the same seed and
    service) of every outcome at every other grid point, with 95 % half-widths."""
    outcomes = outcome_columns(runs, parameters)
    others = runs[runs["point"] != baseline]
    if others.empty:
        return pd.DataFrame(columns=["point", *parameters, "service", "pairs"])
    table = paired_differences(others, runs[runs["point"] == baseline], outcomes)
    settings = runs.drop_duplicates("point")[["point", *parameters]]
    table = settings.merge(table, on="point", how="right", sort=False)
    return table.reset_index(drop=True)


# ---- writing -------------------------------------------------------------------------
def write_sweep(
    result: SweepResult, out_dir: str | Path, *, force: bool = False
) -> Path:
    """Write *result* as a sweep folder and return its path.

    The folder holds ``runs.parquet``, ``means.parquet``, ``means.csv``,
    ``sweep.json`` (what was swept), ``scenario.json``, ``tradeoff.png`` and
    ``report.md`` / ``report.html``, and the ``runs/`` folder *out_dir* had.
    An earlier sweep's folder there is replaced (its finished runs kept); a
    run's folder only with *force*.

    Raises:
        ResultsFolderError: *out_dir* is a file, a non-empty folder that is
            not an ecssim results folder, or (without *force*) a run's folder;
            or the disk refused a write (the message names *out_dir*).
    """
    base = result.scenario
    assert base.sweep is not None
    target = Path(out_dir)
    with staged_folder(target, kind=SWEEP_MARKER, force=force) as staging:
        write_parquet(result.runs, staging / "runs.parquet")
        write_parquet(result.means, staging / "means.parquet")
        (staging / "means.csv").write_text(
            result.means.to_csv(index=False, lineterminator="\n"), encoding="utf-8"
        )
        write_parquet(result.differences, staging / "differences.parquet")
        (staging / "differences.csv").write_text(
            result.differences.to_csv(index=False, lineterminator="\n"),
            encoding="utf-8",
        )
        write_json(
            {
                "results": SWEEP_MARKER,
                "ecssim_version": __version__,
                "scenario": base.name,
                "description": base.description,
                "seed": base.seed,
                "parameters": {k: list(v) for k, v in base.sweep.parameters.items()},
                "replications": result.replications,
                "replications_setting": base.sweep.replications,
                "baseline": base.sweep.baseline_point(),
                "baseline_point": result.baseline,
                "grid_points": int(result.runs["point"].nunique()),
                "runs": len(result.runs[["point", "replication"]].drop_duplicates()),
                "columns": dict(SUMMARY_COLUMNS),
            },
            staging / "sweep.json",
        )
        write_json(
            base.model_dump(mode="json", by_alias=True), staging / "scenario.json"
        )
        _render_sweep(staging)
        keep_runs(target, staging)
    return target


def render_sweep(out_dir: str | Path) -> Path:
    """Redraw the trade-off plot and rewrite the report of the sweep folder *out_dir*.

    Returns:
        The path of ``report.html``.

    Raises:
        ResultsFolderError: *out_dir* is not an ecssim sweep folder.
    """
    folder = Path(out_dir)
    if results_kind(folder) != SWEEP_MARKER:
        raise ResultsFolderError(f"{folder}: not an ecssim sweep results folder")
    return _render_sweep(folder)


def _axes_for(means: pd.DataFrame) -> tuple[str, str]:
    def total(column: str) -> float:
        if column not in means.columns:
            return 0.0
        return float(means[column].fillna(0).sum())

    y = "job_interruptions"
    if total("jobs_arrived") == 0 and total("sessions_arrived") > 0:
        y = "sessions_interrupted"
    return "task_hours", y


def _render_sweep(folder: Path) -> Path:
    # matplotlib only when drawing: sweep workers never draw
    from ecssim.reports.plotting import save_png, tradeoff  # noqa: PLC0415

    meta = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    means = read_parquet(folder / "means.parquet")
    parameters = [str(p) for p in meta.get("parameters", {})]
    x, y = _axes_for(means)
    runs_file = folder / "runs.parquet"
    ax = tradeoff(
        means,
        x=x,
        y=y,
        by=parameters[0] if parameters else None,
        annotate=parameters[1:],
        runs=read_parquet(runs_file) if runs_file.exists() else None,
    )
    figure = folder / "tradeoff.png"
    save_png(ax, figure)

    title = f"ecssim sweep: {meta.get('scenario')}"
    replications = int(meta.get("replications", 1))
    seed = int(meta.get("seed", 0))
    blocks: list[Block] = [Heading(title, 1)]
    if meta.get("description"):
        blocks.append(Paragraph(str(meta["description"])))
    blocks.append(
        Paragraph(
            f"{meta.get('grid_points')} grid points x {replications} replications "
            f"= {meta.get('runs')} runs, seeds {seed}..{seed + replications - 1} "
            f"(the same seeds at every grid point); ecssim {meta.get('ecssim_version')}."
        )
    )
    blocks.append(Heading("Parameters"))
    blocks.append(
        BulletList(
            tuple(
                f"{name}: {', '.join(json.dumps(v) for v in values)}"
                for name, values in meta.get("parameters", {}).items()
            )
        )
    )
    blocks.append(Heading("Means per grid point"))
    blocks.append(
        Paragraph(
            "Each cell is the mean over the replications, +/- the half-width of "
            "its 95 % confidence interval (Student's t); 'n/a' means there was "
            "nothing to measure. All outcomes are in means.csv, each run in "
            "runs.parquet."
        )
    )
    shown = report_columns(means)
    header = (*parameters, "service", *shown)
    rows = []
    wide: list[str] = []
    for _, row in means.iterrows():
        cells = [str(row[p]) for p in parameters] + [str(row["service"])]
        for column in shown:
            cells.append(_with_interval(column, row[column], row.get(f"{column}_ci95")))
            if too_wide(float(row[column]), float(row.get(f"{column}_ci95", np.nan))):
                wide.append(f"{column} at {_point_label(row, parameters)}")
        rows.append(tuple(cells))
    blocks.append(Table(header, tuple(rows)))
    if wide:
        blocks.append(
            Paragraph(
                f"Too few replications to read some means: with n = {replications} "
                f"the interval is wider than the mean itself for {len(wide)} "
                f"cell(s) ({'; '.join(wide[:6])}{'; ...' if len(wide) > 6 else ''}). "
                "Compare settings with the paired differences below, or run more "
                "replications (replications: auto stops when the intervals are "
                "narrow enough)."
            )
        )
    differences_file = folder / "differences.parquet"
    if differences_file.exists():
        blocks += _differences_blocks(
            read_parquet(differences_file), meta, parameters, shown
        )
    blocks.append(Heading("What each outcome means", 3))
    blocks.append(
        BulletList(tuple(f"{c}: {SUMMARY_COLUMNS.get(c, '')}" for c in shown))
    )
    blocks.append(Heading("Trade-off"))
    blocks.append(
        FigureRef(
            figure,
            f"{y} against {x} (the cost): means per grid point with 95 % "
            "confidence intervals, each replication drawn faintly beside its mean",
        )
    )
    blocks.append(Heading("Modelling caveats"))
    blocks += caveat_blocks()
    (folder / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
    report_html = folder / "report.html"
    report_html.write_text(to_html(blocks, title, folder), encoding="utf-8")
    return report_html


def _with_interval(column: str, mean: Any, half: Any) -> str:
    cell = format_value(column, mean)
    if cell != "n/a" and isinstance(half, float) and math.isfinite(half):
        cell += f" +/- {format_value(column, half)}"
    return cell


def _point_label(row: pd.Series, parameters: Sequence[str]) -> str:
    return ", ".join(f"{p}={row[p]}" for p in parameters) + f" ({row['service']})"


def _differences_blocks(
    differences: pd.DataFrame,
    meta: Mapping[str, Any],
    parameters: Sequence[str],
    shown: Sequence[str],
) -> list[Block]:
    """The report's section of paired differences against the baseline."""
    baseline = meta.get("baseline") or {}
    label = ", ".join(f"{k}={v}" for k, v in baseline.items()) or "the first point"
    blocks: list[Block] = [
        Heading(f"Paired differences against the baseline ({label})")
    ]
    if differences.empty:
        blocks.append(
            Paragraph("The sweep has a single grid point: nothing to compare.")
        )
        return blocks
    blocks.append(
        Paragraph(
            "Each cell is the mean of (grid point - baseline) over the replications, "
            "run by run: a replication of every grid point used the same seed, so "
            "it saw the same arrivals, durations and faults (common random "
            "numbers), and the pair's difference is the effect of the setting "
            "alone. +/- is the half-width of its 95 % confidence interval "
            "(Student's t over the pairs); * marks a difference whose interval "
            "leaves out 0. These intervals are usually much narrower than those "
            "of the means above. All outcomes are in differences.csv."
        )
    )
    columns = [c for c in shown if c in differences.columns]
    header = (*parameters, "service", "pairs", *columns)
    rows = []
    for _, row in differences.iterrows():
        cells = [str(row[p]) for p in parameters] + [str(row["service"])]
        cells.append(str(int(row["pairs"])))
        for column in columns:
            mean = float(row[column])
            half = float(row.get(f"{column}_ci95", np.nan))
            cell = _with_interval(column, mean, half)
            if mean > 0 and cell != "n/a":
                cell = "+" + cell
            if excludes_zero(mean, half):
                cell += " *"
            cells.append(cell)
        rows.append(tuple(cells))
    blocks.append(Table(header, tuple(rows)))
    return blocks


def report_columns(means: pd.DataFrame) -> list[str]:
    """The outcomes of the sweep report's table for these means."""
    shown: list[str] = []
    for topic, columns in REPORT_COLUMNS.items():
        gate = _TOPIC_GATES.get(topic)
        if gate is not None and not (
            gate in means.columns and bool((means[gate].fillna(0) > 0).any())
        ):
            continue
        shown += [c for c in columns if c in means.columns]
    return shown
