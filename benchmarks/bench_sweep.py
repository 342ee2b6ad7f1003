"""Benchmark: a 12-run sweep of 7-day runs on 1 worker, then on 2.

The bundled policy sweep (4 protection policies x 3 replications of the
transcoding queue) with each run lengthened to 7 days, run through
:func:`ecssim.sweep` with ``workers=1`` (in this process) and ``workers=2`` (a
pool of two spawned processes, which import ecssim once each), in turn,
``--rounds`` times. It prints each wall time and the speed-up of each pair
(1-worker time / 2-worker time): on a machine with two free cores the aim is
1.6 or more. Both sweeps must give the same summaries (checked).

Run: ``python benchmarks/bench_sweep.py`` (``--days N`` for shorter runs).
Nothing here is a test: tests never time anything.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd

from ecssim.experiments.sweep import sweep
from ecssim.scenario.loading import load_scenario

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "policy-sweep.yaml"


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    raw = load_scenario(SCENARIO).model_dump(mode="json", by_alias=True)
    raw["duration"] = f"{args.days:g}d"
    ratios = []
    for _ in range(args.rounds):
        timed = {}
        runs = {}
        for workers in (1, 2):
            started = time.perf_counter()
            result = sweep(raw, source=str(SCENARIO), workers=workers)
            timed[workers] = time.perf_counter() - started
            runs[workers] = result.runs
        pd.testing.assert_frame_equal(runs[1], runs[2])
        ratios.append(timed[1] / timed[2])
        print(
            f"{len(runs[1]):3d} runs of {args.days:g} days: 1 worker {timed[1]:6.2f} s, "
            f"2 workers {timed[2]:6.2f} s, speed-up {ratios[-1]:.2f}x"
        )
    print(f"median speed-up       {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
