"""Every bundled scenario in ``scenarios/`` loads, runs (capped at 6 hours of
simulated time) and summarises each of its services."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecssim import load_scenario, run
from ecssim.results.metrics import STANDALONE, SUMMARY_COLUMNS

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
CAP_S = 6 * 3600.0


def test_there_are_bundled_scenarios() -> None:
    """The scenarios folder is found and holds scenario files."""
    assert len(SCENARIOS) >= 5


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_bundled_scenario_runs(path: Path) -> None:
    """The scenario loads, runs for up to 6 h and has one summary row per service."""
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    capped = scenario.model_copy(update={"duration_s": min(scenario.duration_s, CAP_S)})
    result = run(capped)
    services = [s.name for s in scenario.services]
    names = list(result.summary["service"])
    assert names[: len(services)] == services
    assert set(names[len(services) :]) <= {STANDALONE}
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)
    assert set(result.timeseries["service"]) == set(services)
    assert result.timeseries["time_s"].max() <= capped.duration_s
    assert not result.events.empty
    if scenario.standalone_tasks:
        assert STANDALONE in names
