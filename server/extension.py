"""Extending a session: the owner moves its deadline within the plan."""

from typing import Any

from aiohttp import web

from server import events, keys, sessions
from server.accounts import get_account
from server.devices import get_device
from server.errors import NotAllowed
from server.plans import get_plan
from server.tokens import epoch_ms, utc_now


async def extend_session(
    app: web.Application, session_id: object, device_id: str, lifetime_s: object
) -> sessions.Session:
    """Extend a session for its owner, re-arm its timer and notify every device.

    `lifetime_s` is the new lifetime counted from the session's creation.
    """
    engine = app[keys.ENGINE]
    session = await sessions.member_session(engine, session_id, device_id)
    device = await get_device(engine, device_id)
    owner_id = None if device is None else device.account_id
    account = await get_account(engine, owner_id)
    if account is None or account.id != session.owner_account_id:
        raise NotAllowed("Only the session's owner may extend it.")
    plan = await get_plan(engine, account.plan, app[keys.SETTINGS])
    expires_at = sessions.validate_extension(lifetime_s, session, plan)
    if account.expires_at is not None:
        # A guest's sessions end with the account.
        expires_at = max(session.expires_at, min(expires_at, account.expires_at))

    extended = await sessions.set_deadline(engine, session, expires_at)
    await app[keys.SCHEDULER].schedule(extended.id, extended.expires_at)
    await app[keys.SIO].emit(
        events.SESSION_UPDATED,
        deadline_payload(extended),
        room=events.session_room(extended.id),
    )
    return extended


def deadline_payload(session: sessions.Session) -> dict[str, Any]:
    """Return the `session:updated` payload after a deadline change."""
    return {
        "session_id": session.id,
        "used_bytes": session.reserved_bytes,
        "capacity_bytes": session.capacity_bytes,
        "expires_at": epoch_ms(session.expires_at),
        "server_now": epoch_ms(utc_now()),
    }
