"""EC2 capacity rules of ecssim.rules.capacity at their edges: what the API
parsers return and refuse (each message exactly), list limits, placement and
scale-in with existing tasks, the capacity provider split after a base,
managed scaling's arithmetic and the group's termination choice. Written from
the mutants mutmut found surviving (docs/mutation-testing.md)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.rules.capacity import (
    MAX_STEP_LIMIT,
    ZONE_ATTRIBUTE,
    InstanceLoad,
    InstanceView,
    InvalidCapacityRule,
    ManagedScaling,
    PlacedTaskView,
    PlacementConstraint,
    PlacementStrategy,
    Resources,
    clamp_desired,
    distribute_tasks,
    instances_needed,
    instances_to_terminate,
    parse_constraints,
    parse_strategies,
    place_tasks,
    scale_in_desired,
    scale_out_blocked,
    scale_out_estimate,
    select_tasks_to_stop,
    tasks_per_instance,
    zone_expression,
)
from ecssim.rules.placement import CapacityProviderItem

seeds = st.integers(min_value=0, max_value=2**32 - 1)
ZONE_IS_A = f"{ZONE_ATTRIBUTE} == us-east-1a"


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


# ---- parsing the API's strategies and constraints ------------------------------------


def test_strategies_parse_to_what_they_say() -> None:
    """spread on the zone attribute and random with an empty field parse to
    themselves."""
    assert PlacementStrategy.from_api(
        {"type": "spread", "field": ZONE_ATTRIBUTE}
    ) == PlacementStrategy("spread", ZONE_ATTRIBUTE)
    assert PlacementStrategy.from_api({"type": "random", "field": ""}) == (
        PlacementStrategy("random")
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"type": "pack"},
            "placementStrategy type must be one of binpack, random, spread; got 'pack'",
        ),
        (
            {"type": "spread", "field": "attribute:ecs.instance-type"},
            "spread field must be instanceId, host or attribute:ecs.availability-zone "
            "(ecssim models no other attribute); got 'attribute:ecs.instance-type'",
        ),
    ],
)
def test_bad_strategies_are_refused_naming_the_value(
    raw: dict[str, str], message: str
) -> None:
    """An unknown strategy type or spread field is refused with what is allowed."""
    with pytest.raises(InvalidCapacityRule, match=_exactly(message)):
        PlacementStrategy.from_api(raw)


def test_constraints_parse_to_what_they_say() -> None:
    """memberOf keeps its expression and the zones it allows; distinctInstance
    accepts an empty expression."""
    assert PlacementConstraint.from_api(
        {"type": "memberOf", "expression": ZONE_IS_A}
    ) == PlacementConstraint("memberOf", frozenset({"us-east-1a"}), ZONE_IS_A)
    assert PlacementConstraint.from_api(
        {"type": "distinctInstance", "expression": ""}
    ) == PlacementConstraint("distinctInstance")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"type": "distinctInstance", "expression": ZONE_IS_A},
            f"distinctInstance takes no expression; got {ZONE_IS_A!r}",
        ),
        ({"type": "memberOf", "expression": " "}, "memberOf needs an expression"),
        (
            {"type": "sameZone"},
            "placementConstraints type must be distinctInstance or memberOf; "
            "got 'sameZone'",
        ),
    ],
)
def test_bad_constraints_are_refused_naming_the_value(
    raw: dict[str, str], message: str
) -> None:
    """A distinctInstance with an expression, a memberOf without one and an
    unknown type are refused, each with its own message."""
    with pytest.raises(InvalidCapacityRule, match=_exactly(message)):
        PlacementConstraint.from_api(raw)


def test_zone_names_lose_their_quotes_and_nothing_else() -> None:
    """Quotes around a zone name in an ``in`` list are dropped; the name itself,
    whatever its letters, is kept as written."""
    assert zone_expression(f"{ZONE_ATTRIBUTE} in ['Xa-1X', \"us-east-1b\"]") == (
        frozenset({"Xa-1X", "us-east-1b"})
    )


def test_five_strategies_and_ten_constraints_are_the_most() -> None:
    """CreateService takes 5 placement strategies and 10 constraints at most."""
    assert len(parse_strategies([{"type": "random"}] * 5)) == 5
    with pytest.raises(InvalidCapacityRule, match="at most 5 entries; got 6"):
        parse_strategies([{"type": "random"}] * 6)
    distinct = {"type": "distinctInstance"}
    assert len(parse_constraints([distinct] * 10)) == 10
    with pytest.raises(
        InvalidCapacityRule,
        match=_exactly("placementConstraints can have at most 10 entries; got 11"),
    ):
        parse_constraints([distinct] * 11)


# ---- placement and scale-in with tasks already there ---------------------------------


def _instance(instance_id: str, zone: str) -> InstanceView:
    size = Resources(4096, 8192)
    return InstanceView(instance_id, zone, size, size)


@given(seeds)
def test_spread_counts_the_tasks_already_there_and_each_one_placed(seed: int) -> None:
    """With two tasks of the service on A and none on B, spreading two more by
    instance puts both on B (A is never below B), whatever the tie draws."""
    placed = place_tasks(
        [_instance("A", "us-east-1a"), _instance("B", "us-east-1a")],
        Resources(256, 512),
        2,
        strategies=[PlacementStrategy("spread", "instanceId")],
        constraints=[],
        group_counts={"A": 2},
        rng=np.random.default_rng(seed),
    )
    assert placed == ["B", "B"]


def _task(
    task_id: str, instance: str, zone: str, protected: bool = False
) -> PlacedTaskView:
    return PlacedTaskView(
        task_id, instance, zone, Resources(256, 512), running=True, protected=protected
    )


@given(seeds)
def test_two_candidates_are_still_narrowed_by_the_strategies(seed: int) -> None:
    """Two tasks may be stopped, one in the zone with two live tasks (one of
    them protected) and one alone in its zone: spreading by zone stops the first,
    whatever the tie draws."""
    tasks = [
        _task("t1", "i1", "us-east-1a"),
        _task("t2", "i2", "us-east-1b"),
        _task("t3", "i3", "us-east-1a", protected=True),
    ]
    left = {i: Resources(2048, 4096) for i in ("i1", "i2", "i3")}
    chosen = select_tasks_to_stop(
        tasks,
        1,
        strategies=[PlacementStrategy("spread", ZONE_ATTRIBUTE)],
        instances=left,
        rng=np.random.default_rng(seed),
    )
    assert chosen == ["t1"]


def test_the_base_is_filled_before_the_weights_share_the_rest() -> None:
    """Base 2 on A, then A and B share by weight 1:1 counted after the base
    (ties: strategy order): A, A, then A, B, A, B."""
    strategy = [CapacityProviderItem("A", base=2, weight=1), CapacityProviderItem("B")]
    assert distribute_tasks(strategy, 6, {}) == ["A", "A", "A", "B", "A", "B"]


# ---- managed scaling --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance", "need", "fits"),
    [
        (Resources(1024, 4096), Resources(400, 1000), 2),
        (Resources(4, 4096), Resources(1, 1), 4),
        (Resources(1024, 4096), Resources(0, 1000), 4),
        (Resources(1024, 4096), Resources(0, 0), MAX_STEP_LIMIT),
    ],
)
def test_tasks_per_instance_is_whole_tasks_of_the_scarcer_resource(
    instance: Resources, need: Resources, fits: int
) -> None:
    """Whole tasks only, limited by the scarcer resource; a resource the task
    does not ask for does not limit, and a task asking for nothing is capped at
    the largest step."""
    assert tasks_per_instance(instance, need) == fits


def test_one_waiting_task_asks_for_one_instance() -> None:
    """A single task in PROVISIONING is enough to ask for an instance."""
    assert scale_out_estimate({Resources(256, 512): 1}, Resources(2048, 4096)) == 1


def test_instances_needed_at_the_edges() -> None:
    """No busy instance is a valid count (M is then 0), and a step of 1 adds one
    instance to those running."""
    assert instances_needed(3, 0, 0) == 0
    assert instances_needed(2, 1, 1) == 3
    with pytest.raises(
        InvalidCapacityRule,
        match=_exactly("busy instances 4 must be within 0..running 3"),
    ):
        instances_needed(3, 4, 0)


@given(st.integers(min_value=1, max_value=1000), st.data())
def test_scale_in_removes_at_least_one_and_at_most_half_a_minute(
    current: int, data: st.DataObject
) -> None:
    """Each minute of scale-in removes at least 1 instance and at most half of
    the current capacity (rounded down, at least 1), never going below *wanted*."""
    wanted = data.draw(st.integers(min_value=0, max_value=current - 1))
    after = scale_in_desired(current, wanted)
    assert after == max(wanted, current - max(1, current // 2))


@pytest.mark.parametrize(("current", "after"), [(2, 1), (3, 2), (4, 2), (5, 3), (9, 5)])
def test_scale_in_towards_zero_halves_at_most(current: int, after: int) -> None:
    """From 2..9 instances towards 0: one minute removes 1, 1, 2, 2, 4."""
    assert scale_in_desired(current, 0) == after


def test_a_group_with_min_equal_to_max_is_valid() -> None:
    """MinSize equal to MaxSize pins the desired capacity; above it is refused."""
    assert clamp_desired(5, 3, 3) == 3
    with pytest.raises(
        InvalidCapacityRule, match=_exactly("MinSize 4 is above MaxSize 3")
    ):
        clamp_desired(5, 4, 3)


def test_the_warmup_ends_after_exactly_its_period() -> None:
    """An instance launched exactly instanceWarmupPeriod ago no longer blocks a
    scale-out; one second less still does."""
    settings = ManagedScaling(instance_warmup_period_s=300.0)
    assert not scale_out_blocked([100.0], 400.0, settings)
    assert scale_out_blocked([100.0], 399.0, settings)


@given(seeds)
def test_termination_starts_in_the_zone_with_the_most_instances(seed: int) -> None:
    """The group's default termination policy picks the zone with the most
    instances first (here b, with two, over a, with one)."""
    instances = [
        InstanceLoad("i-a", "us-east-1a", 0),
        InstanceLoad("i-b1", "us-east-1b", 0),
        InstanceLoad("i-b2", "us-east-1b", 0),
    ]
    chosen = instances_to_terminate(
        instances,
        1,
        managed_termination_protection=True,
        rng=np.random.default_rng(seed),
    )
    assert chosen[0] in {"i-b1", "i-b2"}


def test_an_unknown_binpack_field_is_refused_with_the_choices() -> None:
    """Only cpu and memory can be packed."""
    with pytest.raises(
        InvalidCapacityRule,
        match=_exactly("binpack field must be one of cpu, memory; got 'disk'"),
    ):
        Resources(1024, 2048).amount("disk")


def test_binpack_without_a_field_packs_memory() -> None:
    """A binpack strategy built without a field packs memory, on placement and
    on scale-in."""
    roomy = InstanceView(
        "A", "us-east-1a", Resources(4096, 8192), Resources(4096, 8192)
    )
    tight = InstanceView("B", "us-east-1a", Resources(4096, 8192), Resources(256, 1024))
    placed = place_tasks(
        [roomy, tight],
        Resources(256, 512),
        1,
        strategies=[PlacementStrategy("binpack")],
        constraints=[],
        group_counts={},
        rng=np.random.default_rng(0),
    )
    assert placed == ["B"]
    tasks = [_task("t1", "A", "us-east-1a"), _task("t2", "B", "us-east-1a")]
    left = {"A": Resources(256, 4096), "B": Resources(4096, 1024)}
    stopped = select_tasks_to_stop(
        tasks,
        1,
        strategies=[PlacementStrategy("binpack")],
        instances=left,
        rng=np.random.default_rng(0),
    )
    assert stopped == ["t1"]


def test_ties_are_drawn_at_random() -> None:
    """Two equal candidates: across seeds each is chosen sometimes, for a new
    task and for a task to stop."""
    instances = [_instance("A", "us-east-1a"), _instance("B", "us-east-1a")]
    placed = {
        place_tasks(
            instances,
            Resources(256, 512),
            1,
            strategies=[PlacementStrategy("spread", "instanceId")],
            constraints=[],
            group_counts={},
            rng=np.random.default_rng(seed),
        )[0]
        for seed in range(40)
    }
    assert placed == {"A", "B"}
    tasks = [_task("t1", "A", "us-east-1a"), _task("t2", "B", "us-east-1a")]
    left = {"A": Resources(2048, 4096), "B": Resources(2048, 4096)}
    stopped = {
        select_tasks_to_stop(
            tasks,
            1,
            strategies=[PlacementStrategy("spread", "instanceId")],
            instances=left,
            rng=np.random.default_rng(seed),
        )[0]
        for seed in range(40)
    }
    assert stopped == {"t1", "t2"}


@given(seeds)
def test_scale_in_spreads_by_instance_and_binpacks_by_what_is_left(seed: int) -> None:
    """Instance i1 holds two tasks and has little memory left, i2 one task and
    much memory left (same zone): spread by instance stops a task on i1;
    binpack on memory stops the one on i2 (its instance has the most left)."""
    tasks = [
        _task("t1", "i1", "us-east-1a"),
        _task("t2", "i1", "us-east-1a"),
        _task("t3", "i2", "us-east-1a"),
    ]
    left = {"i1": Resources(1024, 512), "i2": Resources(1024, 6144)}
    spread = select_tasks_to_stop(
        tasks,
        1,
        strategies=[PlacementStrategy("spread", "instanceId")],
        instances=left,
        rng=np.random.default_rng(seed),
    )
    binpack = select_tasks_to_stop(
        tasks,
        1,
        strategies=[PlacementStrategy("binpack", "memory")],
        instances=left,
        rng=np.random.default_rng(seed),
    )
    assert spread[0] in {"t1", "t2"}
    assert binpack == ["t3"]


def test_the_warmup_period_takes_0_to_10000_seconds() -> None:
    """instanceWarmupPeriod accepts 0 and 10000 (and anything between), and
    refuses 10001."""
    for seconds in (0.0, 0.5, 10_000.0):
        assert (
            ManagedScaling(instance_warmup_period_s=seconds).instance_warmup_period_s
            == seconds
        )
    with pytest.raises(InvalidCapacityRule, match="instanceWarmupPeriod 10001"):
        ManagedScaling(instance_warmup_period_s=10_001.0)
