"""Presence across server processes: each one's sockets, pooled in Redis.

Each process keeps its own sockets in a `Presence`. With Redis, every
socket in a session's room is also a field of the hash
`{prefix}:presence:{session_id}`, named `{process id}:{socket id}` with the
device id as its value, so a device whose tabs sit on different processes
is online while any of them is open. After Redis restarts, each process
writes its sockets back (`restore`). Without Redis the local record is the
whole truth.

Each process also keeps a heartbeat key, `{prefix}:presence-process:{id}`,
that expires `heartbeat_ttl_s` after its last refresh. Readers ignore the
fields of a process whose heartbeat is gone, because that process died
without closing its sockets, and `drop_lost` deletes such fields. It finds
them through two registries: the set of processes that wrote fields, and
per process the set of sessions it wrote fields in.
"""

import logging
import secrets

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.presence import Presence

log = logging.getLogger(__name__)

# Refreshed by every join; long enough for any session's lifetime.
HASH_TTL_S = 7 * 24 * 3600
DEFAULT_HEARTBEAT_TTL_S = 15.0


class SharedPresence:
    """This process's sockets per device per session, shared through Redis."""

    def __init__(
        self,
        redis: Redis | None = None,
        prefix: str = "",
        heartbeat_ttl_s: float = DEFAULT_HEARTBEAT_TTL_S,
    ) -> None:
        self.local = Presence()
        # New at each start, so a restarted process never revives the
        # fields that its previous run left behind.
        self.process_id = secrets.token_hex(8)
        self.heartbeat_ttl_s = heartbeat_ttl_s
        self._redis = redis
        self._prefix = prefix
        # Set when a field write finds the heartbeat gone, as after a lapse
        # in which other processes may have deleted this process's fields.
        self._lapse_found = False

    def _hash(self, session_id: str) -> str:
        return f"{self._prefix}:presence:{session_id}"

    def _heartbeat(self, process_id: str) -> str:
        return f"{self._prefix}:presence-process:{process_id}"

    @property
    def _processes(self) -> str:
        """Name the set of every process that wrote presence fields."""
        return f"{self._prefix}:presence-processes"

    def _sessions_of(self, process_id: str) -> str:
        """Name the set of sessions in which a process wrote fields."""
        return f"{self._prefix}:presence-sessions:{process_id}"

    def _field(self, sid: str) -> str:
        return f"{self.process_id}:{sid}"

    @property
    def _heartbeat_ttl_ms(self) -> int:
        return max(1, round(self.heartbeat_ttl_s * 1000))

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

    def local_sessions(self) -> set[str]:
        """Return the sessions in which this process has a socket."""
        return {session_id for session_id, _, _ in self.local.entries()}

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
            fields = await self._redis.hgetall(self._hash(session_id))  # type: ignore[misc]
            lost = await self._lost_processes(fields)
        except RedisError:
            log.warning("presence of other processes unknown, Redis unavailable")
            return online
        return online | {
            device.decode()
            for field, device in fields.items()
            if _owner(field) not in lost
        }

    async def beat(self) -> bool:
        """Refresh this process's heartbeat; return True if it had lapsed.

        The key is missing on the first beat, and after a lapse (a stalled
        event loop, Redis down or restarted) in which other processes may
        have deleted this process's fields, so the caller writes them back.
        A field write that found the key missing since the last beat counts
        too, because it created the key again.
        """
        if self._redis is None:
            return False
        key = self._heartbeat(self.process_id)
        ttl_ms = self._heartbeat_ttl_ms
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(key, "1", px=ttl_ms, nx=True)
            pipe.pexpire(key, ttl_ms)
            created, _ = await pipe.execute()
        lapsed = bool(created) or self._lapse_found
        self._lapse_found = False
        return lapsed

    async def stop_beating(self) -> None:
        """Delete this process's heartbeat, so its leftover fields count as lost."""
        if self._redis is None:
            return
        try:
            await self._redis.delete(self._heartbeat(self.process_id))
        except RedisError:
            log.warning("presence heartbeat not deleted, Redis unavailable")

    async def drop_lost(self) -> dict[str, set[str]]:
        """Delete the fields of processes whose heartbeat expired.

        Returns the devices whose fields this call deleted, per session.
        HDEL removes each field once, so when several processes sweep at
        the same time, only one of them reports a given field.
        """
        dropped: dict[str, set[str]] = {}
        if self._redis is None:
            return dropped
        for process_id in await self._dead_processes():
            key = self._sessions_of(process_id)
            session_ids = await self._redis.smembers(key)  # type: ignore[misc]
            for raw in session_ids:
                session_id = raw.decode()
                devices = await self._drop_lost_fields(session_id)
                if devices:
                    dropped.setdefault(session_id, set()).update(devices)
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(key)
                pipe.srem(self._processes, process_id)
                await pipe.execute()
        return dropped

    async def _dead_processes(self) -> list[str]:
        """Return the processes in the registry whose heartbeat expired."""
        assert self._redis is not None
        members = await self._redis.smembers(self._processes)  # type: ignore[misc]
        others = sorted({raw.decode() for raw in members} - {self.process_id})
        if not others:
            return []
        beats = await self._redis.mget([self._heartbeat(p) for p in others])
        return [p for p, beat in zip(others, beats, strict=True) if not beat]

    async def restore(self) -> None:
        """Write every local socket back, as after a Redis restart."""
        await self._write(list(self.local.entries()))

    async def _drop_lost_fields(self, session_id: str) -> set[str]:
        assert self._redis is not None
        key = self._hash(session_id)
        fields = await self._redis.hgetall(key)  # type: ignore[misc]
        lost = await self._lost_processes(fields)
        stale = [field for field in fields if _owner(field) in lost]
        if not stale:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for field in stale:
                pipe.hdel(key, field)
            removed = await pipe.execute()
        return {
            fields[field].decode()
            for field, count in zip(stale, removed, strict=True)
            if count
        }

    async def _lost_processes(self, fields: dict[bytes, bytes]) -> set[str]:
        """Return the owners of these fields whose heartbeat has expired."""
        assert self._redis is not None
        owners = {_owner(field) for field in fields} - {self.process_id, ""}
        if not owners:
            return set()
        ordered = sorted(owners)
        beats = await self._redis.mget([self._heartbeat(p) for p in ordered])
        return {owner for owner, beat in zip(ordered, beats, strict=True) if not beat}

    async def _write(self, entries: list[tuple[str, str, str]]) -> None:
        if self._redis is None or not entries:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                # The heartbeat goes first, so no other process reads these
                # fields without it, as it could right after a Redis restart.
                heartbeat = self._heartbeat(self.process_id)
                pipe.set(heartbeat, "1", px=self._heartbeat_ttl_ms, nx=True)
                pipe.pexpire(heartbeat, self._heartbeat_ttl_ms)
                for session_id, device_id, sid in entries:
                    pipe.hset(self._hash(session_id), self._field(sid), device_id)
                    pipe.expire(self._hash(session_id), HASH_TTL_S)
                # The registry lists where a dead process's fields are, so a
                # sweep need not walk every key of the Redis database.
                sessions_of = self._sessions_of(self.process_id)
                pipe.sadd(sessions_of, *{entry[0] for entry in entries})
                pipe.expire(sessions_of, HASH_TTL_S)
                pipe.sadd(self._processes, self.process_id)
                pipe.expire(self._processes, HASH_TTL_S)
                created = (await pipe.execute())[0]
            # A write that had to create the heartbeat cannot tell which of
            # this process's other fields were deleted meanwhile, so the
            # next beat writes them all back.
            self._lapse_found = self._lapse_found or bool(created)
        except RedisError:
            log.warning("presence not shared, Redis unavailable")

    async def _erase(self, session_id: str, sids: list[str]) -> None:
        if self._redis is None or not sids:
            return
        fields = [self._field(sid) for sid in sids]
        try:
            await self._redis.hdel(self._hash(session_id), *fields)  # type: ignore[misc]
        except RedisError:
            log.warning("presence not shared, Redis unavailable")


def _owner(field: bytes) -> str:
    """Return the process id in a field's name; empty for an older bare sid."""
    owner, separator, _ = field.decode().partition(":")
    return owner if separator else ""
