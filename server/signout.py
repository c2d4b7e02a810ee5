"""Closing the Socket.IO connections of devices that were signed out."""

import logging

from aiohttp import web

from server import events, keys

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
