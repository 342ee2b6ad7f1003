"""Work that flows through services: an SQS-like job queue and game sessions.

:class:`JobQueue` keeps SQS's semantics that matter here: a received message is
invisible while a worker holds it; a message whose worker died comes back after
the visibility timeout (workers are assumed to extend visibility while they
work, so the clock starts when the work is abandoned); after
``max_receive_count`` receives it goes to the dead-letter queue. Receivers wait
on an event, never poll.

:class:`SessionPool` places game sessions on the fullest task that still has a
free slot, queues them when every slot is taken, and drops one that waited
longer than ``max_wait``.
"""

from __future__ import annotations

import contextlib
from array import array
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
import simpy

from ecssim.rules.invariants import check_conservation
from ecssim.scenario.schema import (
    Arrivals,
    Distribution,
    QueueWorkload,
    SessionWorkload,
)
from ecssim.sim.timers import after
from ecssim.workload import RateFunction, durations, poisson_arrivals, read_trace

ProcessGenerator = Generator[simpy.Event, Any, None]

#: The column types of the jobs frame (fixed, so empty frames keep them too).
JOB_DTYPES: Final = {
    "job": "int64",
    "service": "string",
    "arrival_s": "float64",
    "first_start_s": "float64",
    "end_s": "float64",
    "outcome": "string",
    "receives": "int64",
    "interruptions": "int64",
    "lost_work_s": "float64",
    "duration_s": "float64",
    "task": "string",
}
#: The column types of the sessions frame.
SESSION_DTYPES: Final = {
    "session": "int64",
    "service": "string",
    "arrival_s": "float64",
    "start_s": "float64",
    "end_s": "float64",
    "outcome": "string",
    "duration_s": "float64",
    "task": "string",
}
JOB_COLUMNS: Final = tuple(JOB_DTYPES)
SESSION_COLUMNS: Final = tuple(SESSION_DTYPES)


def jobs_frame(queues: Iterable[JobQueue]) -> pd.DataFrame:
    """One row per job of *queues*, with the columns and types of JOB_DTYPES."""
    parts = [queue.jobs.frame(queue.service) for queue in queues]
    if len(parts) <= 1:
        return parts[0] if parts else JobTable().frame("")
    # a column at a time, each taken out of the parts: never two whole copies
    return pd.DataFrame(
        {
            name: pd.concat([part.pop(name) for part in parts], ignore_index=True)
            for name in JOB_COLUMNS
        },
        copy=False,
    )


def sessions_frame(pools: Iterable[SessionPool]) -> pd.DataFrame:
    """One row per session of *pools*, with the columns and types of SESSION_DTYPES."""
    rows = [
        (
            s.id,
            pool.service,
            s.arrival_s,
            s.start_s,
            s.end_s,
            s.outcome,
            s.duration_s,
            s.task,
        )
        for pool in pools
        for s in pool.sessions
    ]
    return pd.DataFrame.from_records(rows, columns=list(SESSION_COLUMNS)).astype(
        SESSION_DTYPES
    )


@dataclass(eq=False, slots=True)
class Job:
    """One message of the queue and what happened to it."""

    id: int
    arrival_s: float
    duration_s: float
    receives: int = 0
    interruptions: int = 0
    lost_work_s: float = 0.0
    first_start_s: float | None = None
    end_s: float | None = None
    #: queued | in_flight | invisible | completed | dead_lettered
    outcome: str = "queued"
    task: str | None = None
    attempt_start_s: float | None = None


#: a job's outcome as a code in :class:`JobTable` (its index here)
JOB_OUTCOMES: Final = ("queued", "in_flight", "invisible", "completed", "dead_lettered")
_OUTCOME_CODES: Final = {outcome: code for code, outcome in enumerate(JOB_OUTCOMES)}
#: rows added at once to the columns written when a job finishes
_TABLE_BLOCK: Final = 4096
_NAN: Final = float("nan")


class JobTable:
    """What happened to each job of one queue, as typed columns indexed by job id.

    A month's run has over a million jobs: as objects they would take several
    times the memory of these columns. Arrival and duration are appended when a
    job arrives; the rest is written when it finishes (completed or
    dead-lettered). Until then the job is a :class:`Job` object, kept in
    :attr:`live`, and the frame reads it from there.
    """

    def __init__(self) -> None:
        self.arrival_s = array("d")
        self.duration_s = array("d")
        # written when the job finishes; grown a block at a time, so that a
        # finishing job (in any order) has its row already
        self.first_start_s = array("d")
        self.end_s = array("d")
        self.lost_work_s = array("d")
        self.receives = array("i")
        self.interruptions = array("i")
        #: an index into JOB_OUTCOMES
        self.outcome = array("b")
        #: an index into :attr:`task_ids`, -1 for none
        self.task = array("i")
        #: each task id once, in the order first met (the strings shared)
        self.task_ids: list[str] = []
        self._task_codes: dict[str, int] = {}
        #: the jobs still in the system (queued, in flight, invisible), by id
        self.live: dict[int, Job] = {}

    def __len__(self) -> int:
        """How many jobs arrived."""
        return len(self.arrival_s)

    def arrive(self, arrival_s: float, duration_s: float) -> Job:
        """A new job, the next id, in the system from now on."""
        job_id = len(self.arrival_s)
        self.arrival_s.append(arrival_s)
        self.duration_s.append(duration_s)
        if job_id == len(self.end_s):
            self._grow()
        job = self.live[job_id] = Job(job_id, arrival_s, duration_s)
        return job

    def _grow(self) -> None:
        nans = array("d", [_NAN]) * _TABLE_BLOCK
        zeros = array("i", [0]) * _TABLE_BLOCK
        self.first_start_s.extend(nans)
        self.end_s.extend(nans)
        self.lost_work_s.extend(array("d", [0.0]) * _TABLE_BLOCK)
        self.receives.extend(zeros)
        self.interruptions.extend(zeros)
        self.outcome.extend(array("b", [0]) * _TABLE_BLOCK)
        self.task.extend(array("i", [-1]) * _TABLE_BLOCK)

    def _task_code(self, task: str | None) -> int:
        if task is None:
            return -1
        code = self._task_codes.get(task)
        if code is None:
            code = self._task_codes[task] = len(self.task_ids)
            self.task_ids.append(task)
        return code

    def finish(self, job: Job) -> None:
        """*job* left the system: write its row; its object is no longer kept."""
        self._write(job)
        del self.live[job.id]

    def _write(self, job: Job) -> None:
        i = job.id
        first_start_s = job.first_start_s
        end_s = job.end_s
        self.first_start_s[i] = _NAN if first_start_s is None else first_start_s
        self.end_s[i] = _NAN if end_s is None else end_s
        self.lost_work_s[i] = job.lost_work_s
        self.receives[i] = job.receives
        self.interruptions[i] = job.interruptions
        self.outcome[i] = _OUTCOME_CODES[job.outcome]
        self.task[i] = self._task_code(job.task)

    def frame(self, service: str) -> pd.DataFrame:
        """One row per job, with the columns and types of JOB_DTYPES (the jobs
        still in the system as they are now)."""
        for job in self.live.values():
            # the row as it stands (finish writes it again when the job leaves)
            self._write(job)
        rows = len(self.arrival_s)

        def values(column: array[Any]) -> np.ndarray[Any, Any]:
            # a copy: a column whose buffer is shared cannot grow
            return np.frombuffer(column, dtype=column.typecode, count=rows).copy()

        def names(column: array[int], names: list[str | None]) -> np.ndarray[Any, Any]:
            # the code -1 takes the last name: None, where there is one
            codes = np.frombuffer(column, dtype=column.typecode, count=rows)
            strings: np.ndarray[Any, Any] = np.array(names, dtype=object)[codes]
            return strings

        return pd.DataFrame(
            {
                "job": np.arange(rows),
                "service": np.full(rows, service, dtype=object),
                "arrival_s": values(self.arrival_s),
                "first_start_s": values(self.first_start_s),
                "end_s": values(self.end_s),
                "outcome": names(self.outcome, list(JOB_OUTCOMES)),
                "receives": values(self.receives),
                "interruptions": values(self.interruptions),
                "lost_work_s": values(self.lost_work_s),
                "duration_s": values(self.duration_s),
                "task": names(self.task, [*self.task_ids, None]),
            },
            copy=False,
        ).astype(JOB_DTYPES)


@dataclass(eq=False)
class JobQueue:
    """An SQS-like queue for one service."""

    env: simpy.Environment
    service: str
    config: QueueWorkload
    record: Callable[..., None]
    #: every job that arrived: its row, or while in the system its object
    jobs: JobTable = field(default_factory=JobTable)
    visible: deque[Job] = field(default_factory=deque)
    waiting: deque[simpy.Event] = field(default_factory=deque)
    in_flight: int = 0
    invisible: int = 0
    completed: int = 0
    dead_lettered: int = 0

    def arrive(self, duration_s: float) -> Job:
        """A new message arrives now."""
        job = self.jobs.arrive(self.env.now, duration_s)
        self._offer(job)
        return job

    def _offer(self, job: Job) -> None:
        job.outcome = "queued"
        waiting = self.waiting
        while waiting:
            receiver = waiting.popleft()
            if not receiver.triggered:
                self._hand_over(job, receiver)
                return
        self.visible.append(job)

    def _hand_over(self, job: Job, receiver: simpy.Event) -> None:
        # _mark_received, inlined: once per job
        job.receives += 1
        job.outcome = "in_flight"
        self.in_flight += 1
        receiver.succeed(job)

    def _mark_received(self, job: Job) -> None:
        job.receives += 1
        job.outcome = "in_flight"
        self.in_flight += 1

    def try_receive(self) -> Job | None:
        """The next visible message, received now, or None when there is none."""
        if not self.visible:
            return None
        job = self.visible.popleft()
        self._mark_received(job)
        return job

    def receive(self) -> simpy.Event:
        """An event that succeeds with the next visible message."""
        receiver = self.env.event()
        if self.visible:
            self._hand_over(self.visible.popleft(), receiver)
        else:
            self.waiting.append(receiver)
        return receiver

    def cancel(self, receiver: simpy.Event) -> None:
        """Stop waiting on *receiver* (a long poll ended or the worker stopped)."""
        with contextlib.suppress(ValueError):
            self.waiting.remove(receiver)

    def started(self, job: Job, task: str, now: float) -> None:
        """A worker of *task* started processing *job*."""
        job.task = task
        job.attempt_start_s = now
        if job.first_start_s is None:
            job.first_start_s = now

    def complete(self, job: Job, now: float) -> None:
        """*job* is done and deleted from the queue."""
        self.in_flight -= 1
        self.completed += 1
        job.outcome = "completed"
        job.end_s = now
        self.jobs.finish(job)

    def abandon(self, job: Job, worked_s: float, reason: str) -> None:
        """The worker holding *job* died or gave up after *worked_s* of work."""
        self.in_flight -= 1
        self.invisible += 1
        job.outcome = "invisible"
        if worked_s > 0:
            job.interruptions += 1
            job.lost_work_s += worked_s
        self.record(
            "job_interrupted" if worked_s > 0 else "job_returned",
            service=self.service,
            task=job.task,
            job=job.id,
            lost_work_s=worked_s,
            reason=reason,
        )
        after(
            self.env,
            self.config.visibility_timeout_s,
            lambda: self._reappear(job, True),
        )

    def give_back(self, job: Job) -> None:
        """The worker returns *job* unworked (visibility set to 0): as far as the
        job is concerned, this attempt never started."""
        self.in_flight -= 1
        if job.first_start_s is not None and job.first_start_s == job.attempt_start_s:
            job.first_start_s = None
            job.task = None
        job.attempt_start_s = None
        self.record("job_returned", service=self.service, job=job.id, lost_work_s=0.0)
        self._reappear(job, False)

    def expire(self, job: Job, worked_s: float, reason: str) -> None:
        """*job*'s visibility timeout ran out (or was set to 0) while it was in
        flight: it is visible again now (or dead-lettered), and the work done on
        it so far is lost. (An external worker over SQS, which nothing tells
        ecssim about, works this way.)"""
        self.in_flight -= 1
        if worked_s > 0:
            job.interruptions += 1
            job.lost_work_s += worked_s
        self.record(
            "job_interrupted" if worked_s > 0 else "job_returned",
            service=self.service,
            task=job.task,
            job=job.id,
            lost_work_s=worked_s,
            reason=reason,
        )
        self._reappear(job, False)

    def _reappear(self, job: Job, was_invisible: bool) -> None:
        if was_invisible:
            self.invisible -= 1
        if job.receives >= self.config.max_receive_count:
            self.dead_lettered += 1
            job.outcome = "dead_lettered"
            job.end_s = self.env.now
            self.jobs.finish(job)
            self.record("job_dead_lettered", service=self.service, job=job.id)
            return
        if was_invisible:
            self.record("job_redelivered", service=self.service, job=job.id)
        self._offer(job)

    @property
    def queued(self) -> int:
        """Visible messages (``ApproximateNumberOfMessagesVisible``)."""
        return len(self.visible)

    def check(self) -> None:
        """Raise unless every message that arrived is accounted for exactly once."""
        check_conservation(
            f"queue of {self.service}",
            len(self.jobs),
            {
                "completed": self.completed,
                "in_flight": self.in_flight,
                "queued": self.queued,
                "invisible": self.invisible,
                "dead_lettered": self.dead_lettered,
            },
            self.env.now,
        )


def feed_arrivals(
    env: simpy.Environment,
    *,
    arrivals: Arrivals,
    distribution: Distribution,
    rng_arrivals: np.random.Generator,
    rng_durations: np.random.Generator,
    until_s: float,
    start_hour_s: float,
    arrive: Callable[[float], object],
) -> ProcessGenerator:
    """One workload's arrival process: bring each arrival (a queue message or
    a session, calling *arrive* with its duration) as simulated time passes,
    from a trace or from Poisson arrivals with a varying rate."""
    draws = durations(distribution, rng_durations)
    if arrivals.trace is not None:
        for at_s, duration_s in read_trace(arrivals.trace):
            if at_s >= until_s:
                return
            if at_s > env.now:
                yield env.timeout(at_s - env.now)
            arrive(duration_s if duration_s is not None else next(draws))
        return
    rate = RateFunction(arrivals, start_hour_s)
    for at_s in poisson_arrivals(rate, rng_arrivals, until_s):
        yield env.timeout(at_s - env.now)
        arrive(next(draws))


@dataclass(eq=False, slots=True)
class Session:
    """One game session."""

    id: int
    arrival_s: float
    duration_s: float
    start_s: float | None = None
    end_s: float | None = None
    outcome: str = "waiting"  # waiting | connected | completed | interrupted | dropped
    task: str | None = None


class SessionHost:
    """What the pool needs from a task that hosts sessions."""

    task_id: str
    sessions: set[Session]
    accepting: bool

    def add_session(self, session: Session) -> None:
        """Host *session* from now on."""
        raise NotImplementedError

    def remove_session(self, session: Session) -> None:
        """*session* ended."""
        raise NotImplementedError


@dataclass(eq=False)
class SessionPool:
    """Places one service's sessions on its tasks."""

    env: simpy.Environment
    service: str
    config: SessionWorkload
    record: Callable[..., None]
    sessions: list[Session] = field(default_factory=list)
    hosts: dict[str, SessionHost] = field(default_factory=dict)
    waiting: deque[Session] = field(default_factory=deque)
    connected: int = 0
    ended: int = 0

    def check(self) -> None:
        """Raise unless every session that arrived is accounted for exactly once."""
        check_conservation(
            f"sessions of {self.service}",
            len(self.sessions),
            {
                "connected": self.connected,
                "waiting": len(self.waiting),
                "ended": self.ended,
            },
            self.env.now,
        )

    def arrive(self, duration_s: float) -> Session:
        """A player wants a session now."""
        session = Session(
            id=len(self.sessions), arrival_s=self.env.now, duration_s=duration_s
        )
        self.sessions.append(session)
        if not self._place(session):
            self.waiting.append(session)
            after(self.env, self.config.max_wait_s, lambda: self._give_up(session))
        return session

    def _place(self, session: Session) -> bool:
        slots = self.config.slots_per_task
        best: SessionHost | None = None
        for host in self.hosts.values():
            if (
                host.accepting
                and len(host.sessions) < slots
                and (best is None or len(host.sessions) > len(best.sessions))
            ):
                best = host
        if best is None:
            return False
        session.start_s = self.env.now
        session.outcome = "connected"
        session.task = best.task_id
        self.connected += 1
        best.add_session(session)
        host = best
        after(self.env, session.duration_s, lambda: self._end(session, host))
        return True

    def _end(self, session: Session, host: SessionHost) -> None:
        if session.outcome != "connected":
            return
        session.outcome = "completed"
        session.end_s = self.env.now
        self.connected -= 1
        self.ended += 1
        host.remove_session(session)
        self.place_waiting()

    def interrupt(self, session: Session, host: SessionHost) -> None:
        """The task hosting *session* went away."""
        if session.outcome != "connected":
            return
        session.outcome = "interrupted"
        session.end_s = self.env.now
        self.connected -= 1
        self.ended += 1
        host.remove_session(session)
        self.record(
            "session_interrupted",
            service=self.service,
            task=host.task_id,
            session=session.id,
            lost_s=self.env.now - (session.start_s or self.env.now),
        )

    def _give_up(self, session: Session) -> None:
        if session.outcome == "waiting":
            session.outcome = "dropped"
            session.end_s = self.env.now
            self.ended += 1
            self.waiting.remove(session)
            self.record("session_dropped", service=self.service, session=session.id)

    def place_waiting(self) -> None:
        """Place waiting sessions while free slots exist."""
        while self.waiting and self._place(self.waiting[0]):
            self.waiting.popleft()
