"""Uploads: start, chunk, finish, resume and cancel, for both transports.

Both transports end in `Uploads.write`, which writes a chunk only at the
committed offset. The per-file condition keeps one writer per file in this
process. python-socketio runs each event in its own task, so a Socket.IO
chunk may reach the writer before an earlier one; `note_arrival` records
chunks in the order they came off the socket, and a chunk ahead of the
committed offset waits only while an earlier arrival can still fill the gap.
The fenced UPDATE in `files.commit_offset` keeps the database the judge.
"""

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiofiles

from server import events, files
from server.chunks import ChunkSource
from server.errors import (
    BadRequest,
    ChecksumMismatch,
    ChunkTooLarge,
    DropSpaceError,
    NotAllowed,
    OffsetMismatch,
    SizeExceeded,
    UploadIncomplete,
    UploadNotActive,
)
from server.files import StoredFile
from server.sessions import get_session, member_session
from server.storage import Storage
from server.tokens import epoch_ms, utc_now

log = logging.getLogger(__name__)

MAX_FILES_PER_START = 1000
MAX_WAITING_CHUNKS = 8
CHUNK_TURN_TIMEOUT_S = 30.0

Broadcast = Callable[[str, str, dict[str, Any]], Awaitable[None]]


@dataclass
class _UploadState:
    """What this process keeps in memory about one upload in progress."""

    session_id: str
    committed: int
    # SHA-256 of bytes [0, committed), or None after a restart; finishing
    # then hashes the file from disk instead.
    hasher: "hashlib._Hash | None"
    condition: asyncio.Condition = field(default_factory=asyncio.Condition)
    waiting: int = 0
    reported: int = 0
    reported_at: float = 0.0
    closed: bool = False


class Uploads:
    """The one writer behind both chunk transports."""

    def __init__(
        self,
        engine: Any,
        storage: Storage,
        broadcast: Broadcast,
        progress_interval_s: float,
    ) -> None:
        self._engine = engine
        self._storage = storage
        self._broadcast = broadcast
        self._progress_interval_s = progress_interval_s
        self._states: dict[str, _UploadState] = {}
        self._arrivals: dict[str, list[int]] = {}

    async def start(
        self, session_id: object, device_id: str, declared: object
    ) -> list[dict[str, Any]]:
        """Declare files, reserving each one's size; return one entry per file."""
        session = await member_session(self._engine, session_id, device_id)
        if not isinstance(declared, list) or not declared:
            raise BadRequest("Declare the files to upload as a non-empty list.")
        if len(declared) > MAX_FILES_PER_START:
            raise BadRequest(
                f"{len(declared)} files in one start; declare at most "
                f"{MAX_FILES_PER_START} at a time."
            )
        results = []
        for index, raw in enumerate(declared):
            try:
                stored = await self._start_one(session.id, device_id, raw, index)
            except DropSpaceError as error:
                results.append(error.body())
                continue
            results.append({"ok": True, **stored.public()})
        return results

    async def _start_one(
        self, session_id: str, device_id: str, raw: object, index: int
    ) -> StoredFile:
        declaration = files.parse_declaration(raw, index)
        file_id = await files.reserve(self._engine, session_id, device_id, declaration)
        await self._storage.create_part(session_id, file_id)
        stored = await files.get_file(self._engine, file_id)
        self._states[file_id] = _UploadState(
            session_id=session_id, committed=0, hasher=hashlib.sha256()
        )
        log.info(
            "upload started session=%s file=%s device=%s size=%d",
            session_id,
            file_id,
            device_id,
            stored.size,
        )
        await self._broadcast(
            events.UPLOAD_STARTED, session_id, {"file": stored.public()}
        )
        await self._announce_usage(session_id)
        return stored

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
                await self._forget_arrival(file_id, offset)

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
        stored = await self._uploader_file(file_id, device_id)
        state = await self._state_for(stored)
        async with state.condition:
            if wait_for_turn:
                await self._wait_for_turn(stored.id, state, offset)
            stored = await self._uploader_file(stored.id, device_id)
            self._check_chunk(stored, state, offset, chunk.length)
            await self._write_at_committed(stored, state, chunk)
            state.condition.notify_all()
            return state.committed

    async def _forget_arrival(self, file_id: object, offset: object) -> None:
        if not isinstance(file_id, str):
            return
        pending = self._arrivals.get(file_id, [])
        if offset in pending:
            pending.remove(offset)
        if not pending:
            self._arrivals.pop(file_id, None)
        state = self._states.get(file_id)
        if state is not None:
            async with state.condition:
                state.condition.notify_all()

    def _gap_can_fill(self, file_id: str, state: _UploadState, offset: int) -> bool:
        pending = self._arrivals.get(file_id, [])
        return any(state.committed <= earlier < offset for earlier in pending)

    async def _wait_for_turn(
        self, file_id: str, state: _UploadState, offset: int
    ) -> None:
        if offset <= state.committed or not self._gap_can_fill(file_id, state, offset):
            return
        if state.waiting >= MAX_WAITING_CHUNKS:
            raise OffsetMismatch(
                f"More than {MAX_WAITING_CHUNKS} chunks of this file are waiting; "
                f"resend from offset {state.committed}.",
                offset=state.committed,
            )
        state.waiting += 1
        try:
            await asyncio.wait_for(
                state.condition.wait_for(
                    lambda: (
                        state.closed
                        or state.committed >= offset
                        or not self._gap_can_fill(file_id, state, offset)
                    )
                ),
                CHUNK_TURN_TIMEOUT_S,
            )
        except TimeoutError:
            pass  # the offset check that follows reports the committed offset
        finally:
            state.waiting -= 1

    def _check_chunk(
        self, stored: StoredFile, state: _UploadState, offset: int, length: int
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
        self, stored: StoredFile, state: _UploadState, chunk: ChunkSource
    ) -> None:
        start = state.committed
        hasher = None if state.hasher is None else state.hasher.copy()
        written = 0
        path = self._storage.part_path(stored.session_id, stored.id)
        async with aiofiles.open(path, "r+b") as stream:
            await stream.seek(start)
            async for block in chunk.blocks():
                await _write_and_hash(stream, block, hasher)
                written += len(block)
                await self._report_progress(stored, state, start + written, final=False)
            await stream.flush()
            await asyncio.to_thread(_sync_data, stream.fileno())
        end = start + written
        if not await files.commit_offset(self._engine, stored.id, start, end):
            await self._explain_lost_commit(stored.id, start)
        state.committed = end
        state.hasher = hasher
        await self._report_progress(stored, state, end, final=end == stored.size)

    async def _explain_lost_commit(self, file_id: str, start: int) -> None:
        current = await files.get_file(self._engine, file_id)
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
        self, stored: StoredFile, state: _UploadState, offset: int, *, final: bool
    ) -> None:
        now = time.monotonic()
        due = final or now - state.reported_at >= self._progress_interval_s
        if not due or (offset <= state.reported and not (final and offset == 0)):
            return
        state.reported = offset
        state.reported_at = now
        payload = {"file_id": stored.id, "offset": offset, "size": stored.size}
        await self._broadcast(events.UPLOAD_PROGRESS, stored.session_id, payload)

    async def committed_offset(self, file_id: object, device_id: str) -> dict[str, Any]:
        """Return what a resuming uploader needs: offset, size and state."""
        stored = await self._uploader_file(file_id, device_id, active_only=False)
        return {
            "offset": stored.committed_bytes,
            "size": stored.size,
            "state": stored.state,
        }

    async def finish(self, file_id: object, device_id: str) -> StoredFile:
        """Check size and SHA-256, move the file into place and announce it."""
        stored = await self._uploader_file(file_id, device_id)
        state = await self._state_for(stored)
        async with state.condition:
            stored = await self._uploader_file(stored.id, device_id)
            if stored.committed_bytes != stored.size:
                raise UploadIncomplete(
                    f"File {stored.name!r} has {stored.committed_bytes} of "
                    f"{stored.size} bytes; send the rest from offset "
                    f"{stored.committed_bytes}, then finish.",
                    offset=stored.committed_bytes,
                    size=stored.size,
                )
            digest = await self._digest(stored, state)
            if stored.client_sha256 is not None and stored.client_sha256 != digest:
                await self._discard(stored, files.FAILED, "failed")
                raise ChecksumMismatch(
                    f"File {stored.name!r} has SHA-256 {digest} but "
                    f"{stored.client_sha256} was declared; the upload is discarded, "
                    "upload the file again.",
                    expected=stored.client_sha256,
                    actual=digest,
                )
            await self._storage.finalize(stored.session_id, stored.id)
            if not await files.mark_complete(self._engine, stored.id, digest):
                await self._storage.remove_file(stored.session_id, stored.id)
                raise UploadNotActive(
                    f"File {stored.name!r} was deleted while finishing.",
                    state=files.DELETED,
                )
            self._close(stored.id)
        complete = await files.get_file(self._engine, stored.id)
        log.info("upload finished session=%s file=%s", stored.session_id, stored.id)
        await self._broadcast(
            events.FILE_READY, stored.session_id, {"file": complete.public()}
        )
        return complete

    async def _digest(self, stored: StoredFile, state: _UploadState) -> str:
        if state.hasher is not None and state.committed == stored.size:
            return state.hasher.hexdigest()
        return await self._storage.sha256_of_part(stored.session_id, stored.id)

    async def cancel(self, file_id: object, device_id: str) -> None:
        """Drop an upload in progress and free its space; uploader only."""
        stored = await self._uploader_file(file_id, device_id)
        await self._discard(stored, files.DELETED, "cancelled")

    async def delete(self, file_id: object, device_id: str, is_owner: bool) -> None:
        """Delete a file of a session; the session owner or the uploader."""
        stored = await files.get_file(self._engine, file_id)
        await member_session(self._engine, stored.session_id, device_id)
        if not is_owner and stored.uploader_device_id != device_id:
            raise NotAllowed(
                "Only the session owner or the device that uploaded a file may "
                "delete it."
            )
        if stored.state not in files.VISIBLE_STATES:
            raise UploadNotActive(
                f"File {stored.name!r} is already {stored.state}.", state=stored.state
            )
        await self._discard(stored, files.DELETED, "deleted")

    async def _discard(self, stored: StoredFile, state: str, reason: str) -> None:
        if not await files.release(self._engine, stored, state):
            return
        self._close(stored.id)
        await self._storage.remove_file(stored.session_id, stored.id)
        log.info(
            "file removed session=%s file=%s state=%s",
            stored.session_id,
            stored.id,
            state,
        )
        await self._broadcast(
            events.FILE_DELETED,
            stored.session_id,
            {"file_id": stored.id, "reason": reason},
        )
        await self._announce_usage(stored.session_id)

    async def _announce_usage(self, session_id: str) -> None:
        session = await get_session(self._engine, session_id)
        if session is None:
            return
        payload = {
            "used_bytes": session.reserved_bytes,
            "capacity_bytes": session.capacity_bytes,
            "expires_at": epoch_ms(session.expires_at),
            "server_now": epoch_ms(utc_now()),
        }
        await self._broadcast(events.SESSION_UPDATED, session_id, payload)

    def _close(self, file_id: str) -> None:
        state = self._states.pop(file_id, None)
        if state is not None:
            state.closed = True

    def forget_session(self, session_id: str) -> None:
        """Drop the memory of every upload of an ended session."""
        for file_id, state in list(self._states.items()):
            if state.session_id == session_id:
                self._close(file_id)

    async def _uploader_file(
        self, file_id: object, device_id: str, *, active_only: bool = True
    ) -> StoredFile:
        stored = await files.get_file(self._engine, file_id)
        await member_session(self._engine, stored.session_id, device_id)
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

    async def _state_for(self, stored: StoredFile) -> _UploadState:
        state = self._states.get(stored.id)
        if state is None:
            state = _UploadState(
                session_id=stored.session_id,
                committed=stored.committed_bytes,
                hasher=hashlib.sha256() if stored.committed_bytes == 0 else None,
            )
            self._states[stored.id] = state
        return state

    async def recover(self) -> None:
        """Make every upload's bytes on disk match its committed offset.

        Run at start-up: a crash may leave bytes past the committed offset,
        which are cut, or (after a power loss) fewer bytes than committed,
        in which case the committed offset falls back to what the disk holds.
        """
        for stored in await files.list_uploading(self._engine):
            size = await self._storage.part_size(stored.session_id, stored.id)
            if size is None and await self._storage.restore_part(
                stored.session_id, stored.id
            ):
                # A crash hit between the rename into place and the record of
                # completion: the upload is whole, and finishing again works.
                size = stored.committed_bytes
            if size is None:
                await self._discard(stored, files.FAILED, "failed")
                log.warning("partial file missing file=%s; upload dropped", stored.id)
            elif size > stored.committed_bytes:
                await self._storage.truncate_part(
                    stored.session_id, stored.id, stored.committed_bytes
                )
            elif size < stored.committed_bytes:
                await files.commit_offset(
                    self._engine, stored.id, stored.committed_bytes, size
                )
                log.warning(
                    "partial file shorter than committed file=%s committed=%d disk=%d",
                    stored.id,
                    stored.committed_bytes,
                    size,
                )


async def _write_and_hash(stream: Any, block: bytes, hasher: Any) -> None:
    if hasher is None:
        await stream.write(block)
        return
    # The write and the hash run on two executor threads at once; both
    # release the GIL for large buffers.
    await asyncio.gather(stream.write(block), asyncio.to_thread(hasher.update, block))


def _sync_data(fd: int) -> None:
    os.fdatasync(fd)
