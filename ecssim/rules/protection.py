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


#: The ``deployment_blocked`` rules (``EcsSettings.deployment_blocked``).
REFUSE_NEW: Final = "refuse_new"
REFUSE_RENEWALS_TOO: Final = "refuse_renewals_too"
IGNORE: Final = "ignore"
DEPLOYMENT_BLOCKED_RULES: Final = (REFUSE_NEW, REFUSE_RENEWALS_TOO, IGNORE)


def deployment_blocked(
    rule: str,
    *,
    other_protected: int,
    desired_count: int,
    renewal: bool = False,
    blocking_for_s: float | None = None,
    refuse_renewals_after_s: float | None = None,
) -> bool:
    """Whether enabling protection on a task fails with ``DEPLOYMENT_BLOCKED``.

    The documented condition is a service with more protected tasks than its
    desired count. AWS's own sample shows that renewing a task that is already
    protected is accepted in that state (its 1-minute protection, renewed every
    ~48 s, keeps a task up for a 6-minute job after the desired count went to
    0), so the rules are:

    * ``"refuse_new"`` (the default): an enable of a task that is not protected
      now (*renewal* false) fails when it plus the *other_protected* tasks of
      its service would exceed *desired_count*; a renewal never fails this way;
    * ``"refuse_renewals_too"``: renewals are refused in that state as well;
    * ``"ignore"``: never.

    Independently of the rule (unless ``"ignore"``), a renewal fails once the
    task has been blocking a scale-in or a rollout for *refuse_renewals_after_s*
    or longer (*blocking_for_s*; None: not blocking). The sample's comments say
    ECS may refuse a task that blocks a rolling deployment "for an extended
    period of time"; the threshold is not documented, so it is off (None) by
    default.
    """
    if rule == IGNORE:
        return False
    if (
        renewal
        and refuse_renewals_after_s is not None
        and blocking_for_s is not None
        and blocking_for_s >= refuse_renewals_after_s
    ):
        return True
    if renewal and rule == REFUSE_NEW:
        return False
    return other_protected + 1 > desired_count
