"""JSON API routes: identity, guest start, sessions, chunk PUT, deletes."""

import json
import re
from typing import Any

from aiohttp import web

from server import extension, files, keys, realtime, sessions
from server.accounts import Account, get_account
from server.chunks import StreamChunk
from server.device_creation import ensure_device_limited
from server.devices import Device, find_device
from server.errors import (
    AccountRequired,
    BadRequest,
    BodyTooLarge,
    DeviceRequired,
    LengthRequired,
)
from server.middleware import DEVICE_TOKEN
from server.pages import bootstrap_data
from server.plans import get_plan
from server.qr import qr_svg

_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
# aiohttp's limit on bodies read whole; chunk PUTs stream theirs instead.
MAX_JSON_BODY_BYTES = 1024**2


def ok(**fields: Any) -> web.Response:
    """Return a successful JSON response."""
    return web.json_response({"ok": True, **fields})


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    # A cross-site form can send text/plain without a preflight; it cannot
    # send application/json.
    if request.content_type != "application/json":
        raise BadRequest(
            f"The body's Content-Type is {request.content_type!r}; send JSON "
            "with Content-Type: application/json."
        )
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        max_bytes = MAX_JSON_BODY_BYTES
        raise BodyTooLarge(
            f"The JSON body is over {max_bytes} bytes; send a smaller one.",
            max_bytes=max_bytes,
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest(
            "The request body is not valid JSON; send a JSON object."
        ) from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


async def _acting_device(request: web.Request) -> Device:
    """Return the caller's device, recording it now if it is new."""
    user_agent = request.headers.get("User-Agent", "")
    return await ensure_device_limited(request, request[DEVICE_TOKEN], user_agent)


async def _known_device(request: web.Request) -> Device:
    device = await find_device(request.app[keys.ENGINE], request[DEVICE_TOKEN])
    if device is None:
        raise DeviceRequired(
            "This device is unknown; open the DropSpace page or join a session first."
        )
    return device


async def _account_of(request: web.Request, device: Device) -> Account:
    account = await get_account(request.app[keys.ENGINE], device.account_id)
    if account is None:
        raise AccountRequired(
            'This needs an account; choose "Start without an account" first.'
        )
    return account


async def me(request: web.Request) -> web.Response:
    data = await bootstrap_data(request)
    return ok(device=data["device"], account=data["account"], plan=data["plan"])


async def list_sessions(request: web.Request) -> web.Response:
    device = await _known_device(request)
    account = await _account_of(request, device)
    found = await sessions.list_live_sessions(request.app[keys.ENGINE], account.id)
    origin = request.app[keys.SETTINGS].origin
    return ok(sessions=[item.public(origin, account) for item in found])


async def create_session(request: web.Request) -> web.Response:
    """Create a session owned by the caller's account."""
    body = await _json_body(request)
    device = await _acting_device(request)
    account = await _account_of(request, device)
    await request.app[keys.SESSION_LIMITER].hit(account.id)
    settings = request.app[keys.SETTINGS]
    plan = await get_plan(request.app[keys.ENGINE], account.plan, settings)
    title = sessions.validate_title(body.get("title"))
    lifetime_s = sessions.cap_at_account_expiry(
        sessions.validate_lifetime(body.get("lifetime_s"), plan),
        account.expires_at,
    )
    session = await sessions.create_session(
        request.app[keys.ENGINE], account, device.id, plan, title, lifetime_s
    )
    await request.app[keys.SCHEDULER].schedule(session.id, session.expires_at)
    return ok(session=session.public(settings.origin, account))


async def delete_session(request: web.Request) -> web.Response:
    device = await _known_device(request)
    await realtime.delete_session(
        request.app, request.match_info["session_id"], device.id
    )
    return ok()


async def extend_session(request: web.Request) -> web.Response:
    """Move a session's deadline for its owner, within the plan."""
    body = await _json_body(request)
    device = await _known_device(request)
    session = await extension.extend_session(
        request.app, request.match_info["session_id"], device.id, body.get("lifetime_s")
    )
    account = await get_account(request.app[keys.ENGINE], device.account_id)
    return ok(session=session.public(request.app[keys.SETTINGS].origin, account))


async def session_qr(request: web.Request) -> web.Response:
    """Return the session's join link as an SVG QR code, for members."""
    device = await _known_device(request)
    engine = request.app[keys.ENGINE]
    session = await sessions.member_session(
        engine, request.match_info["session_id"], device.id
    )
    join_url = session.public(request.app[keys.SETTINGS].origin, None)["join_url"]
    return web.Response(
        text=qr_svg(join_url),
        content_type="image/svg+xml",
        headers={
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


async def put_chunk(request: web.Request) -> web.Response:
    """Write one chunk of an upload from the request body."""
    device = await _known_device(request)
    settings = request.app[keys.SETTINGS]
    length = request.content_length
    if length is None:
        raise LengthRequired(
            "A chunk PUT needs a Content-Length header; send the chunk as one body."
        )
    raw_offset = request.query.get("offset", "")
    if not _ASCII_DIGITS.fullmatch(raw_offset):
        raise BadRequest(
            f"Query parameter offset={raw_offset!r} is not a non-negative integer."
        )
    stored = await files.get_file(
        request.app[keys.ENGINE], request.match_info["file_id"]
    )
    with request.app[keys.TRANSFERS].track(stored.session_id, device.id, request):
        offset = await request.app[keys.UPLOADS].write(
            stored.id,
            device.id,
            int(raw_offset),
            StreamChunk(request.content, length, settings.chunk_idle_timeout_s),
            max_bytes=settings.max_http_chunk_bytes,
            wait_for_turn=False,
        )
    return ok(offset=offset)


async def delete_file(request: web.Request) -> web.Response:
    device = await _known_device(request)
    await realtime.delete_file(request.app, request.match_info["file_id"], device.id)
    return ok()
