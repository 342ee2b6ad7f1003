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
from typing import Any, Final

import pandas as pd

EVENT_COLUMNS: Final = ("time_s", "kind", "service", "task", "reason", "detail")
_COLUMN_FIELDS: Final = frozenset({"service", "task", "reason"})


class Recorder:
    """Collects events ``(time_s, kind, fields)``.

    In the frame, fields other than service, task and reason go to ``detail``
    as JSON with sorted keys.
    """

    def __init__(self) -> None:
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
        for fields in self.fields:
            services.append(fields.get("service"))
            tasks.append(fields.get("task"))
            reasons.append(fields.get("reason"))
            rest = {k: v for k, v in fields.items() if k not in _COLUMN_FIELDS}
            details.append(encode(rest) if rest else "{}")
        frame = pd.DataFrame(
            {
                "time_s": pd.Series(self.times, dtype="float64"),
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
