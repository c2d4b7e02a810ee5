"""Counters of events per key in fixed time windows, behind one interface.

The in-memory counter serves one process. A Redis counter (INCR plus
EXPIRE on a key per window) can fill the same interface, so that limits
hold across server processes.
"""

import math
import time
from typing import Protocol


class WindowCounter(Protocol):
    """Counts events per key in fixed windows of `window_s` seconds."""

    window_s: float

    async def count(self, key: str) -> int:
        """Return how many events the key has in the current window."""
        ...

    async def add(self, key: str) -> int:
        """Count one event for the key; return the window's new total."""
        ...

    async def subtract(self, key: str) -> None:
        """Take back one event counted by `add` in the current window."""
        ...

    async def retry_after_s(self, key: str) -> int:
        """Return the whole seconds until the key's current window ends."""
        ...


class MemoryWindowCounter:
    """A WindowCounter in this process's memory."""

    MAX_KEYS = 100_000

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._windows: dict[str, tuple[float, int]] = {}

    async def count(self, key: str) -> int:
        return self._current(key, time.monotonic())[1]

    async def add(self, key: str) -> int:
        now = time.monotonic()
        started, count = self._current(key, now)
        self._windows[key] = (started, count + 1)
        if len(self._windows) > self.MAX_KEYS:
            self._drop_stale(now)
        return count + 1

    async def subtract(self, key: str) -> None:
        started, count = self._current(key, time.monotonic())
        if count > 0:
            self._windows[key] = (started, count - 1)

    async def retry_after_s(self, key: str) -> int:
        now = time.monotonic()
        started, _ = self._current(key, now)
        return max(1, math.ceil(self.window_s - (now - started)))

    def _current(self, key: str, now: float) -> tuple[float, int]:
        started, count = self._windows.get(key, (now, 0))
        if now - started >= self.window_s:
            return now, 0
        return started, count

    def _drop_stale(self, now: float) -> None:
        for key, (started, _) in list(self._windows.items()):
            if now - started >= self.window_s:
                del self._windows[key]
