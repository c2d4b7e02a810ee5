"""Several server processes behind one PostgreSQL, Redis and data dir.

Each test starts two servers that differ only in their port, and puts a
device on each into one session.
"""

import asyncio
import dataclasses
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis
from yarl import URL

from tests.content import MIB, Stamped
from tests.devices import (
    COOKIE_NAME,
    Device,
    NewDevice,
    SharedSession,
    for_file,
    share_session,
)
from tests.production import REDIS_URL, environment
from tests.rawhttp import RawConnection
from tests.servers import RunningServer, StartProduction, StartWorker, free_port

# The `move_device` fixture: the same device (cookie) on another server,
# joined to a session by its join token.
MoveDevice = Callable[[RunningServer, Device, str], Awaitable[Device]]

GUEST_LIMIT = 20


async def start_pair(
    start_production: StartProduction, new_device: NewDevice
) -> tuple[RunningServer, RunningServer, SharedSession]:
    """Start two servers on one data dir; share a session across them."""
    first = await start_production()
    port = free_port()
    second = await start_production(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        data_dir=first.data_dir,
    )
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    return first, second, await share_session(owner, member)


async def test_rate_limit_shared_between_servers(
    start_production: StartProduction, new_device: NewDevice, redis_prefix: str
) -> None:
    first = await start_production()
    second = await start_production()
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
    start_production: StartProduction, new_device: NewDevice
) -> None:
    _, _, shared = await start_pair(start_production, new_device)
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
    start_production: StartProduction, new_device: NewDevice
) -> None:
    _, _, shared = await start_pair(start_production, new_device)
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
    start_production: StartProduction,
    start_worker: StartWorker,
    new_device: NewDevice,
) -> None:
    first = await start_production()
    port = free_port()
    second = await start_production(
        port=port, public_url=f"http://127.0.0.1:{port}", data_dir=first.data_dir
    )
    start_worker(first.settings)
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member, lifetime_s=2)
    await member.upload(shared.session_id, "c.bin", Stamped(MIB))

    for device in (owner, member):
        ended = await device.log.wait_for("session:ended", timeout_s=20)
        assert ended["reason"] == "expired"
    await second.wait_until_no_files(20)


async def test_upload_resumes_on_other_server(
    start_production: StartProduction, new_device: NewDevice, move_device: MoveDevice
) -> None:
    first, second, shared = await start_pair(start_production, new_device)
    owner = shared.owner
    content = Stamped(3 * MIB)
    file = await owner.start_upload(shared.session_id, "r.bin", content.size)
    await owner.send_range(file["id"], content, "http", end=MIB, chunk_bytes=MIB)
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
# server still notices the cut; a claim left behind would block for 90 s.
BUSY_RETRIES = 15


async def test_chunk_cut_midway_resumes_on_other_server(
    start_production: StartProduction, new_device: NewDevice, move_device: MoveDevice
) -> None:
    first, second, shared = await start_pair(start_production, new_device)
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


@pytest.fixture
async def move_device(new_device: NewDevice) -> AsyncIterator[MoveDevice]:
    moved: list[Device] = []

    async def move(server: RunningServer, device: Device, join_token: str) -> Device:
        twin = Device(server.base_url, device.label)
        moved.append(twin)
        twin.http.cookie_jar.update_cookies(
            {COOKIE_NAME: device.cookie or ""}, URL(server.base_url)
        )
        await twin.connect()
        await twin.join(join_token)
        return twin

    yield move
    for twin in moved:
        await twin.close()


async def test_same_offset_on_both_servers_at_once(
    start_production: StartProduction, new_device: NewDevice, move_device: MoveDevice
) -> None:
    first, second, shared = await start_pair(start_production, new_device)
    owner = shared.owner
    size = 8 * MIB
    file = await owner.start_upload(shared.session_id, "race.bin", size)
    twin = await move_device(second, owner, shared.join_token)
    ones, twos = b"\x01" * size, b"\x02" * size

    answers = await asyncio.gather(
        owner.put_chunk(file["id"], 0, ones), twin.put_chunk(file["id"], 0, twos)
    )

    accepted = [answer for answer in answers if answer.status == 200]
    refused = [answer for answer in answers if answer.status != 200]
    assert len(accepted) == 1, [answer.json() for answer in answers]
    assert refused[0].status == 409
    assert refused[0].json()["code"] in {"offset_mismatch", "upload_busy"}
    winner = ones if answers[0] is accepted[0] else twos
    finished = await owner.finish(file["id"])
    assert finished.get("ok") is True
    stored = first.files_dir / shared.session_id / file["id"]
    assert stored.read_bytes() == winner


async def test_second_serve_process_shares_everything(
    start_production: StartProduction, new_device: NewDevice, tmp_path: Path
) -> None:
    first = await start_production()
    port = free_port()
    settings = dataclasses.replace(
        first.settings, port=port, public_url=f"http://127.0.0.1:{port}"
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            env=os.environ | environment(settings),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        await wait_for_port(port, process, log_path)
        await check_shared_session(first, RunningServer(settings), new_device)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def wait_for_port(
    port: int, process: asyncio.subprocess.Process, log: Path
) -> None:
    """Wait until a server process accepts connections; fail if it exits."""
    for _ in range(400):
        if process.returncode is not None:
            output = await asyncio.to_thread(log.read_text)
            raise AssertionError(f"dropspace serve exited: {output}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    output = await asyncio.to_thread(log.read_text)
    raise AssertionError(f"dropspace serve did not listen: {output}")


async def check_shared_session(
    first: RunningServer, second: RunningServer, new_device: NewDevice
) -> None:
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member)
    content = Stamped(2 * MIB)

    stored = await owner.upload(shared.session_id, "p.bin", content)

    ready = await member.log.wait_for("file:ready", for_file(stored["id"]))
    assert ready["file"]["size"] == content.size
    status, digest = await member.download_sha256(stored["id"])
    assert (status, digest) == (200, content.sha256())
