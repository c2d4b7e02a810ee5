"""Replacing a session's join link, and opening a session by an old one.

A replaced token stops admitting new devices at once. Devices that were
members when it was replaced keep their access: they can still open the
old address, and their pages move to the new one.
"""

import logging
import secrets

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server import sessions
from server.errors import NotFound
from server.schema import replaced_join_tokens
from server.schema import sessions as sessions_table
from server.sessions import Session
from server.tokens import utc_now

log = logging.getLogger(__name__)


async def replace_join_link(engine: AsyncEngine, session: Session) -> Session:
    """Give a session a new join token and keep the old one as replaced."""
    sessions.require_live(session)
    new_token = secrets.token_urlsafe(24)
    async with engine.begin() as connection:
        await connection.execute(
            insert(replaced_join_tokens).values(
                join_token=session.join_token,
                session_id=session.id,
                replaced_at=utc_now(),
            )
        )
        await connection.execute(
            update(sessions_table)
            .where(sessions_table.c.id == session.id)
            .values(join_token=new_token)
        )
    log.info("join link replaced session=%s", session.id)
    found = await sessions.get_session(engine, session.id)
    assert found is not None
    return found


async def find_by_any_token(
    engine: AsyncEngine, join_token: object
) -> tuple[Session, bool]:
    """Return the session a current or replaced token names, and whether replaced.

    Raise NotFound when no session has ever had the token.
    """
    try:
        return await sessions.find_by_join_token(engine, join_token), False
    except NotFound:
        query = select(replaced_join_tokens.c.session_id).where(
            replaced_join_tokens.c.join_token == join_token
        )
        async with engine.connect() as connection:
            session_id = (await connection.execute(query)).scalar_one_or_none()
        session = await sessions.get_session(engine, session_id)
        if session is None:
            raise
        return session, True


async def find_for_device(
    engine: AsyncEngine, join_token: object, device_id: str | None
) -> Session:
    """Return the session a token admits this device to, or raise NotFound.

    A replaced token admits only devices that are members already; to
    anyone else it looks like a token that never existed.
    """
    session, replaced = await find_by_any_token(engine, join_token)
    if not replaced:
        return session
    if device_id is not None and await sessions.is_member(
        engine, session.id, device_id
    ):
        return session
    raise NotFound("No session has this join link; ask for a new link or QR code.")
