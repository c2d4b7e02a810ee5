"""Pages: the lobby and the session page, rendered with their first data.

A page view reads records but never writes one: crawlers that follow a join
link create no device and join nothing. The browser joins over Socket.IO.
"""

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from server import join_links, keys, sessions
from server.accounts import get_account
from server.devices import find_device
from server.middleware import DEVICE_TOKEN, page_language
from server.plans import get_plan


async def bootstrap_data(request: web.Request) -> dict[str, Any]:
    """Return what the client needs before its socket connects."""
    engine = request.app[keys.ENGINE]
    settings = request.app[keys.SETTINGS]
    device = await find_device(engine, request[DEVICE_TOKEN])
    account = await get_account(engine, None if device is None else device.account_id)
    plan = None if account is None else await get_plan(engine, account.plan, settings)
    return {
        "device": None if device is None else device.public(),
        "account": None if account is None else account.public(),
        "plan": None if plan is None else plan.public(),
        "join_token": None,
        "link_token": None,
        "public_url": settings.origin,
        "guest_accounts": settings.guest_accounts,
        "signup_open": settings.signup_open,
    }


def render_app(
    request: web.Request, bootstrap: dict[str, Any], title: str
) -> web.Response:
    context = {"bootstrap": bootstrap, "lang": page_language(request), "title": title}
    response = aiohttp_jinja2.render_template("app.html", request, context)
    response.headers["Cache-Control"] = "no-store"
    return response


async def lobby(request: web.Request) -> web.Response:
    """Render the lobby."""
    return render_app(request, await bootstrap_data(request), "DropSpace")


async def account_page(request: web.Request) -> web.Response:
    """Render the sign-in, sign-up or account page; the client picks the form."""
    return render_app(request, await bootstrap_data(request), "DropSpace account")


async def session_page(request: web.Request) -> web.Response:
    """Render a session page; 404 for an unknown link, 410 once ended."""
    join_token = request.match_info["join_token"]
    engine = request.app[keys.ENGINE]
    device = await find_device(engine, request[DEVICE_TOKEN])
    session = await join_links.find_for_device(
        engine, join_token, None if device is None else device.id
    )
    sessions.require_live(session)
    bootstrap = await bootstrap_data(request) | {"join_token": join_token}
    return render_app(request, bootstrap, "DropSpace session")
