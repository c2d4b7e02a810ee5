"""Uploads that survive a cut connection or a server restart.

After each interruption the uploading device reconnects with a new Socket.IO
sid, rejoins the session's room, sends `upload:offset` and then the rest.
The finished file must have the SHA-256 of the original.
"""

import asyncio

from tests.content import MIB, Stamped
from tests.devices import Device, SharedSession, expect_ok, for_file
from tests.rawhttp import RawConnection
from tests.servers import RunningServer


async def reconnect(device: Device, join_token: str) -> str:
    """Open a new connection, rejoin the session and return the new sid."""
    await device.connect()
    await device.join(join_token)
    sid = device.sid
    assert sid is not None
    return sid


async def finish_and_check(
    shared: SharedSession, file_id: str, payload: Stamped
) -> None:
    """Finish an upload and check the stored file on the owner's side."""
    finished = expect_ok(await shared.member.finish(file_id), "finish")
    assert finished["file"]["sha256"] == payload.sha256()
    status, digest = await shared.owner.download_sha256(file_id)
    assert status == 200
    assert digest == payload.sha256()


def assert_one_continuous_upload(watcher: Device, file_id: str, size: int) -> None:
    progress = watcher.log.all("upload:progress", for_file(file_id))
    offsets = [event["offset"] for event in progress]
    assert offsets == sorted(offsets), "progress went backwards"
    assert offsets[-1] == size
    assert len(watcher.log.all("upload:started", for_file(file_id))) == 1
    assert len(watcher.log.all("file:ready", for_file(file_id))) == 1
    assert watcher.log.all("file:deleted", for_file(file_id)) == []


async def test_resume_after_socket_cut(shared: SharedSession) -> None:
    member = shared.member
    payload = Stamped(200 * MIB)
    chunk_bytes = member.chunk_bytes("socket")
    file = await member.start_upload(
        shared.session_id, "resume.bin", payload.size, payload.sha256()
    )
    file_id = file["id"]
    sent = await member.send_range(file_id, payload, "socket", end=80 * MIB)
    old_sid = member.sid

    # Chunks still in flight when the connection goes down.
    assert member.sio is not None
    for offset in range(sent, sent + 3 * chunk_bytes, chunk_bytes):
        data = payload.read(offset, chunk_bytes)
        await member.sio.emit(
            "upload:chunk", {"file_id": file_id, "offset": offset, "data": data}
        )
    await member.cut_socket()
    new_sid = await reconnect(member, shared.join_token)
    state = expect_ok(await member.upload_offset(file_id), "offset")

    assert new_sid != old_sid
    assert state["state"] == "uploading"
    assert state["size"] == payload.size
    assert sent <= state["offset"] <= sent + 3 * chunk_bytes
    assert state["offset"] % chunk_bytes == 0
    await member.send_range(file_id, payload, "socket", start=state["offset"])
    await finish_and_check(shared, file_id, payload)
    await shared.owner.log.wait_for("file:ready", for_file(file_id))
    assert_one_continuous_upload(shared.owner, file_id, payload.size)


async def test_resume_after_http_cut(
    shared: SharedSession, server: RunningServer
) -> None:
    member = shared.member
    payload = Stamped(32 * MIB)
    # Smaller than the announced size, so the file takes several chunks.
    chunk_bytes = 8 * MIB
    file = await member.start_upload(shared.session_id, "cut.bin", payload.size)
    file_id = file["id"]
    sent = await member.send_range(
        file_id, payload, "http", end=chunk_bytes, chunk_bytes=chunk_bytes
    )
    connection = await RawConnection.open(server.base_url)

    await connection.send_head(
        "PUT",
        f"/api/files/{file_id}?offset={sent}",
        {
            "Host": f"127.0.0.1:{server.settings.port}",
            "Cookie": f"ds_device={member.cookie}",
            "Content-Length": str(chunk_bytes),
        },
    )
    await connection.send(payload.read(sent, chunk_bytes // 2))
    connection.cut()
    await asyncio.sleep(0.5)
    state = expect_ok(await member.upload_offset(file_id), "offset")

    assert sent <= state["offset"] <= sent + chunk_bytes // 2
    await member.send_range(file_id, payload, "http", start=state["offset"])
    await finish_and_check(shared, file_id, payload)


async def test_resume_after_server_restart(
    shared: SharedSession, server: RunningServer
) -> None:
    member, owner = shared.member, shared.owner
    payload = Stamped(32 * MIB)
    file = await member.start_upload(
        shared.session_id, "restart.bin", payload.size, payload.sha256()
    )
    sent = await member.send_range(
        file["id"], payload, "http", end=13 * MIB, chunk_bytes=MIB
    )

    await server.restart()
    await reconnect(member, shared.join_token)
    await reconnect(owner, shared.join_token)
    state = expect_ok(await member.upload_offset(file["id"]), "offset")

    assert state["offset"] == sent
    assert state["state"] == "uploading"
    await member.send_range(file["id"], payload, "http", start=sent)
    await finish_and_check(shared, file["id"], payload)
    await owner.log.wait_for("file:ready", for_file(file["id"]))
