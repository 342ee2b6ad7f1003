"""The SimPy environment ecssim runs on, and its run loop.

:class:`Engine` is :class:`simpy.Environment` with a timeout made without
SimPy's descriptor and ``schedule`` call (the same event, due at the same time,
in the same order); :func:`run_until` is SimPy's run loop with ``step`` written
inline.

The clock is SimPy's ``_now``: ``env.now`` is a property, a Python call on
every read, so the paths that run for every job or record (the worker's loop
and protection calls, arrivals, the observer of records) read ``env._now``, as
SimPy's own code does.
"""

from __future__ import annotations

import heapq
from typing import Any

import simpy
from simpy.events import NORMAL, Timeout


class Engine(simpy.Environment):
    """A SimPy environment whose timeouts cost one Python call less."""

    def timeout(self, delay: float, value: Any = None) -> Timeout:  # type: ignore[override]
        """A :class:`simpy.events.Timeout` of *delay*, as SimPy makes it."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        event = Timeout.__new__(Timeout)
        event.env = self
        event.callbacks = []
        event._value = value
        event._delay = delay
        event._ok = True
        heapq.heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), event))
        return event


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
