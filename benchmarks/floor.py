"""The floor: the benchmark's workload as a bare-bones SimPy model, without ecssim.

200 workers take jobs from a queue fed by the same arrivals (900/h with the
daily profile, lognormal durations, median 8 min and p95 30 min); each protects
its task before working (a 0.1 s call), renews every 12 minutes while busy and
releases when done (another 0.1 s call). Nothing else: no ECS rules, rate limits
or records with details, no service scheduler, auto scaling, sampling or
invariants, no pluggable policy, no jobs table.

Its event rate, as a ratio to the bare SimPy loop, is the most any engine of
this workload written on SimPy could hope for; ``bench_queue.py`` prints it next
to the engine's ratio so the two can be compared.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

DAY_S = 86_400.0
RATE_PER_S = 900 / 3600
WORKERS = 200
LATENCY_S = 0.1
RENEW_EVERY_S = 720.0
EXPIRES_IN_S = 900.0
BLOCK = 512

Process = Generator[simpy.Event, Any, None]


def run_floor(
    days: float,
    daily: list[float],
    seed: int = 0,
    *,
    workers: int = WORKERS,
    rate_per_s: float = RATE_PER_S,
    median_s: float = 480.0,
    p95_s: float = 1800.0,
    renew_every_s: float = RENEW_EVERY_S,
    expires_in_s: float = EXPIRES_IN_S,
) -> tuple[int, float, float]:
    """Run the bare-bones model for *days*; returns (SimPy events, wall seconds,
    CPU seconds of this process).

    The keywords describe another workload of the same shape (``bench_large.py``
    uses them); the defaults are ``bench_queue.py``'s.
    """
    WORKERS, RATE_PER_S, RENEW_EVERY_S, EXPIRES_IN_S = (  # noqa: N806
        workers,
        rate_per_s,
        renew_every_s,
        expires_in_s,
    )
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    until = days * DAY_S
    profile = np.asarray(daily)
    peak = RATE_PER_S * float(profile.max())
    waiting: deque[simpy.Event] = deque()
    visible: deque[float] = deque()
    expiry: list[float | None] = [None] * WORKERS
    log: list[tuple[float, str, int]] = []
    renewal: list[simpy.Event | None] = [None] * WORKERS
    busy = [False] * WORKERS

    def protect(worker: int, kind: str) -> None:
        expiry[worker] = env.now + EXPIRES_IN_S
        log.append((env.now, kind, worker))
        timer = renewal[worker] = env.timeout(RENEW_EVERY_S)
        timer.callbacks.append(lambda event: renew(worker, event))

    def renew(worker: int, event: simpy.Event) -> None:
        if event is renewal[worker] and busy[worker]:
            env.process(renew_call(worker))

    def renew_call(worker: int) -> Process:
        yield env.timeout(LATENCY_S)
        protect(worker, "renewed")

    def work(worker: int) -> Process:
        while True:
            if visible:
                duration = visible.popleft()
            else:
                receiver = env.event()
                waiting.append(receiver)
                duration = yield receiver
            busy[worker] = True
            yield env.timeout(LATENCY_S)
            protect(worker, "set")
            yield env.timeout(duration)
            busy[worker] = False
            yield env.timeout(LATENCY_S)
            expiry[worker] = renewal[worker] = None
            log.append((env.now, "cleared", worker))

    def arrivals() -> Process:
        sigma = math.log(p95_s / median_s) / 1.6448536269514722
        durations: list[float] = []
        t = 0.0
        while t < until:
            gaps = rng.exponential(1.0 / peak, BLOCK)
            times = np.cumsum(np.concatenate(([t], gaps)))[1:]
            hours = ((times % DAY_S) // 3600).astype(np.int64)
            kept = (rng.random(BLOCK) * peak < RATE_PER_S * profile[hours]) & (
                times < until
            )
            for at in times[kept].tolist():
                yield env.timeout(at - env.now)
                if not durations:
                    durations = rng.lognormal(math.log(median_s), sigma, BLOCK).tolist()
                duration = durations.pop()
                if waiting:
                    waiting.popleft().succeed(duration)
                else:
                    visible.append(duration)
            t = float(times[-1])

    for worker in range(WORKERS):
        env.process(work(worker))
    env.process(arrivals())
    started, started_cpu = time.perf_counter(), time.process_time()
    env.run(until)
    return (
        next(env._eid),
        time.perf_counter() - started,
        time.process_time() - started_cpu,
    )


if __name__ == "__main__":
    from bare import bare_simpy_rate
    from common import DAILY

    events, elapsed, _ = run_floor(7.0, DAILY)
    rate = events / elapsed
    print(f"floor model: {events:,} events in {elapsed:.2f} s, {rate:,.0f} events/s")
    print(f"ratio floor/bare: {rate / bare_simpy_rate():.3f}")
