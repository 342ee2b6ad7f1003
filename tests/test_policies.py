"""Protection policies: ``ecssim.policies``.

The built-in policies' answer at every moment of a worker's life, for both
orders (a full table), then the details: no call while well covered, the
release hold, renewal intervals, idle renewals, sessions. ``BasePolicy`` never
acts, and a user's own class satisfies the ``ProtectionPolicy`` protocol. The
hooks a policy reports silent (which the worker then skips) answer None
whatever the view, and a user's overridden hook is never reported silent.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import worker_views

from ecssim.policies import (
    HOOKS,
    Action,
    BasePolicy,
    ConfiguredPolicy,
    Protect,
    ProtectionPolicy,
    Release,
    WorkerView,
    fixed_hooks,
    silent_hooks,
)
from ecssim.scenario.schema import ProtectionPolicyConfig
from ecssim.sim.workers import policy_for

MOMENTS = HOOKS
KINDS = ("none", "per_job", "renewing", "always", "sessions")
ORDERS = ("claim_then_protect", "protect_then_claim")
NOW = 10_000.0
EXPIRES_S = 1800.0  # 30m


def _policy(
    kind: str, order: str = "claim_then_protect", **raw: Any
) -> ConfiguredPolicy:
    """A built-in policy from its YAML form (expires_in 30m, release_hold 1m)."""
    raw = {"expires_in": "30m", "release_hold": "1m", **raw}
    return ConfiguredPolicy(
        ProtectionPolicyConfig.model_validate({"policy": kind, "order": order, **raw})
    )


def _view(
    *,
    busy: bool = True,
    sessions: int = 1,
    left_s: float | None = None,
    releasing: bool = False,
) -> WorkerView:
    """A worker at NOW, protected for *left_s* more seconds (None: unprotected)."""
    until = None if left_s is None else NOW + left_s
    return WorkerView(NOW, busy, sessions, until, releasing)


def _ask(policy: ProtectionPolicy, moment: str, view: WorkerView) -> Action:
    return getattr(policy, moment)(view)  # type: ignore[no-any-return]


P = Protect(30)
R = Release(60.0)
# What each built-in policy answers a busy, unprotected worker with one session.
TABLE: dict[tuple[str, str], dict[str, Action]] = {
    ("none", "claim_then_protect"): {},
    ("none", "protect_then_claim"): {},
    ("per_job", "claim_then_protect"): {
        "after_claim": P,
        "after_job": R,
        "renewal_due": P,
    },
    ("per_job", "protect_then_claim"): {
        "before_claim": P,
        "after_job": R,
        "after_empty_receive": R,
        "renewal_due": P,
    },
    ("renewing", "claim_then_protect"): {
        "after_claim": P,
        "after_job": R,
        "renewal_due": P,
    },
    ("renewing", "protect_then_claim"): {
        "before_claim": P,
        "after_job": R,
        "after_empty_receive": R,
        "renewal_due": P,
    },
    ("always", "claim_then_protect"): {"on_start": P, "renewal_due": P},
    ("always", "protect_then_claim"): {"on_start": P, "renewal_due": P},
    ("sessions", "claim_then_protect"): {"on_sessions_changed": P, "renewal_due": P},
    ("sessions", "protect_then_claim"): {"on_sessions_changed": P, "renewal_due": P},
}


def test_the_table_covers_every_kind_and_order() -> None:
    """Every policy kind the scenario accepts appears in the table, with both orders."""
    assert set(TABLE) == {(k, o) for k in KINDS for o in ORDERS}
    field = ProtectionPolicyConfig.model_fields["policy"]
    # aws_sample is run by the worker's SampleManager, not by the hooks
    assert set(field.annotation.__args__) == {*KINDS, "aws_sample"}  # type: ignore[union-attr]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_policy_answers_each_moment_as_documented(
    kind: str, order: str, moment: str
) -> None:
    """A busy, unprotected worker gets the table's action (None where it has none)."""
    expected = TABLE[kind, order].get(moment)
    assert _ask(_policy(kind, order), moment, _view()) == expected


@pytest.mark.parametrize(
    ("kind", "interval_s"),
    [
        ("none", None),
        ("per_job", None),
        ("renewing", 1440.0),
        ("always", 1440.0),
        ("sessions", 1440.0),
    ],
)
def test_default_renewal_interval_is_80_percent_for_renewing_kinds(
    kind: str, interval_s: float | None
) -> None:
    """renewing, always and sessions renew at 80 % of expires_in; none and per_job do not."""
    for order in ORDERS:
        assert _policy(kind, order).renewal_interval_s() == pytest.approx(interval_s)


@pytest.mark.parametrize("kind", ["per_job", "renewing", "always", "sessions"])
def test_renew_every_and_renew_at_fraction_set_the_interval(kind: str) -> None:
    """``renew_every`` and ``renew_at_fraction`` override the default interval for every kind."""
    assert _policy(kind, renew_every="10m").renewal_interval_s() == 600.0
    assert _policy(kind, renew_at_fraction=0.5).renewal_interval_s() == 900.0


def test_protect_asks_for_expires_in_as_whole_minutes() -> None:
    """The Protect action carries expires_in in minutes (2h is 120, 1d is 1440)."""
    assert _policy("always", expires_in="2h").on_start(_view()) == Protect(120)
    assert _policy("always", expires_in="1d").on_start(_view()) == Protect(1440)
    assert _policy("always", expires_in="1m").on_start(_view()) == Protect(1)


@pytest.mark.parametrize("hold", ["0s", "45s", "5m"])
def test_release_passes_the_hold_through(hold: str) -> None:
    """after_job answers Release(hold) with the configured ``release_hold`` in seconds."""
    policy = _policy("per_job", release_hold=hold)
    seconds = {"0s": 0.0, "45s": 45.0, "5m": 300.0}[hold]
    assert policy.after_job(_view(busy=False, sessions=0)) == Release(seconds)


@pytest.mark.parametrize(
    ("kind", "order", "moment"),
    [
        ("per_job", "claim_then_protect", "after_claim"),
        ("renewing", "claim_then_protect", "after_claim"),
        ("per_job", "protect_then_claim", "before_claim"),
        ("renewing", "protect_then_claim", "before_claim"),
        ("sessions", "claim_then_protect", "on_sessions_changed"),
    ],
)
def test_no_call_while_protected_for_more_than_half_the_duration(
    kind: str, order: str, moment: str
) -> None:
    """A worker with over half of expires_in left is not re-protected; with less, it is."""
    policy = _policy(kind, order)
    assert _ask(policy, moment, _view(left_s=0.9 * EXPIRES_S)) is None
    assert _ask(policy, moment, _view(left_s=0.51 * EXPIRES_S)) is None
    assert _ask(policy, moment, _view(left_s=0.49 * EXPIRES_S)) == P
    assert _ask(policy, moment, _view(left_s=0.0)) == P
    assert _ask(policy, moment, _view(left_s=-60.0)) == P  # expired


@pytest.mark.parametrize(
    ("kind", "order", "moment"),
    [
        ("per_job", "claim_then_protect", "after_claim"),
        ("renewing", "protect_then_claim", "before_claim"),
        ("sessions", "claim_then_protect", "on_sessions_changed"),
    ],
)
def test_a_pending_release_is_cancelled_by_protecting_again(
    kind: str, order: str, moment: str
) -> None:
    """While a release is held, new work asks for protection even if well covered."""
    view = _view(left_s=0.9 * EXPIRES_S, releasing=True)
    assert _ask(_policy(kind, order), moment, view) == P


def test_renewal_while_covered_still_renews() -> None:
    """renewal_due protects regardless of the time left (the timer decides when)."""
    view = _view(left_s=0.9 * EXPIRES_S)
    for kind in ("per_job", "renewing", "always", "sessions"):
        assert _policy(kind).renewal_due(view) == P


def test_always_renews_even_when_idle() -> None:
    """The always policy renews a worker with no job and no session."""
    idle = _view(busy=False, sessions=0, left_s=100.0)
    assert _policy("always").renewal_due(idle) == P


@pytest.mark.parametrize("kind", ["none", "per_job", "renewing", "sessions"])
def test_other_policies_do_not_renew_an_idle_worker(kind: str) -> None:
    """per_job, renewing and sessions stop renewing once the worker is idle."""
    idle = _view(busy=False, sessions=0, left_s=100.0)
    assert _policy(kind).renewal_due(idle) is None


def test_per_job_without_renewal_has_no_interval() -> None:
    """per_job with neither renew_every nor renew_at_fraction sets no renewal timer."""
    policy = _policy("per_job", "protect_then_claim", expires_in="2h")
    assert policy.renewal_interval_s() is None
    assert policy.config.renewal_interval_s is None


def test_sessions_protect_on_any_and_release_on_none() -> None:
    """The sessions policy protects with one or more sessions and releases at zero."""
    policy = _policy("sessions", release_hold="30s")
    assert policy.on_sessions_changed(_view(sessions=1)) == P
    assert policy.on_sessions_changed(_view(sessions=8)) == P
    assert policy.on_sessions_changed(
        _view(busy=False, sessions=0, left_s=1000.0)
    ) == Release(30.0)
    assert policy.on_sessions_changed(_view(busy=False, sessions=0)) == Release(30.0)


def test_sessions_ignores_queue_moments() -> None:
    """The sessions policy does nothing around claims, jobs or empty receives."""
    policy = _policy("sessions")
    for moment in ("before_claim", "after_claim", "after_job", "after_empty_receive"):
        assert _ask(policy, moment, _view()) is None


def test_the_policy_keeps_its_config() -> None:
    """A ConfiguredPolicy exposes the config and kind it was built from."""
    config = ProtectionPolicyConfig.model_validate(
        {"policy": "renewing", "expires_in": "1h"}
    )
    policy = ConfiguredPolicy(config)
    assert policy.config is config
    assert policy.kind == "renewing"


@given(
    st.sampled_from(KINDS),
    st.sampled_from(ORDERS),
    st.integers(min_value=1, max_value=2880),
    st.floats(min_value=0, max_value=3600, allow_nan=False),
    worker_views(),
)
def test_a_built_in_policy_only_protects_for_expires_in_or_releases_with_the_hold(
    kind: str, order: str, minutes: int, hold_s: float, view: WorkerView
) -> None:
    """Whatever the view, every answer is None, Protect(expires_in minutes) or Release(hold)."""
    policy = ConfiguredPolicy(
        ProtectionPolicyConfig(
            policy=kind,  # type: ignore[arg-type]
            order=order,  # type: ignore[arg-type]
            expires_in_s=minutes * 60,
            release_hold_s=hold_s,
        )
    )
    answers = {_ask(policy, moment, view) for moment in MOMENTS}
    assert answers <= {None, Protect(minutes), Release(hold_s)}
    if kind == "none":
        assert answers == {None}
    if kind in ("per_job", "renewing"):
        assert policy.after_job(view) == Release(hold_s)
    if kind == "always":
        assert policy.on_start(view) == Protect(minutes)
        assert policy.renewal_due(view) == Protect(minutes)


@given(worker_views())
def test_base_policy_never_acts(view: WorkerView) -> None:
    """BasePolicy answers None at every moment and sets no renewal timer."""
    policy = BasePolicy()
    assert [_ask(policy, moment, view) for moment in MOMENTS] == [None] * len(MOMENTS)
    assert policy.renewal_interval_s() is None


class _DuckTyped:
    """A ProtectionPolicy that does not subclass BasePolicy (and never acts)."""

    def on_start(self, view: WorkerView) -> Action:
        return None

    def before_claim(self, view: WorkerView) -> Action:
        return None

    def after_claim(self, view: WorkerView) -> Action:
        return None

    def after_job(self, view: WorkerView) -> Action:
        return None

    def after_empty_receive(self, view: WorkerView) -> Action:
        return None

    def on_sessions_changed(self, view: WorkerView) -> Action:
        return None

    def renewal_due(self, view: WorkerView) -> Action:
        return None

    def renewal_interval_s(self) -> float | None:
        return None


def test_user_policies_satisfy_the_protocol() -> None:
    """A BasePolicy subclass, a duck-typed class and the built-ins are ProtectionPolicy."""

    class ProtectWhileBusy(BasePolicy):
        def after_claim(self, view: WorkerView) -> Action:
            return Protect(60)

        def after_job(self, view: WorkerView) -> Action:
            return Release()

    mine = ProtectWhileBusy()
    assert isinstance(mine, ProtectionPolicy)
    assert isinstance(_DuckTyped(), ProtectionPolicy)
    assert isinstance(BasePolicy(), ProtectionPolicy)
    assert isinstance(_policy("renewing"), ProtectionPolicy)
    assert mine.after_claim(_view()) == Protect(60)
    assert mine.after_job(_view()) == Release(0.0)
    assert mine.on_start(_view()) is None


def test_an_incomplete_class_is_not_a_policy() -> None:
    """A class missing one of the moments does not satisfy ProtectionPolicy."""

    class OnlyStart:
        def on_start(self, view: WorkerView) -> Action:
            return Protect()

    assert not isinstance(OnlyStart(), ProtectionPolicy)
    assert not isinstance(object(), ProtectionPolicy)


def test_actions_are_small_frozen_values() -> None:
    """Protect defaults to ECS's own expiry (None), Release to no hold; both are frozen."""
    assert Protect().expires_in_minutes is None
    assert Release().hold_s == 0.0
    assert Protect(5) == Protect(5)
    assert Release(1.0) != Release(2.0)
    with pytest.raises(AttributeError):
        Protect(5).expires_in_minutes = 6  # type: ignore[misc]


# ---- silent hooks (skipped by the worker) ------------------------------------------------
class _ReleaseAfterJob(BasePolicy):
    """Overrides only after_job."""

    def after_job(self, view: WorkerView) -> Action:
        return Release()


def test_hooks_are_the_moments_that_answer_an_action() -> None:
    """HOOKS lists exactly the ProtectionPolicy methods that answer an action."""
    methods = {
        name
        for name, value in vars(ProtectionPolicy).items()
        if callable(value) and not name.startswith("_")
    }
    assert set(HOOKS) == methods - {"renewal_interval_s"}
    assert len(HOOKS) == len(set(HOOKS))


@given(
    st.sampled_from(KINDS),
    st.sampled_from(ORDERS),
    st.sampled_from(["0s", "45s", "10m"]),
    st.sampled_from([{}, {"renew_every": "5m"}, {"renew_at_fraction": 0.5}]),
    worker_views(),
)
def test_a_silent_hook_of_a_built_in_policy_answers_none_whatever_the_view(
    kind: str, order: str, hold: str, renewal: dict[str, Any], view: WorkerView
) -> None:
    """Every hook a built-in configuration reports silent answers None for any view,
    for the ConfiguredPolicy and for what ``policy_for`` hands the worker."""
    config = ProtectionPolicyConfig.model_validate(
        {
            "policy": kind,
            "order": order,
            "expires_in": "30m",
            "release_hold": hold,
            **renewal,
        }
    )
    for policy in (ConfiguredPolicy(config), policy_for(config)):
        for hook in silent_hooks(policy):
            assert _ask(policy, hook, view) is None, (type(policy), hook)


@given(
    st.sampled_from(KINDS),
    st.sampled_from(ORDERS),
    st.sampled_from(["0s", "45s"]),
    worker_views(),
    worker_views(),
)
def test_a_fixed_hook_of_a_built_in_policy_answers_the_same_whatever_the_view(
    kind: str, order: str, hold: str, view: WorkerView, other: WorkerView
) -> None:
    """The hooks a built-in policy reports fixed (asked once by a worker) give one
    answer for any two views; an instance's own hook, or a custom policy's, is
    never fixed."""
    config = ProtectionPolicyConfig.model_validate(
        {"policy": kind, "order": order, "expires_in": "30m", "release_hold": hold}
    )
    policy = ConfiguredPolicy(config)
    assert fixed_hooks(policy) == {"on_start", "after_job", "after_empty_receive"}
    for hook in fixed_hooks(policy):
        assert _ask(policy, hook, view) == _ask(policy, hook, other), hook
    policy.after_job = lambda view: None  # type: ignore[method-assign]
    assert "after_job" not in fixed_hooks(policy)
    assert fixed_hooks(_ReleaseAfterJob()) == frozenset()


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_built_in_policy_is_silent_exactly_where_the_table_has_no_action(
    kind: str, order: str
) -> None:
    """The silent hooks are all the moments except the table's: none that acts is skipped,
    and every one that never acts is."""
    policy = _policy(kind, order)
    assert policy.silent_hooks() == set(MOMENTS) - set(TABLE[kind, order])
    assert silent_hooks(policy) == policy.silent_hooks()


def test_policy_none_is_base_policy_and_silent_everywhere() -> None:
    """``policy_for`` gives policy none a BasePolicy, every hook of which is silent."""
    policy = policy_for(ProtectionPolicyConfig.model_validate({"policy": "none"}))
    assert type(policy) is BasePolicy
    assert silent_hooks(policy) == set(HOOKS)


def test_a_custom_policy_given_to_policy_for_wins() -> None:
    """``policy_for`` returns the custom policy itself, whatever the configuration."""
    custom = _ReleaseAfterJob()
    config = ProtectionPolicyConfig.model_validate({"policy": "always"})
    assert policy_for(config, custom) is custom


def test_a_base_policy_subclass_is_silent_only_where_it_inherits() -> None:
    """Overriding only after_job leaves every other hook silent and after_job asked,
    also for a subclass of that subclass."""

    class Again(_ReleaseAfterJob):
        """Inherits the override."""

    for policy in (_ReleaseAfterJob(), Again()):
        assert silent_hooks(policy) == set(HOOKS) - {"after_job"}
        assert policy.after_job(_view()) == Release()


def test_a_hook_from_a_mixin_is_not_silent() -> None:
    """A hook that comes from a mixin ahead of BasePolicy is asked."""

    class ProtectOnStartMixin:
        def on_start(self, view: WorkerView) -> Action:
            return Protect(5)

    class Mixed(ProtectOnStartMixin, BasePolicy):
        """on_start from the mixin, the rest from BasePolicy."""

    assert silent_hooks(Mixed()) == set(HOOKS) - {"on_start"}


def test_a_hook_set_on_the_instance_is_not_silent() -> None:
    """A hook assigned to a policy object (not its class) is asked, built-in or not."""
    base = BasePolicy()
    base.after_job = lambda view: Release()  # type: ignore[method-assign]
    assert silent_hooks(base) == set(HOOKS) - {"after_job"}
    built_in = _policy("none", "claim_then_protect")
    built_in.on_start = lambda view: Protect(5)  # type: ignore[method-assign]
    assert "on_start" not in silent_hooks(built_in)


def test_a_policy_not_derived_from_base_policy_has_no_silent_hooks() -> None:
    """A duck-typed ProtectionPolicy is asked at every moment, even if it never acts."""
    policy = _DuckTyped()
    assert isinstance(policy, ProtectionPolicy)
    assert silent_hooks(policy) == frozenset()


@pytest.mark.parametrize("kind", KINDS)
def test_a_configured_policy_subclass_is_not_treated_as_the_built_in(kind: str) -> None:
    """A ConfiguredPolicy subclass (the type check is exact) has no silent hooks, so a
    hook it overrides is asked even where the built-in configuration never acts."""

    class ProtectOnStartToo(ConfiguredPolicy):
        def on_start(self, view: WorkerView) -> Action:
            return Protect(5)

    class Unchanged(ConfiguredPolicy):
        """Overrides nothing: still not the built-in."""

    config = ProtectionPolicyConfig.model_validate({"policy": kind})
    assert "on_start" in ConfiguredPolicy(config).silent_hooks() or kind == "always"
    assert silent_hooks(ProtectOnStartToo(config)) == frozenset()
    assert silent_hooks(Unchanged(config)) == frozenset()
    assert ProtectOnStartToo(config).on_start(_view()) == Protect(5)
