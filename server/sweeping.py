"""The context every sweep receives, in the web process and the worker alike."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from server.expiry import Broadcast, Expiry
from server.settings import Settings
from server.storage import Storage


@dataclass(frozen=True)
class SweepContext:
    """The resources a sweep works with."""

    settings: Settings
    engine: AsyncEngine
    storage: Storage
    expiry: Expiry
    broadcast: Broadcast


# A sweep does one pass of its work and returns how many things it handled.
# It must be idempotent: a pass cut short by a crash is finished by the next.
Sweep = Callable[[SweepContext], Awaitable[int]]
