"""Files on disk, stored under generated ids in one folder per session.

An upload in progress is `<session>/<file>.part`; finishing renames it to
`<session>/<file>` in one atomic step. Every blocking call runs off the event
loop, through aiofiles or a worker thread.
"""

import asyncio
import contextlib
import hashlib
import os
import shutil
from pathlib import Path

import aiofiles
import aiofiles.os

_HASH_BLOCK_BYTES = 1024 * 1024


class Storage:
    """The folder tree under the data dir that contains every stored file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def session_dir(self, session_id: str) -> Path:
        return self.root / session_id

    def part_path(self, session_id: str, file_id: str) -> Path:
        return self.root / session_id / f"{file_id}.part"

    def final_path(self, session_id: str, file_id: str) -> Path:
        return self.root / session_id / file_id

    async def create_part(self, session_id: str, file_id: str) -> None:
        """Create the empty partial file an upload writes into."""
        await aiofiles.os.makedirs(self.session_dir(session_id), exist_ok=True)
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
