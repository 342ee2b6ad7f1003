"""Workload rules: ``ecssim.workload`` (durations, arrival rates, arrivals, traces).

Each distribution's draws match its parameters over many seeded draws, one at
a time or in blocks, and a stream of durations continues one generator block
after block; the rate function follows steps, the daily profile (by the clock's
hour) and bursts, never exceeds ``max_rate``, and its vectorised form gives the
same values exactly; thinned Poisson arrivals match the integral of the rate
whatever the block size and stop exactly at the horizon; CSV traces parse, sort
and name the file and line of a bad value.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter
from strategies import arrivals_specs

from ecssim.errors import ScenarioError
from ecssim.scenario.schema import Arrivals, Distribution
from ecssim.workload import (
    BLOCK,
    Z95,
    RateFunction,
    draw,
    draw_many,
    durations,
    mean_of,
    poisson_arrivals,
    read_trace,
)

HOUR = 3600.0
DAY = 86400.0
# transcoding-queue.yaml's evening peak
# fmt: off
PROFILE = [0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.0, 1.0,
           1.0, 1.0, 1.0, 1.1, 1.2, 1.4, 1.8, 2.0, 2.0, 1.6, 1.0, 0.5]
# fmt: on


def _dist(**raw: Any) -> Distribution:
    """A distribution from its YAML form."""
    return TypeAdapter(Distribution).validate_python(raw)


def _rate(start_hour_s: float = 0.0, **raw: Any) -> RateFunction:
    """A rate function from an ``arrivals`` mapping in its YAML form."""
    return RateFunction(Arrivals.model_validate(raw), start_hour_s=start_hour_s)


def _draws(distribution: Distribution, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([draw(distribution, rng) for _ in range(n)])


# ---- distributions ------------------------------------------------------------------
def test_fixed_draws_the_value_exactly() -> None:
    """A fixed distribution returns its value every time, whatever the generator."""
    fixed = _dist(distribution="fixed", value="90s")
    assert set(_draws(fixed, 100)) == {90.0}
    assert mean_of(fixed) == 90.0


def test_exponential_draws_have_the_mean() -> None:
    """20 000 exponential draws average within 3 % of the mean and are all >= 0."""
    values = _draws(_dist(distribution="exponential", mean="5m"), 20_000)
    assert values.min() >= 0
    assert values.mean() == pytest.approx(300.0, rel=0.03)
    assert np.median(values) == pytest.approx(300.0 * np.log(2), rel=0.04)


def test_lognormal_draws_have_the_median_and_p95() -> None:
    """50 000 log-normal draws have the given median and p95 within 3 %."""
    values = _draws(_dist(distribution="lognormal", median="15m", p95="75m"), 50_000)
    assert values.min() > 0
    assert np.median(values) == pytest.approx(900.0, rel=0.03)
    assert np.percentile(values, 95) == pytest.approx(4500.0, rel=0.03)


def test_lognormal_mean_matches_its_draws() -> None:
    """``mean_of`` of a log-normal is median e^(sigma^2/2), and the draws agree within 3 %."""
    lognormal = _dist(distribution="lognormal", median="20m", p95="1h")
    sigma = np.log(3.0) / Z95
    assert mean_of(lognormal) == pytest.approx(1200.0 * np.exp(sigma**2 / 2))
    assert _draws(lognormal, 50_000, seed=2).mean() == pytest.approx(
        mean_of(lognormal), rel=0.03
    )


def test_z95_is_the_standard_normal_95th_percentile() -> None:
    """Z95 is the z-score of the 95th percentile, so p95 = median e^(sigma Z95)."""
    rng = np.random.default_rng(0)
    assert np.percentile(rng.standard_normal(400_000), 95) == pytest.approx(
        Z95, abs=0.01
    )
    assert pytest.approx(1.6448536269514722) == Z95


def test_uniform_draws_stay_within_the_bounds() -> None:
    """Uniform draws lie in [low, high], reach near both ends, and average the midpoint."""
    values = _draws(_dist(distribution="uniform", low="5m", high="2h"), 20_000)
    assert values.min() >= 300.0
    assert values.max() <= 7200.0
    assert values.min() < 300.0 + 10
    assert values.max() > 7200.0 - 10
    assert values.mean() == pytest.approx(3750.0, rel=0.02)
    assert mean_of(_dist(distribution="uniform", low="5m", high="2h")) == 3750.0


def test_uniform_with_equal_bounds_is_that_value() -> None:
    """``low == high`` always draws that value."""
    assert set(_draws(_dist(distribution="uniform", low=60, high="1m"), 50)) == {60.0}


def test_empirical_draws_only_the_given_values() -> None:
    """Empirical draws come only from the listed values, each about equally often."""
    empirical = _dist(distribution="empirical", values=["1m", "5m", "5m", 3600])
    counts = Counter(_draws(empirical, 8_000).tolist())
    assert set(counts) == {60.0, 300.0, 3600.0}
    assert counts[300.0] / 8_000 == pytest.approx(0.5, abs=0.03)
    assert counts[60.0] / 8_000 == pytest.approx(0.25, abs=0.03)
    assert mean_of(empirical) == (60 + 300 + 300 + 3600) / 4


def test_mean_of_fixed_and_exponential_are_their_parameters() -> None:
    """The mean of a fixed value is the value; of an exponential, its mean."""
    assert mean_of(_dist(distribution="fixed", value="2h")) == 7200.0
    assert mean_of(_dist(distribution="exponential", mean="6m")) == 360.0


def test_same_seed_gives_the_same_draws() -> None:
    """Draws depend only on the generator's seed."""
    lognormal = _dist(distribution="lognormal", median="15m", p95="75m")
    assert (
        _draws(lognormal, 100, seed=5).tolist()
        == _draws(lognormal, 100, seed=5).tolist()
    )
    assert (
        _draws(lognormal, 100, seed=5).tolist()
        != _draws(lognormal, 100, seed=6).tolist()
    )


def test_an_unknown_distribution_is_a_type_error() -> None:
    """Something that is not a distribution raises TypeError naming it."""
    with pytest.raises(TypeError, match="unknown distribution 'gamma'"):
        draw("gamma", np.random.default_rng(0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown distribution 'gamma'"):
        mean_of("gamma")  # type: ignore[arg-type]


# ---- durations drawn in blocks ------------------------------------------------------------
# one raw distribution of each kind
DISTRIBUTIONS: dict[str, dict[str, Any]] = {
    "fixed": {"distribution": "fixed", "value": "90s"},
    "exponential": {"distribution": "exponential", "mean": "5m"},
    "lognormal": {"distribution": "lognormal", "median": "15m", "p95": "75m"},
    "uniform": {"distribution": "uniform", "low": "5m", "high": "2h"},
    "empirical": {"distribution": "empirical", "values": ["1m", "5m", "5m", 3600]},
}


def _many(distribution: Distribution, n: int, seed: int = 1) -> np.ndarray:
    return np.array(draw_many(distribution, np.random.default_rng(seed), n))


@pytest.mark.parametrize("kind", DISTRIBUTIONS)
@pytest.mark.parametrize("n", [0, 1, 7])
def test_draw_many_gives_n_plain_floats(kind: str, n: int) -> None:
    """``draw_many(..., n)`` is a list of n Python floats (not numpy scalars)."""
    values = draw_many(_dist(**DISTRIBUTIONS[kind]), np.random.default_rng(0), n)
    assert isinstance(values, list)
    assert len(values) == n
    assert all(type(v) is float for v in values)


def test_draw_many_fixed_is_the_value_n_times() -> None:
    """A fixed distribution drawn in a block is its value n times."""
    fixed = _dist(**DISTRIBUTIONS["fixed"])
    assert draw_many(fixed, np.random.default_rng(0), 5) == [90.0] * 5


def test_draw_many_exponential_has_the_mean() -> None:
    """20 000 exponential draws in one block average within 3 % of the mean."""
    values = _many(_dist(**DISTRIBUTIONS["exponential"]), 20_000)
    assert values.min() >= 0
    assert values.mean() == pytest.approx(300.0, rel=0.03)


def test_draw_many_lognormal_has_the_median_and_p95() -> None:
    """20 000 log-normal draws in one block have the given median and p95 within 5 %."""
    values = _many(_dist(**DISTRIBUTIONS["lognormal"]), 20_000)
    assert values.min() > 0
    assert np.median(values) == pytest.approx(900.0, rel=0.05)
    assert np.percentile(values, 95) == pytest.approx(4500.0, rel=0.05)


def test_draw_many_uniform_stays_within_the_bounds() -> None:
    """Uniform draws in one block lie in [low, high], reach near both ends, average the midpoint."""
    values = _many(_dist(**DISTRIBUTIONS["uniform"]), 20_000)
    assert values.min() >= 300.0
    assert values.max() <= 7200.0
    assert values.min() < 300.0 + 10
    assert values.max() > 7200.0 - 10
    assert values.mean() == pytest.approx(3750.0, rel=0.02)


def test_draw_many_empirical_draws_only_the_given_values() -> None:
    """Empirical draws in one block come only from the listed values, in their shares."""
    counts = Counter(_many(_dist(**DISTRIBUTIONS["empirical"]), 8_000).tolist())
    assert set(counts) == {60.0, 300.0, 3600.0}
    assert counts[300.0] / 8_000 == pytest.approx(0.5, abs=0.03)
    assert counts[60.0] / 8_000 == pytest.approx(0.25, abs=0.03)
    assert counts[3600.0] / 8_000 == pytest.approx(0.25, abs=0.03)


def test_draw_many_of_an_unknown_distribution_is_a_type_error() -> None:
    """Something that is not a distribution raises TypeError naming it, in a block too."""
    with pytest.raises(TypeError, match="unknown distribution 'gamma'"):
        draw_many("gamma", np.random.default_rng(0), 3)  # type: ignore[arg-type]
    stream = durations("gamma", np.random.default_rng(0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown distribution 'gamma'"):
        next(stream)


@pytest.mark.parametrize("kind", DISTRIBUTIONS)
def test_a_durations_stream_continues_one_generator_block_after_block(
    kind: str,
) -> None:
    """With block 5 the stream's first 10 values are two successive ``draw_many(5)``
    on a generator of the same seed: each block picks up where the last one ended."""
    distribution = _dist(**DISTRIBUTIONS[kind])
    stream = durations(distribution, np.random.default_rng(4), block=5)
    rng = np.random.default_rng(4)
    expected = draw_many(distribution, rng, 5) + draw_many(distribution, rng, 5)
    assert list(itertools.islice(stream, 10)) == expected


def test_a_durations_stream_depends_only_on_the_seed() -> None:
    """Two streams of one seed agree over several default blocks; another seed differs."""
    lognormal = _dist(**DISTRIBUTIONS["lognormal"])
    n = 3 * BLOCK + 1

    def first(seed: int) -> list[float]:
        return list(
            itertools.islice(durations(lognormal, np.random.default_rng(seed)), n)
        )

    assert len(first(5)) == n
    assert first(5) == first(5)
    assert first(5) != first(6)
    assert len(set(first(5))) == n  # later blocks are fresh draws, not repeats


# ---- the rate function ------------------------------------------------------------------
def test_a_constant_rate_is_the_same_at_all_times() -> None:
    """Without profile, steps or bursts the rate is ``rate`` everywhere."""
    rate = _rate(rate="60/h")
    assert [rate.rate_at(t) for t in (0, 1, HOUR, 1e7)] == [1 / 60] * 4
    assert rate.max_rate == 1 / 60


def test_steps_replace_the_rate_from_their_time_on() -> None:
    """Each step sets the rate from its ``at`` on; before the first, ``rate`` holds."""
    rate = _rate(
        rate="10/h",
        steps=[{"at": "2h", "rate": "5/h"}, {"at": "4h", "rate": "30/h"}],
    )
    per_hour = [
        round(rate.rate_at(t) * HOUR, 9)
        for t in (0, 2 * HOUR - 1, 2 * HOUR, 3 * HOUR, 4 * HOUR, 100 * HOUR)
    ]
    assert per_hour == [10, 10, 5, 5, 30, 30]
    assert rate.max_rate * HOUR == pytest.approx(30)


def test_the_latest_step_wins_whatever_the_order_written() -> None:
    """Steps written out of time order are refused or applied in time order."""
    raw = {
        "rate": "10/h",
        "steps": [{"at": "2h", "rate": "5/h"}, {"at": "1h", "rate": "20/h"}],
    }
    try:
        arrivals = Arrivals.model_validate(raw)
    except ValueError:
        return  # refusing unsorted steps is fine too
    rate = RateFunction(arrivals)
    assert rate.rate_at(1.5 * HOUR) * HOUR == pytest.approx(20)
    assert rate.rate_at(3 * HOUR) * HOUR == pytest.approx(5)


def test_the_daily_profile_scales_the_rate_by_the_hour_of_day() -> None:
    """Hour h of every simulated day has ``rate * daily_profile[h]``."""
    rate = _rate(rate="10/h", daily_profile=list(range(24)))
    for day in (0, 1, 6):
        for hour in range(24):
            t = day * DAY + hour * HOUR + 1800
            assert rate.rate_at(t) * HOUR == pytest.approx(10 * hour)
    assert rate.rate_at(5 * HOUR) * HOUR == pytest.approx(50)  # the hour's first second
    assert rate.rate_at(5 * HOUR - 1e-6) * HOUR == pytest.approx(40)
    assert rate.max_rate * HOUR == pytest.approx(230)


def test_the_daily_profile_follows_the_clock_from_the_start_hour() -> None:
    """With time 0 at 06:00 the profile starts at hour 6 and wraps at midnight."""
    rate = _rate(start_hour_s=6 * HOUR, rate="1/h", daily_profile=list(range(24)))
    assert rate.rate_at(0) * HOUR == pytest.approx(6)
    assert rate.rate_at(17 * HOUR + 1) * HOUR == pytest.approx(23)
    assert rate.rate_at(18 * HOUR) * HOUR == pytest.approx(0)
    assert rate.rate_at(DAY + 2 * HOUR) * HOUR == pytest.approx(8)


def test_bursts_add_to_the_rate_while_they_run() -> None:
    """A burst adds its rate in [at, at + duration); overlapping bursts both add."""
    rate = _rate(
        rate="10/h",
        bursts=[
            {"at": "1h", "duration": "30m", "rate": "50/h"},
            {"at": "80m", "duration": "1h", "rate": "100/h"},
        ],
    )
    per_hour = {
        t: round(rate.rate_at(t) * HOUR, 9)
        for t in (HOUR - 1, HOUR, 80 * 60, 90 * 60, 140 * 60 - 1, 140 * 60)
    }
    assert per_hour == {
        HOUR - 1: 10,
        HOUR: 60,
        80 * 60: 160,
        90 * 60: 110,
        140 * 60 - 1: 110,
        140 * 60: 10,
    }
    assert rate.max_rate * HOUR == pytest.approx(160)


def test_a_burst_is_not_scaled_by_the_daily_profile() -> None:
    """A burst during an hour whose factor is 0 still brings its own rate."""
    profile = [1.0] * 24
    profile[3] = 0.0
    rate = _rate(
        rate="10/h",
        daily_profile=profile,
        bursts=[{"at": "3h", "duration": "1h", "rate": "7/h"}],
    )
    assert rate.rate_at(3.5 * HOUR) * HOUR == pytest.approx(7)
    assert rate.rate_at(2.5 * HOUR) * HOUR == pytest.approx(10)


@given(
    arrivals_specs(),
    st.floats(min_value=0, max_value=DAY, allow_nan=False),
    st.lists(st.floats(min_value=0, max_value=3e6, allow_nan=False), max_size=20),
)
def test_max_rate_bounds_the_rate_everywhere(
    raw: dict[str, Any], start_hour_s: float, times: list[float]
) -> None:
    """``0 <= rate_at(t) <= max_rate`` for any arrivals, start hour and time."""
    rate = RateFunction(Arrivals.model_validate(raw), start_hour_s=start_hour_s)
    points = [*times]
    points += [s["at"] for s in raw.get("steps", [])]
    points += [b["at"] for b in raw.get("bursts", [])]
    for t in points:
        assert 0 <= rate.rate_at(t) <= rate.max_rate * (1 + 1e-12)


def _edges(raw: dict[str, Any], start_hour_s: float) -> list[float]:
    """Times where the rate may change (steps, burst ends, hours of the clock), and
    the float just below each: where a vectorised rate could round differently."""
    edges = [s["at"] for s in raw.get("steps", [])]
    for burst in raw.get("bursts", []):
        edges += [burst["at"], burst["at"] + burst["duration"]]
    edges += [DAY + h * HOUR - start_hour_s for h in range(25)]
    below = [float(np.nextafter(t, -np.inf)) for t in edges]
    return [float(t) for t in edges] + [t for t in below if t >= 0]


@given(
    arrivals_specs(),
    st.floats(min_value=0, max_value=DAY, allow_nan=False),
    st.lists(st.floats(min_value=0, max_value=3e6, allow_nan=False), max_size=20),
)
def test_rates_at_is_rate_at_of_each_time_exactly(
    raw: dict[str, Any], start_hour_s: float, times: list[float]
) -> None:
    """``rates_at(array)`` equals ``[rate_at(t) for t in array]`` exactly (==), edges included."""
    rate = RateFunction(Arrivals.model_validate(raw), start_hour_s=start_hour_s)
    points = [*times, *_edges(raw, start_hour_s)]
    rates = rate.rates_at(np.array(points, dtype=np.float64))
    assert rates.shape == (len(points),)
    assert rates.tolist() == [rate.rate_at(t) for t in points]


def test_rates_at_of_no_times_is_empty() -> None:
    """An empty array of times gives an empty array of rates."""
    rate = _rate(rate="10/h", daily_profile=PROFILE, steps=[{"at": 5, "rate": 1}])
    assert rate.rates_at(np.array([], dtype=np.float64)).tolist() == []


# ---- Poisson arrivals --------------------------------------------------------------------
def _arrivals(rate: RateFunction, until_s: float, seed: int = 3) -> list[float]:
    return list(poisson_arrivals(rate, np.random.default_rng(seed), until_s))


def test_a_constant_rate_gives_its_count_over_a_long_horizon() -> None:
    """60/h over 1000 h gives 60 000 arrivals within 3 %, sorted, in [0, until)."""
    times = _arrivals(_rate(rate="60/h"), 1000 * HOUR)
    assert len(times) == pytest.approx(60_000, rel=0.03)
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    assert times[0] > 0
    assert times[-1] < 1000 * HOUR


def test_a_daily_profile_gives_its_mean_rate_and_its_shape() -> None:
    """Over 60 days arrivals total rate * mean(profile) * hours, and each hour of day its share."""
    days = 60
    times = np.array(_arrivals(_rate(rate="40/h", daily_profile=PROFILE), days * DAY))
    expected = 40 * np.mean(PROFILE) * 24 * days
    assert len(times) == pytest.approx(expected, rel=0.03)
    by_hour = np.bincount(((times % DAY) // HOUR).astype(int), minlength=24)
    for hour, count in enumerate(by_hour):
        mean = 40 * PROFILE[hour] * days
        assert abs(count - mean) < 5 * np.sqrt(mean), (hour, count, mean)


def test_a_step_starts_arrivals_at_its_time() -> None:
    """With rate 0 until a step at 500 h to 60/h, arrivals begin after 500 h only."""
    times = _arrivals(
        _rate(rate=0, steps=[{"at": "500h", "rate": "60/h"}]), 1000 * HOUR
    )
    assert min(times) >= 500 * HOUR
    assert len(times) == pytest.approx(30_000, rel=0.03)


def test_a_burst_brings_its_arrivals_inside_its_window() -> None:
    """A 10-hour burst of 600/h on a zero base gives about 6000 arrivals, all inside it."""
    times = _arrivals(
        _rate(rate=0, bursts=[{"at": "5h", "duration": "10h", "rate": "600/h"}]),
        DAY,
    )
    assert all(5 * HOUR <= t < 15 * HOUR for t in times)
    assert len(times) == pytest.approx(6000, rel=0.05)


def test_a_trace_only_workload_has_no_poisson_arrivals() -> None:
    """Arrivals given only by a trace have rate 0: the Poisson process yields nothing."""
    assert _arrivals(_rate(trace="t.csv"), DAY) == []


def test_nothing_arrives_before_time_zero_or_in_an_empty_horizon() -> None:
    """A horizon of 0 s yields no arrivals."""
    assert _arrivals(_rate(rate="3600/h"), 0.0) == []


def test_arrivals_depend_only_on_the_seed() -> None:
    """The same seed gives the same arrival times; another seed, others."""
    rate = _rate(rate="30/h", daily_profile=PROFILE)
    assert _arrivals(rate, DAY, seed=9) == _arrivals(rate, DAY, seed=9)
    assert _arrivals(rate, DAY, seed=9) != _arrivals(rate, DAY, seed=10)


@given(
    arrivals_specs(max_rate_per_h=60.0),
    st.floats(min_value=0, max_value=12 * HOUR, allow_nan=False),
    st.integers(min_value=0, max_value=2**32),
)
def test_arrival_times_are_increasing_and_inside_the_horizon(
    raw: dict[str, Any], until_s: float, seed: int
) -> None:
    """Any arrivals give strictly increasing times in [0, until) where the rate is > 0."""
    rate = RateFunction(Arrivals.model_validate(raw))
    times = _arrivals(rate, until_s, seed)
    assert all(a < b for a, b in itertools.pairwise(times))
    assert all(0 <= t < until_s for t in times)
    assert all(rate.rate_at(t) > 0 for t in times)


def _blocked(
    rate: RateFunction, until_s: float, block: int, seed: int = 3
) -> list[float]:
    return list(poisson_arrivals(rate, np.random.default_rng(seed), until_s, block))


def test_tiny_blocks_give_the_constant_rate_count() -> None:
    """Candidates drawn 3 at a time: 600/h over 20 h still gives 12 000 within 3 %,
    strictly increasing in (0, until)."""
    times = _blocked(_rate(rate="600/h"), 20 * HOUR, block=3)
    assert len(times) == pytest.approx(12_000, rel=0.03)
    assert all(a < b for a, b in itertools.pairwise(times))
    assert times[0] > 0
    assert times[-1] < 20 * HOUR


def test_tiny_blocks_thin_by_the_daily_profile() -> None:
    """Candidates drawn 5 at a time and thinned by a profile give rate * mean(profile)."""
    days = 10
    times = _blocked(_rate(rate="40/h", daily_profile=PROFILE), days * DAY, block=5)
    assert len(times) == pytest.approx(40 * np.mean(PROFILE) * 24 * days, rel=0.04)


def test_an_arrival_exactly_at_the_horizon_is_left_out() -> None:
    """A horizon equal to an arrival inside a block ends the arrivals just before it;
    one between two arrivals of a block keeps the earlier one."""
    rate = _rate(rate="60/h")  # constant: every candidate is kept
    full = _blocked(rate, 10 * HOUR, block=3)
    assert len(full) > 6
    assert _blocked(rate, full[4], block=3) == full[:4]
    assert _blocked(rate, (full[4] + full[5]) / 2, block=3) == full[:5]
    assert _blocked(rate, full[0], block=3) == []


@given(
    arrivals_specs(max_rate_per_h=60.0),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=0, max_value=2**32),
    st.data(),
)
def test_a_shorter_horizon_gives_exactly_the_earlier_arrivals(
    raw: dict[str, Any], block: int, seed: int, data: st.DataObject
) -> None:
    """For any block size, cutting the horizon (at an arrival or anywhere) keeps the
    longer run's arrivals before it, and nothing at or after it."""
    rate = RateFunction(Arrivals.model_validate(raw))
    horizon = 6 * HOUR
    full = _blocked(rate, horizon, block, seed)
    assert all(a < b for a, b in itertools.pairwise(full))
    assert all(0 <= t < horizon and rate.rate_at(t) > 0 for t in full)
    anywhere = st.floats(min_value=0, max_value=horizon, allow_nan=False)
    until_s = data.draw(st.sampled_from(full) | anywhere if full else anywhere)
    assert _blocked(rate, until_s, block, seed) == [t for t in full if t < until_s]


# ---- CSV traces --------------------------------------------------------------------------
def _trace(tmp_path: Path, text: str | bytes, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def _trace_error(path: Path) -> str:
    with pytest.raises(ScenarioError) as excinfo:
        read_trace(path)
    return str(excinfo.value)


def test_a_trace_reads_seconds_and_units_sorted_by_arrival(tmp_path: Path) -> None:
    """Arrivals and durations in seconds or with units, returned sorted by arrival."""
    path = _trace(
        tmp_path,
        "arrival,duration,user\n2h,90s,a\n90,,b\n1m30s,5m,c\n0.5,1h30m,d\n",
    )
    assert read_trace(path) == [
        (0.5, 5400.0),
        (90.0, None),
        (90.0, 300.0),
        (7200.0, 90.0),
    ]


def test_a_trace_without_a_duration_column_has_no_durations(tmp_path: Path) -> None:
    """Only ``arrival`` is required; durations are then None."""
    path = _trace(tmp_path, "arrival\r\n10m\r\n5\r\n")
    assert read_trace(path) == [(5.0, None), (600.0, None)]


def test_a_trace_with_only_a_header_is_empty(tmp_path: Path) -> None:
    """A header and no rows is an empty trace."""
    assert read_trace(_trace(tmp_path, "arrival,duration\n")) == []


@pytest.mark.parametrize(
    "text", ["", "time,duration\n1,5m\n", "Arrival\n1\n"], ids=["empty", "no", "case"]
)
def test_a_trace_without_an_arrival_column_names_the_file(
    tmp_path: Path, text: str
) -> None:
    """No ``arrival`` column in the header raises ScenarioError naming the file
    (and the header line, when there is one)."""
    path = _trace(tmp_path, text)
    where = f"{path}:1" if text else f"{path}"
    assert _trace_error(path).startswith(
        f"{where}: a trace needs a header with an 'arrival' column"
    )


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("arrival\n1\nsoon\n", 3, "arrival: 'soon': is not a duration"),
        (
            "arrival,duration\n1,5m\n2,forever\n",
            3,
            "duration: 'forever': is not a duration",
        ),
        ("arrival\n-5\n", 2, "arrival: '-5': must be a finite duration >= 0"),
        ("arrival\nnan\n", 2, "arrival: 'nan': must be a finite duration >= 0"),
        ("arrival\ninf\n", 2, "arrival: 'inf': must be a finite duration >= 0"),
        ("arrival,duration\n,5m\n", 2, "arrival: missing value"),
        ("duration,arrival\n5m\n", 2, "arrival: missing value"),
    ],
    ids=["word", "bad duration", "negative", "nan", "inf", "blank", "short row"],
)
def test_a_bad_trace_value_names_the_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    """A value that is not a duration raises ScenarioError ``file:LINE: reason``."""
    path = _trace(tmp_path, text)
    message = _trace_error(path)
    assert message.startswith(f"{path}:{line}: ")
    assert fragment in message


def test_a_bad_value_after_a_blank_line_names_its_own_line(tmp_path: Path) -> None:
    """Blank lines are skipped but still counted: the error names the file's real line."""
    path = _trace(tmp_path, "arrival\n1\n\n2\nsoon\n")
    assert _trace_error(path).startswith(f"{path}:5: arrival: 'soon'")


def test_a_missing_trace_is_a_scenario_error(tmp_path: Path) -> None:
    """A trace that does not exist raises ScenarioError naming it."""
    path = tmp_path / "nope.csv"
    assert _trace_error(path) == (
        f"{path}: cannot read the trace (No such file or directory)"
    )


def test_a_non_utf8_trace_is_a_scenario_error(tmp_path: Path) -> None:
    """A trace that is not UTF-8 raises ScenarioError naming it, not UnicodeDecodeError."""
    path = _trace(tmp_path, "arrival,user\n1,café\n".encode("latin-1"))
    assert _trace_error(path).startswith(f"{path}")


def test_a_trace_saved_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    """A UTF-8 file with a BOM (Excel's "CSV UTF-8") still has its ``arrival`` column."""
    path = _trace(tmp_path, "\ufeffarrival,duration\n1,5m\n".encode())
    assert read_trace(path) == [(1.0, 300.0)]
