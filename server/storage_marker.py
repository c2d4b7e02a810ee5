"""The marker file that distinguishes the real files folder from a stand-in.

A files folder whose storage is not mounted is either absent or an empty
mount point, and nothing in it shows that the stored files live elsewhere.
Every process that shares a data dir therefore checks for one marker file
in the files folder. Without it, requests that need stored bytes fail with
`storage_unavailable`, and sweeps that judge records by what is on disk skip
their pass. The marker is created only at start (server.storage_start), when
the folder is known to be the real one.
"""

import math
import time
from pathlib import Path

import aiofiles.os

from server.errors import storage_unavailable

MARKER_NAME = ".dropspace-storage"
# One stat per second at most, for the checks on every chunk and download.
CHECK_INTERVAL_S = 1.0


class StorageMarker:
    """The marker of one files folder, with the result of the last check."""

    def __init__(self, files_dir: Path) -> None:
        self.path = files_dir / MARKER_NAME
        self._present = False
        self._checked_at = -math.inf

    async def is_present(self, *, fresh: bool = False) -> bool:
        """Tell whether the marker exists, from a check at most a second old.

        With fresh, stat the marker now. Any error of the stat, such as a
        stale network mount, counts as absent.
        """
        now = time.monotonic()
        if fresh or now - self._checked_at >= CHECK_INTERVAL_S:
            self._present = await aiofiles.os.path.isfile(self.path)
            self._checked_at = now
        return self._present

    async def require(self, *, fresh: bool = False) -> None:
        """Raise `storage_unavailable` while the marker is missing."""
        if not await self.is_present(fresh=fresh):
            raise storage_unavailable()
