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
        if self.rate_per_s is None:
            return True
        elapsed = max(0.0, now - self._updated_at)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate_per_s)
        self._updated_at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
