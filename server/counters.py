"""Counters of events per key in fixed time windows, behind one interface.

The in-memory counter serves the embedded server. With DROPSPACE_REDIS_URL
set the Redis counter fills the same interface, so that limits hold across
server processes and restarts.
"""

import math
import time
from typing import Protocol

from redis.asyncio import Redis

from server.redis_counts import RedisCounts


class WindowCounter(Protocol):
    """Counts events per key in fixed windows of `window_s` seconds."""

    window_s: float

    async def count(self, key: str) -> int:
        """Return how many events the key has in the current window."""
        ...

    async def add(self, key: str) -> int:
        """Count one event for the key; return the window's new total."""
        ...

    async def subtract(self, key: str) -> None:
        """Take back one event counted by `add` in the current window."""
        ...

    async def retry_after_s(self, key: str) -> int:
        """Return the whole seconds until the key's current window ends."""
        ...


class MemoryWindowCounter:
    """A WindowCounter in this process's memory."""

    MAX_KEYS = 100_000

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._windows: dict[str, tuple[float, int]] = {}

    async def count(self, key: str) -> int:
        return self._current(key, time.monotonic())[1]

    async def add(self, key: str) -> int:
        now = time.monotonic()
        started, count = self._current(key, now)
        self._windows[key] = (started, count + 1)
        if len(self._windows) > self.MAX_KEYS:
            self._drop_stale(now)
        return count + 1

    async def subtract(self, key: str) -> None:
        started, count = self._current(key, time.monotonic())
        if count > 0:
            self._windows[key] = (started, count - 1)

    async def retry_after_s(self, key: str) -> int:
        now = time.monotonic()
        started, _ = self._current(key, now)
        return max(1, math.ceil(self.window_s - (now - started)))

    def _current(self, key: str, now: float) -> tuple[float, int]:
        started, count = self._windows.get(key, (now, 0))
        if now - started >= self.window_s:
            return now, 0
        return started, count

    def _drop_stale(self, now: float) -> None:
        for key, (started, _) in list(self._windows.items()):
            if now - started >= self.window_s:
                del self._windows[key]


class RedisWindowCounter:
    """A WindowCounter in Redis, shared by every server process."""

    def __init__(self, redis: Redis, prefix: str, name: str, window_s: float) -> None:
        self.window_s = window_s
        self._counts = RedisCounts(redis, prefix, name)

    async def count(self, key: str) -> int:
        return (await self._counts.get(key))[0]

    async def add(self, key: str) -> int:
        return await self._counts.add(key, self.window_s)

    async def subtract(self, key: str) -> None:
        await self._counts.subtract(key)

    async def retry_after_s(self, key: str) -> int:
        _, ttl_s = await self._counts.get(key)
        return max(1, math.ceil(ttl_s))
