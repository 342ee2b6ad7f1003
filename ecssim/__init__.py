"""ecssim: a discrete-event simulator of Amazon ECS service scale-in and task
scale-in protection.

The public API: :class:`Simulation` (a simulated account with a boto3-shaped
ECS client and a fast-forward clock) and :class:`EcsSettings` (the knobs for
behaviour AWS does not document).
"""

from __future__ import annotations

from ecssim.config import EcsSettings
from ecssim.simulation import Simulation

__all__ = ["EcsSettings", "Simulation", "__version__"]
__version__ = "0.1.0"
