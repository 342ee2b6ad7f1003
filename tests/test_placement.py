"""Tests for ecssim.rules.placement: zones for new tasks, scale-in victims, capacity providers."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import ZONE_NAMES, capacity_strategies, task_views, zones

from ecssim.rules.placement import (
    CapacityProviderItem,
    TaskView,
    choose_capacity_provider,
    launch_zones,
    select_victims,
)

counts = st.integers(min_value=0, max_value=40)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def _task(
    task_id: str, zone: str, *, running: bool = True, protected: bool = False
) -> TaskView:
    return TaskView(
        task_id=task_id, availability_zone=zone, running=running, protected=protected
    )


def _victims(tasks: list[TaskView], count: int, seed: int = 0) -> list[str]:
    return select_victims(tasks, count, np.random.default_rng(seed))


# --- select_victims -------------------------------------------------------------


@given(tasks=task_views(), count=counts, seed=seeds)
def test_victims_are_distinct_unprotected_tasks_of_the_service(
    tasks: list[TaskView], count: int, seed: int
) -> None:
    """Scale-in picks distinct tasks from those given and never a protected one."""
    by_id = {t.task_id: t for t in tasks}
    victims = _victims(tasks, count, seed)
    assert len(set(victims)) == len(victims)
    assert all(v in by_id for v in victims)
    assert not any(by_id[v].protected for v in victims)


@given(tasks=task_views(), count=counts, seed=seeds)
def test_victim_count_is_capped_by_unprotected_tasks(
    tasks: list[TaskView], count: int, seed: int
) -> None:
    """Exactly min(count, unprotected tasks) victims come back."""
    unprotected = sum(not t.protected for t in tasks)
    assert len(_victims(tasks, count, seed)) == min(count, unprotected)


@given(tasks=task_views(), count=counts, seed=seeds)
def test_tasks_not_yet_running_are_stopped_before_running_ones(
    tasks: list[TaskView], count: int, seed: int
) -> None:
    """No running task is chosen while an unprotected not-yet-running task remains."""
    by_id = {t.task_id: t for t in tasks}
    running_flags = [by_id[v].running for v in _victims(tasks, count, seed)]
    assert running_flags == sorted(running_flags)
    pending_unprotected = sum(not t.running and not t.protected for t in tasks)
    if any(running_flags):
        assert running_flags.count(False) == pending_unprotected


@given(tasks=task_views(), count=counts, seed=seeds)
def test_each_victim_comes_from_a_most_loaded_zone_of_its_tier(
    tasks: list[TaskView], count: int, seed: int
) -> None:
    """Each pick is from a zone with the most live tasks (protected included) among zones
    holding an eligible task of the current tier, the first such zone by name on ties."""
    remaining = {t.task_id: t for t in tasks}
    for victim_id in _victims(tasks, count, seed):
        eligible = [t for t in remaining.values() if not t.protected]
        tier = [t for t in eligible if not t.running] or eligible
        live = Counter(t.availability_zone for t in remaining.values())
        tier_zones = {t.availability_zone for t in tier}
        most = max(live[z] for z in tier_zones)
        expected_zone = min(z for z in tier_zones if live[z] == most)
        victim = remaining.pop(victim_id)
        assert victim in tier
        assert victim.availability_zone == expected_zone


@given(data=st.data(), tasks=task_views(), count=counts, seed=seeds)
def test_same_seed_gives_same_victims_whatever_the_input_order(
    data: st.DataObject, tasks: list[TaskView], count: int, seed: int
) -> None:
    """Victim choice depends only on the tasks and the seed, not on list order."""
    shuffled = data.draw(st.permutations(tasks))
    assert _victims(tasks, count, seed) == _victims(shuffled, count, seed)


def test_victim_within_a_zone_is_drawn_from_the_generator() -> None:
    """Different seeds pick different tasks of a zone; each seed is reproducible."""
    tasks = [_task(f"t{i:02d}", "us-east-1a") for i in range(10)]
    picks = {_victims(tasks, 1, seed)[0] for seed in range(200)}
    assert picks == {t.task_id for t in tasks}
    assert _victims(tasks, 3, seed=7) == _victims(tasks, 3, seed=7)


def test_zone_load_counts_protected_tasks() -> None:
    """A zone crowded with protected tasks is scaled in before a zone with more
    unprotected ones."""
    tasks = [
        _task("a1", "us-east-1a", protected=True),
        _task("a2", "us-east-1a", protected=True),
        _task("a3", "us-east-1a", protected=True),
        _task("a4", "us-east-1a"),
        _task("b1", "us-east-1b"),
        _task("b2", "us-east-1b"),
    ]
    assert _victims(tasks, 1) == ["a4"]
    assert sorted(_victims(tasks, 3)) == ["a4", "b1", "b2"]


def test_zone_ties_go_to_the_first_zone_by_name() -> None:
    """With equal live counts the first victim comes from the zone whose name sorts first."""
    tasks = [
        _task("x", "us-east-1c"),
        _task("y", "us-east-1b"),
        _task("z", "us-east-1a"),
    ]
    assert _victims(tasks, 3) == ["z", "y", "x"]


def test_pending_task_in_a_light_zone_goes_before_running_tasks_in_a_heavy_zone() -> (
    None
):
    """The not-yet-running tier beats zone balance."""
    tasks = [
        _task("a1", "us-east-1a"),
        _task("a2", "us-east-1a"),
        _task("a3", "us-east-1a"),
        _task("b1", "us-east-1b", running=False),
    ]
    assert _victims(tasks, 1) == ["b1"]


@pytest.mark.parametrize("count", [0, -1])
def test_no_victims_when_nothing_is_asked(count: int) -> None:
    """A zero or negative count stops nothing."""
    assert _victims([_task("a1", "us-east-1a")], count) == []


def test_all_protected_gives_no_victims() -> None:
    """When every task is protected, scale-in stops nothing."""
    tasks = [_task(f"t{i}", "us-east-1a", protected=True) for i in range(3)]
    assert _victims(tasks, 2) == []


# --- launch_zones ---------------------------------------------------------------


@st.composite
def balanced_start(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """Configured zones and live-task zones whose counts differ by at most one."""
    configured = draw(zones())
    level = draw(st.integers(min_value=0, max_value=5))
    extra = draw(st.sets(st.sampled_from(configured)))
    live = [z for z in configured for _ in range(level + (z in extra))]
    return configured, draw(st.permutations(live))


@given(start=balanced_start(), count=counts)
def test_launch_keeps_balanced_zones_balanced(
    start: tuple[list[str], list[str]], count: int
) -> None:
    """Starting from balanced zones, new tasks leave every zone within one of the others."""
    configured, live = start
    placed = launch_zones(live, configured, count)
    assert len(placed) == count
    final = Counter(dict.fromkeys(configured, 0))
    final.update(live + placed)
    assert max(final.values()) - min(final.values()) <= 1


@given(
    configured=zones(),
    live=st.lists(st.sampled_from(ZONE_NAMES), max_size=30),
    count=counts,
)
def test_each_new_task_goes_to_a_least_loaded_zone(
    configured: list[str], live: list[str], count: int
) -> None:
    """Every placement picks a zone with the fewest tasks, ties in configured order;
    live tasks in unconfigured zones are ignored."""
    load = Counter({z: live.count(z) for z in configured})
    for zone in launch_zones(live, configured, count):
        fewest = min(load[z] for z in configured)
        assert zone == next(z for z in configured if load[z] == fewest)
        load[zone] += 1


@given(data=st.data(), configured=zones(), count=counts)
def test_launch_zones_is_deterministic(
    data: st.DataObject, configured: list[str], count: int
) -> None:
    """The same inputs give the same zones, whatever the order of the live tasks."""
    live = data.draw(st.lists(st.sampled_from(configured), max_size=20))
    shuffled = data.draw(st.permutations(live))
    placed = launch_zones(live, configured, count)
    assert launch_zones(live, configured, count) == placed
    assert launch_zones(shuffled, configured, count) == placed


def test_launch_fills_the_emptiest_zone_first_then_round_robins() -> None:
    """New tasks top up the short zone, then go round the zones in configured order."""
    live = ["us-east-1a", "us-east-1a", "us-east-1b", "us-east-1b", "us-west-2a"]
    configured = ["us-east-1b", "us-east-1a", "us-east-1c"]
    assert launch_zones(live, configured, 6) == [
        "us-east-1c",
        "us-east-1c",
        "us-east-1b",
        "us-east-1a",
        "us-east-1c",
        "us-east-1b",
    ]


def test_launch_without_zones_is_an_error() -> None:
    """A service with no zones cannot place tasks."""
    with pytest.raises(ValueError, match="availability zone"):
        launch_zones([], [], 1)


# --- choose_capacity_provider ---------------------------------------------------


def _place(strategy: list[CapacityProviderItem], n: int) -> list[str]:
    """Providers for *n* tasks launched one after the other into an empty service."""
    live: Counter[str] = Counter()
    chosen = []
    for _ in range(n):
        provider = choose_capacity_provider(strategy, dict(live))
        live[provider] += 1
        chosen.append(provider)
    return chosen


def test_weights_one_to_three_split_400_tasks_100_to_300() -> None:
    """Weights 1:3 put a quarter of the tasks on the first provider."""
    strategy = [
        CapacityProviderItem("FARGATE", weight=1),
        CapacityProviderItem("FARGATE_SPOT", weight=3),
    ]
    split = Counter(_place(strategy, 400))
    assert abs(split["FARGATE"] - 100) <= 1
    assert abs(split["FARGATE_SPOT"] - 300) <= 1


def test_base_is_filled_before_weights_apply() -> None:
    """The base tasks go to their provider first; the rest follow the weights."""
    strategy = [
        CapacityProviderItem("FARGATE", base=2, weight=0),
        CapacityProviderItem("FARGATE_SPOT", weight=1),
    ]
    assert _place(strategy, 5) == ["FARGATE", "FARGATE"] + ["FARGATE_SPOT"] * 3


def test_existing_tasks_count_towards_the_base() -> None:
    """Live tasks already on a provider fill its base."""
    strategy = [
        CapacityProviderItem("FARGATE", base=2, weight=1),
        CapacityProviderItem("FARGATE_SPOT", weight=4),
    ]
    assert choose_capacity_provider(strategy, {"FARGATE": 1}) == "FARGATE"
    assert choose_capacity_provider(strategy, {"FARGATE": 2}) == "FARGATE"
    assert choose_capacity_provider(strategy, {"FARGATE": 3}) == "FARGATE_SPOT"


def test_empty_strategy_is_an_error() -> None:
    """An empty capacity provider strategy cannot place a task."""
    with pytest.raises(ValueError, match="empty"):
        choose_capacity_provider([], {})


@given(strategy=capacity_strategies(), n=st.integers(min_value=0, max_value=120))
def test_bases_first_then_weighted_shares(
    strategy: list[CapacityProviderItem], n: int
) -> None:
    """From an empty service, bases fill first in strategy order, weight-0 providers get
    nothing beyond their base, and the rest splits by weight (within 1 above and
    providers-1 below the exact share)."""
    chosen = _place(strategy, n)
    bases = [item.capacity_provider for item in strategy for _ in range(item.base)]
    assert chosen[: len(bases)] == bases[: len(chosen)]
    extra = Counter(chosen[len(bases) :])
    weighted = [item for item in strategy if item.weight > 0]
    total_weight = sum(item.weight for item in weighted)
    total_extra = sum(extra.values())
    assert set(extra) <= {item.capacity_provider for item in weighted}
    for item in weighted:
        share = total_extra * item.weight / total_weight
        deviation = extra[item.capacity_provider] - share
        assert -(len(weighted) - 1) - 1e-9 <= deviation <= 1 + 1e-9


def test_others_count_towards_their_zone_when_choosing_victims() -> None:
    """Live tasks that may not be chosen now (*others*) still weigh their zone:
    with two candidates in a and one in b, three others in b make b the fuller
    zone, so the victim comes from b."""
    candidates = [
        TaskView("t1", "a", running=True, protected=False),
        TaskView("t2", "a", running=True, protected=False),
        TaskView("t3", "b", running=True, protected=False),
    ]
    others = [TaskView(f"o{i}", "b", running=True, protected=False) for i in range(3)]
    rng = np.random.default_rng(0)
    assert select_victims(candidates, 1, rng, others) == ["t3"]
    assert select_victims(candidates, 1, np.random.default_rng(0)) in (["t1"], ["t2"])


# ---- found by mutation testing (docs/mutation-testing.md) ------------------------------
def test_rules_without_choices_say_what_is_missing() -> None:
    """No zone, or an empty strategy, is a ValueError that says what is missing."""
    with pytest.raises(
        ValueError, match=r"^a service needs at least one availability zone$"
    ):
        launch_zones([], [], 1)
    with pytest.raises(
        ValueError, match=r"^an empty capacity provider strategy places nothing$"
    ):
        choose_capacity_provider([], {})


def test_a_provider_with_no_live_task_counts_as_zero() -> None:
    """A provider absent from the live counts has none: it is the furthest
    below its share."""
    strategy = [CapacityProviderItem("FARGATE"), CapacityProviderItem("FARGATE_SPOT")]
    assert choose_capacity_provider(strategy, {"FARGATE": 1}) == "FARGATE_SPOT"


def test_all_zero_weights_fall_back_to_the_whole_strategy() -> None:
    """With every weight 0 (ECS refuses such a strategy; the rule still
    answers) the bases are filled, then the provider with fewest tasks above
    its base wins, ties in strategy order."""
    strategy = [
        CapacityProviderItem("FARGATE", base=1, weight=0),
        CapacityProviderItem("FARGATE_SPOT", weight=0),
    ]
    assert choose_capacity_provider(strategy, {}) == "FARGATE"
    assert choose_capacity_provider(strategy, {"FARGATE": 1}) == "FARGATE"
    assert (
        choose_capacity_provider(strategy, {"FARGATE": 2, "FARGATE_SPOT": 0})
        == "FARGATE_SPOT"
    )


def _victims_one_by_one(
    tasks: list[TaskView], count: int, rng: np.random.Generator, others: list[TaskView]
) -> list[str]:
    """The rule spelt out: recount every zone and tier before each victim."""
    remaining = sorted(tasks, key=lambda t: t.task_id)
    chosen: list[str] = []
    for _ in range(count):
        eligible = [t for t in remaining if not t.protected]
        if not eligible:
            break
        tier = [t for t in eligible if not t.running] or eligible
        load = {
            zone: sum(t.availability_zone == zone for t in [*remaining, *others])
            for zone in {t.availability_zone for t in tier}
        }
        zone = max(sorted(load), key=load.__getitem__)
        in_zone = [t for t in tier if t.availability_zone == zone]
        victim = in_zone[int(rng.integers(len(in_zone)))]
        chosen.append(victim.task_id)
        remaining.remove(victim)
    return chosen


_VIEWS = st.lists(
    st.builds(
        TaskView,
        task_id=st.text("abcdef", min_size=1, max_size=3),
        availability_zone=st.sampled_from(["az-a", "az-b", "az-c"]),
        running=st.booleans(),
        protected=st.booleans(),
    ),
    max_size=12,
    unique_by=lambda t: t.task_id,
)


@given(
    tasks=_VIEWS,
    others=_VIEWS,
    count=st.integers(0, 14),
    seed=st.integers(0, 2**32 - 1),
)
def test_victims_are_those_of_the_rule_recounted_before_each_choice(
    tasks: list[TaskView], others: list[TaskView], count: int, seed: int
) -> None:
    """Keeping each zone's load and tiers as victims go gives the very victims
    (and draws) of recounting everything before each choice."""
    expected = _victims_one_by_one(tasks, count, np.random.default_rng(seed), others)
    assert select_victims(tasks, count, np.random.default_rng(seed), others) == expected
