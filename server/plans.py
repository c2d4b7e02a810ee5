"""Plans: how many live sessions an account may own, and their size and time."""

from dataclasses import asdict, dataclass
from typing import Any

from server.settings import Settings

GUEST = "guest"


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


def plan_for(name: str, settings: Settings) -> Plan:
    """Return the limits of the named plan."""
    # TODO: only the guest plan exists until accounts with passwords arrive.
    # The free and pro plans (5 / 10 GiB / 24 h and 20 / 100 GiB / 7 days)
    # come with them.
    return Plan(
        name=GUEST,
        max_sessions=settings.guest_max_sessions,
        capacity_bytes=settings.guest_capacity_bytes,
        max_lifetime_s=settings.guest_max_lifetime_s,
        min_lifetime_s=settings.min_lifetime_s,
    )
