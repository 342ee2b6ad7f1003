"""Run a scenario: build the simulated account from it, run it, collect results.

:func:`run` turns a :class:`~ecssim.scenario.Scenario` into ECS calls (cluster,
task definitions, services, auto scaling through the boto3-shaped clients, so
everything goes through the same validated paths a user's code would), starts
the workloads, workers, faults and scheduled actions, runs to the scenario's
duration and returns a :class:`RunResult` of tidy frames and a summary.
"""

from __future__ import annotations

import math
from functools import partial
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ecssim.aws.agent import AgentEndpoint
from ecssim.aws.state import Service as ServiceRecord
from ecssim.aws.state import Task
from ecssim.metrics import summarize
from ecssim.policies import ProtectionPolicy
from ecssim.scenario import (
    Deploy,
    ProtectionApiErrors,
    QueueWorkload,
    Scenario,
    SessionWorkload,
    SetCapacity,
    SetDesiredCount,
    StandaloneTasks,
    StopTasks,
)
from ecssim.scenario import Service as ServiceConfig
from ecssim.sim.faults import Faults
from ecssim.sim.timers import at
from ecssim.sim.sampler import TIMESERIES_COLUMNS, Sampled, Sampler
from ecssim.sim.workers import (
    ProtectionCaller,
    QueueWorker,
    SessionWorker,
    Worker,
    Workers,
    policy_for,
)
from ecssim.sim.workloads import JOB_COLUMNS, SESSION_COLUMNS, JobQueue, SessionPool
from ecssim.simulation import Simulation

#: CPU of a task: this much when idle, plus the rest up to 95 % when busy.
IDLE_CPU_PERCENT = 5.0
BUSY_CPU_PERCENT = 95.0
CUSTOM_NAMESPACE = "ecssim"


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced.

    Attributes:
        scenario: the scenario that ran.
        seed: the seed it ran with.
        events: one row per recorded event (``time_s, kind, service, task, detail``).
        timeseries: one row per service per sample interval.
        jobs: one row per queue job.
        sessions: one row per game session.
        summary: one row per service with every outcome, named with units.
    """

    scenario: Scenario
    seed: int
    events: pd.DataFrame
    timeseries: pd.DataFrame
    jobs: pd.DataFrame
    sessions: pd.DataFrame
    summary: pd.DataFrame
    simulation: Simulation = field(repr=False, compare=False)

    def service_summary(self, service: str) -> dict[str, Any]:
        """The summary of *service* as a plain dict."""
        rows = self.summary[self.summary["service"] == service]
        if rows.empty:
            raise KeyError(f"no service named {service!r} in this run")
        return {
            str(k): v.item() if hasattr(v, "item") else v
            for k, v in rows.iloc[0].items()
        }


@dataclass
class _ServiceRuntime:
    config: ServiceConfig
    record: ServiceRecord
    queue: JobQueue | None = None
    pool: SessionPool | None = None


class _Model:
    """Builds one run's world from a scenario (kept out of the public API)."""

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
        self.workers = Workers(sim.env, sim.settings.sigterm_exit_s)
        sim.world.tasks.hooks.append(self.workers)
        api_faults = tuple(
            f for f in scenario.faults if isinstance(f, ProtectionApiErrors)
        )
        self.caller = ProtectionCaller(
            sim.env,
            sim.ecs,
            AgentEndpoint(sim.ecs, scenario.start),
            sim.streams["api"],
            api_faults,
            self.record,
        )
        self.services: dict[str, _ServiceRuntime] = {}
        start_of_day = scenario.start
        self.start_hour_s = (
            start_of_day.hour * 3600 + start_of_day.minute * 60 + start_of_day.second
        )
        for config in scenario.services:
            self._add_service(config)
        for standalone in scenario.standalone_tasks:
            self._add_standalone(standalone)
        faults = Faults(
            sim.env, sim.backend, sim.world.tasks, self.workers, sim.streams["faults"]
        )
        for fault in scenario.faults:
            if not isinstance(fault, ProtectionApiErrors):
                faults.add(fault, self.services[fault.service].record)
        for action in scenario.scheduled:
            at(sim.env, action.at_s, partial(self._scheduled, action))
        self.sampler = Sampler(
            sim.env, scenario.sample_interval_s, self._sampled, self.workers
        )
        sim.env.process(self.sampler.run(scenario.duration_s))

    def record(self, kind: str, **fields: Any) -> None:
        """Record an event of the workload layer."""
        self.sim.backend.record(kind, **fields)

    # ---- services ----------------------------------------------------------
    def _task_definition(self, config: ServiceConfig, revision_tag: int) -> str:
        ecs = self.sim.ecs
        response = ecs.register_task_definition(
            family=config.name,
            containerDefinitions=[
                {
                    "name": "worker",
                    "image": f"{config.name}:{revision_tag}",
                    "essential": True,
                    "stopTimeout": int(math.ceil(config.stop_timeout_s)),
                }
            ],
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="1024",
            memory="2048",
        )
        arn: str = response["taskDefinition"]["taskDefinitionArn"]
        return arn

    def _add_service(self, config: ServiceConfig) -> None:
        sim = self.sim
        td = self._task_definition(config, 1)
        deployment = config.deployment
        request: dict[str, Any] = {
            "cluster": self.cluster_name,
            "serviceName": config.name,
            "taskDefinition": td,
            "desiredCount": config.desired_count,
            "deploymentConfiguration": {
                "minimumHealthyPercent": deployment.minimum_healthy_percent,
                "maximumPercent": deployment.maximum_percent,
                "deploymentCircuitBreaker": {
                    "enable": deployment.circuit_breaker.enable,
                    "rollback": deployment.circuit_breaker.rollback,
                },
            },
        }
        if config.capacity_provider_strategy:
            request["capacityProviderStrategy"] = [
                {
                    "capacityProvider": c.capacity_provider,
                    "base": c.base,
                    "weight": c.weight,
                }
                for c in config.capacity_provider_strategy
            ]
        else:
            request["launchType"] = config.launch_type or "FARGATE"
        sim.ecs.create_service(**request)
        cluster = sim.backend.find_cluster(self.cluster_name)
        assert cluster is not None  # created in __init__
        record = cluster.services[config.name]
        runtime = _ServiceRuntime(config=config, record=record)
        self.services[config.name] = runtime
        workload = config.workload
        until = self.scenario.duration_s
        arrivals = sim.streams.for_key("arrivals", config.name)
        durations = sim.streams.for_key("durations", config.name)
        if isinstance(workload, QueueWorkload):
            runtime.queue = JobQueue(sim.env, config.name, workload, self.record)
            sim.env.process(
                runtime.queue.feed(arrivals, durations, until, self.start_hour_s)
            )
        elif isinstance(workload, SessionWorkload):
            runtime.pool = SessionPool(sim.env, config.name, workload, self.record)
            sim.env.process(
                runtime.pool.feed(arrivals, durations, until, self.start_hour_s)
            )
        if workload is not None:
            self.workers.factories[config.name] = self._worker_factory(runtime)
        if config.autoscaling is not None:
            self._add_autoscaling(runtime)

    def _worker_factory(self, runtime: _ServiceRuntime) -> Callable[[Task], Worker]:
        config = runtime.config
        custom = self.policies.get(config.name)

        def make(task: Task) -> Worker:
            policy = policy_for(config.protection, custom)
            common: dict[str, Any] = {
                "policy": policy,
                "config": config.protection,
                "caller": self.caller,
                "worker_config": config.worker,
                "record": self.record,
                "load": self.workers.load(config.name),
            }
            if runtime.queue is not None:
                assert isinstance(config.workload, QueueWorkload)
                return QueueWorker(
                    self.env,
                    task,
                    queue=runtime.queue,
                    receive_wait_s=config.workload.receive_wait_s,
                    **common,
                )
            assert runtime.pool is not None
            return SessionWorker(self.env, task, pool=runtime.pool, **common)

        return make

    def _add_standalone(self, config: StandaloneTasks) -> None:
        sim = self.sim
        ecs = sim.ecs
        ecs.register_task_definition(
            family=config.name,
            containerDefinitions=[{"name": "main", "image": f"{config.name}:1"}],
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
        )
        custom = self.policies.get(config.name)

        def make(task: Task) -> Worker:
            return Worker(
                self.env,
                task,
                policy=policy_for(config.protection, custom),
                config=config.protection,
                caller=self.caller,
                worker_config=self.scenario.services[0].worker,
                record=self.record,
            )

        group = f"family:{config.name}"
        self.workers.factories[group] = make
        at(
            sim.env,
            config.at_s,
            lambda: ecs.run_task(
                cluster=self.cluster_name,
                taskDefinition=config.name,
                count=config.count,
                launchType="FARGATE",
                group=group,
            ),
        )

    def _add_autoscaling(self, runtime: _ServiceRuntime) -> None:
        from ecssim.autoscaling_setup import add_autoscaling

        add_autoscaling(self, runtime)

    # ---- scheduled actions ------------------------------------------------------
    def _scheduled(
        self, action: Deploy | SetDesiredCount | SetCapacity | StopTasks
    ) -> None:
        ecs = self.sim.ecs
        runtime = self.services[action.service]
        self.record("scheduled_action", service=action.service, action=action.action)
        if isinstance(action, Deploy):
            revision = len(self.sim.backend.task_definitions[action.service]) + 1
            td = self._task_definition(runtime.config, revision)
            if action.fails_to_start:
                self.sim.fail_task_starts(td)
            ecs.update_service(
                cluster=self.cluster_name, service=action.service, taskDefinition=td
            )
        elif isinstance(action, SetDesiredCount):
            ecs.update_service(
                cluster=self.cluster_name,
                service=action.service,
                desiredCount=action.count,
            )
        elif isinstance(action, StopTasks):
            rng = self.sim.streams["faults"]
            running = sorted(
                (t for t in runtime.record.live_tasks() if t.started_at is not None),
                key=lambda t: t.task_id,
            )
            count = min(action.count, len(running))
            for index in sorted(rng.choice(len(running), size=count, replace=False)):
                ecs.stop_task(
                    cluster=self.cluster_name,
                    task=running[int(index)].arn,
                    reason="Stopped by a scheduled action",
                )
        else:
            from ecssim.autoscaling_setup import set_capacity

            set_capacity(self, runtime, action)

    def _sampled(self) -> list[Sampled]:
        return [Sampled(r.record, r.queue, r.pool) for r in self.services.values()]

    # ---- results --------------------------------------------------------------------
    def result(self) -> RunResult:
        """Collect the frames of a finished run."""
        scenario = self.scenario
        events = self.sim.events()
        timeseries = pd.DataFrame.from_records(
            self.sampler.rows, columns=list(TIMESERIES_COLUMNS)
        )
        job_rows = [
            (
                job.id,
                name,
                job.arrival_s,
                job.first_start_s,
                job.end_s,
                job.outcome,
                job.receives,
                job.interruptions,
                job.lost_work_s,
                job.duration_s,
                job.task,
            )
            for name, runtime in self.services.items()
            if runtime.queue is not None
            for job in runtime.queue.jobs
        ]
        jobs = pd.DataFrame.from_records(job_rows, columns=list(JOB_COLUMNS))
        session_rows = [
            (
                s.id,
                name,
                s.arrival_s,
                s.start_s,
                s.end_s,
                s.outcome,
                s.duration_s,
                s.task,
            )
            for name, runtime in self.services.items()
            if runtime.pool is not None
            for s in runtime.pool.sessions
        ]
        sessions = pd.DataFrame.from_records(
            session_rows, columns=list(SESSION_COLUMNS)
        )
        jobs = jobs.astype({"first_start_s": "float64", "end_s": "float64"})
        sessions = sessions.astype({"start_s": "float64", "end_s": "float64"})
        summary = summarize(
            events,
            timeseries,
            jobs,
            sessions,
            services=[s.name for s in scenario.services],
            duration_s=scenario.duration_s,
            sample_interval_s=scenario.sample_interval_s,
        )
        return RunResult(
            scenario=scenario,
            seed=self.seed,
            events=events,
            timeseries=timeseries,
            jobs=jobs,
            sessions=sessions,
            summary=summary,
            simulation=self.sim,
        )


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
    chosen_seed = scenario.seed if seed is None else seed
    model = _Model(scenario, chosen_seed, policies or {})
    duration = scenario.duration_s
    if progress:
        from tqdm import tqdm

        steps = 100
        with tqdm(total=steps, desc=scenario.name, unit="%", leave=False) as bar:
            for step in range(1, steps + 1):
                model.sim.advance(duration * step / steps - model.sim.now_s)
                bar.update(1)
    else:
        model.sim.advance(duration)
    return model.result()
