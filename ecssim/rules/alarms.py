"""CloudWatch alarm rules: pure functions of datapoints and thresholds.

This module owns how an alarm of Application Auto Scaling evaluates: the
comparison operators, M-of-N datapoints over a window, ``TreatMissingData``,
statistics over a period, and the state reason text CloudWatch writes.
No SimPy, no pandas, no clock: callers pass the datapoints in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, Literal

from ecssim.errors import ScenarioError

# ---- alarms ------------------------------------------------------------------

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
COMPARISON_OPERATORS: Final = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)
TREAT_MISSING_DATA: Final = ("missing", "ignore", "breaching", "notBreaching")
STATISTICS: Final = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_SYMBOLS: Final = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


def breaches(value: float, comparison: str, threshold: float) -> bool:
    """Whether one datapoint *value* breaches *threshold* under *comparison*.

    Raises:
        ScenarioError: *comparison* is not one of :data:`COMPARISON_OPERATORS`.
    """
    if comparison == "GreaterThanOrEqualToThreshold":
        return value >= threshold
    if comparison == "GreaterThanThreshold":
        return value > threshold
    if comparison == "LessThanThreshold":
        return value < threshold
    if comparison == "LessThanOrEqualToThreshold":
        return value <= threshold
    raise ScenarioError(
        f"ComparisonOperator: {comparison!r} is not one of "
        f"{', '.join(COMPARISON_OPERATORS)}"
    )


def evaluate_alarm(
    datapoints: Sequence[float | None],
    *,
    comparison: str,
    threshold: float,
    datapoints_to_alarm: int,
    treat_missing_data: str = "missing",
    previous: AlarmState = "INSUFFICIENT_DATA",
) -> AlarmState:
    """The state of an M-of-N alarm over its evaluation window.

    *datapoints* are the last N periods, oldest first; None is a period with no
    data. Missing periods are treated per *treat_missing_data*: ``missing``
    and ``ignore`` drop them, ``breaching`` and ``notBreaching`` count them as
    such. With no datapoint left the alarm is ``INSUFFICIENT_DATA``
    (``ignore`` keeps *previous*). Otherwise it is ``ALARM`` when at least
    *datapoints_to_alarm* datapoints breach, else ``OK``. (CloudWatch may look
    further back than N periods to fill gaps; ecssim does not.)

    Raises:
        ScenarioError: an unknown comparison or missing-data treatment, or
            *datapoints_to_alarm* outside 1..N.
    """
    if treat_missing_data not in TREAT_MISSING_DATA:
        raise ScenarioError(
            f"TreatMissingData: {treat_missing_data!r} is not one of "
            f"{', '.join(TREAT_MISSING_DATA)}"
        )
    if not 1 <= datapoints_to_alarm <= max(1, len(datapoints)):
        raise ScenarioError(
            f"DatapointsToAlarm: {datapoints_to_alarm} is outside 1..{len(datapoints)}"
        )
    breaching = present = 0
    for value in datapoints:
        if value is None:
            if treat_missing_data == "breaching":
                present += 1
                breaching += 1
            elif treat_missing_data == "notBreaching":
                present += 1
            continue
        present += 1
        if breaches(value, comparison, threshold):
            breaching += 1
    if present == 0:
        return previous if treat_missing_data == "ignore" else "INSUFFICIENT_DATA"
    return "ALARM" if breaching >= datapoints_to_alarm else "OK"


def state_reason(
    datapoints: Sequence[float | None], comparison: str, threshold: float
) -> str:
    """A CloudWatch-style ``StateReason`` for a window of datapoints."""
    values = [v for v in datapoints if v is not None]
    if not values:
        return (
            "Insufficient Data: no datapoints were received for the evaluation window."
        )
    shown = ", ".join(f"{v:g}" for v in values[-5:])
    hits = sum(1 for v in values if breaches(v, comparison, threshold))
    return (
        f"Threshold Crossed: {hits} of {len(values)} datapoints [{shown}] were "
        f"{_SYMBOLS.get(comparison, comparison)} the threshold ({threshold:g})."
    )


def aggregate(values: Iterable[float | None], how: str) -> float | None:
    """``MetricAggregationType`` (Average, Minimum, Maximum) over present values."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if how == "Average":
        return sum(present) / len(present)
    if how == "Minimum":
        return min(present)
    if how == "Maximum":
        return max(present)
    raise ScenarioError(
        f"MetricAggregationType: {how!r} is not one of Average, Minimum, Maximum"
    )
