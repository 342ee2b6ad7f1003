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

from collections.abc import Callable, Generator
from typing import Any, NamedTuple, cast

import numpy as np
import simpy
from botocore.exceptions import ClientError

from ecssim.aws.agent import ECS_CALL_TIMEOUT_S, AgentEndpoint
from ecssim.aws.ecs import EcsClient
from ecssim.aws.state import Task
from ecssim.policies import (
    HOOKS,
    Action,
    BasePolicy,
    ConfiguredPolicy,
    Protect,
    ProtectionPolicy,
    Release,
    WorkerView,
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
#: A worker asks its policy for the renewal interval after each protect.
_ASK_POLICY: Any = object()


class CallResult(NamedTuple):
    """What a worker learns from one protection request (after its retries)."""

    ok: bool
    reason: str | None = None
    expires_at: float | None = None


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
                task, enabled, minutes if enabled else None, self.env.now
            )
            if status == 200:
                if answer is None:
                    return CallResult(
                        True, None, task.protection.expires_at if enabled else None
                    )
                if not config.check_failure_body:
                    # the client only checks the status code: it thinks it worked
                    return CallResult(True, answer, self._believed(enabled, minutes))
                return CallResult(False, answer)
            reason = answer or "ServerException"
        else:
            now = self.env.now
            try:
                self.client.take_protection_token(task, now)
            except ClientError as exc:
                reason = exc.response["Error"]["Code"]
            else:
                failure = self.client.protect_task(task, enabled, minutes, now)
                if failure is None:
                    return CallResult(
                        True, None, task.protection.expires_at if enabled else None
                    )
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
    ) -> None:
        self.env = env
        self.task = task
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
        silent = silent_hooks(policy)
        #: which hooks the worker asks (one that always answers None is skipped)
        self.asks = {hook: hook not in silent for hook in HOOKS}
        #: one attempt after the call latency, without a process of its own,
        #: unless injected faults or a zero latency need the general path
        self._direct_calls = not caller.faults and config.call_latency_s > 0
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
        return self.task.service.name if self.task.service else None

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
        busy = self.busy and not self.sigterm and not self.stopped
        if busy != self.task.counted_busy:
            self.task.counted_busy = busy
            self.load.busy += 1 if busy else -1
            # the outcomes integrate busy time exactly from these events
            self.record(
                "task_busy_changed", service=self.service, task=self.task_id, busy=busy
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
        if action is None or self.stopped:
            return True
        if isinstance(action, Protect):
            enabled, minutes = True, action.expires_in_minutes
        elif isinstance(action, Release):
            if action.hold_s > 0:
                self.releasing = True
                held = self._held = self.env.timeout(action.hold_s)
                held.callbacks.append(self._held_release)
                return True
            enabled, minutes = False, None
        else:
            raise TypeError(
                f"a policy returned {action!r}, not Protect, Release or None"
            )
        self._held = None
        self.releasing = False
        caller, config, task = self.caller, self.config, self.task
        if self._direct_calls:
            # the common case: one attempt after the latency, and the usual
            # retries only if it hit a retryable error
            yield self.env.timeout(config.call_latency_s)
            result = caller.attempt(task, enabled, minutes, config)
            if not isinstance(result, CallResult):
                result = yield from caller.call(
                    task, enabled, minutes, config, first_attempt=1
                )
        else:
            result = yield from caller.call(task, enabled, minutes, config)
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
            timer.callbacks.append(self._renewal_fired)
        if ok:
            self.protected_until_s = result.expires_at
        else:
            self.record(
                "protection_rejected",
                service=self.service,
                task=self.task_id,
                reason=result.reason,
                busy=self.busy,
            )
        return ok

    def act_later(self, action: Action) -> None:
        """Carry out *action* in a process of its own (timers, session changes)."""
        if action is not None and not self.stopped:
            self.env.process(self.act(action))

    def _held_release(self, timer: simpy.Event) -> None:
        if timer is self._held and not self.stopped:
            self.releasing = False
            self.act_later(Release(0.0))

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
        self._sync_busy()

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
        age = None if started is None else self.env.now - started
        return age, job.duration_s

    def start(self) -> None:
        """Run the receive-process-release loop."""
        self._process = self.env.process(self._loop())

    def _loop(self) -> ProcessGenerator:
        """Receive, protect, work, release; until SIGTERM, a kill, or draining."""
        env, policy, queue, asks = self.env, self.policy, self.queue, self.asks
        stop_on_failure = self.config.on_failure == "stop_taking_work"
        try:
            if asks["on_start"]:
                action = policy.on_start(self.view())
                if action is not None:
                    yield from self.act(action)
            while not (self.sigterm or self.draining or self.stopped):
                before = (
                    policy.before_claim(self.view()) if asks["before_claim"] else None
                )
                if before is not None:
                    ok = yield from self.act(before)
                    if not ok and stop_on_failure:
                        self._drain()
                        return
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
                now = self.work_started_s = env.now
                queue.started(job, self.task_id, now)
                if asks["after_claim"]:
                    action = policy.after_claim(self.view())
                    if action is not None:
                        ok = yield from self.act(action)
                        if not ok and stop_on_failure:
                            self.job = None
                            queue.give_back(job)
                            self._drain()
                            return
                now = self.work_started_s = env.now
                self.job_ends_s = now + job.duration_s
                while not self.hung:
                    try:
                        yield env.timeout(self.job_ends_s - env.now)
                        break
                    except simpy.Interrupt as interrupt:
                        if interrupt.cause != "hang":
                            raise
                if self.hung:
                    yield env.event()  # the job never finishes
                self._finish_job(job)
                if asks["after_job"]:
                    action = policy.after_job(self.view())
                    if action is not None:
                        yield from self.act(action)
        except simpy.Interrupt as interrupt:
            self._let_go(str(interrupt.cause))

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
        now = self.env.now
        expires_at = self.task.protection.expires_at
        started = self.work_started_s if self.work_started_s is not None else now
        if expires_at is not None and started < expires_at <= now:
            self.record(
                "protection_expired_while_busy",
                service=self.service,
                task=self.task_id,
                job=job.id,
            )
        self.queue.complete(job, now)
        self.job = None
        self.work_started_s = self.job_ends_s = None

    def _drain(self) -> None:
        self.draining = True
        self.record(
            "worker_stopped_taking_work", service=self.service, task=self.task_id
        )

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
    return ConfiguredPolicy(config) if config.policy != "none" else BasePolicy()
