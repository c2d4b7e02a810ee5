"""Database engine and migrations for SQLite and PostgreSQL."""

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Dialect, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from server.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for the configured database."""
    url = settings.sqlalchemy_url
    if not url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=10, pool_pre_ping=True)
        event.listen(engine.sync_engine, "do_connect", _connect_or_database_error)
        return engine

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # One connection serialises every statement of this process, so SQLite
    # never reports "database is locked" between our own coroutines; WAL and
    # the busy timeout cover other processes such as `dropspace migrate`.
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _connect_or_database_error(
    dialect: Dialect, _record: Any, cargs: Any, cparams: Any
) -> Any:
    # asyncpg raises a bare OSError when the server refuses connections, as
    # while PostgreSQL restarts. The driver's OperationalError becomes a
    # DBAPIError, so request and event handlers return "service unavailable"
    # instead of an internal error.
    dbapi = dialect.loaded_dbapi
    try:
        return dbapi.connect(*cargs, **cparams)
    except OSError as error:
        raise dbapi.OperationalError(str(error), error) from error


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema up to the newest migration."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
    log.info("database schema is up to date")
