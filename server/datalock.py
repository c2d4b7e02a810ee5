"""An exclusive lock on the data dir, held for the life of the process.

Start-up recovery cuts partial files back to their committed offsets, so a
second server started on the same data dir would damage the uploads the
first one is writing. The lock makes the second one fail instead.
"""

import fcntl
import os
from pathlib import Path


class DataDirInUse(RuntimeError):
    """Raised when another process has locked the data dir."""


def lock_data_dir(data_dir: Path) -> int:
    """Take the data dir's lock and return its file descriptor."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirInUse(
            f"Another DropSpace process is using the data dir {data_dir}; stop "
            "it first, or set DROPSPACE_DATA_DIR to another folder."
        ) from None
    return fd


def unlock_data_dir(fd: int) -> None:
    """Release the lock taken by lock_data_dir."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
