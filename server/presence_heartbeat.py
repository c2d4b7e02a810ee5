"""The heartbeat of a web process's presence, and the sweep for lost sockets.

Every web process with Redis refreshes its heartbeat key and deletes the
presence fields of processes whose heartbeat expired, every third of
`presence_heartbeat_ttl_s`. A process that deletes a device's field sends
the session's member list if the device is now offline, as the disconnect
handler does when a socket closes. Without Redis nothing runs, because the
one process has every socket.
"""

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from server import keys, roster

log = logging.getLogger(__name__)


async def heartbeat_context(app: web.Application) -> AsyncIterator[None]:
    """Run the heartbeat while the app runs; delete its key on a clean stop."""
    if keys.REDIS not in app:
        yield
        return
    presence = app[keys.PRESENCE]
    task = asyncio.create_task(_beat_forever(app))
    log.info(
        "presence heartbeat started process=%s ttl_s=%s",
        presence.process_id,
        presence.heartbeat_ttl_s,
    )
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await presence.stop_beating()


async def _beat_forever(app: web.Application) -> None:
    presence = app[keys.PRESENCE]
    interval_s = presence.heartbeat_ttl_s / 3
    first = True
    while True:
        try:
            await _beat_and_sweep(app, first)
            first = False
        except Exception:
            # A dead loop would stop the heartbeat, and every other process
            # would then drop this one's sockets.
            log.exception("presence heartbeat failed process=%s", presence.process_id)
        await asyncio.sleep(interval_s)


async def _beat_and_sweep(app: web.Application, first: bool) -> None:
    presence = app[keys.PRESENCE]
    try:
        lapsed = await presence.beat() and not first
        if lapsed:
            log.warning(
                "presence heartbeat had expired, sharing sockets again process=%s",
                presence.process_id,
            )
            await presence.restore()
        dropped = await presence.drop_lost()
    except RedisError as error:
        log.warning(
            "presence heartbeat skipped, Redis unavailable process=%s error=%s",
            presence.process_id,
            error,
        )
        return
    if lapsed:
        # Others may have announced this process's devices offline.
        for session_id in presence.local_sessions():
            await _announce(app, session_id)
    for session_id, devices in dropped.items():
        await _announce_offline(app, session_id, devices)


async def _announce_offline(
    app: web.Application, session_id: str, devices: set[str]
) -> None:
    online = await app[keys.PRESENCE].online_devices(session_id)
    gone = devices - online
    for device_id in sorted(gone):
        log.info(
            "device offline, its process stopped session=%s device=%s",
            session_id,
            device_id,
        )
    if gone:
        await _announce(app, session_id)


async def _announce(app: web.Application, session_id: str) -> None:
    try:
        await roster.announce(app, session_id)
    except DBAPIError:
        log.warning("member list not sent, database unavailable session=%s", session_id)
