"""Origin checks shared by HTTP routes and the Socket.IO handshake."""

from server.errors import OriginNotAllowed
from server.settings import Settings


def allowed_origins(settings: Settings) -> tuple[str, ...]:
    """Return the public origin first, then the loopback origins."""
    loopback = (
        f"http://127.0.0.1:{settings.port}",
        f"http://localhost:{settings.port}",
        f"http://[::1]:{settings.port}",
    )
    return (settings.origin, *(item for item in loopback if item != settings.origin))


def check_origin(origin: str | None, allowed: tuple[str, ...]) -> None:
    """Raise OriginNotAllowed for a foreign Origin header.

    A request without Origin is not from a browser page (browsers send it on
    every WebSocket handshake and every non-GET fetch), so curl and scripts
    pass; they still need the device cookie.
    """
    if origin is None or origin in allowed:
        return
    raise OriginNotAllowed(
        f"Origin {origin!r} is not this server's; open DropSpace at "
        f"{allowed[0]} instead."
    )
