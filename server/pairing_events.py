"""Socket.IO events for pairing and membership: the four ways into a session.

The lobby requests its device's offer: a code and a link token. A session
owner pulls a device in by either, replaces the join link, and lists and
removes member devices. The pulled device is told in its device room, so
every tab of it moves to the session.
"""

import asyncio
import logging
import weakref
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from server import (
    bus,
    events,
    join_links,
    keys,
    members,
    pairing_codes,
    roster,
    sessions,
)
from server.devices import get_device
from server.errors import BadRequest, CodeRejected, NotAllowed
from server.realtime import Handler, is_owner, saved_session, text_field
from server.sessions import Session
from server.tokens import utc_now

log = logging.getLogger(__name__)

# The last millisecond of the year 9999, the largest time datetime holds.
_LAST_MS = 253_402_300_799_999

# Two lobby tabs that reach the rotation moment together must not both issue
# an offer, so issuing is serialised per device within this process.
_issue_locks: "weakref.WeakValueDictionary[str, asyncio.Lock]" = (
    weakref.WeakValueDictionary()
)


async def _owned_session(
    app: web.Application, session_id: object, device_id: str
) -> Session:
    session = await sessions.member_session(app[keys.ENGINE], session_id, device_id)
    if not await is_owner(app, session.owner_account_id, device_id):
        raise NotAllowed(
            "Only the session's owner may do this; sign in to the owner's account."
        )
    return session


async def _client_address(app: web.Application, sid: str) -> str:
    """Return the client address that the connect handler saved."""
    return str((await saved_session(app, sid)).get("address", "unknown"))


async def _offer(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Return the device's live offer, issuing a new one when it is due.

    With `since`, the response also names the session the device joined
    while the lobby's connection was down, if any.
    """
    engine = app[keys.ENGINE]
    settings = app[keys.SETTINGS]
    missed = await _missed_pull(app, device_id, data)
    lock = _issue_locks.setdefault(device_id, asyncio.Lock())
    async with lock:
        offer = await pairing_codes.current_offer(engine, device_id)
        issued = pairing_codes.needs_rotation(offer, utc_now())
        if issued:
            address = await _client_address(app, sid)
            await app[keys.OFFER_LIMITER].hit(address)
            offer = await pairing_codes.issue_offer(
                engine, device_id, settings.pairing_code_ttl_s
            )
    assert offer is not None
    if issued:
        # Every lobby tab of the device shows the same offer.
        await app[keys.SIO].emit(
            events.PAIRING_OFFERED,
            offer.public(settings.origin),
            room=events.device_room(device_id),
        )
    return offer.public(settings.origin) | missed


async def _missed_pull(
    app: web.Application, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Return `{pulled: notice | None}` when the lobby sends `since`."""
    if "since" not in data:
        return {}
    since = data["since"]
    if (
        isinstance(since, bool)
        or not isinstance(since, int)
        or not 0 <= since <= _LAST_MS
    ):
        raise BadRequest(
            f"since {since!r} is not a time; send the server_now of the lobby's "
            "first offer, in milliseconds since the Unix epoch."
        )
    session = await members.joined_since(
        app[keys.ENGINE], device_id, datetime.fromtimestamp(since / 1000, UTC)
    )
    return {"pulled": None if session is None else _pulled_notice(app, session)}


def _pulled_notice(app: web.Application, session: Session) -> dict[str, Any]:
    public = session.public(app[keys.SETTINGS].origin, None)
    return {
        "session_id": session.id,
        "join_url": public["join_url"],
        "title": session.title,
    }


async def _redeem(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Pull the device whose lobby shows this code into the owner's session."""
    session = await _owned_session(app, data.get("session_id"), device_id)
    code = pairing_codes.normalize_code(data.get("code"))
    owner_account = session.owner_account_id
    address = await _client_address(app, sid)
    guesses = app[keys.CODE_GUESSES]
    await guesses.reserve(owner_account, address)
    try:
        offer = await pairing_codes.use_code(app[keys.ENGINE], code)
    except CodeRejected:
        log.info("pairing code rejected session=%s device=%s", session.id, device_id)
        raise
    await guesses.release(owner_account, address)
    return await _pull(app, session, offer.device_id)


async def _peek(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Name the device behind a lobby link, for the page that picks a session."""
    limiter = app[keys.PULL_LIMITER]
    await limiter.check(device_id)
    try:
        offer = await pairing_codes.peek_link_token(
            app[keys.ENGINE], data.get("link_token")
        )
    except CodeRejected:
        await limiter.hit(device_id)
        raise
    target = await get_device(app[keys.ENGINE], offer.device_id)
    assert target is not None
    return {"device": target.public(), "own_device": offer.device_id == device_id}


async def _pull_by_link(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Pull the device behind a lobby link into the caller's session."""
    session = await _owned_session(app, data.get("session_id"), device_id)
    limiter = app[keys.PULL_LIMITER]
    await limiter.check(device_id)
    try:
        offer = await pairing_codes.use_link_token(
            app[keys.ENGINE], data.get("link_token")
        )
    except CodeRejected:
        await limiter.hit(device_id)
        raise
    return await _pull(app, session, offer.device_id)


async def _pull(
    app: web.Application, session: Session, target_device_id: str
) -> dict[str, Any]:
    await members.pull_in(app[keys.ENGINE], session, target_device_id)
    await app[keys.SIO].emit(
        events.PAIRING_PULLED,
        _pulled_notice(app, session),
        room=events.device_room(target_device_id),
    )
    await roster.announce(app, session.id)
    target = await get_device(app[keys.ENGINE], target_device_id)
    assert target is not None
    return {"device": target.public()}


async def _replace_link(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    session = await _owned_session(app, data.get("session_id"), device_id)
    replaced = await join_links.replace_join_link(app[keys.ENGINE], session)
    public = replaced.public(app[keys.SETTINGS].origin, None)
    payload = {"session_id": session.id, "join_url": public["join_url"]}
    await app[keys.SIO].emit(
        events.SESSION_LINK_REPLACED, payload, room=events.session_room(session.id)
    )
    return payload


async def _list_members(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    session = await sessions.member_session(
        app[keys.ENGINE], data.get("session_id"), device_id
    )
    return {"members": await roster.member_list(app, session)}


async def _remove_member(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Remove a device: its sockets, open transfers and future requests."""
    session = await _owned_session(app, data.get("session_id"), device_id)
    target = text_field(data, "device_id")
    if target == device_id:
        raise BadRequest("A device cannot remove itself; delete the session instead.")
    removed = await members.remove(app[keys.ENGINE], session, target)
    await expel(app, session.id, removed)
    await roster.announce(app, session.id)
    return {}


async def expel(app: web.Application, session_id: str, device_id: str) -> None:
    """Take a removed device's sockets out of the room and cut its transfers.

    Every server process does so for its own sockets and transfers.
    """
    await app[keys.BUS].tell(bus.EXPEL, session_id=session_id, device_id=device_id)


HANDLERS: dict[str, Handler] = {
    events.PAIRING_OFFER: _offer,
    events.PAIRING_REDEEM: _redeem,
    events.PAIRING_PEEK: _peek,
    events.PAIRING_PULL: _pull_by_link,
    events.SESSION_REPLACE_LINK: _replace_link,
    events.MEMBER_LIST: _list_members,
    events.MEMBER_REMOVE: _remove_member,
}
