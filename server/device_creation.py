"""Recording a device on its first use, limited per client address.

A made-up cookie is a new device, so without a limit one client could fill
the devices table (and, through lobbies, the pairing offers) at will.
"""

from aiohttp import web

from server import keys
from server.devices import Device, ensure_device
from server.proxies import client_limit_key


async def ensure_device_limited(
    request: web.Request, token: str, user_agent: str
) -> Device:
    """Return the device behind a token, recording it if the address may add one.

    Raises RateLimited when the client's address has added
    DROPSPACE_DEVICE_CREATIONS_PER_HOUR devices within the hour.
    """

    async def count_new_device() -> None:
        await request.app[keys.DEVICE_LIMITER].hit(client_limit_key(request))

    engine = request.app[keys.ENGINE]
    return await ensure_device(engine, token, user_agent, count_new_device)
