"""The Socket.IO endpoint at the WebSocket level: compression and transports."""

import base64
import secrets
import time

import aiohttp
import pytest

from tests.devices import NewDevice
from tests.rawhttp import RawConnection
from tests.servers import RunningServer

HANDSHAKE_PATH = "/socket.io/?EIO=4&transport=websocket"


async def test_deflate_not_negotiated_raw(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "raw", connect=False)
    connection = await RawConnection.open(server.base_url)

    await connection.send_head(
        "GET",
        HANDSHAKE_PATH,
        {
            "Host": f"127.0.0.1:{server.settings.port}",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": base64.b64encode(secrets.token_bytes(16)).decode(),
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
            "Origin": server.base_url,
            "Cookie": f"ds_device={device.cookie}",
        },
    )
    head = await connection.reader.readuntil(b"\r\n\r\n")
    connection.cut()

    assert head.startswith(b"HTTP/1.1 101"), head
    assert b"sec-websocket-extensions" not in head.lower(), head


async def test_deflate_not_negotiated_aiohttp(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "client", connect=False)
    headers = {"Origin": server.base_url, "Cookie": f"ds_device={device.cookie}"}

    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(
            server.base_url + HANDSHAKE_PATH, headers=headers, compress=15
        ) as ws,
    ):
        opened = await ws.receive(timeout=5)
        compress = ws.compress

    assert opened.type == aiohttp.WSMsgType.TEXT
    assert opened.data.startswith("0{"), opened.data
    assert compress == 0


# engine.io logs the first request for a refused transport at ERROR and later
# ones at INFO; the test makes such a request on purpose.
@pytest.mark.server_errors("engineio.server")
async def test_polling_transport_not_served(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "poller", connect=False)

    reply = await device.request("GET", "/socket.io/?EIO=4&transport=polling")

    assert reply.status != 200, reply.body[:200]


async def test_clock_sync_server_now(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "clock")
    before_ms = time.time() * 1000

    answer = await device.call("clock:sync", {})

    after_ms = time.time() * 1000
    assert answer.get("ok") is True
    assert before_ms - 1000 <= answer["server_now"] <= after_ms + 1000
