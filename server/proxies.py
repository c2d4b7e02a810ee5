"""What a request looks like from the client's side of a trusted proxy.

X-Forwarded-Proto and X-Forwarded-For are used only when the connection
comes from an address listed in `DROPSPACE_TRUSTED_PROXIES`. Anyone else
could send those headers to pose as another address or as HTTPS.
"""

from aiohttp import web

from server import keys


def _from_trusted_proxy(request: web.Request) -> bool:
    proxies = request.app[keys.SETTINGS].trusted_proxy_addresses
    return request.remote is not None and request.remote in proxies


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


def is_https(request: web.Request) -> bool:
    """Tell whether the client reached us over HTTPS."""
    if request.scheme == "https":
        return True
    if not _from_trusted_proxy(request):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "")
    return proto.rsplit(",", 1)[-1].strip().lower() == "https"
