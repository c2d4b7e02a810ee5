"""Socket.IO: the server object, the handshake, and every client event.

A connection is authenticated once, in the connect handler, by the device
cookie. Every event handler then checks membership in the records, and a
connection enters a session's room only after such a check.
"""

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from aiohttp import web
from sqlalchemy.exc import DBAPIError

from server import (
    events,
    extension,
    files,
    jobs,
    join_links,
    keys,
    members,
    roster,
    sessions,
    subscriptions,
)
from server.accounts import get_account
from server.chunks import BytesChunk
from server.device_creation import ensure_device_limited
from server.devices import COOKIE_NAME, get_device, is_well_formed
from server.errors import (
    BadRequest,
    DeviceRequired,
    DropSpaceError,
    InternalError,
    NotAllowed,
    NotFound,
    NotMember,
    RateLimited,
    database_unavailable,
)
from server.expiry import DELETED
from server.origins import allowed_origins, check_origin
from server.proxies import client_limit_key
from server.settings import Settings
from server.socket_audit import identity_fields
from server.socket_manager import RedisManager
from server.tokens import epoch_ms, hash_secret, utc_now

log = logging.getLogger(__name__)

MAX_EVENTS_IN_FLIGHT = 32
# Seconds a stopping server waits for its sockets to close cleanly.
SOCKET_CLOSE_TIMEOUT_S = 2.0

Handler = Callable[
    [web.Application, str, str, dict[str, Any]], Awaitable[dict[str, Any]]
]


def create_socket_server(
    settings: Settings, watch: subscriptions.Watch | None = None
) -> socketio.AsyncServer:
    """Create the Socket.IO server; it connects to nothing until used."""
    manager = None
    if settings.redis_url:
        # Messages between processes are JSON, python-socketio's default.
        manager = RedisManager(
            settings.redis_url, jobs.socketio_channel(settings), watch
        )
    return socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        # Origins are checked in the connect handler, because its refusal
        # carries the standard error object, which Engine.IO's check cannot.
        cors_allowed_origins=[],
        transports=["websocket"],
        # aiohttp 3.14 closes a WebSocket on a message of max_msg_size bytes
        # or more, and Engine.IO passes this value as max_msg_size. One byte
        # more lets a message of exactly socket_max_message_bytes through.
        max_http_buffer_size=settings.socket_max_message_bytes + 1,
        ping_interval=20,
        ping_timeout=20,
    )


async def socketio_endpoint(request: web.Request) -> web.StreamResponse:
    """Hand a request to Engine.IO with WebSocket compression refused.

    python-engineio's aiohttp driver creates its WebSocketResponse with
    compression on, and permessage-deflate slows binary uploads several-fold.
    Without the client's offer in the handshake, aiohttp negotiates none.
    """
    if "Sec-WebSocket-Extensions" in request.headers:
        headers = request.headers.copy()
        del headers["Sec-WebSocket-Extensions"]
        request = request.clone(headers=headers)
    connections = request.app[keys.SOCKET_TASKS]
    task = asyncio.current_task()
    assert task is not None
    connections.add(task)
    try:
        response: web.StreamResponse = await request.app[keys.SIO].handle_request(
            request
        )
    finally:
        connections.discard(task)
    return response


async def saved_session(app: web.Application, sid: str) -> dict[str, Any]:
    """Return what the connect handler saved for a socket.

    A page that closes or reloads while its event is on the way leaves no
    session behind, and that gets an error answer rather than a crash.
    """
    try:
        session: dict[str, Any] = await app[keys.SIO].get_session(sid)
    except KeyError:
        raise NotFound("This connection has closed; reconnect and retry.") from None
    return session


async def end_connections(app: web.Application) -> None:
    """Stop every Socket.IO connection's handler when the server stops.

    aiohttp closes the connections first, but python-engineio's WebSocket
    loop goes on waiting for its send queue, so without this each open
    page held the stop for about 5 s.
    """
    connections: set[asyncio.Task[Any]] = app[keys.SOCKET_TASKS]
    tasks = list(connections)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def register_handlers(
    app: web.Application, extra_handlers: dict[str, Handler] | None = None
) -> None:
    """Attach the connect handler and every event handler to the server."""
    sio = app[keys.SIO]

    async def connect(sid: str, environ: dict[str, Any], auth: object) -> None:
        await _connect(app, sid, environ)

    async def disconnect(sid: str, *reason: object) -> None:
        await _disconnect(app, sid)

    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    app.on_shutdown.append(_close_sockets)
    in_flight: collections.Counter[str] = collections.Counter()
    for event, handler in {**_HANDLERS, **(extra_handlers or {})}.items():
        sio.on(event, _wrap(app, event, handler, in_flight))
    sio.on("*", _unknown_event)


async def _connect(app: web.Application, sid: str, environ: dict[str, Any]) -> None:
    request: web.Request = environ["aiohttp.request"]
    settings = app[keys.SETTINGS]
    try:
        check_origin(request.headers.get("Origin"), allowed_origins(settings))
        token = request.cookies.get(COOKIE_NAME)
        if not is_well_formed(token):
            raise DeviceRequired(
                "This connection has no device cookie; open the DropSpace page "
                "first so the browser receives one."
            )
        assert token is not None
        user_agent = request.headers.get("User-Agent", "")
        device = await ensure_device_limited(request, token, user_agent)
    except DBAPIError:
        log.warning("socket rejected, database unavailable sid=%s", sid)
        unavailable = database_unavailable()
        raise socketio.exceptions.ConnectionRefusedError(
            unavailable.message, unavailable.body()
        ) from None
    except DropSpaceError as error:
        raise socketio.exceptions.ConnectionRefusedError(
            error.message, error.body()
        ) from None
    sio = app[keys.SIO]
    # The client's address, as a trusted proxy saw it, keys the per-address
    # limits on pairing-code guesses and offers.
    address = client_limit_key(request)
    identity = identity_fields(device.id, hash_secret(token), device.account_id)
    await sio.save_session(sid, {**identity, "address": address})
    await sio.enter_room(sid, events.device_room(device.id))
    log.debug("socket connected device=%s sid=%s", device.id, sid)


async def _disconnect(app: web.Application, sid: str) -> None:
    for session_id, device_id in await app[keys.PRESENCE].drop_socket(sid):
        log.debug("device offline session=%s device=%s", session_id, device_id)
        try:
            await roster.announce(app, session_id)
        except DBAPIError:
            log.warning(
                "member list not sent, database unavailable session=%s", session_id
            )


async def _unknown_event(event: str, sid: str, data: Any = None) -> dict[str, Any]:
    # Without an acknowledgement a client would wait out its own timeout.
    return NotFound(
        f"Unknown event {event!r}; see docs/protocol.md for the events."
    ).body()


async def _close_sockets(app: web.Application) -> None:
    # aiohttp waits for open requests, WebSockets included, before cleanup
    # contexts run; unless every socket is closed here, each stop takes the
    # whole graceful timeout. Engine.IO's disconnect() of all sockets fails
    # on an empty set, hence the guard.
    sio = app[keys.SIO]

    async def close_all() -> None:
        # Checked in the task that closes, so the set cannot empty between.
        if sio.eio.sockets:
            await sio.eio.disconnect()

    try:
        await asyncio.wait_for(close_all(), SOCKET_CLOSE_TIMEOUT_S)
    except TimeoutError:
        # python-engineio 4.15 waits for a socket's send queue to drain,
        # which never happens for a page that left just before the stop.
        # end_connections then ends what is left.
        log.info("some sockets did not close in time; cutting them off")
    await sio.shutdown()


def _wrap(
    app: web.Application,
    event: str,
    handler: Handler,
    in_flight: collections.Counter[str],
) -> Callable[[str, Any], Awaitable[dict[str, Any]]]:
    async def on_event(sid: str, data: Any = None) -> dict[str, Any]:
        if in_flight[sid] >= MAX_EVENTS_IN_FLIGHT:
            # python-socketio starts a task per event, so a client that never
            # waits for acknowledgements could queue unbounded work.
            return RateLimited(
                f"More than {MAX_EVENTS_IN_FLIGHT} events of this connection are "
                "unanswered; wait for their acknowledgements.",
                retry_after_s=1,
            ).body()
        in_flight[sid] += 1
        try:
            return await _handle(app, event, handler, sid, data)
        finally:
            in_flight[sid] -= 1
            if in_flight[sid] <= 0:
                del in_flight[sid]

    return on_event


async def _handle(
    app: web.Application, event: str, handler: Handler, sid: str, data: Any
) -> dict[str, Any]:
    if event == events.UPLOAD_CHUNK and isinstance(data, dict):
        # Before the first await, so chunks are noted in socket order.
        app[keys.UPLOADS].note_arrival(data.get("file_id"), data.get("offset"))
    try:
        if not isinstance(data, dict):
            raise BadRequest(f"Event {event} needs an object payload.")
        device_id = (await saved_session(app, sid))["device_id"]
        return {"ok": True, **await handler(app, sid, device_id, data)}
    except DropSpaceError as error:
        return error.body()
    except DBAPIError:
        log.warning("database unavailable event=%s", event)
        return database_unavailable().body()
    except Exception:
        log.exception("event handler failed event=%s", event)
        return InternalError("Internal error; try again.").body()


async def _join(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    engine = app[keys.ENGINE]
    limiter = app[keys.JOIN_LIMITER]
    await limiter.check(device_id)
    try:
        session = await join_links.find_for_device(
            engine, text_field(data, "join_token"), device_id
        )
    except NotFound:
        await limiter.hit(device_id)
        raise
    if not await members.was_removed(engine, session.id, device_id):
        await sessions.join(engine, session, device_id)
    elif await members.may_return(engine, session, device_id):
        # Signed out with its account's other devices, now signed in again.
        await members.pull_in(engine, session, device_id)
    else:
        raise NotMember(
            "This device was removed from the session, by its owner or when it "
            "was signed out; sign in to the owner's account again, or ask the "
            "owner to add it again with this device's pairing code.",
            removed=True,
        )
    await app[keys.SIO].enter_room(sid, events.session_room(session.id))
    if await app[keys.PRESENCE].add(session.id, device_id, sid):
        await roster.announce(app, session.id)
    return await _join_ack(app, session, device_id)


async def _join_ack(
    app: web.Application, session: sessions.Session, device_id: str
) -> dict[str, Any]:
    engine = app[keys.ENGINE]
    device = await get_device(engine, device_id)
    assert device is not None
    account = await get_account(engine, device.account_id)
    settings = app[keys.SETTINGS]
    return {
        "device": device.public(),
        "session": session.public(settings.origin, account),
        "files": [
            item.public() for item in await files.list_visible(engine, session.id)
        ],
        "members": await roster.member_list(app, session),
        "limits": limits(settings),
    }


def text_field(data: dict[str, Any], name: str) -> str:
    """Return a required text field of an event payload, or raise BadRequest."""
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"The payload needs a text field {name!r}; got {value!r}.")
    return value


def limits(settings: Settings) -> dict[str, int]:
    """Return the chunk sizes a client should use on each transport."""
    return {
        "http_chunk_bytes": settings.http_chunk_bytes,
        "max_http_chunk_bytes": settings.max_http_chunk_bytes,
        "socket_chunk_bytes": settings.socket_chunk_bytes,
        "socket_max_message_bytes": settings.socket_max_message_bytes,
    }


async def _leave(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    session_id = text_field(data, "session_id")
    await app[keys.SIO].leave_room(sid, events.session_room(session_id))
    if await app[keys.PRESENCE].remove(session_id, sid) is not None:
        await roster.announce(app, session_id)
    return {}


async def _delete_session(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    await delete_session(app, text_field(data, "session_id"), device_id)
    return {}


async def delete_session(
    app: web.Application, session_id: object, device_id: str
) -> None:
    """End a session at its owner's request."""
    engine = app[keys.ENGINE]
    session = await sessions.member_session(engine, session_id, device_id)
    if not await is_owner(app, session.owner_account_id, device_id):
        raise NotAllowed("Only the session's owner may delete it.")
    await app[keys.SCHEDULER].cancel(session.id)
    await app[keys.EXPIRY].end_session(session.id, DELETED)


async def _extend_session(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    session = await extension.extend_session(
        app, text_field(data, "session_id"), device_id, data.get("lifetime_s")
    )
    return {"expires_at": epoch_ms(session.expires_at)}


async def is_owner(app: web.Application, owner_account_id: str, device_id: str) -> bool:
    """Tell whether a device is signed in to the account that owns a session."""
    device = await get_device(app[keys.ENGINE], device_id)
    return device is not None and device.account_id == owner_account_id


async def _start(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    uploads = app[keys.UPLOADS]
    results = await uploads.start(
        text_field(data, "session_id"), device_id, data.get("files")
    )
    return {"files": results}


async def _chunk(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    uploads = app[keys.UPLOADS]
    payload = data.get("data")
    try:
        file_id = text_field(data, "file_id")
        if not isinstance(payload, bytes):
            raise BadRequest("The chunk's data must be binary; send it as bytes.")
    except BadRequest:
        await uploads.forget_arrival(data.get("file_id"), data.get("offset"))
        raise
    offset = await uploads.write(
        file_id,
        device_id,
        data.get("offset"),
        BytesChunk(payload),
        max_bytes=app[keys.SETTINGS].socket_chunk_bytes,
        wait_for_turn=True,
    )
    return {"offset": offset}


async def _offset(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    return await app[keys.UPLOADS].committed_offset(
        text_field(data, "file_id"), device_id
    )


async def _finish(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    stored = await app[keys.UPLOADS].finish(text_field(data, "file_id"), device_id)
    return {"file": stored.public()}


async def _cancel(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    await app[keys.UPLOADS].cancel(text_field(data, "file_id"), device_id)
    return {}


async def _delete_file(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    await delete_file(app, text_field(data, "file_id"), device_id)
    return {}


async def delete_file(app: web.Application, file_id: object, device_id: str) -> None:
    """Delete a file for the session owner or its uploader."""
    stored = await files.get_file(app[keys.ENGINE], file_id)
    session = await sessions.member_session(
        app[keys.ENGINE], stored.session_id, device_id
    )
    owner = await is_owner(app, session.owner_account_id, device_id)
    await app[keys.UPLOADS].delete(stored.id, device_id, owner)


async def _clock(
    app: web.Application, sid: str, device_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    return {"server_now": epoch_ms(utc_now())}


_HANDLERS: dict[str, Handler] = {
    events.SESSION_JOIN: _join,
    events.SESSION_LEAVE: _leave,
    events.SESSION_DELETE: _delete_session,
    events.SESSION_EXTEND: _extend_session,
    events.UPLOAD_START: _start,
    events.UPLOAD_CHUNK: _chunk,
    events.UPLOAD_OFFSET: _offset,
    events.UPLOAD_FINISH: _finish,
    events.UPLOAD_CANCEL: _cancel,
    events.FILE_DELETE: _delete_file,
    events.CLOCK_SYNC: _clock,
}


def make_broadcast(
    sio: socketio.AsyncServer,
) -> Callable[[str, str, dict[str, Any]], Awaitable[None]]:
    """Return a function that sends an event to a session's room."""

    async def broadcast(event: str, session_id: str, payload: dict[str, Any]) -> None:
        body = {"session_id": session_id, **payload}
        await sio.emit(event, body, room=events.session_room(session_id))

    return broadcast
