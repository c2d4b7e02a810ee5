"""Write claims: one server process at a time writes a given file.

Several processes share the data dir in production, and a client may send
chunks of one file to two of them at once. Before writing a byte, a process
records a claim on the file, fenced on the committed offset. After the
chunk's bytes are on disk, one UPDATE fenced on the same claim moves the
offset and drops the claim. A process that cannot claim answers `upload_busy` and writes
nothing, so a file never receives interleaved or duplicated bytes.

A claim whose holder died is taken over once it is CLAIM_STALE_S old; the
holder refreshes it while its chunk keeps arriving. Each process claims
under one token, so its own claim, left by a chunk that broke off, never
blocks it.
"""

import secrets
from datetime import timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.schema import files
from server.tokens import utc_now

UPLOADING = "uploading"
CLAIM_STALE_S = 90.0
CLAIM_REFRESH_S = 15.0


def new_claim() -> str:
    return secrets.token_hex(16)


async def claim(engine: AsyncEngine, file_id: str, offset: int, token: str) -> bool:
    """Claim a file for a chunk at its committed offset; False if not free."""
    now = utc_now()
    stale_before = now - timedelta(seconds=CLAIM_STALE_S)
    query = (
        update(files)
        .where(
            files.c.id == file_id,
            files.c.state == UPLOADING,
            files.c.committed_bytes == offset,
            or_(
                files.c.write_claim.is_(None),
                files.c.write_claim == token,
                files.c.claimed_at < stale_before,
            ),
        )
        .values(write_claim=token, claimed_at=now)
    )
    async with engine.begin() as connection:
        result = await connection.execute(query)
    return result.rowcount == 1


async def refresh(engine: AsyncEngine, file_id: str, token: str) -> None:
    """Keep a claim fresh while its chunk is still arriving."""
    query = (
        update(files)
        .where(files.c.id == file_id, files.c.write_claim == token)
        .values(claimed_at=utc_now())
    )
    async with engine.begin() as connection:
        await connection.execute(query)


async def commit(
    engine: AsyncEngine, file_id: str, token: str, start: int, end: int
) -> bool:
    """Move the committed offset and drop the claim; False if it was lost."""
    query = (
        update(files)
        .where(
            and_(
                files.c.id == file_id,
                files.c.state == UPLOADING,
                files.c.write_claim == token,
                files.c.committed_bytes == start,
            )
        )
        .values(
            committed_bytes=end,
            write_claim=None,
            claimed_at=None,
            updated_at=utc_now(),
        )
    )
    async with engine.begin() as connection:
        result = await connection.execute(query)
    return result.rowcount == 1


async def release(engine: AsyncEngine, file_id: str, token: str) -> None:
    """Drop a claim without moving the offset, after a chunk failed."""
    query = (
        update(files)
        .where(files.c.id == file_id, files.c.write_claim == token)
        .values(write_claim=None, claimed_at=None)
    )
    async with engine.begin() as connection:
        await connection.execute(query)
