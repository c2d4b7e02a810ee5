"""HTTP routes of pairing: the lobby's QR code and the page a scan opens."""

from aiohttp import web

from server import keys, pairing_codes
from server.devices import find_device
from server.errors import NotFound
from server.middleware import DEVICE_TOKEN
from server.pages import bootstrap_data, render_app
from server.qr import qr_svg

SVG_HEADERS = {
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


async def lobby_qr(request: web.Request) -> web.Response:
    """Return the QR code of the calling device's current lobby link."""
    engine = request.app[keys.ENGINE]
    device = await find_device(engine, request[DEVICE_TOKEN])
    offer = (
        None if device is None else await pairing_codes.current_offer(engine, device.id)
    )
    if offer is None:
        raise NotFound(
            "This device has no pairing code right now; open the DropSpace start "
            "page to get one."
        )
    link_url = offer.public(request.app[keys.SETTINGS].origin)["link_url"]
    return web.Response(
        text=qr_svg(link_url), content_type="image/svg+xml", headers=SVG_HEADERS
    )


async def pick_page(request: web.Request) -> web.Response:
    """Render the page that adds a scanned device to one of the caller's sessions.

    Like every page view, it writes nothing: the pull happens over Socket.IO.
    """
    link_token = request.match_info["link_token"]
    await pairing_codes.peek_link_token(request.app[keys.ENGINE], link_token)
    bootstrap = await bootstrap_data(request) | {"link_token": link_token}
    return render_app(request, bootstrap, "DropSpace: add a device")
