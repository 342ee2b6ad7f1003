"""Instance types as ECS registers them, and the on-demand / Spot split of a
mixed instances policy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.rules.capacity import InvalidCapacityRule, Resources
from ecssim.rules.instance_types import (
    INSTANCE_TYPES,
    InstanceType,
    next_is_spot,
    on_demand_wanted,
)


def test_registered_resources_follow_the_guides_m4_large_example() -> None:
    """8 GiB installed registers as 7985 MiB (the guide's m4.large), 1024 CPU
    units per vCPU, less ECS_RESERVED_MEMORY."""
    m5 = INSTANCE_TYPES["m5.large"]
    assert m5.registered() == Resources(2048, 7985)
    assert m5.registered(reserved_memory_mib=256) == Resources(2048, 7729)
    with pytest.raises(InvalidCapacityRule, match=r"t9\.tiny"):
        InstanceType("t9.tiny", 1, 0.25, 0.0).registered(reserved_memory_mib=512)


@given(
    total=st.integers(0, 500),
    base=st.integers(0, 100),
    percent=st.integers(0, 100),
)
def test_on_demand_split_keeps_the_base_then_the_percentage(
    total: int, base: int, percent: int
) -> None:
    """On-demand instances: all of them up to the base, then the base plus at
    least *percent* % of the rest (rounded up), never more than the total."""
    wanted = on_demand_wanted(total, base, percent)
    assert 0 <= wanted <= total
    if total <= base:
        assert wanted == total
    else:
        above = wanted - base
        assert above * 100 >= (total - base) * percent
        assert (above - 1) * 100 < (total - base) * percent


@given(
    launches=st.integers(1, 200), base=st.integers(0, 20), percent=st.integers(0, 100)
)
def test_launching_one_by_one_reaches_the_split(
    launches: int, base: int, percent: int
) -> None:
    """A group that launches instances one at a time, choosing each with
    next_is_spot, ends with exactly the split on_demand_wanted asks for."""
    on_demand = spot = 0
    for _ in range(launches):
        if next_is_spot(on_demand, spot, base, percent):
            spot += 1
        else:
            on_demand += 1
    assert on_demand == on_demand_wanted(launches, base, percent)


def test_bad_split_is_refused() -> None:
    """A percentage above 100 or a negative base is not a split."""
    with pytest.raises(InvalidCapacityRule):
        on_demand_wanted(4, 0, 101)
    with pytest.raises(InvalidCapacityRule):
        on_demand_wanted(4, -1, 50)
