"""Presence across server processes: each one's sockets, pooled in Redis.

Each process keeps its own sockets in a `Presence`. With Redis, every
socket in a session's room is also a field of the hash
`{prefix}:presence:{session_id}` (socket id to device id), so a device
whose tabs sit on different processes is online while any of them is open.
After Redis restarts, each process writes its sockets back (`restore`).
Without Redis the local record is the whole truth.

TODO: a process that dies without closing its sockets leaves their fields
behind until the session ends or the hash expires; a heartbeat key per
process would let the others drop them.
"""

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.presence import Presence

log = logging.getLogger(__name__)

# Refreshed by every join; long enough for any session's lifetime.
HASH_TTL_S = 7 * 24 * 3600


class SharedPresence:
    """This process's sockets per device per session, shared through Redis."""

    def __init__(self, redis: Redis | None = None, prefix: str = "") -> None:
        self.local = Presence()
        self._redis = redis
        self._prefix = prefix

    def _hash(self, session_id: str) -> str:
        return f"{self._prefix}:presence:{session_id}"

    async def add(self, session_id: str, device_id: str, sid: str) -> bool:
        """Record a socket in a session; return True if this process's first."""
        came_online = self.local.add(session_id, device_id, sid)
        await self._write([(session_id, device_id, sid)])
        return came_online

    async def remove(self, session_id: str, sid: str) -> str | None:
        """Drop a socket from a session; return its device if it left here."""
        device_id = self.local.remove(session_id, sid)
        await self._erase(session_id, [sid])
        return device_id

    async def drop_socket(self, sid: str) -> list[tuple[str, str]]:
        """Drop a closed socket; return the (session, device) it left here."""
        went = self.local.drop_socket(sid)
        for session_id, _ in went:
            await self._erase(session_id, [sid])
        return went

    async def drop_device(self, session_id: str, device_id: str) -> set[str]:
        """Forget a device's sockets here in one session; return their ids."""
        sids = self.local.drop_device(session_id, device_id)
        await self._erase(session_id, list(sids))
        return sids

    def forget_session(self, session_id: str) -> None:
        self.local.forget_session(session_id)

    async def forget_shared(self, session_id: str) -> None:
        """Delete an ended session's hash, once, from the process that ended it."""
        if self._redis is not None:
            try:
                await self._redis.delete(self._hash(session_id))
            except RedisError:
                log.warning("presence not cleared, Redis unavailable")

    async def online_devices(self, session_id: str) -> set[str]:
        online = self.local.online_devices(session_id)
        if self._redis is None:
            return online
        try:
            values = await self._redis.hvals(self._hash(session_id))  # type: ignore[misc]
        except RedisError:
            log.warning("presence of other processes unknown, Redis unavailable")
            return online
        return online | {value.decode() for value in values}

    async def restore(self) -> None:
        """Write every local socket back, as after a Redis restart."""
        await self._write(list(self.local.entries()))

    async def _write(self, entries: list[tuple[str, str, str]]) -> None:
        if self._redis is None or not entries:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for session_id, device_id, sid in entries:
                    pipe.hset(self._hash(session_id), sid, device_id)
                    pipe.expire(self._hash(session_id), HASH_TTL_S)
                await pipe.execute()
        except RedisError:
            log.warning("presence not shared, Redis unavailable")

    async def _erase(self, session_id: str, sids: list[str]) -> None:
        if self._redis is None or not sids:
            return
        try:
            await self._redis.hdel(self._hash(session_id), *sids)  # type: ignore[misc]
        except RedisError:
            log.warning("presence not shared, Redis unavailable")
