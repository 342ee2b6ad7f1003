"""UpdateTaskProtection and GetTaskProtection as DESIGN §4 specifies them.

Each test is one row of the modelling-decisions table (or one documented ECS
fact): durations, batch limits, per-task failures, expiry, throttling.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim import EcsSettings, Simulation

PREFIX = "arn:aws:ecs:us-east-1:123456789012"


def _sim(desired: int = 3, settings: EcsSettings | None = None) -> Simulation:
    """A cluster ``prod`` with a steady service ``api`` of *desired* tasks."""
    sim = Simulation(seed=11, settings=settings)
    sim.ecs.create_cluster(clusterName="prod")
    sim.ecs.register_task_definition(
        family="worker", containerDefinitions=[{"name": "app", "image": "worker"}]
    )
    sim.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition="worker", desiredCount=desired
    )
    sim.advance(127)  # steady at 100 s; 127 s keeps expiries off round numbers
    return sim


def _tasks(sim: Simulation, service: str = "api") -> list[str]:
    return sorted(sim.ecs.list_tasks(cluster="prod", serviceName=service)["taskArns"])


def _protect(sim: Simulation, tasks: list[str], **kwargs: Any) -> dict[str, Any]:
    return sim.ecs.update_task_protection(
        cluster="prod", tasks=tasks, protectionEnabled=True, **kwargs
    )


def _get(sim: Simulation, tasks: list[str] | None = None) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"cluster": "prod"}
    if tasks is not None:
        params["tasks"] = tasks
    response = sim.ecs.get_task_protection(**params)
    assert response["failures"] == []
    return response["protectedTasks"]


def _unprotected(arn: str) -> dict[str, Any]:
    return {"taskArn": arn, "protectionEnabled": False}


def _protected(arn: str, expires: Any) -> dict[str, Any]:
    return {"taskArn": arn, "protectionEnabled": True, "expirationDate": expires}


# ---- durations ----------------------------------------------------------------------
def test_default_expiry_is_120_minutes() -> None:
    """Enabling without expiresInMinutes protects for exactly two hours from now."""
    sim = _sim()
    arn = _tasks(sim)[0]
    response = _protect(sim, [arn])
    expected = [_protected(arn, sim.now + timedelta(hours=2))]
    assert response["protectedTasks"] == expected
    assert response["failures"] == []
    assert _get(sim, [arn]) == expected
    assert expected[0]["expirationDate"].tzinfo is not None


@pytest.mark.parametrize("minutes", [1, 60, 2880])
def test_durations_1_to_2880_are_accepted(minutes: int) -> None:
    """Any whole number of minutes in 1..2880 sets the expiry to now + that duration."""
    sim = _sim()
    arn = _tasks(sim)[0]
    response = _protect(sim, [arn], expiresInMinutes=minutes)
    assert response["protectedTasks"] == [
        _protected(arn, sim.now + timedelta(minutes=minutes))
    ]


@pytest.mark.parametrize("minutes", [0, 2881, -5])
def test_duration_out_of_range_fails_the_whole_call(minutes: int) -> None:
    """A duration outside 1..2880 raises InvalidParameterException and changes no task."""
    sim = _sim()
    arns = _tasks(sim)
    before = sim.events()
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException) as info:
        _protect(sim, arns[:2], expiresInMinutes=minutes)
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"
    assert str(minutes) in info.value.response["Error"]["Message"]
    assert _get(sim, arns) == [_unprotected(a) for a in arns]
    assert sim.events().equals(before)


def test_shorter_duration_resets_the_expiry() -> None:
    """Re-enabling with a shorter duration shortens the expiry (reset, not max)."""
    sim = _sim()
    arn = _tasks(sim)[0]
    _protect(sim, [arn], expiresInMinutes=600)
    sim.advance(60)
    response = _protect(sim, [arn], expiresInMinutes=5)
    assert response["protectedTasks"] == [
        _protected(arn, sim.now + timedelta(minutes=5))
    ]
    assert _get(sim, [arn]) == response["protectedTasks"]


def test_default_renewal_after_a_long_duration_also_resets() -> None:
    """Re-enabling without a duration after a 48-hour one resets to two hours."""
    sim = _sim()
    arn = _tasks(sim)[0]
    _protect(sim, [arn], expiresInMinutes=2880)
    response = _protect(sim, [arn])
    assert response["protectedTasks"] == [_protected(arn, sim.now + timedelta(hours=2))]


@pytest.mark.parametrize("minutes", [5, 0, 5000])
def test_duration_is_ignored_when_disabling(minutes: int) -> None:
    """expiresInMinutes sent with protectionEnabled=False is ignored, even out of range."""
    sim = _sim()
    arn = _tasks(sim)[0]
    _protect(sim, [arn])
    response = sim.ecs.update_task_protection(
        cluster="prod", tasks=[arn], protectionEnabled=False, expiresInMinutes=minutes
    )
    assert response["protectedTasks"] == [_unprotected(arn)]
    assert response["failures"] == []
    assert _get(sim, [arn]) == [_unprotected(arn)]


# ---- batch limits -------------------------------------------------------------------
def test_update_needs_1_to_10_tasks() -> None:
    """An empty task list or more than 10 tasks fails the whole update call."""
    sim = _sim(desired=3)
    arns = _tasks(sim)
    for tasks in ([], [*arns, *(f"{i:032x}" for i in range(8))]):
        with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
            _protect(sim, tasks)
    assert _get(sim, arns) == [_unprotected(a) for a in arns]
    ten = [*arns, *(f"{i:032x}" for i in range(7))]
    response = _protect(sim, ten)
    assert len(response["protectedTasks"]) == 3
    assert [f["reason"] for f in response["failures"]] == ["MISSING"] * 7


def test_get_accepts_at_most_100_tasks() -> None:
    """GetTaskProtection with 101 tasks fails; 100 are answered one by one."""
    sim = _sim(desired=1)
    [arn] = _tasks(sim)
    unknown = [f"{i:032x}" for i in range(100)]
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.get_task_protection(cluster="prod", tasks=[arn, *unknown])
    response = sim.ecs.get_task_protection(cluster="prod", tasks=[arn, *unknown[:99]])
    assert response["protectedTasks"] == [_unprotected(arn)]
    assert len(response["failures"]) == 99
    with pytest.raises(sim.ecs.exceptions.InvalidParameterException):
        sim.ecs.get_task_protection(cluster="prod", tasks=[])


# ---- naming tasks -------------------------------------------------------------------
def test_task_ids_and_arns_are_both_accepted() -> None:
    """A task can be named by its id or its ARN; responses always carry the ARN."""
    sim = _sim()
    first, second, _ = _tasks(sim)
    response = _protect(sim, [first.rsplit("/", 1)[1], second], expiresInMinutes=30)
    expires = sim.now + timedelta(minutes=30)
    assert response["protectedTasks"] == [
        _protected(first, expires),
        _protected(second, expires),
    ]
    assert _get(sim, [first, second.rsplit("/", 1)[1]]) == response["protectedTasks"]


def test_unknown_task_and_task_of_another_cluster_are_missing() -> None:
    """An unknown task or another cluster's task is a MISSING failure with a full ARN."""
    sim = _sim(desired=1)
    sim.ecs.create_cluster(clusterName="other")
    sim.ecs.create_service(
        cluster="other", serviceName="api", taskDefinition="worker", desiredCount=1
    )
    sim.advance(60)
    [foreign] = sim.ecs.list_tasks(cluster="other")["taskArns"]
    foreign_id = foreign.rsplit("/", 1)[1]
    unknown = "a" * 32
    expected = [
        {"arn": f"{PREFIX}:task/prod/{unknown}", "reason": "MISSING"},
        {"arn": foreign, "reason": "MISSING"},
        {"arn": f"{PREFIX}:task/prod/{foreign_id}", "reason": "MISSING"},
    ]
    refs = [unknown, foreign, foreign_id]
    update = _protect(sim, refs)
    assert update["protectedTasks"] == []
    assert update["failures"] == expected
    get = sim.ecs.get_task_protection(cluster="prod", tasks=refs)
    assert get["protectedTasks"] == []
    assert get["failures"] == expected
    other = sim.ecs.get_task_protection(cluster="other", tasks=[foreign])
    assert other["protectedTasks"] == [_unprotected(foreign)]


def test_standalone_task_is_not_valid() -> None:
    """A task started by RunTask is TASK_NOT_VALID for Update and Get."""
    sim = _sim(desired=1)
    [task] = sim.ecs.run_task(cluster="prod", taskDefinition="worker")["tasks"]
    sim.advance(60)
    arn = task["taskArn"]
    expected = [{"arn": arn, "reason": "TASK_NOT_VALID"}]
    for enabled in (True, False):
        update = sim.ecs.update_task_protection(
            cluster="prod", tasks=[arn], protectionEnabled=enabled
        )
        assert (update["protectedTasks"], update["failures"]) == ([], expected)
    get = sim.ecs.get_task_protection(cluster="prod", tasks=[arn])
    assert (get["protectedTasks"], get["failures"]) == ([], expected)


def test_enabling_on_a_stopping_or_stopped_task_is_not_valid() -> None:
    """Enabling protection on a task being stopped, or stopped, is TASK_NOT_VALID."""
    sim = _sim(desired=2)
    arn = _tasks(sim)[0]
    sim.ecs.stop_task(cluster="prod", task=arn)
    expected = [{"arn": arn, "reason": "TASK_NOT_VALID"}]
    stopping = _protect(sim, [arn])
    assert (stopping["protectedTasks"], stopping["failures"]) == ([], expected)
    sim.advance(0.5)
    [described] = sim.ecs.describe_tasks(cluster="prod", tasks=[arn])["tasks"]
    assert described["lastStatus"] == "STOPPING"
    assert _protect(sim, [arn])["failures"] == expected
    sim.advance(60)
    [described] = sim.ecs.describe_tasks(cluster="prod", tasks=[arn])["tasks"]
    assert described["lastStatus"] == "STOPPED"
    assert _protect(sim, [arn])["failures"] == expected


# ---- DEPLOYMENT_BLOCKED -----------------------------------------------------------
def test_deployment_blocked_when_protected_would_exceed_desired() -> None:
    """Enabling protection that would leave more protected tasks than the desired
    count fails per task with DEPLOYMENT_BLOCKED; the rest of the batch succeeds."""
    sim = _sim(desired=3)
    arns = _tasks(sim)
    sim.ecs.update_service(cluster="prod", service="api", desiredCount=2)
    response = _protect(sim, arns, expiresInMinutes=10)
    expires = sim.now + timedelta(minutes=10)
    assert response["protectedTasks"] == [_protected(a, expires) for a in arns[:2]]
    assert response["failures"] == [{"arn": arns[2], "reason": "DEPLOYMENT_BLOCKED"}]
    assert _get(sim, [arns[2]]) == [_unprotected(arns[2])]


def test_renewals_of_protected_tasks_are_accepted_above_the_desired_count() -> None:
    """Renewing a task that is protected now succeeds although the service has
    more protected tasks than desired (AWS's sample relies on it); protecting a
    task that is not protected now is refused; once a task's protection was
    cleared, protecting it again is a new protection, and refused."""
    sim = _sim(desired=3)
    arns = _tasks(sim)
    assert _protect(sim, arns)["failures"] == []
    sim.ecs.update_service(cluster="prod", service="api", desiredCount=1)
    sim.advance(30)
    renewal = _protect(sim, [arns[0]], expiresInMinutes=30)
    assert renewal["failures"] == []
    assert renewal["protectedTasks"] == [
        _protected(arns[0], sim.now + timedelta(minutes=30))
    ]
    sim.ecs.update_task_protection(
        cluster="prod", tasks=[arns[1]], protectionEnabled=False
    )
    again = _protect(sim, [arns[1]], expiresInMinutes=30)
    assert again["failures"] == [{"arn": arns[1], "reason": "DEPLOYMENT_BLOCKED"}]
    assert _get(sim, [arns[1]]) == [_unprotected(arns[1])]


def test_renewals_are_refused_too_under_refuse_renewals_too() -> None:
    """Under deployment_blocked="refuse_renewals_too", once the desired count drops
    below the protected tasks renewing fails too; within the desired count it
    succeeds; a rejected renewal leaves the earlier protection untouched."""
    sim = _sim(
        desired=3, settings=EcsSettings(deployment_blocked="refuse_renewals_too")
    )
    arns = _tasks(sim)
    assert _protect(sim, arns)["failures"] == []
    renewal = _protect(sim, [arns[0]], expiresInMinutes=30)
    assert renewal["protectedTasks"] == [
        _protected(arns[0], sim.now + timedelta(minutes=30))
    ]
    sim.ecs.update_service(cluster="prod", service="api", desiredCount=1)
    sim.advance(30)
    blocked = _protect(sim, [arns[0]], expiresInMinutes=30)
    assert blocked["protectedTasks"] == []
    assert blocked["failures"] == [{"arn": arns[0], "reason": "DEPLOYMENT_BLOCKED"}]
    assert _get(sim, [arns[0]]) == renewal["protectedTasks"]


def test_renewals_are_refused_after_blocking_a_scale_in_for_too_long() -> None:
    """With refuse_renewals_after, a task that has blocked a scale-in that long gets
    DEPLOYMENT_BLOCKED on renewal, and the scheduler then stops it once its
    protection lapses; before that threshold its renewals are accepted."""
    sim = _sim(desired=1, settings=EcsSettings(refuse_renewals_after_s=600))
    [arn] = _tasks(sim)
    assert _protect(sim, [arn], expiresInMinutes=5)["failures"] == []
    sim.ecs.update_service(cluster="prod", service="api", desiredCount=0)
    blocked_at = sim.now_s + 15  # the scheduler's reaction delay
    renewals = []
    while True:
        sim.advance(240)
        response = _protect(sim, [arn], expiresInMinutes=5)
        renewals.append((sim.now_s - blocked_at, response["failures"]))
        if response["failures"]:
            break
    *accepted, (refused_at, failures) = renewals
    assert len(accepted) == 2
    assert all(not f and t < 600 for t, f in accepted)
    assert 600 <= refused_at < 600 + 240
    assert failures == [{"arn": arn, "reason": "DEPLOYMENT_BLOCKED"}]
    assert _tasks(sim) == [arn]
    sim.advance(5 * 60 + 30)  # the last renewal lapses; the scheduler stops it
    assert _tasks(sim) == []


def test_deployment_blocked_can_be_ignored() -> None:
    """With deployment_blocked="ignore" protection beyond the desired count is accepted."""
    sim = _sim(desired=3, settings=EcsSettings(deployment_blocked="ignore"))
    arns = _tasks(sim)
    sim.ecs.update_service(cluster="prod", service="api", desiredCount=1)
    response = _protect(sim, arns)
    assert response["failures"] == []
    assert [t["protectionEnabled"] for t in response["protectedTasks"]] == [True] * 3


def test_mixed_batch_returns_protected_tasks_and_failures() -> None:
    """One call can protect some tasks and report failures for others, in order."""
    sim = _sim(desired=2)
    good = _tasks(sim)[0]
    [standalone] = sim.ecs.run_task(cluster="prod", taskDefinition="worker")["tasks"]
    response = _protect(sim, [good, "b" * 32, standalone["taskArn"]])
    assert response["protectedTasks"] == [
        _protected(good, sim.now + timedelta(hours=2))
    ]
    assert response["failures"] == [
        {"arn": f"{PREFIX}:task/prod/{'b' * 32}", "reason": "MISSING"},
        {"arn": standalone["taskArn"], "reason": "TASK_NOT_VALID"},
    ]


# ---- reading protection -------------------------------------------------------------
def test_unprotected_task_has_no_expiration_date() -> None:
    """An unprotected task reads protectionEnabled False with no expirationDate key."""
    sim = _sim(desired=1)
    [arn] = _tasks(sim)
    assert _get(sim, [arn]) == [{"taskArn": arn, "protectionEnabled": False}]


def test_protection_expires_lazily() -> None:
    """Protection is active until its expiry and reads as unprotected right after."""
    sim = _sim(desired=1)
    [arn] = _tasks(sim)
    expires = sim.now + timedelta(minutes=1)
    _protect(sim, [arn], expiresInMinutes=1)
    sim.advance(59.5)
    assert _get(sim, [arn]) == [_protected(arn, expires)]
    sim.advance(0.5)
    assert sim.now == expires
    assert _get(sim, [arn]) == [_unprotected(arn)]


def test_disabling_clears_protection() -> None:
    """protectionEnabled=False clears protection at once."""
    sim = _sim(desired=1)
    [arn] = _tasks(sim)
    _protect(sim, [arn])
    response = sim.ecs.update_task_protection(
        cluster="prod", tasks=[arn], protectionEnabled=False
    )
    assert response["protectedTasks"] == [_unprotected(arn)]
    assert _get(sim, [arn]) == [_unprotected(arn)]


def test_get_without_tasks_lists_every_non_stopped_service_task() -> None:
    """GetTaskProtection without tasks answers for every non-stopped task of the
    cluster's services, and not for standalone or stopped tasks."""
    sim = _sim(desired=2)
    sim.ecs.create_service(
        cluster="prod", serviceName="batch", taskDefinition="worker", desiredCount=1
    )
    sim.ecs.run_task(cluster="prod", taskDefinition="worker")
    api = _tasks(sim, "api")
    sim.ecs.stop_task(cluster="prod", task=api[0])
    sim.advance(120)
    _protect(sim, [api[1]], expiresInMinutes=10)
    expires = sim.now + timedelta(minutes=10)
    live = sorted(
        sim.ecs.list_tasks(cluster="prod", serviceName="api")["taskArns"]
        + sim.ecs.list_tasks(cluster="prod", serviceName="batch")["taskArns"]
    )
    assert api[0] not in live
    assert len(live) == 3
    everything = sorted(_get(sim), key=lambda t: t["taskArn"])
    assert everything == [
        _protected(a, expires) if a == api[1] else _unprotected(a) for a in live
    ]


# ---- throttling ---------------------------------------------------------------------
def test_throttling_when_the_token_bucket_is_empty() -> None:
    """With a bucket of 2 refilled at 1/s the third call at once is throttled (a plain
    ClientError, nothing changed) and a call a second later succeeds."""
    sim = _sim(
        desired=3,
        settings=EcsSettings(protection_api_rate_per_s=1, protection_api_burst=2),
    )
    a, b, c = _tasks(sim)
    _protect(sim, [a])
    _protect(sim, [b])
    with pytest.raises(ClientError) as info:
        _protect(sim, [c])
    assert type(info.value) is ClientError
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert info.value.operation_name == "UpdateTaskProtection"
    assert _get(sim, [c]) == [_unprotected(c)]
    sim.advance(1)
    assert _protect(sim, [c])["failures"] == []
    assert _get(sim, [c]) == [_protected(c, sim.now + timedelta(hours=2))]


# ---- the workers' path ----------------------------------------------------------------
_STEP = st.tuples(
    st.integers(0, 2),  # which task
    st.booleans(),  # enable or disable
    st.sampled_from([None, 1, 5, 30, 2880]),  # expiresInMinutes
    st.sampled_from([0.0, 0.5, 59.0, 300.0, 1801.0]),  # seconds before the call
    st.sampled_from([None, 0, 1, 3]),  # a new desired count first (None: none)
)


def _call_public(sim: Simulation, arn: str, enabled: bool, minutes: int | None) -> Any:
    """The reason of the call through UpdateTaskProtection (None: it applied)."""
    extra = {} if minutes is None else {"expiresInMinutes": minutes}
    try:
        answer = sim.ecs.update_task_protection(
            cluster="prod", tasks=[arn], protectionEnabled=enabled, **extra
        )
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    failures = answer["failures"]
    return failures[0]["reason"] if failures else None


def _call_internal(
    sim: Simulation, arn: str, enabled: bool, minutes: int | None
) -> Any:
    """The reason of the call as a worker makes it (token, then protect_task)."""
    cluster = sim.backend.find_cluster("prod")
    assert cluster is not None
    task = sim.backend.find_task(cluster, arn)
    assert task is not None
    try:
        sim.ecs.take_protection_token(task, sim.now_s)
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return sim.ecs.protect_task(task, enabled, minutes, sim.now_s)


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(_STEP, min_size=1, max_size=12))
def test_the_workers_path_does_what_update_task_protection_does(
    steps: list[tuple[int, bool, int | None, float, int | None]],
) -> None:
    """take_protection_token + protect_task (the workers' calls) give the same
    reasons, protection and records as UpdateTaskProtection, over any sequence of
    enables, disables, renewals, expiries and desired-count changes."""
    public, internal = _sim(), _sim()
    arns = _tasks(public)
    assert arns == _tasks(internal)
    for index, enabled, minutes, wait_s, desired in steps:
        for sim, call in ((public, _call_public), (internal, _call_internal)):
            sim.advance(wait_s)
            if desired is not None:
                sim.ecs.update_service(
                    cluster="prod", service="api", desiredCount=desired
                )
            live = _tasks(sim)
            arn = arns[index]
            reason = call(sim, arn, enabled, minutes) if arn in live else "gone"
            if sim is public:
                expected = reason
        assert reason == expected
        got = internal.ecs.get_task_protection(cluster="prod", tasks=arns)
        want = public.ecs.get_task_protection(cluster="prod", tasks=arns)
        assert got["protectedTasks"] == want["protectedTasks"]
        assert got["failures"] == want["failures"]
    assert list(internal.recorder.records()) == list(public.recorder.records())
