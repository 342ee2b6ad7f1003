"""Benchmark: a 30-day transcoding queue at about 1,000 tasks.

The transcoding-queue scenario scaled up: 2,000 uploads an hour at the daily
profile's factor 1 (peaks of 4,000/h), jobs of median 15 min and p95 75 min,
renewing protection through the agent, and target tracking on backlog and busy
share between 100 and 1,200 tasks (about 1,000 at the evening peak). It prints
the wall time to simulate and to build the result frames, the peak memory of
the run (tracemalloc is not used: it slows the run; ``ru_maxrss`` is read),
and the same ratio lines as ``bench_queue.py``: the engine's event rate against
a bare SimPy loop measured in the same process, and ``floor.py`` on the same
workload (1,000 workers, no ECS).

Run: ``python benchmarks/bench_large.py`` (``--days N`` for a shorter run).
Nothing here is a test: tests never time anything.
"""

from __future__ import annotations

import argparse

from common import measure, report
from floor import run_floor

from ecssim.scenario.loading import parse_scenario

#: the transcoding scenario's hourly factors (quiet nights, evening peak)
TRANSCODING_DAILY = [0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.0, 1.0]
TRANSCODING_DAILY += [1.0, 1.0, 1.0, 1.1, 1.2, 1.4, 1.8, 2.0, 2.0, 1.6, 1.0, 0.5]
RATE_PER_H = 2000.0


def scenario(days: float) -> dict[str, object]:
    """The large benchmark's scenario."""
    return {
        "name": "bench-large",
        "duration": f"{days}d",
        "services": [
            {
                "name": "transcoder",
                "desired_count": 300,
                "launch_type": "FARGATE",
                "stop_timeout": "120s",
                "autoscaling": {
                    "min_capacity": 100,
                    "max_capacity": 1200,
                    "target_tracking": [
                        {
                            "metric": "BacklogPerTask",
                            "target_value": 2,
                            "scale_out_cooldown": "2m",
                            "scale_in_cooldown": "5m",
                        },
                        {
                            "metric": "BusyTaskPercent",
                            "target_value": 80,
                            "scale_out_cooldown": "2m",
                            "scale_in_cooldown": "5m",
                        },
                    ],
                },
                "workload": {
                    "kind": "queue",
                    "arrivals": {
                        "rate": f"{RATE_PER_H:g}/h",
                        "daily_profile": TRANSCODING_DAILY,
                    },
                    "job_duration": {
                        "distribution": "lognormal",
                        "median": "15m",
                        "p95": "75m",
                    },
                    "visibility_timeout": "30m",
                },
                "protection": {
                    "policy": "renewing",
                    "expires_in": "30m",
                    "release_hold": "1m",
                },
            }
        ],
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=30.0)
    args = parser.parse_args()
    config = parse_scenario(scenario(args.days), source="benchmark")

    measured = measure(config)
    floor_events, floor_s, floor_cpu_s = run_floor(
        args.days,
        TRANSCODING_DAILY,
        workers=1000,
        rate_per_s=RATE_PER_H / 3600,
        median_s=900.0,
        p95_s=4500.0,
        renew_every_s=1440.0,
        expires_in_s=1800.0,
    )
    report(args.days, measured, floor_events, floor_s, floor_cpu_s)


if __name__ == "__main__":
    main()
