"""Two devices move files of edge-case sizes and names through one session.

The member joined by link and has no account; the owner is a guest. Sizes
sit around the chunk size the server announces for the transport in use.
"""

import time

import pytest

from tests.content import MIB, Blob, Payload, Stamped, first_difference, random_blob
from tests.devices import SharedSession, for_file

TRANSPORTS = ["http", "socket"]


def edge_case_files(chunk_bytes: int) -> list[tuple[str, Payload]]:
    return [
        ("empty.bin", Blob(b"")),
        ("one-byte.txt", Blob(b"x")),
        ("Report, final; v2.pdf", Stamped(chunk_bytes - 1)),
        ("Übersicht – 報告 🚀.txt", Stamped(chunk_bytes)),  # noqa: RUF001
        ("../../etc/passwd", Stamped(chunk_bytes + 1)),
        ("random.bin", random_blob(50 * MIB)),
    ]


def download_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_transfer_round_trip(shared: SharedSession, transport: str) -> None:
    owner, member = shared.owner, shared.member
    files = edge_case_files(member.chunk_bytes(transport))

    uploaded = [
        await member.upload(shared.session_id, name, payload, transport)
        for name, payload in files
    ]

    for file, (name, payload) in zip(uploaded, files, strict=True):
        ready = await owner.log.wait_for("file:ready", for_file(file["id"]))
        seen = ready["file"]
        assert seen["name"] == name
        assert seen["download_name"] == download_name(name)
        assert seen["size"] == payload.size
        assert seen["state"] == "complete"
        assert seen["sha256"] == payload.sha256()
        for device in (owner, member):
            reply = await device.download(file["id"])
            body = reply.body
            assert reply.status == 200, (device, name, reply.status)
            assert len(body) == payload.size, (device, name)
            difference = first_difference(payload.read(0, payload.size), body)
            assert difference is None, f"{device} {name!r} differs at byte {difference}"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_transfer_progress_events(shared: SharedSession, transport: str) -> None:
    owner, member = shared.owner, shared.member
    payload = random_blob(50 * MIB, seed=1)

    started_at = time.monotonic()
    file = await member.upload(shared.session_id, "progress.bin", payload, transport)
    await owner.log.wait_for(
        "upload:progress",
        lambda e: e["file_id"] == file["id"] and e["offset"] == payload.size,
    )
    elapsed_s = time.monotonic() - started_at

    started = await owner.log.wait_for("upload:started", for_file(file["id"]))
    assert started["file"]["state"] == "uploading"
    assert started["file"]["offset"] == 0
    progress = owner.log.all("upload:progress", for_file(file["id"]))
    offsets = [event["offset"] for event in progress]
    assert offsets == sorted(offsets), "progress offsets went backwards"
    assert all(event["size"] == payload.size for event in progress)
    assert offsets[-1] == payload.size
    # About 4 events a second are allowed; one more for the final event and
    # one for rounding at either end of the interval.
    assert len(progress) <= 4 * elapsed_s + 2, (len(progress), elapsed_s)
    await owner.log.wait_for("file:ready", for_file(file["id"]))
    await member.log.wait_for("file:ready", for_file(file["id"]))


async def test_transfer_empty_file_ready(shared: SharedSession) -> None:
    file = await shared.member.upload(shared.session_id, "empty.txt", b"")

    ready = await shared.owner.log.wait_for("file:ready", for_file(file["id"]))
    assert ready["file"]["size"] == 0
    assert ready["file"]["offset"] == 0
    progress = shared.owner.log.all("upload:progress", for_file(file["id"]))
    assert all(event["offset"] == event["size"] == 0 for event in progress)


async def test_file_uploader_per_device(shared: SharedSession) -> None:
    file = await shared.member.upload(shared.session_id, "mine.txt", b"mine")

    owner_view = await shared.owner.join(shared.join_token)
    member_view = await shared.member.join(shared.join_token)

    uploader = file["uploader_device_id"]
    assert uploader == member_view["device"]["id"]
    assert uploader != owner_view["device"]["id"]
    assert [f["uploader_device_id"] for f in owner_view["files"]] == [uploader]
