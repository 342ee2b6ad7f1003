"""What the JSON Schema of scenario files tells an editor beyond the types.

:func:`annotate` adds to the schema pydantic generates: an ``$id``, a
description for every property (from :data:`DESCRIPTIONS` unless the model
gave one), patterns and ranges for durations and rates written as strings,
and the length of a daily profile. Validation does not use any of it (the
pydantic models do); it is there so that an editor completes and checks
scenario files as they are typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ecssim.version import __version__

#: The schema's ``$id``.
SCHEMA_ID: Final = f"urn:ecssim:scenario-schema:{__version__}"
#: A duration as a string: numbers with units, e.g. ``90s``, ``15m``, ``1h30m``.
DURATION_PATTERN: Final = r"^\s*((\d+(\.\d+)?|\.\d+)\s*([mM][sS]|[sSmMhHdDwW])\s*)+$"
#: ``expires_in`` as a string: whole minutes from 1 to 2880 (48 h), in m, h, h+m or d.
EXPIRES_IN_PATTERN: Final = (
    r"^\s*(([1-9]|[1-3]\d|4[0-7])\s*[hH](\s*([1-9]|[1-5]\d)\s*[mM])?"
    r"|48\s*[hH]|([1-9]\d{0,2}|1\d{3}|2[0-7]\d{2}|28[0-7]\d|2880)\s*[mM]"
    r"|[12]\s*[dD])\s*$"
)
#: A rate as a string: a number per unit of time, e.g. ``30/h``.
RATE_PATTERN: Final = r"^\s*(\d+(\.\d+)?|\.\d+)\s*/\s*[sSmMhHdDwW]\s*$"

_WHEN = "when, as a duration from the start of the run (e.g. 2h)"
#: A description per property name (YAML key); ``Model.key`` entries win over
#: plain ``key`` ones where one name means different things in different places.
DESCRIPTIONS: Final[dict[str, str]] = {
    "action": "what the scheduled action does",
    "arrivals": "when work arrives: a rate, a daily profile, steps, bursts or a trace",
    "at": _WHEN,
    "autoscaling": "Service Auto Scaling of the desired count (target tracking)",
    "availability_zones": "the zones tasks are spread over",
    "base": "tasks placed on this capacity provider before weights apply",
    "bursts": "extra arrivals at a higher rate for a while",
    "call_latency": "time an UpdateTaskProtection call takes (e.g. 100ms)",
    "capacity_provider": "FARGATE, FARGATE_SPOT or one of cluster.capacity_providers",
    "Cluster.capacity_providers": "Auto Scaling group capacity providers of the "
    "cluster, each with its group (EC2 capacity)",
    "Cluster.default_capacity_provider_strategy": "the strategy of services that "
    "give neither launch_type nor capacity_provider_strategy",
    "Scenario.instance_types": "EC2 instance types to add to (or override in) the "
    "bundled table, by name",
    "Scenario.prices": "what capacity costs (defaults: us-east-1, 2025)",
    "AsgCapacityProvider.instance_types": "the group's instance types (the first "
    "is launched)",
    "AsgCapacityProvider.min_size": "the group's MinSize",
    "AsgCapacityProvider.max_size": "the group's MaxSize",
    "AsgCapacityProvider.desired_capacity": "the group's DesiredCapacity at the "
    "start (default: min_size)",
    "AsgCapacityProvider.boot_time": "from launch to the ECS agent registering "
    "the instance (e.g. 90s)",
    "AsgCapacityProvider.reserved_memory_mib": "ECS_RESERVED_MEMORY of the agent",
    "AsgCapacityProvider.managed_scaling": "ECS cluster auto scaling of the group",
    "AsgCapacityProvider.managed_termination_protection": "ECS keeps scale-in "
    "protection on instances running non-daemon tasks",
    "AsgCapacityProvider.managed_draining": "ECS drains an instance before the "
    "group terminates it",
    "AsgCapacityProvider.draining_timeout": "how long draining waits for the "
    "tasks before the group terminates the instance anyway",
    "AsgCapacityProvider.spot": "the group's on-demand / Spot split and Spot "
    "interruptions",
    "InstanceTypeConfig.vcpus": "vCPUs (1024 CPU units each)",
    "InstanceTypeConfig.memory_gib": "installed memory in GiB",
    "InstanceTypeConfig.on_demand_hourly_usd": "on-demand price per hour [USD]",
    "ManagedScalingConfig.enabled": "managed scaling on (the group follows "
    "CapacityProviderReservation)",
    "ManagedScalingConfig.target_capacity": "target CapacityProviderReservation, "
    "1..100 percent",
    "ManagedScalingConfig.minimum_scaling_step_size": "fewest instances one "
    "scale-out adds",
    "ManagedScalingConfig.maximum_scaling_step_size": "most instances one "
    "scale-out adds",
    "ManagedScalingConfig.instance_warmup_period": "time after launch before an "
    "instance counts in the metric and another scale-out may start",
    "Prices.fargate_vcpu_hour_usd": "Fargate price per vCPU-hour [USD]",
    "Prices.fargate_gb_hour_usd": "Fargate price per GB-hour [USD]",
    "Prices.fargate_spot_discount": "FARGATE_SPOT discount (0.7 = 70 % off)",
    "Prices.ec2_spot_discount": "EC2 Spot discount on the on-demand price",
    "SpotConfig.on_demand_base": "on-demand instances before any Spot",
    "TaskRetirement.notice": "time from the retirement notice to the tasks "
    "being stopped",
    "capacity_provider_strategy": "capacity providers with base and weight "
    "(instead of launch_type)",
    "circuit_breaker": "the deployment circuit breaker",
    "cluster": "the ECS cluster",
    "code": "the error code the injected failures carry",
    "count": "how many tasks",
    "deployment": "rolling-update settings of the service",
    "deployment_blocked": "whether UpdateTaskProtection refuses protection that "
    "would leave more protected tasks than desired (enforce | ignore)",
    "description": "what the scenario is about, in a sentence",
    "desired_count": "the service's desired count at the start (0..5000)",
    "disable_scale_in": "true: this policy only scales out",
    "distribution": "the distribution of the draws",
    "duration": "how long (a duration such as 2h or 3d)",
    "Scenario.duration": "simulated time to run (a duration such as 1d; at most 366d)",
    "ecs": "ECS behaviour AWS does not document (scheduler delays, task timing, "
    "protection API rate)",
    "enable": "turn the circuit breaker on",
    "expires_in": "protection length per UpdateTaskProtection call: whole "
    "minutes from 1m to 2880m (48h)",
    "fails_to_start": "the new revision's tasks fail to start (to trip the "
    "circuit breaker)",
    "faults": "faults to inject: worker hangs, task crashes, Spot "
    "interruptions, protection API errors",
    "from": "start of the window in which errors are injected (a duration "
    "from the start)",
    "high": "the largest value (a duration)",
    "job_duration": "how long a job takes (a distribution of durations)",
    "kind": "which kind of entry this is",
    "launch_type": "FARGATE or EC2",
    "low": "the smallest value (a duration)",
    "max_attempts": "attempts per protection call (retries of throttling and "
    "server errors)",
    "max_capacity": "the largest desired count auto scaling may set",
    "max_receive_count": "receives before a message goes to the dead-letter queue",
    "maximum_percent": "upper limit on running tasks during a rollout, in % of desired",
    "mean": "the mean (a duration)",
    "median": "the median (a duration)",
    "metric": "what target tracking tracks",
    "min_capacity": "the smallest desired count auto scaling may set",
    "minimum_healthy_percent": "lower limit on healthy tasks during a rollout, "
    "in % of desired",
    "name": "a name",
    "Scenario.name": "the scenario's name (also its results folder's name)",
    "on_failure": "what a worker does when protecting fails: keep_working or "
    "stop_taking_work",
    "on_sigterm": "what a worker does on SIGTERM: finish its work or abandon it",
    "order": "claim the job then protect, or protect then claim",
    "p95": "the 95th percentile (a duration)",
    "parameters": "dotted path (as in --set) -> list of values to try",
    "policy": "the protection policy: none, per_job, renewing, always or sessions",
    "probability": "chance that a protection call fails (0..1)",
    "protection": "how workers use task scale-in protection",
    "protection_api_burst": "burst of the UpdateTaskProtection token bucket",
    "protection_api_rate": "sustained UpdateTaskProtection rate per account "
    "(e.g. 50/s)",
    "rate": "events per unit of time (e.g. 30/h)",
    "reconcile_interval": "how often the scheduler re-checks while out of steady state",
    "release_hold": "time a worker keeps protection after a job before clearing it",
    "renew_at_fraction": "renew when this fraction of expires_in has passed",
    "renew_every": "renew protection this often while working",
    "rollback": "roll back to the last completed deployment when the breaker trips",
    "sample_interval": "resolution of the time series (outcomes are exact "
    "whatever it is)",
    "scale_in_cooldown": "wait after a scale-in before the next one",
    "scale_out_cooldown": "wait after a scale-out before the next one",
    "scheduled": "actions at given times: deploy, set_desired_count, "
    "set_capacity, stop_tasks",
    "scheduler_reaction_delay": "delay between a change and the scheduler acting on it",
    "seed": "the random seed (the same seed gives the same results)",
    "Scenario.tune": "a policy search for ecssim tune: parameters, objectives, "
    "constraints, trials",
    "Tune.parameters": "dotted path -> a range {low, high} or {choices: [...]}",
    "Tune.objectives": "outcomes to minimize or maximize, e.g. {minimize: task_hours}",
    "Tune.constraints": "conditions a trial must meet, e.g. 'job_interruptions == 0'",
    "Tune.trials": "how many trials to run",
    "Tune.replications": "runs per trial, seeds seed..seed+replications-1",
    "Tune.seed": "the search's seed",
    "Tune.batch": "trials asked for at once (the search is the same on any executor)",
    "TuneObjective.minimize": "the summary outcome to make small",
    "TuneObjective.maximize": "the summary outcome to make large",
    "TuneObjective.service": "only this service's value (default: summed over services)",
    "TuneParameter.low": "the lowest value of the range",
    "TuneParameter.high": "the highest value of the range",
    "TuneParameter.choices": "the values to choose from (instead of a range)",
    "TuneParameter.integer": "true: whole numbers only",
    "TuneParameter.log": "true: search the range on a log scale",
    "TuneParameter.step": "search the range on this grid",
    "TuneParameter.unit": "appended to the value written into the scenario (e.g. m)",
    "service": "the service it applies to (a name from services)",
    "services": "the ECS services of the scenario",
    "session_duration": "how long a game session lasts (a distribution of durations)",
    "slots_per_task": "sessions one task can host at once",
    "standalone_tasks": "RunTask tasks (not in a service) that try to protect "
    "themselves",
    "start": "the UTC wall-clock time of simulated time 0",
    "steps": "changes of the arrival rate at given times",
    "still_renewing": "whether the hung worker keeps renewing protection",
    "stop_timeout": "time between SIGTERM and SIGKILL (at most 120s)",
    "placement_strategy": "EC2 capacity: how tasks are placed on container "
    "instances, strategies in order (at most 5; default spread over zones, then "
    "instances)",
    "placement_constraints": "EC2 capacity: rules an instance must meet "
    "(distinctInstance, memberOf on the zone; at most 10)",
    "PlacementStrategyItem.type": "spread, binpack or random",
    "PlacementStrategyItem.field": "spread: instanceId, host or "
    "attribute:ecs.availability-zone; binpack: cpu or memory; random: none",
    "PlacementConstraintItem.type": "distinctInstance or memberOf",
    "PlacementConstraintItem.expression": "memberOf: "
    "attribute:ecs.availability-zone == ZONE, or ... in [ZONE, ...]",
    "sweep": "a grid of parameter values to run, and how many replications",
    "target_tracking": "target-tracking scaling policies",
    "target_value": "the value the metric is kept near",
    "task_deprovisioning": "time from STOPPING to STOPPED",
    "task_healthy_after": "time from RUNNING to healthy",
    "task_pending": "time a task spends PENDING",
    "task_provisioning": "time a task spends PROVISIONING",
    "until": "end of the window in which errors are injected (a duration "
    "from the start)",
    "value": "the value every draw takes (a duration)",
    "values": "the values to draw from, equally likely (durations)",
    "via": "call ECS's API directly or the agent endpoint",
    "visibility_timeout": "time an abandoned message stays invisible",
    "weight": "share of tasks placed on this capacity provider after base",
    "worker": "how the service's workers shut down",
    "workload": "the work the service's tasks do: a queue or game sessions",
    "strategy": "the deployment strategy: ROLLING (default), BLUE_GREEN, LINEAR or CANARY",
    "bake_time": "BLUE_GREEN, LINEAR, CANARY: how long both revisions run after all "
    "traffic has shifted, before the blue tasks are stopped",
    "linear": "LINEAR: the share of traffic shifted per step and the wait between steps",
    "canary": "CANARY: the canary's share of traffic and how long it runs before the rest",
    "step_percent": "LINEAR: percent of production traffic shifted at each step",
    "step_bake_time": "LINEAR: wait between two traffic steps",
    "percent": "CANARY: percent of production traffic shifted to the canary first",
    "CanaryConfig.bake_time": "CANARY: how long the canary runs before the rest of "
    "the traffic shifts",
    "lifecycle_hook": "how long a deployment lifecycle hook takes to answer "
    "(AWS documents no figure)",
}


def _is_string_and_number(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return isinstance(kind, list) and set(kind) == {"string", "number"}


def _annotate_property(model: str, name: str, node: dict[str, Any]) -> None:
    if "description" not in node:
        text = DESCRIPTIONS.get(f"{model}.{name}") or DESCRIPTIONS.get(name)
        if text is not None:
            node["description"] = text
    if name == "expires_in":
        node["pattern"] = EXPIRES_IN_PATTERN
        node["minimum"] = 60
        node["maximum"] = 2880 * 60
    if _is_string_and_number(node):
        examples = node.get("examples") or []
        if any("/" in str(e) for e in examples):
            node.setdefault("pattern", RATE_PATTERN)
        else:
            node.setdefault("pattern", DURATION_PATTERN)
        node.setdefault("minimum", 0)
    if name == "daily_profile":
        for option in node.get("anyOf", [node]):
            if option.get("type") == "array":
                option.setdefault("minItems", 24)
                option.setdefault("maxItems", 24)
                option.setdefault("items", {}).setdefault("minimum", 0)


def annotate(schema: dict[str, Any]) -> dict[str, Any]:
    """*schema* with an ``$id``, descriptions, patterns and ranges added (in place)."""
    schema["$id"] = SCHEMA_ID
    models = {"Scenario": schema, **schema.get("$defs", {})}
    for model, node in models.items():
        for name, prop in node.get("properties", {}).items():
            _annotate_property(model, name, prop)
    return schema
