"""Tests for ecssim.rules.capacity: placement on container instances, scale-in
choice, capacity provider split, managed scaling and managed termination
protection."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import ZONE_NAMES

from ecssim.rules.capacity import (
    DEFAULT_SERVICE_STRATEGIES,
    ZONE_ATTRIBUTE,
    InstanceLoad,
    InstanceView,
    InvalidCapacityRule,
    ManagedScaling,
    PlacedTaskView,
    PlacementConstraint,
    PlacementStrategy,
    Resources,
    capacity_provider_reservation,
    clamp_desired,
    distribute_tasks,
    instances_needed,
    instances_to_terminate,
    parse_constraints,
    parse_strategies,
    place_task,
    place_tasks,
    remaining_resources,
    scale_in_desired,
    scale_out_blocked,
    scale_out_estimate,
    scale_out_step,
    select_tasks_to_stop,
    target_desired_capacity,
    zone_expression,
)
from ecssim.rules.placement import CapacityProviderItem

seeds = st.integers(min_value=0, max_value=2**32 - 1)
SPREAD_ZONE = PlacementStrategy("spread", ZONE_ATTRIBUTE)
SPREAD_INSTANCE = PlacementStrategy("spread", "instanceId")
BINPACK_CPU = PlacementStrategy("binpack", "cpu")
BINPACK_MEMORY = PlacementStrategy("binpack", "memory")
RANDOM = PlacementStrategy("random")

#: instance sizes as ECS registers them (CPU units, MiB after the agent's reserve)
SIZES = (Resources(2048, 3800), Resources(4096, 7680), Resources(8192, 15700))
NEEDS = (
    Resources(256, 512),
    Resources(512, 1024),
    Resources(1024, 2048),
    Resources(2048, 4096),
)


@st.composite
def instance_views(
    draw: st.DrawFn, min_size: int = 1, max_size: int = 12
) -> list[InstanceView]:
    """Container instances with distinct ids, some already partly used, some DRAINING."""
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    out = []
    for k in range(n):
        size = draw(st.sampled_from(SIZES))
        used_cpu = draw(st.integers(min_value=0, max_value=size.cpu))
        used_memory = draw(st.integers(min_value=0, max_value=size.memory))
        out.append(
            InstanceView(
                instance_id=f"i-{k:04d}",
                availability_zone=draw(st.sampled_from(ZONE_NAMES[:3])),
                registered=size,
                remaining=size - Resources(used_cpu, used_memory),
                active=draw(st.booleans()) or k == 0,
            )
        )
    return out


strategy_lists = st.lists(
    st.sampled_from(
        [SPREAD_ZONE, SPREAD_INSTANCE, BINPACK_CPU, BINPACK_MEMORY, RANDOM]
    ),
    max_size=4,
)
constraint_lists = st.lists(
    st.one_of(
        st.just(PlacementConstraint("distinctInstance")),
        st.lists(st.sampled_from(ZONE_NAMES[:3]), min_size=1, unique=True).map(
            lambda zs: PlacementConstraint("memberOf", frozenset(zs))
        ),
    ),
    max_size=3,
)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _instance(iid: str, zone: str, cpu: int = 4096, memory: int = 8192) -> InstanceView:
    size = Resources(cpu, memory)
    return InstanceView(iid, zone, size, size)


# --- placement ---------------------------------------------------------------------


@given(
    instances=instance_views(),
    need=st.sampled_from(NEEDS),
    count=st.integers(min_value=0, max_value=30),
    rules=st.tuples(strategy_lists, constraint_lists),
    seed=seeds,
)
def test_placement_never_overcommits_and_always_meets_the_constraints(
    instances: list[InstanceView],
    need: Resources,
    count: int,
    rules: tuple[list[PlacementStrategy], list[PlacementConstraint]],
    seed: int,
) -> None:
    """Every placed task lands on an ACTIVE instance where it fits, inside the
    memberOf zones, one per instance under distinctInstance; a task is left
    unplaced only when no such instance has room."""
    strategies, constraints = rules
    placed = place_tasks(
        instances,
        need,
        count,
        strategies=strategies,
        constraints=constraints,
        group_counts={},
        rng=_rng(seed),
    )
    assert len(placed) == count
    by_id = {i.instance_id: i for i in instances}
    per_instance = Counter(p for p in placed if p is not None)
    for iid, n in per_instance.items():
        instance = by_id[iid]
        assert instance.active
        remaining_resources(instance.remaining, [need] * n)  # raises if over-committed
        for c in constraints:
            if c.type == "distinctInstance":
                assert n == 1
            else:
                assert c.zones is not None
                assert instance.availability_zone in c.zones
    if None in placed:
        first = placed.index(None)
        assert all(p is None for p in placed[first:])
        used = Counter(placed[:first])
        for i in instances:
            n = used[i.instance_id]
            room = i.remaining.fits(
                Resources(need.cpu * (n + 1), need.memory * (n + 1))
            )
            allowed = all(
                n == 0
                if c.type == "distinctInstance"
                else i.availability_zone in (c.zones or ())
                for c in constraints
            )
            assert not (i.active and room and allowed)


@given(
    zones=st.lists(st.sampled_from(ZONE_NAMES), min_size=1, unique=True),
    per_zone=st.integers(min_value=1, max_value=3),
    count=st.integers(min_value=0, max_value=24),
    then=st.lists(st.sampled_from([SPREAD_INSTANCE, BINPACK_CPU, RANDOM]), max_size=2),
    seed=seeds,
)
def test_spread_over_zones_keeps_zones_within_one_task(
    zones: list[str],
    per_zone: int,
    count: int,
    then: list[PlacementStrategy],
    seed: int,
) -> None:
    """With room everywhere, spreading over zones leaves every zone within one
    task of every other, whatever strategies follow."""
    instances = [
        _instance(f"i-{z}-{k}", z, cpu=64 * 1024, memory=256 * 1024)
        for z in zones
        for k in range(per_zone)
    ]
    placed = place_tasks(
        instances,
        Resources(1024, 2048),
        count,
        strategies=[SPREAD_ZONE, *then],
        constraints=[],
        group_counts={},
        rng=_rng(seed),
    )
    zone_of = {i.instance_id: i.availability_zone for i in instances}
    counts = Counter(dict.fromkeys(zones, 0))
    counts.update(zone_of[p] for p in placed if p is not None)
    assert None not in placed
    assert max(counts.values()) - min(counts.values()) <= 1


@given(instances=instance_views(), need=st.sampled_from(NEEDS), seed=seeds)
def test_binpack_picks_the_instance_with_least_remaining_of_the_resource(
    instances: list[InstanceView], need: Resources, seed: int
) -> None:
    """binpack on cpu (memory) places on a fitting instance with the least
    remaining cpu (memory)."""
    for strategy, field in ((BINPACK_CPU, "cpu"), (BINPACK_MEMORY, "memory")):
        chosen = place_task(
            instances,
            need,
            strategies=[strategy],
            constraints=[],
            group_counts={},
            rng=_rng(seed),
        )
        fitting = [i for i in instances if i.active and i.remaining.fits(need)]
        if not fitting:
            assert chosen is None
            continue
        least = min(i.remaining.amount(field) for i in fitting)
        by_id = {i.instance_id: i for i in instances}
        assert chosen is not None
        assert by_id[chosen].remaining.amount(field) == least


def test_binpack_fills_one_instance_before_the_next_and_spread_does_not() -> None:
    """Four 1-vCPU tasks on two empty 4-vCPU instances: binpack puts all four on
    one, spread over instances puts two on each."""
    instances = [_instance("i-a", "us-east-1a"), _instance("i-b", "us-east-1a")]
    need = Resources(1024, 1024)
    packed = place_tasks(
        instances,
        need,
        4,
        strategies=[BINPACK_CPU],
        constraints=[],
        group_counts={},
        rng=_rng(),
    )
    spread = place_tasks(
        instances,
        need,
        4,
        strategies=[SPREAD_INSTANCE],
        constraints=[],
        group_counts={},
        rng=_rng(),
    )
    assert len(set(packed)) == 1
    assert None not in packed
    assert Counter(spread) == {"i-a": 2, "i-b": 2}
    fifth = place_tasks(
        instances,
        need,
        9,
        strategies=[BINPACK_CPU],
        constraints=[],
        group_counts={},
        rng=_rng(),
    )
    assert fifth[8] is None
    assert None not in fifth[:8]


def test_draining_instances_and_constraints_take_no_task() -> None:
    """A DRAINING instance, an instance outside memberOf's zones and, under
    distinctInstance, an instance that already runs a task of the group are not
    candidates."""
    size = Resources(4096, 8192)
    draining = InstanceView("i-d", "us-east-1a", size, size, active=False)
    busy = _instance("i-busy", "us-east-1b")
    outside = _instance("i-out", "us-east-1c")
    free = _instance("i-free", "us-east-1b")
    constraints = parse_constraints(
        [
            {"type": "distinctInstance"},
            {
                "type": "memberOf",
                "expression": "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            },
        ]
    )
    chosen = place_task(
        [draining, busy, outside, free],
        Resources(256, 256),
        strategies=[],
        constraints=constraints,
        group_counts={"i-busy": 1},
        rng=_rng(),
    )
    assert chosen == "i-free"
    none = place_task(
        [draining, busy, outside],
        Resources(256, 256),
        strategies=[],
        constraints=constraints,
        group_counts={"i-busy": 1},
        rng=_rng(),
    )
    assert none is None


def test_the_default_service_strategy_balances_zones_then_instances() -> None:
    """Without strategies a service spreads over zones, then favours the
    instance with the fewest of its tasks (ecs_services.html)."""
    instances = [
        _instance("i-a1", "us-east-1a"),
        _instance("i-a2", "us-east-1a"),
        _instance("i-b1", "us-east-1b"),
    ]
    chosen = place_task(
        instances,
        Resources(256, 256),
        strategies=DEFAULT_SERVICE_STRATEGIES,
        constraints=[],
        group_counts={"i-a1": 1, "i-b1": 2},
        rng=_rng(),
    )
    assert chosen == "i-a2"


# --- parsing ----------------------------------------------------------------------


def test_zone_expressions_in_both_forms() -> None:
    """== (or equals) and in [...] on the zone attribute give the zones allowed."""
    assert zone_expression("attribute:ecs.availability-zone == us-east-1a") == {
        "us-east-1a"
    }
    assert zone_expression("attribute:ecs.availability-zone equals us-east-1b") == {
        "us-east-1b"
    }
    assert zone_expression(
        "attribute:ecs.availability-zone in [us-east-1a, 'us-east-1c']"
    ) == {"us-east-1a", "us-east-1c"}


@pytest.mark.parametrize(
    "expression",
    [
        "attribute:ecs.instance-type == t3.large",
        "attribute:ecs.availability-zone != us-east-1a",
        "attribute:ecs.availability-zone =~ us-east-1.*",
        "attribute:ecs.availability-zone == us-east-1a and attribute:ecs.availability-zone == us-east-1b",
        "task:group == databases",
        "attribute:ecs.availability-zone in []",
    ],
)
def test_other_expressions_are_refused_by_name(expression: str) -> None:
    """Anything but the two zone forms is an error that quotes the expression."""
    with pytest.raises(InvalidCapacityRule, match="is not modelled"):
        zone_expression(expression)


def test_strategies_and_constraints_are_checked() -> None:
    """Fields are checked per type; host means instanceId; too many entries fail."""
    assert parse_strategies(
        [
            {"type": "spread", "field": "host"},
            {"type": "binpack", "field": "memory"},
            {"type": "random"},
        ]
    ) == (SPREAD_INSTANCE, BINPACK_MEMORY, RANDOM)
    for bad, message in (
        ({"type": "binpack", "field": "gpu"}, "binpack field"),
        ({"type": "spread", "field": "attribute:ecs.instance-type"}, "spread field"),
        ({"type": "random", "field": "cpu"}, "random takes no field"),
        ({"type": "pack"}, "placementStrategy type"),
    ):
        with pytest.raises(InvalidCapacityRule, match=message):
            parse_strategies([bad])
    with pytest.raises(InvalidCapacityRule, match="at most 5"):
        parse_strategies([{"type": "random"}] * 6)
    with pytest.raises(InvalidCapacityRule, match="memberOf needs an expression"):
        parse_constraints([{"type": "memberOf"}])
    with pytest.raises(InvalidCapacityRule, match="distinctInstance or memberOf"):
        parse_constraints([{"type": "spread"}])


# --- scale-in ---------------------------------------------------------------------


@st.composite
def placed_tasks(draw: st.DrawFn) -> tuple[list[PlacedTaskView], dict[str, Resources]]:
    """Live tasks of a service on a few instances, and each instance's remaining resources."""
    n_instances = draw(st.integers(min_value=1, max_value=6))
    zones = {f"i-{k}": ZONE_NAMES[k % 3] for k in range(n_instances)}
    tasks = [
        PlacedTaskView(
            task_id=f"t-{k:03d}",
            instance_id=(iid := draw(st.sampled_from(sorted(zones)))),
            availability_zone=zones[iid],
            need=draw(st.sampled_from(NEEDS)),
            running=draw(st.booleans()),
            protected=draw(st.booleans()),
        )
        for k in range(draw(st.integers(min_value=0, max_value=25)))
    ]
    left = {
        iid: Resources(draw(st.integers(0, 4096)), draw(st.integers(0, 8192)))
        for iid in zones
    }
    return tasks, left


@given(
    placed=placed_tasks(),
    count=st.integers(min_value=0, max_value=30),
    strategies=strategy_lists,
    seed=seeds,
)
def test_scale_in_never_stops_a_protected_task(
    placed: tuple[list[PlacedTaskView], dict[str, Resources]],
    count: int,
    strategies: list[PlacementStrategy],
    seed: int,
) -> None:
    """Whatever the strategies, scale-in picks distinct unprotected tasks, as many
    as asked for or every unprotected one, not-yet-RUNNING ones first."""
    tasks, left = placed
    chosen = select_tasks_to_stop(
        tasks, count, strategies=strategies, instances=left, rng=_rng(seed)
    )
    by_id = {t.task_id: t for t in tasks}
    unprotected = [t for t in tasks if not t.protected]
    assert len(set(chosen)) == len(chosen) == min(count, len(unprotected))
    assert not any(by_id[c].protected for c in chosen)
    running = [by_id[c].running for c in chosen]
    assert running == sorted(running)  # False (not RUNNING) before True


@given(placed=placed_tasks(), seed=seeds)
def test_scale_in_spread_stops_from_the_fullest_zone(
    placed: tuple[list[PlacedTaskView], dict[str, Resources]], seed: int
) -> None:
    """With zone spread, the first task stopped is in a zone with the most live
    tasks among the zones it could be taken from."""
    tasks, left = placed
    tasks = [
        PlacedTaskView(
            t.task_id, t.instance_id, t.availability_zone, t.need, True, t.protected
        )
        for t in tasks
    ]
    chosen = select_tasks_to_stop(
        tasks, 1, strategies=[SPREAD_ZONE], instances=left, rng=_rng(seed)
    )
    assume(chosen)
    counts = Counter(t.availability_zone for t in tasks)
    eligible_zones = {t.availability_zone for t in tasks if not t.protected}
    zone = next(t.availability_zone for t in tasks if t.task_id == chosen[0])
    assert counts[zone] == max(counts[z] for z in eligible_zones)


def test_scale_in_binpack_stops_where_most_is_left() -> None:
    """binpack on memory stops the task whose instance has the most memory left
    after it stops, so the fullest instances stay full."""
    need = Resources(512, 1024)
    tasks = [
        PlacedTaskView("t-full", "i-full", "us-east-1a", need, True, False),
        PlacedTaskView("t-half", "i-half", "us-east-1a", need, True, False),
    ]
    left = {"i-full": Resources(0, 0), "i-half": Resources(2048, 4096)}
    assert select_tasks_to_stop(
        tasks, 2, strategies=[BINPACK_MEMORY], instances=left, rng=_rng()
    ) == ["t-half", "t-full"]


def test_scale_in_needs_the_resources_of_every_instance() -> None:
    """A task on an instance whose remaining resources are not given is an error."""
    task = PlacedTaskView("t", "i-x", "us-east-1a", Resources(1, 1), True, False)
    with pytest.raises(InvalidCapacityRule, match="i-x"):
        select_tasks_to_stop([task], 1, strategies=[], instances={}, rng=_rng())


# --- capacity provider strategies -----------------------------------------------------


def test_base_first_then_weights() -> None:
    """base 2 on A, then A:B = 1:3; a weight-0 provider without base gets nothing."""
    strategy = [
        CapacityProviderItem("A", base=2, weight=1),
        CapacityProviderItem("B", weight=3),
        CapacityProviderItem("C", weight=0),
    ]
    chosen = distribute_tasks(strategy, 10, {})
    assert chosen[:2] == ["A", "A"]
    assert Counter(chosen[2:]) == {"A": 2, "B": 6}


# --- managed scaling -------------------------------------------------------------------


@given(
    estimate=st.integers(min_value=0, max_value=20_000),
    low=st.integers(min_value=1, max_value=10_000),
    high=st.integers(min_value=1, max_value=10_000),
)
def test_scale_out_steps_stay_within_min_and_max(
    estimate: int, low: int, high: int
) -> None:
    """A scale-out step is 0 when nothing waits, else within
    [minimumScalingStepSize, maximumScalingStepSize], and the estimate itself
    when it is inside."""
    assume(low <= high)
    settings = ManagedScaling(
        minimum_scaling_step_size=low, maximum_scaling_step_size=high
    )
    step = scale_out_step(estimate, settings)
    if estimate == 0:
        assert step == 0
    else:
        assert low <= step <= high
        if low <= estimate <= high:
            assert step == estimate


def test_scale_out_estimate_bin_packs_each_group_and_skips_incompatible_ones() -> None:
    """10 tasks of 1 vCPU/2 GiB on 4 vCPU/8 GiB instances need 3 instances (4
    per instance); a group larger than the smallest type is left out; groups
    combine as the largest count."""
    instance = Resources(4096, 8192)
    assert scale_out_estimate({Resources(1024, 2048): 10}, instance) == 3
    assert scale_out_estimate({Resources(8192, 1024): 5}, instance) == 0
    assert (
        scale_out_estimate(
            {
                Resources(1024, 2048): 10,
                Resources(2048, 1024): 3,
                Resources(8192, 1): 9,
            },
            instance,
        )
        == 3
    )
    assert (
        scale_out_estimate(
            {Resources(1024, 2048): 10}, instance, Resources(8192, 16384)
        )
        == 2
    )


def test_capacity_provider_reservation_and_desired_capacity() -> None:
    """M/N x 100; 100 with nothing at all, 200 from zero with tasks waiting;
    the desired capacity that brings the metric to the target."""
    settings = ManagedScaling(target_capacity=90)
    assert capacity_provider_reservation(0, 0) == 100.0
    assert capacity_provider_reservation(2, 0) == 200.0
    assert capacity_provider_reservation(8, 10) == 80.0
    assert capacity_provider_reservation(instances_needed(10, 10, 3), 10) == 130.0
    assert instances_needed(10, 7, 0) == 7
    assert target_desired_capacity(10, settings) == 12  # ceil(10 / 0.9)
    assert target_desired_capacity(9, settings) == 10
    assert target_desired_capacity(0, settings) == 0
    assert target_desired_capacity(7, ManagedScaling()) == 7
    with pytest.raises(InvalidCapacityRule):
        instances_needed(3, 4, 0)


@given(
    needed=st.integers(min_value=0, max_value=2000),
    running=st.integers(min_value=1, max_value=2000),
    target=st.integers(min_value=1, max_value=100),
)
def test_desired_capacity_brings_the_metric_to_at_most_the_target(
    needed: int, running: int, target: int
) -> None:
    """At the new desired capacity the metric M/desired x 100 is at or below the
    target, and one instance fewer would put it above."""
    desired = target_desired_capacity(needed, ManagedScaling(target_capacity=target))
    if desired:
        assert needed * 100 <= target * desired
        assert needed * 100 > target * (desired - 1)
    else:
        assert needed == 0
    del running


@given(
    current=st.integers(min_value=0, max_value=500),
    wanted=st.integers(min_value=0, max_value=500),
)
def test_managed_scale_in_moves_at_most_half_a_minute(
    current: int, wanted: int
) -> None:
    """Each minute of scale-in removes at least one instance and at most half
    (at least one), never going below what is wanted; no change otherwise."""
    after = scale_in_desired(current, wanted)
    if wanted >= current:
        assert after == current
    else:
        assert wanted <= after < current
        assert current - after <= max(1, current // 2)


def test_warm_up_blocks_scale_out_and_settings_are_checked() -> None:
    """An instance launched within instanceWarmupPeriod blocks the next
    scale-out; managed scaling values outside their API ranges fail."""
    settings = ManagedScaling(instance_warmup_period_s=300)
    assert scale_out_blocked([0.0, 1000.0], 1200.0, settings)
    assert not scale_out_blocked([0.0, 800.0], 1200.0, settings)
    assert clamp_desired(12, 1, 10) == 10
    assert clamp_desired(0, 1, 10) == 1
    for kwargs, message in (
        ({"target_capacity": 0}, "targetCapacity 0"),
        ({"target_capacity": 101}, "targetCapacity 101"),
        ({"minimum_scaling_step_size": 0}, "minimumScalingStepSize 0"),
        ({"maximum_scaling_step_size": 10_001}, "maximumScalingStepSize 10001"),
        ({"minimum_scaling_step_size": 5, "maximum_scaling_step_size": 2}, "above"),
        ({"instance_warmup_period_s": 10_001}, "instanceWarmupPeriod"),
    ):
        with pytest.raises(InvalidCapacityRule, match=message):
            ManagedScaling(**kwargs)  # type: ignore[arg-type]


# --- managed termination protection --------------------------------------------------------


@st.composite
def instance_loads(draw: st.DrawFn) -> list[InstanceLoad]:
    """Instances of an Auto Scaling group with some non-daemon and daemon tasks."""
    return [
        InstanceLoad(
            instance_id=f"i-{k:03d}",
            availability_zone=draw(st.sampled_from(ZONE_NAMES[:3])),
            non_daemon_tasks=draw(st.integers(min_value=0, max_value=3)),
            daemon_tasks=draw(st.integers(min_value=0, max_value=1)),
        )
        for k in range(draw(st.integers(min_value=0, max_value=12)))
    ]


@given(
    instances=instance_loads(), count=st.integers(min_value=0, max_value=15), seed=seeds
)
def test_managed_termination_protection_only_lets_empty_instances_go(
    instances: list[InstanceLoad], count: int, seed: int
) -> None:
    """With managed termination protection only instances without non-daemon
    tasks are terminated (daemon tasks do not hold one); without it any
    instance is, as many as asked for."""
    by_id = {i.instance_id: i for i in instances}
    protected = instances_to_terminate(
        instances, count, managed_termination_protection=True, rng=_rng(seed)
    )
    empty = [i for i in instances if i.non_daemon_tasks == 0]
    assert len(set(protected)) == len(protected) == min(count, len(empty))
    assert all(by_id[i].non_daemon_tasks == 0 for i in protected)
    unprotected = instances_to_terminate(
        instances, count, managed_termination_protection=False, rng=_rng(seed)
    )
    assert len(set(unprotected)) == len(unprotected) == min(count, len(instances))


def test_termination_keeps_the_zones_balanced() -> None:
    """The group terminates from the zone with the most instances first."""
    instances = [
        InstanceLoad("i-a1", "us-east-1a", 0),
        InstanceLoad("i-a2", "us-east-1a", 0),
        InstanceLoad("i-b1", "us-east-1b", 0),
    ]
    first = instances_to_terminate(
        instances, 2, managed_termination_protection=True, rng=_rng()
    )
    assert first[0].startswith("i-a")
    assert len(first) == 2


def test_resources_refuse_overcommitment() -> None:
    """Reserving more than is left is an error, never a negative remainder."""
    with pytest.raises(InvalidCapacityRule, match="does not fit"):
        remaining_resources(Resources(1024, 1024), [Resources(512, 512)] * 3)
    with pytest.raises(InvalidCapacityRule, match="negative"):
        Resources(-1, 0)
