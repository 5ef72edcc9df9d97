"""Fixed-window rate limits in the shared cache (Redis in production, so all processes agree)."""

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
