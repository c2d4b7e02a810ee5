"""Every error path the suite can reach returns the one error shape.

The shape is `{ok: false, code, message, ...}` with the code's HTTP status
and extra fields from the protocol's error table, over HTTP and in Socket.IO
acknowledgements alike.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.content import MIB, Stamped
from tests.devices import (
    FOREIGN_ORIGIN,
    Device,
    NewDevice,
    Reply,
    SharedSession,
    SocketRejected,
    expect_ok,
)
from tests.rawhttp import RawConnection
from tests.servers import RunningServer

# code: (HTTP status, extra fields)
ERROR_TABLE: dict[str, tuple[int, tuple[str, ...]]] = {
    "bad_request": (400, ()),
    "invalid_name": (400, ("index",)),
    "invalid_size": (400, ("index",)),
    "invalid_lifetime": (400, ("max_lifetime_s",)),
    "invalid_title": (400, ()),
    "invalid_username": (400, ()),
    "invalid_password": (400, ("field",)),
    "invalid_label": (400, ()),
    "invalid_credentials": (401, ()),
    "signup_closed": (403, ()),
    "guests_disabled": (403, ()),
    "username_taken": (409, ("username",)),
    "not_guest": (409, ()),
    "device_required": (401, ()),
    "account_required": (401, ()),
    "not_member": (403, ()),
    "not_allowed": (403, ()),
    "origin_not_allowed": (403, ()),
    "not_found": (404, ()),
    "offset_mismatch": (409, ("offset",)),
    "upload_incomplete": (409, ("offset", "size")),
    "upload_not_active": (409, ("state",)),
    "checksum_mismatch": (422, ("expected", "actual")),
    "chunk_too_large": (413, ("max_bytes",)),
    "body_too_large": (413, ("max_bytes",)),
    "size_exceeded": (413, ("offset", "size")),
    "capacity_exceeded": (413, ("free_bytes",)),
    "session_limit": (429, ("max_sessions",)),
    "session_ended": (410, ()),
    "rate_limited": (429, ("retry_after_s",)),
    "length_required": (411, ()),
    "service_unavailable": (503, ()),
}


@dataclass
class Outcome:
    """An error as received: HTTP status (None for Socket.IO) and body."""

    status: int | None
    body: dict[str, Any]


@dataclass
class ErrorWorld:
    """A shared session with one complete and one uploading file, and an outsider."""

    server: RunningServer
    shared: SharedSession
    outsider: Device
    complete_id: str
    uploading_id: str

    @property
    def owner(self) -> Device:
        return self.shared.owner

    @property
    def member(self) -> Device:
        return self.shared.member


Trigger = Callable[[ErrorWorld], Awaitable[Outcome]]
CASES: dict[str, tuple[str, Trigger]] = {}


def case(name: str, code: str) -> Callable[[Trigger], Trigger]:
    """Register a trigger that must produce the error `code`."""

    def register(trigger: Trigger) -> Trigger:
        CASES[name] = (code, trigger)
        return trigger

    return register


def http(reply: Reply) -> Outcome:
    return Outcome(reply.status, reply.json())


def first_entry(ack: dict[str, Any]) -> Outcome:
    """Return the first per-file entry of an `upload:start` acknowledgement."""
    return Outcome(None, expect_ok(ack, "start")["files"][0])


@pytest.fixture
async def world(
    shared: SharedSession, server: RunningServer, new_device: NewDevice
) -> ErrorWorld:
    complete = await shared.member.upload(shared.session_id, "done.txt", b"done")
    uploading = await shared.member.start_upload(shared.session_id, "half.bin", MIB)
    outsider = await new_device(server, "outsider")
    return ErrorWorld(server, shared, outsider, complete["id"], uploading["id"])


# HTTP


@case("http-malformed-json", "bad_request")
async def malformed_json(w: ErrorWorld) -> Outcome:
    headers = {"Content-Type": "application/json"}
    return http(
        await w.owner.request("POST", "/api/sessions", data=b"{oops", headers=headers)
    )


@case("http-lifetime-short", "invalid_lifetime")
async def lifetime_short(w: ErrorWorld) -> Outcome:
    return http(
        await w.owner.request("POST", "/api/sessions", json_body={"lifetime_s": 10})
    )


@case("http-title-long", "invalid_title")
async def title_long(w: ErrorWorld) -> Outcome:
    return http(
        await w.owner.request("POST", "/api/sessions", json_body={"title": "t" * 201})
    )


@case("http-no-account", "account_required")
async def no_account(w: ErrorWorld) -> Outcome:
    return http(await w.member.request("POST", "/api/sessions", json_body={}))


@case("http-outsider-download", "not_member")
async def outsider_download(w: ErrorWorld) -> Outcome:
    return http(await w.outsider.download(w.complete_id))


@case("http-member-deletes-session", "not_allowed")
async def member_deletes_session(w: ErrorWorld) -> Outcome:
    return http(
        await w.member.request("DELETE", f"/api/sessions/{w.shared.session_id}")
    )


@case("http-foreign-origin", "origin_not_allowed")
async def foreign_origin(w: ErrorWorld) -> Outcome:
    return http(
        await w.member.put_chunk(w.uploading_id, 0, b"x", origin=FOREIGN_ORIGIN)
    )


@case("http-unknown-file", "not_found")
async def unknown_file(w: ErrorWorld) -> Outcome:
    return http(await w.owner.download("no-such-file-id"))


@case("http-unknown-session", "not_found")
async def unknown_session(w: ErrorWorld) -> Outcome:
    return http(await w.owner.request("DELETE", "/api/sessions/no-such-session-id"))


@case("http-chunk-unknown-file", "not_found")
async def chunk_unknown_file(w: ErrorWorld) -> Outcome:
    return http(await w.member.put_chunk("no-such-file-id", 0, b"x"))


@case("http-wrong-offset", "offset_mismatch")
async def wrong_offset(w: ErrorWorld) -> Outcome:
    return http(await w.member.put_chunk(w.uploading_id, 5, b"x"))


@case("http-negative-offset", "bad_request")
async def negative_offset(w: ErrorWorld) -> Outcome:
    return http(await w.member.put_chunk(w.uploading_id, -1, b"x"))


@case("http-missing-offset", "bad_request")
async def missing_offset(w: ErrorWorld) -> Outcome:
    return http(
        await w.member.request("PUT", f"/api/files/{w.uploading_id}", data=b"x")
    )


@case("http-chunk-complete-file", "upload_not_active")
async def chunk_complete_file(w: ErrorWorld) -> Outcome:
    return http(await w.member.put_chunk(w.complete_id, 4, b"x"))


@case("http-past-size", "size_exceeded")
async def past_size(w: ErrorWorld) -> Outcome:
    return http(await w.member.put_chunk(w.uploading_id, 0, bytes(MIB + 1)))


@case("http-no-content-length", "length_required")
async def no_content_length(w: ErrorWorld) -> Outcome:
    connection = await RawConnection.open(w.server.base_url)
    await connection.send_head(
        "PUT",
        f"/api/files/{w.uploading_id}?offset=0",
        {
            "Host": f"127.0.0.1:{w.server.settings.port}",
            "Cookie": f"ds_device={w.member.cookie}",
            "Transfer-Encoding": "chunked",
        },
    )
    await connection.send(b"1\r\nx\r\n0\r\n\r\n")
    reply = await connection.read_reply()
    await connection.close()
    return Outcome(reply.status, Reply(reply.status, reply.headers, reply.body).json())


@case("http-session-limit", "session_limit")
async def session_limit(w: ErrorWorld) -> Outcome:
    for _ in range(w.server.settings.guest_max_sessions - 1):
        await w.owner.create_session("more")
    return http(await w.owner.request("POST", "/api/sessions", json_body={}))


@case("http-ended-download", "session_ended")
async def ended_download(w: ErrorWorld) -> Outcome:
    expect_ok(
        await w.owner.call("session:delete", {"session_id": w.shared.session_id}), ""
    )
    return http(await w.member.download(w.complete_id))


# Socket.IO


@case("socket-no-cookie", "device_required")
async def socket_no_cookie(w: ErrorWorld) -> Outcome:
    try:
        await w.outsider.connect(cookie=None)
    except SocketRejected as rejected:
        return Outcome(None, rejected.error or {})
    raise AssertionError("a connection without a cookie was accepted")


@case("socket-foreign-origin", "origin_not_allowed")
async def socket_foreign_origin(w: ErrorWorld) -> Outcome:
    try:
        await w.outsider.connect(origin=FOREIGN_ORIGIN)
    except SocketRejected as rejected:
        return Outcome(None, rejected.error or {})
    raise AssertionError("a connection from a foreign origin was accepted")


@case("socket-join-no-token", "bad_request")
async def join_no_token(w: ErrorWorld) -> Outcome:
    return Outcome(None, await w.member.call("session:join", {}))


@case("socket-start-no-session", "bad_request")
async def start_no_session(w: ErrorWorld) -> Outcome:
    return Outcome(None, await w.member.call("upload:start", {"files": []}))


@case("socket-chunk-text-data", "bad_request")
async def chunk_text_data(w: ErrorWorld) -> Outcome:
    payload = {"file_id": w.uploading_id, "offset": 0, "data": "not bytes"}
    return Outcome(None, await w.member.call("upload:chunk", payload))


@case("socket-join-unknown", "not_found")
async def join_unknown(w: ErrorWorld) -> Outcome:
    return Outcome(None, await w.member.call("session:join", {"join_token": "nope"}))


@case("socket-offset-unknown", "not_found")
async def offset_unknown(w: ErrorWorld) -> Outcome:
    return Outcome(None, await w.member.upload_offset("no-such-file-id"))


@case("socket-empty-name", "invalid_name")
async def empty_name(w: ErrorWorld) -> Outcome:
    files = [{"name": "", "size": 1}]
    return first_entry(await w.member.start_uploads(w.shared.session_id, files))


@pytest.mark.parametrize("size", [-1, "10", 1.5, None])
async def test_invalid_size_shape(world: ErrorWorld, size: object) -> None:
    files = [{"name": "ok.txt", "size": 1}, {"name": "bad.bin", "size": size}]

    ack = expect_ok(
        await world.member.start_uploads(world.shared.session_id, files), ""
    )

    assert ack["files"][0].get("state") == "uploading"
    assert_error_shape(Outcome(None, ack["files"][1]), "invalid_size")
    assert ack["files"][1]["index"] == 1


@case("socket-over-capacity", "capacity_exceeded")
async def over_capacity(w: ErrorWorld) -> Outcome:
    size = w.server.settings.guest_capacity_bytes + 1
    files = [{"name": "huge.bin", "size": size}]
    return first_entry(await w.member.start_uploads(w.shared.session_id, files))


@case("socket-outsider-start", "not_member")
async def outsider_start(w: ErrorWorld) -> Outcome:
    files = [{"name": "x.txt", "size": 1}]
    return Outcome(None, await w.outsider.start_uploads(w.shared.session_id, files))


@case("socket-owner-chunk", "not_allowed")
async def owner_chunk(w: ErrorWorld) -> Outcome:
    return Outcome(None, await w.owner.emit_chunk(w.uploading_id, 0, b"x"))


@case("socket-chunk-too-large", "chunk_too_large")
async def chunk_too_large(w: ErrorWorld) -> Outcome:
    data = bytes(w.member.limits["socket_chunk_bytes"] + 1)
    return Outcome(None, await w.member.emit_chunk(w.uploading_id, 0, data))


@case("socket-wrong-offset", "offset_mismatch")
async def socket_wrong_offset(w: ErrorWorld) -> Outcome:
    await w.member.emit_chunk(w.uploading_id, 0, b"abc")
    return Outcome(None, await w.member.emit_chunk(w.uploading_id, 1, b"x"))


@case("socket-finish-early", "upload_incomplete")
async def finish_early(w: ErrorWorld) -> Outcome:
    return Outcome(None, await w.member.finish(w.uploading_id))


@case("socket-finish-twice", "upload_not_active")
async def finish_twice(w: ErrorWorld) -> Outcome:
    return Outcome(None, await w.member.finish(w.complete_id))


@case("socket-checksum", "checksum_mismatch")
async def checksum(w: ErrorWorld) -> Outcome:
    payload = Stamped(100)
    file = await w.member.start_upload(w.shared.session_id, "bad.bin", 100, "f" * 64)
    await w.member.send_range(file["id"], payload, "socket")
    return Outcome(None, await w.member.finish(file["id"]))


@case("socket-ended-join", "session_ended")
async def ended_join(w: ErrorWorld) -> Outcome:
    expect_ok(
        await w.owner.call("session:delete", {"session_id": w.shared.session_id}), ""
    )
    return Outcome(
        None, await w.member.call("session:join", {"join_token": w.shared.join_token})
    )


ACCOUNT = {"username": "errors", "password": "long enough password"}


@case("http-bad-username", "invalid_username")
async def bad_username(w: ErrorWorld) -> Outcome:
    body = {"username": "x", "password": "long enough password"}
    return http(await w.outsider.request("POST", "/api/signup", json_body=body))


@case("http-short-password", "invalid_password")
async def short_password(w: ErrorWorld) -> Outcome:
    body = {"username": "shorty", "password": "short"}
    return http(await w.outsider.request("POST", "/api/signup", json_body=body))


@case("http-wrong-password", "invalid_credentials")
async def wrong_password(w: ErrorWorld) -> Outcome:
    return http(await w.outsider.request("POST", "/api/signin", json_body=ACCOUNT))


@case("http-username-taken", "username_taken")
async def username_taken(w: ErrorWorld) -> Outcome:
    await w.outsider.request("POST", "/api/signup", json_body=ACCOUNT)
    return http(await w.member.request("POST", "/api/signup", json_body=ACCOUNT))


@case("http-upgrade-full-account", "not_guest")
async def upgrade_full(w: ErrorWorld) -> Outcome:
    await w.outsider.request("POST", "/api/signup", json_body=ACCOUNT)
    body = {"username": "another", "password": "long enough password"}
    return http(await w.outsider.request("POST", "/api/upgrade", json_body=body))


@case("http-empty-label", "invalid_label")
async def empty_label(w: ErrorWorld) -> Outcome:
    device_id = (await w.owner.request("GET", "/api/me")).json()["device"]["id"]
    path = f"/api/devices/{device_id}"
    return http(await w.owner.request("PATCH", path, json_body={"label": " "}))


@case("http-extend-too-long", "invalid_lifetime")
async def extend_too_long(w: ErrorWorld) -> Outcome:
    path = f"/api/sessions/{w.shared.session_id}/extend"
    body = {"lifetime_s": 10**9}
    return http(await w.owner.request("POST", path, json_body=body))


def assert_error_shape(outcome: Outcome, code: str) -> None:
    body = outcome.body
    assert body.get("ok") is False, body
    assert body.get("code") in ERROR_TABLE, body
    assert body.get("code") == code, body
    assert isinstance(body.get("message"), str), body
    assert body["message"].strip(), body
    status, fields = ERROR_TABLE[code]
    if outcome.status is not None:
        assert outcome.status == status, (outcome.status, body)
    missing = [field for field in fields if field not in body]
    assert missing == [], f"{code} lacks {missing}: {body}"


@pytest.mark.parametrize("name", list(CASES))
async def test_error_shape(world: ErrorWorld, name: str) -> None:
    code, trigger = CASES[name]

    outcome = await trigger(world)

    assert_error_shape(outcome, code)
