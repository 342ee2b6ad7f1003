"""Pure rules of ECS rolling-update deployments.

The rounding of ``minimumHealthyPercent`` (up) and ``maximumPercent`` (down),
and the deployment circuit breaker's threshold
(``reference/ecs-semantics.md`` §7). No SimPy, no clock.
"""

from __future__ import annotations

import math
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
