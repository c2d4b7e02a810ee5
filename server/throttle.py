"""Sign-in throttling: a delay that doubles with each failed attempt.

Failures are counted per key (an account name or an address) in a
`FailureStore`. The first `free_failures` cost nothing. After that, the key
must wait 1 s after its latest failure, then 2 s, 4 s and so on up to
`max_delay_s`. A success clears the account's count.

A key is forgotten `forget_after_s` after its latest failure, so the store
gives back the time until then, from which the time of the latest failure
follows. Times are wall-clock seconds, which every server process shares.

The store also counts each key's attempts in flight, so that simultaneous
attempts, on one server process or several, cannot all pass the check
before any of them fails.
"""

import math
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis

from server.errors import RateLimited
from server.redis_counts import RedisCounts, guarded

# Seconds an attempt in flight counts at most, so the attempts of a process
# that died mid-check stop counting. An attempt is one password check:
# 117 ms in bench/signin_timing.py, and the hashing queue is bounded.
IN_FLIGHT_TTL_S = 10.0

# Drop the attempts in flight that are past their time, count one more and
# return how many remain. One script, so processes never count in between.
_BEGIN = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])
"""


class FailureStore(Protocol):
    """Failure counts per key, each forgotten a while after its latest failure."""

    async def get(self, key: str) -> tuple[int, float]:
        """Return (failures, seconds until the key is forgotten), or (0, 0.0)."""
        ...

    async def add(self, key: str, forget_after_s: float) -> int:
        """Count one failure now and return the new count."""
        ...

    async def clear(self, key: str) -> None:
        """Forget a key's failures."""
        ...

    async def begin(self, key: str, attempt_id: str) -> int:
        """Count one attempt in flight and return how many are in flight now."""
        ...

    async def end(self, key: str, attempt_id: str) -> None:
        """Take back one attempt in flight."""
        ...


class MemoryFailureStore:
    """A FailureStore in this process's memory, for the embedded server."""

    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, float]] = {}
        # Per key, each attempt in flight and when it stops counting.
        self._in_flight: dict[str, dict[str, float]] = {}

    async def get(self, key: str) -> tuple[int, float]:
        entry = self._entries.get(key)
        left_s = 0.0 if entry is None else entry[1] - time.time()
        if entry is None or left_s <= 0:
            return 0, 0.0
        return entry[0], left_s

    async def add(self, key: str, forget_after_s: float) -> int:
        count, _ = await self.get(key)
        now = time.time()
        self._entries[key] = (count + 1, now + forget_after_s)
        if len(self._entries) > self.MAX_KEYS:
            self._drop_stale(now)
        return count + 1

    async def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    async def begin(self, key: str, attempt_id: str) -> int:
        now = time.monotonic()
        attempts = self._in_flight.setdefault(key, {})
        for stale in [name for name, until in attempts.items() if until <= now]:
            del attempts[stale]
        attempts[attempt_id] = now + IN_FLIGHT_TTL_S
        return len(attempts)

    async def end(self, key: str, attempt_id: str) -> None:
        attempts = self._in_flight.get(key, {})
        attempts.pop(attempt_id, None)
        if not attempts:
            self._in_flight.pop(key, None)

    def _drop_stale(self, now: float) -> None:
        for key, (_, forget_at) in list(self._entries.items()):
            if forget_at <= now:
                del self._entries[key]


class RedisFailureStore:
    """A FailureStore in Redis, so every server process sees every failure."""

    def __init__(
        self, redis: Redis, prefix: str, in_flight_ttl_s: float = IN_FLIGHT_TTL_S
    ) -> None:
        self._redis = redis
        self._counts = RedisCounts(redis, prefix, "signin")
        self._in_flight_prefix = f"{prefix}:signin-in-flight:"
        self._in_flight_ttl_ms = max(1, math.ceil(in_flight_ttl_s * 1000))

    async def get(self, key: str) -> tuple[int, float]:
        return await self._counts.get(key)

    async def add(self, key: str, forget_after_s: float) -> int:
        return await self._counts.add(key, forget_after_s, slide=True)

    async def clear(self, key: str) -> None:
        await self._counts.clear(key)

    async def begin(self, key: str, attempt_id: str) -> int:
        # Each attempt is a member of a sorted set, scored by when it stops
        # counting, so one that a dead process left expires on its own.
        now_ms = int(time.time() * 1000)
        arguments = (now_ms, self._in_flight_ttl_ms, attempt_id)
        name = self._in_flight_prefix + key
        count = await guarded(self._redis.eval(_BEGIN, 1, name, *arguments))  # type: ignore[arg-type]
        return int(count)

    async def end(self, key: str, attempt_id: str) -> None:
        name = self._in_flight_prefix + key
        await guarded(self._redis.zrem(name, attempt_id))


class SignInThrottle:
    """Growing delays after failed sign-ins, per account and per address.

    A caller reserves an attempt before it checks the password and settles
    it afterwards. Attempts in flight count as failures, so simultaneous
    requests cannot all pass the check before any is counted.
    """

    def __init__(
        self, store: FailureStore, free_failures: int, max_delay_s: float
    ) -> None:
        self._store = store
        self._free_failures = free_failures
        self._max_delay_s = max_delay_s
        # A key is forgotten once its delay has passed twice over, so counts
        # of long-idle keys do not pile up.
        self._forget_after_s = max(3600.0, 2 * max_delay_s)

    def delay_s(self, failures: int) -> float:
        """Return the wait after `failures` failed attempts."""
        over = failures - self._free_failures
        if over < 0:
            return 0.0
        return float(min(self._max_delay_s, 2 ** min(over, 40)))

    async def reserve(self, key: str) -> str:
        """Count an attempt in flight against a key and return its id.

        Raise RateLimited if the key must wait. The attempt is counted first
        and checked afterwards, so each of several simultaneous attempts
        counts the ones that began before it.
        """
        attempt_id = secrets.token_hex(8)
        in_flight = await self._store.begin(key, attempt_id)
        try:
            failures, left_s = await self._store.get(key)
        except BaseException:
            await self._store.end(key, attempt_id)
            raise
        # The latest failure was `forget_after_s - left_s` seconds ago, and
        # the other attempts in flight may all fail at about now.
        since_s = self._forget_after_s - left_s
        wait_s = max(
            self.delay_s(failures) - since_s,
            self.delay_s(failures + in_flight - 1) if in_flight > 1 else 0.0,
        )
        if wait_s > 0:
            await self._store.end(key, attempt_id)
            retry_after = max(1, math.ceil(wait_s))
            raise RateLimited(
                f"Too many failed sign-in attempts; try again in {retry_after} s.",
                retry_after_s=retry_after,
            )
        return attempt_id

    async def failed(self, key: str, attempt_id: str) -> None:
        """Settle a reserved attempt that failed: count it as a failure."""
        try:
            await self._store.add(key, self._forget_after_s)
        finally:
            await self._store.end(key, attempt_id)

    async def release(self, key: str, attempt_id: str) -> None:
        """Settle a reserved attempt that succeeded or never ran: it costs nothing."""
        await self._store.end(key, attempt_id)

    async def succeeded(self, key: str) -> None:
        """Clear a key's failures after a successful sign-in."""
        await self._store.clear(key)


class Attempt:
    """The outcome of one reserved sign-in attempt."""

    def __init__(self) -> None:
        self.failed = False

    def fail(self) -> None:
        """Count this attempt as a failure when it is settled."""
        self.failed = True


@asynccontextmanager
async def attempt(*throttled: tuple[SignInThrottle, str]) -> AsyncIterator[Attempt]:
    """Reserve one attempt under each (throttle, key), and settle it on exit.

    The body marks the attempt failed with `Attempt.fail`; otherwise, or
    when the body raises, the reservation is released and costs nothing.
    """
    outcome = Attempt()
    reserved: list[tuple[SignInThrottle, str, str]] = []
    try:
        for throttle, key in throttled:
            reserved.append((throttle, key, await throttle.reserve(key)))
        yield outcome
    finally:
        await _settle_all(reserved, outcome.failed)


async def _settle_all(
    reserved: list[tuple[SignInThrottle, str, str]], failed: bool
) -> None:
    """Settle every reservation, even when the store fails for one of them."""
    error: Exception | None = None
    for throttle, key, attempt_id in reserved:
        try:
            if failed:
                await throttle.failed(key, attempt_id)
            else:
                await throttle.release(key, attempt_id)
        except Exception as caught:  # re-raised below, after the others settle
            error = error or caught
    if error is not None:
        raise error
