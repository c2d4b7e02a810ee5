"""Move a real folder and a 1 GiB file between two clients and verify them.

Starts `dropspace serve` as a user would, with a fresh data dir on a loopback
port. Device A starts a guest account and a session. Device B joins by its
link and uploads every `.py` file of the Python standard library, with
relative paths as names, plus one generated 1 GiB file. It sends HTTP PUT
chunks, three files at a time. A waits for every `file:ready`, downloads every file
and compares SHA-256 digests. Prints throughput and the server's peak RSS.

    .venv/bin/python -m bench.real_transfer [--big-mib 1024]
"""

import argparse
import array
import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import aiohttp
import socketio

PARALLEL_FILES = 3
READ_BLOCK = 1024 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stamped_file(path: Path, size: int) -> str:
    """Write the offset-stamped pattern to a file; return its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as stream:
        for start in range(0, size, READ_BLOCK):
            length = min(READ_BLOCK, size - start)
            words = array.array("Q", range(start, start + length + 7, 8))
            if sys.byteorder == "little":
                words.byteswap()
            block = words.tobytes()[:length]
            digest.update(block)
            stream.write(block)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class Client:
    """One device: an HTTP session with its cookie jar and a socket."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), headers={"Origin": base}
        )
        self.sio = socketio.AsyncClient()
        self.ready: dict[str, dict] = {}
        self.expected_ready = 0
        self.all_ready = asyncio.Event()
        self.sio.on("file:ready", self._on_ready)

    async def _on_ready(self, payload: dict) -> None:
        self.ready[payload["file"]["id"]] = payload["file"]
        if self.expected_ready and len(self.ready) >= self.expected_ready:
            self.all_ready.set()

    async def connect(self) -> None:
        await self.http.get(self.base + "/")
        cookie = "; ".join(f"{c.key}={c.value}" for c in self.http.cookie_jar)
        headers = {"Cookie": cookie, "Origin": self.base}
        await self.sio.connect(self.base, headers=headers, transports=["websocket"])

    async def call(self, event: str, payload: dict) -> dict:
        answer = await self.sio.call(event, payload, timeout=120)
        if not answer.get("ok"):
            raise RuntimeError(f"{event} failed: {answer}")
        return answer

    async def close(self) -> None:
        await self.sio.disconnect()
        await self.http.close()


async def upload(client: Client, file_id: str, path: Path, chunk_bytes: int) -> None:
    offset = 0
    with path.open("rb") as stream:
        while chunk := stream.read(chunk_bytes):
            url = f"{client.base}/api/files/{file_id}?offset={offset}"
            async with client.http.put(url, data=chunk) as reply:
                body = await reply.json()
            if not body.get("ok"):
                raise RuntimeError(f"chunk at {offset} of {path} failed: {body}")
            offset = body["offset"]
    await client.call("upload:finish", {"file_id": file_id})


async def download_digest(client: Client, file_id: str) -> str:
    digest = hashlib.sha256()
    async with client.http.get(f"{client.base}/api/files/{file_id}") as reply:
        reply.raise_for_status()
        async for block in reply.content.iter_chunked(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def collect(big: Path) -> list[tuple[str, Path]]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found = sorted(
        path for path in stdlib.rglob("*.py") if "site-packages" not in path.parts
    )
    items = [(str(path.relative_to(stdlib.parent)), path) for path in found]
    return [*items, (big.name, big)]


async def transfer(base: str, items: list[tuple[str, Path]]) -> dict[str, float]:
    owner, member = Client(base), Client(base)
    await owner.connect()
    await (await owner.http.post(base + "/api/guest")).json()
    created = await (await owner.http.post(base + "/api/sessions", json={})).json()
    session = created["session"]
    join_token = session["join_url"].rsplit("/", 1)[1]
    await owner.call("session:join", {"join_token": join_token})
    await member.connect()
    joined = await member.call("session:join", {"join_token": join_token})
    chunk_bytes = joined["limits"]["http_chunk_bytes"]

    declared = [{"name": name, "size": path.stat().st_size} for name, path in items]
    total = sum(entry["size"] for entry in declared)
    started = time.perf_counter()
    ids: list[str] = []
    for first in range(0, len(declared), 1000):
        answer = await member.call(
            "upload:start",
            {"session_id": session["id"], "files": declared[first : first + 1000]},
        )
        rejected = [entry for entry in answer["files"] if not entry["ok"]]
        if rejected:
            raise RuntimeError(f"upload:start rejected files: {rejected[:3]}")
        ids.extend(entry["id"] for entry in answer["files"])

    queue = list(zip(ids, items, strict=True))
    owner.expected_ready = len(ids)

    async def worker() -> None:
        while queue:
            file_id, (_, path) = queue.pop()
            await upload(member, file_id, path, chunk_bytes)

    await asyncio.gather(*(worker() for _ in range(PARALLEL_FILES)))
    await asyncio.wait_for(owner.all_ready.wait(), timeout=600)
    upload_s = time.perf_counter() - started

    mismatches = 0
    download_started = time.perf_counter()
    for file_id, (name, path) in zip(ids, items, strict=True):
        if await download_digest(owner, file_id) != sha256_of(path):
            mismatches += 1
            print(f"SHA-256 mismatch: {name}", file=sys.stderr)
        if owner.ready[file_id]["sha256"] != sha256_of(path):
            mismatches += 1
            print(f"server SHA-256 mismatch: {name}", file=sys.stderr)
    download_s = time.perf_counter() - download_started
    await owner.close()
    await member.close()
    return {
        "files": len(ids),
        "bytes": total,
        "upload_s": upload_s,
        "download_and_verify_s": download_s,
        "mismatches": mismatches,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mib", type=int, default=1024)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dropspace-real-"))
    big = work / "generated.bin"
    stamped_file(big, arguments.big_mib * 1024 * 1024)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = os.environ | {
        "DROPSPACE_HOST": "127.0.0.1",
        "DROPSPACE_PORT": str(port),
        "DROPSPACE_DATA_DIR": str(work / "data"),
        "DROPSPACE_PUBLIC_URL": base,
        "DROPSPACE_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "dropspace"), "serve"], env=environment
    )
    try:
        time.sleep(3)
        result = asyncio.run(transfer(base, collect(big)))
        result["peak_rss_mib"] = peak_rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    megabytes_per_s = result["bytes"] / result["upload_s"] / 1e6
    print(
        f"{result['files']} files, {result['bytes'] / 2**20:.0f} MiB, upload "
        f"{result['upload_s']:.1f} s = {megabytes_per_s:.0f} MB/s, download and "
        f"verify {result['download_and_verify_s']:.1f} s, SHA-256 mismatches "
        f"{result['mismatches']}, server peak RSS {result['peak_rss_mib']:.0f} MiB"
    )
    return 1 if result["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
