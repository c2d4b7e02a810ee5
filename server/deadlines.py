"""Session deadlines, armed as in-process timers or as arq worker jobs.

The embedded server arms a timer per session (server.scheduler). With Redis
configured, the web process instead enqueues one deferred arq job per
session and arms no timers: any worker runs it, so a deadline is met even
when the process that created the session is gone. Either way the periodic
sweep is the backstop, since the database is the source of truth.
"""

import logging
from datetime import datetime
from typing import Protocol

from arq.connections import ArqRedis
from arq.constants import job_key_prefix
from redis.exceptions import RedisError

from server import jobs
from server.settings import Settings

log = logging.getLogger(__name__)


class Deadlines(Protocol):
    """Arms and disarms the expiry of sessions at their deadlines."""

    async def schedule(self, session_id: str, expires_at: datetime) -> None:
        """Arm, or re-arm after the deadline moved, a session's expiry."""

    async def cancel(self, session_id: str) -> None:
        """Disarm a session's expiry, for example after it was deleted."""


class QueuedDeadlines:
    """Deadline jobs in the arq queue, one per session under a fixed id."""

    def __init__(self, redis: ArqRedis, settings: Settings) -> None:
        self._redis = redis
        self._settings = settings

    async def schedule(self, session_id: str, expires_at: datetime) -> None:
        # arq rejects a job whose id exists, so the old job goes first. A
        # worker running the old job right now finds the session not yet due
        # and leaves it. The sweep then covers the new deadline.
        try:
            await self._remove(session_id)
            await self._redis.enqueue_job(
                jobs.EXPIRE_SESSION,
                session_id,
                _job_id=jobs.expire_job_id(self._settings, session_id),
                _defer_until=expires_at,
            )
        except RedisError as error:
            log.warning(
                "deadline job not queued, sweep will end it session=%s: %s",
                session_id,
                error,
            )

    async def cancel(self, session_id: str) -> None:
        try:
            await self._remove(session_id)
        except RedisError as error:
            # A job left behind finds the session ended and does nothing.
            log.warning("deadline job not removed session=%s: %s", session_id, error)

    async def _remove(self, session_id: str) -> None:
        job_id = jobs.expire_job_id(self._settings, session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(job_key_prefix + job_id)
            pipe.zrem(jobs.queue_name(self._settings), job_id)
            await pipe.execute()
