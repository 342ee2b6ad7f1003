"""Frozen settings for the ECS behaviour that AWS does not document (DESIGN §4).

Data only: no I/O, no SimPy. Every duration carries its unit in its name and is
float seconds of simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from ecssim.errors import ScenarioError

#: the values of ``EcsSettings.deployment_blocked`` (see ``rules.protection``)
DEPLOYMENT_BLOCKED_RULES = ("refuse_new", "refuse_renewals_too", "ignore")


@dataclass(frozen=True, slots=True, kw_only=True)
class EcsSettings:
    """The knobs of the simulated ECS control plane and service scheduler.

    Attributes:
        scheduler_reaction_delay_s: delay between a change (desired count,
            protection cleared or expired, a task stopping) and the scheduler
            acting on it.
        reconcile_interval_s: while a service is not in steady state the
            scheduler also re-checks it this often.
        task_provisioning_s: time in PROVISIONING.
        task_pending_s: time in PENDING (image pull and container start).
        task_healthy_after_s: time in RUNNING before a task counts as healthy
            for deployments (ECS uses 40 s with no load balancer or health check).
        sigterm_exit_s: how long a container takes to exit after SIGTERM when no
            worker decides it; ``None`` means it ignores SIGTERM and is killed at
            ``stopTimeout``.
        task_deprovisioning_s: time from the containers' exit to STOPPED.
        deployment_blocked: when enabling protection fails with
            ``DEPLOYMENT_BLOCKED`` because the service would have more protected
            tasks than its desired count: ``"refuse_new"`` refuses protecting a
            task that is not protected now and accepts renewals (AWS's sample
            shows it); ``"refuse_renewals_too"`` refuses renewals as well;
            ``"ignore"`` never refuses.
        refuse_renewals_after_s: renewals of a task that has blocked a scale-in
            or a rollout for this long are refused with ``DEPLOYMENT_BLOCKED``
            (``None``: never; AWS documents no threshold).
        protection_api_rate_per_s: sustained UpdateTaskProtection calls per second
            per account before ``ThrottlingException`` (``None``: no throttling).
        protection_api_burst: the token bucket's size.
        stopped_task_retention_s: how long a STOPPED task stays describable
            (DescribeTasks, ListTasks, GetTaskProtection) before the control
            plane forgets it; ECS documents "at least one hour". The run's
            records keep everything the outcomes need.
        lifecycle_hook_s: how long an ``AWS_LAMBDA`` deployment lifecycle hook
            takes to answer SUCCEEDED (BLUE_GREEN, LINEAR and CANARY
            deployments; ecssim runs no Lambda functions).
        draining_respects_protection: a task with scale-in protection on a
            DRAINING container instance stays until its protection lapses
            (``True``), or is stopped like StopTask (``False``); AWS does not
            say.
        max_provisioning_tasks_per_cluster: tasks that may wait in
            PROVISIONING for a container instance per cluster (the quota
            "Tasks in the PROVISIONING state per cluster"); the service
            scheduler launches no more while the cluster has this many.
    """

    scheduler_reaction_delay_s: float = 15.0
    reconcile_interval_s: float = 60.0
    task_provisioning_s: float = 10.0
    task_pending_s: float = 20.0
    task_healthy_after_s: float = 40.0
    sigterm_exit_s: float | None = 1.0
    task_deprovisioning_s: float = 5.0
    deployment_blocked: Literal["refuse_new", "refuse_renewals_too", "ignore"] = (
        "refuse_new"
    )
    refuse_renewals_after_s: float | None = None
    protection_api_rate_per_s: float | None = 50.0
    protection_api_burst: float = 100.0
    stopped_task_retention_s: float = 3600.0
    lifecycle_hook_s: float = 0.0
    draining_respects_protection: bool = True
    max_provisioning_tasks_per_cluster: int = 500

    def __post_init__(self) -> None:
        for f in fields(self):
            if not f.name.endswith("_s") or f.name.endswith("_per_s"):
                continue
            value = getattr(self, f.name)
            if value is None and f.name in (
                "sigterm_exit_s",
                "refuse_renewals_after_s",
            ):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ScenarioError(f"{f.name}: {value!r} is not a number of seconds")
            if not value >= 0 or value == float("inf"):
                raise ScenarioError(f"{f.name}: {value!r} must be >= 0 seconds")
        if self.reconcile_interval_s <= 0:
            raise ScenarioError(
                f"reconcile_interval_s: {self.reconcile_interval_s!r} must be > 0"
            )
        if self.deployment_blocked not in DEPLOYMENT_BLOCKED_RULES:
            raise ScenarioError(
                f"deployment_blocked: {self.deployment_blocked!r} is not one of "
                + ", ".join(repr(rule) for rule in DEPLOYMENT_BLOCKED_RULES)
            )
        rate = self.protection_api_rate_per_s
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0
        ):
            raise ScenarioError(f"protection_api_rate_per_s: {rate!r} must be > 0")
        burst = self.protection_api_burst
        if (
            isinstance(burst, bool)
            or not isinstance(burst, int | float)
            or not burst >= 1
        ):
            raise ScenarioError(f"protection_api_burst: {burst!r} must be >= 1")
        if not isinstance(self.draining_respects_protection, bool):
            raise ScenarioError(
                "draining_respects_protection: "
                f"{self.draining_respects_protection!r} is not true or false"
            )
        limit = self.max_provisioning_tasks_per_cluster
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ScenarioError(
                f"max_provisioning_tasks_per_cluster: {limit!r} must be an integer >= 1"
            )
