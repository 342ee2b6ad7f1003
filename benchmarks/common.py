"""What the benchmark scripts share: the queue workload's daily arrival profile,
and timing a scenario and printing its figures the same way."""

from __future__ import annotations

import gc
import resource
import time
from dataclasses import dataclass

from bare import bare_simpy_rate

from ecssim.model.build import build
from ecssim.scenario.schema import Scenario

#: Hourly factors of the arrival rate (UTC hours 0..23): quiet nights, a long peak.
DAILY = [
    0.4,
    0.3,
    0.3,
    0.3,
    0.4,
    0.6,
    0.8,
    1.0,
    1.2,
    1.3,
    1.3,
    1.3,
    1.3,
    1.3,
    1.2,
    1.2,
    1.2,
    1.1,
    1.0,
    0.9,
    0.8,
    0.7,
    0.6,
    0.5,
]


@dataclass(frozen=True)
class Measured:
    """One timed run of a scenario, and bare SimPy's rate around it."""

    jobs: int
    events: int
    build_s: float
    simulate_s: float
    results_s: float
    peak_mib: float
    bare_rate: float
    #: CPU seconds of this process in each step (less disturbed by a busy machine)
    simulate_cpu_s: float = 0.0
    results_cpu_s: float = 0.0


def measure(config: Scenario) -> Measured:
    """Build, simulate and build the results of *config*, timing each step; bare
    SimPy's event rate is measured before and after, in the same process."""
    gc.collect()
    bare_before = bare_simpy_rate()
    gc.collect()
    started = time.perf_counter()
    model = build(config)
    built = time.perf_counter()
    built_cpu = time.process_time()
    model.sim.advance(config.duration_s)
    simulated = time.perf_counter()
    simulated_cpu = time.process_time()
    result = model.result()
    finished = time.perf_counter()
    finished_cpu = time.process_time()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    jobs = int(result.summary.iloc[0]["jobs_arrived"])
    events = next(model.env._eid)  # SimPy numbers every scheduled event
    del model, result
    gc.collect()
    bare_after = bare_simpy_rate()
    return Measured(
        jobs=jobs,
        events=events,
        build_s=built - started,
        simulate_s=simulated - built,
        results_s=finished - simulated,
        peak_mib=peak_mib,
        bare_rate=(bare_before + bare_after) / 2,
        simulate_cpu_s=simulated_cpu - built_cpu,
        results_cpu_s=finished_cpu - simulated_cpu,
    )


def report(
    days: float, m: Measured, floor_events: int, floor_s: float, floor_cpu_s: float
) -> None:
    """Print the figures every benchmark prints (the floor model's run took
    *floor_s* seconds, *floor_cpu_s* of them CPU time of this process)."""
    rate = m.events / m.simulate_s
    total = m.build_s + m.simulate_s + m.results_s
    print(f"simulated time        {days:g} days")
    print(f"jobs simulated        {m.jobs:,}")
    print(f"SimPy events          {m.events:,}")
    print(f"wall time: build      {m.build_s:.2f} s")
    print(
        f"           simulate   {m.simulate_s:.2f} s "
        f"({m.simulate_s / m.jobs * 1e6:.1f} us per job)"
    )
    print(f"           results    {m.results_s:.2f} s")
    print(f"           total      {total:.2f} s")
    print(
        f"CPU time: simulate    {m.simulate_cpu_s:.2f} s, results {m.results_cpu_s:.2f} s"
    )
    print(f"peak memory           {m.peak_mib:,.0f} MiB (ru_maxrss of the process)")
    print(f"engine events/s       {rate:,.0f}")
    print(f"bare SimPy events/s   {m.bare_rate:,.0f}")
    print(f"ratio engine/bare     {rate / m.bare_rate:.3f}")
    print(
        f"floor model           {floor_events:,} events in {floor_s:.2f} s, "
        f"ratio {floor_events / floor_s / m.bare_rate:.3f} (benchmarks/floor.py)"
    )
    print(
        f"ecssim / floor time   {m.simulate_s / floor_s:.2f}x "
        "(simulate, against the floor model on the same workload)"
    )
    print(
        f"ecssim / floor CPU    {m.simulate_cpu_s / floor_cpu_s:.2f}x "
        "(the same in CPU time: steadier on a busy machine)"
    )
