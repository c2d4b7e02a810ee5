"""Instructions that every web process carries out, over a Redis channel.

Socket.IO's Redis manager carries events to browsers, but it lists and
disconnects only the sockets of the process that asks. This channel
carries instructions to the processes themselves: cut a removed device's
sockets and transfers, close a signed-out device's sockets, free the
memory of an ended session. The process that tells acts at once on its
own sockets; the others act when the message arrives. Without Redis there
is one process, and telling is acting.

Messages are JSON. Redis pub/sub keeps nothing, so once this subscription
and Socket.IO's are back, server.subscriptions has clients re-sync whatever
they missed.
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

from server import subscriptions

log = logging.getLogger(__name__)

EXPEL = "expel"
DISCONNECT = "disconnect"
SESSION_ENDED = "session_ended"

Handler = Callable[[dict[str, Any]], Awaitable[None]]


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

    def __init__(
        self,
        redis: Redis | None = None,
        channel: str = "",
        watch: subscriptions.Watch | None = None,
    ) -> None:
        self._redis = redis
        self._channel = channel
        self._watch = watch
        self._origin = secrets.token_hex(8)
        self._handlers: dict[str, Handler] = {}
        self._task: asyncio.Task[None] | None = None

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

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
        received = subscriptions.messages(self._redis, self._channel, self._watch)
        async with contextlib.aclosing(received):
            async for message in received:
                await self._dispatch(message)

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
