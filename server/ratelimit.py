"""In-process rate limits: a fixed window of attempts per key."""

import math
import time

from server.errors import RateLimited


class RateLimiter:
    """Allow at most `limit` hits per key in each window of `window_s`."""

    def __init__(self, limit: int, window_s: float, action: str) -> None:
        self.limit = limit
        self.window_s = window_s
        self.action = action
        self._windows: dict[str, tuple[float, int]] = {}

    def check(self, key: str) -> None:
        """Raise RateLimited when the key has used up its window."""
        started, count = self._current(key, time.monotonic())
        if count >= self.limit:
            retry_after = math.ceil(self.window_s - (time.monotonic() - started))
            raise RateLimited(
                f"Too many {self.action} attempts; try again in {retry_after} s.",
                retry_after_s=retry_after,
            )

    def hit(self, key: str) -> None:
        """Count one attempt, or raise RateLimited when the key is over."""
        self.check(key)
        now = time.monotonic()
        started, count = self._current(key, now)
        self._windows[key] = (started, count + 1)
        if len(self._windows) > 10_000:
            self._drop_stale(now)

    def _current(self, key: str, now: float) -> tuple[float, int]:
        started, count = self._windows.get(key, (now, 0))
        if now - started >= self.window_s:
            return now, 0
        return started, count

    def _drop_stale(self, now: float) -> None:
        for key, (started, _) in list(self._windows.items()):
            if now - started >= self.window_s:
                del self._windows[key]
