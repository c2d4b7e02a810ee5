"""Direct reads and writes of a test server's database, SQLite or PostgreSQL.

Tests look behind the API through SQLAlchemy on the server's own URL, so the
same check runs on both passes of `make test`. Parameters are named binds
(`:id`), which both databases accept.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from tests.servers import LoopbackServer

# Seconds SQLite waits for the server's write lock before it raises
# "database is locked".
SQLITE_BUSY_TIMEOUT_S = 10


@asynccontextmanager
async def _connect(server: LoopbackServer) -> AsyncIterator[AsyncConnection]:
    url = server.settings.sqlalchemy_url
    connect_args = (
        {"timeout": SQLITE_BUSY_TIMEOUT_S} if url.startswith("sqlite") else {}
    )
    # No pool, because a pooled connection would keep a throwaway PostgreSQL
    # database busy and the server's SQLite file open after the test.
    engine = create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def query(
    server: LoopbackServer, sql: str, **params: Any
) -> list[tuple[Any, ...]]:
    """Run one SQL query on the server's database and return its rows.

    The query runs in a transaction that is rolled back, never committed.
    """
    async with _connect(server) as connection:
        result = await connection.execute(text(sql), params)
        return [tuple(row) for row in result]


async def write(server: LoopbackServer, sql: str, **params: Any) -> None:
    """Run one SQL statement that changes the server's database, and commit it."""
    async with _connect(server) as connection:
        await connection.execute(text(sql), params)
        await connection.commit()


async def all_values(server: LoopbackServer) -> str:
    """Return every value of every table of the server's database, as one string."""
    values = []
    async with _connect(server) as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        for table in tables:
            statement = text(f'SELECT * FROM "{table}"')  # noqa: S608
            for row in await connection.execute(statement):
                values += [str(value) for value in row]
    return "\n".join(values)
