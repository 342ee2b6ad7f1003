"""The ECS service scheduler: one reconcile loop per service.

It wakes ``scheduler_reaction_delay_s`` after anything that matters changes
(desired count, a deployment, a task starting, becoming healthy or stopping, a
protection cleared while the service is out of steady state) and at the expiry
of the protection that blocks it; while a service is out of steady state it also
re-checks every ``reconcile_interval_s``. A service in steady state costs
nothing: no timers run for it.

Each reconcile follows the rolling-update rules (``reference/ecs-semantics.md``
§6-7, DESIGN §4): stop surplus tasks of the primary deployment (unprotected
only, AZ balance, random within a zone, pending first), stop old-deployment
tasks within ``minimumHealthyPercent`` (unprotected only), start new tasks
within ``maximumPercent``, and mark the deployment COMPLETED once only healthy
primary tasks remain at the desired count.

A BLUE_GREEN, LINEAR or CANARY deployment instead walks through its lifecycle
stages (:mod:`ecssim.rules.deployments`): the green revision scales up to the
desired count beside the blue one, production traffic shifts on the simulated
clock, the bake time passes, then the blue tasks are stopped like a scale-in
(unprotected ones only); the deployment completes once none is left.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

import numpy as np
import simpy

from ecssim.aws.capacity import ContainerInstance, live_tasks, task_need
from ecssim.aws.state import (
    Deployment,
    EcsBackend,
    Service,
    Task,
)
from ecssim.config import EcsSettings
from ecssim.rules.capacity import (
    DEFAULT_SERVICE_STRATEGIES,
    PlacedTaskView,
    satisfies,
    select_tasks_to_stop,
)
from ecssim.rules.deployments import (
    STAGES,
    circuit_breaker_threshold,
    hook_wait_s,
    maximum_tasks,
    minimum_healthy_tasks,
    next_stage,
    paused_hook_rolls_back,
    production_traffic_steps,
    stage_duration_s,
    traffic_percent,
)
from ecssim.rules.invariants import check_deployment_bounds
from ecssim.rules.lifecycle import RUNNING, STOPPED, StopCode, TaskStatus
from ecssim.rules.placement import (
    CapacityProviderItem,
    TaskView,
    choose_capacity_provider,
    launch_zones,
    select_victims,
)

ProcessGenerator = Generator[simpy.Event, Any, None]

#: ECS repeats an unresolved service event after six hours, not before
EVENT_REPEAT_AFTER_S = 6 * 3600.0


def _split_leaving(live: list[Task]) -> tuple[list[Task], list[Task]]:
    """Live tasks on ACTIVE instances (or waiting for one), and those on an
    instance that is DRAINING or deregistered or being retired (Fargate)."""
    staying, leaving = [], []
    for task in live:
        instance = task.container_instance
        if task.retiring is not None or (
            instance is not None and instance.status != "ACTIVE"
        ):
            leaving.append(task)
        else:
            staying.append(task)
    return staying, leaving


def _view(task: Task, now: float) -> TaskView:
    return TaskView(
        task_id=task.task_id,
        availability_zone=task.availability_zone,
        running=task.last_status is RUNNING,
        protected=task.protection.is_active(now),
    )


class ServiceScheduler:
    """Reconciles one service towards its desired state."""

    def __init__(
        self,
        env: simpy.Environment,
        backend: EcsBackend,
        service: Service,
        settings: EcsSettings,
        rng: np.random.Generator,
    ) -> None:
        self.env = env
        self.backend = backend
        self.service = service
        self.settings = settings
        self.rng = rng
        self.steady = False
        self._wake_at: float | None = None
        #: when each blocking message was last sent (while its cause lasts)
        self._sent: dict[str, float] = {}
        self._blocked = False
        self._stuck = False
        self._at_quota = False
        #: tasks of the cluster waiting in PROVISIONING for an instance (the
        #: World connects it to the cluster's placer)
        self.waiting_in_cluster: Callable[[], int] = lambda: 0
        self._strategy = tuple(
            CapacityProviderItem(
                item["capacityProvider"], item.get("base", 0), item.get("weight", 0)
            )
            for item in service.request.get("capacityProviderStrategy") or ()
        )

    # ---- waking -----------------------------------------------------------
    def notify(self) -> None:
        """Something changed: reconcile after the reaction delay."""
        self.steady = False
        self.wake_at(self.env.now + self.settings.scheduler_reaction_delay_s)

    def wake_at(self, at: float) -> None:
        """Reconcile at *at* unless a reconcile is already due by then."""
        if self._wake_at is not None and self._wake_at <= at:
            return
        self._wake_at = at
        self.env.process(self._wake(at))

    def _wake(self, at: float) -> ProcessGenerator:
        """Wait until *at*, then reconcile if no earlier wake-up superseded this one."""
        yield self.env.timeout(max(0.0, at - self.env.now))
        if self._wake_at != at:
            return
        self._wake_at = None
        self.reconcile()

    # ---- reconcile ----------------------------------------------------------
    def reconcile(self) -> None:
        """Take one round of scheduling decisions for the service."""
        service = self.service
        if service.status != "ACTIVE":
            return
        now = self.env.now
        on_instances = self._on_instances()
        if on_instances and service.scheduling_strategy == "DAEMON":
            self._reconcile_daemon(now)
            return
        desired = service.desired_count
        primary = service.primary
        live = service.live_tasks()
        leaving: list[Task] = []
        if on_instances or service.retiring:
            live, leaving = _split_leaving(live)
            service.retiring = any(t.retiring is not None for t in leaving)
        new: list[Task] = []
        old: list[Task] = []
        if len(service.deployments) == 1:
            # a deployment is retired only once none of its tasks is left, so
            # with the primary alone every live task is the primary's
            new = list(live)
        else:
            for task in live:
                (new if task.deployment is primary else old).append(task)
        maximum = maximum_tasks(desired, service.maximum_percent)
        minimum_healthy = minimum_healthy_tasks(
            desired, service.minimum_healthy_percent
        )
        blocked: list[Task] = []
        self._check_circuit_breaker(now)
        primary = service.primary
        if primary.stage is not None and primary.rollout_state != "COMPLETED":
            self._reconcile_staged(now)
            return

        stopped = self._scale_in(new, old, desired, now, blocked)
        stopped_old, blocked_old = self._replace_old(
            old, live, stopped, minimum_healthy, now
        )
        remaining = len(live) - len(stopped) - len(stopped_old)
        new_count = len(new) - len(stopped)
        draining: list[Task] = []
        drained = 0
        if leaving:
            draining, drained = self._drain(
                leaving, live, stopped + stopped_old, minimum_healthy, now
            )
            remaining += len(draining)
            drained += self._retire_one_if_stuck(draining, live, drained, maximum)
        restored = self._restore_old(old, stopped_old, maximum - remaining)
        remaining += restored
        launch = 0
        if primary.rollout_state != "FAILED":
            room = maximum - remaining
            launch = max(0, min(desired - new_count, room))
            if launch and on_instances:
                launch = self._within_provisioning_quota(launch)
            if launch:
                self._launch(primary, launch)
        if launch or restored:
            check_deployment_bounds(
                service.name, remaining + launch, maximum, desired, now
            )
        # draining tasks (not protected) that can be neither replaced nor
        # stopped make no progress either (minimumHealthyPercent 100 and
        # maximumPercent 100 leave no room: the developer guide's draining page)
        waiting_drain = any(not t.protection.is_active(now) for t in draining)
        stuck = (
            (bool(old) or waiting_drain)
            and primary.rollout_state != "FAILED"
            and not launch
            and not stopped_old
            and not drained
            and not blocked_old
            and new_count < desired
            and all(t.is_healthy for t in live)
        )
        self._report_blocked(blocked, blocked_old, stuck, now)
        self._retire_old_deployments()
        self._update_rollout(now)
        self._schedule_next(blocked + blocked_old + draining, now)

    # ---- EC2 capacity: scale-in, draining, DAEMON services ---------------------
    def _choose_placed(
        self, tasks: list[Task], count: int, others: Sequence[Task], now: float
    ) -> list[Task]:
        """Up to *count* of *tasks* (on container instances) to stop: the ones
        still waiting for an instance first (newest first), then as
        :func:`ecssim.rules.capacity.select_tasks_to_stop` picks with the
        service's placement strategies (ECS's default when none); protected
        tasks are never chosen, *others* count towards the spread."""
        if count <= 0:
            return []
        waiting = [
            t
            for t in reversed(tasks)
            if t.container_instance is None and not t.protection.is_active(now)
        ]
        chosen = waiting[:count]
        placed = [t for t in tasks if t.container_instance is not None]
        rest = count - len(chosen)
        if rest <= 0 or not placed:
            return chosen

        def view(task: Task, instance: ContainerInstance) -> PlacedTaskView:
            return PlacedTaskView(
                task_id=task.task_id,
                instance_id=instance.container_instance_id,
                availability_zone=task.availability_zone,
                need=task_need(task),
                running=task.last_status is TaskStatus.RUNNING,
                protected=task.protection.is_active(now),
            )

        views = [view(t, t.container_instance) for t in placed if t.container_instance]
        other_views = [
            view(t, t.container_instance) for t in others if t.container_instance
        ]
        instances = {
            t.container_instance.container_instance_id: t.container_instance.remaining
            for t in [*placed, *others]
            if t.container_instance is not None
        }
        by_id = {t.task_id: t for t in placed}
        ids = select_tasks_to_stop(
            views,
            rest,
            strategies=self.service.placement_strategies or DEFAULT_SERVICE_STRATEGIES,
            instances=instances,
            rng=self.rng,
            others=other_views,
        )
        return chosen + [by_id[i] for i in ids]

    def _on_instances(self) -> bool:
        """Whether the service's tasks run on container instances."""
        service = self.service
        provider = self._strategy[0].capacity_provider if self._strategy else None
        return self.backend.places_on_instances(
            service.cluster, service.launch_type, provider
        )

    def _within_provisioning_quota(self, launch: int) -> int:
        """At most as many new tasks as the cluster may still have waiting in
        PROVISIONING (``EcsSettings.max_provisioning_tasks_per_cluster``); the
        rest are launched on a later reconcile."""
        limit = self.settings.max_provisioning_tasks_per_cluster
        waiting = self.waiting_in_cluster()
        allowed = max(0, min(launch, limit - waiting))
        if allowed < launch and not self._at_quota:
            self.backend.record(
                "provisioning_quota_reached",
                service=self.service.name,
                waiting=waiting,
                limit=limit,
            )
        self._at_quota = allowed < launch
        return allowed

    def _drain(
        self,
        leaving: list[Task],
        live: list[Task],
        stopped: list[Task],
        minimum_healthy: int,
        now: float,
    ) -> tuple[list[Task], int]:
        """Tasks on DRAINING instances (UpdateContainerInstancesState): the ones
        not RUNNING yet stop at once; RUNNING ones stop as far as
        ``minimumHealthyPercent`` allows, their replacements counted first.
        Tasks on a deregistered instance (orphans) are left running and not
        counted. Returns the draining tasks still running (they count towards
        ``maximumPercent``) and how many it stopped.

        A protected task stays until its protection lapses when
        ``EcsSettings.draining_respects_protection`` (the default); otherwise it
        is stopped like StopTask (stop code ``TerminationNotice``).
        """
        respects = self.settings.draining_respects_protection
        on_draining = [
            t
            for t in leaving
            if t.retiring is not None
            or (
                t.container_instance is not None
                and t.container_instance.status == "DRAINING"
            )
        ]
        first = [t for t in on_draining if t.last_status is not TaskStatus.RUNNING]
        running = [t for t in on_draining if t.last_status is TaskStatus.RUNNING]
        healthy = sum(1 for t in live if t.is_healthy and t not in stopped)
        healthy += sum(1 for t in running if t.is_healthy)
        budget = max(0, healthy - minimum_healthy)
        victims: list[Task] = []
        forced: list[Task] = []
        kept: list[Task] = []
        for task in [*first, *running]:
            # protection does not stop Fargate task retirement
            protected = task.protection.is_active(now) and task.retiring is None
            if protected and respects:
                kept.append(task)
            elif task in first:
                (forced if protected else victims).append(task)
            elif budget > 0:
                budget -= 1 if task.is_healthy else 0
                (forced if protected else victims).append(task)
            else:
                kept.append(task)
        retired = [t for t in victims if t.retiring is not None]
        victims = [t for t in victims if t.retiring is None]
        for task in retired:
            self._stop_retiring(task)
        # unprotected tasks as the scheduler stops them; protected ones (the
        # knob off) as StopTask does
        for code, tasks in (
            (StopCode.SERVICE_SCHEDULER_INITIATED, victims),
            (StopCode.TERMINATION_NOTICE, forced),
        ):
            for task in tasks:
                instance = task.container_instance
                name = instance.container_instance_id if instance else ""
                self.backend.request_stop(
                    task, code, f"Container instance {name} is DRAINING", notify=False
                )
        if victims or forced:
            self.backend.record(
                "drained_tasks_stopped",
                service=self.service.name,
                stopped=len(victims) + len(forced),
                protected=len(forced),
            )
        return kept, len(victims) + len(forced) + len(retired)

    def _stop_retiring(self, task: Task) -> None:
        """Fargate task retirement stops *task* (its replacement counted)."""
        self.backend.record(
            "fault_injected",
            service=self.service.name,
            task=task.task_id,
            fault="task_retirement",
        )
        self.backend.request_stop(
            task, StopCode.TERMINATION_NOTICE, task.retiring or "", notify=False
        )

    def _retire_one_if_stuck(
        self, kept: list[Task], live: list[Task], drained: int, maximum: int
    ) -> int:
        """Task retirement goes on when the deployment configuration leaves no
        room (``maximumPercent`` allows no replacement and
        ``minimumHealthyPercent`` no stop, e.g. 100 and 100): one retiring task
        stops once every other task is healthy, so the scheduler replaces it."""
        retiring = [t for t in kept if t.retiring is not None]
        if not retiring or drained or len(live) + len(kept) < maximum:
            return 0
        if not all(t.is_healthy for t in live):
            return 0
        self._stop_retiring(retiring[0])
        return 1

    def place_daemon(self, instance: ContainerInstance) -> None:
        """A DAEMON service starts its task on *instance* (ACTIVE, just
        registered or reactivated) at once, before tasks waiting for room."""
        service = self.service
        if service.status != "ACTIVE" or not self._daemon_eligible(instance):
            return
        if any(
            t.target_instance is instance for t in service.tasks.values() if t.is_live
        ):
            return
        self._launch(service.primary, 1, target=instance)
        self.notify()

    def _daemon_eligible(self, instance: ContainerInstance) -> bool:
        return instance.status == "ACTIVE" and satisfies(
            instance.view(), self.service.placement_constraints, {}
        )

    def _reconcile_daemon(self, now: float) -> None:
        """A DAEMON service: one task of the primary deployment on each ACTIVE
        instance that meets its constraints. A task on a DRAINING instance stops
        once no other service task is left there (daemon tasks stop last); one
        of an old deployment is stopped (unprotected), then replaced
        (maximumPercent 100, minimumHealthyPercent 0 by default)."""
        service = self.service
        primary = service.primary
        instances = sorted(
            service.cluster.container_instances.values(),
            key=lambda i: i.container_instance_id,
        )
        eligible = [i for i in instances if self._daemon_eligible(i)]
        if service.desired_count != len(eligible):
            self.backend.record(
                "desired_count_changed",
                service=service.name,
                previous=service.desired_count,
                desired_count=len(eligible),
                cause="daemon",
            )
            service.desired_count = primary.desired_count = len(eligible)
        live = service.live_tasks()
        by_instance: dict[str, list[Task]] = {}
        for task in live:
            target = task.target_instance
            if target is not None:
                by_instance.setdefault(target.container_instance_id, []).append(task)
        victims: list[Task] = []
        blocked: list[Task] = []
        for instance in instances:
            here = by_instance.get(instance.container_instance_id, [])
            if instance.status == "INACTIVE":
                continue  # orphans run until their host goes
            if instance not in eligible:
                others = [
                    t
                    for t in live_tasks(instance)
                    if t.service is not service and t.is_live
                ]
                if instance.status == "DRAINING" and others:
                    continue  # daemon tasks stop last
                victims.extend(t for t in here if not t.protection.is_active(now))
                blocked.extend(t for t in here if t.protection.is_active(now))
                continue
            old = [t for t in here if t.deployment is not primary]
            victims.extend(t for t in old if not t.protection.is_active(now))
            blocked.extend(t for t in old if t.protection.is_active(now))
            current = [t for t in here if t.deployment is primary]
            if not current and not old and primary.rollout_state != "FAILED":
                self._launch(primary, 1, target=instance)
        self._stop_all(victims)
        self._report_blocked([], blocked, False, now)
        self._retire_old_deployments()
        self._update_rollout(now)
        self._schedule_next(blocked, now)

    def _check_circuit_breaker(self, now: float) -> None:
        """Fail the rollout once enough of its tasks failed to start; roll back
        to the last completed deployment if asked to."""
        service = self.service
        primary = service.primary
        if not service.circuit_breaker_enable or primary.rollout_state != "IN_PROGRESS":
            return
        threshold = circuit_breaker_threshold(primary.desired_count)
        if primary.failed_tasks < threshold:
            return
        primary.rollout_state = "FAILED"
        primary.rollout_state_reason = (
            "ECS deployment circuit breaker: tasks failed to start."
        )
        primary.updated_at = now
        self.backend.add_event(
            service,
            f"(service {service.name}) (deployment {primary.id}) deployment failed: "
            "tasks failed to start.",
        )
        self.backend.record(
            "deployment_failed",
            service=service.name,
            deployment=primary.id,
            failed_tasks=primary.failed_tasks,
        )
        if not service.circuit_breaker_rollback:
            return
        if primary.stage is not None:
            self._roll_back_staged(now)
            return
        target = service.last_completed
        if target is None or target is primary:
            return
        rollback = self.backend.new_deployment(service, target.task_definition)
        self.backend.add_event(
            service,
            f"(service {service.name}) rolling back to deployment {target.id}.",
        )
        self.backend.record(
            "deployment_rolled_back",
            service=service.name,
            deployment=rollback.id,
            to_task_definition=target.task_definition.arn,
        )

    # ---- BLUE_GREEN, LINEAR, CANARY ---------------------------------------------
    def _reconcile_staged(self, now: float) -> None:
        """One round of a BLUE_GREEN, LINEAR or CANARY deployment: keep the green
        revision at the desired count, move through the lifecycle stages, and in
        CLEAN_UP stop the blue tasks that are not protected."""
        service = self.service
        primary = service.primary
        desired = service.desired_count
        live = service.live_tasks()
        green = [t for t in live if t.deployment is primary]
        blue = [t for t in live if t.deployment is not primary]
        blocked: list[Task] = []
        stopped = self._scale_in(green, blue, desired, now, blocked)
        green_count = len(green) - len(stopped)
        failed = primary.rollout_state == "FAILED"
        green_ready = green_count >= desired and all(
            t.is_healthy for t in green if t not in stopped
        )
        if not failed:
            self._advance_stage(now, green_ready=green_ready)
        stage = primary.stage or "SCALE_UP"
        scaling = STAGES.index(stage) >= STAGES.index("SCALE_UP")
        current = service.primary is primary and not failed
        if current and scaling and green_count < desired:
            self._launch(primary, desired - green_count)
        blocked_old: list[Task] = []
        if not failed and service.primary is primary and primary.stage == "CLEAN_UP":
            unprotected = [t for t in blue if not t.protection.is_active(now)]
            blocked_old = [t for t in blue if t.protection.is_active(now)]
            for deployment in service.deployments[1:]:
                deployment.replacement_target = sum(
                    1 for t in blocked_old if t.deployment is deployment
                )
            self._stop_all(unprotected)
            if unprotected:
                self.backend.record(
                    "blue_tasks_stopped",
                    service=service.name,
                    deployment=primary.id,
                    stopped=len(unprotected),
                    protected=len(blocked_old),
                )
        self._report_blocked(blocked, blocked_old, False, now)
        self._retire_old_deployments()
        self._update_rollout(now)
        self._schedule_next(blocked + blocked_old, now)

    def _advance_stage(self, now: float, *, green_ready: bool) -> None:
        """Move the primary deployment through every stage whose end has come;
        record each stage and each change of production traffic."""
        service = self.service
        deployment = service.primary
        hook_s = self.settings.lifecycle_hook_s
        while deployment.stage is not None and deployment.stage != "CLEAN_UP":
            stage = deployment.stage
            duration = stage_duration_s(deployment.strategy, stage, hook_s=hook_s)
            if duration is None:
                if not green_ready:
                    break
                ended_at = now
            else:
                strategy = deployment.strategy
                waited = now - deployment.stage_entered_at + 1e-6
                if paused_hook_rolls_back(strategy, stage) and waited >= hook_wait_s(
                    strategy, stage, hook_s=hook_s
                ):
                    self._roll_back_staged(now, hook_stage=stage)
                    return
                ended_at = deployment.stage_entered_at + duration
                if now + 1e-6 < ended_at:
                    break
            self._sync_traffic(ended_at - deployment.stage_entered_at)
            deployment.stage = next_stage(stage)
            deployment.stage_entered_at = ended_at
            deployment.updated_at = now
            self.backend.record(
                "deployment_stage",
                service=service.name,
                deployment=deployment.id,
                stage=deployment.stage,
            )
        if deployment.stage is not None:
            self._sync_traffic(now - deployment.stage_entered_at)

    def _sync_traffic(self, elapsed_s: float) -> None:
        """Record a change of the production traffic on the primary (green)
        revision, *elapsed_s* into its current stage."""
        deployment = self.service.primary
        if deployment.stage is None:
            return
        percent = traffic_percent(
            deployment.strategy,
            deployment.stage,
            elapsed_s,
            hook_s=self.settings.lifecycle_hook_s,
        )
        if percent != deployment.traffic_percent:
            deployment.traffic_percent = percent
            self.backend.record(
                "traffic_shifted",
                service=self.service.name,
                deployment=deployment.id,
                percent=percent,
            )

    def _next_stage_change(self) -> float | None:
        """When the primary deployment's stage or traffic changes next on the
        clock (``None`` when it waits on tasks instead)."""
        deployment = self.service.primary
        stage = deployment.stage
        if stage is None or deployment.rollout_state != "IN_PROGRESS":
            return None
        hook_s = self.settings.lifecycle_hook_s
        duration = stage_duration_s(deployment.strategy, stage, hook_s=hook_s)
        if duration is None:
            return None
        end = deployment.stage_entered_at + duration
        if stage != "PRODUCTION_TRAFFIC_SHIFT":
            return end
        steps = production_traffic_steps(deployment.strategy)
        lead = duration - steps[-1][0]
        now = self.env.now
        upcoming = [
            deployment.stage_entered_at + lead + at_s
            for at_s, _ in steps
            if deployment.stage_entered_at + lead + at_s > now + 1e-6
        ]
        return min(upcoming, default=end)

    def _roll_back_staged(self, now: float, hook_stage: str | None = None) -> None:
        """Fail the green deployment and give the service back to the blue one,
        which is still at full size: the green tasks become the old ones.

        *hook_stage* names the stage whose PAUSE hook timed out with ROLLBACK
        (``None``: the circuit breaker asked for the rollback).
        """
        service = self.service
        green = service.primary
        if hook_stage is not None:
            green.rollout_state = "FAILED"
            green.rollout_state_reason = (
                f"Lifecycle hook for {hook_stage} timed out; rolling back."
            )
            green.updated_at = now
            self.backend.record(
                "deployment_failed",
                service=service.name,
                deployment=green.id,
                failed_tasks=green.failed_tasks,
                lifecycle_stage=hook_stage,
            )
        blue = next(
            (d for d in service.deployments[1:] if d.status != "INACTIVE"), None
        )
        if blue is None:
            return
        service.deployments.remove(blue)
        service.deployments.insert(0, blue)
        blue.status = "PRIMARY"
        blue.desired_count = service.desired_count
        blue.updated_at = now
        green.status = "ACTIVE"
        green.replacement_target = 0
        self.backend.add_event(
            service, f"(service {service.name}) rolling back to deployment {blue.id}."
        )
        self.backend.record(
            "deployment_rolled_back",
            service=service.name,
            deployment=blue.id,
            to_task_definition=blue.task_definition.arn,
        )
        self.notify()

    def _scale_in(
        self,
        new: list[Task],
        old: list[Task],
        desired: int,
        now: float,
        blocked: list[Task],
    ) -> list[Task]:
        """Stop primary tasks above the desired count; protected ones stay (old
        deployments' tasks count towards their zones' load)."""
        surplus = len(new) - desired
        if surplus <= 0:
            return []
        if new and new[0].needs_instance:
            victims = self._choose_placed(new, surplus, old, now)
        else:
            by_id = {t.task_id: t for t in new}
            others = [_view(t, now) for t in old]
            views = [_view(t, now) for t in new]
            victims = [
                by_id[i] for i in select_victims(views, surplus, self.rng, others)
            ]
        self._stop_all(victims)
        if victims:
            self.backend.record(
                "scale_in",
                service=self.service.name,
                stopped=len(victims),
                surplus=surplus,
            )
        if len(victims) < surplus:
            blocked.extend(
                t for t in new if t not in victims and t.protection.is_active(now)
            )
        return victims

    def _replace_old(
        self,
        old: list[Task],
        live: list[Task],
        stopped: list[Task],
        minimum_healthy: int,
        now: float,
    ) -> tuple[list[Task], list[Task]]:
        """Stop old-deployment tasks as far as minimumHealthyPercent allows."""
        if not old:
            return [], []
        unprotected = [t for t in old if not t.protection.is_active(now)]
        protected = [t for t in old if t.protection.is_active(now)]
        unhealthy = self._surplus_starting(old, unprotected)
        healthy_total = sum(1 for t in live if t.is_healthy and t not in stopped)
        budget = max(0, healthy_total - minimum_healthy)
        healthy_old = [t for t in unprotected if t.is_healthy]
        if healthy_old and healthy_old[0].needs_instance:
            replaced = self._choose_placed(healthy_old, budget, (), now)
        else:
            chosen = select_victims(
                [_view(t, now) for t in healthy_old], budget, self.rng
            )
            by_id = {t.task_id: t for t in healthy_old}
            replaced = [by_id[i] for i in chosen]
        for task in replaced:
            deployment = task.deployment
            if deployment is not None and deployment.replacement_target is not None:
                deployment.replacement_target = max(
                    0, deployment.replacement_target - 1
                )
        victims = unhealthy + replaced
        self._stop_all(victims)
        blocked = protected if budget > len(replaced) else []
        return victims, blocked

    @staticmethod
    def _surplus_starting(old: list[Task], unprotected: list[Task]) -> list[Task]:
        """Old-revision tasks not yet healthy beyond what their revision keeps
        (its ``replacement_target``): stopped at once. A replacement of the same
        revision started for a task that was lost is kept."""
        live: dict[int, int] = {}
        for task in old:
            live[id(task.deployment)] = live.get(id(task.deployment), 0) + 1
        surplus = []
        for task in unprotected:
            if task.is_healthy:
                continue
            deployment = task.deployment
            target = None if deployment is None else deployment.replacement_target
            key = id(deployment)
            if target is None or live[key] > target:
                surplus.append(task)
                live[key] -= 1
        return surplus

    def _restore_old(self, old: list[Task], stopped_old: list[Task], room: int) -> int:
        """Replace lost old-revision tasks with tasks of the same revision, within
        *room* (the 2025 rolling-deployment change: terminated tasks are replaced
        from the revision they belong to); returns how many were started."""
        started = 0
        for deployment in self.service.deployments[1:]:
            target = deployment.replacement_target
            if target is None or deployment.status == "INACTIVE":
                continue
            live = sum(
                1 for t in old if t.deployment is deployment and t not in stopped_old
            )
            count = min(target - live, room - started)
            if count > 0:
                self._launch(deployment, count)
                started += count
        return started

    def _stop_all(self, tasks: list[Task]) -> None:
        """Stop *tasks* (scale-in or replacement) and say so in the service events."""
        if not tasks:
            return
        deployment = self.service.primary.id
        for task in tasks:
            self.backend.request_stop(
                task,
                StopCode.SERVICE_SCHEDULER_INITIATED,
                f"Scaling activity initiated by (deployment {deployment})",
                notify=False,
            )
        running = [t for t in tasks if t.started_at is not None]
        if running:
            ids = " ".join(f"(task {t.task_id})" for t in running)
            self.backend.add_event(
                self.service,
                f"(service {self.service.name}) has stopped {len(running)} "
                f"running tasks: {ids}.",
            )

    def _launch(
        self,
        deployment: Deployment,
        count: int,
        target: ContainerInstance | None = None,
    ) -> None:
        """Start *count* tasks of *deployment*, spread over the zones (on
        container instances: placed by the cluster's placer; a DAEMON service's
        task on *target*)."""
        service = self.service
        live = service.live_tasks()
        zones = launch_zones(
            [t.availability_zone for t in live], service.availability_zones, count
        )
        # the live tasks per capacity provider (only a provider strategy needs them)
        providers: dict[str, int] = {}
        for t in live if self._strategy else ():
            if t.capacity_provider is not None:
                providers[t.capacity_provider] = (
                    providers.get(t.capacity_provider, 0) + 1
                )
        started = []
        for zone in zones:
            provider = None
            if self._strategy:
                provider = choose_capacity_provider(self._strategy, providers)
                providers[provider] = providers.get(provider, 0) + 1
            task = self.backend.launch_task(
                service.cluster,
                deployment.task_definition,
                availability_zone=zone,
                launch_type=service.launch_type,
                group=f"service:{service.name}",
                started_by=deployment.id,
                service=service,
                deployment=deployment,
                capacity_provider=provider,
                target_instance=target,
            )
            started.append(f"(task {task.task_id})")
        self.backend.add_event(
            service,
            f"(service {service.name}) has started {count} tasks: {' '.join(started)}.",
        )

    def _report_blocked(
        self, blocked: list[Task], blocked_old: list[Task], stuck: bool, now: float
    ) -> None:
        """Add service events when protection, or a deployment configuration that
        allows neither starting nor stopping tasks, blocks progress.

        As ECS does, an identical message is not repeated while its cause lasts,
        unless six hours have passed; once the cause is resolved, it may be sent
        again. The tasks that block keep the time they started blocking (for
        ``EcsSettings.refuse_renewals_after_s``).
        """
        service = self.service
        name = service.name
        messages: list[str] = []
        if stuck:
            messages.append(
                f"(service {name}) is unable to make progress: its deployment "
                f"configuration (minimumHealthyPercent {service.minimum_healthy_percent}"
                f", maximumPercent {service.maximum_percent}) allows neither "
                "starting nor stopping a task."
            )
        elif blocked:
            task_set = service.primary.id
            messages.append(
                f"(service {name}, taskSet {task_set}) was unable to scale in due to "
                f"(reason {len(blocked)} tasks under protection)"
            )
            messages.append(
                f"service ({name}) was unable to reach steady state because task set "
                f"({task_set}) was unable to scale in. Reason: The number of "
                "protected tasks are more than the desired count of tasks."
            )
        elif blocked_old:
            deployment = blocked_old[0].deployment
            task_set = deployment.id if deployment else "unknown"
            messages.append(
                f"(service {name}, taskSet {task_set}) was unable to scale in due "
                f"to (reason {len(blocked_old)} tasks under protection)"
            )
        sent = self._sent
        if not messages:
            sent.clear()
        for message in messages:
            last = sent.get(message)
            if last is None or now - last >= EVENT_REPEAT_AFTER_S:
                sent[message] = now
                self.backend.add_event(service, message)
        blocking = service.blocking_since
        if blocking or blocked or blocked_old:
            ids = {t.task_id for t in blocked} | {t.task_id for t in blocked_old}
            for task_id in [i for i in blocking if i not in ids]:
                del blocking[task_id]
            for task_id in sorted(ids - blocking.keys()):
                blocking[task_id] = now
        now_blocked = bool(blocked or blocked_old)
        if now_blocked and not self._blocked:
            self.backend.record(
                "scale_in_blocked",
                service=name,
                protected_tasks=len(blocked) + len(blocked_old),
                deployment=bool(blocked_old) and not blocked,
            )
        elif self._blocked and not now_blocked:
            self.backend.record("scale_in_unblocked", service=name)
        if stuck and not self._stuck:
            self.backend.record("deployment_stuck", service=name)
        self._blocked = now_blocked
        self._stuck = stuck

    def _retire_old_deployments(self) -> None:
        """Old deployments with no live or stopping task left become INACTIVE."""
        service = self.service
        for deployment in service.deployments[1:]:
            if deployment.status == "INACTIVE":
                continue
            if not any(
                t.deployment is deployment and t.last_status is not STOPPED
                for t in service.tasks.values()
            ):
                deployment.status = "INACTIVE"
                deployment.updated_at = self.env.now
                self.backend.record(
                    "deployment_retired", service=service.name, deployment=deployment.id
                )
        service.deployments = [d for d in service.deployments if d.status != "INACTIVE"]

    def _update_rollout(self, now: float) -> None:
        """Mark the primary COMPLETED once it alone runs the desired count, healthy."""
        service = self.service
        primary = service.primary
        # a service's tasks are the ones not STOPPED (a task leaves them as it
        # stops), so a count other than the desired one settles it at once
        # (a task not RUNNING is not healthy: the kept RUNNING count says so
        # without looking at every task); newest first, as the newest tasks
        # are the ones likely not yet healthy
        tasks = service.tasks
        steady = (
            len(tasks) == service.desired_count
            and service.running_count == len(tasks)
            and all(
                t.deployment is primary and t.is_live and t.is_healthy
                for t in reversed(tasks.values())
            )
        )
        cleaned_up = primary.stage in (None, "CLEAN_UP")
        if steady and cleaned_up and primary.rollout_state == "IN_PROGRESS":
            service.last_completed = primary
            primary.rollout_state = "COMPLETED"
            primary.rollout_state_reason = (
                "ECS deployment " + primary.id + " completed."
            )
            primary.updated_at = now
            self.backend.add_event(
                service,
                f"(service {service.name}) (deployment {primary.id}) deployment completed.",
            )
            self.backend.record(
                "deployment_completed", service=service.name, deployment=primary.id
            )
        if steady and not self.steady:
            self.backend.add_event(
                service, f"(service {service.name}) has reached a steady state."
            )
            self.backend.record("steady_state_reached", service=service.name)
        self.steady = steady

    def _schedule_next(self, blocked: list[Task], now: float) -> None:
        """Out of steady state: re-check periodically and at the first expiry;
        during a BLUE_GREEN, LINEAR or CANARY deployment also when its stage or
        traffic is due to change."""
        change = self._next_stage_change()
        if change is not None:
            self.wake_at(max(now, change))
        if self.steady:
            return
        self.wake_at(now + self.settings.reconcile_interval_s)
        expiries = [
            t.protection.expires_at
            for t in blocked
            if t.protection.expires_at is not None
        ]
        if expiries:
            self.wake_at(min(expiries) + self.settings.scheduler_reaction_delay_s)
