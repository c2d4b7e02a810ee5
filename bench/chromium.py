"""Debian's Chromium, launched directly on one URL, with no DevTools attached.

Without a driver the browser does no work for one during an upload, and the
bench page reports its results to its own server over HTTP.
"""

import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from bench.measure import cpu_seconds
from tests.chromium import CHROMIUM
from tests.chromium import FLAGS as TEST_FLAGS

STOP_TIMEOUT_S = 10.0
# The tests' flags plus headless mode, which Playwright turns on for the
# tests, and no proxy, so the page's requests go straight to its server.
FLAGS = ["--headless", *TEST_FLAGS, "--no-proxy-server"]


class Chromium:
    """One headless Chromium with its own profile, in its own process session."""

    def __init__(self, url: str, profile_dir: Path, log_path: Path) -> None:
        self.url = url
        self.profile_dir = profile_dir
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={self.profile_dir}",
            self.url,
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def process_ids(self) -> list[int]:
        """Return the PIDs of Chromium's processes: those of its session."""
        if self._process is None:
            return []
        return _session_members(self._process.pid)

    def cpu_seconds(self) -> float:
        """Return the CPU time of every live Chromium process, added up."""
        total = 0.0
        for pid in self.process_ids():
            try:
                total += cpu_seconds(pid)
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total

    def stop(self) -> None:
        """Stop the browser by its PID, then any of its processes still left."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _stop_leftovers(process.pid)

    def __enter__(self) -> "Chromium":
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _session_members(session_id: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # Exited processes wait as zombies until init reaps them.
        if fields[0] != "Z" and int(fields[3]) == session_id:
            members.append(int(entry.name))
    return members


def _stop_leftovers(session_id: int) -> None:
    """SIGTERM, then SIGKILL, each process left in the browser's session."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = _session_members(session_id)
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and _session_members(session_id):
            time.sleep(0.1)
