"""Append-only records of what happened in a run, and their tidy frames.

The recorder knows nothing about the model: the control plane and the processes
hand it a kind (past tense, ``task_stopped``) and a few fields. Recording only
appends to three column lists; pandas and JSON are touched once, in
:meth:`Recorder.events_frame`, at the end. Columns rather than a tuple per
event keep long runs cheap for Python's cyclic garbage collector: a dict of
plain values is not tracked by it, a tuple holding a dict always is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd

EVENT_COLUMNS: Final = (
    "time_s",
    "timestamp",
    "kind",
    "service",
    "task",
    "reason",
    "detail",
)
#: Simulated time 0 when a recorder is not told otherwise.
DEFAULT_EPOCH: Final = datetime(2026, 1, 5, tzinfo=UTC)
_COLUMN_FIELDS: Final = frozenset({"service", "task", "reason"})


def timestamps(time_s: pd.Series, start: datetime) -> pd.Series:
    """Simulated seconds as UTC wall-clock times (``start`` is time 0)."""
    epoch = pd.Timestamp(start).tz_convert("UTC")
    offsets = pd.to_timedelta(time_s.to_numpy(dtype="float64"), unit="s")
    return pd.Series(epoch + offsets, index=time_s.index, name="timestamp")


def event_details(events: pd.DataFrame, kind: str | None = None) -> pd.DataFrame:
    """The events (of *kind* when given) with their ``detail`` as typed columns.

    Every key of the JSON in ``detail`` becomes a column of its own, typed by
    pandas (numbers as numbers, booleans as booleans, missing values as NA),
    after the other columns, so events can be filtered like any frame:
    ``event_details(events, "desired_count_changed").query("desired_count < previous")``.
    """
    rows = events if kind is None else events[events["kind"] == kind]
    details = pd.DataFrame.from_records(
        [json.loads(text) for text in rows["detail"]], index=rows.index
    )
    if details.columns.empty:
        return rows.drop(columns="detail").copy()
    details = details.convert_dtypes()
    clashes = [c for c in details.columns if c in rows.columns]
    details = details.rename(columns={c: f"detail.{c}" for c in clashes})
    return pd.concat([rows.drop(columns="detail"), details], axis=1)


class Recorder:
    """Collects events ``(time_s, kind, fields)``.

    In the frame, fields other than service, task and reason go to ``detail``
    as JSON with sorted keys; ``timestamp`` is ``time_s`` as UTC wall-clock time
    from *start* (time 0).
    """

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        self.start = start
        self.times: list[float] = []
        self.kinds: list[str] = []
        self.fields: list[Mapping[str, Any]] = []

    def __len__(self) -> int:
        return len(self.times)

    def record(self, now: float, kind: str, fields: Mapping[str, Any]) -> None:
        """Append one event."""
        self.times.append(now)
        self.kinds.append(kind)
        self.fields.append(fields)

    def events_frame(self) -> pd.DataFrame:
        """All events as a tidy frame with the columns of :data:`EVENT_COLUMNS`."""
        # one encoder for every row: json.dumps with options builds one per call
        encode = json.JSONEncoder(sort_keys=True, default=str).encode
        services, tasks, reasons, details = [], [], [], []
        # many details are one flag or status ({"busy": true}): encode those once
        small: dict[tuple[str, Any], str] = {}
        for fields in self.fields:
            services.append(fields.get("service"))
            tasks.append(fields.get("task"))
            reasons.append(fields.get("reason"))
            rest = {k: v for k, v in fields.items() if k not in _COLUMN_FIELDS}
            if not rest:
                details.append("{}")
            elif len(rest) == 1:
                ((key, value),) = rest.items()
                if type(value) in (bool, str) or value is None:
                    text = small.get((key, value))
                    if text is None:
                        text = small[(key, value)] = encode(rest)
                    details.append(text)
                else:
                    details.append(encode(rest))
            else:
                details.append(encode(rest))
        frame = pd.DataFrame(
            {
                "time_s": pd.Series(self.times, dtype="float64"),
                "timestamp": timestamps(
                    pd.Series(self.times, dtype="float64"), self.start
                ),
                "kind": pd.Series(self.kinds, dtype=object),
                "service": pd.Series(services, dtype=object),
                "task": pd.Series(tasks, dtype=object),
                "reason": pd.Series(reasons, dtype=object),
                "detail": pd.Series(details, dtype=object),
            },
            columns=list(EVENT_COLUMNS),
        )
        return frame.astype(
            {
                "kind": "string",
                "service": "string",
                "task": "string",
                "reason": "string",
                "detail": "string",
            }
        )
