"""``ecssim serve``: the simulated account on loopback HTTP, answered as AWS would.

Every server here runs in-process on port 0 in a background thread with a
manual clock (unless the test is about the real-time clock), and is shut down
when the test ends; every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ecssim import build, parse_scenario
from ecssim.model.build import Model
from ecssim.scenario.schema import Scenario
from ecssim.serve.server import (
    BindError,
    EcssimHttpServer,
    check_bind,
    running_server,
)
from ecssim.sim.workloads import jobs_frame

TIMEOUT_S = 10.0
ECS_TARGET = "AmazonEC2ContainerServiceV20141113"


def _scenario(seed: int = 5) -> Scenario:
    """Three service tasks with no workload, and a standalone task at 60 s."""
    return parse_scenario(
        {
            "name": "serve-test",
            "seed": seed,
            "duration": "6h",
            "cluster": {"name": "media"},
            "services": [{"name": "transcoder", "desired_count": 3}],
            "standalone_tasks": [
                {
                    "name": "batch",
                    "count": 1,
                    "at": "60s",
                    "protection": {"policy": "none"},
                }
            ],
        }
    )


@pytest.fixture
def model() -> Model:
    return build(_scenario())


@pytest.fixture
def server(model: Model) -> Iterator[EcssimHttpServer]:
    with running_server(model, speed=None) as srv:
        yield srv


def _client(server: EcssimHttpServer, service: str = "ecs") -> Any:
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="dummy",
        aws_secret_access_key="dummy",
        config=Config(
            retries={"max_attempts": 1},
            connect_timeout=TIMEOUT_S,
            read_timeout=TIMEOUT_S,
        ),
    )


def _request(
    server: EcssimHttpServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(str(host), int(port), timeout=TIMEOUT_S)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else {}
    finally:
        conn.close()


def _aws(
    server: EcssimHttpServer, target: str, body: bytes
) -> tuple[int, dict[str, Any]]:
    return _request(
        server,
        "POST",
        "/",
        body,
        {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def test_boto3_over_http_answers_as_the_in_process_client_does() -> None:
    """The same calls on the same scenario and seed give the same responses
    through HTTP as through ``sim.client("ecs")``, call for call."""
    served, local = build(_scenario()), build(_scenario())
    with running_server(served, speed=None) as srv:
        remote = _client(srv)
        near = local.sim.client("ecs")
        clock = srv.app.clock

        def both(name: str, **kwargs: Any) -> dict[str, Any]:
            a = _strip(getattr(remote, name)(**kwargs))
            b = _strip(getattr(near, name)(**kwargs))
            assert a == b, name
            return a

        clock.advance(120)
        local.sim.advance(120)
        arns = both("list_tasks", cluster="media", serviceName="transcoder")["taskArns"]
        assert len(arns) == 3
        both("describe_services", cluster="media", services=["transcoder"])
        both("describe_tasks", cluster="media", tasks=arns)
        both(
            "update_task_protection",
            cluster="media",
            tasks=arns[:2],
            protectionEnabled=True,
            expiresInMinutes=30,
        )
        both("get_task_protection", cluster="media")
        both("update_service", cluster="media", service="transcoder", desiredCount=1)
        clock.advance(300)
        local.sim.advance(300)
        service = both("describe_services", cluster="media", services=["transcoder"])
        assert service["services"][0]["runningCount"] == 2
        both("describe_task_definition", taskDefinition="transcoder")
        both("list_clusters")


def test_task_not_valid_and_an_out_of_range_duration_over_http(
    server: EcssimHttpServer,
) -> None:
    """A standalone task gets the per-task failure TASK_NOT_VALID; 3000 minutes
    raises the client's InvalidParameterException, as ECS answers."""
    ecs = _client(server)
    server.app.clock.advance(120)
    standalone = ecs.list_tasks(cluster="media", family="batch")["taskArns"]
    assert len(standalone) == 1
    answer = ecs.update_task_protection(
        cluster="media", tasks=standalone, protectionEnabled=True, expiresInMinutes=5
    )
    assert answer["protectedTasks"] == []
    assert [(f["arn"], f["reason"]) for f in answer["failures"]] == [
        (standalone[0], "TASK_NOT_VALID")
    ]
    service_task = ecs.list_tasks(cluster="media", serviceName="transcoder")[
        "taskArns"
    ][0]
    with pytest.raises(ecs.exceptions.InvalidParameterException) as caught:
        ecs.update_task_protection(
            cluster="media",
            tasks=[service_task],
            protectionEnabled=True,
            expiresInMinutes=3000,
        )
    assert "3000" in caught.value.response["Error"]["Message"]
    with pytest.raises(ecs.exceptions.ClusterNotFoundException):
        ecs.describe_services(cluster="nope", services=["x"])


def test_application_auto_scaling_over_http(server: EcssimHttpServer) -> None:
    """RegisterScalableTarget and DescribeScalableTargets work over JSON 1.1."""
    aas = _client(server, "application-autoscaling")
    target = {
        "ServiceNamespace": "ecs",
        "ResourceId": "service/media/transcoder",
        "ScalableDimension": "ecs:service:DesiredCount",
    }
    aas.register_scalable_target(**target, MinCapacity=1, MaxCapacity=5)
    found = aas.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert [(t["MinCapacity"], t["MaxCapacity"]) for t in found] == [(1, 5)]
    with pytest.raises(aas.exceptions.ValidationException):
        aas.register_scalable_target(**target, MinCapacity=5, MaxCapacity=1)


def test_each_task_has_its_own_agent_endpoint(server: EcssimHttpServer) -> None:
    """PUT/GET on a task's ECS_AGENT_URI protect that task; a standalone task
    gets 200 with a ``failure`` body; a bad body is a 400; an unknown task 404."""
    server.app.clock.advance(120)
    tasks = {t["service"]: t for t in server.app.tasks()}
    mine = tasks["transcoder"]["ECS_AGENT_URI"].removeprefix(server.url)
    state = f"{mine}/task-protection/v1/state"
    status, body = _request(
        server,
        "PUT",
        state,
        json.dumps({"ProtectionEnabled": True, "ExpiresInMinutes": 10}).encode(),
    )
    assert status == 200
    assert body["protection"]["ProtectionEnabled"] is True
    assert body["protection"]["ExpirationDate"] == "2026-01-05T00:12:00Z"
    assert _request(server, "GET", state)[1]["protection"]["ProtectionEnabled"]
    other = tasks[None]["ECS_AGENT_URI"].removeprefix(server.url)
    status, body = _request(
        server,
        "PUT",
        f"{other}/task-protection/v1/state",
        json.dumps({"ProtectionEnabled": True}).encode(),
    )
    assert status == 200
    assert body["failure"]["Reason"] == "TASK_NOT_VALID"
    assert "protection" not in body
    status, body = _request(server, "PUT", state, b"{not json")
    assert status == 400
    assert body["error"]["Message"] == "UpdateTaskProtection: failed to decode request"
    status, body = _request(
        server,
        "PUT",
        state,
        json.dumps({"ProtectionEnabled": True, "ExpiresInMinutes": 3000}).encode(),
    )
    assert (status, body["error"]["Code"]) == (400, "InvalidParameterException")
    status, body = _request(
        server, "GET", "/api/0123456789abcdef/task-protection/v1/state"
    )
    assert status == 404
    assert body["error"]["Code"] == "ResourceNotFoundException"


def test_the_metadata_endpoint_describes_the_task(server: EcssimHttpServer) -> None:
    """``$ECS_CONTAINER_METADATA_URI_V4/task`` has the task's ARN, cluster,
    family, revision and zone, as the ECS API describes them."""
    server.app.clock.advance(120)
    ecs = _client(server)
    entry = next(t for t in server.app.tasks() if t["service"] == "transcoder")
    uri = entry["ECS_CONTAINER_METADATA_URI_V4"].removeprefix(server.url)
    status, doc = _request(server, "GET", f"{uri}/task")
    assert status == 200
    described = ecs.describe_tasks(cluster="media", tasks=[entry["taskArn"]])["tasks"][
        0
    ]
    assert doc["TaskARN"] == described["taskArn"]
    assert doc["Cluster"] == described["clusterArn"]
    assert doc["AvailabilityZone"] == described["availabilityZone"]
    assert (doc["Family"], doc["Revision"]) == ("transcoder", "1")
    assert doc["KnownStatus"] == "RUNNING"
    status, container = _request(server, "GET", uri)
    assert status == 200
    assert container["Labels"]["com.amazonaws.ecs.task-arn"] == entry["taskArn"]


def test_bad_requests_get_aws_errors_and_never_stop_the_server(
    server: EcssimHttpServer,
) -> None:
    """Malformed JSON, an unknown target, a missing target, an oversize body,
    a wrong type and unknown paths get the error AWS would send; the server
    still answers afterwards."""
    status, body = _aws(server, f"{ECS_TARGET}.ListClusters", b"{oops")
    assert status == 400
    assert body["__type"].endswith("SerializationException")
    status, body = _aws(server, f"{ECS_TARGET}.ListClusters", b"[1, 2]")
    assert status == 400
    assert body["__type"].endswith("SerializationException")
    status, body = _aws(server, f"{ECS_TARGET}.MakeCoffee", b"{}")
    assert status == 400
    assert body["__type"].endswith("UnknownOperationException")
    status, body = _aws(server, "NoSuchService_2024.ListClusters", b"{}")
    assert status == 400
    assert body["__type"].endswith("UnknownOperationException")
    status, body = _request(server, "POST", "/", b"{}")
    assert status == 400
    status, body = _aws(
        server,
        f"{ECS_TARGET}.UpdateTaskProtection",
        json.dumps({"cluster": 1}).encode(),
    )
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    status, body = _aws(server, f"{ECS_TARGET}.ListClusters", b" " * (2 * 1024 * 1024))
    assert status == 413
    status, body = _request(server, "GET", "/nowhere")
    assert status == 404
    status, body = _request(server, "GET", "/v4/nope/task")
    assert status == 404
    assert _client(server).list_clusters()["clusterArns"]


def test_loopback_only_by_default() -> None:
    """The server binds 127.0.0.1 by default; any other address is refused
    unless explicitly allowed."""
    with running_server(build(_scenario()), speed=None) as srv:
        assert srv.server_address[0] == "127.0.0.1"
        assert srv.url.startswith("http://127.0.0.1:")
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.com"):
        with pytest.raises(BindError, match="--bind"):
            check_bind(host, allow_remote=False)
    refused = running_server(build(_scenario()), speed=None, host="0.0.0.0")
    with pytest.raises(BindError):
        refused.__enter__()  # it refuses before binding anything
    assert check_bind("::1", allow_remote=False) == "::1"
    assert check_bind("0.0.0.0", allow_remote=True) == "0.0.0.0"


def test_the_control_endpoint_moves_and_shows_the_clock(
    server: EcssimHttpServer,
) -> None:
    """In manual mode only advance moves time; the summary is live."""
    status, clock = _request(server, "GET", "/_ecssim/clock")
    assert (status, clock["mode"], clock["now_s"]) == (200, "manual", 0.0)
    status, clock = _request(server, "POST", "/_ecssim/advance?seconds=90")
    assert (status, clock["now_s"]) == (200, 90.0)
    assert clock["now"] == "2026-01-05T00:01:30.000000Z"
    assert _request(server, "POST", "/_ecssim/advance?seconds=-1")[0] == 400
    assert _request(server, "POST", "/_ecssim/advance?seconds=nan")[0] == 400
    assert _request(server, "POST", "/_ecssim/resume")[0] == 409
    status, summary = _request(server, "GET", "/_ecssim/summary")
    assert status == 200
    assert summary["services"][0]["service"] == "transcoder"


def test_the_real_time_clock_runs_at_its_speed_and_pauses() -> None:
    """At 600x real time the simulated clock moves within a bounded wait;
    paused, it holds still; advance is refused while it runs by itself."""
    with running_server(build(_scenario()), speed=600.0) as srv:
        deadline = time.monotonic() + TIMEOUT_S
        while srv.app.clock.state()["now_s"] < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.app.clock.state()["now_s"] >= 60
        assert _request(srv, "POST", "/_ecssim/advance?seconds=5")[0] == 409
        status, paused = _request(srv, "POST", "/_ecssim/pause")
        assert (status, paused["mode"]) == (200, "paused")
        time.sleep(0.3)
        assert srv.app.clock.state()["now_s"] == paused["now_s"]
        assert _request(srv, "POST", "/_ecssim/resume")[1]["mode"] == "running"


def _queue_scenario() -> Scenario:
    """A queue service with no arrivals of its own and no running tasks, so
    only the test's SQS calls move messages."""
    return parse_scenario(
        {
            "name": "serve-sqs",
            "seed": 2,
            "duration": "6h",
            "cluster": {"name": "media"},
            "services": [
                {
                    "name": "transcoder",
                    "desired_count": 0,
                    "workload": {
                        "kind": "queue",
                        "arrivals": {"rate": "0.0001/h"},
                        "job_duration": {"distribution": "fixed", "value": "1m"},
                        "visibility_timeout": "10m",
                        "max_receive_count": 2,
                    },
                }
            ],
        }
    )


def test_sqs_on_the_simulated_clock() -> None:
    """SendMessage, ReceiveMessage (long polling on the simulated clock),
    ChangeMessageVisibility and DeleteMessage over SQS's JSON protocol: an
    undeleted message reappears when its visibility timeout runs out in
    simulated time, and a deleted one counts as completed."""
    model = build(_queue_scenario())
    with running_server(model, speed=None) as srv:
        sqs = _client(srv, "sqs")
        url = sqs.get_queue_url(QueueName="transcoder")["QueueUrl"]
        assert url == f"{srv.url}/123456789012/transcoder"
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"duration_s": 90}))
        first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"]
        assert json.loads(first[0]["Body"])["duration_s"] == 90
        assert sqs.receive_message(QueueUrl=url).get("Messages") is None
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
        srv.app.clock.advance(61)  # visibility timeout over: visible again
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
        assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=600
        )
        srv.app.clock.advance(120)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            sqs.get_queue_url(QueueName="nope")
        queue = model.services["transcoder"].queue
        assert queue is not None
        first_job = jobs_frame([queue]).iloc[0]
        assert (queue.completed, first_job["interruptions"]) == (1, 1)
        # a long poll returns as soon as simulated time brings a message
        results: list[Any] = []

        def poll() -> None:
            results.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20))

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.2)
        with srv.app.clock.lock:
            queue.arrive(30.0)
        srv.app.clock.advance(1)
        poller.join(TIMEOUT_S)
        assert not poller.is_alive()
        assert len(results[0]["Messages"]) == 1


def test_results_of_a_run_stopped_early_end_where_it_stopped() -> None:
    """A served scenario stopped after 65 minutes of 6 hours (Ctrl-C) counts a
    scale-in blocked by protection until then, not until the scenario's end."""
    scenario = parse_scenario(
        {
            "name": "early",
            "seed": 1,
            "duration": "6h",
            "services": [{"name": "s", "desired_count": 3}],
            "scheduled": [
                {"at": "10m", "action": "set_desired_count", "service": "s", "count": 1}
            ],
        }
    )
    model = build(scenario)
    model.sim.advance(300)
    ecs = model.sim.ecs
    arns = ecs.list_tasks(cluster=scenario.cluster.name)["taskArns"]
    ecs.update_task_protection(
        cluster=scenario.cluster.name,
        tasks=arns,
        protectionEnabled=True,
        expiresInMinutes=600,
    )
    model.sim.advance(3600)
    row = model.result().summary.iloc[0]
    assert row["scale_ins_blocked"] == 1
    # blocked from 10 min + the 15 s reaction delay to 65 min
    assert row["blocked_hours"] == pytest.approx((3900 - 615) / 3600)


def test_cloudwatch_metric_data_over_http(server: EcssimHttpServer) -> None:
    """A worker's custom metric goes in with PutMetricData and comes back from
    GetMetricStatistics on the simulated clock (CloudWatch's JSON protocol)."""
    cloudwatch = _client(server, "cloudwatch")
    metric = {"Namespace": "Transcoder", "MetricName": "Backlog"}
    cloudwatch.put_metric_data(
        Namespace="Transcoder", MetricData=[{"MetricName": "Backlog", "Value": 7.0}]
    )
    server.app.clock.advance(120)
    start = server.app.model.sim.start
    stats = cloudwatch.get_metric_statistics(
        **metric,
        StartTime=start,
        EndTime=server.app.model.sim.now,
        Period=60,
        Statistics=["Maximum"],
    )
    assert [p["Maximum"] for p in stats["Datapoints"]] == [7.0]
    with pytest.raises(ClientError):
        cloudwatch.put_metric_data(
            Namespace="AWS/ECS", MetricData=[{"MetricName": "x", "Value": 1.0}]
        )


def test_the_agent_endpoint_rate_limits_each_task(server: EcssimHttpServer) -> None:
    """With the simulated clock standing still, a task's 61st call in a burst
    gets the task metadata server's 429 (burst 60); another task is unaffected."""
    server.app.clock.advance(120)
    uris = [
        t["ECS_AGENT_URI"].removeprefix(server.url)
        for t in server.app.tasks()
        if t["service"] == "transcoder"
    ]
    first, second = (f"{uri}/task-protection/v1/state" for uri in uris[:2])
    statuses = [_request(server, "GET", first)[0] for _ in range(61)]
    assert statuses == [200] * 60 + [429]
    status, body = _request(server, "GET", first)
    assert (status, body["error"]["Code"]) == (429, "TooManyRequests")
    assert _request(server, "GET", second)[0] == 200


@pytest.mark.parametrize(
    ("code", "status", "answered"),
    [
        ("ThrottlingException", 400, "ThrottlingException"),
        ("ServerException", 500, "ServerException"),
        ("RequestTimeout", 504, "RequestCanceled"),
    ],
)
def test_injected_api_errors_reach_external_workers_on_the_agent_endpoint(
    code: str, status: int, answered: str
) -> None:
    """A scenario's protection_api_errors fault hits the agent endpoint over HTTP
    as it hits in-process workers: ECS's error passed through, or, for a call
    that times out, 504 RequestCanceled only once 4 simulated seconds passed;
    the protection is left as it was and the error is recorded."""
    raw = _scenario().model_dump(mode="json", by_alias=True, exclude_unset=True)
    raw["faults"] = [
        {"kind": "protection_api_errors", "probability": 1.0, "code": code}
    ]
    model = build(parse_scenario(raw))
    with running_server(model, speed=None) as server:
        server.app.clock.advance(120)
        uri = next(
            t["ECS_AGENT_URI"].removeprefix(server.url)
            for t in server.app.tasks()
            if t["service"] == "transcoder"
        )
        path = f"{uri}/task-protection/v1/state"
        body = json.dumps({"ProtectionEnabled": True}).encode()
        if code == "RequestTimeout":
            # the answer waits for the simulated clock: move it from another thread
            mover = threading.Timer(0.5, server.app.clock.advance, args=(5,))
            mover.start()
            started = model.sim.now_s
            answer = _request(server, "PUT", path, body)
            answered_at = model.sim.now_s  # before the mover is waited for
            mover.join()
            assert answered_at >= started + 4
        else:
            answer = _request(server, "PUT", path, body)
        assert answer[0] == status
        assert answer[1]["error"]["Code"] == answered
        get = _request(server, "GET", path)
        assert get[1]["protection"]["ProtectionEnabled"] is False
    errors = model.sim.events().query("kind == 'protection_call_error'")
    assert len(errors) == 1
