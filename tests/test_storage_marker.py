"""The storage marker: a files folder without it serves no file and is not swept.

The folder is moved away, or replaced by an empty mount point, the way
storage looks when it is not mounted. Sweeps in the worker are covered by
tests/test_worker.py.
"""

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from server.storage_marker import MARKER_NAME
from tests.content import MIB, Stamped
from tests.devices import Device, Reply, SharedSession, expect_ok
from tests.servers import RunningServer
from tests.test_resume import reconnect

BOUND_S = 20.0
POLL_S = 0.05
UNAVAILABLE = "storage_unavailable"


async def _health(device: Device) -> Reply:
    return await device.request("GET", "/healthz", cookie=False)


async def _wait_for_health(device: Device, status: int) -> Reply:
    """Poll /healthz until it returns status.

    Its marker check is the cached one that chunks and downloads use, so
    after this they see the same state for about a second.
    """
    for _ in range(int(BOUND_S / POLL_S)):
        reply = await _health(device)
        if reply.status == status:
            return reply
        await asyncio.sleep(POLL_S)
    raise AssertionError(f"/healthz did not return {status} within {BOUND_S} s")


def _move_away(files_dir: Path, away: Path, stand_in: str) -> None:
    """Move the files folder away, leaving what an unmounted mount shows."""
    files_dir.rename(away)
    if stand_in == "lost+found":
        (files_dir / "lost+found").mkdir(parents=True)


def _move_back(files_dir: Path, away: Path) -> None:
    shutil.rmtree(files_dir, ignore_errors=True)
    away.rename(files_dir)


def _entries_of(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def _assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503
    assert reply.json()["code"] == UNAVAILABLE
    assert int(reply.headers["Retry-After"]) > 0


async def test_new_data_dir_gets_marker(server: RunningServer) -> None:
    marker = server.files_dir / MARKER_NAME

    content = marker.read_text("ascii")

    assert re.fullmatch(r"[0-9a-f]{32}\n", content)


@pytest.mark.parametrize("stand_in", ["absent", "lost+found"])
async def test_unmounted_storage_rejects_transfers(
    shared: SharedSession, server: RunningServer, tmp_path: Path, stand_in: str
) -> None:
    member, owner = shared.member, shared.owner
    payload = Stamped(2 * MIB)
    done = await member.upload(shared.session_id, "done.bin", payload)
    partial = await member.start_upload(
        shared.session_id, "partial.bin", payload.size, payload.sha256()
    )
    sent = await member.send_range(partial["id"], payload, "http", end=MIB)
    away = tmp_path / "files-away"

    _move_away(server.files_dir, away, stand_in)
    left_behind = _entries_of(server.files_dir)
    health = await _wait_for_health(owner, 503)

    assert health.json()["code"] == UNAVAILABLE
    livez = await owner.request("GET", "/livez", cookie=False)
    assert livez.status == 200
    _assert_unavailable(await owner.download(done["id"]))
    chunk = payload.read(sent, MIB)
    _assert_unavailable(await member.put_chunk(partial["id"], sent, chunk))
    socket_chunk = await member.emit_chunk(partial["id"], sent, chunk)
    assert socket_chunk["code"] == UNAVAILABLE
    assert socket_chunk["retry_after_s"] > 0
    finish = await member.finish(partial["id"])
    assert finish["code"] == UNAVAILABLE
    start = await member.start_uploads(
        shared.session_id, [{"name": "new.bin", "size": 10}]
    )
    assert start["code"] == UNAVAILABLE
    assert _entries_of(server.files_dir) == left_behind

    _move_back(server.files_dir, away)
    await _wait_for_health(owner, 200)

    await member.send_range(partial["id"], payload, "http", start=sent)
    finished = expect_ok(await member.finish(partial["id"]), "finish")
    assert finished["file"]["sha256"] == payload.sha256()
    for file_id in (done["id"], partial["id"]):
        status, digest = await owner.download_sha256(file_id)
        assert (status, digest) == (200, payload.sha256())


async def test_earlier_data_dir_gets_marker(
    shared: SharedSession, server: RunningServer
) -> None:
    member, owner = shared.member, shared.owner
    payload = Stamped(MIB)
    before = await member.upload(shared.session_id, "before.bin", payload)
    marker = server.files_dir / MARKER_NAME
    await server.stop()
    # A data dir of a version without the marker.
    marker.unlink()

    await server.start()
    await reconnect(member, shared.join_token)
    await reconnect(owner, shared.join_token)

    assert marker.is_file()
    status, digest = await owner.download_sha256(before["id"])
    assert (status, digest) == (200, payload.sha256())
    after = await member.upload(shared.session_id, "after.bin", payload)
    assert after["sha256"] == payload.sha256()


@pytest.mark.parametrize("stand_in", ["absent", "lost+found"])
async def test_start_without_storage_keeps_marker_missing(
    shared: SharedSession,
    server: RunningServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    stand_in: str,
) -> None:
    member, owner = shared.member, shared.owner
    payload = Stamped(2 * MIB)
    done = await member.upload(shared.session_id, "done.bin", payload)
    partial = await member.start_upload(
        shared.session_id, "partial.bin", payload.size, payload.sha256()
    )
    sent = await member.send_range(partial["id"], payload, "http", end=MIB)
    away = tmp_path / "files-away"
    await server.stop()
    _move_away(server.files_dir, away, stand_in)
    left_behind = _entries_of(server.files_dir)

    await server.start()
    await reconnect(member, shared.join_token)
    await reconnect(owner, shared.join_token)

    assert _entries_of(server.files_dir) == left_behind
    warnings = [
        record.getMessage()
        for record in caplog.records
        if "storage marker missing" in record.getMessage()
    ]
    assert warnings
    assert str(server.files_dir) in warnings[0]
    assert (await _health(owner)).json()["code"] == UNAVAILABLE
    start = await member.start_uploads(
        shared.session_id, [{"name": "new.bin", "size": 10}]
    )
    assert start["code"] == UNAVAILABLE
    assert _entries_of(server.files_dir) == left_behind

    await server.stop()
    _move_back(server.files_dir, away)
    await server.start()
    await reconnect(member, shared.join_token)
    await reconnect(owner, shared.join_token)

    # Start-up recovery found no partial file while the storage was away,
    # and must not have failed the upload.
    offset = expect_ok(await member.upload_offset(partial["id"]), "offset")
    assert offset["offset"] == sent
    await member.send_range(partial["id"], payload, "http", start=sent)
    expect_ok(await member.finish(partial["id"]), "finish")
    for file_id in (done["id"], partial["id"]):
        status, digest = await owner.download_sha256(file_id)
        assert (status, digest) == (200, payload.sha256())
