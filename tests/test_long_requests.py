"""Over-long addresses and tokens get the usual error page or JSON error.

aiohttp rejects a request line over its `max_line_size` with a plain-text
400 before any middleware runs. The app raises that size, so long tokens
reach the routes, which reject them in the usual shape.
"""

import json

import pytest

from tests.rawhttp import RawConnection
from tests.servers import RunningServer

LONG = "A" * 20_000


async def get(server: RunningServer, target: str, accept: str) -> tuple[int, str, str]:
    """Send one GET over a bare connection; return status, type and body."""
    connection = await RawConnection.open(server.base_url)
    try:
        host = server.base_url.split("//", 1)[1]
        headers = {"Host": host, "Accept": accept, "Connection": "close"}
        await connection.send_head("GET", target, headers)
        reply = await connection.read_reply()
    finally:
        await connection.close()
    content_type = reply.headers.get("Content-Type", "").split(";")[0]
    return reply.status, content_type, reply.body.decode()


@pytest.mark.parametrize("prefix", ["/p/", "/s/"])
async def test_long_token_gets_error_page(server: RunningServer, prefix: str) -> None:
    status, content_type, body = await get(server, prefix + LONG, "text/html")

    assert status == 404
    assert content_type == "text/html"
    assert 'class="error-message"' in body


async def test_long_api_path_gets_json_error(server: RunningServer) -> None:
    status, content_type, body = await get(
        server, f"/api/files/{LONG}", "application/json"
    )

    # Without a device cookie the download route returns this error before
    # it looks the file id up.
    assert status == 401
    assert content_type == "application/json"
    error = json.loads(body)
    assert error["ok"] is False
    assert error["code"] == "device_required"
