"""Write claims: one server process at a time writes a given file.

Several processes share the data dir in production, and a client may send
chunks of one file to two of them at once. Before writing a byte, a process
records a claim on the file, fenced on the committed offset. After the
chunk's bytes are on disk, one UPDATE fenced on the same claim moves the
offset and drops the claim. A process that cannot claim answers `upload_busy` and writes
nothing, so a file never receives interleaved or duplicated bytes.

A claim whose holder died is taken over once it is CLAIM_STALE_S old. The
holder refreshes it on a timer while its chunk is received, however slowly
the bytes arrive, and stops writing once its last refresh is CLAIM_LEASE_S
old (server.claim_lease). Each process claims under one token, so its own
claim, left by a chunk that broke off, never blocks it.
"""

import secrets
from datetime import timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.schema import files
from server.tokens import utc_now

UPLOADING = "uploading"
# The holder refreshes its claim this often while its chunk is received.
CLAIM_REFRESH_S = 3.0
# The holder stops writing once its last successful refresh was sent this
# long ago: after a database outage or a stalled event loop it can no longer
# tell whether another process took the claim over. Four refreshes fit in
# it, so the chunk outlives a database hiccup of about 10 s.
CLAIM_LEASE_S = 15.0
# Another process takes over a claim not refreshed for this long, so the
# client of a crashed holder resumes within about this time. The 5 s beyond
# CLAIM_LEASE_S cover a group of buffers still being written when the lease
# ends (a few MiB) and a difference between the clocks of two hosts, since
# each process stamps claims with its own clock.
CLAIM_STALE_S = 20.0


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


async def refresh(engine: AsyncEngine, file_id: str, offset: int, token: str) -> bool:
    """Stamp a claim as fresh; False if it was taken over or its file changed.

    Fenced on the token, so a claim that another process took over is
    never refreshed back.
    """
    query = (
        update(files)
        .where(
            files.c.id == file_id,
            files.c.state == UPLOADING,
            files.c.committed_bytes == offset,
            files.c.write_claim == token,
        )
        .values(claimed_at=utc_now())
    )
    async with engine.begin() as connection:
        result = await connection.execute(query)
    return result.rowcount == 1


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
