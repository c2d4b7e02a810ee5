"""A lock on the data dir, held for the life of the process.

An embedded server (SQLite) takes it exclusively, because its start-up recovery
repairs every upload on the assumption that no other process writes one,
so a second server on the same data dir fails instead. Production servers
(PostgreSQL) share the data dir and hold the lock shared: they coordinate
through write claims in the database, and an embedded server cannot start
on a data dir they use.
"""

import fcntl
import os
from pathlib import Path


class DataDirInUse(RuntimeError):
    """Raised when another process has locked the data dir."""


def lock_data_dir(data_dir: Path, *, shared: bool = False) -> int:
    """Take the data dir's lock and return its file descriptor."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
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
