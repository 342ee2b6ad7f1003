"""Schedule expressions of scheduled scaling: ``at()``, ``rate()`` and ``cron()``.

This module owns parsing the three expression forms Application Auto Scaling
accepts (6-field AWS cron with its ``?``, ``L``, ``W`` and ``#`` forms) and
computing the next fire time in a time zone. Pure: callers pass the time in.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from ecssim.errors import ScenarioError

# ---- schedules -------------------------------------------------------------------

_AT_RE: Final = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE_RE: Final = re.compile(r"^rate\(\s*(\d+)\s+(minutes?|hours?|days?)\s*\)$")
_CRON_RE: Final = re.compile(r"^cron\((.*)\)$")
_RATE_UNIT_S: Final = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS: Final = {
    name: i
    for i, name in enumerate(
        (
            "JAN",
            "FEB",
            "MAR",
            "APR",
            "MAY",
            "JUN",
            "JUL",
            "AUG",
            "SEP",
            "OCT",
            "NOV",
            "DEC",
        ),
        start=1,
    )
}
_DAYS: Final = {
    name: i
    for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)
}
_LAST_YEAR: Final = 2199


@dataclass(frozen=True, slots=True)
class AtSchedule:
    """``at(yyyy-mm-ddThh:mm:ss)``: once, at a wall-clock time of the action's
    time zone."""

    when: datetime


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """``rate(N minutes|hours|days)``: every *every_s* seconds."""

    every_s: float


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """``cron(Minutes Hours Day-of-month Month Day-of-week Year)``.

    A field of None is ``?`` (day-of-month or day-of-week) or ``*`` (year).
    Day-of-week numbers are AWS's: 1 is Sunday, 7 is Saturday.
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None
    months: frozenset[int]
    days_of_week: frozenset[int] | None
    years: frozenset[int] | None

    def matches_day(self, day: date) -> bool:
        """Whether the schedule runs on *day* (at its hours and minutes)."""
        if self.years is not None and day.year not in self.years:
            return False
        if day.month not in self.months:
            return False
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        aws_weekday = (day.weekday() + 1) % 7 + 1
        return self.days_of_week is None or aws_weekday in self.days_of_week


Schedule = AtSchedule | RateSchedule | CronSchedule


def _cron_field(
    text: str,
    name: str,
    low: int,
    high: int,
    names: dict[str, int] | None = None,
    *,
    question: bool = False,
) -> frozenset[int] | None:
    """The values of one cron field; None for ``?`` (where allowed)."""
    if text == "?":
        if not question:
            raise ScenarioError(
                f"cron {name}: '?' is only allowed in day-of-month and day-of-week"
            )
        return None
    values: set[int] = set()

    def number(token: str) -> int:
        upper = token.upper()
        if names is not None and upper in names:
            return names[upper]
        if not token.isdigit():
            if any(c in upper for c in "LW#"):
                raise ScenarioError(
                    f"cron {name}: {token!r} uses L, W or #, which ecssim does not "
                    "support"
                )
            raise ScenarioError(
                f"cron {name}: {token!r} is not a number in {low}..{high}"
                + (f" or one of {', '.join(names)}" if names else "")
            )
        value = int(token)
        if not low <= value <= high:
            raise ScenarioError(f"cron {name}: {value} is outside {low}..{high}")
        return value

    for item in text.split(","):
        spec, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScenarioError(f"cron {name}: step {step_text!r} must be >= 1")
            step = int(step_text)
        if spec == "*":
            start, end = low, high
        elif "-" in spec:
            first, _, last = spec.partition("-")
            start, end = number(first), number(last)
            if start > end:
                raise ScenarioError(
                    f"cron {name}: range {spec!r} runs backwards; ecssim does not "
                    "wrap ranges around"
                )
        else:
            start = number(spec)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _cron_values(
    text: str, name: str, low: int, high: int, names: dict[str, int] | None = None
) -> frozenset[int]:
    """The values of a cron field that does not allow ``?``."""
    values = _cron_field(text, name, low, high, names)
    if values is None:  # unreachable: _cron_field rejects '?' here
        raise ScenarioError(f"cron {name}: '?' is not allowed")
    return values


def parse_schedule(expression: str) -> Schedule:
    """Parse an Application Auto Scaling ``Schedule`` expression.

    ``at(2026-01-05T18:00:00)``, ``rate(5 minutes)`` (minute/minutes, hour/hours,
    day/days) and ``cron(0 18 ? * MON-FRI *)``: six fields, each ``*``, a number,
    a name (JAN-DEC, SUN-SAT), a range ``a-b``, a step ``*/n``, ``a/n`` or
    ``a-b/n``, or a comma list of those. Exactly one of day-of-month and
    day-of-week must be ``?``, as in AWS. ``L``, ``W`` and ``#`` are not
    supported.

    Raises:
        ScenarioError: the expression is malformed; the message names the part.
    """
    text = expression.strip()
    if m := _AT_RE.match(text):
        try:
            # a wall-clock time: the action's Timezone gives it its zone
            wall = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")  # noqa: DTZ007
            return AtSchedule(wall)
        except ValueError:
            raise ScenarioError(
                f"Schedule: {expression!r} is not a valid date"
            ) from None
    if m := _RATE_RE.match(text):
        value = int(m.group(1))
        if value < 1:
            raise ScenarioError(f"Schedule: {expression!r}: the rate must be >= 1")
        return RateSchedule(float(value * _RATE_UNIT_S[m.group(2).rstrip("s")]))
    if m := _CRON_RE.match(text):
        parts = m.group(1).split()
        if len(parts) != 6:
            raise ScenarioError(
                f"Schedule: {expression!r} needs 6 cron fields (Minutes Hours "
                f"Day-of-month Month Day-of-week Year), got {len(parts)}"
            )
        minute, hour, dom, month, dow, year = parts
        days_of_month = _cron_field(dom, "day-of-month", 1, 31, question=True)
        days_of_week = _cron_field(dow, "day-of-week", 1, 7, _DAYS, question=True)
        if (days_of_month is None) == (days_of_week is None):
            raise ScenarioError(
                f"Schedule: {expression!r}: exactly one of day-of-month and "
                "day-of-week must be '?'"
            )
        return CronSchedule(
            minutes=_cron_values(minute, "minutes", 0, 59),
            hours=_cron_values(hour, "hours", 0, 23),
            days_of_month=days_of_month,
            months=_cron_values(month, "month", 1, 12, _MONTHS),
            days_of_week=days_of_week,
            years=None if year == "*" else _cron_values(year, "year", 1970, _LAST_YEAR),
        )
    raise ScenarioError(
        f"Schedule: {expression!r} is not at(yyyy-mm-ddThh:mm:ss), "
        "rate(N minutes|hours|days) or cron(...)"
    )


def _next_cron(schedule: CronSchedule, after: datetime, tz: tzinfo) -> datetime | None:
    """The first time strictly after *after* (aware) that *schedule* matches."""
    local = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    candidate = local + timedelta(minutes=1)
    day = candidate.date()
    hours, minutes = sorted(schedule.hours), sorted(schedule.minutes)
    while day.year <= _LAST_YEAR:
        if schedule.years is not None and day.year not in schedule.years:
            later = [y for y in schedule.years if y > day.year]
            if not later:
                return None
            day = date(min(later), 1, 1)
            continue
        if day.month not in schedule.months:
            last = calendar.monthrange(day.year, day.month)[1]
            day = day.replace(day=last) + timedelta(days=1)
            continue
        if schedule.matches_day(day):
            for hour in hours:
                for minute in minutes:
                    wall = datetime(day.year, day.month, day.day, hour, minute)  # noqa: DTZ001
                    if wall < candidate:
                        continue
                    when = wall.replace(tzinfo=tz).astimezone(UTC)
                    if when > after:
                        return when
        day += timedelta(days=1)
    return None


def next_fire(
    schedule: Schedule,
    after: datetime,
    *,
    created_at: datetime,
    start_time: datetime | None = None,
    end_time: datetime | None = None,
    tz: tzinfo = UTC,
) -> datetime | None:
    """The first time strictly after *after* at which a scheduled action runs,
    or None when it never runs again. All datetimes are timezone-aware.

    * ``at()`` runs once, at its wall-clock time in *tz*.
    * With a *start_time* a recurring action runs at the start time, then on
      its recurrence (AWS: "performs the action at this time, and then ... based
      on the specified recurrence"). ``rate()`` recurs every N from the start
      time, or from *created_at* when there is none (first run one period
      after creation). ``cron()`` recurs at the matching minutes in *tz*.
    * Nothing runs after *end_time*.
    """
    if isinstance(schedule, AtSchedule):
        when = schedule.when.replace(tzinfo=tz).astimezone(UTC)
        return when if when > after else None
    result: datetime | None
    if isinstance(schedule, RateSchedule):
        every = timedelta(seconds=schedule.every_s)
        anchor = start_time if start_time is not None else created_at + every
        if anchor > after:
            result = anchor
        else:
            periods = (after - anchor) // every + 1
            result = anchor + periods * every
    elif start_time is not None and start_time > after:
        result = start_time
    else:
        begin = after if start_time is None else max(after, start_time)
        result = _next_cron(schedule, begin, tz)
    if result is not None and end_time is not None and result > end_time:
        return None
    return result
