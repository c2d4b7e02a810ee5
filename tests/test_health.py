"""The health route and the container healthcheck that polls it."""

import asyncio
import os
import secrets
import sys
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
import redis.asyncio as redis

from server.errors import DATABASE_RETRY_AFTER_S
from tests.production import environment
from tests.servers import (
    RunningServer,
    StartProduction,
    StartServer,
    StartWorker,
    free_port,
)

# The PostgreSQL and Redis servers that CI starts (.ci/run) on this machine.
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


async def _get_health(
    base_url: str, path: str = "/healthz"
) -> tuple[int, dict[str, object], bool]:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"{base_url}{path}") as response,
    ):
        body = await response.json()
        return response.status, body, "Set-Cookie" in response.headers


# Half-second tries for a new worker to write its health key; generous.
HEALTH_TRIES = 40


async def _run_healthcheck(*arguments: str, **environ: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.healthcheck",
        *arguments,
        env={**os.environ, **environ},
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """Yield the URL of a new, empty PostgreSQL database; drop it afterwards."""
    name = f"dropspace_health_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _drop_database(postgres_url: str) -> None:
    # Dropping the database ends every connection to it and refuses new
    # ones, as a stopped database server would.
    name = postgres_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_healthz_ok_on_sqlite(server: RunningServer) -> None:
    status, body, sets_cookie = await _get_health(server.base_url)
    assert status == 200
    assert body == {"ok": True}
    assert not sets_cookie


async def test_healthz_503_when_database_gone(
    start_server: StartServer, postgres_url: str
) -> None:
    server = await start_server(database_url=postgres_url)
    status, _, _ = await _get_health(server.base_url)
    assert status == 200

    await _drop_database(postgres_url)

    status, body, _ = await _get_health(server.base_url)
    assert status == 503
    assert body["ok"] is False
    assert body["code"] == "service_unavailable"
    assert "DROPSPACE_DATABASE_URL" in str(body["message"])
    assert body["retry_after_s"] == DATABASE_RETRY_AFTER_S


async def test_livez_ok_when_database_gone(
    start_server: StartServer, postgres_url: str
) -> None:
    server = await start_server(database_url=postgres_url)
    await _drop_database(postgres_url)

    live_status, live_body, live_sets_cookie = await _get_health(
        server.base_url, "/livez"
    )
    ready_status, ready_body, _ = await _get_health(server.base_url, "/healthz")

    assert live_status == 200
    assert live_body == {"ok": True}
    assert not live_sets_cookie
    assert ready_status == 503
    assert ready_body["code"] == "service_unavailable"


async def test_healthcheck_app_passes(server: RunningServer) -> None:
    # The container's setting: the check must reach a wildcard listener
    # through the loopback address.
    wildcard = "0.0.0.0"  # noqa: S104
    status, stderr = await _run_healthcheck(
        "app", DROPSPACE_HOST=wildcard, DROPSPACE_PORT=str(server.settings.port)
    )
    assert status == 0, stderr


async def test_healthcheck_app_fails_without_server() -> None:
    status, stderr = await _run_healthcheck(DROPSPACE_PORT=str(free_port()))
    assert status == 1
    assert "/healthz failed" in stderr


async def test_healthcheck_worker_reads_arq_key() -> None:
    queue = f"dropspace-test:{secrets.token_hex(6)}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        status, stderr = await _run_healthcheck(
            "worker", "--queue", queue, DROPSPACE_REDIS_URL=REDIS_URL
        )
        assert status == 1
        assert f"no key '{queue}:health-check'" in stderr

        await client.set(f"{queue}:health-check", "alive", ex=60)
        status, stderr = await _run_healthcheck(
            "worker", "--queue", queue, DROPSPACE_REDIS_URL=REDIS_URL
        )
        assert status == 0, stderr
    finally:
        await client.delete(f"{queue}:health-check")
        await client.aclose()


async def test_healthcheck_worker_needs_redis_url() -> None:
    status, stderr = await _run_healthcheck("worker", DROPSPACE_REDIS_URL="")
    assert status == 1
    assert "DROPSPACE_REDIS_URL is not set" in stderr


async def test_healthcheck_worker_finds_running_worker(
    start_production: StartProduction, start_worker: StartWorker
) -> None:
    server = await start_production()
    start_worker(server.settings)
    environ = environment(server.settings)

    # The worker writes its health key once it has started.
    for _ in range(HEALTH_TRIES):
        status, stderr = await _run_healthcheck("worker", **environ)
        if status == 0:
            break
        await asyncio.sleep(0.5)

    assert status == 0, stderr
