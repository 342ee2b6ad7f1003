"""Workers: what runs inside each task, and how it calls task protection.

Every RUNNING task of a service with a workload gets a worker. A queue worker
takes one message at a time; a session worker hosts sessions. Both consult their
:class:`~ecssim.policies.ProtectionPolicy` at the documented moments and carry
its actions out through a :class:`ProtectionCaller`, which adds call latency,
retries with back-off, injected API faults, and either the agent endpoint's
semantics (one task per call, HTTP-like answers, 200 with a ``failure`` body,
4 s ECS call timeout) or the ECS API's.

On SIGTERM a worker stops taking work and either finishes what it holds (the
container exits when it is done, or is SIGKILLed at ``stopTimeout``) or abandons
it. Abandoned or killed work returns to the queue after the visibility timeout
and counts as lost work.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from functools import partial
from typing import Any, Final, NamedTuple, cast

import numpy as np
import simpy
from botocore.exceptions import ClientError

from ecssim.aws.agent import ECS_CALL_TIMEOUT_S, AgentEndpoint
from ecssim.aws.ecs import EcsClient
from ecssim.aws.state import Task
from ecssim.policies import (
    HOOKS,
    Action,
    AwsSamplePolicy,
    BasePolicy,
    ConfiguredPolicy,
    Protect,
    ProtectionPolicy,
    Release,
    WorkerView,
    fixed_hooks,
    silent_hooks,
)
from ecssim.scenario.schema import (
    ProtectionApiErrors,
    ProtectionPolicyConfig,
    WorkerConfig,
)
from ecssim.sim.workloads import Job, JobQueue, Session, SessionHost, SessionPool

ProcessGenerator = Generator[simpy.Event, Any, Any]

RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "ServerException",
        "RequestTimeout",
        "RequestCanceled",
        "TooManyRequests",
    }
)
BACKOFF_BASE_S = 0.1
#: A worker asks its policy each time (for the renewal interval after each
#: protect, for a hook's answer), rather than keeping an answer it was given.
_ASK_POLICY: Any = object()


class CallResult(NamedTuple):
    """What a worker learns from one protection request (after its retries)."""

    ok: bool
    reason: str | None = None
    expires_at: float | None = None


#: a release that went through (one result serves every such call)
_RELEASED: Final = CallResult(True)
#: the release a held release makes when its hold ends
_RELEASE_NOW: Final = Release(0.0)


#: makes a named tuple from a tuple of its fields, as tuple does
_new_tuple: Final = tuple.__new__


def _went_through(task: Task, enabled: bool) -> CallResult:
    """The result of a protect or release of *task* that went through."""
    if not enabled:
        return _RELEASED
    # made as the tuple it is: a named tuple's own __new__ is a Python call
    return _new_tuple(CallResult, (True, None, task.protection.expires_at))


class ProtectionCaller:
    """Makes protection calls for workers, with latency, retries and faults."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        client: EcsClient,
        agent: AgentEndpoint,
        rng: np.random.Generator,
        faults: tuple[ProtectionApiErrors, ...],
        record: Callable[..., None],
    ) -> None:
        self.env = env
        self.client = client
        self.agent = agent
        self.rng = rng
        self.faults = faults
        self.record = record

    def injected(self) -> str | None:
        """The error code an injected ``protection_api_errors`` fault gives the
        call being made now, if any (drawn from the faults' own stream)."""
        return self._injected() if self.faults else None

    def _injected(self) -> str | None:
        now = self.env.now
        for fault in self.faults:
            active = fault.from_s <= now and (
                fault.until_s is None or now < fault.until_s
            )
            if active and self.rng.random() < fault.probability:
                return fault.code
        return None

    def call(
        self,
        task: Task,
        enabled: bool,
        minutes: int | None,
        config: ProtectionPolicyConfig,
        first_attempt: int = 0,
    ) -> ProcessGenerator:
        """Set or clear *task*'s protection; returns a :class:`CallResult`.

        Each attempt takes the call latency; a retryable error (throttling,
        server error, timeout) is tried again after an exponential back-off,
        up to ``max_attempts`` (counting from *first_attempt*, when earlier
        attempts were made by the caller).
        """
        env = self.env
        latency = config.call_latency_s
        outcome: CallResult | str = "ServerException"
        for attempt in range(first_attempt, config.max_attempts):
            if attempt:
                yield env.timeout(BACKOFF_BASE_S * 2 ** (attempt - 1))
            if latency > 0:
                yield env.timeout(latency)
            injected = self._injected() if self.faults else None
            if injected is not None:
                outcome = self._injected_error(task, injected, config)
                if injected == "RequestTimeout":
                    yield env.timeout(ECS_CALL_TIMEOUT_S)
                continue
            outcome = self.attempt(task, enabled, minutes, config)
            if isinstance(outcome, CallResult):
                return outcome
        return CallResult(
            False, outcome if isinstance(outcome, str) else outcome.reason
        )

    def attempt(
        self,
        task: Task,
        enabled: bool,
        minutes: int | None,
        config: ProtectionPolicyConfig,
    ) -> CallResult | str:
        """One attempt, now: its result, or the code of a retryable error."""
        if config.via == "agent":
            status, answer = self.agent.update(
                task, enabled, minutes if enabled else None, self.env._now
            )
            if status == 200:
                if answer is None:
                    return _went_through(task, enabled)
                if not config.check_failure_body:
                    # the client only checks the status code: it thinks it worked
                    return CallResult(True, answer, self._believed(enabled, minutes))
                return CallResult(False, answer)
            reason = answer or "ServerException"
        else:
            now = self.env._now
            try:
                self.client.take_protection_token(task, now)
            except ClientError as exc:
                reason = exc.response["Error"]["Code"]
            else:
                failure = self.client.protect_task(task, enabled, minutes, now)
                if failure is None:
                    return _went_through(task, enabled)
                return CallResult(False, failure)
        return reason if reason in RETRYABLE else CallResult(False, reason)

    def _injected_error(
        self, task: Task, injected: str, config: ProtectionPolicyConfig
    ) -> str:
        reason = (
            "RequestCanceled"
            if injected == "RequestTimeout" and config.via == "agent"
            else injected
        )
        self.record(
            "protection_call_error",
            service=task.service.name if task.service else None,
            task=task.task_id,
            code=reason,
            injected=True,
        )
        return reason

    def _believed(self, enabled: bool, minutes: int | None) -> float | None:
        if not enabled:
            return None
        return self.env.now + 60.0 * (minutes if minutes is not None else 120)


class ServiceLoad:
    """How many workers of a service's RUNNING tasks are busy (kept by the workers)."""

    __slots__ = ("busy",)

    def __init__(self) -> None:
        self.busy = 0


class Worker:
    """The part of a worker that talks to protection: shared by every kind."""

    def __init__(
        self,
        env: simpy.Environment,
        task: Task,
        *,
        policy: ProtectionPolicy,
        config: ProtectionPolicyConfig,
        caller: ProtectionCaller,
        worker_config: WorkerConfig,
        record: Callable[..., None],
        load: ServiceLoad | None = None,
        exit_container: Callable[[Task, int], None] | None = None,
    ) -> None:
        self.env = env
        self.task = task
        #: the name of the task's service (None for a standalone task)
        self.service_name = task.service.name if task.service is not None else None
        #: ends the essential container by itself (the process exited)
        self.exit_container = exit_container
        self.load = load if load is not None else ServiceLoad()
        self.task_id = task.task_id
        self.policy = policy
        self.config = config
        self.caller = caller
        self.worker_config = worker_config
        self.record = record
        self.protected_until_s: float | None = None
        self.releasing = False
        self.sigterm = False
        self.stopped = False
        self.draining = False
        self.hung = False
        self.renewing_when_hung = True
        # the pending renewal and held-release timers; a timer that fires while
        # no longer the pending one was superseded and does nothing
        self._renewal: simpy.Event | None = None
        self._held: simpy.Event | None = None
        self._on_renewal_timer = self._renewal_fired
        self._on_held_timer = self._held_release
        #: what ends a release made by act_later (one for every such release)
        self._on_release_returned = partial(self._call_returned, False, None)
        silent = silent_hooks(policy)
        #: which hooks the worker asks (one that always answers None is skipped)
        self.asks = {hook: hook not in silent for hook in HOOKS}
        #: one attempt after the call latency, without a process of its own,
        #: unless injected faults or a zero latency need the general path
        self._direct_calls = not caller.faults and config.call_latency_s > 0
        self._latency_s = config.call_latency_s
        #: a built-in policy's renewal interval is fixed; others are asked each time
        fixed = type(policy) in (ConfiguredPolicy, BasePolicy) and (
            "renewal_interval_s" not in vars(policy)
        )
        self._renewal_interval_s: Any = (
            policy.renewal_interval_s() if fixed else _ASK_POLICY
        )

    @property
    def service(self) -> str | None:
        """The name of the worker's service."""
        return self.service_name

    @property
    def busy(self) -> bool:
        """Whether the worker holds work."""
        return False

    @property
    def session_count(self) -> int:
        """Sessions connected to this worker."""
        return 0

    def _sync_busy(self) -> None:
        """Keep the service's busy count: busy workers of tasks still RUNNING."""
        self._holding_changed(self.busy)

    def _holding_changed(self, holding: bool) -> None:
        """:meth:`_sync_busy`, told whether the worker holds work (*holding*)."""
        busy = holding and not self.sigterm and not self.stopped
        task = self.task
        if busy != task.counted_busy:
            task.counted_busy = busy
            self.load.busy += 1 if busy else -1
            service = task.service
            if service is not None:
                service.protected_count.busy_changed(task)
            # the outcomes integrate busy time exactly from these events
            self.record(
                "task_busy_changed",
                service=self.service_name,
                task=self.task_id,
                busy=busy,
            )

    def view(self) -> WorkerView:
        """What the policy sees now."""
        return WorkerView(
            self.env.now,
            self.busy,
            self.session_count,
            self.protected_until_s,
            self.releasing,
            *self.job_facts(),
        )

    def job_facts(self) -> tuple[float | None, float | None]:
        """The current job's age and size in seconds (None, None without one)."""
        return None, None

    def act(self, action: Action) -> ProcessGenerator:
        """Carry out *action*; returns False when a protect request failed.

        A held release only starts its timer; a protect or release is one call
        (after the call latency), with retries of retryable errors.
        """
        call = self._begin(action)
        if call is None:
            return True
        return (yield from self._call(*call))

    def _begin(self, action: Action) -> tuple[bool, int | None] | None:
        """What of *action* can be done now, done: the call it needs
        ``(enabled, minutes)``, or None when there is none (nothing to do, a
        stopped worker, or a held release, whose timer is started)."""
        if action is None or self.stopped:
            return None
        if isinstance(action, Protect):
            call = (True, action.expires_in_minutes)
        elif isinstance(action, Release):
            if action.hold_s > 0:
                self.releasing = True
                held = self._held = self.env.timeout(action.hold_s)
                held.callbacks.append(self._on_held_timer)
                return None
            call = (False, None)
        else:
            raise TypeError(
                f"a policy returned {action!r}, not Protect, Release or None"
            )
        self._held = None
        self.releasing = False
        return call

    def _call(self, enabled: bool, minutes: int | None) -> ProcessGenerator:
        """Make the call :meth:`_begin` asked for; returns False when a protect
        request failed."""
        caller, config, task = self.caller, self.config, self.task
        if self._direct_calls:
            # the common case: one attempt after the latency, and the usual
            # retries only if it hit a retryable error
            yield self.env.timeout(self._latency_s)
            result = caller.attempt(task, enabled, minutes, config)
            if not isinstance(result, CallResult):
                result = yield from caller.call(
                    task, enabled, minutes, config, first_attempt=1
                )
        else:
            result = yield from caller.call(task, enabled, minutes, config)
        return self._called(enabled, result)

    def _called(self, enabled: bool, result: CallResult) -> bool:
        """Take in the result of a protect (or release) call; False if it failed."""
        ok = result.ok
        if not enabled:
            if ok:
                self.protected_until_s = None
                self._renewal = None
            return ok
        # renewal timer either way: a failed protect is tried again at the next
        # renewal if the policy still wants protection then
        interval = self._renewal_interval_s
        if interval is _ASK_POLICY:
            interval = self.policy.renewal_interval_s()
        if interval is not None:
            timer = self._renewal = self.env.timeout(interval if interval > 0 else 0.0)
            timer.callbacks.append(self._on_renewal_timer)
        if ok:
            self.protected_until_s = result.expires_at
        else:
            self.refused(result.reason)
        return ok

    def refused(self, reason: str | None) -> None:
        """A protect the worker knows failed: record it, and with
        ``on_failure: stop_taking_work`` take no more work and exit once the work
        in hand is done (as AWS's sample does)."""
        self.record(
            "protection_rejected",
            service=self.service,
            task=self.task_id,
            reason=reason,
            busy=self.busy,
        )
        if self.config.on_failure == "stop_taking_work" and not self.draining:
            self._drain()

    def _drain(self) -> None:
        """Take no more work; the kinds exit once the work in hand is done."""
        self.draining = True
        self.record(
            "worker_stopped_taking_work", service=self.service, task=self.task_id
        )

    def _exit(self) -> ProcessGenerator:
        """The process exits by itself after its shutdown time: the essential
        container exits, ECS stops the task and the scheduler replaces it."""
        yield self.env.timeout(self.worker_config.shutdown_s)
        if self.sigterm or self.stopped or self.exit_container is None:
            return
        self.record("worker_exited", service=self.service, task=self.task_id)
        self.exit_container(self.task, 0)

    def act_later(self, action: Action) -> None:
        """Carry out *action* without waiting for it (timers, session changes).

        The common case (one attempt after the call latency) is a bare timeout
        with a callback; a call that needs retries, faults or no latency runs
        as a process of its own.
        """
        if action is None or self.stopped:
            return
        protect = type(action) is Protect
        if self._direct_calls and (
            protect or (type(action) is Release and not action.hold_s > 0)
        ):
            returned = (
                partial(self._call_returned, True, action.expires_in_minutes)
                if isinstance(action, Protect)
                else self._on_release_returned
            )
            self._held = None
            self.releasing = False
            call = self.env.timeout(self._latency_s)
            call.callbacks.append(returned)
            return
        self.env.process(self.act(action))

    def _call_returned(
        self, enabled: bool, minutes: int | None, call: simpy.Event
    ) -> None:
        """The latency of a call made by :meth:`act_later` has passed: attempt it
        (as :meth:`act` would, whatever happened to the worker meanwhile)."""
        result = self.caller.attempt(self.task, enabled, minutes, self.config)
        if isinstance(result, CallResult):
            self._called(enabled, result)
            return
        self.env.process(self._retry(enabled, minutes))

    def _retry(self, enabled: bool, minutes: int | None) -> ProcessGenerator:
        """A call of :meth:`act_later` hit a retryable error: the usual retries."""
        result = yield from self.caller.call(
            self.task, enabled, minutes, self.config, first_attempt=1
        )
        self._called(enabled, result)

    def _held_release(self, timer: simpy.Event) -> None:
        if timer is self._held and not self.stopped:
            self.releasing = False
            self.act_later(_RELEASE_NOW)

    def _renewal_fired(self, timer: simpy.Event) -> None:
        if timer is not self._renewal or self.stopped:
            return
        if self.hung and not self.renewing_when_hung:
            return
        if self.asks["renewal_due"]:
            self.act_later(self.policy.renewal_due(self.view()))

    # ---- lifecycle hooks (overridden by the kinds) ---------------------------------
    def start(self) -> None:
        """The task is RUNNING: begin."""
        if self.asks["on_start"]:
            self.act_later(self.policy.on_start(self.view()))

    def on_sigterm(self) -> float | None:
        """SIGTERM: seconds until the container exits (None: never by itself)."""
        self.sigterm = True
        self._sync_busy()
        return self.worker_config.shutdown_s

    def on_stopped(self) -> None:
        """The containers exited: stop everything."""
        self.stopped = True
        self._sync_busy()
        self._renewal = self._held = None

    def hang(self, still_renewing: bool) -> None:
        """The worker hangs: work it holds (or takes next) never finishes."""
        self.hung = True
        self.renewing_when_hung = still_renewing
        self.record(
            "worker_hung",
            service=self.service,
            task=self.task_id,
            still_renewing=still_renewing,
        )


class SampleManager:
    """AWS's sample ``ProtectionManager`` (queue-consumer/lib/protection-manager.js),
    call for call, for one worker.

    It keeps a desired and a current state and the time of the last change.
    ``acquire`` and ``release`` set the desired state, try to reach it at once
    and make the worker wait until it is reached; a timer every ``check_every``
    (from the worker's start) tries again: it renews a protection older than
    ``renew_at_fraction`` of the duration, and carries out a release that was
    put off because less than ``maintain_fraction`` of the duration had passed
    since the last change. A call the client sees fail (with
    ``check_failure_body: false``, as in the sample, a 200 with a ``failure``
    body is a success) leaves the state as it was, is tried again at the next
    tick, and makes the worker refuse further work.

    The timer is event-driven: only the ticks at which the manager would act
    are scheduled. One call is in flight at a time.
    """

    def __init__(self, worker: Worker) -> None:
        config = worker.config
        self.worker = worker
        self.env = worker.env
        self.minutes = int(config.expires_in_s // 60)
        self.refresh_s = config.renewal_interval_s or 0.8 * config.expires_in_s
        self.maintain_s = config.maintain_fraction * config.expires_in_s
        self.check_s = config.check_every_s
        self.started_s = self.env.now
        self.desired = False
        self.current = False
        self.last_change_s = self.env.now
        self._busy = False
        self._tick: simpy.Event | None = None
        self._reached: simpy.Event | None = None

    def acquire(self) -> ProcessGenerator:
        """Want protection and wait until it is had; False if it was refused and
        the worker stops taking work."""
        self.desired = True
        yield from self._adjust()
        while not self.current:
            if self.worker.draining or self.worker.stopped:
                return False
            reached = self._reached = self.env.event()
            yield reached
        return True

    def release(self) -> ProcessGenerator:
        """Want no protection and wait until it is released."""
        self.desired = False
        yield from self._adjust()
        while self.current and not self.worker.stopped:
            reached = self._reached = self.env.event()
            yield reached

    def _adjust(self) -> ProcessGenerator:
        """One ``attemptAdjustProtection``: a call if the state needs one now."""
        worker = self.worker
        if self._busy or worker.stopped:
            return
        since = self.env.now - self.last_change_s
        if self.current == self.desired and (
            not self.current or since < self.refresh_s
        ):
            self._settled()
            return
        if self.current and not self.desired and since < self.maintain_s:
            self._schedule(self.last_change_s + self.maintain_s)
            return
        enabled = self.desired
        self._busy = True
        result = yield from worker.caller.call(
            worker.task, enabled, self.minutes if enabled else None, worker.config
        )
        self._busy = False
        if worker.stopped:
            return
        if result.ok:
            self.last_change_s = self.env.now
            self.current = enabled
            worker.protected_until_s = result.expires_at
        elif enabled:
            worker.refused(result.reason)
        self._settled(retry=not result.ok)

    def _settled(self, retry: bool = False) -> None:
        """Wake a waiting worker if the state is reached; plan the next tick."""
        if self.current == self.desired and self._reached is not None:
            reached, self._reached = self._reached, None
            reached.succeed()
        elif self.worker.draining and self._reached is not None and self.desired:
            reached, self._reached = self._reached, None
            reached.succeed()  # refused: the worker gives up waiting
        if retry or self.current != self.desired:
            self._schedule(self.env.now)
        elif self.current:
            self._schedule(self.last_change_s + self.refresh_s)
        else:
            self._tick = None

    def _schedule(self, not_before_s: float) -> None:
        """The first tick of the timer at or after *not_before_s* (after now)."""
        now, check, start = self.env.now, self.check_s, self.started_s
        ticks = max(1, math.ceil((max(not_before_s, now) - start) / check - 1e-9))
        at = start + ticks * check
        if at <= now:
            at = start + (math.floor((now - start) / check) + 1) * check
        tick = self._tick = self.env.timeout(at - now)
        tick.callbacks.append(self._ticked)

    def _ticked(self, tick: simpy.Event) -> None:
        worker = self.worker
        if tick is not self._tick or worker.stopped:
            return
        self._tick = None
        if worker.hung and not worker.renewing_when_hung:
            return
        self.env.process(self._adjust())


class QueueWorker(Worker):
    """Takes one message at a time from its service's queue."""

    def __init__(
        self, *args: Any, queue: JobQueue, receive_wait_s: float, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.queue = queue
        self.receive_wait_s = receive_wait_s
        self._job: Job | None = None
        self.work_started_s: float | None = None
        self.job_ends_s: float | None = None
        self._receiver: simpy.Event | None = None
        self._process: simpy.Process | None = None

    @property
    def job(self) -> Job | None:
        """The message the worker holds."""
        return self._job

    @job.setter
    def job(self, job: Job | None) -> None:
        self._job = job
        self._holding_changed(job is not None)

    @property
    def busy(self) -> bool:
        """Holding a message."""
        return self._job is not None

    def job_facts(self) -> tuple[float | None, float | None]:
        """How long this worker has had its message, and the work it needs."""
        job = self._job
        if job is None:
            return None, None
        started = self.work_started_s
        age = None if started is None else self.env._now - started
        return age, job.duration_s

    def view(self) -> WorkerView:
        """What the policy sees now (:meth:`Worker.view`, made at once: a view
        is made for every job)."""
        now = self.env._now
        job = self._job
        if job is None:
            age = size = None
        else:
            started = self.work_started_s
            age = None if started is None else now - started
            size = job.duration_s
        return _new_tuple(
            WorkerView,
            (
                now,
                job is not None,
                0,
                self.protected_until_s,
                self.releasing,
                age,
                size,
            ),
        )

    def start(self) -> None:
        """Run the receive-process-release loop (AWS's sample's, for its policy)."""
        if isinstance(self.policy, AwsSamplePolicy):
            self._process = self.env.process(self._sample_loop())
        else:
            self._process = self.env.process(self._loop())

    def refused(self, reason: str | None) -> None:
        """As :meth:`Worker.refused`; an idle draining worker exits at once."""
        super().refused(reason)
        if self.draining and self.job is None:
            self._interrupt("drain")

    def _loop(self) -> ProcessGenerator:
        """Receive, protect, work, release; until SIGTERM, a kill, or draining."""
        env, policy, queue, asks = self.env, self.policy, self.queue, self.asks
        stop_on_failure = self.config.on_failure == "stop_taking_work"
        ask_before, ask_after = asks["before_claim"], asks["after_claim"]
        ask_after_job = asks["after_job"]
        begin, call = self._begin, self._call
        # an answer that never depends on the view is asked for once
        after_job = (
            policy.after_job(self.view())
            if ask_after_job and "after_job" in fixed_hooks(policy)
            else _ASK_POLICY
        )
        try:
            if asks["on_start"]:
                action = policy.on_start(self.view())
                if action is not None:
                    yield from self.act(action)
            while not (self.sigterm or self.draining or self.stopped):
                before = policy.before_claim(self.view()) if ask_before else None
                if before is not None:
                    ok = yield from self.act(before)
                    if not ok and stop_on_failure:
                        break
                job = queue.try_receive()
                if job is None:
                    receiver = self._receiver = queue.receive()
                    if isinstance(before, Protect):
                        job = yield from self._long_poll(receiver)
                        if job is None:
                            continue
                    else:  # wait until a message comes (inline: once per job)
                        job = yield receiver
                        self._receiver = None
                self.job = job
                now = self.work_started_s = env._now
                queue.started(job, self.task_id, now)
                if ask_after:
                    # act, inlined: a held release or no call needs no generator
                    needed = begin(policy.after_claim(self.view()))
                    if needed is not None:
                        ok = yield from call(*needed)
                        if not ok and stop_on_failure:
                            self.job = None
                            queue.give_back(job)
                            break
                yield from self._work(job)
                if ask_after_job:
                    needed = begin(
                        after_job
                        if after_job is not _ASK_POLICY
                        else policy.after_job(self.view())
                    )
                    if needed is not None:
                        yield from call(*needed)
        except simpy.Interrupt as interrupt:
            self._let_go(str(interrupt.cause))
            if interrupt.cause != "drain":
                return
        if self.draining:
            yield from self._exit()

    def _sample_loop(self) -> ProcessGenerator:
        """AWS's sample queue consumer: acquire protection, long-poll for one
        message, process it, release protection, and again; it exits after the
        loop in which its protection was refused (or SIGTERM came)."""
        env, queue = self.env, self.queue
        manager = self.manager = SampleManager(self)
        try:
            while not (self.sigterm or self.draining or self.stopped):
                acquired = yield from manager.acquire()
                if not acquired:
                    break
                job = queue.try_receive()
                if job is None:
                    receiver = self._receiver = queue.receive()
                    yield receiver | env.timeout(self.receive_wait_s)
                    self._receiver = None
                    if receiver.triggered:
                        job = cast(Job, receiver.value)
                    else:
                        queue.cancel(receiver)
                if job is not None:
                    self.job = job
                    queue.started(job, self.task_id, env.now)
                    yield from self._work(job)
                yield from manager.release()
        except simpy.Interrupt as interrupt:
            self._let_go(str(interrupt.cause))
            if interrupt.cause != "drain":
                return
        if self.draining:
            yield from self._exit()

    def _work(self, job: Job) -> ProcessGenerator:
        """Work on *job* from now until it is done (never, once the worker hangs),
        then finish it."""
        env = self.env
        now = self.work_started_s = env._now
        self.job_ends_s = now + job.duration_s
        while not self.hung:
            try:
                yield env.timeout(self.job_ends_s - env._now)
                break
            except simpy.Interrupt as interrupt:
                if interrupt.cause != "hang":
                    raise
        if self.hung:
            yield env.event()  # the job never finishes
        self._finish_job(job)

    def _long_poll(self, receiver: simpy.Event) -> ProcessGenerator:
        """Wait on *receiver* for at most the receive wait (after a protect).

        Returns the message, or None when the long poll came back empty.
        """
        yield receiver | self.env.timeout(self.receive_wait_s)
        if not receiver.triggered:
            self.queue.cancel(receiver)
            self._receiver = None
            if self.asks["after_empty_receive"]:
                action = self.policy.after_empty_receive(self.view())
                if action is not None:
                    yield from self.act(action)
            return None
        self._receiver = None
        return cast(Job, receiver.value)

    def _finish_job(self, job: Job) -> None:
        now = self.env._now
        expires_at = self.task.protection.expires_at
        started = self.work_started_s if self.work_started_s is not None else now
        if expires_at is not None and started < expires_at <= now:
            self.record(
                "protection_expired_while_busy",
                service=self.service_name,
                task=self.task_id,
                job=job.id,
            )
        self.queue.complete(job, now)
        self.job = None
        self.work_started_s = self.job_ends_s = None

    def _let_go(self, reason: str) -> None:
        """Give up whatever the worker holds (SIGTERM abandon, or killed)."""
        if self._receiver is not None:
            receiver = self._receiver
            self._receiver = None
            if receiver.triggered:
                # a message arrived in the same instant: it was received, so return it
                self.queue.give_back(cast(Job, receiver.value))
            else:
                self.queue.cancel(receiver)
        if self.job is not None:
            job, self.job = self.job, None
            started = (
                self.work_started_s if self.work_started_s is not None else self.env.now
            )
            self.queue.abandon(job, self.env.now - started, reason)
            self.work_started_s = self.job_ends_s = None

    def on_sigterm(self) -> float | None:
        """Finish the job in hand (or abandon it, as configured), then exit."""
        super().on_sigterm()
        shutdown = self.worker_config.shutdown_s
        if self.job is None or self.worker_config.on_sigterm == "abandon":
            self._interrupt("sigterm")
            return shutdown
        if self.hung:
            return None
        ends = self.job_ends_s
        if ends is None:
            ends = self.env.now + self.job.duration_s + self.config.call_latency_s
        return max(0.0, ends - self.env.now) + shutdown

    def on_stopped(self) -> None:
        """Killed or exited: whatever is still held is lost."""
        super().on_stopped()
        self._interrupt("killed")

    def _interrupt(self, cause: str) -> None:
        process = self._process
        if (
            process is not None
            and process.is_alive
            and process is not self.env.active_process
        ):
            process.interrupt(cause)

    def hang(self, still_renewing: bool) -> None:
        """Hang now if busy (the job never ends), or on the next job."""
        super().hang(still_renewing)
        if self.job is not None and self.job_ends_s is not None:
            # replace the running job timer with a wait that never ends
            self._interrupt("hang")


class SessionWorker(Worker, SessionHost):
    """Hosts game sessions; busy while any is connected."""

    def __init__(self, *args: Any, pool: SessionPool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool
        self.sessions: set[Session] = set()
        self.accepting = True

    @property
    def busy(self) -> bool:
        """At least one session connected."""
        return bool(self.sessions)

    @property
    def session_count(self) -> int:
        """Sessions connected."""
        return len(self.sessions)

    def start(self) -> None:
        """Join the pool and take waiting sessions."""
        super().start()
        self.pool.hosts[self.task_id] = self
        self.pool.place_waiting()

    def add_session(self, session: Session) -> None:
        """A session connected."""
        self.sessions.add(session)
        self._sync_busy()
        if len(self.sessions) == 1 and self.asks["on_sessions_changed"]:
            self.act_later(self.policy.on_sessions_changed(self.view()))

    def remove_session(self, session: Session) -> None:
        """A session left."""
        self.sessions.discard(session)
        self._sync_busy()
        if not self.sessions and not self.stopped and self.asks["on_sessions_changed"]:
            self.act_later(self.policy.on_sessions_changed(self.view()))

    def on_sigterm(self) -> float | None:
        """Stop taking sessions; wait for connected ones to end, or drop them."""
        super().on_sigterm()
        self.accepting = False
        shutdown = self.worker_config.shutdown_s
        if not self.sessions:
            return shutdown
        if self.worker_config.on_sigterm == "abandon":
            self._drop_all()
            return shutdown
        if self.hung:
            return None
        last_end = max((s.start_s or 0.0) + s.duration_s for s in self.sessions)
        return max(0.0, last_end - self.env.now) + shutdown

    def on_stopped(self) -> None:
        """Killed or exited: connected sessions are interrupted."""
        super().on_stopped()
        self.accepting = False
        self._drop_all()
        self.pool.hosts.pop(self.task_id, None)

    def _drop_all(self) -> None:
        for session in sorted(self.sessions, key=lambda s: s.id):
            self.pool.interrupt(session, self)


class Workers:
    """Creates a worker in each RUNNING task and routes task hooks to it.

    Implements :class:`ecssim.sim.tasks.TaskHooks`.
    """

    def __init__(self, env: simpy.Environment, default_sigterm_s: float | None) -> None:
        self.env = env
        self.default_sigterm_s = default_sigterm_s
        self.factories: dict[str, Callable[[Task], Worker]] = {}
        self.by_task: dict[str, Worker] = {}
        self.loads: dict[str, ServiceLoad] = {}

    def load(self, service: str) -> ServiceLoad:
        """The busy count of *service*'s workers."""
        return self.loads.setdefault(service, ServiceLoad())

    def factory_key(self, task: Task) -> str:
        """Which factory makes *task*'s worker: its service, or its group."""
        return task.service.name if task.service is not None else task.group

    def task_running(self, task: Task) -> None:
        """Start the worker of *task*, if its service has one."""
        factory = self.factories.get(self.factory_key(task))
        if factory is None:
            return
        worker = factory(task)
        self.by_task[task.task_id] = worker
        worker.start()

    def task_sigterm(self, task: Task) -> float | None:
        """Ask the worker how long it needs to exit."""
        worker = self.by_task.get(task.task_id)
        if worker is None:
            return self.default_sigterm_s
        return worker.on_sigterm()

    def task_stopped(self, task: Task) -> None:
        """The containers exited: the worker is gone."""
        worker = self.by_task.pop(task.task_id, None)
        if worker is not None:
            worker.on_stopped()


def policy_for(
    config: ProtectionPolicyConfig, custom: ProtectionPolicy | None = None
) -> ProtectionPolicy:
    """The policy a worker follows: *custom* if given, else the configured one."""
    if custom is not None:
        return custom
    if config.policy == "aws_sample":
        return AwsSamplePolicy()
    return ConfiguredPolicy(config) if config.policy != "none" else BasePolicy()
