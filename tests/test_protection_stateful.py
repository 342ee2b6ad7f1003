"""Model-based test of ecssim.rules.protection against a deliberately naive reference.

The reference keeps one optional deadline in whole seconds of integer time and
knows only the documented rules: enable sets it to now + minutes (120 when
omitted), disable removes it, protection holds while now < deadline. Time is
part of the generated input, including jumps to just before, exactly at and past
the deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from strategies import invalid_minutes, minutes

from ecssim.errors import InvalidTransition
from ecssim.rules import protection
from ecssim.rules.protection import UNPROTECTED, Protection

DAY_S = 86_400


class ProtectionMachine(RuleBasedStateMachine):
    """Random enable/disable/advance-time sequences checked against a reference model."""

    def __init__(self) -> None:
        super().__init__()
        self.now_s = 0
        self.state = UNPROTECTED
        self.reference: dict[str, int] = {}

    @property
    def now(self) -> float:
        """The machine's clock as the rules see it: float seconds."""
        return float(self.now_s)

    @rule(via_update=st.booleans())
    def enable_with_default_duration(self, via_update: bool) -> None:
        """Enable with no expiresInMinutes."""
        if via_update:
            self.state = protection.update(
                self.state, self.now, protection_enabled=True
            )
        else:
            self.state = protection.enable(self.now)
        self.reference["deadline"] = self.now_s + 120 * 60

    @rule(duration=minutes(), via_update=st.booleans())
    def enable_with_duration(self, duration: int, via_update: bool) -> None:
        """Enable with an explicit, valid expiresInMinutes."""
        if via_update:
            self.state = protection.update(
                self.state,
                self.now,
                protection_enabled=True,
                expires_in_minutes=duration,
            )
        else:
            self.state = protection.enable(self.now, duration)
        self.reference["deadline"] = self.now_s + duration * 60

    @rule(duration=st.none() | st.integers(min_value=-10_000, max_value=10_000))
    def disable(self, duration: int | None) -> None:
        """Disable, sometimes sending a (possibly invalid) duration that must be ignored."""
        self.state = protection.update(
            self.state, self.now, protection_enabled=False, expires_in_minutes=duration
        )
        self.reference.pop("deadline", None)

    @rule(seconds=st.integers(min_value=0, max_value=3 * DAY_S))
    def advance(self, seconds: int) -> None:
        """Let simulated time pass."""
        self.now_s += seconds

    @precondition(lambda self: "deadline" in self.reference)
    @rule(
        offset=st.sampled_from([-1, 0, 1]) | st.integers(min_value=2, max_value=DAY_S)
    )
    def jump_around_the_deadline(self, offset: int) -> None:
        """Move time to just before, exactly at, or past the reference deadline."""
        self.now_s = max(self.now_s, self.reference["deadline"] + offset)

    @rule(value=invalid_minutes(), via_update=st.booleans())
    def enable_with_invalid_duration_is_rejected(
        self, value: object, via_update: bool
    ) -> None:
        """An out-of-range or non-integer duration raises and changes nothing."""
        request: Callable[[], Protection] = (
            partial(
                protection.update,
                self.state,
                self.now,
                protection_enabled=True,
                expires_in_minutes=value,
            )
            if via_update
            else partial(protection.enable, self.now, value)
        )
        with pytest.raises(InvalidTransition):
            self.state = request()

    @invariant()
    def agrees_with_reference(self) -> None:
        """is_active and current() match the reference after every step."""
        deadline = self.reference.get("deadline")
        expected_active = deadline is not None and self.now_s < deadline
        assert self.state.is_active(self.now) is expected_active
        expected_current = (
            Protection(expires_at=float(deadline))
            if expected_active and deadline is not None
            else UNPROTECTED
        )
        assert self.state.current(self.now) == expected_current


TestProtectionMachine = ProtectionMachine.TestCase
TestProtectionMachine.settings = settings(max_examples=200, stateful_step_count=40)
