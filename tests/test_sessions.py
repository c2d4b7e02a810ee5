"""Guest accounts, creating and joining sessions, and the session page."""

import json
import re

import pytest

from tests.devices import NewDevice, SharedSession, expect_ok, join_token_of
from tests.servers import RunningServer, StartServer

BOOTSTRAP = re.compile(
    r'<script id="bootstrap" type="application/json">(.*?)</script>', re.DOTALL
)


async def test_guest_account_and_plan(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "guest")
    settings = server.settings

    answer = await device.start_guest()
    again = await device.start_guest()

    assert answer["account"]["is_guest"] is True
    assert answer["account"]["username"] is None
    assert answer["account"]["expires_at"] is not None
    assert answer["plan"]["max_sessions"] == settings.guest_max_sessions
    assert answer["plan"]["capacity_bytes"] == settings.guest_capacity_bytes
    assert answer["plan"]["max_lifetime_s"] == settings.guest_max_lifetime_s
    assert again["account"]["id"] == answer["account"]["id"]


async def test_me_after_guest(server: RunningServer, new_device: NewDevice) -> None:
    device = await new_device(server, "guest")
    guest = await device.start_guest()

    me = expect_ok((await device.request("GET", "/api/me")).json(), "me")

    assert me["account"]["id"] == guest["account"]["id"]
    assert me["device"]["id"]
    assert me["plan"]["name"] == guest["plan"]["name"]


async def test_session_fields(shared: SharedSession, server: RunningServer) -> None:
    session = shared.session

    assert session["owner"] is True
    assert session["title"] == "Test session"
    assert session["join_url"] == f"{server.base_url}/s/{shared.join_token}"
    assert len(shared.join_token) >= 22, "128 random bits need 22 base64 characters"
    assert session["capacity_bytes"] == server.settings.guest_capacity_bytes
    assert session["used_bytes"] == 0
    lifetime_ms = session["expires_at"] - session["created_at"]
    assert abs(lifetime_ms - server.settings.guest_max_lifetime_s * 1000) <= 1000


async def test_session_join_ack(shared: SharedSession) -> None:
    ack = await shared.member.join(shared.join_token)
    limits = ack["limits"]

    assert ack["session"]["id"] == shared.session_id
    assert ack["session"]["owner"] is False
    assert ack["files"] == []
    assert set(limits) >= {
        "http_chunk_bytes",
        "socket_chunk_bytes",
        "socket_max_message_bytes",
        "max_http_chunk_bytes",
    }
    assert all(isinstance(value, int) and value > 0 for value in limits.values())
    assert limits["socket_chunk_bytes"] < limits["socket_max_message_bytes"]
    assert limits["http_chunk_bytes"] <= limits["max_http_chunk_bytes"]


async def test_session_list_owner_only(shared: SharedSession) -> None:
    owner_list = expect_ok(
        (await shared.owner.request("GET", "/api/sessions")).json(), ""
    )
    member_list = (await shared.member.request("GET", "/api/sessions")).json()

    assert [s["id"] for s in owner_list["sessions"]] == [shared.session_id]
    assert member_list.get("code") == "account_required"


async def test_session_requires_account(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "anonymous")

    reply = await device.request("POST", "/api/sessions", json_body={"title": "x"})

    assert reply.status == 401
    assert reply.json().get("code") == "account_required"


@pytest.mark.parametrize("lifetime_s", [59, 3601, 0, -5])
async def test_session_lifetime_rejected(
    server: RunningServer, new_device: NewDevice, lifetime_s: int
) -> None:
    device = await new_device(server, "guest")
    await device.start_guest()

    reply = await device.request(
        "POST", "/api/sessions", json_body={"lifetime_s": lifetime_s}
    )

    assert reply.status == 400
    assert reply.json().get("code") == "invalid_lifetime"
    assert reply.json().get("max_lifetime_s") == server.settings.guest_max_lifetime_s


async def test_session_lifetime_boundaries(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "guest")
    await device.start_guest()

    shortest = await device.create_session("short", lifetime_s=60)
    longest = await device.create_session("long", lifetime_s=3600)

    assert shortest["expires_at"] - shortest["created_at"] == pytest.approx(
        60_000, abs=1000
    )
    assert longest["expires_at"] - longest["created_at"] == pytest.approx(
        3_600_000, abs=1000
    )


@pytest.mark.parametrize("title", ["x" * 201, "line\nbreak", "bell\x07"])
async def test_session_title_rejected(
    server: RunningServer, new_device: NewDevice, title: str
) -> None:
    device = await new_device(server, "guest")
    await device.start_guest()

    reply = await device.request("POST", "/api/sessions", json_body={"title": title})

    assert reply.status == 400
    assert reply.json().get("code") == "invalid_title"


async def test_session_limit_reached(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_max_sessions=2)
    device = await new_device(server, "guest")
    await device.start_guest()
    await device.create_session("one")
    await device.create_session("two")

    reply = await device.request("POST", "/api/sessions", json_body={"title": "three"})

    assert reply.status == 429
    assert reply.json().get("code") == "session_limit"
    assert reply.json().get("max_sessions") == 2


async def test_session_page_bootstrap(
    shared: SharedSession, server: RunningServer
) -> None:
    reply = await shared.member.request("GET", f"/s/{shared.join_token}")

    assert reply.status == 200
    assert reply.headers.get("Content-Type", "").startswith("text/html")
    match = BOOTSTRAP.search(reply.body.decode())
    assert match is not None, "no bootstrap script in the session page"
    bootstrap = json.loads(match.group(1))
    assert bootstrap["join_token"] == shared.join_token
    assert bootstrap["public_url"] == server.base_url


async def test_lobby_page_bootstrap(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "lobby", connect=False)

    reply = await device.request("GET", "/")

    match = BOOTSTRAP.search(reply.body.decode())
    assert match is not None, "no bootstrap script in the lobby"
    bootstrap = json.loads(match.group(1))
    assert bootstrap["join_token"] is None
    assert bootstrap["account"] is None


async def test_unknown_join_link(shared: SharedSession) -> None:
    page = await shared.member.request("GET", "/s/no-such-session-token")
    join = await shared.member.call(
        "session:join", {"join_token": "no-such-session-token"}
    )

    assert page.status == 404
    assert join.get("code") == "not_found"


async def test_join_token_from_link(shared: SharedSession) -> None:
    session = await shared.owner.create_session("second")

    assert join_token_of(session) != shared.join_token
    ack = await shared.member.join(join_token_of(session))
    assert ack["session"]["id"] == session["id"]


async def test_qr_code_members_only(
    shared: SharedSession, server: RunningServer, new_device: NewDevice
) -> None:
    path = f"/api/sessions/{shared.session_id}/qr.svg"
    outsider = await new_device(server, "outsider")

    member_reply = await shared.member.request("GET", path)
    outsider_reply = await outsider.request("GET", path)

    assert member_reply.status == 200
    assert member_reply.headers.get("Content-Type", "").startswith("image/svg+xml")
    assert b"<svg" in member_reply.body
    assert outsider_reply.status == 403
    assert outsider_reply.json().get("code") == "not_member"
