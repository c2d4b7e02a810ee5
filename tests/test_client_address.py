"""Per-address limits count the client behind a trusted proxy, not the proxy.

The test server listens on 127.0.0.1, which the settings name as the proxy;
each client states its own address in X-Forwarded-For, as Caddy would.
"""

import pytest

from tests.devices import Device, NewDevice, join_token_of
from tests.pairing import lobby_offer, redeem
from tests.servers import RunningServer, StartServer

# An address the client itself wrote first; a proxy appends the real one.
FORGED = "192.0.2.200"


async def behind_proxy(
    new_device: NewDevice, server: RunningServer, label: str, address: str
) -> Device:
    """Make a device whose requests and socket come through the proxy."""
    device = await new_device(server, label, connect=False)
    forwarded = {"X-Forwarded-For": f"{FORGED}, {address}"}
    device.http.headers.update(forwarded)
    await device.connect(extra_headers=forwarded)
    return device


async def owner_behind_proxy(
    new_device: NewDevice, server: RunningServer, label: str, address: str
) -> tuple[Device, str]:
    """Make a guest owner behind the proxy; return it and its session id."""
    owner = await behind_proxy(new_device, server, label, address)
    await owner.start_guest()
    session = await owner.create_session(f"{label}'s session")
    await owner.join(join_token_of(session))
    return owner, session["id"]


async def wrong_guesses(owner: Device, session_id: str, count: int) -> list[str]:
    answers = [
        await redeem(owner, session_id, f"{index:011d}") for index in range(count)
    ]
    return [str(answer.get("code")) for answer in answers]


async def test_code_guesses_count_each_client(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(
        trusted_proxies="127.0.0.0/8, ::1", code_failures_per_address=3
    )
    guesser, guesser_session = await owner_behind_proxy(
        new_device, server, "guesser", "203.0.113.5"
    )
    innocent, innocent_session = await owner_behind_proxy(
        new_device, server, "innocent", "198.51.100.7"
    )
    target = await new_device(server, "target")
    offer = await lobby_offer(target)

    failures = await wrong_guesses(guesser, guesser_session, 4)
    right = await redeem(innocent, innocent_session, offer["code"])

    assert failures == ["code_rejected"] * 3 + ["rate_limited"]
    assert right["ok"] is True


async def test_code_guesses_group_ipv6_by_64(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(
        trusted_proxies="127.0.0.1", code_failures_per_address=3
    )
    guesser, guesser_session = await owner_behind_proxy(
        new_device, server, "guesser", "2001:db8:1:2::1"
    )
    neighbour, neighbour_session = await owner_behind_proxy(
        new_device, server, "same /64", "2001:db8:1:2:ffff::9"
    )
    other, other_session = await owner_behind_proxy(
        new_device, server, "other /64", "2001:db8:1:3::1"
    )
    target = await new_device(server, "target")
    offer = await lobby_offer(target)

    failures = await wrong_guesses(guesser, guesser_session, 3)
    blocked = await redeem(neighbour, neighbour_session, offer["code"])
    allowed = await redeem(other, other_session, offer["code"])

    assert failures == ["code_rejected"] * 3
    assert blocked["code"] == "rate_limited"
    assert allowed["ok"] is True


async def test_untrusted_forwarded_for_is_ignored(
    start_server: StartServer, new_device: NewDevice
) -> None:
    # Only 192.0.2.1 is a proxy, so every client below is 127.0.0.1, whatever
    # address it claims.
    server = await start_server(
        trusted_proxies="192.0.2.1", code_failures_per_address=3
    )
    answers = []
    for index in range(3):
        owner, session_id = await owner_behind_proxy(
            new_device, server, f"claims {index}", f"203.0.113.{index + 1}"
        )
        answers += await wrong_guesses(owner, session_id, 1)
    last, last_session = await owner_behind_proxy(
        new_device, server, "claims another", "203.0.113.99"
    )
    target = await new_device(server, "target")
    offer = await lobby_offer(target)

    blocked = await redeem(last, last_session, offer["code"])

    assert answers == ["code_rejected"] * 3
    assert blocked["code"] == "rate_limited"


@pytest.mark.parametrize(
    ("second", "status"),
    [("2001:db8:5:6::2", 429), ("2001:db8:5:7::1", 200), ("203.0.113.8", 200)],
    ids=["same-64", "other-64", "ipv4"],
)
async def test_guest_starts_group_ipv6_by_64(
    start_server: StartServer, new_device: NewDevice, second: str, status: int
) -> None:
    server = await start_server(trusted_proxies="127.0.0.1", guest_starts_per_hour=1)
    first = await behind_proxy(new_device, server, "first", "2001:db8:5:6::1")
    other = await behind_proxy(new_device, server, "second", second)

    started = await first.request("POST", "/api/guest")
    reply = await other.request("POST", "/api/guest")

    assert started.status == 200
    assert reply.status == status


async def test_sign_in_throttle_groups_ipv6_by_64(
    start_server: StartServer, new_device: NewDevice
) -> None:
    # One free failure per account means four per address.
    server = await start_server(trusted_proxies="127.0.0.1", signin_free_failures=1)
    statuses = []
    for index in range(5):
        device = await behind_proxy(
            new_device, server, f"signer {index}", f"2001:db8:9:9::{index + 1}"
        )
        body = {"username": f"user{index}", "password": "wrong password"}
        reply = await device.request("POST", "/api/signin", json_body=body)
        statuses.append(reply.status)

    assert statuses == [401] * 4 + [429]
