"""Tables shared by SQLite and PostgreSQL, in SQLAlchemy Core.

Sizes and offsets are BigInteger. Times are stored as UTC; the UtcDateTime
type keeps them timezone-aware in Python on both databases.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored naive on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC time")
        aware: datetime = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return aware.replace(tzinfo=None)
        return aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(32)

accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", String(64), unique=True),
    Column("password_hash", String(255)),
    Column("plan", String(32), nullable=False),
    Column("is_guest", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Index("ix_accounts_expires_at", "expires_at"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    # The token that the latest rotation replaced; it may create no device.
    Column("retired_token_hash", String(64)),
    Column("label", String(100), nullable=False),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Index("ix_devices_account_id", "account_id"),
    Index("ix_devices_retired_token_hash", "retired_token_hash"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("owner_account_id", ID, ForeignKey("accounts.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("join_token", String(64), nullable=False, unique=True),
    Column("capacity_bytes", BigInteger, nullable=False),
    Column("reserved_bytes", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("end_reason", String(16)),
    Index("ix_sessions_owner_account_id", "owner_account_id"),
    Index("ix_sessions_expires_at", "expires_at"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("session_id", ID, ForeignKey("sessions.id"), primary_key=True),
    Column("device_id", ID, ForeignKey("devices.id"), primary_key=True),
    Column("joined_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime),
    Index("ix_memberships_device_id", "device_id"),
)

files = Table(
    "files",
    metadata,
    Column("id", ID, primary_key=True),
    Column("session_id", ID, ForeignKey("sessions.id"), nullable=False),
    Column("uploader_device_id", ID, ForeignKey("devices.id"), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("client_sha256", String(64)),
    Column("sha256", String(64)),
    Column("committed_bytes", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
    # Set while one server process writes a chunk; see server.claims.
    Column("write_claim", String(32)),
    Column("claimed_at", UtcDateTime),
    # When a sweep first found the file's bytes missing. A later sweep that
    # finds them again clears it (see server.cleanup).
    Column("missing_since", UtcDateTime),
    Index("ix_files_session_id", "session_id"),
)

# A device's lobby offer: a short code and a link token, both shown on its
# lobby, both expiring together, and both used up by one pull.
pairing_offers = Table(
    "pairing_offers",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "device_id", ID, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False
    ),
    Column("code", String(16), nullable=False, unique=True),
    Column("link_token", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Index("ix_pairing_offers_device_id", "device_id"),
)

# Join tokens an owner replaced: they admit the session's members only.
replaced_join_tokens = Table(
    "replaced_join_tokens",
    metadata,
    Column("join_token", String(64), primary_key=True),
    Column(
        "session_id", ID, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False
    ),
    Column("replaced_at", UtcDateTime, nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("max_sessions", Integer, nullable=False),
    Column("capacity_bytes", BigInteger, nullable=False),
    Column("max_lifetime_s", BigInteger, nullable=False),
)
