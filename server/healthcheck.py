"""Container healthcheck: `python -m server.healthcheck [app|worker]`.

It exits with status 0 when the process is healthy and 1 with the reason on
stderr otherwise. The slim image has no curl, and this reads the same
`DROPSPACE_*` settings as the process it checks.

- `app` (the default) requests `GET /healthz` on this container's port.
- `worker` looks for the key that an arq worker refreshes in Redis while it
  runs: `<queue name>:health-check`, which arq writes with a lifetime of its
  health check interval plus one second.
"""

import argparse
import asyncio
import sys

import aiohttp
import redis.asyncio as redis
from redis.exceptions import RedisError

from server import jobs
from server.health import HEALTH_PATH
from server.settings import Settings

TIMEOUT_S = 3.0


class Unhealthy(Exception):
    """A failed check; its message names the check and the reason."""


def loopback_host(listen_host: str) -> str:
    """Return the address at which this machine reaches a server on `listen_host`."""
    if listen_host in {"", "0.0.0.0"}:  # noqa: S104
        return "127.0.0.1"
    if listen_host == "::":
        return "[::1]"
    return f"[{listen_host}]" if ":" in listen_host else listen_host


async def check_app(settings: Settings) -> None:
    """Raise Unhealthy unless `GET /healthz` on this machine returns 200."""
    url = f"http://{loopback_host(settings.host)}:{settings.port}{HEALTH_PATH}"
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as client,
            client.get(url) as response,
        ):
            body = await response.text()
    except (aiohttp.ClientError, TimeoutError) as error:
        raise Unhealthy(f"GET {url} failed: {error!r}") from None
    if response.status != 200:
        raise Unhealthy(f"GET {url} returned {response.status}: {body}")


async def check_worker(settings: Settings, queue_name: str) -> None:
    """Raise Unhealthy unless the arq worker's health key exists in Redis."""
    if not settings.redis_url:
        raise Unhealthy("DROPSPACE_REDIS_URL is not set; the worker needs Redis.")
    key = f"{queue_name}:health-check"
    client = redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
    )
    try:
        found = await client.exists(key)
    except RedisError as error:
        raise Unhealthy(f"Redis check failed: {error}") from None
    finally:
        await client.aclose()
    if not found:
        raise Unhealthy(f"Redis has no key {key!r}; the worker is not running.")


def main(argv: list[str] | None = None) -> int:
    """Run one check; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m server.healthcheck", description=__doc__
    )
    parser.add_argument("process", nargs="?", choices=["app", "worker"], default="app")
    parser.add_argument(
        "--queue",
        help="arq queue name of the worker (default: PREFIX:queue, where PREFIX "
        "is DROPSPACE_REDIS_PREFIX, as `dropspace worker` uses)",
    )
    arguments = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if arguments.process == "app":
            asyncio.run(check_app(settings))
        else:
            queue = arguments.queue or jobs.queue_name(settings)
            asyncio.run(check_worker(settings, queue))
    except (Unhealthy, ValueError) as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
