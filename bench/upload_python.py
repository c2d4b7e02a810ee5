"""Upload a file from a Python client over each transport, against `curl -T`.

    .venv/bin/python -m bench.upload_python [--size-mib 256] [--runs 3]

The ceiling is `curl -T FILE` to a plain aiohttp handler that streams the
body into a file. The DropSpace runs use `bench.client`: HTTP PUT chunks at
the announced `http_chunk_bytes` (one server per chunk size, set through
DROPSPACE_HTTP_CHUNK_BYTES) and Socket.IO `upload:chunk` events with several
in flight. Each timed DropSpace run covers `upload:start` to the
`upload:finish` acknowledgement. Every method first makes one untimed
warm-up run.
"""

import argparse
import asyncio
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.client import Device
from bench.measure import (
    MIB,
    Run,
    RunMeter,
    judge,
    own_cpu_seconds,
    report,
    summarize,
    write_results,
)
from bench.servers import ServerProcess

TARGET_RATIO = 0.85
SOCKET_WINDOW = 4
WARMUP_RUNS = 1
CURL_TIMEOUT_S = 300
SESSION_LIFETIME_S = 3600

Upload = Callable[[Device, str, Path, int], Awaitable[None]]


@dataclass(frozen=True)
class Source:
    """The file every run uploads."""

    path: Path
    size: int
    sha256: str


def make_source(path: Path, size: int) -> Source:
    """Write `size` random bytes to `path`."""
    digest = hashlib.sha256()
    with path.open("wb") as stream:
        for start in range(0, size, MIB):
            block = os.urandom(min(MIB, size - start))
            digest.update(block)
            stream.write(block)
    return Source(path, size, digest.hexdigest())


def curl_runs(
    work_dir: Path, source: Source, runs: int, route: str = "sink"
) -> list[Run]:
    """Time `curl -T` of the source to one of the plain server's sinks."""
    results = []
    with ServerProcess("plain", work_dir / f"curl-{route}") as server:
        meter = RunMeter(server.pid, own_cpu_seconds)
        for index in range(WARMUP_RUNS + runs):
            meter.wait_quiet()
            meter.start()
            seconds = _curl_put(source.path, f"{server.base_url}/bench/{route}")
            reading = meter.stop()
            server.remove_sink_file()
            if index >= WARMUP_RUNS:
                results.append(Run(source.size, seconds, reading))
    return results


def _curl_put(source: Path, url: str) -> float:
    command = ["curl", "-sS", "--noproxy", "*", "-T", str(source), "-o", "/dev/null"]
    command += ["-w", "%{http_code} %{time_total}", url]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=CURL_TIMEOUT_S, check=True
    )
    status, seconds = completed.stdout.split()
    if status != "200":
        raise RuntimeError(
            f"curl -T to {url} returned HTTP {status}: {completed.stderr}"
        )
    return float(seconds)


async def plain_chunk_runs(
    work_dir: Path, source: Source, runs: int, chunk_bytes: int
) -> list[Run]:
    """Time the client's chunked PUT loop against the plain sink."""
    results = []
    with ServerProcess("plain", work_dir / "plain-chunks") as server:
        meter = RunMeter(server.pid, own_cpu_seconds)
        device = Device(server.base_url)
        try:
            for index in range(WARMUP_RUNS + runs):
                await asyncio.to_thread(meter.wait_quiet)
                meter.start()
                url = f"{server.base_url}/bench/sink"
                await device.put_chunks(url, source.path, source.size, chunk_bytes)
                reading = meter.stop()
                server.remove_sink_file()
                if index >= WARMUP_RUNS:
                    results.append(Run(source.size, reading.wall_s, reading))
        finally:
            await device.close()
    return results


async def dropspace_runs(
    server: ServerProcess, source: Source, runs: int, upload: Upload
) -> list[Run]:
    """Time uploads of the source into fresh sessions of one server."""
    results = []
    meter = RunMeter(server.pid, own_cpu_seconds)
    device = Device(server.base_url)
    try:
        await device.open()
        for index in range(WARMUP_RUNS + runs):
            session = await device.new_session(SESSION_LIFETIME_S)
            await asyncio.to_thread(meter.wait_quiet)
            meter.start()
            name = source.path.name
            file_id = await device.start_upload(session["id"], name, source.size)
            await upload(device, file_id, source.path, source.size)
            stored = await device.finish(file_id)
            reading = meter.stop()
            _check_stored(stored, source)
            await device.delete_session(session["id"])
            if index >= WARMUP_RUNS:
                results.append(Run(source.size, reading.wall_s, reading))
    finally:
        await device.close()
    return results


def _check_stored(stored: dict[str, Any], source: Source) -> None:
    if stored["size"] != source.size or stored["sha256"] != source.sha256:
        raise RuntimeError(
            f"stored file differs from the source: size {stored['size']} of "
            f"{source.size}, SHA-256 {stored['sha256']} instead of {source.sha256}"
        )


async def upload_http(device: Device, file_id: str, source: Path, size: int) -> None:
    chunk_bytes = device.limits["http_chunk_bytes"]
    await device.upload_http(file_id, source, size, chunk_bytes)


async def upload_socket(device: Device, file_id: str, source: Path, size: int) -> None:
    chunk_bytes = device.limits["socket_chunk_bytes"]
    await device.upload_socket(file_id, source, size, chunk_bytes, SOCKET_WINDOW)


async def measure_all(
    work_dir: Path, size: int, runs: int, chunk_sizes_mib: list[int]
) -> list[dict[str, Any]]:
    """Run every method in turn and return their summaries, the ceiling first."""
    source = await asyncio.to_thread(make_source, work_dir / "source.bin", size)
    summaries = [summarize("curl -T -> plain sink", curl_runs(work_dir, source, runs))]
    verifying = curl_runs(work_dir, source, runs, "verifying-sink")
    summaries.append(summarize("curl -T -> verifying sink", verifying))

    # The same loop with no server work, at the largest size DropSpace tries.
    plain_mib = max(chunk_sizes_mib)
    plain = await plain_chunk_runs(work_dir, source, runs, plain_mib * MIB)
    name = f"python HTTP PUT {plain_mib} MiB chunks -> plain sink"
    summaries.append(summarize(name, plain))

    for chunk_mib in chunk_sizes_mib:
        settings = {"http_chunk_bytes": chunk_mib * MIB}
        name = f"python HTTP PUT {chunk_mib} MiB chunks -> DropSpace"
        with ServerProcess(
            "dropspace", work_dir / f"http-{chunk_mib}", settings
        ) as server:
            measured = await dropspace_runs(server, source, runs, upload_http)
        summaries.append(summarize(name, measured))

    name = f"python Socket.IO 4 MiB x {SOCKET_WINDOW} in flight -> DropSpace"
    with ServerProcess("dropspace", work_dir / "socket") as server:
        measured = await dropspace_runs(server, source, runs, upload_socket)
    summaries.append(summarize(name, measured))
    return summaries


def _is_dropspace_http(method: str) -> bool:
    return "HTTP PUT" in method and "DropSpace" in method


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=256, help="file size in MiB")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per method")
    parser.add_argument(
        "--chunk-mib",
        type=int,
        nargs="+",
        default=[4, 8, 16, 32],
        help="HTTP chunk sizes to try, in MiB",
    )
    arguments = parser.parse_args(argv)
    size = arguments.size_mib * MIB

    with tempfile.TemporaryDirectory(prefix="dropspace-bench-") as work_dir:
        summaries = asyncio.run(
            measure_all(Path(work_dir), size, arguments.runs, arguments.chunk_mib)
        )
    judge(
        summaries,
        lambda method: "HTTP PUT" in method and "DropSpace" in method,
        TARGET_RATIO,
    )
    title = f"Python client, {arguments.size_mib} MiB, median of {arguments.runs} runs"
    report(summaries, title, "curl -T", TARGET_RATIO)
    payload = {"size_bytes": size, "runs": arguments.runs, "methods": summaries}
    print(f"results: {write_results('upload_python', payload)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
