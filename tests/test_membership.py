"""Members of a session: replacing the link, removing devices, presence."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp

from tests.devices import NewDevice, SharedSession, expect_ok, join_token_of
from tests.pairing import member_list, online_of, second_tab
from tests.servers import RunningServer


async def replace_link(shared: SharedSession) -> str:
    ack = expect_ok(
        await shared.owner.call(
            "session:replace_link", {"session_id": shared.session_id}
        ),
        "replace link",
    )
    join_url: str = ack["join_url"]
    return join_url


async def remove(shared: SharedSession, device_id: str) -> dict:
    answer: dict = await shared.owner.call(
        "member:remove", {"session_id": shared.session_id, "device_id": device_id}
    )
    return answer


async def member_id(shared: SharedSession) -> str:
    members = await member_list(shared.owner, shared.session_id)
    device_id: str = next(m["device_id"] for m in members if not m["owner"])
    return device_id


async def test_replaced_link_refuses_newcomers(
    server: RunningServer, new_device: NewDevice, shared: SharedSession
) -> None:
    newcomer = await new_device(server, "newcomer")
    late = await new_device(server, "late")
    old_token = shared.join_token

    new_url = await replace_link(shared)
    notice = await shared.member.log.wait_for("session:link_replaced")
    refused = await newcomer.call("session:join", {"join_token": old_token})
    refused_page = await newcomer.request("GET", f"/s/{old_token}")
    member_again = await shared.member.join(old_token)
    member_page = await shared.member.request("GET", f"/s/{old_token}")
    admitted = await late.join(join_token_of({"join_url": new_url}))

    assert notice["join_url"] == new_url
    assert join_token_of({"join_url": new_url}) != old_token
    assert refused["code"] == "not_found"
    assert refused_page.status == 404
    assert member_again["session"]["join_url"] == new_url
    assert member_page.status == 200
    assert admitted["session"]["id"] == shared.session_id


async def test_only_owner_replaces_link(shared: SharedSession) -> None:
    answer = await shared.member.call(
        "session:replace_link", {"session_id": shared.session_id}
    )

    assert answer["code"] == "not_allowed"


async def test_removed_device_loses_access(shared: SharedSession) -> None:
    file = await shared.owner.upload(shared.session_id, "kept.txt", b"owner's file")
    started = await shared.member.start_upload(shared.session_id, "part.bin", 10)
    target = await member_id(shared)

    expect_ok(await remove(shared, target), "remove member")
    notice = await shared.member.log.wait_for("session:removed")
    chunk_http = (await shared.member.put_chunk(started["id"], 0, b"0123456789")).json()
    chunk_socket = await shared.member.emit_chunk(started["id"], 0, b"0123456789")
    download = await shared.member.download(file["id"])
    rejoin = await shared.member.call("session:join", {"join_token": shared.join_token})
    members = await member_list(shared.owner, shared.session_id)

    assert notice["session_id"] == shared.session_id
    assert chunk_http["code"] == "not_member"
    assert chunk_socket["code"] == "not_member"
    assert download.status == 403
    assert rejoin["code"] == "not_member"
    assert [m["device_id"] for m in members if m["device_id"] == target] == []


async def test_removed_device_hears_no_room_events(shared: SharedSession) -> None:
    target = await member_id(shared)
    expect_ok(await remove(shared, target), "remove member")
    await shared.member.log.wait_for("session:removed")

    file = await shared.owner.upload(shared.session_id, "after.txt", b"later")
    await shared.owner.log.wait_for(
        "file:ready", lambda e: e["file"]["id"] == file["id"]
    )
    # A clock round trip on the member's socket delivers anything queued before it.
    await shared.member.call("clock:sync", {})

    assert shared.member.log.all("file:ready") == []


async def test_removal_cuts_download_in_flight(shared: SharedSession) -> None:
    size = 64 * 1024 * 1024
    file = await shared.owner.upload(shared.session_id, "big.bin", bytes(size))
    target = await member_id(shared)
    received = 0

    async with shared.member.http.get(f"/api/files/{file['id']}") as response:
        assert response.status == 200
        received += len(await response.content.read(1024 * 1024))
        expect_ok(await remove(shared, target), "remove member")
        # A cut connection ends the body early or raises; either shows the cut.
        with contextlib.suppress(aiohttp.ClientError):
            async for block in response.content.iter_chunked(1024 * 1024):
                received += len(block)

    assert received < size


async def test_owner_device_cannot_be_removed(shared: SharedSession) -> None:
    members = await member_list(shared.owner, shared.session_id)
    owner_id = next(m["device_id"] for m in members if m["owner"])
    target = await member_id(shared)

    by_member = await shared.member.call(
        "member:remove", {"session_id": shared.session_id, "device_id": owner_id}
    )
    self_removal = await remove(shared, owner_id)
    unknown = await remove(shared, "no-such-device")

    assert by_member["code"] == "not_allowed"
    assert self_removal["code"] == "bad_request"
    assert unknown["code"] == "not_found"
    assert target != owner_id


async def test_presence_counts_device_once(
    server: RunningServer, new_device: NewDevice, shared: SharedSession
) -> None:
    target = await member_id(shared)
    tab = await second_tab(new_device, server, shared.member)
    await tab.join(shared.join_token)

    with_two_tabs = await member_list(shared.owner, shared.session_id)
    expect_ok(
        await shared.member.call("session:leave", {"session_id": shared.session_id}),
        "leave",
    )
    with_one_tab = await member_list(shared.owner, shared.session_id)
    await tab.cut_socket()
    offline = await shared.owner.log.wait_for(
        "members:updated", lambda e: online_of(e["members"]).get(target) is False
    )

    assert len(with_two_tabs) == 2
    assert online_of(with_two_tabs)[target] is True
    assert online_of(with_one_tab)[target] is True
    assert len(offline["members"]) == 2


async def test_device_in_two_sessions_hears_each(
    server: RunningServer, new_device: NewDevice, shared: SharedSession
) -> None:
    other_owner = await new_device(server, "other owner")
    await other_owner.start_guest()
    other = await other_owner.create_session("Other")
    other_tab = await second_tab(new_device, server, shared.member)
    await other_tab.join(join_token_of(other))

    file = await shared.owner.upload(shared.session_id, "first.txt", b"one")
    await shared.member.log.wait_for(
        "file:ready", lambda e: e["file"]["id"] == file["id"]
    )
    await other_tab.call("clock:sync", {})
    await asyncio.sleep(0)

    assert other_tab.log.all("file:ready") == []
    assert all(
        e["session_id"] == shared.session_id
        for e in shared.member.log.all("file:ready")
    )


async def test_removal_cuts_upload_in_flight(shared: SharedSession) -> None:
    size = 4 * 1024 * 1024
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
    # The server reads the first half before the removal lands.
    await asyncio.sleep(0.2)
    expect_ok(await remove(shared, target), "remove member")
    removed.set()
    outcome = await upload

    assert not (isinstance(outcome, dict) and outcome.get("ok") is True), outcome
