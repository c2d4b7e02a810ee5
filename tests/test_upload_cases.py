"""Upload sequences drawn from faults that upload code has shipped.

Chunk sizes around the Socket.IO message limit, chunks in flight out of
order, retried and skipped chunks, bytes past the declared size, and empty
files. Capacity races, resumes and expiry have files of their own.
"""

import asyncio

import pytest

from tests.content import EMPTY_SHA256, KIB, MIB, Stamped
from tests.devices import Device, SharedSession, expect_ok, for_file
from tests.rawhttp import RawConnection
from tests.servers import RunningServer, StartShared

TRANSPORTS = ["http", "socket"]
# Seconds for the sweep to remove an upload idle for 1 s; generous for CI.
ABANDON_BOUND_S = 20.0


async def assert_progress_monotonic(device: Device, file_id: str, size: int) -> None:
    """Check that progress for a file ended at its size and never went backwards."""
    await device.log.wait_for(
        "upload:progress", lambda e: e["file_id"] == file_id and e["offset"] == size
    )
    offsets = [
        e["offset"] for e in device.log.all("upload:progress", for_file(file_id))
    ]
    assert offsets == sorted(offsets), offsets
    assert max(offsets) <= size


async def call_or_drop(device: Device, event: str, payload: dict) -> dict | None:
    """Emit an event and return its acknowledgement, or None if the link dropped."""
    call = asyncio.ensure_future(device.call(event, payload, timeout_s=20))
    dropped = asyncio.ensure_future(device.disconnected.wait())
    done, _ = await asyncio.wait({call, dropped}, return_when=asyncio.FIRST_COMPLETED)
    if call in done:
        dropped.cancel()
        return call.result()
    call.cancel()
    return None


# Chunks around the transport limit


@pytest.mark.parametrize("excess", [-1, 0, 1], ids=["under", "at", "over"])
async def test_socket_chunk_near_limit(shared: SharedSession, excess: int) -> None:
    # A message up to the limit gets an acknowledgement. A longer one may drop
    # the connection, and then the device reconnects and rejoins.
    member = shared.member
    limit = member.limits["socket_max_message_bytes"]
    payload = Stamped(3 * limit)
    file = await member.start_upload(shared.session_id, "limit.bin", payload.size)
    chunk = {
        "file_id": file["id"],
        "offset": 0,
        "data": payload.read(0, limit + excess),
    }

    ack = await call_or_drop(member, "upload:chunk", chunk)

    if excess <= 0:
        assert ack is not None, f"a {limit + excess}-byte chunk dropped the connection"
    if ack is None:
        await member.connect()
        await member.join(shared.join_token)
    else:
        assert ack.get("code") == "chunk_too_large", ack
        assert ack.get("max_bytes") == member.limits["socket_chunk_bytes"]
    assert (await member.call("clock:sync", {})).get("ok") is True
    state = await member.upload_offset(file["id"])
    assert state.get("offset") == 0
    assert state.get("state") == "uploading"
    assert (await member.finish(file["id"])).get("code") == "upload_incomplete"
    await member.send_range(file["id"], payload, "socket")
    finished = expect_ok(await member.finish(file["id"]), "finish")
    assert finished["file"]["sha256"] == payload.sha256()


async def test_http_chunk_over_max_rejected(start_shared: StartShared) -> None:
    _, shared = await start_shared(max_http_chunk_bytes=MIB, http_chunk_bytes=MIB // 2)
    file = await shared.member.start_upload(shared.session_id, "big.bin", 4 * MIB)

    reply = await shared.member.put_chunk(file["id"], 0, bytes(MIB + 1))

    assert reply.status == 413
    assert reply.json().get("code") == "chunk_too_large"
    assert reply.json().get("max_bytes") == MIB
    assert (await shared.member.upload_offset(file["id"])).get("offset") == 0


# Several Socket.IO chunks in flight


async def send_in_flight(
    device: Device, file_id: str, payload: Stamped, chunk_bytes: int, reverse: bool
) -> list[dict]:
    """Emit a file's chunks eight at a time without waiting between them.

    With `reverse`, each group of eight is emitted last chunk first, so the
    server must hold chunks that arrive before their turn.
    """
    offsets = list(range(0, payload.size, chunk_bytes))
    acks: list[dict] = []
    for group_start in range(0, len(offsets), 8):
        group = offsets[group_start : group_start + 8]
        if reverse:
            group.reverse()
        calls = [
            device.emit_chunk(file_id, offset, payload.read(offset, chunk_bytes))
            for offset in group
        ]
        acks += await asyncio.gather(*calls)
    return acks


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
async def test_socket_chunks_in_flight(shared: SharedSession, reverse: bool) -> None:
    member = shared.member
    payload = Stamped(16 * MIB)
    file = await member.start_upload(shared.session_id, "flight.bin", payload.size)

    acks = await send_in_flight(member, file["id"], payload, MIB, reverse)

    assert all(ack.get("ok") is True for ack in acks), acks
    finished = expect_ok(await member.finish(file["id"]), "finish")
    assert finished["file"]["sha256"] == payload.sha256()
    reply = await shared.owner.download(file["id"])
    assert reply.body == payload.whole()
    await assert_progress_monotonic(shared.owner, file["id"], payload.size)


# Retried and missing chunks


def mib_chunk(payload: Stamped, index: int) -> tuple[int, bytes]:
    return index * MIB, payload.read(index * MIB, MIB)


async def send_mib_chunks(
    device: Device, file_id: str, payload: Stamped, indexes: range, transport: str
) -> None:
    for index in indexes:
        answer = await device.send_chunk(file_id, *mib_chunk(payload, index), transport)
        expect_ok(answer, f"chunk {index}")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_retried_chunk_rejected(shared: SharedSession, transport: str) -> None:
    member = shared.member
    payload = Stamped(10 * MIB)
    file = await member.start_upload(shared.session_id, "retry.bin", payload.size)
    await send_mib_chunks(member, file["id"], payload, range(4), transport)

    repeat = await member.send_chunk(file["id"], *mib_chunk(payload, 3), transport)

    assert repeat.get("code") == "offset_mismatch"
    assert repeat.get("offset") == 4 * MIB
    assert (await member.upload_offset(file["id"])).get("offset") == 4 * MIB
    await send_mib_chunks(member, file["id"], payload, range(4, 10), transport)
    finished = expect_ok(await member.finish(file["id"]), "finish")
    assert finished["file"]["sha256"] == payload.sha256()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_skipped_chunk_rejected(shared: SharedSession, transport: str) -> None:
    member = shared.member
    payload = Stamped(10 * MIB)
    file = await member.start_upload(shared.session_id, "skip.bin", payload.size)
    file_id = file["id"]
    await send_mib_chunks(member, file_id, payload, range(7), transport)

    skipped = await member.send_chunk(file_id, *mib_chunk(payload, 8), transport)

    assert skipped.get("code") == "offset_mismatch"
    assert skipped.get("offset") == 7 * MIB
    early = await member.finish(file_id)
    assert early.get("code") == "upload_incomplete"
    assert early.get("offset") == 7 * MIB
    assert early.get("size") == 10 * MIB
    assert (await shared.owner.download(file_id)).status != 200
    assert not shared.owner.log.all("file:ready", for_file(file_id))
    await send_mib_chunks(member, file_id, payload, range(7, 10), transport)
    finished = expect_ok(await member.finish(file_id), "finish")
    assert finished["file"]["sha256"] == payload.sha256()
    assert (await shared.owner.download(file_id)).body == payload.whole()


async def test_chunk_after_complete_rejected(shared: SharedSession) -> None:
    file = await shared.member.upload(shared.session_id, "done.txt", b"done")

    reply = await shared.member.put_chunk(file["id"], 4, b"more")

    assert reply.status == 409
    assert reply.json().get("code") == "upload_not_active"
    assert reply.json().get("state") == "complete"


# Declared size versus received bytes


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_bytes_past_declared_size(shared: SharedSession, transport: str) -> None:
    member = shared.member
    payload = Stamped(KIB)
    file = await member.start_upload(shared.session_id, "small.bin", KIB)

    expect_ok(
        await member.send_chunk(file["id"], 0, payload.read(0, 512), transport), ""
    )
    past = await member.send_chunk(
        file["id"], 512, Stamped(2 * KIB).read(512, KIB), transport
    )

    assert past.get("code") == "size_exceeded"
    assert past.get("offset") == 512
    assert past.get("size") == KIB
    assert (await member.upload_offset(file["id"])).get("offset") == 512
    expect_ok(
        await member.send_chunk(file["id"], 512, payload.read(512, 512), transport), ""
    )
    finished = expect_ok(await member.finish(file["id"]), "finish")
    assert finished["file"]["sha256"] == payload.sha256()


async def test_huge_body_stopped_early(start_shared: StartShared) -> None:
    # The chunk limit is raised so that only the declared size can stop the body.
    server, shared = await start_shared(max_http_chunk_bytes=256 * MIB)
    file = await shared.member.start_upload(shared.session_id, "small.bin", KIB)
    connection = await RawConnection.open(server.base_url)

    await connection.send_head(
        "PUT",
        f"/api/files/{file['id']}?offset=0",
        {
            "Host": f"127.0.0.1:{server.settings.port}",
            "Cookie": f"ds_device={shared.member.cookie}",
            "Content-Length": str(150 * MIB),
            "Content-Type": "application/octet-stream",
        },
    )
    await connection.send(bytes(64 * KIB))
    reply = await connection.read_reply(timeout_s=10)
    await connection.close()

    assert reply.status == 413
    assert b'"size_exceeded"' in reply.body
    assert (await shared.member.upload_offset(file["id"])).get("offset") == 0


async def test_stored_bytes_match_offsets(
    shared: SharedSession, server: RunningServer
) -> None:
    member = shared.member
    small = await member.upload(shared.session_id, "small.bin", Stamped(KIB))
    partial = await member.start_upload(shared.session_id, "half.bin", 10 * MIB)
    await member.send_range(partial["id"], Stamped(10 * MIB), "http", end=5 * MIB)

    early = await member.finish(partial["id"])

    assert early.get("code") == "upload_incomplete"
    assert early.get("offset") == 5 * MIB
    assert early.get("size") == 10 * MIB
    assert small["size"] == KIB
    assert server.stored_bytes() == KIB + 5 * MIB


# Zero bytes


async def test_empty_file_in_batch(shared: SharedSession) -> None:
    member = shared.member
    after = Stamped(KIB)
    declared = [
        {"name": "empty.txt", "size": 0, "sha256": EMPTY_SHA256},
        {"name": "after.bin", "size": KIB, "sha256": after.sha256()},
    ]
    ack = expect_ok(await member.start_uploads(shared.session_id, declared), "start")
    empty_id, after_id = (entry["id"] for entry in ack["files"])

    empty = expect_ok(await member.finish(empty_id), "finish empty")
    await member.send_range(after_id, after, "http")
    expect_ok(await member.finish(after_id), "finish after")

    assert empty["file"]["sha256"] == EMPTY_SHA256
    assert empty["file"]["state"] == "complete"
    await shared.owner.log.wait_for("file:ready", for_file(after_id))
    progress = shared.owner.log.all("upload:progress", for_file(empty_id))
    assert all(event["offset"] == event["size"] == 0 for event in progress)
    reply = await shared.owner.download(empty_id)
    assert reply.status == 200
    assert reply.headers.get("Content-Length") == "0"
    assert reply.body == b""


# Abandoned uploads


async def test_abandoned_upload_swept(start_shared: StartShared) -> None:
    """A partial file whose uploader never returns loses its space after a while."""
    server, shared = await start_shared(sweep_interval_s=0.2, upload_abandon_s=1.0)
    size = 10 * MIB
    payload = Stamped(size)
    file = await shared.member.start_upload(shared.session_id, "stalled.bin", size)
    await shared.member.send_range(file["id"], payload, "http", end=3 * MIB)

    # Stopped at 30%: never downloadable while it waits.
    reply = await shared.owner.download(file["id"])
    assert reply.status == 404
    deleted = await shared.owner.log.wait_for(
        "file:deleted", for_file(file["id"]), timeout_s=ABANDON_BOUND_S
    )

    assert deleted["reason"] == "abandoned"
    await server.wait_until_no_files(ABANDON_BOUND_S)
    freed = await shared.owner.log.wait_for(
        "session:updated",
        lambda event: event["used_bytes"] == 0,
        timeout_s=ABANDON_BOUND_S,
    )
    assert freed["used_bytes"] == 0
