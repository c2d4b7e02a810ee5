"""HTTP downloads and chunk uploads in flight, so that removal can cut them.

Membership is checked when a request starts; a download of a large file
or a long chunk PUT would outlive a removal without this registry. Each
process keeps a registry of its own, and a removal reaches every process
through server.bus.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger(__name__)


class Transfers:
    """Open HTTP transfers by session and device."""

    def __init__(self) -> None:
        self._open: defaultdict[tuple[str, str], set[_Transfer]] = defaultdict(set)

    @contextlib.contextmanager
    def track(
        self,
        session_id: str,
        device_id: str,
        request: web.Request,
        *,
        cancel_handler: bool = False,
    ) -> Iterator[None]:
        """Register a request for the duration of the block.

        With `cancel_handler`, a cut cancels the task running the block
        before it closes the connection. A download needs this: closing a
        transport while the kernel's sendfile runs on it makes asyncio log
        InvalidStateError, whereas a cancelled sendfile hands the transport
        back first.
        """
        key = (session_id, device_id)
        transport = request.transport
        if transport is None:  # the client has already gone
            yield
            return
        task = asyncio.current_task() if cancel_handler else None
        transfer = _Transfer(transport, task)
        self._open[key].add(transfer)
        try:
            yield
        finally:
            remaining = self._open.get(key)
            if remaining is not None:
                remaining.discard(transfer)
                if not remaining:
                    del self._open[key]

    def cut(self, session_id: str, device_id: str) -> int:
        """Close the connection of every open transfer; return how many."""
        transfers = self._open.pop((session_id, device_id), set())
        for transfer in transfers:
            if transfer.task is not None:
                transfer.task.cancel()
            # abort, not close: bytes still buffered for a removed device
            # must not go out.
            transfer.transport.abort()
        if transfers:
            log.info(
                "transfers cut session=%s device=%s count=%d",
                session_id,
                device_id,
                len(transfers),
            )
        return len(transfers)


@dataclass(frozen=True, eq=False)
class _Transfer:
    transport: asyncio.Transport
    task: "asyncio.Task[object] | None"
