"""The lease of a write claim, refreshed on a timer while its chunk is received.

A claim is all that keeps another process from writing the same file
(server.claims). Its holder refreshes it every CLAIM_REFRESH_S from a task
of its own, not as bytes arrive, so a chunk that trickles in from a slow
phone keeps its claim. The holder writes only while its lease runs, that is
until CLAIM_LEASE_S after it sent its last successful refresh. That ends
before any other process may take the claim over, CLAIM_STALE_S after the
time the refresh stamped. When a refresh finds the claim taken over, the
lease ends at once.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from server import claims

log = logging.getLogger(__name__)

T = TypeVar("T")


class ClaimLost(Exception):
    """A refresh found the claim taken over, or its file no longer at the offset."""


class LeaseExpired(Exception):
    """No refresh succeeded for CLAIM_LEASE_S, as during a database outage."""


class ClaimLease:
    """The lease of one chunk's claim, kept fresh by a task until the chunk ends.

    Create it just before making the claim: the lease counts from then,
    which is no later than the time the claim stamps.
    """

    def __init__(
        self, engine: AsyncEngine, file_id: str, offset: int, token: str
    ) -> None:
        self._engine = engine
        self._file_id = file_id
        self._offset = offset
        self._token = token
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + claims.CLAIM_LEASE_S
        self._lost = False
        self._ended = False
        self._refreshing = False
        # The timeout on the wait for the chunk's next bytes, if one runs.
        self._wait: asyncio.Timeout | None = None
        self._keeper: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "ClaimLease":
        self._keeper = asyncio.create_task(self._keep_fresh())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._keeper is not None
        self._ended = True
        # A refresh cancelled in flight may cost its pooled connection, so
        # one under way may finish, unless it takes longer than a refresh
        # interval, as when the database does not respond.
        if self._refreshing:
            await asyncio.wait([self._keeper], timeout=claims.CLAIM_REFRESH_S)
        self._keeper.cancel()
        await asyncio.wait([self._keeper])

    def check(self) -> None:
        """Raise ClaimLost or LeaseExpired unless the chunk may still write."""
        if self._lost or self._loop.time() >= self._deadline:
            raise self._end_error()

    async def guard(self, items: AsyncIterator[T]) -> AsyncGenerator[T, None]:
        """Yield `items`, checking the lease before each one.

        The wait for the next item stops as soon as the lease ends, so a
        chunk whose bytes trickle in fails at once instead of at its next
        group of buffers.
        """
        while True:
            try:
                item = await self._next_within_lease(items)
            except StopAsyncIteration:
                return
            self.check()
            yield item

    async def _next_within_lease(self, items: AsyncIterator[T]) -> T:
        wait = asyncio.timeout_at(self._deadline)
        try:
            async with wait:
                self._wait = wait
                return await anext(items)
        except TimeoutError:
            if wait.expired():
                raise self._end_error() from None
            raise
        finally:
            self._wait = None

    def _end_error(self) -> ClaimLost | LeaseExpired:
        if self._lost:
            return ClaimLost(
                f"The write claim on file {self._file_id} at offset "
                f"{self._offset} was taken over."
            )
        return LeaseExpired(
            f"The write claim on file {self._file_id} at offset {self._offset} "
            f"was not refreshed for {claims.CLAIM_LEASE_S:g} s."
        )

    async def _keep_fresh(self) -> None:
        while not (self._lost or self._ended):
            await asyncio.sleep(claims.CLAIM_REFRESH_S)
            self._refreshing = True
            # Taken before the refresh stamps the claim, so the lease ends at
            # least CLAIM_STALE_S - CLAIM_LEASE_S before the claim can go stale.
            sent_at = self._loop.time()
            try:
                refreshed = await claims.refresh(
                    self._engine, self._file_id, self._offset, self._token
                )
            except (SQLAlchemyError, OSError) as error:
                self._refreshing = False
                log.warning(
                    "write claim not refreshed, will retry file=%s offset=%d error=%s",
                    self._file_id,
                    self._offset,
                    error,
                )
                continue
            self._refreshing = False
            if refreshed:
                self._move_deadline(sent_at + claims.CLAIM_LEASE_S)
            else:
                log.warning(
                    "write claim lost, chunk stopped file=%s offset=%d",
                    self._file_id,
                    self._offset,
                )
                self._lost = True
                self._move_deadline(self._loop.time())

    def _move_deadline(self, deadline: float) -> None:
        self._deadline = deadline
        # A timeout that already fired is ending the wait; it must not be
        # moved, and asyncio raises RuntimeError if it is.
        if self._wait is not None and not self._wait.expired():
            self._wait.reschedule(deadline)
