"""Concurrent attempts against the account limits: no limit is passed under load."""

import asyncio
from collections import Counter

from tests.accounts import PASSWORD, sign_up
from tests.devices import Device, NewDevice, Reply
from tests.servers import StartProduction, StartServer
from tests.test_signin_limits import sign_in_from

FREE_FAILURES = 2
BURST = 12


async def proxied_account(
    start_server: StartServer, new_device: NewDevice, username: str
) -> Device:
    """A signed-out device behind a trusted proxy, and an account to guess at."""
    server = await start_server(
        trusted_proxies="127.0.0.1",
        signin_free_failures=FREE_FAILURES,
        password_hash_concurrency=1,
    )
    device = await new_device(server, "guesser", connect=False)
    await sign_up(device, username)
    await device.request("POST", "/api/signout")
    return device


async def test_simultaneous_guesses_wait_per_account(
    start_server: StartServer, new_device: NewDevice
) -> None:
    device = await proxied_account(start_server, new_device, "vera")

    statuses = await asyncio.gather(
        *(sign_in_from(device, "vera", f"203.0.113.{i}") for i in range(BURST))
    )

    assert Counter(statuses) == {401: FREE_FAILURES, 429: BURST - FREE_FAILURES}


async def test_simultaneous_guesses_wait_across_servers(
    start_production: StartProduction, new_device: NewDevice
) -> None:
    settings = {
        "trusted_proxies": "127.0.0.1",
        "signin_free_failures": FREE_FAILURES,
        "password_hash_concurrency": 1,
    }
    first = await start_production(**settings)
    second = await start_production(**settings)
    owner = await new_device(first, "owner", connect=False)
    await sign_up(owner, "zora")
    guessers = [
        await new_device(server, f"guesser {i}", connect=False)
        for i, server in enumerate([first, second])
    ]

    statuses = await asyncio.gather(
        *(sign_in_from(guessers[i % 2], "zora", f"203.0.113.{i}") for i in range(BURST))
    )

    assert Counter(statuses) == {401: FREE_FAILURES, 429: BURST - FREE_FAILURES}


async def test_simultaneous_guesses_wait_per_address(
    start_server: StartServer, new_device: NewDevice
) -> None:
    device = await proxied_account(start_server, new_device, "wanda")
    per_address = 4 * FREE_FAILURES

    statuses = await asyncio.gather(
        *(sign_in_from(device, f"user{i}", "203.0.113.77") for i in range(20))
    )

    assert Counter(statuses) == {401: per_address, 429: 20 - per_address}


async def test_success_costs_the_address_nothing(
    start_server: StartServer, new_device: NewDevice
) -> None:
    device = await proxied_account(start_server, new_device, "xena")

    first = await sign_in_from(device, "xena", "203.0.113.5", PASSWORD)
    await device.request("POST", "/api/signout")
    after = [
        await sign_in_from(device, f"nobody{i}", "203.0.113.5")
        for i in range(4 * FREE_FAILURES)
    ]

    assert first == 200
    assert after == [401] * (4 * FREE_FAILURES)


async def test_simultaneous_current_password_guesses_wait(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(signin_free_failures=FREE_FAILURES)
    device = await new_device(server, "holder", connect=False)
    await sign_up(device, "yusuf")

    async def guess(i: int) -> int:
        body = {"current_password": f"guess number {i}", "new_password": "x" * 12}
        reply = await device.request("POST", "/api/password", json_body=body)
        return reply.status

    statuses = await asyncio.gather(*(guess(i) for i in range(BURST)))

    assert Counter(statuses) == {401: FREE_FAILURES, 429: BURST - FREE_FAILURES}


async def sign_up_from(device: Device, username: str, address: str) -> Reply:
    """Sign up through the trusted proxy as `address`; return the reply."""
    return await device.request(
        "POST",
        "/api/signup",
        json_body={"username": username, "password": PASSWORD},
        headers={"X-Forwarded-For": address},
    )


async def test_simultaneous_sign_ups_limited_per_address(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(trusted_proxies="127.0.0.1", signups_per_hour=3)
    devices = [await new_device(server, f"d{i}", connect=False) for i in range(6)]

    replies = await asyncio.gather(
        *(
            sign_up_from(device, f"burst{i}", "203.0.113.30")
            for i, device in enumerate(devices)
        )
    )
    other = await sign_up_from(devices[0], "elsewhere", "203.0.113.31")

    assert Counter(reply.status for reply in replies) == {200: 3, 429: 3}
    limited = next(reply for reply in replies if reply.status == 429)
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert other.status == 200


async def test_upgrade_counts_as_sign_up(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(signups_per_hour=1)
    first = await new_device(server, "first", connect=False)
    guest = await new_device(server, "guest", connect=False)
    await guest.start_guest()

    signed_up = await first.request(
        "POST", "/api/signup", json_body={"username": "ulla", "password": PASSWORD}
    )
    upgraded = await guest.request(
        "POST", "/api/upgrade", json_body={"username": "ursa", "password": PASSWORD}
    )

    assert signed_up.status == 200
    assert upgraded.status == 429


async def test_sign_up_burst_cannot_queue_up_hashes(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(
        trusted_proxies="127.0.0.1", password_hash_concurrency=1
    )
    devices = [await new_device(server, f"d{i}", connect=False) for i in range(8)]

    replies = await asyncio.gather(
        *(
            sign_up_from(device, f"queue{i}", f"203.0.113.{40 + i}")
            for i, device in enumerate(devices)
        )
    )

    statuses = Counter(reply.status for reply in replies)
    assert statuses[200] >= 2
    assert statuses[503] >= 1
    assert statuses[200] + statuses[503] == len(devices)
    busy = next(reply for reply in replies if reply.status == 503)
    assert busy.json()["code"] == "service_unavailable"
    assert busy.headers["Retry-After"] == "1"


async def test_busy_sign_up_gives_attempt_back(
    start_server: StartServer, new_device: NewDevice
) -> None:
    limit = 3
    server = await start_server(
        trusted_proxies="127.0.0.1",
        password_hash_concurrency=1,
        signups_per_hour=limit,
    )
    devices = [await new_device(server, f"b{i}", connect=False) for i in range(limit)]
    address = "203.0.113.90"

    burst = await asyncio.gather(
        *(
            sign_up_from(device, f"burst{i}", address)
            for i, device in enumerate(devices)
        )
    )
    created = sum(reply.status == 200 for reply in burst)
    busy = [
        device
        for device, reply in zip(devices, burst, strict=True)
        if reply.status == 503
    ]
    retries = [
        await sign_up_from(device, f"retry-{device.label}", address) for device in busy
    ]
    over_limit = await sign_up_from(devices[0], "one-too-many", address)

    assert busy
    assert [reply.status for reply in retries] == [200] * len(busy)
    assert created + len(retries) == limit
    assert over_limit.status == 429
