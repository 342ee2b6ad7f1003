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
    choose_instance_type,
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


_MIXED = [
    INSTANCE_TYPES[n] for n in ("m5.xlarge", "c5.xlarge", "m7g.xlarge", "r5.xlarge")
]


def test_on_demand_strategies_pick_the_first_or_the_cheapest() -> None:
    """prioritized launches the first override; lowest-price the cheapest
    (c5.xlarge at $0.17 of these four), whatever already runs."""
    assert choose_instance_type(_MIXED, {}, spot=False) == "m5.xlarge"
    for running in ({}, {"c5.xlarge": 5}):
        assert (
            choose_instance_type(
                _MIXED, running, spot=False, on_demand_strategy="lowest-price"
            )
            == "m7g.xlarge"
        )


def test_spot_lowest_price_spreads_over_the_cheapest_pools() -> None:
    """Spot lowest-price with 2 pools alternates between the two cheapest types
    (m7g.xlarge $0.1632, c5.xlarge $0.17) and never launches the others."""
    running: dict[str, int] = {}
    launched = []
    for _ in range(6):
        name = choose_instance_type(_MIXED, running, spot=True, spot_pools=2)
        running[name] = running.get(name, 0) + 1
        launched.append(name)
    assert launched == ["m7g.xlarge", "c5.xlarge"] * 3
    one_pool = choose_instance_type(_MIXED, {"m7g.xlarge": 9}, spot=True, spot_pools=1)
    assert one_pool == "m7g.xlarge"


def test_other_spot_strategies_without_capacity_pools() -> None:
    """price-capacity-optimized takes the cheapest type (every pool is as deep),
    capacity-optimized-prioritized the first override."""
    assert (
        choose_instance_type(
            _MIXED, {}, spot=True, spot_strategy="price-capacity-optimized"
        )
        == "m7g.xlarge"
    )
    assert (
        choose_instance_type(
            _MIXED, {}, spot=True, spot_strategy="capacity-optimized-prioritized"
        )
        == "m5.xlarge"
    )
    with pytest.raises(InvalidCapacityRule, match="capacity-optimized"):
        choose_instance_type(_MIXED, {}, spot=True, spot_strategy="capacity-optimized")


@given(
    st.lists(
        st.sampled_from(sorted(INSTANCE_TYPES)), min_size=1, max_size=6, unique=True
    ),
    st.integers(1, 6),
    st.integers(1, 30),
)
def test_spot_lowest_price_keeps_pools_balanced(
    names: list[str], pools: int, launches: int
) -> None:
    """Launching one by one under lowest-price uses only the *pools* cheapest
    types and keeps their counts within one of each other."""
    types = [INSTANCE_TYPES[n] for n in names]
    running: dict[str, int] = {}
    for _ in range(launches):
        name = choose_instance_type(types, running, spot=True, spot_pools=pools)
        running[name] = running.get(name, 0) + 1
    cheapest = sorted(
        types, key=lambda t: (t.on_demand_hourly_usd, names.index(t.name))
    )
    allowed = {t.name for t in cheapest[:pools]}
    assert set(running) <= allowed
    counts = [running.get(n, 0) for n in allowed]
    assert max(counts) - min(counts) <= 1
