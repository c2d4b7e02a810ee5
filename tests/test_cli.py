"""Operator commands: `dropspace user ...` and `dropspace plan ...`."""

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.accounts import PASSWORD, me, sign_in, sign_up
from tests.content import KIB, Stamped
from tests.devices import NewDevice, expect_ok, join_token_of
from tests.production import environment
from tests.servers import RunningServer
from tests.sql import query

DROPSPACE = Path(sys.executable).parent / "dropspace"


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str


async def dropspace(server: RunningServer, *arguments: str) -> Result:
    """Run the `dropspace` command with the server's settings.

    Its DROPSPACE_* variables name the server's data dir, database and Redis
    prefix, so the command changes what the server reads.
    """
    # An operator runs it at the default log level, not the tests' DEBUG.
    environ = (
        os.environ | environment(server.settings) | {"DROPSPACE_LOG_LEVEL": "INFO"}
    )
    process = await asyncio.create_subprocess_exec(
        str(DROPSPACE),
        *arguments,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


async def test_plan_list(server: RunningServer) -> None:
    result = await dropspace(server, "plan", "list")

    assert result.status == 0, result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert names == ["guest", "free", "pro"]


async def test_plan_set_moves_account(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "pro user")
    await sign_up(device, "pat")

    result = await dropspace(server, "plan", "set", "pat", "pro")

    assert result.status == 0, result.stderr
    assert (await me(device))["plan"]["name"] == "pro"
    assert (await me(device))["plan"]["max_sessions"] == 20


async def test_plan_set_unknown_plan_fails(
    server: RunningServer, new_device: NewDevice
) -> None:
    await sign_up(await new_device(server, "someone"), "quentin")

    result = await dropspace(server, "plan", "set", "quentin", "platinum")

    assert result.status == 1
    assert "platinum" in result.stderr


async def test_plan_edit_changes_limits(
    server: RunningServer, new_device: NewDevice
) -> None:
    device = await new_device(server, "edited")
    await sign_up(device, "ruth")

    result = await dropspace(
        server,
        "plan",
        "edit",
        "free",
        "--sessions",
        "1",
        "--capacity",
        "1MiB",
        "--lifetime",
        "2h",
    )
    first = (await device.request("POST", "/api/sessions", json_body={})).json()
    second = (await device.request("POST", "/api/sessions", json_body={})).json()

    assert result.status == 0, result.stderr
    assert first["session"]["capacity_bytes"] == 1024 * 1024
    assert first["session"]["expires_at"] - first["session"]["created_at"] == 7200_000
    assert second["code"] == "session_limit"


async def test_plan_edit_guest_refused(server: RunningServer) -> None:
    result = await dropspace(server, "plan", "edit", "guest", "--sessions", "9")

    assert result.status == 1
    assert "DROPSPACE_GUEST_MAX_SESSIONS" in result.stderr


async def test_plan_edit_bad_capacity_fails(server: RunningServer) -> None:
    result = await dropspace(server, "plan", "edit", "free", "--capacity", "lots")

    assert result.status == 1
    assert "'lots'" in result.stderr


async def test_reset_password(server: RunningServer, new_device: NewDevice) -> None:
    device = await new_device(server, "forgetful")
    await sign_up(device, "sara")

    result = await dropspace(server, "user", "reset-password", "sara")
    new_password = result.stdout.strip().rsplit(" ", 1)[-1]

    assert result.status == 0, result.stderr
    assert (await me(device))["account"] is None
    assert (await sign_in(device, "sara", PASSWORD)).status == 401
    assert (await sign_in(device, "sara", new_password)).status == 200


async def test_user_delete(server: RunningServer, new_device: NewDevice) -> None:
    owner = await new_device(server, "owner")
    await sign_up(owner, "tom")
    session = expect_ok(
        (await owner.request("POST", "/api/sessions", json_body={})).json(), "create"
    )["session"]
    await owner.join(join_token_of(session))
    await owner.upload(session["id"], "a.bin", Stamped(16 * KIB))

    result = await dropspace(server, "user", "delete", "tom")

    assert result.status == 0, result.stderr
    assert await query(server, "SELECT id FROM accounts") == []
    assert await query(server, "SELECT id FROM sessions") == []
    assert await query(server, "SELECT id FROM files") == []
    assert server.stored_files() == []


async def test_user_create(server: RunningServer, new_device: NewDevice) -> None:
    device = await new_device(server, "new user")

    created = await dropspace(server, "user", "create", "ursula")
    duplicate = await dropspace(server, "user", "create", "URSULA")
    password = created.stdout.strip().rsplit(" ", 1)[-1]

    assert created.status == 0, created.stderr
    assert duplicate.status == 1
    assert "taken" in duplicate.stderr
    assert (await sign_in(device, "ursula", password)).status == 200


async def test_user_unknown_fails(server: RunningServer) -> None:
    result = await dropspace(server, "user", "delete", "nobody")

    assert result.status == 1
    assert "'nobody'" in result.stderr
