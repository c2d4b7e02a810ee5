"""Chunk bodies from either transport, read as groups of buffers.

HTTP chunks stream from the request body, and Socket.IO chunks arrive whole.
The writer takes both as groups of about `GROUP_BYTES`: each group is
written and hashed in one executor call, so a chunk costs a few thread
hand-offs and one group of memory however large it is. Buffers are passed
on as they came off the socket, never joined, so no byte is copied twice.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from aiohttp import EofStream, StreamReader

from server.errors import BadRequest, ChunkTimeout

GROUP_BYTES = 4 * 1024 * 1024

Buffers = Sequence[bytes | memoryview]


class ChunkSource(Protocol):
    """The bytes of one chunk, known in length before any is read."""

    length: int

    def groups(self) -> AsyncIterator[Buffers]: ...


class BytesChunk:
    """A chunk that arrived whole, as a Socket.IO binary attachment."""

    def __init__(self, data: bytes) -> None:
        self.length = len(data)
        self._data = memoryview(data)

    async def groups(self) -> AsyncIterator[Buffers]:
        for start in range(0, self.length, GROUP_BYTES):
            yield [self._data[start : start + GROUP_BYTES]]


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
        self._received = 0

    async def groups(self) -> AsyncIterator[Buffers]:
        self._received = 0
        try:
            async for group in self._timed_groups():
                yield group
        except TimeoutError:
            raise ChunkTimeout(
                f"The chunk body sent nothing for {self._idle_timeout_s:g} s after "
                f"{self._received} of {self.length} bytes; resend the chunk."
            ) from None

    async def _timed_groups(self) -> AsyncIterator[Buffers]:
        group: list[bytes] = []
        pending = 0
        loop = asyncio.get_running_loop()
        # One deadline moved forward per read: `asyncio.wait_for` would
        # create a task for each of the thousands of reads in a chunk.
        async with asyncio.timeout(None) as idle:
            while self._received < self.length:
                idle.reschedule(loop.time() + self._idle_timeout_s)
                piece = await self._read_piece()
                self._received += len(piece)
                group.append(piece)
                pending += len(piece)
                if pending >= GROUP_BYTES or self._received == self.length:
                    # No deadline while the writer holds the group.
                    idle.reschedule(None)
                    yield group
                    group, pending = [], 0

    async def _read_piece(self) -> bytes:
        try:
            piece = await self._reader.readany()
        except (ConnectionError, EofStream):
            piece = b""
        if not piece:
            raise BadRequest(
                f"The chunk body ended after {self._received} of {self.length} "
                "bytes; resend the chunk."
            )
        return piece
