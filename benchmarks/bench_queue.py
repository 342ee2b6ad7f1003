"""Benchmark: a 7-day, 200-task queue service with per-job protection, renewal
and target tracking, against a bare SimPy loop measured in the same process.

Run: ``python benchmarks/bench_queue.py`` (``--days N`` for a shorter run).
Prints simulated jobs, SimPy events processed, wall time, events per second and
the ratio of the engine's event rate to bare SimPy's. Nothing here is a test:
tests never time anything.
"""

from __future__ import annotations

import argparse
import gc
import time

from bare import bare_simpy_rate
from common import DAILY
from floor import run_floor

from ecssim.model.build import build
from ecssim.scenario.loading import parse_scenario


def scenario(days: float) -> dict[str, object]:
    """The benchmark scenario: 200 tasks at the daily peak, 7 days."""
    return {
        "name": "bench-queue",
        "duration": f"{days}d",
        "services": [
            {
                "name": "workers",
                "desired_count": 200,
                "launch_type": "FARGATE",
                "stop_timeout": "120s",
                "autoscaling": {
                    "min_capacity": 100,
                    "max_capacity": 240,
                    "target_tracking": [
                        {"metric": "BusyTaskPercent", "target_value": 75}
                    ],
                },
                "workload": {
                    "kind": "queue",
                    "arrivals": {"rate": "900/h", "daily_profile": DAILY},
                    "job_duration": {
                        "distribution": "lognormal",
                        "median": "8m",
                        "p95": "30m",
                    },
                },
                "protection": {
                    "policy": "renewing",
                    "expires_in": "15m",
                    "renew_at_fraction": 0.8,
                },
            }
        ],
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--no-autoscaling", action="store_true")
    args = parser.parse_args()
    raw = scenario(args.days)
    if args.no_autoscaling:
        del raw["services"][0]["autoscaling"]  # type: ignore[index]
    config = parse_scenario(raw, source="benchmark")

    gc.collect()
    bare_rate = bare_simpy_rate()
    gc.collect()
    started = time.perf_counter()
    model = build(config)
    built = time.perf_counter()
    model.sim.advance(config.duration_s)
    simulated = time.perf_counter()
    result = model.result()
    finished = time.perf_counter()
    gc.collect()
    bare_after = bare_simpy_rate()
    floor_events, floor_s = run_floor(args.days, DAILY)

    events = next(model.env._eid)  # SimPy numbers every scheduled event
    sim_s = simulated - built
    rate = events / sim_s
    bare = (bare_rate + bare_after) / 2
    summary = result.summary.iloc[0]
    jobs = int(summary["jobs_arrived"])
    print(f"simulated time        {args.days:g} days")
    print(f"jobs simulated        {jobs:,}")
    print(f"SimPy events          {events:,}")
    print(f"wall time: build      {built - started:.2f} s")
    print(f"           simulate   {sim_s:.2f} s ({sim_s / jobs * 1e6:.1f} us per job)")
    print(f"           results    {finished - simulated:.2f} s")
    print(f"           total      {finished - started:.2f} s")
    print(f"engine events/s       {rate:,.0f}")
    print(f"bare SimPy events/s   {bare:,.0f}")
    print(f"ratio engine/bare     {rate / bare:.3f}")
    print(
        f"floor model           {floor_events:,} events in {floor_s:.2f} s, "
        f"ratio {floor_events / floor_s / bare:.3f} (benchmarks/floor.py)"
    )


if __name__ == "__main__":
    main()
