"""Edges of the instance type rules that mutation testing found untested
(docs/mutation-testing.md): the last MiB an instance can register, and the
messages that name what was refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.rules.capacity import InvalidCapacityRule, Resources
from ecssim.rules.instance_types import (
    INSTANCE_TYPES,
    InstanceType,
    choose_instance_type,
    on_demand_wanted,
)


@given(name=st.sampled_from(sorted(INSTANCE_TYPES)), left=st.integers(-64, 64))
def test_a_reservation_may_leave_one_mib_but_not_zero(name: str, left: int) -> None:
    """ECS_RESERVED_MEMORY may take all but the last MiB of what the type
    registers; leaving 0 MiB or less is refused with the type and the amount."""
    itype = INSTANCE_TYPES[name]
    full = itype.registered().memory
    reserved = full - left
    if left >= 1:
        got = itype.registered(reserved_memory_mib=reserved)
        assert got == Resources(itype.vcpus * 1024, left)
    else:
        message = (
            f"instance type {name}: reserving {reserved} MiB leaves no memory for tasks"
        )
        with pytest.raises(InvalidCapacityRule, match=f"^{re.escape(message)}$"):
            itype.registered(reserved_memory_mib=reserved)


def test_reserving_everything_is_refused_and_one_mib_less_is_not() -> None:
    """An m5.large registers 7985 MiB: reserving 7984 leaves 1, reserving 7985
    leaves nothing."""
    m5 = INSTANCE_TYPES["m5.large"]
    assert m5.registered(reserved_memory_mib=7984) == Resources(2048, 1)
    with pytest.raises(
        InvalidCapacityRule,
        match=r"^instance type m5\.large: reserving 7985 MiB leaves no memory for tasks$",
    ):
        m5.registered(reserved_memory_mib=7985)


@pytest.mark.parametrize(
    ("total", "base", "percent"),
    [(-1, 0, 50), (4, -2, 50), (4, 1, 101), (4, 1, -1)],
)
def test_a_bad_split_names_every_value(total: int, base: int, percent: int) -> None:
    """The refusal of an impossible split states the total, the base and the
    percentage it was given."""
    message = (
        f"on-demand split of {total} instances with base {base} and "
        f"{percent} % above it is not valid"
    )
    with pytest.raises(InvalidCapacityRule, match=f"^{re.escape(message)}$"):
        on_demand_wanted(total, base, percent)


# ---- choose_instance_type (added after the first run) ------------------------------
_FOUR = [
    INSTANCE_TYPES[n] for n in ("m5.xlarge", "c5.xlarge", "m7g.xlarge", "r5.xlarge")
]


def test_spot_lowest_price_uses_two_pools_by_default() -> None:
    """SpotInstancePools defaults to 2, as the API's: with the two cheapest
    types (m7g, c5) each already running more than the third cheapest (m5),
    the next Spot launch still goes to one of the two, never to m5."""
    running = {"m7g.xlarge": 3, "c5.xlarge": 3}
    assert choose_instance_type(_FOUR, running, spot=True) in {
        "m7g.xlarge",
        "c5.xlarge",
    }
    assert choose_instance_type(_FOUR, running, spot=True, spot_pools=3) == "m5.xlarge"


def test_price_capacity_optimized_ignores_what_runs() -> None:
    """price-capacity-optimized launches the cheapest type however many of it
    run already: it does not spread like lowest-price."""
    running = {"m7g.xlarge": 9}
    name = choose_instance_type(
        _FOUR, running, spot=True, spot_strategy="price-capacity-optimized"
    )
    assert name == "m7g.xlarge"


@pytest.mark.parametrize(
    ("types", "kwargs", "message"),
    [
        ([], {"spot": False}, "a mixed instances policy needs an instance type"),
        (
            _FOUR,
            {"spot": True, "spot_strategy": "capacity-optimized"},
            "Spot allocation strategy 'capacity-optimized' is not one ecssim models "
            "(lowest-price, price-capacity-optimized, capacity-optimized-prioritized)",
        ),
        (
            _FOUR,
            {"spot": False, "on_demand_strategy": "cheapest"},
            "on-demand allocation strategy 'cheapest' is not one ecssim models "
            "(prioritized, lowest-price)",
        ),
        (_FOUR, {"spot": True, "spot_pools": 0}, "SpotInstancePools 0 must be >= 1"),
    ],
)
def test_choose_instance_type_refusals_say_what_is_wrong(
    types: list[InstanceType], kwargs: dict[str, Any], message: str
) -> None:
    """Each refusal names the strategy or setting and what is allowed."""
    with pytest.raises(InvalidCapacityRule) as excinfo:
        choose_instance_type(types, {}, **kwargs)
    assert str(excinfo.value) == message
