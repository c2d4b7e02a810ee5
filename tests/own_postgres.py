"""A PostgreSQL server of one test, on a spare loopback port.

Tests that stop and start the database use it, so that the outage disturbs
no other test and no other test's database.
"""

import asyncio
import glob
import os
import shutil
import tempfile
from pathlib import Path

from tests.servers import free_port


def postgres_command(name: str) -> list[str]:
    """Return the command line of a PostgreSQL server program.

    Debian keeps initdb and pg_ctl off PATH, and both refuse to run as root,
    so under root they run as the postgres user.
    """
    found = shutil.which(name) or max(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", found]
    return [found]


async def run(command: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, (command, output.decode(errors="replace"))


class OwnPostgres:
    """A PostgreSQL cluster of one test, on a spare loopback port."""

    def __init__(self) -> None:
        self.port = free_port()
        # Outside pytest's tmp_path, whose parents only root may enter.
        self.work_dir = Path(tempfile.mkdtemp(prefix="dropspace-pg-"))
        self.data_dir = self.work_dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.work_dir, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    async def create(self) -> None:
        await run(
            [
                *postgres_command("initdb"),
                "-D",
                str(self.data_dir),
                "-A",
                "trust",
                "-U",
                "postgres",
            ]
        )

    async def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-k {self.work_dir} -c fsync=off"
        )
        await run(
            [
                *postgres_command("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-o",
                options,
                "-l",
                str(self.work_dir / "log"),
                "-w",
                "start",
            ]
        )

    async def stop(self) -> None:
        await run(
            [
                *postgres_command("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "stop",
            ]
        )

    def remove(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)
