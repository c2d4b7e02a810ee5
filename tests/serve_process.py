"""`dropspace serve` as a child process, as a deployment runs several of them.

The `start_serve_process` fixture starts these on the test's PostgreSQL
database, Redis prefix and data dir, each on its own port. Unlike two
in-process RunningServers, two processes share no memory, so only
PostgreSQL, Redis and the files can carry state from one to the other.
"""

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from server.settings import Settings
from tests.production import STOP_TIMEOUT_S, environment
from tests.server_log import unexpected_in_log
from tests.servers import LoopbackServer

# Start-up, a new database's migrations included, took under a second in
# runs on a loaded 2-core machine; the bound leaves room for a slower one.
START_TIMEOUT_S = 60.0
_POLL_INTERVAL_S = 0.05


class ServeProcess(LoopbackServer):
    """`dropspace serve` as a child process, with its output in a log file.

    `allowed` names the loggers whose errors the test expects, as the
    `server_errors` mark does for servers inside the test process.
    """

    def __init__(
        self, settings: Settings, log_path: Path, allowed: tuple[str, ...] = ()
    ) -> None:
        super().__init__(settings)
        self.log_path = log_path
        self.allowed = allowed
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the process and wait until its port accepts connections."""
        # Unbuffered, so that the announcement on stdout lands in order
        # with the log records on stderr.
        env = os.environ | environment(self.settings) | {"PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *[sys.executable, "-m", "server.cli", "serve"],
                env=env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        await self._wait_for_port()

    async def stop(self) -> None:
        """Send SIGTERM, as `docker stop` does, wait, then check the log.

        Raise AssertionError if the process does not exit within
        STOP_TIMEOUT_S (it is then killed), exits with a status other than
        0, or its log contains an error.
        """
        process, self.process = self.process, None
        if process is None:
            return
        # A process that ended by itself has no PID left to signal.
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(
                f"dropspace serve did not stop within {STOP_TIMEOUT_S} s after "
                f"SIGTERM; its log:\n{self.log()}"
            ) from None
        if status != 0:
            raise AssertionError(
                f"dropspace serve exited with status {status}; its log:\n{self.log()}"
            )
        self.check_log()

    async def kill(self) -> None:
        """Send SIGKILL, as a crash or an OOM kill would, then check the log."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        self.check_log()

    async def restart(self) -> None:
        """Stop the process and start a new one with the same settings."""
        await self.stop()
        await self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_log(self) -> None:
        """Raise AssertionError if the log contains an unexpected error."""
        unexpected = unexpected_in_log(self.log(), self.allowed)
        if unexpected:
            raise AssertionError(
                f"dropspace serve logged errors ({self.log_path}):\n{unexpected}"
            )

    async def _wait_for_port(self) -> None:
        assert self.process is not None
        for _ in range(int(START_TIMEOUT_S / _POLL_INTERVAL_S)):
            status = self.process.returncode
            if status is not None:
                self.process = None
                raise AssertionError(
                    f"dropspace serve exited with status {status}; "
                    f"its log:\n{self.log()}"
                )
            if await _accepts_connections(self.settings.port):
                return
            await asyncio.sleep(_POLL_INTERVAL_S)
        raise AssertionError(
            f"dropspace serve did not listen on port {self.settings.port} within "
            f"{START_TIMEOUT_S} s; its log:\n{self.log()}"
        )


async def _accepts_connections(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


# The `start_serve_process` fixture: call it with Settings field overrides.
StartServeProcess = Callable[..., Awaitable[ServeProcess]]
