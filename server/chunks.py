"""Chunk bodies from either transport, read in blocks of bounded size.

HTTP chunks stream from the request body and Socket.IO chunks arrive whole;
the writer reads both the same way, so memory per chunk stays one block.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

from aiohttp import StreamReader

from server.errors import BadRequest

BLOCK_BYTES = 1024 * 1024


class ChunkSource(Protocol):
    """The bytes of one chunk, known in length before any is read."""

    length: int

    def blocks(self) -> AsyncIterator[bytes]: ...


class BytesChunk:
    """A chunk that arrived whole, as a Socket.IO binary attachment."""

    def __init__(self, data: bytes) -> None:
        self.length = len(data)
        self._data = memoryview(data)

    async def blocks(self) -> AsyncIterator[bytes]:
        for start in range(0, self.length, BLOCK_BYTES):
            yield bytes(self._data[start : start + BLOCK_BYTES])


class StreamChunk:
    """A chunk streamed from an HTTP request body of known length."""

    def __init__(self, reader: StreamReader, length: int) -> None:
        self.length = length
        self._reader = reader

    async def blocks(self) -> AsyncIterator[bytes]:
        remaining = self.length
        while remaining > 0:
            try:
                block = await self._reader.readexactly(min(BLOCK_BYTES, remaining))
            except asyncio.IncompleteReadError as error:
                received = self.length - remaining + len(error.partial)
                raise BadRequest(
                    f"The chunk body ended after {received} of {self.length} "
                    "bytes; resend the chunk."
                ) from None
            remaining -= len(block)
            yield block
