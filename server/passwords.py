"""Password checks and argon2id hashing off the event loop.

argon2-cffi's default profile (RFC 9106 low-memory: 64 MiB, 3 passes, 4
lanes) costs tens to hundreds of milliseconds of CPU per hash
(`bench/signin_timing.py` measures it), so hashes run in worker threads and
a semaphore bounds how many run at once.

The queue in front of the semaphore is bounded too. A new hash (sign-up,
upgrade, password change) is rejected while `concurrency` hashes already
wait, so a burst of sign-ups cannot starve sign-ins. A verification is
rejected only when the queue is `VERIFY_QUEUE_FACTOR` times as long.
"""

import asyncio
import contextlib
import secrets
import unicodedata
from collections.abc import AsyncIterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import InvalidPassword, ServiceUnavailable

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
VERIFY_QUEUE_FACTOR = 16


def normalize_password(password: str) -> str:
    """Return the password in NFC, so that one typed on any keyboard matches.

    Some systems send "é" as one code point and others as "e" plus a
    combining accent, and argon2 hashes different bytes unless both are
    composed.
    """
    return unicodedata.normalize("NFC", password)


def validate_password(raw: object, field: str = "password") -> str:
    """Return a password of 8 to 1024 characters in NFC, or raise InvalidPassword.

    Characters are code points after normalisation.
    """
    if not isinstance(raw, str):
        raise InvalidPassword(f"Field {field!r} must be text; send the password.")
    if len(raw) > 4 * MAX_PASSWORD_CHARS:
        # Too long whatever normalisation does; refused before normalising.
        raise InvalidPassword(
            f"The password has {len(raw)} characters; use at most "
            f"{MAX_PASSWORD_CHARS}.",
            field=field,
        )
    raw = normalize_password(raw)
    if len(raw) < MIN_PASSWORD_CHARS:
        raise InvalidPassword(
            f"The password has {len(raw)} characters; use at least "
            f"{MIN_PASSWORD_CHARS}.",
            field=field,
        )
    if len(raw) > MAX_PASSWORD_CHARS:
        raise InvalidPassword(
            f"The password has {len(raw)} characters; use at most "
            f"{MAX_PASSWORD_CHARS}.",
            field=field,
        )
    return raw


class Passwords:
    """Hashes and verifies passwords, at most `concurrency` at a time."""

    def __init__(self, concurrency: int) -> None:
        self._hasher = PasswordHasher()
        self._concurrency = max(1, concurrency)
        self._slots = asyncio.Semaphore(self._concurrency)
        self._waiting = 0
        self._decoy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """Return the argon2id hash of a password, or raise ServiceUnavailable."""
        async with self._slot(self._concurrency):
            return await asyncio.to_thread(self._hasher.hash, password)

    @contextlib.asynccontextmanager
    async def _slot(self, max_waiting: int) -> AsyncIterator[None]:
        """Hold a hashing slot, refusing when `max_waiting` callers wait for one."""
        if self._slots.locked() and self._waiting >= max_waiting:
            raise ServiceUnavailable(
                "The server is busy checking passwords; retry in 1 s.",
                retry_after_s=1,
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Tell whether a password matches a stored hash.

        Without a stored hash (an unknown user) a decoy hash is checked
        instead, so both cases cost one argon2 verification. The first
        unknown user of a process also pays for hashing the decoy.
        """
        target = stored_hash if stored_hash is not None else await self._decoy()
        async with self._slot(VERIFY_QUEUE_FACTOR * self._concurrency):
            matched = await asyncio.to_thread(self._verify, target, password)
        return matched and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        """Tell whether a hash was made with other parameters than today's."""
        return self._hasher.check_needs_rehash(stored_hash)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _decoy(self) -> str:
        if self._decoy_hash is None:
            # Queued like a verification, because it replaces one.
            async with self._slot(VERIFY_QUEUE_FACTOR * self._concurrency):
                self._decoy_hash = await asyncio.to_thread(
                    self._hasher.hash, secrets.token_urlsafe(16)
                )
        return self._decoy_hash
