"""The member list of a session page, with presence, and its broadcasts."""

from typing import Any

from aiohttp import web

from server import events, keys, members
from server.sessions import Session, get_session


async def member_list(app: web.Application, session: Session) -> list[dict[str, Any]]:
    """Return the session's members, each marked online or offline."""
    online = await app[keys.PRESENCE].online_devices(session.id)
    found = await members.list_members(app[keys.ENGINE], session)
    return [member.public(member.device_id in online) for member in found]


async def announce(app: web.Application, session_id: str) -> None:
    """Send the current member list to everyone in the session's room."""
    session = await get_session(app[keys.ENGINE], session_id)
    if session is None or session.ended_at is not None:
        return
    payload = {"session_id": session_id, "members": await member_list(app, session)}
    await app[keys.SIO].emit(
        events.MEMBERS_UPDATED, payload, room=events.session_room(session_id)
    )
