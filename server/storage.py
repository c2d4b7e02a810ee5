"""Files on disk, stored under generated ids in one folder per session.

An upload in progress is `<session>/<file>.part`; finishing renames it to
`<session>/<file>` in one atomic step. Every blocking call runs off the event
loop, through aiofiles or a worker thread. No method creates the files folder
itself, which only the start-up check of its marker does
(server.storage_start).
"""

import asyncio
import contextlib
import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import aiofiles
import aiofiles.os

from server.errors import storage_unavailable
from server.storage_marker import StorageMarker

_HASH_BLOCK_BYTES = 1024 * 1024
PART_SUFFIX = ".part"


@dataclass(frozen=True)
class StoredEntry:
    """One entry of a session's folder, with its age for the orphan sweep."""

    session_id: str
    name: str
    age_s: float

    @property
    def file_id(self) -> str:
        return self.name.removesuffix(PART_SUFFIX)

    @property
    def is_part(self) -> bool:
        return self.name.endswith(PART_SUFFIX)


class Storage:
    """The folder tree under the data dir that contains every stored file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.marker = StorageMarker(root)

    def session_dir(self, session_id: str) -> Path:
        return self.root / session_id

    def part_path(self, session_id: str, file_id: str) -> Path:
        return self.root / session_id / f"{file_id}{PART_SUFFIX}"

    def final_path(self, session_id: str, file_id: str) -> Path:
        return self.root / session_id / file_id

    async def create_part(self, session_id: str, file_id: str) -> None:
        """Create the empty partial file an upload writes into.

        Raises `storage_unavailable` while the files folder has no marker, so
        that an upload never recreates the folder of storage that is away.
        """
        await self.marker.require(fresh=True)
        try:
            await aiofiles.os.mkdir(self.session_dir(session_id))
        except FileExistsError:
            pass
        except FileNotFoundError:
            # The files folder went away since the marker check.
            raise storage_unavailable() from None
        async with aiofiles.open(self.part_path(session_id, file_id), "xb"):
            pass

    async def part_size(self, session_id: str, file_id: str) -> int | None:
        """Return the size of a partial file, or None when it is missing."""
        try:
            stat = await aiofiles.os.stat(self.part_path(session_id, file_id))
        except FileNotFoundError:
            return None
        return stat.st_size

    async def truncate_part(self, session_id: str, file_id: str, size: int) -> None:
        """Cut a partial file back to the committed offset."""
        path = self.part_path(session_id, file_id)
        await asyncio.to_thread(os.truncate, path, size)

    async def finalize(self, session_id: str, file_id: str) -> None:
        """Move a finished upload into place atomically."""
        await aiofiles.os.replace(
            self.part_path(session_id, file_id), self.final_path(session_id, file_id)
        )

    async def restore_part(self, session_id: str, file_id: str) -> bool:
        """Move a finished file back to its partial name; False if it is missing."""
        try:
            await aiofiles.os.replace(
                self.final_path(session_id, file_id),
                self.part_path(session_id, file_id),
            )
        except FileNotFoundError:
            return False
        return True

    async def remove_file(self, session_id: str, file_id: str) -> None:
        """Delete a file's bytes, finished or partial; a missing file is fine."""
        for path in (
            self.part_path(session_id, file_id),
            self.final_path(session_id, file_id),
        ):
            with contextlib.suppress(FileNotFoundError):
                await aiofiles.os.remove(path)

    async def remove_session(self, session_id: str) -> None:
        """Delete a session's folder and everything in it."""
        await asyncio.to_thread(
            shutil.rmtree, self.session_dir(session_id), ignore_errors=True
        )

    async def exists(self, path: Path) -> bool:
        """Tell whether a path exists, off the event loop.

        Only "not found" counts as absent. Other errors, such as permission
        denied or a stale network mount, raise OSError, so that a sweep does
        not take a file it cannot read for a missing one.
        """
        try:
            await aiofiles.os.stat(path)
        except FileNotFoundError:
            return False
        return True

    async def session_ids(self) -> list[str]:
        """Return the name of every session folder on disk."""
        return await asyncio.to_thread(_list_dirs, self.root)

    async def entries(self, session_id: str) -> list[StoredEntry]:
        """Return every entry of a session's folder with its age."""
        return await asyncio.to_thread(_list_entries, self.root, session_id)

    async def remove_entry(self, entry: StoredEntry) -> None:
        """Delete one entry of a session's folder; a missing one is fine."""
        path = self.session_dir(entry.session_id) / entry.name
        if await aiofiles.os.path.isdir(path):
            await asyncio.to_thread(shutil.rmtree, path, ignore_errors=True)
            return
        with contextlib.suppress(FileNotFoundError):
            await aiofiles.os.remove(path)

    async def age_s(self, session_id: str) -> float | None:
        """Return seconds since a session folder last changed, or None."""
        try:
            stat = await aiofiles.os.stat(self.session_dir(session_id))
        except FileNotFoundError:
            return None
        return time.time() - stat.st_mtime

    async def sha256_of_part(self, session_id: str, file_id: str) -> str:
        """Hash a partial file from disk, for uploads whose hash state is lost."""
        return await asyncio.to_thread(
            _sha256_of_path, self.part_path(session_id, file_id)
        )


def _sha256_of_path(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_HASH_BLOCK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _list_dirs(root: Path) -> list[str]:
    try:
        return [entry.name for entry in os.scandir(root) if entry.is_dir()]
    except FileNotFoundError:
        return []


def _list_entries(root: Path, session_id: str) -> list[StoredEntry]:
    now = time.time()
    try:
        found = list(os.scandir(root / session_id))
    except FileNotFoundError:
        return []
    entries = []
    for entry in found:
        try:
            age_s = now - entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        entries.append(StoredEntry(session_id, entry.name, age_s))
    return entries
