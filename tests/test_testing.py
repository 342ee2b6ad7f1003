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


def _possible(moment: str, view: WorkerView) -> bool:
    """What the simulator guarantees a policy at *moment* (the strategies'
    contract): a job's facts exactly when a queue worker is busy with one; a
    job just taken at after_claim; no job between jobs; nothing at start."""
    job = view.job_size_s is not None
    if (view.job_age_s is not None) != job or (job and view.sessions):
        return False
    if job and not (view.busy and view.job_size_s > 0 and view.job_age_s >= 0):
        return False
    if view.busy != (view.sessions > 0) and not job:
        return False
    if moment == "on_start":
        return not view.busy and view.protected_until_s is None and not view.releasing
    if moment in ("before_claim", "after_job", "after_empty_receive"):
        return not view.busy and not job
    if moment == "after_claim":
        return job and view.job_age_s == 0
    if moment == "on_sessions_changed":
        return not job
    return True


@given(
    st.sampled_from(MOMENTS).flatmap(lambda m: st.tuples(st.just(m), worker_views(m)))
)
def test_worker_views_at_a_moment_are_what_the_simulator_can_show(
    pair: tuple[str, WorkerView],
) -> None:
    """worker_views(moment) only draws views the simulator could show then."""
    moment, view = pair
    assert _possible(moment, view), (moment, view)


def test_worker_views_of_an_unknown_moment_are_refused() -> None:
    with pytest.raises(ValueError, match="'after_lunch' is not one of on_start"):
        worker_views("after_lunch")


class _Recording(BasePolicy):
    """Protects per job or per session, renewing; records every view it is shown."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, WorkerView]] = []

    def _note(self, moment: str, view: WorkerView) -> None:
        self.seen.append((moment, view))

    def on_start(self, view: WorkerView) -> Protect | Release | None:
        self._note("on_start", view)
        return None

    def before_claim(self, view: WorkerView) -> Protect | Release | None:
        self._note("before_claim", view)
        return None

    def after_claim(self, view: WorkerView) -> Protect | Release | None:
        self._note("after_claim", view)
        return Protect(10)

    def after_job(self, view: WorkerView) -> Protect | Release | None:
        self._note("after_job", view)
        return Release(60.0)

    def after_empty_receive(self, view: WorkerView) -> Protect | Release | None:
        self._note("after_empty_receive", view)
        return None

    def on_sessions_changed(self, view: WorkerView) -> Protect | Release | None:
        self._note("on_sessions_changed", view)
        return Protect(10) if view.sessions else Release(60.0)

    def renewal_due(self, view: WorkerView) -> Protect | Release | None:
        self._note("renewal_due", view)
        return Protect(10) if view.busy else None

    def renewal_interval_s(self) -> float | None:
        return 300.0


@pytest.mark.parametrize(
    ("scenario", "service"),
    [("transcoding-queue.yaml", "transcoder"), ("game-servers.yaml", "match-server")],
)
def test_what_the_simulator_shows_a_policy_is_what_worker_views_draws(
    scenario: str, service: str
) -> None:
    """Every view a policy is shown in a simulated run meets the contract the
    strategies draw from, so check_policy tests what can really happen."""
    from pathlib import Path

    import ecssim

    path = Path(__file__).parent.parent / "scenarios" / scenario
    loaded = ecssim.load_scenario(path).with_overrides({"duration": "3h"})
    policy = _Recording()
    ecssim.run(loaded, policies={service: policy})
    moments = {moment for moment, _ in policy.seen}
    assert "on_start" in moments
    assert moments & {"after_claim", "on_sessions_changed"}
    assert "renewal_due" in moments
    impossible = [(m, v) for m, v in policy.seen if not _possible(m, v)]
    assert not impossible, impossible[:3]


def test_a_policy_reading_the_job_size_passes_when_it_caps_its_duration() -> None:
    """A policy that sizes protection from view.job_size_s (the README's) passes:
    after_claim always comes with a job; without the cap at 2880 minutes the
    checker finds a job long enough to break it."""

    class ProtectLongJobsOnly(BasePolicy):
        def after_claim(self, view: WorkerView) -> Protect | None:
            assert view.job_size_s is not None
            if view.job_size_s >= 30 * 60:
                return Protect(min(2880, int(view.job_size_s // 60) + 10))
            return None

        def after_job(self, view: WorkerView) -> Release | None:
            return Release(30) if view.protected_until_s is not None else None

    check_policy(ProtectLongJobsOnly())

    class Uncapped(ProtectLongJobsOnly):
        def after_claim(self, view: WorkerView) -> Protect | None:
            assert view.job_size_s is not None
            return Protect(int(view.job_size_s // 60) + 10)

    with pytest.raises(AssertionError, match="expiresInMinutes must be an integer"):
        check_policy(Uncapped())
