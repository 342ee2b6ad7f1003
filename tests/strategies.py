"""Hypothesis strategies shared by the test modules.

Values are shaped like what the simulator passes to its pure rules: zone names,
task views, protection durations in minutes, simulated times in float seconds,
capacity provider strategies.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from ecssim.placement import CapacityProviderItem, TaskView
from ecssim.protection import MAX_EXPIRES_IN_MINUTES, MIN_EXPIRES_IN_MINUTES

ZONE_NAMES = ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d")


def zones(
    min_size: int = 1, max_size: int = len(ZONE_NAMES)
) -> st.SearchStrategy[list[str]]:
    """Distinct availability zone names in some configured order."""
    return st.lists(
        st.sampled_from(ZONE_NAMES), min_size=min_size, max_size=max_size, unique=True
    )


def task_ids() -> st.SearchStrategy[str]:
    """ECS-style task ids: 32 lowercase hex characters."""
    return st.integers(min_value=0, max_value=2**128 - 1).map(lambda n: f"{n:032x}")


def task_views(
    zone_names: Sequence[str] = ZONE_NAMES, min_size: int = 0, max_size: int = 30
) -> st.SearchStrategy[list[TaskView]]:
    """Live tasks of one service with distinct ids, spread over *zone_names*."""
    return st.lists(
        st.builds(
            TaskView,
            task_id=task_ids(),
            availability_zone=st.sampled_from(list(zone_names)),
            running=st.booleans(),
            protected=st.booleans(),
        ),
        min_size=min_size,
        max_size=max_size,
        unique_by=lambda t: t.task_id,
    )


def minutes() -> st.SearchStrategy[int]:
    """A valid ``expiresInMinutes``: an integer in 1..2880."""
    return st.integers(
        min_value=MIN_EXPIRES_IN_MINUTES, max_value=MAX_EXPIRES_IN_MINUTES
    )


def invalid_minutes() -> st.SearchStrategy[object]:
    """A value ``expiresInMinutes`` must reject: out of range, or not an integer."""
    return st.one_of(
        st.integers(max_value=MIN_EXPIRES_IN_MINUTES - 1),
        st.integers(min_value=MAX_EXPIRES_IN_MINUTES + 1),
        st.booleans(),
        st.floats(allow_nan=False),
        st.integers(
            min_value=MIN_EXPIRES_IN_MINUTES, max_value=MAX_EXPIRES_IN_MINUTES
        ).map(str),
    )


def sim_times(max_value: float = 1e7) -> st.SearchStrategy[float]:
    """A moment of simulated time in float seconds."""
    return st.floats(
        min_value=0.0, max_value=max_value, allow_nan=False, allow_infinity=False
    )


def capacity_strategies(
    max_size: int = 4,
) -> st.SearchStrategy[list[CapacityProviderItem]]:
    """A capacity provider strategy with distinct providers and some weight > 0."""
    return st.lists(
        st.builds(
            CapacityProviderItem,
            capacity_provider=st.sampled_from(
                ["FARGATE", "FARGATE_SPOT", "cp-on-demand", "cp-spot", "cp-arm"]
            ),
            base=st.integers(min_value=0, max_value=5),
            weight=st.integers(min_value=0, max_value=5),
        ),
        min_size=1,
        max_size=max_size,
        unique_by=lambda item: item.capacity_provider,
    ).filter(lambda items: any(item.weight > 0 for item in items))
