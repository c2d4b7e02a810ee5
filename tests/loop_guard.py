"""A check that the server does no blocking file work on the event loop.

The test client and the server share one event loop in the main thread, so
a blocking call there stalls every device at once. An audit hook sees each
file operation that Python reports (opening, listing, removing, renaming,
truncating) and records those made in the main thread by code under
`server/` while a server is running. Test code may touch files directly;
only calls that pass through the server's own modules count.
"""

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import server

SERVER_DIR = str(Path(server.__file__).parent)
WATCHED_EVENTS = frozenset(
    {
        "open",
        "os.listdir",
        "os.mkdir",
        "os.remove",
        "os.rename",
        "os.rmdir",
        "os.scandir",
        "os.truncate",
        "shutil.rmtree",
    }
)


@dataclass
class LoopGuard:
    """File operations made on the event loop while a server was running."""

    running_servers: int = 0
    # While a server starts, its blocking set-up may run beside the others.
    starting_servers: int = 0
    blocking_calls: list[str] = field(default_factory=list)
    _inside: threading.local = field(default_factory=threading.local)

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if event not in WATCHED_EVENTS or _is_import(event, args):
            return
        if not self.running_servers or self.starting_servers:
            return
        if threading.current_thread() is not threading.main_thread():
            return
        if getattr(self._inside, "active", False):
            return
        self._inside.active = True
        try:
            caller = _server_caller(sys._getframe(1))
            if caller is not None:
                self.blocking_calls.append(f"{event}{args!r} from {caller}")
        finally:
            self._inside.active = False

    def take(self) -> list[str]:
        """Return the calls recorded so far and forget them."""
        found, self.blocking_calls = self.blocking_calls, []
        return found


def _is_import(event: str, args: tuple[object, ...]) -> bool:
    """Tell whether an event is Python opening a module to import it."""
    return event == "open" and str(args[0]).endswith((".py", ".pyc", ".so"))


def _server_caller(frame: FrameType | None) -> str | None:
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(SERVER_DIR):
            return f"{Path(filename).name}:{frame.f_lineno} {frame.f_code.co_name}"
        frame = frame.f_back
    return None


GUARD = LoopGuard()
sys.addaudithook(GUARD.hook)
