"""Fixtures: a real DropSpace server on a loopback port, and devices that use it."""

import logging
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright

from server.settings import Settings
from tests.chromium import CHROMIUM, FLAGS
from tests.databases import (
    BACKENDS,
    DEFAULT_ADMIN_URL,
    POSTGRESQL,
    ThrowawayDatabases,
)
from tests.devices import Device, NewDevice, SharedSession, share_session
from tests.loop_guard import GUARD
from tests.own_postgres import OwnPostgres
from tests.production import REDIS_URL, WorkerProcess, delete_keys
from tests.serve_process import ServeProcess, StartServeProcess
from tests.server_log import ErrorRecords, allowed_loggers
from tests.servers import (
    LoopbackServer,
    RunningServer,
    StartProduction,
    StartServer,
    StartShared,
    StartWorker,
    loopback_settings,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--heavy",
        action="store_true",
        help="Also run tests marked heavy, which move gigabytes.",
    )
    parser.addoption(
        "--database",
        choices=BACKENDS,
        default="sqlite",
        help="Database of every test server; postgresql creates a throwaway "
        "database per server on DROPSPACE_TEST_POSTGRES_URL.",
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if config.getoption("--heavy"):
        return
    skip_heavy = pytest.mark.skip(reason="moves gigabytes; run with --heavy")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip_heavy)


@pytest.fixture(autouse=True)
def no_blocking_file_calls() -> Iterator[None]:
    """Fail a test whose server touched files from the event loop's thread."""
    GUARD.take()
    yield
    assert GUARD.take() == []


@pytest.fixture(autouse=True)
def no_logged_errors(request: pytest.FixtureRequest) -> Iterator[ErrorRecords]:
    """Fail a test during which the server, aiohttp or asyncio logged an error.

    Set up before the servers, so it also sees what they log while stopping.
    """
    records = ErrorRecords()
    root = logging.getLogger()
    root.addHandler(records)
    try:
        yield records
    finally:
        root.removeHandler(records)
    unexpected = records.unexpected(request.node)
    if unexpected:
        pytest.fail(f"errors were logged:\n{unexpected}", pytrace=False)


@pytest.fixture(scope="session")
def database_backend(request: pytest.FixtureRequest) -> str:
    """The database every test server uses: sqlite or postgresql."""
    backend: str = request.config.getoption("--database")
    return backend


@pytest.fixture
async def databases(database_backend: str) -> AsyncIterator[ThrowawayDatabases]:
    """Throwaway PostgreSQL databases, dropped when the test ends."""
    created = ThrowawayDatabases(
        os.environ.get("DROPSPACE_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)
    )
    yield created
    await created.drop_all()


@pytest.fixture
async def start_server(
    tmp_path: Path, database_backend: str, databases: ThrowawayDatabases
) -> AsyncIterator[StartServer]:
    """Yield a function that starts a server with settings overrides.

    On the PostgreSQL pass each server gets a new database; an unreachable
    PostgreSQL fails the test instead of skipping it.
    """
    servers: list[RunningServer] = []

    async def start(**overrides: Any) -> RunningServer:
        default_dir = tmp_path / ("data" if not servers else f"data-{len(servers)}")
        data_dir = overrides.pop("data_dir", default_dir)
        if database_backend == POSTGRESQL and "database_url" not in overrides:
            overrides["database_url"] = await databases.create()
        running = RunningServer(loopback_settings(data_dir, **overrides))
        await running.start()
        servers.append(running)
        return running

    yield start
    for running in reversed(servers):
        await running.stop()
        # Stored files can reach gigabytes; a SQLite database stays for debugging.
        shutil.rmtree(running.files_dir, ignore_errors=True)


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    return await start_server()


@pytest.fixture
async def new_device(start_server: StartServer) -> AsyncIterator[NewDevice]:
    """Yield a function that makes a device with a cookie and a live socket.

    Devices close before any server in this process stops, because this
    fixture depends on `start_server`. `start_serve_process` stops its
    processes before they close.
    """
    devices: list[Device] = []

    async def make(
        target: LoopbackServer, label: str = "device", *, connect: bool = True
    ) -> Device:
        device = Device(target.base_url, label)
        devices.append(device)
        await device.open_lobby()
        if connect:
            await device.connect()
        return device

    yield make
    for device in devices:
        await device.close()


@pytest.fixture
async def shared(server: RunningServer, new_device: NewDevice) -> SharedSession:
    """A guest's session on `server`, joined by a second device through its link."""
    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    return await share_session(owner, member)


@pytest.fixture
async def start_shared(start_server: StartServer, new_device: NewDevice) -> StartShared:
    """Return a function that starts a server and shares a session on it.

    Keyword arguments override Settings fields; `lifetime_s` sets the
    session's lifetime.
    """

    async def start(
        lifetime_s: int | None = None, **overrides: Any
    ) -> tuple[RunningServer, SharedSession]:
        server = await start_server(**overrides)
        owner = await new_device(server, "owner")
        member = await new_device(server, "member")
        return server, await share_session(owner, member, lifetime_s)

    return start


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A Redis namespace of this test alone, emptied when it ends."""
    prefix = f"dropspace-test-{secrets.token_hex(6)}"
    yield prefix
    await delete_keys(prefix)


@pytest.fixture
async def production_settings(
    databases: ThrowawayDatabases, redis_prefix: str
) -> dict[str, Any]:
    """Settings overrides for servers on this test's PostgreSQL database and Redis.

    Whatever the pass, these servers use PostgreSQL; they enqueue deadline
    jobs instead of arming timers, so `start_worker` runs the worker.
    """
    return {
        "database_url": await databases.create(),
        "redis_url": REDIS_URL,
        "redis_prefix": redis_prefix,
        "sweep_interval_s": 1.0,
        "min_lifetime_s": 1,
    }


@pytest.fixture
async def start_production(
    start_server: StartServer, production_settings: dict[str, Any]
) -> StartProduction:
    """Return a function that starts an in-process server on PostgreSQL and Redis."""

    async def start(**overrides: Any) -> RunningServer:
        return await start_server(**(production_settings | overrides))

    return start


@pytest.fixture
async def start_serve_process(
    tmp_path: Path,
    production_settings: dict[str, Any],
    new_device: NewDevice,
    request: pytest.FixtureRequest,
) -> AsyncIterator[StartServeProcess]:
    """Yield a function that starts `dropspace serve` on PostgreSQL and Redis.

    Keyword arguments override Settings fields. The processes of one test
    share its database, Redis prefix and data dir; each gets its own port.
    At teardown each is stopped by its PID, and the test fails if a log
    contains an error that the `server_errors` mark does not allow.

    The processes stop while the devices of `new_device` are still
    connected, as at a `docker stop`: shutdown then disconnects each socket
    and waits for its disconnect handler. A device that closed just before
    would leave its handler running, and SIGTERM would cancel it midway.
    """
    data_dir = tmp_path / "cluster-data"
    allowed = allowed_loggers(request.node)
    processes: list[ServeProcess] = []

    async def start(**overrides: Any) -> ServeProcess:
        chosen = production_settings | {"data_dir": data_dir} | overrides
        settings = loopback_settings(**chosen)
        log_path = tmp_path / f"serve-{len(processes)}.log"
        process = ServeProcess(settings, log_path, allowed)
        processes.append(process)
        await process.start()
        return process

    yield start
    failures = []
    for process in reversed(processes):
        try:
            await process.stop()
        except AssertionError as failure:
            failures.append(str(failure))
    shutil.rmtree(data_dir / "files", ignore_errors=True)
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture
async def start_worker(tmp_path: Path) -> AsyncIterator[StartWorker]:
    """Yield a function that starts `dropspace worker` for a server's settings."""
    workers: list[WorkerProcess] = []

    def start(settings: Settings) -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / f"worker-{len(workers)}.log")
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        await worker.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, driven by Playwright, closed when the test ends."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=FLAGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    """A PostgreSQL server of this test alone, which it may stop and start."""
    postgres = OwnPostgres()
    try:
        await postgres.create()
        await postgres.start()
        yield postgres
    finally:
        if (postgres.data_dir / "postmaster.pid").exists():
            await postgres.stop()
        postgres.remove()
