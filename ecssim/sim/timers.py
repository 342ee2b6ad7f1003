"""One-shot timers: call a function after a delay, without a process.

A bare timeout with a callback is the cheapest way SimPy has to do something
later; renewable timers keep a token and ignore a firing that was superseded.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import simpy


def after(env: simpy.Environment, delay_s: float, action: Callable[[], object]) -> None:
    """Call *action* once, *delay_s* simulated seconds from now."""

    def fire(_event: simpy.Event) -> None:
        action()

    env.timeout(max(0.0, delay_s)).callbacks.append(fire)


def at(env: simpy.Environment, time_s: float, action: Callable[[], object]) -> None:
    """Call *action* at simulated time *time_s* (now if that is already past)."""
    after(env, time_s - env.now, action)


def run_until(env: simpy.Environment, until: float) -> None:
    """Process every event due at or before *until*, in SimPy's order, and leave
    the clock at *until* (not before the time it shows already).

    What ``env.run(until)`` followed by stepping through the events due at
    exactly *until* does, as one loop with :meth:`simpy.Environment.step`
    written inline (a method call and an exception handler less per event);
    a failed event nobody defused raises as SimPy raises it.
    """
    queue = env._queue
    pop = heapq.heappop
    while queue and queue[0][0] <= until:
        now, _, _, event = pop(queue)
        env._now = now
        callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            failure = event._value
            exc = type(failure)(*failure.args)
            exc.__cause__ = failure
            raise exc
    env._now = max(env._now, until)
