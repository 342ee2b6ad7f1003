"""Tests of ecssim.experiments.calibrate and ``ecssim calibrate``: arrivals from
a CloudWatch export or a trace, a lognormal fit with its goodness of fit (or
the empirical distribution), and a calibrated scenario file that loads."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecssim.cli import main
from ecssim.experiments.calibrate import (
    CalibrationError,
    arrivals_from_trace,
    calibrate,
    fit_lognormal,
    read_metric_data,
)
from ecssim.scenario.loading import load_scenario

DATA = Path(__file__).resolve().parent.parent / "scenarios" / "data"
METRICS = DATA / "transcoder-cloudwatch.json"
DURATIONS = DATA / "transcoder-job-durations.csv"


def test_the_cloudwatch_export_gives_rate_profile_and_task_counts() -> None:
    """Three days of 15-minute NumberOfMessagesSent give the mean hourly rate
    and 24 factors relative to it (quiet nights, evening peak)."""
    series = read_metric_data(METRICS)
    sent = series["NumberOfMessagesSent"]
    assert sent.index.is_monotonic_increasing
    found = calibrate(metrics=METRICS)
    assert found.arrivals is not None
    hours = 72.0
    assert found.arrivals["rate"] == f"{sent.sum() / hours:.4g}/h"
    profile = found.arrivals["daily_profile"]
    assert len(profile) == 24
    assert abs(sum(profile) / 24 - 1.0) < 0.02
    assert max(profile) == profile[19]
    assert min(profile) < 0.3
    assert found.running_tasks == {"min": 2.0, "median": 6.0, "max": 14.0}
    assert found.job_duration is None


def test_a_lognormal_sample_fits_and_a_bimodal_one_does_not() -> None:
    """The fit recovers median and p95 of a lognormal sample and passes the KS
    test; two far-apart clusters fail it and give the empirical distribution."""
    rng = np.random.default_rng(1)
    sigma = math.log(5) / 1.6448536269514722
    sample = np.exp(rng.normal(math.log(600), sigma, 2000))
    fit = fit_lognormal(list(sample))
    assert fit["fits"]
    assert abs(fit["median_s"] / 600 - 1) < 0.05
    assert abs(fit["p95_s"] / 3000 - 1) < 0.1
    bimodal = [60.0] * 200 + [3600.0] * 200
    assert not fit_lognormal(bimodal)["fits"]


def test_durations_csv_and_trace(tmp_path: Path) -> None:
    """A durations CSV gives a lognormal in scenario units; a trace CSV gives
    arrivals from its arrival column and durations from its duration column."""
    found = calibrate(durations=DURATIONS)
    assert found.job_duration is not None
    assert found.job_duration["distribution"] == "lognormal"
    assert found.job_duration["median"].endswith("s")
    assert found.fit["n"] == 300
    trace = tmp_path / "trace.csv"
    bimodal = [60.0] * 50 + [3600.0] * 50
    pd.DataFrame({"arrival": np.arange(100) * 360.0, "duration": bimodal}).to_csv(
        trace, index=False
    )
    from_trace = calibrate(trace=trace)
    assert from_trace.arrivals is not None
    assert from_trace.arrivals["rate"] == "10/h"
    assert from_trace.job_duration is not None
    assert from_trace.job_duration["distribution"] == "empirical"
    arrivals, _ = arrivals_from_trace(
        pd.Series(["2026-01-05T00:30:00Z", "2026-01-05T01:10:00Z"])
    )
    assert arrivals["rate"] == "1/h"
    with pytest.raises(CalibrationError, match="need at least two periods"):
        arrivals_from_trace(pd.Series(["2026-01-05T00:00:00Z"] * 3))


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    """No input, a file that is not an export, a missing column: each an error
    naming what is wrong."""
    with pytest.raises(CalibrationError, match="give metrics, a trace or durations"):
        calibrate()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nothing": 1}), encoding="utf-8")
    with pytest.raises(CalibrationError, match=r"bad\.json: not the JSON of aws"):
        calibrate(metrics=bad)
    csv = tmp_path / "d.csv"
    csv.write_text("seconds\n1\n", encoding="utf-8")
    with pytest.raises(CalibrationError, match="has no 'duration' column"):
        calibrate(durations=csv)


def test_cli_writes_a_calibrated_scenario_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ecssim calibrate`` on the shipped exports writes the transcoding queue
    with the calibrated arrivals, durations and desired count; it is the shipped
    calibrated-transcoder scenario but for its name."""
    out = tmp_path / "calibrated-transcoder.yaml"
    base = DATA.parent / "transcoding-queue.yaml"
    args = ["calibrate", "--metrics", str(METRICS), "--durations", str(DURATIONS)]
    assert main([*args, "--scenario", str(base), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Kolmogorov-Smirnov distance" in printed
    scenario = load_scenario(out)
    workload = scenario.services[0].workload
    assert workload is not None
    shipped = load_scenario(DATA.parent / "calibrated-transcoder.yaml")
    assert scenario.services == shipped.services
    assert main(args[:3]) == 0
    assert "rate: 36.83/h" in capsys.readouterr().out
    assert main(["calibrate", "--scenario", str(base)]) == 2


def test_a_calibration_applies_to_a_scenario_through_the_public_api() -> None:
    """``Calibration.apply_to`` puts the calibrated arrivals, job durations and
    desired count into a Scenario (or its plain data) without changing anything
    else, and refuses a service that is not there or has no queue."""
    import ecssim

    found = ecssim.calibrate(metrics=METRICS, durations=DURATIONS)
    base = load_scenario(
        Path(__file__).resolve().parent.parent / "scenarios" / "transcoding-queue.yaml"
    )
    raw = found.apply_to(base)
    calibrated = ecssim.parse_scenario(raw, source="calibrated")
    service = calibrated.services[0]
    assert raw["services"][0]["workload"]["arrivals"] == found.arrivals
    assert raw["services"][0]["workload"]["job_duration"] == found.job_duration
    assert service.desired_count == round(found.running_tasks["median"])
    assert calibrated.services[0].protection == base.services[0].protection
    assert calibrated.duration_s == base.duration_s
    plain = base.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert found.apply_to(plain) == raw
    with pytest.raises(CalibrationError, match=r"no services\[3\]"):
        found.apply_to(base, service=3)
    games = load_scenario(
        Path(__file__).resolve().parent.parent / "scenarios" / "game-servers.yaml"
    )
    with pytest.raises(CalibrationError, match="has no queue workload"):
        found.apply_to(games)
