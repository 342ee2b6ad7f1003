"""``run_until``: SimPy's own loop, written inline, in SimPy's order."""

from __future__ import annotations

import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from ecssim.sim.engine import run_until

DELAYS = st.lists(st.integers(0, 20).map(float), max_size=30)


def _schedule(env: simpy.Environment, delays: list[float], seen: list) -> None:
    """Timeouts at *delays*, each appending (time, index) and, for every third,
    a chained timeout of the same delay (events scheduled while running)."""

    def fire(index: int, delay: float):
        def callback(_event: simpy.Event) -> None:
            seen.append((env.now, index))
            if index % 3 == 0 and index < 1000:
                env.timeout(delay).callbacks.append(fire(index + 1000, delay))

        return callback

    for index, delay in enumerate(delays):
        env.timeout(delay).callbacks.append(fire(index, delay))


@given(delays=DELAYS, until=st.integers(1, 25).map(float))
def test_same_events_in_the_same_order_as_simpy(
    delays: list[float], until: float
) -> None:
    """Every event due by *until* (those at exactly *until* included) runs, in
    the order SimPy's run and step give, and the clock ends at *until*."""
    ours: list = []
    env = simpy.Environment()
    _schedule(env, delays, ours)
    run_until(env, until)
    theirs: list = []
    reference = simpy.Environment()
    _schedule(reference, delays, theirs)
    reference.run(until=until)
    while reference.peek() <= until:
        reference.step()
    assert ours == theirs
    assert env.now == reference.now == until


def test_a_failed_event_nobody_defused_raises() -> None:
    """A process that raises stops the run with its exception, as in SimPy."""
    env = simpy.Environment()

    def broken():
        yield env.timeout(2)
        raise ValueError("boom")

    env.process(broken())
    with pytest.raises(ValueError, match="boom"):
        run_until(env, 10.0)
    assert env.now == 2


def test_the_clock_never_goes_back() -> None:
    """Asking for a time already past processes what is due and keeps the clock."""
    env = simpy.Environment()
    run_until(env, 5.0)
    run_until(env, 3.0)
    assert env.now == 5.0
