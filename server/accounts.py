"""Accounts: for now the one-click guest account a device creates."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.devices import Device, bind_account
from server.plans import GUEST
from server.schema import accounts
from server.settings import Settings
from server.tokens import epoch_ms, new_id, utc_now

log = logging.getLogger(__name__)


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
    account = Account(
        id=row.id,
        username=row.username,
        is_guest=row.is_guest,
        plan=row.plan,
        expires_at=row.expires_at,
    )
    return None if account.is_expired(utc_now()) else account


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
