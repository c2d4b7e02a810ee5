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

from aiohttp import web

log = logging.getLogger(__name__)


class Transfers:
    """Open HTTP transfers by session and device."""

    def __init__(self) -> None:
        self._open: defaultdict[tuple[str, str], set[asyncio.BaseTransport]] = (
            defaultdict(set)
        )

    @contextlib.contextmanager
    def track(
        self, session_id: str, device_id: str, request: web.Request
    ) -> Iterator[None]:
        """Register a request for the duration of the block."""
        key = (session_id, device_id)
        transport = request.transport
        if transport is None:  # the client has already gone
            yield
            return
        self._open[key].add(transport)
        try:
            yield
        finally:
            remaining = self._open.get(key)
            if remaining is not None:
                remaining.discard(transport)
                if not remaining:
                    del self._open[key]

    def cut(self, session_id: str, device_id: str) -> int:
        """Close the connection of every open transfer; return how many."""
        transports = self._open.pop((session_id, device_id), set())
        for transport in transports:
            transport.close()
        if transports:
            log.info(
                "transfers cut session=%s device=%s count=%d",
                session_id,
                device_id,
                len(transports),
            )
        return len(transports)
