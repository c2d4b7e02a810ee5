"""Closing the Socket.IO connections of devices that were signed out."""

from aiohttp import web

from server import bus, keys


async def disconnect_devices(
    app: web.Application, device_ids: list[str], *, notify: bool = True
) -> None:
    """Tell each device it was signed out, then close its connections.

    Without `notify` the connections just close: the device that made the
    request learns the outcome from its response, which carries its new
    cookie, and must not act on an event before that response arrives.
    Every server process closes the connections it holds.
    """
    if device_ids:
        await app[keys.BUS].tell(
            bus.DISCONNECT, device_ids=list(device_ids), notify=notify
        )
