"""Removing accounts: on the owner's request, by the operator, and at a
guest account's expiry.

Both the web process and the worker process run these functions, so they
take the engine, the storage and an `Expiry` and touch nothing else.
"""

import logging

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server import sessions as session_records
from server.expiry import DELETED, Expiry
from server.schema import accounts, devices, files, memberships, sessions
from server.storage import Storage
from server.tokens import utc_now

log = logging.getLogger(__name__)


async def remove_account(
    engine: AsyncEngine, storage: Storage, expiry: Expiry, account_id: str
) -> list[str] | None:
    """Delete an account with its sessions, files and records.

    Live sessions end first through `Expiry`, so their devices are notified
    and their uploads stop. Returns the ids of the devices that were signed in
    to the account, or None when no such account exists.
    """
    for session in await session_records.list_live_sessions(engine, account_id):
        await expiry.end_session(session.id, DELETED)

    async with engine.begin() as connection:
        found = await connection.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(updated_at=utc_now())
        )
        if found.rowcount != 1:
            return None
        session_ids = await _owned_session_ids(connection, account_id)
        device_ids = await _delete_rows(connection, account_id, session_ids)

    for session_id in session_ids:
        await storage.remove_session(session_id)
    log.info("account removed account=%s sessions=%d", account_id, len(session_ids))
    return device_ids


async def _owned_session_ids(connection: AsyncConnection, account_id: str) -> list[str]:
    query = select(sessions.c.id).where(sessions.c.owner_account_id == account_id)
    return list((await connection.execute(query)).scalars())


async def _delete_rows(
    connection: AsyncConnection, account_id: str, session_ids: list[str]
) -> list[str]:
    signed_in = select(devices.c.id).where(devices.c.account_id == account_id)
    device_ids = list((await connection.execute(signed_in)).scalars())
    await connection.execute(
        update(devices)
        .where(devices.c.account_id == account_id)
        .values(account_id=None)
    )
    owned = sessions.c.id.in_(session_ids)
    await connection.execute(delete(files).where(files.c.session_id.in_(session_ids)))
    await connection.execute(
        delete(memberships).where(memberships.c.session_id.in_(session_ids))
    )
    await connection.execute(delete(sessions).where(owned))
    await connection.execute(delete(accounts).where(accounts.c.id == account_id))
    return device_ids


async def expired_guest_ids(engine: AsyncEngine) -> list[str]:
    """Return the ids of guest accounts past their expiry."""
    query = select(accounts.c.id).where(
        accounts.c.is_guest.is_(True), accounts.c.expires_at <= utc_now()
    )
    async with engine.connect() as connection:
        return list((await connection.execute(query)).scalars())


async def sweep_expired_guests(
    engine: AsyncEngine, storage: Storage, expiry: Expiry
) -> int:
    """Remove every expired guest account; return how many were removed."""
    removed = 0
    for account_id in await expired_guest_ids(engine):
        if await remove_account(engine, storage, expiry, account_id) is not None:
            removed += 1
    if removed:
        log.info("guest sweep removed=%d", removed)
    return removed
