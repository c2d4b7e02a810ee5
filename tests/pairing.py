"""Helpers for pairing tests: lobby offers, second tabs and member lists."""

from typing import Any

from yarl import URL

from tests.devices import COOKIE_NAME, Device, NewDevice, expect_ok
from tests.servers import LoopbackServer


async def second_tab(
    new_device: NewDevice, server: LoopbackServer, device: Device
) -> Device:
    """Open another connection that carries `device`'s cookie, as a second tab."""
    tab = await new_device(server, f"{device.label} tab", connect=False)
    tab.http.cookie_jar.update_cookies(
        {COOKIE_NAME: device.cookie}, response_url=URL(server.base_url)
    )
    await tab.connect()
    return tab


async def lobby_offer(device: Device) -> dict[str, Any]:
    """Return the pairing code and link that `device`'s lobby shows."""
    return expect_ok(await device.call("pairing:offer", {}), "pairing offer")


def link_token_of(offer: dict[str, Any]) -> str:
    return URL(offer["link_url"]).path.rsplit("/", 1)[-1]


async def redeem(owner: Device, session_id: str, code: str) -> dict[str, Any]:
    answer: dict[str, Any] = await owner.call(
        "pairing:redeem", {"session_id": session_id, "code": code}
    )
    return answer


async def member_list(device: Device, session_id: str) -> list[dict[str, Any]]:
    ack = expect_ok(
        await device.call("member:list", {"session_id": session_id}), "member list"
    )
    members: list[dict[str, Any]] = ack["members"]
    return members


def online_of(members: list[dict[str, Any]]) -> dict[str, bool]:
    """Map each member's device id to whether it is online."""
    return {member["device_id"]: member["online"] for member in members}
