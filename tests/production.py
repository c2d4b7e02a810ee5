"""The production stack in tests: PostgreSQL, Redis and `dropspace worker`.

Every test gets its own PostgreSQL database and its own Redis prefix, so
runs on a shared PostgreSQL and Redis cannot see each other's data.
"""

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

from redis.asyncio import Redis

from server.settings import Settings, env_name

REDIS_URL = os.environ.get("DROPSPACE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STOP_TIMEOUT_S = 30.0


def environment(settings: Settings) -> dict[str, str]:
    """Return the DROPSPACE_* variables that reproduce these settings."""
    return {
        env_name(item.name): str(getattr(settings, item.name))
        for item in dataclasses.fields(Settings)
    }


class WorkerProcess:
    """`dropspace worker` as a child process, with its output in a log file."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "server.cli", "worker"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                command,
                env=os.environ | environment(self.settings),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """End the worker at once, as a crash or an OOM kill would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    async def stop(self) -> None:
        """Ask the worker to stop, as `docker stop` does, and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self.process.wait, STOP_TIMEOUT_S)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


async def delete_keys(prefix: str) -> None:
    """Delete every Redis key of one test: its own and arq's for its jobs."""
    client = Redis.from_url(REDIS_URL)
    try:
        for pattern in (f"{prefix}*", f"arq:*{prefix}*"):
            keys = [key async for key in client.scan_iter(match=pattern)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()
