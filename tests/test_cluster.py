"""Several `dropspace serve` processes behind one PostgreSQL, Redis and data dir.

Each test starts two processes that differ only in their port, and puts a
device on each into one session.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis
from yarl import URL

from server.claims import CLAIM_REFRESH_S, CLAIM_STALE_S
from tests.content import MIB, Stamped
from tests.devices import (
    COOKIE_NAME,
    Device,
    NewDevice,
    Reply,
    SharedSession,
    for_file,
    share_session,
)
from tests.production import REDIS_URL
from tests.rawhttp import RawConnection
from tests.serve_process import ServeProcess, StartServeProcess
from tests.servers import LoopbackServer, StartWorker
from tests.write_claims import open_chunk_put, wait_for_claim

# The `move_device` fixture: the same device (cookie) on another server,
# joined to a session by its join token.
MoveDevice = Callable[[LoopbackServer, Device, str], Awaitable[Device]]

GUEST_LIMIT = 20


async def start_pair(
    start_serve_process: StartServeProcess, new_device: NewDevice
) -> tuple[ServeProcess, ServeProcess, SharedSession]:
    """Start two server processes; share a session across them."""
    # One after the other, because each migrates the database on start-up.
    first = await start_serve_process()
    second = await start_serve_process()
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    return first, second, await share_session(owner, member)


async def test_rate_limit_shared_between_servers(
    start_serve_process: StartServeProcess, new_device: NewDevice, redis_prefix: str
) -> None:
    first = await start_serve_process()
    second = await start_serve_process()
    device = await new_device(first, "guesser", connect=False)
    for _ in range(GUEST_LIMIT):
        assert (await device.request("POST", "/api/guest")).status == 200
    other = await new_device(second, "other", connect=False)

    refused = await other.request("POST", "/api/guest")

    assert refused.status == 429
    assert refused.json()["code"] == "rate_limited"
    client = Redis.from_url(REDIS_URL)
    try:
        counters = [key async for key in client.scan_iter(f"{redis_prefix}:*")]
    finally:
        await client.aclose()
    assert counters


async def test_progress_crosses_servers(
    start_serve_process: StartServeProcess, new_device: NewDevice
) -> None:
    _, _, shared = await start_pair(start_serve_process, new_device)
    owner, member = shared.owner, shared.member
    content = Stamped(2 * MIB)

    stored = await owner.upload(shared.session_id, "a.bin", content)

    started = await member.log.wait_for("upload:started", timeout_s=10)
    assert started["file"]["id"] == stored["id"]
    progress = await member.log.wait_for(
        "upload:progress", lambda event: event["offset"] == content.size
    )
    assert progress["file_id"] == stored["id"]
    ready = await member.log.wait_for("file:ready", for_file(stored["id"]))
    assert ready["file"]["sha256"] == content.sha256()
    status, digest = await member.download_sha256(stored["id"])
    assert (status, digest) == (200, content.sha256())


async def test_deletes_cross_servers(
    start_serve_process: StartServeProcess, new_device: NewDevice
) -> None:
    _, _, shared = await start_pair(start_serve_process, new_device)
    owner, member = shared.owner, shared.member
    stored = await member.upload(shared.session_id, "b.bin", Stamped(MIB))

    answer = await owner.call("file:delete", {"file_id": stored["id"]})
    assert answer.get("ok") is True
    deleted = await member.log.wait_for("file:deleted", for_file(stored["id"]))
    assert deleted["reason"] == "deleted"

    await owner.call("session:delete", {"session_id": shared.session_id})
    ended = await member.log.wait_for("session:ended")
    assert ended["reason"] == "deleted"


async def test_countdown_end_crosses_servers(
    start_serve_process: StartServeProcess,
    start_worker: StartWorker,
    new_device: NewDevice,
) -> None:
    first = await start_serve_process()
    second = await start_serve_process()
    start_worker(first.settings)
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member, lifetime_s=2)
    await member.upload(shared.session_id, "c.bin", Stamped(MIB))

    for device in (owner, member):
        ended = await device.log.wait_for("session:ended", timeout_s=20)
        assert ended["reason"] == "expired"
    await second.wait_until_no_files(20)


@pytest.mark.parametrize("crash", [False, True], ids=["stopped", "killed"])
async def test_upload_resumes_on_other_server(
    start_serve_process: StartServeProcess,
    new_device: NewDevice,
    move_device: MoveDevice,
    crash: bool,
) -> None:
    first, second, shared = await start_pair(start_serve_process, new_device)
    owner = shared.owner
    content = Stamped(3 * MIB)
    file = await owner.start_upload(shared.session_id, "r.bin", content.size)
    await owner.send_range(file["id"], content, "http", end=MIB, chunk_bytes=MIB)
    if crash:
        await first.kill()
    else:
        await first.stop()
    moved = await move_device(second, owner, shared.join_token)

    offset = await moved.upload_offset(file["id"])
    assert offset["offset"] == MIB
    await moved.send_range(file["id"], content, "http", start=MIB, chunk_bytes=MIB)
    finished = await moved.finish(file["id"])

    assert finished["file"]["sha256"] == content.sha256()
    status, digest = await shared.member.download_sha256(file["id"])
    assert (status, digest) == (200, content.sha256())


# Tries, a second apart, for a chunk answered upload_busy while the other
# server still notices the cut; a claim left behind would block for 20 s.
BUSY_RETRIES = 15


async def test_chunk_cut_midway_resumes_on_other_server(
    start_serve_process: StartServeProcess,
    new_device: NewDevice,
    move_device: MoveDevice,
) -> None:
    first, second, shared = await start_pair(start_serve_process, new_device)
    owner = shared.owner
    content = Stamped(2 * MIB)
    file = await owner.start_upload(shared.session_id, "cut.bin", content.size)
    connection = await RawConnection.open(first.base_url)
    headers = {
        "Host": "127.0.0.1",
        "Cookie": f"{COOKIE_NAME}={owner.cookie}",
        "Origin": first.base_url,
        "Content-Length": str(content.size),
    }
    await connection.send_head("PUT", f"/api/files/{file['id']}?offset=0", headers)
    await connection.send(content.read(0, MIB // 2))
    connection.cut()
    moved = await move_device(second, owner, shared.join_token)

    for _ in range(BUSY_RETRIES):
        data = content.read(0, content.size)
        answer = await moved.send_chunk(file["id"], 0, data, "http")
        if answer.get("code") != "upload_busy":
            break
        await asyncio.sleep(1)

    assert answer.get("ok") is True, answer
    finished = await moved.finish(file["id"])
    assert finished["file"]["sha256"] == content.sha256()


# Tries, a second apart, to resume a chunk whose process was killed. Its
# claim goes stale after CLAIM_STALE_S (20 s), and a claim that blocked the
# file for 90 s would fail the test.
KILLED_CLAIM_TRIES = 60


async def test_chunk_killed_midway_resumes_on_other_server(
    start_serve_process: StartServeProcess,
    new_device: NewDevice,
    move_device: MoveDevice,
) -> None:
    first, second, shared = await start_pair(start_serve_process, new_device)
    owner = shared.owner
    content = Stamped(2 * MIB)
    file = await owner.start_upload(shared.session_id, "killed.bin", content.size)
    connection = await open_chunk_put(
        first, owner.cookie or "", file["id"], content.size
    )
    await connection.send(content.read(0, MIB // 2))
    await wait_for_claim(first, file["id"])
    await first.kill()
    connection.cut()
    moved = await move_device(second, owner, shared.join_token)

    busy_answers = 0
    for _ in range(KILLED_CLAIM_TRIES):
        data = content.read(0, content.size)
        answer = await moved.send_chunk(file["id"], 0, data, "http")
        if answer.get("code") != "upload_busy":
            break
        busy_answers += 1
        await asyncio.sleep(1)

    assert busy_answers > 0, "the killed process left no claim to wait out"
    assert answer.get("ok") is True, answer
    finished = await moved.finish(file["id"])
    assert finished["file"]["sha256"] == content.sha256()


# How long the slow chunk trickles in before the other server tries the same
# offset: past the time a claim refreshed only as bytes arrive would go stale.
TRICKLE_S = CLAIM_STALE_S + 2 * CLAIM_REFRESH_S
TRICKLE_PIECE_BYTES = 4096
TRICKLE_INTERVAL_S = 0.5


async def test_slow_chunk_keeps_its_claim(
    start_serve_process: StartServeProcess,
    new_device: NewDevice,
    move_device: MoveDevice,
) -> None:
    first, second, shared = await start_pair(start_serve_process, new_device)
    owner = shared.owner
    pieces = int(TRICKLE_S / TRICKLE_INTERVAL_S) + 1
    content = Stamped(pieces * TRICKLE_PIECE_BYTES)
    file = await owner.start_upload(shared.session_id, "slow.bin", content.size)
    twin = await move_device(second, owner, shared.join_token)
    connection = await open_chunk_put(
        first, owner.cookie or "", file["id"], content.size
    )

    for index in range(pieces - 1):
        start = index * TRICKLE_PIECE_BYTES
        await connection.send(content.read(start, TRICKLE_PIECE_BYTES))
        await asyncio.sleep(TRICKLE_INTERVAL_S)
    busy = await twin.put_chunk(file["id"], 0, b"\x02" * content.size)
    last = (pieces - 1) * TRICKLE_PIECE_BYTES
    await connection.send(content.read(last, TRICKLE_PIECE_BYTES))
    reply = await connection.read_reply()
    await connection.close()

    assert busy.status == 409
    assert busy.json()["code"] == "upload_busy"
    assert reply.status == 200, reply.body
    finished = await owner.finish(file["id"])
    assert finished["file"]["sha256"] == content.sha256()


@pytest.fixture
def move_device(new_device: NewDevice) -> MoveDevice:
    async def move(server: LoopbackServer, device: Device, join_token: str) -> Device:
        twin = await new_device(server, device.label, connect=False)
        twin.http.cookie_jar.update_cookies(
            {COOKIE_NAME: device.cookie or ""}, URL(server.base_url)
        )
        await twin.connect()
        await twin.join(join_token)
        return twin

    return move


# Chunks of the race test, each sent to both servers at once. Without write
# claims, one race leaves wrong bytes only if the losing writer happens to
# write last, so several races make that likelier to show.
RACE_CHUNKS = 4


async def test_same_offset_on_both_servers_at_once(
    start_serve_process: StartServeProcess,
    new_device: NewDevice,
    move_device: MoveDevice,
) -> None:
    first, second, shared = await start_pair(start_serve_process, new_device)
    owner = shared.owner
    chunk_bytes = 2 * MIB
    size = RACE_CHUNKS * chunk_bytes
    file = await owner.start_upload(shared.session_id, "race.bin", size)
    twin = await move_device(second, owner, shared.join_token)
    expected = b""

    for index in range(RACE_CHUNKS):
        offset = len(expected)
        owner_bytes = bytes([2 * index + 1]) * chunk_bytes
        twin_bytes = bytes([2 * index + 2]) * chunk_bytes
        owner_halfway, twin_halfway = asyncio.Event(), asyncio.Event()
        answers = await asyncio.gather(
            put_overlapping(
                owner, file["id"], offset, owner_bytes, owner_halfway, twin_halfway
            ),
            put_overlapping(
                twin, file["id"], offset, twin_bytes, twin_halfway, owner_halfway
            ),
        )

        accepted = [answer for answer in answers if answer.status == 200]
        refused = [answer for answer in answers if answer.status != 200]
        assert len(accepted) == 1, [answer.json() for answer in answers]
        assert refused[0].status == 409
        assert refused[0].json()["code"] in {"offset_mismatch", "upload_busy"}
        expected += owner_bytes if answers[0] is accepted[0] else twin_bytes

    finished = await owner.finish(file["id"])
    assert finished.get("ok") is True
    stored = first.files_dir / shared.session_id / file["id"]
    assert stored.read_bytes() == expected


async def test_claimed_chunk_blocks_other_server(
    start_serve_process: StartServeProcess,
    new_device: NewDevice,
    move_device: MoveDevice,
) -> None:
    first, second, shared = await start_pair(start_serve_process, new_device)
    owner = shared.owner
    size = 2 * MIB
    file = await owner.start_upload(shared.session_id, "held.bin", size)
    twin = await move_device(second, owner, shared.join_token)
    owner_bytes, twin_bytes = b"\x01" * size, b"\x02" * size
    owner_halfway, twin_answered = asyncio.Event(), asyncio.Event()
    owner_put = asyncio.create_task(
        put_overlapping(owner, file["id"], 0, owner_bytes, owner_halfway, twin_answered)
    )

    try:
        await wait_for_claim(first, file["id"])
        busy = await twin.put_chunk(file["id"], 0, twin_bytes)
    finally:
        twin_answered.set()
    accepted = await owner_put

    assert busy.status == 409
    assert busy.json()["code"] == "upload_busy"
    assert accepted.status == 200, accepted.json()
    finished = await owner.finish(file["id"])
    assert finished.get("ok") is True
    stored = first.files_dir / shared.session_id / file["id"]
    assert stored.read_bytes() == owner_bytes


async def put_overlapping(
    device: Device,
    file_id: str,
    offset: int,
    data: bytes,
    halfway: asyncio.Event,
    other_halfway: asyncio.Event,
) -> Reply:
    """PUT `data` at `offset`, holding back its second half for the other PUT.

    `halfway` is set once the first half is sent, or once the server has
    responded early. The second half waits for `other_halfway`, so neither
    PUT can finish before both servers have received a request for the
    same bytes.
    """
    half = len(data) // 2

    async def body() -> AsyncIterator[bytes]:
        yield data[:half]
        halfway.set()
        await other_halfway.wait()
        yield data[half:]

    headers = {"Origin": device.base_url, "Content-Length": str(len(data))}
    try:
        async with device.http.put(
            f"/api/files/{file_id}?offset={offset}", data=body(), headers=headers
        ) as response:
            return Reply(response.status, response.headers, await response.read())
    finally:
        halfway.set()
