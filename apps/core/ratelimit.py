"""Fixed-window rate limits in the shared cache (Redis in production, so all processes agree)."""

import math
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """``"20/60"`` -> 20 per 60 seconds."""
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 1))


def rate_limit_allow(*, scope: str, key: str, rate: Rate) -> bool:
    """Counts one hit for ``key``; False once the window's count is exceeded."""
    window = int(time.time()) // rate.seconds
    cache_key = f"rl:{scope}:{key}:{window}"
    # add() is a no-op when the key exists, so concurrent first hits don't reset the counter.
    cache.add(cache_key, 0, timeout=rate.seconds + 1)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=rate.seconds + 1)
        hits = 1
    return hits <= rate.count


class LocalWindow:
    """A fixed-window counter held in memory, for limits on something that lives in one process
    (one WebSocket): no round trip to the cache per event."""

    def __init__(self, rate: Rate):
        self.rate = rate
        self.window = -1
        self.hits = 0

    def allow(self) -> bool:
        window = int(time.monotonic()) // self.rate.seconds
        if window != self.window:
            self.window, self.hits = window, 0
        self.hits += 1
        return self.hits <= self.rate.count


def lockout_remaining(*, scope: str, key: str) -> int:
    """Seconds left of ``key``'s lockout (see ``failure_count``); 0 when it is not locked out."""
    until = cache.get(f"lock:{scope}:{key}")
    return max(0, math.ceil(until - time.time())) if until else 0


def failure_count(*, scope: str, key: str, rate: Rate, lockout_seconds: int) -> None:
    """Counts one failure of ``key``; the ``rate.count``-th within ``rate.seconds`` of the first
    locks it out for ``lockout_seconds``."""
    cache_key = f"fail:{scope}:{key}"
    cache.add(cache_key, 0, timeout=rate.seconds)
    try:
        failures = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=rate.seconds)
        failures = 1
    if failures >= rate.count:
        until = time.time() + lockout_seconds
        cache.set(f"lock:{scope}:{key}", until, timeout=lockout_seconds)
        cache.delete(cache_key)


def failures_forget(*, scope: str, key: str) -> None:
    cache.delete(f"fail:{scope}:{key}")
