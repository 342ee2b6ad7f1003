"""Durations and rates written with units, converted once to float seconds.

``90s``, ``15m``, ``2h``, ``3d``, ``1h30m`` and ``250ms`` are durations; a bare
number is seconds. ``30/h``, ``2/m``, ``0.5/s`` and ``1/d`` are rates; a bare
number is per second. Pure functions, stdlib only.
"""

from __future__ import annotations

import math
import re
from typing import Final

SECONDS: Final = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_PART: Final = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d|w)")
_RATE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*/\s*(s|m|h|d|w)\s*$")


def parse_duration(value: object) -> float:
    """Seconds in *value*: a number of seconds or a string such as ``1h30m``.

    Raises:
        ValueError: not a duration, or negative, NaN or infinite.
    """
    if isinstance(value, bool):
        raise ValueError(
            f"{value!r} is not a duration; write it like 90s, 15m, 2h or 3d"
        )
    if isinstance(value, int | float):
        seconds = _to_float(value, "duration")
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = _PART.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise ValueError(
                f"{value!r} is not a duration; write it like 90s, 15m, 2h or 3d"
            )
        seconds = sum(_to_float(n, "duration") * SECONDS[u] for n, u in parts)
    else:
        raise ValueError(
            f"{value!r} is not a duration; write it like 90s, 15m, 2h or 3d"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} must be a finite duration >= 0")
    return seconds


def parse_rate(value: object) -> float:
    """Events per second in *value*: a number per second or a string like ``30/h``.

    Raises:
        ValueError: not a rate, or negative, NaN or infinite.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a rate; write it like 30/h, 2/m or 0.5/s")
    if isinstance(value, int | float):
        rate = _to_float(value, "rate")
    elif isinstance(value, str):
        match = _RATE.match(value.lower())
        if match is None:
            raise ValueError(
                f"{value!r} is not a rate; write it like 30/h, 2/m or 0.5/s"
            )
        rate = _to_float(match.group(1), "rate") / SECONDS[match.group(2)]
    else:
        raise ValueError(f"{value!r} is not a rate; write it like 30/h, 2/m or 0.5/s")
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"{value!r} must be a finite rate >= 0")
    return rate


def _to_float(value: float | str, what: str) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"a {what} of {len(str(value))} digits is too large") from None


def format_duration(seconds: float) -> str:
    """A short human form of *seconds* that :func:`parse_duration` reads back
    (``90s``, ``15m``, ``2h30m``, ``3d``, ``1000000s``, ``0.25s``)."""
    if seconds < 60 or seconds % 60:
        if float(seconds).is_integer():
            return f"{int(seconds)}s"
        return f"{seconds:f}".rstrip("0").rstrip(".") + "s"
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n)
    return text or "0s"
