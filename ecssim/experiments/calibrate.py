"""Calibrating a scenario to your own service: arrivals and job durations from its data.

From what you already have:

* the JSON that ``aws cloudwatch get-metric-data`` prints, with SQS's
  ``NumberOfMessagesSent`` per period (and optionally ECS's
  ``RunningTaskCount``): the mean arrival rate and a 24-hour profile (the mean
  of each UTC hour of the day over the days exported, relative to the mean);
* or a trace CSV with an ``arrival`` column (seconds, or ISO 8601 times): the
  same rate and profile;
* a CSV of job durations (a ``duration`` column, seconds): a lognormal fitted
  by maximum likelihood (median and 95th percentile, as scenarios write it),
  with its Kolmogorov-Smirnov distance and the 5 % critical value; when the
  lognormal does not fit, the empirical distribution of the durations.

:func:`calibrate` returns a :class:`Calibration` whose ``arrivals`` and
``job_duration`` are scenario values, ready to set into a scenario
(``ecssim calibrate`` writes the changed scenario file).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from ecssim.errors import ScenarioError
from ecssim.scenario.schema import Scenario

#: The metric that counts messages sent to a queue (arrivals).
ARRIVALS_METRIC: Final = "NumberOfMessagesSent"
#: The metric that counts an ECS service's running tasks.
RUNNING_METRIC: Final = "RunningTaskCount"
#: Kolmogorov-Smirnov's asymptotic 5 % critical value is this over sqrt(n).
KS_5_PERCENT: Final = 1.358
#: The standard normal's 95th percentile.
Z_P95: Final = 1.6448536269514722
#: At most this many durations are kept in an empirical distribution.
MAX_EMPIRICAL_VALUES: Final = 500


class CalibrationError(ScenarioError):
    """An input to calibrate from is missing, unreadable or unusable."""


@dataclass(frozen=True)
class Calibration:
    """What the data say, as scenario values, and how well they fit.

    Attributes:
        arrivals: ``{rate, daily_profile}`` for ``workload.arrivals``, or None.
        job_duration: a ``lognormal`` or ``empirical`` duration, or None.
        notes: one line per finding (rates, fit, task counts), for people.
        fit: the lognormal fit: ``median_s``, ``p95_s``, ``sigma``,
            ``ks_distance``, ``ks_critical_5pct``, ``n``, ``fits``.
        running_tasks: ``min``, ``median``, ``max`` of RunningTaskCount.
    """

    arrivals: dict[str, Any] | None = None
    job_duration: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    fit: dict[str, Any] = field(default_factory=dict)
    running_tasks: dict[str, float] = field(default_factory=dict)

    def apply_to(
        self, scenario: Scenario | Mapping[str, Any], *, service: int = 0
    ) -> dict[str, Any]:
        """*scenario* (a Scenario, or as plain data) with these values in
        ``services[service]``, as plain data: see :func:`apply`; pass it to
        :func:`ecssim.parse_scenario` to run it.

        Raises:
            CalibrationError: the scenario has no such service, or it has no queue.
        """
        if isinstance(scenario, Scenario):
            scenario = scenario.model_dump(
                mode="json", by_alias=True, exclude_unset=True
            )
        return apply(scenario, self, service=service)


# ---- reading ---------------------------------------------------------------------------
def read_metric_data(path: str | Path) -> dict[str, pd.Series]:
    """The series of a ``get-metric-data`` export, by ``Label`` (and by ``Id``).

    Each series is indexed by UTC timestamps, oldest first.

    Raises:
        CalibrationError: the file is not such an export.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        results = data["MetricDataResults"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CalibrationError(
            f"{path}: not the JSON of aws cloudwatch get-metric-data ({exc})"
        ) from None
    out: dict[str, pd.Series] = {}
    for result in results:
        stamps = pd.to_datetime(result.get("Timestamps", []), utc=True)
        series = pd.Series(
            np.asarray(result.get("Values", []), dtype=float), index=stamps
        ).sort_index()
        for name in (result.get("Label"), result.get("Id")):
            if name:
                out.setdefault(str(name), series)
    return out


def _metric(series: Mapping[str, pd.Series], name: str) -> pd.Series | None:
    for label, values in series.items():
        if name.lower() in label.lower():
            return values
    return None


def read_column(path: str | Path, column: str) -> pd.Series:
    """One column of a CSV file.

    Raises:
        CalibrationError: the file cannot be read or has no such column.
    """
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"{path}: cannot be read as CSV ({exc})") from None
    if column not in frame.columns:
        raise CalibrationError(
            f"{path}: has no {column!r} column (columns: {', '.join(frame.columns)})"
        )
    return frame[column]


# ---- arrivals --------------------------------------------------------------------------
def arrivals_from_counts(counts: pd.Series) -> tuple[dict[str, Any], str]:
    """A rate and a daily profile from message counts per period (UTC-indexed).

    Raises:
        CalibrationError: fewer than two periods, or no messages.
    """
    counts = counts.dropna()
    if len(counts) < 2:
        raise CalibrationError("need at least two periods of message counts")
    index = pd.DatetimeIndex(counts.index)
    period_s = float(index.to_series().diff().dt.total_seconds().median())
    span_h = len(counts) * period_s / 3600.0
    total = float(counts.sum())
    if total <= 0 or period_s <= 0:
        raise CalibrationError("the message counts add up to no messages")
    rate_h = total / span_h
    per_hour = counts.groupby(index.hour).mean() * (3600.0 / period_s)
    profile = [
        round(float(per_hour.get(hour, math.nan)) / rate_h, 2)
        if hour in per_hour.index
        else 1.0
        for hour in range(24)
    ]
    arrivals = {"rate": f"{rate_h:.4g}/h", "daily_profile": profile}
    note = (
        f"arrivals: {total:.0f} messages over {span_h:.1f} h "
        f"({period_s:g} s periods): {rate_h:.4g}/h on average"
    )
    return arrivals, note


def arrivals_from_trace(arrival: pd.Series) -> tuple[dict[str, Any], str]:
    """A rate and a daily profile from arrival times (seconds, or ISO times)."""
    if pd.api.types.is_numeric_dtype(arrival):
        seconds = pd.to_numeric(arrival, errors="coerce").dropna()
        stamps = pd.to_datetime(seconds, unit="s", utc=True)
    else:
        stamps = pd.to_datetime(arrival, utc=True, errors="coerce").dropna()
    if len(stamps) < 2:
        raise CalibrationError("need at least two arrivals")
    counts = pd.Series(1.0, index=pd.DatetimeIndex(stamps)).resample("1h").sum()
    return arrivals_from_counts(counts)


# ---- durations -------------------------------------------------------------------------
def _normal_cdf(z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    erf = np.vectorize(math.erf)
    values: np.ndarray[Any, Any] = 0.5 * (1.0 + erf(z / math.sqrt(2.0)))
    return values


def fit_lognormal(durations_s: Sequence[float]) -> dict[str, Any]:
    """Maximum-likelihood lognormal of *durations_s*, with its KS distance.

    Raises:
        CalibrationError: fewer than two positive durations.
    """
    values = np.asarray([d for d in durations_s if d > 0 and math.isfinite(d)])
    if len(values) < 2:
        raise CalibrationError("need at least two positive job durations")
    logs = np.log(np.sort(values))
    mu = float(logs.mean())
    sigma = float(logs.std(ddof=0))
    n = len(values)
    if sigma > 0:
        cdf = _normal_cdf((logs - mu) / sigma)
        ranks = np.arange(1, n + 1)
        distance = float(max(np.max(ranks / n - cdf), np.max(cdf - (ranks - 1) / n)))
    else:
        distance = 0.0
    critical = KS_5_PERCENT / math.sqrt(n)
    return {
        "median_s": math.exp(mu),
        "p95_s": math.exp(mu + Z_P95 * sigma),
        "sigma": sigma,
        "ks_distance": distance,
        "ks_critical_5pct": critical,
        "n": n,
        "fits": distance <= critical,
    }


def _seconds(value: float) -> str:
    return f"{value:.4g}s"


def duration_from_samples(
    durations_s: Sequence[float],
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A scenario duration from samples: the lognormal when it fits, else empirical."""
    fit = fit_lognormal(durations_s)
    if fit["fits"] and fit["sigma"] > 0:
        value: dict[str, Any] = {
            "distribution": "lognormal",
            "median": _seconds(fit["median_s"]),
            "p95": _seconds(fit["p95_s"]),
        }
        verdict = "fits"
    else:
        kept = [float(d) for d in durations_s if d > 0 and math.isfinite(d)]
        step = max(1, math.ceil(len(kept) / MAX_EMPIRICAL_VALUES))
        value = {
            "distribution": "empirical",
            "values": [_seconds(d) for d in sorted(kept)[::step]],
        }
        verdict = "does not fit: using the empirical distribution"
    note = (
        f"job durations: {fit['n']} jobs, lognormal median {fit['median_s']:.4g} s, "
        f"p95 {fit['p95_s']:.4g} s; Kolmogorov-Smirnov distance "
        f"{fit['ks_distance']:.3f} against {fit['ks_critical_5pct']:.3f} at 5 %: "
        f"{verdict}"
    )
    return value, fit, note


# ---- all of it -------------------------------------------------------------------------
def calibrate(
    *,
    metrics: str | Path | None = None,
    trace: str | Path | None = None,
    durations: str | Path | None = None,
) -> Calibration:
    """Arrivals from *metrics* (a get-metric-data export) or *trace* (a CSV with
    ``arrival``), and job durations from *durations* (a CSV with ``duration``,
    seconds) or the trace's ``duration`` column.

    Raises:
        CalibrationError: nothing to calibrate from, or an input is unusable
            (the message names the file).
    """
    if metrics is None and trace is None and durations is None:
        raise CalibrationError("give metrics, a trace or durations to calibrate from")
    arrivals = None
    job_duration = None
    fit: dict[str, Any] = {}
    running: dict[str, float] = {}
    notes: list[str] = []
    if metrics is not None:
        series = read_metric_data(metrics)
        sent = _metric(series, ARRIVALS_METRIC)
        if sent is None:
            raise CalibrationError(
                f"{metrics}: has no {ARRIVALS_METRIC} series (labels: "
                f"{', '.join(series)})"
            )
        arrivals, note = arrivals_from_counts(sent)
        notes.append(note)
        tasks = _metric(series, RUNNING_METRIC)
        if tasks is not None and not tasks.dropna().empty:
            running = {
                "min": float(tasks.min()),
                "median": float(tasks.median()),
                "max": float(tasks.max()),
            }
            notes.append(
                "running tasks: {min:g} to {max:g}, median {median:g}".format(**running)
            )
    if trace is not None and arrivals is None:
        arrivals, note = arrivals_from_trace(read_column(trace, "arrival"))
        notes.append(note)
    samples: list[float] | None = None
    if durations is not None:
        column = pd.to_numeric(read_column(durations, "duration"), errors="coerce")
        samples = [float(v) for v in column.dropna()]
    elif trace is not None:
        try:
            column = pd.to_numeric(read_column(trace, "duration"), errors="coerce")
        except CalibrationError:
            column = None
        if column is not None:
            samples = [float(v) for v in column.dropna()]
    if samples is not None:
        job_duration, fit, note = duration_from_samples(samples)
        notes.append(note)
    return Calibration(
        arrivals=arrivals,
        job_duration=job_duration,
        notes=tuple(notes),
        fit=fit,
        running_tasks=running,
    )


def apply(
    raw: Mapping[str, Any], calibration: Calibration, *, service: int = 0
) -> dict[str, Any]:
    """A copy of the raw scenario *raw* with the calibrated values in *service*.

    Sets ``workload.arrivals`` and ``workload.job_duration`` (what was
    calibrated), and ``desired_count`` to the median running-task count.

    Raises:
        CalibrationError: the scenario has no such service, or it has no queue.
    """
    data = json.loads(json.dumps(dict(raw), default=_json_default))
    services = data.get("services") or []
    if not 0 <= service < len(services):
        raise CalibrationError(f"the scenario has no services[{service}]")
    target = services[service]
    workload = target.get("workload")
    if not isinstance(workload, dict) or workload.get("kind") != "queue":
        raise CalibrationError(f"services[{service}] has no queue workload")
    if calibration.arrivals is not None:
        workload["arrivals"] = calibration.arrivals
    if calibration.job_duration is not None:
        workload["job_duration"] = calibration.job_duration
    if calibration.running_tasks:
        target["desired_count"] = max(1, round(calibration.running_tasks["median"]))
    return dict(data)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{value!r} is not JSON")
