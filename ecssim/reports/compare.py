"""Comparisons of results folders: ``ecssim compare DIR DIR...``.

Two or more run or sweep folders side by side. :func:`write_comparison` reads
each folder's runs (a run folder is one run per service; a sweep folder one
run per grid point, replication and service), compares every outcome of each
folder with the first one's (:func:`~ecssim.results.stats.compare_sides`:
paired by seed where the seeds match, Welch's interval otherwise), and
writes a comparison folder: ``comparison.parquet`` / ``comparison.csv`` (the
tidy table), ``compare.json``, the timelines of run folders one above the
other, and ``report.md`` / ``report.html`` in the style of the run reports.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    COMPARE_MARKER,
    RUN_MARKER,
    SWEEP_MARKER,
    ResultsFolderError,
    read_parquet,
    results_kind,
    staged_folder,
    timeline_name,
    write_json,
    write_parquet,
)
from ecssim.reports.run_report import format_value
from ecssim.results.metrics import SUMMARY_COLUMNS
from ecssim.results.stats import compare_sides, excludes_zero
from ecssim.version import __version__


@dataclass(frozen=True)
class Side:
    """One results folder as a comparison sees it.

    Attributes:
        label: its name in tables and figures (the folder's name).
        folder: where it is.
        kind: ``"ecssim run"`` or ``"ecssim sweep"``.
        runs: one row per run and service (``point`` for a sweep's grid
            point, ``service``, ``seed`` and the outcomes).
        meta: its ``summary.json`` or ``sweep.json``.
        timeseries: a run folder's time series (None for a sweep).
        events: a run folder's events (None for a sweep).
    """

    label: str
    folder: Path
    kind: str
    runs: pd.DataFrame
    meta: dict[str, Any]
    timeseries: pd.DataFrame | None = None
    events: pd.DataFrame | None = None


def point_labels(runs: pd.DataFrame, parameters: Sequence[str]) -> pd.Series:
    """Each run's grid point as text, ``path=value, ...`` (how sides are matched)."""
    if not parameters:
        return pd.Series([""] * len(runs), index=runs.index, dtype=object)
    return runs.apply(
        lambda row: ", ".join(f"{p}={row[p]}" for p in parameters), axis=1
    ).astype(object)


def read_side(folder: str | Path, label: str | None = None) -> Side:
    """A run or sweep folder as one side of a comparison.

    Raises:
        ResultsFolderError: *folder* is not an ecssim run or sweep folder.
    """
    path = Path(folder)
    kind = results_kind(path)
    name = label or path.name
    if kind == RUN_MARKER:
        meta = json.loads((path / "summary.json").read_text(encoding="utf-8"))
        runs = read_parquet(path / "summary.parquet")
        runs.insert(0, "seed", int(meta.get("seed", 0)))
        return Side(
            name,
            path,
            kind,
            runs,
            meta,
            timeseries=read_parquet(path / "timeseries.parquet"),
            events=read_parquet(path / "events.parquet"),
        )
    if kind == SWEEP_MARKER:
        meta = json.loads((path / "sweep.json").read_text(encoding="utf-8"))
        runs = read_parquet(path / "runs.parquet")
        parameters = [str(p) for p in meta.get("parameters", {})]
        runs["point"] = point_labels(runs, parameters)
        return Side(name, path, kind, runs.drop(columns=parameters), meta)
    raise ResultsFolderError(
        f"{path}: not an ecssim run or sweep folder (written by ecssim run or "
        "ecssim sweep)"
    )


def _unique_labels(folders: Sequence[Path]) -> list[str]:
    names = [f.name or str(f) for f in folders]
    if len(set(names)) == len(names):
        return names
    return [str(f) for f in folders]


def compare_folders(folders: Sequence[str | Path]) -> tuple[list[Side], pd.DataFrame]:
    """The sides and the comparison table of *folders* (each against the first).

    Raises:
        ResultsFolderError: a folder is not a run or sweep folder.
        ValueError: fewer than two folders.
    """
    if len(folders) < 2:
        raise ValueError(f"compare needs two or more folders, got {len(folders)}")
    paths = [Path(f) for f in folders]
    labels = _unique_labels(paths)
    sides = [read_side(p, label) for p, label in zip(paths, labels, strict=True)]
    table = compare_sides([(s.label, s.runs) for s in sides])
    return sides, table


def write_comparison(folders: Sequence[str | Path], out_dir: str | Path) -> Path:
    """Compare *folders* (each against the first) and write a comparison folder.

    Returns:
        The path of the folder.

    Raises:
        ResultsFolderError: a folder is not a run or sweep folder, or *out_dir*
            may not be written.
        ValueError: fewer than two folders.
    """
    sides, table = compare_folders(folders)
    target = Path(out_dir)
    with staged_folder(target) as staging:
        write_parquet(table, staging / "comparison.parquet")
        (staging / "comparison.csv").write_text(
            table.to_csv(index=False, lineterminator="\n"), encoding="utf-8"
        )
        write_json(
            {
                "results": COMPARE_MARKER,
                "ecssim_version": __version__,
                "sides": [
                    {
                        "label": s.label,
                        "folder": str(s.folder),
                        "kind": s.kind,
                        "scenario": s.meta.get("scenario"),
                        "seed": s.meta.get("seed"),
                        "replications": s.meta.get("replications"),
                    }
                    for s in sides
                ],
                "columns": dict(SUMMARY_COLUMNS),
            },
            staging / "compare.json",
        )
        figures = _timelines(sides, staging)
        blocks = comparison_blocks(sides, table, figures)
        title = blocks[0].text if isinstance(blocks[0], Heading) else "comparison"
        (staging / "report.md").write_text(to_markdown(blocks), encoding="utf-8")
        (staging / "report.html").write_text(
            to_html(blocks, title, staging), encoding="utf-8"
        )
    return target


def _timelines(sides: Sequence[Side], folder: Path) -> list[FigureRef]:
    """One figure per service every run folder has: its timelines stacked."""
    # matplotlib only when drawing: sweep workers never draw
    from ecssim.reports.plotting import save_png, stacked_timelines  # noqa: PLC0415

    panels = [
        (s.label, s.timeseries, s.events)
        for s in sides
        if s.timeseries is not None and s.events is not None
    ]
    if len(panels) < 2:
        return []
    services = [
        str(name)
        for name in dict.fromkeys(panels[0][1]["service"])
        if all(name in set(timeseries["service"]) for _, timeseries, _ in panels)
    ]
    figures = []
    for service in services:
        ax = stacked_timelines(panels, service)
        path = folder / timeline_name(service)
        save_png(ax, path)
        figures.append(
            FigureRef(
                path,
                f"{service}: desired, RUNNING and protected tasks and the queue "
                f"(or connected sessions), one run per panel ("
                + ", ".join(label for label, _, _ in panels)
                + ")",
            )
        )
    return figures


def _describe_side(side: Side) -> str:
    meta = side.meta
    if side.kind == RUN_MARKER:
        return (
            f"{side.label}: one run of {meta.get('scenario')!r}, seed "
            f"{meta.get('seed')}, {meta.get('duration', '?')}"
        )
    points = meta.get("grid_points")
    seed = int(meta.get("seed", 0))
    replications = int(meta.get("replications", 1))
    return (
        f"{side.label}: a sweep of {meta.get('scenario')!r}, {points} grid point(s) x "
        f"{replications} replication(s), seeds {seed}..{seed + replications - 1}"
    )


def _cell(column: str, mean: float, half: float) -> str:
    text = format_value(column, mean)
    if text != "n/a" and math.isfinite(half):
        text += f" +/- {format_value(column, half)}"
    return text


def comparison_blocks(
    sides: Sequence[Side], table: pd.DataFrame, figures: Sequence[FigureRef] = ()
) -> list[Block]:
    """The report of a comparison as document blocks."""
    labels = [s.label for s in sides]
    first = labels[0]
    title = "ecssim comparison: " + " vs ".join(labels)
    blocks: list[Block] = [Heading(title, 1)]
    blocks.append(BulletList(tuple(_describe_side(s) for s in sides)))
    paired = table[table["side"] != first]["paired"]
    how = (
        "paired run by run with the same seed (common random numbers: both "
        "sides saw the same arrivals, durations and faults, so the difference "
        "is the effect of the change alone)"
        if bool(paired.all())
        else "paired by seed where the seeds match, else for independent "
        "samples (Welch's interval)"
        if bool(paired.any())
        else "for independent samples (no seeds in common; Welch's interval)"
    )
    blocks.append(
        Paragraph(
            f"Each difference is (side - {first}), {how}. +/- is the half-width "
            "of a 95 % confidence interval (Student's t), shown when there are "
            "two or more runs; * marks a difference whose interval leaves out 0. "
            "Outcomes that are 0 or n/a on every side are left out here; every "
            "outcome is in comparison.csv."
        )
    )
    blocks.append(Heading("Outcomes"))
    has_points = bool((table["point"] != "").any())
    header = (
        *(["grid point"] if has_points else []),
        "service",
        "outcome",
        *labels,
        *(f"{label} - {first}" for label in labels[1:]),
    )
    rows = []
    for (point, service, outcome), group in table.groupby(
        ["point", "service", "outcome"], sort=False
    ):
        means = group["mean"].to_numpy(dtype=float)
        if all(math.isnan(m) or m == 0 for m in means) and not bool(
            (group["difference"].fillna(0) != 0).any()
        ):
            continue
        by_side = {str(r["side"]): r for r in group.to_dict(orient="records")}
        cells = [str(point)] if has_points else []
        cells += [str(service), str(outcome)]
        for label in labels:
            row = by_side.get(label)
            cells.append(
                "n/a"
                if row is None
                else _cell(str(outcome), float(row["mean"]), float(row["ci95"]))
            )
        for label in labels[1:]:
            row = by_side.get(label)
            if row is None:
                cells.append("n/a")
                continue
            difference, half = float(row["difference"]), float(row["difference_ci95"])
            text = _cell(str(outcome), difference, half)
            if text != "n/a" and difference > 0:
                text = "+" + text
            if excludes_zero(difference, half):
                text += " *"
            cells.append(text)
        rows.append(tuple(cells))
    blocks.append(Table(header, tuple(rows)))
    shown = sorted({str(r[2 if has_points else 1]) for r in rows})
    blocks.append(Heading("What each outcome means", 3))
    blocks.append(
        BulletList(tuple(f"{c}: {SUMMARY_COLUMNS.get(c, '')}" for c in shown))
    )
    if figures:
        blocks.append(Heading("Timelines"))
        blocks += list(figures)
    blocks.append(Heading("Modelling caveats"))
    blocks += caveat_blocks()
    return blocks
