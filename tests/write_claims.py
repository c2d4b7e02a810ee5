"""Helpers for tests that hold a file's write claim from outside a browser."""

import asyncio

from tests.devices import COOKIE_NAME
from tests.rawhttp import RawConnection
from tests.servers import LoopbackServer
from tests.sql import query


async def open_chunk_put(
    server: LoopbackServer, cookie: str, file_id: str, length: int
) -> RawConnection:
    """Send the head of a chunk PUT at offset 0; the body is the caller's."""
    connection = await RawConnection.open(server.base_url)
    headers = {
        "Host": "127.0.0.1",
        "Cookie": f"{COOKIE_NAME}={cookie}",
        "Origin": server.base_url,
        "Content-Length": str(length),
    }
    await connection.send_head("PUT", f"/api/files/{file_id}?offset=0", headers)
    return connection


async def wait_for_claim(server: LoopbackServer, file_id: str) -> None:
    """Wait until a server process has claimed the file for a chunk."""
    sql = "SELECT write_claim FROM files WHERE id = :id"
    for _ in range(200):
        if (await query(server, sql, id=file_id))[0][0] is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no server claimed file {file_id} within 10 s")
