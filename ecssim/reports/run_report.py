"""Results folders: a run's tables, summary, plots and one-page report on disk.

:func:`write_results` turns a :class:`~ecssim.model.result.RunResult` into a folder
a person can open without Python::

    events.parquet  timeseries.parquet  jobs.parquet  sessions.parquet
    summary.parquet summary.json        scenario.json
    timeline-<service>.png  protection-cost.png
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

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

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
    PARQUET_ROW_GROUP,
    RUN_MARKER,
    TABLES,
    ResultsFolderError,
    folder_marker,
    read_parquet,
    replace_file,
    staged_folder,
    timeline_name,
    write_json,
    write_parquet,
    write_parquet_parts,
)
from ecssim.results.capacity import Prices, provider_outcomes
from ecssim.results.metrics import COUNTED_KINDS, SUMMARY_COLUMNS
from ecssim.rules.instance_types import INSTANCE_TYPES
from ecssim.units import format_duration
from ecssim.version import __version__

if TYPE_CHECKING:
    from ecssim.model.result import RunResult


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
        "cost_usd",
    ),
    "ec2": (
        "instance_hours",
        "idle_instance_hours",
        "instance_hours_held_by_protection",
        "cpu_reservation",
        "memory_reservation",
        "tasks_waited_for_capacity",
        "capacity_wait_p95_s",
        "asg_scale_ins_blocked",
        "spot_instance_interruptions",
        "tasks_killed_by_instance_termination",
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
        "protection_lapsed_while_busy",
        "tasks_killed",
    ),
}

#: Outcomes worth a phrase when they are above 0, most telling first.
NOTABLE: Final = (
    ("sessions_interrupted", "{} sessions cut off when their task stopped"),
    ("jobs_interrupted", "{} jobs interrupted mid-work"),
    ("lost_work_hours", "{} hours of work lost"),
    ("protection_lapsed_while_busy", "protection lapsed {} times on a busy task"),
    ("failures_deployment_blocked", "{} protection calls refused (DEPLOYMENT_BLOCKED)"),
    ("failures_task_not_valid", "{} protection calls refused (TASK_NOT_VALID)"),
    ("failures_missing", "{} protection calls for missing tasks (MISSING)"),
    ("throttles", "{} protection calls throttled"),
    ("injected_api_errors", "{} injected protection API errors"),
    ("worker_hangs", "{} workers hung"),
    ("tasks_killed", "{} tasks killed at their stop timeout"),
    ("task_crashes", "{} tasks crashed"),
    ("spot_interruptions", "{} Spot interruptions"),
    (
        "tasks_killed_by_instance_termination",
        "{} tasks killed with their instance",
    ),
    (
        "instance_hours_held_by_protection",
        "{} instance-hours held only by protected idle tasks",
    ),
    ("sessions_dropped", "{} sessions dropped waiting for a slot"),
    ("jobs_dead_lettered", "{} jobs dead-lettered"),
    ("scale_ins_blocked", "protection held up scale-in or a rollout {} times"),
    ("deployments_in_progress_at_end", "{} rollouts still in progress at the end"),
    (
        "deployments_over_cloudformation_timeout",
        "{} rollouts longer than CloudFormation's 3 hours",
    ),
)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return 0.0
    number = float(value)
    return number if math.isfinite(number) else 0.0


def notable_outcomes(row: Mapping[str, Any]) -> list[str]:
    """Phrases for the outcomes of one summary row that are above 0, most telling
    first (what the CLI's one-line summary and a report's opening lead with)."""
    phrases = []
    for column, phrase in NOTABLE:
        value = row.get(column)
        if _number(value) > 0:
            text = phrase.format(format_value(column, value))
            if column == "scale_ins_blocked":
                text += (
                    f" ({format_value('blocked_hours', row.get('blocked_hours'))} h)"
                )
            phrases.append(text)
    return phrases


def what_happened(summary: pd.DataFrame) -> list[str]:
    """One sentence per service of *summary*: the work, the cost, and what went wrong."""
    sentences = []
    for record in summary.to_dict(orient="records"):
        row = {str(k): v for k, v in record.items()}
        parts = []
        if _number(row.get("jobs_arrived")) > 0:
            parts.append(
                f"{format_value('jobs_arrived', row['jobs_arrived'])} jobs arrived and "
                f"{format_value('jobs_completed', row.get('jobs_completed'))} completed"
            )
        if _number(row.get("sessions_arrived")) > 0:
            parts.append(
                f"{format_value('sessions_arrived', row['sessions_arrived'])} sessions "
                f"arrived and "
                f"{format_value('sessions_completed', row.get('sessions_completed'))} "
                "ended normally"
            )
        cost = f"{format_value('task_hours', row.get('task_hours'))} task-hours"
        idle_protected = _number(row.get("idle_protected_task_hours"))
        if idle_protected > 0:
            cost += (
                f" ({format_value('idle_protected_task_hours', idle_protected)} of "
                "them idle but protected)"
            )
        if _number(row.get("instance_hours")) > 0:
            cost += (
                f" on {format_value('instance_hours', row['instance_hours'])} "
                "instance-hours"
            )
        if _number(row.get("cost_usd")) > 0:
            cost += f", ${row['cost_usd']:,.2f}"
        parts.append(cost)
        notable = notable_outcomes(row)
        tail = "; ".join(notable) if notable else "no interruptions, refusals or faults"
        sentences.append(f"{row.get('service')}: {', '.join(parts)}; {tail}.")
    return sentences


# ---- formatting ------------------------------------------------------------------------
def format_value(column: str, value: Any) -> str:
    """A cell of a report, in one format everywhere: counts as integers with
    thousands separators, other numbers with 3 significant digits (one decimal
    from 100 up), seconds with their unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        unit = " s" if column.endswith("_s") else ""
        if value.is_integer() and not column.endswith(("_hours", "_s")):
            return f"{int(value):,}"
        if abs(value) >= 100:
            return f"{value:,.1f}{unit}"
        return f"{value:.3g}{unit}"
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


def scenario_prices(scenario: Mapping[str, Any]) -> Prices:
    """The prices of a results folder's ``scenario.json``: its ``prices`` over
    the defaults, with the bundled and the scenario's instance types."""
    raw = scenario.get("prices") or {}
    hourly = {name: t.on_demand_hourly_usd for name, t in INSTANCE_TYPES.items()}
    for name, config in (scenario.get("instance_types") or {}).items():
        hourly[name] = float(config.get("on_demand_hourly_usd", math.nan))
    hourly |= {k: float(v) for k, v in (raw.get("instance_hourly_usd") or {}).items()}
    defaults = Prices()
    return Prices(
        fargate_vcpu_hour_usd=float(
            raw.get("fargate_vcpu_hour_usd", defaults.fargate_vcpu_hour_usd)
        ),
        fargate_gb_hour_usd=float(
            raw.get("fargate_gb_hour_usd", defaults.fargate_gb_hour_usd)
        ),
        fargate_spot_discount=float(
            raw.get("fargate_spot_discount", defaults.fargate_spot_discount)
        ),
        ec2_spot_discount=float(
            raw.get("ec2_spot_discount", defaults.ec2_spot_discount)
        ),
        instance_hourly_usd=tuple(sorted(hourly.items())),
    )


def provider_table(providers: pd.DataFrame) -> Table:
    """One row per capacity provider of :func:`provider_outcomes`."""
    columns = [c for c in providers.columns if c != "capacity_provider"]
    return Table(
        ("capacity provider", *columns),
        tuple(
            (
                str(row["capacity_provider"]),
                *(format_value(c, row[c]) for c in columns),
            )
            for _, row in providers.iterrows()
        ),
    )


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
        if topic == "ec2" and not _any_positive(summary, "instance_hours"):
            continue
        columns += [n for n in names if n in summary.columns]
    return columns


#: Rows of :func:`job_outcomes_table`: label and the job outcomes it counts.
_JOB_ROWS: Final = (
    ("completed", ("completed",)),
    ("in flight at the end", ("in_flight",)),
    ("still waiting at the end", ("queued", "invisible")),
    ("dead-lettered", ("dead_lettered",)),
)


def job_outcomes_table(jobs: pd.DataFrame) -> Table:
    """How the queue jobs ended, one column per service (counts and shares)."""
    services = [str(s) for s in dict.fromkeys(jobs["service"])]
    mine = {name: jobs[jobs["service"] == name] for name in services}

    def cell(count: int, total: int) -> str:
        share = f" ({100 * count / total:.1f} %)" if total else ""
        return f"{count:,}{share}"

    rows = []
    for label, outcomes in _JOB_ROWS:
        rows.append(
            (
                label,
                *(
                    cell(int(f["outcome"].isin(outcomes).sum()), len(f))
                    for f in mine.values()
                ),
            )
        )
    rows.append(
        (
            "interrupted at least once (any of the above)",
            *(cell(int((f["interruptions"] > 0).sum()), len(f)) for f in mine.values()),
        )
    )
    rows.append(("arrived", *(f"{len(f):,}" for f in mine.values())))
    return Table(("jobs", *services), tuple(rows))


def timeline_caption(
    timeseries: pd.DataFrame, events: pd.DataFrame, service: str
) -> str:
    """What the timeline of *service* shows, and only that."""
    rows = timeseries[timeseries["service"] == service]
    mine = events[events["service"] == service]
    sessions = bool(rows["sessions"].any()) and not bool(rows["queued"].any())
    text = (
        f"{service}: desired, RUNNING and protected tasks, and "
        f"{'connected sessions' if sessions else 'queued messages'} (right axis), "
        "sampled every sample interval"
    )
    if bool((mine["kind"] == "scale_in_blocked").any()):
        text += "; shaded where protection blocked a scale-in or rollout"
    if int((mine["kind"] == "deployment_started").sum()) > 1:
        text += (
            "; vertical lines where rollouts started (dashed) and completed (dotted)"
        )
    return text


def _any_positive(summary: pd.DataFrame, column: str) -> bool:
    return column in summary.columns and bool((summary[column].fillna(0) > 0).any())


# ---- writing and rendering --------------------------------------------------------------
def write_results(
    result: RunResult, out_dir: str | Path, *, force: bool = False
) -> Path:
    """Write *result* as a results folder at *out_dir* and return its path.

    An earlier run's folder there is replaced; a sweep's only with *force*.

    Raises:
        ResultsFolderError: *out_dir* is a file, a non-empty folder that is
            not an ecssim results folder, or (without *force*) a sweep folder;
            or the disk refused a write (the message names *out_dir*).
    """
    scenario = result.scenario
    target = Path(out_dir)
    with staged_folder(target, kind=RUN_MARKER, force=force) as staging:
        for name in TABLES:
            path = staging / f"{name}.parquet"
            if name == "events":  # the events of a long run: a part at a time
                write_parquet_parts(result.event_parts(PARQUET_ROW_GROUP), path)
            else:
                write_parquet(getattr(result, name), path)
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
    if folder_marker(folder) != RUN_MARKER:
        raise ResultsFolderError(
            f"{folder}: not an ecssim run results folder (no summary.json "
            "written by ecssim run)"
        )
    return _render(folder)


def _render(folder: Path) -> Path:
    # matplotlib only when drawing: sweep workers never draw
    from ecssim.reports.plotting import protection_cost, save_png, timeline  # noqa: PLC0415

    frames = {
        name: read_parquet(folder / f"{name}.parquet")
        for name in TABLES
        if name != "events"
    }
    # the report reads the frequent per-task kinds only to follow tasks on instances
    frames["events"] = read_parquet(
        folder / "events.parquet", leave_out_kinds=COUNTED_KINDS
    )
    if bool((frames["events"]["kind"] == "instance_launched").any()):
        frames["events"] = read_parquet(folder / "events.parquet")
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
        path = folder / timeline_name(service)
        ax = timeline(timeseries, events, service)
        replace_file(path, lambda p, ax=ax: save_png(ax, p))
        figures.append(FigureRef(path, timeline_caption(timeseries, events, service)))
    path = folder / "protection-cost.png"
    ax = protection_cost(summary)
    replace_file(path, lambda p, ax=ax: save_png(ax, p))
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
    blocks.append(Heading("What happened"))
    blocks.append(BulletList(tuple(what_happened(summary))))
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
    if len(jobs):
        blocks.append(Heading("How the queue jobs ended"))
        blocks.append(job_outcomes_table(jobs))
    providers = provider_outcomes(
        events,
        prices=scenario_prices(scenario),
        duration_s=float(meta.get("duration_s", scenario.get("duration", 0.0))),
        measure_from_s=float(scenario.get("measure_from", 0.0) or 0.0),
    )
    if len(providers):
        blocks.append(Heading("EC2 capacity providers"))
        blocks.append(
            Paragraph(
                "The cluster's Auto Scaling group capacity providers: instances "
                "launched, instance-hours (idle: no non-daemon task; held by "
                "protection: every non-daemon task protected and idle), "
                "bin-packing, blocked scale-ins, Spot notices, tasks killed with "
                "their instance and what the instances cost."
            )
        )
        blocks.append(provider_table(providers))
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
                "events.parquet: every recorded event (time_s, its UTC timestamp, "
                "kind, service, task, reason, detail as JSON)",
                "timeseries.parquet: one row per service per sample interval "
                "(time_s and its UTC timestamp first)",
                "jobs.parquet: one row per queue message; sessions.parquet: one "
                "row per game session",
                "summary.parquet and summary.json: the outcomes above, one row per "
                "service (NaN is null in JSON)",
                "scenario.json: the validated scenario with every default filled in",
            )
        )
    )
    blocks.append(Heading("Modelling caveats"))
    blocks += caveat_blocks()

    report_md = folder / "report.md"
    replace_file(
        report_md, lambda p: p.write_text(to_markdown(blocks), encoding="utf-8")
    )
    report_html = folder / "report.html"
    replace_file(
        report_html,
        lambda p: p.write_text(to_html(blocks, title, folder), encoding="utf-8"),
    )
    return report_html
