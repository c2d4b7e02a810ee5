"""Session capacity: space is reserved at `upload:start`, atomically.

Used bytes count every file of the session, uploads in progress included,
so concurrent starts can never push a session over its capacity.
"""

import asyncio

from tests.content import KIB, MIB, Stamped
from tests.devices import Device, SharedSession, expect_ok, for_file
from tests.servers import StartShared


async def used_bytes(owner: Device, session_id: str) -> int:
    """Return the session's `used_bytes` from the owner's session list."""
    reply = await owner.request("GET", "/api/sessions")
    sessions = expect_ok(reply.json(), "list sessions")["sessions"]
    [session] = [s for s in sessions if s["id"] == session_id]
    used: int = session["used_bytes"]
    return used


async def race_starts(devices: list[Device], session_id: str, size: int) -> list[dict]:
    """Declare one file of `size` bytes per device, all at the same instant.

    Return each device's entry for its file, in the order of `devices`.
    """
    calls = [
        device.start_uploads(session_id, [{"name": f"race-{i}.bin", "size": size}])
        for i, device in enumerate(devices)
    ]
    acks = await asyncio.gather(*calls)
    return [expect_ok(ack, "start")["files"][0] for ack in acks]


def accepted(entries: list[dict]) -> list[dict]:
    return [entry for entry in entries if entry.get("ok", True) is not False]


def rejected(entries: list[dict]) -> list[dict]:
    return [entry for entry in entries if entry.get("ok") is False]


async def test_capacity_race_two_devices(start_shared: StartShared) -> None:
    capacity = 100 * MIB
    _, shared = await start_shared(guest_capacity_bytes=capacity)
    devices = [shared.owner, shared.member] * 3

    entries = await race_starts(devices, shared.session_id, 45 * MIB)

    assert len(accepted(entries)) == 2
    assert {entry.get("code") for entry in rejected(entries)} == {"capacity_exceeded"}
    assert all(entry.get("free_bytes") == 10 * MIB for entry in rejected(entries))
    assert await used_bytes(shared.owner, shared.session_id) == 90 * MIB
    for device in (shared.owner, shared.member):
        updates = device.log.all("session:updated")
        assert all(update["used_bytes"] <= capacity for update in updates), updates


async def test_capacity_race_last_bytes(start_shared: StartShared) -> None:
    capacity = MIB
    _, shared = await start_shared(guest_capacity_bytes=capacity)
    await shared.member.upload(shared.session_id, "base.bin", Stamped(100 * KIB))
    devices = [shared.owner, shared.member] * 6

    entries = await race_starts(devices, shared.session_id, 300 * KIB)

    assert len(accepted(entries)) == 3
    assert len(rejected(entries)) == 9
    assert await used_bytes(shared.owner, shared.session_id) == 1000 * KIB
    winners = [
        (d, e) for d, e in zip(devices, entries, strict=True) if e in accepted(entries)
    ]
    for device, entry in winners:
        await device.send_range(entry["id"], Stamped(300 * KIB), "http")
        expect_ok(await device.finish(entry["id"]), "finish")
    assert await used_bytes(shared.owner, shared.session_id) == 1000 * KIB


async def test_capacity_batch_partial_fit(start_shared: StartShared) -> None:
    _, shared = await start_shared(guest_capacity_bytes=100 * MIB)
    declared = [{"name": f"part-{i}.bin", "size": 40 * MIB} for i in range(3)]

    ack = expect_ok(await shared.member.start_uploads(shared.session_id, declared), "")

    first, second, third = ack["files"]
    assert first.get("state") == "uploading"
    assert second.get("state") == "uploading"
    assert third.get("ok") is False
    assert third.get("code") == "capacity_exceeded"
    assert third.get("free_bytes") == 20 * MIB


async def test_capacity_counts_uploading(shared: SharedSession) -> None:
    before = await used_bytes(shared.owner, shared.session_id)

    await shared.member.start_upload(shared.session_id, "pending.bin", 3 * MIB)

    assert await used_bytes(shared.owner, shared.session_id) == before + 3 * MIB
    update = await shared.owner.log.wait_for(
        "session:updated", lambda e: e["used_bytes"] == before + 3 * MIB
    )
    assert update["session_id"] == shared.session_id


async def test_capacity_freed_by_cancel(start_shared: StartShared) -> None:
    _, shared = await start_shared(guest_capacity_bytes=MIB)
    member = shared.member
    file = await member.start_upload(shared.session_id, "cancel.bin", MIB)
    await member.send_range(file["id"], Stamped(MIB), "http", end=MIB // 2)

    expect_ok(await member.call("upload:cancel", {"file_id": file["id"]}), "cancel")

    deleted = await shared.owner.log.wait_for("file:deleted", for_file(file["id"]))
    assert deleted["reason"] == "cancelled"
    assert await used_bytes(shared.owner, shared.session_id) == 0
    assert (await member.upload_offset(file["id"])).get("ok") is False
    again = await member.start_upload(shared.session_id, "again.bin", MIB)
    assert again["state"] == "uploading"


async def test_capacity_freed_by_checksum_mismatch(start_shared: StartShared) -> None:
    _, shared = await start_shared(guest_capacity_bytes=MIB)
    member = shared.member
    payload = Stamped(MIB)
    wrong = "0" * 64
    file = await member.start_upload(shared.session_id, "bad.bin", MIB, sha256=wrong)
    await member.send_range(file["id"], payload, "http")

    answer = await member.finish(file["id"])

    assert answer.get("code") == "checksum_mismatch"
    assert answer.get("expected") == wrong
    assert answer.get("actual") == payload.sha256()
    deleted = await shared.owner.log.wait_for("file:deleted", for_file(file["id"]))
    assert deleted["reason"] == "failed"
    assert await used_bytes(shared.owner, shared.session_id) == 0
    assert (await shared.owner.download(file["id"])).status != 200
    again = await member.upload(shared.session_id, "good.bin", payload)
    assert again["sha256"] == payload.sha256()
