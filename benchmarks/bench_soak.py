"""Soak benchmark: a simulated year of a high-churn service; memory must stay flat.

Twenty queue workers whose essential container crashes about once an hour each,
so the scheduler replaces a task every few minutes: about 175,000 tasks are
created and stopped in a year while at most about 20 are alive. The run is
advanced a quarter at a time; after each quarter the script prints the peak
resident memory so far, how many task records the control plane still holds
(ECS keeps stopped tasks describable for an hour, then forgets them) and the
events recorded (the run's results, which grow with time by design).

Run: ``python benchmarks/bench_soak.py`` (``--days N`` for a shorter or longer
run; ``--drop-records`` empties the event records after each quarter, as if
they were streamed to disk, so the figures show the simulation's own state;
``--trace`` also prints where the memory held after each quarter was
allocated, with tracemalloc, about three times slower). Nothing here is a
test: tests never time anything.
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from bare import bare_simpy_rate

from ecssim.model.build import build
from ecssim.scenario.loading import parse_scenario

#: Tasks alive at once.
TASKS = 20


def scenario(days: float) -> dict[str, object]:
    """The soak scenario: a small queue service whose tasks keep crashing."""
    return {
        "name": "bench-soak",
        "duration": f"{days}d",
        "sample_interval": "15m",
        "services": [
            {
                "name": "churn",
                "desired_count": TASKS,
                "workload": {
                    "kind": "queue",
                    "arrivals": {"rate": "20/h"},
                    "job_duration": {"distribution": "exponential", "mean": "5m"},
                },
                "protection": {"policy": "per_job", "expires_in": "30m"},
            }
        ],
        "faults": [{"kind": "task_crash", "service": "churn", "rate": "1/h"}],
    }


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux: KiB units)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024


def main() -> None:
    """Run the soak and print memory at each quarter of the simulated time."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=float, default=365.0)
    parser.add_argument("--drop-records", action="store_true")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    config = parse_scenario(scenario(args.days), source="soak benchmark")

    gc.collect()
    bare = bare_simpy_rate()
    gc.collect()
    if args.trace:
        tracemalloc.start()
    started = time.perf_counter()
    model = build(config)
    cluster = model.sim.backend.clusters[model.cluster_name]
    recorder = model.sim.recorder
    quarter_s = config.duration_s / 4
    created = seen = 0
    print(f"simulated time        {args.days:g} days, {TASKS} tasks alive at most")
    print(
        "quarter  peak RSS MB  tasks created  task records kept  "
        "events this quarter  wall s"
        + ("  (records dropped each quarter)" if args.drop_records else "")
    )
    for quarter in range(1, 5):
        model.sim.advance(quarter_s)
        gc.collect()
        new = recorder.kinds[seen:]
        created += sum(1 for kind in new if kind == "task_created")
        recorded = len(new)
        seen = len(recorder)
        if args.drop_records:
            recorder.clear()
            seen = 0
            gc.collect()
        print(
            f"{quarter}/4      {peak_rss_mb():11.1f}  {created:13,}  "
            f"{len(cluster.tasks):17,}  {recorded:19,}  "
            f"{time.perf_counter() - started:6.1f}"
        )
        if args.trace:
            current, peak = tracemalloc.get_traced_memory()
            print(
                f"         traced now {current / 1e6:.1f} MB, peak {peak / 1e6:.1f} MB"
            )
            top = tracemalloc.take_snapshot().statistics("filename")[:4]
            for stat in top:
                name = Path(str(stat.traceback[0].filename)).name
                print(f"           {stat.size / 1e6:8.1f} MB  {name}")
    elapsed = time.perf_counter() - started
    events = next(model.env._eid)  # SimPy numbers every scheduled event
    print(f"SimPy events          {events:,}")
    print(f"wall time             {elapsed:.1f} s")
    print(f"engine events/s       {events / elapsed:,.0f}")
    print(f"bare SimPy events/s   {bare:,.0f}")
    print(f"ratio engine/bare     {events / elapsed / bare:.3f}")


if __name__ == "__main__":
    main()
