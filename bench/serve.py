"""The server side of a benchmark, run as its own process so its CPU is its own.

`python -m bench.serve dropspace` serves the DropSpace app from
`create_app(Settings.from_env())`; `python -m bench.serve plain` serves only
a streaming sink, the ceiling that uploads are compared with. Both add the
bench routes: the bench page, its test spec, its result and the sink.
"""

import argparse
import asyncio
import hashlib
import json
import logging
import os
from pathlib import Path

from aiohttp import web

from server.app import create_app
from server.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
SPEC_FILE = "spec.json"
RESULT_FILE = "result.json"
MARK_FILE = "started"
GO_FILE = "go"
STOP_FILE = "stopped"
SINK_FILE = "sink.bin"
WORK_DIR = web.AppKey("bench_work_dir", Path)


def add_bench_routes(app: web.Application, work_dir: Path) -> None:
    """Add the page, spec, result and sink routes under /bench/."""
    app[WORK_DIR] = work_dir
    app.router.add_get("/bench/", _page)
    app.router.add_get("/bench/test", _spec)
    app.router.add_post("/bench/mark", _mark)
    app.router.add_post("/bench/stop", _stop)
    app.router.add_get("/bench/go", _go)
    app.router.add_post("/bench/result", _result)
    app.router.add_put("/bench/sink", _sink)
    app.router.add_put("/bench/verifying-sink", _verifying_sink)
    app.router.add_static("/bench/static/", STATIC_DIR)


async def _page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "bench.html")


async def _spec(request: web.Request) -> web.Response:
    spec = (request.app[WORK_DIR] / SPEC_FILE).read_text()
    return web.Response(text=spec, content_type="application/json")


async def _mark(request: web.Request) -> web.Response:
    """Tell the bench script that the page is about to start timing."""
    (request.app[WORK_DIR] / MARK_FILE).touch()
    return web.json_response({"ok": True})


async def _stop(request: web.Request) -> web.Response:
    """Tell the bench script that the page has stopped timing."""
    (request.app[WORK_DIR] / STOP_FILE).touch()
    return web.json_response({"ok": True})


async def _go(request: web.Request) -> web.Response:
    """Report whether the bench script has taken its first readings."""
    return web.json_response({"go": (request.app[WORK_DIR] / GO_FILE).exists()})


async def _result(request: web.Request) -> web.Response:
    """Store the page's result in the file that the bench script waits for."""
    body = await request.json()
    work_dir = request.app[WORK_DIR]
    partial = work_dir / f"{RESULT_FILE}.part"
    partial.write_text(json.dumps(body))
    partial.replace(work_dir / RESULT_FILE)
    return web.json_response({"ok": True})


async def _sink(request: web.Request) -> web.Response:
    """Write the request body to one file as it arrives, and nothing else.

    The writes block the event loop briefly. They only fill the page cache,
    and this handler is the only work of its process, so nothing waits.
    """
    offset = int(request.query.get("offset", "0"))
    received = 0
    path = request.app[WORK_DIR] / SINK_FILE
    with path.open("r+b" if offset else "wb", buffering=0) as stream:
        stream.seek(offset)
        async for block in request.content.iter_any():
            stream.write(block)
            received += len(block)
    return web.json_response({"ok": True, "offset": offset + received})


async def _verifying_sink(request: web.Request) -> web.Response:
    """The sink plus the least a server that checks uploads must add.

    That is a SHA-256 of every byte, in a worker thread so that it overlaps
    the next read as DropSpace's does, and an `fdatasync` before the answer.
    It has no database, no protocol and no checks, so it estimates the
    fastest that a server which verifies uploads can be on this machine.
    """
    offset = int(request.query.get("offset", "0"))
    digest = hashlib.sha256()
    loop = asyncio.get_running_loop()
    hashing: asyncio.Future[None] | None = None
    received = 0
    path = request.app[WORK_DIR] / SINK_FILE
    with path.open("r+b" if offset else "wb", buffering=0) as stream:
        stream.seek(offset)
        async for block in request.content.iter_any():
            stream.write(block)
            received += len(block)
            if hashing is not None:
                await hashing
            hashing = loop.run_in_executor(None, digest.update, block)
        if hashing is not None:
            await hashing
        os.fdatasync(stream.fileno())
    return web.json_response({"ok": True, "offset": offset + received})


def build_app(kind: str, work_dir: Path) -> tuple[web.Application, int]:
    """Return the app of a kind ("dropspace" or "plain") and its port."""
    if kind == "dropspace":
        settings = Settings.from_env()
        app = create_app(settings)
        port = settings.port
    else:
        app = web.Application()
        port = int(os.environ["DROPSPACE_PORT"])
    add_bench_routes(app, work_dir)
    return app, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["dropspace", "plain"])
    parser.add_argument("--work-dir", type=Path, required=True)
    arguments = parser.parse_args()
    logging.basicConfig(
        level=os.environ.get("DROPSPACE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app, port = build_app(arguments.kind, arguments.work_dir)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
