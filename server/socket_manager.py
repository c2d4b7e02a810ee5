"""python-socketio's Redis manager, listening through server.subscriptions.

AsyncPubSubManager documents `_listen` as the method a backend implements
to receive the channel's messages. This subclass implements it with our
subscription loop instead of AsyncRedisManager's own, so the resync can
wait until this subscription is back too. AsyncRedisManager's loop
(python-socketio 5.18.1) also backs off up to 60 s between tries, which
left browsers without events long after Redis returned.

Publishing stays AsyncRedisManager's: in 5.18.1 a publish that fails
twice logs "Cannot publish to redis... giving up" and returns, so an
event handler goes on and this process's own clients still get the event.
Clients of the other processes miss it, but their listeners lost the same
Redis, so they re-sync once it is back.

NOTE: when only this process loses Redis, the other processes' listeners
stay subscribed, so their clients miss this process's events until they
reconnect or reload.
"""

import contextlib
from collections.abc import AsyncIterator

import socketio
from redis.asyncio import Redis

from server import subscriptions


class RedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """Carries Socket.IO events between processes and reports its subscription."""

    def __init__(
        self, url: str, channel: str, watch: subscriptions.Watch | None
    ) -> None:
        super().__init__(url, channel=channel)
        self._watch = watch

    async def _listen(self) -> AsyncIterator[bytes]:
        redis = Redis.from_url(self.redis_url)
        received = subscriptions.messages(redis, self.channel, self._watch)
        try:
            async with contextlib.aclosing(received):
                async for message in received:
                    yield message["data"]
        finally:
            await redis.aclose()
