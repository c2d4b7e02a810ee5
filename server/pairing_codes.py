"""Pairing offers: the short code and the link token on a device's lobby.

An offer lives at most `MAX_TTL_S` seconds and is used up by the first pull
that names it, by code or by link token. Codes come from `secrets`, are
unique among the offers in the table (dead offers holding a code are
deleted before it is reused), and are stored as digits only.
See docs/security.md for the code length and the guessing limits.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.errors import BadRequest, CodeRejected
from server.schema import pairing_offers
from server.settings import MAX_PAIRING_CODE_TTL_S
from server.tokens import epoch_ms, new_id, new_secret, utc_now

CODE_DIGITS = 11
MAX_TTL_S = MAX_PAIRING_CODE_TTL_S
# A lobby requests a fresh offer this long before its current one expires,
# so that a person typing the old code still has time to finish. Short
# lifetimes, as in tests, rotate after two thirds of their time instead.
ROTATE_BEFORE_S = 30
_ISSUE_ATTEMPTS = 5
_SEPARATORS = str.maketrans("", "", " -")
_CODE_PATTERN = re.compile(rf"[0-9]{{{CODE_DIGITS}}}")
_LINK_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
REJECTED_MESSAGE = (
    "This code is wrong, expired or already used; type the code the other "
    "device shows now."
)


@dataclass(frozen=True)
class Offer:
    """A live offer of one device."""

    id: str
    device_id: str
    code: str
    link_token: str
    created_at: datetime
    expires_at: datetime

    @property
    def rotate_at(self) -> datetime:
        """Return when the lobby should request a new offer in place of this one."""
        lifetime = self.expires_at - self.created_at
        return self.expires_at - min(timedelta(seconds=ROTATE_BEFORE_S), lifetime / 3)

    def public(self, public_origin: str) -> dict[str, Any]:
        """Return the offer as sent to the device's own lobby."""
        return {
            "offer_id": self.id,
            "code": self.code,
            "code_display": display_code(self.code),
            "link_url": f"{public_origin}/p/{self.link_token}",
            "expires_at": epoch_ms(self.expires_at),
            "rotate_at": epoch_ms(self.rotate_at),
            "server_now": epoch_ms(utc_now()),
        }


def display_code(code: str) -> str:
    """Group a code as 3-4-4 digits, the way phone numbers are read."""
    return f"{code[:3]} {code[3:7]} {code[7:]}"


def normalize_code(raw: object) -> str:
    """Return a typed code without spaces and dashes, or raise BadRequest."""
    if not isinstance(raw, str):
        raise BadRequest(
            f"The code must be text; got {raw!r}. {_TYPE_THE_CODE}",
            code_digits=CODE_DIGITS,
        )
    code = raw.translate(_SEPARATORS)
    if not _CODE_PATTERN.fullmatch(code):
        raise BadRequest(
            f"Code {raw[:40]!r} is not {CODE_DIGITS} digits 0-9. {_TYPE_THE_CODE}",
            code_digits=CODE_DIGITS,
        )
    return code


_TYPE_THE_CODE = (
    f"Type the {CODE_DIGITS} digits 0-9 shown on the other device; spaces and "
    "dashes between them are fine."
)


def new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def _from_row(row: Any) -> Offer:
    return Offer(
        id=row.id,
        device_id=row.device_id,
        code=row.code,
        link_token=row.link_token,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def _dead(now: datetime) -> Any:
    return or_(
        pairing_offers.c.expires_at <= now, pairing_offers.c.used_at.is_not(None)
    )


async def current_offer(engine: AsyncEngine, device_id: str) -> Offer | None:
    """Return the device's newest live offer, or None."""
    now = utc_now()
    query = (
        select(pairing_offers)
        .where(
            pairing_offers.c.device_id == device_id,
            pairing_offers.c.used_at.is_(None),
            pairing_offers.c.expires_at > now,
        )
        .order_by(pairing_offers.c.expires_at.desc())
        .limit(1)
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    return None if row is None else _from_row(row)


def needs_rotation(offer: Offer | None, now: datetime) -> bool:
    """Tell whether a lobby should get a new offer in place of this one."""
    return offer is None or offer.rotate_at <= now


async def issue_offer(engine: AsyncEngine, device_id: str, ttl_s: int) -> Offer:
    """Create a new offer for a device with a code no live offer holds."""
    for _ in range(_ISSUE_ATTEMPTS):
        now = utc_now()
        offer = Offer(
            id=new_id(),
            device_id=device_id,
            code=new_code(),
            link_token=new_secret(),
            created_at=now,
            expires_at=now + timedelta(seconds=min(ttl_s, MAX_TTL_S)),
        )
        try:
            async with engine.begin() as connection:
                await _insert(connection, offer, now)
        except IntegrityError:
            continue  # a live offer already has this code, so draw another
        return offer
    raise RuntimeError(f"no free pairing code after {_ISSUE_ATTEMPTS} draws")


async def _insert(connection: AsyncConnection, offer: Offer, now: datetime) -> None:
    stale = or_(
        pairing_offers.c.code == offer.code,
        pairing_offers.c.device_id == offer.device_id,
    )
    await connection.execute(delete(pairing_offers).where(and_(stale, _dead(now))))
    await connection.execute(
        pairing_offers.insert().values(
            id=offer.id,
            device_id=offer.device_id,
            code=offer.code,
            link_token=offer.link_token,
            created_at=offer.created_at,
            expires_at=offer.expires_at,
            used_at=None,
        )
    )


async def use_code(engine: AsyncEngine, code: str) -> Offer:
    """Use up the live offer with this code, or raise CodeRejected.

    Every other live offer of the same device is used up with it; see `_use`.
    """
    return await _use(engine, pairing_offers.c.code, code)


async def use_link_token(engine: AsyncEngine, link_token: object) -> Offer:
    """Use up the live offer with this link token, or raise CodeRejected."""
    if not isinstance(link_token, str) or not _LINK_TOKEN_PATTERN.fullmatch(link_token):
        raise CodeRejected(_LINK_REJECTED)
    return await _use(engine, pairing_offers.c.link_token, link_token, _LINK_REJECTED)


async def peek_link_token(engine: AsyncEngine, link_token: object) -> Offer:
    """Return the live offer with this link token without using it up."""
    if not isinstance(link_token, str) or not _LINK_TOKEN_PATTERN.fullmatch(link_token):
        raise CodeRejected(_LINK_REJECTED)
    now = utc_now()
    query = select(pairing_offers).where(
        pairing_offers.c.link_token == link_token, _live(now)
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    if row is None:
        raise CodeRejected(_LINK_REJECTED)
    return _from_row(row)


_LINK_REJECTED = (
    "This device link is expired or already used; scan the QR code the other "
    "device shows now."
)


def _live(now: datetime) -> Any:
    return and_(pairing_offers.c.used_at.is_(None), pairing_offers.c.expires_at > now)


async def _use(
    engine: AsyncEngine, column: Any, value: str, message: str = REJECTED_MESSAGE
) -> Offer:
    """Use up the device's live offers if one of them has `column == value`.

    During a rotation a device has two live codes. A pull by either must use
    up both, or a second owner could pull the device into another session.
    One UPDATE does it, so of two pulls racing for the same device's offers
    only one finds its own offer among the rows it changed.
    """
    now = utc_now()
    device = (
        select(pairing_offers.c.device_id)
        .where(column == value, _live(now))
        .scalar_subquery()
    )
    statement = (
        update(pairing_offers)
        .where(pairing_offers.c.device_id == device, _live(now))
        .values(used_at=now)
        .returning(*pairing_offers.c)
    )
    async with engine.begin() as connection:
        rows = (await connection.execute(statement)).all()
    for row in rows:
        if getattr(row, column.name) == value:
            return _from_row(row)
    # An empty result, or one without the named offer, which a racing pull
    # used up first.
    raise CodeRejected(message)


async def delete_dead_offers(engine: AsyncEngine) -> int:
    """Delete expired and used offers; return how many were deleted."""
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(pairing_offers).where(_dead(utc_now()))
        )
    return int(result.rowcount)
