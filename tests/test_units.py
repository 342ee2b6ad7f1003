"""Durations and rates with units: ``ecssim.units``.

Worked examples of every unit and of what is refused (bad strings, negatives,
bools, NaN, infinities, other types), and properties: ``format_duration`` reads
back to the same whole seconds, and ``Nm`` is always 60 N seconds.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.units import SECONDS, format_duration, parse_duration, parse_rate


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        ("3d", 259200.0),
        ("1w", 604800.0),
        ("1h30m", 5400.0),
        ("250ms", 0.25),
        ("1m250ms", 60.25),
        ("1.5h", 5400.0),
        (".5m", 30.0),
        ("0s", 0.0),
        ("2d3h4m5s", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        (" 2 h 30 m ", 9000.0),
        ("2H", 7200.0),
        ("1M", 60.0),
    ],
)
def test_duration_strings_are_read_as_seconds(text: str, seconds: float) -> None:
    """Each unit (and combinations, spaces and capitals) converts to float seconds."""
    result = parse_duration(text)
    assert result == pytest.approx(seconds, rel=1e-12)
    assert type(result) is float


@pytest.mark.parametrize(("value", "seconds"), [(0, 0.0), (90, 90.0), (1.5, 1.5)])
def test_bare_numbers_are_seconds(value: float, seconds: float) -> None:
    """A bare int or float is a number of seconds, returned as a float."""
    result = parse_duration(value)
    assert result == seconds
    assert type(result) is float


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "90",
        "h",
        "1h30",
        "15 minutes",
        "5x",
        "1hh",
        "1e3s",
        "1,5h",
        "-5s",
        "5s-",
        "+5s",
        "nan",
        "inf",
        "1h 30",
    ],
)
def test_bad_duration_strings_are_refused_with_a_hint(text: str) -> None:
    """A string that is not a sequence of number+unit raises ValueError quoting it."""
    with pytest.raises(ValueError, match="is not a duration; write it like 90s") as e:
        parse_duration(text)
    assert repr(text) in str(e.value)


@pytest.mark.parametrize("value", [-1, -0.5, -1e-9, math.nan, math.inf, -math.inf])
def test_negative_nan_or_infinite_numbers_are_not_durations(value: float) -> None:
    """A negative, NaN or infinite number raises ValueError naming the value."""
    with pytest.raises(ValueError, match="must be a finite duration >= 0") as e:
        parse_duration(value)
    assert repr(value) in str(e.value)


@pytest.mark.parametrize("value", [True, False, None, [], {}, ["90s"], b"90s"])
def test_bools_and_other_types_are_not_durations(value: object) -> None:
    """Bools (although ints), None, lists, dicts and bytes raise ValueError."""
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(value)


@pytest.mark.parametrize("value", [10**400, -(10**400)], ids=["1e400", "-1e400"])
def test_an_integer_too_large_for_a_float_is_a_value_error(value: int) -> None:
    """An int beyond float range (YAML reads 400 digits as one) raises ValueError, not OverflowError."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("text", "per_s"),
    [
        ("30/h", 30 / 3600),
        ("2/m", 2 / 60),
        ("0.5/s", 0.5),
        ("1/d", 1 / 86400),
        ("7/w", 7 / 604800),
        (".5/s", 0.5),
        (" 30 / h ", 30 / 3600),
        ("30/H", 30 / 3600),
        ("0/h", 0.0),
    ],
)
def test_rate_strings_are_read_as_events_per_second(text: str, per_s: float) -> None:
    """``N/unit`` is N events per that unit, returned per second."""
    assert parse_rate(text) == pytest.approx(per_s, rel=1e-12)


@pytest.mark.parametrize(("value", "per_s"), [(0, 0.0), (5, 5.0), (0.25, 0.25)])
def test_bare_numbers_are_rates_per_second(value: float, per_s: float) -> None:
    """A bare int or float is a rate per second, returned as a float."""
    result = parse_rate(value)
    assert result == per_s
    assert type(result) is float


@pytest.mark.parametrize(
    "text",
    ["", "30", "30/hour", "/h", "30/", "-1/h", "30/x", "30/ms", "1e2/h", "h/30"],
)
def test_bad_rate_strings_are_refused_with_a_hint(text: str) -> None:
    """A string that is not ``number/unit`` raises ValueError quoting it."""
    with pytest.raises(ValueError, match="is not a rate; write it like 30/h") as e:
        parse_rate(text)
    assert repr(text) in str(e.value)


@pytest.mark.parametrize("value", [-1, -0.001, math.nan, math.inf, -math.inf])
def test_negative_nan_or_infinite_numbers_are_not_rates(value: float) -> None:
    """A negative, NaN or infinite number raises ValueError naming the value."""
    with pytest.raises(ValueError, match="must be a finite rate >= 0") as e:
        parse_rate(value)
    assert repr(value) in str(e.value)


@pytest.mark.parametrize("value", [True, False, None, [], {"rate": 1}])
def test_bools_and_other_types_are_not_rates(value: object) -> None:
    """Bools, None, lists and dicts raise ValueError."""
    with pytest.raises(ValueError, match="is not a rate"):
        parse_rate(value)


def test_an_integer_too_large_for_a_float_is_not_a_rate() -> None:
    """An int beyond float range raises ValueError, not OverflowError."""
    with pytest.raises(ValueError, match="rate"):
        parse_rate(10**400)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.25, "0.25s"),
        (59, "59s"),
        (90, "90s"),
        (60, "1m"),
        (900, "15m"),
        (3600, "1h"),
        (5400, "1h30m"),
        (9000.0, "2h30m"),
        (86400, "1d"),
        (3 * 86400, "3d"),
        (86400 + 60, "1d1m"),
        (93784, "93784s"),
    ],
)
def test_format_duration_gives_the_short_form(seconds: float, text: str) -> None:
    """Whole minutes print as d/h/m, anything else as seconds."""
    assert format_duration(seconds) == text


def test_format_duration_of_a_large_odd_second_count_reads_back() -> None:
    """1234567 s (not whole minutes) prints as something parse_duration reads back exactly."""
    text = format_duration(1234567)
    assert parse_duration(text) == 1234567.0


def test_the_unit_table_is_the_documented_one() -> None:
    """Units are ms, s, m, h, d and w with their second counts."""
    assert SECONDS == {
        "ms": 0.001,
        "s": 1.0,
        "m": 60.0,
        "h": 3600.0,
        "d": 86400.0,
        "w": 604800.0,
    }


@given(st.integers(min_value=0, max_value=10**9))
def test_format_then_parse_round_trips_whole_seconds(seconds: int) -> None:
    """Any whole number of seconds survives format_duration then parse_duration."""
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.integers(min_value=0, max_value=10**9))
def test_n_minutes_are_60n_seconds(n: int) -> None:
    """``f"{n}m"`` is exactly 60 n seconds."""
    assert parse_duration(f"{n}m") == 60 * n


@given(
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=0, max_value=23),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=59),
)
def test_compound_durations_add_their_parts(d: int, h: int, m: int, s: int) -> None:
    """``XdYhZmWs`` is the sum of its parts in seconds."""
    assert parse_duration(f"{d}d{h}h{m}m{s}s") == d * 86400 + h * 3600 + m * 60 + s


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(["s", "m", "h", "d", "w"]),
)
def test_n_per_unit_is_n_over_the_unit_in_seconds(n: int, unit: str) -> None:
    """``f"{n}/{unit}"`` is n divided by the unit's seconds."""
    assert parse_rate(f"{n}/{unit}") == pytest.approx(n / SECONDS[unit], rel=1e-12)


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False))
def test_non_negative_numbers_parse_to_themselves(value: float) -> None:
    """A finite number >= 0 is itself as a duration and as a rate."""
    assert parse_duration(value) == value
    assert parse_rate(value) == value
