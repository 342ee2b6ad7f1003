"""A minimal CloudWatch: the 1-minute metric store, metric alarms, and a
boto3-shaped client.

The store keeps one statistic set (SampleCount, Sum, Minimum, Maximum) per
metric per simulated minute; minute *k* covers ``[60k, 60k + 60)`` seconds of
simulated time and is stamped with its start. Data arrives two ways:

* pushed: ``put_metric_data`` (the client), stored in the minute of its
  ``Timestamp`` (default: now);
* pulled: a *source* is a function of the simulated time in seconds. The
  process layer samples every source once a minute, at the minute's end (the
  function gets ``60k + 60`` for minute *k*), while at least one alarm exists;
  without alarms nothing is sampled and nothing costs time. A source returns the
  minute's value, or None for "no datapoint". :meth:`MetricStore.set_source`
  registers one for a custom metric and
  :meth:`MetricStore.set_service_utilization` for ECS's predefined
  ``AWS/ECS`` ``CPUUtilization`` / ``MemoryUtilization`` (dimensions
  ``ClusterName``, ``ServiceName``): the average utilisation of the service's
  RUNNING tasks, so a service with no RUNNING task reports no datapoint, as in
  ECS. :func:`from_series` turns a recorded time series into a source.

Alarms are evaluated by :meth:`CloudWatchBackend.evaluate_alarms` (the process
layer calls it after each sample) with the pure rules of
:mod:`ecssim.rules.scaling`; every state change is recorded as
``alarm_state_changed``. No SimPy here.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from botocore.utils import parse_timestamp

from ecssim.aws.errors import BotoShapedClient, ClientError
from ecssim.errors import ScenarioError
from ecssim.rules.alarms import (
    COMPARISON_OPERATORS,
    STATISTICS,
    TREAT_MISSING_DATA,
    AlarmState,
    evaluate_alarm,
    state_reason,
)

MINUTE_S: Final = 60.0
ECS_NAMESPACE: Final = "AWS/ECS"
MAX_METRIC_DATA: Final = 1000
MAX_DATAPOINTS: Final = 1440
FUTURE_LIMIT_S: Final = 2 * 3600.0

Response = dict[str, Any]
Source = Callable[[float], float | None]
Dimensions = tuple[tuple[str, str], ...]
MetricKey = tuple[str, str, Dimensions]


def metric_key(
    namespace: str, metric_name: str, dimensions: Mapping[str, str]
) -> MetricKey:
    """The identity of a metric: namespace, name and its exact dimension set."""
    return namespace, metric_name, tuple(sorted(dimensions.items()))


def from_series(
    times_s: Sequence[float], values: Sequence[float | None]
) -> Callable[[float], float | None]:
    """A step-function source built from a time series.

    The source returns the value of the last point strictly before the time it
    is asked about (None before the first point), so a source sampled at the
    end of minute *k* reports the value in force during that minute.

    Example:
        >>> busy = from_series([0, 600, 1200], [20.0, 90.0, 20.0])
        >>> busy(60.0), busy(660.0), busy(1260.0)
        (20.0, 90.0, 20.0)

    Raises:
        ValueError: the lengths differ, or the times are not increasing finite
            numbers.
    """
    times = [float(t) for t in times_s]
    points = list(values)
    if len(times) != len(points):
        raise ValueError(
            f"times_s has {len(times)} entries but values has {len(points)}"
        )
    if any(not math.isfinite(t) for t in times) or any(
        b <= a for a, b in itertools.pairwise(times)
    ):
        raise ValueError(f"times_s must be increasing finite numbers, got {times_s!r}")

    def source(t: float) -> float | None:
        i = bisect.bisect_left(times, t)
        return None if i == 0 else points[i - 1]

    return source


@dataclass(frozen=True, slots=True)
class StatSet:
    """The statistics of one metric over one period."""

    sample_count: float
    sum: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, value: float, count: float = 1.0) -> StatSet:
        """*count* samples of *value*."""
        return cls(count, value * count, value, value)

    def combine(self, other: StatSet) -> StatSet:
        """The statistics of both periods together."""
        return StatSet(
            self.sample_count + other.sample_count,
            self.sum + other.sum,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
        )

    def value(self, statistic: str) -> float:
        """One statistic: SampleCount, Average, Sum, Minimum or Maximum."""
        if statistic == "Average":
            return self.sum / self.sample_count if self.sample_count else 0.0
        if statistic == "Sum":
            return self.sum
        if statistic == "SampleCount":
            return self.sample_count
        if statistic == "Minimum":
            return self.minimum
        if statistic == "Maximum":
            return self.maximum
        raise ScenarioError(
            f"Statistic: {statistic!r} is not one of {', '.join(STATISTICS)}"
        )


class MetricStore:
    """Metric datapoints at 1-minute resolution, and the sources that feed them.

    Args:
        running_tasks: the RUNNING count of an ECS service by (cluster, service)
            name; predefined ECS metrics report no datapoint while it is 0.
    """

    from_series = staticmethod(from_series)

    def __init__(self, running_tasks: Callable[[str, str], int]) -> None:
        self._running_tasks = running_tasks
        self._data: dict[MetricKey, dict[int, StatSet]] = {}
        self._sources: dict[MetricKey, Source] = {}

    # ---- sources -----------------------------------------------------------
    def set_source(
        self,
        namespace: str,
        metric_name: str,
        dimensions: Mapping[str, str],
        fn: Source | None,
    ) -> None:
        """Feed a metric from *fn* (the simulated time in seconds at the end of
        each minute -> the minute's value, or None for no datapoint); None
        removes the source."""
        if not namespace or not metric_name:
            raise ValueError(
                f"namespace {namespace!r} and metric_name {metric_name!r} must not "
                "be empty"
            )
        key = metric_key(namespace, metric_name, dimensions)
        if fn is None:
            self._sources.pop(key, None)
        elif not callable(fn):
            raise TypeError(
                f"the source of {metric_name!r} must be callable, got {fn!r}"
            )
        else:
            self._sources[key] = fn

    def set_service_utilization(
        self,
        cluster: str,
        service: str,
        cpu: Source | None = None,
        memory: Source | None = None,
    ) -> None:
        """Feed ``AWS/ECS`` ``CPUUtilization`` / ``MemoryUtilization`` of a
        service: each function returns the minute's average percent over the
        service's RUNNING tasks (or None). A service with no RUNNING task at the
        minute's end reports no datapoint whatever the function says. Passing
        None removes that metric's source."""
        dims = {"ClusterName": cluster, "ServiceName": service}
        for name, fn in (("CPUUtilization", cpu), ("MemoryUtilization", memory)):
            self.set_source(
                ECS_NAMESPACE, name, dims, self._ecs_source(cluster, service, fn)
            )

    def _ecs_source(
        self, cluster: str, service: str, fn: Source | None
    ) -> Source | None:
        if fn is None:
            return None

        def source(t: float) -> float | None:
            if self._running_tasks(cluster, service) == 0:
                return None
            return fn(t)

        return source

    @property
    def sources(self) -> tuple[MetricKey, ...]:
        """The metrics fed by a source."""
        return tuple(self._sources)

    def sample(self, minute: int) -> None:
        """Ask every source for minute *minute* (called at that minute's end).

        Raises:
            ValueError: a source returned something that is not a finite number.
        """
        end_s = (minute + 1) * MINUTE_S
        for key, fn in list(self._sources.items()):
            value = fn(end_s)
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (math.isfinite(value))
            ):
                raise ValueError(
                    f"the source of metric {key[0]}/{key[1]} {dict(key[2])} returned "
                    f"{value!r} at t={end_s:g}s; expected a finite number or None"
                )
            self.put(key, minute, StatSet.of(float(value)))

    # ---- data ------------------------------------------------------------------
    def put(self, key: MetricKey, minute: int, stats: StatSet) -> None:
        """Add *stats* to the metric's minute *minute*."""
        series = self._data.setdefault(key, {})
        old = series.get(minute)
        series[minute] = stats if old is None else old.combine(stats)

    def period_stats(
        self, key: MetricKey, first_minute: int, minutes: int
    ) -> StatSet | None:
        """The statistics of *minutes* minutes from *first_minute* together."""
        series = self._data.get(key)
        if series is None:
            return None
        total: StatSet | None = None
        for minute in range(first_minute, first_minute + minutes):
            stats = series.get(minute)
            if stats is not None:
                total = stats if total is None else total.combine(stats)
        return total

    def window(
        self, key: MetricKey, statistic: str, period_s: int, periods: int, end_s: float
    ) -> list[float | None]:
        """The last *periods* complete periods before *end_s*, oldest first.

        Periods are aligned on multiples of *period_s* from the simulation start;
        each is the *statistic* of its minutes, or None without data.
        """
        per = max(1, period_s // int(MINUTE_S))
        last = math.floor(end_s / period_s) - 1
        values: list[float | None] = []
        series = self._data.get(key)
        if series is None:
            return [None] * periods
        first = last - periods + 1
        if per == 1 and first >= 0:
            # one-minute periods after the start (the usual case): each period
            # is its minute, read straight from the series
            found = map(series.get, range(first, last + 1))
            return [None if s is None else s.value(statistic) for s in found]
        for index in range(first, last + 1):
            if index < 0:
                stats = None
            elif per == 1:
                stats = series.get(index)  # one-minute periods: the minute itself
            else:
                stats = self.period_stats(key, index * per, per)
            values.append(None if stats is None else stats.value(statistic))
        return values


@dataclass(eq=False)
class MetricAlarm:
    """A CloudWatch metric alarm (user-owned, or managed by a target-tracking
    policy: then ``managed_by`` is the policy's ARN)."""

    name: str
    arn: str
    namespace: str
    metric_name: str
    dimensions: Dimensions
    statistic: str
    period_s: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str = "missing"
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()
    actions_enabled: bool = True
    description: str | None = None
    unit: str | None = None
    managed_by: str | None = None
    state: AlarmState = "INSUFFICIENT_DATA"
    state_reason: str = "Unchecked: Initial alarm creation"
    state_updated_at: float = 0.0
    configured_at: float = 0.0
    #: the datapoints of the last evaluation, oldest first
    last_window: tuple[float | None, ...] = field(default_factory=tuple)
    #: the datapoints this alarm's state was last computed from (None: not yet;
    #: an alarm replaced by ``put_metric_alarm`` starts again from None)
    evaluated_window: tuple[float | None, ...] | None = field(default=None, repr=False)

    @property
    def key(self) -> MetricKey:
        """The metric the alarm watches."""
        return self.namespace, self.metric_name, self.dimensions

    @property
    def latest(self) -> float | None:
        """The newest datapoint of the last evaluation, None if it had none."""
        return next((v for v in reversed(self.last_window) if v is not None), None)


class CloudWatchBackend:
    """The CloudWatch state of the account: the metric store and the alarms.

    Args:
        metrics: the metric store.
        clock: the current simulated time in seconds.
        record: ``EcsBackend.record`` (results and invariant checks).
        region: the region, for ARNs.
        account_id: the account, for ARNs.
    """

    def __init__(
        self,
        metrics: MetricStore,
        *,
        clock: Callable[[], float],
        record: Callable[..., None],
        region: str,
        account_id: str,
    ) -> None:
        self.metrics = metrics
        self.clock = clock
        self.record = record
        self.region = region
        self.account_id = account_id
        self.alarms: dict[str, MetricAlarm] = {}
        #: called whenever alarms are created or deleted (the process layer
        #: starts or stops its minute ticks)
        self.on_alarms_changed: Callable[[], None] = lambda: None

    def alarm_arn(self, name: str) -> str:
        """The ARN of alarm *name*."""
        return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{name}"

    def put_alarm(self, alarm: MetricAlarm) -> MetricAlarm:
        """Create *alarm*, or overwrite the configuration of the alarm with its
        name (its state is kept, as PutMetricAlarm does)."""
        now = self.clock()
        old = self.alarms.get(alarm.name)
        alarm.configured_at = now
        if old is None:
            alarm.state_updated_at = now
        else:
            alarm.state = old.state
            alarm.state_reason = old.state_reason
            alarm.state_updated_at = old.state_updated_at
            alarm.last_window = old.last_window
        self.alarms[alarm.name] = alarm
        if old is None:
            self.on_alarms_changed()
        return alarm

    def delete_alarms(self, names: Iterable[str]) -> None:
        """Delete the named alarms (unknown names are ignored)."""
        removed = [self.alarms.pop(n) for n in list(names) if n in self.alarms]
        if removed:
            self.on_alarms_changed()

    def alarms_with_action(self, arn: str) -> list[MetricAlarm]:
        """The alarms whose ``AlarmActions`` include *arn*."""
        return [a for a in self.alarms.values() if arn in a.alarm_actions]

    def evaluate_alarms(self, now: float) -> None:
        """Evaluate every alarm over the periods complete at *now*; record each
        state change as ``alarm_state_changed``."""
        for alarm in list(self.alarms.values()):
            window = self.metrics.window(
                alarm.key,
                alarm.statistic,
                alarm.period_s,
                alarm.evaluation_periods,
                now,
            )
            seen = alarm.last_window = tuple(window)
            if seen == alarm.evaluated_window:
                # the same datapoints as the last evaluation give the same state
                # (no datapoint at all under ``ignore`` keeps it as well)
                continue
            alarm.evaluated_window = seen
            state = evaluate_alarm(
                window,
                comparison=alarm.comparison,
                threshold=alarm.threshold,
                datapoints_to_alarm=alarm.datapoints_to_alarm,
                treat_missing_data=alarm.treat_missing_data,
                previous=alarm.state,
            )
            if state == alarm.state:
                continue
            old = alarm.state
            alarm.state = state
            alarm.state_reason = state_reason(window, alarm.comparison, alarm.threshold)
            alarm.state_updated_at = now
            self.record(
                "alarm_state_changed",
                service=dict(alarm.dimensions).get("ServiceName"),
                alarm=alarm.name,
                old_state=old,
                new_state=state,
                latest=alarm.latest,
                threshold=alarm.threshold,
            )


_ALARM_NAME_RE: Final = re.compile(r"^[\x20-\x7e]{1,255}$")


class CloudWatchClient(BotoShapedClient):
    """A boto3-shaped CloudWatch client: metric data, metric alarms, statistics.

    Supported: ``put_metric_data``, ``get_metric_statistics``,
    ``put_metric_alarm``, ``describe_alarms``, ``delete_alarms``. Alarms watch
    one metric with a standard statistic over a period that is a multiple of
    60 s; metric math, percentiles, anomaly detection and composite alarms are
    rejected with ``InvalidParameterValue``.
    """

    SERVICE = "cloudwatch"

    def __init__(
        self,
        backend: CloudWatchBackend,
        *,
        epoch: datetime,
        request_id: Callable[[], str],
    ) -> None:
        self._backend = backend
        super().__init__(epoch=epoch, request_id=request_id)

    # ---- plumbing -------------------------------------------------------
    def _fail(self, operation: str, code: str, message: str) -> ClientError:
        """The exception boto3 raises for the wire error *code*
        (``InvalidParameterValue`` raises ``InvalidParameterValueException``)."""
        error = self._errors.error(operation, code, message)
        cls = self._errors.exceptions.from_code(code)
        return cls(error.response, operation)

    def _seconds(self, op: str, name: str, value: Any) -> float:
        try:
            when = parse_timestamp(value) if not isinstance(value, datetime) else value
        except (ValueError, TypeError):
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The parameter {name} is not a timestamp: {value!r}.",
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=self._epoch.tzinfo)
        return (when - self._epoch).total_seconds()

    def _dims(self, op: str, raw: list[dict[str, str]] | None) -> dict[str, str]:
        dims: dict[str, str] = {}
        for item in raw or []:
            if item["Name"] in dims:
                raise self._fail(
                    op,
                    "InvalidParameterCombination",
                    f"The dimension {item['Name']} is given twice.",
                )
            dims[item["Name"]] = item["Value"]
        if len(dims) > 30:
            raise self._fail(
                op, "InvalidParameterValue", "A metric can have at most 30 dimensions."
            )
        return dims

    # ---- metric data --------------------------------------------------------
    def put_metric_data(self, **kwargs: Any) -> Response:
        """Store datapoints in the minute of their ``Timestamp`` (default now).

        Each datum gives ``Value``, ``Values`` (with optional ``Counts``) or
        ``StatisticValues``. ``AWS/`` namespaces are reserved, as in CloudWatch.
        """
        op = "PutMetricData"
        self._begin(op, kwargs)
        namespace = kwargs["Namespace"]
        if namespace.startswith("AWS/"):
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The value {namespace} for parameter Namespace is invalid: the AWS/ "
                "prefix is reserved (feed AWS/ECS through sim.metrics).",
            )
        data = kwargs.get("MetricData") or []
        if not 1 <= len(data) <= MAX_METRIC_DATA:
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"MetricData must have 1..{MAX_METRIC_DATA} items; got {len(data)}.",
            )
        now = self._backend.clock()
        staged = []
        for i, datum in enumerate(data, start=1):
            where = f"MetricData.member.{i}"
            if "MetricName" not in datum:
                raise self._fail(
                    op,
                    "MissingParameter",
                    f"The parameter {where}.MetricName is required.",
                )
            stats = self._datum_stats(op, where, datum)
            at = now
            if "Timestamp" in datum:
                at = self._seconds(op, f"{where}.Timestamp", datum["Timestamp"])
            if at < 0 or at > now + FUTURE_LIMIT_S:
                raise self._fail(
                    op,
                    "InvalidParameterValue",
                    f"The parameter {where}.Timestamp must be between the simulation "
                    f"start and 2 hours after now; got {self._dt(at).isoformat()}.",
                )
            key = metric_key(
                namespace, datum["MetricName"], self._dims(op, datum.get("Dimensions"))
            )
            staged.append((key, math.floor(at / MINUTE_S), stats))
        for key, minute, stats in staged:
            self._backend.metrics.put(key, minute, stats)
        return self._ok({})

    def _datum_stats(self, op: str, where: str, datum: dict[str, Any]) -> StatSet:
        given = [k for k in ("Value", "Values", "StatisticValues") if k in datum]
        if len(given) != 1:
            raise self._fail(
                op,
                "InvalidParameterCombination",
                f"{where} must give exactly one of Value, Values and StatisticValues; "
                f"got {given or 'none'}.",
            )
        numbers: list[float] = []
        if "Value" in datum:
            numbers = [datum["Value"]]
        elif "Values" in datum:
            numbers = list(datum["Values"])
        else:
            sv = datum["StatisticValues"]
            numbers = [sv["SampleCount"], sv["Sum"], sv["Minimum"], sv["Maximum"]]
        if not numbers or any(not math.isfinite(float(v)) for v in numbers):
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The values of {where} must be finite numbers; got {numbers!r}.",
            )
        if "StatisticValues" in datum:
            sv = datum["StatisticValues"]
            if sv["SampleCount"] <= 0:
                raise self._fail(
                    op,
                    "InvalidParameterValue",
                    f"{where}.StatisticValues.SampleCount must be > 0.",
                )
            return StatSet(
                float(sv["SampleCount"]),
                float(sv["Sum"]),
                float(sv["Minimum"]),
                float(sv["Maximum"]),
            )
        counts = [float(c) for c in datum.get("Counts") or [1.0] * len(numbers)]
        if len(counts) != len(numbers) or any(c <= 0 for c in counts):
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"{where}.Counts must match Values one to one and be > 0.",
            )
        total = StatSet.of(float(numbers[0]), counts[0])
        for value, count in zip(numbers[1:], counts[1:], strict=True):
            total = total.combine(StatSet.of(float(value), count))
        return total

    def _period(self, op: str, period: int) -> int:
        """*period* if it is a whole number of minutes (ecssim keeps 1-minute data)."""
        if period < 60 or period % 60:
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The parameter Period must be a multiple of 60 (ecssim keeps 1-minute "
                f"data); got {period}.",
            )
        return period

    def get_metric_statistics(self, **kwargs: Any) -> Response:
        """Statistics of one metric per ``Period`` from ``StartTime`` to ``EndTime``.

        Periods start at ``StartTime`` (rounded down to the minute); only
        periods with data are returned, oldest first (CloudWatch does not
        promise an order).
        """
        op = "GetMetricStatistics"
        self._begin(op, kwargs)
        period = self._period(op, kwargs["Period"])
        statistics = kwargs.get("Statistics") or []
        if kwargs.get("ExtendedStatistics"):
            raise self._fail(
                op,
                "InvalidParameterValue",
                "ExtendedStatistics (percentiles) are not supported by ecssim.",
            )
        if not statistics:
            raise self._fail(
                op,
                "MissingParameter",
                "The parameter Statistics or ExtendedStatistics is required.",
            )
        unknown = [s for s in statistics if s not in STATISTICS]
        if unknown:
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The parameter Statistics has unknown values {unknown}; use "
                f"{', '.join(STATISTICS)}.",
            )
        start = self._seconds(op, "StartTime", kwargs["StartTime"])
        end = self._seconds(op, "EndTime", kwargs["EndTime"])
        if end <= start:
            raise self._fail(
                op,
                "InvalidParameterValue",
                "The parameter StartTime must be before EndTime.",
            )
        first = math.floor(start / MINUTE_S)
        per = period // 60
        count = math.ceil((end / MINUTE_S - first) / per)
        if count > MAX_DATAPOINTS:
            raise self._fail(
                op,
                "InvalidParameterCombination",
                f"You have requested up to {count} datapoints, which exceeds the "
                f"limit of {MAX_DATAPOINTS}.",
            )
        key = metric_key(
            kwargs["Namespace"],
            kwargs["MetricName"],
            self._dims(op, kwargs.get("Dimensions")),
        )
        points = []
        for i in range(count):
            begin = first + i * per
            stats = self._backend.metrics.period_stats(key, begin, per)
            if stats is None:
                continue
            point: Response = {
                "Timestamp": self._dt(begin * MINUTE_S),
                "Unit": kwargs.get("Unit", "None"),
            }
            point.update({s: stats.value(s) for s in statistics})
            points.append(point)
        return self._ok({"Label": kwargs["MetricName"], "Datapoints": points})

    # ---- alarms -------------------------------------------------------------
    def put_metric_alarm(self, **kwargs: Any) -> Response:
        """Create or update a metric alarm (its state is kept on update)."""
        op = "PutMetricAlarm"
        self._begin(op, kwargs)
        name = kwargs["AlarmName"]
        if not _ALARM_NAME_RE.match(name):
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The parameter AlarmName must be 1..255 printable ASCII characters; got {name!r}.",
            )
        unsupported = [
            k
            for k in (
                "Metrics",
                "ThresholdMetricId",
                "ExtendedStatistic",
                "EvaluationCriteria",
            )
            if k in kwargs
        ]
        if unsupported:
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"ecssim supports alarms on one metric with a standard statistic; "
                f"{', '.join(unsupported)} are not supported.",
            )
        for required in (
            "MetricName",
            "Namespace",
            "Statistic",
            "Period",
            "EvaluationPeriods",
            "Threshold",
            "ComparisonOperator",
        ):
            if required not in kwargs:
                raise self._fail(
                    op, "MissingParameter", f"The parameter {required} is required."
                )
        period = self._period(op, kwargs["Period"])
        if kwargs["Statistic"] not in STATISTICS:
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The parameter Statistic must be one of {', '.join(STATISTICS)}; "
                f"got {kwargs['Statistic']!r}.",
            )
        comparison = kwargs["ComparisonOperator"]
        if comparison not in COMPARISON_OPERATORS:
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The parameter ComparisonOperator must be one of "
                f"{', '.join(COMPARISON_OPERATORS)}; got {comparison!r}.",
            )
        periods = kwargs["EvaluationPeriods"]
        datapoints = kwargs.get("DatapointsToAlarm", periods)
        if periods < 1 or not 1 <= datapoints <= periods:
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"EvaluationPeriods ({periods}) must be >= 1 and DatapointsToAlarm "
                f"({datapoints}) must be in 1..EvaluationPeriods.",
            )
        treat = kwargs.get("TreatMissingData", "missing")
        if treat not in TREAT_MISSING_DATA:
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The parameter TreatMissingData must be one of "
                f"{', '.join(TREAT_MISSING_DATA)}; got {treat!r}.",
            )
        threshold = float(kwargs["Threshold"])
        if not math.isfinite(threshold):
            raise self._fail(
                op,
                "InvalidParameterValue",
                f"The parameter Threshold must be finite; got {threshold!r}.",
            )
        dims = self._dims(op, kwargs.get("Dimensions"))
        self._backend.put_alarm(
            MetricAlarm(
                name=name,
                arn=self._backend.alarm_arn(name),
                namespace=kwargs["Namespace"],
                metric_name=kwargs["MetricName"],
                dimensions=tuple(sorted(dims.items())),
                statistic=kwargs["Statistic"],
                period_s=period,
                evaluation_periods=periods,
                datapoints_to_alarm=datapoints,
                threshold=threshold,
                comparison=comparison,
                treat_missing_data=treat,
                alarm_actions=tuple(kwargs.get("AlarmActions", ())),
                ok_actions=tuple(kwargs.get("OKActions", ())),
                insufficient_data_actions=tuple(
                    kwargs.get("InsufficientDataActions", ())
                ),
                actions_enabled=kwargs.get("ActionsEnabled", True),
                description=kwargs.get("AlarmDescription"),
                unit=kwargs.get("Unit"),
            )
        )
        return self._ok({})

    def _alarm_json(self, alarm: MetricAlarm) -> Response:
        body: Response = {
            "AlarmName": alarm.name,
            "AlarmArn": alarm.arn,
            "AlarmConfigurationUpdatedTimestamp": self._dt(alarm.configured_at),
            "ActionsEnabled": alarm.actions_enabled,
            "OKActions": list(alarm.ok_actions),
            "AlarmActions": list(alarm.alarm_actions),
            "InsufficientDataActions": list(alarm.insufficient_data_actions),
            "StateValue": alarm.state,
            "StateReason": alarm.state_reason,
            "StateUpdatedTimestamp": self._dt(alarm.state_updated_at),
            "StateTransitionedTimestamp": self._dt(alarm.state_updated_at),
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "Statistic": alarm.statistic,
            "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.dimensions],
            "Period": alarm.period_s,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm,
            "Threshold": alarm.threshold,
            "ComparisonOperator": alarm.comparison,
            "TreatMissingData": alarm.treat_missing_data,
        }
        if alarm.description is not None:
            body["AlarmDescription"] = alarm.description
        if alarm.unit is not None:
            body["Unit"] = alarm.unit
        return body

    def describe_alarms(self, **kwargs: Any) -> Response:
        """Metric alarms (target-tracking ones included), filtered by
        ``AlarmNames``, ``AlarmNamePrefix``, ``StateValue`` or ``ActionPrefix``;
        ``MaxRecords`` (1..100, default 50) and ``NextToken`` page them."""
        op = "DescribeAlarms"
        self._begin(op, kwargs)
        if "AlarmNames" in kwargs and "AlarmNamePrefix" in kwargs:
            raise self._fail(
                op,
                "InvalidParameterCombination",
                "AlarmNames and AlarmNamePrefix cannot be given together.",
            )
        alarms = list(self._backend.alarms.values())
        if "AlarmNames" in kwargs:
            wanted = set(kwargs["AlarmNames"])
            alarms = [a for a in alarms if a.name in wanted]
        prefix = kwargs.get("AlarmNamePrefix")
        if prefix is not None:
            alarms = [a for a in alarms if a.name.startswith(prefix)]
        state = kwargs.get("StateValue")
        if state is not None:
            alarms = [a for a in alarms if a.state == state]
        action = kwargs.get("ActionPrefix")
        if action is not None:
            alarms = [
                a for a in alarms if any(x.startswith(action) for x in a.alarm_actions)
            ]
        alarms.sort(key=lambda a: a.name)
        types = kwargs.get("AlarmTypes")
        if types is not None and "MetricAlarm" not in types:
            alarms = []
        size = kwargs.get("MaxRecords", 50)
        if not 1 <= size <= 100:
            raise self._fail(
                op, "InvalidParameterValue", f"MaxRecords {size} is outside 1..100."
            )
        start = _token(kwargs.get("NextToken"))
        if start is None:
            raise self._fail(op, "InvalidNextToken", "The NextToken is not valid.")
        page = alarms[start : start + size]
        body: Response = {
            "MetricAlarms": [self._alarm_json(a) for a in page],
            "CompositeAlarms": [],
        }
        if start + size < len(alarms):
            body["NextToken"] = str(start + size)
        return self._ok(body)

    def delete_alarms(self, **kwargs: Any) -> Response:
        """Delete alarms by name; an unknown name fails with ``ResourceNotFound``."""
        op = "DeleteAlarms"
        self._begin(op, kwargs)
        names = kwargs["AlarmNames"]
        missing = [n for n in names if n not in self._backend.alarms]
        if missing:
            raise self._fail(op, "ResourceNotFound", f"Alarms {missing} do not exist.")
        self._backend.delete_alarms(names)
        return self._ok({})


def _token(raw: str | None) -> int | None:
    """The start index a ``NextToken`` stands for (None when it is not valid)."""
    if raw is None or raw == "":
        return 0
    return int(raw) if raw.isdigit() else None
