"""A periodic check of this process's sockets against the records.

Some changes reach the records without any message to the servers: an
operator command on an embedded server, which has no bus, or a bus message
lost while Redis was down. Every few seconds each process compares its own
sockets with the records. A socket whose device was signed out receives
`account:signed_out` and is closed. A socket in the room of a session that
ended, or that its device has left, receives the matching event and leaves
the room.

A socket is acted on only when two audits in a row find it stale. The
usual path (a response, a bus message) takes milliseconds, so it acts
first, and the audit then finds nothing left to do.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from sqlalchemy import Select, select
from sqlalchemy.exc import DBAPIError

from server import cluster, events, keys, roster
from server.expiry import DELETED, EXPIRED
from server.schema import devices, memberships, sessions

log = logging.getLogger(__name__)

# A socket's identity at connect time: device id, token hash and account id.
Identity = tuple[str, str, str | None]
Pair = tuple[str, str]

BATCH_SIZE = 1000


def identity_fields(
    device_id: str, token_hash: str, account_id: str | None
) -> dict[str, Any]:
    """Return what the connect handler saves in the socket's session."""
    return {"device_id": device_id, "token_hash": token_hash, "account_id": account_id}


class SocketAudit:
    """Sockets found stale by the last audit, waiting for a second look."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._stale_sockets: set[str] = set()
        self._stale_pairs: set[Pair] = set()

    async def run_forever(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.audit()
            except DBAPIError as error:
                log.warning("socket audit skipped, database unavailable: %s", error)
            except Exception:
                # One failed audit must not end the ones after it.
                log.exception("socket audit failed")

    async def audit(self) -> None:
        """Close signed-out sockets and empty the rooms they lost, once sure."""
        signed_out = await self._signed_out_sockets()
        for sid, device_id in signed_out.items():
            if sid in self._stale_sockets:
                await self._close(sid, device_id)
        self._stale_sockets = set(signed_out)

        lost = await self._lost_rooms()
        for (session_id, device_id), reason in lost.items():
            if (session_id, device_id) in self._stale_pairs:
                await self._leave(session_id, device_id, reason)
        self._stale_pairs = set(lost)

    async def _identities(self) -> dict[str, Identity]:
        sio = self._app[keys.SIO]
        found = {}
        for sid, _ in sio.manager.get_participants("/", None):
            try:
                saved = await sio.get_session(sid)
            except KeyError:
                continue  # closed since the list was taken
            if "token_hash" in saved:
                found[sid] = (
                    saved["device_id"],
                    saved["token_hash"],
                    saved["account_id"],
                )
        return found

    async def _signed_out_sockets(self) -> dict[str, str]:
        """Return {sid: device} of sockets whose device changed token or account."""
        identities = await self._identities()
        device_ids = {device_id for device_id, _, _ in identities.values()}
        if not device_ids:
            return {}
        columns = (devices.c.id, devices.c.token_hash, devices.c.account_id)
        rows = await self._rows_in(select(*columns), devices.c.id, device_ids)
        current = {row.id: (row.id, row.token_hash, row.account_id) for row in rows}
        return {
            sid: identity[0]
            for sid, identity in identities.items()
            if current.get(identity[0]) != identity
        }

    async def _lost_rooms(self) -> dict[Pair, str | None]:
        """Return the (session, device) rooms this process should not hold.

        The value is the session's end reason, or None where the session
        goes on but the device is no longer a member.
        """
        pairs = {
            (session_id, device_id)
            for session_id, device_id, _ in self._app[keys.PRESENCE].local.entries()
        }
        if not pairs:
            return {}
        session_ids = {session_id for session_id, _ in pairs}
        query = select(
            sessions.c.id,
            sessions.c.ended_at,
            sessions.c.end_reason,
            memberships.c.device_id,
            memberships.c.removed_at,
        ).select_from(sessions.outerjoin(memberships))
        rows = await self._rows_in(query, sessions.c.id, session_ids)
        # A session without a row was deleted with its owner's account.
        reasons = {row.id: row.end_reason or EXPIRED for row in rows if row.ended_at}
        reasons |= dict.fromkeys(session_ids - {row.id for row in rows}, DELETED)
        members = {
            (row.id, row.device_id)
            for row in rows
            if row.device_id and not row.removed_at
        }
        lost: dict[Pair, str | None] = {}
        for session_id, device_id in pairs:
            if session_id in reasons:
                lost[(session_id, device_id)] = reasons[session_id]
            elif (session_id, device_id) not in members:
                lost[(session_id, device_id)] = None
        return lost

    async def _rows_in(
        self, query: Select[Any], column: Any, ids: set[str]
    ) -> list[Any]:
        """Run `query` for the rows whose `column` is one of `ids`, in batches.

        Batches keep each statement under the databases' limits on bound
        parameters (32,766 in SQLite 3.32 and later) however many sockets
        this process holds.
        """
        ordered = sorted(ids)
        rows: list[Any] = []
        async with self._app[keys.ENGINE].connect() as connection:
            for start in range(0, len(ordered), BATCH_SIZE):
                batch = ordered[start : start + BATCH_SIZE]
                result = await connection.execute(query.where(column.in_(batch)))
                rows.extend(result.all())
        return rows

    async def _close(self, sid: str, device_id: str) -> None:
        sio = self._app[keys.SIO]
        payload = {"device_id": device_id}
        await sio.emit(events.ACCOUNT_SIGNED_OUT, payload, to=sid, ignore_queue=True)
        await sio.disconnect(sid, ignore_queue=True)
        log.info("closed a signed-out socket device=%s", device_id)

    async def _leave(self, session_id: str, device_id: str, reason: str | None) -> None:
        if reason is None:
            await cluster.expel_here(self._app, session_id, device_id)
            await roster.announce(self._app, session_id)
            log.info(
                "expelled a removed member session=%s device=%s", session_id, device_id
            )
            return
        sio = self._app[keys.SIO]
        room = events.session_room(session_id)
        payload = {"session_id": session_id, "reason": reason}
        for sid in cluster.local_sockets(self._app, device_id):
            await sio.emit(events.SESSION_ENDED, payload, to=sid, ignore_queue=True)
            await sio.leave_room(sid, room)
        await self._app[keys.PRESENCE].drop_device(session_id, device_id)
        self._app[keys.UPLOADS].forget_session(session_id)
        log.info(
            "sent session end to a socket session=%s device=%s",
            session_id,
            device_id,
        )


async def socket_audit(app: web.Application) -> AsyncIterator[None]:
    """Run the audit beside the app, as a cleanup context."""
    audit = SocketAudit(app)
    interval_s = app[keys.SETTINGS].socket_audit_interval_s
    task = asyncio.create_task(audit.run_forever(interval_s))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
