"""Deployment rules of ecssim.rules.deployments at their edges: a scale-out
from one task during a rollout, linear steps that are not whole percents, the
last stage, and the moment a traffic step lands. Written from the mutants
mutmut found surviving (docs/mutation-testing.md)."""

from __future__ import annotations

from ecssim.rules.deployments import (
    STAGES,
    DeploymentStrategy,
    next_stage,
    production_traffic_steps,
    scaled_out_target,
    traffic_percent,
)


def test_a_scale_out_from_one_task_scales_the_old_revision_too() -> None:
    """Desired 1 -> 3 during a rollout: the old revision's 1 task becomes 3;
    from a desired count of 0 there is nothing to scale."""
    assert scaled_out_target(1, 1, 3) == 3
    assert scaled_out_target(2, 0, 3) == 2


def test_linear_steps_of_a_tenth_of_a_percent_keep_their_tenths() -> None:
    """stepPercent 33.3: the green revision gets 33.3, 66.6, 99.9 and then 100
    percent, one bake time apart."""
    steps = production_traffic_steps(
        DeploymentStrategy(
            strategy="LINEAR", linear_step_percent=33.3, linear_step_bake_minutes=2
        )
    )
    assert steps == ((0.0, 33.3), (120.0, 66.6), (240.0, 99.9), (360.0, 100.0))


def test_clean_up_is_the_last_stage() -> None:
    """Every stage leads to the next one; CLEAN_UP leads to itself."""
    assert [next_stage(s) for s in STAGES[:-1]] == list(STAGES[1:])
    assert next_stage("CLEAN_UP") == "CLEAN_UP"


def test_a_traffic_step_lands_at_its_time_within_a_microsecond() -> None:
    """The canary's second shift counts from its time on, allowing a microsecond
    of clock noise: just before the bake time ends the canary share holds."""
    canary = DeploymentStrategy(
        strategy="CANARY", canary_percent=10.0, canary_bake_minutes=5
    )
    stage = "PRODUCTION_TRAFFIC_SHIFT"
    assert traffic_percent(canary, stage, 300.0 - 1e-6, hook_s=0.0) == 100.0
    assert traffic_percent(canary, stage, 299.9, hook_s=0.0) == 10.0
