"""The boto3-shaped ECS client of the simulated account.

Method names, parameter names, response dictionaries and error codes follow
boto3's ECS client (botocore's ``ecs`` service model). Requests are validated
against that model before anything changes, so a missing or mistyped parameter
raises ``botocore.exceptions.ParamValidationError`` exactly as boto3 does; API
errors raise the exception classes boto3 generates
(``client.exceptions.InvalidParameterException`` ...).

Where AWS is silent the client follows DESIGN §4; each such choice is listed in
the README's Fidelity section.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from ecssim.aws import capacity
from ecssim.aws.errors import BotoShapedClient
from ecssim.aws.state import (
    MAX_STOP_TIMEOUT_S,
    Cluster,
    Deployment,
    EcsBackend,
    Service,
    Task,
    TaskDefinition,
)
from ecssim.aws.throttle import TokenBucket
from ecssim.config import EcsSettings
from ecssim.errors import InvalidTransition
from ecssim.rules import capacity as capacity_rules
from ecssim.rules import deployments, protection
from ecssim.rules.lifecycle import StopCode, TaskStatus
from ecssim.rules.placement import (
    CapacityProviderItem,
    choose_capacity_provider,
    launch_zones,
)

#: Amazon ECS service quotas (service-quotas.html; docs/sources.md): "Tasks
#: per service", "Services per cluster", "Container instances per cluster"
#: (5,000 each) and "Capacity providers per cluster" (20).
MAX_TASKS_PER_SERVICE: Final = 5000
MAX_SERVICES_PER_CLUSTER: Final = 5000
MAX_CONTAINER_INSTANCES_PER_CLUSTER: Final = 5000
MAX_CLUSTER_CAPACITY_PROVIDERS: Final = 20
MAX_UPDATE_PROTECTION_TASKS: Final = 10
MAX_GET_PROTECTION_TASKS: Final = 100
MAX_DESCRIBE_TASKS: Final = 100
MAX_DESCRIBE_SERVICES: Final = 10
MAX_RUN_TASK_COUNT: Final = 10
MAX_DESCRIBE_CONTAINER_INSTANCES: Final = 100
MAX_UPDATE_CONTAINER_INSTANCES: Final = 10
LAUNCH_TYPES: Final = ("EC2", "FARGATE", "EXTERNAL")
CAPACITY_PROVIDERS: Final = ("FARGATE", "FARGATE_SPOT")
SCHEDULING_STRATEGIES: Final = ("REPLICA", "DAEMON")
#: "A capacity provider strategy can contain a maximum of 20 capacity providers"
#: (CreateService, Amazon ECS API Reference).
MAX_STRATEGY_ITEMS: Final = 20
#: the statuses of a task that is stopping or stopped
_STOPPING: Final = (TaskStatus.STOPPING, TaskStatus.STOPPED)
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
#: the ``deploymentConfiguration`` keys of the BLUE_GREEN, LINEAR and CANARY strategies
_STRATEGY_KEYS: Final = (
    "strategy",
    "bakeTimeInMinutes",
    "linearConfiguration",
    "canaryConfiguration",
    "lifecycleHooks",
)

Response = dict[str, Any]


class EcsClient(BotoShapedClient):
    """A boto3-shaped ECS client answered by the simulated control plane.

    Use it exactly like ``boto3.client("ecs")``: keyword arguments only, and a
    response dictionary back (``ResponseMetadata`` included).
    """

    SERVICE = "ecs"

    def __init__(
        self,
        backend: EcsBackend,
        settings: EcsSettings,
        *,
        epoch: datetime,
        request_id: Callable[[], str],
    ) -> None:
        self._backend = backend
        self._settings = settings
        super().__init__(epoch=epoch, request_id=request_id)
        self._throttle = TokenBucket(
            settings.protection_api_rate_per_s, settings.protection_api_burst
        )

    # ---- plumbing -------------------------------------------------------
    def _cluster(self, operation: str, ref: str | None) -> Cluster:
        cluster = self._backend.find_cluster(ref)
        if cluster is None:
            raise self._fail(
                operation, "ClusterNotFoundException", "Cluster not found."
            )
        return cluster

    def _service(self, operation: str, cluster: Cluster, ref: str) -> Service:
        service = self._backend.find_service(cluster, ref)
        if service is None:
            raise self._fail(
                operation, "ServiceNotFoundException", "Service not found."
            )
        if service.status != "ACTIVE":
            raise self._fail(
                operation, "ServiceNotActiveException", "Service was not ACTIVE."
            )
        return service

    def _task_definition(self, operation: str, ref: str) -> TaskDefinition:
        td = self._backend.find_task_definition(ref)
        if td is None:
            raise self._fail(
                operation,
                "ClientException",
                f"Unable to describe task definition {ref}.",
            )
        return td

    def _launch_options(
        self, operation: str, params: dict[str, Any], cluster: Cluster | None = None
    ) -> tuple[str, tuple[CapacityProviderItem, ...]]:
        """The launch type and capacity provider strategy of a request.

        With neither a launch type nor a strategy, the cluster's default
        capacity provider strategy applies (PutClusterCapacityProviders), and
        launch type EC2 when it has none. A strategy of Auto Scaling group
        providers runs tasks with launch type EC2 on their instances.
        """
        launch_type = params.get("launchType")
        raw_strategy = params.get("capacityProviderStrategy")
        if launch_type is not None and raw_strategy:
            raise self._fail(
                operation,
                "InvalidParameterException",
                "Specifying both a launch type and capacity provider strategy is "
                "not supported. Remove one and try again.",
            )
        if launch_type is not None and launch_type not in LAUNCH_TYPES:
            raise self._fail(
                operation,
                "InvalidParameterException",
                f"launchType should be one of [{', '.join(LAUNCH_TYPES)}], "
                f"got {launch_type!r}.",
            )
        if not raw_strategy and launch_type is None and cluster is not None:
            raw_strategy = cluster.default_capacity_provider_strategy
        if not raw_strategy:
            return launch_type or "EC2", ()
        items = self._strategy(operation, raw_strategy, cluster)
        if any(i.capacity_provider not in CAPACITY_PROVIDERS for i in items):
            return "EC2", items
        return "FARGATE", items

    def _strategy(
        self,
        operation: str,
        raw_strategy: list[dict[str, Any]],
        cluster: Cluster | None = None,
    ) -> tuple[CapacityProviderItem, ...]:
        """The items of a ``capacityProviderStrategy``, checked as ECS does.

        FARGATE and FARGATE_SPOT are always accepted; an Auto Scaling group
        provider only when it is associated with *cluster*; the two kinds do
        not mix.

        Raises:
            ClientError: ``InvalidParameterException`` for more than 20 items, a
                provider listed twice or not associated, Fargate and Auto
                Scaling group providers mixed, base or weight out of range,
                more than one base, or no weight above zero.
        """
        if len(raw_strategy) > MAX_STRATEGY_ITEMS:
            raise self._fail(
                operation,
                "InvalidParameterException",
                f"A capacity provider strategy can contain at most "
                f"{MAX_STRATEGY_ITEMS} capacity providers; got {len(raw_strategy)}.",
            )
        items: list[CapacityProviderItem] = []
        for item in raw_strategy:
            name = item["capacityProvider"]
            if any(other.capacity_provider == name for other in items):
                raise self._fail(
                    operation,
                    "InvalidParameterException",
                    f"The capacity provider {name!r} is listed more than once in "
                    "the capacity provider strategy.",
                )
            associated = cluster is not None and name in (
                cluster.capacity_providers or ()
            )
            if name not in CAPACITY_PROVIDERS and not (
                associated and name in self._backend.capacity_providers
            ):
                raise self._fail(
                    operation,
                    "InvalidParameterException",
                    f"The capacity provider {name!r} is not associated with the "
                    "cluster; use FARGATE, FARGATE_SPOT or an Auto Scaling group "
                    "capacity provider set with PutClusterCapacityProviders.",
                )
            base, weight = item.get("base", 0), item.get("weight", 0)
            if isinstance(base, bool) or isinstance(weight, bool):
                raise self._fail(
                    operation,
                    "InvalidParameterException",
                    f"capacityProviderStrategy {name}: base and weight are integers, "
                    f"not {base!r} and {weight!r}.",
                )
            if not 0 <= base <= 100_000 or not 0 <= weight <= 1000:
                raise self._fail(
                    operation,
                    "InvalidParameterException",
                    f"capacityProviderStrategy {name}: base must be 0..100000 and "
                    "weight 0..1000.",
                )
            items.append(CapacityProviderItem(name, base, weight))
        if sum(1 for i in items if i.base > 0) > 1:
            raise self._fail(
                operation,
                "InvalidParameterException",
                "Only one capacity provider in a strategy can have a base.",
            )
        fargate = [i for i in items if i.capacity_provider in CAPACITY_PROVIDERS]
        if fargate and len(fargate) != len(items):
            raise self._fail(
                operation,
                "InvalidParameterException",
                "A capacity provider strategy can contain either Fargate or Auto "
                "Scaling group capacity providers, but not both.",
            )
        if all(i.weight == 0 for i in items):
            raise self._fail(
                operation,
                "InvalidParameterException",
                "At least one capacity provider in a strategy must have a weight "
                "greater than zero.",
            )
        return tuple(items)

    @staticmethod
    def _strategy_key(item: dict[str, Any]) -> tuple[str, int, int]:
        return item["capacityProvider"], item.get("base", 0), item.get("weight", 0)

    # ---- response shapes -------------------------------------------------
    def _cluster_json(self, cluster: Cluster) -> Response:
        tasks = list(cluster.tasks.values())
        return {
            "clusterArn": cluster.arn,
            "clusterName": cluster.name,
            "status": cluster.status,
            "registeredContainerInstancesCount": sum(
                1
                for i in cluster.container_instances.values()
                if i.status != "INACTIVE"
            ),
            "runningTasksCount": sum(
                1 for t in tasks if t.last_status is TaskStatus.RUNNING
            ),
            "pendingTasksCount": sum(
                1
                for t in tasks
                if t.last_status in (TaskStatus.PROVISIONING, TaskStatus.PENDING)
            ),
            "activeServicesCount": sum(
                1 for s in cluster.services.values() if s.status == "ACTIVE"
            ),
            "statistics": [],
            "tags": [],
            "settings": [{"name": "containerInsights", "value": "disabled"}],
            "capacityProviders": list(
                CAPACITY_PROVIDERS
                if cluster.capacity_providers is None
                else cluster.capacity_providers
            ),
            "defaultCapacityProviderStrategy": copy.deepcopy(
                cluster.default_capacity_provider_strategy
            ),
        }

    def _task_definition_json(self, td: TaskDefinition) -> Response:
        body = copy.deepcopy(td.description)
        compat = list(body.get("requiresCompatibilities", ["EC2"]))
        body.update(
            {
                "taskDefinitionArn": td.arn,
                "family": td.family,
                "revision": td.revision,
                "status": td.status,
                "registeredAt": self._dt(td.registered_at),
                "compatibilities": compat,
                "requiresAttributes": [],
            }
        )
        return body

    def _deployment_json(self, service: Service, d: Deployment) -> Response:
        tasks = [t for t in service.tasks.values() if t.deployment is d]
        return {
            "id": d.id,
            "status": d.status,
            "taskDefinition": d.task_definition.arn,
            "desiredCount": d.desired_count
            if d.status == "PRIMARY" or d.replacement_target is None
            else d.replacement_target,
            "pendingCount": sum(
                1
                for t in tasks
                if t.last_status in (TaskStatus.PROVISIONING, TaskStatus.PENDING)
            ),
            "runningCount": sum(
                1 for t in tasks if t.last_status is TaskStatus.RUNNING
            ),
            "failedTasks": d.failed_tasks,
            "createdAt": self._dt(d.created_at),
            "updatedAt": self._dt(d.updated_at),
            "launchType": d.launch_type,
            "rolloutState": d.rollout_state,
            "rolloutStateReason": d.rollout_state_reason,
        }

    def _service_json(self, service: Service) -> Response:
        body: Response = {
            "serviceArn": service.arn,
            "serviceName": service.name,
            "clusterArn": service.cluster.arn,
            "loadBalancers": [],
            "serviceRegistries": [],
            "status": service.status,
            "desiredCount": service.desired_count,
            "runningCount": service.running_count,
            "pendingCount": service.pending_count,
            "launchType": service.launch_type,
            "taskDefinition": service.primary.task_definition.arn,
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {
                    "enable": service.circuit_breaker_enable,
                    "rollback": service.circuit_breaker_rollback,
                },
                "maximumPercent": service.maximum_percent,
                "minimumHealthyPercent": service.minimum_healthy_percent,
                **self._strategy_json(service),
            },
            "deployments": [
                self._deployment_json(service, d)
                for d in service.deployments
                if d.status != "INACTIVE"
            ],
            "events": [
                {"id": e.id, "createdAt": self._dt(e.created_at), "message": e.message}
                for e in reversed(service.events)
            ],
            "createdAt": self._dt(service.created_at),
            "placementConstraints": copy.deepcopy(
                service.request.get("placementConstraints") or []
            ),
            "placementStrategy": copy.deepcopy(
                service.request.get("placementStrategy") or []
            ),
            "schedulingStrategy": service.scheduling_strategy,
            "deploymentController": {"type": "ECS"},
            "enableECSManagedTags": False,
            "propagateTags": "NONE",
            "enableExecuteCommand": False,
        }
        strategy = service.request.get("capacityProviderStrategy")
        if strategy:
            body["capacityProviderStrategy"] = copy.deepcopy(strategy)
            del body["launchType"]
        return body

    def _task_json(self, task: Task) -> Response:
        td = task.task_definition
        containers = [
            {
                "containerArn": self._backend.arn(
                    f"container/{task.cluster.name}/{task.task_id}/{c.get('name', 'app')}"
                ),
                "taskArn": task.arn,
                "name": c.get("name", "app"),
                "image": c.get("image", ""),
                "lastStatus": task.last_status.value
                if task.last_status is not TaskStatus.PROVISIONING
                else "PENDING",
                "networkInterfaces": [],
                "healthStatus": "UNKNOWN",
                **({"exitCode": task.exit_code} if task.exit_code is not None else {}),
            }
            for c in td.description.get("containerDefinitions", [])
        ]
        body: Response = {
            "attachments": [],
            "attributes": [],
            "availabilityZone": task.availability_zone,
            "clusterArn": task.cluster.arn,
            "containers": containers,
            "createdAt": self._dt(task.created_at),
            "desiredStatus": task.desired_status,
            "enableExecuteCommand": False,
            "group": task.group,
            "healthStatus": "UNKNOWN",
            "lastStatus": task.last_status.value,
            "launchType": task.launch_type,
            "overrides": {
                "containerOverrides": [],
                "inferenceAcceleratorOverrides": [],
            },
            "taskArn": task.arn,
            "taskDefinitionArn": td.arn,
            "version": 1,
        }
        for key in ("cpu", "memory"):
            if key in td.description:
                body[key] = td.description[key]
        if task.started_by is not None:
            body["startedBy"] = task.started_by
        if task.capacity_provider is not None:
            body["capacityProviderName"] = task.capacity_provider
        if task.container_instance is not None:
            body["containerInstanceArn"] = task.container_instance.arn
        if not task.availability_zone:
            del body["availabilityZone"]  # waiting for an instance: no zone yet
        if task.launch_type == "FARGATE":
            body["platformVersion"] = "1.4.0"
            body["platformFamily"] = "Linux"
        timestamps = {
            "pullStartedAt": task.pull_started_at,
            "pullStoppedAt": task.pull_stopped_at,
            "startedAt": task.started_at,
            "stoppingAt": task.stopping_at,
            "executionStoppedAt": task.execution_stopped_at,
            "stoppedAt": task.stopped_at,
        }
        body.update({k: self._dt(v) for k, v in timestamps.items() if v is not None})
        if task.stop_code is not None:
            body["stopCode"] = task.stop_code.value
        if task.stopped_reason is not None:
            body["stoppedReason"] = task.stopped_reason
        return body

    # ---- clusters ---------------------------------------------------------
    def create_cluster(self, **kwargs: Any) -> Response:
        """Create a cluster (idempotent, like ECS). ``clusterName`` defaults to ``default``."""
        self._begin("CreateCluster", kwargs)
        name = kwargs.get("clusterName", "default")
        if not _NAME_RE.match(name):
            raise self._fail(
                "CreateCluster",
                "InvalidParameterException",
                "Cluster name can only contain letters, numbers, hyphens and "
                f"underscores, up to 255 characters; got {name!r}.",
            )
        cluster = self._backend.create_cluster(name)
        return self._ok({"cluster": self._cluster_json(cluster)})

    def describe_clusters(self, **kwargs: Any) -> Response:
        """Describe clusters; unknown ones come back as ``MISSING`` failures."""
        self._begin("DescribeClusters", kwargs)
        found, failures = [], []
        for ref in kwargs.get("clusters") or ["default"]:
            cluster = self._backend.find_cluster(ref)
            if cluster is None:
                arn = (
                    ref
                    if ref.startswith("arn:")
                    else self._backend.arn(f"cluster/{ref}")
                )
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(self._cluster_json(cluster))
        return self._ok({"clusters": found, "failures": failures})

    def list_clusters(self, **kwargs: Any) -> Response:
        """The ARNs of every active cluster."""
        self._begin("ListClusters", kwargs)
        arns = [c.arn for c in self._backend.clusters.values() if c.status == "ACTIVE"]
        return self._ok({"clusterArns": arns})

    # ---- task definitions ---------------------------------------------------
    def register_task_definition(self, **kwargs: Any) -> Response:
        """Register the next revision of a family (revisions count up from 1)."""
        op = "RegisterTaskDefinition"
        self._begin(op, kwargs)
        family = kwargs["family"]
        if not _NAME_RE.match(family):
            raise self._fail(
                op,
                "ClientException",
                "Family contains invalid characters; use letters, numbers, hyphens "
                f"and underscores, up to 255 characters; got {family!r}.",
            )
        containers = kwargs["containerDefinitions"]
        if not containers:
            raise self._fail(op, "ClientException", "Container list cannot be empty.")
        for i, container in enumerate(containers):
            timeout = container.get("stopTimeout")
            if timeout is not None and not 0 <= timeout <= MAX_STOP_TIMEOUT_S:
                raise self._fail(
                    op,
                    "ClientException",
                    f"containerDefinitions[{i}].stopTimeout {timeout} is outside "
                    f"0..{int(MAX_STOP_TIMEOUT_S)} seconds.",
                )
        td = self._backend.register_task_definition(family, copy.deepcopy(kwargs))
        return self._ok({"taskDefinition": self._task_definition_json(td), "tags": []})

    def describe_task_definition(self, **kwargs: Any) -> Response:
        """Describe a task definition by family, ``family:revision`` or ARN."""
        self._begin("DescribeTaskDefinition", kwargs)
        td = self._task_definition("DescribeTaskDefinition", kwargs["taskDefinition"])
        return self._ok({"taskDefinition": self._task_definition_json(td), "tags": []})

    def list_task_definitions(self, **kwargs: Any) -> Response:
        """Task definition ARNs, oldest first, optionally of one family."""
        self._begin("ListTaskDefinitions", kwargs)
        prefix = kwargs.get("familyPrefix")
        arns = [
            td.arn
            for family, revisions in sorted(self._backend.task_definitions.items())
            if prefix is None or family == prefix
            for td in revisions
        ]
        if kwargs.get("sort") == "DESC":
            arns.reverse()
        return self._ok({"taskDefinitionArns": arns})

    # ---- services -------------------------------------------------------------
    def _deployment_configuration(
        self, op: str, raw: dict[str, Any], current: tuple[int, int, bool, bool]
    ) -> tuple[int, int, bool, bool]:
        min_pct = raw.get("minimumHealthyPercent", current[0])
        max_pct = raw.get("maximumPercent", current[1])
        breaker = raw.get("deploymentCircuitBreaker", {})
        enable = breaker.get("enable", current[2])
        rollback = breaker.get("rollback", current[3])
        if not 0 <= min_pct <= 100:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"deploymentConfiguration.minimumHealthyPercent {min_pct} is "
                "outside 0..100.",
            )
        if max_pct < 100:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"deploymentConfiguration.maximumPercent {max_pct} must be at "
                "least 100 for a REPLICA service.",
            )
        unsupported = set(raw) - {
            "minimumHealthyPercent",
            "maximumPercent",
            "deploymentCircuitBreaker",
            *_STRATEGY_KEYS,
        }
        if unsupported:
            raise self._fail(
                op,
                "InvalidParameterException",
                "ecssim does not model "
                f"deploymentConfiguration.{sorted(unsupported)[0]}.",
            )
        return min_pct, max_pct, enable, rollback

    def _strategy_configuration(
        self,
        op: str,
        raw: dict[str, Any],
        current: deployments.DeploymentStrategy,
        current_hooks: list[dict[str, Any]],
    ) -> tuple[deployments.DeploymentStrategy, list[dict[str, Any]]]:
        """The strategy, bake times and lifecycle hooks of a request, merged over
        the service's *current* ones (UpdateService changes only what it names)."""

        def bad(message: str) -> ClientError:
            return self._fail(op, "InvalidParameterException", message)

        def minutes(value: Any, name: str) -> int:
            if not 0 <= value <= deployments.MAX_BAKE_TIME_MINUTES:
                raise bad(
                    f"{name} {value} is outside 0..{deployments.MAX_BAKE_TIME_MINUTES}."
                )
            return int(value)

        def percent(value: Any, name: str, low: float) -> float:
            if not low - 1e-9 <= value <= 100 or not deployments.is_multiple_of_tenth(
                value
            ):
                raise bad(
                    f"{name} {value} must be a multiple of 0.1 from {low:g} to 100."
                )
            return round(float(value), 1)

        name = raw.get("strategy", current.strategy)
        if name not in deployments.STRATEGIES:
            raise bad(
                f"deploymentConfiguration.strategy {name!r} is not one of "
                f"{', '.join(deployments.STRATEGIES)}."
            )
        changed = name != current.strategy
        bake = raw.get("bakeTimeInMinutes", current.bake_time_minutes)
        if bake is not None:
            bake = minutes(bake, "deploymentConfiguration.bakeTimeInMinutes")
        if name == "BLUE_GREEN" and bake is None:
            raise bad(
                "deploymentConfiguration.bakeTimeInMinutes is required for the "
                "BLUE_GREEN deployment strategy."
            )
        linear = raw.get("linearConfiguration")
        if linear is not None and name != "LINEAR":
            raise bad(
                "deploymentConfiguration.linearConfiguration is only valid with "
                "the LINEAR deployment strategy."
            )
        canary = raw.get("canaryConfiguration")
        if canary is not None and name != "CANARY":
            raise bad(
                "deploymentConfiguration.canaryConfiguration is only valid with "
                "the CANARY deployment strategy."
            )
        keep = current if not changed else deployments.DeploymentStrategy()
        step = keep.linear_step_percent
        step_bake = keep.linear_step_bake_minutes
        if linear is not None:
            step = percent(
                linear.get("stepPercent", deployments.LINEAR_STEP_PERCENT_DEFAULT),
                "linearConfiguration.stepPercent",
                deployments.LINEAR_STEP_PERCENT_MIN,
            )
            step_bake = minutes(
                linear.get(
                    "stepBakeTimeInMinutes",
                    deployments.LINEAR_STEP_BAKE_MINUTES_DEFAULT,
                ),
                "linearConfiguration.stepBakeTimeInMinutes",
            )
        canary_pct = keep.canary_percent
        canary_bake = keep.canary_bake_minutes
        if canary is not None:
            canary_pct = percent(
                canary.get("canaryPercent", deployments.CANARY_PERCENT_DEFAULT),
                "canaryConfiguration.canaryPercent",
                deployments.CANARY_PERCENT_MIN,
            )
            canary_bake = minutes(
                canary.get(
                    "canaryBakeTimeInMinutes", deployments.CANARY_BAKE_MINUTES_DEFAULT
                ),
                "canaryConfiguration.canaryBakeTimeInMinutes",
            )
        raw_hooks = raw.get("lifecycleHooks")
        hooks_json = current_hooks if raw_hooks is None else copy.deepcopy(raw_hooks)
        hooks = []
        for i, hook in enumerate(hooks_json):
            where = f"deploymentConfiguration.lifecycleHooks[{i}]"
            target = hook.get("targetType", "AWS_LAMBDA")
            if target not in ("AWS_LAMBDA", "PAUSE"):
                raise bad(f"{where}.targetType {target!r} is not AWS_LAMBDA or PAUSE.")
            stages = tuple(hook.get("lifecycleStages", ()))
            if not stages:
                raise bad(f"{where}.lifecycleStages is required.")
            for stage in stages:
                if stage not in deployments.HOOK_STAGES:
                    raise bad(
                        f"{where}.lifecycleStages: {stage!r} is not one of "
                        f"{', '.join(deployments.HOOK_STAGES)}."
                    )
            if target == "AWS_LAMBDA" and not hook.get("hookTargetArn"):
                raise bad(f"{where}.hookTargetArn is required for an AWS_LAMBDA hook.")
            timeout = hook.get("timeoutConfiguration", {})
            action = timeout.get("action", "ROLLBACK")
            if action not in ("ROLLBACK", "CONTINUE"):
                raise bad(
                    f"{where}.timeoutConfiguration.action {action!r} is not "
                    "ROLLBACK or CONTINUE."
                )
            hooks.append(
                deployments.LifecycleHook(
                    stages=stages,
                    target_type=target,
                    timeout_minutes=int(
                        timeout.get(
                            "timeoutInMinutes",
                            deployments.HOOK_TIMEOUT_MINUTES_DEFAULT,
                        )
                    ),
                    timeout_action=action,
                )
            )
        strategy = deployments.DeploymentStrategy(
            strategy=name,
            bake_time_minutes=bake,
            linear_step_percent=step,
            linear_step_bake_minutes=step_bake,
            canary_percent=canary_pct,
            canary_bake_minutes=canary_bake,
            hooks=tuple(hooks),
        )
        return strategy, hooks_json

    def _strategy_json(self, service: Service) -> Response:
        """The strategy part of ``deploymentConfiguration`` as DescribeServices
        returns it."""
        strategy = service.strategy
        body: Response = {"strategy": strategy.strategy}
        if strategy.bake_time_minutes is not None:
            body["bakeTimeInMinutes"] = strategy.bake_time_minutes
        if strategy.strategy == "LINEAR":
            body["linearConfiguration"] = {
                "stepPercent": strategy.linear_step_percent,
                "stepBakeTimeInMinutes": strategy.linear_step_bake_minutes,
            }
        if strategy.strategy == "CANARY":
            body["canaryConfiguration"] = {
                "canaryPercent": strategy.canary_percent,
                "canaryBakeTimeInMinutes": strategy.canary_bake_minutes,
            }
        if service.lifecycle_hooks:
            body["lifecycleHooks"] = copy.deepcopy(service.lifecycle_hooks)
        return body

    def create_service(self, **kwargs: Any) -> Response:
        """Create a REPLICA service with the rolling-update deployment controller."""
        op = "CreateService"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        name = kwargs["serviceName"]
        if not _NAME_RE.match(name):
            raise self._fail(
                op,
                "InvalidParameterException",
                "Service name can only contain letters, numbers, hyphens and "
                f"underscores, up to 255 characters; got {name!r}.",
            )
        existing = cluster.services.get(name)
        if existing is not None and existing.status != "INACTIVE":
            raise self._fail(
                op,
                "InvalidParameterException",
                "Creation of service was not idempotent.",
            )
        live = sum(1 for s in cluster.services.values() if s.status != "INACTIVE")
        if live >= MAX_SERVICES_PER_CLUSTER:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"Cluster {cluster.name} already has {live} services, the limit of "
                f"{MAX_SERVICES_PER_CLUSTER} services per cluster.",
            )
        if "taskDefinition" not in kwargs:
            raise self._fail(
                op,
                "InvalidParameterException",
                "taskDefinition is required for the ECS deployment controller.",
            )
        td = self._backend.find_task_definition(kwargs["taskDefinition"])
        if td is None:
            raise self._fail(
                op, "InvalidParameterException", "TaskDefinition not found."
            )
        scheduling = kwargs.get("schedulingStrategy", "REPLICA")
        if scheduling not in SCHEDULING_STRATEGIES:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"schedulingStrategy should be one of [REPLICA, DAEMON], got "
                f"{scheduling!r}.",
            )
        daemon = scheduling == "DAEMON"
        controller = kwargs.get("deploymentController", {}).get("type", "ECS")
        if controller != "ECS":
            raise self._fail(
                op,
                "InvalidParameterException",
                f"ecssim models the ECS deployment controller only; {controller!r} "
                "is not supported.",
            )
        desired = kwargs.get("desiredCount")
        if daemon:
            desired = 0  # the scheduler keeps it at the number of instances
        elif desired is None:
            raise self._fail(
                op,
                "InvalidParameterException",
                "desiredCount is required for a REPLICA service.",
            )
        self._check_desired_count(op, desired)
        launch_type, items = self._launch_options(op, kwargs, cluster)
        strategies, constraints = self._placement(op, kwargs, launch_type, daemon)
        if daemon and (launch_type == "FARGATE" or items):
            raise self._fail(
                op,
                "InvalidParameterException",
                "The DAEMON scheduling strategy does not support Fargate or a "
                "capacity provider strategy; use launch type EC2.",
            )
        min_pct, max_pct, enable, rollback = self._deployment_configuration(
            op,
            kwargs.get("deploymentConfiguration", {}),
            (0, 100, False, False) if daemon else (100, 200, False, False),
        )
        strategy, hooks = self._strategy_configuration(
            op,
            kwargs.get("deploymentConfiguration", {}),
            deployments.DeploymentStrategy(),
            [],
        )
        service = Service(
            name=name,
            arn=self._backend.arn(f"service/{cluster.name}/{name}"),
            cluster=cluster,
            desired_count=desired,
            launch_type=launch_type,
            minimum_healthy_percent=min_pct,
            maximum_percent=max_pct,
            circuit_breaker_enable=enable,
            circuit_breaker_rollback=rollback,
            availability_zones=self._backend.availability_zones,
            created_at=self._backend.clock(),
            request=copy.deepcopy(kwargs),
            strategy=strategy,
            lifecycle_hooks=hooks,
            scheduling_strategy=scheduling,
            placement_strategies=strategies,
            placement_constraints=constraints,
        )
        if items and not kwargs.get("capacityProviderStrategy"):
            # the cluster's default strategy applies, and DescribeServices shows it
            service.request["capacityProviderStrategy"] = copy.deepcopy(
                cluster.default_capacity_provider_strategy
            )
        cluster.services[name] = service
        self._backend.new_deployment(service, td)
        self._backend.record("service_created", service=name, desired_count=desired)
        self._backend.listener.service_changed(service)
        return self._ok({"service": self._service_json(service)})

    def _placement(
        self, op: str, params: dict[str, Any], launch_type: str, daemon: bool = False
    ) -> tuple[
        tuple[capacity_rules.PlacementStrategy, ...],
        tuple[capacity_rules.PlacementConstraint, ...],
    ]:
        """``placementStrategy`` and ``placementConstraints``, checked: at most 5
        and 10, the modelled types and fields, none on Fargate, no strategy for
        a DAEMON service."""
        raw_strategies = params.get("placementStrategy") or []
        raw_constraints = params.get("placementConstraints") or []
        if launch_type == "FARGATE" and (raw_strategies or raw_constraints):
            raise self._fail(
                op,
                "InvalidParameterException",
                "Task placement strategies and constraints are not supported for "
                "tasks on Fargate.",
            )
        if daemon and raw_strategies:
            raise self._fail(
                op,
                "InvalidParameterException",
                "Placement strategies are not supported with the DAEMON scheduling "
                "strategy.",
            )
        try:
            return (
                capacity_rules.parse_strategies(raw_strategies),
                capacity_rules.parse_constraints(raw_constraints),
            )
        except capacity_rules.InvalidCapacityRule as exc:
            raise self._fail(op, "InvalidParameterException", f"{exc}.") from None

    def update_service(self, **kwargs: Any) -> Response:
        """Change the desired count, or start a deployment (new task definition or
        ``forceNewDeployment``)."""
        op = "UpdateService"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        service = self._service(op, cluster, kwargs["service"])
        td = None
        if "taskDefinition" in kwargs:
            td = self._backend.find_task_definition(kwargs["taskDefinition"])
            if td is None:
                raise self._fail(
                    op, "InvalidParameterException", "TaskDefinition not found."
                )
        desired = kwargs.get("desiredCount")
        if desired is not None:
            self._check_desired_count(op, desired)
        if desired is not None and service.scheduling_strategy == "DAEMON":
            raise self._fail(
                op,
                "InvalidParameterException",
                "A DAEMON service has no desired count of its own: it runs one "
                "task on each container instance.",
            )
        raw_strategy = kwargs.get("capacityProviderStrategy")
        if raw_strategy:
            self._strategy(op, raw_strategy, cluster)
            current = service.request.get("capacityProviderStrategy") or []
            if [self._strategy_key(i) for i in raw_strategy] != [
                self._strategy_key(i) for i in current
            ]:
                raise self._fail(
                    op,
                    "InvalidParameterException",
                    "ecssim does not model changing a service's capacity provider "
                    "strategy; create the service with the strategy it needs.",
                )
        placement: dict[str, Any] = {
            k: kwargs[k]
            for k in ("placementStrategy", "placementConstraints")
            if k in kwargs
        }
        parsed = None
        if placement:
            merged: dict[str, Any] = {
                "placementStrategy": service.request.get("placementStrategy") or [],
                "placementConstraints": service.request.get("placementConstraints")
                or [],
                **placement,
            }
            parsed = self._placement(
                op, merged, service.launch_type, service.scheduling_strategy == "DAEMON"
            )
        config = self._deployment_configuration(
            op,
            kwargs.get("deploymentConfiguration", {}),
            (
                service.minimum_healthy_percent,
                service.maximum_percent,
                service.circuit_breaker_enable,
                service.circuit_breaker_rollback,
            ),
        )
        strategy, hooks = self._strategy_configuration(
            op,
            kwargs.get("deploymentConfiguration", {}),
            service.strategy,
            service.lifecycle_hooks,
        )
        (
            service.minimum_healthy_percent,
            service.maximum_percent,
            service.circuit_breaker_enable,
            service.circuit_breaker_rollback,
        ) = config
        service.strategy, service.lifecycle_hooks = strategy, hooks
        if parsed is not None:
            service.placement_strategies, service.placement_constraints = parsed
            service.request.update(copy.deepcopy(placement))
        if desired is not None and desired != service.desired_count:
            self._backend.set_desired_count(service, desired, "UpdateService")
        new_td = td is not None and td is not service.primary.task_definition
        if new_td or kwargs.get("forceNewDeployment", False):
            self._backend.new_deployment(service, td or service.primary.task_definition)
        self._backend.listener.service_changed(service)
        return self._ok({"service": self._service_json(service)})

    def describe_services(self, **kwargs: Any) -> Response:
        """Describe up to 10 services; events newest first (100 at most)."""
        op = "DescribeServices"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        refs = kwargs["services"]
        if not 1 <= len(refs) <= MAX_DESCRIBE_SERVICES:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"services can have 1..{MAX_DESCRIBE_SERVICES} entries; got {len(refs)}.",
            )
        found, failures = [], []
        for ref in refs:
            service = self._backend.find_service(cluster, ref)
            if service is None:
                arn = (
                    ref
                    if ref.startswith("arn:")
                    else self._backend.arn(f"service/{cluster.name}/{ref}")
                )
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(self._service_json(service))
        return self._ok({"services": found, "failures": failures})

    def list_services(self, **kwargs: Any) -> Response:
        """The ARNs of a cluster's active services."""
        op = "ListServices"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        arns = [s.arn for s in cluster.services.values() if s.status == "ACTIVE"]
        return self._ok({"serviceArns": arns})

    # ---- tasks -----------------------------------------------------------------
    def run_task(self, **kwargs: Any) -> Response:
        """Start standalone tasks (1..10); they are not part of any service."""
        op = "RunTask"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        td = self._backend.find_task_definition(kwargs["taskDefinition"])
        if td is None:
            raise self._fail(
                op, "InvalidParameterException", "TaskDefinition not found."
            )
        count = kwargs.get("count", 1)
        if not 1 <= count <= MAX_RUN_TASK_COUNT:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"count {count} is outside 1..{MAX_RUN_TASK_COUNT}.",
            )
        launch_type, strategy = self._launch_options(op, kwargs, cluster)
        strategies, constraints = self._placement(op, kwargs, launch_type)
        standalone = [
            t.availability_zone
            for t in cluster.tasks.values()
            if t.service is None and t.is_live
        ]
        zones = launch_zones(standalone, self._backend.availability_zones, count)
        providers: dict[str, int] = {}
        tasks = []
        for zone in zones:
            provider = None
            if strategy:
                provider = choose_capacity_provider(strategy, providers)
                providers[provider] = providers.get(provider, 0) + 1
            task = self._backend.launch_task(
                cluster,
                td,
                availability_zone=zone,
                launch_type=launch_type,
                group=kwargs.get("group", f"family:{td.family}"),
                started_by=kwargs.get("startedBy"),
                capacity_provider=provider,
                placement_strategies=strategies,
                placement_constraints=constraints,
            )
            tasks.append(self._task_json(task))
        return self._ok({"tasks": tasks, "failures": []})

    def stop_task(self, **kwargs: Any) -> Response:
        """Stop a task now, protected or not (stop code ``UserInitiated``)."""
        op = "StopTask"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        task = self._backend.find_task(cluster, kwargs["task"])
        if task is None:
            raise self._fail(
                op, "InvalidParameterException", "The referenced task was not found."
            )
        self._backend.request_stop(
            task,
            StopCode.USER_INITIATED,
            kwargs.get("reason", "Task stopped by user"),
        )
        return self._ok({"task": self._task_json(task)})

    def list_tasks(self, **kwargs: Any) -> Response:
        """Task ARNs of a cluster, filtered as ListTasks filters them."""
        op = "ListTasks"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        service_name = kwargs.get("serviceName")
        service = None
        if service_name is not None:
            service = self._backend.find_service(cluster, service_name)
            if service is None:
                raise self._fail(op, "ServiceNotFoundException", "Service not found.")
        desired = kwargs.get("desiredStatus", "RUNNING")
        if desired not in ("RUNNING", "PENDING", "STOPPED"):
            raise self._fail(
                op,
                "InvalidParameterException",
                f"desiredStatus should be one of RUNNING, PENDING, STOPPED; got {desired!r}.",
            )
        family = kwargs.get("family")
        started_by = kwargs.get("startedBy")
        launch_type = kwargs.get("launchType")
        arns = []
        self._backend.forget_stopped_tasks()
        for task in cluster.tasks.values():
            if service is not None and task.service is not service:
                continue
            if desired == "PENDING":
                if task.desired_status != "RUNNING" or task.last_status not in (
                    TaskStatus.PROVISIONING,
                    TaskStatus.PENDING,
                ):
                    continue
            elif task.desired_status != desired:
                continue
            if family is not None and task.task_definition.family != family:
                continue
            if started_by is not None and task.started_by != started_by:
                continue
            if launch_type is not None and task.launch_type != launch_type:
                continue
            arns.append(task.arn)
        token = kwargs.get("nextToken") or "0"
        if not (token.isascii() and token.isdigit()):
            raise self._fail(
                op, "InvalidParameterException", f"Invalid nextToken {token!r}."
            )
        start = int(token)
        size = kwargs.get("maxResults", 100)
        if not 1 <= size <= 100:
            raise self._fail(
                op, "InvalidParameterException", f"maxResults {size} is outside 1..100."
            )
        page = arns[start : start + size]
        body: Response = {"taskArns": page}
        if start + size < len(arns):
            body["nextToken"] = str(start + size)
        return self._ok(body)

    def describe_tasks(self, **kwargs: Any) -> Response:
        """Describe up to 100 tasks; unknown ones come back as ``MISSING`` failures."""
        op = "DescribeTasks"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        refs = kwargs["tasks"]
        if not 1 <= len(refs) <= MAX_DESCRIBE_TASKS:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"tasks can have 1..{MAX_DESCRIBE_TASKS} entries; got {len(refs)}.",
            )
        found, failures = [], []
        for ref in refs:
            task = self._backend.find_task(cluster, ref)
            if task is None:
                failures.append(
                    {"arn": self._backend.task_arn(cluster, ref), "reason": "MISSING"}
                )
            else:
                found.append(self._task_json(task))
        return self._ok({"tasks": found, "failures": failures})

    # ---- task scale-in protection -------------------------------------------------
    def _protection_json(self, task: Task, now: float) -> Response:
        state = (
            task.protection.current(now)
            if task.last_status is not TaskStatus.STOPPED
            else protection.UNPROTECTED
        )
        body: Response = {
            "taskArn": task.arn,
            "protectionEnabled": state.is_active(now),
        }
        if state.expires_at is not None:
            body["expirationDate"] = self._dt(state.expires_at)
        return body

    def _check_desired_count(self, op: str, desired: object) -> None:
        """Check a service's ``desiredCount`` as ECS does.

        botocore lets a bool through as an integer; ECS's JSON parser does not.

        Raises:
            ClientError: ``InvalidParameterException`` for a bool, a negative
                count or one above the tasks-per-service quota.
        """
        if isinstance(desired, bool) or not isinstance(desired, int):
            raise self._fail(
                op,
                "InvalidParameterException",
                f"desiredCount {desired!r} is not an integer.",
            )
        if desired < 0:
            raise self._fail(
                op, "InvalidParameterException", f"desiredCount {desired} must be >= 0."
            )
        if desired > MAX_TASKS_PER_SERVICE:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"desiredCount {desired} is above the limit of "
                f"{MAX_TASKS_PER_SERVICE} tasks per service.",
            )

    def _check_task_list(self, op: str, refs: list[str], limit: int) -> None:
        if not 1 <= len(refs) <= limit:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"tasks can have 1..{limit} entries; got {len(refs)}.",
            )

    def update_task_protection(self, **kwargs: Any) -> Response:
        """Set or clear scale-in protection on up to 10 tasks of services.

        Every enable resets the expiry to now + ``expiresInMinutes`` (default
        120). Per-task problems come back in ``failures``: ``MISSING`` for an
        unknown task, ``TASK_NOT_VALID`` for a standalone or stopping task,
        ``DEPLOYMENT_BLOCKED`` when protecting a task that is not protected now
        would leave more protected tasks than the service's desired count
        (renewals are accepted; see ``EcsSettings.deployment_blocked``).
        """
        op = "UpdateTaskProtection"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs["cluster"])
        refs = kwargs["tasks"]
        self._check_task_list(op, refs, MAX_UPDATE_PROTECTION_TASKS)
        enabled = kwargs["protectionEnabled"]
        minutes = kwargs.get("expiresInMinutes")
        if enabled:
            self.check_expires_in_minutes(minutes)
        outcomes = self.apply_task_protection(cluster, refs, enabled, minutes)
        now = self._backend.clock()
        protected = [
            self._protection_json(t, now)
            for t, r in outcomes
            if r is None and isinstance(t, Task)
        ]
        failures = [
            {"arn": t.arn if isinstance(t, Task) else t, "reason": r}
            for t, r in outcomes
            if r is not None
        ]
        return self._ok({"protectedTasks": protected, "failures": failures})

    def apply_task_protection(
        self,
        cluster: Cluster,
        refs: list[str],
        enabled: bool,
        minutes: int | None,
    ) -> list[tuple[Task | str, str | None]]:
        """The work of UpdateTaskProtection after its request was validated.

        Workers inside the simulation call this directly (their requests are
        well-formed by construction), so the rules live in one place.

        Returns:
            per task reference, the task (or its ARN when unknown) and the
            failure reason, or None when the update applied.

        Raises:
            ClientError: ``ThrottlingException`` when the account's token bucket
                is empty.
        """
        backend = self._backend
        first = next(
            (t for t in (backend.find_task(cluster, ref) for ref in refs) if t), None
        )
        self.take_protection_token(first)
        outcomes: list[tuple[Task | str, str | None]] = []
        for ref in refs:
            task = backend.find_task(cluster, ref)
            if task is None:
                outcomes.append((backend.task_arn(cluster, ref), "MISSING"))
                backend.record(
                    "protection_failed", task=ref, reason="MISSING", enabled=enabled
                )
            else:
                outcomes.append((task, self.protect_task(task, enabled, minutes)))
        return outcomes

    def check_expires_in_minutes(self, minutes: int | None) -> None:
        """Check an enable's ``expiresInMinutes`` as ECS does (None: the default).

        Raises:
            ClientError: ``InvalidParameterException`` outside 1..2880 or not an
                integer.
        """
        if minutes is None:
            return
        try:
            protection.check_expires_in_minutes(minutes)
        except InvalidTransition as exc:
            raise self._fail(
                "UpdateTaskProtection", "InvalidParameterException", f"{exc}."
            ) from None

    def take_protection_token(
        self, task: Task | None = None, now: float | None = None
    ) -> None:
        """Count one UpdateTaskProtection call (on behalf of *task*) against the
        account's rate, at *now* (default: the simulated time).

        Raises:
            ClientError: ``ThrottlingException`` when the token bucket is empty.
        """
        if not self._throttle.take(self._backend.clock() if now is None else now):
            self._backend.record(
                "protection_throttled",
                service=task.service.name if task and task.service else None,
                task=task.task_id if task else None,
            )
            raise self._fail(
                "UpdateTaskProtection", "ThrottlingException", "Rate exceeded"
            )

    def protect_task(
        self,
        task: Task,
        enabled: bool,
        minutes: int | None,
        now: float | None = None,
    ) -> str | None:
        """Apply one task's part of an UpdateTaskProtection call at *now*
        (default: the simulated time).

        Returns:
            the per-task failure reason, or None when the update applied.
        """
        backend = self._backend
        if now is None:
            now = backend.clock()
        # whether the task is protected now (a renewal), read once for the
        # failure rules and the record's kind
        active = task.protection.is_active(now)
        reason = self._protection_failure(task, enabled, now, active)
        service = task.service
        if reason is not None:
            backend.emit(
                "protection_failed",
                {
                    "service": service.name if service is not None else None,
                    "task": task.task_id,
                    "reason": reason,
                    "enabled": enabled,
                },
            )
            return reason
        if not enabled:
            kind = "protection_cleared"
            state = protection.disable()
        else:
            kind = "protection_renewed" if active else "protection_set"
            state = protection.enable(now, minutes)
        backend.set_protection(task, state)
        backend.emit(
            kind,
            {
                "service": service.name if service is not None else None,
                "task": task.task_id,
                "expires_at": state.expires_at,
            },
        )
        return None

    def _protection_failure(
        self, task: Task, enabled: bool, now: float, renewal: bool
    ) -> str | None:
        """The per-task failure reason of an update, or None if it may proceed
        (*renewal*: the task's protection is active at *now*).

        The control plane only counts; the rules are
        :func:`~ecssim.rules.protection.task_not_valid` and
        :func:`~ecssim.rules.protection.deployment_blocked`.
        """
        service = task.service
        # whether the task is stopping only matters to an enable
        stopping = enabled and (
            task.desired_status == "STOPPED" or task.last_status in _STOPPING
        )
        if protection.task_not_valid(
            in_service=service is not None, enabling=enabled, stopping=stopping
        ):
            return protection.TASK_NOT_VALID
        if not enabled or service is None:
            return None
        settings = self._settings
        rule = settings.deployment_blocked
        if rule == protection.IGNORE or (
            renewal
            and rule == protection.REFUSE_NEW
            and settings.refuse_renewals_after_s is None
        ):
            return None  # the common cases, decided without counting
        blocking_since = service.blocking_since.get(task.task_id) if renewal else None
        blocking_for = None if blocking_since is None else now - blocking_since
        holders = service.protection_holders
        # holders bounds the protected count from above; only when the bound
        # could bind, drop the holders whose protection has lapsed and ask again
        for recount in (False, True):
            if recount:
                tasks = service.tasks
                holders.difference_update(
                    [tid for tid in holders if not tasks[tid].protection.is_active(now)]
                )
            if not protection.deployment_blocked(
                rule,
                other_protected=len(holders) - (task.task_id in holders),
                desired_count=service.desired_count,
                renewal=renewal,
                blocking_for_s=blocking_for,
                refuse_renewals_after_s=settings.refuse_renewals_after_s,
            ):
                return None
        return protection.DEPLOYMENT_BLOCKED

    def get_task_protection(self, **kwargs: Any) -> Response:
        """Protection of up to 100 tasks, or of every non-stopped service task of
        the cluster when ``tasks`` is omitted."""
        op = "GetTaskProtection"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs["cluster"])
        now = self._backend.clock()
        refs = kwargs.get("tasks")
        if refs is None:
            tasks = list(self._backend.iter_service_tasks(cluster))
            return self._ok(
                {
                    "protectedTasks": [self._protection_json(t, now) for t in tasks],
                    "failures": [],
                }
            )
        self._check_task_list(op, refs, MAX_GET_PROTECTION_TASKS)
        protected, failures = [], []
        for ref in refs:
            task = self._backend.find_task(cluster, ref)
            if task is None:
                failures.append(
                    {"arn": self._backend.task_arn(cluster, ref), "reason": "MISSING"}
                )
            elif task.service is None:
                failures.append({"arn": task.arn, "reason": "TASK_NOT_VALID"})
            else:
                protected.append(self._protection_json(task, now))
        return self._ok({"protectedTasks": protected, "failures": failures})

    # ---- EC2 capacity: capacity providers and container instances ------------------
    def _page(
        self, op: str, items: list[Any], kwargs: dict[str, Any], limit: int
    ) -> tuple[list[Any], str | None]:
        """One page of *items* for ``nextToken`` / ``maxResults`` (1..*limit*)."""
        token = kwargs.get("nextToken") or "0"
        if not (token.isascii() and token.isdigit()):
            raise self._fail(
                op, "InvalidParameterException", f"Invalid nextToken {token!r}."
            )
        size = kwargs.get("maxResults", limit)
        if not 1 <= size <= limit:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"maxResults {size} is outside 1..{limit}.",
            )
        start = int(token)
        more = start + size < len(items)
        return items[start : start + size], str(start + size) if more else None

    def _capacity_provider_json(
        self, provider: capacity.CapacityProvider | str, tags: bool = True
    ) -> Response:
        if isinstance(provider, str):  # FARGATE or FARGATE_SPOT
            return {
                "capacityProviderArn": self._backend.arn(
                    f"capacity-provider/{provider}"
                ),
                "name": provider,
                "status": "ACTIVE",
                "tags": [],
                "type": provider,
            }
        scaling = provider.managed_scaling
        return {
            "capacityProviderArn": provider.arn,
            "name": provider.name,
            "status": provider.status,
            "autoScalingGroupProvider": {
                "autoScalingGroupArn": provider.auto_scaling_group_arn,
                "managedScaling": {
                    "status": "ENABLED" if scaling.enabled else "DISABLED",
                    "targetCapacity": scaling.target_capacity,
                    "minimumScalingStepSize": scaling.minimum_scaling_step_size,
                    "maximumScalingStepSize": scaling.maximum_scaling_step_size,
                    "instanceWarmupPeriod": int(scaling.instance_warmup_period_s),
                },
                "managedTerminationProtection": "ENABLED"
                if provider.managed_termination_protection
                else "DISABLED",
                "managedDraining": "ENABLED"
                if provider.managed_draining
                else "DISABLED",
            },
            "tags": copy.deepcopy(provider.tags) if tags else [],
            "type": "EC2_AUTOSCALING",
        }

    def create_capacity_provider(self, **kwargs: Any) -> Response:
        """Create an Auto Scaling group capacity provider.

        The Auto Scaling group is named by ARN and not looked up (ecssim has no
        EC2 Auto Scaling client yet); one group serves one provider. A
        ``managedScaling`` given without ``status`` is ENABLED; without
        ``managedScaling`` at all, managed scaling is DISABLED; managed draining
        defaults to ENABLED, managed termination protection to DISABLED and
        needs managed scaling.
        """
        op = "CreateCapacityProvider"
        self._begin(op, kwargs)
        name = kwargs["name"]
        if not _NAME_RE.match(name) or name.lower().startswith(
            capacity.RESERVED_PREFIXES
        ):
            raise self._fail(
                op,
                "InvalidParameterException",
                "The capacity provider name can contain up to 255 letters, numbers, "
                'underscores and hyphens and can\'t be prefixed with "aws", "ecs" or '
                f'"fargate"; got {name!r}.',
            )
        if "managedInstancesProvider" in kwargs or "cluster" in kwargs:
            raise self._fail(
                op,
                "InvalidParameterException",
                "ecssim models Auto Scaling group capacity providers only; "
                "managedInstancesProvider and cluster are not supported.",
            )
        raw = kwargs.get("autoScalingGroupProvider")
        if raw is None:
            raise self._fail(
                op,
                "InvalidParameterException",
                "autoScalingGroupProvider is required.",
            )
        existing = self._backend.capacity_providers.get(name)
        if existing is not None and existing.status != "INACTIVE":
            raise self._fail(
                op,
                "ClientException",
                "The specified capacity provider already exists. To change the "
                "configuration of an existing capacity provider, update the "
                "capacity provider.",
            )
        asg_arn = raw["autoScalingGroupArn"]
        if not capacity.ASG_ARN_RE.match(asg_arn):
            raise self._fail(
                op,
                "InvalidParameterException",
                f"autoScalingGroupArn {asg_arn!r} is not an Auto Scaling group ARN.",
            )
        if any(
            p.auto_scaling_group_arn == asg_arn and p.status == "ACTIVE"
            for p in self._backend.capacity_providers.values()
        ):
            raise self._fail(
                op,
                "InvalidParameterException",
                f"The Auto Scaling group {asg_arn} is already used by another "
                "capacity provider.",
            )
        flags = {}
        for key, default in (
            ("managedTerminationProtection", "DISABLED"),
            ("managedDraining", "ENABLED"),
        ):
            value = raw.get(key, default)
            if value not in ("ENABLED", "DISABLED"):
                raise self._fail(
                    op,
                    "InvalidParameterException",
                    f"{key} should be ENABLED or DISABLED; got {value!r}.",
                )
            flags[key] = value == "ENABLED"
        scaling = self._managed_scaling(op, raw.get("managedScaling"))
        if flags["managedTerminationProtection"] and not scaling.enabled:
            raise self._fail(
                op,
                "InvalidParameterException",
                "Managed termination protection requires managed scaling to be "
                "ENABLED.",
            )
        provider = capacity.create_capacity_provider(
            self._backend,
            name,
            auto_scaling_group_arn=asg_arn,
            managed_scaling=scaling,
            managed_termination_protection=flags["managedTerminationProtection"],
            managed_draining=flags["managedDraining"],
            tags=kwargs.get("tags"),
        )
        return self._ok({"capacityProvider": self._capacity_provider_json(provider)})

    def _managed_scaling(
        self, op: str, raw: dict[str, Any] | None
    ) -> capacity_rules.ManagedScaling:
        if raw is None:
            return capacity_rules.ManagedScaling(enabled=False)
        status = raw.get("status", "ENABLED")
        if status not in ("ENABLED", "DISABLED"):
            raise self._fail(
                op,
                "InvalidParameterException",
                f"managedScaling.status should be ENABLED or DISABLED; got {status!r}.",
            )
        try:
            return capacity_rules.ManagedScaling(
                enabled=status == "ENABLED",
                target_capacity=raw.get("targetCapacity", 100),
                minimum_scaling_step_size=raw.get("minimumScalingStepSize", 1),
                maximum_scaling_step_size=raw.get(
                    "maximumScalingStepSize", capacity_rules.MAX_STEP_DEFAULT
                ),
                instance_warmup_period_s=raw.get("instanceWarmupPeriod", 300),
            )
        except capacity_rules.InvalidCapacityRule as exc:
            raise self._fail(
                op, "InvalidParameterException", f"managedScaling: {exc}."
            ) from None

    def describe_capacity_providers(self, **kwargs: Any) -> Response:
        """Describe capacity providers: FARGATE, FARGATE_SPOT and every ACTIVE
        Auto Scaling group provider, or those named (unknown ones as ``MISSING``
        failures); 10 per page at most."""
        op = "DescribeCapacityProviders"
        self._begin(op, kwargs)
        with_tags = "TAGS" in (kwargs.get("include") or [])
        refs = kwargs.get("capacityProviders")
        failures = []
        found: list[capacity.CapacityProvider | str] = []
        if refs is None:
            found = [
                *capacity.FARGATE_PROVIDERS,
                *(
                    p
                    for p in self._backend.capacity_providers.values()
                    if p.status == "ACTIVE"
                ),
            ]
        else:
            for ref in refs:
                name = ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref
                provider = capacity.find_capacity_provider(self._backend, ref)
                if name in capacity.FARGATE_PROVIDERS:
                    found.append(name)
                elif provider is None:
                    arn = (
                        ref
                        if ref.startswith("arn:")
                        else self._backend.arn(f"capacity-provider/{ref}")
                    )
                    failures.append({"arn": arn, "reason": "MISSING"})
                else:
                    found.append(provider)
        page, token = self._page(op, found, kwargs, 10)
        body: Response = {
            "capacityProviders": [
                self._capacity_provider_json(p, with_tags) for p in page
            ],
            "failures": failures,
        }
        if token is not None:
            body["nextToken"] = token
        return self._ok(body)

    def put_cluster_capacity_providers(self, **kwargs: Any) -> Response:
        """Set a cluster's capacity providers and default capacity provider strategy.

        Providers are FARGATE, FARGATE_SPOT or ACTIVE Auto Scaling group
        providers; one with managed scaling belongs to one cluster at most; the
        strategy uses associated providers only, never Fargate and Auto Scaling
        group providers together, at most 20, one base, a weight above 0
        (cluster-capacity-providers.html). A provider a service's strategy
        names cannot be removed (``ResourceInUseException``).
        """
        op = "PutClusterCapacityProviders"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs["cluster"])
        if len(kwargs["capacityProviders"]) > MAX_CLUSTER_CAPACITY_PROVIDERS:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"capacityProviders can have at most {MAX_CLUSTER_CAPACITY_PROVIDERS} "
                f"capacity providers per cluster; got {len(kwargs['capacityProviders'])}.",
            )
        names: list[str] = []
        for ref in kwargs["capacityProviders"]:
            name = ref.rsplit("/", 1)[-1] if ref.startswith("arn:") else ref
            if name in capacity.FARGATE_PROVIDERS:
                names.append(name)
                continue
            provider = capacity.find_capacity_provider(self._backend, ref)
            if provider is None:
                raise self._fail(
                    op,
                    "InvalidParameterException",
                    f"The specified capacity provider {ref} is not in an ACTIVE "
                    "state. Specify a valid capacity provider and try again.",
                )
            others = [c for c in provider.clusters if c != cluster.name]
            if provider.managed_scaling.enabled and others:
                raise self._fail(
                    op,
                    "InvalidParameterException",
                    f"The capacity provider {name} uses managed scaling and is "
                    f"already associated with cluster {others[0]}.",
                )
            names.append(name)
        if len(set(names)) != len(names):
            raise self._fail(
                op,
                "InvalidParameterException",
                "capacityProviders contains a capacity provider more than once.",
            )
        strategy = kwargs["defaultCapacityProviderStrategy"]
        self._check_strategy(op, strategy, names)
        for service in cluster.services.values():
            used = {
                i["capacityProvider"]
                for i in service.request.get("capacityProviderStrategy") or []
            }
            gone = sorted(used - set(names))
            if service.status == "ACTIVE" and gone:
                raise self._fail(
                    op,
                    "ResourceInUseException",
                    f"The capacity provider {gone[0]} is in use by service "
                    f"{service.name} and can't be removed from the cluster.",
                )
        capacity.set_cluster_capacity_providers(self._backend, cluster, names, strategy)
        return self._ok({"cluster": self._cluster_json(cluster)})

    def _check_strategy(
        self, op: str, strategy: list[dict[str, Any]], associated: list[str]
    ) -> None:
        """Check a capacity provider strategy against the cluster's providers."""
        if len(strategy) > MAX_STRATEGY_ITEMS:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"A capacity provider strategy can contain at most "
                f"{MAX_STRATEGY_ITEMS} capacity providers; got {len(strategy)}.",
            )
        names = [item["capacityProvider"] for item in strategy]
        for name in names:
            if name not in associated:
                raise self._fail(
                    op,
                    "InvalidParameterException",
                    f"The capacity provider {name} is not associated with the "
                    "cluster. Associate it with PutClusterCapacityProviders first.",
                )
        fargate = [n for n in names if n in capacity.FARGATE_PROVIDERS]
        if fargate and len(fargate) != len(names):
            raise self._fail(
                op,
                "InvalidParameterException",
                "A capacity provider strategy can contain either Fargate or Auto "
                "Scaling group capacity providers, but not both.",
            )
        for item in strategy:
            base, weight = item.get("base", 0), item.get("weight", 0)
            if not 0 <= base <= 100_000 or not 0 <= weight <= 1000:
                raise self._fail(
                    op,
                    "InvalidParameterException",
                    f"capacityProviderStrategy {item['capacityProvider']}: base "
                    "must be 0..100000 and weight 0..1000.",
                )
        if sum(1 for i in strategy if i.get("base", 0) > 0) > 1:
            raise self._fail(
                op,
                "InvalidParameterException",
                "Only one capacity provider in a strategy can have a base.",
            )
        if strategy and all(i.get("weight", 0) == 0 for i in strategy):
            raise self._fail(
                op,
                "InvalidParameterException",
                "At least one capacity provider in a strategy must have a weight "
                "greater than zero.",
            )

    def _container_instance_json(
        self, instance: capacity.ContainerInstance, tags: bool = True
    ) -> Response:
        def resources(r: capacity_rules.Resources) -> list[Response]:
            return [
                {
                    "name": name,
                    "type": "INTEGER",
                    "doubleValue": 0.0,
                    "longValue": 0,
                    "integerValue": value,
                }
                for name, value in (("CPU", r.cpu), ("MEMORY", r.memory))
            ] + copy.deepcopy(instance.other_resources)

        attributes = {**instance.builtin_attributes, **instance.attributes}
        body: Response = {
            "containerInstanceArn": instance.arn,
            "ec2InstanceId": instance.ec2_instance_id,
            "version": instance.version,
            "versionInfo": dict(instance.version_info),
            "remainingResources": resources(instance.remaining),
            "registeredResources": resources(instance.registered),
            "status": instance.status,
            "agentConnected": instance.status != "INACTIVE",
            "runningTasksCount": instance.running_tasks_count,
            "pendingTasksCount": instance.pending_tasks_count,
            "attributes": [
                {"name": k, **({"value": v} if v is not None else {})}
                for k, v in sorted(attributes.items())
            ],
            "registeredAt": self._dt(instance.registered_at),
            "attachments": [],
            "tags": copy.deepcopy(instance.tags) if tags else [],
        }
        if instance.capacity_provider is not None:
            body["capacityProviderName"] = instance.capacity_provider
        return body

    def _container_instance(
        self, op: str, cluster: Cluster, ref: str
    ) -> capacity.ContainerInstance:
        instance = capacity.find_instance(self._backend, cluster, ref)
        if instance is None:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"The referenced container instance {ref} was not found.",
            )
        return instance

    def register_container_instance(self, **kwargs: Any) -> Response:
        """Register an EC2 instance with a cluster, as its ECS agent does.

        ecssim needs ``instanceIdentityDocument`` (JSON with ``instanceId``,
        ``availabilityZone``, optionally ``instanceType``) and ``totalResources``
        with integer ``CPU`` (units) and ``MEMORY`` (MiB); other resources are
        kept and echoed. ``containerInstanceArn`` re-registers an instance of
        the cluster (a restarted agent); registering an EC2 instance that is
        already registered (and not INACTIVE) fails.
        """
        op = "RegisterContainerInstance"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        ref = kwargs.get("containerInstanceArn")
        if ref is not None:
            instance = self._container_instance(op, cluster, ref)
            if instance.status == "INACTIVE":
                raise self._fail(
                    op,
                    "InvalidParameterException",
                    f"Container instance {ref} is INACTIVE and can't be re-registered.",
                )
            instance.version += 1
            return self._ok(
                {"containerInstance": self._container_instance_json(instance)}
            )
        document = self._identity_document(op, kwargs.get("instanceIdentityDocument"))
        ec2_id, zone = document["instanceId"], document["availabilityZone"]
        if zone not in self._backend.availability_zones:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"availabilityZone {zone!r} is not one of the simulated zones "
                f"{', '.join(self._backend.availability_zones)}.",
            )
        for other in cluster.container_instances.values():
            if other.ec2_instance_id == ec2_id and other.status != "INACTIVE":
                raise self._fail(
                    op,
                    "InvalidParameterException",
                    f"EC2 instance {ec2_id} is already registered as {other.arn}.",
                )
        live = sum(
            1 for i in cluster.container_instances.values() if i.status != "INACTIVE"
        )
        if live >= MAX_CONTAINER_INSTANCES_PER_CLUSTER:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"Cluster {cluster.name} already has {live} container instances, "
                f"the limit of {MAX_CONTAINER_INSTANCES_PER_CLUSTER} per cluster.",
            )
        registered, others = self._total_resources(op, kwargs.get("totalResources"))
        attributes = {}
        for attribute in kwargs.get("attributes") or []:
            if attribute["name"].startswith("ecs."):
                raise self._fail(
                    op,
                    "InvalidParameterException",
                    f"Attribute {attribute['name']!r}: names starting with 'ecs.' "
                    "are reserved for the attributes ECS applies.",
                )
            attributes[attribute["name"]] = attribute.get("value")
        instance = capacity.register_instance(
            self._backend,
            cluster,
            ec2_instance_id=ec2_id,
            availability_zone=zone,
            registered=registered,
            instance_type=document.get("instanceType"),
            capacity_provider=self._backend.ec2_instance_providers.get(ec2_id),
            attributes=attributes,
            other_resources=others,
            version_info=kwargs.get("versionInfo"),
            tags=kwargs.get("tags"),
        )
        return self._ok({"containerInstance": self._container_instance_json(instance)})

    def _identity_document(self, op: str, raw: str | None) -> dict[str, Any]:
        try:
            document = json.loads(raw) if raw is not None else None
        except ValueError:
            document = None
        if (
            not isinstance(document, dict)
            or not isinstance(document.get("instanceId"), str)
            or not isinstance(document.get("availabilityZone"), str)
        ):
            raise self._fail(
                op,
                "InvalidParameterException",
                "instanceIdentityDocument must be a JSON object with instanceId and "
                "availabilityZone (ecssim does not check the signature).",
            )
        return document

    def _total_resources(
        self, op: str, raw: list[dict[str, Any]] | None
    ) -> tuple[capacity_rules.Resources, list[dict[str, Any]]]:
        values: dict[str, int] = {}
        others = []
        for resource in raw or []:
            name = resource["name"]
            if name in ("CPU", "MEMORY"):
                value = resource.get("integerValue")
                if not isinstance(value, int) or value <= 0:
                    raise self._fail(
                        op,
                        "InvalidParameterException",
                        f"totalResources {name} needs a positive integerValue; "
                        f"got {value!r}.",
                    )
                values[name] = value
            else:
                others.append(copy.deepcopy(resource))
        missing = [n for n in ("CPU", "MEMORY") if n not in values]
        if missing:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"totalResources must include {' and '.join(missing)} "
                "(ecssim has no instance-type catalogue).",
            )
        return capacity_rules.Resources(values["CPU"], values["MEMORY"]), others

    def deregister_container_instance(self, **kwargs: Any) -> Response:
        """Deregister a container instance (it becomes INACTIVE).

        With tasks still on it, ``force`` is needed; they are then orphaned:
        left as they are (the service scheduler does not replace them yet).
        """
        op = "DeregisterContainerInstance"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        instance = self._container_instance(op, cluster, kwargs["containerInstance"])
        if instance.status == "INACTIVE":
            raise self._fail(
                op,
                "InvalidParameterException",
                f"Container instance {instance.arn} is already deregistered.",
            )
        if capacity.live_tasks(instance) and not kwargs.get("force", False):
            raise self._fail(
                op,
                "InvalidParameterException",
                "Found running tasks on the instance. Stop them or deregister with "
                "force.",
            )
        capacity.deregister_instance(self._backend, instance)
        return self._ok({"containerInstance": self._container_instance_json(instance)})

    def list_container_instances(self, **kwargs: Any) -> Response:
        """Container instance ARNs of a cluster, every status but INACTIVE unless
        ``status`` says which; ``filter`` takes the availability-zone
        expressions of the placement rules; 100 per page at most."""
        op = "ListContainerInstances"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        status = kwargs.get("status")
        if status is not None and status not in capacity.LISTED_STATUSES:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"status should be one of {', '.join(capacity.LISTED_STATUSES)}; "
                f"got {status!r}.",
            )
        zones = None
        if kwargs.get("filter"):
            try:
                zones = capacity_rules.zone_expression(kwargs["filter"])
            except capacity_rules.InvalidCapacityRule as exc:
                raise self._fail(op, "InvalidParameterException", f"{exc}.") from None
        arns = [
            i.arn
            for i in cluster.container_instances.values()
            if (i.status == status if status else i.status != "INACTIVE")
            and (zones is None or i.availability_zone in zones)
        ]
        page, token = self._page(op, arns, kwargs, 100)
        body: Response = {"containerInstanceArns": page}
        if token is not None:
            body["nextToken"] = token
        return self._ok(body)

    def describe_container_instances(self, **kwargs: Any) -> Response:
        """Describe up to 100 container instances; unknown ones come back as
        ``MISSING`` failures."""
        op = "DescribeContainerInstances"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        refs = kwargs["containerInstances"]
        if not 1 <= len(refs) <= MAX_DESCRIBE_CONTAINER_INSTANCES:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"containerInstances can have 1..{MAX_DESCRIBE_CONTAINER_INSTANCES} "
                f"entries; got {len(refs)}.",
            )
        with_tags = "TAGS" in (kwargs.get("include") or [])
        found, failures = [], []
        for ref in refs:
            instance = capacity.find_instance(self._backend, cluster, ref)
            if instance is None:
                failures.append(
                    {"arn": self._instance_arn(cluster, ref), "reason": "MISSING"}
                )
            else:
                found.append(self._container_instance_json(instance, with_tags))
        return self._ok({"containerInstances": found, "failures": failures})

    def _instance_arn(self, cluster: Cluster, ref: str) -> str:
        if ref.startswith("arn:"):
            return ref
        return self._backend.arn(f"container-instance/{cluster.name}/{ref}")

    def update_container_instances_state(self, **kwargs: Any) -> Response:
        """Set up to 10 container instances ACTIVE or DRAINING.

        A DRAINING instance takes no new task. Replacing the service tasks on it
        (PENDING ones stopped at once, RUNNING ones within the deployment
        percentages) is the service scheduler's part and is not wired yet.
        Unknown instances are ``MISSING`` failures, INACTIVE ones ``INACTIVE``
        failures.
        """
        op = "UpdateContainerInstancesState"
        self._begin(op, kwargs)
        cluster = self._cluster(op, kwargs.get("cluster"))
        status = kwargs["status"]
        if status not in capacity.SETTABLE_STATUSES:
            raise self._fail(
                op,
                "InvalidParameterException",
                "Container instance status should be one of [ACTIVE, DRAINING]; "
                f"got {status!r}.",
            )
        refs = kwargs["containerInstances"]
        if not 1 <= len(refs) <= MAX_UPDATE_CONTAINER_INSTANCES:
            raise self._fail(
                op,
                "InvalidParameterException",
                f"containerInstances can have 1..{MAX_UPDATE_CONTAINER_INSTANCES} "
                f"entries; got {len(refs)}.",
            )
        updated, failures = [], []
        for ref in refs:
            instance = capacity.find_instance(self._backend, cluster, ref)
            if instance is None:
                failures.append(
                    {"arn": self._instance_arn(cluster, ref), "reason": "MISSING"}
                )
            elif instance.status == "INACTIVE":
                failures.append({"arn": instance.arn, "reason": "INACTIVE"})
            else:
                capacity.set_instance_status(self._backend, instance, status)
                updated.append(self._container_instance_json(instance))
        return self._ok({"containerInstances": updated, "failures": failures})
