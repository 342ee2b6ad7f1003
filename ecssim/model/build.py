"""Run a scenario: build the simulated account from it, run it, collect results.

:func:`run` turns a :class:`~ecssim.scenario.schema.Scenario` into ECS calls (cluster,
task definitions, services, auto scaling through the boto3-shaped clients, so
everything goes through the same validated paths a user's code would), starts
the workloads, workers, faults and scheduled actions, runs to the scenario's
duration and returns a :class:`RunResult` of tidy frames and a summary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import partial
from typing import Any

import pandas as pd
from tqdm import tqdm

from ecssim.aws.agent import AgentEndpoint
from ecssim.aws.state import Service as ServiceRecord
from ecssim.aws.state import Task
from ecssim.model.result import RunResult
from ecssim.model.simulation import Simulation, fewer_collections
from ecssim.policies import ProtectionPolicy
from ecssim.results.metrics import summarize
from ecssim.scenario.schema import (
    Deploy,
    Distribution,
    ProtectionApiErrors,
    QueueWorkload,
    Scenario,
    SessionWorkload,
    SetCapacity,
    SetDesiredCount,
    StandaloneTasks,
    StopTasks,
)
from ecssim.scenario.schema import Service as ServiceConfig
from ecssim.sim.faults import Faults
from ecssim.sim.sampler import TIMESERIES_COLUMNS, Sampled, Sampler
from ecssim.sim.timers import at
from ecssim.sim.workers import (
    ProtectionCaller,
    QueueWorker,
    SessionWorker,
    Worker,
    Workers,
    policy_for,
)
from ecssim.sim.workloads import (
    JobQueue,
    SessionPool,
    feed_arrivals,
    jobs_frame,
    sessions_frame,
)

#: CPU of a task: this much when idle, plus the rest up to 95 % when busy.
IDLE_CPU_PERCENT = 5.0
BUSY_CPU_PERCENT = 95.0
CUSTOM_NAMESPACE = "ecssim"


@dataclass
class _ServiceRuntime:
    config: ServiceConfig
    record: ServiceRecord
    queue: JobQueue | None = None
    pool: SessionPool | None = None


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
            record=self.record,
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
            if isinstance(action, SetCapacity):
                self._add_capacity_change(action)
            else:
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
                    "stopTimeout": math.ceil(config.stop_timeout_s),
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
            arrive: Callable[[float], object] = runtime.queue.arrive
            distribution: Distribution = workload.job_duration
        elif isinstance(workload, SessionWorkload):
            runtime.pool = SessionPool(sim.env, config.name, workload, self.record)
            arrive = runtime.pool.arrive
            distribution = workload.session_duration
        if workload is not None:
            sim.env.process(
                feed_arrivals(
                    sim.env,
                    arrivals=workload.arrivals,
                    distribution=distribution,
                    rng_arrivals=arrivals,
                    rng_durations=durations,
                    until_s=until,
                    start_hour_s=self.start_hour_s,
                    arrive=arrive,
                )
            )
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
        """Register the scalable target and its policies through the
        Application Auto Scaling client, and feed the metrics they track."""
        config = runtime.config
        scaling = config.autoscaling
        assert scaling is not None  # only called for services with autoscaling
        sim = self.sim
        aas = sim.application_autoscaling
        target = self._scalable_target(config.name)
        aas.register_scalable_target(
            **target,
            MinCapacity=scaling.min_capacity,
            MaxCapacity=scaling.max_capacity,
        )
        dimensions = [
            {"Name": "ClusterName", "Value": self.cluster_name},
            {"Name": "ServiceName", "Value": config.name},
        ]
        for index, policy in enumerate(scaling.target_tracking):
            spec: dict[str, Any] = {
                "TargetValue": policy.target_value,
                "ScaleOutCooldown": int(policy.scale_out_cooldown_s),
                "ScaleInCooldown": int(policy.scale_in_cooldown_s),
                "DisableScaleIn": policy.disable_scale_in,
            }
            if policy.metric.startswith("ECSService"):
                spec["PredefinedMetricSpecification"] = {
                    "PredefinedMetricType": policy.metric
                }
            else:
                spec["CustomizedMetricSpecification"] = {
                    "MetricName": policy.metric,
                    "Namespace": CUSTOM_NAMESPACE,
                    "Dimensions": dimensions,
                    "Statistic": "Average",
                }
            aas.put_scaling_policy(
                PolicyName=f"{config.name}-{policy.metric}-{index}",
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration=spec,
                **target,
            )
        self._feed_metrics(runtime, {p.metric for p in scaling.target_tracking})

    def _scalable_target(self, service: str) -> dict[str, str]:
        return {
            "ServiceNamespace": "ecs",
            "ResourceId": f"service/{self.cluster_name}/{service}",
            "ScalableDimension": "ecs:service:DesiredCount",
        }

    def _feed_metrics(self, runtime: _ServiceRuntime, metrics: set[str]) -> None:
        """Publish what the workload does as the metrics auto scaling tracks.

        Values are read at the end of each minute: CPU is 5 % for an idle task
        and 95 % for a busy one, averaged over RUNNING tasks; memory likewise
        between 30 % and 70 %; BacklogPerTask is visible messages per RUNNING
        task; SessionsPerTask is connected plus waiting sessions per RUNNING
        task; BusyTaskPercent is the share of RUNNING tasks with work in hand.
        """
        store = self.sim.metrics
        service = runtime.record
        load = self.workers.load(service.name)

        def busy_fraction() -> float | None:
            running = service.running_count
            return None if running == 0 else load.busy / running

        def cpu(_t: float) -> float | None:
            fraction = busy_fraction()
            if fraction is None:
                return None
            return IDLE_CPU_PERCENT + (BUSY_CPU_PERCENT - IDLE_CPU_PERCENT) * fraction

        def memory(_t: float) -> float | None:
            fraction = busy_fraction()
            return None if fraction is None else 30.0 + 40.0 * fraction

        def backlog(_t: float) -> float | None:
            queue = runtime.queue
            if queue is None:
                return None
            return queue.queued / max(1, service.running_count)

        def sessions(_t: float) -> float | None:
            pool = runtime.pool
            if pool is None:
                return None
            return (pool.connected + len(pool.waiting)) / max(1, service.running_count)

        def busy_percent(_t: float) -> float | None:
            fraction = busy_fraction()
            return None if fraction is None else 100.0 * fraction

        store.set_service_utilization(
            self.cluster_name,
            service.name,
            cpu=cpu if "ECSServiceAverageCPUUtilization" in metrics else None,
            memory=memory if "ECSServiceAverageMemoryUtilization" in metrics else None,
        )
        dims = {"ClusterName": self.cluster_name, "ServiceName": service.name}
        custom = {
            "BacklogPerTask": backlog,
            "SessionsPerTask": sessions,
            "BusyTaskPercent": busy_percent,
        }
        for name, source in custom.items():
            if name in metrics:
                store.set_source(CUSTOM_NAMESPACE, name, dims, source)

    def _add_capacity_change(self, action: SetCapacity) -> None:
        """A scheduled scaling action (``PutScheduledAction`` with ``at(...)``)."""
        when = self.scenario.start + timedelta(seconds=action.at_s)
        scalable_action: dict[str, int] = {}
        if action.min_capacity is not None:
            scalable_action["MinCapacity"] = action.min_capacity
        if action.max_capacity is not None:
            scalable_action["MaxCapacity"] = action.max_capacity
        self.sim.application_autoscaling.put_scheduled_action(
            ScheduledActionName=f"{action.service}-capacity-{int(action.at_s)}",
            Schedule=f"at({when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})",
            ScalableTargetAction=scalable_action,
            **self._scalable_target(action.service),
        )

    # ---- scheduled actions ------------------------------------------------------
    def _scheduled(self, action: Deploy | SetDesiredCount | StopTasks) -> None:
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
        else:
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

    def _sampled(self) -> list[Sampled]:
        return [Sampled(r.record, r.queue, r.pool) for r in self.services.values()]

    # ---- results --------------------------------------------------------------------
    def result(self) -> RunResult:
        """Collect the frames of a finished run."""
        with fewer_collections():
            return self._result()

    def _result(self) -> RunResult:
        scenario = self.scenario
        events = self.sim.events()
        timeseries = pd.DataFrame.from_records(
            self.sampler.rows, columns=list(TIMESERIES_COLUMNS)
        )
        runtimes = self.services.values()
        jobs = jobs_frame(r.queue for r in runtimes if r.queue is not None)
        sessions = sessions_frame(r.pool for r in runtimes if r.pool is not None)
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
