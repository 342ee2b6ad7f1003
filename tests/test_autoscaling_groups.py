"""EC2 Auto Scaling groups: the boto3-shaped ``autoscaling`` client, the group
as a process (launch, register, terminate, Spot notices) and ECS managed
scaling, managed termination protection and managed draining."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim import Simulation
from ecssim.aws.autoscaling_groups import PROTECTED_SCALE_IN_MESSAGE
from ecssim.results.recorder import event_details
from ecssim.rules.instance_types import on_demand_wanted
from ecssim.sim.asg import SPOT_NOTICE_S, GroupSettings, terminated_reason

POLICY = {
    "LaunchTemplate": {
        "LaunchTemplateSpecification": {"LaunchTemplateName": "hosts-lt"},
        "Overrides": [{"InstanceType": "m5.large"}],
    }
}


def _group(client: Any, name: str = "hosts", **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "AutoScalingGroupName": name,
        "MinSize": 0,
        "MaxSize": 10,
        "AvailabilityZones": ["us-east-1a", "us-east-1b"],
        "MixedInstancesPolicy": POLICY,
    }
    params.update(extra)
    client.create_auto_scaling_group(**params)
    groups = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
    return groups["AutoScalingGroups"][0]  # type: ignore[no-any-return]


def _sim(
    *,
    desired: int = 0,
    protection: bool = True,
    draining: bool = True,
    scaling: bool = True,
    settings: GroupSettings | None = None,
    **group: Any,
) -> Simulation:
    """A cluster ``media`` with provider ``cp`` on group ``hosts``."""
    sim = Simulation(seed=3)
    sim.ecs.create_cluster(clusterName="media")
    if settings is not None:
        sim.ec2.settings["hosts"] = settings
    described = _group(
        sim.autoscaling,
        DesiredCapacity=desired,
        NewInstancesProtectedFromScaleIn=protection,
        **group,
    )
    provider: dict[str, Any] = {
        "autoScalingGroupArn": described["AutoScalingGroupARN"],
        "managedTerminationProtection": "ENABLED"
        if protection and scaling
        else "DISABLED",
        "managedDraining": "ENABLED" if draining else "DISABLED",
    }
    if scaling:
        provider["managedScaling"] = {
            "status": "ENABLED",
            "targetCapacity": 100,
            "instanceWarmupPeriod": 60,
        }
    sim.ecs.create_capacity_provider(name="cp", autoScalingGroupProvider=provider)
    sim.ecs.put_cluster_capacity_providers(
        cluster="media",
        capacityProviders=["cp"],
        defaultCapacityProviderStrategy=[{"capacityProvider": "cp", "weight": 1}],
    )
    sim.ecs.register_task_definition(
        family="worker",
        containerDefinitions=[{"name": "w", "image": "w", "essential": True}],
        cpu="1024",
        memory="2048",
    )
    return sim


def _instances(sim: Simulation) -> list[dict[str, Any]]:
    group = sim.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["hosts"]
    )
    return group["AutoScalingGroups"][0]["Instances"]  # type: ignore[no-any-return]


def _kinds(sim: Simulation, *kinds: str) -> list[str]:
    events = sim.events()
    return list(events[events["kind"].isin(kinds)]["kind"])


# ---- the client --------------------------------------------------------------------


def test_create_and_describe_a_group_as_boto3_does() -> None:
    """A created group is described with its sizes, zones and instance types, and
    its ARN names it; a real botocore client gets the same answer."""
    sim = Simulation(seed=1)
    group = _group(sim.autoscaling, DesiredCapacity=0)
    assert group["AutoScalingGroupName"] == "hosts"
    assert group["AutoScalingGroupARN"].endswith(":autoScalingGroupName/hosts")
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == (0, 10, 0)
    assert group["AvailabilityZones"] == ["us-east-1a", "us-east-1b"]
    assert group["Instances"] == []
    real = sim.client("autoscaling").describe_auto_scaling_groups()
    assert (
        real["AutoScalingGroups"][0]["AutoScalingGroupARN"]
        == (group["AutoScalingGroupARN"])
    )


@pytest.mark.parametrize(
    ("params", "code", "text"),
    [
        ({"MinSize": 3, "MaxSize": 2}, "ValidationError", "Max bound, 2"),
        ({"DesiredCapacity": 11}, "ValidationError", "Desired capacity:11"),
        ({"AvailabilityZones": ["eu-west-1a"]}, "ValidationError", "eu-west-1a"),
        (
            {"MixedInstancesPolicy": {"LaunchTemplate": {"Overrides": []}}},
            "ValidationError",
            "InstanceType",
        ),
        (
            {
                "MixedInstancesPolicy": {
                    "LaunchTemplate": {"Overrides": [{"InstanceType": "z9.huge"}]}
                }
            },
            "ValidationError",
            "z9.huge",
        ),
        ({"VPCZoneIdentifier": "subnet-1"}, "ValidationError", "VPCZoneIdentifier"),
    ],
)
def test_create_refuses_bad_groups_with_aws_errors(
    params: dict[str, Any], code: str, text: str
) -> None:
    """Bad sizes, zones or instance types fail with the error code and a message
    naming the value."""
    sim = Simulation(seed=1)
    with pytest.raises(ClientError) as caught:
        _group(sim.autoscaling, **params)
    assert caught.value.response["Error"]["Code"] == code
    assert text in caught.value.response["Error"]["Message"]


def test_a_second_group_of_the_same_name_already_exists() -> None:
    """CreateAutoScalingGroup with a taken name fails with AlreadyExists."""
    sim = Simulation(seed=1)
    _group(sim.autoscaling)
    with pytest.raises(sim.autoscaling.exceptions.AlreadyExistsFault):
        _group(sim.autoscaling)


def test_requests_are_validated_against_botocore() -> None:
    """A missing required parameter raises ParamValidationError before anything."""
    sim = Simulation(seed=1)
    with pytest.raises(ParamValidationError):
        sim.autoscaling.create_auto_scaling_group(AutoScalingGroupName="x", MinSize=0)
    assert sim.auto_scaling_groups.groups == {}


def test_update_keeps_desired_within_min_and_max() -> None:
    """Raising MinSize drags the desired capacity up; a desired capacity outside
    the bounds is refused."""
    sim = Simulation(seed=1)
    _group(sim.autoscaling)
    sim.autoscaling.update_auto_scaling_group(AutoScalingGroupName="hosts", MinSize=2)
    group = sim.auto_scaling_groups.groups["hosts"]
    assert group.desired_capacity == 2
    with pytest.raises(ClientError, match="Desired capacity:20"):
        sim.autoscaling.update_auto_scaling_group(
            AutoScalingGroupName="hosts", DesiredCapacity=20
        )
    with pytest.raises(ClientError, match="not found"):
        sim.autoscaling.update_auto_scaling_group(
            AutoScalingGroupName="nope", DesiredCapacity=1
        )


def test_set_instance_protection_refuses_other_instances() -> None:
    """Protection is set on the group's instances; an unknown id is a
    ValidationError and more than 50 ids LimitExceeded."""
    sim = _sim(desired=1, protection=False, scaling=False)
    sim.advance("2m")
    (instance,) = _instances(sim)
    assert instance["ProtectedFromScaleIn"] is False
    sim.autoscaling.set_instance_protection(
        AutoScalingGroupName="hosts",
        InstanceIds=[instance["InstanceId"]],
        ProtectedFromScaleIn=True,
    )
    assert _instances(sim)[0]["ProtectedFromScaleIn"] is True
    with pytest.raises(ClientError, match="not part of Auto Scaling group"):
        sim.autoscaling.set_instance_protection(
            AutoScalingGroupName="hosts", InstanceIds=["i-1"], ProtectedFromScaleIn=True
        )
    with pytest.raises(sim.autoscaling.exceptions.LimitExceededFault):
        sim.autoscaling.set_instance_protection(
            AutoScalingGroupName="hosts",
            InstanceIds=[f"i-{n}" for n in range(51)],
            ProtectedFromScaleIn=True,
        )


# ---- the group as a process ------------------------------------------------------------


def test_instances_boot_then_register_with_the_cluster_in_balanced_zones() -> None:
    """Desired 3: three instances launch at once over both zones, Pending until
    the boot delay, then InService and registered with the provider's cluster,
    with the m5.large's registered CPU and memory."""
    sim = _sim(desired=3, scaling=False, settings=GroupSettings(boot_s=100))
    sim.advance(99)
    assert [i["LifecycleState"] for i in _instances(sim)] == ["Pending"] * 3
    assert (
        sim.ecs.list_container_instances(cluster="media")["containerInstanceArns"] == []
    )
    sim.advance(1)
    instances = _instances(sim)
    assert [i["LifecycleState"] for i in instances] == ["InService"] * 3
    assert sorted(i["AvailabilityZone"] for i in instances) == [
        "us-east-1a",
        "us-east-1a",
        "us-east-1b",
    ]
    arns = sim.ecs.list_container_instances(cluster="media")["containerInstanceArns"]
    described = sim.ecs.describe_container_instances(
        cluster="media", containerInstances=arns
    )["containerInstances"]
    assert {d["capacityProviderName"] for d in described} == {"cp"}
    cpu = {
        r["name"]: r["integerValue"]
        for r in described[0]["registeredResources"]
        if r["name"] in ("CPU", "MEMORY")
    }
    assert cpu == {"CPU": 2048, "MEMORY": 7985}


def test_managed_scaling_launches_for_waiting_tasks_and_places_them() -> None:
    """Tasks waiting for room push CapacityProviderReservation to 200 % from no
    instance; the group scales out, the instances register and the tasks run."""
    sim = _sim(settings=GroupSettings(boot_s=60))
    sim.ecs.create_service(
        cluster="media", serviceName="svc", taskDefinition="worker", desiredCount=3
    )
    sim.advance("61s")
    metric = event_details(sim.events(), "capacity_provider_reservation")
    assert metric["value"].iloc[0] == 200.0
    # three 1-vCPU tasks on 2-vCPU instances: at least 2 instances, the first step
    assert sim.auto_scaling_groups.groups["hosts"].desired_capacity >= 2
    sim.advance("10m")
    tasks = sim.ecs.list_tasks(cluster="media", desiredStatus="RUNNING")["taskArns"]
    described = sim.ecs.describe_tasks(cluster="media", tasks=tasks)["tasks"]
    assert [t["lastStatus"] for t in described] == ["RUNNING"] * 3
    assert all(t.get("containerInstanceArn") for t in described)


def test_managed_scale_in_needs_15_minutes_below_target_then_drains_empty_instances() -> (
    None
):
    """Two empty instances: the scale-in alarm needs 15 datapoints below the
    target (after the warm-up); then the group shrinks and each instance goes
    DRAINING before it is terminated."""
    sim = _sim(desired=2, settings=GroupSettings(boot_s=30))
    sim.advance("10m")
    assert sim.auto_scaling_groups.groups["hosts"].desired_capacity == 2
    sim.advance("30m")
    assert sim.auto_scaling_groups.groups["hosts"].desired_capacity == 0
    assert _instances(sim) == []
    kinds = _kinds(sim, "instance_draining", "instance_terminated")
    assert kinds == ["instance_draining", "instance_terminated"] * 2
    changes = event_details(sim.events(), "asg_desired_capacity_changed")
    # warm-up 60 s from launch: the first datapoint below 100 % is at 1 min (0 %),
    # the 15th at 15 min; then at most half the group per minute
    assert list(changes["time_s"]) == [15 * 60, 16 * 60]
    assert list(changes["desired_capacity"]) == [1, 0]


def test_managed_termination_protection_keeps_busy_instances() -> None:
    """With managed termination protection an instance with a task is never
    terminated by scale-in; a manual shrink leaves the group above its desired
    capacity with the documented activity."""
    sim = _sim(settings=GroupSettings(boot_s=30))
    sim.ecs.create_service(
        cluster="media", serviceName="svc", taskDefinition="worker", desiredCount=1
    )
    sim.advance("10m")
    assert len(_instances(sim)) == 1
    sim.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName="hosts", DesiredCapacity=0
    )
    sim.advance("1m")
    assert [i["LifecycleState"] for i in _instances(sim)] == ["InService"]
    activities = sim.autoscaling.describe_scaling_activities(
        AutoScalingGroupName="hosts"
    )["Activities"]
    assert activities[0]["StatusCode"] == "Failed"
    assert activities[0]["StatusMessage"] == PROTECTED_SCALE_IN_MESSAGE
    assert _kinds(sim, "asg_scale_in_blocked") == ["asg_scale_in_blocked"]


def test_without_protection_or_draining_termination_kills_the_tasks() -> None:
    """No managed termination protection and no managed draining: shrinking the
    group terminates the busy instance and its task dies with it, with the
    documented stoppedReason."""
    sim = _sim(protection=False, draining=False, settings=GroupSettings(boot_s=30))
    sim.ecs.create_service(
        cluster="media", serviceName="svc", taskDefinition="worker", desiredCount=1
    )
    sim.advance("10m")
    (instance,) = _instances(sim)
    task_arn = sim.ecs.list_tasks(cluster="media")["taskArns"][0]
    sim.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName="hosts", DesiredCapacity=0
    )
    sim.advance("1s")
    (task,) = sim.ecs.describe_tasks(cluster="media", tasks=[task_arn])["tasks"]
    assert task["lastStatus"] == "STOPPED"
    assert task["stoppedReason"] == terminated_reason(instance["InstanceId"])
    killed = event_details(sim.events(), "task_killed_by_instance_termination")
    assert list(killed["task"]) == [task_arn.rsplit("/", 1)[-1]]


def test_managed_draining_waits_for_the_tasks_to_go() -> None:
    """With managed draining the instance goes DRAINING and is terminated only
    once its service task has been replaced and stopped: nothing is killed."""
    sim = _sim(protection=False, draining=True, settings=GroupSettings(boot_s=30))
    sim.ecs.create_service(
        cluster="media", serviceName="svc", taskDefinition="worker", desiredCount=1
    )
    sim.advance("10m")
    sim.autoscaling.update_auto_scaling_group(
        AutoScalingGroupName="hosts", DesiredCapacity=0, MinSize=0
    )
    sim.advance("1s")
    (instance,) = _instances(sim)
    assert instance["LifecycleState"] == "Terminating:Wait"
    sim.advance("10m")
    assert _kinds(sim, "task_killed_by_instance_termination") == []
    assert "instance_terminated" in _kinds(sim, "instance_terminated")


def test_spot_notice_terminates_the_instance_two_minutes_later() -> None:
    """A Spot instance's notice records the tasks struck; with Spot draining the
    instance goes DRAINING at once; EC2 reclaims it 120 s later and the group
    launches a replacement."""
    sim = _sim(
        desired=2,
        scaling=False,
        settings=GroupSettings(boot_s=30, spot_draining=True),
        MixedInstancesPolicy=POLICY
        | {
            "InstancesDistribution": {
                "OnDemandBaseCapacity": 1,
                "OnDemandPercentageAboveBaseCapacity": 0,
            }
        },
    )
    sim.advance("1m")
    runner = sim.ec2.runners["hosts"]
    spot = runner.spot_instances()
    assert len(spot) == 1  # one on-demand base, the rest Spot
    runner.interrupt_one()
    ci = runner.container_instance(spot[0])
    assert ci is not None
    assert ci.status == "DRAINING"
    sim.advance(SPOT_NOTICE_S - 1)
    assert spot[0].instance_id in {i["InstanceId"] for i in _instances(sim)}
    sim.advance(1)
    ids = {i["InstanceId"] for i in _instances(sim)}
    assert spot[0].instance_id not in ids
    assert len(ids) == 2  # replaced
    assert _kinds(sim, "spot_interruption_notice") == ["spot_interruption_notice"]


def test_spot_notices_arrive_at_the_configured_rate() -> None:
    """At 1 notice per Spot instance-hour, a group of 4 Spot instances over 50
    hours gets about 200 notices (each replaced instance is Spot again)."""
    sim = _sim(
        desired=4,
        scaling=False,
        settings=GroupSettings(boot_s=0, spot_interruptions_per_s=1 / 3600),
        MixedInstancesPolicy=POLICY
        | {"InstancesDistribution": {"OnDemandPercentageAboveBaseCapacity": 0}},
    )
    sim.advance("50h")
    notices = len(_kinds(sim, "spot_interruption_notice"))
    assert 150 <= notices <= 250


@settings(max_examples=25, deadline=None)
@given(
    changes=st.lists(
        st.tuples(st.integers(0, 8), st.floats(1, 600)), min_size=1, max_size=6
    ),
    base=st.integers(0, 3),
    percent=st.integers(0, 100),
)
def test_the_group_follows_its_desired_capacity_and_its_split(
    changes: list[tuple[int, float]], base: int, percent: int
) -> None:
    """Whatever the desired capacities asked over time, with nothing protected
    the group ends with exactly that many instances, in service, zones within
    one of each other; launched in one go, exactly the on-demand share its
    policy asks for."""
    sim = _sim(
        protection=False,
        draining=False,
        scaling=False,
        settings=GroupSettings(boot_s=30),
        MixedInstancesPolicy=POLICY
        | {
            "InstancesDistribution": {
                "OnDemandBaseCapacity": base,
                "OnDemandPercentageAboveBaseCapacity": percent,
            }
        },
    )
    desired = 0
    for desired, wait_s in changes:
        sim.autoscaling.update_auto_scaling_group(
            AutoScalingGroupName="hosts", DesiredCapacity=desired
        )
        sim.advance(wait_s)
    sim.advance(60)
    group = sim.auto_scaling_groups.groups["hosts"]
    instances = list(group.instances.values())
    assert len(instances) == desired
    assert all(i.lifecycle_state == "InService" for i in instances)
    zones = [
        sum(1 for i in instances if i.availability_zone == z)
        for z in group.availability_zones
    ]
    assert max(zones) - min(zones) <= 1 or desired == 0
    on_demand = sum(1 for i in instances if not i.spot)
    if len(changes) == 1:
        # launched in one go: exactly the split (later terminations, at random
        # within a zone, may shift it)
        assert on_demand == on_demand_wanted(desired, base, percent)


# ---- mixed instance types ----------------------------------------------------------

MIXED = {
    "LaunchTemplate": {
        "LaunchTemplateSpecification": {"LaunchTemplateName": "hosts-lt"},
        "Overrides": [{"InstanceType": "m5.xlarge"}, {"InstanceType": "c5.xlarge"}],
    },
    "InstancesDistribution": {
        "OnDemandBaseCapacity": 1,
        "OnDemandPercentageAboveBaseCapacity": 0,
        "OnDemandAllocationStrategy": "lowest-price",
        "SpotAllocationStrategy": "lowest-price",
        "SpotInstancePools": 2,
    },
}


def test_mixed_groups_launch_each_type_by_strategy_and_register_its_resources() -> None:
    """One on-demand base (lowest-price: the c5.xlarge), then Spot over the two
    pools: instances of both types, each registering its own CPU and memory
    and billed at its own price."""
    sim = _sim(
        desired=5,
        scaling=False,
        settings=GroupSettings(boot_s=10),
        MixedInstancesPolicy=MIXED,
    )
    sim.advance(11)
    group = sim.autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=["hosts"]
    )["AutoScalingGroups"][0]
    assert (
        group["MixedInstancesPolicy"]["InstancesDistribution"][
            "OnDemandAllocationStrategy"
        ]
        == "lowest-price"
    )
    types = sorted(i["InstanceType"] for i in group["Instances"])
    assert set(types) == {"m5.xlarge", "c5.xlarge"}
    launched = event_details(sim.events(), "instance_launched")
    on_demand = list(launched[~launched["spot"].astype(bool)]["instance_type"])
    assert on_demand == ["c5.xlarge"]
    arns = sim.ecs.list_container_instances(cluster="media")["containerInstanceArns"]
    described = sim.ecs.describe_container_instances(
        cluster="media", containerInstances=arns
    )["containerInstances"]
    type_of = {i["InstanceId"]: i["InstanceType"] for i in group["Instances"]}
    memory = {
        type_of[d["ec2InstanceId"]]: next(
            r["integerValue"] for r in d["registeredResources"] if r["name"] == "MEMORY"
        )
        for d in described
    }
    # c5.xlarge: 8 GiB registers 7985 MiB; m5.xlarge: 16 GiB, 15970 MiB
    assert memory == {"c5.xlarge": 7985, "m5.xlarge": 15970}


@pytest.mark.parametrize(
    ("distribution", "text"),
    [
        ({"SpotAllocationStrategy": "capacity-optimized"}, "capacity-optimized"),
        ({"OnDemandAllocationStrategy": "cheapest"}, "cheapest"),
        (
            {
                "SpotAllocationStrategy": "price-capacity-optimized",
                "SpotInstancePools": 3,
            },
            "SpotInstancePools",
        ),
    ],
)
def test_unsupported_allocation_strategies_are_refused(
    distribution: dict[str, Any], text: str
) -> None:
    """A strategy ecssim does not model fails with ValidationError naming it."""
    sim = Simulation(seed=1)
    policy = {**POLICY, "InstancesDistribution": distribution}
    with pytest.raises(ClientError) as caught:
        _group(sim.autoscaling, MixedInstancesPolicy=policy)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert text in caught.value.response["Error"]["Message"]
