"""A scenario's EC2 capacity, built through the boto3-shaped clients: each
capacity provider's Auto Scaling group (``autoscaling`` client), the capacity
provider (ECS ``create_capacity_provider``) and the cluster's providers and
default strategy (``put_cluster_capacity_providers``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecssim.results.capacity import Prices
from ecssim.rules.instance_types import INSTANCE_TYPES, InstanceType
from ecssim.scenario.schema import InstanceInterruption, Scenario
from ecssim.sim.asg import GroupSettings
from ecssim.sim.timers import at

if TYPE_CHECKING:
    from ecssim.model.simulation import Simulation


def group_name(provider: str) -> str:
    """The Auto Scaling group behind capacity provider *provider*."""
    return f"{provider}-asg"


def add_capacity_providers(sim: Simulation, scenario: Scenario) -> None:
    """Create the scenario's Auto Scaling groups and capacity providers and
    associate them (with FARGATE and FARGATE_SPOT) with its cluster."""
    cluster = scenario.cluster
    for name, config in scenario.instance_types.items():
        sim.auto_scaling_groups.instance_types[name] = InstanceType(
            name, config.vcpus, config.memory_gib, config.on_demand_hourly_usd
        )
    if not cluster.capacity_providers:
        return
    for provider in cluster.capacity_providers:
        group = group_name(provider.name)
        sim.ec2.settings[group] = GroupSettings(
            boot_s=provider.boot_s,
            reserved_memory_mib=provider.reserved_memory_mib,
            spot_interruptions_per_s=provider.spot.interruption_rate_per_s,
            spot_draining=provider.spot.draining,
            draining_timeout_s=provider.draining_timeout_s,
        )
        sim.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=group,
            MinSize=provider.min_size,
            MaxSize=provider.max_size,
            DesiredCapacity=(
                provider.desired_capacity
                if provider.desired_capacity is not None
                else provider.min_size
            ),
            AvailabilityZones=list(
                provider.availability_zones or cluster.availability_zones
            ),
            MixedInstancesPolicy={
                "LaunchTemplate": {
                    "LaunchTemplateSpecification": {
                        "LaunchTemplateName": f"{group}-lt"
                    },
                    "Overrides": [{"InstanceType": t} for t in provider.instance_types],
                },
                "InstancesDistribution": {
                    "OnDemandBaseCapacity": provider.spot.on_demand_base,
                    "OnDemandPercentageAboveBaseCapacity": provider.spot.on_demand_percent,
                    "OnDemandAllocationStrategy": provider.on_demand_allocation_strategy,
                    "SpotAllocationStrategy": provider.spot.allocation_strategy,
                    **(
                        {"SpotInstancePools": provider.spot.instance_pools}
                        if provider.spot.allocation_strategy == "lowest-price"
                        else {}
                    ),
                },
            },
            NewInstancesProtectedFromScaleIn=provider.managed_termination_protection,
        )
        arn = sim.autoscaling.describe_auto_scaling_groups(
            AutoScalingGroupNames=[group]
        )["AutoScalingGroups"][0]["AutoScalingGroupARN"]
        scaling = provider.managed_scaling
        asg_provider: dict[str, Any] = {
            "autoScalingGroupArn": arn,
            "managedTerminationProtection": "ENABLED"
            if provider.managed_termination_protection
            else "DISABLED",
            "managedDraining": "ENABLED" if provider.managed_draining else "DISABLED",
        }
        if scaling.enabled:
            asg_provider["managedScaling"] = {
                "status": "ENABLED",
                "targetCapacity": scaling.target_capacity,
                "minimumScalingStepSize": scaling.minimum_scaling_step_size,
                "maximumScalingStepSize": scaling.maximum_scaling_step_size,
                "instanceWarmupPeriod": int(scaling.instance_warmup_period_s),
            }
        sim.ecs.create_capacity_provider(
            name=provider.name, autoScalingGroupProvider=asg_provider
        )
    sim.ecs.put_cluster_capacity_providers(
        cluster=cluster.name,
        capacityProviders=[
            "FARGATE",
            "FARGATE_SPOT",
            *(p.name for p in cluster.capacity_providers),
        ],
        defaultCapacityProviderStrategy=[
            {
                "capacityProvider": item.capacity_provider,
                "base": item.base,
                "weight": item.weight,
            }
            for item in cluster.default_capacity_provider_strategy
        ],
    )


def add_instance_interruption(sim: Simulation, fault: InstanceInterruption) -> None:
    """A scheduled EC2 Spot interruption of one instance of a provider's group."""

    def strike() -> None:
        runner = sim.ec2.runner_of(fault.capacity_provider)
        if runner is not None:
            runner.interrupt_one()

    at(sim.env, fault.at_s, strike)


def scenario_prices(scenario: Scenario) -> Prices:
    """The prices of *scenario*: its ``prices:`` section over the defaults, with
    the hourly prices of its own instance types."""
    config = scenario.prices
    hourly = {name: t.on_demand_hourly_usd for name, t in INSTANCE_TYPES.items()}
    hourly |= {
        name: t.on_demand_hourly_usd for name, t in scenario.instance_types.items()
    }
    hourly |= config.instance_hourly_usd
    return Prices(
        fargate_vcpu_hour_usd=config.fargate_vcpu_hour_usd,
        fargate_gb_hour_usd=config.fargate_gb_hour_usd,
        fargate_spot_discount=config.fargate_spot_discount,
        ec2_spot_discount=config.ec2_spot_discount,
        instance_hourly_usd=tuple(sorted(hourly.items())),
    )
