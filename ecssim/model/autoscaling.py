"""Service Auto Scaling for a scenario service: the scalable target, its
target-tracking policies (through the Application Auto Scaling client) and the
metrics the workload publishes for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ecssim.model.build import Model
    from ecssim.model.services import ServiceRuntime


#: CPU of a task: this much when idle, plus the rest up to 95 % when busy.
IDLE_CPU_PERCENT = 5.0
BUSY_CPU_PERCENT = 95.0
CUSTOM_NAMESPACE = "ecssim"


def add_autoscaling(model: Model, runtime: ServiceRuntime) -> None:
    """Register the scalable target and its policies through the
    Application Auto Scaling client, and feed the metrics they track."""
    config = runtime.config
    scaling = config.autoscaling
    assert scaling is not None  # only called for services with autoscaling
    sim = model.sim
    aas = sim.application_autoscaling
    target = scalable_target(model, config.name)
    aas.register_scalable_target(
        **target,
        MinCapacity=scaling.min_capacity,
        MaxCapacity=scaling.max_capacity,
    )
    dimensions = [
        {"Name": "ClusterName", "Value": model.cluster_name},
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
            PolicyName=aas_name(config.name, f"{policy.metric}-{index}"),
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=spec,
            **target,
        )
    feed_metrics(model, runtime, {p.metric for p in scaling.target_tracking})


#: Application Auto Scaling's longest policy or scheduled-action name.
MAX_AAS_NAME: Final = 256


def aas_name(service: str, suffix: str) -> str:
    """``SERVICE-SUFFIX`` as a policy or scheduled-action name, the service
    name shortened to fit 256 characters (names are per scalable target, so
    the suffix keeps them apart)."""
    room = MAX_AAS_NAME - len(suffix) - 1
    return f"{service[:room]}-{suffix}"


def scalable_target(model: Model, service: str) -> dict[str, str]:
    return {
        "ServiceNamespace": "ecs",
        "ResourceId": f"service/{model.cluster_name}/{service}",
        "ScalableDimension": "ecs:service:DesiredCount",
    }


def feed_metrics(model: Model, runtime: ServiceRuntime, metrics: set[str]) -> None:
    """Publish what the workload does as the metrics auto scaling tracks.

    Values are read at the end of each minute: CPU is 5 % for an idle task
    and 95 % for a busy one, averaged over RUNNING tasks; memory likewise
    between 30 % and 70 %; BacklogPerTask is visible messages per RUNNING
    task; SessionsPerTask is connected plus waiting sessions per RUNNING
    task; BusyTaskPercent is the share of RUNNING tasks with work in hand.
    """
    store = model.sim.metrics
    service = runtime.record
    load = model.workers.load(service.name)

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
        model.cluster_name,
        service.name,
        cpu=cpu if "ECSServiceAverageCPUUtilization" in metrics else None,
        memory=memory if "ECSServiceAverageMemoryUtilization" in metrics else None,
    )
    dims = {"ClusterName": model.cluster_name, "ServiceName": service.name}
    custom = {
        "BacklogPerTask": backlog,
        "SessionsPerTask": sessions,
        "BusyTaskPercent": busy_percent,
    }
    for name, source in custom.items():
        if name in metrics:
            store.set_source(CUSTOM_NAMESPACE, name, dims, source)
