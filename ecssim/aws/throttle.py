"""A token bucket: how ECS throttles API calls per account (``ThrottlingException``)."""

from __future__ import annotations


class TokenBucket:
    """Allows *rate_per_s* calls per second on average and *burst* at once."""

    def __init__(self, rate_per_s: float | None, burst: float) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = burst
        self._updated_at = 0.0

    def take(self, now: float) -> bool:
        """Spend one token at *now*; False when the bucket is empty (throttled)."""
        rate = self.rate_per_s
        if rate is None:
            return True
        tokens = self._tokens
        elapsed = now - self._updated_at
        if elapsed > 0:
            tokens += elapsed * rate
            if tokens > self.burst:  # noqa: PLR1730 (hot path: no builtin call)
                tokens = self.burst
        self._updated_at = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return True
        self._tokens = tokens
        return False
