"""Every run of a sweep in its own folder, so a sweep survives failures and interruptions.

A sweep folder's ``runs/`` holds one folder per run, named by its grid point,
replication and seed (``point-0003_replication-002_seed-102``). Each is written
next to its final name and renamed into place when complete, so a folder
that is there is whole: ``run.json`` (what ran, its status and a fingerprint
of the scenario and seed), ``summary.parquet`` for a run that finished, and
``error.txt`` (the exception and its traceback) for one that raised.

With ``frames``, every run's tables (events, timeseries, jobs, sessions) are
kept too, as one Parquet dataset per table under ``frames/``, partitioned the
Hive way by the swept parameters, the replication and the seed
(``frames/jobs/services%5B0%5D.protection.policy=renewing/replication=1/seed=101/part-0.parquet``):
``pandas.read_parquet(folder / "frames" / "jobs")``, ``pyarrow.dataset`` or
DuckDB's ``read_parquet('frames/jobs/**/*.parquet', hive_partitioning=true)``
read every run's rows in one call, with the partitions as columns.

:func:`run_sweep_tasks` runs what is not there yet on any executor, storing
each run as it finishes; a run whose folder is there with the same
fingerprint is read back instead (``skipped``), so an interrupted sweep,
started again, completes the same table. A run that raises is recorded as
``failed`` and the others go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import traceback
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import numpy as np
import pandas as pd

from ecssim.experiments.executors import open_executor, run_tasks
from ecssim.model.build import run
from ecssim.reports.folders import (
    STORE_MARKER,
    ResultsFolderError,
    read_parquet,
    write_json,
    write_parquet,
)
from ecssim.results.metrics import SUMMARY_COLUMNS
from ecssim.scenario.schema import Scenario
from ecssim.version import __version__

#: The folder of a sweep folder that holds one folder per run.
RUNS_FOLDER: Final = "runs"
#: The folder of a sweep folder that holds the frames dataset.
FRAMES_FOLDER: Final = "frames"
#: The tables kept in the frames dataset.
FRAME_TABLES: Final = ("events", "timeseries", "jobs", "sessions")
#: Status of a run that finished, and of one that raised.
OK: Final = "ok"
FAILED: Final = "failed"


@dataclass(frozen=True)
class RunKey:
    """Which run: its grid point, replication and seed."""

    point: int
    replication: int
    seed: int
    partition: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        """The run's folder name."""
        return f"point-{self.point:04d}_replication-{self.replication:03d}_seed-{self.seed}"


@dataclass(frozen=True)
class RunOutcome:
    """What one run gave: its summary, or the error it raised."""

    status: str
    summary: pd.DataFrame | None = None
    error: str = ""
    traceback: str = ""
    frames: tuple[tuple[str, pd.DataFrame], ...] = ()


@dataclass
class SweepRuns:
    """The summaries of a sweep's runs in task order, and what happened to them."""

    summaries: list[pd.DataFrame] = field(default_factory=list)
    failed: int = 0
    skipped: int = 0


def run_outcome(task: tuple[Scenario, int]) -> RunOutcome:
    """Run *task* (a scenario and a seed); an exception becomes a failed outcome.

    This is the function executors call: it must stay importable at module level.
    """
    return _outcome(task, frames=False)


def run_outcome_with_frames(task: tuple[Scenario, int]) -> RunOutcome:
    """:func:`run_outcome`, with the run's tables of :data:`FRAME_TABLES`."""
    return _outcome(task, frames=True)


def _outcome(task: tuple[Scenario, int], *, frames: bool) -> RunOutcome:
    scenario, seed = task
    try:
        result = run(scenario, seed=seed)
        tables = (
            tuple((name, getattr(result, name)) for name in FRAME_TABLES)
            if frames
            else ()
        )
    except Exception as exc:
        return RunOutcome(
            status=FAILED,
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc)),
        )
    return RunOutcome(status=OK, summary=result.summary, frames=tables)


def fingerprint(scenario: Scenario, seed: int) -> str:
    """A digest of what decides a run's result: the scenario, the seed, the version."""
    text = json.dumps(
        {
            "scenario": scenario.model_dump(mode="json", by_alias=True),
            "seed": seed,
            "ecssim_version": __version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RunStore:
    """The ``runs/`` folder of a sweep folder.

    Args:
        folder: the sweep folder (created when missing).
        fresh: forget every stored run first.

    Raises:
        ResultsFolderError: ``runs/`` cannot be made there.
    """

    def __init__(self, folder: str | Path, *, fresh: bool = False) -> None:
        self.folder = Path(folder)
        self.path = self.folder / RUNS_FOLDER
        if fresh:
            for name in (RUNS_FOLDER, FRAMES_FOLDER):
                if (self.folder / name).is_dir():
                    shutil.rmtree(self.folder / name)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultsFolderError(f"{self.path}: cannot be made ({exc})") from None
        for leftover in self.path.glob(".tmp-*"):  # an interrupted write
            shutil.rmtree(leftover, ignore_errors=True)
        marker = self.path / "store.json"
        if not marker.is_file():
            write_json({"results": STORE_MARKER, "ecssim_version": __version__}, marker)

    def load(self, key: RunKey, digest: str) -> pd.DataFrame | None:
        """The stored summary of *key*, if it finished with this fingerprint."""
        folder = self.path / key.name
        try:
            meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if meta.get("status") != OK or meta.get("fingerprint") != digest:
            return None
        try:
            return read_parquet(folder / "summary.parquet")
        except (OSError, ValueError):
            return None

    def save(self, key: RunKey, digest: str, outcome: RunOutcome) -> Path:
        """Write *outcome* as the folder of *key*, whole or not at all."""
        target = self.path / key.name
        self._save_frames(key, outcome)  # before run.json: a run is whole or redone
        staging = self.path / f".tmp-{key.name}-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            if outcome.summary is not None:
                write_parquet(outcome.summary, staging / "summary.parquet")
            if outcome.status == FAILED:
                (staging / "error.txt").write_text(
                    f"{outcome.error}\n\n{outcome.traceback}", encoding="utf-8"
                )
            write_json(
                {
                    "point": key.point,
                    "replication": key.replication,
                    "seed": key.seed,
                    "status": outcome.status,
                    "error": outcome.error or None,
                    "fingerprint": digest,
                    "ecssim_version": __version__,
                },
                staging / "run.json",
            )
            if target.exists():
                old = self.path / f".tmp-old-{key.name}-{secrets.token_hex(4)}"
                target.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    def _save_frames(self, key: RunKey, outcome: RunOutcome) -> None:
        parts = [*key.partition, ("replication", str(key.replication))]
        parts.append(("seed", str(key.seed)))
        where = "/".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in parts)
        for name, frame in outcome.frames:
            folder = self.folder / FRAMES_FOLDER / name / where
            folder.mkdir(parents=True, exist_ok=True)
            temporary = folder / f".part-0.parquet.tmp-{secrets.token_hex(4)}"
            try:
                write_parquet(frame, temporary)
                os.replace(temporary, folder / "part-0.parquet")
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise


def partition_value(value: Any) -> str:
    """A swept value as a partition value: text as it is, others as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def failed_summary(scenario: Scenario) -> pd.DataFrame:
    """The summary rows of a run that raised: its services, every outcome missing."""
    data: dict[str, Any] = {
        c: [np.nan] * len(scenario.services) for c in SUMMARY_COLUMNS
    }
    data["service"] = [s.name for s in scenario.services]
    return pd.DataFrame(data, columns=list(SUMMARY_COLUMNS))


def run_sweep_tasks(
    tasks: Sequence[tuple[Scenario, int]],
    keys: Sequence[RunKey],
    *,
    executor: Executor | str | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    store: RunStore | None = None,
    progress: bool = False,
    description: str = "sweep",
    frames: bool = False,
) -> SweepRuns:
    """The summary of every task, in task order, each with a ``status`` column first.

    Tasks whose run is in *store* are read back; the others run on *executor*
    (an Executor, used as it is; a name for :func:`open_executor`; or None:
    ``processes`` when *workers* > 1, else ``serial``) and are stored as each
    finishes. A run that raises gives a ``failed`` row per service. With
    *frames* (and a *store*) every run's tables go to the frames dataset.
    """
    function = run_outcome_with_frames if frames and store is not None else run_outcome
    summaries: list[pd.DataFrame | None] = [None] * len(tasks)
    statuses = [OK] * len(tasks)
    digests = [fingerprint(scenario, seed) for scenario, seed in tasks]
    out = SweepRuns()
    todo: list[int] = []
    for index, key in enumerate(keys):
        stored = store.load(key, digests[index]) if store is not None else None
        if stored is None:
            todo.append(index)
        else:
            summaries[index] = stored
            out.skipped += 1

    def keep(position: int, outcome: RunOutcome) -> None:
        index = todo[position]
        if store is not None:
            store.save(keys[index], digests[index], outcome)
        if outcome.summary is None:
            out.failed += 1
            statuses[index] = FAILED
            summaries[index] = failed_summary(tasks[index][0])
        else:
            summaries[index] = outcome.summary

    work = [tasks[i] for i in todo]
    if work:
        if isinstance(executor, Executor):
            run_tasks(
                function,
                work,
                executor,
                on_result=keep,
                progress=progress,
                description=description,
            )
        else:
            kind = executor or ("processes" if workers > 1 else "serial")
            with open_executor(
                kind, workers=min(workers, len(work)), scheduler=scheduler
            ) as pool:
                run_tasks(
                    function,
                    work,
                    pool,
                    on_result=keep,
                    progress=progress,
                    description=description,
                )
    for summary, status in zip(summaries, statuses, strict=True):
        assert summary is not None  # every task was loaded or run
        frame = summary.copy()
        frame.insert(0, "status", [status] * len(frame))
        out.summaries.append(frame)
    return out


def keep_runs(old: Path, new: Path) -> None:
    """Give the folder *new* the ``runs/`` of *old* (hard links: no copy, no move).

    Used while a sweep folder is rewritten: *old* keeps its runs until *new*
    replaces it, so an interruption loses nothing.
    """
    for name in (RUNS_FOLDER, FRAMES_FOLDER):
        source = old / name
        if source.is_dir():
            shutil.copytree(
                source,
                new / name,
                copy_function=_link,
                ignore=shutil.ignore_patterns(".tmp-*", ".*.tmp-*"),
            )


def _link(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # a file system without hard links
        shutil.copy2(source, destination)
