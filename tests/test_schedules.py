"""Tests of ecssim.rules.schedules found by mutation testing
(docs/mutation-testing.md): cron years, seconds and microseconds of the start
time, the last year a cron can fire, and AWS's day-of-week numbers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ecssim.errors import ScenarioError
from ecssim.rules.schedules import CronSchedule, next_fire, parse_schedule

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday


def _next(expression: str, after: datetime) -> datetime | None:
    return next_fire(parse_schedule(expression), after, created_at=T0)


def _cron(expression: str) -> CronSchedule:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, CronSchedule)
    return schedule


def test_a_cron_year_waits_for_that_year_and_ends_after_it() -> None:
    """A cron limited to later years waits for the first of them; after the
    last of them it never fires again."""
    expression = "cron(0 12 1 1 ? 2028,2030)"
    assert _next(expression, T0) == datetime(2028, 1, 1, 12, 0, tzinfo=UTC)
    after = datetime(2028, 1, 1, 12, 0, tzinfo=UTC)
    assert _next(expression, after) == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert _next(expression, datetime(2030, 6, 1, tzinfo=UTC)) is None
    this_year = "cron(0 12 1 2 ? 2026)"
    assert _next(this_year, T0) == datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def test_a_cron_can_fire_in_the_last_year_it_accepts() -> None:
    """2199, the last year a cron accepts, is searched too."""
    assert _next("cron(0 12 1 1 ? 2199)", T0) == datetime(2199, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "after",
    [
        T0,
        T0.replace(second=30),
        T0.replace(second=30, microsecond=500_000),
        T0.replace(microsecond=1),
    ],
)
def test_every_minute_fires_at_the_next_whole_minute(after: datetime) -> None:
    """An every-minute cron fires at the next whole minute after *after*,
    whatever its seconds and microseconds."""
    assert _next("cron(* * * * ? *)", after) == datetime(2026, 1, 5, 9, 1, tzinfo=UTC)


def test_matches_day_checks_year_and_month() -> None:
    """A day of another year or month does not match, whatever the days."""
    schedule = _cron("cron(0 12 * 3 ? 2027)")
    assert schedule.matches_day(date(2027, 3, 10))
    assert not schedule.matches_day(date(2026, 3, 10))
    assert not schedule.matches_day(date(2027, 4, 10))


@pytest.mark.parametrize(
    ("expression", "day"),
    [
        ("cron(0 12 ? * 1 *)", date(2026, 1, 4)),  # 1 is Sunday
        ("cron(0 12 ? * SUN *)", date(2026, 1, 4)),
        ("cron(0 12 ? * 2 *)", date(2026, 1, 5)),  # 2 is Monday
        ("cron(0 12 ? * 7 *)", date(2026, 1, 10)),  # 7 is Saturday
    ],
)
def test_aws_day_of_week_numbers(expression: str, day: date) -> None:
    """Day-of-week numbers are AWS's, 1 = Sunday .. 7 = Saturday: each matches
    its day and not the day after."""
    schedule = _cron(expression)
    assert schedule.matches_day(day)
    assert not schedule.matches_day(day.replace(day=day.day + 1))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "cron(? 12 * * ? *)",
            "cron minutes: '?' is only allowed in day-of-month and day-of-week",
        ),
        (
            "cron(0 12 L * ? *)",
            "cron day-of-month: 'L' uses L, W or #, which ecssim does not support",
        ),
        (
            "cron(0 12 ? * 2#1 *)",
            "cron day-of-week: '2#1' uses L, W or #, which ecssim does not support",
        ),
        ("cron(0 12 X * ? *)", "cron day-of-month: 'X' is not a number in 1..31"),
        (
            "cron(0 12 ? FOO MON *)",
            "cron month: 'FOO' is not a number in 1..12 or one of JAN, FEB, MAR, "
            "APR, MAY, JUN, JUL, AUG, SEP, OCT, NOV, DEC",
        ),
        ("cron(*/0 12 * * ? *)", "cron minutes: step '0' must be >= 1"),
        ("cron(*/x 12 * * ? *)", "cron minutes: step 'x' must be >= 1"),
        ("cron(60 12 * * ? *)", "cron minutes: 60 is outside 0..59"),
        ("cron(0 12 * * ? 1969)", "cron year: 1969 is outside 1970..2199"),
    ],
)
def test_bad_cron_fields_are_refused_with_their_message(
    expression: str, message: str
) -> None:
    """Each malformed cron field has its own message naming the field."""
    with pytest.raises(ScenarioError, match=f"^{re.escape(message)}$"):
        parse_schedule(expression)


def test_cron_fields_at_their_limits_and_with_names() -> None:
    """The last value of each field, a step of 1 and month names parse."""
    schedule = _cron("cron(59 23 31 12 ? 2199)")
    assert (schedule.minutes, schedule.hours) == (frozenset({59}), frozenset({23}))
    assert (schedule.days_of_month, schedule.months) == (
        frozenset({31}),
        frozenset({12}),
    )
    assert schedule.years == frozenset({2199})
    assert _cron("cron(*/1 0 1 1 ? *)").minutes == frozenset(range(60))
    assert _cron("cron(0 12 1 JAN,mar ? *)").months == frozenset({1, 3})
    assert _cron("cron(0 12 5-5 * ? *)").days_of_month == frozenset({5})


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 24 * * ? *)", "cron hours: 24 is outside 0..23"),
        ("cron(0 12 32 * ? *)", "cron day-of-month: 32 is outside 1..31"),
        ("cron(0 12 1 13 ? *)", "cron month: 13 is outside 1..12"),
        ("cron(0 12 ? * 8 *)", "cron day-of-week: 8 is outside 1..7"),
        ("cron(0 12 ? * 0 *)", "cron day-of-week: 0 is outside 1..7"),
        ("cron(0 12 1 1 ? 2200)", "cron year: 2200 is outside 1970..2199"),
        ("cron(0 12 1 1 ? X)", "cron year: 'X' is not a number in 1970..2199"),
        ("cron(0 12 1-2-3 * ? *)", "cron day-of-month: '2-3' is not a number in 1..31"),
        (
            "cron(0 12 5-1 * ? *)",
            "cron day-of-month: range '5-1' runs backwards; ecssim does not wrap "
            "ranges around",
        ),
        (
            "every 5 minutes",
            "Schedule: 'every 5 minutes' is not at(yyyy-mm-ddThh:mm:ss), "
            "rate(N minutes|hours|days) or cron(...)",
        ),
    ],
)
def test_each_cron_field_has_its_own_range(expression: str, message: str) -> None:
    """Every field is checked against its own range, and named."""
    with pytest.raises(ScenarioError, match=f"^{re.escape(message)}$"):
        parse_schedule(expression)


def test_cron_years() -> None:
    """``*`` is every year; a year list is kept."""
    assert _cron("cron(0 12 1 1 ? *)").years is None
    assert _cron("cron(0 12 1 1 ? 1970,2030-2031)").years == frozenset(
        {1970, 2030, 2031}
    )


def test_at_is_a_wall_clock_time_in_the_actions_zone() -> None:
    """at() is read in the action's time zone and returned in UTC."""
    paris = ZoneInfo("Europe/Paris")
    when = next_fire(
        parse_schedule("at(2026-01-05T18:00:00)"), T0, created_at=T0, tz=paris
    )
    assert when == datetime(2026, 1, 5, 17, 0, tzinfo=UTC)


def test_rate_from_its_creation_or_its_start_time() -> None:
    """rate() first runs one period after creation, or at its start time, then
    every period from there; nothing runs after the end time, which is
    inclusive."""
    schedule = parse_schedule("rate(5 minutes)")
    minute = timedelta(minutes=1)
    assert next_fire(schedule, T0, created_at=T0) == T0 + 5 * minute
    # never before its first period, even when asked from before its creation
    assert next_fire(schedule, T0 - 10 * minute, created_at=T0) == T0 + 5 * minute
    assert next_fire(schedule, T0 + 7 * minute, created_at=T0) == T0 + 10 * minute
    start = T0 + 2 * minute
    assert next_fire(schedule, T0, created_at=T0, start_time=start) == start
    assert (
        next_fire(schedule, T0 + 3 * minute, created_at=T0, start_time=start)
        == T0 + 7 * minute
    )
    end = T0 + 10 * minute
    assert next_fire(schedule, T0 + 7 * minute, created_at=T0, end_time=end) == end
    assert next_fire(schedule, end, created_at=T0, end_time=end) is None
