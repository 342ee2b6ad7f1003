"""The run-time invariants' edges that mutation testing found untested
(docs/mutation-testing.md): which records ``check_record`` looks at, the
deployment bound at equality, and the messages that name what broke."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.errors import InvariantViolation
from ecssim.rules.invariants import (
    CHECKED_KINDS,
    SCHEDULER_STOP_CODE,
    check_deployment_bounds,
    check_instance_capacity,
    check_record,
)

_STOP = {
    "task": "t-1",
    "service": "web",
    "stop_code": SCHEDULER_STOP_CODE,
    "protected": True,
}


def test_a_protected_task_stopped_by_the_scheduler_is_a_violation() -> None:
    """ECS never stops a protected task on scale-in or deployment: the record
    names the task, the service and the time."""
    message = "task t-1 of service web was stopped by the scheduler at t=12.5s while protected"
    with pytest.raises(InvariantViolation, match=f"^{re.escape(message)}$"):
        check_record("task_stop_requested", _STOP, 12.5)


@pytest.mark.parametrize(
    "change",
    [
        {"protected": False},
        {"protected": None},
        {"stop_code": "UserInitiated"},
        {"stop_code": "SpotInterruption"},
    ],
)
def test_other_stops_of_a_task_are_allowed(change: dict[str, object]) -> None:
    """An unprotected task may be stopped by the scheduler, and a protected one
    by the user or by EC2 (protection only guards against the scheduler)."""
    check_record("task_stop_requested", {**_STOP, **change}, 1.0)


@pytest.mark.parametrize("kind", ["task_started", "service_created", "task_stopped"])
def test_only_a_stop_request_can_break_protection(kind: str) -> None:
    """The same fields on another record kind are no scheduler stop."""
    check_record(kind, _STOP, 1.0)


@given(
    key=st.sampled_from(["desired_count", "running_count", "pending_count"]),
    value=st.integers(-1000, 1000),
    kind=st.sampled_from(sorted(CHECKED_KINDS)),
)
def test_a_negative_count_is_a_violation_and_zero_is_not(
    key: str, value: int, kind: str
) -> None:
    """Every count of a checked record must be at least 0; the message names
    the count, its value, the time and the record."""
    fields = {"service": "web", key: value}
    if value >= 0:
        check_record(kind, fields, 3.0)
    else:
        message = f"{key} is {value} at t=3s: {fields}"
        with pytest.raises(InvariantViolation, match=f"^{re.escape(message)}$"):
            check_record(kind, fields, 3.0)


def test_records_that_cannot_break_a_rule_are_not_checked() -> None:
    """A kind outside CHECKED_KINDS is never looked at, negative counts and all."""
    check_record("autoscaling_decision", {"desired_count": -1, **_STOP}, 1.0)


@given(
    maximum=st.integers(0, 200),
    desired=st.integers(0, 200),
    extra=st.integers(-5, 5),
)
def test_deployment_bound_is_the_larger_of_maximum_and_desired(
    maximum: int, desired: int, extra: int
) -> None:
    """Up to max(maximumPercent bound, desired) live tasks are allowed; one more
    is a violation naming the service, the count, the time and the bound."""
    live = max(maximum, desired) + extra
    if extra <= 0:
        check_deployment_bounds("web", live, maximum, desired, 7.0)
    else:
        message = (
            f"service web has {live} live tasks at t=7s, above its "
            f"maximumPercent bound of {maximum}"
        )
        with pytest.raises(InvariantViolation, match=f"^{re.escape(message)}$"):
            check_deployment_bounds("web", live, maximum, desired, 7.0)


@pytest.mark.parametrize(
    ("reserved", "cpu", "memory"),
    [([(1024, 100), (1025, 100)], 2049, 200), ([(512, 4000), (512, 4001)], 1024, 8001)],
)
def test_an_over_committed_instance_names_what_its_tasks_reserve(
    reserved: list[tuple[int, int]], cpu: int, memory: int
) -> None:
    """Over-committing CPU alone or memory alone is a violation; the message
    gives the sums the tasks reserve and what the instance registered."""
    message = (
        f"container instance ci-1 is over-committed at t=2s: its tasks reserve "
        f"{cpu} CPU units and {memory} MiB of 2048 and 8000"
    )
    with pytest.raises(InvariantViolation, match=f"^{re.escape(message)}$"):
        check_instance_capacity("ci-1", (2048, 8000), reserved, 2.0)
