"""Pure rules of workloads: drawing durations and the arrival rate over time.

A duration distribution draws from the generator it is given; the arrival rate
is a pure function of simulated time, and arrivals are drawn by thinning a
Poisson process at the rate's upper bound, so a time-varying rate needs no
polling. No SimPy here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from ecssim.scenario import traces
from ecssim.scenario.schema import (
    Arrivals,
    Distribution,
    Empirical,
    Exponential,
    Fixed,
    LogNormal,
    Uniform,
)

#: z-score of the 95th percentile of a standard normal.
Z95 = 1.6448536269514722
#: How many random values are drawn at once for arrivals and durations.
BLOCK = 512


def draw(distribution: Distribution, rng: np.random.Generator) -> float:
    """One duration in seconds from *distribution*."""
    return draw_many(distribution, rng, 1)[0]


def draw_many(
    distribution: Distribution, rng: np.random.Generator, n: int
) -> list[float]:
    """*n* durations in seconds from *distribution*, drawn at once."""
    match distribution:
        case Fixed(value_s=value):
            return [value] * n
        case Exponential(mean_s=mean):
            values = rng.exponential(mean, n)
        case LogNormal(median_s=median, p95_s=p95):
            sigma = math.log(p95 / median) / Z95
            values = rng.lognormal(math.log(median), sigma, n)
        case Uniform(low_s=low, high_s=high):
            values = rng.uniform(low, high, n)
        case Empirical(values_s=values_s):
            values = np.asarray(values_s)[rng.integers(len(values_s), size=n)]
        case _:
            raise TypeError(f"unknown distribution {distribution!r}")
    return cast(list[float], values.tolist())


def durations(
    distribution: Distribution, rng: np.random.Generator, block: int = BLOCK
) -> Iterator[float]:
    """An endless stream of durations from *distribution*, drawn *block* at a time
    (numpy draws many values far faster than it draws one)."""
    while True:
        yield from draw_many(distribution, rng, block)


def mean_of(distribution: Distribution) -> float:
    """The mean of *distribution* in seconds."""
    match distribution:
        case Fixed(value_s=value):
            return value
        case Exponential(mean_s=mean):
            return mean
        case LogNormal(median_s=median, p95_s=p95):
            sigma = math.log(p95 / median) / Z95
            return median * math.exp(sigma**2 / 2)
        case Uniform(low_s=low, high_s=high):
            return (low + high) / 2
        case Empirical(values_s=values):
            return sum(values) / len(values)
    raise TypeError(f"unknown distribution {distribution!r}")


@dataclass(frozen=True, slots=True)
class RateFunction:
    """The arrival rate (per second) at each simulated time.

    Attributes:
        arrivals: the scenario's arrival description.
        start_hour_s: seconds past midnight (UTC) of simulated time 0, so the
            daily profile follows the clock.
    """

    arrivals: Arrivals
    start_hour_s: float = 0.0

    def rate_at(self, t: float) -> float:
        """Arrivals per second at time *t*."""
        return float(self.rates_at(np.array([t], dtype=np.float64))[0])

    def rates_at(self, t: np.ndarray) -> np.ndarray:
        """Arrivals per second at each time of *t* (steps in order, the daily
        profile's hour of the clock, bursts added while they last)."""
        a = self.arrivals
        rate = np.full(t.shape, a.rate_per_s)
        for step in a.steps:
            rate[t >= step.at_s] = step.rate_per_s
        if a.daily_profile is not None:
            hours = (((t + self.start_hour_s) % 86400) // 3600).astype(np.int64)
            rate = rate * np.asarray(a.daily_profile)[hours]
        for burst in a.bursts:
            inside = (burst.at_s <= t) & (t < burst.at_s + burst.duration_s)
            rate = rate + np.where(inside, burst.rate_per_s, 0.0)
        return rate

    @property
    def max_rate(self) -> float:
        """An upper bound of :meth:`rate_at` over all time (for thinning)."""
        a = self.arrivals
        base = max([a.rate_per_s, *(s.rate_per_s for s in a.steps)])
        if a.daily_profile is not None:
            base *= max(a.daily_profile)
        return base + sum(b.rate_per_s for b in a.bursts)


def poisson_arrivals(
    rate: RateFunction, rng: np.random.Generator, until_s: float, block: int = BLOCK
) -> Iterator[float]:
    """Arrival times in [0, until_s) of a Poisson process with a varying rate.

    Thinning (Lewis and Shedler): candidates at the maximum rate, each kept
    with probability rate(t) / max_rate. Candidates are drawn *block* at a time.
    """
    peak = rate.max_rate
    if peak <= 0:
        return
    t = 0.0
    while t < until_s:
        with np.errstate(over="ignore"):  # at a vanishing rate, times overflow to inf
            gaps = rng.exponential(1.0 / peak, block)
            times = np.cumsum(np.concatenate(([t], gaps)))
        times = times[1:]
        accept = rng.random(block)
        # times increase: the candidates before the horizon are a prefix, and
        # the rate is only evaluated there (a later one may even be infinite)
        inside = int(np.searchsorted(times, until_s))
        head = times[:inside]
        yield from head[accept[:inside] * peak < rate.rates_at(head)].tolist()
        t = float(times[-1])


def read_trace(path: Path) -> list[tuple[float, float | None]]:
    """Rows ``(arrival_s, duration_s or None)`` of a CSV trace, sorted by arrival
    (see :func:`ecssim.scenario.traces.read_trace`, which ``validate`` uses too).

    Raises:
        ScenarioError: the file cannot be read or a value is bad (names the line).
    """
    return traces.read_trace(path)
