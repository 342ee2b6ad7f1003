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
from unittest.mock import patch

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from ecssim.results import recorder as recorder_module
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


def _reference_frame(rows: list[tuple[float, str, dict[str, Any]]]) -> pd.DataFrame:
    """The frame as the first recorder built it: one ``json.dumps`` per row."""
    details = [
        json.dumps(
            {k: v for k, v in fields.items() if k not in {"service", "task", "reason"}},
            sort_keys=True,
            default=str,
        )
        for _, _, fields in rows
    ]
    frame = pd.DataFrame(
        {
            "time_s": pd.Series([t for t, _, _ in rows], dtype="float64"),
            "kind": pd.Series([k for _, k, _ in rows], dtype=object),
            **{
                name: pd.Series([f.get(name) for _, _, f in rows], dtype=object)
                for name in ("service", "task", "reason")
            },
            "detail": pd.Series(details, dtype=object),
        }
    )
    return frame.astype(dict.fromkeys(STRING_COLUMNS, "string"))


_KEYS = st.sampled_from(
    ["service", "task", "reason", "busy", "expires_at", "n", "é{x}"]
)
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.integers(0, 3), max_size=2),
    st.datetimes(),
)
_RECORDS = st.lists(
    st.tuples(
        st.floats(0, 1e7),
        st.sampled_from(["task_status", "protection_set", "tick"]),
        st.dictionaries(_KEYS, _VALUES, max_size=4),
    ),
    max_size=40,
)


@given(rows=_RECORDS, block=st.sampled_from([1, 3, 4096]))
def test_the_frame_is_what_one_json_dumps_per_row_gives(
    rows: list[tuple[float, str, dict[str, Any]]], block: int
) -> None:
    """Whatever the kinds, fields (same kind with other fields, in another order,
    of the same number), values (NaN, infinities, unicode, lists, datetimes) and
    however the records were filed into tables, the frame has the bytes of one
    ``json.dumps(sort_keys=True, default=str)`` per row, in record order."""
    recorder = Recorder()
    with patch.object(recorder_module, "_BLOCK", block):
        for time_s, kind, fields in rows:
            recorder.record(time_s, kind, fields)
    frame = recorder.events_frame().drop(columns="timestamp")
    pd.testing.assert_frame_equal(frame, _reference_frame(rows), check_exact=True)
    assert [(t, k, f) for t, k, f in recorder.records()] == rows
    assert recorder.fields == [f for _, _, f in rows]


def test_select_gives_the_fields_of_some_kinds_in_record_order() -> None:
    """``select`` returns the positions, times, kinds and fields of the records of
    the kinds asked for, None where a record lacks a field."""
    recorder = Recorder()
    recorder.record(0.0, "a", {"task": "t1", "x": 1})
    recorder.record(1.0, "b", {"task": "t2"})
    recorder.record(2.0, "a", {"task": "t3", "x": 2})
    recorder.record(3.0, "c", {"x": [3, 4]})
    positions, times, kinds, fields = recorder.select({"a", "c"}, ("task", "x"))
    rows = sorted(
        zip(
            positions.tolist(),
            times.tolist(),
            kinds.tolist(),
            *(v.tolist() for v in fields.values()),
            strict=True,
        )
    )
    assert rows == [
        (0, 0.0, "a", "t1", 1),
        (2, 2.0, "a", "t3", 2),
        (3, 3.0, "c", None, [3, 4]),
    ]


def test_clear_forgets_every_record() -> None:
    """After ``clear`` the recorder is empty and records afresh."""
    recorder = Recorder()
    recorder.record(0.0, "a", {"task": "t1"})
    recorder.clear()
    assert len(recorder) == 0
    assert len(recorder.events_frame()) == 0
    recorder.record(1.0, "a", {"task": "t2"})
    assert recorder.events_frame()["task"].tolist() == ["t2"]


def _some_records(block: int = 3) -> Recorder:
    recorder = Recorder()
    rows: list[tuple[float, str, dict[str, Any]]] = [
        (0.0, "task_status", {"service": "s", "task": "t1", "status": "PENDING"}),
        (1.0, "protection_set", {"service": "s", "task": "t1", "expires_at": 60.0}),
        (2.0, "task_busy_changed", {"service": "s", "task": "t1", "busy": True}),
        (3.0, "task_status", {"service": None, "task": "t2", "status": "RUNNING"}),
        (4.0, "protection_set", {"service": "s", "task": "t2", "expires_at": 9e99}),
        (5.0, "tick", {}),
        (6.0, "task_busy_changed", {"service": "s", "task": "t1", "busy": False}),
        (7.0, "protection_set", {"service": "s", "task": "t1", "expires_at": 2**70}),
    ]
    with patch.object(recorder_module, "_BLOCK", block):
        for time_s, kind, fields in rows:
            recorder.record(time_s, kind, fields)
    return recorder


def test_a_frame_of_some_kinds_or_records_is_that_part_of_the_whole() -> None:
    """The frame of some kinds is the whole frame's rows of those kinds; the
    frame of the first records its first rows; the frame in parts, joined, the
    whole frame."""
    recorder = _some_records()
    whole = recorder.events_frame()
    kinds = {"protection_set", "tick"}
    pd.testing.assert_frame_equal(
        recorder.events_frame(kinds),
        whole[whole["kind"].isin(kinds)].reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(
        recorder.events_frame(kinds, stop=5),
        whole.iloc[:5][whole["kind"].iloc[:5].isin(kinds)].reset_index(drop=True),
    )
    pd.testing.assert_frame_equal(recorder.events_frame(stop=4), whole.iloc[:4])
    parts = list(recorder.event_batches(3))
    assert [len(p) for p in parts] == [3, 3, 2]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert [len(p) for p in Recorder().event_batches(3)] == [0]


def test_values_come_back_as_recorded_whatever_their_types() -> None:
    """A column that changes type on the way (floats, then an int beyond 64 bits)
    gives back every value with its type; text and None alike."""
    recorder = _some_records()
    assert [f.get("expires_at") for f in recorder.fields] == [
        None, 60.0, None, None, 9e99, None, None, 2**70,
    ]  # fmt: skip
    assert [type(f.get("busy")) for f in recorder.fields][2] is bool
    assert recorder.kinds[5] == "tick"


def test_count_by_counts_records_of_some_kinds_by_a_field() -> None:
    """``count_by`` counts the records of the kinds asked for by kind and field
    value (None: no such field), from a time on."""
    recorder = _some_records()
    assert recorder.count_by({"task_status", "tick"}, "service") == {
        ("task_status", "s"): 1,
        ("task_status", None): 1,
        ("tick", None): 1,
    }
    assert recorder.count_by({"protection_set"}, "task", since_s=2.0) == {
        ("protection_set", "t2"): 1,
        ("protection_set", "t1"): 1,
    }
    assert recorder.kinds_recorded() == {
        "task_status",
        "protection_set",
        "task_busy_changed",
        "tick",
    }


def test_selections_are_select_a_part_of_the_rows_at_a_time() -> None:
    """Each part of ``selections`` holds the rows of ``select`` it names; text
    codes name the same rows (0 for None)."""
    recorder = _some_records()
    kinds = {"task_status", "protection_set", "task_busy_changed"}
    keys = ("task", "status", "busy", "expires_at")
    at, times, names, fields = recorder.select(kinds, keys)
    parts = [np.array([0, 2, 5]), np.array([6, 1])]
    for rows, (p_at, p_times, p_names, p_fields) in zip(
        parts, recorder.selections(kinds, keys, parts), strict=True
    ):
        assert p_at.tolist() == at[rows].tolist()
        assert p_times.tolist() == times[rows].tolist()
        assert p_names.tolist() == names[rows].tolist()
        for key in keys:
            assert p_fields[key].tolist() == fields[key][rows].tolist()
    found = recorder.text_codes(kinds, "service")
    assert found is not None
    codes, words = found
    assert [words[c] for c in codes.tolist()] == _fields_of(recorder, kinds, "service")


def _fields_of(recorder: Recorder, kinds: set[str], key: str) -> list[Any]:
    """The values of *key* in the rows of ``select``."""
    return recorder.select(kinds, (key,))[3][key].tolist()


@given(
    values=st.lists(
        st.one_of(
            st.integers(-(2**64), 2**64),
            st.sampled_from([2**63 - 1, -(2**63), 2**63, -(2**63) - 1]),
        ),
        min_size=1,
        max_size=8,
    ),
    block=st.sampled_from([1, 2, 4096]),
)
def test_ints_at_and_beyond_64_bits_come_back_as_recorded(
    values: list[int], block: int
) -> None:
    """Ints at the 64-bit bounds stay in the typed column, one beyond them turns
    the column into objects; either way each value comes back equal, an int,
    and ``len`` counts records not yet filed."""
    recorder = Recorder()
    with patch.object(recorder_module, "_BLOCK", block):
        for i, value in enumerate(values):
            recorder.record(float(i), "tick", {"n": value})
            assert len(recorder) == i + 1
    got = [fields["n"] for _, _, fields in recorder.records()]
    assert got == values
    assert {type(v) for v in got} == {int}
