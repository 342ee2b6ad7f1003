"""Scenario files: YAML in, validated frozen config out.

One file is one experiment. :func:`load_scenario` is the only YAML reader in
ecssim; it validates the file once with pydantic into the frozen
:class:`Scenario` and turns every problem into a :class:`ScenarioError` that
names the dotted path, the bad value and, where it can, the file's line.
Durations and rates are written with units (``90s``, ``15m``, ``2h``, ``3d``,
``30/h``) and held as float seconds (fields ending in ``_s``) or events per
second (``_per_s``) inside.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from ecssim.config import EcsSettings
from ecssim.rules.protection import MAX_EXPIRES_IN_MINUTES, MIN_EXPIRES_IN_MINUTES
from ecssim.units import parse_duration, parse_rate

Seconds = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(json_schema_extra={"type": ["string", "number"], "examples": ["90s", "15m"]}),
]
PerSecond = Annotated[
    float,
    BeforeValidator(parse_rate),
    Field(json_schema_extra={"type": ["string", "number"], "examples": ["30/h"]}),
]


def _whole_minutes(seconds: float) -> float:
    minutes = seconds / 60
    if minutes != int(minutes):
        raise ValueError(f"{minutes:g} minutes is not a whole number of minutes")
    if not MIN_EXPIRES_IN_MINUTES <= minutes <= MAX_EXPIRES_IN_MINUTES:
        raise ValueError(
            f"{minutes:g} minutes is outside "
            f"{MIN_EXPIRES_IN_MINUTES}..{MAX_EXPIRES_IN_MINUTES} minutes"
        )
    return seconds


ProtectionSeconds = Annotated[Seconds, AfterValidator(_whole_minutes)]

#: A scenario's name becomes a results folder name: only characters safe in a file
#: name, no leading dot, no separators, so no name can point outside ``results/``.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def _safe_name(name: str) -> str:
    if not _SAFE_NAME.fullmatch(name) or name.endswith("."):
        raise ValueError(
            "a scenario name becomes a folder name: use 1..128 letters, digits, "
            "'-', '_' or '.', not starting with '.' or '-' and not ending with '.'"
        )
    return name


SafeName = Annotated[str, AfterValidator(_safe_name)]


class _Model(BaseModel):
    """Frozen, strict about unknown keys, YAML names as aliases."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, validate_default=True
    )


# ---- distributions and arrival profiles -------------------------------------
class Fixed(_Model):
    """Every draw is the same value."""

    distribution: Literal["fixed"]
    value_s: Seconds = Field(alias="value")


class Exponential(_Model):
    """Exponential with the given mean."""

    distribution: Literal["exponential"]
    mean_s: Seconds = Field(alias="mean", gt=0)


class LogNormal(_Model):
    """Log-normal given its median and 95th percentile."""

    distribution: Literal["lognormal"]
    median_s: Seconds = Field(alias="median", gt=0)
    p95_s: Seconds = Field(alias="p95", gt=0)

    @model_validator(mode="after")
    def _p95_above_median(self) -> LogNormal:
        if self.p95_s <= self.median_s:
            raise ValueError(
                f"p95 ({self.p95_s:g}s) must be greater than median ({self.median_s:g}s)"
            )
        return self


class Uniform(_Model):
    """Uniform between low and high."""

    distribution: Literal["uniform"]
    low_s: Seconds = Field(alias="low")
    high_s: Seconds = Field(alias="high")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high_s < self.low_s:
            raise ValueError(f"high ({self.high_s:g}s) is below low ({self.low_s:g}s)")
        return self


class Empirical(_Model):
    """Drawn with replacement from observed values."""

    distribution: Literal["empirical"]
    values_s: tuple[Seconds, ...] = Field(alias="values", min_length=1)


Distribution = Annotated[
    Fixed | Exponential | LogNormal | Uniform | Empirical,
    Field(discriminator="distribution"),
]


class RateStep(_Model):
    """From ``at`` on, arrivals come at ``rate``."""

    at_s: Seconds = Field(alias="at")
    rate_per_s: PerSecond = Field(alias="rate")


class Burst(_Model):
    """Extra arrivals at ``rate`` for ``duration`` from ``at``."""

    at_s: Seconds = Field(alias="at")
    duration_s: Seconds = Field(alias="duration", gt=0)
    rate_per_s: PerSecond = Field(alias="rate")


class Arrivals(_Model):
    """A Poisson process with a time-varying rate, or a replayed CSV trace.

    The rate at time t is ``rate`` times the daily profile's factor for t's hour
    (when given), replaced by the latest step, plus any burst running at t.
    """

    rate_per_s: PerSecond = Field(default=0.0, alias="rate")
    daily_profile: tuple[float, ...] | None = Field(
        default=None,
        description="24 factors, one per hour of the simulated day (UTC)",
    )
    steps: tuple[RateStep, ...] = ()
    bursts: tuple[Burst, ...] = ()
    trace: Path | None = Field(
        default=None,
        description="CSV with a column arrival (seconds or duration) and optionally "
        "duration; relative paths are resolved against the scenario file",
    )

    @model_validator(mode="after")
    def _check(self) -> Arrivals:
        if self.daily_profile is not None and (
            len(self.daily_profile) != 24
            or any(not (f >= 0 and math.isfinite(f)) for f in self.daily_profile)
        ):
            raise ValueError("daily_profile needs 24 finite factors >= 0, one per hour")
        # the latest step in time wins, whatever order they were written in
        object.__setattr__(
            self, "steps", tuple(sorted(self.steps, key=lambda step: step.at_s))
        )
        if (
            self.trace is None
            and self.rate_per_s == 0
            and not self.steps
            and not self.bursts
        ):
            raise ValueError("give a rate, steps, bursts or a trace")
        return self


# ---- workloads ------------------------------------------------------------------
class QueueWorkload(_Model):
    """SQS-like queue work: jobs arrive, workers take one at a time."""

    kind: Literal["queue"]
    arrivals: Arrivals
    job_duration: Distribution
    visibility_timeout_s: Seconds = Field(
        default=3600.0, alias="visibility_timeout", gt=0
    )
    max_receive_count: int = Field(default=5, ge=1)
    receive_wait_s: Seconds = Field(
        default=20.0,
        alias="receive_wait",
        description="long-poll wait of one receive (protect_then_claim only)",
    )


class SessionWorkload(_Model):
    """Game sessions: placed on a task with a free slot; they keep it busy."""

    kind: Literal["sessions"]
    arrivals: Arrivals
    session_duration: Distribution
    slots_per_task: int = Field(default=1, ge=1)
    max_wait_s: Seconds = Field(
        default=300.0,
        alias="max_wait",
        description="a session waiting longer is dropped",
    )


Workload = Annotated[QueueWorkload | SessionWorkload, Field(discriminator="kind")]


# ---- protection policy ---------------------------------------------------------
class ProtectionPolicyConfig(_Model):
    """How each worker calls task protection.

    policies: ``none``; ``per_job`` (protect on taking work, release when done);
    ``renewing`` (per_job and renew while busy); ``always`` (protect at start and
    keep renewing: the anti-pattern); ``sessions`` (protected while any session is
    connected).
    """

    policy: Literal["none", "per_job", "renewing", "always", "sessions"] = "none"
    expires_in_s: ProtectionSeconds = Field(default=7200.0, alias="expires_in")
    renew_every_s: Seconds | None = Field(default=None, alias="renew_every", gt=0)
    renew_at_fraction: float | None = Field(default=None, gt=0, lt=1)
    release_hold_s: Seconds = Field(default=0.0, alias="release_hold")
    order: Literal["claim_then_protect", "protect_then_claim"] = "claim_then_protect"
    via: Literal["agent", "api"] = "agent"
    on_failure: Literal["keep_working", "stop_taking_work"] = "keep_working"
    check_failure_body: bool = Field(
        default=True,
        description="agent only: treat a 200 response with a failure body as a "
        "failure (clients that only check the status code do not)",
    )
    call_latency_s: Seconds = Field(default=0.1, alias="call_latency")
    max_attempts: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _check(self) -> ProtectionPolicyConfig:
        if self.renew_every_s is not None and self.renew_at_fraction is not None:
            raise ValueError("give renew_every or renew_at_fraction, not both")
        if self.renew_every_s is not None and self.renew_every_s >= self.expires_in_s:
            raise ValueError(
                f"renew_every ({self.renew_every_s:g}s) must be shorter than "
                f"expires_in ({self.expires_in_s:g}s) or protection lapses between renewals"
            )
        return self

    @property
    def renewal_interval_s(self) -> float | None:
        """Seconds between renewals while protection is wanted (None: no renewal)."""
        if self.renew_every_s is not None:
            return self.renew_every_s
        if self.renew_at_fraction is not None:
            return self.renew_at_fraction * self.expires_in_s
        if self.policy in ("renewing", "always", "sessions"):
            return 0.8 * self.expires_in_s
        return None


class WorkerConfig(_Model):
    """What a worker does on SIGTERM."""

    on_sigterm: Literal["finish", "abandon"] = "finish"
    shutdown_s: Seconds = Field(
        default=1.0, alias="shutdown", description="exit time when idle"
    )


# ---- autoscaling -----------------------------------------------------------------
class TargetTracking(_Model):
    """A target-tracking policy (Application Auto Scaling vocabulary)."""

    metric: Literal[
        "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization",
        "BacklogPerTask",
        "SessionsPerTask",
        "BusyTaskPercent",
    ]
    # Application Auto Scaling's documented TargetValue range; no inf or nan
    target_value: float = Field(gt=0, le=6.1734729e108, allow_inf_nan=False)
    scale_out_cooldown_s: Seconds = Field(default=300.0, alias="scale_out_cooldown")
    scale_in_cooldown_s: Seconds = Field(default=300.0, alias="scale_in_cooldown")
    disable_scale_in: bool = False


class AutoScaling(_Model):
    """Service Auto Scaling: a scalable target and its policies."""

    min_capacity: int = Field(ge=0, le=5000)  # ECS: 5,000 tasks per service
    max_capacity: int = Field(ge=0, le=5000)
    target_tracking: tuple[TargetTracking, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> AutoScaling:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"min_capacity {self.min_capacity} is above max_capacity {self.max_capacity}"
            )
        metrics = [policy.metric for policy in self.target_tracking]
        for index, metric in enumerate(metrics):
            if metric in metrics[:index]:
                raise ValueError(
                    f"target_tracking[{index}].metric: {metric!r} already has a "
                    f"policy (target_tracking[{metrics.index(metric)}]); one policy "
                    "per metric"
                )
        return self


# ---- services ----------------------------------------------------------------------
class CircuitBreaker(_Model):
    """``deploymentCircuitBreaker``."""

    enable: bool = False
    rollback: bool = False


class DeploymentConfig(_Model):
    """``deploymentConfiguration`` of a rolling update."""

    minimum_healthy_percent: int = Field(default=100, ge=0, le=100)
    maximum_percent: int = Field(default=200, ge=100)
    circuit_breaker: CircuitBreaker = CircuitBreaker()


class CapacityProvider(_Model):
    """One entry of a capacity provider strategy."""

    capacity_provider: Literal["FARGATE", "FARGATE_SPOT"]
    base: int = Field(default=0, ge=0)
    weight: int = Field(default=1, ge=0)


class Service(_Model):
    """One ECS service, what it runs and how it protects its tasks."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    desired_count: int = Field(ge=0, le=5000)  # ECS: 5,000 tasks per service
    launch_type: Literal["FARGATE", "EC2"] | None = None
    capacity_provider_strategy: tuple[CapacityProvider, ...] = ()
    stop_timeout_s: Seconds = Field(default=30.0, alias="stop_timeout", le=120)
    deployment: DeploymentConfig = DeploymentConfig()
    autoscaling: AutoScaling | None = None
    workload: Workload | None = None
    worker: WorkerConfig = WorkerConfig()
    protection: ProtectionPolicyConfig = ProtectionPolicyConfig()

    @model_validator(mode="after")
    def _check(self) -> Service:
        if self.launch_type is not None and self.capacity_provider_strategy:
            raise ValueError("give launch_type or capacity_provider_strategy, not both")
        if self.protection.policy == "sessions" and not isinstance(
            self.workload, SessionWorkload
        ):
            raise ValueError("protection policy 'sessions' needs a sessions workload")
        return self


class StandaloneTasks(_Model):
    """Tasks started with RunTask that try to protect themselves (TASK_NOT_VALID)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    count: int = Field(default=1, ge=1, le=10)
    at_s: Seconds = Field(default=0.0, alias="at")
    protection: ProtectionPolicyConfig = ProtectionPolicyConfig(policy="always")


# ---- scheduled actions and faults -------------------------------------------------------
class Deploy(_Model):
    """Deploy a new revision of a service's task definition."""

    action: Literal["deploy"]
    at_s: Seconds = Field(alias="at")
    service: str
    fails_to_start: bool = False


class SetDesiredCount(_Model):
    """``UpdateService(desiredCount=...)``."""

    action: Literal["set_desired_count"]
    at_s: Seconds = Field(alias="at")
    service: str
    count: int = Field(ge=0, le=5000)  # ECS: 5,000 tasks per service


class SetCapacity(_Model):
    """Change the scalable target's min/max (a scheduled scaling action)."""

    action: Literal["set_capacity"]
    at_s: Seconds = Field(alias="at")
    service: str
    min_capacity: int | None = Field(default=None, ge=0, le=5000)
    max_capacity: int | None = Field(default=None, ge=0, le=5000)

    @model_validator(mode="after")
    def _check(self) -> SetCapacity:
        low, high = self.min_capacity, self.max_capacity
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_capacity {low} is above max_capacity {high}")
        return self


class StopTasks(_Model):
    """``StopTask`` on some running tasks of a service (ignores protection)."""

    action: Literal["stop_tasks"]
    at_s: Seconds = Field(alias="at")
    service: str
    count: int = Field(default=1, ge=1)


ScheduledAction = Annotated[
    Deploy | SetDesiredCount | SetCapacity | StopTasks, Field(discriminator="action")
]


class WorkerHang(_Model):
    """Busy workers hang: their job never finishes (still renewing, or not)."""

    kind: Literal["worker_hang"]
    service: str
    at_s: Seconds | None = Field(
        default=None, alias="at", description="one hang at this time"
    )
    rate_per_s: PerSecond | None = Field(
        default=None, alias="rate", description="per task"
    )
    still_renewing: bool = True


class TaskCrash(_Model):
    """The essential container exits (ignores protection); the task is replaced."""

    kind: Literal["task_crash"]
    service: str
    at_s: Seconds | None = Field(default=None, alias="at")
    rate_per_s: PerSecond | None = Field(
        default=None, alias="rate", description="per task"
    )


class SpotInterruption(_Model):
    """FARGATE_SPOT tasks get a 2-minute warning (SIGTERM) and stop."""

    kind: Literal["spot_interruption"]
    service: str
    at_s: Seconds | None = Field(default=None, alias="at")
    rate_per_s: PerSecond | None = Field(
        default=None, alias="rate", description="per task"
    )


class ProtectionApiErrors(_Model):
    """Protection calls fail with an error code at a probability (from/until)."""

    kind: Literal["protection_api_errors"]
    probability: float = Field(gt=0, le=1)
    code: Literal["ThrottlingException", "ServerException", "RequestTimeout"] = (
        "ThrottlingException"
    )
    from_s: Seconds = Field(default=0.0, alias="from")
    until_s: Seconds | None = Field(default=None, alias="until")


Fault = Annotated[
    WorkerHang | TaskCrash | SpotInterruption | ProtectionApiErrors,
    Field(discriminator="kind"),
]


class Sweep(_Model):
    """A grid of values by dotted path, each point run ``replications`` times."""

    parameters: dict[str, tuple[Any, ...]] = Field(min_length=1)
    replications: int = Field(default=1, ge=1, le=1000)


class Cluster(_Model):
    """The cluster and its availability zones."""

    name: str = Field(default="default", pattern=r"^[A-Za-z0-9_-]{1,255}$")
    availability_zones: tuple[str, ...] = Field(
        default=("us-east-1a", "us-east-1b", "us-east-1c"), min_length=1
    )

    @model_validator(mode="after")
    def _check(self) -> Cluster:
        zones = self.availability_zones
        for index, zone in enumerate(zones):
            if zone in zones[:index]:
                raise ValueError(
                    f"availability_zones[{index}]: {zone!r} is listed twice"
                )
        return self


class EcsKnobs(_Model):
    """The ECS behaviour AWS does not document (DESIGN §4), with units."""

    scheduler_reaction_delay_s: Seconds = Field(
        default=15.0, alias="scheduler_reaction_delay"
    )
    reconcile_interval_s: Seconds = Field(
        default=60.0, alias="reconcile_interval", gt=0
    )
    task_provisioning_s: Seconds = Field(default=10.0, alias="task_provisioning")
    task_pending_s: Seconds = Field(default=20.0, alias="task_pending")
    task_healthy_after_s: Seconds = Field(default=40.0, alias="task_healthy_after")
    task_deprovisioning_s: Seconds = Field(default=5.0, alias="task_deprovisioning")
    deployment_blocked: Literal["enforce", "ignore"] = "enforce"
    protection_api_rate_per_s: PerSecond | None = Field(
        default=50.0, alias="protection_api_rate", gt=0
    )
    protection_api_burst: float = Field(default=100.0, ge=1)
    stopped_task_retention_s: Seconds = Field(
        default=3600.0, alias="stopped_task_retention"
    )

    def settings(self) -> EcsSettings:
        """The control plane's settings for these knobs."""
        return EcsSettings(
            scheduler_reaction_delay_s=self.scheduler_reaction_delay_s,
            reconcile_interval_s=self.reconcile_interval_s,
            task_provisioning_s=self.task_provisioning_s,
            task_pending_s=self.task_pending_s,
            task_healthy_after_s=self.task_healthy_after_s,
            task_deprovisioning_s=self.task_deprovisioning_s,
            deployment_blocked=self.deployment_blocked,
            protection_api_rate_per_s=self.protection_api_rate_per_s,
            protection_api_burst=self.protection_api_burst,
            stopped_task_retention_s=self.stopped_task_retention_s,
        )


class Scenario(_Model):
    """One experiment: the cluster, its services and workloads, the protection
    policy, scheduled actions, faults, how long to run, and an optional sweep."""

    name: SafeName
    description: str = ""
    seed: int = Field(default=0, ge=0)
    start: datetime = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    duration_s: Seconds = Field(alias="duration", gt=0, le=366 * 86400)
    sample_interval_s: Seconds = Field(default=60.0, alias="sample_interval", gt=0)
    ecs: EcsKnobs = EcsKnobs()
    cluster: Cluster = Cluster()
    services: tuple[Service, ...] = Field(min_length=1)
    standalone_tasks: tuple[StandaloneTasks, ...] = ()
    scheduled: tuple[ScheduledAction, ...] = ()
    faults: tuple[Fault, ...] = ()
    sweep: Sweep | None = None

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.start.tzinfo is None:
            object.__setattr__(self, "start", self.start.replace(tzinfo=UTC))
        names = [s.name for s in self.services]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(
                    f"services[{i}].name: {name!r} is the name of services"
                    f"[{names.index(name)}] too; service names must be unique"
                )
        for i, item in enumerate(self.scheduled):
            if item.service not in names:
                raise ValueError(
                    f"scheduled[{i}].service: {item.service!r} is not one of {names}"
                )
            if (
                isinstance(item, SetCapacity)
                and self.service(item.service).autoscaling is None
            ):
                raise ValueError(
                    f"scheduled[{i}]: set_capacity needs service {item.service!r} "
                    "to have autoscaling"
                )
        for i, fault in enumerate(self.faults):
            service = getattr(fault, "service", None)
            if service is not None and service not in names:
                raise ValueError(
                    f"faults[{i}].service: {service!r} is not one of {names}"
                )
            if isinstance(fault, WorkerHang | TaskCrash | SpotInterruption) and (
                (fault.at_s is None) == (fault.rate_per_s is None)
            ):
                raise ValueError(f"faults[{i}]: give exactly one of at or rate")
        return self

    def with_overrides(self, overrides: Mapping[str, Any]) -> Scenario:
        """A validated copy with values set by dotted path (YAML names and units).

        Example: ``scenario.with_overrides({"services[0].protection.policy": "none",
        "duration": "6h"})``.

        Raises:
            ScenarioError: a path does not exist or a new value is invalid.
        """
        raw = self.model_dump(mode="json", by_alias=True)
        from ecssim.scenario.loading import (  # noqa: PLC0415 (loading imports this module)
            parse_scenario,
            with_overrides,
        )

        return parse_scenario(with_overrides(raw, overrides), source=f"<{self.name}>")

    def service(self, name: str) -> Service:
        """The service called *name*."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"no service named {name!r} in scenario {self.name!r}")
