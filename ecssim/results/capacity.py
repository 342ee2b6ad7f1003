"""Capacity outcomes: instance-hours, what held them, bin-packing and dollars.

Pure pandas and Python over a run's events (no SimPy). The records come from
the Auto Scaling groups and ECS cluster auto scaling (:mod:`ecssim.sim.asg`:
``instance_launched``, ``instance_in_service``, ``instance_load``,
``instance_terminated``, ``asg_scale_in_blocked``, ``spot_interruption_notice``,
``task_killed_by_instance_termination``), from placement
(``task_waiting_for_capacity``, ``task_placed``) and from the tasks
(``task_created``, ``task_status``, ``task_busy_changed``, protection events).

Definitions (the README's "What a run measures" repeats them):

* An instance counts from its launch to its termination (EC2 bills the
  booting time too), clipped to the measured window.
* *Idle*: no non-daemon task on it (booting included).
* *Held by protection*: at least one non-daemon task on it, and every one of
  them RUNNING, protected (protection active, no stop requested) and idle (no
  job or session in hand): nothing but protection keeps the instance.
* *Bin-packing*: time integral of reserved CPU (memory) over the time
  integral of registered CPU (memory), over registered instances.
* *Cost*: instance-hours at each type's hourly price (Spot discounted), plus
  Fargate tasks from PENDING to STOPPED at the vCPU-hour and GB-hour prices
  (FARGATE_SPOT discounted).
* *A service's share* of a provider (instance-hours, idle and held hours,
  instance cost): each stretch of each instance is split between the services
  of the tasks on it (daemon tasks included) in proportion to their reserved
  CPU (their task definition's); a stretch without tasks (booting, or after
  the last task left) by the instance's time-weighted CPU shares over its
  life, else the provider's, else evenly between the services that name the
  provider. The services' shares add up to the provider's figures (less the
  share of tasks outside any service).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

import numpy as np
import pandas as pd

#: The capacity columns of a summary row, with what they mean.
CAPACITY_COLUMNS: Final[dict[str, str]] = {
    "instance_hours": "the service's share (by reserved CPU) of its capacity providers' EC2 instance-hours, launch to termination",
    "idle_instance_hours": "instance-hours without a non-daemon task (booting included)",
    "instance_hours_held_by_protection": "instance-hours whose every non-daemon task was protected and idle",
    "asg_scale_ins_blocked": "group scale-ins stopped because every remaining instance was protected",
    "tasks_waited_for_capacity": "tasks that waited in PROVISIONING for room on an instance",
    "capacity_wait_p95_s": "95th percentile of those waits [s]",
    "tasks_killed_by_instance_termination": "tasks whose instance was terminated under them",
    "spot_instance_interruptions": "EC2 Spot interruption notices on the service's providers",
    "cpu_reservation": "reserved / registered CPU of the providers' instances, time-weighted",
    "memory_reservation": "reserved / registered memory of the providers' instances, time-weighted",
    "cost_usd": "its share of its providers' instances plus its Fargate tasks [USD]",
}
_FARGATE: Final = ("FARGATE", "FARGATE_SPOT")
#: Fargate us-east-1 Linux/x86 prices, in dollars (https://aws.amazon.com/fargate/pricing/,
#: as listed in 2025).
FARGATE_VCPU_HOUR_USD: Final = 0.04048
FARGATE_GB_HOUR_USD: Final = 0.004445
#: Fargate Spot: "up to 70 %" off; ecssim takes 70 %.
FARGATE_SPOT_DISCOUNT: Final = 0.70
#: EC2 Spot: AWS quotes "up to 90 %" off and Spot prices move; ecssim's default is 65 %.
EC2_SPOT_DISCOUNT: Final = 0.65


class Resources(NamedTuple):
    """CPU units and MiB of a task (as :class:`ecssim.rules.capacity.Resources`)."""

    cpu: int
    memory: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Prices:
    """What capacity costs, in dollars (defaults: us-east-1, 2025)."""

    fargate_vcpu_hour_usd: float = FARGATE_VCPU_HOUR_USD
    fargate_gb_hour_usd: float = FARGATE_GB_HOUR_USD
    fargate_spot_discount: float = FARGATE_SPOT_DISCOUNT
    ec2_spot_discount: float = EC2_SPOT_DISCOUNT
    #: on-demand hourly price by instance type (the model fills in its table)
    instance_hourly_usd: tuple[tuple[str, float], ...] = ()

    def instance_hour_usd(self, instance_type: str, spot: bool) -> float:
        """One hour of *instance_type*, on-demand or Spot (NaN when unpriced)."""
        price = dict(self.instance_hourly_usd).get(instance_type, math.nan)
        return price * (1.0 - self.ec2_spot_discount) if spot else price

    def fargate_hour_usd(self, cpu_units: int, memory_mib: int, spot: bool) -> float:
        """One hour of a Fargate task of *cpu_units* and *memory_mib*."""
        price = (
            cpu_units / 1024 * self.fargate_vcpu_hour_usd
            + memory_mib / 1024 * self.fargate_gb_hour_usd
        )
        return price * (1.0 - self.fargate_spot_discount) if spot else price


def _detail(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or text == "{}":
        return {}
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def _clip(start: float, end: float, lo: float, hi: float) -> float:
    return max(0.0, min(end, hi) - max(start, lo))


@dataclass
class _Instance:
    ec2_instance: str
    provider: str | None
    instance_type: str
    spot: bool
    launched_s: float
    terminated_s: float | None = None
    container_instance: str | None = None
    #: (time, non-daemon task ids, reserved cpu, reserved memory, registered cpu,
    #: registered memory, daemon task ids), in time order
    loads: list[tuple[float, tuple[str, ...], int, int, int, int, tuple[str, ...]]] = (
        field(default_factory=list)
    )


@dataclass
class _TaskTrack:
    running: bool = False
    busy: bool = False
    holder: bool = True
    expires_at: float | None = None
    since: float | None = None  # start of the current idle-protected stretch
    #: closed idle-protected intervals (start, end)
    intervals: list[tuple[float, float]] = field(default_factory=list)


def _idle_protected(
    events: pd.DataFrame, end_s: float
) -> dict[str, list[tuple[float, float]]]:
    """Per task, the intervals during which it was RUNNING, protected (not
    asked to stop, protection active) and idle."""
    kinds = {
        "task_status",
        "task_busy_changed",
        "task_stop_requested",
        "protection_set",
        "protection_renewed",
        "protection_cleared",
    }
    rows = events[events["kind"].isin(kinds) & events["task"].notna()]
    tracks: dict[str, _TaskTrack] = {}

    def held(track: _TaskTrack, now: float) -> bool:
        expires = track.expires_at
        return (
            track.running
            and track.holder
            and not track.busy
            and expires is not None
            and expires > now
        )

    def settle(track: _TaskTrack, now: float) -> None:
        """Close a stretch whose protection lapsed before *now*."""
        expires = track.expires_at
        if track.since is not None and expires is not None and expires <= now:
            track.intervals.append((track.since, expires))
            track.since = None

    for time_s, kind, task, detail in zip(
        rows["time_s"].to_numpy(dtype=float).tolist(),
        rows["kind"].to_numpy(dtype=object),
        rows["task"].to_numpy(dtype=object),
        rows["detail"].to_numpy(dtype=object),
        strict=True,
    ):
        track = tracks.get(task)
        if track is None:
            track = tracks[task] = _TaskTrack()
        settle(track, time_s)
        fields = _detail(detail)
        if kind == "task_status":
            track.running = fields.get("status") == "RUNNING"
        elif kind == "task_busy_changed":
            track.busy = bool(fields.get("busy"))
        elif kind == "task_stop_requested":
            track.holder = False
        elif kind == "protection_cleared":
            track.expires_at = None
        else:
            expires = fields.get("expires_at")
            track.expires_at = None if expires is None else float(expires)
        now_held = held(track, time_s)
        if now_held and track.since is None:
            track.since = time_s
        elif not now_held and track.since is not None:
            track.intervals.append((track.since, time_s))
            track.since = None
    for track in tracks.values():
        if track.since is not None:
            stop = end_s
            if track.expires_at is not None:
                stop = min(stop, track.expires_at)
            track.intervals.append((track.since, stop))
    return {task: t.intervals for task, t in tracks.items() if t.intervals}


def _all_held(
    tasks: Sequence[str],
    intervals: Mapping[str, list[tuple[float, float]]],
    start: float,
    end: float,
) -> float:
    """Seconds within [start, end) during which every task of *tasks* is in
    one of its intervals."""
    spans = [(start, end)]
    for task in tasks:
        mine = intervals.get(task, [])
        out = []
        for a, b in spans:
            for c, d in mine:
                lo, hi = max(a, c), min(b, d)
                if lo < hi:
                    out.append((lo, hi))
        spans = out
        if not spans:
            return 0.0
    return sum(b - a for a, b in spans)


def _instances(events: pd.DataFrame) -> dict[str, _Instance]:
    kinds = {
        "instance_launched",
        "instance_in_service",
        "instance_load",
        "instance_terminated",
    }
    rows = events[events["kind"].isin(kinds)]
    instances: dict[str, _Instance] = {}
    for time_s, kind, detail in zip(
        rows["time_s"].to_numpy(dtype=float).tolist(),
        rows["kind"].to_numpy(dtype=object),
        rows["detail"].to_numpy(dtype=object),
        strict=True,
    ):
        fields = _detail(detail)
        if kind == "instance_load":
            found = instances.get(fields["ec2_instance"])
            if found is not None:
                found.loads.append(
                    (
                        time_s,
                        tuple(fields["tasks"]),
                        int(fields["cpu"]),
                        int(fields["memory"]),
                        int(fields["registered_cpu"]),
                        int(fields["registered_memory"]),
                        tuple(fields.get("daemons", ())),
                    )
                )
            continue
        ec2 = fields["ec2_instance"]
        if kind == "instance_launched":
            instances[ec2] = _Instance(
                ec2_instance=ec2,
                provider=fields.get("capacity_provider"),
                instance_type=fields["instance_type"],
                spot=bool(fields.get("spot")),
                launched_s=time_s,
            )
            continue
        instance = instances.get(ec2)
        if instance is None:
            continue
        if kind == "instance_in_service":
            instance.container_instance = fields["container_instance"]
        else:
            instance.terminated_s = time_s
    return instances


@dataclass
class _Share:
    """What one service holds of a provider (see the module's definitions)."""

    instance_hours: float = 0.0
    idle_instance_hours: float = 0.0
    held_hours: float = 0.0
    instance_cost_usd: float = 0.0

    def add(
        self, weight: float, hours: float, idle: bool, held: float, usd: float
    ) -> None:
        self.instance_hours += weight * hours
        if idle:
            self.idle_instance_hours += weight * hours
        self.held_hours += weight * held
        self.instance_cost_usd += weight * usd


@dataclass
class _Totals:
    instance_hours: float = 0.0
    idle_instance_hours: float = 0.0
    held_hours: float = 0.0
    cpu_reserved: float = 0.0
    cpu_registered: float = 0.0
    memory_reserved: float = 0.0
    memory_registered: float = 0.0
    instance_cost_usd: float = 0.0
    instances: int = 0
    #: each service's share (None: tasks outside any service)
    shares: dict[str | None, _Share] = field(default_factory=dict)
    #: CPU-seconds reserved by each service's tasks on the provider
    weights: dict[str | None, float] = field(default_factory=dict)
    #: (hours, usd) of stretches without tasks on instances that never had one
    unattributed: list[tuple[float, float]] = field(default_factory=list)


def _normalised(weights: Mapping[str | None, float]) -> dict[str | None, float]:
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()} if total > 0 else {}


def _task_cpu(
    tasks: Iterable[str],
    service_of: Mapping[str, str | None],
    task_sizes: Mapping[str, Resources],
) -> dict[str | None, float]:
    """Reserved CPU units by service of *tasks*."""
    cpu: dict[str | None, float] = {}
    for task in tasks:
        service = service_of.get(task)
        size = task_sizes.get(service or "", Resources(1024, 2048))
        cpu[service] = cpu.get(service, 0.0) + size.cpu
    return cpu


def _provider_totals(
    instances: Iterable[_Instance],
    held: Mapping[str, list[tuple[float, float]]],
    prices: Prices,
    lo: float,
    hi: float,
    *,
    service_of: Mapping[str, str | None] | None = None,
    task_sizes: Mapping[str, Resources] | None = None,
) -> dict[str | None, _Totals]:
    service_of = service_of or {}
    task_sizes = task_sizes or {}
    totals: dict[str | None, _Totals] = {}
    for instance in instances:
        total = totals.setdefault(instance.provider, _Totals())
        total.instances += 1
        end = instance.terminated_s if instance.terminated_s is not None else hi
        alive = _clip(instance.launched_s, end, lo, hi)
        hourly = prices.instance_hour_usd(instance.instance_type, instance.spot)
        total.instance_hours += alive / 3600
        total.instance_cost_usd += alive / 3600 * hourly
        busy = 0.0
        # the instance's own CPU-seconds by service, and its stretches without tasks
        weights: dict[str | None, float] = {}
        empty = alive
        for index, (t, tasks, cpu, memory, reg_cpu, reg_memory, daemons) in enumerate(
            instance.loads
        ):
            until = (
                instance.loads[index + 1][0] if index + 1 < len(instance.loads) else end
            )
            span = _clip(t, until, lo, hi)
            if span <= 0:
                continue
            total.cpu_reserved += cpu * span
            total.cpu_registered += reg_cpu * span
            total.memory_reserved += memory * span
            total.memory_registered += reg_memory * span
            held_s = 0.0
            if tasks:
                busy += span
                held_s = _all_held(tasks, held, max(t, lo), min(until, hi))
                total.held_hours += held_s / 3600
            by_service = _task_cpu((*tasks, *daemons), service_of, task_sizes)
            if not by_service:
                continue
            empty -= span
            for service, share in _normalised(by_service).items():
                weights[service] = (
                    weights.get(service, 0.0) + by_service[service] * span
                )
                total.shares.setdefault(service, _Share()).add(
                    share, span / 3600, not tasks, held_s / 3600, span / 3600 * hourly
                )
        total.idle_instance_hours += (alive - busy) / 3600
        for service, weight in weights.items():
            total.weights[service] = total.weights.get(service, 0.0) + weight
        empty = max(0.0, empty)
        if empty <= 0:
            continue
        if weights:
            for service, share in _normalised(weights).items():
                total.shares.setdefault(service, _Share()).add(
                    share, empty / 3600, True, 0.0, empty / 3600 * hourly
                )
        else:
            total.unattributed.append((empty / 3600, empty / 3600 * hourly))
    for total in totals.values():
        shares = _normalised(total.weights)
        for hours, usd in total.unattributed:
            for service, share in shares.items():
                total.shares.setdefault(service, _Share()).add(
                    share, hours, True, 0.0, usd
                )
        if shares:
            total.unattributed = []
    return totals


def _services_share(
    totals: Mapping[str | None, _Totals],
    service_providers: Mapping[str, Sequence[str]],
) -> dict[str, _Share]:
    """Each service's share of the providers it names, what no task ever
    reserved split evenly between the services naming the provider."""
    users: dict[str, list[str]] = {}
    for name, providers in service_providers.items():
        for provider in providers:
            if provider not in _FARGATE:
                users.setdefault(provider, []).append(name)
    out: dict[str, _Share] = {}
    for key, total in totals.items():
        names = users.get(str(key), [])
        for service, share in total.shares.items():
            if service is None or service not in names:
                continue
            mine = out.setdefault(service, _Share())
            mine.instance_hours += share.instance_hours
            mine.idle_instance_hours += share.idle_instance_hours
            mine.held_hours += share.held_hours
            mine.instance_cost_usd += share.instance_cost_usd
        for hours, usd in total.unattributed:
            for service in names:
                out.setdefault(service, _Share()).add(
                    1 / len(names), hours, True, 0.0, usd
                )
    return out


#: Every kind of record :func:`capacity_outcomes` reads.
_READ_KINDS: Final = (
    "instance_launched",
    "instance_in_service",
    "instance_load",
    "instance_terminated",
    "asg_scale_in_blocked",
    "spot_interruption_notice",
    "task_killed_by_instance_termination",
    "task_waiting_for_capacity",
    "task_placed",
    "task_created",
    "task_status",
    "task_busy_changed",
    "task_stop_requested",
    "protection_set",
    "protection_renewed",
    "protection_cleared",
)


def _fargate_cost(
    events: pd.DataFrame,
    prices: Prices,
    task_sizes: Mapping[str, Resources],
    lo: float,
    hi: float,
) -> dict[str | None, float]:
    """Dollars of Fargate tasks by service, from PENDING to STOPPED (vectorised:
    a Fargate run has many tasks)."""
    created = events[events["kind"] == "task_created"]
    kind = created["detail"].str.extract(r'"capacity": "([A-Z_]+)"', expand=False)
    fargate = created[kind.isin(_FARGATE)]
    if fargate.empty:
        return {}
    tasks = pd.DataFrame(
        {
            "service": fargate["service"].astype(object).to_numpy(),
            "spot": (kind[fargate.index] == "FARGATE_SPOT").to_numpy(),
        },
        index=fargate["task"].astype(object).to_numpy(),
    )
    statuses = events[events["kind"] == "task_status"]
    statuses = statuses[statuses["task"].isin(tasks.index)]
    detail = statuses["detail"]
    pending = (
        statuses[detail == '{"status": "PENDING"}']
        .groupby(statuses["task"].astype(object))["time_s"]
        .min()
    )
    stopped = (
        statuses[detail == '{"status": "STOPPED"}']
        .groupby(statuses["task"].astype(object))["time_s"]
        .max()
    )
    spans = pd.DataFrame({"start": pending}).join(pd.DataFrame({"end": stopped}))
    spans["end"] = spans["end"].fillna(hi)
    spans = spans.join(tasks)
    seconds = (spans["end"].clip(upper=hi) - spans["start"].clip(lower=lo)).clip(
        lower=0
    )
    cost: dict[str | None, float] = {}
    for (service, spot), part in seconds.groupby(
        [spans["service"].fillna(""), spans["spot"]]
    ):
        size = task_sizes.get(str(service), Resources(1024, 2048))
        hourly = prices.fargate_hour_usd(size.cpu, size.memory, bool(spot))
        key = str(service) or None
        cost[key] = cost.get(key, 0.0) + hourly * float(part.sum()) / 3600
    return cost


def _count_by(events: pd.DataFrame, kind: str, key: str) -> dict[Any, int]:
    rows = events[events["kind"] == kind]
    counts: dict[Any, int] = {}
    for value in (
        rows[key].to_numpy(dtype=object)
        if key in ("service", "task")
        else [_detail(d).get(key) for d in rows["detail"].to_numpy(dtype=object)]
    ):
        name = None if value is pd.NA else value
        counts[name] = counts.get(name, 0) + 1
    return counts


def capacity_outcomes(
    events: pd.DataFrame,
    *,
    services: Sequence[str],
    service_providers: Mapping[str, Sequence[str]],
    task_sizes: Mapping[str, Resources],
    prices: Prices,
    duration_s: float,
    measure_from_s: float = 0.0,
) -> pd.DataFrame:
    """One row per service (indexed by name) with :data:`CAPACITY_COLUMNS`.

    *service_providers* names the EC2 capacity providers each service's tasks
    may use (its strategy, or the cluster's default): a row's instance-hours,
    idle and held hours and instance cost are the service's share of those
    providers (the module's definitions: by reserved CPU, so a provider shared
    by two services splits between their rows); its bin-packing, scale-ins
    blocked and Spot notices stay the providers' whole. A service with none
    has NaN instance figures and 0 counts.
    """
    lo, hi = measure_from_s, duration_s
    # one pass over the (long) events frame: the kinds read here only
    events = events[events["kind"].isin(_READ_KINDS)]
    # times are never negative: no copy without a warm-up
    measured = events[events["time_s"] >= lo] if lo > 0 else events
    instances = _instances(events)
    held = _idle_protected(events, hi) if instances else {}
    # each task's service, from any record naming both
    named = events[events["task"].notna() & events["service"].notna()]
    named = named.drop_duplicates("task")
    service_of: dict[str, str | None] = dict(
        zip(
            named["task"].astype(str).to_numpy(dtype=object),
            named["service"].astype(str).to_numpy(dtype=object),
            strict=True,
        )
    )
    totals = _provider_totals(
        instances.values(),
        held,
        prices,
        lo,
        hi,
        service_of=service_of,
        task_sizes=task_sizes,
    )
    shares = _services_share(totals, service_providers)
    fargate = _fargate_cost(events, prices, task_sizes, lo, hi)
    blocked = _count_by(measured, "asg_scale_in_blocked", "capacity_provider")
    notices = _count_by(measured, "spot_interruption_notice", "capacity_provider")
    killed = _count_by(measured, "task_killed_by_instance_termination", "service")
    waiting_rows = measured[measured["kind"] == "task_waiting_for_capacity"]
    placed = measured[measured["kind"] == "task_placed"]
    rows = []
    for name in services:
        providers = [p for p in service_providers.get(name, ()) if p not in _FARGATE]
        mine = [totals[p] for p in providers if p in totals]
        waited = waiting_rows[waiting_rows["service"] == name]
        waits = [
            float(_detail(d).get("waited_s", 0.0))
            for d in placed[placed["service"] == name]["detail"].to_numpy(dtype=object)
        ]
        waits = [w for w in waits if w > 0]
        row: dict[str, Any] = {
            "service": name,
            "asg_scale_ins_blocked": sum(blocked.get(p, 0) for p in providers),
            "tasks_waited_for_capacity": len(waited),
            "capacity_wait_p95_s": float(np.percentile(waits, 95))
            if waits
            else math.nan,
            "tasks_killed_by_instance_termination": killed.get(name, 0),
            "spot_instance_interruptions": sum(notices.get(p, 0) for p in providers),
        }
        if providers:
            cpu_registered = sum(t.cpu_registered for t in mine)
            memory_registered = sum(t.memory_registered for t in mine)
            share = shares.get(name, _Share())
            row |= {
                "instance_hours": share.instance_hours,
                "idle_instance_hours": share.idle_instance_hours,
                "instance_hours_held_by_protection": share.held_hours,
                "cpu_reservation": sum(t.cpu_reserved for t in mine) / cpu_registered
                if cpu_registered
                else math.nan,
                "memory_reservation": sum(t.memory_reserved for t in mine)
                / memory_registered
                if memory_registered
                else math.nan,
            }
            instance_cost = share.instance_cost_usd
        else:
            row |= dict.fromkeys(
                (
                    "instance_hours",
                    "idle_instance_hours",
                    "instance_hours_held_by_protection",
                    "cpu_reservation",
                    "memory_reservation",
                ),
                math.nan,
            )
            instance_cost = 0.0
        row["cost_usd"] = instance_cost + fargate.get(name, 0.0)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["service", *CAPACITY_COLUMNS])
    return frame.set_index("service")


def provider_outcomes(
    events: pd.DataFrame,
    *,
    prices: Prices,
    duration_s: float,
    measure_from_s: float = 0.0,
) -> pd.DataFrame:
    """One row per EC2 capacity provider (cluster level): instances launched,
    instance-hours, idle and held by protection, bin-packing, scale-ins
    blocked, Spot notices, tasks killed and cost. Empty without instances."""
    lo, hi = measure_from_s, duration_s
    # times are never negative: no copy without a warm-up
    measured = events[events["time_s"] >= lo] if lo > 0 else events
    instances = _instances(events)
    columns = [
        "capacity_provider",
        "instances_launched",
        "instance_hours",
        "idle_instance_hours",
        "instance_hours_held_by_protection",
        "cpu_reservation",
        "memory_reservation",
        "asg_scale_ins_blocked",
        "spot_instance_interruptions",
        "tasks_killed_by_instance_termination",
        "cost_usd",
    ]
    if not instances:
        return pd.DataFrame(columns=columns)
    held = _idle_protected(events, hi)
    totals = _provider_totals(instances.values(), held, prices, lo, hi)
    blocked = _count_by(measured, "asg_scale_in_blocked", "capacity_provider")
    notices = _count_by(measured, "spot_interruption_notice", "capacity_provider")
    terminated = measured[measured["kind"] == "instance_terminated"]
    killed: dict[Any, int] = {}
    for detail in terminated["detail"].to_numpy(dtype=object):
        fields = _detail(detail)
        provider = fields.get("capacity_provider")
        killed[provider] = killed.get(provider, 0) + int(fields.get("tasks_killed", 0))
    rows = [
        {
            "capacity_provider": provider,
            "instances_launched": total.instances,
            "instance_hours": total.instance_hours,
            "idle_instance_hours": total.idle_instance_hours,
            "instance_hours_held_by_protection": total.held_hours,
            "cpu_reservation": total.cpu_reserved / total.cpu_registered
            if total.cpu_registered
            else math.nan,
            "memory_reservation": total.memory_reserved / total.memory_registered
            if total.memory_registered
            else math.nan,
            "asg_scale_ins_blocked": blocked.get(provider, 0),
            "spot_instance_interruptions": notices.get(provider, 0),
            "tasks_killed_by_instance_termination": killed.get(provider, 0),
            "cost_usd": total.instance_cost_usd,
        }
        for provider, total in sorted(totals.items(), key=lambda kv: str(kv[0]))
    ]
    return pd.DataFrame(rows, columns=columns)
