"""Counters in Redis keys that expire, shared by every server process.

The rate limits, the pairing-code guess limits and the sign-in failure
counts all count through this one class, so that their limits hold across
server processes and restarts. A Redis failure raises ServiceUnavailable:
refused rather than let through, so an attacker who can upset Redis gains
no unlimited attempts.
"""

import math
from collections.abc import Awaitable
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.errors import ServiceUnavailable

T = TypeVar("T")

# DECR only a key that still exists: a key that expired in between must not
# come back as -1 without an expiry.
_SUBTRACT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


class RedisCounts:
    """Counts per key under `{prefix}:{name}:`; each key expires on its own."""

    def __init__(self, redis: Redis, prefix: str, name: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:{name}:"

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def add(self, key: str, ttl_s: float, *, slide: bool = False) -> int:
        """Count one event and return the new total.

        Without `slide` the first event of a window sets the expiry and later
        ones only count, so the window is fixed. With `slide` every event
        pushes the expiry back to `ttl_s` from now.
        """
        name = self._key(key)
        ttl_ms = max(1, math.ceil(ttl_s * 1000))
        async with self._redis.pipeline(transaction=True) as pipe:
            if slide:
                pipe.incr(name)
                pipe.pexpire(name, ttl_ms)
                count, _ = await guarded(pipe.execute())
            else:
                pipe.set(name, 0, px=ttl_ms, nx=True)
                pipe.incr(name)
                _, count = await guarded(pipe.execute())
        return int(count)

    async def get(self, key: str) -> tuple[int, float]:
        """Return the key's count and the seconds until it expires."""
        name = self._key(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(name)
            pipe.pttl(name)
            raw, ttl_ms = await guarded(pipe.execute())
        if raw is None:
            return 0, 0.0
        return int(raw), max(int(ttl_ms), 0) / 1000

    async def subtract(self, key: str) -> None:
        """Take back one event, unless the key has expired since."""
        await guarded(self._redis.eval(_SUBTRACT, 1, self._key(key)))  # type: ignore[arg-type]

    async def clear(self, key: str) -> None:
        await guarded(self._redis.delete(self._key(key)))


async def guarded(call: Awaitable[T]) -> T:
    """Await a Redis call, raising ServiceUnavailable when Redis fails."""
    try:
        return await call
    except RedisError:
        raise ServiceUnavailable(
            "Redis is unavailable; retry in a few seconds."
        ) from None
