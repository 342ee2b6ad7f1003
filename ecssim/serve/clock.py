"""The real-time driver: a simulation's clock at X times wall-clock time, or
moved only when told to.

One thread advances the existing :class:`~ecssim.Simulation` in small steps
paced by the wall clock (``sim.advance`` under :attr:`Clock.lock`); every HTTP
handler takes the same lock, so the model only ever runs on one thread at a
time. After each step :attr:`Clock.ticked` is notified, which is what long
polls on the simulated clock wait on. In manual mode the thread is not started
and only :meth:`Clock.advance` moves time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

#: Wall-clock seconds between two steps of the driver.
TICK_S: Final = 0.05


class Advancing(Protocol):
    """What the clock drives (a :class:`~ecssim.Simulation`)."""

    @property
    def now_s(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class Clock:
    """Drives *sim* up to *until_s* simulated seconds.

    Args:
        sim: the simulation to advance.
        until_s: the simulated time the clock stops at (the scenario's end).
        speed: simulated seconds per wall-clock second; None for manual mode.
        wall: the wall clock (monotonic seconds), for tests.
    """

    def __init__(
        self,
        sim: Advancing,
        *,
        until_s: float,
        speed: float | None,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be a positive number, got {speed!r}")
        self.sim = sim
        self.until_s = until_s
        self.speed = speed
        self.lock = threading.RLock()
        #: notified (with :attr:`lock` held) whenever simulated time moved
        self.ticked = threading.Condition(self.lock)
        self._wall = wall
        self._paused = speed is None
        self._anchor_wall = wall()
        self._anchor_sim = sim.now_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: an exception that stopped the driver (the model failed)
        self.failure: BaseException | None = None

    @property
    def manual(self) -> bool:
        """Whether time moves only through :meth:`advance`."""
        return self.speed is None

    @property
    def paused(self) -> bool:
        """Whether the real-time driver is holding time still."""
        return self._paused

    @property
    def finished(self) -> bool:
        """Whether the clock reached the scenario's end."""
        return self.sim.now_s >= self.until_s

    def start(self) -> None:
        """Start the driver thread (not in manual mode)."""
        if self.manual or self._thread is not None:
            return
        with self.lock:
            self._anchor()
            self._paused = False
        self._thread = threading.Thread(
            target=self._run, name="ecssim-clock", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the driver thread and wait for it (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def pause(self) -> None:
        """Hold simulated time still (the driver keeps running)."""
        with self.lock:
            self._paused = True

    def resume(self) -> None:
        """Let simulated time run again from where it stands."""
        if self.manual:
            raise ValueError("the clock is manual: use advance")
        with self.lock:
            self._anchor()
            self._paused = False

    def advance(self, seconds: float) -> float:
        """Move simulated time *seconds* forward now (capped at the end); returns
        the seconds actually advanced.

        Raises:
            ValueError: *seconds* is negative or not finite.
        """
        with self.lock:
            if not math.isfinite(seconds) or seconds < 0:
                raise ValueError(f"seconds must be finite and >= 0, got {seconds!r}")
            step = min(seconds, max(0.0, self.until_s - self.sim.now_s))
            self.sim.advance(step)
            self._anchor()
            self.ticked.notify_all()
            return step

    def state(self) -> dict[str, Any]:
        """The clock as the control endpoint shows it."""
        with self.lock:
            mode = "manual" if self.manual else "paused" if self._paused else "running"
            return {
                "mode": mode,
                "speed": self.speed,
                "now_s": self.sim.now_s,
                "until_s": self.until_s,
                "finished": self.finished,
            }

    def _anchor(self) -> None:
        self._anchor_wall = self._wall()
        self._anchor_sim = self.sim.now_s

    def _run(self) -> None:
        try:
            while not self._stop.wait(TICK_S):
                self.step()
        except BaseException as exc:  # the model failed: keep serving, say so
            self.failure = exc
            with self.lock:
                self._paused = True
                self.ticked.notify_all()

    def step(self) -> None:
        """Advance to where the wall clock says simulated time should be."""
        with self.lock:
            if self._paused or self.speed is None:
                return
            target = self._anchor_sim + (self._wall() - self._anchor_wall) * self.speed
            target = min(target, self.until_s)
            now = self.sim.now_s
            if target > now:
                self.sim.advance(target - now)
                self.ticked.notify_all()
