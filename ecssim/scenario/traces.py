"""Arrival traces: the CSV files a scenario replays, read and checked.

A trace has a header with a column ``arrival`` and optionally ``duration``;
values are seconds or durations with units (``90s``, ``15m``). ``ecssim
validate`` reads every trace a scenario names, so a bad one is found before a
run; runs read it again with the same function. Problems are
:class:`~ecssim.errors.ScenarioError` messages ``FILE:LINE: column: value:
reason``.
"""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from ecssim.errors import ScenarioError
from ecssim.units import parse_duration

#: At most this many rows in a trace: each row is one arrival, and the same
#: bound applies to the arrivals a rate may expect (see ``MAX_ARRIVALS``).
MAX_TRACE_ROWS: Final = 5_000_000
#: At most this many bytes in a trace file (blank lines are skipped, not counted).
MAX_TRACE_BYTES: Final = 1 << 30
#: A value longer than this is not a number or a duration (the csv module's own
#: field limit is 131,072 characters; a longer field is reported the same way).
MAX_TRACE_VALUE: Final = 100


def read_trace(path: Path) -> list[tuple[float, float | None]]:
    """Rows ``(arrival_s, duration_s or None)`` of the CSV trace at *path*,
    sorted by arrival.

    Raises:
        ScenarioError: the file cannot be read, is not a regular file, has no
            ``arrival`` column, or a value is bad (names the line and column).
    """
    return sorted(_rows(path), key=lambda r: r[0])


def _rows(path: Path) -> Iterator[tuple[float, float | None]]:
    """The rows of the trace at *path* in file order (see :func:`read_trace`)."""
    _check_path(path)
    count = 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                header = next(reader, None)
                if header is None:
                    raise ScenarioError(
                        f"{path}: a trace needs a header with an 'arrival' column"
                    )
                names = [name.strip() for name in header]
                if "arrival" not in names:
                    raise ScenarioError(
                        f"{path}:1: a trace needs a header with an 'arrival' column; "
                        f"the header is {header[:10]!r}"
                    )
                arrival_at = names.index("arrival")
                duration_at = names.index("duration") if "duration" in names else None
                for record in reader:
                    if not record or all(not cell.strip() for cell in record):
                        continue  # a blank line
                    line = reader.line_num
                    if count >= MAX_TRACE_ROWS:
                        raise ScenarioError(
                            f"{path}:{line}: the trace has more than "
                            f"{MAX_TRACE_ROWS:,} rows (each row is one arrival; "
                            "split the run or sample the trace)"
                        )
                    arrival = _value(path, line, "arrival", record, arrival_at)
                    duration = (
                        _value(path, line, "duration", record, duration_at)
                        if duration_at is not None
                        and duration_at < len(record)
                        and record[duration_at].strip()
                        else None
                    )
                    if arrival is None:
                        raise ScenarioError(f"{path}:{line}: arrival: missing value")
                    count += 1
                    yield arrival, duration
            except csv.Error as exc:
                reason = (
                    f"a value is longer than the csv module's limit of "
                    f"{csv.field_size_limit():,} characters"
                    if "field limit" in str(exc)
                    else f"not a CSV row this can read ({exc})"
                )
                raise ScenarioError(
                    f"{path}:{max(reader.line_num, 1)}: {reason}; a trace value "
                    "is a number or a duration"
                ) from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the trace ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: the trace is not a UTF-8 text file") from None


def check_trace(path: Path) -> None:
    """Read the trace at *path* once per version of the file (by size and
    modification time), raising what :func:`read_trace` raises."""
    try:
        info = path.stat()
    except (OSError, ValueError):
        _check_path(path)  # raises, naming the problem
        raise
    key = (str(path.resolve()), info.st_size, info.st_mtime_ns)
    if key in _CHECKED:
        return
    for _ in _rows(path):  # every row checked, none kept
        pass
    if len(_CHECKED) > 1000:
        _CHECKED.clear()
    _CHECKED.add(key)


_CHECKED: set[tuple[str, int, int]] = set()


def _check_path(path: Path) -> None:
    text = os.fspath(path)
    if "\0" in text:
        raise ScenarioError(f"{text!r}: a trace path cannot contain a NUL byte")
    try:
        info = path.stat()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the trace ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(
            f"{path}: a trace must be a regular file (not a folder, pipe or device)"
        )
    if info.st_size > MAX_TRACE_BYTES:
        raise ScenarioError(
            f"{path}: the trace is {info.st_size:,} bytes; at most "
            f"{MAX_TRACE_BYTES:,} (its {MAX_TRACE_ROWS:,} rows at most fit in far less)"
        )


def _value(
    path: Path, line: int, column: str, record: list[str], index: int
) -> float | None:
    if index >= len(record):
        return None
    text = record[index].strip()
    if not text:
        return None
    shown = text if len(text) <= 40 else text[:40] + "..."
    if len(text) > MAX_TRACE_VALUE:
        raise ScenarioError(
            f"{path}:{line}: {column}: {shown!r}: longer than {MAX_TRACE_VALUE} "
            "characters; a trace value is a number or a duration"
        )
    try:
        number: float | str = float(text)
    except ValueError:
        number = text
    try:
        return parse_duration(number)
    except ValueError as exc:
        reason = str(exc).removeprefix(f"{number!r} ").removeprefix(f"{text!r} ")
        raise ScenarioError(f"{path}:{line}: {column}: {shown!r}: {reason}") from None
