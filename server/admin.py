"""Operator commands on accounts and plans, run by `dropspace user|plan`.

They work on the database and the files folder directly, so they run
whether or not the server is up.
"""

import re
import secrets

from sqlalchemy.ext.asyncio import AsyncEngine

from server import plans as plan_records
from server.accounts import (
    create_account,
    find_by_username,
    set_password_hash,
    set_plan,
    validate_username,
)
from server.db import create_engine, migrate
from server.devices import sign_out_devices
from server.errors import DropSpaceError
from server.expiry import Expiry
from server.members import end_account_memberships
from server.operator_bus import operator_bus
from server.passwords import Passwords
from server.plans import GUEST, Plan
from server.removal import remove_account
from server.settings import Settings
from server.storage import Storage

_SIZE = re.compile(r"([0-9]+)\s*(|B|KiB|MiB|GiB|TiB)", re.IGNORECASE)
_DURATION = re.compile(r"([0-9]+)\s*(|s|m|h|d)", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class CommandError(Exception):
    """An operator command failed; its message states why and what to do next."""


def parse_size(raw: str) -> int:
    """Parse "10GiB", "512 MiB" or a plain byte count into bytes."""
    match = _SIZE.fullmatch(raw.strip())
    if match is None:
        raise CommandError(
            f"capacity {raw!r} is not a size; write bytes or a number with "
            "KiB, MiB, GiB or TiB, such as 10GiB"
        )
    return int(match[1]) * _SIZE_UNITS[match[2].lower()]


def parse_duration(raw: str) -> int:
    """Parse "24h", "7d", "90m" or a plain number of seconds into seconds."""
    match = _DURATION.fullmatch(raw.strip())
    if match is None:
        raise CommandError(
            f"lifetime {raw!r} is not a duration; write seconds or a number "
            "with s, m, h or d, such as 24h"
        )
    return int(match[1]) * _DURATION_UNITS[match[2].lower()]


async def _open(settings: Settings) -> AsyncEngine:
    engine = create_engine(settings)
    await migrate(engine)
    return engine


async def _account_id(engine: AsyncEngine, username: str) -> str:
    found = await find_by_username(engine, username.strip().lower())
    if found is None:
        raise CommandError(f"no account is named {username!r}; check the spelling")
    return found[0].id


async def create_user(settings: Settings, username: str) -> tuple[str, str]:
    """Create an account on the free plan with a random password.

    Return the username as stored (in lower case) and the password.
    """
    password = secrets.token_urlsafe(12)
    engine = await _open(settings)
    try:
        name = validate_username(username)
        password_hash = await Passwords(1).hash(password)
        await create_account(engine, name, password_hash)
    except DropSpaceError as error:
        raise CommandError(error.message) from None
    finally:
        await engine.dispose()
    return name, password


async def reset_password(settings: Settings, username: str) -> str:
    """Give an account a new random password, sign out its devices, return it."""
    engine = await _open(settings)
    try:
        account_id = await _account_id(engine, username)
        password = secrets.token_urlsafe(12)
        passwords = Passwords(1)
        await set_password_hash(engine, account_id, await passwords.hash(password))
        signed_out = await sign_out_devices(engine, account_id)
        await end_account_memberships(engine, account_id, signed_out)
        async with operator_bus(settings) as bus:
            await bus.signed_out(signed_out)
        return password
    finally:
        await engine.dispose()


async def delete_user(settings: Settings, username: str) -> None:
    """Delete an account with its sessions, files and records."""
    engine = await _open(settings)
    try:
        account_id = await _account_id(engine, username)
        storage = Storage(settings.files_dir)
        async with operator_bus(settings) as bus:
            expiry = Expiry(engine, storage, bus.broadcast, bus.close_session)
            signed_out = await remove_account(engine, storage, expiry, account_id)
            await bus.signed_out(signed_out or [])
    finally:
        await engine.dispose()


async def list_plans(settings: Settings) -> list[Plan]:
    """Return every plan."""
    engine = await _open(settings)
    try:
        await plan_records.sync_guest_plan(engine, settings)
        return await plan_records.list_plans(engine, settings)
    finally:
        await engine.dispose()


async def assign_plan(settings: Settings, username: str, plan_name: str) -> None:
    """Move an account to a plan."""
    engine = await _open(settings)
    try:
        account_id = await _account_id(engine, username)
        known = {plan.name for plan in await plan_records.list_plans(engine, settings)}
        if plan_name not in known or plan_name == GUEST:
            choices = ", ".join(sorted(known - {GUEST}))
            raise CommandError(f"plan {plan_name!r} cannot be assigned; use {choices}")
        await set_plan(engine, account_id, plan_name)
    finally:
        await engine.dispose()


# The database columns: INTEGER for sessions and lifetime, BIGINT for bytes.
_MAX_INTEGER = 2**31 - 1
_MAX_BIGINT = 2**63 - 1


def _check_plan_limits(
    settings: Settings,
    max_sessions: int | None,
    capacity_bytes: int | None,
    max_lifetime_s: int | None,
) -> None:
    """Raise CommandError unless at least one limit is given, each in range."""
    if max_sessions is None and capacity_bytes is None and max_lifetime_s is None:
        raise CommandError(
            "nothing to change; give --sessions, --capacity or --lifetime"
        )
    minimum_lifetime = f"{settings.min_lifetime_s} (DROPSPACE_MIN_LIFETIME_S)"
    for label, value, low, shown_low, high in (
        ("sessions", max_sessions, 1, "1", _MAX_INTEGER),
        ("capacity", capacity_bytes, 1, "1", _MAX_BIGINT),
        (
            "lifetime",
            max_lifetime_s,
            settings.min_lifetime_s,
            minimum_lifetime,
            _MAX_INTEGER,
        ),
    ):
        if value is not None and not low <= value <= high:
            raise CommandError(
                f"{label} {value} is out of range; use {shown_low} to {high}"
            )


async def edit_plan(
    settings: Settings,
    name: str,
    *,
    max_sessions: int | None,
    capacity_bytes: int | None,
    max_lifetime_s: int | None,
) -> None:
    """Change a plan's limits; sessions already created keep theirs."""
    if name == GUEST:
        raise CommandError(
            "the guest plan is set by DROPSPACE_GUEST_MAX_SESSIONS, "
            "DROPSPACE_GUEST_CAPACITY_BYTES and DROPSPACE_GUEST_MAX_LIFETIME_S; "
            "change those and restart"
        )
    _check_plan_limits(settings, max_sessions, capacity_bytes, max_lifetime_s)
    engine = await _open(settings)
    try:
        found = await plan_records.edit_plan(
            engine,
            name,
            max_sessions=max_sessions,
            capacity_bytes=capacity_bytes,
            max_lifetime_s=max_lifetime_s,
        )
    finally:
        await engine.dispose()
    if not found:
        raise CommandError(f"no plan is named {name!r}; see `dropspace plan list`")
