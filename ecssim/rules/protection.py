"""Pure rules for ECS task scale-in protection.

This module owns the protection state machine: what ``UpdateTaskProtection``
does to one task's protection, and whether that protection is active at a given
moment. It has no clock, no SimPy, no numpy and no pandas: "now" is passed in as
float seconds of simulated time.

The rules (see ``reference/ecs-semantics.md`` §1.2):

* enabling protection sets the expiry to ``now + expiresInMinutes`` (120 minutes
  when omitted), whatever the previous expiry was, shorter or longer;
* ``expiresInMinutes`` must be an integer in 1..2880;
* disabling clears protection (a duration sent with a disable is ignored);
* protection is active only while ``now < expires_at``; expiry is lazy, so an
  expired protection needs no event to become inactive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ecssim.errors import InvalidTransition

DEFAULT_EXPIRES_IN_MINUTES: Final = 120
MIN_EXPIRES_IN_MINUTES: Final = 1
MAX_EXPIRES_IN_MINUTES: Final = 2880
SECONDS_PER_MINUTE: Final = 60.0


@dataclass(frozen=True, slots=True)
class Protection:
    """One task's protection: the moment it lapses, or ``None`` when unprotected."""

    expires_at: float | None = None

    def is_active(self, now: float) -> bool:
        """Whether the task is protected from scale-in at *now*."""
        return self.expires_at is not None and now < self.expires_at

    def current(self, now: float) -> Protection:
        """The protection as ECS reports it at *now*: cleared once it has expired."""
        return self if self.is_active(now) else UNPROTECTED


UNPROTECTED: Final = Protection()


def check_expires_in_minutes(value: object) -> int:
    """Return *value* as a protection duration in minutes, or raise.

    Raises:
        InvalidTransition: *value* is not an integer in 1..2880.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTransition(f"expiresInMinutes must be an integer, got {value!r}")
    if not MIN_EXPIRES_IN_MINUTES <= value <= MAX_EXPIRES_IN_MINUTES:
        raise InvalidTransition(
            f"expiresInMinutes {value} is outside "
            f"{MIN_EXPIRES_IN_MINUTES}..{MAX_EXPIRES_IN_MINUTES}"
        )
    return value


def enable(now: float, expires_in_minutes: int | None = None) -> Protection:
    """Protection enabled at *now*: expiry reset to now + duration (default 2 h).

    Raises:
        InvalidTransition: the duration is not an integer in 1..2880.
    """
    if expires_in_minutes is None:
        minutes = DEFAULT_EXPIRES_IN_MINUTES
    elif (
        type(expires_in_minutes) is int
        and MIN_EXPIRES_IN_MINUTES <= expires_in_minutes <= MAX_EXPIRES_IN_MINUTES
    ):
        minutes = expires_in_minutes  # the common case, checked without a call
    else:
        minutes = check_expires_in_minutes(expires_in_minutes)
    return Protection(now + minutes * SECONDS_PER_MINUTE)


def disable() -> Protection:
    """Protection cleared."""
    return UNPROTECTED


def update(
    state: Protection,
    now: float,
    *,
    protection_enabled: bool,
    expires_in_minutes: int | None = None,
) -> Protection:
    """Apply one ``UpdateTaskProtection`` request to *state* at *now*.

    The previous state does not matter: an enable always resets the expiry
    (reset, not max), and a disable ignores any duration sent with it.

    Raises:
        InvalidTransition: enabling with a duration outside 1..2880 minutes.
    """
    del state  # documented: every call resets, so the old expiry is irrelevant
    if protection_enabled:
        return enable(now, expires_in_minutes)
    return disable()


# ---- when an update fails for one task ---------------------------------------------

#: Per-task failure reasons of ``UpdateTaskProtection`` (``failures[].reason``).
TASK_NOT_VALID: Final = "TASK_NOT_VALID"
DEPLOYMENT_BLOCKED: Final = "DEPLOYMENT_BLOCKED"
MISSING: Final = "MISSING"


def task_not_valid(*, in_service: bool, enabling: bool, stopping: bool) -> bool:
    """Whether an update of one task fails with ``TASK_NOT_VALID``.

    A standalone task (not in a service) can never be protected or unprotected
    (AWS documents this); enabling protection on a task that is stopping or
    stopped fails too (DESIGN §4; AWS is silent).
    """
    return not in_service or (enabling and stopping)


def deployment_blocked(rule: str, *, other_protected: int, desired_count: int) -> bool:
    """Whether enabling protection on a task fails with ``DEPLOYMENT_BLOCKED``.

    The documented condition is a service with more protected tasks than its
    desired count. Under ``rule="enforce"`` an enable is refused when the task
    plus the *other_protected* tasks of its service would exceed
    *desired_count*; under ``"ignore"`` never.
    """
    return rule == "enforce" and other_protected + 1 > desired_count
