"""Names shared by the web process, which enqueues jobs, and the worker.

Jobs travel through Redis as JSON, never pickle, so a process that can write
to Redis still cannot make a worker run code of its choosing.
"""

import json
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool

from server.settings import Settings

EXPIRE_SESSION = "expire_session"
SWEEP = "sweep"


def queue_name(settings: Settings) -> str:
    """Return the arq queue of this deployment, under its Redis prefix."""
    return f"{settings.redis_prefix}:queue"


def expire_job_id(settings: Settings, session_id: str) -> str:
    """Return the id of a session's deadline job; one per session at a time."""
    return f"{settings.redis_prefix}:expire:{session_id}"


def socketio_channel(settings: Settings) -> str:
    """Return the pub/sub channel of the Socket.IO bus."""
    return f"{settings.redis_prefix}:socketio"


def serialize(job: dict[str, Any]) -> bytes:
    return json.dumps(job).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    job: dict[str, Any] = json.loads(raw)
    return job


def redis_settings(settings: Settings) -> RedisSettings:
    """Return arq's connection settings for DROPSPACE_REDIS_URL."""
    return RedisSettings.from_dsn(settings.redis_url)


async def connect(settings: Settings) -> ArqRedis:
    """Open the Redis client that enqueues jobs and counts rate limits."""
    return await create_pool(
        redis_settings(settings),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue_name(settings),
    )
