"""Plots of a run or a sweep: the only module that imports matplotlib.

Every function takes tidy frames (as a run returns them, or as they are read
back from a results folder), draws on the given ``ax`` or on a new figure's,
and returns the Axes. Nothing here touches pyplot or the global rcParams: new
figures are plain :class:`~matplotlib.figure.Figure` objects on the Agg
canvas, so plotting never opens a window and never leaks figures.
:func:`save_png` writes a figure as a byte-for-byte reproducible PNG.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ecssim.results.metrics import SUMMARY_COLUMNS

#: Resolution of every PNG ecssim writes; fixed so that files are reproducible.
PNG_DPI: Final = 100

_COLOURS: Final = {
    "desired": "#1f77b4",
    "running": "#2ca02c",
    "protected": "#d62728",
    "queue": "#7f7f7f",
    "deployment_started": "#9467bd",
    "deployment_completed": "#8c564b",
    "blocked": "#ff7f0e",
    "busy": "#2ca02c",
    "idle": "#c7c7c7",
    "idle_protected": "#d62728",
    "instances": "#17becf",
}
_SECONDS_PER_HOUR: Final = 3600.0


def _short(name: str, limit: int = 60) -> str:
    """*name* as a title shows it: a long one (ECS allows 255 characters) cut."""
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def new_axes(width_in: float = 10.0, height_in: float = 5.0) -> Axes:
    """The Axes of a new Agg figure of the given size (inches), outside pyplot."""
    figure = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(figure)
    return figure.add_subplot()


def save_png(ax: Axes, path: str | Path) -> Path:
    """Write the figure that holds *ax* to *path* as a reproducible PNG.

    The PNG carries no software version or timestamp, and the resolution is
    fixed (:data:`PNG_DPI`), so the same data gives the same bytes.
    """
    figure = ax.get_figure(root=True)
    if not isinstance(figure, Figure):  # pragma: no cover - Axes always have one
        raise TypeError("the Axes is not on a figure")
    target = Path(path)
    figure.savefig(target, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return target


def _hours(seconds: pd.Series | np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.asarray(seconds, dtype=float) / _SECONDS_PER_HOUR


def _detail(text: object) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _blocked_spans(events: pd.DataFrame, end_s: float) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch during which protection blocked."""
    spans: list[tuple[float, float]] = []
    since: float | None = None
    for time_s, kind in zip(events["time_s"], events["kind"], strict=True):
        if kind == "scale_in_blocked" and since is None:
            since = float(time_s)
        elif kind == "scale_in_unblocked" and since is not None:
            spans.append((since, float(time_s)))
            since = None
    if since is not None:
        spans.append((since, max(end_s, since)))
    return spans


def instance_steps(
    events: pd.DataFrame,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """EC2 instances of the run's Auto Scaling groups over time: (times,
    counts) of a step function, launches up and terminations down; empty
    arrays without instances."""
    rows = events[events["kind"].isin(["instance_launched", "instance_terminated"])]
    if rows.empty:
        return np.array([], dtype=float), np.array([], dtype=float)
    change = np.where(rows["kind"] == "instance_launched", 1.0, -1.0)
    frame = pd.DataFrame({"time_s": rows["time_s"].to_numpy(dtype=float), "d": change})
    steps = frame.groupby("time_s", sort=True)["d"].sum().cumsum()
    return steps.index.to_numpy(dtype=float), steps.to_numpy(dtype=float)


def _deployment_marks(events: pd.DataFrame) -> list[tuple[str, float]]:
    """(kind, seconds) of rollouts started after the first and of their completions."""
    marks: list[tuple[str, float]] = []
    first: str | None = None
    seen_start = False
    for time_s, kind, detail in zip(
        events["time_s"], events["kind"], events["detail"], strict=True
    ):
        if kind == "deployment_started":
            if not seen_start:
                seen_start = True
                first = _detail(detail).get("deployment")
                continue
            marks.append((kind, float(time_s)))
        elif kind == "deployment_completed":
            if first is not None and _detail(detail).get("deployment") == first:
                continue  # the service's creation, not a rollout
            marks.append((kind, float(time_s)))
    return marks


#: Markers along the top of a timeline's task panel: (label, colour, marker,
#: height in axes fraction) by what they mark.
_MARKERS: Final = {
    "refused": ("protection refused (DEPLOYMENT_BLOCKED)", "#d62728", "x", 0.96),
    "fault": ("fault (hang, crash, Spot)", "#000000", "v", 0.90),
    "interrupted": ("job or session interrupted", "#ff7f0e", "|", 0.84),
    "api_error": ("injected protection API error", "#7f7f7f", ".", 0.78),
}


def _marker_times(events: pd.DataFrame) -> dict[str, list[float]]:
    """Seconds of each marked event of one service, by :data:`_MARKERS` key."""
    kind, reason = events["kind"], events["reason"]
    picks = {
        "refused": (kind == "protection_failed") & (reason == "DEPLOYMENT_BLOCKED"),
        "fault": kind.isin(["fault_injected", "worker_hung"]),
        "interrupted": kind.isin(["job_interrupted", "session_interrupted"]),
        "api_error": kind == "protection_call_error",
    }
    return {
        key: [float(t) for t in events.loc[mask.fillna(False), "time_s"]]
        for key, mask in picks.items()
    }


_MPL_EPOCH: Final = pd.Timestamp("1970-01-01")


class _Clock:
    """Simulated seconds to x values: UTC dates when the time series has a
    timestamp column (matplotlib date numbers), else hours."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self.epoch: pd.Timestamp | None = None
        if "timestamp" in rows.columns and len(rows):
            first = pd.Timestamp(rows["timestamp"].iloc[0])
            if first.tzinfo is not None:
                first = first.tz_convert("UTC").tz_localize(None)
            self.epoch = first - pd.Timedelta(seconds=float(rows["time_s"].iloc[0]))

    def x(
        self, seconds: Sequence[float] | np.ndarray[Any, Any]
    ) -> np.ndarray[Any, Any]:
        values = np.asarray(seconds, dtype=float)
        if self.epoch is None:
            return values / _SECONDS_PER_HOUR
        # matplotlib's date numbers: days since its epoch (1970-01-01 by default)
        start_days = (self.epoch - _MPL_EPOCH).total_seconds() / 86400.0
        return np.asarray(start_days + values / 86400.0, dtype=float)

    def format(self, ax: Axes) -> None:
        if self.epoch is None:
            ax.set_xlabel("simulated time [h]")
            return
        # matplotlib.dates has no type hints
        locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_locator(locator)
        formatter = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(formatter)
        ax.set_xlabel("time (UTC)")


def timeline(
    timeseries: pd.DataFrame,
    events: pd.DataFrame,
    service: str,
    ax: Axes | None = None,
    *,
    work_ax: Axes | None = None,
) -> Axes:
    """Tasks of *service* over time, with its queue or sessions, faults,
    refusals, interruptions, rollouts and blocked scale-ins (and the EC2
    instances of the cluster's Auto Scaling groups when there are any).

    Two panels on one time axis: above, the desired count (a step), RUNNING
    and protected tasks; below, the queue (messages waiting) or the connected
    sessions, with whole-number ticks. Along the top of the task panel,
    markers show protection refused with DEPLOYMENT_BLOCKED, faults (a worker
    hang, a task crash, a Spot interruption), interrupted jobs or sessions,
    and injected protection API errors; rollouts are vertical lines (dashed
    when one starts, dotted when it completes; the service's creation is left
    out) and stretches during which protection blocked a scale-in or a
    rollout are shaded. The time axis is UTC wall-clock time when the time
    series has its ``timestamp`` column, else simulated hours.

    Args:
        timeseries: the run's time series (``time_s, service, desired, ...``).
        events: the run's events (``time_s, kind, service, task, reason, detail``).
        service: which service to draw.
        ax: draw the tasks here; a new figure's Axes when not given.
        work_ax: draw the queue or sessions here; when *ax* is given without
            it, on a twin (right-hand) axis of *ax*.

    Returns:
        The Axes with the task counts.

    Raises:
        KeyError: *service* has no rows in *timeseries*.
    """
    rows = timeseries[timeseries["service"] == service]
    if rows.empty:
        raise KeyError(f"no time series rows for service {service!r}")
    twin = False
    if ax is None:
        figure = Figure(figsize=(11.0, 6.0), layout="constrained")
        FigureCanvasAgg(figure)
        ax, work_ax = figure.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3]}
        )
    elif work_ax is None:
        work_ax = ax.twinx()
        twin = True
    assert work_ax is not None
    mine = events[events["service"] == service]
    clock = _Clock(rows)
    xs = clock.x(rows["time_s"].to_numpy(dtype=float))
    end_s = float(rows["time_s"].max())

    handles: list[Any] = []
    for start_s, stop_s in _blocked_spans(mine, end_s):
        ax.axvspan(
            float(clock.x([start_s])[0]),
            float(clock.x([stop_s])[0]),
            color=_COLOURS["blocked"],
            alpha=0.15,
            linewidth=0,
        )
    # RUNNING underneath and wide, desired dashed on top: where they agree,
    # both stay visible
    (running,) = ax.step(
        xs,
        rows["running"].to_numpy(dtype=float),
        where="post",
        color=_COLOURS["running"],
        linewidth=2.6,
        alpha=0.7,
        zorder=2,
        label="RUNNING tasks",
    )
    (desired,) = ax.step(
        xs,
        rows["desired"].to_numpy(dtype=float),
        where="post",
        color=_COLOURS["desired"],
        linewidth=1.4,
        linestyle="--",
        zorder=4,
        label="desired count",
    )
    (protected,) = ax.step(
        xs,
        rows["protected"].to_numpy(dtype=float),
        where="post",
        color=_COLOURS["protected"],
        linewidth=1.2,
        alpha=0.85,
        label="protected tasks",
    )
    handles += [desired, running, protected]
    top = float(rows[["desired", "running", "protected"]].to_numpy().max())
    instance_times, instance_counts = instance_steps(events)
    if len(instance_times):
        # EC2 capacity: the group's instances on the same count axis, held to
        # the end of the run
        held_to = np.append(instance_times, max(end_s, float(instance_times[-1])))
        counts = np.append(instance_counts, instance_counts[-1])
        (instances,) = ax.step(
            clock.x(held_to),
            counts,
            where="post",
            color=_COLOURS["instances"],
            linewidth=1.6,
            label="EC2 instances (cluster)",
        )
        handles.append(instances)
        top = max(top, float(instance_counts.max()))

    sessions = rows["sessions"].to_numpy(dtype=float)
    queued = rows["queued"].to_numpy(dtype=float)
    if sessions.any() and not queued.any():
        work_values, work_label = sessions, "connected sessions"
        work_axis, work = "connected sessions", "sessions"
    else:
        work_values, work_label = queued, "queued messages"
        work_axis, work = "queue [messages]", "queue"
    (queue,) = work_ax.step(
        xs,
        work_values,
        where="post",
        color=_COLOURS["queue"],
        linewidth=1.0,
        label=f"{work_label} (right axis)" if twin else work_label,
    )
    work_ax.set_ylabel(work_axis)
    work_ax.set_ylim(bottom=0, top=max(1.0, float(work_values.max()) * 1.1))
    work_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if twin:
        handles.append(queue)

    marks = _deployment_marks(mine)
    styles: dict[str, tuple[Literal["--", ":"], str]] = {
        "deployment_started": ("--", "rollout started"),
        "deployment_completed": (":", "rollout completed"),
    }
    shown: set[str] = set()
    for kind, time_s in marks:
        style, _ = styles[kind]
        ax.axvline(
            float(clock.x([time_s])[0]),
            color=_COLOURS[kind],
            linestyle=style,
            linewidth=1.5,
        )
        shown.add(kind)
    for kind in ("deployment_started", "deployment_completed"):
        if kind in shown:
            style, label = styles[kind]
            handles.append(
                Line2D([], [], color=_COLOURS[kind], linestyle=style, label=label)
            )
    if _blocked_spans(mine, end_s):
        handles.append(
            Patch(
                facecolor=_COLOURS["blocked"],
                alpha=0.3,
                label="scale-in blocked by protection",
            )
        )
    for key, times in _marker_times(mine).items():
        if not times:
            continue
        label, colour, marker, height = _MARKERS[key]
        (dots,) = ax.plot(
            clock.x(times),
            [height] * len(times),
            linestyle="none",
            marker=marker,
            color=colour,
            markersize=6,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            label=f"{label} ({len(times)})",
        )
        handles.append(dots)

    ax.set_xlim(
        float(xs.min()), float(xs.max()) if len(xs) > 1 else float(xs.min()) + 1
    )
    ax.set_ylim(0, top * 1.25 + 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if twin:
        # the task lines above the queue line, and the legend above both
        ax.set_zorder(work_ax.get_zorder() + 1)
        ax.patch.set_visible(False)
        clock.format(ax)
    else:
        clock.format(work_ax)
        work_ax.grid(True, alpha=0.3)
        ax.tick_params(labelbottom=False)
    ax.set_ylabel("tasks")
    ax.set_title(f"{_short(service)}: tasks, protection and {work} over time")
    ax.grid(True, alpha=0.3)
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize="small",
        frameon=False,
    )
    return ax


def stacked_timelines(
    panels: Sequence[tuple[str, pd.DataFrame, pd.DataFrame]], service: str
) -> Axes:
    """:func:`timeline` of *service* for several runs, one above the other.

    Args:
        panels: ``(label, timeseries, events)`` per run, drawn top to bottom
            with the label in each panel's title, on one time axis.
        service: the service to draw in every panel.

    Returns:
        The top panel's Axes (its figure holds them all).

    Raises:
        KeyError: a run has no time series rows for *service*.
    """
    figure = Figure(figsize=(11.0, 5.0 * len(panels)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(
        2 * len(panels),
        1,
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1.3] * len(panels)},
    )[:, 0]
    for index, (label, timeseries, events) in enumerate(panels):
        tasks_ax, work_ax = axes[2 * index], axes[2 * index + 1]
        timeline(timeseries, events, service, ax=tasks_ax, work_ax=work_ax)
        tasks_ax.set_title(f"{label}: {_short(service)}")
        work_ax.tick_params(labelbottom=True)
    top: Axes = axes[0]
    return top


#: Bars of :func:`job_outcomes`: label and how to count it from the jobs frame.
_JOB_BARS: Final = (
    ("completed", "completed"),
    ("interrupted at least once", "interrupted"),
    ("dead-lettered", "dead_lettered"),
    ("in flight at the end", "in_flight"),
    ("still waiting at the end", "waiting"),
)


def _job_counts(jobs: pd.DataFrame) -> dict[str, int]:
    outcome = jobs["outcome"]
    return {
        "completed": int((outcome == "completed").sum()),
        "interrupted": int((jobs["interruptions"] > 0).sum()),
        "dead_lettered": int((outcome == "dead_lettered").sum()),
        "in_flight": int((outcome == "in_flight").sum()),
        "waiting": int(outcome.isin(["queued", "invisible"]).sum()),
    }


def job_outcomes(jobs: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """How the queue jobs of each service ended, as grouped bars.

    Bars per service: completed, interrupted at least once (a job can also be
    in one of the other bars), dead-lettered, in flight and still waiting
    (queued or invisible) when the run ended.

    Args:
        jobs: the run's jobs (``job, service, outcome, interruptions, ...``).
        ax: draw here; a new figure's Axes when not given.

    Returns:
        The Axes.
    """
    if ax is None:
        ax = new_axes(9.0, 4.5)
    services = list(dict.fromkeys(str(s) for s in jobs["service"]))
    ax.set_title("Queue jobs by outcome (interrupted jobs may also count elsewhere)")
    ax.set_ylabel("jobs")
    if not services:
        ax.text(0.5, 0.5, "no queue jobs in this run", ha="center", va="center")
        ax.set_xticks([])
        return ax
    width = 0.8 / len(_JOB_BARS)
    positions = np.arange(len(services), dtype=float)
    counts = [_job_counts(jobs[jobs["service"] == s]) for s in services]
    for i, (label, key) in enumerate(_JOB_BARS):
        heights = [c[key] for c in counts]
        bars = ax.bar(
            positions + (i - (len(_JOB_BARS) - 1) / 2) * width,
            heights,
            width=width,
            label=label,
        )
        ax.bar_label(bars, fontsize="x-small")
    ax.set_xticks(positions, services)
    ax.set_xlabel("service")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def protection_cost(summary: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Busy, idle and idle-but-protected task-hours per service, stacked.

    The three parts add up to the service's RUNNING task-hours; the red part
    is capacity that protection kept alive with no work in hand.

    Args:
        summary: a run's summary (one row per service).
        ax: draw here; a new figure's Axes when not given.

    Returns:
        The Axes.
    """
    if ax is None:
        ax = new_axes(9.0, 4.5)
    services = [_short(str(s), 40) for s in summary["service"]]
    busy = summary["busy_task_hours"].to_numpy(dtype=float)
    idle_protected = summary["idle_protected_task_hours"].to_numpy(dtype=float)
    idle_free = np.clip(
        summary["idle_task_hours"].to_numpy(dtype=float) - idle_protected, 0.0, None
    )
    positions = np.arange(len(services), dtype=float)
    bottom = np.zeros(len(services))
    for values, label, colour in (
        (busy, "busy (work in hand)", _COLOURS["busy"]),
        (idle_free, "idle, unprotected", _COLOURS["idle"]),
        (
            idle_protected,
            "idle but protected (protection's cost)",
            _COLOURS["idle_protected"],
        ),
    ):
        ax.bar(positions, values, bottom=bottom, color=colour, label=label, width=0.5)
        bottom = bottom + values
    for x, total in zip(positions, bottom, strict=True):
        ax.annotate(
            f"{total:.1f}",
            (x, total),
            ha="center",
            va="bottom",
            fontsize="small",
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xticks(positions, services)
    ax.set_xlim(-0.75, len(services) - 0.25)
    ax.set_ylim(0, max(float(bottom.max(initial=0.0)), 1.0) * 1.15)
    ax.set_xlabel("service")
    ax.set_ylabel("task-hours")
    ax.set_title("Where the task-hours went: busy, idle, idle but protected")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def _axis_label(column: str) -> str:
    """The plain-word meaning of a summary column, else its name with its unit."""
    meaning = SUMMARY_COLUMNS.get(column)
    if meaning:
        return f"{column}: {meaning}"
    for suffix, unit in (("_task_hours", "task-hours"), ("_hours", "h"), ("_s", "s")):
        if column.endswith(suffix):
            return f"{column.removesuffix(suffix).replace('_', ' ')} [{unit}]"
    return column.replace("_", " ")


#: Offsets (points) of successive point labels on a trade-off plot, in turn.
_LABEL_OFFSETS: Final = ((6, 4), (6, -11), (-6, 4), (-6, -11))


def tradeoff(
    sweep_summary: pd.DataFrame,
    x: str = "idle_protected_task_hours",
    y: str = "job_interruptions",
    by: str | None = None,
    ax: Axes | None = None,
    *,
    annotate: Sequence[str] = (),
    runs: pd.DataFrame | None = None,
) -> Axes:
    """One point per sweep grid point: mean *x* against mean *y*, with 95 % CIs.

    Put the cost (``task_hours``) on *x* to read it as a trade-off: further
    left is cheaper, lower has fewer interruptions.

    Args:
        sweep_summary: a sweep's means (one row per grid point and service,
            the mean of each outcome in its own column and the half-width of
            its 95 % confidence interval in ``<column>_ci95``).
        x: outcome on the horizontal axis.
        y: outcome on the vertical axis.
        by: a parameter column; points sharing its value share a colour and a
            legend entry. Without it every row is its own legend entry.
        ax: draw here; a new figure's Axes when not given.
        annotate: columns whose values are written beside each point (the
            other parameters of a grid with more than one); labels of nearby
            points are offset in turn so that they do not sit on each other.
        runs: the sweep's runs (one row per run, ``point`` and ``service``
            columns); when given, every replication is drawn faintly beside
            its mean.

    Returns:
        The Axes.

    Raises:
        KeyError: *x*, *y*, *by* or an *annotate* column is not a column of
            *sweep_summary*.
    """
    for column in (x, y, *([by] if by is not None else []), *annotate):
        if column not in sweep_summary.columns:
            raise KeyError(f"{column!r} is not a column of the sweep summary")
    if ax is None:
        ax = new_axes(8.0, 5.5)
    frame = sweep_summary.reset_index(drop=True)
    services = (
        list(dict.fromkeys(str(s) for s in frame["service"]))
        if "service" in frame.columns
        else []
    )
    several = len(services) > 1
    markers = ("o", "s", "^", "D", "v", "P", "X", "*")

    def error(column: str, rows: pd.DataFrame) -> np.ndarray[Any, Any] | None:
        name = f"{column}_ci95"
        if name not in rows.columns:
            return None
        values: np.ndarray[Any, Any] = rows[name].fillna(0.0).to_numpy(dtype=float)
        return values

    placed = 0
    if by is None:
        keys: list[Any] = list(range(len(frame)))
        groups = [(k, frame.iloc[[k]]) for k in keys]
    else:
        values = list(dict.fromkeys(frame[by].tolist()))
        groups = [(v, frame[frame[by].isin([v])]) for v in values]
    for index, (key, rows) in enumerate(groups):
        for service_index, service in enumerate(services or [""]):
            part = rows[rows["service"] == service] if services else rows
            if part.empty:
                continue
            label = str(key) if by is not None else f"grid point {key}"
            if several:
                label = f"{service}: {label}"
            if runs is not None and "point" in part.columns:
                mine = runs[runs["point"].isin(part["point"])]
                if services:
                    mine = mine[mine["service"] == service]
                ax.scatter(
                    mine[x].to_numpy(dtype=float),
                    mine[y].to_numpy(dtype=float),
                    marker=markers[service_index % len(markers)],
                    color=f"C{index % 10}",
                    alpha=0.45,
                    s=22,
                    linewidths=0,
                )
            ax.errorbar(
                part[x].to_numpy(dtype=float),
                part[y].to_numpy(dtype=float),
                xerr=error(x, part),
                yerr=error(y, part),
                fmt=markers[service_index % len(markers)],
                color=f"C{index % 10}",
                capsize=4,
                markersize=7,
                label=label,
            )
            for _, row in part.iterrows():
                if annotate:
                    dx, dy = _LABEL_OFFSETS[placed % len(_LABEL_OFFSETS)]
                    placed += 1
                    ax.annotate(
                        ", ".join(f"{c}={row[c]}" for c in annotate),
                        (float(row[x]), float(row[y])),
                        xytext=(dx, dy),
                        textcoords="offset points",
                        ha="left" if dx >= 0 else "right",
                        fontsize="x-small",
                    )
    faint = "; faint: each replication" if runs is not None else ""
    ax.set_xlabel(f"{_axis_label(x)}\n(mean of replications)", wrap=True)
    ax.set_ylabel(f"{_axis_label(y)}\n(mean of replications)", wrap=True)
    ax.set_title(
        f"Trade-off: {y} against {x}\n(error bars: 95 % confidence interval{faint})"
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", title=by, title_fontsize="small")
    return ax


def pareto_front(
    trials: pd.DataFrame,
    x: str,
    y: str | None = None,
    ax: Axes | None = None,
    *,
    recommended: int | None = None,
) -> Axes:
    """A tune's trials: *x* against *y*, the Pareto front joined, the pick starred.

    Args:
        trials: one row per trial with a ``trial`` number, the objective
            columns, and booleans ``feasible`` (met every constraint) and
            ``pareto`` (on the front); rows without values (failed trials)
            are left out.
        x: the first objective.
        y: the second objective; without it *x* is drawn against the trial
            number (a single-objective search).
        ax: draw here; a new figure's Axes when not given.
        recommended: the trial number of the recommended settings.

    Returns:
        The Axes.

    Raises:
        KeyError: a column is missing.
    """
    for column in ("trial", "feasible", "pareto", x, *([y] if y else [])):
        if column not in trials.columns:
            raise KeyError(f"{column!r} is not a column of the trials")
    if ax is None:
        ax = new_axes(8.0, 5.5)
    frame = trials.dropna(subset=[x, *([y] if y else [])])
    horizontal, vertical = ("trial", x) if y is None else (x, y)

    def points(rows: pd.DataFrame) -> tuple[np.ndarray[Any, Any], ...]:
        return (
            rows[horizontal].to_numpy(dtype=float),
            rows[vertical].to_numpy(dtype=float),
        )

    infeasible = frame[~frame["feasible"].astype(bool)]
    feasible = frame[frame["feasible"].astype(bool)]
    front = feasible[feasible["pareto"].astype(bool)].sort_values(
        [horizontal, vertical]
    )
    if not infeasible.empty:
        ax.scatter(*points(infeasible), marker="x", color="#7f7f7f",
                   label="breaks a constraint")  # fmt: skip
    if not feasible.empty:
        ax.scatter(*points(feasible), marker="o", color="C0", alpha=0.6,
                   label="meets the constraints")  # fmt: skip
    if not front.empty:
        ax.plot(*points(front), marker="o", color="C3", linestyle="-" if y else "none",
                label="Pareto front" if y else "best")  # fmt: skip
    pick = frame[frame["trial"] == recommended] if recommended is not None else None
    if pick is not None and not pick.empty:
        px, py = points(pick)
        ax.scatter(px, py, marker="*", s=260, color="#ffbf00",
                   edgecolors="black", zorder=5, label=f"recommended (trial {recommended})")  # fmt: skip
    ax.set_xlabel(
        "trial" if y is None else f"{_axis_label(x)}\n(mean of replications)",
        wrap=True,
    )
    ax.set_ylabel(f"{_axis_label(vertical)}\n(mean of replications)", wrap=True)
    title = f"Search: {x} by trial" if y is None else f"Pareto front: {y} against {x}"
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if frame.empty:  # every trial failed: nothing to draw, and no legend
        ax.text(0.5, 0.5, "no trial finished", transform=ax.transAxes,
                ha="center", va="center")  # fmt: skip
    else:
        ax.legend(fontsize="small")
    return ax
