"""HTTP middlewares: device cookie, security headers, errors and Origin."""

import logging

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.exc import DBAPIError

from server import keys
from server.devices import COOKIE_NAME, is_well_formed
from server.errors import (
    DropSpaceError,
    InternalError,
    NotFound,
    database_unavailable,
)
from server.health import HEALTH_PATH, LIVENESS_PATH
from server.origins import allowed_origins, check_fetch_site, check_origin
from server.proxies import is_https
from server.tokens import new_secret

log = logging.getLogger(__name__)

DEVICE_TOKEN = web.RequestKey("device_token", str)
_COOKIE_MAX_AGE_S = 365 * 24 * 3600
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_COOKIELESS_PREFIXES = ("/static/", "/socket.io/", HEALTH_PATH, LIVENESS_PATH)
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


@web.middleware
async def device_cookie(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every browser a device token; setting it records nothing."""
    token = request.cookies.get(COOKIE_NAME)
    issued = not is_well_formed(token)
    request[DEVICE_TOKEN] = new_secret() if issued else str(token)
    response = await handler(request)
    if issued and not request.path.startswith(_COOKIELESS_PREFIXES):
        set_device_cookie(request, response, request[DEVICE_TOKEN])
    return response


def set_device_cookie(
    request: web.Request, response: web.StreamResponse, token: str
) -> None:
    """Set the device cookie: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    secure = request.app[keys.SETTINGS].secure_cookies or is_https(request)
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=_COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


@web.middleware
async def security_headers(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Add headers that keep pages and join links from leaking or framing."""
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Session pages carry their join token in the address; no Referer
    # header may carry it to another site.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as the one JSON shape, or as a page for browsers."""
    try:
        return await handler(request)
    except DropSpaceError as error:
        return render_error(request, error)
    except DBAPIError:
        log.warning("database unavailable route=%s", _route_pattern(request))
        return render_error(request, database_unavailable())
    except web.HTTPNotFound:
        return render_error(
            request, NotFound(f"No page at {request.path!r}; check the address.")
        )
    except web.HTTPException:
        raise
    except Exception:
        log.exception("request failed route=%s", _route_pattern(request))
        return render_error(request, InternalError("Internal error; try again."))


def _route_pattern(request: web.Request) -> str:
    # Logs name the route's pattern, not the path, because paths carry join
    # tokens.
    route = request.match_info.route.resource
    return route.canonical if route is not None else "unknown"


def render_error(request: web.Request, error: DropSpaceError) -> web.StreamResponse:
    """Return an error as JSON for API calls and as a page otherwise."""
    if request.path.startswith("/api/"):
        response: web.StreamResponse = web.json_response(
            error.body(), status=error.status
        )
    else:
        context = {
            "status": error.status,
            "code": error.code,
            "message": error.message,
            "lang": page_language(request),
            "title": f"DropSpace: {error.status}",
        }
        response = aiohttp_jinja2.render_template(
            "error.html", request, context, status=error.status
        )
    response.headers["Cache-Control"] = "no-store"
    retry_after_s = error.fields.get("retry_after_s")
    if isinstance(retry_after_s, int):
        response.headers["Retry-After"] = str(retry_after_s)
    return response


@web.middleware
async def origin_check(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Reject requests that change something from another site's page."""
    if request.method not in _SAFE_METHODS:
        settings = request.app[keys.SETTINGS]
        check_fetch_site(request.headers.get("Sec-Fetch-Site"))
        check_origin(request.headers.get("Origin"), allowed_origins(settings))
    return await handler(request)


def page_language(request: web.Request) -> str:
    """Return "ru" when the browser prefers Russian, else "en"."""
    accepted = request.headers.get("Accept-Language", "")
    first = accepted.split(",")[0].strip().lower()
    return "ru" if first.startswith("ru") else "en"
