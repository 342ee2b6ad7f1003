"""Append-only records of what happened in a run, and their tidy frames.

The recorder knows nothing about the model: the control plane and the processes
hand it a kind (past tense, ``task_stopped``) and a few fields. Recording only
appends: the time to a typed array, the kind to a list and the field values to
the columns of a table per kind and set of field names (a few list slots per
record, not a dict). pandas, Arrow and JSON are touched once, in
:meth:`Recorder.events_frame`, at the end, a column at a time.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import compress
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

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
_COLUMN_FIELDS: Final = ("service", "task", "reason")
#: rows a table keeps as tuples before moving them into its columns
_BLOCK: Final = 4096
_JSON_CONSTANTS: Final = {True: "true", False: "false", None: "null"}


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


class _Table:
    """The records of one kind with one tuple of field names, as columns."""

    __slots__ = ("columns", "index", "keys", "kind")

    def __init__(self, index: int, kind: str, keys: tuple[str, ...]) -> None:
        self.index = index
        self.kind = kind
        self.keys = keys
        self.columns: list[list[Any]] = [[] for _ in keys]

    def append(self, fields: Mapping[str, Any]) -> None:
        """Append one record's values (it has exactly the fields ``keys``)."""
        for key, column in zip(self.keys, self.columns, strict=True):
            column.append(fields[key])

    def column(self, key: str) -> list[Any] | None:
        """The values of field *key* in record order (None: the table has no such field)."""
        if key not in self.keys:
            return None
        return self.columns[self.keys.index(key)]


def _encoded(values: list[Any], encode: Any) -> list[str]:
    """Each value as the JSON ``json.dumps(..., sort_keys=True, default=str)`` writes
    for it inside an object, a column at a time where the column has one plain type."""
    types = set(map(type, values))
    if types == {str}:
        return list(map(encode_basestring_ascii, values))
    if types <= {bool, type(None)}:
        return [_JSON_CONSTANTS[v] for v in values]
    if types == {int}:
        return list(map(int.__repr__, values))
    if types == {float} and bool(np.isfinite(np.asarray(values, dtype=float)).all()):
        return list(map(float.__repr__, values))
    return list(map(encode, values))


def _details(table: _Table, lo: int, hi: int, encode: Any) -> pa.Array:
    """The ``detail`` text of rows *lo* to *hi* of *table*: its fields other than
    the column fields, as JSON with sorted keys."""
    rest = sorted(k for k in table.keys if k not in _COLUMN_FIELDS)
    if not rest:
        return pa.array(["{}"] * (hi - lo), pa.large_string())
    template = (
        "{{"
        + ", ".join(
            encode_basestring_ascii(k).replace("{", "{{").replace("}", "}}") + ": {}"
            for k in rest
        )
        + "}}"
    )
    encoded = [
        _encoded(table.columns[table.keys.index(k)][lo:hi], encode) for k in rest
    ]
    return pa.array(list(map(template.format, *encoded)), pa.large_string())


def _text_column(values: list[Any]) -> pa.Array:
    """A column field's values as Arrow text: missing values (None, NaN, NA)
    stay missing, anything else not text becomes text as pandas makes it."""
    try:
        return pa.array(values, pa.large_string())  # text and None: the usual case
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        converted = pd.Series(values, dtype=object).astype("string")
        return pa.array(converted, pa.large_string(), from_pandas=True)


def _string_column(chunks: list[pa.Array], order: np.ndarray | None) -> pd.Series:
    joined = pa.concat_arrays(chunks) if chunks else pa.array([], pa.large_string())
    if order is not None:
        joined = joined.take(pa.array(order))
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([joined])))


class Recorder:
    """Collects events ``(time_s, kind, fields)``.

    In the frame, fields other than service, task and reason go to ``detail``
    as JSON with sorted keys; ``timestamp`` is ``time_s`` as UTC wall-clock time
    from *start* (time 0). ``kinds`` is every record's kind, in order.
    """

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        self.start = start
        self.times = array("d")
        self.kinds: list[str] = []
        #: each record's table (an index into ``_by_index``)
        self._table_of = array("i")
        #: records not yet filed into their tables, a block at most
        self._pending: list[Mapping[str, Any]] = []
        #: table index by kind and set of field names
        self._tables: dict[tuple[str, frozenset[str]], int] = {}
        #: the table a record of (kind, number of fields) goes to first
        self._by_shape: dict[tuple[str, int], int] = {}
        self._by_index: list[_Table] = []

    def __len__(self) -> int:
        return len(self.times)

    def record(self, now: float, kind: str, fields: Mapping[str, Any]) -> None:
        """Append one event."""
        self.times.append(now)
        self.kinds.append(kind)
        pending = self._pending
        pending.append(fields)
        if len(pending) >= _BLOCK:
            self._file()

    def _file(self) -> None:
        """Move the pending records into their tables, a block at a time (cheaper
        than one by one while the model runs).

        A block's records are grouped by kind and number of fields; a group whose
        records all have the fields of its table goes in at once (same number,
        all present: the same fields), any other record on its own."""
        pending = self._pending
        if not pending:
            return
        start = len(self._table_of)
        shapes = list(
            zip(
                self.kinds[start : start + len(pending)], map(len, pending), strict=True
            )
        )
        by_shape = self._by_shape
        for shape in set(shapes).difference(by_shape):
            keys = tuple(pending[shapes.index(shape)])
            by_shape[shape] = self._table(shape[0], keys).index
        ids = array("i", map(by_shape.__getitem__, shapes))
        owner = np.frombuffer(ids, dtype=np.int32)
        order = np.argsort(owner, kind="stable")
        bounds = np.flatnonzero(np.diff(owner[order])) + 1
        for rows in np.split(order, bounds):
            block = [pending[i] for i in rows.tolist()]
            table = self._by_index[int(owner[rows[0]])]
            try:
                values = [list(map(itemgetter(k), block)) for k in table.keys]
            except KeyError:  # records of one kind with other fields: one by one
                for i in rows.tolist():
                    fields = pending[i]
                    other = self._table(shapes[i][0], tuple(fields))
                    ids[i] = other.index
                    other.append(fields)
                continue
            for column, found in zip(table.columns, values, strict=True):
                column.extend(found)
        self._table_of.extend(ids)
        pending.clear()

    def _table(self, kind: str, keys: tuple[str, ...]) -> _Table:
        """The table of *kind* with the fields *keys* (in any order), new if need be."""
        key = (kind, frozenset(keys))
        index = self._tables.get(key)
        if index is not None:
            return self._by_index[index]
        table = _Table(len(self._by_index), kind, keys)
        self._tables[key] = table.index
        self._by_index.append(table)
        return table

    def clear(self) -> None:
        """Forget every record (a soak test measuring the model's own memory)."""
        self.times = array("d")
        self.kinds.clear()
        self._table_of = array("i")
        self._pending.clear()
        self._tables.clear()
        self._by_shape.clear()
        self._by_index.clear()

    @property
    def fields(self) -> list[dict[str, Any]]:
        """Every record's fields as a dict, in order (built on each call: slow)."""
        return [fields for _, _, fields in self.records()]

    def records(self) -> Iterator[tuple[float, str, dict[str, Any]]]:
        """Every record as ``(time_s, kind, fields)``, in order."""
        self._file()
        rows = [0] * len(self._by_index)
        for time_s, kind, index in zip(
            self.times, self.kinds, self._table_of, strict=True
        ):
            table = self._by_index[index]
            row = rows[index]
            rows[index] = row + 1
            yield (
                time_s,
                kind,
                {k: c[row] for k, c in zip(table.keys, table.columns, strict=True)},
            )

    def _positions(self) -> list[np.ndarray]:
        """Per table (by index), the positions of its records among all records."""
        self._file()
        owner = np.frombuffer(self._table_of, dtype=np.int32)
        if not len(owner):
            return [np.empty(0, np.int64) for _ in self._by_index]
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], np.arange(len(self._by_index) + 1))
        return [order[bounds[i] : bounds[i + 1]] for i in range(len(self._by_index))]

    def kinds_recorded(self) -> set[str]:
        """Every kind that has records."""
        self._file()
        return {table.kind for table in self._by_index}

    def count_by(
        self, kinds: Collection[str], key: str, *, since_s: float = 0.0
    ) -> dict[tuple[str, Any], int]:
        """How many records of *kinds* there are from *since_s* on, by kind and
        value of the field *key* (None where a record has no such field),
        without building any frame."""
        self._file()
        chosen = [t for t in self._by_index if t.kind in kinds]
        positions = self._positions() if since_s > 0 and chosen else []
        times = np.frombuffer(self.times, dtype=np.float64)
        sizes = np.bincount(
            np.frombuffer(self._table_of, dtype=np.int32), minlength=len(self._by_index)
        ).tolist()
        found: dict[tuple[str, Any], int] = {}
        for table in chosen:
            values: Any = table.column(key)
            if values is None:
                values = [None] * sizes[table.index]
            if since_s > 0:
                values = compress(values, times[positions[table.index]] >= since_s)
            for value, count in Counter(values).items():
                found[table.kind, value] = found.get((table.kind, value), 0) + count
        return found

    def select(
        self, kinds: Collection[str], keys: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """The records of *kinds* without building any frame: their positions among
        all records, their times, their kinds and the values of each field in
        *keys* (None where a record has no such field), as numpy arrays (object
        arrays for kinds and fields) grouped by table: sort by position for the
        record order."""
        self._file()
        chosen = [t for t in self._by_index if t.kind in kinds]
        every = self._positions()
        positions = [every[t.index] for t in chosen]
        at = np.concatenate(positions) if positions else np.empty(0, np.int64)
        starts = np.cumsum([0, *map(len, positions)]).tolist()
        values: dict[str, np.ndarray] = {}
        for key in keys:
            column = np.full(len(at), None, dtype=object)
            for i, table in enumerate(chosen):
                found = table.column(key)
                if found is not None:
                    # fromiter: a value that is a list stays one value
                    column[starts[i] : starts[i + 1]] = np.fromiter(
                        found, dtype=object, count=len(found)
                    )
            values[key] = column
        kinds_of = np.empty(len(at), dtype=object)
        for i, table in enumerate(chosen):
            kinds_of[starts[i] : starts[i + 1]] = table.kind
        times = np.frombuffer(self.times, dtype=np.float64)[at]
        return at, times, kinds_of, values

    def events_frame(
        self, kinds: Collection[str] | None = None, *, stop: int | None = None
    ) -> pd.DataFrame:
        """The events (of *kinds* when given; the first *stop* records when
        given) as a tidy frame with the columns of :data:`EVENT_COLUMNS`."""
        self._file()
        end = len(self.times) if stop is None else min(stop, len(self.times))
        positions = self._positions()
        if kinds is None:
            return self._frame(0, end, positions)
        return self._frame(
            0,
            end,
            positions,
            [
                (table, int(np.searchsorted(positions[table.index], end)))
                for table in self._by_index
                if table.kind in kinds
            ],
        )

    def event_batches(
        self, rows: int, *, stop: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """The frame of :meth:`events_frame` in consecutive pieces of *rows*
        records (the last one shorter), so the whole frame never exists at once."""
        self._file()
        end = len(self.times) if stop is None else min(stop, len(self.times))
        positions = self._positions()
        for first in range(0, end, rows):
            yield self._frame(first, min(first + rows, end), positions)
        if not end:
            yield self._frame(0, 0, positions)

    def _frame(
        self,
        first: int,
        stop: int,
        positions: list[np.ndarray],
        chosen: Sequence[tuple[_Table, int]] | None = None,
    ) -> pd.DataFrame:
        """The records from *first* to *stop* as a frame (*positions*: those of
        :meth:`_positions`); with *chosen*, only the first records of the tables
        given, each with the number of its rows before *stop*."""
        # one encoder for what has no plain JSON type: json.dumps builds one per call
        encode = json.JSONEncoder(sort_keys=True, default=str).encode
        chunks: dict[str, list[pa.Array]] = {
            name: [] for name in ("kind", *_COLUMN_FIELDS, "detail")
        }
        places: list[np.ndarray] = []
        if chosen is None:
            tables = []
            for table, where in zip(self._by_index, positions, strict=True):
                lo, hi = np.searchsorted(where, (first, stop)).tolist()
                places.append(where[lo:hi])
                tables.append((table, lo, hi))
        else:
            tables = [(table, 0, hi) for table, hi in chosen]
            places = [positions[table.index][:hi] for table, hi in chosen]
        for table, lo, hi in tables:
            count = hi - lo
            chunks["kind"].append(pa.array([table.kind] * count, pa.large_string()))
            for name in _COLUMN_FIELDS:
                found = table.column(name)
                chunks[name].append(
                    pa.nulls(count, pa.large_string())
                    if found is None
                    else _text_column(found[lo:hi])
                )
            chunks["detail"].append(_details(table, lo, hi, encode))
        at = np.concatenate(places) if places else np.empty(0, np.int64)
        order: np.ndarray | None = None
        if chosen is None and len(tables) > 1:
            order = np.empty_like(at)
            order[at - first] = np.arange(len(at))
        elif chosen is not None:
            order = np.argsort(at, kind="stable")
            at = at[order]
        every = np.frombuffer(self.times, dtype=np.float64)
        times = pd.Series(every[first:stop].copy() if chosen is None else every[at])
        return pd.DataFrame(
            {
                "time_s": times,
                "timestamp": timestamps(times, self.start),
                **{
                    name: _string_column(found, order) for name, found in chunks.items()
                },
            },
            columns=list(EVENT_COLUMNS),
        )
