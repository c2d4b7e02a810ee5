"""State that must hold across server processes, not in each one alone.

As in test_cluster, each test starts two servers on one PostgreSQL, Redis
and data dir, with device A on the first and device B on the second. Most
run two `dropspace serve` processes. The tests that read a server's memory
(its Socket.IO rooms, its uploads in progress) run both servers inside the
test process instead, because only there can a test reach `server.app`.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import aiohttp

from server import events, keys
from tests.accounts import PASSWORD, sign_in, sign_up
from tests.content import MIB, Stamped
from tests.devices import NewDevice, SharedSession, expect_ok, share_session
from tests.pairing import member_list, online_of, redeem, second_tab
from tests.serve_process import StartServeProcess
from tests.servers import (
    StartProduction,
    StartWorker,
    start_second,
)
from tests.test_cluster import start_pair

WRONG_CODE = "0" * 11


async def wait_until(check: Callable[[], bool], bound_s: float, what: str) -> None:
    """Wait for a condition that another process brings about, up to a bound."""
    for _ in range(int(bound_s / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {bound_s} s")


async def member_id(shared: SharedSession) -> str:
    members = await member_list(shared.owner, shared.session_id)
    device_id: str = next(m["device_id"] for m in members if not m["owner"])
    return device_id


async def test_code_guesses_shared_across_servers(
    start_serve_process: StartServeProcess, new_device: NewDevice
) -> None:
    first = await start_serve_process(code_failures_per_account=2)
    second = await start_serve_process(code_failures_per_account=2)
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member)
    twin = await second_tab(new_device, second, owner)

    on_first = [await redeem(owner, shared.session_id, WRONG_CODE) for _ in range(2)]
    on_second = await redeem(twin, shared.session_id, WRONG_CODE)
    await first.restart()
    owner_again = await second_tab(new_device, first, owner)
    after_restart = await redeem(owner_again, shared.session_id, WRONG_CODE)

    assert [answer["code"] for answer in on_first] == ["code_rejected"] * 2
    assert on_second["code"] == "rate_limited"
    assert after_restart["code"] == "rate_limited"


async def test_signin_failures_shared_across_servers(
    start_serve_process: StartServeProcess, new_device: NewDevice
) -> None:
    first = await start_serve_process(signin_free_failures=2)
    second = await start_serve_process(signin_free_failures=2)
    owner = await new_device(first, "owner", connect=False)
    await sign_up(owner, "olga")
    await owner.request("POST", "/api/signout")
    elsewhere = await new_device(second, "elsewhere", connect=False)

    failures = [
        (await sign_in(owner, "olga", "wrong password")).status for _ in range(2)
    ]
    right_on_second = await sign_in(elsewhere, "olga", PASSWORD)

    assert failures == [401, 401]
    assert right_on_second.status == 429
    assert right_on_second.json()["code"] == "rate_limited"


async def test_removal_cuts_remote_download(
    start_production: StartProduction, new_device: NewDevice
) -> None:
    first = await start_production()
    second = await start_second(start_production, first)
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member)
    size = 64 * MIB
    stored = await shared.owner.upload(shared.session_id, "big.bin", bytes(size))
    target = await member_id(shared)
    received = 0

    async with shared.member.http.get(f"/api/files/{stored['id']}") as response:
        assert response.status == 200
        received += len(await response.content.read(MIB))
        answer = await shared.owner.call(
            "member:remove", {"session_id": shared.session_id, "device_id": target}
        )
        expect_ok(answer, "remove member")
        # A cut connection ends the body early or raises; either shows the cut.
        with contextlib.suppress(aiohttp.ClientError):
            async for block in response.content.iter_chunked(MIB):
                received += len(block)

    assert received < size
    notice = await shared.member.log.wait_for("session:removed")
    assert notice["session_id"] == shared.session_id
    room = events.session_room(shared.session_id)
    participants = second.app[keys.SIO].manager.get_participants("/", room)
    assert shared.member.sid not in [sid for sid, _ in participants]


async def test_removal_cuts_remote_upload(
    start_serve_process: StartServeProcess, new_device: NewDevice
) -> None:
    _, _, shared = await start_pair(start_serve_process, new_device)
    size = 4 * MIB
    started = await shared.member.start_upload(shared.session_id, "slow.bin", size)
    target = await member_id(shared)
    half_sent = asyncio.Event()
    removed = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield bytes(size // 2)
        half_sent.set()
        await removed.wait()
        yield bytes(size // 2)

    async def put() -> object:
        try:
            reply = await shared.member.http.put(
                f"/api/files/{started['id']}?offset=0",
                data=body(),
                headers={"Origin": shared.member.base_url, "Content-Length": str(size)},
            )
            return await reply.json()
        except aiohttp.ClientError as error:
            return error

    upload = asyncio.create_task(put())
    await half_sent.wait()
    answer = await shared.owner.call(
        "member:remove", {"session_id": shared.session_id, "device_id": target}
    )
    expect_ok(answer, "remove member")
    # The member's server cuts its transfers before it sends this.
    await shared.member.log.wait_for("session:removed")
    removed.set()
    outcome = await upload

    assert not (isinstance(outcome, dict) and outcome.get("ok") is True), outcome


async def test_password_change_closes_remote_sockets(
    start_serve_process: StartServeProcess, new_device: NewDevice
) -> None:
    first = await start_serve_process()
    second = await start_serve_process()
    changer = await new_device(first, "changer")
    await sign_up(changer, "olga")
    other = await new_device(second, "other", connect=False)
    assert (await sign_in(other, "olga")).status == 200
    await other.connect()

    body = {"current_password": PASSWORD, "new_password": "a brand new passphrase"}
    reply = await changer.request("POST", "/api/password", json_body=body)

    assert reply.status == 200, reply.json()
    notice = await other.log.wait_for("account:signed_out")
    assert notice["device_id"]
    await asyncio.wait_for(other.disconnected.wait(), timeout=10)


async def test_presence_spans_both_servers(
    start_serve_process: StartServeProcess, new_device: NewDevice
) -> None:
    first, _, shared = await start_pair(start_serve_process, new_device)
    target = await member_id(shared)
    online_elsewhere = online_of(await member_list(shared.owner, shared.session_id))
    tab = await second_tab(new_device, first, shared.member)
    await tab.join(shared.join_token)

    leave = {"session_id": shared.session_id}
    expect_ok(await tab.call("session:leave", leave), "leave on first")
    one_tab_left = online_of(await member_list(shared.owner, shared.session_id))
    expect_ok(await shared.member.call("session:leave", leave), "leave on second")
    no_tab_left = online_of(await member_list(shared.owner, shared.session_id))

    assert online_elsewhere[target] is True
    assert one_tab_left[target] is True
    assert no_tab_left[target] is False


async def test_worker_end_frees_remote_uploads(
    start_production: StartProduction,
    start_worker: StartWorker,
    new_device: NewDevice,
) -> None:
    first = await start_production()
    second = await start_second(start_production, first)
    start_worker(first.settings)
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member, lifetime_s=3)
    content = Stamped(2 * MIB)
    started = await member.start_upload(shared.session_id, "part.bin", content.size)
    await member.send_range(started["id"], content, "http", end=MIB, chunk_bytes=MIB)
    uploads = second.app[keys.UPLOADS]
    assert shared.session_id in uploads.sessions_in_memory()

    ended = await member.log.wait_for("session:ended", timeout_s=20)

    assert ended["reason"] == "expired"
    await wait_until(
        lambda: shared.session_id not in uploads.sessions_in_memory(),
        10,
        "the second server forgetting the ended session's uploads",
    )
