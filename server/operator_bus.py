"""Telling running servers what an operator command changed.

With DROPSPACE_REDIS_URL set, `dropspace user` commands publish on the
Socket.IO Redis bus through a write-only manager, as the worker does, so
every server process forwards the events to its connections at once.

The embedded server (no Redis) has no channel a command can reach. Its
socket audit (server.socket_audit) finds the change in the records within
two audit intervals and sends the open pages their events then.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio

from server import events, jobs
from server.settings import Settings


class OperatorBus:
    """Events for running servers; every call does nothing without Redis."""

    def __init__(self, manager: socketio.AsyncRedisManager | None) -> None:
        self._manager = manager

    async def broadcast(
        self, event: str, session_id: str, payload: dict[str, Any]
    ) -> None:
        """Send a session event to the session's room (an Expiry broadcast)."""
        if self._manager is not None:
            body = {"session_id": session_id, **payload}
            await self._manager.emit(event, body, room=events.session_room(session_id))

    async def close_session(self, session_id: str) -> None:
        """Empty an ended session's room (an Expiry `on_ended`)."""
        if self._manager is not None:
            await self._manager.close_room(events.session_room(session_id), "/")

    async def signed_out(self, device_ids: list[str]) -> None:
        """Tell each device it was signed out; browser pages start over.

        A write-only manager cannot close connections by room, so a client
        that ignores the event keeps its socket, signed out.
        """
        if self._manager is None:
            return
        for device_id in device_ids:
            await self._manager.emit(
                events.ACCOUNT_SIGNED_OUT,
                {"device_id": device_id},
                room=events.device_room(device_id),
            )


@asynccontextmanager
async def operator_bus(settings: Settings) -> AsyncIterator[OperatorBus]:
    """Yield a bus on Redis when it is configured, else one that does nothing."""
    if not settings.redis_url:
        yield OperatorBus(None)
        return
    manager = socketio.AsyncRedisManager(
        settings.redis_url, channel=jobs.socketio_channel(settings), write_only=True
    )
    try:
        yield OperatorBus(manager)
    finally:
        if manager.redis is not None:
            await manager.redis.aclose()
