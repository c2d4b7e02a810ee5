"""The health routes that load balancers and container runtimes poll.

`GET /livez` (liveness) returns 200 while the process serves requests, and
touches neither the database nor Redis. Caddy polls it to pick upstreams,
so that while the database is down, requests still reach a process, which
responds at once with its own 503 error. `GET /healthz` (readiness)
returns 200 only when a database query succeeds and the files folder has
its storage marker (server.storage_marker). The container healthcheck and
operators poll it.
"""

import asyncio
import logging

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from server import keys
from server.errors import (
    DATABASE_RETRY_AFTER_S,
    DropSpaceError,
    ServiceUnavailable,
    storage_unavailable,
)

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
LIVENESS_PATH = "/livez"
# Below the 3 s timeout of the container healthcheck (server.healthcheck), so
# a hung database gives a 503 instead of a dropped check.
DATABASE_TIMEOUT_S = 2.0


async def database_reachable(engine: AsyncEngine) -> bool:
    """Run one trivial query; return False when it fails or times out."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except (DBAPIError, OSError, TimeoutError):
        return False
    return True


async def livez(request: web.Request) -> web.StreamResponse:
    """Handle `GET /livez`: return 200 while the process serves requests."""
    return web.json_response({"ok": True}, headers={"Cache-Control": "no-store"})


def health_handler() -> Handler:
    """Create the `GET /healthz` handler: 200 when the process can serve files.

    It returns 503 when a database query fails or the files folder lacks its
    marker. The handler logs only changes of the reason, because every load
    balancer and container runtime polls it every few seconds.
    """
    last_reason: str | None = None

    async def healthz(request: web.Request) -> web.StreamResponse:
        nonlocal last_reason
        error = await _find_problem(request.app)
        reason = None if error is None else error.code
        if reason != last_reason:
            _log_change(reason, request.app)
            last_reason = reason
        headers = {"Cache-Control": "no-store"}
        if error is None:
            return web.json_response({"ok": True}, headers=headers)
        retry_after_s = error.fields.get("retry_after_s")
        if retry_after_s is not None:
            headers["Retry-After"] = str(retry_after_s)
        return web.json_response(error.body(), status=error.status, headers=headers)

    return healthz


async def _find_problem(app: web.Application) -> DropSpaceError | None:
    if not await database_reachable(app[keys.ENGINE]):
        return ServiceUnavailable(
            "The database is unreachable; check DROPSPACE_DATABASE_URL and "
            "that the database server is running.",
            retry_after_s=DATABASE_RETRY_AFTER_S,
        )
    if not await app[keys.STORAGE].marker.is_present():
        return storage_unavailable()
    return None


def _log_change(reason: str | None, app: web.Application) -> None:
    if reason is None:
        log.info("health check passes again")
    elif reason == "storage_unavailable":
        log.warning(
            "health check fails: storage marker missing marker=%s",
            app[keys.STORAGE].marker.path,
        )
    else:
        log.warning("health check fails: database unreachable")
