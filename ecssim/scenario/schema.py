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
from typing import Annotated, Any, Final, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from ecssim.config import EcsSettings
from ecssim.results.capacity import (
    EC2_SPOT_DISCOUNT,
    FARGATE_GB_HOUR_USD,
    FARGATE_SPOT_DISCOUNT,
    FARGATE_VCPU_HOUR_USD,
)
from ecssim.rules import deployments as deployment_rules
from ecssim.rules.capacity import (
    InvalidCapacityRule,
    parse_constraints,
    parse_strategies,
)
from ecssim.rules.instance_types import INSTANCE_TYPES, REGISTERED_MEMORY_RATIO
from ecssim.rules.protection import MAX_EXPIRES_IN_MINUTES, MIN_EXPIRES_IN_MINUTES
from ecssim.units import format_duration as format_seconds
from ecssim.units import parse_duration, parse_rate

#: Bounds on how much a run may have to do, so a scenario that validates also
#: finishes (README "Scenario files"). An arrival costs about 50 us and 1 KB
#: of results, so 5 million arrivals is minutes and gigabytes.
MAX_ARRIVALS: Final = 5_000_000
#: Poisson arrivals are drawn at the peak rate and thinned: candidates drawn.
MAX_ARRIVAL_CANDIDATES: Final = 20 * MAX_ARRIVALS
#: Protection renewals a run may expect (each is an API call and timers).
MAX_RENEWALS: Final = 5_000_000
#: Task crashes, hangs and Spot interruptions at a rate: each one replaces a task.
MAX_FAULT_EVENTS: Final = 1_000_000
#: Rows of the sampled time series (per service).
MAX_SAMPLES: Final = 1_000_000
#: Shortest sample interval and renewal interval.
MIN_INTERVAL_S: Final = 1.0
#: Runs of one sweep (grid points x replications).
MAX_SWEEP_RUNS: Final = 10_000
#: The longest run, and so the latest time anything in a scenario can happen.
MAX_DURATION_S: Final = 366 * 86400.0

Seconds = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(json_schema_extra={"type": ["string", "number"], "examples": ["90s", "15m"]}),
]


def _within_a_run(seconds: float) -> float:
    if seconds > MAX_DURATION_S:
        raise ValueError(
            f"{seconds:g}s is after {MAX_DURATION_S / 86400:g} days, the longest run"
        )
    return seconds


def _at_least_a_second(seconds: float) -> float:
    if seconds < MIN_INTERVAL_S:
        raise ValueError(
            f"must be at least {MIN_INTERVAL_S:g}s (each sample is a row per service)"
        )
    return seconds


#: A time into the run (``at``, ``from``, ``until``): at most the longest run.
Moment = Annotated[Seconds, AfterValidator(_within_a_run)]
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
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        validate_default=True,
        allow_inf_nan=False,
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

    at_s: Moment = Field(alias="at")
    rate_per_s: PerSecond = Field(alias="rate")


class Burst(_Model):
    """Extra arrivals at ``rate`` for ``duration`` from ``at``."""

    at_s: Moment = Field(alias="at")
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

    @property
    def peak_rate_per_s(self) -> float:
        """The rate Poisson arrivals are drawn at before thinning (an upper
        bound of the rate at any time; ``workload.RateFunction.max_rate``)."""
        base = max([self.rate_per_s, *(s.rate_per_s for s in self.steps)])
        if self.daily_profile is not None:
            base *= max(self.daily_profile)
        return base + sum(b.rate_per_s for b in self.bursts)

    def expected_arrivals(self, until_s: float, start_hour_s: float = 0.0) -> float:
        """The mean number of Poisson arrivals in [0, until_s): the rate
        integrated over time (inf when it overflows).

        Args:
            until_s: the end of the run in seconds.
            start_hour_s: seconds past midnight (UTC) of time 0, for the profile.
        """
        points = {0.0, until_s}
        points.update(s.at_s for s in self.steps if 0 < s.at_s < until_s)
        for burst in self.bursts:
            end = burst.at_s + burst.duration_s
            points.update(t for t in (burst.at_s, end) if 0 < t < until_s)
        if self.daily_profile is not None:
            first = 3600 - start_hour_s % 3600
            points.update(np.arange(first, until_s, 3600.0).tolist())
        edges = np.array(sorted(points))
        mids = (edges[:-1] + edges[1:]) / 2
        widths = np.diff(edges)
        rate = np.full(mids.shape, self.rate_per_s)
        if self.steps:
            ats = np.array([s.at_s for s in self.steps])
            rates = np.array([s.rate_per_s for s in self.steps])
            index = np.searchsorted(ats, mids, side="right") - 1
            rate = np.where(index >= 0, rates[np.maximum(index, 0)], rate)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.daily_profile is not None:
                hours = (((mids + start_hour_s) % 86400) // 3600).astype(np.int64)
                rate = rate * np.asarray(self.daily_profile)[hours]
            extra = np.zeros(len(edges))
            for burst in self.bursts:
                if burst.at_s >= until_s:
                    continue
                first = int(np.searchsorted(edges, burst.at_s))
                last = int(
                    np.searchsorted(edges, min(burst.at_s + burst.duration_s, until_s))
                )
                extra[first] += burst.rate_per_s
                extra[last] -= burst.rate_per_s
            rate = rate + np.cumsum(extra)[:-1]
            total = float(np.sum(rate * widths))
        return total if not math.isnan(total) else math.inf


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


#: The capacity providers every account has
FARGATE_PROVIDERS: Final = ("FARGATE", "FARGATE_SPOT")


class CapacityProvider(_Model):
    """One entry of a capacity provider strategy: FARGATE, FARGATE_SPOT, or an
    Auto Scaling group capacity provider of the cluster (EC2 capacity)."""

    capacity_provider: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,255}$",
        description="FARGATE, FARGATE_SPOT, or the name of one of the cluster's "
        "Auto Scaling group capacity providers (never both kinds in one strategy)",
    )
    # CapacityProviderStrategyItem's documented ranges
    base: int = Field(default=0, ge=0, le=100_000)
    weight: int = Field(default=1, ge=0, le=1000)


def _check_provider_strategy(strategy: tuple[CapacityProvider, ...]) -> None:
    """ECS's rules across a capacity provider strategy's items (CreateService
    refuses the service otherwise).

    Raises:
        ValueError: a provider listed twice, more than one base, or no weight
            above zero; the message starts with the dotted path.
    """
    if not strategy:
        return
    where = "capacity_provider_strategy"
    names = [item.capacity_provider for item in strategy]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ValueError(
                f"{where}[{index}].capacity_provider: {name!r} is listed twice "
                f"(also {where}[{names.index(name)}]); ECS refuses the strategy"
            )
    bases = [index for index, item in enumerate(strategy) if item.base > 0]
    if len(bases) > 1:
        raise ValueError(
            f"{where}[{bases[1]}].base: {strategy[bases[1]].base}: only one capacity "
            f"provider in a strategy can have a base ({where}[{bases[0]}] has one)"
        )
    if all(item.weight == 0 for item in strategy):
        raise ValueError(
            f"{where}: every weight is 0; at least one capacity provider needs a "
            "weight above 0 (ECS refuses the strategy)"
        )
    fargate = [n in FARGATE_PROVIDERS for n in names]
    if any(fargate) and not all(fargate):
        index = fargate.index(not fargate[0])
        raise ValueError(
            f"{where}[{index}].capacity_provider: {names[index]!r}: a strategy "
            "holds either FARGATE/FARGATE_SPOT or Auto Scaling group providers, "
            "not both (ECS refuses it)"
        )


class PlacementStrategyItem(_Model):
    """One ``placementStrategy`` entry (EC2 capacity): ``spread`` on
    ``instanceId``/``host`` or ``attribute:ecs.availability-zone``, ``binpack``
    on ``cpu``/``memory``, or ``random``."""

    type: Literal["spread", "binpack", "random"]
    field: str | None = None


class PlacementConstraintItem(_Model):
    """One ``placementConstraints`` entry (EC2 capacity): ``distinctInstance``,
    or ``memberOf`` with a zone expression
    (``attribute:ecs.availability-zone in [us-east-1a, us-east-1b]``)."""

    type: Literal["distinctInstance", "memberOf"]
    expression: str | None = Field(default=None, max_length=2000)


class Service(_Model):
    """One ECS service, what it runs and how it protects its tasks."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    desired_count: int = Field(ge=0, le=5000)  # ECS: 5,000 tasks per service
    launch_type: Literal["FARGATE", "EC2"] | None = None
    # CreateService: "a capacity provider strategy can contain a maximum of 20"
    capacity_provider_strategy: tuple[CapacityProvider, ...] = Field(
        default=(), max_length=20
    )
    stop_timeout_s: Seconds = Field(default=30.0, alias="stop_timeout", le=120)
    cpu: int = Field(
        default=1024, ge=128, le=196_608, description="task CPU units (1024 = 1 vCPU)"
    )
    memory: int = Field(default=2048, ge=128, le=1_048_576, description="task MiB")
    #: EC2 capacity (tasks on container instances)
    scheduling_strategy: Literal["REPLICA", "DAEMON"] = Field(
        default="REPLICA",
        description="REPLICA, or DAEMON: one task on each ACTIVE container instance "
        "(launch type EC2, desired_count 0)",
    )
    # CreateService: at most 5 strategies and 10 constraints
    placement_strategy: tuple[PlacementStrategyItem, ...] = Field(
        default=(), max_length=5
    )
    placement_constraints: tuple[PlacementConstraintItem, ...] = Field(
        default=(), max_length=10
    )
    deployment: DeploymentConfig = DeploymentConfig()
    autoscaling: AutoScaling | None = None
    workload: Workload | None = None
    worker: WorkerConfig = WorkerConfig()
    protection: ProtectionPolicyConfig = ProtectionPolicyConfig()

    @model_validator(mode="after")
    def _check(self) -> Service:
        if self.launch_type is not None and self.capacity_provider_strategy:
            raise ValueError("give launch_type or capacity_provider_strategy, not both")
        _check_provider_strategy(self.capacity_provider_strategy)
        self._check_placement()
        if self.protection.policy == "sessions" and not isinstance(
            self.workload, SessionWorkload
        ):
            raise ValueError("protection policy 'sessions' needs a sessions workload")
        if self.protection.policy == "aws_sample" and not isinstance(
            self.workload, QueueWorkload
        ):
            raise ValueError("protection policy 'aws_sample' needs a queue workload")
        return self

    @property
    def on_instances(self) -> bool:
        """Whether the service runs on container instances (launch type EC2,
        or Auto Scaling group capacity providers)."""
        strategy = self.capacity_provider_strategy
        if strategy:
            return strategy[0].capacity_provider not in FARGATE_PROVIDERS
        return self.launch_type == "EC2" or self.scheduling_strategy == "DAEMON"

    def _check_placement(self) -> None:
        """Placement and scheduling as CreateService checks them."""
        for index, item in enumerate(self.placement_strategy):
            try:
                parse_strategies([item.model_dump(exclude_none=True)])
            except InvalidCapacityRule as exc:
                raise ValueError(f"placement_strategy[{index}]: {exc}") from None
        for index, rule in enumerate(self.placement_constraints):
            try:
                parse_constraints([rule.model_dump(exclude_none=True)])
            except InvalidCapacityRule as exc:
                raise ValueError(f"placement_constraints[{index}]: {exc}") from None
        placed = bool(self.placement_strategy or self.placement_constraints)
        # neither a launch type nor a strategy: the cluster's default strategy
        # decides (checked in Scenario)
        by_default = self.launch_type is None and not self.capacity_provider_strategy
        if placed and not self.on_instances and not by_default:
            raise ValueError(
                "placement_strategy and placement_constraints need tasks on "
                "container instances (launch_type EC2 or an Auto Scaling group "
                "capacity provider); Fargate has no placement"
            )
        if self.scheduling_strategy == "DAEMON":
            if self.launch_type == "FARGATE" or self.capacity_provider_strategy:
                raise ValueError(
                    "scheduling_strategy DAEMON runs on container instances with "
                    "launch_type EC2: no FARGATE, no capacity_provider_strategy"
                )
            if self.placement_strategy:
                raise ValueError(
                    "placement_strategy: a DAEMON service takes no placement "
                    "strategy (ECS refuses it); placement_constraints are allowed"
                )
            if self.desired_count != 0:
                raise ValueError(
                    f"desired_count: {self.desired_count}: a DAEMON service runs one "
                    "task per container instance; set desired_count to 0"
                )
            if self.autoscaling is not None:
                raise ValueError(
                    "autoscaling: a DAEMON service has no desired count to scale"
                )


class StandaloneTasks(_Model):
    """Tasks started with RunTask that try to protect themselves (TASK_NOT_VALID)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    count: int = Field(default=1, ge=1, le=10)
    at_s: Moment = Field(default=0.0, alias="at")
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
    at_s: Moment = Field(alias="at")
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
    at_s: Moment = Field(alias="at")
    service: str
    count: int = Field(ge=0, le=5000)  # ECS: 5,000 tasks per service


class SetCapacity(_Model):
    """Change the scalable target's min/max (a scheduled scaling action)."""

    action: Literal["set_capacity"]
    at_s: Moment = Field(alias="at")
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
    at_s: Moment = Field(alias="at")
    service: str
    count: int = Field(default=1, ge=1)


ScheduledAction = Annotated[
    Deploy | SetDesiredCount | SetCapacity | StopTasks, Field(discriminator="action")
]


class WorkerHang(_Model):
    """Busy workers hang: their job never finishes (still renewing, or not)."""

    kind: Literal["worker_hang"]
    service: str
    at_s: Moment | None = Field(
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
    at_s: Moment | None = Field(default=None, alias="at")
    rate_per_s: PerSecond | None = Field(
        default=None, alias="rate", description="per task"
    )


class SpotInterruption(_Model):
    """FARGATE_SPOT tasks get a 2-minute warning (SIGTERM) and stop."""

    kind: Literal["spot_interruption"]
    service: str
    at_s: Moment | None = Field(default=None, alias="at")
    rate_per_s: PerSecond | None = Field(
        default=None, alias="rate", description="per task"
    )


class InstanceInterruption(_Model):
    """An EC2 Spot interruption notice for one Spot instance of a capacity
    provider's Auto Scaling group (chosen at random); EC2 reclaims it two
    minutes later. (At a rate: give the provider's ``spot.interruption_rate``.)"""

    kind: Literal["ec2_spot_interruption"]
    capacity_provider: str
    at_s: Moment = Field(alias="at")


class TaskRetirement(_Model):
    """Fargate task retirement: AWS gives notice at ``at`` and retires the
    service's tasks that were running then once ``notice`` has passed
    (protection does not stop it; the scheduler replaces them)."""

    kind: Literal["task_retirement"]
    service: str
    at_s: Moment = Field(alias="at")
    notice_s: Seconds = Field(default=0.0, alias="notice")
    pacing: Literal["deployment", "all_at_once"] = Field(
        default="deployment",
        description="deployment: a replacement starts first when maximumPercent "
        "allows and tasks stop within minimumHealthyPercent (task-maintenance "
        "guide); all_at_once: every task stops at the retirement time",
    )


class ProtectionApiErrors(_Model):
    """Protection calls fail with an error code at a probability (from/until)."""

    kind: Literal["protection_api_errors"]
    probability: float = Field(gt=0, le=1)
    code: Literal["ThrottlingException", "ServerException", "RequestTimeout"] = (
        "ThrottlingException"
    )
    from_s: Moment = Field(default=0.0, alias="from")
    until_s: Moment | None = Field(default=None, alias="until")


Fault = Annotated[
    WorkerHang
    | TaskCrash
    | SpotInterruption
    | ProtectionApiErrors
    | InstanceInterruption
    | TaskRetirement,
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

    @model_validator(mode="after")
    def _bounded(self) -> Sweep:
        runs = (
            self.max_replications
            if self.replications == "auto"
            else int(self.replications)
        )
        replications = runs
        for values in self.parameters.values():
            runs *= max(len(values), 1)
            if runs > MAX_SWEEP_RUNS:
                sizes = " x ".join(str(len(v)) for v in self.parameters.values())
                raise ValueError(
                    f"parameters: {sizes} grid points x {replications} "
                    f"replication(s) is more than {MAX_SWEEP_RUNS:,} runs"
                )
        return self


class TuneParameter(_Model):
    """One searched value: a range (``low``..``high``) or a list of ``choices``.

    A range is searched as a float, or as a whole number with ``integer``;
    ``log`` searches it on a log scale and ``step`` on a grid; ``unit`` is
    appended to the value written into the scenario (``{low: 5, high: 120,
    integer: true, unit: m}`` gives ``35m``).
    """

    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = Field(default=None, min_length=1)
    integer: bool = False
    log: bool = False
    step: float | None = Field(default=None, gt=0)
    unit: str | None = Field(default=None, pattern=r"^[a-z/]{1,3}$")

    @model_validator(mode="after")
    def _check(self) -> TuneParameter:
        if self.choices is not None:
            if self.low is not None or self.high is not None:
                raise ValueError("give choices or low and high, not both")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give low and high (a range), or choices")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        if self.log and self.step is not None:
            raise ValueError("give log or step, not both")
        return self


class TuneObjective(_Model):
    """One outcome (a summary column) to minimise or to maximise.

    Written ``{minimize: task_hours}`` or ``{maximize: jobs_completed}``; the
    value of a run is the outcome summed over the services, or the one of
    ``service``; a trial's is the mean over its replications.
    """

    minimize: str | None = None
    maximize: str | None = None
    service: str | None = None

    @model_validator(mode="after")
    def _check(self) -> TuneObjective:
        if (self.minimize is None) == (self.maximize is None):
            raise ValueError("give one of minimize or maximize")
        return self

    @property
    def outcome(self) -> str:
        """The summary column."""
        return self.minimize or self.maximize or ""

    @property
    def direction(self) -> Literal["minimize", "maximize"]:
        """Optuna's name for the direction."""
        return "minimize" if self.minimize is not None else "maximize"


_CONSTRAINT = re.compile(
    r"^\s*([a-z][a-z0-9_]*)\s*(<=|>=|==|<|>)\s*(-?[0-9]+(?:\.[0-9]*)?(?:e-?[0-9]+)?)\s*$"
)


class Tune(_Model):
    """A policy search: parameters by dotted path, objectives, constraints, trials.

    Each constraint is ``OUTCOME OP NUMBER`` (``job_interruptions == 0``,
    ``queue_wait_p95_s <= 600``) on a trial's mean over its replications, the
    outcome summed over the services. Trials run ``replications`` times with
    seeds ``seed + replication`` of the scenario (common random numbers);
    ``seed`` seeds the search; ``batch`` trials are asked for at once, so the
    search is the same on any executor.
    """

    parameters: dict[str, TuneParameter] = Field(min_length=1)
    objectives: tuple[TuneObjective, ...] = Field(min_length=1, max_length=4)
    constraints: tuple[str, ...] = ()
    trials: int = Field(default=20, ge=1, le=10_000)
    replications: int = Field(default=1, ge=1, le=100)
    seed: int = Field(default=0, ge=0)
    batch: int = Field(default=4, ge=1, le=256)

    @model_validator(mode="after")
    def _check(self) -> Tune:
        for index, text in enumerate(self.constraints):
            if not _CONSTRAINT.match(text):
                raise ValueError(
                    f"constraints[{index}]: {text!r} is not OUTCOME OP NUMBER "
                    "(OP one of <=, >=, ==, <, >), e.g. 'job_interruptions == 0'"
                )
        return self

    @staticmethod
    def parse_constraint(text: str) -> tuple[str, str, float]:
        """``(outcome, operator, bound)`` of a constraint that validated."""
        match = _CONSTRAINT.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not OUTCOME OP NUMBER")
        return match.group(1), match.group(2), float(match.group(3))


class ManagedScalingConfig(_Model):
    """A capacity provider's managed scaling (ECS cluster auto scaling)."""

    enabled: bool = True
    target_capacity: int = Field(default=100, ge=1, le=100)
    minimum_scaling_step_size: int = Field(default=1, ge=1, le=10_000)
    maximum_scaling_step_size: int = Field(default=10_000, ge=1, le=10_000)
    instance_warmup_period_s: Seconds = Field(
        default=300.0, alias="instance_warmup_period", ge=0, le=10_000
    )

    @model_validator(mode="after")
    def _check(self) -> ManagedScalingConfig:
        if self.minimum_scaling_step_size > self.maximum_scaling_step_size:
            raise ValueError(
                f"minimum_scaling_step_size: {self.minimum_scaling_step_size} is "
                f"above maximum_scaling_step_size {self.maximum_scaling_step_size}"
            )
        return self


class SpotConfig(_Model):
    """The Spot part of an Auto Scaling group (a mixed instances policy)."""

    on_demand_base: int = Field(default=0, ge=0, le=10_000)
    on_demand_percent: int = Field(
        default=100,
        ge=0,
        le=100,
        description="percent of the instances above the base that are on-demand",
    )
    interruption_rate_per_s: PerSecond = Field(
        default=0.0, alias="interruption_rate", description="per Spot instance"
    )
    draining: bool = Field(
        default=False, description="ECS_ENABLE_SPOT_INSTANCE_DRAINING on the agent"
    )
    allocation_strategy: Literal[
        "lowest-price", "price-capacity-optimized", "capacity-optimized-prioritized"
    ] = Field(
        default="lowest-price",
        description="SpotAllocationStrategy of the group (no Spot capacity pools "
        "are modelled: price-capacity-optimized launches the cheapest type)",
    )
    instance_pools: int = Field(
        default=2,
        ge=1,
        le=20,
        description="SpotInstancePools: the lowest-price strategy spreads over "
        "this many cheapest types",
    )


class AsgCapacityProvider(_Model):
    """An Auto Scaling group capacity provider of the cluster and its group."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    instance_types: tuple[str, ...] = Field(min_length=1, max_length=40)
    on_demand_allocation_strategy: Literal["prioritized", "lowest-price"] = Field(
        default="prioritized",
        description="OnDemandAllocationStrategy of the group: the instance_types' "
        "order, or the cheapest",
    )
    min_size: int = Field(default=0, ge=0, le=10_000)
    max_size: int = Field(ge=0, le=10_000)
    desired_capacity: int | None = Field(default=None, ge=0, le=10_000)
    availability_zones: tuple[str, ...] | None = Field(default=None, min_length=1)
    boot_s: Seconds = Field(default=90.0, alias="boot_time", ge=0)
    reserved_memory_mib: int = Field(default=0, ge=0)
    managed_scaling: ManagedScalingConfig = ManagedScalingConfig()
    managed_termination_protection: bool = True
    managed_draining: bool = True
    draining_timeout_s: Seconds = Field(
        default=48 * 3600.0, alias="draining_timeout", gt=0
    )
    spot: SpotConfig = SpotConfig()

    @model_validator(mode="after")
    def _check(self) -> AsgCapacityProvider:
        name = self.name.lower()
        if name.startswith(("aws", "ecs", "fargate")):
            raise ValueError(
                f"name: {self.name!r} may not start with 'aws', 'ecs' or 'fargate'"
            )
        if self.min_size > self.max_size:
            raise ValueError(
                f"min_size: {self.min_size} is above max_size {self.max_size}"
            )
        desired = self.desired_capacity
        if desired is not None and not self.min_size <= desired <= self.max_size:
            raise ValueError(
                f"desired_capacity: {desired} is outside min_size..max_size "
                f"({self.min_size}..{self.max_size})"
            )
        if self.managed_termination_protection and not self.managed_scaling.enabled:
            raise ValueError(
                "managed_termination_protection: needs managed_scaling.enabled "
                "(ECS refuses it otherwise)"
            )
        return self


class Cluster(_Model):
    """The cluster, its availability zones and its capacity providers."""

    name: str = Field(default="default", pattern=r"^[A-Za-z0-9_-]{1,255}$")
    availability_zones: tuple[str, ...] = Field(
        default=("us-east-1a", "us-east-1b", "us-east-1c"), min_length=1
    )
    capacity_providers: tuple[AsgCapacityProvider, ...] = ()
    default_capacity_provider_strategy: tuple[CapacityProvider, ...] = Field(
        default=(), max_length=20
    )

    @model_validator(mode="after")
    def _check(self) -> Cluster:
        zones = self.availability_zones
        for index, zone in enumerate(zones):
            if zone in zones[:index]:
                raise ValueError(
                    f"availability_zones[{index}]: {zone!r} is listed twice"
                )
        names = [p.name for p in self.capacity_providers]
        for index, provider in enumerate(self.capacity_providers):
            where = f"capacity_providers[{index}]"
            if provider.name in names[:index]:
                raise ValueError(f"{where}.name: {provider.name!r} is listed twice")
            for z, zone in enumerate(provider.availability_zones or ()):
                if zone not in zones:
                    raise ValueError(
                        f"{where}.availability_zones[{z}]: {zone!r} is not one of "
                        f"the cluster's zones {list(zones)}"
                    )
        known = {"FARGATE", "FARGATE_SPOT", *names}
        for index, item in enumerate(self.default_capacity_provider_strategy):
            if item.capacity_provider not in known:
                raise ValueError(
                    f"default_capacity_provider_strategy[{index}].capacity_provider: "
                    f"{item.capacity_provider!r} is not one of {sorted(known)}"
                )
        _check_provider_strategy(self.default_capacity_provider_strategy)
        return self

    def provider(self, name: str) -> AsgCapacityProvider | None:
        """The Auto Scaling group capacity provider called *name*, if any."""
        for provider in self.capacity_providers:
            if provider.name == name:
                return provider
        return None


class InstanceTypeConfig(_Model):
    """An EC2 instance type a scenario adds to (or overrides in) the bundled
    table: vCPUs, installed memory and its on-demand hourly price."""

    vcpus: int = Field(ge=1, le=1024)
    memory_gib: float = Field(gt=0, le=32_768)
    on_demand_hourly_usd: float = Field(ge=0)


class Prices(_Model):
    """What capacity costs (defaults: us-east-1, 2025; see the README)."""

    fargate_vcpu_hour_usd: float = Field(default=FARGATE_VCPU_HOUR_USD, ge=0)
    fargate_gb_hour_usd: float = Field(default=FARGATE_GB_HOUR_USD, ge=0)
    fargate_spot_discount: float = Field(default=FARGATE_SPOT_DISCOUNT, ge=0, le=1)
    ec2_spot_discount: float = Field(default=EC2_SPOT_DISCOUNT, ge=0, le=1)
    instance_hourly_usd: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="on-demand hourly price by instance type (overrides the table)",
    )


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
    draining_respects_protection: bool = Field(
        default=True,
        description="a protected task on a DRAINING container instance stays until "
        "its protection lapses (true), or is stopped like StopTask (false); AWS "
        "does not say",
    )
    max_provisioning_tasks_per_cluster: int = Field(
        default=500,
        ge=1,
        le=100_000,
        description="tasks that may wait in PROVISIONING for a container instance "
        "per cluster (the ECS quota 'Tasks in the PROVISIONING state per cluster')",
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
            refuse_renewals_after_s=self.refuse_renewals_after_s,
            protection_api_rate_per_s=self.protection_api_rate_per_s,
            protection_api_burst=self.protection_api_burst,
            stopped_task_retention_s=self.stopped_task_retention_s,
            lifecycle_hook_s=self.lifecycle_hook_s,
            draining_respects_protection=self.draining_respects_protection,
            max_provisioning_tasks_per_cluster=self.max_provisioning_tasks_per_cluster,
        )


_EARLIEST_START: Final = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST_START: Final = datetime(9998, 1, 1, tzinfo=UTC)


def _count(value: float) -> str:
    """A count for a message: ``12,345`` or ``1.2e+300`` (or ``more than can
    be counted``)."""
    if not math.isfinite(value):
        return "more than can be counted"
    return f"{value:,.0f}" if value < 1e15 else f"{value:.3g}"


class Scenario(_Model):
    """One experiment: the cluster, its services and workloads, the protection
    policy, scheduled actions, faults, how long to run, and an optional sweep."""

    name: SafeName
    description: str = ""
    seed: int = Field(default=0, ge=0)
    start: datetime = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    duration_s: Seconds = Field(alias="duration", gt=0, le=MAX_DURATION_S)
    sample_interval_s: Annotated[Seconds, AfterValidator(_at_least_a_second)] = Field(
        default=60.0, alias="sample_interval"
    )
    measure_from_s: Seconds = Field(
        default=0.0,
        alias="measure_from",
        ge=0,
        description="warm-up: outcomes count only what happens from this time on",
    )
    ecs: EcsKnobs = EcsKnobs()
    cluster: Cluster = Cluster()
    instance_types: dict[str, InstanceTypeConfig] = Field(default_factory=dict)
    prices: Prices = Prices()
    # ECS: 5,000 services per cluster (the scenario has one cluster)
    services: tuple[Service, ...] = Field(min_length=1, max_length=5000)
    standalone_tasks: tuple[StandaloneTasks, ...] = ()
    scheduled: tuple[ScheduledAction, ...] = ()
    faults: tuple[Fault, ...] = ()
    sweep: Sweep | None = None
    tune: Tune | None = None

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
        providers = self.auto_scaling_group_providers()
        for i, config in enumerate(self.services):
            for j, entry in enumerate(config.capacity_provider_strategy):
                name = entry.capacity_provider
                if name not in FARGATE_PROVIDERS and name not in providers:
                    raise ValueError(
                        f"services[{i}].capacity_provider_strategy[{j}]."
                        f"capacity_provider: {name!r} is neither FARGATE, "
                        "FARGATE_SPOT nor an Auto Scaling group capacity provider "
                        f"of the cluster ({sorted(providers) or 'none defined'})"
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
        self._check_capacity()
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
        if not _EARLIEST_START <= self.start <= _LATEST_START:
            raise ValueError(
                f"start: {self.start.isoformat()}: must be between "
                f"{_EARLIEST_START.date()} and {_LATEST_START.date()} (scheduled "
                "actions are dated at(yyyy-mm-ddThh:mm:ss), and a run ends before "
                "year 10000)"
            )
        self._check_size()
        return self

    def _check_capacity(self) -> None:
        """Capacity providers, instance types and strategies agree.

        Raises:
            ValueError: naming the field and the value.
        """
        cluster = self.cluster
        known_types = set(INSTANCE_TYPES) | set(self.instance_types)
        for i, provider in enumerate(cluster.capacity_providers):
            for t, name in enumerate(provider.instance_types):
                if name not in known_types:
                    raise ValueError(
                        f"cluster.capacity_providers[{i}].instance_types[{t}]: "
                        f"{name!r} is not a known instance type; known: "
                        f"{', '.join(sorted(known_types))} (add it under "
                        "instance_types:)"
                    )
            events = (
                provider.spot.interruption_rate_per_s
                * provider.max_size
                * self.duration_s
            )
            if not events <= MAX_FAULT_EVENTS:
                raise ValueError(
                    f"cluster.capacity_providers[{i}].spot.interruption_rate: "
                    f"{provider.spot.interruption_rate_per_s:g}/s per instance with "
                    f"up to {provider.max_size} instances is {_count(events)} "
                    f"events; at most {MAX_FAULT_EVENTS:,}"
                )
        types = {name: (t.vcpus, t.memory_gib) for name, t in INSTANCE_TYPES.items()}
        types |= {n: (t.vcpus, t.memory_gib) for n, t in self.instance_types.items()}
        default = [
            i.capacity_provider for i in cluster.default_capacity_provider_strategy
        ]
        for i, service in enumerate(self.services):
            names = [i.capacity_provider for i in service.capacity_provider_strategy]
            if not names and service.launch_type is None:
                names = default
            groups = [p for p in cluster.capacity_providers if p.name in names]
            if not groups:
                continue
            # what the largest type registers (as ecssim.rules.instance_types)
            room = [
                (
                    types[t][0] * 1024,
                    int(types[t][1] * 1024 * REGISTERED_MEMORY_RATIO)
                    - p.reserved_memory_mib,
                )
                for p in groups
                for t in p.instance_types
            ]
            if not any(service.cpu <= c and service.memory <= m for c, m in room):
                raise ValueError(
                    f"services[{i}].cpu/memory: a task of {service.cpu} CPU units "
                    f"and {service.memory} MiB fits no instance type of "
                    f"{[p.name for p in groups]} (the largest registers "
                    f"{max(room)[0]} CPU units, {max(r[1] for r in room)} MiB); "
                    "its tasks would wait for room forever"
                )
        default_on_instances = any(
            item.capacity_provider not in FARGATE_PROVIDERS
            for item in cluster.default_capacity_provider_strategy
        )
        for i, service in enumerate(self.services):
            placed = bool(service.placement_strategy or service.placement_constraints)
            by_default = (
                service.launch_type is None
                and not service.capacity_provider_strategy
                and service.scheduling_strategy != "DAEMON"
            )
            if placed and by_default and not default_on_instances:
                raise ValueError(
                    f"services[{i}]: placement_strategy and placement_constraints "
                    "need tasks on container instances (launch_type EC2, or an "
                    "Auto Scaling group capacity provider in the service's "
                    "capacity_provider_strategy or in "
                    "cluster.default_capacity_provider_strategy); Fargate has no "
                    "placement"
                )
        for i, fault in enumerate(self.faults):
            if (
                isinstance(fault, InstanceInterruption)
                and cluster.provider(fault.capacity_provider) is None
            ):
                raise ValueError(
                    f"faults[{i}].capacity_provider: {fault.capacity_provider!r} is "
                    "not one of the cluster's capacity_providers "
                    f"{[p.name for p in cluster.capacity_providers]}"
                )

    def auto_scaling_group_providers(self) -> frozenset[str]:
        """Names of the cluster's Auto Scaling group capacity providers (the
        cluster-level EC2 capacity section; none until one is defined)."""
        return frozenset(
            getattr(p, "name", "")
            for p in getattr(self.cluster, "capacity_providers", ()) or ()
        )

    def _check_size(self) -> None:
        """Refuse a scenario whose run would clearly not finish: too many
        arrivals, renewals, fault events or samples (README "Scenario files").

        Raises:
            ValueError: naming the field, the estimate and the bound.
        """
        duration = self.duration_s
        samples = duration / self.sample_interval_s
        if samples > MAX_SAMPLES:
            raise ValueError(
                f"sample_interval: {format_seconds(self.sample_interval_s)} over "
                f"{format_seconds(duration)} is {samples:,.0f} samples per service; "
                f"at most {MAX_SAMPLES:,} (use a sample_interval of at least "
                f"{format_seconds(math.ceil(duration / MAX_SAMPLES))})"
            )
        start = self.start
        start_hour_s = start.hour * 3600 + start.minute * 60 + start.second
        total = 0.0
        for i, service in enumerate(self.services):
            where = f"services[{i}]"
            workload = service.workload
            if workload is not None and workload.arrivals.trace is None:
                arrivals = workload.arrivals
                expected = arrivals.expected_arrivals(duration, start_hour_s)
                if not expected <= MAX_ARRIVALS:
                    raise ValueError(
                        f"{where}.workload.arrivals: expects {_count(expected)} "
                        f"arrivals in {format_seconds(duration)} (the rate integrated "
                        f"over the run); at most {MAX_ARRIVALS:,}: lower the rate or "
                        "the duration"
                    )
                total += expected
                candidates = arrivals.peak_rate_per_s * duration
                if not candidates <= MAX_ARRIVAL_CANDIDATES:
                    raise ValueError(
                        f"{where}.workload.arrivals: the peak rate "
                        f"({arrivals.peak_rate_per_s:g}/s, the highest rate, step or "
                        "profile factor plus every burst) over the run is "
                        f"{_count(candidates)} candidate arrivals to thin; at most "
                        f"{MAX_ARRIVAL_CANDIDATES:,}"
                    )
            tasks = self._most_tasks(service)
            interval = service.protection.renewal_interval_s
            if interval is not None and service.protection.policy != "none":
                if interval < MIN_INTERVAL_S:
                    raise ValueError(
                        f"{where}.protection: renews every {interval:g}s; the "
                        f"shortest renewal interval is {MIN_INTERVAL_S:g}s"
                    )
                renewals = duration / interval * tasks
                if not renewals <= MAX_RENEWALS:
                    raise ValueError(
                        f"{where}.protection: renewing every {interval:g}s with up to "
                        f"{tasks:,} tasks for {format_seconds(duration)} is up to "
                        f"{_count(renewals)} renewals; at most {MAX_RENEWALS:,}"
                    )
        if not total <= MAX_ARRIVALS:
            raise ValueError(
                f"services: the workloads together expect {_count(total)} arrivals; "
                f"at most {MAX_ARRIVALS:,}"
            )
        for i, fault in enumerate(self.faults):
            rate = getattr(fault, "rate_per_s", None)
            if rate is None:
                continue
            tasks = self._most_tasks(self.service(fault.service))  # type: ignore[union-attr]
            events = rate * tasks * duration
            if not events <= MAX_FAULT_EVENTS:
                raise ValueError(
                    f"faults[{i}].rate: {rate:g}/s per task with up to {tasks:,} tasks "
                    f"for {format_seconds(duration)} is {_count(events)} events; at "
                    f"most {MAX_FAULT_EVENTS:,}"
                )

    def _most_tasks(self, service: Service) -> int:
        """The most tasks *service* can ask for at once (desired, auto scaling
        and scheduled counts), at least 1."""
        counts = [service.desired_count, 1]
        if service.autoscaling is not None:
            counts.append(service.autoscaling.max_capacity)
        for item in self.scheduled:
            if item.service != service.name:
                continue
            if isinstance(item, SetDesiredCount):
                counts.append(item.count)
            elif isinstance(item, SetCapacity):
                counts.extend(c for c in (item.min_capacity, item.max_capacity) if c)
        return max(counts)

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
