"""What one run produced: :class:`RunResult`, its tidy frames and summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ecssim.model.simulation import Simulation
from ecssim.scenario.schema import Scenario


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced.

    Attributes:
        scenario: the scenario that ran.
        seed: the seed it ran with.
        events: one row per recorded event (``time_s, kind, service, task, detail``).
        timeseries: one row per service per sample interval.
        jobs: one row per queue job.
        sessions: one row per game session.
        summary: one row per service with every outcome, named with units.
    """

    scenario: Scenario
    seed: int
    events: pd.DataFrame
    timeseries: pd.DataFrame
    jobs: pd.DataFrame
    sessions: pd.DataFrame
    summary: pd.DataFrame
    simulation: Simulation = field(repr=False, compare=False)

    def service_summary(self, service: str) -> dict[str, Any]:
        """The summary of *service* as a plain dict."""
        rows = self.summary[self.summary["service"] == service]
        if rows.empty:
            raise KeyError(f"no service named {service!r} in this run")
        return {
            str(k): v.item() if hasattr(v, "item") else v
            for k, v in rows.iloc[0].items()
        }
