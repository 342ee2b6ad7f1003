"""``Simulation``: a simulated AWS account and region with a fast-forward clock.

This is the one place that builds a SimPy environment and seeds the random
streams. ``sim.ecs`` is a boto3-shaped ECS client; ``sim.advance(seconds)``
moves simulated time forward. Everything that happens is recorded and checked
against the invariants as it happens.
"""

from __future__ import annotations

import contextlib
import gc
import math
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pandas as pd
from botocore.client import BaseClient

from ecssim.aws.autoscaling_groups import AutoScalingBackend, AutoScalingClient
from ecssim.aws.bridge import real_client
from ecssim.aws.ecs import EcsClient
from ecssim.aws.state import EcsBackend
from ecssim.config import EcsSettings
from ecssim.results.recorder import Recorder
from ecssim.rng import Streams
from ecssim.rules.invariants import CHECKED_KINDS, check_record
from ecssim.rules.scaling import ScalingSettings
from ecssim.sim.asg import Ec2Capacity
from ecssim.sim.autoscaler import Autoscaler
from ecssim.sim.engine import Engine, run_until
from ecssim.sim.world import World
from ecssim.units import parse_duration

DEFAULT_START: Final = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DEFAULT_REGION: Final = "us-east-1"
DEFAULT_ACCOUNT_ID: Final = "123456789012"


#: The youngest generation's collection threshold while a simulation runs.
GC_THRESHOLD_WHILE_RUNNING: Final = 20_000


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect cyclic garbage less often while a model runs or its results are built.

    Both allocate many objects that reference counting frees (events) or that
    live to the end (records, jobs); Python's default threshold (700) runs the
    cyclic collector so often that it takes a tenth of a long run. The
    threshold is restored afterwards; collections still happen, less often.
    """
    threshold = gc.get_threshold()
    raised = threshold[0] < GC_THRESHOLD_WHILE_RUNNING
    if raised:
        gc.set_threshold(GC_THRESHOLD_WHILE_RUNNING, *threshold[1:])
    try:
        yield
    finally:
        if raised:
            gc.set_threshold(*threshold)


class Simulation:
    """A simulated AWS account/region: ECS with its service scheduler, on a clock.

    Args:
        seed: the one seed every random choice derives from.
        start: the simulated wall-clock time at t=0 (timezone-aware).
        region: the region in ARNs.
        account_id: the 12-digit account id in ARNs.
        availability_zones: the zones tasks spread over (default: three zones
            of *region*).
        settings: the ECS behaviour knobs (DESIGN §4).
        scaling_settings: the Service Auto Scaling knobs (DESIGN §4).

    Example:
        >>> sim = Simulation(seed=1)
        >>> sim.ecs.create_cluster(clusterName="demo")["cluster"]["status"]
        'ACTIVE'
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        start: datetime = DEFAULT_START,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        availability_zones: Sequence[str] | None = None,
        settings: EcsSettings | None = None,
        scaling_settings: ScalingSettings | None = None,
    ) -> None:
        if not isinstance(start, datetime) or start.tzinfo is None:
            raise ValueError(f"start must be a timezone-aware datetime, got {start!r}")
        if not (len(account_id) == 12 and account_id.isdigit()):
            raise ValueError(f"account_id must be 12 digits, got {account_id!r}")
        zones = tuple(
            availability_zones
            if availability_zones is not None
            else (f"{region}a", f"{region}b", f"{region}c")
        )
        if not zones or len(set(zones)) != len(zones):
            raise ValueError(
                f"availability_zones must be distinct and not empty, got {zones!r}"
            )
        self.start = start
        self.settings = settings if settings is not None else EcsSettings()
        self.env = Engine()
        self.streams = Streams(seed)
        self.recorder = Recorder(start)
        self._record = self.recorder.record
        self.backend = EcsBackend(
            clock=lambda: float(self.env.now),
            new_id=self.streams.hex_id,
            new_uuid=self.streams.uuid,
            region=region,
            account_id=account_id,
            availability_zones=zones,
            stopped_task_retention_s=self.settings.stopped_task_retention_s,
        )
        self.backend.observe(self._observe)
        self.world = World(self.env, self.backend, self.settings, self.streams)
        #: The boto3-shaped ECS client.
        self.ecs = EcsClient(
            self.backend, self.settings, epoch=start, request_id=self.streams.request_id
        )
        # Service Auto Scaling: metrics, CloudWatch alarms, Application Auto Scaling
        self.scaling_settings = (
            scaling_settings if scaling_settings is not None else ScalingSettings()
        )
        self.autoscaler = Autoscaler(
            self.env,
            self.backend,
            self.scaling_settings,
            epoch=start,
            request_id=self.streams.request_id,
            ids=self.streams.for_key("ids", "autoscaling"),
        )
        #: The 1-minute metric store and its sources (``set_service_utilization``).
        self.metrics = self.autoscaler.metrics
        #: The boto3-shaped CloudWatch client.
        self.cloudwatch = self.autoscaler.cloudwatch_client
        #: The boto3-shaped Application Auto Scaling client.
        self.application_autoscaling = self.autoscaler.client
        # EC2 Auto Scaling groups and ECS cluster auto scaling
        asg_ids = self.streams.for_key("ids", "autoscaling-groups")
        self.auto_scaling_groups = AutoScalingBackend(
            clock=lambda: float(self.env.now),
            new_uuid=lambda: str(uuid.UUID(bytes=asg_ids.bytes(16), version=4)),
            region=region,
            account_id=account_id,
            availability_zones=zones,
            record=self.backend.record,
        )
        #: The boto3-shaped EC2 Auto Scaling client.
        self.autoscaling = AutoScalingClient(
            self.auto_scaling_groups, epoch=start, request_id=self.streams.request_id
        )
        #: The Auto Scaling groups' processes and ECS managed scaling.
        self.ec2 = Ec2Capacity(
            self.env,
            asgs=self.auto_scaling_groups,
            client=self.autoscaling,
            ecs=self.ecs,
            ecs_backend=self.backend,
            world=self.world,
            rng=self.streams.for_key("faults", "autoscaling-groups"),
        )

    @property
    def seed(self) -> int:
        """The seed of this simulation."""
        return self.streams.seed

    @property
    def now_s(self) -> float:
        """Simulated seconds since ``start``."""
        return float(self.env.now)

    @property
    def now(self) -> datetime:
        """The simulated time, timezone-aware."""
        return self.start + timedelta(seconds=self.now_s)

    def advance(self, seconds: float | str | timedelta) -> None:
        """Run the simulation *seconds* of simulated time forward.

        *seconds* is a number of seconds, a duration as in scenario files
        (``"2m"``, ``"1h30m"``) or a :class:`~datetime.timedelta`. Everything due
        up to and including the new time has happened when it returns.

        Raises:
            TypeError: *seconds* is none of these.
            ValueError: *seconds* is negative, not a finite number, or a string
                that is not a duration.
        """
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        elif isinstance(seconds, str):
            seconds = parse_duration(seconds)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(
                f"seconds must be a number, a duration such as '2m' or a "
                f"timedelta, got {seconds!r}"
            )
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be finite and >= 0, got {seconds!r}")
        if seconds > 0:
            # everything due by now + seconds happens, the events due at exactly
            # that time included
            with fewer_collections():
                run_until(self.env, self.env.now + seconds)

    def advance_to(self, when: datetime) -> None:
        """Run the simulation until the simulated time *when*."""
        self.advance(max(0.0, (when - self.now).total_seconds()))

    def client(self, service_name: str) -> BaseClient:
        """A real botocore client (what ``boto3.client`` returns) answered by
        this simulation: run your own boto3 code against it unchanged.

        Args:
            service_name: ``"ecs"``, ``"application-autoscaling"``, ``"autoscaling"`` or
                ``"cloudwatch"``.

        Raises:
            ValueError: a service the simulation does not have.
        """
        targets = {
            "ecs": self.ecs,
            "application-autoscaling": self.application_autoscaling,
            "autoscaling": self.autoscaling,
            "cloudwatch": self.cloudwatch,
        }
        if service_name not in targets:
            raise ValueError(
                f"the simulation has no {service_name!r} service; it has "
                f"{', '.join(sorted(targets))}"
            )
        return real_client(targets[service_name], self.backend.region)

    def fail_task_starts(
        self, task_definition: str, reason: str = "CannotPullContainerError"
    ) -> None:
        """Make every task of *task_definition* fail to start from now on (a fault).

        Args:
            task_definition: ``family:revision`` or the task definition's ARN.
            reason: the ``stoppedReason`` the failed tasks report.

        Raises:
            KeyError: no such task definition revision.
        """
        td = self.backend.find_task_definition(task_definition)
        if td is None or ":" not in task_definition:
            raise KeyError(f"no task definition revision {task_definition!r}")
        td.fails_to_start = reason

    def events(self) -> pd.DataFrame:
        """Everything recorded so far, one row per event (tidy)."""
        return self.recorder.events_frame()

    def _observe(self, kind: str, fields: dict[str, Any]) -> None:
        now = self.env._now  # SimPy's clock without its property (once per record)
        if kind in CHECKED_KINDS:
            check_record(kind, fields, now)
        self._record(now, kind, fields)
