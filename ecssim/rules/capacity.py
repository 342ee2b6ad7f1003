"""Pure rules for EC2 capacity: container-instance resources, where a task is
placed and which tasks a scale-in stops (placement strategies and constraints),
how a capacity provider strategy splits tasks, the arithmetic of cluster auto
scaling (managed scaling) and managed termination protection.

Sources (the Amazon ECS Developer Guide and API Reference):

* Task placement, the order ECS follows (resources, then constraints, then
  strategies): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement.html
* Strategies ``binpack``/``random``/``spread``:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html
  and https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PlacementStrategy.html
* Constraints ``distinctInstance``/``memberOf`` and the built-in attribute
  ``ecs.availability-zone``:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-constraints.html
  and the expression syntax:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-query-language.html
* The service scheduler's default placement and scale-in order (spread over
  zones, then favour the instance with the fewest / most tasks of the service):
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_services.html
* Capacity provider strategies (``base``, ``weight``):
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-capacity-providers.html
* Cluster auto scaling, ``CapacityProviderReservation``, managed scale-out and
  scale-in, managed termination protection:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-auto-scaling.html,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-termination-protection.html,
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ManagedScaling.html and
  https://aws.amazon.com/blogs/containers/deep-dive-on-amazon-ecs-cluster-auto-scaling/
* The Auto Scaling group's default termination policy (zone balance first):
  https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-termination-policies.html

Where AWS is silent the choice is stated next to the rule. No SimPy, no pandas,
no clock: callers pass plain views and the time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from ecssim.errors import EcsSimError
from ecssim.rules.placement import CapacityProviderItem, choose_capacity_provider

#: CPU units of one vCPU (task definitions and container instances count in units)
CPU_UNITS_PER_VCPU: Final = 1024
#: The placement attribute of an instance's availability zone
ZONE_ATTRIBUTE: Final = "attribute:ecs.availability-zone"
#: ``host`` has the same effect as ``instanceId`` for ``spread``
INSTANCE_FIELDS: Final = ("instanceId", "host")
RESOURCE_FIELDS: Final = ("cpu", "memory")
STRATEGY_TYPES: Final = ("binpack", "random", "spread")
CONSTRAINT_TYPES: Final = ("distinctInstance", "memberOf")
#: ECS limits: at most 5 strategies and 10 constraints per task or service
#: (API_CreateService: placementStrategy "maximum of 5", placementConstraints
#: "maximum of 10")
MAX_STRATEGIES: Final = 5
MAX_CONSTRAINTS: Final = 10


class InvalidCapacityRule(EcsSimError, ValueError):
    """A placement strategy, constraint or scaling setting that ECS would refuse,
    or one ecssim does not model; the message names the value."""


# ---- resources -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Resources:
    """CPU (units, 1024 per vCPU) and memory (MiB) of an instance or a task."""

    cpu: int
    memory: int

    def __post_init__(self) -> None:
        if self.cpu < 0 or self.memory < 0:
            raise InvalidCapacityRule(
                f"resources cannot be negative: cpu {self.cpu}, memory {self.memory}"
            )

    def fits(self, need: Resources) -> bool:
        """Whether *need* fits in these (remaining) resources."""
        return need.cpu <= self.cpu and need.memory <= self.memory

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory)

    def __sub__(self, other: Resources) -> Resources:
        """What is left after *other* is reserved (raises if it does not fit)."""
        if not self.fits(other):
            raise InvalidCapacityRule(f"{other} does not fit in {self}")
        return Resources(self.cpu - other.cpu, self.memory - other.memory)

    def amount(self, field: str) -> int:
        """The value of ``cpu`` or ``memory`` (a ``binpack`` field)."""
        if field == "cpu":
            return self.cpu
        if field == "memory":
            return self.memory
        raise InvalidCapacityRule(
            f"binpack field must be one of {', '.join(RESOURCE_FIELDS)}; got {field!r}"
        )


def remaining_resources(
    registered: Resources, reserved: Iterable[Resources]
) -> Resources:
    """An instance's ``remainingResources``: registered minus what its tasks reserve.

    Raises:
        InvalidCapacityRule: the tasks reserve more than the instance has (an
            over-committed instance, which placement never produces).
    """
    left = registered
    for need in reserved:
        left = left - need
    return left


@dataclass(frozen=True, slots=True)
class InstanceView:
    """What placement needs to know about one container instance.

    Attributes:
        instance_id: the container instance's id (``instanceId`` for ``spread``).
        availability_zone: its ``ecs.availability-zone`` attribute.
        registered: ``registeredResources`` (CPU units, MiB).
        remaining: ``remainingResources``.
        active: status ACTIVE; a DRAINING instance takes no new task.
    """

    instance_id: str
    availability_zone: str
    registered: Resources
    remaining: Resources
    active: bool = True


# ---- strategies and constraints ------------------------------------------------------

_ZONE_EQUALS_RE: Final = re.compile(
    r"^\s*attribute:ecs\.availability-zone\s*(?:==|equals)\s*([A-Za-z0-9-]+)\s*$"
)
_ZONE_IN_RE: Final = re.compile(
    r"^\s*attribute:ecs\.availability-zone\s+in\s*\[([^\]]*)\]\s*$"
)
_ZONE_NAME_RE: Final = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True, slots=True)
class PlacementStrategy:
    """One ``placementStrategy`` entry: ``type`` and ``field``."""

    type: str
    field: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> PlacementStrategy:
        """Check one API ``placementStrategy`` entry and return it.

        ``spread`` takes ``instanceId`` (or ``host``, the same thing) or
        ``attribute:ecs.availability-zone``; ``binpack`` takes ``cpu`` or
        ``memory``; ``random`` takes no field. Other attributes are not
        modelled (ecssim's instances carry only the zone attribute).
        """
        kind = raw.get("type")
        field = raw.get("field")
        if kind not in STRATEGY_TYPES:
            raise InvalidCapacityRule(
                f"placementStrategy type must be one of {', '.join(STRATEGY_TYPES)}; "
                f"got {kind!r}"
            )
        if kind == "spread":
            if field in INSTANCE_FIELDS:
                return cls("spread", "instanceId")
            if field == ZONE_ATTRIBUTE:
                return cls("spread", ZONE_ATTRIBUTE)
            raise InvalidCapacityRule(
                "spread field must be instanceId, host or "
                f"{ZONE_ATTRIBUTE} (ecssim models no other attribute); got {field!r}"
            )
        if kind == "binpack":
            if field not in RESOURCE_FIELDS:
                raise InvalidCapacityRule(
                    f"binpack field must be cpu or memory; got {field!r}"
                )
            return cls("binpack", field)
        if field not in (None, ""):
            raise InvalidCapacityRule(f"random takes no field; got {field!r}")
        return cls("random")


@dataclass(frozen=True, slots=True)
class PlacementConstraint:
    """One ``placementConstraints`` entry: ``distinctInstance``, or ``memberOf``
    with the availability zones its expression allows."""

    type: str
    zones: frozenset[str] | None = None
    expression: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> PlacementConstraint:
        """Check one API ``placementConstraints`` entry and return it."""
        kind = raw.get("type")
        expression = raw.get("expression")
        if kind == "distinctInstance":
            if expression not in (None, ""):
                raise InvalidCapacityRule(
                    f"distinctInstance takes no expression; got {expression!r}"
                )
            return cls("distinctInstance")
        if kind == "memberOf":
            if not isinstance(expression, str) or not expression.strip():
                raise InvalidCapacityRule("memberOf needs an expression")
            return cls("memberOf", zone_expression(expression), expression)
        raise InvalidCapacityRule(
            "placementConstraints type must be distinctInstance or memberOf; "
            f"got {kind!r}"
        )


def zone_expression(expression: str) -> frozenset[str]:
    """The zones a cluster-query-language expression on the zone attribute allows.

    Two forms are modelled: ``attribute:ecs.availability-zone == us-east-1a``
    (or ``equals``) and ``attribute:ecs.availability-zone in [us-east-1a,
    us-east-1b]``.

    Raises:
        InvalidCapacityRule: any other expression (other attributes, other
            operators, compound expressions), naming it.
    """
    match = _ZONE_EQUALS_RE.match(expression)
    if match:
        return frozenset({match.group(1)})
    match = _ZONE_IN_RE.match(expression)
    if match:
        names = [n.strip().strip("'\"") for n in match.group(1).split(",")]
        if names and all(_ZONE_NAME_RE.match(n) for n in names):
            return frozenset(names)
    raise InvalidCapacityRule(
        f"expression {expression!r} is not modelled: ecssim understands "
        f"'{ZONE_ATTRIBUTE} == ZONE' and '{ZONE_ATTRIBUTE} in [ZONE, ...]' only"
    )


def parse_strategies(raw: Sequence[Mapping[str, Any]]) -> tuple[PlacementStrategy, ...]:
    """Every entry of an API ``placementStrategy`` list, checked (at most 5)."""
    if len(raw) > MAX_STRATEGIES:
        raise InvalidCapacityRule(
            f"placementStrategy can have at most {MAX_STRATEGIES} entries; got {len(raw)}"
        )
    return tuple(PlacementStrategy.from_api(item) for item in raw)


def parse_constraints(
    raw: Sequence[Mapping[str, Any]],
) -> tuple[PlacementConstraint, ...]:
    """Every entry of an API ``placementConstraints`` list, checked (at most 10)."""
    if len(raw) > MAX_CONSTRAINTS:
        raise InvalidCapacityRule(
            f"placementConstraints can have at most {MAX_CONSTRAINTS} entries; "
            f"got {len(raw)}"
        )
    return tuple(PlacementConstraint.from_api(item) for item in raw)


#: The service scheduler's default when a service has no placement strategy:
#: balance the zones, then favour the instance with the fewest (on scale-in: the
#: most) tasks of the service (ecs_services.html, "Service scheduler concepts").
DEFAULT_SERVICE_STRATEGIES: Final = (
    PlacementStrategy("spread", ZONE_ATTRIBUTE),
    PlacementStrategy("spread", "instanceId"),
)


# ---- placement ---------------------------------------------------------------------


def satisfies(
    instance: InstanceView,
    constraints: Sequence[PlacementConstraint],
    group_counts: Mapping[str, int],
) -> bool:
    """Whether *instance* meets every constraint (binding, unlike strategies).

    *group_counts* counts the live tasks of the task's group (its service) per
    instance id, for ``distinctInstance``.
    """
    for constraint in constraints:
        if constraint.type == "distinctInstance":
            if group_counts.get(instance.instance_id, 0) > 0:
                return False
        elif (
            constraint.zones is not None
            and instance.availability_zone not in constraint.zones
        ):
            return False
    return True


def candidates(
    instances: Sequence[InstanceView],
    need: Resources,
    constraints: Sequence[PlacementConstraint],
    group_counts: Mapping[str, int],
) -> list[InstanceView]:
    """ACTIVE instances with room for *need* that meet the constraints, by id."""
    return sorted(
        (
            i
            for i in instances
            if i.active
            and i.remaining.fits(need)
            and satisfies(i, constraints, group_counts)
        ),
        key=lambda i: i.instance_id,
    )


def _zone_counts(
    instances: Iterable[InstanceView], group_counts: Mapping[str, int]
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for instance in instances:
        counts[instance.availability_zone] += group_counts.get(instance.instance_id, 0)
    return counts


def place_task(
    instances: Sequence[InstanceView],
    need: Resources,
    *,
    strategies: Sequence[PlacementStrategy],
    constraints: Sequence[PlacementConstraint],
    group_counts: Mapping[str, int],
    rng: np.random.Generator,
) -> str | None:
    """The instance id for one task, or None when no instance has room.

    ECS's order: instances with the CPU and memory, then the constraints, then
    the strategies in order, each narrowing the candidates:

    * ``spread`` on the zone keeps the zones with the fewest tasks of the group
      (counted over every instance of the zone); on ``instanceId`` the
      instances with the fewest;
    * ``binpack`` keeps the instances with the least remaining CPU or memory
      ("the least available amount ... but still enough to run the task");
    * ``random`` draws one.

    Remaining ties are drawn from *rng* (AWS does not say how it breaks them).
    An empty strategy list draws among all candidates; a service without
    strategies should pass :data:`DEFAULT_SERVICE_STRATEGIES`.
    """
    pool = candidates(instances, need, constraints, group_counts)
    if not pool:
        return None
    for strategy in strategies:
        if len(pool) == 1:
            break
        if strategy.type == "spread" and strategy.field == ZONE_ATTRIBUTE:
            zones = _zone_counts(instances, group_counts)
            low = min(zones[i.availability_zone] for i in pool)
            pool = [i for i in pool if zones[i.availability_zone] == low]
        elif strategy.type == "spread":
            low = min(group_counts.get(i.instance_id, 0) for i in pool)
            pool = [i for i in pool if group_counts.get(i.instance_id, 0) == low]
        elif strategy.type == "binpack":
            field = strategy.field or "memory"
            low = min(i.remaining.amount(field) for i in pool)
            pool = [i for i in pool if i.remaining.amount(field) == low]
        else:
            pool = [pool[int(rng.integers(len(pool)))]]
    if len(pool) == 1:
        return pool[0].instance_id
    return pool[int(rng.integers(len(pool)))].instance_id


def place_tasks(
    instances: Sequence[InstanceView],
    need: Resources,
    count: int,
    *,
    strategies: Sequence[PlacementStrategy],
    constraints: Sequence[PlacementConstraint],
    group_counts: Mapping[str, int],
    rng: np.random.Generator,
) -> list[str | None]:
    """Instance ids for *count* identical tasks placed one after the other, each
    seeing the resources and group counts the earlier ones took; None for each
    task that finds no room."""
    current = {i.instance_id: i for i in instances}
    counts = Counter(group_counts)
    placed: list[str | None] = []
    for _ in range(count):
        chosen = place_task(
            list(current.values()),
            need,
            strategies=strategies,
            constraints=constraints,
            group_counts=counts,
            rng=rng,
        )
        placed.append(chosen)
        if chosen is None:
            placed.extend([None] * (count - len(placed)))
            break
        old = current[chosen]
        current[chosen] = InstanceView(
            old.instance_id,
            old.availability_zone,
            old.registered,
            old.remaining - need,
            old.active,
        )
        counts[chosen] += 1
    return placed


# ---- scale-in ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlacedTaskView:
    """What scale-in needs to know about one live task of a service on EC2."""

    task_id: str
    instance_id: str
    availability_zone: str
    need: Resources
    running: bool
    protected: bool


def select_tasks_to_stop(
    tasks: Sequence[PlacedTaskView],
    count: int,
    *,
    strategies: Sequence[PlacementStrategy],
    instances: Mapping[str, Resources],
    rng: np.random.Generator,
    others: Sequence[PlacedTaskView] = (),
) -> list[str]:
    """Ids of up to *count* tasks to stop on scale-in, in the order chosen.

    Protected tasks are never chosen; tasks not yet RUNNING go first (as
    :func:`ecssim.rules.placement.select_victims`). Then the strategies narrow
    the choice, in order ("a task is selected that leaves the remaining tasks
    with the best spread", ecs_services.html):

    * ``spread`` on the zone keeps the tasks in the zones with the most live
      tasks of the service (protected ones counted, and *others*, tasks that may
      not be chosen now); on ``instanceId`` the tasks on the instances with the
      most;
    * ``binpack`` keeps the tasks whose instance has the most of the resource
      left after they stop (ecssim's reading: stopping there undoes the least
      packing; AWS documents binpack's scale-in only as "which tasks to
      terminate");
    * ``random`` draws one.

    Remaining ties are drawn from *rng*.

    Args:
        tasks: the candidates (the live tasks of the service).
        count: how many to stop.
        strategies: the service's strategies (or
            :data:`DEFAULT_SERVICE_STRATEGIES`).
        instances: the remaining resources of every instance a task is on.
        rng: the generator ties are drawn from.
        others: live tasks that count towards spread but may not be chosen.
    """
    remaining = sorted(tasks, key=lambda t: t.task_id)
    left = dict(instances)
    missing = sorted({t.instance_id for t in remaining} - set(left))
    if missing:
        raise InvalidCapacityRule(f"no remaining resources given for {missing[0]}")
    chosen: list[str] = []
    for _ in range(count):
        eligible = [t for t in remaining if not t.protected]
        if not eligible:
            break
        pool = [t for t in eligible if not t.running] or eligible
        for strategy in strategies:
            if len(pool) == 1:
                break
            if strategy.type == "spread":
                by_zone = strategy.field == ZONE_ATTRIBUTE
                counts = Counter(
                    t.availability_zone if by_zone else t.instance_id
                    for t in [*remaining, *others]
                )
                high = max(
                    counts[t.availability_zone if by_zone else t.instance_id]
                    for t in pool
                )
                pool = [
                    t
                    for t in pool
                    if counts[t.availability_zone if by_zone else t.instance_id] == high
                ]
            elif strategy.type == "binpack":
                field = strategy.field or "memory"
                after = {
                    t.task_id: (left[t.instance_id] + t.need).amount(field)
                    for t in pool
                }
                most = max(after.values())
                pool = [t for t in pool if after[t.task_id] == most]
            else:
                pool = [pool[int(rng.integers(len(pool)))]]
        victim = pool[0] if len(pool) == 1 else pool[int(rng.integers(len(pool)))]
        chosen.append(victim.task_id)
        remaining.remove(victim)
        left[victim.instance_id] = left[victim.instance_id] + victim.need
    return chosen


# ---- capacity provider strategies ------------------------------------------------------


def distribute_tasks(
    strategy: Sequence[CapacityProviderItem],
    count: int,
    live_counts: Mapping[str, int],
) -> list[str]:
    """The capacity provider of each of *count* new tasks, in launch order.

    ``base`` tasks first (only one provider may have one), then the rest in
    proportion to ``weight`` ("the relative percentage of the total number of
    launched tasks", counted after the base); a weight of 0 gets no task beyond
    its base. Each choice is :func:`ecssim.rules.placement.choose_capacity_provider`
    over the counts so far, so a service's existing tasks are taken into account.
    """
    counts = dict(live_counts)
    chosen = []
    for _ in range(count):
        provider = choose_capacity_provider(strategy, counts)
        counts[provider] = counts.get(provider, 0) + 1
        chosen.append(provider)
    return chosen


# ---- managed scaling ----------------------------------------------------------------------

#: The managed scale-in alarm needs 15 datapoints of 1 minute below the target
#: (cluster-auto-scaling.html, "Scale-in considerations").
SCALE_IN_DATAPOINTS: Final = 15
#: The managed scale-out alarm fires on 1 datapoint of 1 minute above the target
#: (the alarm ECS creates; AWS's guide says "every minute" without a count:
#: ecssim's reading, a knob for the process layer).
SCALE_OUT_DATAPOINTS: Final = 1
#: ``maximumScalingStepSize`` default and the ranges of API_ManagedScaling
MAX_STEP_DEFAULT: Final = 10_000
MAX_STEP_LIMIT: Final = 10_000
MAX_WARMUP_S: Final = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagedScaling:
    """A capacity provider's ``managedScaling`` (API_ManagedScaling), checked.

    Attributes:
        enabled: ``status`` ENABLED.
        target_capacity: ``targetCapacity``, 1..100 percent (default 100).
        minimum_scaling_step_size: 1..10000 instances (default 1).
        maximum_scaling_step_size: 1..10000 instances (default 10000).
        instance_warmup_period_s: 0..10000 seconds (default 300).
    """

    enabled: bool = True
    target_capacity: int = 100
    minimum_scaling_step_size: int = 1
    maximum_scaling_step_size: int = MAX_STEP_DEFAULT
    instance_warmup_period_s: float = 300.0

    def __post_init__(self) -> None:
        if not 1 <= self.target_capacity <= 100:
            raise InvalidCapacityRule(
                f"targetCapacity {self.target_capacity} is outside 1..100"
            )
        for name, value in (
            ("minimumScalingStepSize", self.minimum_scaling_step_size),
            ("maximumScalingStepSize", self.maximum_scaling_step_size),
        ):
            if not 1 <= value <= MAX_STEP_LIMIT:
                raise InvalidCapacityRule(
                    f"{name} {value} is outside 1..{MAX_STEP_LIMIT}"
                )
        if self.minimum_scaling_step_size > self.maximum_scaling_step_size:
            raise InvalidCapacityRule(
                f"minimumScalingStepSize {self.minimum_scaling_step_size} is above "
                f"maximumScalingStepSize {self.maximum_scaling_step_size}"
            )
        if not 0 <= self.instance_warmup_period_s <= MAX_WARMUP_S:
            raise InvalidCapacityRule(
                f"instanceWarmupPeriod {self.instance_warmup_period_s} is outside "
                f"0..{MAX_WARMUP_S} seconds"
            )


def tasks_per_instance(instance: Resources, need: Resources) -> int:
    """How many tasks needing *need* an empty instance of *instance* holds."""
    limits = [
        have // want
        for have, want in ((instance.cpu, need.cpu), (instance.memory, need.memory))
        if want > 0
    ]
    return min(limits) if limits else MAX_STEP_LIMIT


def scale_out_estimate(
    provisioning: Mapping[Resources, int],
    smallest: Resources,
    largest: Resources | None = None,
) -> int:
    """The documented estimate of instances to add for tasks waiting in
    PROVISIONING (cluster-auto-scaling.html, "Managed scale-out behavior").

    The waiting tasks are grouped by identical requirements (*provisioning*:
    requirements -> count); a group that does not fit on the smallest instance
    type is not compatible and is left out; each other group is bin-packed onto
    empty instances of the largest type. ECS takes the largest of the groups'
    counts ("the maximum calculated instance count", a lower bound: the groups
    could share instances). 0 when no group is compatible.
    """
    largest = largest or smallest
    counts = [
        math.ceil(waiting / tasks_per_instance(largest, need))
        for need, waiting in provisioning.items()
        if waiting > 0 and smallest.fits(need)
    ]
    return max(counts, default=0)


def scale_out_step(estimate: int, settings: ManagedScaling) -> int:
    """Instances to add for *estimate*: ``minimumScalingStepSize`` when the
    estimate is below it, else the lower of the estimate and
    ``maximumScalingStepSize``; 0 when nothing waits."""
    if estimate <= 0:
        return 0
    return max(
        settings.minimum_scaling_step_size,
        min(settings.maximum_scaling_step_size, estimate),
    )


def instances_needed(running: int, busy: int, step: int) -> int:
    """M, the instances the capacity provider needs.

    With tasks waiting for room (*step* > 0, from :func:`scale_out_step`), the
    running instances plus the step; otherwise the instances running at least
    one non-daemon task (*busy*): an instance with only daemon tasks counts as
    empty.
    """
    if not 0 <= busy <= running:
        raise InvalidCapacityRule(
            f"busy instances {busy} must be within 0..running {running}"
        )
    return running + step if step > 0 else busy


def capacity_provider_reservation(needed: int, running: int) -> float:
    """``CapacityProviderReservation`` = instances needed / running x 100.

    With no running instance: 100 when none is needed, 200 when some are (the
    guide: from no available instance ECS "always scales-out to 200%").
    """
    if running == 0:
        return 100.0 if needed == 0 else 200.0
    return needed / running * 100.0


def target_desired_capacity(needed: int, settings: ManagedScaling) -> int:
    """The Auto Scaling group's desired capacity that brings the metric to
    ``targetCapacity``: ceil(running x metric / target) = ceil(M x 100 / target).

    From zero running instances (where the metric cannot scale) the same
    formula is applied to M, so a first scale-out launches the step.
    """
    return -(-needed * 100 // settings.target_capacity)


def scale_in_desired(current: int, wanted: int) -> int:
    """The desired capacity after one minute of managed scale-in towards *wanted*.

    The guide: once scale-in starts, the group's desired capacity goes down by
    "greater than one instance and less than 50%" each minute. ecssim reads it
    as at least 1 and at most half of the current capacity (rounded down, at
    least 1) per minute.
    """
    if wanted >= current:
        return current
    most = max(1, current // 2)
    return current - min(current - wanted, most)


def clamp_desired(desired: int, min_size: int, max_size: int) -> int:
    """*desired* within the Auto Scaling group's min and max (cluster auto
    scaling never changes them)."""
    if min_size > max_size:
        raise InvalidCapacityRule(f"MinSize {min_size} is above MaxSize {max_size}")
    return max(min_size, min(max_size, desired))


def scale_out_blocked(
    launched_at: Iterable[float], now: float, settings: ManagedScaling
) -> bool:
    """Whether a further scale-out waits: any instance launched less than
    ``instanceWarmupPeriod`` ago blocks it (step 7 of "Managed scale-out
    behavior")."""
    return any(now - t < settings.instance_warmup_period_s for t in launched_at)


# ---- managed termination protection -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstanceLoad:
    """An instance of an Auto Scaling group, as scale-in sees it."""

    instance_id: str
    availability_zone: str
    non_daemon_tasks: int
    daemon_tasks: int = 0


def is_empty(instance: InstanceLoad) -> bool:
    """Empty for cluster auto scaling: no non-daemon task (daemon tasks are
    ignored, "because all of the instances in the cluster are running these
    tasks")."""
    return instance.non_daemon_tasks == 0


def terminable(instance: InstanceLoad, managed_termination_protection: bool) -> bool:
    """Whether the group may terminate *instance* on scale-in: with managed
    termination protection only an empty one (ECS keeps scale-in protection on
    the others); without it any instance, whatever runs there."""
    return is_empty(instance) or not managed_termination_protection


def instances_to_terminate(
    instances: Sequence[InstanceLoad],
    count: int,
    *,
    managed_termination_protection: bool,
    rng: np.random.Generator,
) -> list[str]:
    """Ids of up to *count* instances the Auto Scaling group terminates, in order.

    Only :func:`terminable` instances are chosen. Among them, the group's default
    termination policy: the zone with the most instances of the group (all of
    them counted; ties: zone name order), then, since ecssim models no launch
    templates or billing hours, at random within the zone.
    """
    remaining = sorted(instances, key=lambda i: i.instance_id)
    chosen: list[str] = []
    for _ in range(count):
        pool = [i for i in remaining if terminable(i, managed_termination_protection)]
        if not pool:
            break
        zones = Counter(i.availability_zone for i in remaining)
        zone = max(sorted({i.availability_zone for i in pool}), key=lambda z: zones[z])
        in_zone = [i for i in pool if i.availability_zone == zone]
        victim = in_zone[int(rng.integers(len(in_zone)))]
        chosen.append(victim.instance_id)
        remaining.remove(victim)
    return chosen
