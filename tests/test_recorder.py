"""``ecssim.results.recorder``: the events a run records, and their tidy frame.

The frame has the columns of ``EVENT_COLUMNS`` with fixed dtypes (float64 time,
pandas ``string`` elsewhere) whether or not anything was recorded; service,
task and reason are columns, every other field is JSON with sorted keys in
``detail``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ecssim.results.recorder import EVENT_COLUMNS, Recorder, event_details

STRING_COLUMNS = ("kind", "service", "task", "reason", "detail")


def _frame(*rows: tuple[float, str, dict[str, Any]]) -> pd.DataFrame:
    recorder = Recorder()
    for time_s, kind, fields in rows:
        recorder.record(time_s, kind, fields)
    return recorder.events_frame()


def _assert_schema(frame: pd.DataFrame) -> None:
    assert tuple(frame.columns) == EVENT_COLUMNS
    assert frame["time_s"].dtype == np.dtype("float64")
    for column in STRING_COLUMNS:
        assert frame[column].dtype == pd.StringDtype(), column


def test_an_empty_recorder_gives_an_empty_frame_with_the_schema() -> None:
    """No events: zero rows, the EVENT_COLUMNS in order, float64 time and string dtypes."""
    recorder = Recorder()
    assert len(recorder) == 0
    frame = recorder.events_frame()
    assert len(frame) == 0
    _assert_schema(frame)


def test_the_length_is_the_number_of_records() -> None:
    """``len(recorder)`` counts every record, and the frame has one row per record."""
    recorder = Recorder()
    for i in range(5):
        recorder.record(float(i), "tick", {"i": i})
    assert len(recorder) == 5
    assert len(recorder.events_frame()) == 5


def test_events_become_rows_with_service_task_and_reason_as_columns() -> None:
    """Each record is a row in order; service, task and reason are columns (missing:
    NA), and an int time (SimPy's clock starts at int 0) becomes a float."""
    frame = _frame(
        (0, "task_created", {"service": "svc", "task": "abc"}),
        (1.5, "protection_failed", {"task": "abc", "reason": "DEPLOYMENT_BLOCKED"}),
        (2.25, "tick", {}),
    )
    _assert_schema(frame)
    assert frame["time_s"].tolist() == [0.0, 1.5, 2.25]
    assert frame["kind"].tolist() == ["task_created", "protection_failed", "tick"]
    assert frame["service"].tolist() == ["svc", pd.NA, pd.NA]
    assert frame["task"].tolist() == ["abc", "abc", pd.NA]
    assert frame["reason"].tolist() == [pd.NA, "DEPLOYMENT_BLOCKED", pd.NA]
    assert frame["detail"].tolist() == ["{}", "{}", "{}"]


def test_other_fields_go_to_detail_as_json_with_sorted_keys() -> None:
    """Fields other than service, task and reason are the detail, keys sorted (nested
    too), with JSON's own spelling of None, booleans and lists."""
    frame = _frame(
        (
            3.0,
            "task_stop_requested",
            {
                "zone": "us-east-1a",
                "service": "svc",
                "stop_code": "ServiceSchedulerInitiated",
                "task": "abc",
                "busy": True,
                "reason": "scale-in",
                "attempt": 2,
                "expires": None,
                "ids": ["b", "a"],
                "nested": {"y": 1, "x": 2.5},
            },
        )
    )
    detail = frame["detail"].iloc[0]
    assert detail == (
        '{"attempt": 2, "busy": true, "expires": null, "ids": ["b", "a"], '
        '"nested": {"x": 2.5, "y": 1}, "stop_code": "ServiceSchedulerInitiated", '
        '"zone": "us-east-1a"}'
    )
    assert set(json.loads(detail)).isdisjoint({"service", "task", "reason"})
    assert (frame["service"].iloc[0], frame["task"].iloc[0]) == ("svc", "abc")
    assert frame["reason"].iloc[0] == "scale-in"


def test_a_value_json_cannot_encode_is_written_as_its_str() -> None:
    """A datetime (or any value JSON has no form for) is written as ``str(value)``."""
    when = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    frame = _frame((1.0, "scheduled", {"when": when, "task": "abc"}))
    assert json.loads(frame["detail"].iloc[0]) == {"when": str(when)}
    assert frame["detail"].iloc[0] == '{"when": "2026-01-05 09:30:00+00:00"}'


def test_only_column_fields_give_an_empty_detail() -> None:
    """A record with only service, task and reason has the detail ``{}``."""
    frame = _frame((1.0, "x", {"service": "svc", "task": "t", "reason": "r"}))
    assert frame["detail"].tolist() == ["{}"]


def test_timestamps_are_utc_wall_clock_from_the_start() -> None:
    """``timestamp`` is ``time_s`` after the recorder's start, in UTC."""
    recorder = Recorder(datetime(2026, 3, 1, 9, 30, tzinfo=UTC))
    recorder.record(90.5, "task_created", {"task": "t1"})
    frame = recorder.events_frame()
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert frame["timestamp"].iloc[0] == pd.Timestamp("2026-03-01T09:31:30.5Z")


def test_event_details_are_typed_columns() -> None:
    """``event_details`` turns the JSON of ``detail`` into typed, filterable columns
    (integers, booleans, NA where a key is missing) for one kind or for all."""
    frame = _frame(
        (
            1.0,
            "desired_count_changed",
            {"service": "s", "previous": 4, "desired_count": 2},
        ),
        (2.0, "task_busy_changed", {"service": "s", "task": "t", "busy": True}),
        (
            3.0,
            "desired_count_changed",
            {"service": "s", "previous": 2, "desired_count": 3},
        ),
    )
    drops = event_details(frame, "desired_count_changed")
    assert str(drops["desired_count"].dtype) == "Int64"
    assert list(drops.query("desired_count < previous")["time_s"]) == [1.0]
    assert "detail" not in drops.columns
    everything = event_details(frame)
    assert len(everything) == 3
    assert str(everything["busy"].dtype) == "boolean"
    assert everything["busy"].isna().sum() == 2
