"""`dropspace user` commands tell the devices of a running server (with Redis)."""

import asyncio
import os

from tests.accounts import sign_up
from tests.devices import NewDevice, join_token_of
from tests.servers import RunningServer, StartProduction
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
