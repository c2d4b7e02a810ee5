"""Accounts: sign-up, sign-in, sign-out, guests and their upgrade."""

import asyncio
from http.cookies import SimpleCookie

import pytest
from argon2 import PasswordHasher
from yarl import URL

from tests.accounts import PASSWORD, me, sign_in, sign_up
from tests.devices import (
    COOKIE_NAME,
    FOREIGN_ORIGIN,
    NewDevice,
    Reply,
    expect_ok,
)
from tests.servers import RunningServer, StartServer
from tests.sql import query, write


def set_cookie(reply: Reply) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    for header in reply.headers.getall("Set-Cookie", []):
        cookie.load(header)
    return cookie


# Sign-up, sign-in, sign-out


async def test_signup_gives_free_account(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "alice")

    body = await sign_up(device, "Alice")

    assert body["account"]["username"] == "alice"
    assert body["account"]["is_guest"] is False
    assert body["account"]["expires_at"] is None
    assert body["plan"]["name"] == "free"
    assert (await me(device))["account"]["id"] == body["account"]["id"]


async def test_signin_on_second_device(
    server: RunningServer, new_device: NewDevice
) -> None:
    laptop = await new_device(server, "laptop")
    phone = await new_device(server, "phone")
    created = await sign_up(laptop, "bob")

    reply = await sign_in(phone, "BOB")

    assert reply.status == 200
    assert reply.json()["account"]["id"] == created["account"]["id"]
    assert (await me(phone))["account"]["username"] == "bob"


async def test_signout_revokes_token(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "leaving")
    await sign_up(device, "carol")
    copy = await new_device(server, "copy", connect=False)
    copy.http.cookie_jar.update_cookies(
        {COOKIE_NAME: device.cookie}, URL(server.base_url)
    )

    reply = await device.request("POST", "/api/signout")

    assert reply.status == 200
    assert (await me(device))["account"] is None
    assert (await me(copy))["device"] is None
    assert (await me(copy))["account"] is None


async def test_signout_disconnects_device_sockets(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "tab one")
    await sign_up(device, "dave")
    other_tab = await new_device(server, "tab two", connect=False)
    other_tab.http.cookie_jar.update_cookies(
        {COOKIE_NAME: device.cookie}, URL(server.base_url)
    )
    await other_tab.connect()

    await device.request("POST", "/api/signout")

    await asyncio.wait_for(device.disconnected.wait(), timeout=10)
    await asyncio.wait_for(other_tab.disconnected.wait(), timeout=10)


async def test_unknown_user_and_wrong_password_match(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "guesser")
    await sign_up(device, "erin")
    await device.request("POST", "/api/signout")

    unknown = await sign_in(device, "nobody-here")
    wrong = await sign_in(device, "erin", "wrong password")

    assert unknown.status == wrong.status == 401
    assert unknown.json() == wrong.json()
    assert wrong.json()["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("length", "status"),
    [(7, 400), (8, 200), (1024, 200), (1025, 400)],
    ids=["7-short", "8-min", "1024-max", "1025-long"],
)
async def test_signup_password_length_bounds(
    server: RunningServer, new_device: NewDevice, length: int, status: int
) -> None:
    device = await new_device(server, "lengths")
    body = {"username": f"len{length}", "password": "p" * length}

    reply = await device.request("POST", "/api/signup", json_body=body)

    assert reply.status == status
    if status == 400:
        assert reply.json()["code"] == "invalid_password"


async def test_signin_overlong_password_rejected(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "long")

    reply = await sign_in(device, "anyone", "p" * 1025)

    assert reply.status == 400
    assert reply.json()["code"] == "invalid_password"
    assert "1025" in reply.json()["message"]


@pytest.mark.parametrize("username", ["ab", "a" * 33, "has space", "-dash", 5])
async def test_signup_bad_username_rejected(
    server: RunningServer, new_device: NewDevice, username: object
) -> None:
    device = await new_device(server, "names")
    body = {"username": username, "password": PASSWORD}

    reply = await device.request("POST", "/api/signup", json_body=body)

    assert reply.status == 400
    assert reply.json()["code"] == "invalid_username"


async def test_signup_taken_username_rejected(
    server: RunningServer, new_device: NewDevice
) -> None:
    first = await new_device(server, "first")
    second = await new_device(server, "second")
    await sign_up(first, "frank")

    body = {"username": "FRANK", "password": PASSWORD}
    reply = await second.request("POST", "/api/signup", json_body=body)

    assert reply.status == 409
    assert reply.json()["code"] == "username_taken"


async def test_signin_rehashes_old_parameters(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "old hash")
    await sign_up(device, "grace")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    await write(
        server,
        "UPDATE accounts SET password_hash = :hash WHERE username = 'grace'",
        hash=weak.hash(PASSWORD),
    )

    reply = await sign_in(device, "grace")

    assert reply.status == 200
    [(stored,)] = await query(
        server, "SELECT password_hash FROM accounts WHERE username='grace'"
    )
    assert not PasswordHasher().check_needs_rehash(stored)
    assert stored.startswith("$argon2id$")


# Settings that close sign-up and guests


async def test_closed_signup_rejected(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(signup_open=False)
    device = await new_device(server, "closed")
    await device.start_guest()
    body = {"username": "henry", "password": PASSWORD}

    signup = await device.request("POST", "/api/signup", json_body=body)
    upgrade = await device.request("POST", "/api/upgrade", json_body=body)

    assert signup.status == 403
    assert signup.json()["code"] == "signup_closed"
    assert upgrade.status == 403
    assert upgrade.json()["code"] == "signup_closed"


async def test_disabled_guests_rejected(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_accounts=False)
    device = await new_device(server, "no guests")

    reply = await device.request("POST", "/api/guest")

    assert reply.status == 403
    assert reply.json()["code"] == "guests_disabled"


# Guests


async def test_page_view_creates_no_guest(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "viewer")

    await device.request("GET", "/")
    await device.request("GET", "/signin")

    assert (await me(device))["account"] is None
    assert await query(server, "SELECT id FROM accounts") == []


async def test_returning_browser_reuses_guest(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "returning")

    first = await device.start_guest()
    second = await device.start_guest()

    assert first["account"]["id"] == second["account"]["id"]
    assert len(await query(server, "SELECT id FROM accounts")) == 1


async def test_guest_upgrade_keeps_sessions(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "upgrader")
    guest = await device.start_guest()
    session = await device.create_session("kept")
    old_cookie = device.cookie

    body = {"username": "ivy", "password": PASSWORD}
    reply = await device.request("POST", "/api/upgrade", json_body=body)
    upgraded = expect_ok(reply.json(), "upgrade")
    listed = expect_ok((await device.request("GET", "/api/sessions")).json(), "list")[
        "sessions"
    ]

    assert upgraded["account"]["id"] == guest["account"]["id"]
    assert upgraded["account"]["is_guest"] is False
    assert upgraded["account"]["expires_at"] is None
    assert upgraded["plan"]["name"] == "free"
    assert [item["id"] for item in listed] == [session["id"]]
    assert device.cookie != old_cookie


async def test_upgrade_of_full_account_rejected(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "full")
    await sign_up(device, "jack")

    body = {"username": "jack2", "password": PASSWORD}
    reply = await device.request("POST", "/api/upgrade", json_body=body)

    assert reply.status == 409
    assert reply.json()["code"] == "not_guest"


# Tokens, cookies and cross-site requests


async def test_planted_token_not_adopted(
    server: RunningServer, new_device: NewDevice
) -> None:
    attacker = await new_device(server, "attacker")
    planted = attacker.cookie
    victim = await new_device(server, "victim", connect=False)
    victim.http.cookie_jar.update_cookies({COOKIE_NAME: planted}, URL(server.base_url))

    await sign_up(victim, "kate")

    assert victim.cookie != planted
    assert (await me(victim))["account"]["username"] == "kate"
    assert (await me(attacker))["account"] is None
    await asyncio.wait_for(attacker.disconnected.wait(), timeout=10)


@pytest.mark.parametrize(
    "path", ["/api/signin", "/api/signup", "/api/signout", "/api/password"]
)
async def test_cross_site_post_refused(
    server: RunningServer, new_device: NewDevice, path: str
) -> None:
    device = await new_device(server, "cross")
    body = {"username": "lena", "password": PASSWORD}

    by_origin = await device.request(
        "POST", path, json_body=body, origin=FOREIGN_ORIGIN
    )
    by_fetch_site = await device.request(
        "POST",
        path,
        json_body=body,
        origin=None,
        headers={"Sec-Fetch-Site": "cross-site"},
    )

    assert by_origin.status == 403
    assert by_origin.json()["code"] == "origin_not_allowed"
    assert by_fetch_site.status == 403
    assert by_fetch_site.json()["code"] == "origin_not_allowed"
    assert await query(server, "SELECT id FROM accounts") == []


async def test_same_origin_fetch_site_accepted(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "same")

    reply = await device.request(
        "POST", "/api/guest", headers={"Sec-Fetch-Site": "same-origin"}
    )

    assert reply.status == 200


async def test_signin_cookie_attributes(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "cookies")
    await sign_up(device, "mona")
    await device.request("POST", "/api/signout")

    reply = await sign_in(device, "mona")
    cookie = set_cookie(reply)[COOKIE_NAME]

    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert not cookie["secure"]


@pytest.mark.parametrize(
    ("proxies", "secure"),
    [("127.0.0.1", True), ("192.0.2.1", False)],
    ids=["trusted", "untrusted"],
)
async def test_forwarded_proto_sets_secure(
    start_server: StartServer, new_device: NewDevice, proxies: str, secure: bool
) -> None:
    server = await start_server(trusted_proxies=proxies)
    device = await new_device(server, "behind proxy")
    body = {"username": "nina", "password": PASSWORD}

    reply = await device.request(
        "POST",
        "/api/signup",
        json_body=body,
        headers={"X-Forwarded-Proto": "https"},
    )

    assert reply.status == 200
    assert bool(set_cookie(reply)[COOKIE_NAME]["secure"]) is secure


@pytest.mark.parametrize("length", [3, 32])
async def test_signup_username_length_bounds(
    server: RunningServer, new_device: NewDevice, length: int
) -> None:
    device = await new_device(server, "name bounds")

    body = await sign_up(device, "u" * length)

    assert body["account"]["username"] == "u" * length
