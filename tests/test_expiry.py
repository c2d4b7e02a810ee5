"""Sessions past their deadline: devices are notified, files go, routes return 410.

The servers here accept lifetimes from 1 s, so a session expires two seconds
after it is created.
"""

import asyncio

import pytest

from tests.content import MIB, Stamped
from tests.devices import SharedSession
from tests.servers import RunningServer, StartShared

LIFETIME_S = 2
CLEANUP_BOUND_S = 10.0


async def wait_past_deadline(session: dict) -> None:
    """Sleep until the session's `expires_at` has passed on the server's clock."""
    remaining_ms = session["expires_at"] - session["server_now"]
    await asyncio.sleep(remaining_ms / 1000 + 0.5)


async def fill_session(shared: SharedSession) -> tuple[str, str]:
    """Upload one complete file and one half file; return their ids."""
    member = shared.member
    complete = await member.upload(shared.session_id, "done.bin", Stamped(MIB))
    partial = await member.start_upload(shared.session_id, "half.bin", 2 * MIB)
    await member.send_range(partial["id"], Stamped(2 * MIB), "http", end=MIB)
    return complete["id"], partial["id"]


@pytest.fixture
async def expiring(start_shared: StartShared) -> tuple[RunningServer, SharedSession]:
    return await start_shared(lifetime_s=LIFETIME_S, min_lifetime_s=1)


async def test_expiry_tells_every_device(
    expiring: tuple[RunningServer, SharedSession],
) -> None:
    _, shared = expiring
    await fill_session(shared)

    for device in (shared.owner, shared.member):
        ended = await device.log.wait_for("session:ended", timeout_s=LIFETIME_S + 10)
        assert ended["session_id"] == shared.session_id
        assert ended["reason"] == "expired"


async def test_expiry_deletes_files(
    expiring: tuple[RunningServer, SharedSession],
) -> None:
    server, shared = expiring
    await fill_session(shared)
    assert len(server.stored_files()) == 2

    await wait_past_deadline(shared.session)

    await server.wait_until_no_files(CLEANUP_BOUND_S)


async def test_expiry_routes_answer_gone(
    expiring: tuple[RunningServer, SharedSession],
) -> None:
    server, shared = expiring
    complete_id, partial_id = await fill_session(shared)
    await shared.owner.log.wait_for("session:ended", timeout_s=LIFETIME_S + 10)
    await server.wait_until_no_files(CLEANUP_BOUND_S)

    await assert_session_gone(shared, complete_id, partial_id)


async def test_expired_uncleaned_answers_gone(start_shared: StartShared) -> None:
    # With sweeps an hour apart, nothing may have deleted the files yet.
    _, shared = await start_shared(
        lifetime_s=LIFETIME_S, min_lifetime_s=1, sweep_interval_s=3600.0
    )
    complete_id, partial_id = await fill_session(shared)

    await wait_past_deadline(shared.session)

    await assert_session_gone(shared, complete_id, partial_id)


async def assert_session_gone(
    shared: SharedSession, complete_id: str, partial_id: str
) -> None:
    """Check that every route of an ended session returns 410 `session_ended`."""
    owner, member = shared.owner, shared.member
    for headers in (None, {"Range": "bytes=0-99"}):
        reply = await owner.download(complete_id, headers)
        assert reply.status == 410, (headers, reply.status)
        assert reply.json().get("code") == "session_ended"
        assert "no-store" in reply.headers.get("Cache-Control", ""), reply.headers
    head = await owner.download(complete_id, method="HEAD")
    assert head.status == 410
    assert (await owner.request("GET", f"/s/{shared.join_token}")).status == 410

    put = await member.put_chunk(partial_id, MIB, Stamped(2 * MIB).read(MIB, MIB))
    assert put.status == 410
    assert put.json().get("code") == "session_ended"
    assert (await member.emit_chunk(partial_id, MIB, b"x")).get(
        "code"
    ) == "session_ended"
    assert (await member.finish(partial_id)).get("code") == "session_ended"
    join = await member.call("session:join", {"join_token": shared.join_token})
    assert join.get("code") == "session_ended"
    start = await member.start_uploads(
        shared.session_id, [{"name": "late.txt", "size": 1}]
    )
    assert start.get("code") == "session_ended"
    sessions = (await owner.request("GET", "/api/sessions")).json().get("sessions", [])
    assert shared.session_id not in [session["id"] for session in sessions]


async def test_expiry_stops_upload_in_flight(
    expiring: tuple[RunningServer, SharedSession],
) -> None:
    _, shared = expiring
    member = shared.member
    payload = Stamped(64 * MIB)
    file = await member.start_upload(shared.session_id, "slow.bin", payload.size)
    chunk_bytes = MIB

    answer: dict = {}
    for offset in range(0, payload.size, chunk_bytes):
        answer = await member.send_chunk(
            file["id"], offset, payload.read(offset, chunk_bytes), "socket"
        )
        if answer.get("ok") is not True:
            break
        await asyncio.sleep(0.1)

    assert answer.get("ok") is False, "the upload outlived its session"
    assert answer.get("code") == "session_ended"
    assert answer.get("message")
