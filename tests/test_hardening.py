"""Limits found by trying to break the server: stalls, floods, odd input."""

import asyncio
import os
import subprocess
import sys
from urllib.parse import quote

import pytest

from server.datalock import DataDirInUse, lock_data_dir
from tests.devices import SharedSession
from tests.rawhttp import RawConnection
from tests.servers import RunningServer, StartServer, StartShared


@pytest.fixture
async def embedded(start_server: StartServer) -> RunningServer:
    """A server on SQLite, the only user of its data dir, on either pass."""
    return await start_server(database_url="")


async def test_data_dir_lock_held(embedded: RunningServer) -> None:
    with pytest.raises(DataDirInUse):
        await asyncio.to_thread(lock_data_dir, embedded.data_dir)
    with pytest.raises(DataDirInUse):
        await asyncio.to_thread(lock_data_dir, embedded.data_dir, shared=True)


async def test_second_serve_refused(embedded: RunningServer) -> None:
    environment = os.environ | {
        "DROPSPACE_HOST": "127.0.0.1",
        "DROPSPACE_PORT": "0",
        "DROPSPACE_DATA_DIR": str(embedded.data_dir),
        "DROPSPACE_DATABASE_URL": "",
    }
    command = [sys.executable, "-m", "server.cli", "serve"]

    result = await asyncio.to_thread(
        subprocess.run, command, env=environment, capture_output=True, timeout=60
    )

    assert result.returncode == 1
    assert b"Another DropSpace process is using the data dir" in result.stderr
    assert b"DropSpace is running" not in result.stdout


async def test_stalled_chunk_times_out(start_shared: StartShared) -> None:
    server, shared = await start_shared(chunk_idle_timeout_s=0.5)
    member = shared.member
    file = await member.start_upload(shared.session_id, "stall.bin", 1000)
    connection = await RawConnection.open(server.base_url)
    headers = {
        "Host": "127.0.0.1",
        "Cookie": f"ds_device={member.cookie}",
        "Origin": server.base_url,
        "Content-Length": "1000",
    }

    await connection.send_head("PUT", f"/api/files/{file['id']}?offset=0", headers)
    await connection.send(b"x" * 10)
    reply = await connection.read_reply(timeout_s=10)

    assert reply.status == 408
    assert b"chunk_timeout" in reply.body
    retried = await member.put_chunk(file["id"], 0, b"y" * 1000)
    assert retried.status == 200


FLOODED_FILES = 40


async def test_event_flood_rate_limited(shared: SharedSession) -> None:
    # A chunk ahead of the committed offset waits about a second for its
    # turn, so these events stay in flight however fast the database is.
    sio = shared.member.sio
    assert sio is not None
    declared = [{"name": f"f{index}.bin", "size": 10} for index in range(FLOODED_FILES)]
    started = await shared.member.start_uploads(shared.session_id, declared)
    ahead = [
        {"file_id": entry["id"], "offset": 5, "data": b"x"}
        for entry in started["files"]
    ]
    calls = [sio.call("upload:chunk", chunk, timeout=30) for chunk in ahead]

    answers = await asyncio.gather(*calls)

    codes = [answer.get("code") for answer in answers]
    assert set(codes) == {"rate_limited", "offset_mismatch"}
    assert codes.count("offset_mismatch") >= 32
    assert (await shared.member.call("clock:sync", {})).get("ok") is True


@pytest.mark.parametrize(
    "name",
    ["\udcff.txt", "a\u2028b.txt", "\u202eexe.txt", "\ufeffa.txt", "   "],
    ids=["surrogate", "line-separator", "bidi-override", "bom", "spaces"],
)
async def test_unsafe_name_rejected(shared: SharedSession, name: str) -> None:
    ack = await shared.member.start_uploads(
        shared.session_id, [{"name": name, "size": 1}]
    )

    assert ack["files"][0]["code"] == "invalid_name"


async def test_emoji_joiner_name_accepted(shared: SharedSession) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467.jpg"

    file = await shared.member.start_upload(shared.session_id, family, 1)

    assert file["name"] == family


@pytest.mark.parametrize("offset", ["\u00b2", "\u0665\u0660", "1e3", "-1", ""])
async def test_offset_ascii_digits_only(shared: SharedSession, offset: str) -> None:
    file = await shared.member.start_upload(shared.session_id, "o.bin", 100)
    target = f"/api/files/{file['id']}?offset={quote(offset)}"
    reply = await shared.member.request("PUT", target, data=b"z")

    assert reply.status == 400
    assert reply.json().get("code") == "bad_request"


async def test_surrogate_title_rejected(shared: SharedSession) -> None:
    reply = await shared.owner.request(
        "POST", "/api/sessions", json_body={"title": "\udcff"}
    )

    assert reply.status == 400
    assert reply.json().get("code") == "invalid_title"


async def test_unknown_event_answered(shared: SharedSession) -> None:
    answer = await shared.member.call("upload:teleport", {}, timeout_s=5)

    assert answer.get("ok") is False
    assert answer.get("code") == "not_found"


async def test_empty_suffix_range_unsatisfiable(shared: SharedSession) -> None:
    file = await shared.member.upload(shared.session_id, "r.bin", b"0123456789")

    reply = await shared.owner.download(file["id"], headers={"Range": "bytes=-0"})

    assert reply.status == 416
    assert reply.headers.get("Content-Range") == "bytes */10"
