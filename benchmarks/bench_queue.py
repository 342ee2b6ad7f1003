"""Benchmark: a 7-day, 200-task queue service with per-job protection, renewal
and target tracking, against a bare SimPy loop measured in the same process.

Run: ``python benchmarks/bench_queue.py`` (``--days N`` for a shorter run).
Prints simulated jobs, SimPy events processed, wall time, events per second and
the ratio of the engine's event rate to bare SimPy's. Nothing here is a test:
tests never time anything.
"""

from __future__ import annotations

import argparse

from common import DAILY, measure, report
from floor import run_floor

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

    measured = measure(config)
    floor_events, floor_s, floor_cpu_s = run_floor(args.days, DAILY)
    report(args.days, measured, floor_events, floor_s, floor_cpu_s)


if __name__ == "__main__":
    main()
