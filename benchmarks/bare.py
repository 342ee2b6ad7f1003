"""A bare SimPy loop of timeouts: the yardstick every benchmark reports against."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy


def bare_simpy_rate(
    events: int = 1_000_000, processes: int = 200, seed: int = 0
) -> float:
    """Events per second of *processes* SimPy processes each yielding random timeouts.

    Each process yields exponential timeouts (mean 60 s) until the run has
    scheduled about *events* events; the rate is measured on this machine, in
    this process, so it is the yardstick for the engine's rate.
    """
    rng = np.random.default_rng(seed)
    delays = rng.exponential(60.0, size=events // processes + 1).tolist()
    env = simpy.Environment()

    def loop() -> Generator[simpy.Event, Any, None]:
        for delay in delays:
            yield env.timeout(delay)

    for _ in range(processes):
        env.process(loop())
    started = time.perf_counter()
    env.run()
    elapsed = time.perf_counter() - started
    return processes * len(delays) / elapsed


if __name__ == "__main__":
    print(f"bare SimPy: {bare_simpy_rate():,.0f} events/s")
