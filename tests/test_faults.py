"""Faults of the production stack, each with real processes.

These tests start a Redis or a PostgreSQL of their own on a spare port, so
that restarting it disturbs no other test.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.claims import CLAIM_LEASE_S, CLAIM_REFRESH_S
from tests.content import Stamped
from tests.devices import Device, NewDevice, SocketRejected, for_file, share_session
from tests.own_postgres import OwnPostgres
from tests.servers import (
    StartProduction,
    StartServer,
    StartWorker,
    free_port,
    start_second,
)
from tests.write_claims import open_chunk_put, wait_for_claim

ATTEMPTS = 40
# Seconds for the restarted worker to expire a 2-second session; generous.
WORKER_BOUND_S = 30.0
OUTAGE_S = 8.0
EVENT_WAIT_S = 1.0
# The servers retry Redis at most every 2 s.
RESYNC_WAIT_S = 20.0
# Long enough that python-socketio 5.18.1's own listener, which waits 1 s,
# 2 s, then 4 s between tries, would come back seconds after the bus, which
# retries every 2 s. Events sent in between would reach no client.
LISTENER_OUTAGE_S = 4.0


class OwnRedis:
    """A redis-server child process on a spare loopback port."""

    def __init__(self, work_dir: Path) -> None:
        self.port = free_port()
        self.work_dir = work_dir
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.work_dir),
            stdout=asyncio.subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            for _ in range(200):
                try:
                    await client.ping()
                    return
                except RedisConnectionError:
                    await asyncio.sleep(0.05)
            raise AssertionError(f"redis-server on port {self.port} did not start")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.kill()
        await self.process.wait()


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    redis = OwnRedis(tmp_path)
    try:
        await redis.start()
        yield redis
    finally:
        await redis.stop()


# python-socketio logs each failed publish and receive while Redis is down.
@pytest.mark.server_errors("socketio.server")
async def test_redis_restart_mid_session(
    start_production: StartProduction, new_device: NewDevice, own_redis: OwnRedis
) -> None:
    first = await start_production(redis_url=own_redis.url)
    second = await start_second(start_production, first, redis_url=own_redis.url)
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member)

    await own_redis.stop()
    await own_redis.start()

    for device in (owner, member):
        assert (await device.call("clock:sync", {})).get("ok") is True
    await bus_recovers(owner, member, shared.session_id)
    guest = await new_device(second, "guest", connect=False)
    assert (await guest.request("POST", "/api/guest")).status == 200


async def bus_recovers(sender: Device, receiver: Device, session_id: str) -> None:
    """Upload small files until the receiver hears of one through the bus.

    Events published before a server's subscription is back are lost, as
    Redis pub/sub keeps nothing; the first one heard shows the bus works.
    """
    for attempt in range(ATTEMPTS):
        stored = await sender.upload(session_id, f"{attempt}.txt", Stamped(100))
        try:
            await receiver.log.wait_for(
                "file:ready", for_file(stored["id"]), timeout_s=EVENT_WAIT_S
            )
        except AssertionError:
            continue
        return
    raise AssertionError(f"no event crossed the restarted Redis in {ATTEMPTS} tries")


async def test_postgres_restart_answers_unavailable(
    start_server: StartServer, new_device: NewDevice, own_postgres: OwnPostgres
) -> None:
    server = await start_server(database_url=own_postgres.url)
    device = await new_device(server, "owner")
    await device.start_guest()
    assert (await device.request("GET", "/api/sessions")).status == 200
    newcomer = await new_device(server, "newcomer", connect=False)

    await own_postgres.stop()
    down = await device.request("GET", "/api/sessions")
    socket_down = await device.call("clock:sync", {})
    join_down = await device.call("session:join", {"join_token": "a" * 32})
    with pytest.raises(SocketRejected) as handshake_down:
        await newcomer.connect()
    await own_postgres.start()
    up = await device.request("GET", "/api/sessions")

    assert down.status == 503
    assert down.json()["code"] == "service_unavailable"
    assert socket_down.get("ok") is True
    assert join_down.get("code") == "service_unavailable"
    assert handshake_down.value.error is not None
    assert handshake_down.value.error["code"] == "service_unavailable"
    assert up.status == 200
    assert (await device.call("session:join", {"join_token": "a" * 32})).get(
        "code"
    ) == "not_found"


# Bytes of a chunk that trickles in while the database is down, a piece
# every half second: more than the pieces sent before the lease ends.
TRICKLE_PIECE_BYTES = 4096
TRICKLE_INTERVAL_S = 0.5
TRICKLE_BYTES = 1024 * 1024


async def test_postgres_outage_stops_slow_chunk(
    start_server: StartServer, new_device: NewDevice, own_postgres: OwnPostgres
) -> None:
    server = await start_server(database_url=own_postgres.url)
    owner = await new_device(server, "owner")
    shared = await share_session(owner, await new_device(server, "member"))
    content = Stamped(TRICKLE_BYTES)
    file = await owner.start_upload(shared.session_id, "outage.bin", content.size)
    connection = await open_chunk_put(
        server, owner.cookie or "", file["id"], content.size
    )
    await connection.send(content.read(0, TRICKLE_PIECE_BYTES))
    await wait_for_claim(server, file["id"])

    await own_postgres.stop()
    # The claim can no longer be refreshed, so the chunk must stop within
    # CLAIM_LEASE_S; the bound below is generous.
    reply_task = asyncio.create_task(
        connection.read_reply(timeout_s=CLAIM_LEASE_S + 10 * CLAIM_REFRESH_S)
    )
    sent = TRICKLE_PIECE_BYTES
    while not reply_task.done() and sent < content.size:
        await asyncio.sleep(TRICKLE_INTERVAL_S)
        await connection.send(content.read(sent, TRICKLE_PIECE_BYTES))
        sent += TRICKLE_PIECE_BYTES
    reply = await reply_task
    await connection.close()
    await own_postgres.start()
    offset = await owner.upload_offset(file["id"])
    await owner.send_range(file["id"], content, "http", start=offset["offset"])
    finished = await owner.finish(file["id"])

    assert sent < content.size
    assert reply.status == 503, reply.body
    assert json.loads(reply.body)["code"] == "service_unavailable"
    assert offset["offset"] == 0
    assert finished["file"]["sha256"] == content.sha256()


# python-socketio logs each failed publish and receive while Redis is down.
@pytest.mark.server_errors("socketio.server")
async def test_redis_restart_sends_resync(
    start_production: StartProduction, new_device: NewDevice, own_redis: OwnRedis
) -> None:
    first = await start_production(redis_url=own_redis.url)
    second = await start_second(start_production, first, redis_url=own_redis.url)
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member)

    await own_redis.stop()
    # Every publish of these uploads' events fails, and the uploads still end.
    missed = await owner.upload(shared.session_id, "missed.txt", Stamped(100))
    by_socket = await owner.upload(
        shared.session_id, "socket.txt", Stamped(100), transport="socket"
    )
    await own_redis.start()

    for device in (owner, member):
        await device.log.wait_for("session:resync", timeout_s=RESYNC_WAIT_S)
    rejoined = await member.join(shared.join_token)
    ids = {item["id"] for item in rejoined["files"]}
    assert ids == {missed["id"], by_socket["id"]}
    assert {item["state"] for item in rejoined["files"]} == {"complete"}
    online = {item["device_id"]: item["online"] for item in rejoined["members"]}
    assert list(online.values()) == [True, True]


# python-socketio logs each failed publish and receive while Redis is down.
@pytest.mark.server_errors("socketio.server")
async def test_event_after_restart_reaches_client(
    start_production: StartProduction, new_device: NewDevice, own_redis: OwnRedis
) -> None:
    first = await start_production(redis_url=own_redis.url)
    second = await start_second(start_production, first, redis_url=own_redis.url)
    owner = await new_device(first, "owner")
    member = await new_device(second, "member")
    shared = await share_session(owner, member)

    await own_redis.stop()
    await asyncio.sleep(LISTENER_OUTAGE_S)
    await own_redis.start()
    await owner.log.wait_for("session:resync", timeout_s=RESYNC_WAIT_S)
    resyncs = len(owner.log.all("session:resync"))
    sent = await member.upload(shared.session_id, "after.txt", Stamped(100))

    # The first server may have lost the event, but then a resync must follow.
    await heard_or_resynced(owner, sent["id"], resyncs)


async def heard_or_resynced(device: Device, file_id: str, resyncs: int) -> None:
    """Wait until the device hears the file is ready, or receives session:resync."""
    for _ in range(int(RESYNC_WAIT_S / 0.1)):
        if device.log.all("file:ready", for_file(file_id)):
            return
        if len(device.log.all("session:resync")) > resyncs:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"neither file:ready for {file_id} nor a later session:resync within "
        f"{RESYNC_WAIT_S} s; received {device.log.names()}"
    )


# python-socketio logs each failed publish and receive while Redis is down.
@pytest.mark.server_errors("socketio.server")
async def test_worker_survives_redis_restart(
    start_production: StartProduction,
    start_worker: StartWorker,
    new_device: NewDevice,
    own_redis: OwnRedis,
) -> None:
    server = await start_production(redis_url=own_redis.url)
    worker = start_worker(server.settings)
    owner = await new_device(server, "owner")
    await owner.start_guest()

    await own_redis.stop()
    # Long enough for arq's polling loop to give up on the missing Redis.
    await asyncio.sleep(OUTAGE_S)
    await own_redis.start()
    session = await owner.create_session("after the restart", lifetime_s=2)
    page = "/s/" + session["join_url"].rsplit("/", 1)[-1]

    # The session:ended event may be lost while python-socketio's listener
    # reconnects, so the session page tells whether the worker ended it.
    for _ in range(int(WORKER_BOUND_S)):
        if (await owner.request("GET", page)).status == 410:
            break
        await asyncio.sleep(1)

    assert (await owner.request("GET", page)).status == 410
    assert worker.process is not None
    assert worker.process.poll() is None, worker.log()
