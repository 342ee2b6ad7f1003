"""``ecssim.aws.throttle.TokenBucket`` against a plain reference model.

The reference is the token bucket written the obvious way: refill by the time
elapsed (never negative) at the rate, cap at the burst, spend one token if at
least one is there. The bucket must answer exactly like it, call after call.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from ecssim.aws.throttle import TokenBucket


class ReferenceBucket:
    """The token bucket as its definition reads."""

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.tokens = burst
        self.last = 0.0

    def take(self, now: float) -> bool:
        self.tokens = min(
            self.burst, self.tokens + max(0.0, now - self.last) * self.rate_per_s
        )
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _answers(bucket: TokenBucket | ReferenceBucket, times: list[float]) -> list[bool]:
    return [bucket.take(t) for t in times]


rates = st.floats(min_value=0.0, max_value=50.0) | st.sampled_from([0.5, 1.0, 20.0])
bursts = st.floats(min_value=0.0, max_value=40.0) | st.integers(0, 40).map(float)
# gaps between calls: often none (calls at the same instant), sometimes long
gaps = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=0.2),
    st.floats(min_value=0.0, max_value=30.0),
)


@given(rates, bursts, st.lists(gaps, max_size=200))
def test_the_bucket_answers_like_the_reference_over_non_decreasing_times(
    rate: float, burst: float, steps: list[float]
) -> None:
    """Over any non-decreasing call times the bucket throttles exactly where the
    reference model does."""
    times = list(itertools.accumulate(steps))
    assert _answers(TokenBucket(rate, burst), times) == _answers(
        ReferenceBucket(rate, burst), times
    )


@given(
    rates,
    bursts,
    st.lists(st.floats(min_value=0.0, max_value=100.0), max_size=100),
)
def test_a_clock_going_back_refills_nothing_like_the_reference(
    rate: float, burst: float, times: list[float]
) -> None:
    """Call times in any order: an earlier time adds no tokens, as in the reference."""
    assert _answers(TokenBucket(rate, burst), times) == _answers(
        ReferenceBucket(rate, burst), times
    )


def test_a_burst_of_two_at_one_per_second() -> None:
    """Burst 2 at 1/s: two calls at once, then one per second, capped at two after a wait."""
    times = [0.0, 0.0, 0.0, 0.5, 1.0, 1.0, 3.5, 3.5, 3.5]
    expected = [True, True, False, False, True, False, True, True, False]
    assert _answers(TokenBucket(1.0, 2.0), times) == expected
    assert _answers(ReferenceBucket(1.0, 2.0), times) == expected


@given(bursts, st.lists(st.floats(min_value=0.0, max_value=1e6), max_size=50))
def test_without_a_rate_every_call_is_allowed(burst: float, times: list[float]) -> None:
    """rate None means no throttling: every call is allowed, even with an empty burst."""
    bucket = TokenBucket(None, burst)
    assert _answers(bucket, times) == [True] * len(times)
    assert _answers(TokenBucket(None, 0.0), [5.0] * 10) == [True] * 10
