"""Random ids and secret tokens, and the hashes the database keeps of them."""

import hashlib
import secrets
from datetime import UTC, datetime


def new_id() -> str:
    """Return a fresh 128-bit id, URL-safe."""
    return secrets.token_urlsafe(16)


def new_secret() -> str:
    """Return a fresh 256-bit secret token, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_secret(token: str) -> str:
    """Return the SHA-256 hex digest under which a secret token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def epoch_ms(moment: datetime) -> int:
    """Return a datetime as milliseconds since the Unix epoch."""
    return int(moment.timestamp() * 1000)
