"""Accounts: one-click guests and accounts with a username and password."""

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.devices import Device, bind_account
from server.errors import InvalidUsername, NotGuest, UsernameTaken
from server.plans import FREE, GUEST
from server.schema import accounts
from server.settings import Settings
from server.tokens import epoch_ms, new_id, utc_now

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")


@dataclass(frozen=True)
class Account:
    """An account record."""

    id: str
    username: str | None
    is_guest: bool
    plan: str
    expires_at: datetime | None

    def public(self) -> dict[str, Any]:
        """Return the account as clients see it."""
        expires = None if self.expires_at is None else epoch_ms(self.expires_at)
        return {
            "id": self.id,
            "username": self.username,
            "is_guest": self.is_guest,
            "plan": self.plan,
            "expires_at": expires,
        }

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


async def get_account(engine: AsyncEngine, account_id: str | None) -> Account | None:
    """Return a live account by id, or None when missing or expired."""
    if account_id is None:
        return None
    query = select(accounts).where(accounts.c.id == account_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    if row is None:
        return None
    account = _from_row(row)
    return None if account.is_expired(utc_now()) else account


def _from_row(row: Any) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        is_guest=row.is_guest,
        plan=row.plan,
        expires_at=row.expires_at,
    )


def validate_username(raw: object) -> str:
    """Return a username in lower case, or raise InvalidUsername.

    Usernames are case-insensitive: "Alice" and "alice" are one account.
    """
    if not isinstance(raw, str):
        raise InvalidUsername(f"Username {raw!r} is not text; send it as a string.")
    username = raw.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InvalidUsername(
            f"Username {raw!r} is not valid; use 3 to 32 letters a-z, digits, "
            "'.', '_' or '-', starting with a letter or digit."
        )
    return username


async def find_by_username(
    engine: AsyncEngine, username: str
) -> tuple[Account, str] | None:
    """Return a full account and its password hash, or None."""
    query = select(accounts).where(
        accounts.c.username == username, accounts.c.is_guest.is_(False)
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    if row is None or row.password_hash is None:
        return None
    return _from_row(row), row.password_hash


async def create_account(
    engine: AsyncEngine, username: str, password_hash: str
) -> Account:
    """Create a full account on the free plan, or raise UsernameTaken."""
    now = utc_now()
    account = Account(
        id=new_id(), username=username, is_guest=False, plan=FREE, expires_at=None
    )
    values = {
        "id": account.id,
        "username": username,
        "password_hash": password_hash,
        "plan": FREE,
        "is_guest": False,
        "created_at": now,
        "updated_at": now,
        "expires_at": None,
    }
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(accounts).values(values))
    except IntegrityError:
        raise _taken(username) from None
    log.info("account created account=%s", account.id)
    return account


async def upgrade_guest(
    engine: AsyncEngine, account: Account, username: str, password_hash: str
) -> Account:
    """Turn a guest account into a full one on the free plan, keeping its id."""
    if not account.is_guest:
        raise NotGuest(
            f"Account {account.username!r} already has a username; sign out to "
            "create another account."
        )
    query = (
        update(accounts)
        .where(accounts.c.id == account.id, accounts.c.is_guest.is_(True))
        .values(
            username=username,
            password_hash=password_hash,
            is_guest=False,
            plan=FREE,
            expires_at=None,
            updated_at=utc_now(),
        )
    )
    try:
        async with engine.begin() as connection:
            result = await connection.execute(query)
    except IntegrityError:
        raise _taken(username) from None
    if result.rowcount != 1:
        raise NotGuest("This account was upgraded already; reload the page.")
    log.info("guest account upgraded account=%s", account.id)
    return Account(
        id=account.id, username=username, is_guest=False, plan=FREE, expires_at=None
    )


def _taken(username: str) -> UsernameTaken:
    return UsernameTaken(
        f"Username {username!r} is taken; choose another one.", username=username
    )


async def set_password_hash(
    engine: AsyncEngine, account_id: str, password_hash: str
) -> None:
    """Store a new password hash for an account."""
    query = (
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(password_hash=password_hash, updated_at=utc_now())
    )
    async with engine.begin() as connection:
        await connection.execute(query)


async def set_plan(engine: AsyncEngine, account_id: str, plan_name: str) -> None:
    """Move an account to another plan; its live sessions keep their limits."""
    query = (
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(plan=plan_name, updated_at=utc_now())
    )
    async with engine.begin() as connection:
        await connection.execute(query)


async def start_guest(
    engine: AsyncEngine, device: Device, settings: Settings
) -> Account:
    """Return the device's account, creating a guest account if it has none."""
    existing = await get_account(engine, device.account_id)
    if existing is not None:
        return existing

    now = utc_now()
    account = Account(
        id=new_id(),
        username=None,
        is_guest=True,
        plan=GUEST,
        expires_at=now + timedelta(seconds=settings.guest_account_ttl_s),
    )
    values = {
        "id": account.id,
        "username": None,
        "password_hash": None,
        "plan": account.plan,
        "is_guest": True,
        "created_at": now,
        "updated_at": now,
        "expires_at": account.expires_at,
    }
    async with engine.begin() as connection:
        await connection.execute(insert(accounts).values(values))
    await bind_account(engine, device.id, account.id)
    log.info("guest account created account=%s device=%s", account.id, device.id)
    return account
