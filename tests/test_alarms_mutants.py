"""CloudWatch alarm rules of ecssim.rules.alarms: M-of-N with missing data,
the default state, the state reason text and every error message. Written
from the mutants mutmut found surviving (docs/mutation-testing.md)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.errors import ScenarioError
from ecssim.rules.alarms import (
    COMPARISON_OPERATORS,
    breaches,
    evaluate_alarm,
    state_reason,
)

HIGH = {"comparison": "GreaterThanThreshold", "threshold": 50.0}


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def _reference(
    window: list[float | None], m: int, treat: str, previous: str = "OK"
) -> str:
    """CloudWatch's M-of-N rule written out: missing periods dropped
    (missing, ignore) or counted as breaching / not breaching."""
    counted = [
        (v > 50.0 if v is not None else treat == "breaching")
        for v in window
        if v is not None or treat in ("breaching", "notBreaching")
    ]
    if not counted:
        return previous if treat == "ignore" else "INSUFFICIENT_DATA"
    return "ALARM" if sum(counted) >= m else "OK"


@given(
    window=st.lists(
        st.one_of(st.none(), st.sampled_from([10.0, 50.0, 90.0])),
        min_size=1,
        max_size=6,
    ),
    treat=st.sampled_from(["missing", "ignore", "breaching", "notBreaching"]),
    data=st.data(),
)
def test_m_of_n_with_missing_data_treated_as_configured(
    window: list[float | None], treat: str, data: st.DataObject
) -> None:
    """The alarm is ALARM when at least M of the counted datapoints breach, OK
    otherwise, INSUFFICIENT_DATA with nothing counted (ignore keeps the
    previous state); missing periods count per TreatMissingData."""
    m = data.draw(st.integers(min_value=1, max_value=len(window)))
    state = evaluate_alarm(
        window,
        datapoints_to_alarm=m,
        treat_missing_data=treat,
        previous="OK",
        **HIGH,  # type: ignore[arg-type]
    )
    assert state == _reference(window, m, treat)


def test_one_breaching_gap_and_one_good_datapoint_decide_two_of_two() -> None:
    """A missing period treated as breaching counts once: with one good
    datapoint beside it, 2 of 2 is not met and 1 of 2 is."""
    window: list[float | None] = [None, 10.0]
    two = evaluate_alarm(
        window, datapoints_to_alarm=2, treat_missing_data="breaching", **HIGH
    )  # type: ignore[arg-type]
    one = evaluate_alarm(
        window, datapoints_to_alarm=1, treat_missing_data="breaching", **HIGH
    )  # type: ignore[arg-type]
    assert (two, one) == ("OK", "ALARM")
    not_breaching = evaluate_alarm(
        window, datapoints_to_alarm=1, treat_missing_data="notBreaching", **HIGH
    )  # type: ignore[arg-type]
    assert not_breaching == "OK"


def test_ignore_without_a_previous_state_is_insufficient_data() -> None:
    """An alarm that has never been evaluated is INSUFFICIENT_DATA, and with
    every period missing ``ignore`` keeps that."""
    state = evaluate_alarm(
        [None, None], datapoints_to_alarm=1, treat_missing_data="ignore", **HIGH
    )  # type: ignore[arg-type]
    assert state == "INSUFFICIENT_DATA"


def test_datapoints_to_alarm_cannot_exceed_the_window() -> None:
    """M of N needs M <= N: 2 of a single period is refused, with the range."""
    with pytest.raises(
        ScenarioError, match=_exactly("DatapointsToAlarm: 2 is outside 1..1")
    ):
        evaluate_alarm([90.0], datapoints_to_alarm=2, **HIGH)  # type: ignore[arg-type]
    with pytest.raises(
        ScenarioError, match=_exactly("DatapointsToAlarm: 0 is outside 1..3")
    ):
        evaluate_alarm([90.0] * 3, datapoints_to_alarm=0, **HIGH)  # type: ignore[arg-type]


def test_unknown_names_are_refused_with_the_allowed_values() -> None:
    """An unknown comparison operator or missing-data treatment is refused,
    naming the field, the value and the values CloudWatch accepts."""
    with pytest.raises(
        ScenarioError,
        match=_exactly(
            "ComparisonOperator: 'Above' is not one of GreaterThanOrEqualToThreshold, "
            "GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold"
        ),
    ):
        breaches(1.0, "Above", 0.0)
    with pytest.raises(
        ScenarioError,
        match=_exactly(
            "TreatMissingData: 'zero' is not one of missing, ignore, breaching, "
            "notBreaching"
        ),
    ):
        evaluate_alarm([1.0], datapoints_to_alarm=1, treat_missing_data="zero", **HIGH)  # type: ignore[arg-type]


def test_state_reason_without_data() -> None:
    """A window with no datapoint says so."""
    assert state_reason([None, None], "GreaterThanThreshold", 50.0) == (
        "Insufficient Data: no datapoints were received for the evaluation window."
    )


@pytest.mark.parametrize(
    ("comparison", "words", "hits"),
    [
        ("GreaterThanOrEqualToThreshold", "greater than or equal to", 4),
        ("GreaterThanThreshold", "greater than", 3),
        ("LessThanThreshold", "less than", 2),
        ("LessThanOrEqualToThreshold", "less than or equal to", 3),
    ],
)
def test_state_reason_counts_all_and_shows_the_last_five(
    comparison: str, words: str, hits: int
) -> None:
    """The reason counts the breaching datapoints among all present ones, shows
    the newest five values, and says the comparison in words."""
    window: list[float | None] = [10.0, None, 40.0, 50.0, 60.0, 70.0, 80.5]
    assert comparison in COMPARISON_OPERATORS
    assert state_reason(window, comparison, 50.0) == (
        f"Threshold Crossed: {hits} of 6 datapoints [40, 50, 60, 70, 80.5] were "
        f"{words} the threshold (50)."
    )
