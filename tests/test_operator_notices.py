"""`dropspace user` commands reach the devices of a running server.

With Redis they publish on the bus; an embedded server, which has no bus,
finds the change in its records at its next socket audit.
"""

import asyncio
import os

import pytest

from server import socket_audit
from tests.accounts import sign_in, sign_up
from tests.devices import NewDevice, join_token_of
from tests.servers import RunningServer, StartProduction, StartServer
from tests.test_cli import DROPSPACE


async def run_command(server: RunningServer, *arguments: str) -> str:
    """Run `dropspace` on the server's database and Redis; return its stderr."""
    settings = server.settings
    environ = dict(
        os.environ,
        DROPSPACE_DATA_DIR=str(settings.data_dir),
        DROPSPACE_DATABASE_URL=settings.database_url,
        DROPSPACE_REDIS_URL=settings.redis_url,
        DROPSPACE_REDIS_PREFIX=settings.redis_prefix,
    )
    process = await asyncio.create_subprocess_exec(
        str(DROPSPACE),
        *arguments,
        env=environ,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stderr.decode()


async def test_reset_password_signs_out_connected_device(
    start_production: StartProduction, new_device: NewDevice
) -> None:
    server = await start_production()
    laptop = await new_device(server, "laptop")
    await sign_up(laptop, "nina")

    await run_command(server, "user", "reset-password", "nina")

    event = await laptop.log.wait_for("account:signed_out")
    assert (
        event["device_id"]
        == (await laptop.request("GET", "/api/me")).json()["device"]["id"]
    )


async def test_delete_user_ends_sessions_on_member_pages(
    start_production: StartProduction, new_device: NewDevice
) -> None:
    server = await start_production()
    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    await sign_up(owner, "omar")
    session = await owner.create_session("Doomed")
    await owner.join(join_token_of(session))
    await member.join(join_token_of(session))

    await run_command(server, "user", "delete", "omar")

    ended = await member.log.wait_for("session:ended")
    assert ended == {"session_id": session["id"], "reason": "deleted"}
    await owner.log.wait_for("account:signed_out")


# Seconds between an embedded server's socket audits in these tests; a
# change is acted on at the second audit that finds it.
AUDIT_INTERVAL_S = 1.0
AUDIT_WAIT_S = 10.0


async def test_embedded_reset_password_closes_sockets(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(socket_audit_interval_s=AUDIT_INTERVAL_S)
    laptop = await new_device(server, "laptop")
    member = await new_device(server, "member")
    await sign_up(laptop, "nell")
    session = await laptop.create_session("Shared")
    await laptop.join(join_token_of(session))
    await member.join(join_token_of(session))
    laptop_id = (await laptop.request("GET", "/api/me")).json()["device"]["id"]

    await run_command(server, "user", "reset-password", "nell")

    event = await laptop.log.wait_for("account:signed_out", timeout_s=AUDIT_WAIT_S)
    assert event == {"device_id": laptop_id}
    await asyncio.wait_for(laptop.disconnected.wait(), timeout=AUDIT_WAIT_S)
    members = await member.log.wait_for(
        "members:updated",
        lambda event: laptop_id not in [m["device_id"] for m in event["members"]],
        timeout_s=AUDIT_WAIT_S,
    )
    assert members["session_id"] == session["id"]


async def test_embedded_delete_user_ends_member_pages(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(socket_audit_interval_s=AUDIT_INTERVAL_S)
    owner = await new_device(server, "owner")
    member = await new_device(server, "member")
    await sign_up(owner, "olga")
    session = await owner.create_session("Doomed")
    await owner.join(join_token_of(session))
    await member.join(join_token_of(session))

    await run_command(server, "user", "delete", "olga")

    ended = await member.log.wait_for("session:ended", timeout_s=AUDIT_WAIT_S)
    assert ended == {"session_id": session["id"], "reason": "deleted"}
    await owner.log.wait_for("account:signed_out", timeout_s=AUDIT_WAIT_S)


async def test_embedded_audit_checks_in_batches(
    start_server: StartServer, new_device: NewDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One device per statement, so the audit must combine several batches.
    monkeypatch.setattr(socket_audit, "BATCH_SIZE", 1)
    server = await start_server(socket_audit_interval_s=AUDIT_INTERVAL_S)
    laptop = await new_device(server, "laptop")
    phone = await new_device(server, "phone")
    bystander = await new_device(server, "bystander")
    await sign_up(laptop, "nadia")
    assert (await sign_in(phone, "nadia")).status == 200
    await phone.connect()

    await run_command(server, "user", "reset-password", "nadia")

    for device in (laptop, phone):
        await asyncio.wait_for(device.disconnected.wait(), timeout=AUDIT_WAIT_S)
    assert bystander.sio is not None
    assert bystander.sio.connected
