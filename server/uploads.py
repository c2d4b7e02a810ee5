"""Uploads: start, finish, resume, cancel and delete, for both transports.

The bytes themselves go through `server.writer.ChunkWriter`.
"""

import dataclasses
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server import events, files
from server.errors import (
    BadRequest,
    CapacityExceeded,
    ChecksumMismatch,
    DropSpaceError,
    NotAllowed,
    StorageUnavailable,
    UploadIncomplete,
    UploadNotActive,
)
from server.files import StoredFile
from server.sessions import get_session, member_session
from server.storage import Storage
from server.tokens import epoch_ms, utc_now
from server.writer import (
    Broadcast,
    ChunkWriter,
    UploadState,
    follow_record,
    uploader_file,
)

log = logging.getLogger(__name__)

MAX_FILES_PER_START = 1000


async def announce_usage(
    engine: AsyncEngine, broadcast: Broadcast, session_id: str
) -> None:
    """Tell a session's room its used space, capacity and deadline."""
    session = await get_session(engine, session_id)
    if session is None:
        return
    payload = {
        "used_bytes": session.reserved_bytes,
        "capacity_bytes": session.capacity_bytes,
        "expires_at": epoch_ms(session.expires_at),
        "server_now": epoch_ms(utc_now()),
    }
    await broadcast(events.SESSION_UPDATED, session_id, payload)


class Uploads:
    """The life of every upload, from declaration to a complete file."""

    def __init__(
        self,
        engine: AsyncEngine,
        storage: Storage,
        broadcast: Broadcast,
        progress_interval_s: float,
        max_files_per_session: int,
    ) -> None:
        self._engine = engine
        self._storage = storage
        self._broadcast = broadcast
        self._max_files_per_session = max_files_per_session
        self._writer = ChunkWriter(engine, storage, broadcast, progress_interval_s)
        self.note_arrival = self._writer.note_arrival
        self.write = self._writer.write
        self.forget_arrival = self._writer.forget_arrival
        self.forget_session = self._writer.forget_session

    def sessions_in_memory(self) -> set[str]:
        """Return the sessions whose uploads this process keeps state for."""
        return {state.session_id for state in self._writer.states.values()}

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
        # Checked once for the whole call, so that no file is reserved while
        # its partial file cannot be created.
        await self._storage.marker.require(fresh=True)
        results = []
        for index, raw in enumerate(declared):
            try:
                stored = await self._start_one(session.id, device_id, raw, index)
            except DropSpaceError as error:
                results.append(error.body())
                continue
            results.append({"ok": True, **stored.public()})
        await self._announce_usage(session.id)
        return results

    async def _start_one(
        self, session_id: str, device_id: str, raw: object, index: int
    ) -> StoredFile:
        declaration = files.parse_declaration(raw, index)
        file_id = await files.reserve(
            self._engine,
            session_id,
            device_id,
            declaration,
            self._max_files_per_session,
        )
        stored = await files.get_file(self._engine, file_id)
        try:
            await self._storage.create_part(session_id, file_id)
        except StorageUnavailable:
            # The storage went away after the check in `start`.
            await files.release(self._engine, stored, files.FAILED, (files.UPLOADING,))
            raise
        self._writer.state_for(stored)
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
        return stored

    async def committed_offset(self, file_id: object, device_id: str) -> dict[str, Any]:
        """Return what a resuming uploader needs: offset, size and state."""
        stored = await uploader_file(
            self._engine, file_id, device_id, active_only=False
        )
        if stored.state not in files.VISIBLE_STATES:
            raise UploadNotActive(
                f"File {stored.name!r} is {stored.state}; start its upload again.",
                state=stored.state,
            )
        return {
            "offset": stored.committed_bytes,
            "size": stored.size,
            "state": stored.state,
        }

    async def finish(self, file_id: object, device_id: str) -> StoredFile:
        """Check size and SHA-256, move the file into place and announce it."""
        await self._storage.marker.require(fresh=True)
        state = await self._writer.find_state(file_id, device_id)
        async with state.condition:
            stored = await uploader_file(self._engine, file_id, device_id)
            follow_record(state, stored)
            if stored.committed_bytes != stored.size:
                raise UploadIncomplete(
                    f"File {stored.name!r} has {stored.committed_bytes} of "
                    f"{stored.size} bytes; send the rest from offset "
                    f"{stored.committed_bytes}, then finish.",
                    offset=stored.committed_bytes,
                    size=stored.size,
                )
            await self._check_capacity(stored)
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
            self._writer.close(stored.id)
        complete = dataclasses.replace(stored, state=files.COMPLETE, sha256=digest)
        log.info("upload finished session=%s file=%s", stored.session_id, stored.id)
        await self._broadcast(
            events.FILE_READY, stored.session_id, {"file": complete.public()}
        )
        return complete

    async def _check_capacity(self, stored: StoredFile) -> None:
        # The start reserved the space already, so this second check only
        # catches a session whose counts were changed behind its back.
        session = await get_session(self._engine, stored.session_id)
        if session is None or session.reserved_bytes <= session.capacity_bytes:
            return
        await self._discard(stored, files.FAILED, "failed")
        raise CapacityExceeded(
            f"File {stored.name!r} does not fit: the session uses "
            f"{session.reserved_bytes} of {session.capacity_bytes} bytes; the "
            "upload is discarded, delete files and upload it again.",
            free_bytes=max(0, session.capacity_bytes - session.reserved_bytes),
        )

    async def _digest(self, stored: StoredFile, state: UploadState) -> str:
        if state.hasher is not None and state.committed == stored.size:
            digest: str = state.hasher.hexdigest()
            return digest
        if await self._storage.part_size(stored.session_id, stored.id) is None:
            # A finish in a process that is gone was cut off between the move
            # into place and the record. Start-up recovery does the same when
            # a process has the data dir to itself.
            await self._storage.restore_part(stored.session_id, stored.id)
        return await self._storage.sha256_of_part(stored.session_id, stored.id)

    async def cancel(self, file_id: object, device_id: str) -> None:
        """Drop an upload in progress and free its space; uploader only."""
        stored = await uploader_file(self._engine, file_id, device_id)
        # Only while uploading: a finish that won the race keeps its file.
        await self._discard(stored, files.DELETED, "cancelled", (files.UPLOADING,))

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

    async def _discard(
        self,
        stored: StoredFile,
        state: str,
        reason: str,
        from_states: tuple[str, ...] = files.VISIBLE_STATES,
    ) -> None:
        if not await files.release(self._engine, stored, state, from_states):
            return
        self._writer.close(stored.id)
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
        await announce_usage(self._engine, self._broadcast, session_id)

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
