"""Named random streams spawned from one seed.

Every source of randomness in a run draws from its own ``numpy.random.Generator``
so that adding draws to one stream never shifts another. New stream names are
appended at the end of :data:`STREAM_NAMES` so existing draws stay unchanged.
No global random state anywhere in ecssim.
"""

from __future__ import annotations

import uuid
import zlib
from typing import Final

import numpy as np

STREAM_NAMES: Final = (
    "ids",
    "victims",
    "task_timing",
    "arrivals",
    "durations",
    "faults",
    "api",
    "workers",
    "sessions",
    "requests",
)


#: Keyed streams live at spawn keys from here on, clear of the named ones.
KEYED_OFFSET: Final = 1000


class Streams:
    """Independent named generators derived from one seed."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = seed
        children = np.random.SeedSequence(seed).spawn(len(STREAM_NAMES))
        self._generators = {
            name: np.random.default_rng(child)
            for name, child in zip(STREAM_NAMES, children, strict=True)
        }

    def __getitem__(self, name: str) -> np.random.Generator:
        """The generator of the stream called *name*."""
        try:
            return self._generators[name]
        except KeyError:
            raise KeyError(f"no random stream named {name!r}") from None

    def for_key(self, name: str, key: str) -> np.random.Generator:
        """An independent generator of stream *name* for one *key* (a service).

        Keyed streams keep one service's draws unchanged when another service
        is added to a scenario.
        """
        index = STREAM_NAMES.index(name)
        sequence = np.random.SeedSequence(
            self.seed, spawn_key=(KEYED_OFFSET + index, zlib.crc32(key.encode()))
        )
        return np.random.default_rng(sequence)

    def hex_id(self, nbytes: int = 16) -> str:
        """A random lowercase hex id (a task id is 32 hex characters)."""
        return self["ids"].bytes(nbytes).hex()

    def request_id(self) -> str:
        """A RequestId for an API response, from its own stream so that read-only
        calls never shift task ids or any other draw."""
        return str(uuid.UUID(bytes=self["requests"].bytes(16), version=4))

    def uuid(self) -> str:
        """A random version-4 UUID string, drawn from the ids stream."""
        return str(uuid.UUID(bytes=self["ids"].bytes(16), version=4))
