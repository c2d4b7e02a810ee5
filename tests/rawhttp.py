"""HTTP/1.1 over a bare TCP stream, for requests no HTTP client will send.

A chunk `PUT` without `Content-Length`, a body cut off halfway, or a
declared length far larger than the bytes that follow: aiohttp's client
either rejects these or waits for the whole body.
"""

import asyncio
import contextlib
from dataclasses import dataclass

from multidict import CIMultiDict
from yarl import URL


@dataclass
class RawReply:
    """Status line, headers and body of one HTTP response."""

    status: int
    headers: CIMultiDict[str]
    body: bytes


class RawConnection:
    """One TCP connection to the test server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, base_url: str) -> "RawConnection":
        url = URL(base_url)
        reader, writer = await asyncio.open_connection(url.host, url.port)
        return cls(reader, writer)

    async def send_head(
        self, method: str, target: str, headers: dict[str, str]
    ) -> None:
        lines = [f"{method} {target} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self.writer.drain()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_reply(self, timeout_s: float = 10.0) -> RawReply:
        """Read one response whose body has a `Content-Length` or ends at EOF."""
        async with asyncio.timeout(timeout_s):
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers: CIMultiDict[str] = CIMultiDict()
            for line in filter(None, header_lines):
                name, _, value = line.partition(":")
                headers.add(name.strip(), value.strip())
            if "Content-Length" in headers:
                body = await self.reader.readexactly(int(headers["Content-Length"]))
            else:
                body = await self.reader.read()
        return RawReply(int(status_line.split()[1]), headers, body)

    def cut(self) -> None:
        """Drop the connection at once, without finishing the request."""
        self.writer.transport.abort()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
