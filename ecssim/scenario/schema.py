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
from ecssim.rules import deployments as deployment_rules
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


def _bake_minutes(seconds: float) -> float:
    minutes = seconds / 60
    if minutes != int(minutes):
        raise ValueError(f"{minutes:g} minutes is not a whole number of minutes")
    limit = deployment_rules.MAX_BAKE_TIME_MINUTES
    if not 0 <= minutes <= limit:
        raise ValueError(f"{minutes:g} minutes is outside 0..{limit} minutes")
    return seconds


#: A bake time: whole minutes, 0..1440 (ECS's ``...BakeTimeInMinutes``).
BakeSeconds = Annotated[Seconds, AfterValidator(_bake_minutes)]


def _tenths(value: float) -> float:
    if not deployment_rules.is_multiple_of_tenth(value):
        raise ValueError(f"{value:g} is not a multiple of 0.1")
    return round(value, 1)


Tenths = Annotated[float, AfterValidator(_tenths)]

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
    connected); ``aws_sample`` (AWS's sample queue consumer and its
    ProtectionManager, call for call: protect before each receive, renew at
    ``renew_at_fraction`` on a ``check_every`` timer, release after each job and
    each empty receive, but not before ``maintain_fraction`` of the duration
    has passed since the last change; its defaults are the sample's: 1-minute
    protection, 80 %, 10 %, 10 s, a client that only checks the HTTP status,
    and a worker that stops taking work and exits when protection is refused).
    """

    policy: Literal[
        "none", "per_job", "renewing", "always", "sessions", "aws_sample"
    ] = "none"
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
    call_latency_s: Seconds = Field(
        default=0.03,
        alias="call_latency",
        description="time one protection call takes (AWS's sample logs 24-43 ms "
        "per agent call)",
    )
    max_attempts: int = Field(default=3, ge=1, le=10)
    check_every_s: Seconds = Field(
        default=10.0,
        alias="check_every",
        gt=0,
        description="aws_sample only: the protection manager's timer",
    )
    maintain_fraction: float = Field(
        default=0.1,
        ge=0,
        lt=1,
        description="aws_sample only: a release asked for before this fraction of "
        "the duration has passed since the last change waits until it has",
    )

    @model_validator(mode="before")
    @classmethod
    def _sample_defaults(cls, data: Any) -> Any:
        """``aws_sample`` starts from the sample's own settings."""
        if isinstance(data, dict) and data.get("policy") == "aws_sample":
            defaults = {
                "expires_in": "1m",
                "renew_at_fraction": 0.8,
                "check_failure_body": False,
                "on_failure": "stop_taking_work",
            }
            aliases = {"expires_in": "expires_in_s"}
            data = dict(data)
            for key, value in defaults.items():
                if key not in data and aliases.get(key) not in data:
                    data[key] = value
        return data

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
        if self.policy in ("renewing", "always", "sessions", "aws_sample"):
            return 0.8 * self.expires_in_s
        return None


class WorkerConfig(_Model):
    """What a worker does on SIGTERM, and the real program ``ecssim serve`` runs."""

    on_sigterm: Literal["finish", "abandon"] = "finish"
    shutdown_s: Seconds = Field(
        default=1.0, alias="shutdown", description="exit time when idle"
    )
    command: list[Annotated[str, Field(min_length=1)]] | None = Field(
        default=None,
        min_length=1,
        description="ecssim serve only: the program (and arguments) each task of "
        "the service runs as a real process, instead of the modelled worker",
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


class LinearConfig(_Model):
    """``linearConfiguration``: shift ``step_percent`` of production traffic,
    wait ``step_bake_time``, repeat until 100 %."""

    step_percent: Tenths = Field(
        default=deployment_rules.LINEAR_STEP_PERCENT_DEFAULT,
        ge=deployment_rules.LINEAR_STEP_PERCENT_MIN,
        le=100,
    )
    step_bake_time_s: BakeSeconds = Field(
        default=deployment_rules.LINEAR_STEP_BAKE_MINUTES_DEFAULT * 60.0,
        alias="step_bake_time",
    )


class CanaryConfig(_Model):
    """``canaryConfiguration``: shift ``percent`` of production traffic, wait
    ``bake_time``, then shift the rest."""

    percent: Tenths = Field(
        default=deployment_rules.CANARY_PERCENT_DEFAULT,
        ge=deployment_rules.CANARY_PERCENT_MIN,
        le=100,
    )
    bake_time_s: BakeSeconds = Field(
        default=deployment_rules.CANARY_BAKE_MINUTES_DEFAULT * 60.0, alias="bake_time"
    )


Strategy = Literal["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"]


def _check_strategy(
    strategy: Strategy | None,
    linear: LinearConfig | None,
    canary: CanaryConfig | None,
) -> None:
    if linear is not None and strategy != "LINEAR":
        raise ValueError("linear: only valid with strategy LINEAR")
    if canary is not None and strategy != "CANARY":
        raise ValueError("canary: only valid with strategy CANARY")


class DeploymentConfig(_Model):
    """``deploymentConfiguration``: a rolling update's bounds and circuit
    breaker, or a BLUE_GREEN, LINEAR or CANARY deployment's bake times."""

    minimum_healthy_percent: int = Field(default=100, ge=0, le=100)
    maximum_percent: int = Field(default=200, ge=100)
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    strategy: Strategy = "ROLLING"
    bake_time_s: BakeSeconds = Field(default=0.0, alias="bake_time")
    linear: LinearConfig | None = None
    canary: CanaryConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> DeploymentConfig:
        _check_strategy(self.strategy, self.linear, self.canary)
        return self

    def request(self) -> dict[str, Any]:
        """The strategy keys of ``deploymentConfiguration`` for CreateService."""
        return _strategy_request(
            self.strategy, self.bake_time_s, self.linear, self.canary
        )


def _strategy_request(
    strategy: Strategy,
    bake_time_s: float | None,
    linear: LinearConfig | None,
    canary: CanaryConfig | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"strategy": strategy}
    if bake_time_s is not None and strategy != "ROLLING":
        body["bakeTimeInMinutes"] = round(bake_time_s / 60)
    if strategy == "LINEAR":
        linear = linear or LinearConfig()
        body["linearConfiguration"] = {
            "stepPercent": linear.step_percent,
            "stepBakeTimeInMinutes": round(linear.step_bake_time_s / 60),
        }
    if strategy == "CANARY":
        canary = canary or CanaryConfig()
        body["canaryConfiguration"] = {
            "canaryPercent": canary.percent,
            "canaryBakeTimeInMinutes": round(canary.bake_time_s / 60),
        }
    return body


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
        if self.protection.policy == "aws_sample" and not isinstance(
            self.workload, QueueWorkload
        ):
            raise ValueError("protection policy 'aws_sample' needs a queue workload")
        return self


class StandaloneTasks(_Model):
    """Tasks started with RunTask that try to protect themselves (TASK_NOT_VALID)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    count: int = Field(default=1, ge=1, le=10)
    at_s: Seconds = Field(default=0.0, alias="at")
    protection: ProtectionPolicyConfig = ProtectionPolicyConfig(policy="always")

    @model_validator(mode="after")
    def _check(self) -> StandaloneTasks:
        if self.protection.policy in ("aws_sample", "sessions"):
            raise ValueError(
                f"protection policy {self.protection.policy!r} needs a service "
                "workload; standalone tasks take none, per_job, renewing or always"
            )
        return self


# ---- scheduled actions and faults -------------------------------------------------------
class Deploy(_Model):
    """Deploy a new revision of a service's task definition."""

    action: Literal["deploy"]
    at_s: Seconds = Field(alias="at")
    service: str
    fails_to_start: bool = False
    #: the deployment strategy for this and later deployments (default: the
    #: service's ``deployment``); bake times as in ``services[].deployment``
    strategy: Strategy | None = None
    bake_time_s: BakeSeconds | None = Field(default=None, alias="bake_time")
    linear: LinearConfig | None = None
    canary: CanaryConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> Deploy:
        if self.strategy is None:
            if (self.bake_time_s, self.linear, self.canary) != (None, None, None):
                raise ValueError("bake_time, linear and canary need a strategy")
        else:
            _check_strategy(self.strategy, self.linear, self.canary)
        return self

    def request(self) -> dict[str, Any] | None:
        """The strategy keys of ``deploymentConfiguration`` for UpdateService, or
        ``None`` to keep the service's."""
        if self.strategy is None:
            return None
        bake = self.bake_time_s
        if bake is None and self.strategy != "ROLLING":
            bake = 0.0
        return _strategy_request(self.strategy, bake, self.linear, self.canary)


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
    """A grid of values by dotted path, each point run ``replications`` times.

    ``replications: auto`` runs every point 3 times, then adds one replication
    to every point at a time until the 95 % half-width of each
    ``target_outcomes`` mean is within ``relative_half_width`` of the mean at
    every point, or ``max_replications`` is reached. ``baseline`` names the grid
    point (one value per parameter) the others are compared with, pair by pair;
    the first grid point when not given.
    """

    parameters: dict[str, tuple[Any, ...]] = Field(min_length=1)
    replications: Annotated[int, Field(ge=1, le=1000)] | Literal["auto"] = Field(
        default=1, description="runs per grid point, or auto (see relative_half_width)"
    )
    baseline: dict[str, Any] | None = Field(
        default=None,
        description="the grid point the others are compared with (default: the first)",
    )
    relative_half_width: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="replications: auto stops when every target half-width is "
        "within this fraction of its mean",
    )
    max_replications: int = Field(
        default=30,
        ge=3,
        le=1000,
        description="replications: auto runs at most this many",
    )
    target_outcomes: tuple[str, ...] = Field(
        default=("task_hours",),
        min_length=1,
        description="the outcomes replications: auto makes precise",
    )

    @model_validator(mode="after")
    def _check(self) -> Sweep:
        if self.baseline is not None:
            for name, value in self.baseline.items():
                if name not in self.parameters:
                    raise ValueError(
                        f"baseline.{name}: not a swept parameter "
                        f"(one of {sorted(self.parameters)})"
                    )
                if value not in self.parameters[name]:
                    raise ValueError(
                        f"baseline.{name}: {value!r} is not one of the swept values "
                        f"{list(self.parameters[name])}"
                    )
            missing = sorted(set(self.parameters) - set(self.baseline))
            if missing:
                raise ValueError(f"baseline: give a value for {missing} too")
        return self

    def baseline_point(self) -> dict[str, Any]:
        """The baseline grid point: as given, else the first value of each parameter."""
        if self.baseline is not None:
            return {name: self.baseline[name] for name in self.parameters}
        return {name: values[0] for name, values in self.parameters.items() if values}


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
    deployment_blocked: Literal["refuse_new", "refuse_renewals_too", "ignore"] = Field(
        default="refuse_new",
        description="when enabling protection fails with DEPLOYMENT_BLOCKED: "
        "refuse_new (protecting an unprotected task beyond the desired count; "
        "renewals are accepted, as AWS's sample shows), refuse_renewals_too, ignore",
    )
    refuse_renewals_after_s: Seconds | None = Field(
        default=None,
        alias="refuse_renewals_after",
        gt=0,
        description="refuse renewals of a task that has blocked a scale-in or a "
        "rollout for this long (AWS documents no threshold; default: never)",
    )
    protection_api_rate_per_s: PerSecond | None = Field(
        default=50.0, alias="protection_api_rate", gt=0
    )
    protection_api_burst: float = Field(default=100.0, ge=1)
    stopped_task_retention_s: Seconds = Field(
        default=3600.0,
        alias="stopped_task_retention",
        description="how long a STOPPED task stays describable before ECS "
        "forgets it (ECS documents at least one hour)",
    )
    lifecycle_hook_s: Seconds = Field(default=0.0, alias="lifecycle_hook", ge=0)

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
            refuse_renewals_after_s=self.refuse_renewals_after_s,
            protection_api_rate_per_s=self.protection_api_rate_per_s,
            protection_api_burst=self.protection_api_burst,
            stopped_task_retention_s=self.stopped_task_retention_s,
            lifecycle_hook_s=self.lifecycle_hook_s,
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
    measure_from_s: Seconds = Field(
        default=0.0,
        alias="measure_from",
        ge=0,
        description="warm-up: outcomes count only what happens from this time on",
    )
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
        if self.measure_from_s >= self.duration_s:
            raise ValueError(
                f"measure_from: {self.measure_from_s:g} s is not before the end of "
                f"the run ({self.duration_s:g} s)"
            )
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
