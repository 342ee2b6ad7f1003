"""Statistics for comparing runs: confidence intervals and paired differences.

Pure pandas and scipy over frames of summaries (one row per run and service).
Replications of different settings that share a seed saw the same random
streams (common random numbers), so their difference is measured with much
less noise than the difference of two means: :func:`paired_differences` pairs
runs by service and seed. Intervals are two-sided 95 % Student's t intervals,
the t quantiles from :mod:`scipy.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

#: The confidence level of every interval.
CONFIDENCE: Final = 0.95
#: Columns of a frame of runs that are not outcomes.
RUN_COLUMNS: Final = ("point", "replication", "seed")


def t_critical_95(df: int) -> float:
    """The two-sided 95 % critical value of Student's t with *df* degrees of freedom.

    Raises:
        ValueError: *df* is below 1.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return float(stats.t.ppf(0.5 + CONFIDENCE / 2, df))


def half_width_95(values: Iterable[float]) -> float:
    """The half-width of the 95 % t interval of the mean of *values* (NaN ignored);
    NaN with fewer than two values."""
    array = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = len(array)
    if n < 2:
        return float("nan")
    return t_critical_95(n - 1) * float(np.std(array, ddof=1)) / math.sqrt(n)


def outcome_columns(runs: pd.DataFrame, skip: Iterable[str] = ()) -> list[str]:
    """The numeric outcome columns of *runs* (run and parameter columns left out)."""
    left_out = {*RUN_COLUMNS, "service", *skip}
    return [
        c
        for c in runs.columns
        if c not in left_out
        and pd.api.types.is_numeric_dtype(runs[c])
        and not pd.api.types.is_bool_dtype(runs[c])
    ]


def interval_table(
    runs: pd.DataFrame, keys: Sequence[str], outcomes: Sequence[str]
) -> pd.DataFrame:
    """Per group of *keys*: ``replications`` (rows), then for every outcome its
    mean in a column of its name and its 95 % half-width in ``<outcome>_ci95``.

    Runs whose value is NaN (nothing to measure) are left out of that
    outcome's mean; with fewer than two values the half-width is NaN.
    """
    groups = runs.groupby(list(keys), sort=False, dropna=False)
    mean = groups[list(outcomes)].mean()
    std = groups[list(outcomes)].std(ddof=1)
    count = groups[list(outcomes)].count()
    factor = count.map(
        lambda n: t_critical_95(int(n) - 1) / math.sqrt(n) if n >= 2 else np.nan
    )
    half = std * factor
    data: dict[str, Any] = {key: mean.index.get_level_values(key) for key in keys}
    data["replications"] = groups.size().to_numpy()
    for column in outcomes:
        data[column] = mean[column].to_numpy(dtype=float)
        data[f"{column}_ci95"] = half[column].to_numpy(dtype=float)
    return pd.DataFrame(data)


def paired_differences(
    runs: pd.DataFrame, baseline: pd.DataFrame, outcomes: Sequence[str]
) -> pd.DataFrame:
    """Per ``point`` and ``service`` of *runs*: the mean paired difference
    ``run - baseline`` of every outcome and its 95 % half-width.

    Runs are paired with the *baseline* run of the same service and seed (the
    same random streams); runs without a partner are left out. The result has
    ``point``, ``service``, ``pairs`` (how many pairs) and, per outcome, the
    mean difference in a column of its name and ``<outcome>_ci95``.
    """
    right = baseline[["service", "seed", *outcomes]]
    merged = runs[["point", "service", "seed", *outcomes]].merge(
        right, on=["service", "seed"], suffixes=("", "@baseline"), sort=False
    )
    differences = merged[["point", "service"]].copy()
    for column in outcomes:
        differences[column] = merged[column] - merged[f"{column}@baseline"]
    table = interval_table(differences, ["point", "service"], outcomes)
    return table.rename(columns={"replications": "pairs"})


def too_wide(mean: float, half_width: float) -> bool:
    """Whether an interval is wider than its mean: too few replications to read it."""
    return (
        math.isfinite(half_width) and half_width > 0 and half_width > abs(mean)
    ) or (math.isnan(half_width) and math.isfinite(mean))


def excludes_zero(mean: float, half_width: float) -> bool:
    """Whether the 95 % interval ``mean +/- half_width`` leaves 0 out (a real difference)."""
    return math.isfinite(half_width) and abs(mean) > half_width
