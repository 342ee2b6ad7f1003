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

#: The confidence level of every interval.
CONFIDENCE: Final = 0.95
#: Columns of a frame of runs that are not outcomes.
RUN_COLUMNS: Final = ("point", "replication", "seed")


def _student_t() -> Any:
    """scipy's Student's t, imported when first needed: scipy takes longer to
    import than the rest of a sweep worker's modules, and most runs need no
    interval."""
    from scipy import stats  # noqa: PLC0415 (a deliberate lazy import)

    return stats.t


def t_critical_95(df: int) -> float:
    """The two-sided 95 % critical value of Student's t with *df* degrees of freedom.

    Raises:
        ValueError: *df* is below 1.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return float(_student_t().ppf(0.5 + CONFIDENCE / 2, df))


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


#: Columns of :func:`compare_sides`' table, in order.
COMPARISON_COLUMNS: Final = (
    "point",
    "service",
    "outcome",
    "side",
    "runs",
    "mean",
    "ci95",
    "difference",
    "difference_ci95",
    "paired",
)


def _welch_half_width(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    """The 95 % half-width of mean(b) - mean(a) for independent samples (Welch)."""
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    se2 = float(va + vb)
    if se2 == 0:
        return 0.0
    df = se2**2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(_student_t().ppf(0.5 + CONFIDENCE / 2, df)) * math.sqrt(se2)


def compare_sides(sides: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Every outcome of two or more sets of runs side by side, each against the first.

    Each side is ``(label, runs)`` where *runs* has one row per run and
    service with ``service``, ``seed``, optionally ``point`` (a sweep's grid
    point, as text; rows match across sides by it) and numeric outcomes. For
    every point, service, outcome and side the table holds the number of
    runs, their mean and 95 % half-width and, for the sides after the first,
    the difference (side - first) and its 95 % half-width: paired by seed
    when the two sides share seeds (common random numbers: ``paired`` is
    True), else Welch's interval for independent samples. Outcomes that are
    NaN in a run are left out of that run's figures.

    Raises:
        ValueError: fewer than two sides.
    """
    if len(sides) < 2:
        raise ValueError(f"compare needs two or more sets of runs, got {len(sides)}")
    frames = []
    for label, runs in sides:
        frame = runs.copy()
        if "point" not in frame.columns:
            frame["point"] = ""
        frame["point"] = frame["point"].astype(str)
        frames.append((label, frame))
    first_label, first = frames[0]
    outcomes = [
        c for c in outcome_columns(first) if all(c in f.columns for _, f in frames)
    ]
    rows: list[tuple[Any, ...]] = []
    keys = first[["point", "service"]].drop_duplicates()
    for point, service in zip(keys["point"], keys["service"], strict=True):
        reference = first[(first["point"] == point) & (first["service"] == service)]
        for outcome in outcomes:
            ref = reference.set_index("seed")[outcome].dropna()
            ref_values = ref.to_numpy(dtype=float)
            rows.append(
                (
                    point,
                    service,
                    outcome,
                    first_label,
                    len(ref_values),
                    float(ref_values.mean()) if len(ref_values) else float("nan"),
                    half_width_95(ref_values),
                    float("nan"),
                    float("nan"),
                    False,
                )
            )
            for label, frame in frames[1:]:
                mine = frame[(frame["point"] == point) & (frame["service"] == service)]
                other = mine.set_index("seed")[outcome].dropna()
                values = other.to_numpy(dtype=float)
                paired = bool(len(reference["seed"]) and set(mine["seed"]))
                paired = paired and bool(set(reference["seed"]) & set(mine["seed"]))
                shared = ref.index.intersection(other.index)
                if not len(values) or not len(ref_values):
                    difference = half = float("nan")
                elif paired and len(shared):
                    deltas = (other.loc[shared] - ref.loc[shared]).to_numpy(dtype=float)
                    difference = float(deltas.mean())
                    half = half_width_95(deltas)
                else:
                    difference = float(values.mean() - ref_values.mean())
                    half = _welch_half_width(ref_values, values)
                rows.append(
                    (
                        point,
                        service,
                        outcome,
                        label,
                        len(values),
                        float(values.mean()) if len(values) else float("nan"),
                        half_width_95(values),
                        difference,
                        half,
                        paired,
                    )
                )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
