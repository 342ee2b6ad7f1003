"""Tests of ecssim.reports.plotting: what each plot draws, and reproducible PNGs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer

from ecssim.reports.plotting import (
    job_outcomes,
    new_axes,
    protection_cost,
    save_png,
    timeline,
    tradeoff,
)
from ecssim.sim.sampler import TIMESERIES_COLUMNS


def _timeseries() -> pd.DataFrame:
    rows = []
    for minute in range(0, 121, 10):
        desired = 4 if minute < 40 else 1
        running = 4 if minute < 60 else 2
        rows.append(
            {
                "time_s": minute * 60.0,
                "service": "worker",
                "desired": desired,
                "running": running,
                "pending": 0,
                "protected": 2,
                "busy": 2,
                "idle": running - 2,
                "idle_protected": 0,
                "above_desired_protected": max(0, running - desired),
                "queued": minute // 10,
                "in_flight": 2,
                "sessions": 0,
                "sessions_waiting": 0,
            }
        )
        rows.append({**rows[-1], "service": "other", "queued": 0})
    return pd.DataFrame(rows, columns=list(TIMESERIES_COLUMNS))


def _events() -> pd.DataFrame:
    rows = [
        (0.0, "deployment_started", "worker", {"deployment": "d1"}),
        (100.0, "deployment_completed", "worker", {"deployment": "d1"}),
        (2400.0, "scale_in_blocked", "worker", {"protected_tasks": 2}),
        (2500.0, "scale_in_blocked", "worker", {"protected_tasks": 1}),
        (3600.0, "scale_in_unblocked", "worker", {}),
        (4200.0, "deployment_started", "worker", {"deployment": "d2"}),
        (5400.0, "deployment_completed", "worker", {"deployment": "d2"}),
        (4200.0, "deployment_started", "other", {"deployment": "x"}),
    ]
    return pd.DataFrame(
        [
            {
                "time_s": t,
                "kind": k,
                "service": s,
                "task": None,
                "reason": None,
                "detail": json.dumps(d),
            }
            for t, k, s, d in rows
        ]
    )


def _legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def _vertical_lines(ax: Axes) -> list[float]:
    xs = []
    for line in ax.get_lines():
        data = np.asarray(line.get_xdata(), dtype=float)
        if len(data) == 2 and data[0] == data[1]:
            xs.append(float(data[0]))
    return sorted(xs)


def test_timeline_draws_counts_rollouts_and_blocked_spans() -> None:
    """The timeline has labelled axes, every series in its legend, a line at each
    rollout after the first and its completion, and one shaded blocked span."""
    ax = timeline(_timeseries(), _events(), "worker")
    (work,) = [other for other in ax.figure.axes if other is not ax]
    assert work.get_xlabel() == "simulated time [h]"
    assert work.get_ylabel() == "queue [messages]"
    assert ax.get_ylabel() == "tasks"
    assert "worker" in ax.get_title()
    assert _legend_texts(ax) == [
        "desired count",
        "RUNNING tasks",
        "protected tasks",
        "rollout started",
        "rollout completed",
        "scale-in blocked by protection",
    ]
    assert _vertical_lines(ax) == [pytest.approx(4200 / 3600), pytest.approx(1.5)]
    spans = [p for p in ax.patches if p.get_label() != "_nolegend_"]
    extents = [p.get_extents() for p in spans]
    assert len(extents) == 1
    (desired,) = [
        line for line in ax.get_lines() if line.get_label() == "desired count"
    ]
    assert list(desired.get_ydata()) == [4.0] * 4 + [1.0] * 9  # type: ignore[arg-type]


def test_timeline_marks_refusals_faults_and_interruptions_on_utc_time() -> None:
    """Refusals, faults, interruptions and injected API errors are marked (with
    their counts in the legend), and a time series with timestamps gets a UTC
    wall-clock axis."""
    extra = [
        (600.0, "protection_failed", "DEPLOYMENT_BLOCKED", {}),
        (700.0, "protection_failed", "DEPLOYMENT_BLOCKED", {}),
        (900.0, "fault_injected", None, {"fault": "task_crash"}),
        (950.0, "job_interrupted", None, {}),
        (990.0, "protection_call_error", None, {}),
        (999.0, "protection_failed", "TASK_NOT_VALID", {}),
    ]
    events = pd.concat(
        [
            _events(),
            pd.DataFrame(
                [
                    {
                        "time_s": t,
                        "kind": k,
                        "service": "worker",
                        "task": "t1",
                        "reason": r,
                        "detail": json.dumps(d),
                    }
                    for t, k, r, d in extra
                ]
            ),
        ],
        ignore_index=True,
    )
    series = _timeseries()
    start = pd.Timestamp("2026-01-05T18:00:00Z")
    series.insert(1, "timestamp", start + pd.to_timedelta(series["time_s"], unit="s"))
    ax = timeline(series, events, "worker")
    texts = _legend_texts(ax)
    assert "protection refused (DEPLOYMENT_BLOCKED) (2)" in texts
    assert "fault (hang, crash, Spot) (1)" in texts
    assert "job or session interrupted (1)" in texts
    assert "injected protection API error (1)" in texts
    (work,) = [other for other in ax.figure.axes if other is not ax]
    assert work.get_xlabel() == "time (UTC)"
    days = (start.tz_localize(None) - pd.Timestamp("1970-01-01")).total_seconds()
    assert ax.get_xlim()[0] == pytest.approx(days / 86400)


def test_timeline_uses_the_given_axes_and_rejects_unknown_services() -> None:
    """Drawing on a given Axes returns it; a service without rows is a KeyError."""
    ax = new_axes()
    assert timeline(_timeseries(), _events(), "other", ax=ax) is ax
    assert "rollout started" not in _legend_texts(ax)  # only the creation
    with pytest.raises(KeyError, match="nope"):
        timeline(_timeseries(), _events(), "nope")


def test_job_outcomes_counts_each_category_per_service() -> None:
    """Each outcome bar holds the number of jobs of that service in that category."""
    jobs = pd.DataFrame(
        {
            "service": ["a", "a", "a", "a", "b", "b"],
            "outcome": [
                "completed",
                "completed",
                "dead_lettered",
                "queued",
                "in_flight",
                "invisible",
            ],
            "interruptions": [0, 1, 5, 0, 1, 0],
        }
    )
    ax = job_outcomes(jobs)
    heights = {
        container.get_label(): [bar.get_height() for bar in container]
        for container in ax.containers
    }
    assert heights == {
        "completed": [2, 0],
        "interrupted at least once": [2, 1],
        "dead-lettered": [1, 0],
        "in flight at the end": [0, 1],
        "still waiting at the end": [1, 1],
    }
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert ax.get_ylabel() == "jobs"


def test_job_outcomes_without_jobs_says_so() -> None:
    """An empty jobs frame gives a labelled, empty plot instead of an error."""
    ax = job_outcomes(pd.DataFrame({"service": [], "outcome": [], "interruptions": []}))
    assert [t.get_text() for t in ax.texts] == ["no queue jobs in this run"]


def test_protection_cost_stacks_busy_idle_and_idle_protected() -> None:
    """The three stacked parts are busy, idle unprotected and idle protected hours."""
    summary = pd.DataFrame(
        {
            "service": ["a", "b"],
            "busy_task_hours": [10.0, 1.0],
            "idle_task_hours": [6.0, 2.0],
            "idle_protected_task_hours": [4.0, 0.0],
        }
    )
    ax = protection_cost(summary)
    heights = [[bar.get_height() for bar in c] for c in ax.containers]
    assert heights == [[10.0, 1.0], [2.0, 2.0], [4.0, 0.0]]
    assert ax.get_ylabel() == "task-hours"
    assert _legend_texts(ax)[2] == "idle but protected (protection's cost)"


def test_tradeoff_plots_means_with_confidence_intervals() -> None:
    """Each grid point is a marker at its means with its CI half-widths as error bars."""
    means = pd.DataFrame(
        {
            "policy": ["none", "renewing"],
            "service": ["s", "s"],
            "idle_protected_task_hours": [0.0, 3.0],
            "idle_protected_task_hours_ci95": [0.0, 0.5],
            "job_interruptions": [8.0, 1.0],
            "job_interruptions_ci95": [2.0, float("nan")],
        }
    )
    ax = tradeoff(means, by="policy")
    legend = ax.get_legend()
    assert legend is not None
    assert legend.get_title().get_text() == "policy"
    assert _legend_texts(ax) == ["none", "renewing"]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    points = [
        (
            float(np.asarray(c.lines[0].get_xdata(), dtype=float)[0]),
            float(np.asarray(c.lines[0].get_ydata(), dtype=float)[0]),
        )
        for c in bars
    ]
    assert sorted(points) == [(0.0, 8.0), (3.0, 1.0)]
    none = next(c for c in bars if c.get_label() == "none")
    x_bars, y_bars = none.lines[2]
    assert [list(map(list, seg)) for seg in y_bars.get_segments()] == [
        [[0.0, 6.0], [0.0, 10.0]]
    ]
    assert [list(map(list, seg)) for seg in x_bars.get_segments()] == [
        [[0.0, 8.0], [0.0, 8.0]]
    ]
    assert "95 % confidence interval" in ax.get_title()
    assert ax.get_xlabel().startswith("idle_protected_task_hours: ")


def test_tradeoff_draws_every_replication_faintly_and_spreads_labels() -> None:
    """With the runs, each replication is a faint dot of its point's colour; the
    labels of points are offset in turn, not stacked on one spot."""
    means = pd.DataFrame(
        {
            "point": [0, 1, 2],
            "policy": ["none", "none", "renewing"],
            "expires": ["20m", "1h", "20m"],
            "service": ["s", "s", "s"],
            "task_hours": [10.0, 10.0, 9.0],
            "job_interruptions": [5.0, 5.0, 0.0],
        }
    )
    runs = pd.DataFrame(
        {
            "point": [0, 0, 1, 1, 2, 2],
            "service": ["s"] * 6,
            "task_hours": [9.0, 11.0, 9.5, 10.5, 8.0, 10.0],
            "job_interruptions": [4.0, 6.0, 5.0, 5.0, 0.0, 0.0],
        }
    )
    ax = tradeoff(means, x="task_hours", by="policy", annotate=["expires"], runs=runs)
    faint = [c for c in ax.collections if c.get_alpha() == pytest.approx(0.45)]
    offsets = np.concatenate([c.get_offsets() for c in faint])
    assert sorted(map(tuple, offsets.tolist())) == sorted(
        zip(runs["task_hours"], runs["job_interruptions"], strict=True)
    )
    labels = [t for t in ax.texts if t.get_text().startswith("expires=")]
    assert len(labels) == 3
    assert len({tuple(t.xy) for t in labels}) == 2  # two share a point
    assert len({t.get_position() for t in labels}) == 3  # offset in turn
    assert "faint: each replication" in ax.get_title()


def test_tradeoff_rejects_a_missing_column() -> None:
    """Naming a column the sweep summary lacks is a KeyError that names it."""
    with pytest.raises(KeyError, match="nonexistent"):
        tradeoff(pd.DataFrame({"a": [1]}), x="a", y="nonexistent")


def test_save_png_is_reproducible(tmp_path: Path) -> None:
    """Saving the same plot twice gives the same bytes, with no software stamp."""
    first = save_png(protection_cost(_summary_one()), tmp_path / "a.png")
    second = save_png(protection_cost(_summary_one()), tmp_path / "b.png")
    data = first.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data == second.read_bytes()
    assert b"Software" not in data
    assert b"matplotlib version" not in data


def _summary_one() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "service": ["a"],
            "busy_task_hours": [1.0],
            "idle_task_hours": [1.0],
            "idle_protected_task_hours": [0.5],
        }
    )


def test_plotting_never_imports_pyplot_or_changes_rcparams() -> None:
    """Importing and using ecssim.reports.plotting leaves pyplot unimported and rcParams as they were."""
    code = (
        "import sys, matplotlib\n"
        "before = matplotlib.rcParams.copy()\n"
        "import pandas as pd\n"
        "from ecssim.reports.plotting import protection_cost\n"
        "protection_cost(pd.DataFrame({'service': ['a'], 'busy_task_hours': [1.0],"
        " 'idle_task_hours': [0.0], 'idle_protected_task_hours': [0.0]}))\n"
        "pyplot = 'matplotlib.pyplot' in sys.modules\n"
        "after = matplotlib.rcParams.copy()\n"  # reading 'backend' loads pyplot
        "print(pyplot, [k for k in after if after[k] != before[k]])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False []"
