"""Append-only records of what happened in a run, and their tidy frames.

The recorder knows nothing about the model: the control plane and the processes
hand it a kind (past tense, ``task_stopped``) and a few fields. pandas is only
touched in :meth:`Recorder.events_frame`, once, at the end.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

EVENT_COLUMNS: Final = ("time_s", "kind", "service", "task", "detail")


class Recorder:
    """Collects event rows ``(time_s, kind, service, task, detail)``."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, str, str | None, str | None, str]] = []

    def record(self, now: float, kind: str, fields: Mapping[str, Any]) -> None:
        """Append one event; fields other than service and task go to ``detail``."""
        rest = {k: v for k, v in fields.items() if k not in ("service", "task")}
        self.rows.append(
            (
                now,
                kind,
                fields.get("service"),
                fields.get("task"),
                json.dumps(rest, sort_keys=True, default=str),
            )
        )

    def events_frame(self) -> pd.DataFrame:
        """All events as a tidy frame with the columns of :data:`EVENT_COLUMNS`."""
        frame = pd.DataFrame.from_records(self.rows, columns=list(EVENT_COLUMNS))
        return frame.astype({"time_s": "float64", "kind": "string"})
