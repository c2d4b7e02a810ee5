"""In-process scheduler: a timer per session deadline plus periodic sweeps.

The embedded server's stand-in for the arq worker. Timers make expiry
prompt; the sweeps of server.sweeps catch whatever a timer missed, such as
sessions that passed their deadline while the server was down.
"""

import asyncio
import logging
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from server import sessions, sweeps
from server.expiry import EXPIRED
from server.sweeping import SweepContext
from server.tokens import utc_now

log = logging.getLogger(__name__)


class Scheduler:
    """Runs expiry at each deadline and every sweep on an interval."""

    def __init__(self, context: SweepContext, sweep_interval_s: float) -> None:
        self._context = context
        self._sweep_interval_s = sweep_interval_s
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[object]] = set()
        self._sweeper: asyncio.Task[object] | None = None

    async def start(self) -> None:
        """Arm a timer for every live session and start the sweep loop."""
        assert self._sweeper is None
        for session_id, expires_at in await sessions.live_deadlines(
            self._context.engine
        ):
            await self.schedule(session_id, expires_at)
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def schedule(self, session_id: str, expires_at: datetime) -> None:
        """Arm (or re-arm) the timer that ends a session at its deadline."""
        await self.cancel(session_id)
        delay_s = max(0.0, (expires_at - utc_now()).total_seconds())
        loop = asyncio.get_running_loop()
        self._timers[session_id] = loop.call_later(delay_s, self._fire, session_id)

    async def cancel(self, session_id: str) -> None:
        """Disarm a session's timer, if it has one."""
        timer = self._timers.pop(session_id, None)
        if timer is not None:
            timer.cancel()

    def _fire(self, session_id: str) -> None:
        self._timers.pop(session_id, None)
        task = asyncio.create_task(self._expire(session_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire(self, session_id: str) -> None:
        try:
            await self._context.expiry.end_session(session_id, EXPIRED)
        except SQLAlchemyError:
            # The sweep retries: the session stays overdue in the database.
            log.warning("expiry failed, sweep will retry session=%s", session_id)

    async def _sweep_forever(self) -> None:
        while True:
            await sweeps.run_all(self._context)
            await asyncio.sleep(self._sweep_interval_s)

    async def close(self) -> None:
        """Cancel every timer and task, and wait for the tasks to finish."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        pending: list[asyncio.Task[object]] = list(self._tasks)
        if self._sweeper is not None:
            pending.append(self._sweeper)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
