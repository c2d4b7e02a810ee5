"""This process's Redis pub/sub subscriptions, and the client resync after a loss.

Two listeners subscribe on each web process: our instruction bus
(server.bus) and python-socketio's Redis manager (server.socket_manager).
Redis pub/sub keeps nothing for a subscriber that is away, so clients must
re-fetch their state after a loss. The resync waits until every listener
is back, because messages that a listener misses after the resync would
go unnoticed.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

MAX_RETRY_S = 2.0


class Watch:
    """Runs the resync callbacks once every listener that lost Redis is back."""

    def __init__(self) -> None:
        self._down: set[str] = set()
        self._missed = False
        self._callbacks: list[Callable[[], Awaitable[None]]] = []

    def on_resubscribed(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._callbacks.append(callback)

    def lost(self, channel: str) -> None:
        self._down.add(channel)

    async def subscribed(self, channel: str, again: bool) -> None:
        """Note a listener's subscription; `again` when one of its tries failed.

        A listener that has not yet noticed a loss counts as subscribed, so
        the callbacks may run before it is back. When it is back, they run
        again, so its missed messages are still covered.
        """
        self._down.discard(channel)
        self._missed = self._missed or again
        if not self._missed:
            return
        if self._down:
            log.info(
                "resync waits for Redis subscriptions channels=%s",
                ",".join(sorted(self._down)),
            )
            return
        self._missed = False
        for callback in self._callbacks:
            try:
                await callback()
            except Exception:
                log.exception("resync after Redis subscription failed")


async def messages(
    redis: Redis, channel: str, watch: Watch | None
) -> AsyncGenerator[dict[str, Any], None]:
    """Yield the channel's messages, subscribing again after each loss of Redis."""
    retry_s = 0.1
    failed = False
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as sub:
                await sub.subscribe(channel)
                if failed:
                    log.info("Redis subscription restored channel=%s", channel)
                if watch is not None:
                    await watch.subscribed(channel, failed)
                retry_s = 0.1
                failed = False
                async for message in sub.listen():
                    yield message
        except (RedisError, OSError):
            log.warning(
                "Redis subscription lost channel=%s, retrying in %.1f s",
                channel,
                retry_s,
            )
            failed = True
            if watch is not None:
                watch.lost(channel)
        await asyncio.sleep(retry_s)
        retry_s = min(MAX_RETRY_S, retry_s * 2)
