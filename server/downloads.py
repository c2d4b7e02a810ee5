"""Downloads: plain HTTP GET and HEAD of complete files, with Range support.

aiohttp's FileResponse serves the bytes with sendfile and responds to single
ranges with 206 and unsatisfiable or multiple ranges with 416.
"""

from aiohttp import web

from server import files, keys, sessions
from server.devices import find_device
from server.errors import DeviceRequired, NotFound
from server.middleware import DEVICE_TOKEN
from server.names import content_disposition


async def download(request: web.Request) -> web.StreamResponse:
    """Send a complete file to a member of its session."""
    engine = request.app[keys.ENGINE]
    device = await find_device(engine, request[DEVICE_TOKEN])
    if device is None:
        raise DeviceRequired(
            "Downloads need the device cookie of a session member; join the "
            "session first."
        )
    stored = await files.get_file(engine, request.match_info["file_id"])
    await sessions.member_session(engine, stored.session_id, device.id)
    if stored.state != files.COMPLETE:
        raise NotFound(
            f"File {stored.name!r} is {stored.state}; only complete files can be "
            "downloaded."
        )
    if request.headers.get("Range", "").replace(" ", "") == "bytes=-0":
        # A suffix of zero bytes selects nothing (RFC 9110, 14.1.3), but
        # aiohttp's FileResponse would send the whole file.
        raise web.HTTPRequestRangeNotSatisfiable(
            headers={"Content-Range": f"bytes */{stored.size}"}
        )
    path = request.app[keys.STORAGE].final_path(stored.session_id, stored.id)
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": content_disposition(stored.name),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    response = web.FileResponse(path, headers=headers)
    # Sent inside the handler, so that removing the device from the session
    # can cut a download that is still streaming.
    with request.app[keys.TRANSFERS].track(stored.session_id, device.id, request):
        await response.prepare(request)
        await response.write_eof()
    return response
