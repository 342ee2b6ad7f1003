"""Results folders: a run's tables, summary, plots and one-page report on disk.

:func:`write_results` turns a :class:`~ecssim.runner.RunResult` into a folder
a person can open without Python::

    events.parquet  timeseries.parquet  jobs.parquet  sessions.parquet
    summary.parquet summary.json        scenario.json
    timeline-<service>.png  job-outcomes.png  protection-cost.png
    report.md  report.html

:func:`render_report` redraws the plots and the report from the files alone
(``ecssim report DIR``). The same scenario and seed give byte-identical files:
tables are written without an index, JSON with sorted keys and fixed float
formatting, PNGs without a timestamp at a fixed resolution, and the report
never mentions the folder's own path or the time it was written.

A folder is written next to its destination and renamed into place at the
end, so a failure leaves what was there before. An existing folder is only
replaced when it is empty or is an ecssim results folder.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecssim.errors import EcsSimError
from ecssim.metrics import SUMMARY_COLUMNS
from ecssim.plotting import job_outcomes, protection_cost, save_png, timeline
from ecssim.units import format_duration
from ecssim.version import __version__

if TYPE_CHECKING:
    from ecssim.runner import RunResult

#: The value of ``"results"`` in ``summary.json`` that marks a run's folder.
RUN_MARKER: Final = "ecssim run"
#: The value of ``"results"`` in ``sweep.json`` that marks a sweep's folder.
SWEEP_MARKER: Final = "ecssim sweep"
#: The tables of a run folder, in the order they are written.
TABLES: Final = ("events", "timeseries", "jobs", "sessions", "summary")
FIDELITY_NOTE: Final = (
    "ecssim models ECS behaviour from AWS's documentation; where AWS is silent "
    "it picks a documented default (scheduler reaction delay, victim choice, "
    "DEPLOYMENT_BLOCKED rule, throttling). Read the numbers as comparisons "
    "between policies, not as predictions: see README Fidelity for the "
    "modelling caveats."
)

#: Outcomes shown in the report's headline table, by topic.
HEADLINE: Final[dict[str, tuple[str, ...]]] = {
    "jobs": (
        "jobs_arrived",
        "jobs_completed",
        "jobs_interrupted",
        "job_interruptions",
        "jobs_dead_lettered",
        "jobs_waiting_at_end",
        "lost_work_hours",
        "queue_wait_p50_s",
        "queue_wait_p95_s",
    ),
    "sessions": (
        "sessions_arrived",
        "sessions_completed",
        "sessions_interrupted",
        "sessions_dropped",
        "session_wait_p95_s",
    ),
    "capacity": (
        "task_hours",
        "busy_task_hours",
        "idle_task_hours",
        "idle_protected_task_hours",
        "protected_surplus_task_hours",
    ),
    "scale-in": (
        "tasks_stopped_by_scale_in",
        "scale_ins_blocked",
        "blocked_hours",
        "convergence_delay_mean_s",
        "convergence_delay_max_s",
    ),
    "deployments": (
        "deployments_started",
        "deployments_completed",
        "deployments_in_progress_at_end",
        "deployment_duration_max_s",
        "deployments_over_cloudformation_timeout",
        "old_revision_task_hours",
    ),
    "protection": (
        "protection_calls",
        "failures_deployment_blocked",
        "failures_task_not_valid",
        "throttles",
        "protection_expired_while_busy",
        "tasks_killed",
    ),
}


class ResultsFolderError(EcsSimError, OSError):
    """A folder is not an ecssim results folder, or cannot become one."""


# ---- files -------------------------------------------------------------------------
def json_value(value: Any) -> Any:
    """*value* as plain JSON: NaN and infinities as null, numpy scalars as Python's.

    Floats keep their shortest round-trip form (``repr``), which is the same
    for the same value on every platform.
    """
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def write_json(data: Any, path: Path) -> Path:
    """Write *data* as indented JSON with sorted keys and a final newline."""
    text = json.dumps(
        json_value(data), sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False
    )
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write *frame* to Parquet without its index (same frame, same bytes)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="snappy")
    return path


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a table written by :func:`write_parquet`."""
    if not path.is_file():
        raise ResultsFolderError(f"{path.parent}: {path.name} is missing")
    frame: pd.DataFrame = pq.read_table(path).to_pandas()
    return frame


def _marker(folder: Path) -> str | None:
    for name in ("summary.json", "sweep.json"):
        path = folder / name
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("results") in (
                RUN_MARKER,
                SWEEP_MARKER,
            ):
                return str(data["results"])
    return None


def results_kind(folder: str | Path) -> str | None:
    """``"ecssim run"`` or ``"ecssim sweep"`` for a results folder, else None."""
    path = Path(folder)
    return _marker(path) if path.is_dir() else None


def check_output_folder(out_dir: str | Path) -> Path:
    """*out_dir* as a Path, if a results folder may be written there.

    It may when it does not exist, is an empty folder or is an ecssim results
    folder (which is then replaced).

    Raises:
        ResultsFolderError: *out_dir* is a file, or a non-empty folder that is
            not an ecssim results folder.
    """
    target = Path(out_dir)
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise ResultsFolderError(
                f"{target}: exists and is not a folder; choose another output folder"
            )
        if any(target.iterdir()) and _marker(target) is None:
            raise ResultsFolderError(
                f"{target}: is a non-empty folder that is not an ecssim results "
                "folder; refusing to overwrite it (choose another output folder)"
            )
        foreign = foreign_files(target)
        if foreign:
            raise ResultsFolderError(
                f"{target}: holds files ecssim did not write ({', '.join(foreign)}); "
                "refusing to replace it (move them or choose another output folder)"
            )
    return target


#: Every name ecssim writes into a run or a sweep folder (timelines aside).
_OWN_FILES: Final = frozenset(
    {
        *(f"{name}.parquet" for name in TABLES),
        "summary.json",
        "scenario.json",
        "job-outcomes.png",
        "protection-cost.png",
        "report.md",
        "report.html",
        "runs.parquet",
        "means.parquet",
        "means.csv",
        "sweep.json",
        "tradeoff.png",
    }
)


def foreign_files(folder: Path) -> list[str]:
    """Names in *folder* that ecssim does not write, sorted (a user's own files)."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if not (
            p.is_file()
            and (
                p.name in _OWN_FILES
                or (p.name.startswith("timeline-") and p.name.endswith(".png"))
                or (p.name.startswith(".") and p.name.endswith(".tmp"))
            )
        )
    )


@contextmanager
def staged_folder(out_dir: str | Path) -> Iterator[Path]:
    """Write a results folder next to *out_dir*, then put it in place.

    Yields an empty folder in the same parent; when the block ends without an
    error it replaces *out_dir*, otherwise it is removed and *out_dir* is left
    as it was.

    Raises:
        ResultsFolderError: *out_dir* is a file, or a non-empty folder that is
            not an ecssim results folder (nothing is written).
    """
    target = check_output_folder(out_dir)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    staging = parent / f".{target.name}.tmp-{token}"
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = parent / f".{target.name}.old-{token}"
    if target.exists():
        target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        if old.exists():
            old.rename(target)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _replace_file(path: Path, write: Any) -> None:
    """Write *path* through a temporary sibling so a failure keeps the old file."""
    temporary = path.with_name(f".{path.name}.tmp")
    write(temporary)
    os.replace(temporary, path)


# ---- a small document model, rendered as Markdown and as HTML -------------------------
@dataclass(frozen=True)
class Heading:
    """A section title (level 1 is the page title)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """Plain text."""

    text: str


@dataclass(frozen=True)
class BulletList:
    """An unordered list of plain-text items."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of text cells; *collapsed* folds it away in HTML under that label."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    collapsed: str | None = None


@dataclass(frozen=True)
class FigureRef:
    """A PNG of the folder with its caption (linked in Markdown, embedded in HTML)."""

    path: Path
    caption: str


Block = Heading | Paragraph | BulletList | Table | FigureRef


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, BulletList):
            out.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            lines = [
                "| " + " | ".join(_md_cell(h) for h in block.header) + " |",
                "|" + "|".join(" --- " for _ in block.header) + "|",
            ]
            lines += [
                "| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows
            ]
            out.append("\n".join(lines))
        else:
            out.append(f"![{block.caption}]({block.path.name})\n\n*{block.caption}*")
    return "\n\n".join(out) + "\n"


_CSS: Final = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-style: italic; color: #555; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5rem 1rem; }
""".strip()


def _looks_numeric(text: str) -> bool:
    head = text.split(" ", 1)[0].replace(",", "")
    try:
        float(head)
    except ValueError:
        return False
    return True


def to_html(blocks: Sequence[Block], title: str, folder: Path) -> str:
    """The blocks as one standalone HTML page; figures are embedded and linked."""
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{esc(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            css = ' class="note"' if block.text == FIDELITY_NOTE else ""
            out.append(f"<p{css}>{esc(block.text)}</p>")
        elif isinstance(block, BulletList):
            items = "".join(f"<li>{esc(item)}</li>" for item in block.items)
            out.append(f"<ul>{items}</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{esc(h)}</th>" for h in block.header)
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td class="n">{esc(c)}</td>'
                    if i >= 2 and _looks_numeric(c)
                    else f"<td>{esc(c)}</td>"
                    for i, c in enumerate(row)
                )
                + "</tr>"
                for row in block.rows
            )
            table = (
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            )
            if block.collapsed:
                table = f"<details><summary>{esc(block.collapsed)}</summary>{table}</details>"
            out.append(table)
        else:
            data = base64.b64encode((folder / block.path.name).read_bytes()).decode()
            out.append(
                f'<figure><a href="{esc(block.path.name)}">'
                f'<img src="data:image/png;base64,{data}" alt="{esc(block.caption)}">'
                f"</a><figcaption>{esc(block.caption)}</figcaption></figure>"
            )
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# ---- formatting ------------------------------------------------------------------------
def format_value(column: str, value: Any) -> str:
    """A cell of the report: counts as integers, hours and seconds readable."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if column.endswith("_s") and abs(value) >= 120:
            return f"{value:,.0f} s ({value / 3600:.2f} h)"
        if value.is_integer() and not column.endswith(("_hours", "_s")):
            return f"{int(value):,}"
        if abs(value) >= 100:
            return f"{value:,.1f}"
        return f"{value:.3g}"
    return str(value)


def _seconds(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_duration(float(value))
    return str(value)


def _describe_service(service: Mapping[str, Any]) -> str:
    parts = [f"desired count {service.get('desired_count')}"]
    workload = service.get("workload")
    if isinstance(workload, Mapping):
        kind = workload.get("kind")
        arrivals = workload.get("arrivals") or {}
        rate = arrivals.get("rate") if isinstance(arrivals, Mapping) else None
        text = f"{kind} workload"
        if isinstance(rate, int | float) and rate:
            text += f" (base arrival rate {rate * 3600:.3g}/h)"
        parts.append(text)
    else:
        parts.append("no workload")
    protection = service.get("protection") or {}
    if isinstance(protection, Mapping):
        policy = protection.get("policy", "none")
        text = f"protection policy {policy}"
        if policy != "none" and "expires_in" in protection:
            text += f", expires in {_seconds(protection['expires_in'])}"
        parts.append(text)
    autoscaling = service.get("autoscaling")
    if isinstance(autoscaling, Mapping):
        parts.append(
            f"auto scaling {autoscaling.get('min_capacity')}.."
            f"{autoscaling.get('max_capacity')} tasks"
        )
    parts.append(f"stop timeout {_seconds(service.get('stop_timeout', 30.0))}")
    return f"{service.get('name')}: " + "; ".join(parts)


def _describe_action(action: Mapping[str, Any]) -> str:
    at = _seconds(action.get("at"))
    kind = action.get("action")
    service = action.get("service")
    if kind == "set_desired_count":
        return f"at {at}: set the desired count of {service} to {action.get('count')}"
    if kind == "deploy":
        extra = " (new tasks fail to start)" if action.get("fails_to_start") else ""
        return f"at {at}: deploy a new revision of {service}{extra}"
    if kind == "set_capacity":
        return (
            f"at {at}: set the auto scaling capacity of {service} to "
            f"{action.get('min_capacity')}..{action.get('max_capacity')}"
        )
    if kind == "stop_tasks":
        return f"at {at}: StopTask on {action.get('count', 1)} task(s) of {service}"
    return f"at {at}: {kind} {service}"


def _describe_fault(fault: Mapping[str, Any]) -> str:
    kind = fault.get("kind")
    target = f" on {fault['service']}" if fault.get("service") else ""
    when = ""
    if fault.get("at") is not None:
        when = f" at {_seconds(fault['at'])}"
    elif fault.get("rate") is not None:
        when = f" at {float(fault['rate']) * 3600:.3g}/h per task"
    elif fault.get("probability") is not None:
        when = f" with probability {fault['probability']} ({fault.get('code')})"
    return f"{kind}{target}{when}"


def describe_scenario(scenario: Mapping[str, Any]) -> list[Block]:
    """What ran, in sentences, from a scenario dumped as JSON."""
    blocks: list[Block] = []
    if scenario.get("description"):
        blocks.append(Paragraph(str(scenario["description"])))
    blocks.append(
        Paragraph(
            f"Scenario {scenario.get('name')!s}: "
            f"{_seconds(scenario.get('duration'))} of simulated time from "
            f"{scenario.get('start')}, sampled every "
            f"{_seconds(scenario.get('sample_interval', 60.0))}, "
            f"cluster {(scenario.get('cluster') or {}).get('name', 'default')}."
        )
    )
    services = [s for s in scenario.get("services") or () if isinstance(s, Mapping)]
    blocks.append(Heading("Services", 3))
    blocks.append(BulletList(tuple(_describe_service(s) for s in services)))
    scheduled = [a for a in scenario.get("scheduled") or () if isinstance(a, Mapping)]
    faults = [f for f in scenario.get("faults") or () if isinstance(f, Mapping)]
    standalone = [
        s for s in scenario.get("standalone_tasks") or () if isinstance(s, Mapping)
    ]
    blocks.append(Heading("Scheduled actions and faults", 3))
    events = [_describe_action(a) for a in scheduled]
    events += [f"fault: {_describe_fault(f)}" for f in faults]
    events += [
        f"standalone tasks {s.get('name')}: {s.get('count', 1)} started with RunTask"
        for s in standalone
    ]
    blocks.append(BulletList(tuple(events)) if events else Paragraph("None."))
    return blocks


def _table(summary: pd.DataFrame, columns: Sequence[str]) -> Table:
    services = [str(s) for s in summary["service"]]
    rows = []
    for column in columns:
        if column not in summary.columns or column == "service":
            continue
        rows.append(
            (
                column,
                SUMMARY_COLUMNS.get(column, ""),
                *(format_value(column, v) for v in summary[column].tolist()),
            )
        )
    return Table(("outcome", "meaning", *services), tuple(rows))


def headline_columns(summary: pd.DataFrame) -> list[str]:
    """The headline outcomes worth showing for this summary (topics with data)."""
    columns: list[str] = []
    for topic, names in HEADLINE.items():
        if topic == "jobs" and not _any_positive(summary, "jobs_arrived"):
            continue
        if topic == "sessions" and not _any_positive(summary, "sessions_arrived"):
            continue
        if topic == "deployments" and not _any_positive(summary, "deployments_started"):
            continue
        columns += [n for n in names if n in summary.columns]
    return columns


def _any_positive(summary: pd.DataFrame, column: str) -> bool:
    return column in summary.columns and bool((summary[column].fillna(0) > 0).any())


# ---- writing and rendering --------------------------------------------------------------
def write_results(result: RunResult, out_dir: str | Path) -> Path:
    """Write *result* as a results folder at *out_dir* and return its path.

    Raises:
        ResultsFolderError: *out_dir* is a file or a non-empty folder that is
            not an ecssim results folder.
    """
    scenario = result.scenario
    target = Path(out_dir)
    with staged_folder(target) as staging:
        for name in TABLES:
            write_parquet(getattr(result, name), staging / f"{name}.parquet")
        write_json(
            _summary_json(
                result.summary,
                name=scenario.name,
                description=scenario.description,
                seed=result.seed,
                duration_s=scenario.duration_s,
                sample_interval_s=scenario.sample_interval_s,
            ),
            staging / "summary.json",
        )
        write_json(
            scenario.model_dump(mode="json", by_alias=True), staging / "scenario.json"
        )
        _render(staging)
    return target


def _summary_json(
    summary: pd.DataFrame,
    *,
    name: str,
    description: str,
    seed: int,
    duration_s: float,
    sample_interval_s: float,
) -> dict[str, Any]:
    return {
        "results": RUN_MARKER,
        "ecssim_version": __version__,
        "scenario": name,
        "description": description,
        "seed": seed,
        "duration_s": duration_s,
        "duration": format_duration(duration_s),
        "sample_interval_s": sample_interval_s,
        "columns": {c: SUMMARY_COLUMNS.get(c, "") for c in summary.columns},
        "services": [
            {str(k): v for k, v in row.items()}
            for row in summary.to_dict(orient="records")
        ],
    }


def render_report(out_dir: str | Path) -> Path:
    """Redraw the plots and rewrite the report of the run folder *out_dir*.

    Only the files of the folder are read, so this works on a folder copied
    to a machine without the scenario file.

    Returns:
        The path of ``report.html``.

    Raises:
        ResultsFolderError: *out_dir* is not an ecssim run results folder or
            misses one of its tables.
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise ResultsFolderError(f"{folder}: no such folder")
    if _marker(folder) != RUN_MARKER:
        raise ResultsFolderError(
            f"{folder}: not an ecssim run results folder (no summary.json "
            "written by ecssim run)"
        )
    return _render(folder)


def _render(folder: Path) -> Path:
    frames = {name: read_parquet(folder / f"{name}.parquet") for name in TABLES}
    try:
        meta = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        scenario = json.loads((folder / "scenario.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsFolderError(
            f"{folder}: cannot read summary.json or scenario.json ({exc})"
        ) from None
    timeseries, events, jobs = frames["timeseries"], frames["events"], frames["jobs"]
    summary = frames["summary"]
    services = [str(s) for s in dict.fromkeys(timeseries["service"])]

    figures: list[FigureRef] = []
    for service in services:
        path = folder / f"timeline-{service}.png"
        ax = timeline(timeseries, events, service)
        _replace_file(path, lambda p, ax=ax: save_png(ax, p))
        figures.append(
            FigureRef(
                path,
                f"{service}: desired, RUNNING and protected tasks, and the queue (or "
                "connected sessions) over time; shaded where protection blocked a "
                "scale-in, vertical lines at rollouts",
            )
        )
    if len(jobs):
        path = folder / "job-outcomes.png"
        ax = job_outcomes(jobs)
        _replace_file(path, lambda p, ax=ax: save_png(ax, p))
        figures.append(FigureRef(path, "How the queue jobs ended, per service"))
    path = folder / "protection-cost.png"
    ax = protection_cost(summary)
    _replace_file(path, lambda p, ax=ax: save_png(ax, p))
    figures.append(
        FigureRef(
            path,
            "Task-hours per service: busy, idle, and idle but kept alive by "
            "protection (what protection costs)",
        )
    )

    title = f"ecssim results: {meta.get('scenario', scenario.get('name'))}"
    blocks: list[Block] = [Heading(title, 1)]
    blocks.append(
        Paragraph(
            f"One run with seed {meta.get('seed')} of "
            f"{meta.get('duration', '?')} simulated time "
            f"(ecssim {meta.get('ecssim_version', '?')})."
        )
    )
    blocks.append(Heading("What ran"))
    blocks += describe_scenario(scenario)
    blocks.append(Heading("Headline outcomes"))
    blocks.append(
        Paragraph(
            "One column per service. Hours and task-hours are simulated time; "
            "'n/a' means there was nothing to measure."
        )
    )
    blocks.append(_table(summary, headline_columns(summary)))
    blocks.append(Heading("Figures"))
    blocks += figures
    blocks.append(Heading("All outcomes"))
    all_columns = [c for c in summary.columns if c != "service"]
    full = _table(summary, all_columns)
    blocks.append(
        Table(full.header, full.rows, collapsed=f"All {len(all_columns)} outcomes")
    )
    blocks.append(Heading("Files"))
    blocks.append(
        BulletList(
            (
                "events.parquet: every recorded event (time_s, kind, service, task, "
                "reason, detail as JSON)",
                "timeseries.parquet: one row per service per sample interval",
                "jobs.parquet: one row per queue message; sessions.parquet: one "
                "row per game session",
                "summary.parquet and summary.json: the outcomes above, one row per "
                "service (NaN is null in JSON)",
                "scenario.json: the validated scenario with every default filled in",
            )
        )
    )
    blocks.append(Heading("Modelling caveats"))
    blocks.append(Paragraph(FIDELITY_NOTE))

    report_md = folder / "report.md"
    _replace_file(
        report_md, lambda p: p.write_text(to_markdown(blocks), encoding="utf-8")
    )
    report_html = folder / "report.html"
    _replace_file(
        report_html,
        lambda p: p.write_text(to_html(blocks, title, folder), encoding="utf-8"),
    )
    return report_html
