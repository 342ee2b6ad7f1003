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
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from ecssim.aws.errors import BotoShapedClient
from ecssim.aws.state import (
    MAX_STOP_TIMEOUT_S,
    SERVICE_EVENTS_KEPT,
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
from ecssim.rules import protection
from ecssim.rules.lifecycle import StopCode, TaskStatus
from ecssim.rules.placement import (
    CapacityProviderItem,
    choose_capacity_provider,
    launch_zones,
)

#: The Amazon ECS service quota "Tasks per service" (5,000; not adjustable).
MAX_TASKS_PER_SERVICE: Final = 5000
MAX_UPDATE_PROTECTION_TASKS: Final = 10
MAX_GET_PROTECTION_TASKS: Final = 100
MAX_DESCRIBE_TASKS: Final = 100
MAX_DESCRIBE_SERVICES: Final = 10
MAX_RUN_TASK_COUNT: Final = 10
LAUNCH_TYPES: Final = ("EC2", "FARGATE", "EXTERNAL")
CAPACITY_PROVIDERS: Final = ("FARGATE", "FARGATE_SPOT")
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,255}$")

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
        self, operation: str, params: dict[str, Any]
    ) -> tuple[str, tuple[CapacityProviderItem, ...]]:
        """The launch type and capacity provider strategy of a request."""
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
        if not raw_strategy:
            return launch_type or "EC2", ()
        items = []
        for item in raw_strategy:
            name = item["capacityProvider"]
            if name not in CAPACITY_PROVIDERS:
                raise self._fail(
                    operation,
                    "InvalidParameterException",
                    f"The capacity provider {name!r} is not associated with the "
                    f"cluster; ecssim models {', '.join(CAPACITY_PROVIDERS)}.",
                )
            base, weight = item.get("base", 0), item.get("weight", 0)
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
        if all(i.weight == 0 for i in items):
            raise self._fail(
                operation,
                "InvalidParameterException",
                "At least one capacity provider in a strategy must have a weight "
                "greater than zero.",
            )
        return "FARGATE", tuple(items)

    # ---- response shapes -------------------------------------------------
    def _cluster_json(self, cluster: Cluster) -> Response:
        tasks = list(cluster.tasks.values())
        return {
            "clusterArn": cluster.arn,
            "clusterName": cluster.name,
            "status": cluster.status,
            "registeredContainerInstancesCount": 0,
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
            "capacityProviders": list(CAPACITY_PROVIDERS),
            "defaultCapacityProviderStrategy": [],
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
            "desiredCount": d.desired_count,
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
            },
            "deployments": [
                self._deployment_json(service, d)
                for d in service.deployments
                if d.status != "INACTIVE"
            ],
            "events": [
                {"id": e.id, "createdAt": self._dt(e.created_at), "message": e.message}
                for e in reversed(service.events[-SERVICE_EVENTS_KEPT:])
            ],
            "createdAt": self._dt(service.created_at),
            "placementConstraints": [],
            "placementStrategy": [],
            "schedulingStrategy": "REPLICA",
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
        }
        if unsupported:
            raise self._fail(
                op,
                "InvalidParameterException",
                "ecssim models rolling-update deployments only; "
                f"deploymentConfiguration.{sorted(unsupported)[0]} is not supported.",
            )
        return min_pct, max_pct, enable, rollback

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
        if kwargs.get("schedulingStrategy", "REPLICA") != "REPLICA":
            raise self._fail(
                op,
                "InvalidParameterException",
                "ecssim models REPLICA services only; schedulingStrategy "
                f"{kwargs['schedulingStrategy']!r} is not supported.",
            )
        controller = kwargs.get("deploymentController", {}).get("type", "ECS")
        if controller != "ECS":
            raise self._fail(
                op,
                "InvalidParameterException",
                f"ecssim models the ECS deployment controller only; {controller!r} "
                "is not supported.",
            )
        desired = kwargs.get("desiredCount")
        if desired is None:
            raise self._fail(
                op,
                "InvalidParameterException",
                "desiredCount is required for a REPLICA service.",
            )
        self._check_desired_count(op, desired)
        launch_type, _ = self._launch_options(op, kwargs)
        min_pct, max_pct, enable, rollback = self._deployment_configuration(
            op, kwargs.get("deploymentConfiguration", {}), (100, 200, False, False)
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
        )
        cluster.services[name] = service
        self._backend.new_deployment(service, td)
        self._backend.record("service_created", service=name, desired_count=desired)
        self._backend.listener.service_changed(service)
        return self._ok({"service": self._service_json(service)})

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
        (
            service.minimum_healthy_percent,
            service.maximum_percent,
            service.circuit_breaker_enable,
            service.circuit_breaker_rollback,
        ) = config
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
        launch_type, strategy = self._launch_options(op, kwargs)
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
        ``DEPLOYMENT_BLOCKED`` when enabling would leave more protected tasks
        than the service's desired count.
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
        reason = self._protection_failure(task, enabled, now)
        if reason is not None:
            backend.record(
                "protection_failed",
                service=task.service.name if task.service is not None else None,
                task=task.task_id,
                reason=reason,
                enabled=enabled,
            )
            return reason
        if not enabled:
            kind = "protection_cleared"
        elif task.protection.is_active(now):
            kind = "protection_renewed"
        else:
            kind = "protection_set"
        state = protection.update(
            task.protection, now, protection_enabled=enabled, expires_in_minutes=minutes
        )
        backend.set_protection(task, state)
        backend.record(
            kind,
            service=task.service.name if task.service is not None else None,
            task=task.task_id,
            expires_at=state.expires_at,
        )
        return None

    def _protection_failure(self, task: Task, enabled: bool, now: float) -> str | None:
        """The per-task failure reason of an update, or None if it may proceed.

        The control plane only counts; the rules are
        :func:`~ecssim.rules.protection.task_not_valid` and
        :func:`~ecssim.rules.protection.deployment_blocked`.
        """
        service = task.service
        stopping = task.desired_status == "STOPPED" or task.last_status in (
            TaskStatus.STOPPING,
            TaskStatus.STOPPED,
        )
        if protection.task_not_valid(
            in_service=service is not None, enabling=enabled, stopping=stopping
        ):
            return protection.TASK_NOT_VALID
        if not enabled or service is None:
            return None
        rule = self._settings.deployment_blocked
        holders = service.protection_holders
        # holders bounds the protected count from above; only when the bound
        # could bind, drop the holders whose protection has lapsed and ask again
        others = len(holders) - (task.task_id in holders)
        if protection.deployment_blocked(
            rule, other_protected=others, desired_count=service.desired_count
        ):
            tasks = service.tasks
            lapsed = [
                tid for tid in holders if not tasks[tid].protection.is_active(now)
            ]
            holders.difference_update(lapsed)
            others = len(holders) - (task.task_id in holders)
            if protection.deployment_blocked(
                rule, other_protected=others, desired_count=service.desired_count
            ):
                return protection.DEPLOYMENT_BLOCKED
        return None

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
