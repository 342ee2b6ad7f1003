"""EC2 instance types as ECS registers them, prices, and the on-demand / Spot
split of an Auto Scaling group: small pure tables and arithmetic.

Sources:

* vCPUs and installed memory: the EC2 instance type pages
  (https://aws.amazon.com/ec2/instance-types/).
* Registered memory is less than installed memory ("platform memory overhead
  and memory occupied by the system kernel"; an ``m4.large`` with 8 GiB
  installed leaves 7985 MiB for tasks):
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/memory-management.html
  and https://docs.aws.amazon.com/batch/latest/userguide/memory-management.html.
  ecssim scales installed MiB by that example's ratio (7985 / 8192) and takes
  ``ECS_RESERVED_MEMORY`` off (0 by default, as the agent's default).
* On-demand hourly prices: https://aws.amazon.com/ec2/pricing/on-demand/
  (us-east-1, Linux; as listed in 2025, never fetched at run time).
* Fargate prices and the Spot discounts are in :mod:`ecssim.results.capacity`.
* The on-demand / Spot split of a mixed instances policy
  (``OnDemandBaseCapacity``, ``OnDemandPercentageAboveBaseCapacity``):
  https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_InstancesDistribution.html
  (also the allocation strategies and their defaults, and ``SpotInstancePools``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ecssim.rules.capacity import CPU_UNITS_PER_VCPU, InvalidCapacityRule, Resources

#: Registered / installed memory of the guide's ``m4.large`` example (7985 of 8192 MiB).
REGISTERED_MEMORY_RATIO: Final = 7985 / 8192


@dataclass(frozen=True, slots=True)
class InstanceType:
    """An EC2 instance type: vCPUs, installed memory and its on-demand price."""

    name: str
    vcpus: int
    memory_gib: float
    on_demand_hourly_usd: float

    def registered(self, reserved_memory_mib: int = 0) -> Resources:
        """What the ECS agent registers: 1024 CPU units per vCPU, installed
        memory less the platform overhead and ``ECS_RESERVED_MEMORY``."""
        memory = int(self.memory_gib * 1024 * REGISTERED_MEMORY_RATIO)
        memory -= reserved_memory_mib
        if memory <= 0:
            raise InvalidCapacityRule(
                f"instance type {self.name}: reserving {reserved_memory_mib} MiB "
                "leaves no memory for tasks"
            )
        return Resources(self.vcpus * CPU_UNITS_PER_VCPU, memory)


#: The bundled catalogue (scenarios may add or override types).
INSTANCE_TYPES: Final[dict[str, InstanceType]] = {
    t.name: t
    for t in (
        InstanceType("t3.medium", 2, 4, 0.0416),
        InstanceType("t3.large", 2, 8, 0.0832),
        InstanceType("m5.large", 2, 8, 0.096),
        InstanceType("m5.xlarge", 4, 16, 0.192),
        InstanceType("m5.2xlarge", 8, 32, 0.384),
        InstanceType("m5.4xlarge", 16, 64, 0.768),
        InstanceType("m6i.large", 2, 8, 0.096),
        InstanceType("m6i.xlarge", 4, 16, 0.192),
        InstanceType("m6i.2xlarge", 8, 32, 0.384),
        InstanceType("m7g.large", 2, 8, 0.0816),
        InstanceType("m7g.xlarge", 4, 16, 0.1632),
        InstanceType("c5.large", 2, 4, 0.085),
        InstanceType("c5.xlarge", 4, 8, 0.17),
        InstanceType("c5.2xlarge", 8, 16, 0.34),
        InstanceType("c6i.xlarge", 4, 8, 0.17),
        InstanceType("r5.large", 2, 16, 0.126),
        InstanceType("r5.xlarge", 4, 32, 0.252),
    )
}


def on_demand_wanted(total: int, base: int, percent_above_base: int) -> int:
    """On-demand instances in a group of *total* under a mixed instances policy:
    the base first, then *percent_above_base* % of the rest, rounded up (the
    rest is Spot)."""
    if total < 0 or base < 0 or not 0 <= percent_above_base <= 100:
        raise InvalidCapacityRule(
            f"on-demand split of {total} instances with base {base} and "
            f"{percent_above_base} % above it is not valid"
        )
    if total <= base:
        return total
    return base + math.ceil((total - base) * percent_above_base / 100)


def next_is_spot(on_demand: int, spot: int, base: int, percent_above_base: int) -> bool:
    """Whether the group's next launch is a Spot instance, given what runs."""
    wanted = on_demand_wanted(on_demand + spot + 1, base, percent_above_base)
    return on_demand >= wanted


#: On-demand allocation strategies ecssim launches by (``prioritized`` is the
#: API's default for groups without ``InstanceRequirements``).
ON_DEMAND_STRATEGIES: Final = ("prioritized", "lowest-price")
#: Spot allocation strategies ecssim launches by (``lowest-price`` is the API's
#: default). ecssim models no Spot capacity pools, so every pool is as deep as
#: any other: ``price-capacity-optimized`` reduces to the lowest Spot price and
#: ``capacity-optimized-prioritized`` to the overrides' order.
SPOT_STRATEGIES: Final = (
    "lowest-price",
    "price-capacity-optimized",
    "capacity-optimized-prioritized",
)


def choose_instance_type(
    types: Sequence[InstanceType],
    in_zone: Mapping[str, int],
    *,
    spot: bool,
    on_demand_strategy: str = "prioritized",
    spot_strategy: str = "lowest-price",
    spot_pools: int = 2,
) -> str:
    """The instance type of a group's next launch in a zone, by the mixed
    instances policy's allocation strategy. *types* are the overrides in
    order (first = highest priority); *in_zone* counts the group's instances
    of the same purchase option (Spot or on-demand) by type in that zone.

    * on-demand ``prioritized``: the first type; ``lowest-price``: the
      cheapest (ties: the overrides' order). No capacity is ever short, so
      the next priority is never needed.
    * Spot ``lowest-price``: spread evenly over the *spot_pools* cheapest
      types (the one with fewest instances in the zone, ties by price then
      order); ``price-capacity-optimized``: the cheapest; and
      ``capacity-optimized-prioritized``: the first.
    """
    if not types:
        raise InvalidCapacityRule("a mixed instances policy needs an instance type")
    strategy = spot_strategy if spot else on_demand_strategy
    known = SPOT_STRATEGIES if spot else ON_DEMAND_STRATEGIES
    if strategy not in known:
        raise InvalidCapacityRule(
            f"{'Spot' if spot else 'on-demand'} allocation strategy {strategy!r} "
            f"is not one ecssim models ({', '.join(known)})"
        )
    order = {t.name: i for i, t in enumerate(types)}
    by_price = sorted(types, key=lambda t: (t.on_demand_hourly_usd, order[t.name]))
    if strategy in ("prioritized", "capacity-optimized-prioritized"):
        return types[0].name
    if strategy == "lowest-price" and spot:
        if spot_pools < 1:
            raise InvalidCapacityRule(f"SpotInstancePools {spot_pools} must be >= 1")
        pools = by_price[:spot_pools]
        return min(pools, key=lambda t: in_zone.get(t.name, 0)).name
    return by_price[0].name
