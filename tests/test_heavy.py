"""Uploads that move gigabytes: past 4 GiB, a busy event loop, a slow watcher.

These run only with `pytest --heavy`. Session capacity is raised through
settings so that the files fit.
"""

import asyncio
import contextlib
import json
import re
import time
from pathlib import Path

import aiohttp
import pytest

from tests.content import GIB, KIB, MIB, Stamped
from tests.devices import Device, NewDevice, expect_ok, for_file
from tests.servers import StartShared

pytestmark = pytest.mark.heavy

PAST_4_GIB = 4 * GIB + 5 * MIB


def resident_bytes() -> int:
    """Return this process's resident memory; the server runs in it too."""
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) * KIB


async def test_upload_past_4_gib(start_shared: StartShared) -> None:
    server, shared = await start_shared(guest_capacity_bytes=5 * GIB)
    member = shared.member
    payload = Stamped(PAST_4_GIB)
    file = await member.start_upload(
        shared.session_id, "big.bin", payload.size, payload.sha256()
    )
    cut_at = 2 * GIB + 100 * MIB
    sent = await member.send_range(file["id"], payload, "http", end=cut_at)

    await server.restart()
    await member.connect()
    await member.join(shared.join_token)
    state = expect_ok(await member.upload_offset(file["id"]), "offset")

    assert state["offset"] == sent
    assert state["offset"] > 2**31
    await member.send_range(file["id"], payload, "http", start=state["offset"])
    finished = expect_ok(await member.finish(file["id"]), "finish")
    assert finished["file"]["size"] == PAST_4_GIB
    assert finished["file"]["sha256"] == payload.sha256()
    tail = await shared.owner.download(file["id"], {"Range": "bytes=4294967296-"})
    assert tail.status == 206
    assert tail.headers.get("Content-Range") == (
        f"bytes 4294967296-{PAST_4_GIB - 1}/{PAST_4_GIB}"
    )
    assert tail.body == payload.read(4 * GIB, 5 * MIB)
    status, digest = await shared.owner.download_sha256(file["id"])
    assert status == 200
    assert digest == payload.sha256()


async def ping_every_second(
    device: Device, stop: asyncio.Event, failures: list[str]
) -> int:
    """Send `clock:sync` once a second until `stop`; return how many succeeded."""
    answered = 0
    while not stop.is_set():
        try:
            answer = await device.call("clock:sync", {}, timeout_s=10)
        except Exception as error:  # any failure here is the finding
            failures.append(f"{device}: {error!r}")
            return answered
        if answer.get("ok") is True:
            answered += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    return answered


@pytest.mark.parametrize("transport", ["http", "socket"])
async def test_idle_clients_stay_connected(
    start_shared: StartShared, new_device: NewDevice, transport: str
) -> None:
    server, shared = await start_shared(guest_capacity_bytes=3 * GIB)
    idle = [await new_device(server, f"idle-{i}") for i in range(5)]
    for device in idle:
        await device.join(shared.join_token)
    stop = asyncio.Event()
    failures: list[str] = []
    pingers = [asyncio.create_task(ping_every_second(d, stop, failures)) for d in idle]

    await shared.member.upload(
        shared.session_id, "load.bin", Stamped(2 * GIB), transport
    )
    stop.set()
    answered = await asyncio.gather(*pingers)

    # Ack latency under load belongs in a benchmark. Here each event only needs
    # an acknowledgement, and no idle client may lose its connection.
    assert failures == []
    assert not any(device.disconnected.is_set() for device in idle)
    assert min(answered) > 0, answered


class SlowWatcher:
    """A raw Engine.IO client in a session's room that reads 10 KiB a second."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.progress: list[dict] = []
        self.closed = False

    @classmethod
    async def join(
        cls, http: aiohttp.ClientSession, device: Device, token: str
    ) -> "SlowWatcher":
        url = device.base_url + "/socket.io/?EIO=4&transport=websocket"
        headers = {"Origin": device.base_url, "Cookie": f"ds_device={device.cookie}"}
        ws = await http.ws_connect(url, headers=headers)
        opened = await ws.receive_str(timeout=5)
        assert opened.startswith("0"), opened
        await ws.send_str("40")
        connected = await ws.receive_str(timeout=5)
        assert connected.startswith("40"), connected
        await ws.send_str("421" + json.dumps(["session:join", {"join_token": token}]))
        return cls(ws)

    async def read_slowly(self, bytes_per_s: int = 10 * KIB) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            await asyncio.sleep(len(message.data) / bytes_per_s)
            if message.data == "2":
                await self.ws.send_str("3")
            elif message.data.startswith("42"):
                name, payload = json.loads(message.data[2:])
                if name == "upload:progress":
                    self.progress.append(payload)
        self.closed = True


async def sample_peak_memory(stop: asyncio.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], resident_bytes())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)


async def test_slow_watcher_bounded(
    start_shared: StartShared, new_device: NewDevice
) -> None:
    server, shared = await start_shared(guest_capacity_bytes=2 * GIB)
    watchers = [await new_device(server, f"watcher-{i}") for i in range(8)]
    for device in watchers:
        await device.join(shared.join_token)
    watchers.append(shared.owner)
    slow_device = await new_device(server, "slow", connect=False)
    payload = Stamped(GIB)

    async with aiohttp.ClientSession() as http:
        slow = await SlowWatcher.join(http, slow_device, shared.join_token)
        reader = asyncio.create_task(slow.read_slowly())
        stop = asyncio.Event()
        peak = [resident_bytes()]
        baseline = peak[0]
        sampler = asyncio.create_task(sample_peak_memory(stop, peak))
        started_at = time.monotonic()
        file = await shared.member.upload(
            shared.session_id, "watched.bin", payload, "socket"
        )
        elapsed_s = time.monotonic() - started_at
        stop.set()
        await sampler
        reader.cancel()
        await slow.ws.close()

    assert peak[0] - baseline < 512 * MIB, (
        f"memory grew by {(peak[0] - baseline) // MIB} MiB"
    )
    for device in watchers:
        await device.log.wait_for("file:ready", for_file(file["id"]))
        progress = device.log.all("upload:progress", for_file(file["id"]))
        offsets = [event["offset"] for event in progress]
        assert offsets == sorted(offsets), device
        assert max(offsets) == payload.size, device
        assert len(progress) <= 4 * elapsed_s + 2, (device, len(progress), elapsed_s)
    assert all(event["offset"] <= event["size"] for event in slow.progress)
