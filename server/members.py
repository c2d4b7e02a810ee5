"""Session membership: listing members, pulling devices in, removing them.

A removed device keeps its membership row with `removed_at` set. It cannot
come back through the join link; only the owner can pull it in again, by
its lobby code or lobby QR code. Another browser is another device, though,
so the join link admits its user until the owner replaces the link.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import NotAllowed, NotFound
from server.schema import devices, memberships, sessions
from server.sessions import Session, get_session, require_live
from server.tokens import epoch_ms, utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Member:
    """A device in a session, as the session page lists it."""

    device_id: str
    label: str
    is_owner_device: bool
    joined_at_ms: int

    def public(self, online: bool) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "label": self.label,
            "owner": self.is_owner_device,
            "joined_at": self.joined_at_ms,
            "online": online,
        }


async def list_members(engine: AsyncEngine, session: Session) -> list[Member]:
    """Return the session's current members, earliest first."""
    query = (
        select(
            memberships.c.joined_at, devices.c.id, devices.c.label, devices.c.account_id
        )
        .join(devices, devices.c.id == memberships.c.device_id)
        .where(
            memberships.c.session_id == session.id,
            memberships.c.removed_at.is_(None),
        )
        .order_by(memberships.c.joined_at, devices.c.id)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        Member(
            device_id=row.id,
            label=row.label,
            is_owner_device=row.account_id == session.owner_account_id,
            joined_at_ms=epoch_ms(row.joined_at),
        )
        for row in rows
    ]


async def was_removed(engine: AsyncEngine, session_id: str, device_id: str) -> bool:
    """Tell whether the owner removed this device from the session."""
    query = select(memberships.c.removed_at).where(
        memberships.c.session_id == session_id,
        memberships.c.device_id == device_id,
    )
    async with engine.connect() as connection:
        removed_at = (await connection.execute(query)).scalar_one_or_none()
    return removed_at is not None


async def pull_in(engine: AsyncEngine, session: Session, device_id: str) -> None:
    """Make a device a member, re-admitting it if the owner had removed it."""
    require_live(session)
    now = utc_now()
    # A re-admitted device counts as joining now, so that a lobby that
    # missed the pull finds it (see `joined_since`).
    readmit = (
        update(memberships)
        .where(
            memberships.c.session_id == session.id,
            memberships.c.device_id == device_id,
            memberships.c.removed_at.is_not(None),
        )
        .values(removed_at=None, joined_at=now)
    )
    values = {
        "session_id": session.id,
        "device_id": device_id,
        "joined_at": now,
        "removed_at": None,
    }
    async with engine.begin() as connection:
        readmitted = (await connection.execute(readmit)).rowcount == 1
    if not readmitted:
        try:
            async with engine.begin() as connection:
                await connection.execute(insert(memberships).values(values))
        except IntegrityError:
            pass  # a member already, or a join link admitted it at the same moment
    log.info("device pulled in session=%s device=%s", session.id, device_id)


async def joined_since(
    engine: AsyncEngine, device_id: str, since: datetime
) -> Session | None:
    """Return the live session the device most recently joined at or after `since`.

    A lobby whose connection was down when its device was pulled in missed
    the `pairing:pulled` notice; this finds the session it should open.
    """
    now = utc_now()
    query = (
        select(sessions.c.id)
        .join(memberships, memberships.c.session_id == sessions.c.id)
        .where(
            memberships.c.device_id == device_id,
            memberships.c.removed_at.is_(None),
            memberships.c.joined_at >= since,
            sessions.c.ended_at.is_(None),
            sessions.c.expires_at > now,
        )
        .order_by(memberships.c.joined_at.desc())
        .limit(1)
    )
    async with engine.connect() as connection:
        session_id = (await connection.execute(query)).scalar_one_or_none()
    return None if session_id is None else await get_session(engine, session_id)


async def remove(engine: AsyncEngine, session: Session, device_id: object) -> str:
    """Remove a member device; return its id. Owner devices cannot be removed."""
    if not isinstance(device_id, str):
        raise NotFound(f"Device {device_id!r} is not in this session.")
    members = {
        member.device_id: member for member in await list_members(engine, session)
    }
    member = members.get(device_id)
    if member is None:
        raise NotFound(
            f"Device {device_id!r} is not in this session; refresh the device list."
        )
    if member.is_owner_device:
        raise NotAllowed(
            "This device is signed in to the session owner's account, so it "
            "cannot be removed; remove other devices only."
        )
    query = (
        update(memberships)
        .where(
            memberships.c.session_id == session.id,
            memberships.c.device_id == device_id,
            memberships.c.removed_at.is_(None),
        )
        .values(removed_at=utc_now())
    )
    async with engine.begin() as connection:
        await connection.execute(query)
    log.info("device removed session=%s device=%s", session.id, device_id)
    return device_id


async def end_account_memberships(
    engine: AsyncEngine, account_id: str, device_ids: list[str]
) -> list[tuple[str, str]]:
    """Remove signed-out devices from the account's sessions.

    They are marked removed, as if the owner had removed them, so the old
    join link does not let them back in. Signing in to the account again
    does (see `may_return`). Return the (session_id, device_id) pairs.
    """
    if not device_ids:
        return []
    owned = select(sessions.c.id).where(sessions.c.owner_account_id == account_id)
    condition = (
        memberships.c.device_id.in_(device_ids)
        & memberships.c.session_id.in_(owned)
        & memberships.c.removed_at.is_(None)
    )
    async with engine.begin() as connection:
        found = await connection.execute(
            select(memberships.c.session_id, memberships.c.device_id).where(condition)
        )
        pairs = [(row.session_id, row.device_id) for row in found]
        await connection.execute(
            update(memberships).where(condition).values(removed_at=utc_now())
        )
    return pairs


async def may_return(engine: AsyncEngine, session: Session, device_id: str) -> bool:
    """Tell whether a removed device is signed in to the session owner's account."""
    query = select(devices.c.account_id).where(devices.c.id == device_id)
    async with engine.connect() as connection:
        account_id = (await connection.execute(query)).scalar_one_or_none()
    return account_id is not None and account_id == session.owner_account_id
