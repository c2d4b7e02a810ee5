"""Sessions and their memberships: create, list, join, check access, end."""

import dataclasses
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.accounts import Account
from server.errors import (
    InvalidLifetime,
    InvalidTitle,
    NotFound,
    NotMember,
    SessionEnded,
    SessionLimit,
)
from server.files import VISIBLE_STATES
from server.names import unsafe_character
from server.plans import Plan
from server.schema import accounts, files, memberships, sessions
from server.tokens import epoch_ms, new_id, utc_now

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200
_JOIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Session:
    """A session record."""

    id: str
    owner_account_id: str
    title: str
    join_token: str
    capacity_bytes: int
    reserved_bytes: int
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None

    def is_live(self, now: datetime) -> bool:
        return self.ended_at is None and now < self.expires_at

    def public(self, public_origin: str, viewer: Account | None) -> dict[str, Any]:
        """Return the session as a viewer sees it."""
        owner = viewer is not None and viewer.id == self.owner_account_id
        return {
            "id": self.id,
            "title": self.title,
            "join_url": f"{public_origin}/s/{self.join_token}",
            "owner": owner,
            "capacity_bytes": self.capacity_bytes,
            "used_bytes": self.reserved_bytes,
            "created_at": epoch_ms(self.created_at),
            "expires_at": epoch_ms(self.expires_at),
            "server_now": epoch_ms(utc_now()),
        }


def _from_row(row: Any) -> Session:
    return Session(
        id=row.id,
        owner_account_id=row.owner_account_id,
        title=row.title,
        join_token=row.join_token,
        capacity_bytes=row.capacity_bytes,
        reserved_bytes=row.reserved_bytes,
        created_at=row.created_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
    )


def validate_title(raw: object) -> str:
    """Return a clean session title, or raise InvalidTitle."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise InvalidTitle(f"Title {raw!r} is not text; send the title as a string.")
    title = unicodedata.normalize("NFC", raw).strip()
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidTitle(
            f"Title is {len(title)} characters long; "
            f"shorten it to at most {MAX_TITLE_CHARS}."
        )
    found = unsafe_character(title)
    if found is not None:
        raise InvalidTitle(
            f"Title contains the control or invisible character "
            f"U+{ord(found[1]):04X} at position {found[0]}; remove it."
        )
    return title


def _require_whole_seconds(raw: object, plan: Plan) -> None:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise InvalidLifetime(
            f"Lifetime {raw!r} is not a whole number of seconds; send an "
            "integer such as 3600.",
            max_lifetime_s=plan.max_lifetime_s,
        )


def validate_lifetime(raw: object, plan: Plan) -> int:
    """Return a lifetime in seconds within the plan, or raise InvalidLifetime."""
    if raw is None:
        return plan.max_lifetime_s
    _require_whole_seconds(raw, plan)
    if (
        isinstance(raw, int)
        and not isinstance(raw, bool)
        and plan.min_lifetime_s <= raw <= plan.max_lifetime_s
    ):
        return raw
    raise InvalidLifetime(
        f"Lifetime {raw!r} s is outside {plan.min_lifetime_s} to "
        f"{plan.max_lifetime_s} s allowed by the {plan.name} plan; pick one "
        "in that range.",
        max_lifetime_s=plan.max_lifetime_s,
    )


def cap_at_account_expiry(lifetime_s: int, account_expires_at: datetime | None) -> int:
    """Shorten a new session's lifetime so that it ends with a guest account.

    The account's expiry deletes its sessions, so a later deadline would
    show time the session does not have. The result may be shorter than the
    plan's minimum when the account is about to expire.
    """
    if account_expires_at is None:
        return lifetime_s
    remaining_s = int((account_expires_at - utc_now()).total_seconds())
    return max(1, min(lifetime_s, remaining_s))


def validate_extension(raw: object, session: Session, plan: Plan) -> datetime:
    """Return the deadline a requested lifetime gives, or raise InvalidLifetime.

    The lifetime counts from the session's creation. It may reach the plan's
    maximum but not pass it, and it may not move the deadline earlier.
    """
    _require_whole_seconds(raw, plan)
    current_s = int((session.expires_at - session.created_at).total_seconds())
    if current_s >= plan.max_lifetime_s:
        raise InvalidLifetime(
            f"The session already has the {plan.name} plan's longest lifetime, "
            f"{plan.max_lifetime_s} s counted from its creation; it cannot be "
            "extended.",
            max_lifetime_s=plan.max_lifetime_s,
        )
    if (
        isinstance(raw, int)
        and not isinstance(raw, bool)
        and current_s <= raw <= plan.max_lifetime_s
    ):
        return session.created_at + timedelta(seconds=raw)
    raise InvalidLifetime(
        f"Lifetime {raw!r} s is outside {current_s} to {plan.max_lifetime_s} s: "
        f"a session can only be extended, up to the {plan.name} plan's maximum "
        "counted from its creation.",
        max_lifetime_s=plan.max_lifetime_s,
    )


async def set_deadline(
    engine: AsyncEngine, session: Session, expires_at: datetime
) -> Session:
    """Move a live session's deadline, or raise SessionEnded."""
    query = (
        update(sessions)
        .where(
            sessions.c.id == session.id,
            sessions.c.ended_at.is_(None),
            sessions.c.expires_at > utc_now(),
        )
        .values(expires_at=expires_at)
    )
    async with engine.begin() as connection:
        result = await connection.execute(query)
    if result.rowcount != 1:
        raise SessionEnded(
            f"Session {session.title or session.id!r} ended before it could be "
            "extended; start a new session."
        )
    log.info("session extended session=%s", session.id)
    return dataclasses.replace(session, expires_at=expires_at)


async def create_session(
    engine: AsyncEngine,
    owner: Account,
    owner_device_id: str,
    plan: Plan,
    title: str,
    lifetime_s: int,
) -> Session:
    """Create a session within the plan's limits and add the owner's device."""
    now = utc_now()
    session = Session(
        id=new_id(),
        owner_account_id=owner.id,
        title=title,
        join_token=secrets.token_urlsafe(24),
        capacity_bytes=plan.capacity_bytes,
        reserved_bytes=0,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime_s),
        ended_at=None,
    )
    async with engine.begin() as connection:
        await _lock_account(connection, owner.id, now)
        live = await _count_live(connection, owner.id, now)
        if live >= plan.max_sessions:
            raise SessionLimit(
                f"The {plan.name} plan allows {plan.max_sessions} live sessions "
                "and all are in use; delete one or wait for one to end.",
                max_sessions=plan.max_sessions,
            )
        await connection.execute(insert(sessions).values(_row_values(session)))
        await _insert_membership(connection, session.id, owner_device_id, now)
    log.info("session created session=%s account=%s", session.id, owner.id)
    return session


async def _lock_account(
    connection: AsyncConnection, account_id: str, now: datetime
) -> None:
    # Writing the account row first takes SQLite's write lock and
    # PostgreSQL's row lock, so two concurrent creates cannot both pass the
    # live-session count below.
    await connection.execute(
        update(accounts).where(accounts.c.id == account_id).values(updated_at=now)
    )


async def _count_live(
    connection: AsyncConnection, account_id: str, now: datetime
) -> int:
    query = select(func.count()).where(
        sessions.c.owner_account_id == account_id,
        sessions.c.ended_at.is_(None),
        sessions.c.expires_at > now,
    )
    return int((await connection.execute(query)).scalar_one())


def _row_values(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "owner_account_id": session.owner_account_id,
        "title": session.title,
        "join_token": session.join_token,
        "capacity_bytes": session.capacity_bytes,
        "reserved_bytes": session.reserved_bytes,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "ended_at": None,
        "end_reason": None,
    }


async def _insert_membership(
    connection: AsyncConnection, session_id: str, device_id: str, now: datetime
) -> None:
    values = {
        "session_id": session_id,
        "device_id": device_id,
        "joined_at": now,
        "removed_at": None,
    }
    await connection.execute(insert(memberships).values(values))


async def get_session(engine: AsyncEngine, session_id: object) -> Session | None:
    """Return a session by id, ended or not, or None."""
    if not isinstance(session_id, str):
        return None
    query = select(sessions).where(sessions.c.id == session_id)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return None if row is None else _from_row(row)


async def find_by_join_token(engine: AsyncEngine, join_token: object) -> Session:
    """Return the session a join link names, or raise NotFound."""
    if not isinstance(join_token, str) or not _JOIN_TOKEN.fullmatch(join_token):
        raise NotFound("The join link is incomplete or mistyped; open the full link.")
    query = select(sessions).where(sessions.c.join_token == join_token)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    if row is None:
        raise NotFound("No session has this join link; ask for a new link or QR code.")
    return _from_row(row)


async def list_live_sessions(engine: AsyncEngine, account_id: str) -> list[Session]:
    """Return an account's live sessions, soonest deadline first."""
    query = (
        select(sessions)
        .where(
            sessions.c.owner_account_id == account_id,
            sessions.c.ended_at.is_(None),
            sessions.c.expires_at > utc_now(),
        )
        .order_by(sessions.c.expires_at)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [_from_row(row) for row in rows]


def require_live(session: Session) -> None:
    """Raise SessionEnded unless the session is live right now."""
    if not session.is_live(utc_now()):
        raise SessionEnded(
            f"Session {session.title or session.id!r} has ended and its files "
            "are deleted; start a new session."
        )


async def join(engine: AsyncEngine, session: Session, device_id: str) -> None:
    """Add a device to a live session; joining twice is harmless."""
    require_live(session)
    if await is_member(engine, session.id, device_id):
        return
    try:
        async with engine.begin() as connection:
            await _insert_membership(connection, session.id, device_id, utc_now())
    except IntegrityError:
        pass  # the same device joined from another tab at the same moment
    log.info("device joined session=%s device=%s", session.id, device_id)


async def is_member(engine: AsyncEngine, session_id: str, device_id: str) -> bool:
    """Tell whether a device belongs to a session."""
    query = select(memberships.c.device_id).where(
        memberships.c.session_id == session_id,
        memberships.c.device_id == device_id,
        memberships.c.removed_at.is_(None),
    )
    async with engine.connect() as connection:
        return (await connection.execute(query)).first() is not None


async def member_session(
    engine: AsyncEngine, session_id: object, device_id: str
) -> Session:
    """Return a live session the device belongs to, or raise why not."""
    if not isinstance(session_id, str):
        raise NotFound(f"Session {session_id!r} does not exist; check the link.")
    membership = and_(
        memberships.c.session_id == sessions.c.id,
        memberships.c.device_id == device_id,
        memberships.c.removed_at.is_(None),
    )
    query = (
        select(sessions, memberships.c.device_id.label("member_device_id"))
        .outerjoin(memberships, membership)
        .where(sessions.c.id == session_id)
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    if row is None:
        raise NotFound(f"Session {session_id!r} does not exist; check the link.")
    session = _from_row(row)
    require_live(session)
    if row.member_device_id is None:
        raise NotMember(
            "This device has not joined the session; open its join link first."
        )
    return session


async def mark_ended(
    engine: AsyncEngine, session_id: str, reason: str, *, only_if_due: bool
) -> bool:
    """Record that a session ended; return False if it already had.

    With only_if_due the session ends only once its deadline has passed, so
    a timer that fires after an extension does nothing.
    """
    now = utc_now()
    condition = and_(sessions.c.id == session_id, sessions.c.ended_at.is_(None))
    if only_if_due:
        condition = and_(condition, sessions.c.expires_at <= now)
    query = update(sessions).where(condition).values(ended_at=now, end_reason=reason)
    async with engine.begin() as connection:
        result = await connection.execute(query)
    return result.rowcount == 1


async def overdue_session_ids(engine: AsyncEngine) -> list[str]:
    """Return ids of sessions past their deadline that have not ended."""
    query = select(sessions.c.id).where(
        sessions.c.ended_at.is_(None), sessions.c.expires_at <= utc_now()
    )
    async with engine.connect() as connection:
        return list((await connection.execute(query)).scalars())


async def live_deadlines(engine: AsyncEngine) -> list[tuple[str, datetime]]:
    """Return (id, expires_at) of every session that has not ended."""
    query = select(sessions.c.id, sessions.c.expires_at).where(
        sessions.c.ended_at.is_(None)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [(row.id, row.expires_at) for row in rows]


async def ended_states(engine: AsyncEngine, session_ids: list[str]) -> dict[str, bool]:
    """Return, for each session with a record, whether it has ended."""
    if not session_ids:
        return {}
    query = select(sessions.c.id, sessions.c.ended_at).where(
        sessions.c.id.in_(session_ids)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return {row.id: row.ended_at is not None for row in rows}


async def ended_with_files(engine: AsyncEngine) -> list[tuple[str, str]]:
    """Return (id, end reason) of ended sessions that still list files.

    Ending is several steps; a process killed between them leaves such a
    session, and the next sweep finishes its work.
    """
    query = (
        select(sessions.c.id, sessions.c.end_reason)
        .where(
            sessions.c.ended_at.is_not(None),
            exists().where(
                files.c.session_id == sessions.c.id,
                files.c.state.in_(VISIBLE_STATES),
            ),
        )
        .order_by(sessions.c.ended_at)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [(row.id, row.end_reason or "expired") for row in rows]
