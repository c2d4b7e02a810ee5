"""Signed-out devices and planted tokens keep no access to an account's sessions."""

import asyncio

from tests.accounts import PASSWORD, sign_in, sign_up
from tests.devices import Device, NewDevice, expect_ok, join_token_of
from tests.servers import RunningServer

NEW_PASSWORD = "another long secret"


async def lost_phone(
    server: RunningServer, new_device: NewDevice, username: str
) -> tuple[Device, Device, dict[str, str], str]:
    """An account on a laptop and a phone, with a session both joined and a file."""
    laptop = await new_device(server, "laptop", connect=False)
    phone = await new_device(server, "phone", connect=False)
    await sign_up(laptop, username)
    assert (await sign_in(phone, username)).status == 200
    await laptop.connect()
    await phone.connect()
    session = await laptop.create_session("Private")
    await laptop.join(join_token_of(session))
    await phone.join(join_token_of(session))
    file = await laptop.upload(session["id"], "secret.txt", b"top secret")
    return laptop, phone, session, file["id"]


async def test_password_change_ends_other_devices_access(
    server: RunningServer, new_device: NewDevice
) -> None:
    laptop, phone, session, file_id = await lost_phone(server, new_device, "lena")
    old_cookie = phone.cookie
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}

    expect_ok(
        (await laptop.request("POST", "/api/password", json_body=body)).json(),
        "change password",
    )
    await asyncio.wait_for(phone.disconnected.wait(), timeout=10)
    download = await phone.download(file_id)
    await laptop.connect()
    await phone.connect()
    rejoin = await phone.call("session:join", {"join_token": join_token_of(session)})
    members = await laptop.call("member:list", {"session_id": session["id"]})

    assert phone.cookie == old_cookie
    assert download.status == 403
    assert download.json()["code"] == "not_member"
    assert rejoin["code"] == "not_member"
    assert [member["device_id"] for member in members["members"]] == [
        (await laptop.request("GET", "/api/me")).json()["device"]["id"]
    ]


async def test_sign_in_again_restores_access(
    server: RunningServer, new_device: NewDevice
) -> None:
    laptop, phone, session, file_id = await lost_phone(server, new_device, "mira")
    await laptop.request("POST", "/api/signout-everywhere")
    await asyncio.wait_for(phone.disconnected.wait(), timeout=10)

    assert (await sign_in(phone, "mira")).status == 200
    await phone.connect()
    rejoin = await phone.call("session:join", {"join_token": join_token_of(session)})
    laptop_rejoin_status = (await laptop.download(file_id)).status

    assert rejoin["ok"] is True
    assert (await phone.download(file_id)).status == 200
    assert laptop_rejoin_status == 200


async def test_planted_token_does_not_get_the_guest(
    server: RunningServer, new_device: NewDevice
) -> None:
    victim = await new_device(server, "victim", connect=False)
    planted = victim.cookie
    assert planted is not None

    await victim.start_guest()
    await victim.create_session("Victim's own")
    attacker = await new_device(server, "attacker", connect=False)
    listed = await attacker.request("GET", "/api/sessions", headers={}, cookie=False)
    with_planted = await attacker.request(
        "GET",
        "/api/sessions",
        headers={"Cookie": f"ds_device={planted}"},
        cookie=False,
    )

    assert victim.cookie != planted
    assert listed.status == 401
    assert with_planted.status == 401
    assert with_planted.json()["code"] in {"device_required", "account_required"}


async def test_signed_out_browser_leaves_account_sessions(
    server: RunningServer, new_device: NewDevice
) -> None:
    laptop, phone, session, file_id = await lost_phone(server, new_device, "nora")
    phone_id = (await phone.request("GET", "/api/me")).json()["device"]["id"]

    signed_out = await phone.request("POST", "/api/signout")
    await asyncio.wait_for(phone.disconnected.wait(), timeout=10)
    download = await phone.download(file_id)
    await phone.connect()
    rejoin = await phone.call("session:join", {"join_token": join_token_of(session)})
    members = await laptop.call("member:list", {"session_id": session["id"]})

    assert signed_out.status == 200
    assert download.status == 403
    assert download.json()["code"] == "not_member"
    assert rejoin["code"] == "not_member"
    assert phone_id not in [member["device_id"] for member in members["members"]]

    assert (await sign_in(phone, "nora")).status == 200
    await phone.connect()
    back = await phone.call("session:join", {"join_token": join_token_of(session)})
    assert back["ok"] is True
    assert (await phone.download(file_id)).status == 200
