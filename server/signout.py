"""Closing the Socket.IO connections of devices that were signed out."""

import logging

from aiohttp import web

from server import events, keys, members, roster
from server.devices import sign_out_devices

log = logging.getLogger(__name__)


async def disconnect_devices(
    app: web.Application, device_ids: list[str], *, notify: bool = True
) -> None:
    """Tell each device it was signed out, then close its connections.

    Without `notify` the connections just close: the device that made the
    request learns the outcome from its response, which carries its new
    cookie, and must not act on an event before that response arrives.

    TODO: the manager lists only this process's connections. With several
    server processes, the other processes' connections get the event but
    stay open until they reconnect. A bus message asking every process to
    disconnect the device room would close them too.
    """
    sio = app[keys.SIO]
    for device_id in device_ids:
        room = events.device_room(device_id)
        if notify:
            payload = {"device_id": device_id}
            await sio.emit(events.ACCOUNT_SIGNED_OUT, payload, room=room)
        for sid, _ in list(sio.manager.get_participants("/", room)):
            await sio.disconnect(sid)
        log.debug("device signed out device=%s", device_id)


async def sign_out_account(
    app: web.Application, account_id: str, own_device_id: str, *, include_own: bool
) -> list[str]:
    """Sign out the account's devices and return their ids.

    Every device signed out but the one asking also leaves the account's
    sessions, with its transfers there cut, so that a lost or stolen
    device keeps no access to them through its old membership.
    """
    engine = app[keys.ENGINE]
    keep = None if include_own else own_device_id
    signed_out = await sign_out_devices(engine, account_id, keep_device_id=keep)
    others = [device_id for device_id in signed_out if device_id != own_device_id]
    ended = await members.end_account_memberships(engine, account_id, others)
    await disconnect_devices(app, others)
    for session_id, device_id in ended:
        app[keys.PRESENCE].drop_device(session_id, device_id)
        app[keys.TRANSFERS].cut(session_id, device_id)
    for session_id in sorted({session_id for session_id, _ in ended}):
        await roster.announce(app, session_id)
    return signed_out
