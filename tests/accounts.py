"""Account helpers for tests: sign-up, sign-in and the `/api/me` response."""

from typing import Any

from tests.devices import Device, Reply, expect_ok

PASSWORD = "correct horse battery"


async def sign_up(
    device: Device, username: str, password: str = PASSWORD
) -> dict[str, Any]:
    """Create an account from this device and return the response.

    Signing up closes the device's connections, as it gives the device a new
    token, so a connected device connects again with its new cookie.
    """
    connected = device.sio is not None
    body = {"username": username, "password": password}
    reply = await device.request("POST", "/api/signup", json_body=body)
    answer = expect_ok(reply.json(), f"sign up {username}")
    if connected:
        await device.connect()
    return answer


async def sign_in(device: Device, username: str, password: str = PASSWORD) -> Reply:
    """Send a sign-in request and return the reply, whatever its status."""
    body = {"username": username, "password": password}
    return await device.request("POST", "/api/signin", json_body=body)


async def me(device: Device) -> dict[str, Any]:
    """Return the `/api/me` response of a device."""
    return (await device.request("GET", "/api/me")).json()
