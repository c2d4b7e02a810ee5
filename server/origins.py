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


def check_fetch_site(fetch_site: str | None) -> None:
    """Raise OriginNotAllowed when the browser reports another site as sender.

    Browsers send Sec-Fetch-Site on every request; "same-origin" is our own
    page and "none" is the user's own action, such as a bookmark. "same-site"
    is rejected too, because a sibling subdomain is another party.
    """
    if fetch_site is None or fetch_site in {"same-origin", "none"}:
        return
    raise OriginNotAllowed(
        f"Sec-Fetch-Site {fetch_site!r}: this request came from another site's "
        "page; open DropSpace itself and try there."
    )
