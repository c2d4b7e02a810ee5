"""The arq worker process: deadline jobs and the periodic sweeps.

`dropspace worker` runs it. The jobs are thin wrappers: the work itself is
in server.expiry and server.sweeps, which the embedded server runs too. The
worker reaches the devices of a session through a write-only Socket.IO
Redis manager, which publishes on the bus the web processes listen to.
"""

import logging
import time
from typing import Any

import socketio
from arq import cron, func
from arq.worker import Worker
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from server import bus, events, jobs, sweeps
from server.db import create_engine
from server.expiry import EXPIRED, Expiry
from server.settings import Settings
from server.shared_presence import SharedPresence
from server.storage import Storage
from server.storage_start import settle_marker
from server.sweeping import SweepContext

log = logging.getLogger(__name__)

# Seconds between attempts to start again after Redis went away.
RESTART_DELAY_S = 2.0

# Generous: a sweep of a large data dir must not be cut short, though a
# pass that is cut short is finished by the next one.
SWEEP_TIMEOUT_S = 3600


async def expire_session(ctx: dict[str, Any], session_id: str) -> bool:
    """End a session if its deadline has passed; a second run does nothing."""
    context: SweepContext = ctx["sweep_context"]
    return await context.expiry.end_session(session_id, EXPIRED)


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Run every registered sweep once."""
    context: SweepContext = ctx["sweep_context"]
    return await sweeps.run_all(context)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    manager = socketio.AsyncRedisManager(
        settings.redis_url, channel=jobs.socketio_channel(settings), write_only=True
    )
    redis = Redis.from_url(settings.redis_url)

    async def broadcast(event: str, session_id: str, payload: dict[str, Any]) -> None:
        body = {"session_id": session_id, **payload}
        await manager.emit(event, body, room=events.session_room(session_id))

    async def on_ended(session_id: str) -> None:
        await manager.close_room(events.session_room(session_id), namespace="/")
        # The web processes free their memory of the session's uploads.
        await bus.publish(
            redis,
            bus.channel_name(settings.redis_prefix),
            bus.SESSION_ENDED,
            session_id=session_id,
        )
        await SharedPresence(redis, settings.redis_prefix).forget_shared(session_id)

    engine = create_engine(settings)
    storage = Storage(settings.files_dir)
    try:
        await settle_marker(storage, engine)
    except (SQLAlchemyError, OSError) as error:
        # The sweeps skip while the marker is missing, and the web processes
        # check it again at their start.
        log.warning("storage marker check failed at start: %s", error)
    expiry = Expiry(engine, storage, broadcast, on_ended)
    ctx["manager"] = manager
    ctx["bus_redis"] = redis
    ctx["sweep_context"] = SweepContext(settings, engine, storage, expiry, broadcast)
    log.info("worker started queue=%s", jobs.queue_name(settings))


async def shutdown(ctx: dict[str, Any]) -> None:
    context: SweepContext | None = ctx.get("sweep_context")
    if context is not None:
        await context.engine.dispose()
    manager = ctx.get("manager")
    if manager is not None and manager.redis is not None:
        await manager.redis.aclose()
    redis = ctx.get("bus_redis")
    if redis is not None:
        await redis.aclose()
    log.info("worker stopped")


def sweep_seconds(interval_s: float) -> int | set[int]:
    """Return the seconds of each minute at which the cron sweep runs.

    Once a minute by default; shorter intervals, for tests, divide a minute.
    """
    if interval_s >= 60:
        return 0
    step = max(1, int(interval_s))
    return set(range(0, 60, step))


def create_worker(settings: Settings) -> Worker:
    """Build the arq worker for these settings; it connects when it runs."""
    return Worker(
        functions=[func(expire_session, name=jobs.EXPIRE_SESSION)],
        cron_jobs=[
            cron(
                sweep,
                # Named per prefix: arq keeps one cron job id per name and
                # tick, so two deployments on one Redis must not share it.
                name=f"{settings.redis_prefix}:{jobs.SWEEP}",
                second=sweep_seconds(settings.sweep_interval_s),
                run_at_startup=True,
                timeout=SWEEP_TIMEOUT_S,
            )
        ],
        redis_settings=jobs.redis_settings(settings),
        queue_name=jobs.queue_name(settings),
        job_serializer=jobs.serialize,
        job_deserializer=jobs.deserialize,
        on_startup=startup,
        on_shutdown=shutdown,
        ctx={"settings": settings},
        keep_result=0,
        # A job cut off by a crash runs again; every job is idempotent.
        max_tries=3,
    )


def run(settings: Settings) -> int:
    """Run the worker until SIGINT or SIGTERM; return the exit status.

    arq's polling loop ends with an error when Redis goes away, and with
    Redis configured nothing else expires sessions, so the worker starts
    again once Redis answers instead of exiting.
    """
    while True:
        worker = create_worker(settings)
        try:
            worker.run()
        except (RedisError, OSError) as error:
            if worker.main_task is not None and worker.main_task.cancelled():
                # A signal stopped it, and closing then found Redis gone.
                return 0
            log.warning(
                "worker lost Redis, starting again in %g s: %s", RESTART_DELAY_S, error
            )
            time.sleep(RESTART_DELAY_S)
            continue
        return 0
