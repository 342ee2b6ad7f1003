"""What the benchmark scripts share: the queue workload's daily arrival profile."""

from __future__ import annotations

#: Hourly factors of the arrival rate (UTC hours 0..23): quiet nights, a long peak.
DAILY = [
    0.4,
    0.3,
    0.3,
    0.3,
    0.4,
    0.6,
    0.8,
    1.0,
    1.2,
    1.3,
    1.3,
    1.3,
    1.3,
    1.3,
    1.2,
    1.2,
    1.2,
    1.1,
    1.0,
    0.9,
    0.8,
    0.7,
    0.6,
    0.5,
]
