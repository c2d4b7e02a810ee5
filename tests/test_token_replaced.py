"""A cookie that a sign-in or guest start replaced never becomes a new device.

The browser stores the new cookie only when the response that replaced it
arrives, and a page of the same browser may reconnect before that.
"""

import aiohttp
import pytest

from server.devices import COOKIE_NAME
from tests.devices import NewDevice, SocketRejected
from tests.servers import RunningServer
from tests.sql import query


async def test_replaced_cookie_rejected_everywhere(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "laptop")
    replaced = device.cookie
    assert replaced is not None
    await device.start_guest()
    devices_before = await count_devices(server)

    with pytest.raises(SocketRejected) as handshake:
        await device.connect(cookie=replaced)
    async with (
        aiohttp.ClientSession(cookies={COOKIE_NAME: replaced}) as old_browser,
        old_browser.post(
            f"{server.base_url}/api/guest", headers={"Origin": server.base_url}
        ) as reply,
    ):
        status = reply.status
        body = await reply.json()

    assert handshake.value.error is not None
    assert handshake.value.error["code"] == "token_replaced"
    assert status == 401
    assert body["code"] == "token_replaced"
    assert await count_devices(server) == devices_before


async def count_devices(server: RunningServer) -> int:
    rows = await query(server, "SELECT count(*) FROM devices")
    return int(rows[0][0])
