"""Pairing offers: a pull uses up all of the device's codes, and issuing is limited."""

import asyncio

import pytest

from tests.devices import NewDevice, SocketRejected, expect_ok
from tests.pairing import link_token_of, lobby_offer, redeem
from tests.servers import RunningServer, StartServer
from tests.test_pairing import owner_with_session


async def rotated_offers(
    new_device: NewDevice, server: RunningServer
) -> tuple[dict, dict]:
    """Return a lobby's older and newer offers while both are live."""
    lobby = await new_device(server, "lobby")
    older = await lobby_offer(lobby)
    # Sleep past the rotation moment; the server reads its clock a little later.
    await asyncio.sleep((older["rotate_at"] - older["server_now"] + 100) / 1000)
    newer = await lobby_offer(lobby)
    assert newer["code"] != older["code"]
    return older, newer


@pytest.mark.parametrize("by", ["code", "link"])
async def test_pull_with_older_offer_retires_newer(
    start_server: StartServer, new_device: NewDevice, by: str
) -> None:
    # A 6 s offer rotates after 4 s and stays live 2 s more.
    server = await start_server(pairing_code_ttl_s=6)
    first, first_session = await owner_with_session(new_device, server, "first")
    second, second_session = await owner_with_session(new_device, server, "second")
    older, newer = await rotated_offers(new_device, server)

    if by == "code":
        pulled = await redeem(first, first_session["id"], older["code"])
    else:
        pulled = await first.call(
            "pairing:pull",
            {"link_token": link_token_of(older), "session_id": first_session["id"]},
        )
    by_code = await redeem(second, second_session["id"], newer["code"])
    by_link = await second.call(
        "pairing:pull",
        {"link_token": link_token_of(newer), "session_id": second_session["id"]},
    )

    assert pulled["ok"] is True
    assert by_code["code"] == "code_rejected"
    assert by_link["code"] == "code_rejected"


async def test_new_devices_are_limited_per_address(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(device_creations_per_hour=2)
    await new_device(server, "first")
    await new_device(server, "second")
    third = await new_device(server, "third", connect=False)

    with pytest.raises(SocketRejected) as rejected:
        await third.connect()
    guest = await third.request("POST", "/api/guest")

    assert rejected.value.error is not None
    assert rejected.value.error["code"] == "rate_limited"
    assert guest.status == 429
    assert guest.json()["code"] == "rate_limited"
    assert int(guest.headers["Retry-After"]) >= 1


async def test_known_devices_are_not_limited(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(device_creations_per_hour=1)
    device = await new_device(server, "known")

    await device.connect()
    session = expect_ok(
        (await device.request("POST", "/api/guest")).json(), "guest of a known device"
    )

    assert session["account"]["id"]


async def test_pairing_offers_are_limited_per_address(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(pairing_offers_per_hour=2)
    first = await new_device(server, "first")
    second = await new_device(server, "second")
    third = await new_device(server, "third")

    offers = [await lobby_offer(first), await lobby_offer(second)]
    rejected = await third.call("pairing:offer", {})
    again = await lobby_offer(first)

    assert rejected["code"] == "rate_limited"
    assert rejected["retry_after_s"] >= 1
    # A live offer is shown again without issuing one.
    assert again["code"] == offers[0]["code"]
