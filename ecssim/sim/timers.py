"""One-shot timers: call a function after a delay, without a process.

A bare timeout with a callback is the cheapest way SimPy has to do something
later; renewable timers keep a token and ignore a firing that was superseded.
"""

from __future__ import annotations

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
