"""Upload a Blob from Chromium through the real browser client, against fetch().

    .venv/bin/python -m bench.upload_browser [--size-mib 256] [--runs 3]

Chromium is launched directly (no DevTools connection) on the bench page,
/bench/, served by the server under test from bench/static/. The page fetches
its test from /bench/test, makes the file as a Blob, tells /bench/mark it is
about to start, waits for /bench/go (this script has taken its first
readings by then), times the upload, tells /bench/stop that it is done
(this script takes its last readings) and posts the result to /bench/result.

Methods: the ceiling is one `fetch()` PUT of the whole Blob to a plain
streaming aiohttp handler; the client is `UploadManager` from
/static/js/upload.js (HTTP PUT chunks) against DropSpace; and, for the
record, Socket.IO `upload:chunk` events with several in flight. Every
method first makes one untimed warm-up run.
"""

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import serve
from bench.chromium import Chromium
from bench.measure import (
    MIB,
    Run,
    RunMeter,
    judge,
    report,
    summarize,
    write_results,
)
from bench.servers import ServerProcess

TARGET_RATIO = 0.8
SOCKET_WINDOW = 4
WARMUP_RUNS = 1
MARK_TIMEOUT_S = 120.0
RESULT_TIMEOUT_S = 600.0
POLL_S = 0.01


class PageFailed(Exception):
    """The bench page reported an error or never reported at all."""


@dataclass(frozen=True)
class Method:
    """One way to upload: the page's test, its server and extra spec fields."""

    name: str
    test: str
    server_kind: str
    settings: dict[str, object]
    spec: dict[str, object]


def methods(chunk_sizes_mib: list[int]) -> list[Method]:
    """Return the ceiling first, then the client's methods."""
    found = [
        Method("fetch() whole-file PUT -> plain sink", "fetch-whole", "plain", {}, {}),
        Method(
            "fetch() whole-file PUT -> verifying sink",
            "fetch-whole",
            "plain",
            {},
            {"route": "verifying-sink"},
        ),
    ]
    for chunk_mib in chunk_sizes_mib:
        chunk_bytes = chunk_mib * MIB
        found.append(
            Method(
                f"fetch() PUT {chunk_mib} MiB ArrayBuffer chunks -> plain sink",
                "fetch-chunks",
                "plain",
                {},
                {"chunk_bytes": chunk_bytes},
            )
        )
        found.append(
            Method(
                f"fetch() PUT {chunk_mib} MiB Blob-slice chunks -> plain sink",
                "fetch-blob-chunks",
                "plain",
                {},
                {"chunk_bytes": chunk_bytes},
            )
        )
        found.append(
            Method(
                f"browser client, HTTP PUT {chunk_mib} MiB chunks -> DropSpace",
                "client-http",
                "dropspace",
                {"http_chunk_bytes": chunk_bytes},
                {},
            )
        )
    found.append(
        Method(
            f"browser Socket.IO 4 MiB x {SOCKET_WINDOW} in flight -> DropSpace",
            "client-socket",
            "dropspace",
            {},
            {"socket_window": SOCKET_WINDOW},
        )
    )
    return found


def _wait_for(path: Path, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise PageFailed(f"the bench page did not {what} within {timeout_s} s")
        time.sleep(POLL_S)


def _reset_page_files(work_dir: Path) -> None:
    for name in (serve.MARK_FILE, serve.GO_FILE, serve.STOP_FILE, serve.RESULT_FILE):
        (work_dir / name).unlink(missing_ok=True)


def browser_run(server: ServerProcess, method: Method, size: int, index: int) -> Run:
    """Run the page once in a fresh Chromium profile and return the timed run."""
    work_dir = server.work_dir
    _reset_page_files(work_dir)
    spec = {"test": method.test, "size_bytes": size, **method.spec}
    (work_dir / serve.SPEC_FILE).write_text(json.dumps(spec))
    profile = work_dir / f"profile-{index}"
    chromium = Chromium(f"{server.base_url}/bench/", profile, work_dir / "chromium.log")
    meter = RunMeter(server.pid, chromium.cpu_seconds)
    meter.wait_quiet()
    with chromium:
        _wait_for(work_dir / serve.MARK_FILE, MARK_TIMEOUT_S, "start")
        meter.start()
        (work_dir / serve.GO_FILE).touch()
        _wait_for(work_dir / serve.STOP_FILE, RESULT_TIMEOUT_S, "finish")
        reading = meter.stop()
        _wait_for(work_dir / serve.RESULT_FILE, RESULT_TIMEOUT_S, "report")
    shutil.rmtree(profile, ignore_errors=True)
    server.remove_sink_file()
    result = json.loads((work_dir / serve.RESULT_FILE).read_text())
    _check_result(result, method, size)
    return Run(size, result["seconds"], reading)


def _check_result(result: dict[str, Any], method: Method, size: int) -> None:
    if not result.get("ok"):
        raise PageFailed(f"{method.name}: the page reported {result}")
    details = result["details"]
    announced = method.settings.get("http_chunk_bytes")
    used = details.get("chunk_bytes")
    if method.test == "client-http" and announced and used != announced:
        raise PageFailed(
            f"{method.name}: the client sent {used}-byte chunks, not the "
            f"announced {announced}"
        )
    received = details.get("received")
    if received is not None and received != size:
        raise PageFailed(f"{method.name}: the sink received {received} of {size} bytes")
    stored = details.get("stored")
    if stored is None:
        return
    if stored["size"] != size or stored["sha256"] != result["local_sha256"]:
        raise PageFailed(
            f"{method.name}: stored size {stored['size']} and SHA-256 "
            f"{stored['sha256']} differ from the Blob's {size} and "
            f"{result['local_sha256']}"
        )


def method_runs(work_dir: Path, method: Method, size: int, runs: int) -> list[Run]:
    """Start the method's server and time its runs after one warm-up."""
    results = []
    server = ServerProcess(method.server_kind, work_dir, method.settings)
    with server:
        for index in range(WARMUP_RUNS + runs):
            run = browser_run(server, method, size, index)
            if index >= WARMUP_RUNS:
                results.append(run)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=256, help="file size in MiB")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per method")
    parser.add_argument(
        "--chunk-mib",
        type=int,
        nargs="+",
        default=[8],
        help="HTTP chunk sizes to announce, in MiB",
    )
    arguments = parser.parse_args(argv)
    size = arguments.size_mib * MIB

    summaries = []
    with tempfile.TemporaryDirectory(prefix="dropspace-bench-") as work_dir:
        for number, method in enumerate(methods(arguments.chunk_mib)):
            method_dir = Path(work_dir) / f"method-{number}"
            runs = method_runs(method_dir, method, size, arguments.runs)
            summaries.append(summarize(method.name, runs))
    judge(summaries, lambda method: method.startswith("browser client"), TARGET_RATIO)
    title = f"Chromium, {arguments.size_mib} MiB Blob, median of {arguments.runs} runs"
    report(summaries, title, "fetch() PUT", TARGET_RATIO)
    payload = {"size_bytes": size, "runs": arguments.runs, "methods": summaries}
    print(f"results: {write_results('upload_browser', payload)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
