"""Throwaway databases for test servers: a SQLite file or a PostgreSQL database.

`make test` runs the suite twice, the second time with `--database=postgresql`.
Each server of that pass gets its own PostgreSQL database, created from
nothing and dropped when the server's test ends, so parallel runs on one
PostgreSQL never share a table.
"""

import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
BACKENDS = (SQLITE, POSTGRESQL)
# Overridden by DROPSPACE_TEST_POSTGRES_URL; it names a database that the
# tests only connect to, in order to create and drop their own.
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


class ThrowawayDatabases:
    """Create PostgreSQL databases on demand and drop them all at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._created: list[str] = []

    async def create(self) -> str:
        """Create an empty database; return its SQLAlchemy asyncpg URL."""
        name = f"dropspace_test_{secrets.token_hex(6)}"
        connection = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        self._created.append(name)
        return sqlalchemy_url(self.admin_url, name)

    async def drop_all(self) -> None:
        """Drop every database this object created, disconnecting its users."""
        if not self._created:
            return
        connection = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            while self._created:
                name = self._created.pop()
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" (FORCE)')
        finally:
            await connection.close()


def sqlalchemy_url(admin_url: str, database: str) -> str:
    """Return the admin URL pointed at another database, for SQLAlchemy."""
    parts = urlsplit(admin_url)
    return urlunsplit(
        ("postgresql+asyncpg", parts.netloc, f"/{database}", parts.query, "")
    )
