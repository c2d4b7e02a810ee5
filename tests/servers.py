"""A DropSpace app served on a loopback port, which a test can stop and restart."""

import asyncio
import dataclasses
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from server.app import create_app
from server.settings import Settings
from server.storage_marker import MARKER_NAME
from tests.loop_guard import GUARD

if TYPE_CHECKING:
    from tests.devices import SharedSession
    from tests.production import WorkerProcess

# aiohttp's graceful shutdown timeout in seconds, for open requests and WebSockets.
# NOTE: with a Socket.IO client connected, stopping took twice this long in
# runs on aiohttp 3.14, because the app closes WebSockets only in cleanup.
SHUTDOWN_TIMEOUT_S = 5.0
_POLL_INTERVAL_S = 0.05


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def loopback_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Return the settings of a test server on a free port of 127.0.0.1."""
    port = free_port()
    settings = Settings(
        host="127.0.0.1",
        port=port,
        data_dir=data_dir,
        public_url=f"http://127.0.0.1:{port}",
        sweep_interval_s=0.5,
        log_level="DEBUG",
    )
    return dataclasses.replace(settings, **overrides)


class LoopbackServer:
    """A DropSpace server on 127.0.0.1: its settings, URL and stored files.

    The in-process RunningServer and the `dropspace serve` child process in
    tests.serve_process share this, so a test can use either.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def base_url(self) -> str:
        return self.settings.public_url

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def files_dir(self) -> Path:
        return self.settings.files_dir

    def stored_files(self) -> list[Path]:
        """Return every stored file under the files folder, without its marker.

        The server may remove a session's folder during the walk. os.walk
        skips a folder that vanished, but Path.rglob raises FileNotFoundError
        (Python 3.11).
        """
        found = [
            Path(folder, name)
            for folder, _, names in os.walk(self.files_dir)
            for name in names
        ]
        marker = self.files_dir / MARKER_NAME
        return sorted(path for path in found if path.is_file() and path != marker)

    def stored_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.stored_files())

    async def wait_until_no_files(self, bound_s: float) -> None:
        """Wait until the files folder contains no file; fail after `bound_s`."""
        polls = int(bound_s / _POLL_INTERVAL_S) + 1
        for _ in range(polls):
            if not self.stored_files():
                return
            await asyncio.sleep(_POLL_INTERVAL_S)
        raise AssertionError(
            f"files still stored after {bound_s} s: {self.stored_files()}"
        )


class RunningServer(LoopbackServer):
    """A DropSpace app served on 127.0.0.1, which a test can stop and restart."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.runner: web.AppRunner | None = None

    @property
    def app(self) -> web.Application:
        assert self.runner is not None, "the server is not running"
        return self.runner.app

    async def start(self) -> None:
        # Start-up may block (migrations, recovery); serving may not.
        GUARD.starting_servers += 1
        try:
            runner = web.AppRunner(
                create_app(self.settings), shutdown_timeout=SHUTDOWN_TIMEOUT_S
            )
            await runner.setup()
            await web.TCPSite(runner, self.settings.host, self.settings.port).start()
        finally:
            GUARD.starting_servers -= 1
        self.runner = runner
        GUARD.running_servers += 1

    async def stop(self) -> None:
        if self.runner is None:
            return
        GUARD.running_servers -= 1
        runner, self.runner = self.runner, None
        await runner.cleanup()

    async def restart(self) -> None:
        """Stop the app and serve a new one built from the same settings."""
        await self.stop()
        await self.start()


# The `start_server` fixture: call it with Settings field overrides.
StartServer = Callable[..., Awaitable[RunningServer]]

# The `start_shared` fixture: a new server and a session shared on it.
StartShared = Callable[..., Awaitable[tuple[RunningServer, "SharedSession"]]]

# The `start_production` fixture: a server on PostgreSQL and Redis.
StartProduction = Callable[..., Awaitable[RunningServer]]

# The `start_worker` fixture: `dropspace worker` for a server's settings.
StartWorker = Callable[[Settings], "WorkerProcess"]


async def start_second(
    start_production: StartProduction, first: RunningServer, **overrides: Any
) -> RunningServer:
    """Start a second in-process server on the first one's data dir."""
    port = free_port()
    return await start_production(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        data_dir=first.data_dir,
        **overrides,
    )
