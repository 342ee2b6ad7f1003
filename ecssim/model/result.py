"""What one run produced: :class:`RunResult`, its tidy frames and summary."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import pandas as pd

from ecssim.model.simulation import Simulation
from ecssim.results.recorder import RecordedEvents, event_details
from ecssim.results.stats import compare_sides
from ecssim.scenario.schema import Scenario


class _BuiltWhenRead:
    """A frame field given as a frame or as a function that builds it: built
    the first time it is read (compared, printed, written), then kept.

    Reading it on the class raises AttributeError, so a dataclass sees a field
    without a default.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> pd.DataFrame:
        if instance is None:
            raise AttributeError(self.name)
        value = instance.__dict__[self.name]
        if callable(value):
            value = instance.__dict__[self.name] = value()
        frame: pd.DataFrame = value
        return frame

    def __set__(
        self, instance: object, value: pd.DataFrame | Callable[[], pd.DataFrame]
    ) -> None:
        instance.__dict__[self.name] = value


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced.

    Attributes:
        scenario: the scenario that ran.
        seed: the seed it ran with.
        events: one row per recorded event (``time_s, timestamp, kind, service,
            task, reason, detail``); :meth:`event_details` gives ``detail`` as
            typed columns. Built the first time it is read (a sweep never
            reads it): pass a frame, or a function that builds it.
        timeseries: one row per service per sample interval (``time_s``, its UTC
            ``timestamp``, then the counts).
        jobs: one row per queue job.
        sessions: one row per game session.
        summary: one row per service with every outcome, named with units.
    """

    scenario: Scenario
    seed: int
    _: KW_ONLY
    #: no default (see _BuiltWhenRead): keyword-only, so mypy accepts the fields after
    events: _BuiltWhenRead = _BuiltWhenRead()
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

    def event_parts(self, rows: int) -> Iterator[pd.DataFrame]:
        """The events frame in consecutive parts of *rows* rows (one empty part
        when there are none): built a part at a time when it has not been read,
        so a long run's events are written without the whole frame."""
        source = self.__dict__["events"]
        if isinstance(source, RecordedEvents):
            yield from source.parts(rows)
            return
        frame = self.events
        for first in range(0, max(len(frame), 1), rows):
            yield frame.iloc[first : first + rows]

    def event_details(self, kind: str | None = None) -> pd.DataFrame:
        """The events (of *kind* when given) with ``detail`` as typed columns,
        e.g. ``result.event_details("protection_failed")["expires_at"]``."""
        return event_details(self.events, kind)

    def compare(
        self, *others: RunResult, labels: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Every outcome of this run beside *others*', each compared with this one.

        Returns the tidy table of :func:`ecssim.results.stats.compare_sides`
        (``point, service, outcome, side, runs, mean, ci95, difference,
        difference_ci95, paired``): differences are (other - this), paired
        when the seeds are the same (common random numbers), e.g.
        ``a.compare(b).query("outcome == 'task_hours'")``.

        Args:
            others: one or more results to compare with this one.
            labels: a name per result, this one first (default
                ``"<scenario> seed <seed>"``, numbered when two are alike).

        Raises:
            ValueError: no other result, or *labels* of the wrong length.
        """
        results = (self, *others)
        if labels is None:
            names = [f"{r.scenario.name} seed {r.seed}" for r in results]
            if len(set(names)) < len(names):
                names = [f"{i + 1}: {name}" for i, name in enumerate(names)]
        else:
            names = list(labels)
            if len(names) != len(results):
                raise ValueError(
                    f"labels: {len(names)} given for {len(results)} results"
                )
        return compare_sides(
            [
                (name, r.summary.assign(seed=r.seed))
                for name, r in zip(names, results, strict=True)
            ]
        )
