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

Both keep what happened to each job or session as typed columns
(:class:`JobTable`, :class:`SessionTable`), the frames' rows: a
:class:`Job` or :class:`Session` object exists only while it is in the system.
"""

from __future__ import annotations

import contextlib
from array import array
from collections import deque
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Protocol, TypeVar

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
    frames = [queue.jobs.frame(queue.service) for queue in queues]
    return _joined(frames) if frames else JobTable().frame("")


def sessions_frame(pools: Iterable[SessionPool]) -> pd.DataFrame:
    """One row per session of *pools*, with the columns and types of SESSION_DTYPES."""
    frames = [pool.sessions.frame(pool.service) for pool in pools]
    return _joined(frames) if frames else SessionTable().frame("")


def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """*frames* (one or more, with the same columns) one after the other."""
    if len(frames) == 1:
        return frames[0]
    # a column at a time, each taken out of the frames: never two whole copies
    return pd.DataFrame(
        {
            name: pd.concat([frame.pop(name) for frame in frames], ignore_index=True)
            for name in list(frames[0].columns)
        },
        copy=False,
    )


#: rows added at once to a table's columns written when an item leaves the system
_TABLE_BLOCK: Final = 4096
_NAN: Final = float("nan")


def _grown(column: array[Any], value: float) -> None:
    """Add :data:`_TABLE_BLOCK` rows of *value* to *column*."""
    column.extend(array(column.typecode, [value]) * _TABLE_BLOCK)


def _copied(
    column: array[Any], rows: int, dtype: type[np.generic] | None = None
) -> np.ndarray[Any, Any]:
    """The first *rows* values of *column*, as a numpy array of their type (or
    of *dtype*: one copy, not two)."""
    # a copy: a column whose buffer is shared cannot grow
    values = np.frombuffer(column, dtype=column.typecode, count=rows)
    return values.copy() if dtype is None else values.astype(dtype)


def _text(values: np.ndarray[Any, Any]) -> pd.api.extensions.ExtensionArray:
    """*values* (an object array of str or None) as a "string" column, made
    before the frame so that each object array goes as soon as it is used."""
    return pd.array(values, dtype="string")


class _Names:
    """Strings kept as small int codes (each string once, shared); None is -1."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names: list[str] = []
        #: the code of each name (None's too, so one lookup serves both)
        self.codes: dict[str | None, int] = {None: -1}
        for name in names:
            self.code(name)

    def code(self, name: str | None) -> int:
        """The code of *name*, given it now if it has none."""
        code = self.codes.get(name)
        if code is None:
            code = self.codes[name] = len(self.names)
            self.names.append(name)  # type: ignore[arg-type]  # never None: it has -1
        return code

    def strings(self, codes: array[int], rows: int) -> np.ndarray[Any, Any]:
        """The names of the first *rows* of *codes*, None for -1 (an object array)."""
        # the code -1 takes the last entry: None
        names = np.array([*self.names, None], dtype=object)
        found: np.ndarray[Any, Any] = names[
            np.frombuffer(codes, dtype=codes.typecode, count=rows)
        ]
        return found


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


class _HasId(Protocol):
    id: int


_Item = TypeVar("_Item", bound=_HasId)


class _Table(Generic[_Item]):
    """What happened to each item (job or session) of one queue or pool, as
    typed columns indexed by its id, the frame's rows.

    A month's run has over a million jobs: as objects they would take several
    times the memory of these columns. Arrival and duration are appended when
    an item arrives; the rest (the columns of :attr:`_filled`) is written when
    it leaves the system. Until then it is an object, kept in :attr:`live`, and
    the frame reads it from there.
    """

    def __init__(self, outcomes: Iterable[str]) -> None:
        self.arrival_s = array("d")
        self.duration_s = array("d")
        self.outcome = array("b")
        self.task = array("i")
        self.outcomes = _Names(outcomes)
        self.tasks = _Names()
        #: the items still in the system, by id
        self.live: dict[int, _Item] = {}
        #: the columns written when an item leaves, and their value until then;
        #: grown a block at a time, so that an item leaving (in any order) has
        #: its row already
        self._filled: list[tuple[array[Any], float]] = [
            (self.outcome, 0),
            (self.task, -1),
        ]

    def __len__(self) -> int:
        """How many items arrived."""
        return len(self.arrival_s)

    def _arrive(self, arrival_s: float, duration_s: float) -> int:
        """The id of a new item, its row begun."""
        item_id = len(self.arrival_s)
        self.arrival_s.append(arrival_s)
        self.duration_s.append(duration_s)
        if item_id == len(self.outcome):
            for column, value in self._filled:
                _grown(column, value)
        return item_id

    def finish(self, item: _Item) -> None:
        """*item* left the system: write its row; its object is no longer kept."""
        self._write(item)
        del self.live[item.id]

    def _write_live(self) -> None:
        """Write the rows of the items still in the system as they stand (each
        written again when it leaves): what a frame reads for them."""
        for item in self.live.values():
            self._write(item)

    def _write(self, item: _Item) -> None:
        raise NotImplementedError


#: what can become of a job (its outcome in the jobs frame)
JOB_OUTCOMES: Final = ("queued", "in_flight", "invisible", "completed", "dead_lettered")


class JobTable(_Table[Job]):
    """What happened to each job of one queue (see :class:`_Table`): a
    :class:`Job` object only while it is queued, in flight or invisible."""

    def __init__(self) -> None:
        super().__init__(JOB_OUTCOMES)
        self.first_start_s = array("d")
        self.end_s = array("d")
        self.lost_work_s = array("d")
        self.receives = array("i")
        self.interruptions = array("i")
        self._filled += [
            (self.first_start_s, _NAN),
            (self.end_s, _NAN),
            (self.lost_work_s, 0.0),
            (self.receives, 0),
            (self.interruptions, 0),
        ]

    def arrive(self, arrival_s: float, duration_s: float) -> Job:
        """A new job, the next id, in the system from now on."""
        job_id = self._arrive(arrival_s, duration_s)
        job = self.live[job_id] = Job(job_id, arrival_s, duration_s)
        return job

    def _write(self, job: Job) -> None:
        i = job.id
        first_start_s = job.first_start_s
        end_s = job.end_s
        self.first_start_s[i] = _NAN if first_start_s is None else first_start_s
        self.end_s[i] = _NAN if end_s is None else end_s
        self.lost_work_s[i] = job.lost_work_s
        self.receives[i] = job.receives
        self.interruptions[i] = job.interruptions
        self.outcome[i] = self.outcomes.codes[job.outcome]
        self.task[i] = self.tasks.code(job.task)

    def frame(self, service: str) -> pd.DataFrame:
        """One row per job, with the columns and types of JOB_DTYPES (the jobs
        still in the system as they are now)."""
        self._write_live()
        rows = len(self.arrival_s)
        return pd.DataFrame(
            {
                "job": np.arange(rows),
                "service": _text(np.full(rows, service, dtype=object)),
                "arrival_s": _copied(self.arrival_s, rows),
                "first_start_s": _copied(self.first_start_s, rows),
                "end_s": _copied(self.end_s, rows),
                "outcome": _text(self.outcomes.strings(self.outcome, rows)),
                "receives": _copied(self.receives, rows, np.int64),
                "interruptions": _copied(self.interruptions, rows, np.int64),
                "lost_work_s": _copied(self.lost_work_s, rows),
                "duration_s": _copied(self.duration_s, rows),
                "task": _text(self.tasks.strings(self.task, rows)),
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
        job = self.jobs.arrive(self.env._now, duration_s)  # hot: no property call
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
        receiver = simpy.Event(self.env)  # not env.event(): no bound-class lookup
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
        yield env.timeout(at_s - env._now)  # the clock without its property call
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


#: what can become of a session (its outcome in the sessions frame)
SESSION_OUTCOMES: Final = (
    "waiting",
    "connected",
    "completed",
    "interrupted",
    "dropped",
)


class SessionTable(_Table[Session]):
    """What happened to each session of one pool (see :class:`_Table`): a
    :class:`Session` object only while it waits or is connected."""

    def __init__(self) -> None:
        super().__init__(SESSION_OUTCOMES)
        self.start_s = array("d")
        self.end_s = array("d")
        self._filled += [(self.start_s, _NAN), (self.end_s, _NAN)]

    def arrive(self, arrival_s: float, duration_s: float) -> Session:
        """A new session, the next id, waiting or connected from now on."""
        session_id = self._arrive(arrival_s, duration_s)
        session = self.live[session_id] = Session(session_id, arrival_s, duration_s)
        return session

    def _write(self, session: Session) -> None:
        i = session.id
        start_s = session.start_s
        end_s = session.end_s
        self.start_s[i] = _NAN if start_s is None else start_s
        self.end_s[i] = _NAN if end_s is None else end_s
        self.outcome[i] = self.outcomes.codes[session.outcome]
        self.task[i] = self.tasks.code(session.task)

    def frame(self, service: str) -> pd.DataFrame:
        """One row per session, with the columns and types of SESSION_DTYPES (the
        sessions not yet ended as they are now)."""
        self._write_live()
        rows = len(self.arrival_s)
        return pd.DataFrame(
            {
                "session": np.arange(rows),
                "service": _text(np.full(rows, service, dtype=object)),
                "arrival_s": _copied(self.arrival_s, rows),
                "start_s": _copied(self.start_s, rows),
                "end_s": _copied(self.end_s, rows),
                "outcome": _text(self.outcomes.strings(self.outcome, rows)),
                "duration_s": _copied(self.duration_s, rows),
                "task": _text(self.tasks.strings(self.task, rows)),
            },
            copy=False,
        ).astype(SESSION_DTYPES)


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
    #: every session that arrived: its row, or until it ends its object
    sessions: SessionTable = field(default_factory=SessionTable)
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
        session = self.sessions.arrive(self.env.now, duration_s)
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
        self.sessions.finish(session)
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
        self.sessions.finish(session)
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
            self.sessions.finish(session)
            self.ended += 1
            self.waiting.remove(session)
            self.record("session_dropped", service=self.service, session=session.id)

    def place_waiting(self) -> None:
        """Place waiting sessions while free slots exist."""
        while self.waiting and self._place(self.waiting[0]):
            self.waiting.popleft()
