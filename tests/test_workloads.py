"""Queues and session pools as tables: ``ecssim.sim.workloads``.

Driven through any sequence of arrivals, receives (at once or waited for),
starts, completions, abandons, give-backs, expiries, redeliveries and
dead-letters, the jobs frame built from the queues' columns is the frame built
the plain way from one record per job, whenever it is taken; every message is
accounted for exactly once; and only the jobs still in the system are kept as
objects. The same for game sessions placed on tasks that come and go: the
sessions frame is the one built from one record per session, every session is
accounted for, and only waiting or connected sessions are kept as objects.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import simpy
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ecssim.scenario.schema import QueueWorkload, SessionWorkload
from ecssim.sim.workloads import (
    JOB_COLUMNS,
    JOB_DTYPES,
    SESSION_COLUMNS,
    SESSION_DTYPES,
    Job,
    JobQueue,
    Session,
    SessionHost,
    SessionPool,
    jobs_frame,
    sessions_frame,
)

TASKS = ("task-a", "task-b", "task-c")
#: (service, visibility timeout, max receive count) of each queue driven
QUEUES = (("alpha", 10.0, 1), ("beta", 25.0, 3))
IN_SYSTEM = {"queued", "in_flight", "invisible"}


def queue_config(visibility_timeout_s: float, max_receive_count: int) -> QueueWorkload:
    """A queue workload with these settings (its arrivals are not used here)."""
    return QueueWorkload.model_validate(
        {
            "kind": "queue",
            "arrivals": {"rate": "60/h"},
            "job_duration": {"distribution": "fixed", "value": "1m"},
            "visibility_timeout": f"{visibility_timeout_s:g}s",
            "max_receive_count": max_receive_count,
        }
    )


def reference_frame(queues: list[tuple[str, list[Job]]]) -> pd.DataFrame:
    """The jobs frame as one record per job makes it (how it was once built)."""
    rows = [
        (
            job.id,
            service,
            job.arrival_s,
            job.first_start_s,
            job.end_s,
            job.outcome,
            job.receives,
            job.interruptions,
            job.lost_work_s,
            job.duration_s,
            job.task,
        )
        for service, jobs in queues
        for job in jobs
    ]
    return pd.DataFrame.from_records(rows, columns=list(JOB_COLUMNS)).astype(JOB_DTYPES)


which_queue = st.integers(min_value=0, max_value=len(QUEUES) - 1)
pick = st.integers(min_value=0, max_value=10_000)
worked = st.sampled_from([0.0, 0.5, 3.25, 40.0])


class JobQueueMachine(RuleBasedStateMachine):
    """Two queues driven at random; every Job object is kept here, to build the
    reference frame from."""

    def __init__(self) -> None:
        super().__init__()
        self.env = simpy.Environment()
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.queues = [
            JobQueue(
                self.env,
                service,
                queue_config(visibility_s, max_receives),
                lambda kind, **fields: self.records.append((kind, fields)),
            )
            for service, visibility_s, max_receives in QUEUES
        ]
        self.jobs: list[list[Job]] = [[] for _ in QUEUES]
        self.receivers: list[list[simpy.Event]] = [[] for _ in QUEUES]

    def _in_flight(self, q: int) -> list[Job]:
        return [job for job in self.jobs[q] if job.outcome == "in_flight"]

    def _any_in_flight(self) -> bool:
        return any(self._in_flight(q) for q in range(len(QUEUES)))

    def _held(self, q: int, index: int) -> tuple[JobQueue, Job] | None:
        held = self._in_flight(q)
        return (self.queues[q], held[index % len(held)]) if held else None

    @rule(
        q=which_queue,
        duration_s=st.floats(min_value=0.0, max_value=1e4, allow_nan=False),
    )
    def arrive(self, q: int, duration_s: float) -> None:
        job = self.queues[q].arrive(duration_s)
        self.jobs[q].append(job)
        assert job.id == len(self.jobs[q]) - 1

    @rule(q=which_queue)
    def try_receive(self, q: int) -> None:
        self.queues[q].try_receive()

    @rule(q=which_queue)
    def receive(self, q: int) -> None:
        # a waiting receiver is handed the next arrival
        self.receivers[q].append(self.queues[q].receive())

    @rule(q=which_queue, index=pick)
    def cancel(self, q: int, index: int) -> None:
        waiting = [r for r in self.receivers[q] if not r.triggered]
        if waiting:
            self.queues[q].cancel(waiting[index % len(waiting)])

    @precondition(_any_in_flight)
    @rule(q=which_queue, index=pick, task=st.sampled_from(TASKS))
    def start(self, q: int, index: int, task: str) -> None:
        held = self._held(q, index)
        if held is not None:
            held[0].started(held[1], task, self.env.now)

    @precondition(_any_in_flight)
    @rule(q=which_queue, index=pick)
    def complete(self, q: int, index: int) -> None:
        held = self._held(q, index)
        if held is not None:
            held[0].complete(held[1], self.env.now)

    @precondition(_any_in_flight)
    @rule(q=which_queue, index=pick, worked_s=worked)
    def abandon(self, q: int, index: int, worked_s: float) -> None:
        held = self._held(q, index)
        if held is not None:
            held[0].abandon(held[1], worked_s, "killed")

    @precondition(_any_in_flight)
    @rule(q=which_queue, index=pick)
    def give_back(self, q: int, index: int) -> None:
        held = self._held(q, index)
        if held is not None:
            held[0].give_back(held[1])

    @precondition(_any_in_flight)
    @rule(q=which_queue, index=pick, worked_s=worked)
    def expire(self, q: int, index: int, worked_s: float) -> None:
        held = self._held(q, index)
        if held is not None:
            held[0].expire(held[1], worked_s, "visibility_timeout")

    @rule(dt_s=st.sampled_from([1.0, 9.5, 10.0, 30.0]))
    def advance(self, dt_s: float) -> None:
        # invisible messages come back (or are dead-lettered) on the clock
        self.env.run(until=self.env.now + dt_s)

    @invariant()
    def every_message_is_accounted_for(self) -> None:
        for queue, jobs in zip(self.queues, self.jobs, strict=True):
            queue.check()
            assert len(queue.jobs) == len(jobs)

    @invariant()
    def only_jobs_in_the_system_are_kept_as_objects(self) -> None:
        for queue, jobs in zip(self.queues, self.jobs, strict=True):
            in_system = {job.id: job for job in jobs if job.outcome in IN_SYSTEM}
            assert queue.jobs.live == in_system

    @rule()
    def the_frame_is_the_one_built_from_records(self) -> None:
        # a frame taken mid-run: the jobs in the system as they are now
        expected = reference_frame(
            [(q.service, jobs) for q, jobs in zip(self.queues, self.jobs, strict=True)]
        )
        pd.testing.assert_frame_equal(
            jobs_frame(self.queues), expected, check_exact=True
        )

    def teardown(self) -> None:
        self.the_frame_is_the_one_built_from_records()
        # one queue's frame is made without joining parts
        pd.testing.assert_frame_equal(
            jobs_frame(self.queues[1:]),
            reference_frame([("beta", self.jobs[1])]),
            check_exact=True,
        )


TestJobQueueMachine = JobQueueMachine.TestCase
TestJobQueueMachine.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)


def test_a_queue_with_no_jobs_and_no_queues_give_empty_frames_of_the_types() -> None:
    """No jobs (or no queues) still give every column with its type."""
    queue = JobQueue(simpy.Environment(), "idle", queue_config(30.0, 2), print)
    for frame in (jobs_frame([queue]), jobs_frame([])):
        assert frame.empty
        assert frame.dtypes.astype(str).to_dict() == JOB_DTYPES


#: (service, slots per task, max wait) of each session pool driven
POOLS = (("lobby", 1, 20.0), ("arena", 2, 5.0))
NOT_ENDED = {"waiting", "connected"}


def session_config(slots_per_task: int, max_wait_s: float) -> SessionWorkload:
    """A session workload with these settings (its arrivals are not used here)."""
    return SessionWorkload.model_validate(
        {
            "kind": "sessions",
            "arrivals": {"rate": "60/h"},
            "session_duration": {"distribution": "fixed", "value": "1m"},
            "slots_per_task": slots_per_task,
            "max_wait": f"{max_wait_s:g}s",
        }
    )


class Host(SessionHost):
    """A task that hosts sessions, and nothing else."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.sessions: set[Session] = set()
        self.accepting = True

    def add_session(self, session: Session) -> None:
        """Host *session*."""
        self.sessions.add(session)

    def remove_session(self, session: Session) -> None:
        """*session* ended."""
        self.sessions.discard(session)


def reference_sessions(pools: list[tuple[str, list[Session]]]) -> pd.DataFrame:
    """The sessions frame as one record per session makes it."""
    rows = [
        (
            s.id,
            service,
            s.arrival_s,
            s.start_s,
            s.end_s,
            s.outcome,
            s.duration_s,
            s.task,
        )
        for service, sessions in pools
        for s in sessions
    ]
    return pd.DataFrame.from_records(rows, columns=list(SESSION_COLUMNS)).astype(
        SESSION_DTYPES
    )


which_pool = st.integers(min_value=0, max_value=len(POOLS) - 1)


class SessionPoolMachine(RuleBasedStateMachine):
    """Two pools whose tasks come and go; every Session object is kept here."""

    def __init__(self) -> None:
        super().__init__()
        self.env = simpy.Environment()
        self.pools = [
            SessionPool(
                self.env, service, session_config(slots, wait_s), lambda *_, **__: None
            )
            for service, slots, wait_s in POOLS
        ]
        self.sessions: list[list[Session]] = [[] for _ in POOLS]

    @rule(p=which_pool, duration_s=st.sampled_from([0.0, 3.0, 12.0, 60.0]))
    def arrive(self, p: int, duration_s: float) -> None:
        self.sessions[p].append(self.pools[p].arrive(duration_s))

    @rule(p=which_pool, task=st.sampled_from(TASKS))
    def add_host(self, p: int, task: str) -> None:
        pool = self.pools[p]
        if task not in pool.hosts:
            pool.hosts[task] = Host(task)
            pool.place_waiting()

    @rule(p=which_pool, task=st.sampled_from(TASKS))
    def stop_accepting(self, p: int, task: str) -> None:
        host = self.pools[p].hosts.get(task)
        if host is not None:
            host.accepting = False

    @rule(p=which_pool, task=st.sampled_from(TASKS))
    def lose_host(self, p: int, task: str) -> None:
        pool = self.pools[p]
        host = pool.hosts.pop(task, None)
        if host is not None:
            for session in sorted(host.sessions, key=lambda s: s.id):
                pool.interrupt(session, host)

    @rule(dt_s=st.sampled_from([1.0, 4.0, 20.0]))
    def advance(self, dt_s: float) -> None:
        # sessions end, and waiting ones give up, on the clock
        self.env.run(until=self.env.now + dt_s)

    @invariant()
    def every_session_is_accounted_for(self) -> None:
        for pool, sessions in zip(self.pools, self.sessions, strict=True):
            pool.check()
            assert len(pool.sessions) == len(sessions)

    @invariant()
    def only_sessions_not_ended_are_kept_as_objects(self) -> None:
        for pool, sessions in zip(self.pools, self.sessions, strict=True):
            not_ended = {s.id: s for s in sessions if s.outcome in NOT_ENDED}
            assert pool.sessions.live == not_ended

    @rule()
    def the_frame_is_the_one_built_from_records(self) -> None:
        # a frame taken mid-run: the sessions not yet ended as they are now
        expected = reference_sessions(
            [(p.service, s) for p, s in zip(self.pools, self.sessions, strict=True)]
        )
        pd.testing.assert_frame_equal(
            sessions_frame(self.pools), expected, check_exact=True
        )

    def teardown(self) -> None:
        self.the_frame_is_the_one_built_from_records()
        pd.testing.assert_frame_equal(
            sessions_frame(self.pools[:1]),
            reference_sessions([("lobby", self.sessions[0])]),
            check_exact=True,
        )


TestSessionPoolMachine = SessionPoolMachine.TestCase
TestSessionPoolMachine.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)


def test_no_sessions_and_no_pools_give_empty_frames_of_the_types() -> None:
    """No sessions (or no pools) still give every column with its type."""
    pool = SessionPool(simpy.Environment(), "idle", session_config(1, 5.0), print)
    for frame in (sessions_frame([pool]), sessions_frame([])):
        assert frame.empty
        assert frame.dtypes.astype(str).to_dict() == SESSION_DTYPES
