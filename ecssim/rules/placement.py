"""Pure rules for where the service scheduler starts tasks and which it stops.

ECS spreads a service's tasks across availability zones when it starts them and
keeps that balance when it stops them, choosing at random within a zone
(``reference/ecs-semantics.md`` §6). Scale-in protection only narrows which
tasks are eligible (DESIGN §4):

* only unprotected tasks are stopped;
* tasks that are not RUNNING yet go first;
* the zone is the one with the most live tasks of the service, counting every
  live task there, protected ones included (ties: zone name order);
* within the zone the task is drawn from the seeded generator.

No SimPy, no clock: callers pass plain views of their tasks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class TaskView:
    """What victim selection needs to know about one live task of a service."""

    task_id: str
    availability_zone: str
    running: bool
    protected: bool


def launch_zones(
    live_zones: Iterable[str], zones: Sequence[str], count: int
) -> list[str]:
    """Zones for *count* new tasks, each going to the zone with the fewest tasks.

    Args:
        live_zones: the zone of every live task of the service.
        zones: the zones the service may use, in their configured order (ties).
        count: how many tasks to place.
    """
    if not zones:
        raise ValueError("a service needs at least one availability zone")
    live = Counter(live_zones)  # counted in C: a launch sees every live task
    counts = Counter({zone: live[zone] for zone in zones})
    placed: list[str] = []
    for _ in range(count):
        zone = min(zones, key=lambda z: counts[z])
        counts[zone] += 1
        placed.append(zone)
    return placed


def select_victims(
    tasks: Sequence[TaskView],
    count: int,
    rng: np.random.Generator,
    others: Sequence[TaskView] = (),
) -> list[str]:
    """Ids of up to *count* tasks to stop on scale-in, in the order chosen.

    Protected tasks are never chosen, so fewer than *count* ids come back when
    too few tasks are unprotected. *others* are live tasks of the service that
    may not be chosen now but count towards their zone's load.
    """
    # per zone, its unprotected tasks not RUNNING yet and RUNNING, in id order;
    # every live task counts towards its zone's load, protected ones included
    pending: dict[str, list[str]] = {}
    running: dict[str, list[str]] = {}
    load = Counter(t.availability_zone for t in others)
    for t in sorted(tasks, key=lambda t: t.task_id):
        load[t.availability_zone] += 1
        if not t.protected:
            tier = running if t.running else pending
            tier.setdefault(t.availability_zone, []).append(t.task_id)
    chosen: list[str] = []
    for _ in range(count):
        tier = pending if any(pending.values()) else running
        zones = sorted(zone for zone, ids in tier.items() if ids)
        if not zones:
            break
        zone = max(zones, key=lambda z: load[z])
        in_zone = tier[zone]
        chosen.append(in_zone.pop(int(rng.integers(len(in_zone)))))
        load[zone] -= 1
    return chosen


@dataclass(frozen=True, slots=True)
class CapacityProviderItem:
    """One entry of a ``capacityProviderStrategy``."""

    capacity_provider: str
    base: int = 0
    weight: int = 1


def choose_capacity_provider(
    strategy: Sequence[CapacityProviderItem], live_counts: dict[str, int]
) -> str:
    """The capacity provider for the next task of a service.

    Bases are filled first, in strategy order; after that the task goes to the
    provider furthest below its weighted share (ties: strategy order).
    """
    if not strategy:
        raise ValueError("an empty capacity provider strategy places nothing")
    for item in strategy:
        if live_counts.get(item.capacity_provider, 0) < item.base:
            return item.capacity_provider
    weighted = [item for item in strategy if item.weight > 0] or list(strategy)
    return min(
        weighted,
        key=lambda item: (
            max(0, live_counts.get(item.capacity_provider, 0) - item.base)
            / max(item.weight, 1)
        ),
    ).capacity_provider
