"""The ``ecssim`` command: run, validate, sweep, report and schema.

::

    ecssim run FILE [--set PATH=VALUE ...] [--seed N] [--out DIR [--force]] [--quiet]
    ecssim validate FILE [--set PATH=VALUE ...]
    ecssim sweep FILE [--set PATH=VALUE ...] [--workers N] [--out DIR [--force]]
                 [--quiet] [--executor serial|processes|dask]
                 [--scheduler tcp://HOST:PORT] [--fresh] [--frames]
    ecssim tune FILE [--set PATH=VALUE ...] [--workers N] [--out DIR] [--quiet]
                 [--executor ...] [--scheduler ...] [--trials N] [--fresh]
    ecssim calibrate [--metrics JSON] [--trace CSV] [--durations CSV]
                     [--scenario FILE [--service N] --out FILE]
    ecssim report DIR
    ecssim compare DIR DIR... [--out DIR]
    ecssim schema
    ecssim serve FILE [--port N] [--speed X | --manual] [--out DIR] [--bind ADDR]

Exit codes: 0 success; 2 bad input (an invalid scenario, a missing file, an
output folder that must not be overwritten, a bad flag), with a message on
stderr that names the problem and no traceback; 1 a failure of ecssim itself,
reported as "internal error" with the traceback; 3 a sweep that finished but
some of whose runs raised (each recorded in its run folder), or a tune in
which no trial met the constraints; 130 after SIGINT (Ctrl-C) and 143 after
SIGTERM, with a one-line message, no half-written results folder and no sweep
worker left running.

An explicit ``run --out`` folder that already holds results is only replaced
with ``--force``; the default folder (``results/<scenario>-seed<N>``) is
replaced with a note, so the same command can be run again. A sweep's folder
is resumed, not replaced (its finished runs are kept; ``--fresh`` redoes them);
replacing a folder of another kind (a run's) takes ``--force``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import signal
import sys
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from ecssim.errors import ScenarioError
from ecssim.experiments.calibrate import apply, calibrate
from ecssim.experiments.executors import EXECUTORS, ExecutorError
from ecssim.experiments.sweep import SweepResult, render_sweep, sweep, write_sweep
from ecssim.experiments.tune import tune, write_tune
from ecssim.model.build import run
from ecssim.reports.compare import write_comparison
from ecssim.reports.folders import (
    COMPARE_MARKER,
    RUN_MARKER,
    STORE_MARKER,
    SWEEP_MARKER,
    ResultsFolderError,
    check_output_folder,
    read_parquet,
    results_kind,
)
from ecssim.reports.run_report import (
    format_value,
    notable_outcomes,
    render_report,
    write_results,
)
from ecssim.reports.tune_report import STUDY_FILE, render_tune
from ecssim.scenario.loading import (
    json_schema,
    load_scenario,
    parse_scenario,
    with_overrides,
)
from ecssim.scenario.schema import Scenario
from ecssim.scenario.writing import raw_scenario_file, scenario_yaml
from ecssim.units import format_duration
from ecssim.version import __version__

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_RUNS_FAILED = 3
#: 128 + the signal's number, as shells report a process a signal ended.
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM

#: Outcomes ``ecssim run`` prints per service: (column, short label).
_HEADLINES = (
    ("jobs_arrived", "jobs arrived"),
    ("jobs_completed", "completed"),
    ("jobs_interrupted", "interrupted"),
    ("sessions_arrived", "sessions arrived"),
    ("sessions_interrupted", "interrupted"),
    ("sessions_dropped", "dropped"),
    ("task_hours", "task-hours"),
    ("idle_protected_task_hours", "idle but protected"),
    ("scale_ins_blocked", "scale-ins blocked"),
    ("blocked_hours", "blocked [h]"),
    ("deployments_started", "rollouts"),
    ("deployments_in_progress_at_end", "still in progress"),
    ("instance_hours", "instance-hours"),
    ("cost_usd", "cost [USD]"),
)


class _BadInput(Exception):
    """A problem with what the user gave us (exit code 2)."""


class _Terminated(BaseException):
    """SIGTERM arrived (exit code 143); a BaseException, like KeyboardInterrupt,
    so that no ``except Exception`` on the way swallows it."""


def _raise_terminated(signum: int, _: object) -> None:
    raise _Terminated(signum)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecssim",
        description="Simulate Amazon ECS service scale-in and task scale-in protection.",
        epilog="exit codes: 0 success, 2 bad input (the message names it), "
        "1 internal error (a bug in ecssim), 130 after SIGINT, 143 after SIGTERM",
    )
    parser.add_argument("--version", action="version", version=f"ecssim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run_cmd = commands.add_parser(
        "run", help="run a scenario once and write a results folder"
    )
    run_cmd.add_argument("file", type=Path, metavar="FILE", help="scenario YAML file")
    _add_set(run_cmd)
    run_cmd.add_argument(
        "--seed", type=int, default=None, help="override the scenario's seed"
    )
    run_cmd.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="results folder (default results/<scenario>-seed<N>, replaced with "
        "a note when it holds an earlier run's results)",
    )
    _add_force(run_cmd)
    run_cmd.add_argument("--quiet", action="store_true", help="no progress bar")

    validate = commands.add_parser("validate", help="check a scenario file")
    validate.add_argument("file", type=Path, metavar="FILE", help="scenario YAML file")
    _add_set(validate)

    sweep_cmd = commands.add_parser(
        "sweep", help="run a scenario's sweep grid and write a sweep folder"
    )
    sweep_cmd.add_argument("file", type=Path, metavar="FILE", help="scenario YAML file")
    _add_set(sweep_cmd)
    sweep_cmd.add_argument(
        "--workers", type=_positive, default=1, help="processes to run on (default 1)"
    )
    sweep_cmd.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="sweep folder (default results/<scenario>-sweep, replaced with a "
        "note when it holds an earlier sweep's results)",
    )
    _add_force(sweep_cmd)
    sweep_cmd.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_executor(sweep_cmd)
    sweep_cmd.add_argument(
        "--fresh",
        action="store_true",
        help="run every run again, even those already in the sweep folder's runs/",
    )
    sweep_cmd.add_argument(
        "--frames",
        action="store_true",
        help="keep every run's tables as one Parquet dataset per table in frames/, "
        "partitioned by the swept parameters",
    )

    report = commands.add_parser(
        "report",
        help="redraw the plots and report of a results folder (run, sweep or tune)",
    )
    report.add_argument("folder", type=Path, metavar="DIR", help="results folder")

    commands.add_parser("schema", help="print the JSON Schema of scenario files")
    _add_serve(commands)
    _add_compare(commands)
    _add_tune(commands)
    _add_calibrate(commands)
    return parser


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve a scenario's simulated account on loopback HTTP endpoints "
        "(ECS, Application Auto Scaling, per-task agent and metadata endpoints)",
    )
    serve.add_argument("file", type=Path, metavar="FILE", help="scenario YAML file")
    _add_set(serve)
    serve.add_argument(
        "--seed", type=int, default=None, help="override the scenario's seed"
    )
    serve.add_argument(
        "--port", type=int, default=4580, help="TCP port (default 4580; 0: any free)"
    )
    pace = serve.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        type=float,
        default=1.0,
        metavar="X",
        help="simulated seconds per wall-clock second (default 1)",
    )
    pace.add_argument(
        "--manual",
        action="store_true",
        help="simulated time moves only on POST /_ecssim/advance?seconds=N",
    )
    serve.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="results folder written on shutdown (default results/<scenario>-seed<N>-serve)",
    )
    serve.add_argument(
        "--bind",
        default=None,
        metavar="ADDR",
        help="listen on ADDR instead of 127.0.0.1 (anyone who reaches it can "
        "call the simulated APIs without credentials)",
    )


def _add_compare(commands: Any) -> None:
    compare = commands.add_parser(
        "compare",
        help="compare two or more results folders (runs or sweeps), each "
        "against the first",
    )
    compare.add_argument(
        "folders", type=Path, nargs="+", metavar="DIR", help="results folders"
    )
    compare.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="comparison folder (default results/compare-<first>-vs-<second>...)",
    )


def _add_tune(commands: Any) -> None:
    tune_cmd = commands.add_parser(
        "tune",
        help="search a scenario's tune section for the best settings (Optuna)",
    )
    tune_cmd.add_argument("file", type=Path, metavar="FILE", help="scenario YAML file")
    _add_set(tune_cmd)
    tune_cmd.add_argument(
        "--workers", type=_positive, default=1, help="processes to run on (default 1)"
    )
    _add_executor(tune_cmd)
    tune_cmd.add_argument(
        "--trials",
        type=_positive,
        default=None,
        help="finished trials to reach (default the scenario's tune.trials)",
    )
    tune_cmd.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="tune folder, which keeps the study so a rerun carries on "
        "(default results/<scenario>-tune)",
    )
    tune_cmd.add_argument(
        "--fresh", action="store_true", help="forget the study in the folder first"
    )
    tune_cmd.add_argument("--quiet", action="store_true", help="no progress bar")


def _cmd_tune(args: argparse.Namespace) -> int:
    scenario, _ = _load(args)
    # as written (units kept), so that recommended.yaml reads like the file
    raw = with_overrides(
        raw_scenario_file(args.file), dict(args.settings), what="--set"
    )
    name = f"{scenario.name}-tune"
    if args.settings:
        name += f"-{_settings_slug(args.settings)}"
    out: Path = args.out or Path("results") / name
    result = tune(
        raw,
        source=str(args.file),
        out=out,
        workers=args.workers,
        executor=args.executor or ("dask" if args.scheduler else None),
        scheduler=args.scheduler,
        trials=args.trials,
        fresh=args.fresh,
        progress=not args.quiet and sys.stderr.isatty(),
        folder=args.file.parent,
    )
    report = write_tune(result, out)
    trials = result.trials
    feasible = int(trials["feasible"].astype(bool).sum()) if len(trials) else 0
    resumed = f" ({result.resumed} from the earlier study)" if result.resumed else ""
    print(
        f"tuned {scenario.name!r}: {len(trials)} trial(s){resumed}, "
        f"{feasible} met the constraints, {len(result.pareto)} on the Pareto front"
    )
    for _, row in result.pareto.head(10).iterrows():
        setting = ", ".join(f"{p}={row[p]}" for p in result.parameters)
        values = ", ".join(
            f"{c} {format_value(c.split('[')[0], row[c])}" for c in result.objectives
        )
        print(f"  trial {row['trial']}: {setting}: {values}")
    print(f"results: {out}  (open {report})")
    if result.recommended is None:
        print("ecssim tune: no trial met the constraints", file=sys.stderr)
        return EXIT_RUNS_FAILED
    print(f"recommended: trial {result.recommended}, {out / 'recommended.yaml'}")
    return EXIT_OK


def _add_calibrate(commands: Any) -> None:
    cmd = commands.add_parser(
        "calibrate",
        help="derive arrivals and job durations from your service's own data",
    )
    cmd.add_argument(
        "--metrics",
        type=Path,
        metavar="JSON",
        help="what aws cloudwatch get-metric-data printed: SQS NumberOfMessagesSent "
        "per period (and optionally ECS RunningTaskCount)",
    )
    cmd.add_argument(
        "--trace", type=Path, metavar="CSV", help="a CSV of arrivals (arrival column)"
    )
    cmd.add_argument(
        "--durations",
        type=Path,
        metavar="CSV",
        help="a CSV of job durations in seconds (duration column)",
    )
    cmd.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        help="a scenario to write a calibrated copy of (with --out)",
    )
    cmd.add_argument(
        "--service", type=int, default=0, help="the service to calibrate (index)"
    )
    cmd.add_argument(
        "--out", type=Path, metavar="FILE", help="the calibrated scenario file"
    )


def _cmd_calibrate(args: argparse.Namespace) -> int:
    if (args.scenario is None) != (args.out is None):
        raise _BadInput("--scenario and --out go together")
    if args.scenario is not None:
        load_scenario(args.scenario)  # a bad base scenario is reported first
    found = calibrate(metrics=args.metrics, trace=args.trace, durations=args.durations)
    for note in found.notes:
        print(note)
    fragment = {
        k: v
        for k, v in (("arrivals", found.arrivals), ("job_duration", found.job_duration))
        if v is not None
    }
    if args.scenario is None:
        print(scenario_yaml(fragment), end="")
        return EXIT_OK
    raw = apply(raw_scenario_file(args.scenario), found, service=args.service)
    sources = " ".join(
        f"--{name} {path}"
        for name, path in (
            ("metrics", args.metrics),
            ("trace", args.trace),
            ("durations", args.durations),
        )
        if path is not None
    )
    raw["name"] = re.sub(r"[^A-Za-z0-9_-]", "-", args.out.stem)
    raw["description"] = (
        f"{raw.get('description') or raw['name']} Calibrated by ecssim calibrate "
        f"{sources}."
    ).strip()
    comment = (
        f"Calibrated by ecssim calibrate {sources} --scenario {args.scenario}\n"
        + "\n".join(found.notes)
    )
    text = scenario_yaml(raw, comment=comment)
    first = args.scenario.read_text(encoding="utf-8").split("\n", 1)[0]
    if first.startswith("# yaml-language-server:"):  # the editor's schema line
        text = f"{first}\n{text}"
    parse_scenario(raw, source=str(args.out))  # what is written must load
    args.out.write_text(text, encoding="utf-8")
    print(f"calibrated scenario: {args.out}")
    return EXIT_OK


def _add_executor(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help="where runs happen: serial (here), processes (a local pool of "
        "--workers), dask (a local Dask cluster of --workers, or --scheduler's); "
        "default processes when --workers > 1, else serial",
    )
    command.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="a running Dask scheduler to send the runs to (implies --executor dask)",
    )


def _add_set(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--set",
        dest="settings",
        type=_setting,
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="change one value of the scenario, written as in YAML (repeatable), "
        "e.g. --set services[0].protection.policy=none (or services.NAME.protection.policy) --set duration=6h",
    )


def _add_force(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--force",
        action="store_true",
        help="replace the results already in --out (another run's or sweep's)",
    )


def _output_folder(
    args: argparse.Namespace, default: Path, kind: str, *, resumable: bool = False
) -> Path:
    """The folder to write results of *kind* to: ``--out`` or *default*.

    A *resumable* kind (sweeps) carries on in a folder of its own kind: its
    finished runs are kept, so nothing is replaced and no --force is needed.

    Raises:
        ResultsFolderError: the folder must not be written (not a results
            folder, another command's results without --force).
        _BadInput: ``--out`` already holds results and --force is not given.
    """
    out = check_output_folder(args.out or default, kind=kind, force=args.force)
    existing = results_kind(out)
    if existing is None or args.force:
        return out
    if resumable and existing in (kind, STORE_MARKER):
        return out
    if args.out is not None:
        raise _BadInput(
            f"{out}: already holds results ({existing}); add --force to replace "
            "them, or choose another --out"
        )
    print(f"note: replacing the earlier results in {out}", file=sys.stderr)
    return out


def _setting(text: str) -> tuple[str, Any]:
    path, equals, value = text.partition("=")
    if not equals or not path.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not PATH=VALUE (e.g. services[0].protection.policy=none)"
        )
    try:
        parsed = yaml.safe_load(value)
    except Exception:  # YAML errors, and PyYAML's constructors on tagged values
        raise argparse.ArgumentTypeError(
            f"{text[:80]!r}: {value[:60]!r} is not a YAML value this can use"
        ) from None
    return path.strip(), parsed


def _load(args: argparse.Namespace) -> tuple[Scenario, dict[str, Any]]:
    """The scenario of ``args.file`` with the ``--set`` changes, and its raw form.

    Raises:
        ScenarioError: the file, a path given to --set, or a changed value is bad.
    """
    scenario = load_scenario(args.file)
    raw = scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if not args.settings:
        return scenario, raw
    raw = with_overrides(raw, dict(args.settings), what="--set")
    return parse_scenario(raw, source=f"{args.file} with --set"), raw


def _settings_slug(settings: list[tuple[str, Any]]) -> str:
    """A folder-name suffix for --set changes: the last key and the value of each."""
    parts = []
    for path, value in settings:
        key = re.sub(r"\[-?\d+\]", "", path).rsplit(".", 1)[-1]
        parts.append(f"{key}-{value}")
    return re.sub(r"[^A-Za-z0-9._]+", "-", "-".join(parts)).strip("-")[:80]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _describe(scenario: Scenario) -> str:
    services = ", ".join(s.name for s in scenario.services)
    text = (
        f"scenario {scenario.name!r}: {len(scenario.services)} service(s) ({services}), "
        f"{format_duration(scenario.duration_s)}, seed {scenario.seed}, "
        f"{len(scenario.scheduled)} scheduled action(s), {len(scenario.faults)} fault(s)"
    )
    if scenario.sweep is not None:
        size = 1
        for values in scenario.sweep.parameters.values():
            size *= len(values)
        replications = str(scenario.sweep.replications)
        if replications == "auto":
            replications = f"3..{scenario.sweep.max_replications} (auto)"
        text += f", sweep of {size} grid point(s) x {replications} replication(s)"
    return text


def _positive_value(row: dict[str, Any], column: str) -> bool:
    """Whether *row* has a value above 0 in *column* (NaN, not applicable, is not)."""
    value = row.get(column)
    return isinstance(value, int | float) and not math.isnan(value) and value > 0


def _summary_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        parts = []
        for column, label in _HEADLINES:
            value = row.get(column)
            if column.startswith("jobs") and not _positive_value(row, "jobs_arrived"):
                continue
            if column.startswith("sessions") and not _positive_value(
                row, "sessions_arrived"
            ):
                continue
            if column.startswith("deployments") and not _positive_value(
                row, "deployments_started"
            ):
                continue
            if column in ("instance_hours", "cost_usd") and not _positive_value(
                row, column
            ):
                continue  # Fargate only, or no prices
            parts.append(f"{label} {format_value(column, value)}")
        # what stands out in this run first (interruptions, refusals, faults)
        parts = [*notable_outcomes(row), *parts]
        lines.append(f"  {row.get('service')}: " + ", ".join(parts))
    return lines


def _cmd_run(args: argparse.Namespace) -> int:
    scenario, _ = _load(args)
    seed = scenario.seed if args.seed is None else args.seed
    if seed < 0:
        raise _BadInput(f"--seed {seed}: must be >= 0")
    name = f"{scenario.name}-seed{seed}"
    if args.settings:
        name += f"-{_settings_slug(args.settings)}"
    out = _output_folder(args, Path("results") / name, RUN_MARKER)
    progress = not args.quiet and sys.stderr.isatty()
    result = run(scenario, seed=seed, progress=progress)
    folder = write_results(result, out, force=args.force)
    print(
        f"ran {scenario.name!r} with seed {seed} for "
        f"{format_duration(scenario.duration_s)} of simulated time"
    )
    rows = [
        {str(k): v for k, v in row.items()}
        for row in result.summary.to_dict(orient="records")
    ]
    print("\n".join(_summary_lines(rows)))
    print(f"results: {folder}  (open {folder / 'report.html'})")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    scenario, _ = _load(args)
    changed = " (with --set)" if args.settings else ""
    print(f"OK {args.file}{changed}: {_describe(scenario)}")
    return EXIT_OK


def _cmd_sweep(args: argparse.Namespace) -> int:
    scenario, raw = _load(args)
    name = f"{scenario.name}-sweep"
    if args.settings:
        name += f"-{_settings_slug(args.settings)}"
    out = _output_folder(args, Path("results") / name, SWEEP_MARKER, resumable=True)
    result = sweep(
        raw,
        source=str(args.file),
        workers=args.workers,
        progress=not args.quiet and sys.stderr.isatty(),
        executor=args.executor or ("dask" if args.scheduler else None),
        scheduler=args.scheduler,
        store=out,
        fresh=args.fresh,
        keep_frames=args.frames,
    )
    folder = write_sweep(result, out, force=args.force)
    if result.skipped:
        print(f"skipped {result.skipped} run(s) already in {out / 'runs'}")
    points = result.means["point"].nunique()
    runs = len(result.runs[["point", "replication"]].drop_duplicates())
    print(
        f"swept {scenario.name!r}: {points} grid point(s) x "
        f"{result.replications} replication(s) = {runs} runs"
    )
    for row in result.means.to_dict(orient="records"):
        _print_sweep_row(row, result.parameters)
    _print_differences(result)
    print(f"results: {folder}  (open {folder / 'report.html'})")
    if result.failed:
        print(
            f"ecssim sweep: {result.failed} run(s) failed; their errors are in "
            f"{out / 'runs'}/*/error.txt",
            file=sys.stderr,
        )
        return EXIT_RUNS_FAILED
    return EXIT_OK


def _with_spread(column: str, value: Any, spread: Any) -> str:
    """*value* of *column* as the CLI prints it, with ``+/- spread`` when known."""
    text = format_value(column, value)
    if isinstance(spread, float) and math.isfinite(spread):
        text += f" +/- {format_value(column, spread)}"
    return text


def _print_sweep_row(row: Mapping[Any, Any], parameters: Sequence[str]) -> None:
    """One grid point's (or one difference's) headline outcomes on one line."""
    setting = ", ".join(f"{p}={row[p]}" for p in parameters)
    parts = [
        f"{column} {_with_spread(column, row[column], row.get(f'{column}_ci95'))}"
        for column in ("job_interruptions", "idle_protected_task_hours", "task_hours")
        if column in row
    ]
    print(f"  {setting} [{row['service']}]: " + ", ".join(parts))


def _print_differences(result: SweepResult) -> None:
    """The paired differences against the baseline, one line per point and service."""
    if result.differences.empty:
        return
    base = result.means[result.means["point"] == result.baseline].iloc[0]
    setting = ", ".join(f"{p}={base[p]}" for p in result.parameters)
    print(f"paired differences against the baseline ({setting}), same seeds:")
    for row in result.differences.to_dict(orient="records"):
        _print_sweep_row(row, result.parameters)


def _cmd_report(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    if not folder.is_dir():
        raise _BadInput(f"{folder}: no such folder")
    kind = results_kind(folder)
    if kind == RUN_MARKER:
        page = render_report(folder)
    elif kind == SWEEP_MARKER:
        page = render_sweep(folder)
    elif (folder / "tune.json").is_file() or (folder / STUDY_FILE).is_file():
        page = render_tune(folder)
    elif kind == STORE_MARKER:
        raise _BadInput(
            f"{folder}: a sweep that has not finished (only its runs/); run "
            "ecssim sweep on it again to finish it and write its report"
        )
    elif kind == COMPARE_MARKER:
        raise _BadInput(
            f"{folder}: a comparison; run ecssim compare again to redraw it"
        )
    else:
        raise _BadInput(
            f"{folder}: not an ecssim results folder (written by ecssim run, "
            "ecssim sweep or ecssim tune)"
        )
    print(f"report: {page}")
    return EXIT_OK


#: what ``ecssim compare`` prints (the report has every outcome): the cost and
#: the outcomes protection policies trade against it
_COMPARE_HEADLINES = (
    "task_hours",
    "idle_protected_task_hours",
    "job_interruptions",
    "lost_work_hours",
    "sessions_interrupted",
    "blocked_hours",
    "deployment_duration_max_s",
    "instance_hours",
    "instance_hours_held_by_protection",
    "cost_usd",
)


def _cmd_compare(args: argparse.Namespace) -> int:
    folders: list[Path] = args.folders
    if len(folders) < 2:
        raise _BadInput("compare needs two or more results folders")
    for folder in folders:
        if not folder.is_dir():
            raise _BadInput(f"{folder}: no such folder")
    name = "compare-" + "-vs-".join(f.resolve().name for f in folders)
    out = check_output_folder(args.out or Path("results") / name)
    folder = write_comparison(folders, out)
    table = read_parquet(folder / "comparison.parquet")
    first = str(table["side"].iloc[0])
    print(f"compared {len(folders)} results folders against {first}:")
    for row in table[table["side"] != first].to_dict(orient="records"):
        if row["outcome"] not in _COMPARE_HEADLINES:
            continue
        if not math.isfinite(row["difference"]):
            continue
        if row["outcome"] != "task_hours" and row["difference"] == 0:
            continue  # the cost always; the rest only where they differ
        point = f" [{row['point']}]" if row["point"] else ""
        outcome = str(row["outcome"])
        text = _with_spread(outcome, row["difference"], float(row["difference_ci95"]))
        pairing = "paired" if row["paired"] else "unpaired"
        print(
            f"  {row['side']} - {first}{point} {row['service']}: "
            f"{row['outcome']} {text} ({pairing})"
        )
    print(f"results: {folder}  (open {folder / 'report.html'})")
    return EXIT_OK


def _cmd_schema(_: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    # Imported here: only serve needs the HTTP server and its threads.
    import signal  # noqa: PLC0415
    import threading  # noqa: PLC0415

    from ecssim.serve.server import (  # noqa: PLC0415
        LOOPBACK,
        BindError,
        EcssimHttpServer,
        is_loopback,
    )
    from ecssim.serve.session import serve_scenario  # noqa: PLC0415

    scenario, _ = _load(args)
    seed = scenario.seed if args.seed is None else args.seed
    if seed < 0:
        raise _BadInput(f"--seed {seed}: must be >= 0")
    if not (args.manual or (math.isfinite(args.speed) and args.speed > 0)):
        raise _BadInput(f"--speed {args.speed}: must be a positive number")
    if not 0 <= args.port <= 65535:
        raise _BadInput(f"--port {args.port}: must be 0..65535")
    host = args.bind or LOOPBACK
    if args.bind is not None and not is_loopback(host):
        print(
            f"ecssim serve: warning: listening on {host}: anyone who can reach it "
            "can call the simulated AWS APIs without credentials",
            file=sys.stderr,
        )
    name = f"{scenario.name}-seed{seed}-serve"
    if args.settings:
        name += f"-{_settings_slug(args.settings)}"
    stop = threading.Event()

    def ready(server: EcssimHttpServer) -> None:
        pace = "manual clock" if args.manual else f"{args.speed:g}x real time"
        print(f"serving {scenario.name!r} (seed {seed}, {pace}) on {server.url}")
        print(f"  export AWS_ENDPOINT_URL={server.url}")
        print(
            "  export AWS_ACCESS_KEY_ID=ecssim AWS_SECRET_ACCESS_KEY=ecssim "
            f"AWS_DEFAULT_REGION={server.app.model.sim.backend.region}"
        )
        print(f"  tasks and their ECS_AGENT_URI: {server.url}/_ecssim/tasks")
        print(
            f"  clock: {server.url}/_ecssim/clock  summary: {server.url}/_ecssim/summary"
        )
        print("Ctrl-C (or SIGTERM) stops and writes the results folder", flush=True)

    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        folder = serve_scenario(
            scenario,
            out=args.out or Path("results") / name,
            stop=stop,
            seed=seed,
            speed=None if args.manual else args.speed,
            host=host,
            port=args.port,
            allow_remote=args.bind is not None,
            on_ready=ready,
        )
    except BindError as exc:
        raise _BadInput(str(exc)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"results: {folder}  (open {folder / 'report.html'})")
    return EXIT_OK


_COMMANDS = {
    "run": _cmd_run,
    "validate": _cmd_validate,
    "sweep": _cmd_sweep,
    "tune": _cmd_tune,
    "calibrate": _cmd_calibrate,
    "report": _cmd_report,
    "schema": _cmd_schema,
    "serve": _cmd_serve,
    "compare": _cmd_compare,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ecssim`` command line with *argv* (default ``sys.argv[1:]``).

    SIGTERM is handled like SIGINT while a command runs: the staging folder
    is removed, sweep workers are stopped, and the exit code is 143 (130 for
    SIGINT).

    Returns:
        The exit code: 0 success, 2 bad input, 1 an internal error, 130 or 143
        after SIGINT or SIGTERM.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:  # Python runs signal handlers in the main thread only
        previous_sigterm = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _COMMANDS[args.command](args)
    except (ScenarioError, ResultsFolderError, ExecutorError, _BadInput) as exc:
        print(f"ecssim {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"ecssim {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("ecssim: interrupted (SIGINT)", file=sys.stderr)
        return EXIT_SIGINT
    except _Terminated:
        print("ecssim: terminated (SIGTERM)", file=sys.stderr)
        return EXIT_SIGTERM
    except Exception:
        print(
            f"ecssim {args.command}: internal error (a bug in ecssim; please report "
            "it with the traceback below)",
            file=sys.stderr,
        )
        traceback.print_exc(file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous_sigterm)


if __name__ == "__main__":
    sys.exit(main())
