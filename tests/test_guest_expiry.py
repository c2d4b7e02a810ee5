"""Expired guest accounts are deleted with their sessions, files and rows."""

import asyncio

from tests.accounts import me, sign_up
from tests.content import KIB, Stamped
from tests.devices import NewDevice, join_token_of
from tests.servers import RunningServer, StartServer
from tests.sql import query

POLL_S = 0.1


async def wait_until_gone(
    server: RunningServer, account_id: str, bound_s: float
) -> None:
    """Wait until the account row is deleted; fail after `bound_s`."""
    for _ in range(int(bound_s / POLL_S)):
        if not await query(
            server, "SELECT id FROM accounts WHERE id = :id", id=account_id
        ):
            return
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"account {account_id} still stored after {bound_s} s")


async def test_expired_guest_removed(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_account_ttl_s=2)
    guest = await new_device(server, "guest")
    member = await new_device(server, "member")
    account_id = (await guest.start_guest())["account"]["id"]
    session = await guest.create_session("short-lived guest")
    await guest.join(join_token_of(session))
    await member.join(join_token_of(session))
    await member.upload(session["id"], "kept.bin", Stamped(32 * KIB))

    await wait_until_gone(server, account_id, bound_s=20)

    assert await query(server, "SELECT id FROM sessions") == []
    assert await query(server, "SELECT id FROM files") == []
    assert await query(server, "SELECT session_id FROM memberships") == []
    assert server.stored_files() == []
    assert (await me(guest))["account"] is None
    ended = await member.log.wait_for("session:ended")
    # The session's deadline is the account's expiry, so either its own
    # timer or the account's removal ends it first.
    assert ended["reason"] in {"expired", "deleted"}


async def test_full_account_not_swept(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_account_ttl_s=1)
    upgraded = await new_device(server, "upgraded")
    expiring = await new_device(server, "expiring")
    await upgraded.start_guest()
    body = {"username": "keeper", "password": "correct horse battery"}
    await upgraded.request("POST", "/api/upgrade", json_body=body)
    gone_id = (await expiring.start_guest())["account"]["id"]
    await sign_up(await new_device(server, "plain"), "plain")

    await wait_until_gone(server, gone_id, bound_s=20)

    names = await query(
        server,
        "SELECT username FROM accounts ORDER BY username",
    )
    assert names == [("keeper",), ("plain",)]
