"""Password checks and argon2id hashing off the event loop.

argon2-cffi's default profile (RFC 9106 low-memory: 64 MiB, 3 passes, 4
lanes) costs tens to hundreds of milliseconds of CPU per hash
(`bench/signin_timing.py` measures it), so hashes run in worker threads and
a semaphore bounds how many run at once.
"""

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import InvalidPassword

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024


def validate_password(raw: object, field: str = "password") -> str:
    """Return a password of 8 to 1024 characters, or raise InvalidPassword."""
    if not isinstance(raw, str):
        raise InvalidPassword(f"Field {field!r} must be text; send the password.")
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
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._decoy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """Return the argon2id hash of a password."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Tell whether a password matches a stored hash.

        Without a stored hash (an unknown user) a decoy hash is checked
        instead, so both cases cost one argon2 verification. The first
        unknown user of a process also pays for hashing the decoy.
        """
        target = stored_hash if stored_hash is not None else await self._decoy()
        async with self._slots:
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
            self._decoy_hash = await self.hash(secrets.token_urlsafe(16))
        return self._decoy_hash
