"""Tests for ecssim.rules.protection: the pure task scale-in protection rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import invalid_minutes, minutes, sim_times

from ecssim.errors import InvalidTransition
from ecssim.rules.protection import (
    UNPROTECTED,
    Protection,
    check_expires_in_minutes,
    deployment_blocked,
    disable,
    enable,
    task_not_valid,
    update,
)

TWO_HOURS_S = 7200.0


def test_enable_without_minutes_protects_for_two_hours() -> None:
    """Enabling protection with no duration protects the task for 120 minutes."""
    assert enable(1000.0) == Protection(expires_at=1000.0 + TWO_HOURS_S)
    assert update(UNPROTECTED, 1000.0, protection_enabled=True) == Protection(
        expires_at=1000.0 + TWO_HOURS_S
    )


@pytest.mark.parametrize("value", [1, 2880])
def test_enable_accepts_the_bounds_of_the_range(value: int) -> None:
    """Both ends of 1..2880 minutes are accepted and set expiry to now + minutes."""
    assert check_expires_in_minutes(value) == value
    assert enable(50.0, value) == Protection(expires_at=50.0 + value * 60.0)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (2881, "2881"),
        (-1, "-1"),
        (1.5, "1.5"),
        (True, "True"),
        ("60", "'60'"),
    ],
)
def test_enable_rejects_invalid_minutes_naming_the_value(
    value: object, shown: str
) -> None:
    """A duration that is not an integer in 1..2880 raises InvalidTransition naming it."""
    with pytest.raises(InvalidTransition, match="expiresInMinutes") as excinfo:
        update(UNPROTECTED, 0.0, protection_enabled=True, expires_in_minutes=value)  # type: ignore[arg-type]
    assert shown in str(excinfo.value)
    with pytest.raises(InvalidTransition):
        check_expires_in_minutes(value)


def test_invalid_transition_is_a_value_error() -> None:
    """Callers that catch ValueError also catch a rejected duration."""
    with pytest.raises(ValueError, match="2881"):
        enable(0.0, 2881)


def test_enable_again_with_a_shorter_duration_shortens_the_expiry() -> None:
    """Re-enabling resets the expiry to now + new duration, even when that is earlier."""
    state = enable(0.0, 120)
    state = update(state, 600.0, protection_enabled=True, expires_in_minutes=5)
    assert state == Protection(expires_at=900.0)


def test_enable_again_without_minutes_resets_to_two_hours_from_now() -> None:
    """Re-enabling with no duration replaces a 48 h expiry by now + 2 h."""
    state = enable(0.0, 2880)
    assert update(state, 60.0, protection_enabled=True) == Protection(
        expires_at=60.0 + TWO_HOURS_S
    )


@pytest.mark.parametrize("duration", [None, 30, 0, 5000, 1.5])
def test_disable_clears_protection_and_ignores_any_duration(duration: object) -> None:
    """Disabling clears protection; a duration sent with it is ignored, even an invalid one."""
    state = enable(0.0, 60)
    cleared = update(state, 10.0, protection_enabled=False, expires_in_minutes=duration)  # type: ignore[arg-type]
    assert cleared == UNPROTECTED
    assert cleared.expires_at is None
    assert disable() == UNPROTECTED


def test_expiry_is_lazy_active_just_before_and_inactive_at_expires_at() -> None:
    """Protection is active up to the instant before expires_at and inactive from it on."""
    state = enable(1000.0, 10)
    expires_at = 1600.0
    assert state.expires_at == expires_at
    assert state.is_active(1000.0)
    assert state.is_active(math.nextafter(expires_at, -math.inf))
    assert not state.is_active(expires_at)
    assert not state.is_active(expires_at + 1e-6)


def test_current_shows_unprotected_after_expiry() -> None:
    """current() returns the protection while active and UNPROTECTED once it has expired."""
    state = enable(0.0, 1)
    assert state.current(59.5) is state
    assert state.current(60.0) == UNPROTECTED
    assert state.current(60.0).expires_at is None
    assert state.current(1e9) == UNPROTECTED


@given(now=sim_times())
def test_unprotected_is_never_active(now: float) -> None:
    """A task without protection is never protected, at any time."""
    assert not UNPROTECTED.is_active(now)
    assert UNPROTECTED.current(now) == UNPROTECTED


@given(
    previous=st.one_of(st.none(), sim_times()).map(lambda t: Protection(expires_at=t)),
    now=sim_times(),
    duration=minutes(),
)
def test_enable_ignores_the_previous_expiry(
    previous: Protection, now: float, duration: int
) -> None:
    """Whatever the earlier state, enabling sets expiry to exactly now + duration minutes."""
    state = update(previous, now, protection_enabled=True, expires_in_minutes=duration)
    assert state == Protection(expires_at=now + duration * 60.0)
    assert state.is_active(now)
    assert not state.is_active(now + duration * 60.0)


@given(value=invalid_minutes(), now=sim_times())
def test_every_invalid_duration_is_rejected(value: object, now: float) -> None:
    """Out-of-range integers, bools, floats and strings are all rejected on enable."""
    with pytest.raises(InvalidTransition, match=r"expiresInMinutes"):
        enable(now, value)  # type: ignore[arg-type]


# --- when an update fails for one task ------------------------------------------------


@given(
    others=st.integers(min_value=0, max_value=50),
    desired=st.integers(min_value=0, max_value=50),
    renewal=st.booleans(),
)
def test_deployment_blocked_exactly_when_protected_would_exceed_desired(
    others: int, desired: int, renewal: bool
) -> None:
    """An enable is refused iff the protected count would then exceed the desired
    count: under "refuse_new" only for a task not protected now, under
    "refuse_renewals_too" for renewals too, under "ignore" never."""
    over = others + 1 > desired
    assert deployment_blocked(
        "refuse_new", other_protected=others, desired_count=desired, renewal=renewal
    ) is (over and not renewal)
    assert (
        deployment_blocked(
            "refuse_renewals_too",
            other_protected=others,
            desired_count=desired,
            renewal=renewal,
        )
        is over
    )
    assert not deployment_blocked(
        "ignore", other_protected=others, desired_count=desired, renewal=renewal
    )


def test_deployment_blocked_at_the_boundary() -> None:
    """Protecting the last of desired-count tasks is allowed; one more is refused."""
    for rule in ("refuse_new", "refuse_renewals_too"):
        assert not deployment_blocked(rule, other_protected=2, desired_count=3)
        assert deployment_blocked(rule, other_protected=3, desired_count=3)
        assert deployment_blocked(rule, other_protected=0, desired_count=0)


@given(
    rule=st.sampled_from(["refuse_new", "refuse_renewals_too"]),
    blocking_for=st.one_of(st.none(), st.floats(0, 1e6)),
    after=st.one_of(st.none(), st.floats(1, 1e6)),
    renewal=st.booleans(),
)
def test_renewals_of_a_long_blocking_task_are_refused_once_a_threshold_passes(
    rule: str, blocking_for: float | None, after: float | None, renewal: bool
) -> None:
    """With refuse_renewals_after set, a renewal of a task that has blocked a
    scale-in or rollout for at least that long is refused whatever the counts;
    without it (or for a task not blocking) only the counts decide."""
    long_blocking = (
        renewal
        and after is not None
        and blocking_for is not None
        and blocking_for >= after
    )
    # counts that never block on their own
    assert (
        deployment_blocked(
            rule,
            other_protected=0,
            desired_count=5,
            renewal=renewal,
            blocking_for_s=blocking_for,
            refuse_renewals_after_s=after,
        )
        is long_blocking
    )
    assert not deployment_blocked(
        "ignore",
        other_protected=9,
        desired_count=0,
        renewal=renewal,
        blocking_for_s=blocking_for,
        refuse_renewals_after_s=after,
    )


@given(in_service=st.booleans(), enabling=st.booleans(), stopping=st.booleans())
def test_task_not_valid_for_standalone_tasks_and_enables_on_stopping_tasks(
    in_service: bool, enabling: bool, stopping: bool
) -> None:
    """Standalone tasks always fail; a service task fails only when protection is
    enabled while it is stopping."""
    expected = (not in_service) or (enabling and stopping)
    assert (
        task_not_valid(in_service=in_service, enabling=enabling, stopping=stopping)
        is expected
    )
