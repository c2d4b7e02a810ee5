"""Caddy, run from the repository's Caddyfile, in front of real upstreams.

Each test copies the Caddyfile with two changes: the upstream names
`app1:8080` and `app2:8080` become loopback addresses, and a global block
turns Caddy's admin endpoint off so runs cannot collide on its port. A test
may also shorten the interval of the active health checks. The site address
comes from SITE_ADDRESS as in production, but as a plain HTTP loopback
address, because the tests cannot obtain certificates.
"""

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import shutil
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pytest
from aiohttp import web

from server.errors import DATABASE_RETRY_AFTER_S
from tests.content import MIB, Stamped
from tests.devices import Device, NewDevice, for_file, join_token_of, share_session
from tests.own_postgres import OwnPostgres
from tests.pairing import lobby_offer, redeem
from tests.servers import StartServer, free_port

CADDYFILE = Path(__file__).parent.parent / "Caddyfile"
PRODUCTION_UPSTREAMS = ("app1:8080", "app2:8080")
# Bounds for waiting on Caddy, not measurements: a failure reports the log.
STARTUP_BOUND_S = 20.0
STOP_BOUND_S = 10.0
HEALTH_CHECK_BOUND_S = 20.0
_POLL_INTERVAL_S = 0.1


def caddyfile_health_uri() -> str:
    """Return the path that Caddy's active health checks request."""
    found = re.search(r"^\s*health_uri (\S+)$", CADDYFILE.read_text(), re.MULTILINE)
    assert found, "the Caddyfile has no health_uri"
    return found[1]


HEALTH_URI = caddyfile_health_uri()


class StartCaddy(Protocol):
    """The `start_caddy` fixture: it runs Caddy on a port, returning its URL."""

    def __call__(
        self,
        upstreams: tuple[str, str],
        port: int,
        *,
        health_interval: str | None = None,
    ) -> Awaitable[str]: ...


def caddyfile_for(
    upstreams: tuple[str, str], health_interval: str | None = None
) -> str:
    """Return the Caddyfile with loopback upstreams and no admin endpoint.

    `health_interval`, a Caddy duration such as "1s", replaces the interval
    of the active health checks.
    """
    text = CADDYFILE.read_text()
    for production, loopback in zip(PRODUCTION_UPSTREAMS, upstreams, strict=True):
        assert text.count(production) == 1, f"the Caddyfile lost {production}"
        text = text.replace(production, loopback)
    if health_interval is not None:
        text, count = re.subn(
            r"health_interval \S+", f"health_interval {health_interval}", text
        )
        assert count == 1, "the Caddyfile lost health_interval"
    return "{\n\tadmin off\n}\n\n" + text


async def _wait_until_listening(port: int, log: Path) -> None:
    # A TCP connection, not an HTTP response, because a test may run Caddy
    # with no upstream, and then every request waits for lb_try_duration.
    polls = int(STARTUP_BOUND_S / _POLL_INTERVAL_S)
    for _ in range(polls):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        await asyncio.sleep(_POLL_INTERVAL_S)
    output = await asyncio.to_thread(log.read_text)
    raise AssertionError(f"Caddy did not listen on port {port}:\n{output}")


@pytest.fixture
async def start_caddy(tmp_path: Path) -> AsyncIterator[StartCaddy]:
    """Yield a function that runs Caddy on a port and returns its base URL."""
    caddy = shutil.which("caddy")
    assert caddy, "caddy is not installed; `make test` installs Debian's package"
    processes: list[asyncio.subprocess.Process] = []
    log = tmp_path / "caddy.log"

    async def start(
        upstreams: tuple[str, str], port: int, *, health_interval: str | None = None
    ) -> str:
        config = tmp_path / "Caddyfile"
        config.write_text(caddyfile_for(upstreams, health_interval))
        base_url = f"http://127.0.0.1:{port}"
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                caddy,
                *("run", "--config", str(config), "--adapter", "caddyfile"),
                env={
                    "SITE_ADDRESS": base_url,
                    "HOME": str(tmp_path),
                    "XDG_CONFIG_HOME": str(tmp_path / "config"),
                    "XDG_DATA_HOME": str(tmp_path / "data"),
                },
                stdout=output,
                stderr=output,
            )
        processes.append(process)
        await _wait_until_listening(port, log)
        return base_url

    yield start
    for process in processes:
        process.terminate()
        async with asyncio.timeout(STOP_BOUND_S):
            await process.wait()


class EchoUpstream:
    """An upstream that reports what reached it: headers, body length, upgrades."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def echo(self, request: web.Request) -> web.Response:
        received = 0
        async for block in request.content.iter_any():
            received += len(block)
        return web.json_response(
            {
                "upstream": self.name,
                "received_bytes": received,
                "forwarded_proto": request.headers.get("X-Forwarded-Proto"),
                "forwarded_host": request.headers.get("X-Forwarded-Host"),
            }
        )

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            await socket.send_str(f"{self.name}:{message.data}")
        return socket

    async def start(self) -> None:
        app = web.Application(client_max_size=0)
        app.router.add_get(HEALTH_URI, self.healthz)
        app.router.add_route("*", "/echo", self.echo)
        app.router.add_get("/ws", self.websocket)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def echo_upstreams() -> AsyncIterator[tuple[EchoUpstream, EchoUpstream]]:
    pair = (EchoUpstream("app1"), EchoUpstream("app2"))
    for upstream in pair:
        await upstream.start()
    yield pair
    for upstream in pair:
        await upstream.stop()


async def _echo(
    client: aiohttp.ClientSession, url: str, body: bytes | None = None
) -> dict[str, object]:
    async with client.put(url, data=body) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, object] = await response.json()
        return answer


async def test_caddy_passes_largest_chunk(
    start_caddy: StartCaddy, echo_upstreams: tuple[EchoUpstream, EchoUpstream]
) -> None:
    upstreams = tuple(f"127.0.0.1:{upstream.port}" for upstream in echo_upstreams)
    base_url = await start_caddy((upstreams[0], upstreams[1]), free_port())
    body = bytes(64 * MIB)
    async with aiohttp.ClientSession() as client:
        answer = await _echo(client, f"{base_url}/echo", body)
    assert answer["received_bytes"] == len(body)


async def test_caddy_sets_forwarded_headers(
    start_caddy: StartCaddy, echo_upstreams: tuple[EchoUpstream, EchoUpstream]
) -> None:
    upstreams = tuple(f"127.0.0.1:{upstream.port}" for upstream in echo_upstreams)
    caddy_port = free_port()
    base_url = await start_caddy((upstreams[0], upstreams[1]), caddy_port)
    async with aiohttp.ClientSession() as client:
        answer = await _echo(client, f"{base_url}/echo")
    assert answer["forwarded_proto"] == "http"
    assert answer["forwarded_host"] == f"127.0.0.1:{caddy_port}"


async def test_caddy_balances_past_open_websocket(
    start_caddy: StartCaddy, echo_upstreams: tuple[EchoUpstream, EchoUpstream]
) -> None:
    upstreams = tuple(f"127.0.0.1:{upstream.port}" for upstream in echo_upstreams)
    base_url = await start_caddy((upstreams[0], upstreams[1]), free_port())
    async with (
        aiohttp.ClientSession() as client,
        client.ws_connect(f"{base_url}/ws") as socket,
    ):
        await socket.send_str("ping")
        reply = await socket.receive_str()
        holder, _ = reply.split(":")
        assert reply == f"{holder}:ping"

        # least_conn counts the open WebSocket, so a request made while it
        # is open goes to the other process.
        answer = await _echo(client, f"{base_url}/echo")
    assert {holder, answer["upstream"]} == {"app1", "app2"}


async def test_dropspace_through_caddy(
    start_server: StartServer, new_device: NewDevice, start_caddy: StartCaddy
) -> None:
    caddy_port = free_port()
    server = await start_server(
        public_url=f"http://127.0.0.1:{caddy_port}",
        http_chunk_bytes=64 * MIB,
        max_http_chunk_bytes=64 * MIB,
    )
    # Two addresses of one server, because two DropSpace processes can share
    # state only through PostgreSQL, Redis and a shared data dir.
    port = server.settings.port
    await start_caddy((f"127.0.0.1:{port}", f"localhost:{port}"), caddy_port)

    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    shared = await share_session(owner, member)
    payload = Stamped(64 * MIB + 1)
    file = await owner.upload(shared.session_id, "big.bin", payload, "http")

    await member.log.wait_for("file:ready", for_file(file["id"]))
    status, digest = await member.download_sha256(file["id"])
    assert status == 200
    assert digest == payload.sha256()


async def caddy_client(
    base_url: str, site: str, label: str, *, guest: bool = False
) -> Device:
    """Make a device that connects to `base_url` but names the site `site`.

    Its Host and Origin headers are those of the site, as a browser's would
    be, whichever of the machine's addresses it reaches Caddy on. A guest
    starts before the socket connects, because a new guest account gets a
    new cookie and the socket would have to connect again.
    """
    device = Device(base_url, label)
    device.http.headers["Host"] = site
    await device.open_lobby()
    if guest:
        # The guest request carries the site's Origin, as later ones do.
        device.base_url = f"http://{site}"
        await device.start_guest()
        device.base_url = base_url
    await device.connect(origin=f"http://{site}", extra_headers={"Host": site})
    # From here `base_url` only supplies the Origin of HTTP requests; they
    # still go to the address the HTTP client was made with.
    device.base_url = f"http://{site}"
    return device


async def test_code_guess_limit_counts_clients_behind_caddy(
    start_server: StartServer, new_device: NewDevice, start_caddy: StartCaddy
) -> None:
    caddy_port = free_port()
    server = await start_server(
        public_url=f"http://127.0.0.1:{caddy_port}",
        trusted_proxies="127.0.0.1",
        code_failures_per_address=3,
    )
    port = server.settings.port
    await start_caddy((f"127.0.0.1:{port}", f"127.0.0.1:{port}"), caddy_port)
    site = f"127.0.0.1:{caddy_port}"
    # One client connects to Caddy from ::1 and the others from 127.0.0.1,
    # and Caddy puts that address in X-Forwarded-For. The server's own peer
    # is Caddy, at 127.0.0.1, for all of them.
    guesser = await caddy_client(
        f"http://[::1]:{caddy_port}", site, "guesser", guest=True
    )
    innocent = await caddy_client(f"http://{site}", site, "innocent", guest=True)
    target = await caddy_client(f"http://{site}", site, "target")
    try:
        sessions = []
        for owner in (guesser, innocent):
            session = await owner.create_session()
            await owner.join(join_token_of(session))
            sessions.append(session["id"])
        offer = await lobby_offer(target)

        wrong = [
            (await redeem(guesser, sessions[0], f"{index:011d}"))["code"]
            for index in range(4)
        ]
        right = await redeem(innocent, sessions[1], offer["code"])
    finally:
        for device in (guesser, innocent, target):
            await device.close()

    assert wrong == ["code_rejected"] * 3 + ["rate_limited"]
    assert right["ok"] is True


@dataclasses.dataclass
class Reply:
    """A response as received through Caddy."""

    status: int
    content_type: str
    headers: dict[str, str]
    text: str

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.text)
        return body


async def _fetch(client: aiohttp.ClientSession, url: str, accept: str) -> Reply:
    async with client.get(url, headers={"Accept": accept}) as response:
        return Reply(
            status=response.status,
            content_type=response.content_type,
            headers=dict(response.headers),
            text=await response.text(),
        )


def _health_checks_logged(records: list[logging.LogRecord]) -> int:
    request_line = f'"GET {HEALTH_URI} '
    return sum(
        1
        for record in records
        if record.name == "aiohttp.access" and request_line in record.getMessage()
    )


async def _wait_for_health_checks(caplog: pytest.LogCaptureFixture, count: int) -> None:
    """Wait until the app has logged `count` more health-check requests."""
    target = _health_checks_logged(caplog.records) + count
    for _ in range(int(HEALTH_CHECK_BOUND_S / _POLL_INTERVAL_S)):
        if _health_checks_logged(caplog.records) >= target:
            return
        await asyncio.sleep(_POLL_INTERVAL_S)
    raise AssertionError(f"{count} requests for {HEALTH_URI} did not arrive")


async def test_app_error_passes_caddy_while_database_down(
    start_server: StartServer,
    start_caddy: StartCaddy,
    own_postgres: OwnPostgres,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The app's access log shows when Caddy's health checks reach it. aiohttp
    # decides per connection whether to log, so the level is set first.
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    caddy_port = free_port()
    server = await start_server(
        database_url=own_postgres.url, public_url=f"http://127.0.0.1:{caddy_port}"
    )
    # One address for both upstreams, so that each round of health checks
    # sends two requests to this server.
    upstream = f"127.0.0.1:{server.settings.port}"
    base_url = await start_caddy((upstream, upstream), caddy_port, health_interval="1s")

    async with aiohttp.ClientSession() as client:
        await own_postgres.stop()
        # Four checks after the stop include a whole round of both upstreams.
        await _wait_for_health_checks(caplog, 4)
        down = await _fetch(client, f"{base_url}/api/me", "application/json")
        await own_postgres.start()
        up = await _fetch(client, f"{base_url}/api/me", "application/json")

    assert down.status == 503
    assert down.content_type == "application/json"
    assert down.json()["code"] == "service_unavailable"
    # The app's message names the database, and Caddy's own error does not.
    assert "database" in down.json()["message"]
    assert down.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_S)
    assert up.status == 200, up.text


async def test_caddy_sends_json_error_without_apps(start_caddy: StartCaddy) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    base_url = await start_caddy((nowhere, nowhere), free_port())

    async with aiohttp.ClientSession() as client:
        reply = await _fetch(client, f"{base_url}/api/me", "application/json")

    assert reply.status == 503
    assert reply.content_type == "application/json"
    body = reply.json()
    assert body["ok"] is False
    assert body["code"] == "service_unavailable"
    assert "retry in a few seconds" in body["message"]
    assert body["retry_after_s"] == DATABASE_RETRY_AFTER_S
    assert reply.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_S)
    assert reply.headers["Cache-Control"] == "no-store"


async def test_caddy_sends_page_without_apps(start_caddy: StartCaddy) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    base_url = await start_caddy((nowhere, nowhere), free_port())
    # What Chromium sends when it navigates to a page.
    accept = (
        "text/html,application/xhtml+xml,application/xml;q=0.9,"
        "image/avif,image/webp,*/*;q=0.8"
    )

    async with aiohttp.ClientSession() as client:
        reply = await _fetch(client, f"{base_url}/", accept)

    assert reply.status == 503
    assert reply.content_type == "text/html"
    assert "<h1>DropSpace is unavailable for a moment</h1>" in reply.text
    assert reply.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_S)
    assert reply.headers["Cache-Control"] == "no-store"
