"""Sign-in rate limits: per account and per address, with growing delays."""

import asyncio

import pytest
from redis.asyncio import Redis

from server.errors import RateLimited
from server.throttle import MemoryFailureStore, RedisFailureStore, SignInThrottle
from tests.accounts import sign_up
from tests.devices import Device, NewDevice
from tests.production import REDIS_URL
from tests.servers import StartServer

FREE_FAILURES = 2


async def sign_in_from(
    device: Device, username: str, address: str, password: str = "wrong password"
) -> int:
    """Sign in through the trusted proxy as `address`; return the status."""
    body = {"username": username, "password": password}
    reply = await device.request(
        "POST",
        "/api/signin",
        json_body=body,
        headers={"X-Forwarded-For": f"198.51.100.99, {address}"},
    )
    return reply.status


@pytest.fixture
async def proxied(start_server: StartServer, new_device: NewDevice) -> Device:
    """A device behind a trusted proxy on a server that allows 2 free failures."""
    server = await start_server(
        trusted_proxies="127.0.0.1", signin_free_failures=FREE_FAILURES
    )
    device = await new_device(server, "proxied")
    await sign_up(device, "olga")
    await device.request("POST", "/api/signout")
    return device


async def test_account_limit_at_boundary(proxied: Device) -> None:
    at_limit = [
        await sign_in_from(proxied, "olga", f"203.0.113.{i}")
        for i in range(FREE_FAILURES)
    ]
    over = await sign_in_from(proxied, "olga", "203.0.113.50", "correct horse battery")
    other_account = await sign_in_from(proxied, "somebody", "203.0.113.51")

    assert at_limit == [401] * FREE_FAILURES
    assert over == 429
    assert other_account == 401


async def test_account_limit_sends_retry_after(proxied: Device) -> None:
    for i in range(FREE_FAILURES):
        await sign_in_from(proxied, "olga", f"203.0.113.{i}")

    body = {"username": "olga", "password": "wrong password"}
    reply = await proxied.request("POST", "/api/signin", json_body=body)

    assert reply.status == 429
    assert reply.json()["code"] == "rate_limited"
    assert int(reply.headers["Retry-After"]) >= 1
    assert reply.json()["retry_after_s"] == int(reply.headers["Retry-After"])


async def test_address_limit_at_boundary(proxied: Device) -> None:
    per_address = 4 * FREE_FAILURES
    at_limit = [
        await sign_in_from(proxied, f"user{i}", "203.0.113.7")
        for i in range(per_address)
    ]
    over = await sign_in_from(proxied, "olga", "203.0.113.7", "correct horse battery")
    other_address = await sign_in_from(proxied, "olga", "203.0.113.8")

    assert at_limit == [401] * per_address
    assert over == 429
    assert other_address == 401


async def test_success_before_limit_clears_count(proxied: Device) -> None:
    failures = [
        await sign_in_from(proxied, "olga", "203.0.113.9")
        for _ in range(FREE_FAILURES - 1)
    ]
    success = await sign_in_from(
        proxied, "olga", "203.0.113.9", "correct horse battery"
    )
    await proxied.request("POST", "/api/signout")
    after = [
        await sign_in_from(proxied, "olga", "203.0.113.10")
        for _ in range(FREE_FAILURES)
    ]

    assert failures == [401] * (FREE_FAILURES - 1)
    assert success == 200
    assert after == [401] * FREE_FAILURES


async def test_untrusted_forwarded_for_ignored(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(signin_free_failures=1)
    device = await new_device(server, "spoofer")

    statuses = [
        await sign_in_from(device, f"user{i}", f"203.0.113.{i}") for i in range(5)
    ]

    assert statuses == [401, 401, 401, 401, 429]


def test_delay_doubles_up_to_maximum() -> None:
    throttle = SignInThrottle(MemoryFailureStore(), free_failures=3, max_delay_s=10)

    delays = [throttle.delay_s(failures) for failures in range(9)]

    assert delays == [0, 0, 0, 1, 2, 4, 8, 10, 10]


async def test_guest_limit_per_address(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_starts_per_hour=2)
    devices = [await new_device(server, f"guest {i}") for i in range(3)]

    statuses = [
        (await device.request("POST", "/api/guest")).status for device in devices
    ]

    assert statuses == [200, 200, 429]


async def test_session_creation_limit(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(session_creations_per_hour=2, guest_max_sessions=5)
    device = await new_device(server, "creator")
    await device.start_guest()

    statuses = [
        (await device.request("POST", "/api/sessions", json_body={})).status
        for _ in range(3)
    ]

    assert statuses == [200, 200, 429]


async def test_dead_attempts_in_flight_expire(redis_prefix: str) -> None:
    # Attempts that a killed server process began and never settled.
    client = Redis.from_url(REDIS_URL)
    store = RedisFailureStore(client, redis_prefix, in_flight_ttl_s=1.0)
    throttle = SignInThrottle(store, free_failures=2, max_delay_s=10)
    try:
        for number in range(5):
            await store.begin("account:erin", f"dead-{number}")

        with pytest.raises(RateLimited):
            await throttle.reserve("account:erin")
        await asyncio.sleep(1.5)
        attempt_id = await throttle.reserve("account:erin")
        await throttle.release("account:erin", attempt_id)
    finally:
        await client.aclose()
