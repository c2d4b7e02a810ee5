"""Self-service: password change, sign out everywhere, account deletion, devices."""

import asyncio

from tests.accounts import PASSWORD, me, sign_in, sign_up
from tests.content import KIB, Stamped
from tests.devices import Device, NewDevice, expect_ok, join_token_of
from tests.servers import RunningServer
from tests.sql import query

NEW_PASSWORD = "another long secret"


async def two_devices(
    server: RunningServer, new_device: NewDevice, username: str
) -> tuple[Device, Device]:
    """Sign one account in on two connected devices."""
    laptop = await new_device(server, "laptop", connect=False)
    phone = await new_device(server, "phone", connect=False)
    await sign_up(laptop, username)
    assert (await sign_in(phone, username)).status == 200
    await laptop.connect()
    await phone.connect()
    return laptop, phone


async def test_password_change_signs_out_others(
    server: RunningServer, new_device: NewDevice
) -> None:
    laptop, phone = await two_devices(server, new_device, "paula")
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}

    reply = await laptop.request("POST", "/api/password", json_body=body)

    assert expect_ok(reply.json(), "change password")["signed_out_devices"] == 1
    await asyncio.wait_for(phone.disconnected.wait(), timeout=10)
    assert phone.log.all("account:signed_out")
    assert (await me(phone))["account"] is None
    assert (await me(laptop))["account"]["username"] == "paula"
    assert (await sign_in(phone, "paula")).status == 401
    assert (await sign_in(phone, "paula", NEW_PASSWORD)).status == 200


async def test_password_change_needs_current(
    server: RunningServer, new_device: NewDevice
) -> None:
    laptop, phone = await two_devices(server, new_device, "quinn")
    body = {"current_password": "not the password", "new_password": NEW_PASSWORD}

    reply = await laptop.request("POST", "/api/password", json_body=body)

    assert reply.status == 401
    assert reply.json()["code"] == "invalid_credentials"
    assert (await me(phone))["account"]["username"] == "quinn"


async def test_password_change_checks_new_length(
    server: RunningServer, new_device: NewDevice
) -> None:
    laptop, _ = await two_devices(server, new_device, "rosa")
    body = {"current_password": PASSWORD, "new_password": "short"}

    reply = await laptop.request("POST", "/api/password", json_body=body)

    assert reply.status == 400
    assert reply.json()["code"] == "invalid_password"
    assert reply.json()["field"] == "new_password"


async def test_sign_out_everywhere(
    server: RunningServer, new_device: NewDevice
) -> None:
    laptop, phone = await two_devices(server, new_device, "sam")

    reply = await laptop.request("POST", "/api/signout-everywhere")

    assert expect_ok(reply.json(), "sign out everywhere")["signed_out_devices"] == 2
    await asyncio.wait_for(phone.disconnected.wait(), timeout=10)
    await asyncio.wait_for(laptop.disconnected.wait(), timeout=10)
    assert (await me(phone))["account"] is None
    assert (await me(laptop))["account"] is None


async def test_devices_listed_and_renamed(
    server: RunningServer, new_device: NewDevice
) -> None:
    laptop, phone = await two_devices(server, new_device, "tina")
    phone_id = (await me(phone))["device"]["id"]

    renamed = await laptop.request(
        "PATCH", f"/api/devices/{phone_id}", json_body={"label": "Tina's phone"}
    )
    listed = expect_ok(
        (await laptop.request("GET", "/api/devices")).json(), "list devices"
    )["devices"]

    assert renamed.status == 200
    labels = {item["id"]: item["label"] for item in listed}
    assert labels[phone_id] == "Tina's phone"
    assert len(labels) == 2
    assert [item["current"] for item in listed].count(True) == 1


async def test_device_label_from_user_agent(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "agent", connect=False)
    firefox = "Mozilla/5.0 (Android 14; Mobile; rv:126.0) Gecko/126.0 Firefox/126.0"
    await device.request("POST", "/api/guest", headers={"User-Agent": firefox})

    assert (await me(device))["device"]["label"] == "Firefox on Android"


async def test_rename_other_account_device_rejected(
    server: RunningServer, new_device: NewDevice
) -> None:
    mine = await new_device(server, "mine")
    theirs = await new_device(server, "theirs")
    await sign_up(mine, "uma")
    await sign_up(theirs, "victor")
    their_id = (await me(theirs))["device"]["id"]

    reply = await mine.request(
        "PATCH", f"/api/devices/{their_id}", json_body={"label": "taken over"}
    )

    assert reply.status == 403
    assert reply.json()["code"] == "not_allowed"
    assert (await me(theirs))["device"]["label"] != "taken over"


async def test_rename_bad_label_rejected(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "labels")
    await sign_up(device, "wendy")
    device_id = (await me(device))["device"]["id"]

    too_long = await device.request(
        "PATCH", f"/api/devices/{device_id}", json_body={"label": "x" * 101}
    )
    control = await device.request(
        "PATCH", f"/api/devices/{device_id}", json_body={"label": "bad\u0007"}
    )

    assert too_long.status == 400
    assert too_long.json()["code"] == "invalid_label"
    assert control.status == 400
    assert control.json()["code"] == "invalid_label"


async def test_account_deletion_leaves_nothing(
    server: RunningServer, new_device: NewDevice
) -> None:
    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    account_id = (await sign_up(owner, "xena"))["account"]["id"]
    await owner.connect()
    session = await owner.create_session("doomed")
    await owner.join(join_token_of(session))
    await member.join(join_token_of(session))
    await owner.upload(session["id"], "kept.bin", Stamped(64 * KIB))
    await member.start_upload(session["id"], "partial.bin", 64 * KIB)
    reply = await owner.request(
        "DELETE", "/api/account", json_body={"password": PASSWORD}
    )

    assert reply.status == 200
    await member.log.wait_for("session:ended")
    assert server.stored_files() == []
    assert (
        await query(server, "SELECT id FROM accounts WHERE id = :id", id=account_id)
        == []
    )
    assert await query(server, "SELECT id FROM sessions") == []
    assert await query(server, "SELECT id FROM files") == []
    assert await query(server, "SELECT session_id FROM memberships") == []
    assert (
        await query(
            server, "SELECT id FROM devices WHERE account_id = :id", id=account_id
        )
        == []
    )
    assert (await me(owner))["account"] is None


async def test_account_deletion_needs_password(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "careful")
    await sign_up(device, "yuri")

    reply = await device.request(
        "DELETE", "/api/account", json_body={"password": "not it at all"}
    )

    assert reply.status == 401
    assert reply.json()["code"] == "invalid_credentials"
    assert (await me(device))["account"]["username"] == "yuri"


async def test_guest_deletes_itself(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "guest")
    await device.start_guest()
    await device.create_session("guest session")

    reply = await device.request("DELETE", "/api/account")

    assert reply.status == 200
    assert await query(server, "SELECT id FROM accounts") == []
    assert await query(server, "SELECT id FROM sessions") == []


async def test_rename_label_at_max_length(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "long label")
    await device.start_guest()
    device_id = (await me(device))["device"]["id"]

    reply = await device.request(
        "PATCH", f"/api/devices/{device_id}", json_body={"label": "x" * 100}
    )

    assert reply.status == 200
    assert (await me(device))["device"]["label"] == "x" * 100
