"""Tests of ecssim.rules.invariants: each check passes what holds and raises,
with a message naming the numbers, on what breaks it."""

from __future__ import annotations

import re

import pytest

from ecssim.errors import InvariantViolation
from ecssim.rules.invariants import (
    check_conservation,
    check_counts,
    check_instance_capacity,
    check_task_placed,
)


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def test_conservation_holds_when_the_parts_add_up() -> None:
    """Arrived equal to the sum of non-negative parts (zeros included) passes."""
    check_conservation("jobs of q", 5, {"completed": 3, "queued": 2}, 1.0)
    check_conservation("jobs of q", 0, {"completed": 0, "queued": 0}, 1.0)
    check_conservation("jobs of q", 0, {}, 1.0)


def test_conservation_refuses_a_negative_part() -> None:
    """A negative part raises even when the sum matches, naming the parts."""
    with pytest.raises(
        InvariantViolation,
        match=_exactly("jobs of q: negative counts {'queued': -1} at t=2.5s"),
    ):
        check_conservation("jobs of q", 2, {"completed": 3, "queued": -1}, 2.5)


@pytest.mark.parametrize("arrived", [4, 6])
def test_conservation_refuses_parts_that_do_not_add_up(arrived: int) -> None:
    """One job too many or too few raises with both numbers."""
    parts = {"completed": 3, "queued": 2}
    with pytest.raises(
        InvariantViolation,
        match=_exactly(
            f"jobs of q: {arrived} arrived but {parts} add up to 5 at t=60s"
        ),
    ):
        check_conservation("jobs of q", arrived, parts, 60.0)


def test_counts_hold_when_none_is_negative() -> None:
    """Zero and positive counts pass."""
    check_counts("api", {"running": 0, "pending": 2}, 1.0)


def test_counts_refuse_a_negative_count() -> None:
    """A negative count raises naming the service and only the negative counts."""
    with pytest.raises(
        InvariantViolation,
        match=_exactly("service api: negative counts {'pending': -1} at t=3s"),
    ):
        check_counts("api", {"running": 0, "pending": -1}, 3.0)


def test_instance_capacity_allows_an_exact_fit_and_refuses_one_unit_more() -> None:
    """Tasks reserving exactly what an instance registered are fine; one CPU
    unit or MiB more is an over-committed instance."""
    check_instance_capacity("ci-1", (2048, 4096), [(1024, 2048), (1024, 2048)], 5.0)
    with pytest.raises(InvariantViolation, match="ci-1 is over-committed at t=5s"):
        check_instance_capacity("ci-1", (2048, 4096), [(1024, 2048), (1025, 2048)], 5.0)
    with pytest.raises(InvariantViolation, match="4097 MiB"):
        check_instance_capacity("ci-1", (2048, 4096), [(0, 4097)], 5.0)


def test_a_task_of_an_instance_provider_never_runs_without_an_instance() -> None:
    """Only a started task that needs an instance and has none breaks the rule."""
    check_task_placed("t1", True, False, None, 1.0)
    check_task_placed("t1", True, True, "ci-1", 1.0)
    check_task_placed("t1", False, True, None, 1.0)
    with pytest.raises(InvariantViolation, match="task t1 ran at t=1s"):
        check_task_placed("t1", True, True, None, 1.0)
