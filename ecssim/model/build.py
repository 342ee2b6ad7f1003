"""Run a scenario: build the simulated account from it, run it, collect results.

:func:`run` turns a :class:`~ecssim.scenario.schema.Scenario` into ECS calls (cluster,
task definitions, services, auto scaling through the boto3-shaped clients, so
everything goes through the same validated paths a user's code would), starts
the workloads, workers, faults and scheduled actions, runs to the scenario's
duration and returns a :class:`RunResult` of tidy frames and a summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm

from ecssim.aws.agent import AgentEndpoint
from ecssim.model.actions import add_capacity_change, run_scheduled_action
from ecssim.model.capacity import (
    add_capacity_providers,
    add_instance_interruption,
    scenario_prices,
)
from ecssim.model.result import RunResult
from ecssim.model.services import ServiceRuntime, add_service, add_standalone
from ecssim.model.simulation import Simulation, fewer_collections
from ecssim.policies import ProtectionPolicy
from ecssim.results.capacity import Resources, capacity_outcomes
from ecssim.results.metrics import (
    COUNTED_KINDS,
    OCCUPANCY_FIELDS,
    OCCUPANCY_KINDS,
    STANDALONE,
    Occupancy,
    OccupancyChanges,
    occupancy_of,
    summarize,
)
from ecssim.results.recorder import RecordedEvents, timestamps
from ecssim.scenario.schema import (
    InstanceInterruption,
    ProtectionApiErrors,
    Scenario,
    SetCapacity,
    TaskRetirement,
)
from ecssim.sim.faults import Faults
from ecssim.sim.sampler import TIMESERIES_COLUMNS, Sampled, Sampler
from ecssim.sim.timers import at
from ecssim.sim.workers import (
    ProtectionCaller,
    Workers,
)
from ecssim.sim.workloads import (
    jobs_frame,
    sessions_frame,
)

#: records of a service's occupancy worked on at once (a part of its tasks)
OCCUPANCY_PART_ROWS = 250_000


class Model:
    """A scenario built into a simulated account, ready to run (see :func:`build`).

    ``model.sim`` is the :class:`~ecssim.Simulation` underneath: step it with
    ``model.sim.advance(seconds)`` and look at it with its boto3-shaped clients
    mid-run; ``model.result()`` collects the frames of what ran so far.
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        policies: Mapping[str, ProtectionPolicy],
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.policies = dict(policies)
        unknown = sorted(
            set(self.policies)
            - {s.name for s in scenario.services}
            - {s.name for s in scenario.standalone_tasks}
        )
        if unknown:
            raise KeyError(f"policies given for unknown services {unknown}")
        cluster = scenario.cluster
        self.sim = Simulation(
            seed,
            start=scenario.start,
            availability_zones=cluster.availability_zones,
            settings=scenario.ecs.settings(),
        )
        sim = self.sim
        self.env = sim.env
        self.cluster_name = cluster.name
        sim.ecs.create_cluster(clusterName=cluster.name)
        add_capacity_providers(sim, scenario)
        self.workers = Workers(sim.env, sim.settings.sigterm_exit_s)
        sim.world.tasks.hooks.append(self.workers)
        api_faults = tuple(
            f for f in scenario.faults if isinstance(f, ProtectionApiErrors)
        )
        self.caller = ProtectionCaller(
            sim.env,
            client=sim.ecs,
            agent=AgentEndpoint(sim.ecs, scenario.start),
            rng=sim.streams["api"],
            faults=api_faults,
            record=sim.backend.record,
        )
        self.services: dict[str, ServiceRuntime] = {}
        start_of_day = scenario.start
        self.start_hour_s = (
            start_of_day.hour * 3600 + start_of_day.minute * 60 + start_of_day.second
        )
        for config in scenario.services:
            add_service(self, config)
        for standalone in scenario.standalone_tasks:
            add_standalone(self, standalone)
        faults = Faults(
            sim.env, sim.backend, sim.world.tasks, self.workers, sim.streams["faults"]
        )
        for fault in scenario.faults:
            if isinstance(fault, TaskRetirement):
                faults.retire(fault, self.services[fault.service].record)
            elif isinstance(fault, InstanceInterruption):
                add_instance_interruption(sim, fault)
            elif not isinstance(fault, ProtectionApiErrors):
                faults.add(fault, self.services[fault.service].record)
        for action in scenario.scheduled:
            if isinstance(action, SetCapacity):
                add_capacity_change(self, action)
            else:
                at(sim.env, action.at_s, partial(run_scheduled_action, self, action))
        self.sampler = Sampler(
            sim.env, scenario.sample_interval_s, self._sampled, self.workers
        )
        sim.env.process(self.sampler.run(scenario.duration_s))

    def record(self, kind: str, **fields: Any) -> None:
        """Record an event of the workload layer."""
        self.sim.backend.emit(kind, fields)

    def _sampled(self) -> list[Sampled]:
        return [Sampled(r.record, r.queue, r.pool) for r in self.services.values()]

    # ---- results --------------------------------------------------------------------
    def result(self) -> RunResult:
        """Collect the frames of a finished run."""
        with fewer_collections():
            return self._result()

    def _capacity(self, events: pd.DataFrame) -> pd.DataFrame:
        """The capacity outcomes of each service (instances, waits, cost)."""
        scenario = self.scenario
        default = [
            i.capacity_provider
            for i in scenario.cluster.default_capacity_provider_strategy
        ]
        providers = {}
        sizes = {}
        for config in scenario.services:
            strategy = [i.capacity_provider for i in config.capacity_provider_strategy]
            if config.scheduling_strategy == "DAEMON" or (
                config.launch_type is None and not strategy
            ):
                strategy = strategy or default
            providers[config.name] = strategy
            sizes[config.name] = Resources(config.cpu, config.memory)
        return capacity_outcomes(
            events,
            services=[s.name for s in scenario.services],
            service_providers=providers,
            task_sizes=sizes,
            prices=scenario_prices(scenario),
            # what ran so far: a result taken mid-run (ecssim serve) ends now
            duration_s=min(scenario.duration_s, self.sim.now_s),
            measure_from_s=scenario.measure_from_s,
        )

    def _occupancies(self, end_s: float) -> dict[str, Occupancy]:
        """Each service's occupancy (and the standalone tasks') straight from the
        recorder's columns: the same figures as from the events frame, without
        decoding a single detail, a part of the tasks at a time (a long run's
        working memory stays small)."""
        recorder = self.sim.recorder
        services = recorder.text_codes(OCCUPANCY_KINDS, "service")
        tasks = recorder.text_codes(OCCUPANCY_KINDS, "task")
        if services is None or tasks is None:  # not text: every record at once
            return self._occupancies_at_once(end_s)
        service, words = services
        task = tasks[0]
        groups = {
            str(words[code]): service == code
            for code in np.unique(service).tolist()
            if code != 0
        }
        groups[STANDALONE] = (service == 0) & (task != 0)
        del service, services
        found = {}
        for name, mask in groups.items():
            count = int(np.count_nonzero(mask))
            if not count:
                continue
            # a task's records in one part; the desired count's (no task) in the
            # first; each part's rows found when it is read (never all at once)
            parts = -(-count // OCCUPANCY_PART_ROWS)
            which = task % parts
            changes = OccupancyChanges()
            for where, times, kinds, fields in recorder.selections(
                OCCUPANCY_KINDS,
                OCCUPANCY_FIELDS,
                (np.flatnonzero(mask & (which == part)) for part in range(parts)),
            ):
                changes.add(where, times, kinds, fields, end_s)
            del which
            found[name] = changes.occupancy(end_s)
        return found

    def _occupancies_at_once(self, end_s: float) -> dict[str, Occupancy]:
        """:meth:`_occupancies` in one pass (for services or tasks not named by text)."""
        at, times, kinds, fields = self.sim.recorder.select(
            OCCUPANCY_KINDS, OCCUPANCY_FIELDS
        )
        owners, names = pd.factorize(fields["service"])
        groups = {str(name): owners == i for i, name in enumerate(names)}
        groups[STANDALONE] = (owners == -1) & (fields["task"] != None)  # noqa: E711
        found = {}
        for name, mask in groups.items():
            if not mask.any():
                continue
            found[name] = occupancy_of(
                at[mask],
                times[mask],
                kinds[mask],
                {k: v[mask] for k, v in fields.items()},
                end_s,
            )
        return found

    def _result(self) -> RunResult:
        scenario = self.scenario
        recorder = self.sim.recorder
        # before any frame: their working memory is not needed at once
        occupancies = self._occupancies(min(scenario.duration_s, self.sim.now_s))
        # the summary's frame leaves out the most frequent kinds, which it only
        # counts (and follows in the occupancies), unless instances need them
        kinds = recorder.kinds_recorded()
        counted: set[str] = set()
        if "instance_launched" not in kinds:
            counted = kinds & COUNTED_KINDS
        counts: dict[str, dict[str, int]] = {}
        found = recorder.count_by(counted, "service", since_s=scenario.measure_from_s)
        for (kind, service), count in found.items():
            counts.setdefault(STANDALONE if service is None else service, {})[kind] = (
                count
            )
        events = recorder.events_frame(kinds - counted)
        _release_arrow_memory()
        timeseries = pd.DataFrame.from_records(
            self.sampler.rows, columns=list(TIMESERIES_COLUMNS)
        )
        timeseries.insert(
            1, "timestamp", timestamps(timeseries["time_s"], scenario.start)
        )
        runtimes = self.services.values()
        jobs = jobs_frame(r.queue for r in runtimes if r.queue is not None)
        sessions = sessions_frame(r.pool for r in runtimes if r.pool is not None)
        _release_arrow_memory()
        capacity = self._capacity(events)
        _release_arrow_memory()
        summary = summarize(
            events,
            jobs,
            sessions,
            capacity=capacity,
            services=[s.name for s in scenario.services],
            # what ran so far: a result taken mid-run (ecssim serve) ends now
            duration_s=min(scenario.duration_s, self.sim.now_s),
            measure_from_s=scenario.measure_from_s,
            workloads={
                s.name: s.workload.kind if s.workload is not None else None
                for s in scenario.services
            },
            occupancies=occupancies,
            counts=counts,
        )
        return RunResult(
            scenario=scenario,
            seed=self.seed,
            # built when read: a sweep never reads it
            events=RecordedEvents(recorder, len(recorder)),
            timeseries=timeseries,
            jobs=jobs,
            sessions=sessions,
            summary=summary,
            simulation=self.sim,
        )


def _release_arrow_memory() -> None:
    """Hand the memory Arrow freed while a frame was built back to the system.

    Arrow's allocator keeps what it frees for its own next allocations; what
    follows a frame is mostly numpy arrays, which cannot reuse it (at the end
    of a month's run it held about 90 to 130 MB after each step). Called a few
    times per result, not per allocation: its cost does not show.
    """
    pa.default_memory_pool().release_unused()


def build(
    scenario: Scenario,
    *,
    seed: int | None = None,
    policies: Mapping[str, ProtectionPolicy] | None = None,
) -> Model:
    """Build *scenario* into a simulated account without running it.

    Everything is in place at simulated time 0: the cluster, task definitions,
    services and auto scaling (created through the boto3-shaped clients),
    workloads, workers, faults and scheduled actions. Use it to step through a
    scenario and inspect it with ``model.sim.ecs``; :func:`run` is build, then
    advance to the scenario's duration, then ``result()``.

    Raises:
        KeyError: *policies* names a service the scenario does not have.
    """
    chosen_seed = scenario.seed if seed is None else seed
    return Model(scenario, chosen_seed, policies or {})


def run(
    scenario: Scenario,
    *,
    seed: int | None = None,
    policies: Mapping[str, ProtectionPolicy] | None = None,
    progress: bool = False,
) -> RunResult:
    """Run *scenario* once and return its results.

    Args:
        scenario: a validated scenario (see :func:`ecssim.load_scenario`).
        seed: overrides the scenario's seed.
        policies: custom protection policies by service name (they replace the
            scenario's ``protection.policy`` for that service).
        progress: show a progress bar over simulated time.

    Raises:
        KeyError: *policies* names a service the scenario does not have.
    """
    model = build(scenario, seed=seed, policies=policies)
    duration = scenario.duration_s
    if progress:
        steps = 100
        with tqdm(total=steps, desc=scenario.name, unit="%", leave=False) as bar:
            for step in range(1, steps + 1):
                model.sim.advance(duration * step / steps - model.sim.now_s)
                bar.update(1)
    else:
        model.sim.advance(duration)
    return model.result()
