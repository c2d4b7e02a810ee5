"""Command line entry point: `dropspace serve`, `worker` and `migrate`."""

import argparse
import asyncio
import logging
import sys

from aiohttp import web

from server.app import create_app
from server.datalock import DataDirInUse
from server.db import create_engine, migrate
from server.settings import Settings

log = logging.getLogger("server")


def main(argv: list[str] | None = None) -> int:
    """Run a `dropspace` subcommand; return the exit status."""
    parser = argparse.ArgumentParser(prog="dropspace", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the web server (settings: DROPSPACE_*)")
    commands.add_parser(
        "worker", help="run the background worker (needs DROPSPACE_REDIS_URL)"
    )
    commands.add_parser("migrate", help="bring the database schema up to date")
    arguments = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except ValueError as error:
        print(f"dropspace: {error}", file=sys.stderr)
        return 2
    try:
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    except ValueError:
        print(
            f"dropspace: DROPSPACE_LOG_LEVEL={settings.log_level!r} is not a "
            "logging level; use DEBUG, INFO, WARNING or ERROR.",
            file=sys.stderr,
        )
        return 2
    if arguments.command == "migrate":
        asyncio.run(_migrate(settings))
        return 0
    if arguments.command == "worker":
        return _work(settings)
    return _serve(settings)


def _work(settings: Settings) -> int:
    if not settings.redis_url:
        print(
            "dropspace: the worker takes its jobs from Redis; set "
            "DROPSPACE_REDIS_URL (the embedded server needs no worker).",
            file=sys.stderr,
        )
        return 2
    # Imported here: `workers` wraps the server's modules, not the reverse,
    # and only this subcommand needs it.
    from workers.worker import run

    return run(settings)


async def _migrate(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def _serve(settings: Settings) -> int:
    try:
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            print=lambda _: _announce(settings),
            access_log=None,
            # Uploads in flight get this long to finish their chunk; their
            # clients resume from the committed offset after a restart.
            shutdown_timeout=5,
        )
    except (DataDirInUse, OSError) as error:
        print(f"dropspace: {error}", file=sys.stderr)
        return 1
    log.info("server stopped")
    return 0


def _announce(settings: Settings) -> None:
    print(f"DropSpace is running. Open {settings.origin} on your other devices.")
    print(f"On this machine: http://127.0.0.1:{settings.port}")


if __name__ == "__main__":
    sys.exit(main())
