"""Test devices: one cookie jar shared by an HTTP session and a Socket.IO client.

A `Device` acts like a browser tab that follows docs/protocol.md: it keeps
the `ds_device` cookie from its first response, sends `Origin` on requests
that change something, and talks to the server over Socket.IO with only the
WebSocket transport. Helpers that expect success raise `AssertionError` with
the server's response, so a failing step names itself.
"""

import asyncio
import contextlib
import hashlib
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from multidict import CIMultiDictProxy
from yarl import URL

from tests.content import Blob, Payload

COOKIE_NAME = "ds_device"
FOREIGN_ORIGIN = "http://evil.example"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Stand-ins for "this device's own value" in `origin=` and `cookie=` arguments.
OWN_ORIGIN = "<own origin>"
OWN_COOKIE = "<own cookie>"

Event = dict[str, Any]
Predicate = Callable[[Event], bool]


class SocketRejected(Exception):
    """The server rejected a Socket.IO connection.

    `error` is the error object carried in the rejection's `data`, or None
    when it carried none, as for a handshake rejected over HTTP.
    """

    def __init__(self, error: dict[str, Any] | None) -> None:
        super().__init__(f"Socket.IO connection rejected: {error}")
        self.error = error


@dataclass
class Reply:
    """Status, headers and raw body of one HTTP response."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> dict[str, Any]:
        """Return the body parsed as JSON; fail the test when it is not JSON."""
        try:
            parsed = json.loads(self.body)
        except ValueError:
            raise AssertionError(
                f"expected a JSON body, got {self.status} {self.body[:200]!r}"
            ) from None
        assert isinstance(parsed, dict), parsed
        return parsed


@dataclass
class EventLog:
    """Server-to-client events that one device received, in arrival order."""

    events: list[tuple[str, Event]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def record(self, name: str, payload: Event) -> None:
        async with self._changed:
            self.events.append((name, payload))
            self._changed.notify_all()

    def all(self, name: str, predicate: Predicate | None = None) -> list[Event]:
        """Return every `name` event that matches `predicate`, oldest first."""
        return [
            payload
            for event, payload in self.events
            if event == name and (predicate is None or predicate(payload))
        ]

    def names(self) -> list[str]:
        return [event for event, _ in self.events]

    async def wait_for(
        self, name: str, predicate: Predicate | None = None, timeout_s: float = 10.0
    ) -> Event:
        """Return the first `name` event matching `predicate`, waiting if needed."""
        try:
            async with asyncio.timeout(timeout_s), self._changed:
                await self._changed.wait_for(lambda: bool(self.all(name, predicate)))
        except TimeoutError:
            raise AssertionError(
                f"no matching {name!r} event within {timeout_s} s; "
                f"received {self.names()}"
            ) from None
        return self.all(name, predicate)[0]


def for_file(file_id: str) -> Predicate:
    """Match events about one file, whether they carry `file_id` or `file`."""

    def matches(payload: Event) -> bool:
        if "file_id" in payload:
            return bool(payload["file_id"] == file_id)
        return bool(payload.get("file", {}).get("id") == file_id)

    return matches


def expect_ok(answer: dict[str, Any], step: str) -> dict[str, Any]:
    """Return a successful response, or fail the test with the error it carries."""
    if answer.get("ok") is not True:
        raise AssertionError(f"{step} failed: {answer}")
    return answer


def join_token_of(session: dict[str, Any]) -> str:
    """Return the join token: the last path segment of the session's join link."""
    return URL(session["join_url"]).path.rstrip("/").rsplit("/", 1)[-1]


class Device:
    """A browser-like client of the test server."""

    def __init__(self, base_url: str, label: str) -> None:
        self.base_url = base_url
        self.label = label
        self.http = aiohttp.ClientSession(
            base_url=base_url,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers={"User-Agent": f"dropspace-tests ({label})"},
        )
        self.sio: socketio.AsyncClient | None = None
        self.log = EventLog()
        self.disconnected = asyncio.Event()
        self._extra_headers: dict[str, str] = {}
        self.limits: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"Device({self.label!r})"

    # HTTP

    @property
    def cookie(self) -> str | None:
        """Return the `ds_device` cookie value this device holds, if any."""
        morsel = self.http.cookie_jar.filter_cookies(URL(self.base_url)).get(
            COOKIE_NAME
        )
        return morsel.value if morsel is not None else None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        origin: str | None = OWN_ORIGIN,
        cookie: bool = True,
    ) -> Reply:
        """Send one request and return its reply, whatever the status.

        With `OWN_ORIGIN` the request carries this server's origin when its
        method changes something. None sends no `Origin`, and any other value
        is sent as is. With `cookie` False the request carries no cookie.
        """
        sent = dict(headers or {})
        if origin == OWN_ORIGIN:
            if method not in SAFE_METHODS:
                sent["Origin"] = self.base_url
        elif origin is not None:
            sent["Origin"] = origin
        if cookie:
            response_cm = self.http.request(
                method, path, json=json_body, data=data, headers=sent
            )
            async with response_cm as response:
                return Reply(response.status, response.headers, await response.read())
        async with (
            aiohttp.ClientSession(base_url=self.base_url) as bare,
            bare.request(
                method, path, json=json_body, data=data, headers=sent
            ) as response,
        ):
            return Reply(response.status, response.headers, await response.read())

    async def open_lobby(self) -> Reply:
        """Load the lobby page, which hands out the `ds_device` cookie."""
        reply = await self.request("GET", "/")
        assert reply.status == 200, f"GET / returned {reply.status}"
        assert self.cookie, f"GET / set no {COOKIE_NAME} cookie"
        return reply

    async def start_guest(self) -> dict[str, Any]:
        """Create (or reuse) this device's guest account and return the response.

        A new guest account gives the device a new token and closes its
        connections, so a connected device connects again with its new cookie.
        """
        before = self.cookie
        reply = await self.request("POST", "/api/guest")
        answer = expect_ok(reply.json(), "guest")
        if self.sio is not None and self.cookie != before:
            await self.connect()
        return answer

    async def create_session(
        self, title: str = "Test session", lifetime_s: int | None = None
    ) -> dict[str, Any]:
        """Create a session owned by this device's account and return it."""
        body: dict[str, Any] = {"title": title}
        if lifetime_s is not None:
            body["lifetime_s"] = lifetime_s
        reply = await self.request("POST", "/api/sessions", json_body=body)
        session: dict[str, Any] = expect_ok(reply.json(), "create session")["session"]
        return session

    async def put_chunk(
        self, file_id: str, offset: int, data: bytes, *, origin: str | None = OWN_ORIGIN
    ) -> Reply:
        return await self.request(
            "PUT", f"/api/files/{file_id}?offset={offset}", data=data, origin=origin
        )

    async def download(
        self, file_id: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> Reply:
        return await self.request(method, f"/api/files/{file_id}", headers=headers)

    async def download_sha256(self, file_id: str) -> tuple[int, str]:
        """Stream a download and return its status and the SHA-256 of its body."""
        digest = hashlib.sha256()
        async with self.http.get(f"/api/files/{file_id}") as response:
            async for block in response.content.iter_chunked(1024 * 1024):
                digest.update(block)
            return response.status, digest.hexdigest()

    # Socket.IO

    async def connect(
        self,
        *,
        origin: str | None = OWN_ORIGIN,
        cookie: str | None = OWN_COOKIE,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        """Open a Socket.IO connection, replacing any earlier one.

        `OWN_ORIGIN` and `OWN_COOKIE` send this device's own values, None sends
        no header, and any other value is sent as is; `extra_headers` go into
        the handshake too. Raise `SocketRejected` when the server rejects the
        connection.
        """
        await self.drop_socket()
        # A reconnect after a new cookie keeps the headers of the first
        # connection, such as a proxy's X-Forwarded-For.
        self._extra_headers = dict(extra_headers or self._extra_headers)
        client = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        rejections: list[Any] = []
        client.on("*", self.log.record)
        client.on("connect_error", rejections.append)
        client.on("disconnect", self._on_disconnect)
        headers = dict(self._extra_headers)
        if origin is not None:
            headers["Origin"] = self.base_url if origin == OWN_ORIGIN else origin
        if cookie is not None:
            value = self.cookie if cookie == OWN_COOKIE else cookie
            headers["Cookie"] = f"{COOKIE_NAME}={value}"
        self.disconnected.clear()
        try:
            await client.connect(
                self.base_url,
                headers=headers,
                transports=["websocket"],
                wait_timeout=5,
            )
        except socketio.exceptions.ConnectionError:
            raise SocketRejected(_rejection_error(rejections)) from None
        self.sio = client

    async def _on_disconnect(self, *reason: Any) -> None:
        self.disconnected.set()

    @property
    def sid(self) -> str | None:
        return self.sio.get_sid() if self.sio is not None else None

    async def call(
        self, event: str, payload: dict[str, Any], timeout_s: float = 30.0
    ) -> Any:
        """Emit one event and return its acknowledgement."""
        assert self.sio is not None, f"{self} has no Socket.IO connection"
        return await self.sio.call(event, payload, timeout=timeout_s)

    async def join(self, join_token: str) -> dict[str, Any]:
        """Join a session's room by its join token and keep the announced limits."""
        ack = expect_ok(
            await self.call("session:join", {"join_token": join_token}), "join"
        )
        self.limits = ack["limits"]
        return ack

    async def cut_socket(self) -> None:
        """Shut the TCP connection under Socket.IO, as a lost network would.

        Neither a Socket.IO disconnect packet nor a WebSocket close frame is
        sent, so the server only detects the end of the stream.
        """
        assert self.sio is not None, f"{self} has no Socket.IO connection"
        assert self.sio.eio.ws is not None, f"{self} has no WebSocket"
        raw_socket = self.sio.eio.ws.get_extra_info("socket")
        raw_socket.shutdown(socket.SHUT_RDWR)
        await asyncio.wait_for(self.disconnected.wait(), timeout=10)
        await self.drop_socket()

    async def drop_socket(self) -> None:
        if self.sio is None:
            return
        client, self.sio = self.sio, None
        with contextlib.suppress(Exception):
            await client.disconnect()

    async def close(self) -> None:
        await self.drop_socket()
        await self.http.close()

    # Uploads

    async def start_uploads(
        self, session_id: str, files: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Declare files with `upload:start` and return the raw acknowledgement."""
        answer: dict[str, Any] = await self.call(
            "upload:start", {"session_id": session_id, "files": files}
        )
        return answer

    async def start_upload(
        self, session_id: str, name: str, size: int, sha256: str | None = None
    ) -> dict[str, Any]:
        """Declare one file and return its `File`, failing on any error."""
        declared: dict[str, Any] = {"name": name, "size": size}
        if sha256 is not None:
            declared["sha256"] = sha256
        ack = expect_ok(await self.start_uploads(session_id, [declared]), "start")
        entry: dict[str, Any] = ack["files"][0]
        assert entry.get("ok", True) is True, entry
        assert entry.get("id"), entry
        return entry

    async def emit_chunk(
        self, file_id: str, offset: int, data: bytes
    ) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call(
            "upload:chunk", {"file_id": file_id, "offset": offset, "data": data}
        )
        return answer

    async def send_chunk(
        self, file_id: str, offset: int, data: bytes, transport: str
    ) -> dict[str, Any]:
        """Send one chunk by "http" or "socket" and return the response."""
        if transport == "http":
            return (await self.put_chunk(file_id, offset, data)).json()
        return await self.emit_chunk(file_id, offset, data)

    def chunk_bytes(self, transport: str) -> int:
        """Return the chunk size the server announced for `transport`."""
        assert self.limits, f"{self} has not joined a session, so it has no limits"
        key = "http_chunk_bytes" if transport == "http" else "socket_chunk_bytes"
        return self.limits[key]

    async def send_range(
        self,
        file_id: str,
        payload: Payload,
        transport: str = "http",
        start: int = 0,
        end: int | None = None,
        chunk_bytes: int | None = None,
    ) -> int:
        """Send `payload[start:end]` chunk by chunk and return the final offset."""
        end = payload.size if end is None else end
        step = chunk_bytes or self.chunk_bytes(transport)
        offset = start
        while offset < end:
            data = payload.read(offset, min(step, end - offset))
            answer = expect_ok(
                await self.send_chunk(file_id, offset, data, transport),
                f"chunk at {offset} of file {file_id}",
            )
            assert answer["offset"] == offset + len(data), answer
            offset = answer["offset"]
        return offset

    async def finish(self, file_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("upload:finish", {"file_id": file_id})
        return answer

    async def upload_offset(self, file_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("upload:offset", {"file_id": file_id})
        return answer

    async def upload(
        self,
        session_id: str,
        name: str,
        content: Payload | bytes,
        transport: str = "http",
        declare_sha256: bool = True,
    ) -> dict[str, Any]:
        """Start, send and finish one upload; return the finished `File`."""
        payload = Blob(content) if isinstance(content, bytes) else content
        sha256 = payload.sha256() if declare_sha256 else None
        entry = await self.start_upload(session_id, name, payload.size, sha256)
        await self.send_range(entry["id"], payload, transport)
        finished = expect_ok(await self.finish(entry["id"]), f"finish {name!r}")
        file: dict[str, Any] = finished["file"]
        return file


def _rejection_error(rejections: list[Any]) -> dict[str, Any] | None:
    """Return the error object of a Socket.IO connection rejection, if it has one."""
    for rejection in rejections:
        if isinstance(rejection, dict) and isinstance(rejection.get("data"), dict):
            data: dict[str, Any] = rejection["data"]
            return data
    return None


@dataclass
class SharedSession:
    """A session that a guest owns and a device without an account joined."""

    owner: Device
    member: Device
    session: dict[str, Any]
    join_token: str

    @property
    def session_id(self) -> str:
        session_id: str = self.session["id"]
        return session_id


async def share_session(
    owner: Device,
    member: Device,
    lifetime_s: int | None = None,
    title: str = "Test session",
) -> SharedSession:
    """Make `owner` a guest with a new session and bring both devices into it.

    The owner joins the room with the join token too, because a connection
    enters a session's room only through `session:join`.
    """
    await owner.start_guest()
    session = await owner.create_session(title, lifetime_s)
    join_token = join_token_of(session)
    await owner.join(join_token)
    await member.join(join_token)
    return SharedSession(owner, member, session, join_token)


# The `new_device` fixture: call it with a RunningServer and a label.
NewDevice = Callable[..., Awaitable[Device]]
