"""Invariants checked during every run: functions that raise, never bare asserts.

They hold whatever the scenario: breaking one is a bug in ecssim, not bad input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ecssim.errors import InvariantViolation

SCHEDULER_STOP_CODE = "ServiceSchedulerInitiated"
#: The record kinds :func:`check_record` looks at (the rest cannot break a rule).
CHECKED_KINDS = frozenset(
    {"task_stop_requested", "desired_count_changed", "service_created"}
)


def check_record(kind: str, fields: Mapping[str, Any], now: float) -> None:
    """Raise if the control-plane record *kind* breaks an ECS rule at *now*.

    * no task is stopped by the service scheduler (scale-in or deployment)
      while its protection is active;
    * no count is negative.
    """
    if kind not in CHECKED_KINDS:
        return
    if (
        kind == "task_stop_requested"
        and fields.get("stop_code") == SCHEDULER_STOP_CODE
        and fields.get("protected")
    ):
        raise InvariantViolation(
            f"task {fields.get('task')} of service {fields.get('service')} was "
            f"stopped by the scheduler at t={now:g}s while protected"
        )
    for key in ("desired_count", "running_count", "pending_count"):
        value = fields.get(key)
        if isinstance(value, int) and value < 0:
            raise InvariantViolation(f"{key} is {value} at t={now:g}s: {dict(fields)}")


def check_deployment_bounds(
    service: str, live: int, maximum: int, desired: int, now: float
) -> None:
    """Raise if a service runs more live tasks than ``maximumPercent`` allows.

    Protected tasks kept above the desired count are not launches, so the bound
    only applies to what the scheduler starts: callers check it right after
    launching.
    """
    if live > max(maximum, desired):
        raise InvariantViolation(
            f"service {service} has {live} live tasks at t={now:g}s, above its "
            f"maximumPercent bound of {maximum}"
        )


def check_conservation(
    what: str, arrived: int, parts: Mapping[str, int], now: float
) -> None:
    """Raise unless *arrived* equals the sum of *parts* and no part is negative.

    Job conservation: arrived = completed + in flight + queued + invisible +
    dead-lettered (sessions: connected + waiting + ended).
    """
    negative = {k: v for k, v in parts.items() if v < 0}
    if negative:
        raise InvariantViolation(f"{what}: negative counts {negative} at t={now:g}s")
    if sum(parts.values()) != arrived:
        raise InvariantViolation(
            f"{what}: {arrived} arrived but {dict(parts)} add up to "
            f"{sum(parts.values())} at t={now:g}s"
        )


def check_counts(service: str, counts: Mapping[str, int], now: float) -> None:
    """Raise if any task count of *service* is negative."""
    negative = {k: v for k, v in counts.items() if v < 0}
    if negative:
        raise InvariantViolation(
            f"service {service}: negative counts {negative} at t={now:g}s"
        )


def check_instance_capacity(
    instance: str,
    registered: tuple[int, int],
    reserved: Iterable[tuple[int, int]],
    now: float,
) -> None:
    """Raise if the tasks on a container instance reserve more CPU units or MiB
    than it registered (placement never over-commits an instance).

    Args:
        instance: the container instance's id, for the message.
        registered: its registered (CPU units, MiB).
        reserved: (CPU units, MiB) of each task placed on it and not STOPPED.
        now: the simulated time, for the message.
    """
    cpu = memory = 0
    for task_cpu, task_memory in reserved:
        cpu += task_cpu
        memory += task_memory
    if cpu > registered[0] or memory > registered[1]:
        raise InvariantViolation(
            f"container instance {instance} is over-committed at t={now:g}s: its "
            f"tasks reserve {cpu} CPU units and {memory} MiB of {registered[0]} "
            f"and {registered[1]}"
        )


def check_task_placed(
    task: str, needs_instance: bool, started: bool, instance: str | None, now: float
) -> None:
    """Raise if a task of an EC2 capacity provider (or launch type EC2 on a
    cluster with instances) started without a container instance."""
    if needs_instance and started and instance is None:
        raise InvariantViolation(
            f"task {task} ran at t={now:g}s without a container instance"
        )
