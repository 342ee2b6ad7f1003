"""Outcome metrics: pure pandas over a run's recorded frames.

:func:`summarize` turns the events, the time series, the jobs and the sessions
of one run into one row per service with every outcome DESIGN §5 asks for,
named in plain words with their unit. Nothing here knows about SimPy.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Final

import numpy as np
import pandas as pd

from ecssim.results.capacity import CAPACITY_COLUMNS

#: CloudFormation's update-stack timeout: a rollout longer than this fails the stack.
CLOUDFORMATION_TIMEOUT_S: Final = 3 * 3600.0
STANDALONE: Final = "(standalone tasks)"

#: Every column of a summary, in order, with what it means.
SUMMARY_COLUMNS: Final[dict[str, str]] = {
    "service": "service name",
    "jobs_arrived": "queue messages that arrived",
    "jobs_completed": "messages processed to the end",
    "jobs_in_flight_at_end": "messages held by a worker when the run ended",
    "jobs_waiting_at_end": "messages queued or invisible when the run ended",
    "jobs_dead_lettered": "messages moved to the dead-letter queue",
    "job_interruptions": "times a worker was killed or gave up mid-job",
    "jobs_interrupted": "messages interrupted at least once",
    "jobs_redelivered": "times a message came back after its visibility timeout",
    "lost_work_hours": "hours of work thrown away by interruptions",
    "queue_wait_p50_s": "median wait from arrival to first start [s]",
    "queue_wait_p95_s": "95th percentile wait from arrival to first start [s]",
    "queue_wait_p99_s": "99th percentile wait from arrival to first start [s]",
    "sessions_arrived": "game sessions that asked for a slot",
    "sessions_completed": "sessions that ended normally",
    "sessions_interrupted": "sessions cut off because their task stopped",
    "sessions_dropped": "sessions that waited too long for a slot",
    "session_wait_p95_s": "95th percentile wait for a slot [s]",
    "task_hours": "RUNNING task-hours (what you pay for)",
    "busy_task_hours": "task-hours with work in hand",
    "idle_task_hours": "task-hours without work",
    "protected_task_hours": "task-hours with active scale-in protection",
    "idle_protected_task_hours": "idle task-hours kept protected (what protection costs)",
    "hours_above_desired": "hours with more RUNNING tasks than desired",
    "protected_surplus_task_hours": "task-hours kept above desired by protection",
    "scale_in_decisions": "scheduler rounds that stopped tasks for scale-in",
    "tasks_stopped_by_scale_in": "tasks the scheduler stopped as surplus",
    "scale_ins_blocked": "times protection started to block a scale-in or rollout",
    "blocked_hours": "hours during which protection blocked the scheduler",
    "convergence_delay_mean_s": "mean time from a desired-count drop to running <= desired (drops that never converged left out) [s]",
    "convergence_delay_max_s": "longest time from a desired-count drop to running <= desired [s]",
    "deployments_started": "rollouts started (the initial one excluded)",
    "deployments_completed": "rollouts that reached COMPLETED",
    "deployments_in_progress_at_end": "rollouts still IN_PROGRESS when the run ended",
    "deployments_failed": "rollouts failed by the circuit breaker",
    "deployment_duration_max_s": "longest rollout, to completion or to the run's end [s]",
    "deployments_over_cloudformation_timeout": "rollouts longer than 3 h (a CloudFormation update would fail)",
    "old_revision_task_hours": "task-hours of old revisions after their replacement started",
    "protection_calls": "UpdateTaskProtection calls that reached ECS or failed on the way",
    "protection_set": "protections enabled on an unprotected task",
    "protection_renewals": "protections renewed while still active",
    "protection_cleared": "protections cleared",
    "failures_task_not_valid": "per-task failures TASK_NOT_VALID",
    "failures_deployment_blocked": "per-task failures DEPLOYMENT_BLOCKED",
    "failures_missing": "per-task failures MISSING",
    "throttles": "ThrottlingException answers (account token bucket)",
    "injected_api_errors": "protection call errors injected by faults",
    "protection_expired_while_busy": "jobs during which the task's protection lapsed",
    "protection_lapsed_while_busy": "times a task's protection expired while it had a job or a connected session",
    "tasks_killed": "tasks SIGKILLed at stopTimeout",
    "worker_hangs": "workers that hung",
    "task_crashes": "tasks whose essential container exited",
    "spot_interruptions": "tasks interrupted by Spot (FARGATE_SPOT, or on an EC2 Spot instance)",
    **CAPACITY_COLUMNS,
}


def _pct(values: pd.Series, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _rows(frame: pd.DataFrame, mask: pd.Series) -> pd.DataFrame:
    """The rows of *frame* where *mask* holds: *frame* itself when it holds for
    all (a month's jobs are a million rows: no copy)."""
    return frame if bool(mask.fillna(False).all()) else frame[mask]


def _count(events: pd.DataFrame, kind: str, reason: str | None = None) -> int:
    mask = events["kind"] == kind
    if reason is not None:
        mask &= events["reason"] == reason
    return int(mask.sum())


def _details(events: pd.DataFrame) -> list[dict[str, Any]]:
    return [json.loads(text) for text in events["detail"].to_numpy(dtype=object)]


@functools.lru_cache(maxsize=4096)
def _decoded(detail: str) -> Mapping[str, Any]:
    """*detail* decoded, once per distinct text: most details of the task-state
    kinds are a handful of texts (``{"busy": true}``, a status); treat the
    mapping as read-only."""
    decoded: Mapping[str, Any] = json.loads(detail)
    return decoded


def _blocked_episodes(
    events: pd.DataFrame, end_s: float, start_s: float = 0.0
) -> tuple[int, float]:
    """How many times protection started to block the scheduler at or after
    *start_s*, and for how many hours of ``[start_s, end_s)`` it blocked (a
    repeated ``scale_in_blocked`` inside one episode is the same episode)."""
    episodes = 0
    total = 0.0
    since: float | None = None
    blocking = events[events["kind"].isin(["scale_in_blocked", "scale_in_unblocked"])]
    for time_s, kind in zip(blocking["time_s"], blocking["kind"], strict=True):
        if kind == "scale_in_blocked" and since is None:
            since = time_s
            episodes += time_s >= start_s
        elif kind == "scale_in_unblocked" and since is not None:
            total += max(0.0, time_s - max(since, start_s))
            since = None
    if since is not None:
        total += max(0.0, end_s - max(since, start_s))
    return episodes, total / 3600


#: The step functions :func:`occupancy` returns, one column each.
OCCUPANCY_COLUMNS: Final = (
    "time_s",
    "desired",
    "running",
    "busy",
    "protected",
    "idle_protected",
)


#: the counts an occupancy follows, in its steps' column order
_COUNTS: Final = ("desired", "running", "busy", "protected", "idle_protected")


@dataclass(frozen=True)
class Occupancy:
    """A service's counts as exact step functions of time, from its events.

    Attributes:
        steps: one row per moment any count changed (columns
            :data:`OCCUPANCY_COLUMNS`); each row holds from its time to the next
            row's (the last one to the end of the run). ``desired`` is NaN for
            standalone tasks.
        lapses_while_busy: times a task's protection expired while it had work
            in hand (a job or a connected session), by the time it expired.
    """

    steps: pd.DataFrame
    lapses_while_busy: tuple[float, ...]
    #: each step's length within a window, by window (the same for every count)
    _widths: dict[tuple[float, float], np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )

    def integral(self, values: pd.Series, start_s: float, end_s: float) -> float:
        """The integral of the step function *values* (aligned with ``steps``)
        over ``[start_s, end_s)``, in hours; NaN values count as 0."""
        widths = self._widths.get((start_s, end_s))
        if widths is None:
            times = self.steps["time_s"].to_numpy(dtype=float)
            lower = np.clip(times, start_s, end_s)
            upper = np.clip(np.append(times[1:], end_s), start_s, end_s)
            widths = self._widths[start_s, end_s] = upper - lower
        if not len(widths):
            return 0.0
        # one array the size of the steps, worked on in place
        found = values.to_numpy(dtype=float, copy=True)
        np.nan_to_num(found, copy=False, nan=0.0)
        return float(np.sum(np.multiply(found, widths, out=found))) / 3600


#: kinds :func:`occupancy` follows, and the code each gets in its arrays
_OCCUPANCY_CODES: Final = {
    "service_created": 0,
    "desired_count_changed": 1,
    "task_status": 2,
    "task_busy_changed": 3,
    "task_stop_requested": 4,
    "protection_cleared": 5,
    "protection_set": 6,
    "protection_renewed": 6,
}
OCCUPANCY_KINDS: Final = frozenset(_OCCUPANCY_CODES)
#: the fields of those kinds that :func:`occupancy` reads
OCCUPANCY_FIELDS: Final = (
    "service",
    "task",
    "status",
    "busy",
    "expires_at",
    "desired_count",
    "previous",
)


def _forward(
    mask: np.ndarray, values: np.ndarray, first: np.ndarray, default: Any
) -> np.ndarray:
    """Per row, *values* at the last row at or before it where *mask* holds within
    its group (the group starts at row *first*), else *default*."""
    rows = np.arange(len(mask), dtype=np.int32)
    last = np.maximum.accumulate(np.where(mask, rows, np.int32(-1)))
    found = last >= first
    return np.where(found, values[np.maximum(last, 0)], default)


def _objects(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """*values* as a numpy object array (no copy when it is one already)."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    # fromiter: a value that is a list stays one value
    return np.fromiter(values, dtype=object, count=len(values))


@dataclass
class OccupancyChanges:
    """The changes of a service's counts, collected from its records a part at a
    time (each part holds every record of its tasks), then summed into an
    :class:`Occupancy`."""

    times: list[np.ndarray] = field(default_factory=list)
    #: per entry of ``times``, the change of each count that changed there
    deltas: list[dict[str, np.ndarray]] = field(default_factory=list)
    lapses: list[np.ndarray] = field(default_factory=list)
    desired_known: bool = False

    def add(
        self,
        order: np.ndarray,
        times: np.ndarray,
        kinds: Sequence[str] | np.ndarray,
        fields: Mapping[str, Sequence[Any] | np.ndarray],
        end_s: float,
    ) -> None:
        """Add the changes of some records (as :func:`occupancy_of` takes them)."""
        codes = np.fromiter(
            map(_OCCUPANCY_CODES.get, kinds, repeat(-1)),
            dtype=np.int8,
            count=len(kinds),
        )
        times = np.asarray(times, dtype=np.float64)

        def change(at: np.ndarray, **deltas: np.ndarray) -> None:
            self.times.append(at)
            self.deltas.append(
                {
                    name: np.asarray(
                        value, dtype=np.int64 if name == "desired" else np.int8
                    )
                    for name, value in deltas.items()
                }
            )

        # the desired count: a level when the service is created, then its changes
        desired = fields["desired_count"]
        previous = fields["previous"]
        created = np.flatnonzero(codes == 0)
        changed = np.flatnonzero(codes == 1)
        change(
            times[created],
            desired=np.array([int(desired[i]) for i in created.tolist()]),
        )
        change(
            times[changed],
            desired=np.array(
                [int(desired[i]) - int(previous[i]) for i in changed.tolist()]
            ),
        )
        # every task on its own, in record order (numpy object arrays: no Python
        # object per record is made)
        task_values = _objects(fields["task"])
        of_task = np.flatnonzero(codes >= 2)
        of_task = of_task[task_values[of_task] != None]  # noqa: E711 (elementwise)
        groups, _ = pd.factorize(task_values[of_task])
        by_task = np.lexsort((np.asarray(order)[of_task], groups))
        rows = of_task[by_task]
        group = groups[by_task]
        del of_task, groups, by_task, task_values
        t = times[rows]
        code = codes[rows]
        n = len(rows)

        running_value = np.zeros(n, dtype=bool)
        mask = code == 2
        running_value[mask] = _objects(fields["status"])[rows[mask]] == "RUNNING"
        busy_value = np.zeros(n, dtype=bool)
        mask = code == 3
        busy_value[mask] = _objects(fields["busy"])[rows[mask]].astype(bool)
        expires_value = np.full(n, np.nan)
        mask = code == 6
        found = _objects(fields["expires_at"])[rows[mask]]
        found[found == None] = np.nan  # noqa: E711 (elementwise, on an object array)
        expires_value[mask] = found.astype(np.float64)
        del mask, found
        starts = np.ones(n, dtype=bool)
        starts[1:] = group[1:] != group[:-1]
        del group
        first = np.maximum.accumulate(np.where(starts, np.arange(n, dtype=np.int32), 0))
        running = _forward(code == 2, running_value, first, False).astype(bool)
        busy = _forward(code == 3, busy_value, first, False).astype(bool)
        holder = _forward(code == 4, np.zeros(n, dtype=bool), first, True).astype(bool)
        expires = _forward(code >= 5, expires_value, first, np.nan)
        del running_value, busy_value, expires_value, first, code
        with np.errstate(invalid="ignore"):
            protected = running & holder & (expires > t)
        del holder
        # protection lapses between a task's records (or after its last), when it expires
        after = np.empty(n, dtype=np.float64)
        after[:-1] = t[1:]
        ends = np.ones(n, dtype=bool)
        ends[:-1] = starts[1:]
        after[ends] = end_s
        with np.errstate(invalid="ignore"):
            lapsed = protected & (expires < after)
        del after, ends
        change(
            expires[lapsed],
            protected=-np.ones(int(lapsed.sum())),
            idle_protected=-(~busy[lapsed]).astype(np.int8),
        )
        self.lapses.append(expires[lapsed & busy])
        del expires
        # each record's change against the task's state before it (after any lapse)
        before_running = np.zeros(n, dtype=bool)
        before_busy = np.zeros(n, dtype=bool)
        before_protected = np.zeros(n, dtype=bool)
        before_running[1:] = running[:-1]
        before_busy[1:] = busy[:-1]
        before_protected[1:] = (protected & ~lapsed)[:-1]
        before_running[starts] = before_busy[starts] = before_protected[starts] = False
        del lapsed, starts
        d_running = running.astype(np.int8) - before_running
        d_busy = busy.astype(np.int8) - before_busy
        d_protected = protected.astype(np.int8) - before_protected
        d_idle = (protected & ~busy).astype(np.int8) - (before_protected & ~before_busy)
        moved = (d_running != 0) | (d_busy != 0) | (d_protected != 0) | (d_idle != 0)
        change(
            t[moved],
            running=d_running[moved],
            busy=d_busy[moved],
            protected=d_protected[moved],
            idle_protected=d_idle[moved],
        )
        del d_running, d_busy, d_protected, d_idle, moved, t
        self.desired_known |= len(created) > 0

    def occupancy(self, end_s: float) -> Occupancy:
        """The counts after every change (rows at or after *end_s* left out).
        Asked once: the changes are handed over (and let go) as they are summed."""
        lapses = np.sort(np.concatenate(self.lapses)) if self.lapses else ()
        return Occupancy(
            steps=_steps(
                self.times, self.deltas, end_s, desired_known=self.desired_known
            ),
            lapses_while_busy=tuple(np.asarray(lapses).tolist()),
        )


def occupancy_of(
    order: np.ndarray,
    times: np.ndarray,
    kinds: Sequence[str] | np.ndarray,
    fields: Mapping[str, Sequence[Any] | np.ndarray],
    end_s: float,
) -> Occupancy:
    """:func:`occupancy` over the records of one service: their place in the
    record order (*order*: any increasing numbers; the rows need not be sorted),
    *times*, *kinds* and the values of :data:`OCCUPANCY_FIELDS` (None where a
    record has no such field; lists or numpy object arrays). Records of other
    kinds are ignored."""
    changes = OccupancyChanges()
    changes.add(order, times, kinds, fields, end_s)
    return changes.occupancy(end_s)


def _steps(
    times: list[np.ndarray],
    changes: list[dict[str, np.ndarray]],
    end_s: float,
    *,
    desired_known: bool,
) -> pd.DataFrame:
    """The counts after every moment a count changed: the changes summed per
    moment, then accumulated (rows at or after *end_s* left out)."""
    if not times or not sum(len(t) for t in times):
        data: dict[str, Any] = {"time_s": np.empty(0)}
        data |= {name: np.empty(0, np.int32) for name in _COUNTS}
    else:
        data = _summed(times, changes, end_s)
    # no copy: a long run's steps are millions of rows
    steps = pd.DataFrame(data, columns=list(OCCUPANCY_COLUMNS), copy=False)
    if not desired_known:
        steps["desired"] = np.nan
    return steps


def _summed(
    times: list[np.ndarray], changes: list[dict[str, np.ndarray]], end_s: float
) -> dict[str, Any]:
    """:func:`_steps`'s columns: each count's changes summed per moment (in time
    order, the moments before *end_s*), then accumulated.

    *times* and *changes* are emptied as they are read: a month's run has tens
    of millions of changes, and each part of them goes as soon as it is used.
    """
    sizes = [len(t) for t in times]
    at = np.concatenate(times).astype(np.float64, copy=False)
    times.clear()
    order = np.argsort(at, kind="stable")
    at.sort(kind="stable")  # at[order], without a second array of that size
    first = np.ones(len(at), dtype=bool)  # the first change of each moment
    first[1:] = at[1:] != at[:-1]
    starts = np.flatnonzero(first)  # where each moment's changes begin
    del first
    stop = int(np.searchsorted(at[starts], end_s))  # the moments before the end
    data: dict[str, Any] = {"time_s": at[starts[:stop]]}
    del at
    # each moment's last change: the running sum there is the count after it
    last = np.append(starts[1 : stop + 1], len(order))[:stop] - 1
    del starts
    for name in _COUNTS:
        deltas = np.concatenate(
            [
                c.pop(name) if name in c else np.zeros(size, np.int8)
                for size, c in zip(sizes, changes, strict=True)
            ]
        )[order]
        # integer sums: exact (counts of tasks: 32 bits are plenty, and a
        # month's steps are millions of rows)
        data[name] = np.cumsum(deltas, dtype=np.int32)[last]
        del deltas
    changes.clear()
    return data


def occupancy(events: pd.DataFrame, end_s: float) -> Occupancy:
    """The exact counts of one service (or of the standalone tasks) over time.

    Each task is followed through its ``task_status``, ``task_busy_changed``,
    protection and ``task_stop_requested`` events: it counts as running while
    its last status is RUNNING, as busy between its busy changes, and as
    protected while RUNNING, not asked to stop and before its protection's
    ``expires_at`` (protection lapses between events, at the moment it expires).
    The desired count follows ``service_created`` and ``desired_count_changed``.
    Nothing depends on the sample interval.
    """
    relevant = events[events["kind"].isin(list(_OCCUPANCY_CODES))]
    details = [_decoded(text) for text in relevant["detail"].to_numpy(dtype=object)]
    fields: dict[str, list[Any]] = {
        key: [d.get(key) for d in details] for key in OCCUPANCY_FIELDS
    }
    fields["task"] = (
        relevant["task"].astype(object).where(relevant["task"].notna(), None).tolist()
    )
    return occupancy_of(
        np.arange(len(relevant)),
        relevant["time_s"].to_numpy(dtype=float),
        relevant["kind"].to_numpy(dtype=object).tolist(),
        fields,
        end_s,
    )


def _convergence(
    events: pd.DataFrame, steps: pd.DataFrame, start_s: float
) -> list[float]:
    """Per desired-count drop at or after *start_s*: the time until running <=
    desired (drops that never converge before the end are left out)."""
    drops = events[
        (events["kind"] == "desired_count_changed") & (events["time_s"] >= start_s)
    ]
    times = steps["time_s"].to_numpy(dtype=float)  # sorted: one row per moment
    converged = np.flatnonzero((steps["running"] <= steps["desired"]).to_numpy())
    delays = []
    for time_s, detail in zip(drops["time_s"], _details(drops), strict=True):
        if detail.get("desired_count", 0) >= detail.get("previous", 0):
            continue
        # the first converged step at or after the drop
        later = np.searchsorted(converged, np.searchsorted(times, time_s))
        if later < len(converged):
            delays.append(float(times[converged[later]] - time_s))
    return delays


def _deployments(
    events: pd.DataFrame, end_s: float, start_s: float = 0.0
) -> dict[str, Any]:
    started = events[events["kind"] == "deployment_started"]
    details = _details(started)
    ids = [d["deployment"] for d in details]
    times = list(started["time_s"])
    done = events[events["kind"].isin(["deployment_completed", "deployment_failed"])]
    finished = {
        d["deployment"]: t for t, d in zip(done["time_s"], _details(done), strict=True)
    }
    completed_ids = {
        d["deployment"]
        for d in _details(events[events["kind"] == "deployment_completed"])
    }
    # the first one creates the service; rollouts before the warm-up ends are not counted
    every_rollout = list(zip(ids, times, strict=True))[1:]
    rollouts = [r for r in every_rollout if r[1] >= start_s]
    durations = [finished.get(i, end_s) - t for i, t in rollouts]
    return {
        "deployments_started": len(rollouts),
        "deployments_completed": sum(1 for i, _ in rollouts if i in completed_ids),
        "deployments_in_progress_at_end": sum(
            1 for i, _ in rollouts if i not in finished
        ),
        "deployments_failed": _count(
            events[events["time_s"] >= start_s], "deployment_failed"
        ),
        "deployment_duration_max_s": max(durations) if durations else 0.0,
        "deployments_over_cloudformation_timeout": sum(
            1 for d in durations if d > CLOUDFORMATION_TIMEOUT_S
        ),
        "old_revision_task_hours": _old_revision_hours(
            events, every_rollout, end_s, start_s
        ),
    }


def _old_revision_hours(
    events: pd.DataFrame,
    rollouts: list[tuple[str, float]],
    end_s: float,
    start_s: float = 0.0,
) -> float:
    if not rollouts:
        return 0.0
    created = events[events["kind"] == "task_created"]
    deployment_of = {
        task: json.loads(detail).get("deployment")
        for task, detail in zip(created["task"], created["detail"], strict=True)
    }
    status = events[events["kind"] == "task_status"]
    running_at: dict[str, float] = {}
    stopped_at: dict[str, float] = {}
    for time_s, task, detail in zip(
        status["time_s"], status["task"], status["detail"], strict=True
    ):
        state = json.loads(detail).get("status")
        if state == "RUNNING":
            running_at[task] = time_s
        elif state == "STOPPING":
            stopped_at.setdefault(task, time_s)
    order = {d: i for i, (d, _) in enumerate(rollouts)}
    total = 0.0
    for task, started in running_at.items():
        deployment = deployment_of.get(task) or ""
        stop = stopped_at.get(task, end_s)
        # the first rollout that replaced this task's revision
        later = [t for d, t in rollouts if order.get(deployment, -1) < order[d]]
        if not later:
            continue
        replaced = min(later)
        total += max(0.0, stop - max(started, replaced, start_s))
    return total / 3600


#: The most frequent kinds of record (per task), which a summary only counts
#: beside the occupancies (the capacity outcomes read them where there are
#: instances): a run counts them in its recorder (``summarize(counts=...)``).
COUNTED_KINDS: Final = frozenset(
    {"task_busy_changed", "protection_set", "protection_renewed", "protection_cleared"}
)

#: The kinds of record that answer an UpdateTaskProtection call (protection_calls).
PROTECTION_CALL_KINDS: Final = (
    "protection_set",
    "protection_renewed",
    "protection_cleared",
    "protection_failed",
    "protection_throttled",
    "protection_call_error",
)

#: Outcomes that only mean something for a queue workload / a session workload:
#: NaN (not applicable) for services without one.
QUEUE_OUTCOMES: Final = (
    "jobs_arrived",
    "jobs_completed",
    "jobs_in_flight_at_end",
    "jobs_waiting_at_end",
    "jobs_dead_lettered",
    "job_interruptions",
    "jobs_interrupted",
    "jobs_redelivered",
    "lost_work_hours",
    "queue_wait_p50_s",
    "queue_wait_p95_s",
    "queue_wait_p99_s",
    "protection_expired_while_busy",
)
SESSION_OUTCOMES: Final = (
    "sessions_arrived",
    "sessions_completed",
    "sessions_interrupted",
    "sessions_dropped",
    "session_wait_p95_s",
)


def _service_row(
    name: str,
    events: pd.DataFrame,
    jobs: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    duration_s: float,
    measure_from_s: float,
    track: Occupancy | None = None,
    counted: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    start_s = measure_from_s
    if track is None:
        track = occupancy(events, duration_s)
    steps = track.steps
    all_events = events
    if start_s > 0:  # times are never negative: no copy without a warm-up
        events = events[events["time_s"] >= start_s]
    jobs = _rows(jobs, ~(jobs["arrival_s"] < start_s))
    sessions = _rows(sessions, ~(sessions["arrival_s"] < start_s))
    waits = (jobs["first_start_s"] - jobs["arrival_s"]).dropna()
    session_waits = (sessions["start_s"] - sessions["arrival_s"]).dropna()
    delays = _convergence(events, steps, start_s)
    episodes, blocked_hours = _blocked_episodes(all_events, duration_s, start_s)
    running = steps["running"]
    surplus = (running - steps["desired"]).clip(lower=0)

    def hours(values: pd.Series) -> float:
        return track.integral(values, start_s, duration_s)

    def count(kind: str) -> int:
        if counted is not None and kind in counted:
            return counted[kind]
        return _count(events, kind)

    outcome = jobs["outcome"]
    row: dict[str, Any] = {
        "service": name,
        "jobs_arrived": len(jobs),
        "jobs_completed": int((outcome == "completed").sum()),
        "jobs_in_flight_at_end": int((outcome == "in_flight").sum()),
        "jobs_waiting_at_end": int(outcome.isin(["queued", "invisible"]).sum()),
        "jobs_dead_lettered": int((outcome == "dead_lettered").sum()),
        "job_interruptions": int(jobs["interruptions"].sum()),
        "jobs_interrupted": int((jobs["interruptions"] > 0).sum()),
        "jobs_redelivered": count("job_redelivered"),
        "lost_work_hours": float(jobs["lost_work_s"].sum()) / 3600,
        "queue_wait_p50_s": _pct(waits, 50),
        "queue_wait_p95_s": _pct(waits, 95),
        "queue_wait_p99_s": _pct(waits, 99),
        "sessions_arrived": len(sessions),
        "sessions_completed": int((sessions["outcome"] == "completed").sum()),
        "sessions_interrupted": int((sessions["outcome"] == "interrupted").sum()),
        "sessions_dropped": int((sessions["outcome"] == "dropped").sum()),
        "session_wait_p95_s": _pct(session_waits, 95),
        "task_hours": hours(running),
        "busy_task_hours": hours(steps["busy"]),
        "idle_task_hours": hours(running - steps["busy"]),
        "protected_task_hours": hours(steps["protected"]),
        "idle_protected_task_hours": hours(steps["idle_protected"]),
        "hours_above_desired": hours((surplus > 0).astype(float)),
        "protected_surplus_task_hours": hours(
            surplus.where(surplus <= steps["protected"], steps["protected"])
        ),
        "scale_in_decisions": count("scale_in"),
        "tasks_stopped_by_scale_in": int(
            sum(
                d.get("stopped", 0)
                for d in _details(events[events["kind"] == "scale_in"])
            )
        ),
        "scale_ins_blocked": episodes,
        "blocked_hours": blocked_hours,
        "convergence_delay_mean_s": float(np.mean(delays)) if delays else float("nan"),
        "convergence_delay_max_s": float(np.max(delays)) if delays else float("nan"),
        "protection_lapsed_while_busy": sum(
            1 for t in track.lapses_while_busy if t >= start_s
        ),
    }
    row.update(_deployments(all_events, duration_s, start_s))
    faults = events.loc[events["kind"] == "fault_injected", "detail"]
    row.update(
        {
            "protection_calls": sum(map(count, PROTECTION_CALL_KINDS)),
            "protection_set": count("protection_set"),
            "protection_renewals": count("protection_renewed"),
            "protection_cleared": count("protection_cleared"),
            "failures_task_not_valid": _count(
                events, "protection_failed", "TASK_NOT_VALID"
            ),
            "failures_deployment_blocked": _count(
                events, "protection_failed", "DEPLOYMENT_BLOCKED"
            ),
            "failures_missing": _count(events, "protection_failed", "MISSING"),
            "throttles": count("protection_throttled"),
            "injected_api_errors": count("protection_call_error"),
            "protection_expired_while_busy": count("protection_expired_while_busy"),
            "tasks_killed": count("task_killed"),
            "worker_hangs": count("worker_hung"),
            "task_crashes": int(faults.str.contains('"task_crash"', regex=False).sum()),
            "spot_interruptions": int(
                faults.str.contains('"spot_interruption"', regex=False).sum()
            ),
        }
    )
    return row


def summarize(
    events: pd.DataFrame,
    jobs: pd.DataFrame,
    sessions: pd.DataFrame,
    *,
    services: Sequence[str],
    duration_s: float,
    measure_from_s: float = 0.0,
    workloads: Mapping[str, str | None] | None = None,
    capacity: pd.DataFrame | None = None,
    occupancies: Mapping[str, Occupancy] | None = None,
    counts: Mapping[str, Mapping[str, int]] | None = None,
) -> pd.DataFrame:
    """One row per service with every column of :data:`SUMMARY_COLUMNS`.

    Every figure comes from the events, jobs and sessions, never from the
    sampled time series: time integrals (task-hours and the like) and
    convergence delays are exact whatever the sample interval. Only what
    happens from *measure_from_s* on counts (a warm-up): events at or after
    it, jobs and sessions that arrived at or after it, the part of every time
    integral after it.

    Events of standalone tasks (no service) get a row of their own named
    :data:`STANDALONE` when there are any.

    Args:
        workloads: each service's workload kind (``"queue"``, ``"sessions"`` or
            None). When given, the outcomes of the other kind are NaN (not
            applicable) rather than 0: :data:`QUEUE_OUTCOMES`,
            :data:`SESSION_OUTCOMES`. Standalone tasks have neither.
        capacity: the capacity outcomes by service
            (:func:`ecssim.results.capacity.capacity_outcomes`); without it, or
            for a service it lacks, those columns are NaN.
        occupancies: each service's :class:`Occupancy` when already known (a run
            computes them from its recorder, without decoding the events); the
            others are computed from *events*.
        counts: by service (:data:`STANDALONE` for the standalone tasks),
            how many records of each kind *events* leaves out there are from
            *measure_from_s* on: a run counts its most frequent kinds, which
            the summary only counts, in its recorder.
    """
    rows = []
    names = list(services)
    standalone = events["service"].isna() & events["task"].notna()
    if standalone.any() or any((counts or {}).get(STANDALONE, {}).values()):
        names.append(STANDALONE)
    for name in names:
        if name == STANDALONE:
            mine = events[standalone]
        else:
            mask = (events["service"] == name).fillna(False)
            mine = events if bool(mask.all()) else events[mask]
        workload = (workloads or {}).get(name)
        row = _service_row(
            name,
            mine,
            _rows(jobs, jobs["service"] == name),
            _rows(sessions, sessions["service"] == name),
            duration_s=duration_s,
            measure_from_s=measure_from_s,
            track=(occupancies or {}).get(name),
            counted=None if counts is None else counts.get(name, {}),
        )
        if workloads is not None or name == STANDALONE:
            if workload != "queue":
                row.update(dict.fromkeys(QUEUE_OUTCOMES, float("nan")))
            if workload != "sessions":
                row.update(dict.fromkeys(SESSION_OUTCOMES, float("nan")))
        if capacity is not None and name in capacity.index:
            row.update({str(k): v for k, v in capacity.loc[name].items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
