"""Rate limits: a fixed window of attempts per key, in memory or in Redis.

The embedded server counts in its own memory. With DROPSPACE_REDIS_URL set
the counters live in Redis, so every server process shares one budget per
key and a restart does not reset it.
"""

import math
import re
import time
from typing import Protocol

from redis.asyncio import Redis

from server.errors import RateLimited
from server.redis_counts import RedisCounts


class RateLimiter(Protocol):
    """Allow at most `limit` hits per key in each window of `window_s`."""

    limit: int
    window_s: float
    action: str

    async def check(self, key: str) -> None:
        """Raise RateLimited when the key has used up its window."""

    async def hit(self, key: str) -> None:
        """Count one attempt, or raise RateLimited when the key is over."""

    async def refund(self, key: str) -> None:
        """Take back one attempt that the server, not the client, failed."""


def create_limiter(
    redis: Redis | None, prefix: str, limit: int, window_s: float, action: str
) -> RateLimiter:
    """Return a Redis limiter when a client is given, else an in-memory one."""
    if redis is None:
        return MemoryRateLimiter(limit, window_s, action)
    return RedisRateLimiter(redis, prefix, limit, window_s, action)


def _rate_limited(action: str, retry_after_s: float) -> RateLimited:
    retry_after = max(1, math.ceil(retry_after_s))
    return RateLimited(
        f"Too many {action} attempts; try again in {retry_after} s.",
        retry_after_s=retry_after,
    )


class MemoryRateLimiter:
    """Counters in this process's memory, for the embedded server."""

    def __init__(self, limit: int, window_s: float, action: str) -> None:
        self.limit = limit
        self.window_s = window_s
        self.action = action
        self._windows: dict[str, tuple[float, int]] = {}

    async def check(self, key: str) -> None:
        now = time.monotonic()
        started, count = self._current(key, now)
        if count >= self.limit:
            raise _rate_limited(self.action, self.window_s - (now - started))

    async def hit(self, key: str) -> None:
        await self.check(key)
        now = time.monotonic()
        started, count = self._current(key, now)
        self._windows[key] = (started, count + 1)
        if len(self._windows) > 10_000:
            self._drop_stale(now)

    async def refund(self, key: str) -> None:
        window = self._windows.get(key)
        if window is not None and window[1] > 0:
            self._windows[key] = (window[0], window[1] - 1)

    def _current(self, key: str, now: float) -> tuple[float, int]:
        started, count = self._windows.get(key, (now, 0))
        if now - started >= self.window_s:
            return now, 0
        return started, count

    def _drop_stale(self, now: float) -> None:
        for key, (started, _) in list(self._windows.items()):
            if now - started >= self.window_s:
                del self._windows[key]


class RedisRateLimiter:
    """Counters shared by every process through Redis keys that expire."""

    def __init__(
        self, redis: Redis, prefix: str, limit: int, window_s: float, action: str
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.action = action
        slug = re.sub(r"[^a-z0-9]+", "-", action.lower()).strip("-")
        self._counts = RedisCounts(redis, prefix, f"ratelimit:{slug}")

    async def check(self, key: str) -> None:
        count, ttl_s = await self._counts.get(key)
        if count >= self.limit:
            raise _rate_limited(self.action, ttl_s)

    async def hit(self, key: str) -> None:
        count = await self._counts.add(key, self.window_s)
        if count > self.limit:
            _, ttl_s = await self._counts.get(key)
            raise _rate_limited(self.action, ttl_s)

    async def refund(self, key: str) -> None:
        await self._counts.subtract(key)
