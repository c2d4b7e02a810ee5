"""Device identity, origins and membership: who may connect, read and write."""

import time
from email.utils import parsedate_to_datetime
from http.cookies import Morsel, SimpleCookie

import aiohttp
import pytest

from tests.content import MIB, Stamped
from tests.devices import (
    COOKIE_NAME,
    FOREIGN_ORIGIN,
    Device,
    NewDevice,
    SharedSession,
    SocketRejected,
    for_file,
)
from tests.servers import RunningServer, StartServer
from tests.sql import all_values


def loopback_origins(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}",
        f"http://localhost:{port}",
        f"http://[::1]:{port}",
    ]


# Socket.IO handshake


async def test_socket_without_cookie_rejected(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "cookieless", connect=False)

    with pytest.raises(SocketRejected) as rejected:
        await device.connect(cookie=None)

    assert rejected.value.error is not None
    assert rejected.value.error.get("code") == "device_required"


# A well-formed token that the server never issued is accepted and becomes a
# new device, like a cookie from a page view that recorded nothing.
@pytest.mark.parametrize(
    "cookie", ["short", "!" * 43, "a" * 200], ids=["short", "symbols", "long"]
)
async def test_socket_malformed_cookie_rejected(
    server: RunningServer, new_device: NewDevice, cookie: str
) -> None:
    device = await new_device(server, "forger", connect=False)

    with pytest.raises(SocketRejected) as rejected:
        await device.connect(cookie=cookie)

    assert rejected.value.error is not None
    assert rejected.value.error.get("code") == "device_required"


async def test_socket_foreign_origin_rejected(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "foreign", connect=False)

    with pytest.raises(SocketRejected) as rejected:
        await device.connect(origin=FOREIGN_ORIGIN)

    assert rejected.value.error is not None
    assert rejected.value.error.get("code") == "origin_not_allowed"


@pytest.mark.parametrize("origin_index", [0, 1, 2], ids=["ipv4", "localhost", "ipv6"])
async def test_socket_loopback_origin_accepted(
    server: RunningServer, new_device: NewDevice, origin_index: int
) -> None:
    device = await new_device(server, "loopback", connect=False)
    origin = loopback_origins(server.settings.port)[origin_index]

    await device.connect(origin=origin)

    assert device.sid is not None


async def test_socket_without_origin_accepted(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "cli", connect=False)

    await device.connect(origin=None)

    assert (await device.call("clock:sync", {})).get("ok") is True


# HTTP origins


async def test_put_foreign_origin_rejected(shared: SharedSession) -> None:
    file = await shared.member.start_upload(shared.session_id, "o.bin", 8)

    reply = await shared.member.put_chunk(
        file["id"], 0, b"12345678", origin=FOREIGN_ORIGIN
    )

    assert reply.status == 403
    assert reply.json().get("code") == "origin_not_allowed"
    assert (await shared.member.upload_offset(file["id"])).get("offset") == 0


@pytest.mark.parametrize("path", ["/api/guest", "/api/sessions"])
async def test_post_foreign_origin_rejected(shared: SharedSession, path: str) -> None:
    reply = await shared.owner.request(
        "POST", path, json_body={}, origin=FOREIGN_ORIGIN
    )

    assert reply.status == 403
    assert reply.json().get("code") == "origin_not_allowed"


async def test_put_without_origin_accepted(shared: SharedSession) -> None:
    file = await shared.member.start_upload(shared.session_id, "cli.bin", 8)

    reply = await shared.member.put_chunk(file["id"], 0, b"12345678", origin=None)

    assert reply.status == 200
    assert reply.json().get("offset") == 8


@pytest.mark.parametrize("origin_index", [1, 2], ids=["localhost", "ipv6"])
async def test_put_loopback_origin_accepted(
    shared: SharedSession, origin_index: int
) -> None:
    file = await shared.member.start_upload(shared.session_id, "lo.bin", 8)
    port = int(shared.member.base_url.rsplit(":", 1)[1])
    origin = loopback_origins(port)[origin_index]

    reply = await shared.member.put_chunk(file["id"], 0, b"12345678", origin=origin)

    assert reply.status == 200


# Membership


@pytest.fixture
async def outsider(server: RunningServer, new_device: NewDevice) -> Device:
    """A device with a live socket that never joined the shared session."""
    return await new_device(server, "outsider")


async def test_outsider_cannot_download(
    shared: SharedSession, outsider: Device
) -> None:
    file = await shared.member.upload(shared.session_id, "private.bin", b"secret")

    reply = await outsider.download(file["id"])
    head = await outsider.download(file["id"], method="HEAD")

    assert reply.status == 403
    assert reply.json().get("code") == "not_member"
    assert b"secret" not in reply.body
    assert head.status == 403


async def test_outsider_cannot_upload(shared: SharedSession, outsider: Device) -> None:
    file = await shared.member.start_upload(shared.session_id, "theirs.bin", 8)

    start = await outsider.start_uploads(
        shared.session_id, [{"name": "x.bin", "size": 1}]
    )
    put = await outsider.put_chunk(file["id"], 0, b"12345678")
    emitted = await outsider.emit_chunk(file["id"], 0, b"12345678")
    offset = await outsider.upload_offset(file["id"])

    assert start.get("code") == "not_member"
    assert put.status == 403
    assert put.json().get("code") == "not_member"
    assert emitted.get("code") == "not_member"
    assert offset.get("code") == "not_member"
    assert (await shared.member.upload_offset(file["id"])).get("offset") == 0


async def test_outsider_cannot_enter_room_by_id(
    shared: SharedSession, outsider: Device
) -> None:
    by_id = await outsider.call("session:join", {"session_id": shared.session_id})
    by_id_as_token = await outsider.call(
        "session:join", {"join_token": shared.session_id}
    )
    await shared.member.upload(shared.session_id, "watched.bin", b"watched")
    await shared.owner.log.wait_for("file:ready")

    assert by_id.get("ok") is False
    assert by_id_as_token.get("ok") is False
    assert outsider.log.all("upload:started") == []
    assert outsider.log.all("file:ready") == []


async def test_left_device_gets_no_events(shared: SharedSession) -> None:
    answer = await shared.owner.call("session:leave", {"session_id": shared.session_id})
    file = await shared.member.upload(shared.session_id, "after-leave.bin", b"x")
    await shared.member.log.wait_for("file:ready", for_file(file["id"]))

    assert answer.get("ok") is True
    assert shared.owner.log.all("file:ready", for_file(file["id"])) == []


async def test_only_uploader_sends_chunks(shared: SharedSession) -> None:
    payload = Stamped(MIB)
    file = await shared.member.start_upload(shared.session_id, "mine.bin", payload.size)

    put = await shared.owner.put_chunk(file["id"], 0, payload.read(0, 1024))
    emitted = await shared.owner.emit_chunk(file["id"], 0, payload.read(0, 1024))
    cancelled = await shared.owner.call("upload:cancel", {"file_id": file["id"]})

    assert put.status == 403
    assert put.json().get("code") == "not_allowed"
    assert emitted.get("code") == "not_allowed"
    assert cancelled.get("code") == "not_allowed"
    state = await shared.member.upload_offset(file["id"])
    assert state.get("offset") == 0
    assert state.get("state") == "uploading"


# Cookies and stored tokens


async def fetch_cookie(port: int) -> Morsel[str]:
    """Return the `ds_device` cookie that a first request to the server sets."""
    url = f"http://127.0.0.1:{port}/api/me"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        header = response.headers.get("Set-Cookie", "")
    return SimpleCookie(header)[COOKIE_NAME]


def lifetime_s(cookie: Morsel[str]) -> float:
    """Return how long a cookie lives, from `Max-Age` or else `Expires`."""
    if cookie["max-age"]:
        return float(cookie["max-age"])
    expires = parsedate_to_datetime(cookie["expires"])
    return expires.timestamp() - time.time()


async def test_cookie_attributes(server: RunningServer) -> None:
    cookie = await fetch_cookie(server.settings.port)

    assert len(cookie.value) >= 43, "256 random bits need 43 base64 characters"
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert not cookie["secure"]
    assert lifetime_s(cookie) >= 364 * 24 * 3600


async def test_cookie_secure_for_https(start_server: StartServer) -> None:
    server = await start_server(public_url="https://dropspace.example")

    cookie = await fetch_cookie(server.settings.port)

    assert cookie["secure"] is True


async def test_page_view_records_no_device(server: RunningServer) -> None:
    device = Device(server.base_url, "crawler")
    try:
        await device.open_lobby()
        before = (await device.request("GET", "/api/me")).json()
        await device.connect()
        after = (await device.request("GET", "/api/me")).json()
    finally:
        await device.close()

    assert before.get("device") is None
    assert after.get("device") is not None


async def test_raw_token_never_stored(
    shared: SharedSession, server: RunningServer
) -> None:
    tokens = [shared.owner.cookie, shared.member.cookie]

    stored = await all_values(server)
    # The SQLite files too, journal included; PostgreSQL keeps its own files.
    raw_files = b"".join(
        path.read_bytes()
        for path in server.data_dir.glob("dropspace.db*")
        if path.is_file()
    )

    for token in tokens:
        assert token
        assert token not in stored
        assert token.encode() not in raw_files
