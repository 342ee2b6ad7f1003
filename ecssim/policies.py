"""Protection policies: when a worker protects its task, renews, and releases.

A policy is consulted at a handful of moments in a worker's life and answers
with an action: :class:`Protect`, :class:`Release` (possibly after a hold) or
``None`` (do nothing). It never calls anything itself and never sees the clock
except through the :class:`WorkerView` it is handed, so policies are pure and
easy to test. The worker (``ecssim.sim.workers``) carries the actions out.

Write your own by implementing :class:`ProtectionPolicy` (or subclassing
:class:`BasePolicy`, which does nothing at every moment) and pass it to
``ecssim.run(scenario, policies={"service-name": MyPolicy()})``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NamedTuple, Protocol, runtime_checkable

from ecssim.scenario.schema import ProtectionPolicyConfig


@dataclass(frozen=True, slots=True)
class Protect:
    """Call protection with ``expiresInMinutes`` (None: ECS's default 120)."""

    expires_in_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """Clear protection, after keeping it for *hold_s* more seconds.

    A :class:`Protect` asked for during the hold cancels the release.
    """

    hold_s: float = 0.0


Action = Protect | Release | None


class WorkerView(NamedTuple):
    """What a policy may look at when it decides.

    Attributes:
        now_s: simulated seconds.
        busy: the worker is processing a job (or hosts at least one session).
        sessions: connected sessions (session workloads).
        protected_until_s: the expiry the worker last got back from a
            successful call, or None if it believes it is unprotected.
        releasing: a release is pending (held).
        job_age_s: how long the worker has been on its current job (queue
            workloads; None without a job).
        job_size_s: the work the current job needs, in seconds: what a real
            worker knows from the message (a video's length, a batch's size).
            ecssim gives the job's drawn duration, an exact estimate; None
            without a job.
    """

    now_s: float
    busy: bool
    sessions: int
    protected_until_s: float | None
    releasing: bool
    job_age_s: float | None = None
    job_size_s: float | None = None


@runtime_checkable
class ProtectionPolicy(Protocol):
    """The moments a worker consults its policy, and what it does with answers.

    * ``on_start``: once, when the task is RUNNING.
    * ``before_claim``: before each receive; a :class:`Protect` here is awaited
      before the worker claims work (protect-then-claim).
    * ``after_claim``: right after a job was taken (claim-then-protect).
    * ``after_job``: after a job finished.
    * ``after_empty_receive``: a long poll returned nothing.
    * ``on_sessions_changed``: a session connected or left.
    * ``renewal_due``: the renewal timer fired.
    * ``renewal_interval_s``: after each successful protect, when to fire the
      renewal timer (None: no timer).
    """

    def on_start(self, view: WorkerView) -> Action:
        """Once, when the task is RUNNING."""

    def before_claim(self, view: WorkerView) -> Action:
        """Before each receive."""

    def after_claim(self, view: WorkerView) -> Action:
        """Right after a job was taken."""

    def after_job(self, view: WorkerView) -> Action:
        """After a job finished."""

    def after_empty_receive(self, view: WorkerView) -> Action:
        """A long poll returned nothing."""

    def on_sessions_changed(self, view: WorkerView) -> Action:
        """A session connected or left."""

    def renewal_due(self, view: WorkerView) -> Action:
        """The renewal timer fired."""

    def renewal_interval_s(self) -> float | None:
        """Seconds from a successful protect to the next ``renewal_due``."""


class BasePolicy:
    """A policy that never protects; subclass it and override what you need."""

    def on_start(self, view: WorkerView) -> Action:
        """Do nothing."""
        return None

    def before_claim(self, view: WorkerView) -> Action:
        """Do nothing."""
        return None

    def after_claim(self, view: WorkerView) -> Action:
        """Do nothing."""
        return None

    def after_job(self, view: WorkerView) -> Action:
        """Do nothing."""
        return None

    def after_empty_receive(self, view: WorkerView) -> Action:
        """Do nothing."""
        return None

    def on_sessions_changed(self, view: WorkerView) -> Action:
        """Do nothing."""
        return None

    def renewal_due(self, view: WorkerView) -> Action:
        """Do nothing."""
        return None

    def renewal_interval_s(self) -> float | None:
        """No renewal timer."""
        return None


class ConfiguredPolicy(BasePolicy):
    """The built-in policies of scenario files (``protection.policy``).

    * ``none``: never protects.
    * ``per_job``: protect when work is taken, release when it is done (after
      ``release_hold``); no renewal unless ``renew_every`` or
      ``renew_at_fraction`` is given.
    * ``renewing``: ``per_job`` that renews while busy (at 80 % of the expiry
      unless told otherwise).
    * ``always``: protect at start and renew forever (the anti-pattern).
    * ``sessions``: protected while any session is connected.

    ``order`` decides whether protection is asked for before the worker claims
    work (``protect_then_claim``, as AWS's sample does) or after
    (``claim_then_protect``, which leaves a window in which a claimed job is
    unprotected).
    """

    def __init__(self, config: ProtectionPolicyConfig) -> None:
        self.config = config
        self.kind = config.policy
        self._minutes = int(config.expires_in_s // 60)
        self._interval_s = config.renewal_interval_s
        self._protect_before = config.order == "protect_then_claim"
        # actions are immutable: one of each serves every answer
        self._protect_action = Protect(self._minutes)
        self._release_action = Release(config.release_hold_s)

    def _protect(self) -> Protect:
        return self._protect_action

    def _release(self) -> Release:
        return self._release_action

    def _covered(self, view: WorkerView) -> bool:
        """Already protected for at least half the duration: no call needed."""
        until = view.protected_until_s
        return (
            not view.releasing
            and until is not None
            and until - view.now_s >= self.config.expires_in_s / 2
        )

    def on_start(self, view: WorkerView) -> Action:
        """``always`` protects as soon as the task runs."""
        return self._protect() if self.kind == "always" else None

    def before_claim(self, view: WorkerView) -> Action:
        """Protect-then-claim asks for protection before each receive."""
        if self.kind in ("per_job", "renewing") and self._protect_before:
            return None if self._covered(view) else self._protect()
        return None

    def after_claim(self, view: WorkerView) -> Action:
        """Claim-then-protect asks for protection once it holds a job."""
        if self.kind in ("per_job", "renewing") and not self._protect_before:
            return None if self._covered(view) else self._protect()
        return None

    def after_job(self, view: WorkerView) -> Action:
        """Per-job policies release once the work is done."""
        return self._release() if self.kind in ("per_job", "renewing") else None

    def after_empty_receive(self, view: WorkerView) -> Action:
        """Protect-then-claim gives protection back when no work came."""
        if self.kind in ("per_job", "renewing") and self._protect_before:
            return self._release()
        return None

    def on_sessions_changed(self, view: WorkerView) -> Action:
        """Sessions policy: protect on the first session, release after the last."""
        if self.kind != "sessions":
            return None
        if view.sessions > 0:
            return None if self._covered(view) else self._protect()
        return self._release()

    def renewal_due(self, view: WorkerView) -> Action:
        """Renew while the reason to be protected lasts."""
        if self.kind == "always":
            return self._protect()
        if self.kind in ("per_job", "renewing", "sessions") and view.busy:
            return self._protect()
        return None

    def renewal_interval_s(self) -> float | None:
        """The configured renewal interval (None: no renewal)."""
        return self._interval_s

    def silent_hooks(self) -> frozenset[str]:
        """The hooks that answer None whatever the view, for this configuration."""
        per_job = self.kind in ("per_job", "renewing")
        speaks = {
            "on_start": self.kind == "always",
            "before_claim": per_job and self._protect_before,
            "after_claim": per_job and not self._protect_before,
            "after_job": per_job,
            "after_empty_receive": per_job and self._protect_before,
            "on_sessions_changed": self.kind == "sessions",
            "renewal_due": self.kind in ("always", "per_job", "renewing", "sessions"),
        }
        return frozenset(hook for hook, acts in speaks.items() if not acts)


class AwsSamplePolicy(BasePolicy):
    """AWS's sample queue consumer (``protection.policy: aws_sample``).

    Its ``ProtectionManager`` keeps a desired and a current state, acts at once
    when asked to acquire or release and otherwise on its own timer, and makes
    the worker wait for each change; that is worker machinery, so a queue
    worker with this policy runs the manager itself
    (``ecssim.sim.workers.SampleManager``) and asks none of the hooks.
    """


#: The moments a worker consults its policy (the hooks answering an Action).
HOOKS: Final = (
    "on_start",
    "before_claim",
    "after_claim",
    "after_job",
    "after_empty_receive",
    "on_sessions_changed",
    "renewal_due",
)


#: the hooks whose answer a built-in policy works out without looking at the view
_VIEW_FREE: Final = frozenset({"on_start", "after_job", "after_empty_receive"})


def fixed_hooks(policy: ProtectionPolicy) -> frozenset[str]:
    """The hooks of *policy* whose answer never depends on the view, so a worker
    may ask once and keep the answer: a built-in policy's ``on_start``,
    ``after_job`` and ``after_empty_receive`` (unless the instance has one of
    its own); none of any other policy."""
    if type(policy) is not ConfiguredPolicy:
        return frozenset()
    return _VIEW_FREE - vars(policy).keys()


def silent_hooks(policy: ProtectionPolicy) -> frozenset[str]:
    """The hooks of *policy* that always answer None, so a worker need not ask.

    A built-in policy knows which of its hooks its configuration uses; a hook a
    :class:`BasePolicy` subclass inherits unchanged never acts (unless the
    instance has one of its own); any other policy is asked at every moment.
    """
    # a hook set on the instance itself always speaks
    own = vars(policy) if hasattr(policy, "__dict__") else {}
    if type(policy) is ConfiguredPolicy:
        return policy.silent_hooks() - own.keys()
    if isinstance(policy, BasePolicy):
        return frozenset(
            hook
            for hook in HOOKS
            if getattr(type(policy), hook) is getattr(BasePolicy, hook)
            and hook not in own
        )
    return frozenset()
