"""Service Auto Scaling as processes: the minute ticker and scheduled-action timers.

:class:`Autoscaler` builds a simulation's metric store, CloudWatch and
Application Auto Scaling (state and boto3-shaped clients) and runs:

* **one ticker**, only while at least one CloudWatch alarm exists. At each
  minute boundary it samples every metric source for the minute that just
  ended, evaluates every alarm, then executes the scaling policies of every
  scalable target: each policy turns its alarms into a
  :class:`~ecssim.rules.scaling.Signal`, :func:`~ecssim.rules.scaling.decide` combines
  them (cooldowns, suspension, deployments, bounds), and the decision is
  applied through ``EcsBackend.set_desired_count``. While an alarm stays in
  ALARM its policy is invoked every minute, as CloudWatch does for Auto
  Scaling actions. Without alarms no timer runs: idle time costs nothing.
* **one timer per scheduled action**, sleeping until its next run; a run sets
  MinCapacity/MaxCapacity and moves the desired count into the new range,
  whatever cooldown is in force.

The rules live in :mod:`ecssim.rules.scaling`; this module only schedules them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import simpy

from ecssim.aws.autoscaling import (
    ApplicationAutoScalingClient,
    AutoScalingBackend,
    ScalableTarget,
    ScalingPolicy,
    ScheduledAction,
)
from ecssim.aws.cloudwatch import (
    MINUTE_S,
    CloudWatchBackend,
    CloudWatchClient,
    MetricAlarm,
    MetricStore,
)
from ecssim.aws.state import EcsBackend, Service
from ecssim.rules.alarms import aggregate
from ecssim.rules.scaling import (
    ScalingSettings,
    Signal,
    TargetView,
    decide,
    step_signal,
    target_tracking_signal,
)
from ecssim.rules.schedules import next_fire

ProcessGenerator = Generator[simpy.Event, Any, None]


def _cause(alarm: MetricAlarm | None, policy: ScalingPolicy) -> str:
    """The ``Cause`` of an activity a policy started because of *alarm*."""
    if alarm is None:
        return f"policy {policy.name} was triggered"
    return (
        f"monitor alarm {alarm.name} in state {alarm.state} triggered policy "
        f"{policy.name}"
    )


class Autoscaler:
    """The metrics, CloudWatch and Application Auto Scaling of one simulation.

    Args:
        env: the simulation's environment.
        backend: the ECS control plane.
        settings: the Service Auto Scaling knobs.
        epoch: the simulated wall-clock time at t=0.
        request_id: returns a fresh request id.
        ids: the generator of alarm, policy and activity ids (its own stream,
            so auto scaling never shifts task ids).

    Attributes:
        metrics: the 1-minute metric store and its sources (``sim.metrics``).
        cloudwatch: the CloudWatch state (alarms).
        autoscaling: the Application Auto Scaling state.
        cloudwatch_client: the boto3-shaped CloudWatch client.
        client: the boto3-shaped Application Auto Scaling client.
    """

    def __init__(
        self,
        env: simpy.Environment,
        backend: EcsBackend,
        settings: ScalingSettings,
        *,
        epoch: datetime,
        request_id: Callable[[], str],
        ids: np.random.Generator,
    ) -> None:
        self.env = env
        self.backend = backend
        self.settings = settings
        self.epoch = epoch
        self.metrics = MetricStore(running_tasks=self._running_tasks)
        self.cloudwatch = CloudWatchBackend(
            self.metrics,
            clock=backend.clock,
            record=backend.record,
            region=backend.region,
            account_id=backend.account_id,
        )
        self.autoscaling = AutoScalingBackend(
            backend,
            self.cloudwatch,
            settings,
            new_uuid=lambda: str(uuid.UUID(bytes=ids.bytes(16), version=4)),
            new_id=lambda nbytes: ids.bytes(nbytes).hex(),
        )
        self.cloudwatch_client = CloudWatchClient(
            self.cloudwatch, epoch=epoch, request_id=request_id
        )
        self.client = ApplicationAutoScalingClient(
            self.autoscaling, epoch=epoch, request_id=request_id
        )
        self.cloudwatch.on_alarms_changed = self._alarms_changed
        self.autoscaling.on_schedule_changed = self._schedule_changed
        self._ticking = False
        self._last_minute = -1

    @property
    def ticking(self) -> bool:
        """Whether the minute ticker runs (it does only while alarms exist)."""
        return self._ticking

    def _running_tasks(self, cluster_name: str, service_name: str) -> int:
        """The RUNNING count of a service by name (0 when it does not exist)."""
        cluster = self.backend.find_cluster(cluster_name)
        service = (
            None
            if cluster is None
            else self.backend.find_service(cluster, service_name)
        )
        return 0 if service is None else service.running_count

    # ---- the minute ticker ---------------------------------------------------
    def _alarms_changed(self) -> None:
        """Start ticking when the first alarm appears."""
        if self.cloudwatch.alarms and not self._ticking:
            self._ticking = True
            self.env.process(self._tick())

    def _tick(self) -> ProcessGenerator:
        """Wake at every minute boundary while any alarm exists."""
        while self.cloudwatch.alarms:
            minute = math.floor(round(self.env.now, 6) / MINUTE_S)
            yield self.env.timeout(max(0.0, (minute + 1) * MINUTE_S - self.env.now))
            if not self.cloudwatch.alarms:
                break
            if minute > self._last_minute:
                self._last_minute = minute
                self.evaluate(minute)
        self._ticking = False

    def evaluate(self, minute: int) -> None:
        """At the end of *minute*: sample, evaluate alarms, execute policies."""
        now = (minute + 1) * MINUTE_S
        self.metrics.sample(minute)
        self.cloudwatch.evaluate_alarms(now)
        for target in list(self.autoscaling.targets.values()):
            if target.policies:
                self.execute_policies(target, now)

    def execute_policies(self, target: ScalableTarget, now: float) -> None:
        """Invoke the policies of *target* whose alarms ask for it, and apply
        the combined decision."""
        service = self.autoscaling.service_of(target)
        if service is None:
            return
        signals = self._signals(target, service, now)
        view = TargetView(
            desired=service.desired_count,
            running=service.running_count,
            bounds=target.bounds,
            suspension=target.suspension,
            cooldowns=target.cooldowns,
            deployment_in_progress=service.deployment_in_progress,
        )
        decision = decide(view, signals, now)
        target.cooldowns = decision.cooldowns
        self.autoscaling.report_skip(target, service, decision.skip)
        winner = decision.winner
        if decision.desired is not None and winner is not None:
            self.autoscaling.set_capacity(
                target,
                service,
                decision.desired,
                winner.cause,
                direction=decision.direction,
                policy=winner.policy,
                proposed=winner.capacity,
            )

    def _signals(
        self, target: ScalableTarget, service: Service, now: float
    ) -> list[Signal]:
        """What each policy of *target* asks for at *now*."""
        running = service.running_count
        alarms = self.cloudwatch.alarms
        signals: list[Signal] = []
        for policy in target.policies.values():
            tracking, step = policy.target_tracking, policy.step
            if tracking is not None:
                high = alarms.get(policy.alarm_high or "")
                low = alarms.get(policy.alarm_low or "")
                signals.append(
                    target_tracking_signal(
                        policy.name,
                        tracking,
                        running=running,
                        latest=None if high is None else high.latest,
                        high="INSUFFICIENT_DATA" if high is None else high.state,
                        low=None if low is None else low.state,
                        cause_high=_cause(high, policy),
                        cause_low=_cause(low, policy),
                    )
                )
            elif step is not None:
                for alarm in self.cloudwatch.alarms_with_action(policy.arn):
                    if alarm.state != "ALARM" or not alarm.actions_enabled:
                        continue
                    value = aggregate(alarm.last_window, step.metric_aggregation)
                    if value is None:
                        continue
                    signal = step_signal(
                        policy.name,
                        step,
                        value=value,
                        threshold=alarm.threshold,
                        running=running,
                        desired=service.desired_count,
                        cooldowns=target.cooldowns,
                        now=now,
                        cause=_cause(alarm, policy),
                    )
                    if signal is not None:
                        signals.append(signal)
        return signals

    # ---- scheduled actions -----------------------------------------------------
    def _datetime(self, t: float) -> datetime:
        return self.epoch + timedelta(seconds=t)

    def _schedule_changed(
        self, target: ScalableTarget, action: ScheduledAction
    ) -> None:
        """(Re)plan the timer of *action* if it is still in force; a superseded
        timer notices on waking and ends."""
        if self._current(target, action):
            self.env.process(self._run_action(target, action))

    def _current(self, target: ScalableTarget, action: ScheduledAction) -> bool:
        """Whether *action* is still the scheduled action of that name."""
        return (
            self.autoscaling.targets.get(target.resource_id) is target
            and target.scheduled_actions.get(action.name) is action
        )

    def _run_action(
        self, target: ScalableTarget, action: ScheduledAction
    ) -> ProcessGenerator:
        """Sleep until each run of *action*, run it, until it has no next run."""
        after = self._datetime(self.env.now)
        while True:
            when = next_fire(
                action.schedule,
                after,
                created_at=self._datetime(action.created_at),
                start_time=action.start_time,
                end_time=action.end_time,
                tz=action.tz,
            )
            if when is None:
                return
            delay_s = (when - self.epoch).total_seconds() - self.env.now
            yield self.env.timeout(max(0.0, delay_s))
            if not self._current(target, action):
                return
            self.autoscaling.run_scheduled_action(target, action)
            after = when
