"""Container instances and capacity providers through the boto3-shaped client
(``sim.ecs``) and a real botocore client answered by the simulation
(``sim.client("ecs")``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from ecssim import Simulation
from ecssim.aws import capacity
from ecssim.errors import InvariantViolation
from ecssim.rules.capacity import Resources

PREFIX = "arn:aws:ecs:us-east-1:123456789012"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ASG = (
    "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
    "1b2c3d4e-1111-2222-3333-444455556666:autoScalingGroupName/{}"
)


def _sim() -> Simulation:
    sim = Simulation(seed=5)
    sim.ecs.create_cluster(clusterName="media")
    return sim


def _register(
    client: Any,
    ec2_id: str = "i-0123456789abcdef0",
    zone: str = "us-east-1a",
    cpu: int = 4096,
    memory: int = 7680,
    **extra: Any,
) -> dict[str, Any]:
    document = json.dumps(
        {"instanceId": ec2_id, "availabilityZone": zone, "instanceType": "c5.xlarge"}
    )
    response = client.register_container_instance(
        cluster="media",
        instanceIdentityDocument=document,
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2376"]},
        ],
        **extra,
    )
    return response["containerInstance"]


def _provider(client: Any, name: str = "workers", **asg: Any) -> dict[str, Any]:
    return client.create_capacity_provider(
        name=name,
        autoScalingGroupProvider={"autoScalingGroupArn": ASG.format(name), **asg},
    )["capacityProvider"]


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


# --- capacity providers ----------------------------------------------------------------


@pytest.mark.parametrize("real", [False, True])
def test_create_and_describe_a_capacity_provider(real: bool) -> None:
    """CreateCapacityProvider answers the provider with every managed-scaling
    default filled in, and DescribeCapacityProviders lists it after FARGATE and
    FARGATE_SPOT, through both clients."""
    sim = _sim()
    client = sim.client("ecs") if real else sim.ecs
    created = _provider(
        client,
        managedScaling={"targetCapacity": 90, "instanceWarmupPeriod": 120},
        managedTerminationProtection="ENABLED",
    )
    assert created == {
        "capacityProviderArn": f"{PREFIX}:capacity-provider/workers",
        "name": "workers",
        "status": "ACTIVE",
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": ASG.format("workers"),
            "managedScaling": {
                "status": "ENABLED",
                "targetCapacity": 90,
                "minimumScalingStepSize": 1,
                "maximumScalingStepSize": 10000,
                "instanceWarmupPeriod": 120,
            },
            "managedTerminationProtection": "ENABLED",
            "managedDraining": "ENABLED",
        },
        "tags": [],
        "type": "EC2_AUTOSCALING",
    }
    described = client.describe_capacity_providers()
    assert [p["name"] for p in described["capacityProviders"]] == [
        "FARGATE",
        "FARGATE_SPOT",
        "workers",
    ]
    one = client.describe_capacity_providers(
        capacityProviders=["workers", f"{PREFIX}:capacity-provider/ghost"]
    )
    assert one["capacityProviders"] == [created]
    assert one["failures"] == [
        {"arn": f"{PREFIX}:capacity-provider/ghost", "reason": "MISSING"}
    ]


def test_describe_capacity_providers_pages_by_ten() -> None:
    """maxResults pages the providers and nextToken continues where it stopped;
    the botocore paginator walks them all."""
    sim = _sim()
    for k in range(12):
        _provider(sim.ecs, name=f"cp{k:02d}")
    first = sim.ecs.describe_capacity_providers(maxResults=10)
    assert len(first["capacityProviders"]) == 10
    rest = sim.ecs.describe_capacity_providers(nextToken=first["nextToken"])
    assert [p["name"] for p in rest["capacityProviders"]] == [
        "cp08",
        "cp09",
        "cp10",
        "cp11",
    ]
    assert "nextToken" not in rest
    with pytest.raises(ClientError) as err:
        sim.ecs.describe_capacity_providers(maxResults=11)
    assert _code(err) == "InvalidParameterException"


@pytest.mark.parametrize(
    ("name", "asg", "code", "message"),
    [
        ("ecs-workers", {}, "InvalidParameterException", "prefixed"),
        ("FargateWorkers", {}, "InvalidParameterException", "prefixed"),
        ("bad name", {}, "InvalidParameterException", "255 letters"),
        (
            "w",
            {"managedTerminationProtection": "ENABLED"},
            "InvalidParameterException",
            "requires managed scaling",
        ),
        (
            "w",
            {"managedScaling": {"targetCapacity": 101}},
            "InvalidParameterException",
            "targetCapacity 101 is outside 1..100",
        ),
        (
            "w",
            {
                "managedScaling": {
                    "minimumScalingStepSize": 5,
                    "maximumScalingStepSize": 2,
                }
            },
            "InvalidParameterException",
            "above maximumScalingStepSize",
        ),
        (
            "w",
            {"managedScaling": {"instanceWarmupPeriod": 10001}},
            "InvalidParameterException",
            "instanceWarmupPeriod",
        ),
        (
            "w",
            {"managedDraining": "SOMETIMES"},
            "InvalidParameterException",
            "managedDraining",
        ),
    ],
)
def test_create_capacity_provider_refuses_bad_input(
    name: str, asg: dict[str, Any], code: str, message: str
) -> None:
    """Bad names and settings fail with the error code and a message that says
    what is wrong; nothing is created."""
    sim = _sim()
    with pytest.raises(ClientError) as err:
        sim.ecs.create_capacity_provider(
            name=name,
            autoScalingGroupProvider={"autoScalingGroupArn": ASG.format("g"), **asg},
        )
    assert _code(err) == code
    assert message in err.value.response["Error"]["Message"]
    assert sim.backend.capacity_providers == {}


def test_one_group_one_provider_and_names_are_unique() -> None:
    """A second provider with the same name is a ClientException; a second
    provider on the same Auto Scaling group, or a malformed group ARN, is
    refused; a missing group ARN never reaches ecssim (botocore refuses it)."""
    sim = _sim()
    _provider(sim.ecs)
    with pytest.raises(sim.ecs.exceptions.ClientException, match="already exists"):
        _provider(sim.ecs)
    with pytest.raises(ClientError, match="already used by another capacity provider"):
        sim.ecs.create_capacity_provider(
            name="other",
            autoScalingGroupProvider={"autoScalingGroupArn": ASG.format("workers")},
        )
    with pytest.raises(ClientError, match="not an Auto Scaling group ARN"):
        sim.ecs.create_capacity_provider(
            name="other", autoScalingGroupProvider={"autoScalingGroupArn": "workers"}
        )
    with pytest.raises(ParamValidationError):
        sim.client("ecs").create_capacity_provider(
            name="other", autoScalingGroupProvider={}
        )
    with pytest.raises(ParamValidationError, match="targetCapacity"):
        sim.ecs.create_capacity_provider(
            name="other",
            autoScalingGroupProvider={
                "autoScalingGroupArn": ASG.format("other"),
                "managedScaling": {"targetCapacity": 0},
            },
        )


def test_put_cluster_capacity_providers_sets_the_cluster_and_its_default() -> None:
    """The cluster shows its providers and default strategy afterwards."""
    sim = _sim()
    _provider(sim.ecs, managedScaling={"status": "ENABLED"})
    client = sim.client("ecs")
    cluster = client.put_cluster_capacity_providers(
        cluster="media",
        capacityProviders=["workers", "FARGATE"],
        defaultCapacityProviderStrategy=[
            {"capacityProvider": "workers", "base": 1, "weight": 1}
        ],
    )["cluster"]
    assert cluster["capacityProviders"] == ["workers", "FARGATE"]
    assert cluster["defaultCapacityProviderStrategy"] == [
        {"capacityProvider": "workers", "base": 1, "weight": 1}
    ]
    described = client.describe_clusters(clusters=["media"])["clusters"][0]
    assert described["capacityProviders"] == ["workers", "FARGATE"]
    assert sim.backend.capacity_providers["workers"].clusters == ["media"]


@pytest.mark.parametrize(
    ("providers", "strategy", "message"),
    [
        (["ghost"], [], "not in an ACTIVE state"),
        (["FARGATE"], [{"capacityProvider": "workers", "weight": 1}], "not associated"),
        (
            ["workers", "FARGATE"],
            [
                {"capacityProvider": "workers", "weight": 1},
                {"capacityProvider": "FARGATE", "weight": 1},
            ],
            "but not both",
        ),
        (
            ["FARGATE", "FARGATE_SPOT"],
            [
                {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                {"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 1},
            ],
            "Only one capacity provider",
        ),
        (
            ["FARGATE"],
            [{"capacityProvider": "FARGATE", "weight": 0}],
            "weight greater than zero",
        ),
        (["FARGATE", "FARGATE"], [], "more than once"),
    ],
)
def test_put_cluster_capacity_providers_refuses_bad_strategies(
    providers: list[str], strategy: list[dict[str, Any]], message: str
) -> None:
    """Unknown providers, a strategy that uses unassociated providers, mixes
    Fargate and Auto Scaling group providers, has two bases or no weight are
    refused, and the cluster keeps what it had."""
    sim = _sim()
    _provider(sim.ecs, managedScaling={"status": "ENABLED"})
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException, match=message):
        sim.ecs.put_cluster_capacity_providers(
            cluster="media",
            capacityProviders=providers,
            defaultCapacityProviderStrategy=strategy,
        )
    assert sim.backend.clusters["media"].capacity_providers is None


def test_a_managed_scaling_provider_serves_one_cluster() -> None:
    """With managed scaling a provider can be associated with one cluster only;
    without it, with several."""
    sim = _sim()
    sim.ecs.create_cluster(clusterName="other")
    _provider(sim.ecs, name="managed", managedScaling={"status": "ENABLED"})
    _provider(sim.ecs, name="manual")
    for cluster in ("media", "other"):
        sim.ecs.put_cluster_capacity_providers(
            cluster=cluster,
            capacityProviders=["manual"],
            defaultCapacityProviderStrategy=[],
        )
    sim.ecs.put_cluster_capacity_providers(
        cluster="media",
        capacityProviders=["managed"],
        defaultCapacityProviderStrategy=[],
    )
    with pytest.raises(ClientError, match="already associated with cluster media"):
        sim.ecs.put_cluster_capacity_providers(
            cluster="other",
            capacityProviders=["managed"],
            defaultCapacityProviderStrategy=[],
        )
    assert sim.backend.capacity_providers["manual"].clusters == ["other"]


def test_a_provider_a_service_uses_cannot_be_removed() -> None:
    """Removing FARGATE while a service's strategy names it is a
    ResourceInUseException."""
    sim = _sim()
    sim.ecs.register_task_definition(
        family="w", containerDefinitions=[{"name": "app", "image": "x"}]
    )
    sim.ecs.create_service(
        cluster="media",
        serviceName="api",
        taskDefinition="w",
        desiredCount=0,
        capacityProviderStrategy=[{"capacityProvider": "FARGATE", "weight": 1}],
    )
    with pytest.raises(sim.ecs.exceptions.ResourceInUseException, match="service api"):
        sim.ecs.put_cluster_capacity_providers(
            cluster="media",
            capacityProviders=["FARGATE_SPOT"],
            defaultCapacityProviderStrategy=[],
        )


# --- container instances ----------------------------------------------------------------


@pytest.mark.parametrize("real", [False, True])
def test_register_describe_and_list_a_container_instance(real: bool) -> None:
    """A registered instance is ACTIVE, with its resources registered and
    remaining, its zone as the ecs.availability-zone attribute, custom
    attributes and other resources kept; it is listed and described, and the
    cluster counts it."""
    sim = _sim()
    client = sim.client("ecs") if real else sim.ecs
    instance = _register(client, attributes=[{"name": "stack", "value": "prod"}])
    arn = instance["containerInstanceArn"]
    assert arn.startswith(f"{PREFIX}:container-instance/media/")
    cpu_memory = [
        {
            "name": "CPU",
            "type": "INTEGER",
            "doubleValue": 0.0,
            "longValue": 0,
            "integerValue": 4096,
        },
        {
            "name": "MEMORY",
            "type": "INTEGER",
            "doubleValue": 0.0,
            "longValue": 0,
            "integerValue": 7680,
        },
        {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2376"]},
    ]
    assert instance == {
        "containerInstanceArn": arn,
        "ec2InstanceId": "i-0123456789abcdef0",
        "version": 1,
        "versionInfo": {},
        "remainingResources": cpu_memory,
        "registeredResources": cpu_memory,
        "status": "ACTIVE",
        "agentConnected": True,
        "runningTasksCount": 0,
        "pendingTasksCount": 0,
        "attributes": [
            {"name": "ecs.availability-zone", "value": "us-east-1a"},
            {"name": "ecs.instance-type", "value": "c5.xlarge"},
            {"name": "ecs.os-type", "value": "linux"},
            {"name": "stack", "value": "prod"},
        ],
        "registeredAt": START,
        "attachments": [],
        "tags": [],
    }
    assert client.list_container_instances(cluster="media")[
        "containerInstanceArns"
    ] == [arn]
    described = client.describe_container_instances(
        cluster="media", containerInstances=[arn.rsplit("/", 1)[1], "missing"]
    )
    assert described["containerInstances"] == [instance]
    assert described["failures"] == [
        {"arn": f"{PREFIX}:container-instance/media/missing", "reason": "MISSING"}
    ]
    cluster = client.describe_clusters(clusters=["media"])["clusters"][0]
    assert cluster["registeredContainerInstancesCount"] == 1


def test_list_filters_by_status_and_zone_and_pages() -> None:
    """status and the zone filter narrow the list; other filters are refused
    with the expression named; maxResults pages it."""
    sim = _sim()
    arns = [
        _register(sim.ecs, ec2_id=f"i-{k:017x}", zone=zone)["containerInstanceArn"]
        for k, zone in enumerate(
            ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a"]
        )
    ]
    sim.ecs.update_container_instances_state(
        cluster="media", containerInstances=[arns[1]], status="DRAINING"
    )
    listed = sim.ecs.list_container_instances
    assert listed(cluster="media", status="DRAINING")["containerInstanceArns"] == [
        arns[1]
    ]
    assert listed(cluster="media", status="ACTIVE")["containerInstanceArns"] == [
        arns[0],
        arns[2],
        arns[3],
    ]
    assert listed(
        cluster="media",
        filter="attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
    )["containerInstanceArns"] == [arns[0], arns[1], arns[3]]
    page = listed(cluster="media", maxResults=3)
    assert page["containerInstanceArns"] == arns[:3]
    assert listed(cluster="media", nextToken=page["nextToken"])[
        "containerInstanceArns"
    ] == [arns[3]]
    with pytest.raises(ClientError, match=r"ecs\.instance-type == c5\.xlarge"):
        listed(cluster="media", filter="attribute:ecs.instance-type == c5.xlarge")
    with pytest.raises(ClientError, match="status should be one of"):
        listed(cluster="media", status="INACTIVE")
    paginator = sim.client("ecs").get_paginator("list_container_instances")
    walked = [
        a
        for p in paginator.paginate(cluster="media", PaginationConfig={"PageSize": 2})
        for a in p["containerInstanceArns"]
    ]
    assert walked == arns


@pytest.mark.parametrize(
    ("document", "resources", "message"),
    [
        (None, None, "instanceIdentityDocument must be a JSON object"),
        ("{not json", None, "instanceIdentityDocument must be a JSON object"),
        (json.dumps({"instanceId": "i-1"}), None, "instanceIdentityDocument"),
        (
            json.dumps({"instanceId": "i-1", "availabilityZone": "eu-west-1a"}),
            None,
            "not one of the simulated zones",
        ),
        (
            json.dumps({"instanceId": "i-1", "availabilityZone": "us-east-1a"}),
            [{"name": "CPU", "type": "INTEGER", "integerValue": 2048}],
            "must include MEMORY",
        ),
        (
            json.dumps({"instanceId": "i-1", "availabilityZone": "us-east-1a"}),
            [
                {"name": "CPU", "type": "INTEGER", "integerValue": 0},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024},
            ],
            "CPU needs a positive integerValue",
        ),
    ],
)
def test_register_refuses_what_it_cannot_model(
    document: str | None, resources: list[dict[str, Any]] | None, message: str
) -> None:
    """A missing or malformed identity document, a zone outside the simulation
    or missing CPU/MEMORY fail with InvalidParameterException; nothing is
    registered."""
    sim = _sim()
    kwargs: dict[str, Any] = {"cluster": "media"}
    if document is not None:
        kwargs["instanceIdentityDocument"] = document
    if resources is not None:
        kwargs["totalResources"] = resources
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException, match=message):
        sim.ecs.register_container_instance(**kwargs)
    assert sim.backend.clusters["media"].container_instances == {}


def test_an_ec2_instance_registers_once_and_reserved_attribute_names_are_refused() -> (
    None
):
    """Registering the same EC2 instance again fails (re-registration goes by
    containerInstanceArn and bumps the version); ecs.* attribute names are ECS's."""
    sim = _sim()
    first = _register(sim.ecs)
    with pytest.raises(ClientError, match="already registered"):
        _register(sim.ecs)
    again = sim.ecs.register_container_instance(
        cluster="media", containerInstanceArn=first["containerInstanceArn"]
    )["containerInstance"]
    assert again["version"] == 2
    with pytest.raises(ClientError, match="reserved"):
        _register(
            sim.ecs,
            ec2_id="i-0000000000000000f",
            attributes=[{"name": "ecs.availability-zone", "value": "us-east-1c"}],
        )


def test_draining_and_back_to_active() -> None:
    """UpdateContainerInstancesState sets DRAINING and ACTIVE, bumps the version,
    reports unknown instances as MISSING and refuses other statuses."""
    sim = _sim()
    arn = _register(sim.ecs)["containerInstanceArn"]
    client = sim.client("ecs")
    drained = client.update_container_instances_state(
        cluster="media", containerInstances=[arn, "nope"], status="DRAINING"
    )
    assert [i["status"] for i in drained["containerInstances"]] == ["DRAINING"]
    assert drained["containerInstances"][0]["version"] == 2
    assert drained["failures"] == [
        {"arn": f"{PREFIX}:container-instance/media/nope", "reason": "MISSING"}
    ]
    instance = next(iter(sim.backend.clusters["media"].container_instances.values()))
    assert not instance.view().active
    back = client.update_container_instances_state(
        cluster="media", containerInstances=[arn], status="ACTIVE"
    )
    assert back["containerInstances"][0]["status"] == "ACTIVE"
    with pytest.raises(
        client.exceptions.InvalidParameterException, match="ACTIVE, DRAINING"
    ):
        client.update_container_instances_state(
            cluster="media", containerInstances=[arn], status="INACTIVE"
        )
    with pytest.raises(ClientError, match=r"1\.\.10"):
        client.update_container_instances_state(
            cluster="media", containerInstances=[arn] * 11, status="ACTIVE"
        )


def test_deregister_needs_force_while_tasks_are_on_the_instance() -> None:
    """An instance with a task on it deregisters only with force; it is then
    INACTIVE, no longer listed, still described, and cannot be drained."""
    sim = _sim()
    sim.ecs.register_task_definition(
        family="w",
        containerDefinitions=[{"name": "app", "image": "x"}],
        cpu="1024",
        memory="2 GB",
    )
    sim.ecs.run_task(cluster="media", taskDefinition="w", launchType="EC2")
    arn = _register(sim.ecs)["containerInstanceArn"]
    cluster = sim.backend.clusters["media"]
    instance = next(iter(cluster.container_instances.values()))
    task = next(iter(cluster.tasks.values()))
    capacity.assign_task(instance, task)
    described = sim.ecs.describe_container_instances(
        cluster="media", containerInstances=[arn]
    )
    remaining = described["containerInstances"][0]["remainingResources"]
    assert [r.get("integerValue") for r in remaining[:2]] == [3072, 5632]
    assert described["containerInstances"][0]["pendingTasksCount"] == 1
    with pytest.raises(ClientError, match="Found running tasks"):
        sim.ecs.deregister_container_instance(cluster="media", containerInstance=arn)
    gone = sim.client("ecs").deregister_container_instance(
        cluster="media", containerInstance=arn, force=True
    )["containerInstance"]
    assert gone["status"] == "INACTIVE"
    assert (
        sim.ecs.list_container_instances(cluster="media")["containerInstanceArns"] == []
    )
    failures = sim.ecs.update_container_instances_state(
        cluster="media", containerInstances=[arn], status="DRAINING"
    )["failures"]
    assert failures == [{"arn": arn, "reason": "INACTIVE"}]
    with pytest.raises(ClientError, match="already deregistered"):
        sim.ecs.deregister_container_instance(cluster="media", containerInstance=arn)


# --- the records behind the API ------------------------------------------------------------


def test_task_resources_read_task_and_container_sizes() -> None:
    """Task-level cpu/memory win, in units or with vCPU/GB; otherwise the
    containers' cpu and memory (or memoryReservation) add up."""
    assert capacity.task_resources({"cpu": "1 vCPU", "memory": "2 GB"}) == Resources(
        1024, 2048
    )
    assert capacity.task_resources({"cpu": "512", "memory": "1024"}) == Resources(
        512, 1024
    )
    assert capacity.task_resources(
        {
            "containerDefinitions": [
                {"cpu": 256, "memory": 512},
                {"cpu": 128, "memoryReservation": 256},
            ]
        }
    ) == Resources(384, 768)
    with pytest.raises(ValueError, match="unknown unit"):
        capacity.task_resources({"cpu": "2 cores"})


def test_assigning_a_task_that_does_not_fit_is_an_invariant_violation() -> None:
    """The control plane refuses to over-commit an instance or use a DRAINING one."""
    sim = _sim()
    sim.ecs.register_task_definition(
        family="big",
        containerDefinitions=[{"name": "app", "image": "x"}],
        cpu="4096",
        memory="4096",
    )
    sim.ecs.run_task(cluster="media", taskDefinition="big", launchType="EC2", count=2)
    _register(sim.ecs)
    cluster = sim.backend.clusters["media"]
    instance = next(iter(cluster.container_instances.values()))
    first, second = cluster.tasks.values()
    capacity.assign_task(instance, first)
    with pytest.raises(InvariantViolation, match="with Resources"):
        capacity.assign_task(instance, second)
    capacity.release_task(first)
    capacity.set_instance_status(sim.backend, instance, "DRAINING")
    with pytest.raises(InvariantViolation, match="DRAINING"):
        capacity.assign_task(instance, second)


def test_tags_only_when_asked_for_and_changes_are_recorded() -> None:
    """Describe calls return tags only with include=["TAGS"] (create returns
    them); registering, draining, deregistering and creating providers are
    recorded as events of the run."""
    sim = _sim()
    tags = [{"key": "team", "value": "media"}]
    created = sim.ecs.create_capacity_provider(
        name="workers",
        autoScalingGroupProvider={"autoScalingGroupArn": ASG.format("workers")},
        tags=tags,
    )["capacityProvider"]
    assert created["tags"] == tags
    plain = sim.ecs.describe_capacity_providers(capacityProviders=["workers"])
    tagged = sim.ecs.describe_capacity_providers(
        capacityProviders=["workers"], include=["TAGS"]
    )
    assert plain["capacityProviders"][0]["tags"] == []
    assert tagged["capacityProviders"][0]["tags"] == tags
    arn = _register(sim.ecs, tags=tags)["containerInstanceArn"]
    described = sim.ecs.describe_container_instances(
        cluster="media", containerInstances=[arn], include=["TAGS"]
    )
    assert described["containerInstances"][0]["tags"] == tags
    sim.ecs.update_container_instances_state(
        cluster="media", containerInstances=[arn], status="DRAINING"
    )
    sim.ecs.deregister_container_instance(cluster="media", containerInstance=arn)
    kinds = [k for k in sim.recorder.kinds if "capacity" in k or "instance" in k]
    assert kinds == [
        "capacity_provider_created",
        "container_instance_registered",
        "container_instance_status_changed",
        "container_instance_deregistered",
    ]


def _conforms(value: Any, shape: Any, path: str) -> list[str]:
    """Where *value* does not fit botocore's *shape* (unknown keys, wrong types)."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__} is not a structure"]
        problems = []
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{path}.{key}: not in {shape.name}")
            else:
                problems += _conforms(item, shape.members[key], f"{path}.{key}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [
            p
            for i, v in enumerate(value)
            for p in _conforms(v, shape.member, f"{path}[{i}]")
        ]
    expected = {
        "string": str,
        "integer": int,
        "long": int,
        "boolean": bool,
        "double": float,
        "timestamp": datetime,
    }[kind]
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return [f"{path}: {value!r} is not {kind}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not one of {shape.enum}"]
    return []


def test_every_response_fits_the_botocore_output_shape() -> None:
    """Each new operation answers only keys its output shape has, with the
    types and enum values the model gives them."""
    from ecssim.aws.errors import service_model

    model = service_model("ecs")
    sim = _sim()
    ecs = sim.ecs
    responses = {
        "CreateCapacityProvider": ecs.create_capacity_provider(
            name="workers",
            autoScalingGroupProvider={
                "autoScalingGroupArn": ASG.format("workers"),
                "managedScaling": {"status": "ENABLED"},
            },
        ),
        "PutClusterCapacityProviders": ecs.put_cluster_capacity_providers(
            cluster="media",
            capacityProviders=["workers"],
            defaultCapacityProviderStrategy=[
                {"capacityProvider": "workers", "weight": 1}
            ],
        ),
        "DescribeCapacityProviders": ecs.describe_capacity_providers(
            capacityProviders=["workers", "FARGATE", "ghost"], include=["TAGS"]
        ),
    }
    arn = _register(ecs)["containerInstanceArn"]
    responses |= {
        "RegisterContainerInstance": ecs.register_container_instance(
            cluster="media", containerInstanceArn=arn
        ),
        "ListContainerInstances": ecs.list_container_instances(
            cluster="media", maxResults=1
        ),
        "DescribeContainerInstances": ecs.describe_container_instances(
            cluster="media", containerInstances=[arn, "ghost"]
        ),
        "UpdateContainerInstancesState": ecs.update_container_instances_state(
            cluster="media", containerInstances=[arn, "ghost"], status="DRAINING"
        ),
        "DeregisterContainerInstance": ecs.deregister_container_instance(
            cluster="media", containerInstance=arn
        ),
    }
    problems = []
    for operation, response in responses.items():
        body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        output = model.operation_model(operation).output_shape
        problems += _conforms(body, output, operation)
    assert problems == []
