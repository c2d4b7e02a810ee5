"""The health routes that load balancers and container runtimes poll.

`GET /livez` (liveness) returns 200 while the process serves requests, and
touches neither the database nor Redis. Caddy polls it to pick upstreams,
so that while the database is down, requests still reach a process, which
responds at once with its own 503 error. `GET /healthz` (readiness)
returns 200 only when the database answers a query. The container
healthcheck and operators poll it.
"""

import asyncio
import logging

from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from server import keys
from server.errors import DATABASE_RETRY_AFTER_S, ServiceUnavailable

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
    """Create the `GET /healthz` handler: 200 when a query succeeds, else 503.

    The handler logs only changes of state, because every load balancer and
    container runtime polls it every few seconds.
    """
    healthy = True

    async def healthz(request: web.Request) -> web.StreamResponse:
        nonlocal healthy
        reachable = await database_reachable(request.app[keys.ENGINE])
        if reachable != healthy:
            healthy = reachable
            if reachable:
                log.info("health check passes again: database reachable")
            else:
                log.warning("health check fails: database unreachable")
        headers = {"Cache-Control": "no-store"}
        if reachable:
            return web.json_response({"ok": True}, headers=headers)
        error = ServiceUnavailable(
            "The database is unreachable; check DROPSPACE_DATABASE_URL and "
            "that the database server is running.",
            retry_after_s=DATABASE_RETRY_AFTER_S,
        )
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return web.json_response(error.body(), status=error.status, headers=headers)

    return healthz
