"""The start-up check of the files folder's marker (server.storage_marker).

Every web process and the worker run it. It creates the marker only when the
folder is known to be the real one:

- a new install: the database has no file records, and the files folder is
  absent or empty;
- an upgrade from a version without the marker: the folder contains session
  folders that the database has records of.

Otherwise, a folder without the marker may be an unmounted mount point, so
the check logs a warning and leaves the marker missing.
"""

import asyncio
import logging
import os
import secrets
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from server import files, sessions
from server.storage import Storage

log = logging.getLogger(__name__)

# Enough folders to recognise a data dir of an earlier version, few enough
# for one query.
_SAMPLED_FOLDERS = 100


async def settle_marker(storage: Storage, engine: AsyncEngine) -> bool:
    """Create the marker if the files folder is the real one; return if it exists."""
    marker = storage.marker
    if await marker.is_present(fresh=True):
        return True
    folders = await asyncio.to_thread(_list_folder, storage.root)
    if not folders and not await files.has_any_record(engine):
        await _create(storage, "new data dir")
        return True
    if await _holds_known_sessions(engine, folders):
        await _create(storage, "session folders of an earlier version")
        return True
    log.warning(
        "storage marker missing marker=%s folder=%s entries=%d: file transfers "
        "fail with storage_unavailable and the missing-file and orphan-file "
        "sweeps skip until it exists. Check that the storage of the files folder "
        "is mounted at this path. If this folder contains the stored files, "
        "create the marker as an empty file and restart.",
        marker.path,
        storage.root,
        len(folders),
    )
    return False


async def _holds_known_sessions(engine: AsyncEngine, folders: list[str]) -> bool:
    sampled = folders[:_SAMPLED_FOLDERS]
    return bool(await sessions.ended_states(engine, sampled))


async def _create(storage: Storage, reason: str) -> None:
    created = await asyncio.to_thread(_write_marker, storage.marker.path)
    await storage.marker.is_present(fresh=True)
    if created:
        log.info(
            "storage marker created marker=%s reason=%s", storage.marker.path, reason
        )


def _list_folder(root: Path) -> list[str]:
    """Return the names of the folders in root; none when root is absent."""
    try:
        with os.scandir(root) as entries:
            return sorted(entry.name for entry in entries if entry.is_dir())
    except FileNotFoundError:
        return []


def _write_marker(path: Path) -> bool:
    """Create the marker with a random id; False when another process did first."""
    # Only the files folder itself, because a missing data dir means its
    # volume is not mounted. The web process creates the data dir when it
    # takes its lock, so only the worker can get FileNotFoundError here.
    path.parent.mkdir(exist_ok=True)
    try:
        with path.open("x", encoding="ascii") as stream:
            stream.write(f"{secrets.token_hex(16)}\n")
            stream.flush()
            os.fsync(stream.fileno())
    except FileExistsError:
        return False
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return True
