"""Plans: how many live sessions an account may own, and their size and time.

The `plans` table contains every plan. The guest plan's row is rewritten from
the `DROPSPACE_GUEST_*` settings at each start, so those settings stay the
one place to change it.
"""

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import NotFound
from server.schema import plans
from server.settings import Settings

GUEST = "guest"
FREE = "free"
PRO = "pro"


@dataclass(frozen=True)
class Plan:
    """Limits an account's plan sets."""

    name: str
    max_sessions: int
    capacity_bytes: int
    max_lifetime_s: int
    min_lifetime_s: int

    def public(self) -> dict[str, Any]:
        """Return the plan as clients see it."""
        return asdict(self)


def _from_row(row: Any, settings: Settings) -> Plan:
    return Plan(
        name=row.name,
        max_sessions=row.max_sessions,
        capacity_bytes=row.capacity_bytes,
        max_lifetime_s=row.max_lifetime_s,
        min_lifetime_s=settings.min_lifetime_s,
    )


async def get_plan(engine: AsyncEngine, name: str, settings: Settings) -> Plan:
    """Return the named plan, or raise NotFound."""
    query = select(plans).where(plans.c.name == name)
    async with engine.connect() as connection:
        row = (await connection.execute(query)).first()
    if row is None:
        raise NotFound(
            f"Plan {name!r} does not exist; `dropspace plan list` shows the plans."
        )
    return _from_row(row, settings)


async def list_plans(engine: AsyncEngine, settings: Settings) -> list[Plan]:
    """Return every plan, smallest capacity first."""
    query = select(plans).order_by(plans.c.capacity_bytes, plans.c.name)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [_from_row(row, settings) for row in rows]


async def sync_guest_plan(engine: AsyncEngine, settings: Settings) -> None:
    """Write the guest plan's limits from the settings into its row."""
    query = (
        update(plans)
        .where(plans.c.name == GUEST)
        .values(
            max_sessions=settings.guest_max_sessions,
            capacity_bytes=settings.guest_capacity_bytes,
            max_lifetime_s=settings.guest_max_lifetime_s,
        )
    )
    async with engine.begin() as connection:
        await connection.execute(query)


async def edit_plan(
    engine: AsyncEngine,
    name: str,
    *,
    max_sessions: int | None,
    capacity_bytes: int | None,
    max_lifetime_s: int | None,
) -> bool:
    """Change the given limits of a plan; False when no plan has that name."""
    values = {
        "max_sessions": max_sessions,
        "capacity_bytes": capacity_bytes,
        "max_lifetime_s": max_lifetime_s,
    }
    changed = {key: value for key, value in values.items() if value is not None}
    if not changed:
        return True
    query = update(plans).where(plans.c.name == name).values(**changed)
    async with engine.begin() as connection:
        result = await connection.execute(query)
    return result.rowcount == 1
