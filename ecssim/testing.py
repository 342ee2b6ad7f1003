"""Helpers for testing protection policies and code built on ecssim.

* :class:`ReferenceProtection`: a deliberately naive model of one task's
  protection (a deadline), to check anything that claims to follow ECS's rules.
* Hypothesis strategies: :func:`worker_views` (what a policy sees, at a given
  moment or any), :func:`moments` (the moments a worker consults its policy)
  and :func:`moment_views` (a moment and a view it can come with).
* :func:`check_policy`: drives a policy object through random moments and
  raises ``AssertionError`` with the failing example when an answer is not one
  ECS would accept (a duration outside 1..2880 minutes, a negative hold, a
  renewal interval that is not positive ...).

Hypothesis is a test dependency: ``pip install hypothesis`` (it is in the
``test`` extra) to use the strategies and :func:`check_policy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.policies import (
    HOOKS,
    Action,
    Protect,
    ProtectionPolicy,
    Release,
    WorkerView,
)
from ecssim.rules.protection import (
    DEFAULT_EXPIRES_IN_MINUTES,
    MAX_EXPIRES_IN_MINUTES,
    MIN_EXPIRES_IN_MINUTES,
)

#: The moments a worker consults its policy (method names of ProtectionPolicy).
MOMENTS: Final = HOOKS


@dataclass
class ReferenceProtection:
    """One task's protection as the documentation states it, and nothing more.

    Enabling sets the deadline to now + minutes (120 when omitted), whatever it
    was; disabling clears it; the task is protected while now is before the
    deadline.
    """

    deadline_s: float | None = None

    def update(self, now_s: float, enabled: bool, minutes: int | None = None) -> None:
        """Apply one UpdateTaskProtection request at *now_s*."""
        if not enabled:
            self.deadline_s = None
            return
        chosen = DEFAULT_EXPIRES_IN_MINUTES if minutes is None else minutes
        self.deadline_s = now_s + 60.0 * chosen

    def is_protected(self, now_s: float) -> bool:
        """Whether scale-in must leave the task alone at *now_s*."""
        return self.deadline_s is not None and now_s < self.deadline_s


_NOW: Final = st.floats(min_value=0.0, max_value=30 * 86400.0)
#: the expiry the worker last got, relative to now (None: it believes it is unprotected)
_OFFSET: Final = st.one_of(
    st.none(), st.floats(min_value=-7200.0, max_value=48 * 3600.0)
)
#: a job's work in seconds: a second to a week (longer than protection can last)
_SIZE: Final = st.floats(min_value=1.0, max_value=7 * 86400.0)

#: Moments at which a queue worker has no job and is not busy.
_BETWEEN_JOBS: Final = ("before_claim", "after_job", "after_empty_receive")


@st.composite
def _moment_view(draw: st.DrawFn, moment: str | None) -> WorkerView:
    now = draw(_NOW)
    offset = draw(_OFFSET)
    until = None if offset is None else max(0.0, now + offset)
    releasing = draw(st.booleans())
    if moment == "on_start":  # a task that has just started: nothing yet
        return WorkerView(now, False, 0, None, False)
    if moment in _BETWEEN_JOBS:
        return WorkerView(now, False, 0, until, releasing)
    if moment == "after_claim":  # a job just taken: its size known, no time on it
        return WorkerView(now, True, 0, until, releasing, 0.0, draw(_SIZE))
    sessions = draw(st.integers(min_value=0, max_value=64))
    if moment == "on_sessions_changed":
        return WorkerView(now, sessions > 0, sessions, until, releasing)
    # renewal_due (or any moment): a session worker, an idle queue worker, or
    # one on a job (a hung worker's job can outlast its size)
    kind = draw(st.sampled_from(("sessions", "idle", "job")))
    if kind == "sessions":
        return WorkerView(now, sessions > 0, sessions, until, releasing)
    if kind == "idle":
        return WorkerView(now, False, 0, until, releasing)
    size = draw(_SIZE)
    age = draw(st.floats(min_value=0.0, max_value=size + 7 * 86400.0))
    return WorkerView(now, True, 0, until, releasing, age, size)


def worker_views(moment: str | None = None) -> st.SearchStrategy[WorkerView]:
    """What a policy may be shown at *moment* (one of :data:`MOMENTS`), or at any
    moment when None: any time, protected until a later (or earlier) moment or
    not at all, releasing or not; busy with a job whose size and age are known
    (``after_claim``: just taken, age 0), between jobs (``before_claim``,
    ``after_job``, ``after_empty_receive``), with any number of sessions
    (``on_sessions_changed``), or just started (``on_start``).

    Raises:
        ValueError: *moment* is not one of :data:`MOMENTS`.
    """
    if moment is not None and moment not in MOMENTS:
        raise ValueError(f"moment {moment!r} is not one of {', '.join(MOMENTS)}")
    return _moment_view(moment)


def moments() -> st.SearchStrategy[str]:
    """One of the moments in :data:`MOMENTS`."""
    return st.sampled_from(MOMENTS)


def moment_views() -> st.SearchStrategy[tuple[str, WorkerView]]:
    """A moment and a view the policy could be shown at that moment."""
    return moments().flatmap(
        lambda moment: st.tuples(st.just(moment), worker_views(moment))
    )


def check_action(action: object) -> Action:
    """Return *action* if ECS and the worker could carry it out, else raise.

    Raises:
        AssertionError: not None, :class:`Protect` or :class:`Release`, or a
            duration or hold out of range.
    """
    if action is None:
        return None
    if isinstance(action, Protect):
        minutes = action.expires_in_minutes
        if minutes is not None and (
            isinstance(minutes, bool)
            or not isinstance(minutes, int)
            or not MIN_EXPIRES_IN_MINUTES <= minutes <= MAX_EXPIRES_IN_MINUTES
        ):
            raise AssertionError(
                f"Protect({minutes!r}): expiresInMinutes must be an integer in "
                f"{MIN_EXPIRES_IN_MINUTES}..{MAX_EXPIRES_IN_MINUTES}"
            )
        return action
    if isinstance(action, Release):
        hold = action.hold_s
        if not isinstance(hold, int | float) or not (hold >= 0 and math.isfinite(hold)):
            raise AssertionError(f"Release({hold!r}): the hold must be finite and >= 0")
        return action
    raise AssertionError(f"{action!r} is not None, Protect or Release")


def check_policy(policy: ProtectionPolicy, *, max_examples: int = 200) -> None:
    """Drive *policy* through random sequences of moments and check every answer.

    Each moment comes with a view the simulator could show then (a job's size
    at ``after_claim``, no job between jobs ...), so a policy may rely on what
    a moment guarantees.

    Raises:
        AssertionError: an answer ECS would reject, or a renewal interval that
            is not a positive number of seconds; hypothesis reports the
            shortest sequence of moments that shows it.
    """
    interval = policy.renewal_interval_s()
    if interval is not None and not (
        isinstance(interval, int | float) and interval > 0 and math.isfinite(interval)
    ):
        raise AssertionError(
            f"renewal_interval_s() is {interval!r}; it must be None or > 0 seconds"
        )

    @settings(max_examples=max_examples, deadline=None, database=None)
    @given(steps=st.lists(moment_views(), max_size=20))
    def run(steps: list[tuple[str, WorkerView]]) -> None:
        for moment, view in steps:
            check_action(getattr(policy, moment)(view))

    run()
