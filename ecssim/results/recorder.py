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
import struct
from array import array
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import compress
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any, Final, cast

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


class _Words:
    """Every distinct text (and None, code 0) of a recorder's text columns, by code."""

    __slots__ = ("code", "words")

    def __init__(self) -> None:
        self.words: list[str | None] = [None]
        self.code: dict[str | None, int] = {None: 0}

    def codes(self, values: Sequence[str | None]) -> array[int]:
        """The code of each of *values*, new ones added."""
        code = self.code
        try:
            return _typed("i", map(code.__getitem__, values), len(values))
        except KeyError:
            for value in values:
                if value not in code:
                    code[value] = len(self.words)
                    self.words.append(value)
            return _typed("i", map(code.__getitem__, values), len(values))


def _packed(code: str, values: Iterable[Any], count: int) -> bytes:
    """*count* *values* as the bytes of an array of type *code* (native C
    types: ``i`` int, ``q`` long long, ``d`` double, ``b`` signed char).

    struct converts each value with one C call; the array type's constructor
    parses each as a function argument (about five times the work) and numpy's
    ``fromiter`` takes about twice as long.

    Raises:
        OverflowError: an int does not fit the type.
    """
    try:
        return struct.pack(f"{count}{code}", *values)
    except struct.error as exc:  # struct's word for an int out of range
        raise OverflowError(str(exc)) from None


def _typed(code: str, values: Iterable[Any], count: int) -> array[Any]:
    """*count* *values* as an array of type *code* (see :func:`_packed`)."""
    return array(code, _packed(code, values, count))


#: the array type code of each plain type a column keeps in an array
_ARRAY_CODES: Final = {float: "d", int: "q", bool: "b"}
_NUMPY_TYPES: Final = {float: np.float64, int: np.int64, bool: np.int8}


class _Column:
    """The values of one field of one table: a typed array while they all have
    one plain type (floats without NaN, ints, bools), codes into the recorder's
    words while they are all text or None, else a list of the objects."""

    __slots__ = ("data", "type")

    def __init__(self) -> None:
        #: float, int, bool, str (text or None), object (a list), None (empty)
        self.type: type | None = None
        self.data: Any = None

    def __len__(self) -> int:
        return 0 if self.data is None else len(self.data)

    def extend(self, values: Sequence[Any], words: _Words) -> None:
        """Append *values* (each kept exactly: the same type and value)."""
        kind, stored = _stored(values, words)
        if self.type is None:
            self.type, self.data = kind, stored
        elif kind is self.type:
            self.data.extend(stored)
        else:  # another type: every value as the object it was
            if self.type is not object:
                self.type, self.data = object, self.values(0, len(self), words)
            self.data.extend(values)

    def values(self, lo: int, hi: int, words: _Words) -> list[Any]:
        """The values of rows *lo* to *hi*, as the objects recorded (equal ones)."""
        if self.data is None:
            return []
        part: Any = self.data[lo:hi]
        if self.type is str:
            return list(map(words.words.__getitem__, part))
        if self.type is bool:
            return list(map(bool, part))
        if self.type in (float, int):
            return cast(list[Any], part.tolist())
        return cast(list[Any], part)

    def objects(self, rows: np.ndarray, words: np.ndarray, known: _Words) -> np.ndarray:
        """The values of *rows* as a numpy object array (*words*: the words of
        *known* as one)."""
        if self.type is str:
            return cast(np.ndarray, words[np.frombuffer(self.data, np.int32)[rows]])
        if self.type in _ARRAY_CODES:
            typed: np.ndarray = np.frombuffer(self.data, _NUMPY_TYPES[self.type])[rows]
            if self.type is bool:
                typed = typed.astype(bool)
            return typed.astype(object)
        # fromiter: a value that is a list stays one value
        every = np.fromiter(self.values(0, len(self), known), dtype=object)
        return cast(np.ndarray, every[rows])

    def codes(self) -> np.ndarray | None:
        """The text codes of every row (None: not a text column)."""
        if self.type is not str:
            return None
        return np.frombuffer(self.data, dtype=np.int32)


def _stored(values: Sequence[Any], words: _Words) -> tuple[type, Any]:
    """The type a column of *values* would have, and the values as it keeps them."""
    types = set(map(type, values))
    if types <= {str, type(None)}:
        return str, words.codes(values)
    if len(types) == 1:
        kind = types.pop()
        code = _ARRAY_CODES.get(kind)
        if code is not None:
            try:
                stored = _typed(code, values, len(values))
            except OverflowError:  # an int beyond 64 bits
                return object, list(values)
            if kind is not float or not np.isnan(np.frombuffer(stored)).any():
                return kind, stored
    return object, list(values)  # NaN kept as the very object recorded


def _numbers(values: Iterable[int], count: int) -> np.ndarray:
    """*count* ints as a numpy array of int64."""
    return np.frombuffer(_packed("q", values, count), np.int64)


def _distinct(values: np.ndarray) -> list[int]:
    """The distinct *values*, ascending (a sort: cheaper than ``np.unique``,
    which hashes every value)."""
    ordered = np.sort(values)
    first = np.empty(len(ordered), bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return cast(list[int], ordered[first].tolist())


def _field_values(
    records: list[Mapping[str, Any]], keys: tuple[str, ...]
) -> list[Sequence[Any]]:
    """The values of each field of *keys* in *records* (each has them all, else
    KeyError), one sequence per field: one lookup of every field per record,
    then turned into columns."""
    if len(keys) == 1:
        return [list(map(itemgetter(keys[0]), records))]
    if not keys:
        return []
    return list(zip(*map(itemgetter(*keys), records), strict=True))


class _Table:
    """The records of one kind with one tuple of field names, as columns."""

    __slots__ = ("columns", "index", "keys", "kind", "size")

    def __init__(self, index: int, kind: str, keys: tuple[str, ...]) -> None:
        self.index = index
        self.kind = kind
        self.keys = keys
        self.columns: list[_Column] = [_Column() for _ in keys]
        #: how many records it holds
        self.size = 0

    def extend(self, values: Sequence[Sequence[Any]], words: _Words) -> None:
        """Append records given as the values of each field of ``keys``."""
        for column, found in zip(self.columns, values, strict=True):
            column.extend(found, words)
        self.size += len(values[0]) if values else 0

    def append(self, fields: Mapping[str, Any], words: _Words) -> None:
        """Append one record's values (it has exactly the fields ``keys``)."""
        for key, column in zip(self.keys, self.columns, strict=True):
            column.extend([fields[key]], words)
        self.size += 1

    def column(self, key: str) -> _Column | None:
        """The column of field *key* (None: the table has no such field)."""
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


class _Text:
    """A recorder's words as a frame needs them (made once per frame): as Arrow
    text (None missing) and as JSON."""

    def __init__(self, words: _Words, encode: Any) -> None:
        self.words = words
        self.encode = encode
        self._arrow: pa.Array | None = None
        self._json: list[str] | None = None

    def arrow(self, codes: np.ndarray) -> pa.Array:
        """The words of *codes* as Arrow text."""
        if self._arrow is None:
            self._arrow = pa.array(self.words.words, pa.large_string())
        return self._arrow.take(pa.array(codes))

    def json(self, codes: np.ndarray) -> list[str]:
        """The words of *codes* as JSON values."""
        if self._json is None:
            self._json = [
                "null" if w is None else encode_basestring_ascii(w)
                for w in self.words.words
            ]
        return list(map(self._json.__getitem__, codes.tolist()))


def _details(table: _Table, lo: int, hi: int, text: _Text) -> pa.Array:
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
    encoded = []
    for key in rest:
        column = table.columns[table.keys.index(key)]
        codes = column.codes()
        if codes is not None:
            encoded.append(text.json(codes[lo:hi]))
        else:
            encoded.append(_encoded(column.values(lo, hi, text.words), text.encode))
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
    from *start* (time 0).

    Records are kept compact (a run of a month makes millions): the times in
    one array, each record's table (kind and field names) in another, and each
    field's values in a column of its table (:class:`_Column`: typed arrays,
    text as codes).
    """

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        self.start = start
        #: the time of each filed record
        self.times = array("d")
        #: each record's table (an index into ``_by_index``)
        self._table_of = array("i")
        #: records not yet filed into their tables, a block at most: their times,
        #: kinds and fields (three lists: a tuple per record would be one more
        #: object for the garbage collector to count)
        self._pending_times: list[float] = []
        self._pending_kinds: list[str] = []
        self._pending: list[Mapping[str, Any]] = []
        self._words = _Words()
        #: table index by kind and set of field names
        self._tables: dict[tuple[str, frozenset[str]], int] = {}
        #: the table a record of (kind, number of fields) goes to first
        self._by_shape: dict[tuple[str, int], int] = {}
        #: a number for each kind recorded (its shapes are numbered from it)
        self._kind_numbers: dict[str, int] = {}
        self._by_index: list[_Table] = []

    def __len__(self) -> int:
        return len(self.times) + len(self._pending)

    def record(self, now: float, kind: str, fields: Mapping[str, Any]) -> None:
        """Append one event."""
        self._pending_times.append(now)
        self._pending_kinds.append(kind)
        pending = self._pending
        pending.append(fields)
        if len(pending) >= _BLOCK:
            self._file()

    def _file(self) -> None:
        """Move the pending records into their tables, a block at a time (cheaper
        than one by one while the model runs).

        A block's records are grouped by kind and number of fields (their
        shape, numbered in a numpy array rather than made a tuple per record);
        a group whose records all have the fields of its table goes in at once
        (same number, all present: the same fields), any other record on its
        own."""
        pending = self._pending
        if not pending:
            return
        count = len(pending)
        kinds = self._pending_kinds
        numbers = self._kind_numbers
        try:
            kind_numbers = _numbers(map(numbers.__getitem__, kinds), count)
        except KeyError:  # a kind not seen before
            for kind in kinds:
                numbers.setdefault(kind, len(numbers))
            kind_numbers = _numbers(map(numbers.__getitem__, kinds), count)
        # a shape's number: the kind's number in the high bits, the field count low
        shape = kind_numbers << 32
        shape |= _numbers(map(len, pending), count)
        owner = np.empty(count, np.intc)
        by_shape = self._by_shape
        for number in _distinct(shape):
            rows = np.flatnonzero(shape == number)
            picked = rows.tolist()
            first = picked[0]
            key = (kinds[first], len(pending[first]))
            index = by_shape.get(key)
            if index is None:
                index = by_shape[key] = self._table(key[0], tuple(pending[first])).index
            owner[rows] = index
            table = self._by_index[index]
            block = list(map(pending.__getitem__, picked))
            try:
                values = _field_values(block, table.keys)
            except KeyError:  # records of one kind with other fields: one by one
                for i in picked:
                    fields = pending[i]
                    other = self._table(kinds[i], tuple(fields))
                    owner[i] = other.index
                    other.append(fields, self._words)
                continue
            if values:
                table.extend(values, self._words)
            else:
                table.size += len(block)
        self.times.frombytes(_packed("d", self._pending_times, count))
        self._table_of.frombytes(owner.tobytes())
        pending.clear()
        kinds.clear()
        self._pending_times.clear()

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
        self._table_of = array("i")
        self._pending.clear()
        self._pending_kinds.clear()
        self._pending_times.clear()
        self._words = _Words()
        self._tables.clear()
        self._by_shape.clear()
        self._kind_numbers.clear()
        self._by_index.clear()

    @property
    def kinds(self) -> list[str]:
        """Every record's kind, in order (built on each call)."""
        self._file()
        names = [table.kind for table in self._by_index]
        return list(map(names.__getitem__, self._table_of))

    @property
    def fields(self) -> list[dict[str, Any]]:
        """Every record's fields as a dict, in order (built on each call: slow)."""
        return [fields for _, _, fields in self.records()]

    def records(self) -> Iterator[tuple[float, str, dict[str, Any]]]:
        """Every record as ``(time_s, kind, fields)``, in order."""
        self._file()
        rows = [0] * len(self._by_index)
        columns = [
            [c.values(0, len(c), self._words) for c in table.columns]
            for table in self._by_index
        ]
        for time_s, index in zip(self.times, self._table_of, strict=True):
            table = self._by_index[index]
            row = rows[index]
            rows[index] = row + 1
            yield (
                time_s,
                table.kind,
                {k: c[row] for k, c in zip(table.keys, columns[index], strict=True)},
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
        words = self._words.words
        for table in chosen:
            column = table.column(key)
            keep = times[positions[table.index]] >= since_s if since_s > 0 else None
            codes = None if column is None else column.codes()
            counts: dict[Any, int]
            if column is None:
                counts = {None: sizes[table.index] if keep is None else int(keep.sum())}
            elif codes is not None:  # text: count the codes
                tally = np.bincount(codes if keep is None else codes[keep])
                counts = {words[c]: int(tally[c]) for c in np.flatnonzero(tally)}
            else:
                values = column.values(0, len(column), self._words)
                counts = Counter(values if keep is None else compress(values, keep))
            for value, count in counts.items():
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
        return next(self.selections(kinds, keys, [None]))

    def selections(
        self,
        kinds: Collection[str],
        keys: Sequence[str],
        parts: Iterable[np.ndarray | None],
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
        """:meth:`select` for each of *parts*: the rows (numbers into what
        :meth:`select` gives) of one part, None for all of them; a part at a
        time keeps the working memory of a long run small."""
        self._file()
        chosen = [t for t in self._by_index if t.kind in kinds]
        every = self._positions()
        positions = [every[t.index] for t in chosen]
        at = np.concatenate(positions) if positions else np.empty(0, np.int64)
        del every, positions
        starts = np.cumsum([0, *(t.size for t in chosen)])
        words = np.fromiter(self._words.words, dtype=object)
        names = np.fromiter((t.kind for t in chosen), dtype=object, count=len(chosen))
        all_times = np.frombuffer(self.times, dtype=np.float64)
        for part in parts:
            rows = np.arange(len(at)) if part is None else part
            owner = np.searchsorted(starts, rows, side="right") - 1
            values: dict[str, np.ndarray] = {}
            for key in keys:
                column = np.full(len(rows), None, dtype=object)
                for i, table in enumerate(chosen):
                    found = table.column(key)
                    mine = owner == i
                    if found is not None and mine.any():
                        local = rows[mine] - starts[i]
                        column[mine] = found.objects(local, words, self._words)
                values[key] = column
            where = at[rows]
            yield where, all_times[where], names[owner], values

    def text_codes(
        self, kinds: Collection[str], key: str
    ) -> tuple[np.ndarray, list[str | None]] | None:
        """The code of field *key* of each record of *kinds*, in the rows of
        :meth:`select` (0: None, or no such field), and the text of each code;
        None when some of those values are not text."""
        self._file()
        codes = []
        for table in self._by_index:
            if table.kind not in kinds:
                continue
            found = table.column(key)
            if found is None:
                codes.append(np.zeros(table.size, np.int32))
                continue
            found_codes = found.codes()
            if found_codes is None:
                return None
            codes.append(found_codes)
        joined = np.concatenate(codes) if codes else np.empty(0, np.int32)
        return joined, list(self._words.words)

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
        text = _Text(self._words, json.JSONEncoder(sort_keys=True, default=str).encode)
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
                codes = None if found is None else found.codes()
                if found is None:
                    chunks[name].append(pa.nulls(count, pa.large_string()))
                elif codes is not None:
                    chunks[name].append(text.arrow(codes[lo:hi]))
                else:
                    chunks[name].append(_text_column(found.values(lo, hi, self._words)))
            chunks["detail"].append(_details(table, lo, hi, text))
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


class RecordedEvents:
    """The events frame of a recorder's first *stop* records, built when asked
    for: whole (call it) or in parts (:meth:`parts`)."""

    def __init__(self, recorder: Recorder, stop: int) -> None:
        self.recorder = recorder
        self.stop = stop

    def __call__(self) -> pd.DataFrame:
        """The frame, whole."""
        return self.recorder.events_frame(stop=self.stop)

    def parts(self, rows: int) -> Iterator[pd.DataFrame]:
        """The frame in consecutive parts of *rows* records."""
        return self.recorder.event_batches(rows, stop=self.stop)
