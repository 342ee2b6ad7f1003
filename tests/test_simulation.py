"""``ecssim.model.simulation.fewer_collections``: the cyclic collector runs less often
while a model runs, and its thresholds are restored afterwards.

Every test sets the thresholds it starts from and puts the process's own back
in a ``finally``, so a failure cannot leak into other tests.
"""

from __future__ import annotations

import gc
from collections.abc import Generator, Iterator
from datetime import timedelta
from typing import Any

import pytest
import simpy

from ecssim.model.simulation import (
    GC_THRESHOLD_WHILE_RUNNING,
    Simulation,
    fewer_collections,
)


@pytest.fixture
def thresholds() -> Iterator[None]:
    """Restore the process's gc thresholds after the test, whatever it set."""
    saved = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*saved)


@pytest.mark.usefixtures("thresholds")
def test_the_young_threshold_is_raised_inside_and_restored_after() -> None:
    """Inside the block generation 0's threshold is GC_THRESHOLD_WHILE_RUNNING and the
    older ones are kept; afterwards all three are what they were."""
    gc.set_threshold(700, 11, 12)
    with fewer_collections():
        assert gc.get_threshold() == (GC_THRESHOLD_WHILE_RUNNING, 11, 12)
    assert gc.get_threshold() == (700, 11, 12)


@pytest.mark.usefixtures("thresholds")
def test_the_thresholds_are_restored_when_the_block_raises() -> None:
    """An exception leaving the block still restores the thresholds, and propagates."""
    gc.set_threshold(700, 11, 12)
    inside: list[int] = []

    def fail_inside() -> None:
        with fewer_collections():
            inside.append(gc.get_threshold()[0])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    assert inside == [GC_THRESHOLD_WHILE_RUNNING]
    assert gc.get_threshold() == (700, 11, 12)


@pytest.mark.usefixtures("thresholds")
@pytest.mark.parametrize("young", [GC_THRESHOLD_WHILE_RUNNING, 50_000])
def test_a_threshold_already_as_high_is_never_lowered(young: int) -> None:
    """A generation-0 threshold at or above GC_THRESHOLD_WHILE_RUNNING is left as it is,
    inside and after the block."""
    gc.set_threshold(young, 5, 6)
    with fewer_collections():
        assert gc.get_threshold() == (young, 5, 6)
    assert gc.get_threshold() == (young, 5, 6)


@pytest.mark.usefixtures("thresholds")
def test_nested_blocks_restore_only_at_the_outermost() -> None:
    """An inner block neither lowers the raised threshold when it ends nor restores
    the original too early; the outer block restores it."""
    gc.set_threshold(700, 10, 10)
    with fewer_collections():
        with fewer_collections():
            assert gc.get_threshold()[0] == GC_THRESHOLD_WHILE_RUNNING
        assert gc.get_threshold()[0] == GC_THRESHOLD_WHILE_RUNNING
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.usefixtures("thresholds")
def test_advance_runs_with_fewer_collections_and_restores_them() -> None:
    """While ``Simulation.advance`` runs the model the threshold is raised; after it
    returns, or after a model process raised through it, it is restored."""
    gc.set_threshold(700, 10, 10)
    sim = Simulation(seed=1)
    seen: list[tuple[int, int, int]] = []

    def probe() -> Generator[simpy.Event, Any, None]:
        yield sim.env.timeout(1)
        seen.append(gc.get_threshold())

    def crash() -> Generator[simpy.Event, Any, None]:
        yield sim.env.timeout(1)
        raise RuntimeError("model bug")

    sim.env.process(probe())
    sim.advance(5)
    assert seen == [(GC_THRESHOLD_WHILE_RUNNING, 10, 10)]
    assert gc.get_threshold() == (700, 10, 10)
    sim.env.process(crash())
    with pytest.raises(RuntimeError, match="model bug"):
        sim.advance(5)
    assert gc.get_threshold() == (700, 10, 10)


def test_advance_takes_durations_and_timedeltas() -> None:
    """``advance("2m")`` and ``advance(timedelta(...))`` move the clock like seconds;
    anything else is a TypeError, a bad string a ValueError."""
    sim = Simulation(seed=1)
    sim.advance("2m")
    assert sim.env.now == 120.0
    sim.advance(timedelta(minutes=1, seconds=30))
    assert sim.env.now == 210.0
    sim.advance("1h30m")
    assert sim.env.now == 210.0 + 5400.0
    with pytest.raises(ValueError, match="not a duration"):
        sim.advance("soon")
    with pytest.raises(TypeError, match="timedelta"):
        sim.advance([1])  # type: ignore[arg-type]
