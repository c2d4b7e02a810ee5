"""What a request looks like from the client's side of a trusted proxy.

X-Forwarded-Proto and X-Forwarded-For are used only when the connection
comes from an address in one of the `DROPSPACE_TRUSTED_PROXIES` networks.
Anyone else could send those headers to pose as another address or as HTTPS.
"""

from collections.abc import Iterable

from aiohttp import web

from server import keys
from server.addresses import IPNetwork, limit_key, parse_address


def _in_networks(text: str | None, networks: Iterable[IPNetwork]) -> bool:
    address = None if text is None else parse_address(text)
    return address is not None and any(address in network for network in networks)


def _from_trusted_proxy(request: web.Request) -> bool:
    networks = request.app[keys.SETTINGS].trusted_proxy_networks
    return _in_networks(request.remote, networks)


def client_address(request: web.Request) -> str:
    """Return the client's address, as the trusted proxy saw it."""
    remote = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded is None or not _from_trusted_proxy(request):
        return remote
    # The proxy appends the address it saw, so the last entry is the only
    # one the client could not forge.
    last = forwarded.rsplit(",", 1)[-1].strip()
    return last or remote


def client_limit_key(request: web.Request) -> str:
    """Return the per-address limit key of the request's client."""
    return limit_key(client_address(request))


def is_https(request: web.Request) -> bool:
    """Tell whether the client reached us over HTTPS."""
    if request.scheme == "https":
        return True
    if not _from_trusted_proxy(request):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "")
    return proto.rsplit(",", 1)[-1].strip().lower() == "https"
