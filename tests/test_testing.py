"""ecssim.testing: the reference model and the policy checker users can rely on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.policies import BasePolicy, ConfiguredPolicy, Protect, Release, WorkerView
from ecssim.rules import protection
from ecssim.scenario.schema import ProtectionPolicyConfig
from ecssim.testing import (
    MOMENTS,
    ReferenceProtection,
    check_action,
    check_policy,
    worker_views,
)


@given(
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=86400),
            st.booleans(),
            st.one_of(st.none(), st.integers(min_value=1, max_value=2880)),
        ),
        max_size=20,
    ),
    probe=st.floats(min_value=0, max_value=3 * 86400),
)
def test_reference_model_agrees_with_the_protection_rules(
    steps: list[tuple[float, bool, int | None]], probe: float
) -> None:
    """The naive reference and ecssim's protection rules agree after any calls."""
    reference = ReferenceProtection()
    state = protection.UNPROTECTED
    now = 0.0
    for dt, enabled, minutes in steps:
        now += dt
        reference.update(now, enabled, minutes)
        state = protection.update(
            state, now, protection_enabled=enabled, expires_in_minutes=minutes
        )
    at = now + probe
    assert reference.is_protected(at) == state.is_active(at)


@pytest.mark.parametrize(
    "policy", ["none", "per_job", "renewing", "always", "sessions"]
)
@pytest.mark.parametrize("order", ["claim_then_protect", "protect_then_claim"])
def test_the_built_in_policies_pass_the_checker(policy: str, order: str) -> None:
    """Every built-in policy only ever answers with actions ECS accepts."""
    config = ProtectionPolicyConfig(policy=policy, order=order, expires_in="45m")
    check_policy(ConfiguredPolicy(config), max_examples=50)


def test_the_checker_finds_an_out_of_range_duration() -> None:
    """A policy that asks for 3000 minutes while busy fails the check."""

    class TooLong(BasePolicy):
        def after_claim(self, view: WorkerView) -> Protect | None:
            return Protect(3000) if view.busy else None

    with pytest.raises(AssertionError, match="3000"):
        check_policy(TooLong(), max_examples=100)


def test_the_checker_rejects_a_bad_renewal_interval() -> None:
    """A renewal interval of zero seconds is refused before any moment is tried."""

    class NoInterval(BasePolicy):
        def renewal_interval_s(self) -> float | None:
            return 0.0

    with pytest.raises(AssertionError, match="renewal_interval_s"):
        check_policy(NoInterval())


@pytest.mark.parametrize(
    "action", [Protect(0), Protect(2881), Release(-1.0), Release(float("inf")), "yes"]
)
def test_check_action_refuses_what_ecs_or_the_worker_cannot_do(action: object) -> None:
    """Durations outside 1..2880, negative or infinite holds and non-actions fail."""
    with pytest.raises(AssertionError):
        check_action(action)


@given(worker_views())
def test_worker_views_are_consistent(view: WorkerView) -> None:
    """A view with sessions is busy, and its clock is never negative."""
    assert view.now_s >= 0
    assert view.busy or view.sessions == 0


def test_moments_are_the_policy_protocol() -> None:
    """Every moment the checker drives is a method of the policy protocol."""
    assert all(callable(getattr(BasePolicy(), m)) for m in MOMENTS)
