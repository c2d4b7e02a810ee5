"""Races for the last slot and the last byte: 100 trials each, never over."""

import asyncio
import json

from server.claims import CLAIM_REFRESH_S
from tests.content import MIB, Stamped
from tests.devices import Device, NewDevice, SharedSession, join_token_of
from tests.servers import RunningServer, StartServer
from tests.sql import query, write
from tests.write_claims import open_chunk_put, wait_for_claim

TRIALS = 100
RACERS = 3


async def test_session_creation_race(
    start_server: StartServer, new_device: NewDevice
) -> None:
    server = await start_server(guest_max_sessions=2, session_creations_per_hour=10**6)
    device = await new_device(server, "racer")
    account_id = (await device.start_guest())["account"]["id"]

    for trial in range(TRIALS):
        kept = await create_one(device)
        answers = await asyncio.gather(*(create_raw(device) for _ in range(RACERS)))
        winners = [answer for answer in answers if answer["ok"]]
        losers = [answer for answer in answers if not answer["ok"]]
        live = await query(
            server,
            "SELECT COUNT(*) FROM sessions WHERE owner_account_id = :account "
            "AND ended_at IS NULL",
            account=account_id,
        )

        assert len(winners) == 1, f"trial {trial}: {answers}"
        assert {answer["code"] for answer in losers} == {"session_limit"}
        assert live == [(2,)], f"trial {trial}"
        for session_id in [kept, winners[0]["session"]["id"]]:
            await device.request("DELETE", f"/api/sessions/{session_id}")


async def create_raw(device: Device) -> dict:
    reply = await device.request("POST", "/api/sessions", json_body={})
    return reply.json()


async def create_one(device: Device) -> str:
    answer = await create_raw(device)
    assert answer["ok"], answer
    session_id: str = answer["session"]["id"]
    return session_id


async def test_upload_race_for_last_byte(
    start_server: StartServer, new_device: NewDevice
) -> None:
    capacity = 1000
    server = await start_server(
        guest_capacity_bytes=capacity,
        guest_max_sessions=1,
        session_creations_per_hour=10**6,
    )
    owner = await new_device(server, "owner")
    members = [await new_device(server, f"member {i}") for i in range(RACERS)]
    await owner.start_guest()

    for trial in range(TRIALS):
        session = (await owner.request("POST", "/api/sessions", json_body={})).json()[
            "session"
        ]
        for member in members:
            await member.join(join_token_of(session))
        # 999 bytes are taken, so exactly one 1-byte upload fits.
        await members[0].start_upload(session["id"], "base.bin", capacity - 1)
        starts = await asyncio.gather(
            *(
                member.start_uploads(session["id"], [{"name": "b", "size": 1}])
                for member in members
            )
        )
        entries = [start["files"][0] for start in starts]
        accepted = [entry for entry in entries if entry.get("ok", True)]
        used = await query(
            server,
            "SELECT reserved_bytes FROM sessions WHERE id = :id",
            id=session["id"],
        )

        assert len(accepted) == 1, f"trial {trial}: {entries}"
        assert used == [(capacity,)], f"trial {trial}"
        await owner.request("DELETE", f"/api/sessions/{session['id']}")


# A piece of the slow chunk every half second; the chunk is far longer than
# the pieces sent before its claim is found taken over.
TAKEN_PIECE_BYTES = 4096
TAKEN_INTERVAL_S = 0.5
# A claim taken over is noticed at the next refresh; the bound is generous.
TAKEN_NOTICE_S = 5 * CLAIM_REFRESH_S


async def test_chunk_stops_when_claim_taken_over(
    server: RunningServer, shared: SharedSession
) -> None:
    owner = shared.owner
    content = Stamped(MIB)
    file = await owner.start_upload(shared.session_id, "taken.bin", content.size)
    connection = await open_chunk_put(
        server, owner.cookie or "", file["id"], content.size
    )
    await connection.send(content.read(0, TAKEN_PIECE_BYTES))
    await wait_for_claim(server, file["id"])

    # What another process does when it takes over a claim it found stale.
    await write(
        server,
        "UPDATE files SET write_claim = :token WHERE id = :id",
        token="f" * 32,
        id=file["id"],
    )
    reply_task = asyncio.create_task(connection.read_reply(timeout_s=TAKEN_NOTICE_S))
    sent = TAKEN_PIECE_BYTES
    while not reply_task.done() and sent < content.size:
        await asyncio.sleep(TAKEN_INTERVAL_S)
        await connection.send(content.read(sent, TAKEN_PIECE_BYTES))
        sent += TAKEN_PIECE_BYTES
    reply = await reply_task
    await connection.close()
    rows = await query(
        server,
        "SELECT committed_bytes, write_claim FROM files WHERE id = :id",
        id=file["id"],
    )

    assert sent < content.size
    assert reply.status == 409, reply.body
    assert json.loads(reply.body)["code"] == "upload_busy"
    assert rows == [(0, "f" * 32)]
