"""A Python DropSpace device for the benchmarks: HTTP plus Socket.IO, one cookie.

It follows docs/protocol.md as a script would: it keeps the `ds_device`
cookie from its first response, sends it on the Socket.IO handshake, and
uploads a file from disk over either chunk transport.
"""

import asyncio
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio

ACK_TIMEOUT_S = 120.0
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=600)


class ProtocolError(Exception):
    """The server returned an error object where success was expected."""


def _checked(answer: Any, step: str) -> dict[str, Any]:
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise ProtocolError(f"{step} failed: {answer!r}")
    return answer


def read_at(path: Path, offset: int, length: int) -> bytes:
    """Read `length` bytes of a file at `offset` (blocking, so call it in a thread)."""
    with path.open("rb") as stream:
        return os.pread(stream.fileno(), length, offset)


async def _read_chunk(path: Path, offset: int, size: int, chunk_bytes: int) -> bytes:
    length = min(chunk_bytes, size - offset)
    if length <= 0:
        return b""
    return await asyncio.to_thread(read_at, path, offset, length)


class Device:
    """One device: an HTTP client and a Socket.IO client sharing a cookie."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.limits: dict[str, int] = {}
        # unsafe=True: the jar must keep cookies from an IP-address host.
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=HTTP_TIMEOUT
        )
        self.sio = socketio.AsyncClient(reconnection=False)

    async def open(self) -> None:
        """Become a guest and connect the socket with the device cookie."""
        await self.post("/api/guest")
        cookie = self.http.cookie_jar.filter_cookies(self.base_url)["ds_device"]
        await self.sio.connect(
            self.base_url,
            headers={"Cookie": f"ds_device={cookie.value}"},
            transports=["websocket"],
            wait_timeout=10,
        )

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self.http.close()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.http.post(self.base_url + path, json=body or {}) as response:
            return _checked(await response.json(), f"POST {path}")

    async def request(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await self.sio.call(event, payload, timeout=ACK_TIMEOUT_S)
        return _checked(answer, event)

    async def new_session(self, lifetime_s: int) -> dict[str, Any]:
        """Create a session, join its room and return the Session object."""
        answer = await self.post("/api/sessions", {"lifetime_s": lifetime_s})
        session: dict[str, Any] = answer["session"]
        join_token = urlsplit(session["join_url"]).path.rsplit("/", 1)[-1]
        joined = await self.request("session:join", {"join_token": join_token})
        self.limits = joined["limits"]
        return session

    async def delete_session(self, session_id: str) -> None:
        async with self.http.delete(f"{self.base_url}/api/sessions/{session_id}"):
            pass

    async def start_upload(self, session_id: str, name: str, size: int) -> str:
        """Declare one file and return its id."""
        answer = await self.request(
            "upload:start",
            {"session_id": session_id, "files": [{"name": name, "size": size}]},
        )
        entry = _checked(answer["files"][0], "upload:start entry")
        file_id: str = entry["id"]
        return file_id

    async def finish(self, file_id: str) -> dict[str, Any]:
        answer = await self.request("upload:finish", {"file_id": file_id})
        file: dict[str, Any] = answer["file"]
        return file

    async def put_chunks(
        self, url: str, path: Path, size: int, chunk_bytes: int
    ) -> None:
        """PUT a file to `url?offset=N` in chunks, one at a time.

        The next chunk is read from disk while the current one is sent, so
        the connection does not wait for the disk between chunks.
        """
        offset = 0
        upcoming = asyncio.create_task(_read_chunk(path, offset, size, chunk_bytes))
        while offset < size:
            chunk = await upcoming
            upcoming = asyncio.create_task(
                _read_chunk(path, offset + len(chunk), size, chunk_bytes)
            )
            async with self.http.put(
                f"{url}?offset={offset}",
                data=chunk,
                headers={"Content-Type": "application/octet-stream"},
            ) as response:
                answer = _checked(await response.json(), f"PUT at {offset}")
            if answer["offset"] != offset + len(chunk):
                upcoming.cancel()
                raise ProtocolError(f"PUT at {offset} committed {answer['offset']}")
            offset = answer["offset"]
        upcoming.cancel()

    async def upload_http(
        self, file_id: str, path: Path, size: int, chunk_bytes: int
    ) -> None:
        await self.put_chunks(
            f"{self.base_url}/api/files/{file_id}", path, size, chunk_bytes
        )

    async def upload_socket(
        self, file_id: str, path: Path, size: int, chunk_bytes: int, window: int
    ) -> None:
        """Send `upload:chunk` events in offset order, `window` awaiting acks."""
        pending: set[asyncio.Task[dict[str, Any]]] = set()
        for offset in range(0, size, chunk_bytes):
            while len(pending) >= window:
                done, pending = await asyncio.wait(
                    pending, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    task.result()
            length = min(chunk_bytes, size - offset)
            data = await asyncio.to_thread(read_at, path, offset, length)
            payload = {"file_id": file_id, "offset": offset, "data": data}
            pending.add(asyncio.create_task(self.request("upload:chunk", payload)))
        for result in await asyncio.gather(*pending):
            _checked(result, "upload:chunk")
