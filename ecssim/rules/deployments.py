"""Pure rules of ECS deployments: rolling updates and the BLUE_GREEN, LINEAR
and CANARY strategies.

The rounding of ``minimumHealthyPercent`` (up) and ``maximumPercent`` (down),
the deployment circuit breaker's threshold (``reference/ecs-semantics.md`` §7);
for the other strategies, their validated configuration, the order of their
lifecycle stages, how long each stage lasts and when production traffic moves
to the green revision (the AWS developer guide's "Amazon ECS blue/green
deployments", linear and canary pages). No SimPy, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

#: The circuit breaker trips at half the desired count, within these bounds.
CIRCUIT_BREAKER_MIN: Final = 3
CIRCUIT_BREAKER_MAX: Final = 200


def minimum_healthy_tasks(desired_count: int, minimum_healthy_percent: int) -> int:
    """Tasks that must stay healthy during a deployment (rounded up)."""
    return math.ceil(desired_count * minimum_healthy_percent / 100 - 1e-9)


def maximum_tasks(desired_count: int, maximum_percent: int) -> int:
    """Tasks that may be RUNNING or PENDING during a deployment (rounded down)."""
    return math.floor(desired_count * maximum_percent / 100 + 1e-9)


def circuit_breaker_threshold(desired_count: int) -> int:
    """Failed tasks that trip the deployment circuit breaker: half the desired
    count, at least 3 and at most 200 (the current ECS documentation)."""
    return min(
        CIRCUIT_BREAKER_MAX, max(CIRCUIT_BREAKER_MIN, math.ceil(desired_count / 2))
    )


def scaled_out_target(target: int, previous_desired: int, desired: int) -> int:
    """An old revision's share of a scale-out during a rolling deployment.

    Since November 2025 ECS applies a scale-out during a rolling deployment to
    both revisions. How it splits the new tasks is not documented: ecssim scales
    the old revision's count by the same factor as the desired count (rounded
    down). A scale-in leaves it unchanged (auto scaling does not scale in during
    a deployment; the rollout replaces the old tasks anyway).
    """
    if desired <= previous_desired or previous_desired <= 0:
        return target
    return target * desired // previous_desired


# ---- deployment strategies: BLUE_GREEN, LINEAR, CANARY -------------------------------
#: ``deploymentConfiguration.strategy`` (botocore's ``DeploymentStrategy``).
STRATEGIES: Final = ("ROLLING", "BLUE_GREEN", "LINEAR", "CANARY")
#: ``DeploymentLifecycleHookStage``: where a lifecycle hook may run.
HOOK_STAGES: Final = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)
#: The stages a BLUE_GREEN, LINEAR or CANARY deployment goes through, in order
#: (``ServiceDeploymentLifecycleStage``, with the hook-only
#: ``PRE_PRODUCTION_TRAFFIC_SHIFT`` in its place; ``RECONCILE_SERVICE`` happens
#: only when more than one revision is active when the deployment starts).
STAGES: Final = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
#: bake times (deployment, linear step, canary) are 0..1440 minutes
MAX_BAKE_TIME_MINUTES: Final = 1440
LINEAR_STEP_PERCENT_DEFAULT: Final = 10.0
LINEAR_STEP_PERCENT_MIN: Final = 3.0
LINEAR_STEP_BAKE_MINUTES_DEFAULT: Final = 6
CANARY_PERCENT_DEFAULT: Final = 5.0
CANARY_PERCENT_MIN: Final = 0.1
CANARY_BAKE_MINUTES_DEFAULT: Final = 10
#: ``DeploymentLifecycleHookTimeoutConfiguration.timeoutInMinutes`` default (24 h)
HOOK_TIMEOUT_MINUTES_DEFAULT: Final = 1440


@dataclass(frozen=True, slots=True)
class LifecycleHook:
    """One ``DeploymentLifecycleHook``: where it runs and what it does.

    ``AWS_LAMBDA`` hooks answer SUCCEEDED after the ``lifecycle_hook_s`` knob;
    ``PAUSE`` hooks wait for ``ContinueServiceDeployment``, which ecssim does not
    model, so they time out after *timeout_minutes* and take *timeout_action*.
    """

    stages: tuple[str, ...]
    target_type: str = "AWS_LAMBDA"
    timeout_minutes: int = HOOK_TIMEOUT_MINUTES_DEFAULT
    timeout_action: str = "ROLLBACK"


@dataclass(frozen=True, slots=True)
class DeploymentStrategy:
    """The strategy part of a ``deploymentConfiguration``, validated."""

    strategy: str = "ROLLING"
    #: ``bakeTimeInMinutes`` (``None``: not given; required for BLUE_GREEN)
    bake_time_minutes: int | None = None
    linear_step_percent: float = LINEAR_STEP_PERCENT_DEFAULT
    linear_step_bake_minutes: int = LINEAR_STEP_BAKE_MINUTES_DEFAULT
    canary_percent: float = CANARY_PERCENT_DEFAULT
    canary_bake_minutes: int = CANARY_BAKE_MINUTES_DEFAULT
    hooks: tuple[LifecycleHook, ...] = ()

    @property
    def is_rolling(self) -> bool:
        """A rolling update (the only strategy bounded by min/max percent)."""
        return self.strategy == "ROLLING"


def is_multiple_of_tenth(value: float) -> bool:
    """Whether *value* is a multiple of 0.1 (linear and canary percentages)."""
    return abs(value * 10 - round(value * 10)) < 1e-6


def production_traffic_steps(
    strategy: DeploymentStrategy,
) -> tuple[tuple[float, float], ...]:
    """When production traffic moves to the green revision: ``(seconds after the
    shift starts, percent of traffic on green)`` pairs, the last one at 100.

    BLUE_GREEN shifts everything at once; LINEAR shifts ``stepPercent`` at a time
    with ``stepBakeTimeInMinutes`` between steps (none after 100 %); CANARY shifts
    ``canaryPercent``, waits ``canaryBakeTimeInMinutes``, then shifts the rest.
    """
    if strategy.strategy == "LINEAR":
        step = strategy.linear_step_percent
        count = math.ceil(100 / step - 1e-9)
        wait_s = strategy.linear_step_bake_minutes * 60.0
        return tuple(
            (i * wait_s, min(100.0, round((i + 1) * step, 1))) for i in range(count)
        )
    if strategy.strategy == "CANARY" and strategy.canary_percent < 100:
        return (
            (0.0, strategy.canary_percent),
            (strategy.canary_bake_minutes * 60.0, 100.0),
        )
    return ((0.0, 100.0),)


def stage_duration_s(
    strategy: DeploymentStrategy, stage: str, *, hook_s: float
) -> float | None:
    """How long *stage* lasts once entered, or ``None`` for the stages that end
    on a condition (SCALE_UP: green healthy at full size; CLEAN_UP: no blue task
    left).

    Hooks of one stage run side by side: the stage lasts as long as its slowest
    hook (a Lambda hook ``hook_s``, a PAUSE hook its timeout); the traffic shift
    and the bake time come after the stage's hooks.
    """
    if stage in ("SCALE_UP", "CLEAN_UP"):
        return None
    longest = hook_wait_s(strategy, stage, hook_s=hook_s)
    if stage == "PRODUCTION_TRAFFIC_SHIFT":
        return longest + production_traffic_steps(strategy)[-1][0]
    if stage == "BAKE_TIME":
        return (strategy.bake_time_minutes or 0) * 60.0
    return longest


def hook_wait_s(strategy: DeploymentStrategy, stage: str, *, hook_s: float) -> float:
    """How long the hooks of *stage* hold it: the slowest of them (a Lambda
    hook ``hook_s``, a PAUSE hook its timeout), 0 without hooks."""
    waits = [
        hook_s if h.target_type == "AWS_LAMBDA" else h.timeout_minutes * 60.0
        for h in strategy.hooks
        if stage in h.stages
    ]
    return max(waits, default=0.0)


def paused_hook_rolls_back(strategy: DeploymentStrategy, stage: str) -> bool:
    """Whether a PAUSE hook of *stage* times out with ROLLBACK (ecssim cannot
    continue a paused deployment, so every PAUSE hook times out)."""
    return any(
        h.target_type == "PAUSE"
        and h.timeout_action == "ROLLBACK"
        and stage in h.stages
        for h in strategy.hooks
    )


def next_stage(stage: str) -> str:
    """The stage after *stage* (CLEAN_UP is the last)."""
    index = STAGES.index(stage)
    return STAGES[min(index + 1, len(STAGES) - 1)]


def traffic_percent(
    strategy: DeploymentStrategy, stage: str, elapsed_s: float, *, hook_s: float
) -> float:
    """Production traffic on the green revision, *elapsed_s* after *stage* began."""
    order = STAGES.index(stage)
    shift = STAGES.index("PRODUCTION_TRAFFIC_SHIFT")
    if order < shift:
        return 0.0
    if order > shift:
        return 100.0
    # the shift's own hooks run before its first step
    lead = (stage_duration_s(strategy, stage, hook_s=hook_s) or 0.0) - (
        production_traffic_steps(strategy)[-1][0]
    )
    percent = 0.0
    for at_s, value in production_traffic_steps(strategy):
        if elapsed_s + 1e-6 >= lead + at_s:
            percent = value
    return percent


#: The default strategy: a rolling update.
ROLLING: Final = DeploymentStrategy()
