"""The chunk writer shared by the HTTP and Socket.IO transports.

It writes a chunk only at the committed offset. The per-file condition keeps
one writer per file in this process. python-socketio runs each event in its
own task, so a Socket.IO chunk may reach the writer before an earlier one.
`note_arrival` therefore records chunks in the order they came off the
socket, and a chunk ahead of the committed offset waits while an earlier
arrival can still fill the gap. Across processes, a write claim recorded
before any byte is written (server.claims) keeps one writer per file, and
the UPDATE that commits the offset, fenced on the claim and the old offset,
keeps the database the judge.
"""

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from server import claims, events, files
from server.chunks import Buffers, ChunkSource
from server.claim_lease import ClaimLease, ClaimLost, LeaseExpired
from server.errors import (
    BadRequest,
    ChunkTooLarge,
    NotAllowed,
    OffsetMismatch,
    SizeExceeded,
    UploadBusy,
    UploadNotActive,
    database_unavailable,
)
from server.files import StoredFile
from server.sessions import get_session, member_session, require_live
from server.storage import Storage

log = logging.getLogger(__name__)

MAX_WAITING_CHUNKS = 8
# At most this many buffers per pwritev call: Linux refuses more than 1024.
_IOV_MAX = 1024
CHUNK_TURN_TIMEOUT_S = 30.0
CHUNK_REORDER_GRACE_S = 1.0

Broadcast = Callable[[str, str, dict[str, Any]], Awaitable[None]]


@dataclass
class UploadState:
    """In-memory state of one upload in progress, in this process."""

    session_id: str
    uploader_device_id: str
    committed: int
    # SHA-256 of bytes [0, committed), or None after a restart; finishing
    # then hashes the file from disk instead.
    hasher: "hashlib._Hash | None"
    condition: asyncio.Condition = field(default_factory=asyncio.Condition)
    waiting: int = 0
    reported: int = 0
    reported_at: float = 0.0
    closed: bool = False


class ChunkWriter:
    """Writes chunks in order and reports progress to the session's room."""

    def __init__(
        self,
        engine: AsyncEngine,
        storage: Storage,
        broadcast: Broadcast,
        progress_interval_s: float,
    ) -> None:
        self._engine = engine
        self._storage = storage
        self._broadcast = broadcast
        self._progress_interval_s = progress_interval_s
        self.states: dict[str, UploadState] = {}
        self._arrivals: dict[str, list[int]] = {}
        # One claim token per process: writes of one file within a process
        # are serialised by its UploadState's condition already, so a claim
        # left by a chunk of this process that broke off is ours to reuse.
        self._claim = claims.new_claim()

    def note_arrival(self, file_id: object, offset: object) -> None:
        """Record a Socket.IO chunk in arrival order, before its handler awaits."""
        if isinstance(file_id, str) and isinstance(offset, int):
            self._arrivals.setdefault(file_id, []).append(offset)

    async def write(
        self,
        file_id: object,
        device_id: str,
        offset: object,
        chunk: ChunkSource,
        *,
        max_bytes: int,
        wait_for_turn: bool,
    ) -> int:
        """Write one chunk at the committed offset; return the new offset.

        With wait_for_turn (Socket.IO), a chunk noted by `note_arrival` ahead
        of the committed offset waits while earlier arrivals are pending.
        """
        try:
            return await self._write(
                file_id, device_id, offset, chunk, max_bytes, wait_for_turn
            )
        finally:
            if wait_for_turn:
                await self.forget_arrival(file_id, offset)

    async def _write(
        self,
        file_id: object,
        device_id: str,
        offset: object,
        chunk: ChunkSource,
        max_bytes: int,
        wait_for_turn: bool,
    ) -> int:
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise BadRequest(f"Offset {offset!r} is not a non-negative integer.")
        if chunk.length > max_bytes:
            raise ChunkTooLarge(
                f"Chunk of {chunk.length} bytes is over this transport's limit "
                f"of {max_bytes} bytes; send smaller chunks.",
                max_bytes=max_bytes,
            )
        await self._storage.marker.require()
        state = await self.find_state(file_id, device_id)
        assert isinstance(file_id, str)  # find_state raised NotFound otherwise
        async with state.condition:
            if wait_for_turn:
                await self._wait_for_turn(file_id, state, offset)
            stored = await uploader_file(self._engine, file_id, device_id)
            follow_record(state, stored)
            self._check_chunk(stored, state, offset, chunk.length)
            await self._write_at_committed(stored, state, chunk)
            state.condition.notify_all()
            committed: int = state.committed
            return committed

    async def forget_arrival(self, file_id: object, offset: object) -> None:
        """Drop a noted chunk that was handled or rejected, waking later ones."""
        if not isinstance(file_id, str):
            return
        pending = self._arrivals.get(file_id, [])
        if offset in pending:
            pending.remove(offset)
        if not pending:
            self._arrivals.pop(file_id, None)
        state = self.states.get(file_id)
        if state is not None:
            async with state.condition:
                state.condition.notify_all()

    def _gap_can_fill(self, file_id: str, state: UploadState, offset: int) -> bool:
        pending = self._arrivals.get(file_id, [])
        return any(state.committed <= earlier < offset for earlier in pending)

    async def _wait_for_turn(
        self, file_id: str, state: UploadState, offset: int
    ) -> None:
        if offset <= state.committed:
            return
        if state.waiting >= MAX_WAITING_CHUNKS:
            raise OffsetMismatch(
                f"More than {MAX_WAITING_CHUNKS} chunks of this file are waiting; "
                f"resend from offset {state.committed}.",
                offset=state.committed,
            )
        state.waiting += 1
        try:
            await self._wait_until_due(file_id, state, offset)
        finally:
            state.waiting -= 1

    async def _wait_until_due(
        self, file_id: str, state: UploadState, offset: int
    ) -> None:
        # A chunk waits long while an earlier arrival can fill the gap, and
        # briefly otherwise: a client that emits from several tasks may put
        # chunks on the socket slightly out of order. The offset check that
        # follows rejects a chunk whose turn never came.
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not (state.closed or state.committed >= offset):
            can_fill = self._gap_can_fill(file_id, state, offset)
            limit_s = CHUNK_TURN_TIMEOUT_S if can_fill else CHUNK_REORDER_GRACE_S
            remaining_s = started + limit_s - loop.time()
            if remaining_s <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.condition.wait(), remaining_s)

    def _check_chunk(
        self, stored: StoredFile, state: UploadState, offset: int, length: int
    ) -> None:
        if offset != state.committed:
            raise OffsetMismatch(
                f"Chunk offset {offset} does not match the committed offset "
                f"{state.committed} of file {stored.name!r}; resend from offset "
                f"{state.committed}.",
                offset=state.committed,
            )
        if offset + length > stored.size:
            raise SizeExceeded(
                f"Chunk ends at byte {offset + length}, past the declared size "
                f"{stored.size} of file {stored.name!r}; send only the file's bytes.",
                offset=state.committed,
                size=stored.size,
            )

    async def _write_at_committed(
        self, stored: StoredFile, state: UploadState, chunk: ChunkSource
    ) -> None:
        start = state.committed
        lease = ClaimLease(self._engine, stored.id, start, self._claim)
        if not await claims.claim(self._engine, stored.id, start, self._claim):
            await self._explain_claim_taken(stored, start)
        hasher = None if state.hasher is None else state.hasher.copy()
        try:
            end = await self._write_leased(stored, state, chunk, hasher, lease)
        except ClaimLost:
            await self._explain_claim_taken(stored, start)
            raise
        except LeaseExpired as error:
            log.warning(
                "chunk stopped, write claim not refreshed in time file=%s offset=%d",
                stored.id,
                start,
            )
            raise database_unavailable() from error
        if not await claims.commit(self._engine, stored.id, self._claim, start, end):
            await self._explain_lost_commit(stored, start)
        state.committed = end
        state.hasher = hasher
        await self._report_progress(stored, state, end, final=end == stored.size)

    async def _write_leased(
        self,
        stored: StoredFile,
        state: UploadState,
        chunk: ChunkSource,
        hasher: "hashlib._Hash | None",
        lease: ClaimLease,
    ) -> int:
        try:
            async with lease:
                return await self._write_claimed(stored, state, chunk, hasher, lease)
        except BaseException:
            # A chunk that broke off must not hold the file until the claim
            # goes stale: the client may resume at once on another process,
            # whose writer cuts the bytes this one left past the offset.
            with contextlib.suppress(SQLAlchemyError):
                await claims.release(self._engine, stored.id, self._claim)
            raise

    async def _write_claimed(
        self,
        stored: StoredFile,
        state: UploadState,
        chunk: ChunkSource,
        hasher: "hashlib._Hash | None",
        lease: ClaimLease,
    ) -> int:
        start = state.committed
        written = 0
        path = self._storage.part_path(stored.session_id, stored.id)
        try:
            async with _open_part(path) as fd:
                await self._cut_to(stored, state, fd, start)
                groups = contextlib.aclosing(lease.guard(chunk.groups()))
                async with groups as guarded:
                    async for length in _pipeline(fd, start, guarded, hasher):
                        written += length
                        progress = start + written
                        await self._report_progress(
                            stored, state, progress, final=False
                        )
                await asyncio.to_thread(os.fdatasync, fd)
        except FileNotFoundError:
            # The session ended or the file was deleted, taking the partial
            # file with it, just before this chunk opened it. Or the storage
            # went away.
            await self._storage.marker.require(fresh=True)
            await self._explain_lost_commit(stored, start)
        return start + written

    async def _cut_to(
        self, stored: StoredFile, state: UploadState, fd: int, start: int
    ) -> None:
        # Bytes past the committed offset are left by a chunk that broke off,
        # here or in another process; the claim makes cutting them safe.
        size = (await asyncio.to_thread(os.fstat, fd)).st_size
        if size > start:
            await asyncio.to_thread(os.ftruncate, fd, start)
        if size >= start:
            return
        # The disk has fewer bytes than were committed, as after a power loss, so the
        # upload resumes from what is on disk.
        await claims.commit(self._engine, stored.id, self._claim, start, size)
        state.committed = size
        state.hasher = None
        raise OffsetMismatch(
            f"File {stored.name!r} holds {size} bytes on disk, fewer than were "
            f"acknowledged; resend from offset {size}.",
            offset=size,
        )

    async def _explain_claim_taken(self, stored: StoredFile, start: int) -> None:
        current = await files.get_file(self._engine, stored.id)
        if current.state == files.UPLOADING and current.committed_bytes == start:
            raise UploadBusy(
                f"Another server is writing a chunk of file {current.name!r} at "
                f"offset {start}; ask for the offset in a moment and resume.",
                offset=start,
                retry_after_s=1,
            )
        await self._explain_lost_commit(stored, start)

    async def _explain_lost_commit(self, stored: StoredFile, start: int) -> None:
        session = await get_session(self._engine, stored.session_id)
        if session is not None:
            require_live(session)
        current = await files.get_file(self._engine, stored.id)
        if current.state != files.UPLOADING:
            raise UploadNotActive(
                f"File {current.name!r} was {current.state} during the chunk.",
                state=current.state,
            )
        raise OffsetMismatch(
            f"File {current.name!r} moved past offset {start} meanwhile; "
            f"resume from offset {current.committed_bytes}.",
            offset=current.committed_bytes,
        )

    async def _report_progress(
        self, stored: StoredFile, state: UploadState, offset: int, *, final: bool
    ) -> None:
        now = time.monotonic()
        due = final or now - state.reported_at >= self._progress_interval_s
        if not due or (offset <= state.reported and not (final and offset == 0)):
            return
        state.reported = offset
        state.reported_at = now
        payload = {"file_id": stored.id, "offset": offset, "size": stored.size}
        await self._broadcast(events.UPLOAD_PROGRESS, stored.session_id, payload)

    async def find_state(self, file_id: object, device_id: str) -> UploadState:
        """Return the state of an upload, loading its record only when new.

        Callers check the record again under the state's condition, so the
        known state of an upload costs no query here.
        """
        known = self.states.get(file_id) if isinstance(file_id, str) else None
        if known is not None and known.uploader_device_id == device_id:
            return known
        return self.state_for(await uploader_file(self._engine, file_id, device_id))

    def state_for(self, stored: StoredFile) -> UploadState:
        """Return the in-memory state of an upload, creating it if needed."""
        state = self.states.get(stored.id)
        if state is None:
            state = UploadState(
                session_id=stored.session_id,
                uploader_device_id=stored.uploader_device_id,
                committed=stored.committed_bytes,
                hasher=hashlib.sha256() if stored.committed_bytes == 0 else None,
            )
            self.states[stored.id] = state
        return state

    def close(self, file_id: str) -> None:
        """Forget an upload that finished or ended, waking its waiting chunks."""
        state = self.states.pop(file_id, None)
        if state is not None:
            state.closed = True

    def forget_session(self, session_id: str) -> None:
        """Drop the memory of every upload of an ended session."""
        for file_id, state in list(self.states.items()):
            if state.session_id == session_id:
                self.close(file_id)


def follow_record(state: UploadState, stored: StoredFile) -> None:
    """Take the committed offset from the record when another process moved it.

    The bytes it wrote are not in this process's running hash, so finishing
    hashes the file from disk instead.
    """
    if stored.committed_bytes != state.committed:
        state.committed = stored.committed_bytes
        state.hasher = None


async def uploader_file(
    engine: AsyncEngine, file_id: object, device_id: str, *, active_only: bool = True
) -> StoredFile:
    """Return an upload's record for the device that started it, or raise why not."""
    stored = await files.get_file(engine, file_id)
    await member_session(engine, stored.session_id, device_id)
    if stored.uploader_device_id != device_id:
        raise NotAllowed(
            f"File {stored.name!r} is being uploaded by another device; only "
            "that device may send or resume it."
        )
    if active_only and stored.state != files.UPLOADING:
        raise UploadNotActive(
            f"File {stored.name!r} is {stored.state}, not uploading.",
            state=stored.state,
        )
    return stored


@contextlib.asynccontextmanager
async def _open_part(path: os.PathLike[str]) -> AsyncIterator[int]:
    fd = await asyncio.to_thread(os.open, path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        await asyncio.to_thread(os.close, fd)


async def _pipeline(
    fd: int, start: int, groups: AsyncIterator[Buffers], hasher: Any
) -> AsyncIterator[int]:
    """Store each group of buffers while the next one arrives; yield lengths.

    Without the overlap the socket sits idle during every write, because
    aiohttp stops reading once its small buffer is full.
    """
    pending: asyncio.Task[int] | None = None
    offset = start
    try:
        async for group in groups:
            if pending is not None:
                yield await pending
            pending = asyncio.create_task(
                asyncio.to_thread(_store_group, fd, offset, group, hasher)
            )
            offset += sum(len(buffer) for buffer in group)
        if pending is not None:
            yield await pending
    finally:
        if pending is not None and not pending.done():
            # The body broke off: let the group in the executor finish before
            # the file closes under it.
            await asyncio.wait([pending])


def _store_group(fd: int, offset: int, group: Buffers, hasher: Any) -> int:
    """Write a group of buffers at an offset and hash them; return the length.

    One executor call per group: the write and the hash both release the
    GIL, and a single hand-off costs less than one for each.
    """
    views = [memoryview(buffer) for buffer in group]
    position = offset
    for first in range(0, len(views), _IOV_MAX):
        position = _write_all(fd, position, views[first : first + _IOV_MAX])
    # Start writing the group back now, so that the fdatasync that ends the
    # chunk has little left to wait for.
    os.posix_fadvise(fd, offset, position - offset, os.POSIX_FADV_DONTNEED)
    if hasher is not None:
        for view in views:
            hasher.update(view)
    return position - offset


def _write_all(fd: int, offset: int, views: list[memoryview]) -> int:
    """pwritev until every buffer is written; return the offset after them."""
    while views:
        written = os.pwritev(fd, views, offset)
        offset += written
        while views and written >= len(views[0]):
            written -= len(views[0])
            views = views[1:]
        if written:
            views = [views[0][written:], *views[1:]]
    return offset
