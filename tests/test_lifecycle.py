"""Tests for ecssim.rules.lifecycle: the task statuses and the moves between them."""

from __future__ import annotations

import itertools

import botocore.session
import pytest

from ecssim.errors import InvalidTransition
from ecssim.rules.lifecycle import (
    ALLOWED,
    LIVE_STATUSES,
    NOT_YET_RUNNING,
    PENDING_STATUSES,
    StopCode,
    TaskStatus,
    advance,
)

S = TaskStatus
ORDER = [S.PROVISIONING, S.PENDING, S.RUNNING, S.STOPPING, S.STOPPED]
ALLOWED_PAIRS = [(a, b) for a in S for b in sorted(ALLOWED[a], key=ORDER.index)]
FORBIDDEN_PAIRS = [(a, b) for a, b in itertools.product(S, S) if b not in ALLOWED[a]]


def test_lifecycle_table_is_the_documented_one() -> None:
    """Tasks go forward through PROVISIONING, PENDING, RUNNING, STOPPING, STOPPED, and
    may be stopped from any status before STOPPING."""
    assert dict(ALLOWED) == {
        S.PROVISIONING: {S.PENDING, S.STOPPING},
        S.PENDING: {S.RUNNING, S.STOPPING},
        S.RUNNING: {S.STOPPING},
        S.STOPPING: {S.STOPPED},
        S.STOPPED: set(),
    }


def test_status_values_are_ecs_last_status_strings() -> None:
    """Each status's value is the upper-case lastStatus string ECS reports."""
    assert [s.value for s in S] == [
        "PROVISIONING",
        "PENDING",
        "RUNNING",
        "STOPPING",
        "STOPPED",
    ]


@pytest.mark.parametrize(("current", "target"), ALLOWED_PAIRS)
def test_advance_returns_the_target_of_an_allowed_move(
    current: TaskStatus, target: TaskStatus
) -> None:
    """An allowed move returns the new status."""
    assert advance(current, target) is target


@pytest.mark.parametrize(("current", "target"), FORBIDDEN_PAIRS)
def test_advance_rejects_a_forbidden_move_naming_both_statuses(
    current: TaskStatus, target: TaskStatus
) -> None:
    """A move the table does not allow raises InvalidTransition naming both ends."""
    with pytest.raises(InvalidTransition) as excinfo:
        advance(current, target)
    assert str(excinfo.value) == f"a task cannot go {current.value} -> {target.value}"


def test_moves_only_go_forward() -> None:
    """No move returns to an earlier status or stays put."""
    assert all(ORDER.index(b) > ORDER.index(a) for a, b in ALLOWED_PAIRS)


def test_every_status_can_reach_stopped_and_stopped_is_final() -> None:
    """A task can always be stopped, and nothing follows STOPPED."""
    for start in S:
        status = start
        while status is not S.STOPPED:
            status = advance(status, max(ALLOWED[status], key=ORDER.index))
    assert ALLOWED[S.STOPPED] == frozenset()


def test_status_groups() -> None:
    """Not-yet-running is PROVISIONING and PENDING; live is everything before STOPPING."""
    assert frozenset({S.PROVISIONING, S.PENDING}) == NOT_YET_RUNNING
    assert PENDING_STATUSES == NOT_YET_RUNNING
    assert frozenset({S.PROVISIONING, S.PENDING, S.RUNNING}) == LIVE_STATUSES


def test_allowed_table_is_read_only() -> None:
    """The lifecycle table cannot be changed at run time."""
    with pytest.raises(TypeError):
        ALLOWED[S.STOPPED] = frozenset({S.RUNNING})  # type: ignore[index]


def test_stop_codes_are_botocore_task_stop_codes() -> None:
    """Every stop code is a value of botocore's ECS TaskStopCode enum."""
    model = botocore.session.get_session().get_service_model("ecs")
    assert {code.value for code in StopCode} <= set(
        model.shape_for("TaskStopCode").enum
    )
