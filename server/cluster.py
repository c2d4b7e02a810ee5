"""What each web process does on the bus's instructions.

server.bus delivers the instructions; the handlers here act on this
process's own sockets, transfers and upload memory only, since every other
process runs the same handlers for its own.
"""

import logging
from typing import Any

from aiohttp import web

from server import bus, events, keys

log = logging.getLogger(__name__)


def install(app: web.Application, channel: bus.Bus) -> None:
    """Register this process's handlers for every instruction."""

    async def expel(fields: dict[str, Any]) -> None:
        await expel_here(app, str(fields["session_id"]), str(fields["device_id"]))

    async def disconnect(fields: dict[str, Any]) -> None:
        for device_id in fields["device_ids"]:
            await _disconnect(app, str(device_id), bool(fields["notify"]))

    async def session_ended(fields: dict[str, Any]) -> None:
        await _session_ended(app, str(fields["session_id"]))

    async def reconnected() -> None:
        await _resync(app)

    channel.on(bus.EXPEL, expel)
    channel.on(bus.DISCONNECT, disconnect)
    channel.on(bus.SESSION_ENDED, session_ended)
    app[keys.SUBSCRIPTIONS].on_resubscribed(reconnected)


def local_sockets(app: web.Application, device_id: str) -> list[str]:
    """Return the ids of a device's sockets on this process."""
    # The manager lists only the sockets connected to this process.
    room = events.device_room(device_id)
    return [sid for sid, _ in app[keys.SIO].manager.get_participants("/", room)]


# Each process sends the event to its own sockets (ignore_queue) rather
# than to the whole room through Redis, because the event must reach a socket before the
# socket leaves or closes, and the two Redis channels keep no common order.


async def expel_here(app: web.Application, session_id: str, device_id: str) -> None:
    """Take a removed device's sockets on this process out of a session."""
    # Transfers first: once the device hears session:removed, nothing of it
    # is still moving through this process.
    app[keys.TRANSFERS].cut(session_id, device_id)
    sio = app[keys.SIO]
    await app[keys.PRESENCE].drop_device(session_id, device_id)
    room = events.session_room(session_id)
    payload = {"session_id": session_id}
    for sid in local_sockets(app, device_id):
        await sio.leave_room(sid, room)
        await sio.emit(events.SESSION_REMOVED, payload, to=sid, ignore_queue=True)


async def _disconnect(app: web.Application, device_id: str, notify: bool) -> None:
    sio = app[keys.SIO]
    payload = {"device_id": device_id}
    for sid in local_sockets(app, device_id):
        if notify:
            await sio.emit(
                events.ACCOUNT_SIGNED_OUT, payload, to=sid, ignore_queue=True
            )
        await sio.disconnect(sid)
    log.debug("device signed out device=%s", device_id)


async def _session_ended(app: web.Application, session_id: str) -> None:
    app[keys.UPLOADS].forget_session(session_id)
    app[keys.PRESENCE].forget_session(session_id)


async def _resync(app: web.Application) -> None:
    """Share this process's presence again and tell its clients to re-sync.

    Messages published while a subscription was down are lost, so each
    connected client re-fetches its state: a session page its files,
    progress and members, a lobby whether its device was pulled in.
    """
    await app[keys.PRESENCE].restore()
    sio = app[keys.SIO]
    # ignore_queue: only this process's clients, whose messages were lost.
    await sio.emit(events.SESSION_RESYNC, {}, ignore_queue=True)
    log.info("session:resync sent to this process's sockets")
