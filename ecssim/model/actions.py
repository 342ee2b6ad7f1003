"""A scenario's scheduled actions: deployments, desired-count changes,
StopTask calls and scheduled capacity changes, applied on the simulated clock.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import TYPE_CHECKING

from ecssim.model.autoscaling import aas_name, scalable_target
from ecssim.model.services import register_task_definition
from ecssim.scenario.schema import (
    Deploy,
    SetCapacity,
    SetDesiredCount,
    StopTasks,
)

if TYPE_CHECKING:
    from ecssim.model.build import Model


def add_capacity_change(model: Model, action: SetCapacity) -> None:
    """A scheduled scaling action (``PutScheduledAction`` with ``at(...)``)."""
    when = model.scenario.start + timedelta(seconds=action.at_s)
    scalable_action: dict[str, int] = {}
    if action.min_capacity is not None:
        scalable_action["MinCapacity"] = action.min_capacity
    if action.max_capacity is not None:
        scalable_action["MaxCapacity"] = action.max_capacity
    # two changes of one service in the same second keep their own names (one
    # name would make the second replace the first)
    earlier = 0
    for other in model.scenario.scheduled:
        if other is action:
            break
        if (
            isinstance(other, SetCapacity)
            and other.service == action.service
            and int(other.at_s) == int(action.at_s)
        ):
            earlier += 1
    suffix = f"capacity-{int(action.at_s)}" + (f"-{earlier}" if earlier else "")
    model.sim.application_autoscaling.put_scheduled_action(
        ScheduledActionName=aas_name(action.service, suffix),
        Schedule=f"at({when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})",
        ScalableTargetAction=scalable_action,
        **scalable_target(model, action.service),
    )


def run_scheduled_action(
    model: Model, action: Deploy | SetDesiredCount | StopTasks
) -> None:
    ecs = model.sim.ecs
    runtime = model.services[action.service]
    model.record("scheduled_action", service=action.service, action=action.action)
    if isinstance(action, Deploy):
        revision = len(model.sim.backend.task_definitions[action.service]) + 1
        td = register_task_definition(model, runtime.config, revision)
        if action.fails_to_start:
            model.sim.fail_task_starts(td)
        strategy = action.request()
        ecs.update_service(
            cluster=model.cluster_name,
            service=action.service,
            taskDefinition=td,
            **({} if strategy is None else {"deploymentConfiguration": strategy}),
        )
    elif isinstance(action, SetDesiredCount):
        ecs.update_service(
            cluster=model.cluster_name,
            service=action.service,
            desiredCount=action.count,
        )
    else:
        rng = model.sim.streams["faults"]
        running = sorted(
            (t for t in runtime.record.live_tasks() if t.started_at is not None),
            key=lambda t: t.task_id,
        )
        count = min(action.count, len(running))
        for index in sorted(rng.choice(len(running), size=count, replace=False)):
            ecs.stop_task(
                cluster=model.cluster_name,
                task=running[int(index)].arn,
                reason="Stopped by a scheduled action",
            )
