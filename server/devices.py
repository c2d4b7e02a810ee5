"""Devices: the browsers and clients behind a `ds_device` cookie.

A device record is created the first time its cookie arrives on a Socket.IO
connection or on a request that changes something, never on a page view.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import InvalidLabel, TokenReplaced
from server.names import unsafe_character
from server.schema import devices
from server.tokens import epoch_ms, hash_secret, new_id, new_secret, utc_now

COOKIE_NAME = "ds_device"
MAX_LABEL_CHARS = 100
_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python", "Python"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


@dataclass(frozen=True)
class Device:
    """A device record."""

    id: str
    label: str
    account_id: str | None

    def public(self) -> dict[str, Any]:
        """Return the device as clients see it."""
        return {"id": self.id, "label": self.label}


def is_well_formed(token: str | None) -> bool:
    """Tell whether a cookie value has the shape of a device token."""
    return token is not None and _TOKEN_PATTERN.match(token) is not None


def label_from_user_agent(user_agent: str) -> str:
    """Return a readable label such as "Firefox on Android"."""
    browser = next((name for key, name in _BROWSERS if key in user_agent), None)
    system = next((name for key, name in _SYSTEMS if key in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"


def _from_row(row: Any) -> Device:
    return Device(id=row.id, label=row.label, account_id=row.account_id)


async def find_device(engine: AsyncEngine, token: str | None) -> Device | None:
    """Return the device behind a cookie token, or None."""
    if not is_well_formed(token):
        return None
    assert token is not None
    query = select(devices).where(devices.c.token_hash == hash_secret(token))
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return None if row is None else _from_row(row)


async def ensure_device(
    engine: AsyncEngine,
    token: str,
    user_agent: str,
    before_recording: Callable[[], Awaitable[None]] | None = None,
) -> Device:
    """Return the device behind a token, recording it on first use.

    `before_recording` runs just before a new device is recorded, and may
    raise to prevent it. Raise TokenReplaced for the token that a device's
    latest rotation replaced: a page of that browser reconnecting before the
    browser stored the new cookie would otherwise become a second device.
    """
    found = await find_device(engine, token)
    if found is not None:
        return found
    await _reject_replaced(engine, token)
    if before_recording is not None:
        await before_recording()
    device = Device(
        id=new_id(), label=label_from_user_agent(user_agent), account_id=None
    )
    now = utc_now()
    values = {
        "id": device.id,
        "token_hash": hash_secret(token),
        "label": device.label,
        "account_id": None,
        "created_at": now,
        "last_seen_at": now,
    }
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(devices).values(values))
    except IntegrityError:
        # Two first requests of one browser raced; the other one recorded it.
        raced = await find_device(engine, token)
        assert raced is not None
        return raced
    return device


async def _reject_replaced(engine: AsyncEngine, token: str) -> None:
    query = select(devices.c.id).where(
        devices.c.retired_token_hash == hash_secret(token)
    )
    async with engine.connect() as connection:
        replaced = (await connection.execute(query)).first()
    if replaced is not None:
        raise TokenReplaced(
            "This browser's device cookie was replaced a moment ago; retry, or "
            "reload the page."
        )


async def bind_account(engine: AsyncEngine, device_id: str, account_id: str) -> None:
    """Sign a device in to an account."""
    query = (
        update(devices)
        .where(devices.c.id == device_id)
        .values(account_id=account_id, last_seen_at=utc_now())
    )
    async with engine.begin() as connection:
        await connection.execute(query)


async def unbind_device(engine: AsyncEngine, device_id: str) -> None:
    """Sign a device out of its account."""
    query = update(devices).where(devices.c.id == device_id).values(account_id=None)
    async with engine.begin() as connection:
        await connection.execute(query)


async def get_device(engine: AsyncEngine, device_id: str) -> Device | None:
    """Return a device by id, or None."""
    query = select(devices).where(devices.c.id == device_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return None if row is None else _from_row(row)


async def rotate_token(engine: AsyncEngine, device_id: str) -> str:
    """Give a device a new token and return it; the old token stops working.

    Signing in and upgrading rotate the token, so a token that another site
    or person planted in the browser before sign-in is never signed in.
    """
    token = new_secret()
    query = (
        update(devices)
        .where(devices.c.id == device_id)
        .values(
            # Both right-hand sides read the row as it was before the update.
            retired_token_hash=devices.c.token_hash,
            token_hash=hash_secret(token),
            last_seen_at=utc_now(),
        )
    )
    async with engine.begin() as connection:
        await connection.execute(query)
    return token


async def sign_out_devices(
    engine: AsyncEngine, account_id: str, keep_device_id: str | None = None
) -> list[str]:
    """Unbind every device of an account but one; return the unbound ids."""
    condition = devices.c.account_id == account_id
    if keep_device_id is not None:
        condition = condition & (devices.c.id != keep_device_id)
    async with engine.begin() as connection:
        found = await connection.execute(select(devices.c.id).where(condition))
        device_ids = list(found.scalars())
        await connection.execute(
            update(devices).where(condition).values(account_id=None)
        )
    return device_ids


async def list_account_devices(
    engine: AsyncEngine, account_id: str
) -> list[dict[str, Any]]:
    """Return the devices signed in to an account, most recently seen first."""
    query = (
        select(devices)
        .where(devices.c.account_id == account_id)
        .order_by(devices.c.last_seen_at.desc(), devices.c.id)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        {
            "id": row.id,
            "label": row.label,
            "created_at": epoch_ms(row.created_at),
            "last_seen_at": epoch_ms(row.last_seen_at),
        }
        for row in rows
    ]


def validate_label(raw: object) -> str:
    """Return a clean device label, or raise InvalidLabel."""
    if not isinstance(raw, str):
        raise InvalidLabel(f"Label {raw!r} is not text; send the label as a string.")
    label = raw.strip()
    if not 1 <= len(label) <= MAX_LABEL_CHARS:
        raise InvalidLabel(
            f"Label {raw!r} is {len(label)} characters long without its outer "
            f"spaces; use 1 to {MAX_LABEL_CHARS}."
        )
    found = unsafe_character(label)
    if found is not None:
        raise InvalidLabel(
            f"Label contains the control or invisible character "
            f"U+{ord(found[1]):04X} at position {found[0]}; remove it."
        )
    return label


async def rename_device(engine: AsyncEngine, device_id: str, label: str) -> None:
    """Store a device's new label."""
    query = update(devices).where(devices.c.id == device_id).values(label=label)
    async with engine.begin() as connection:
        await connection.execute(query)
