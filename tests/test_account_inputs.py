"""Account inputs: body checks, clear messages, password normalisation, guest caps."""

import unicodedata

from tests.accounts import PASSWORD, sign_in, sign_up
from tests.devices import NewDevice, expect_ok, join_token_of
from tests.servers import RunningServer, StartServer


async def test_oversized_json_body_gets_json_error(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "big", connect=False)
    body = b'{"username": "' + b"a" * (1024 * 1024) + b'"}'

    reply = await device.request(
        "POST", "/api/signin", data=body, headers={"Content-Type": "application/json"}
    )

    assert reply.status == 413
    assert reply.json()["code"] == "body_too_large"
    assert reply.json()["max_bytes"] == 1024 * 1024


async def test_json_body_needs_json_content_type(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "form", connect=False)
    body = b'{"username": "kate", "password": "whatever password"}'

    reply = await device.request(
        "POST", "/api/signup", data=body, headers={"Content-Type": "text/plain"}
    )

    assert reply.status == 400
    assert reply.json()["code"] == "bad_request"
    assert "'text/plain'" in reply.json()["message"]
    assert "application/json" in reply.json()["message"]


async def test_account_deletion_names_its_field(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "holder", connect=False)
    await sign_up(device, "ingrid")

    wrong = await device.request(
        "DELETE", "/api/account", json_body={"password": "not the password"}
    )
    empty = await device.request("DELETE", "/api/account", json_body={})

    assert wrong.status == 401
    assert wrong.json()["field"] == "password"
    assert empty.status == 400
    assert empty.json()["code"] == "invalid_password"
    assert empty.json()["field"] == "password"
    assert "send your current password" in empty.json()["message"]


async def test_guest_refusal_offers_only_what_exists(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_accounts=False, signup_open=False)
    device = await new_device(server, "visitor", connect=False)

    reply = await device.request("POST", "/api/guest")

    assert reply.json()["code"] == "guests_disabled"
    assert "create an account" not in reply.json()["message"]
    assert "sign in" in reply.json()["message"]


async def test_lifetime_messages(server: RunningServer, new_device: NewDevice) -> None:
    device = await new_device(server, "owner", connect=False)
    await device.start_guest()
    messages = []
    for raw in ("100", 1.5, "x"):
        reply = await device.request(
            "POST", "/api/sessions", json_body={"lifetime_s": raw}
        )
        assert reply.json()["code"] == "invalid_lifetime"
        messages.append(reply.json()["message"])
    session = await device.create_session("Full", lifetime_s=3600)
    extend = await device.request(
        "POST",
        f"/api/sessions/{session['id']}/extend",
        json_body={"lifetime_s": 3600},
    )

    assert all("whole number" in message for message in messages)
    assert extend.json()["code"] == "invalid_lifetime"
    assert "3600 to 3600" not in extend.json()["message"]
    assert "cannot be extended" in extend.json()["message"]


async def test_label_message_shows_the_value(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "labeller", connect=False)
    await device.start_guest()
    me = (await device.request("GET", "/api/me")).json()

    reply = await device.request(
        "PATCH", f"/api/devices/{me['device']['id']}", json_body={"label": "   "}
    )

    assert reply.json()["code"] == "invalid_label"
    assert "'   '" in reply.json()["message"]


async def test_password_forms_match_after_normalisation(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "accented", connect=False)
    composed = "café crème brûlée"
    await sign_up(device, "celine", unicodedata.normalize("NFD", composed))
    await device.request("POST", "/api/signout")

    assert (await sign_in(device, "celine", composed)).status == 200


async def test_password_length_counts_composed_characters(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "long", connect=False)
    decomposed = unicodedata.normalize("NFD", "é" * 1024)
    assert len(decomposed) == 2048

    reply = await device.request(
        "POST",
        "/api/signup",
        json_body={"username": "longpass", "password": decomposed},
    )

    assert reply.status == 200


async def test_guest_session_ends_with_the_account(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_account_ttl_s=600, guest_max_lifetime_s=3600)
    device = await new_device(server, "short guest", connect=False)
    account = (await device.start_guest())["account"]

    session = await device.create_session("Default lifetime")
    await device.connect()
    await device.join(join_token_of(session))
    extended = await device.request(
        "POST",
        f"/api/sessions/{session['id']}/extend",
        json_body={"lifetime_s": 3600},
    )

    assert session["expires_at"] <= account["expires_at"]
    updated = expect_ok(extended.json(), "extend")["session"]
    assert updated["expires_at"] <= account["expires_at"]


async def test_sign_up_still_works_with_plain_password(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "plain", connect=False)

    await sign_up(device, "plainuser", PASSWORD)
    await device.request("POST", "/api/signout")

    assert (await sign_in(device, "plainuser")).status == 200
