"""Benchmark: the queue benchmark (``bench_queue.py``: 7 days, up to 240 tasks
with per-job protection, renewal and target tracking) on EC2 capacity: an Auto
Scaling group capacity provider with managed scaling, managed termination
protection and draining, m5.xlarge instances and binpack placement. Measured
against a bare SimPy loop in the same process, with the same ratio lines.

Run: ``python benchmarks/bench_ec2.py`` (``--days N`` for a shorter run).
Nothing here is a test: tests never time anything.
"""

from __future__ import annotations

import argparse

from bench_queue import scenario as fargate_scenario
from common import DAILY, measure, report
from floor import run_floor

from ecssim.scenario.loading import parse_scenario


def scenario(days: float) -> dict[str, object]:
    """The queue benchmark on an Auto Scaling group capacity provider."""
    raw = fargate_scenario(days)
    raw["name"] = "bench-ec2"
    raw["cluster"] = {
        "name": "bench",
        "capacity_providers": [
            {
                "name": "workers-ec2",
                "instance_types": ["m5.xlarge"],
                "max_size": 80,
                "managed_scaling": {
                    "target_capacity": 100,
                    "maximum_scaling_step_size": 10,
                    "instance_warmup_period": "5m",
                },
                "managed_termination_protection": True,
                "managed_draining": True,
            }
        ],
    }
    service = raw["services"][0]  # type: ignore[index]
    del service["launch_type"]
    service["capacity_provider_strategy"] = [
        {"capacity_provider": "workers-ec2", "weight": 1}
    ]
    service["placement_strategy"] = [{"type": "binpack", "field": "cpu"}]
    return raw


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=7.0)
    args = parser.parse_args()
    config = parse_scenario(scenario(args.days), source="benchmark")
    measured = measure(config)
    floor_events, floor_s, floor_cpu_s = run_floor(args.days, DAILY)
    report(args.days, measured, floor_events, floor_s, floor_cpu_s)


if __name__ == "__main__":
    main()
