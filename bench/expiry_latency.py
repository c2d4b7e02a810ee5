"""Measure how long after a session's deadline its files are gone from disk.

    .venv/bin/python -m bench.expiry_latency [--sessions 10] [--runs 3]

One DropSpace server with DROPSPACE_MIN_LIFETIME_S=1 and the default sweep
interval, so the per-session timer is what ends each session. For each
session in turn: create it with a short lifetime, upload and finish a small
file, then from the deadline poll the folder DATA/files/<session_id> every
10 ms until it is gone. The time the `session:ended` event reached the
uploading device is recorded beside it.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.client import Device
from bench.measure import MIB, format_table, peak_rss_bytes, write_results
from bench.servers import ServerProcess

TARGET_S = 2.0
POLL_S = 0.01
GIVE_UP_S = 120.0
FILE_BYTES = MIB


async def one_session(
    device: Device, source: Path, files_dir: Path, lifetime_s: int
) -> dict[str, float]:
    """Create, fill and outlive one session, and return its latencies in seconds."""
    ended_at: dict[str, float] = {}
    session = await device.new_session(lifetime_s)
    session_id = session["id"]

    def on_ended(payload: dict[str, Any]) -> None:
        if payload.get("session_id") == session_id:
            ended_at.setdefault("event", time.time())

    device.sio.on("session:ended", on_ended)
    await _upload_small_file(device, session_id, source, files_dir)

    deadline_s = session["expires_at"] / 1000
    folder = files_dir / session_id
    await asyncio.sleep(max(0.0, deadline_s - time.time()))
    gone_s = await _poll_until_gone(folder, deadline_s + GIVE_UP_S)
    return {
        "files_gone_after_s": gone_s - deadline_s,
        "ended_event_after_s": ended_at.get("event", float("nan")) - deadline_s,
    }


async def _upload_small_file(
    device: Device, session_id: str, source: Path, files_dir: Path
) -> None:
    file_id = await device.start_upload(session_id, "small.bin", FILE_BYTES)
    await device.upload_http(file_id, source, FILE_BYTES, FILE_BYTES)
    await device.finish(file_id)
    if not (files_dir / session_id / file_id).is_file():
        raise RuntimeError(f"finished file {file_id} is not under {files_dir}")


async def _poll_until_gone(folder: Path, give_up_at_s: float) -> float:
    # One stat() per poll blocks for microseconds. A thread hop per poll
    # would add its own delay to what is measured.
    while folder.exists():  # noqa: ASYNC240
        if time.time() > give_up_at_s:
            raise RuntimeError(
                f"{folder} still exists {GIVE_UP_S} s after the deadline"
            )
        await asyncio.sleep(POLL_S)
    return time.time()


async def measure(
    work_dir: Path, sessions: int, runs: int, lifetime_s: int
) -> dict[str, Any]:
    source = work_dir / "small.bin"
    source.write_bytes(bytes(FILE_BYTES))
    settings = {"min_lifetime_s": 1}
    with ServerProcess("dropspace", work_dir / "server", settings) as server:
        device = Device(server.base_url)
        try:
            await device.open()
            results = []
            for _ in range(runs):
                latencies = [
                    await one_session(device, source, server.files_dir, lifetime_s)
                    for _ in range(sessions)
                ]
                results.append(_summarize_run(latencies))
        finally:
            await device.close()
        peak = peak_rss_bytes(server.pid)
    return {"runs": results, "server_peak_rss_bytes": peak}


def _summarize_run(latencies: list[dict[str, float]]) -> dict[str, Any]:
    gone = [item["files_gone_after_s"] for item in latencies]
    events = [item["ended_event_after_s"] for item in latencies]
    return {
        "sessions": latencies,
        "files_gone_median_s": statistics.median(gone),
        "files_gone_max_s": max(gone),
        "ended_event_median_s": statistics.median(events),
        "ended_event_max_s": max(events),
    }


def report(result: dict[str, Any], sessions: int) -> None:
    rows = []
    for number, run in enumerate(result["runs"], start=1):
        rows.append(
            [
                number,
                sessions,
                f"{run['files_gone_median_s'] * 1000:.0f}",
                f"{run['files_gone_max_s'] * 1000:.0f}",
                f"{run['ended_event_median_s'] * 1000:.0f}",
                f"{run['ended_event_max_s'] * 1000:.0f}",
            ]
        )
    headers = [
        "run",
        "sessions",
        "files gone, median ms",
        "files gone, max ms",
        "session:ended, median ms",
        "session:ended, max ms",
    ]
    print("Expiry latency after the deadline")
    print(format_table(headers, rows))
    print(
        f"median of run medians {result['files_gone_median_s'] * 1000:.0f} ms, "
        f"max {result['files_gone_max_s'] * 1000:.0f} ms; server peak RSS "
        f"{result['server_peak_rss_bytes'] / MIB:.0f} MiB; target under "
        f"{TARGET_S:.0f} s {'met' if result['meets_target'] else 'not met'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=10, help="sessions per run")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of --sessions sessions each"
    )
    parser.add_argument(
        "--lifetime-s", type=int, default=2, help="lifetime of each session in seconds"
    )
    arguments = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dropspace-bench-") as work_dir:
        result = asyncio.run(
            measure(
                Path(work_dir), arguments.sessions, arguments.runs, arguments.lifetime_s
            )
        )
    result["files_gone_median_s"] = statistics.median(
        run["files_gone_median_s"] for run in result["runs"]
    )
    result["files_gone_max_s"] = max(run["files_gone_max_s"] for run in result["runs"])
    result["meets_target"] = result["files_gone_max_s"] < TARGET_S
    report(result, arguments.sessions)
    print(f"results: {write_results('expiry_latency', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
