"""Limits on failed pairing-code redemptions: per account, address and service.

Only failures count, so a person who types the right code is never slowed
down. Once any of the three limits is reached, every redemption under it is
rejected until its window ends, even with a right code, so that a guesser
learns nothing from the responses after the limit.
"""

import logging
from dataclasses import dataclass

from server.counters import WindowCounter
from server.errors import RateLimited

log = logging.getLogger(__name__)

_SERVICE_KEY = "service"
# Every limit counts failures per hour.
WINDOW_S = 3600


@dataclass(frozen=True)
class GuessLimits:
    """Failed redemptions allowed in each window."""

    per_account: int
    per_address: int
    per_service: int


class CodeGuesses:
    """Checks and records failed code redemptions."""

    def __init__(self, counter: WindowCounter, limits: GuessLimits) -> None:
        self._counter = counter
        self._limits = limits

    def _keys(self, account_id: str, address: str) -> list[tuple[str, int, str]]:
        return [
            (f"account:{account_id}", self._limits.per_account, "this account"),
            (f"address:{address}", self._limits.per_address, "this network address"),
            (_SERVICE_KEY, self._limits.per_service, "the whole service"),
        ]

    async def reserve(self, account_id: str, address: str) -> None:
        """Count an attempt as failed before it is made, or raise RateLimited.

        Counting first, with no await between the count and the limit check
        in memory (and one INCR in Redis), keeps concurrent attempts from
        all passing a check before any of them is counted.
        """
        counted: list[str] = []
        for key, limit, scope in self._keys(account_id, address):
            total = await self._counter.add(key)
            counted.append(key)
            if total > limit:
                for done in counted:
                    await self._counter.subtract(done)
                retry_after = await self._counter.retry_after_s(key)
                raise RateLimited(
                    f"Too many wrong pairing codes from {scope}; try again in "
                    f"{retry_after} s, or invite the device with the session's "
                    "link or QR code.",
                    retry_after_s=retry_after,
                )
            if total == limit:
                log.warning("pairing code limit reached key=%s", key.split(":")[0])

    async def release(self, account_id: str, address: str) -> None:
        """Take back a reserved attempt that succeeded, so only failures count."""
        for key, _, _ in self._keys(account_id, address):
            await self._counter.subtract(key)
