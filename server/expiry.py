"""Ending sessions: at the deadline, on the owner's request, and in sweeps.

The database is the source of truth: ending a session is one conditional
UPDATE, so a timer, a sweep and a delete racing for one session end it once.
Both the web process and the worker process run these functions.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server import events, files, pairing_codes, sessions
from server.storage import Storage

log = logging.getLogger(__name__)

EXPIRED = "expired"
DELETED = "deleted"

Broadcast = Callable[[str, str, dict[str, Any]], Awaitable[None]]
OnEnded = Callable[[str], Awaitable[None]]


class Expiry:
    """Ends sessions and deletes their files."""

    def __init__(
        self,
        engine: AsyncEngine,
        storage: Storage,
        broadcast: Broadcast,
        on_ended: OnEnded,
    ) -> None:
        self._engine = engine
        self._storage = storage
        self._broadcast = broadcast
        self._on_ended = on_ended

    async def end_session(self, session_id: str, reason: str) -> bool:
        """End a session, tell its devices and delete its files.

        Returns False when the session had already ended or, for an expiry,
        when its deadline has moved into the future.
        """
        ended = await sessions.mark_ended(
            self._engine, session_id, reason, only_if_due=reason == EXPIRED
        )
        if not ended:
            return False
        await self._clean_up(session_id, reason)
        log.info("session ended session=%s reason=%s", session_id, reason)
        return True

    async def _clean_up(self, session_id: str, reason: str) -> None:
        # Each step may run twice (after a crash between them) without harm.
        await files.retire_session_files(self._engine, session_id)
        await self._broadcast(events.SESSION_ENDED, session_id, {"reason": reason})
        await self._storage.remove_session(session_id)
        await self._on_ended(session_id)

    async def sweep(self) -> int:
        """End every session past its deadline and delete dead pairing offers.

        Returns how many sessions ended. It also finishes sessions whose
        ending was cut short, for example by a worker killed between marking
        a session ended and deleting its files.
        """
        count = 0
        for session_id, reason in await sessions.ended_with_files(self._engine):
            await self._clean_up(session_id, reason)
            log.info("session end finished session=%s reason=%s", session_id, reason)
        for session_id in await sessions.overdue_session_ids(self._engine):
            if await self.end_session(session_id, EXPIRED):
                count += 1
        await pairing_codes.delete_dead_offers(self._engine)
        return count
