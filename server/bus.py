"""Instructions that every web process carries out, over a Redis channel.

Socket.IO's Redis manager carries events to browsers, but it lists and
disconnects only the sockets of the process that asks. This channel
carries instructions to the processes themselves: cut a removed device's
sockets and transfers, close a signed-out device's sockets, free the
memory of an ended session. The process that tells acts at once on its
own sockets; the others act when the message arrives. Without Redis there
is one process, and telling is acting.

Messages are JSON. Redis pub/sub keeps nothing, so after the subscription
comes back the `reconnected` callbacks run, which make clients re-sync
whatever they missed.
"""

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

EXPEL = "expel"
DISCONNECT = "disconnect"
SESSION_ENDED = "session_ended"

Handler = Callable[[dict[str, Any]], Awaitable[None]]
MAX_RETRY_S = 2.0


def channel_name(prefix: str) -> str:
    """Return the channel of a deployment's instructions."""
    return f"{prefix}:bus"


async def publish(redis: Redis, channel: str, kind: str, **fields: Any) -> None:
    """Send an instruction to every process; the worker uses this alone."""
    message = json.dumps({"kind": kind, **fields})
    try:
        await redis.publish(channel, message)
    except RedisError:
        # The listeners re-sync their clients when Redis is back.
        log.warning("bus message lost, Redis unavailable kind=%s", kind)


class Bus:
    """Tells every process, this one included, to carry out an instruction."""

    def __init__(self, redis: Redis | None = None, channel: str = "") -> None:
        self._redis = redis
        self._channel = channel
        self._origin = secrets.token_hex(8)
        self._handlers: dict[str, Handler] = {}
        self._reconnected: list[Callable[[], Awaitable[None]]] = []
        self._task: asyncio.Task[None] | None = None

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def on_reconnected(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._reconnected.append(callback)

    async def tell(self, kind: str, **fields: Any) -> None:
        """Act on this process now and ask every other process to act too."""
        await self._handlers[kind](fields)
        if self._redis is not None:
            await publish(
                self._redis, self._channel, kind, origin=self._origin, **fields
            )

    def start(self) -> None:
        if self._redis is not None:
            self._task = asyncio.create_task(self._listen())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        assert self._redis is not None
        retry_s = 0.1
        subscribed_before = False
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as sub:
                    await sub.subscribe(self._channel)
                    retry_s = 0.1
                    if subscribed_before:
                        log.info("bus reconnected channel=%s", self._channel)
                        await self._run_reconnected()
                    subscribed_before = True
                    async for message in sub.listen():
                        await self._dispatch(message)
            except (RedisError, OSError):
                log.warning("bus lost, retrying in %.1f s", retry_s)
            await asyncio.sleep(retry_s)
            retry_s = min(MAX_RETRY_S, retry_s * 2)

    async def _run_reconnected(self) -> None:
        for callback in self._reconnected:
            try:
                await callback()
            except Exception:
                log.exception("bus reconnection step failed")

    async def _dispatch(self, message: dict[str, Any]) -> None:
        try:
            fields = json.loads(message["data"])
            kind = fields.pop("kind")
            origin = fields.pop("origin", None)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("bus message ignored, not an instruction")
            return
        handler = self._handlers.get(kind)
        if handler is None or origin == self._origin:
            return
        try:
            await handler(fields)
        except Exception:
            log.exception("bus instruction failed kind=%s", kind)
