"""Start and stop the bench-owned server processes on loopback ports."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from bench.measure import MIB
from bench.serve import SINK_FILE

REPO_ROOT = Path(__file__).parent.parent
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
# No proxy, ever: every request of the benchmarks stays on this machine.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def dropspace_env(data_dir: Path, port: int, **settings: object) -> dict[str, str]:
    """Return DROPSPACE_* variables for a loopback server with bench limits."""
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "data_dir": data_dir,
        "public_url": f"http://127.0.0.1:{port}",
        "guest_capacity_bytes": 4096 * MIB,
        "guest_max_sessions": 20,
        "log_level": "WARNING",
        **settings,
    }
    return {f"DROPSPACE_{name.upper()}": str(value) for name, value in values.items()}


class ServerProcess:
    """`python -m bench.serve KIND` on a free loopback port, as a child process."""

    def __init__(
        self, kind: str, work_dir: Path, settings: dict[str, object] | None = None
    ) -> None:
        self.kind = kind
        self.work_dir = work_dir
        self.port = free_port()
        self.data_dir = work_dir / "data"
        self._settings = settings or {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None, "server not started"
        return self._process.pid

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    def remove_sink_file(self) -> None:
        """Delete the file the plain sink wrote, so its pages leave the page cache."""
        (self.work_dir / SINK_FILE).unlink(missing_ok=True)

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **dropspace_env(self.data_dir, self.port, **self._settings),
            "PYTHONPATH": str(REPO_ROOT),
        }
        log = (self.work_dir / f"{self.kind}-server.log").open("ab")
        command = [sys.executable, "-m", "bench.serve", self.kind]
        command += ["--work-dir", str(self.work_dir)]
        self._process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"{self.kind} server exited with {self._process.returncode}; "
                    f"see {self.work_dir}/{self.kind}-server.log"
                )
            try:
                with _DIRECT.open(f"{self.base_url}/bench/test", timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP response means the server is up
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"{self.kind} server did not respond within {START_TIMEOUT_S} s"
        )

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL if it hangs."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> "ServerProcess":
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
