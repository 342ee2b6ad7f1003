"""Results folders on disk: safe writes, markers, Parquet and JSON files.

A folder is written next to its destination and renamed into place at the
end, so a failure (a full disk, a refused permission, SIGINT or SIGTERM)
leaves what was there before and no hidden staging folder. An existing folder
is only replaced when it is empty or is an ecssim results folder of the same
kind (a run's or a sweep's), unless the caller forces it. Tables are written
without an index and JSON with sorted keys, so the same run gives the same
bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecssim.errors import EcsSimError

#: The value of ``"results"`` in ``summary.json`` that marks a run's folder.
RUN_MARKER: Final = "ecssim run"
#: The value of ``"results"`` in ``sweep.json`` that marks a sweep's folder.
SWEEP_MARKER: Final = "ecssim sweep"
#: The value of ``"results"`` in ``runs/store.json`` that marks a sweep's run
#: store (a sweep folder in progress, or an interrupted one).
STORE_MARKER: Final = "ecssim sweep runs"
#: The value of ``"results"`` in ``compare.json`` that marks a comparison's folder.
COMPARE_MARKER: Final = "ecssim comparison"
#: Rows per row group of the Parquet files pyarrow writes (its default).
PARQUET_ROW_GROUP: Final = 1024 * 1024
#: The tables of a run folder, in the order they are written.
TABLES: Final = ("events", "timeseries", "jobs", "sessions", "summary")


#: the longest file name most file systems take, in bytes
MAX_FILE_NAME: Final = 255


def timeline_name(service: str) -> str:
    """The file name of *service*'s timeline: ``timeline-<service>.png``, or, for a
    name too long for a file system, its start and a short digest of all of it."""
    name = f"timeline-{service}.png"
    if len(name.encode()) <= MAX_FILE_NAME:
        return name
    digest = hashlib.sha256(service.encode()).hexdigest()[:12]
    return f"timeline-{service[:200]}-{digest}.png"


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


def write_parquet_parts(parts: Iterable[pd.DataFrame], path: Path) -> Path:
    """Write frames with the same columns as one table, a part at a time: with
    parts of :data:`PARQUET_ROW_GROUP` rows (the last one shorter) the file has
    the bytes :func:`write_parquet` of the whole frame gives."""
    writer: pq.ParquetWriter | None = None
    try:
        for frame in parts:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="snappy")
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    return path


def read_parquet(path: Path, *, leave_out_kinds: Collection[str] = ()) -> pd.DataFrame:
    """Read a table written by :func:`write_parquet` (without the rows whose
    ``kind`` is one of *leave_out_kinds*, dropped a row group at a time).

    Raises:
        ResultsFolderError: the file is missing, truncated or not Parquet
            (the message names the file).
    """
    if not path.is_file():
        raise ResultsFolderError(f"{path.parent}: {path.name} is missing")
    try:
        filters = (
            [("kind", "not in", list(leave_out_kinds))] if leave_out_kinds else None
        )
        frame: pd.DataFrame = pq.read_table(path, filters=filters).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultsFolderError(
            f"{path}: cannot be read as a Parquet table ({reason}); the file is "
            "damaged or was not written by ecssim (run the scenario again)"
        ) from None
    return frame


def folder_marker(folder: Path) -> str | None:
    for name in ("summary.json", "sweep.json", "compare.json", "runs/store.json"):
        path = folder / name
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("results") in (
                RUN_MARKER,
                SWEEP_MARKER,
                COMPARE_MARKER,
                STORE_MARKER,
            ):
                return str(data["results"])
    return None


def results_kind(folder: str | Path) -> str | None:
    """``"ecssim run"``, ``"ecssim sweep"`` or ``"ecssim comparison"`` for a
    results folder, else None."""
    path = Path(folder)
    return folder_marker(path) if path.is_dir() else None


def check_output_folder(
    out_dir: str | Path, *, kind: str | None = None, force: bool = False
) -> Path:
    """*out_dir* as a Path, if a results folder may be written there.

    It may when it does not exist, is an empty folder or is an ecssim results
    folder (which is then replaced). When *kind* (:data:`RUN_MARKER` or
    :data:`SWEEP_MARKER`) is given, a results folder of the other kind is only
    replaced when *force* is true.

    Raises:
        ResultsFolderError: *out_dir* is a file, a non-empty folder that is
            not an ecssim results folder, or (without *force*) the results
            folder of another kind of command.
    """
    target = Path(out_dir)
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise ResultsFolderError(
                f"{target}: exists and is not a folder; choose another output folder"
            )
        if any(target.iterdir()) and folder_marker(target) is None:
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
        existing = folder_marker(target)
        if existing == STORE_MARKER and kind == SWEEP_MARKER:
            existing = kind  # an interrupted sweep's runs: the sweep resumes them
        if kind is not None and existing not in (None, kind) and not force:
            raise ResultsFolderError(
                f"{target}: holds the results of {existing}, not of {kind}; "
                "refusing to replace them (choose another output folder, or "
                "force it: --force on the command line)"
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
        "differences.parquet",
        "differences.csv",
        "sweep.json",
        "compare.json",
        "comparison.parquet",
        "comparison.csv",
        "tradeoff.png",
    }
)


#: The folder of external worker logs ``ecssim serve`` adds to a run folder.
WORKER_LOGS: Final = "workers"


def foreign_files(folder: Path) -> list[str]:
    """Names in *folder* that ecssim does not write, sorted (a user's own files)."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if not (p.is_dir() and p.name in (WORKER_LOGS, "runs", "frames"))
        and not (
            p.is_file()
            and (
                p.name in _OWN_FILES
                or (p.name.startswith("timeline-") and p.name.endswith(".png"))
                or (p.name.startswith(".") and p.name.endswith(".tmp"))
            )
        )
    )


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them.

    For the few steps that must not be cut in half (putting a finished folder
    in place, removing a staging folder). The signal is delivered again, to
    the handler that was there before, as soon as the block ends. Outside the
    main thread (where Python runs no signal handler) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, _: Any) -> None:
        held.append(signum)

    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, hold) for signum in wanted}
    try:
        yield
    finally:
        for wanted_signum, handler in previous.items():
            signal.signal(wanted_signum, handler)
        for held_signum in dict.fromkeys(held):
            signal.raise_signal(held_signum)


@contextmanager
def staged_folder(
    out_dir: str | Path, *, kind: str | None = None, force: bool = False
) -> Iterator[Path]:
    """Write a results folder next to *out_dir*, then put it in place.

    Yields an empty folder in the same parent; when the block ends without an
    error it replaces *out_dir*, otherwise (an exception, SIGINT or SIGTERM
    turned into one) it is removed and *out_dir* is left as it was.

    Raises:
        ResultsFolderError: *out_dir* is a file, a non-empty folder that is
            not an ecssim results folder, or (without *force*) a results
            folder of another *kind* (nothing is written); or the disk refused
            a write (full, read-only, no permission): the message names
            *out_dir*, not the staging folder.
    """
    target = check_output_folder(out_dir, kind=kind, force=force)
    parent = target.parent
    token = secrets.token_hex(4)
    staging = parent / f".{target.name}.tmp-{token}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        yield staging
    except BaseException as exc:
        with signals_deferred():
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError) and not isinstance(exc, ResultsFolderError):
            raise cannot_write(target, exc) from exc
        raise
    old = parent / f".{target.name}.old-{token}"
    with signals_deferred():
        try:
            if target.exists():
                target.rename(old)
            staging.rename(target)
        except OSError as exc:
            if old.exists() and not target.exists():
                old.rename(target)
            shutil.rmtree(staging, ignore_errors=True)
            raise cannot_write(target, exc) from exc
        shutil.rmtree(old, ignore_errors=True)


def cannot_write(target: Path, error: OSError) -> ResultsFolderError:
    """The error for a write under *target* the system refused (disk full, no
    permission): it names *target* and the system's reason, not a file inside
    a staging folder."""
    reason = error.strerror or str(error) or type(error).__name__
    return ResultsFolderError(f"cannot write results to {target}: {reason}")


def replace_file(path: Path, write: Any) -> None:
    """Write *path* through a temporary sibling so a failure keeps the old file."""
    temporary = path.with_name(f".{path.name}.tmp")
    write(temporary)
    os.replace(temporary, path)
