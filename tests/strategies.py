"""Hypothesis strategies shared by the test modules.

Values are shaped like what the simulator passes to its pure rules: zone names,
task views, protection durations in minutes, simulated times in float seconds,
capacity provider strategies.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from ecssim.policies import WorkerView
from ecssim.rules.placement import CapacityProviderItem, TaskView
from ecssim.rules.protection import MAX_EXPIRES_IN_MINUTES, MIN_EXPIRES_IN_MINUTES

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


# ---- scenario files, workloads and protection policies ------------------------------
def yaml_scalars() -> st.SearchStrategy[object]:
    """A scalar ``yaml.safe_load`` can return: null, bool, int, float (NaN, inf), text."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    )


def yaml_values() -> st.SearchStrategy[object]:
    """Any value ``yaml.safe_load`` can return: scalars, lists and string-keyed maps."""
    return st.recursive(
        yaml_scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(max_size=8), inner, max_size=3),
        ),
        max_leaves=6,
    )


def _nodes(data: object, path: tuple[str | int, ...] = ()) -> list[tuple[Any, ...]]:
    """Every (path, value) below *data*, containers and leaves alike."""
    found: list[tuple[Any, ...]] = [(path, data)]
    if isinstance(data, Mapping):
        for key, value in data.items():
            found.extend(_nodes(value, (*path, key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found.extend(_nodes(value, (*path, i)))
    return found


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated_scenarios(
    draw: st.DrawFn, raw: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """A deep copy of the raw scenario *raw* with one random change, and its kind.

    The change is one of: a leaf replaced by a value of another type
    (``"replace"``), a key of some mapping deleted (``"delete"``), or a new
    key with any value added to some mapping (``"add"``).
    """
    data = copy.deepcopy(dict(raw))
    nodes = _nodes(data)
    leaves = [(p, v) for p, v in nodes if p and not isinstance(v, Mapping | list)]
    keyed = [(p, v) for p, v in nodes if p and isinstance(p[-1], str)]
    maps = [p for p, v in nodes if isinstance(v, Mapping)]
    kind = draw(st.sampled_from(["replace", "delete", "add"]))
    if kind == "replace":
        path, old = draw(st.sampled_from(leaves))
        new = draw(yaml_values().filter(lambda v: type(v) is not type(old)))
        _at(data, path[:-1])[path[-1]] = new
    elif kind == "delete":
        path, _ = draw(st.sampled_from(keyed))
        del _at(data, path[:-1])[path[-1]]
    else:
        path = draw(st.sampled_from(maps))
        parent = _at(data, path)
        key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in parent))
        parent[key] = draw(yaml_values())
    return kind, data


def arrivals_specs(max_rate_per_h: float = 120.0) -> st.SearchStrategy[dict[str, Any]]:
    """Raw ``arrivals`` mappings (numbers: rates per second, times in seconds)."""
    rates = st.floats(min_value=0.0, max_value=max_rate_per_h).map(lambda r: r / 3600)
    times = st.integers(min_value=0, max_value=7 * 86400)
    return st.fixed_dictionaries(
        {"rate": rates},
        optional={
            "daily_profile": st.lists(
                st.floats(min_value=0.0, max_value=5.0), min_size=24, max_size=24
            ),
            "steps": st.lists(
                st.fixed_dictionaries({"at": times, "rate": rates}), max_size=4
            ),
            "bursts": st.lists(
                st.fixed_dictionaries(
                    {
                        "at": times,
                        "duration": st.integers(min_value=1, max_value=86400),
                        "rate": rates,
                    }
                ),
                max_size=3,
            ),
        },
    ).filter(lambda a: a["rate"] > 0 or a.get("steps") or a.get("bursts"))


def worker_views(max_now_s: float = 1e7) -> st.SearchStrategy[WorkerView]:
    """What a worker shows its protection policy at some moment."""
    return st.builds(
        WorkerView,
        now_s=sim_times(max_now_s),
        busy=st.booleans(),
        sessions=st.integers(min_value=0, max_value=64),
        protected_until_s=st.none() | sim_times(2 * max_now_s),
        releasing=st.booleans(),
    )
