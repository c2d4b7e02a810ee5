"""File records: capacity reservation, committed offsets and states.

A file is `uploading` from its start until `upload:finish`, then `complete`.
Deleted and failed files stay as rows, so that their routes return the
right status, but count against no capacity.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.errors import (
    BadRequest,
    CapacityExceeded,
    FileLimit,
    InvalidSize,
    NotFound,
    SessionEnded,
)
from server.names import last_part, validate_name
from server.schema import devices, files, sessions
from server.tokens import epoch_ms, new_id, utc_now

UPLOADING = "uploading"
COMPLETE = "complete"
DELETED = "deleted"
FAILED = "failed"
VISIBLE_STATES = (UPLOADING, COMPLETE)

MAX_SIZE_BYTES = 2**63 - 1
_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_TYPE_PATTERN = re.compile(r"^[\w.+-]+/[\w.+-]+$")


@dataclass(frozen=True)
class FileDeclaration:
    """One file as a client declares it at the start of an upload."""

    name: str
    size: int
    content_type: str
    sha256: str | None


@dataclass(frozen=True)
class StoredFile:
    """A file record, with its uploader's label."""

    id: str
    session_id: str
    uploader_device_id: str
    uploader_label: str
    name: str
    size: int
    content_type: str
    client_sha256: str | None
    sha256: str | None
    committed_bytes: int
    state: str
    created_at: datetime
    missing_since: datetime | None = None

    def public(self) -> dict[str, Any]:
        """Return the file as clients see it."""
        return {
            "id": self.id,
            "session_id": self.session_id,
            "name": self.name,
            "download_name": last_part(self.name),
            "size": self.size,
            "content_type": self.content_type,
            "offset": self.committed_bytes,
            "state": self.state,
            "uploader_device_id": self.uploader_device_id,
            "uploader_label": self.uploader_label,
            "sha256": self.sha256,
            "created_at": epoch_ms(self.created_at),
        }


def parse_declaration(raw: object, index: int) -> FileDeclaration:
    """Validate one declared file, or raise an error naming the bad value."""
    if not isinstance(raw, dict):
        raise BadRequest(
            f"File entry {index} is {raw!r}; send an object with name and size.",
            index=index,
        )
    name = validate_name(raw.get("name"), index)
    size = raw.get("size")
    if not isinstance(size, int) or isinstance(size, bool):
        raise InvalidSize(
            f"Size {size!r} of {name!r} is not an integer; send the byte count.",
            index=index,
        )
    if not 0 <= size <= MAX_SIZE_BYTES:
        raise InvalidSize(
            f"Size {size} of {name!r} is outside 0 to {MAX_SIZE_BYTES} bytes.",
            index=index,
        )
    return FileDeclaration(
        name=name,
        size=size,
        content_type=_clean_content_type(raw.get("type")),
        sha256=_clean_sha256(raw.get("sha256"), name, index),
    )


def _clean_content_type(raw: object) -> str:
    # The declared type is shown to other devices only; downloads always
    # carry application/octet-stream, so a wrong type cannot make a browser
    # render the file.
    if isinstance(raw, str) and len(raw) <= 255 and _CONTENT_TYPE_PATTERN.match(raw):
        return raw.lower()
    return "application/octet-stream"


def _clean_sha256(raw: object, name: str, index: int) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and _SHA256_PATTERN.match(raw.lower()):
        return raw.lower()
    raise BadRequest(
        f"SHA-256 {raw!r} of {name!r} is not 64 hex digits; send the digest "
        "in hex or leave it out.",
        index=index,
    )


async def reserve(
    engine: AsyncEngine,
    session_id: str,
    device_id: str,
    declared: FileDeclaration,
    max_files: int,
) -> str:
    """Reserve space for one file and record it; return the new file id.

    The conditional UPDATE is the whole capacity check, so concurrent starts
    can never push the session past its capacity. It also locks the session
    row, which makes the file count that follows exact.
    """
    now = utc_now()
    file_id = new_id()
    async with engine.begin() as connection:
        reserved = await connection.execute(
            update(sessions)
            .where(
                sessions.c.id == session_id,
                sessions.c.ended_at.is_(None),
                sessions.c.expires_at > now,
                sessions.c.reserved_bytes + declared.size <= sessions.c.capacity_bytes,
            )
            .values(reserved_bytes=sessions.c.reserved_bytes + declared.size)
        )
        if reserved.rowcount != 1:
            await _explain_failed_reservation(connection, session_id, declared)
        await _check_file_count(connection, session_id, max_files)
        await connection.execute(
            insert(files).values(
                id=file_id,
                session_id=session_id,
                uploader_device_id=device_id,
                name=declared.name,
                size=declared.size,
                content_type=declared.content_type,
                client_sha256=declared.sha256,
                sha256=None,
                committed_bytes=0,
                state=UPLOADING,
                created_at=now,
                updated_at=now,
                completed_at=None,
            )
        )
    return file_id


async def _check_file_count(
    connection: AsyncConnection, session_id: str, max_files: int
) -> None:
    query = select(func.count()).where(
        files.c.session_id == session_id, files.c.state.in_(VISIBLE_STATES)
    )
    if (await connection.execute(query)).scalar_one() >= max_files:
        raise FileLimit(
            f"The session already contains {max_files} files; delete some or "
            "start another session.",
            max_files=max_files,
        )


async def _explain_failed_reservation(
    connection: AsyncConnection, session_id: str, declared: FileDeclaration
) -> None:
    query = select(sessions).where(sessions.c.id == session_id)
    row = (await connection.execute(query)).first()
    if row is None or row.ended_at is not None or row.expires_at <= utc_now():
        raise SessionEnded("The session has ended; start a new session.")
    free = row.capacity_bytes - row.reserved_bytes
    raise CapacityExceeded(
        f"File {declared.name!r} needs {declared.size} bytes but the session "
        f"has {free} bytes free; delete files or start another session.",
        free_bytes=free,
    )


async def get_file(engine: AsyncEngine, file_id: object) -> StoredFile:
    """Return a file record by id, in any state, or raise NotFound."""
    if not isinstance(file_id, str):
        raise NotFound(f"File id {file_id!r} is not valid; use an id from the list.")
    async with engine.connect() as connection:
        rows = await _select_files(connection, files.c.id == file_id)
    if not rows:
        raise NotFound(f"File {file_id!r} does not exist; refresh the file list.")
    return rows[0]


async def list_visible(engine: AsyncEngine, session_id: str) -> list[StoredFile]:
    """Return a session's uploading and complete files, oldest first."""
    condition = and_(
        files.c.session_id == session_id, files.c.state.in_(VISIBLE_STATES)
    )
    async with engine.connect() as connection:
        return await _select_files(connection, condition)


async def has_any_record(engine: AsyncEngine) -> bool:
    """Tell whether any file record exists, in any state."""
    async with engine.connect() as connection:
        found = await connection.execute(select(files.c.id).limit(1))
        return found.first() is not None


async def list_uploading(engine: AsyncEngine) -> list[StoredFile]:
    """Return every upload in progress, of live and ended sessions alike."""
    async with engine.connect() as connection:
        return await _select_files(connection, files.c.state == UPLOADING)


async def list_stalled_uploads(
    engine: AsyncEngine, cutoff: datetime
) -> list[StoredFile]:
    """Return uploads in progress whose last progress came before cutoff."""
    condition = and_(files.c.state == UPLOADING, files.c.updated_at < cutoff)
    async with engine.connect() as connection:
        return await _select_files(connection, condition)


async def list_visible_in_live_sessions(engine: AsyncEngine) -> list[StoredFile]:
    """Return the uploading and complete files of every live session."""
    live = select(sessions.c.id).where(sessions.c.ended_at.is_(None))
    condition = and_(files.c.state.in_(VISIBLE_STATES), files.c.session_id.in_(live))
    async with engine.connect() as connection:
        return await _select_files(connection, condition)


async def mark_missing(engine: AsyncEngine, file_id: str) -> None:
    """Record that a sweep found a file's bytes missing, unless already recorded.

    Leaves `updated_at` alone, because the abandoned-upload sweep reads it as
    the time of the last progress.
    """
    query = (
        update(files)
        .where(files.c.id == file_id, files.c.missing_since.is_(None))
        .values(missing_since=utc_now())
    )
    async with engine.begin() as connection:
        await connection.execute(query)


async def clear_missing(engine: AsyncEngine, file_id: str) -> None:
    """Forget that a file's bytes were missing, once a sweep finds them again."""
    query = update(files).where(files.c.id == file_id).values(missing_since=None)
    async with engine.begin() as connection:
        await connection.execute(query)


async def states_of(
    engine: AsyncEngine, session_id: str, file_ids: list[str]
) -> dict[str, str]:
    """Return the state of each of a session's files that has a record."""
    if not file_ids:
        return {}
    query = select(files.c.id, files.c.state).where(
        files.c.session_id == session_id, files.c.id.in_(file_ids)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return {row.id: row.state for row in rows}


async def _select_files(
    connection: AsyncConnection, condition: Any
) -> list[StoredFile]:
    query = (
        select(files, devices.c.label)
        .join(devices, devices.c.id == files.c.uploader_device_id)
        .where(condition)
        .order_by(files.c.created_at, files.c.id)
    )
    rows = (await connection.execute(query)).all()
    return [
        StoredFile(
            id=row.id,
            session_id=row.session_id,
            uploader_device_id=row.uploader_device_id,
            uploader_label=row.label,
            name=row.name,
            size=row.size,
            content_type=row.content_type,
            client_sha256=row.client_sha256,
            sha256=row.sha256,
            committed_bytes=row.committed_bytes,
            state=row.state,
            created_at=row.created_at,
            missing_since=row.missing_since,
        )
        for row in rows
    ]


async def commit_offset(engine: AsyncEngine, file_id: str, old: int, new: int) -> bool:
    """Move a file's committed offset from old to new; False if it had moved."""
    query = (
        update(files)
        .where(
            files.c.id == file_id,
            files.c.state == UPLOADING,
            files.c.committed_bytes == old,
        )
        .values(committed_bytes=new, updated_at=utc_now())
    )
    async with engine.begin() as connection:
        result = await connection.execute(query)
    return result.rowcount == 1


async def mark_complete(engine: AsyncEngine, file_id: str, sha256: str) -> bool:
    """Mark an upload complete; False if it was no longer uploading."""
    now = utc_now()
    query = (
        update(files)
        .where(files.c.id == file_id, files.c.state == UPLOADING)
        .values(state=COMPLETE, sha256=sha256, updated_at=now, completed_at=now)
    )
    async with engine.begin() as connection:
        result = await connection.execute(query)
    return result.rowcount == 1


async def release(
    engine: AsyncEngine,
    stored: StoredFile,
    state: str,
    from_states: tuple[str, ...] = VISIBLE_STATES,
) -> bool:
    """Move a file from one of from_states to a final state and free its space.

    Returns False when another request already did, so the space is freed
    exactly once.
    """
    async with engine.begin() as connection:
        result = await connection.execute(
            update(files)
            .where(files.c.id == stored.id, files.c.state.in_(from_states))
            .values(state=state, updated_at=utc_now())
        )
        if result.rowcount != 1:
            return False
        await connection.execute(
            update(sessions)
            .where(sessions.c.id == stored.session_id)
            .values(reserved_bytes=sessions.c.reserved_bytes - stored.size)
        )
    return True


async def retire_session_files(engine: AsyncEngine, session_id: str) -> None:
    """Mark every visible file of an ended session deleted and free its space."""
    query = (
        update(files)
        .where(files.c.session_id == session_id, files.c.state.in_(VISIBLE_STATES))
        .values(state=DELETED, updated_at=utc_now())
    )
    release_all = (
        update(sessions).where(sessions.c.id == session_id).values(reserved_bytes=0)
    )
    async with engine.begin() as connection:
        await connection.execute(query)
        await connection.execute(release_all)
