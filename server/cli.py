"""Command line entry point: `dropspace serve`, `worker`, `migrate`, `user`, `plan`."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable

from server import admin
from server.admin import CommandError
from server.datalock import DataDirInUse
from server.db import create_engine, migrate
from server.plans import Plan
from server.settings import Settings

log = logging.getLogger("server")


def main(argv: list[str] | None = None) -> int:
    """Run a `dropspace` subcommand; return the exit status."""
    arguments = _parser().parse_args(argv)

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
    if arguments.command in {"user", "plan"}:
        # A command prints its outcome; migration progress is noise there.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("server.db").setLevel(logging.WARNING)
        return _operate(settings, arguments)
    if arguments.command == "worker":
        return _work(settings)
    return _serve(settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dropspace", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the web server (settings: DROPSPACE_*)")
    commands.add_parser(
        "worker", help="run the background worker (needs DROPSPACE_REDIS_URL)"
    )
    commands.add_parser("migrate", help="bring the database schema up to date")

    user = commands.add_parser("user", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    user.add_parser(
        "create", help="create an account with a random password and print it"
    ).add_argument("username")
    reset = user.add_parser(
        "reset-password", help="set a random password, print it, sign out devices"
    )
    reset.add_argument("username")
    user.add_parser(
        "delete", help="delete an account with its sessions and files"
    ).add_argument("username")

    plan = commands.add_parser("plan", help="manage plans").add_subparsers(
        dest="action", required=True
    )
    plan.add_parser("list", help="print every plan and its limits")
    assign = plan.add_parser("set", help="move an account to a plan")
    assign.add_argument("username")
    assign.add_argument("plan")
    edit = plan.add_parser("edit", help="change a plan's limits")
    edit.add_argument("name")
    edit.add_argument("--sessions", type=int, help="live sessions an account owns")
    edit.add_argument("--capacity", help="bytes per session, such as 10GiB")
    edit.add_argument("--lifetime", help="longest session lifetime, such as 24h")
    return parser


def _operate(settings: Settings, arguments: argparse.Namespace) -> int:
    try:
        print(asyncio.run(_run_operation(settings, arguments)))
    except CommandError as error:
        print(f"dropspace: {error}", file=sys.stderr)
        return 1
    return 0


async def _run_operation(settings: Settings, arguments: argparse.Namespace) -> str:
    command = (arguments.command, arguments.action)
    if command == ("user", "create"):
        name, password = await admin.create_user(settings, arguments.username)
        return f"Created account {name}; password: {password}"
    if command == ("user", "reset-password"):
        password = await admin.reset_password(settings, arguments.username)
        return f"New password for {arguments.username}: {password}"
    if command == ("user", "delete"):
        await admin.delete_user(settings, arguments.username)
        return f"Deleted account {arguments.username} with its sessions and files."
    if command == ("plan", "list"):
        return _plan_table(await admin.list_plans(settings))
    if command == ("plan", "set"):
        await admin.assign_plan(settings, arguments.username, arguments.plan)
        return f"Account {arguments.username} is now on plan {arguments.plan}."
    await admin.edit_plan(
        settings,
        arguments.name,
        max_sessions=arguments.sessions,
        capacity_bytes=_optional(admin.parse_size, arguments.capacity),
        max_lifetime_s=_optional(admin.parse_duration, arguments.lifetime),
    )
    return f"Plan {arguments.name} updated; sessions created from now on use it."


def _optional(parse: Callable[[str], int], raw: str | None) -> int | None:
    return None if raw is None else parse(raw)


def _plan_table(plans: list[Plan]) -> str:
    lines = [f"{'plan':<10} {'sessions':>8} {'capacity_bytes':>16} {'lifetime_s':>10}"]
    for plan in plans:
        lines.append(
            f"{plan.name:<10} {plan.max_sessions:>8} {plan.capacity_bytes:>16} "
            f"{plan.max_lifetime_s:>10}"
        )
    return "\n".join(lines)


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
    # Imported here: the web stack takes a second to load, which the
    # operator commands need not wait for.
    from aiohttp import web

    from server.app import create_app

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
