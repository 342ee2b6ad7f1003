"""A tune's report: the Pareto front (table and plot), every trial, the pick.

``ecssim tune`` writes its folder (``tune.json``, ``trials.parquet``,
``recommended.yaml`` ...) and then :func:`render_tune` draws ``pareto.png`` and
writes ``report.md`` / ``report.html`` from those files alone, so ``ecssim
report DIR`` redraws a tune's report exactly as the tune wrote it, on a
machine without the scenario file or the study.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

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
from ecssim.reports.folders import ResultsFolderError, read_parquet, replace_file
from ecssim.reports.run_report import format_value
from ecssim.results.metrics import SUMMARY_COLUMNS

#: The value of ``"results"`` in ``tune.json`` that marks a tune's folder.
TUNE_MARKER: Final = "ecssim tune"
#: The Optuna storage (a journal file) in a tune's folder.
STUDY_FILE: Final = "tune.journal"

#: Trials listed in the report before the rest are left to trials.csv.
_TRIAL_ROWS: Final = 200


def outcome_of(column: str) -> str:
    """The summary outcome of an objective column (``task_hours[web]``: task_hours)."""
    return column.split("[", 1)[0]


def pareto_order(
    trials: pd.DataFrame, objectives: Sequence[str], directions: Sequence[str]
) -> pd.DataFrame:
    """The trials marked ``pareto``, best first on the first objective (then the
    next ones, then the earliest trial)."""
    front = trials[trials["pareto"].astype(bool)]
    signs = [1.0 if d == "minimize" else -1.0 for d in directions]
    keys = sorted(
        (
            (
                *(s * float(row[c]) for s, c in zip(signs, objectives, strict=True)),
                int(row["trial"]),
            ),
            position,
        )
        for position, (_, row) in enumerate(front.iterrows())
    )
    return front.iloc[[position for _, position in keys]].reset_index(drop=True)


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "tune.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsFolderError(f"{path}: cannot be read ({exc.strerror})") from None
    except ValueError as exc:
        raise ResultsFolderError(
            f"{path}: is not valid JSON ({exc}); the file is damaged (run ecssim "
            "tune on the folder again to rewrite it)"
        ) from None
    problems = []
    if not isinstance(meta, dict) or meta.get("results") != TUNE_MARKER:
        raise ResultsFolderError(f"{path}: was not written by ecssim tune")
    for key, kind in (
        ("parameters", dict),
        ("objectives", list),
        ("directions", list),
        ("constraints", list),
    ):
        if not isinstance(meta.get(key), kind):
            problems.append(f"{key!r} is missing or not a {kind.__name__}")
    if not problems and len(meta["objectives"]) != len(meta["directions"]):
        problems.append("'objectives' and 'directions' differ in length")
    if problems:
        raise ResultsFolderError(f"{path}: {'; '.join(problems)}")
    return meta


def _check_columns(trials: pd.DataFrame, meta: Mapping[str, Any], path: Path) -> None:
    wanted = [
        "trial",
        "state",
        *meta["parameters"],
        *meta["objectives"],
        "feasible",
        "pareto",
    ]
    missing = [c for c in wanted if c not in trials.columns]
    if missing:
        raise ResultsFolderError(
            f"{path}: lacks the column(s) {', '.join(map(repr, missing))} of a "
            "tune's trials (run ecssim tune on the folder again to rewrite it)"
        )


def render_tune(out_dir: str | Path) -> Path:
    """Redraw ``pareto.png`` and rewrite the report of the tune folder *out_dir*.

    Only ``tune.json`` and ``trials.parquet`` are read.

    Returns:
        The path of ``report.html``.

    Raises:
        ResultsFolderError: *out_dir* is not a tune's folder, or one of its
            files is missing or damaged (the message names it).
    """
    folder = Path(out_dir)
    if not folder.is_dir():
        raise ResultsFolderError(f"{folder}: no such folder")
    if not (folder / "tune.json").is_file():
        if (folder / STUDY_FILE).is_file():
            raise ResultsFolderError(
                f"{folder}: a tune that has not finished (only its study, "
                f"{STUDY_FILE}); run ecssim tune on it again to carry on"
            )
        raise ResultsFolderError(f"{folder}: not an ecssim tune folder (no tune.json)")
    meta = _read_meta(folder)
    trials = read_parquet(folder / "trials.parquet")
    _check_columns(trials, meta, folder / "trials.parquet")
    return _render(folder, meta, trials)


def _cell(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format_value(outcome_of(column), value)


def _number_text(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return "?"


def _search_space(parameters: Mapping[str, Any]) -> BulletList:
    items = []
    for path, given in parameters.items():
        spec: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        if spec.get("choices") is not None:
            text = ", ".join(json.dumps(v) for v in spec["choices"])
        else:
            text = (
                f"{_number_text(spec.get('low'))} to {_number_text(spec.get('high'))}"
            )
            text += f" {spec['unit']}" if spec.get("unit") else ""
            text += " (whole numbers)" if spec.get("integer") else ""
            text += " (log scale)" if spec.get("log") else ""
        items.append(f"{path}: {text}")
    return BulletList(tuple(items))


def _trials_table(
    trials: pd.DataFrame,
    parameters: Sequence[str],
    objectives: Sequence[str],
    constraints: Sequence[str],
) -> Table:
    violation_columns = [f"constraint_{i}" for i in range(len(constraints))]
    header = (
        "trial",
        *parameters,
        *objectives,
        *(f"{c} broken by" for c in constraints),
        "feasible",
        "on the front",
        "error",
    )
    rows = []
    for _, row in trials.head(_TRIAL_ROWS).iterrows():
        error = row.get("error")
        rows.append(
            (
                str(row["trial"]),
                *(str(row[p]) for p in parameters),
                *(_cell(c, row[c]) for c in objectives),
                *(
                    _cell("", max(0.0, float(row[c])))
                    if c in trials.columns and not pd.isna(row[c])
                    else "n/a"
                    for c in violation_columns
                ),
                "yes" if bool(row["feasible"]) else "no",
                "yes" if bool(row["pareto"]) else "",
                str(error).splitlines()[0][:120] if isinstance(error, str) else "",
            )
        )
    label = f"All {len(trials)} trials" + (
        f" (the first {_TRIAL_ROWS}; every one is in trials.csv)"
        if len(trials) > _TRIAL_ROWS
        else ""
    )
    return Table(header, tuple(rows), collapsed=label)


def _render(folder: Path, meta: Mapping[str, Any], trials: pd.DataFrame) -> Path:
    # matplotlib only when drawing: sweep workers never draw
    from ecssim.reports.plotting import pareto_front, save_png  # noqa: PLC0415

    # tune.json's keys are sorted; the trials keep the order of the tune section
    columns = list(trials.columns)
    parameters = sorted((str(p) for p in meta["parameters"]), key=columns.index)
    objectives = [str(o) for o in meta["objectives"]]
    directions = [str(d) for d in meta["directions"]]
    constraints = [str(c) for c in meta["constraints"]]
    replications = int(meta.get("replications", 1))
    recommended = meta.get("recommended")

    x = objectives[0]
    y = objectives[1] if len(objectives) > 1 else None
    ax = pareto_front(trials, x, y, recommended=recommended)
    figure = folder / "pareto.png"
    replace_file(figure, lambda p: save_png(ax, p))

    complete = int((trials["state"] == "COMPLETE").sum())
    feasible = int(trials["feasible"].astype(bool).sum())
    failed = len(trials) - complete
    title = f"ecssim tune: {meta.get('scenario')}"
    blocks: list[Block] = [Heading(title, 1)]
    if meta.get("description"):
        blocks.append(Paragraph(str(meta["description"])))
    seed = meta.get("scenario_seed")
    seeds = (
        f"seeds {seed}..{int(seed) + replications - 1}"
        if isinstance(seed, int)
        else "the scenario's seeds"
    )
    blocks.append(
        Paragraph(
            f"{len(trials)} trials ({complete} finished, {feasible} met the "
            f"constraints) x {replications} replication(s), {seeds} "
            f"(the same at every trial); Optuna TPE, search seed "
            f"{meta.get('seed')}; ecssim {meta.get('ecssim_version')}."
            + (
                f" {failed} trial(s) failed: their errors are in the trials table."
                if failed
                else ""
            )
        )
    )
    blocks.append(Heading("Recommended settings"))
    chosen = trials[trials["trial"] == recommended] if recommended is not None else None
    if chosen is None or chosen.empty:
        blocks.append(
            Paragraph(
                "No trial met every constraint: widen the search space, add "
                "trials, or relax a constraint. All trials are in trials.csv."
            )
        )
    else:
        row = chosen.iloc[0]
        blocks.append(
            Paragraph(
                f"Trial {recommended}, the trial on the Pareto front best on the "
                f"first objective ({x}), written as a ready scenario file to "
                "recommended.yaml (run it with ecssim run recommended.yaml, "
                "ideally with a seed the search did not use, to see whether it "
                "holds):"
            )
        )
        blocks.append(
            BulletList(
                tuple(f"{path}: {row[path]}" for path in parameters)
                + tuple(
                    f"{c} = {_cell(c, row[c])} (mean of {replications} replication(s))"
                    for c in objectives
                )
            )
        )
    blocks.append(Heading("Pareto front"))
    blocks.append(
        Paragraph(
            "The trials that met the constraints and that no other such trial "
            "beats on every objective, best first on the first objective "
            "(means of the replications); also in pareto.csv."
        )
    )
    front = pareto_order(trials, objectives, directions)
    blocks.append(
        Table(
            ("trial", *parameters, *objectives),
            tuple(
                (
                    str(r["trial"]),
                    *(str(r[p]) for p in parameters),
                    *(_cell(c, r[c]) for c in objectives),
                )
                for _, r in front.iterrows()
            ),
        )
    )
    blocks.append(
        FigureRef(
            figure,
            "every trial's objectives (dots met the constraints, crosses broke "
            "one); the Pareto front joined; the recommendation starred",
        )
    )
    blocks.append(Heading("Search space"))
    blocks.append(_search_space({p: meta["parameters"][p] for p in parameters}))
    blocks.append(Heading("Objectives and constraints"))
    blocks.append(
        BulletList(
            tuple(
                f"{d} {c}: {SUMMARY_COLUMNS.get(outcome_of(c), '')}"
                for c, d in zip(objectives, directions, strict=True)
            )
            + tuple(
                f"subject to {c} (on the mean of the replications)" for c in constraints
            )
        )
    )
    blocks.append(Heading("Trials"))
    blocks.append(
        Paragraph(
            "Every trial in the order it was asked for: its settings, the means "
            "of its objectives, how far it broke each constraint (0: met), "
            "whether it met them all and whether it is on the front."
        )
    )
    blocks.append(_trials_table(trials, parameters, objectives, constraints))
    blocks.append(Heading("Files"))
    blocks.append(
        BulletList(
            (
                "trials.csv and trials.parquet: every trial (the table above, "
                "with full errors)",
                "pareto.csv and pareto.png: the Pareto front",
                "recommended.yaml: the scenario with the recommended settings "
                "(when a trial met the constraints)",
                f"{STUDY_FILE}: the Optuna study; run ecssim tune on this folder "
                "again to carry on, or with --trials N to search further",
                "tune.json: what was searched, for ecssim report",
            )
        )
    )
    blocks.append(Heading("Modelling caveats"))
    blocks += caveat_blocks()

    markdown = to_markdown(blocks)
    replace_file(
        folder / "report.md", lambda p: p.write_text(markdown, encoding="utf-8")
    )
    report = folder / "report.html"
    html = to_html(blocks, title, folder)
    replace_file(report, lambda p: p.write_text(html, encoding="utf-8"))
    return report
