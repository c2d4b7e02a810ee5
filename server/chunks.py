"""Chunk bodies from either transport, read in blocks of bounded size.

HTTP chunks stream from the request body, and Socket.IO chunks arrive whole.
The writer reads both as blocks of about 1 MiB, so an HTTP chunk costs one
block of memory however large it is.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol

from aiohttp import EofStream, StreamReader

from server.errors import BadRequest, ChunkTimeout

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
    """A chunk streamed from an HTTP request body of known length.

    A body that sends nothing for `idle_timeout_s` is abandoned, so a client
    that lost its network cannot hold the file's writer for hours.
    """

    def __init__(
        self, reader: StreamReader, length: int, idle_timeout_s: float
    ) -> None:
        self.length = length
        self._reader = reader
        self._idle_timeout_s = idle_timeout_s

    async def blocks(self) -> AsyncIterator[bytes]:
        received = 0
        pieces: list[bytes] = []
        pending = 0
        while received < self.length:
            piece = await self._read_piece(received)
            received += len(piece)
            pieces.append(piece)
            pending += len(piece)
            if pending >= BLOCK_BYTES or received == self.length:
                yield b"".join(pieces)
                pieces, pending = [], 0

    async def _read_piece(self, received: int) -> bytes:
        try:
            piece = await asyncio.wait_for(self._reader.readany(), self._idle_timeout_s)
        except TimeoutError:
            raise ChunkTimeout(
                f"The chunk body sent nothing for {self._idle_timeout_s:g} s after "
                f"{received} of {self.length} bytes; resend the chunk."
            ) from None
        except (ConnectionError, EofStream):
            piece = b""
        if not piece:
            raise BadRequest(
                f"The chunk body ended after {received} of {self.length} "
                "bytes; resend the chunk."
            )
        return piece
